"""What a posterior says about each parameter: piled at a prior bound, or unidentified.

Both are measured on the scale where the prior is uniform (z = θ, or log θ for
a log-uniform prior; an integer parameter on its continuous draw), from the
weighted particles of the posterior:

* **piled at a bound**: ``mass_low`` (``mass_high``) is the posterior mass in
  the lowest (highest) :data:`BOUND_STRIP` of the prior's range, where the
  prior puts 5%. The flag is raised above :data:`BOUND_MASS` (five times the
  prior's mass): the data push the parameter against the bound, so the prior's
  bound, not the data, decides where the posterior stops.
* **unidentified**: ``width_ratio`` is the width of the central 95% posterior
  interval over that of the prior (0.95 of its range). Above
  :data:`WIDTH_RATIO` the data narrow the parameter by less than a fifth: the
  posterior is essentially the prior.

And of the fit as a whole, the **posterior predictive check**
(:func:`predictive_flags`): each observed value against the statistics of
simulations drawn from the posterior. Its two-sided p-value,
p = 2·min(P(T ≤ obs), P(T ≥ obs)) over the draws where T is defined, below
:data:`PREDICTIVE_P` means the fitted model rarely produces what was observed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from popsim.workflows.fit.priors import Prior

#: Share of the prior's range (on the uniform scale) at each end that is "at the bound".
BOUND_STRIP = 0.05
#: Posterior mass in a bound's strip above which the parameter is flagged as piled there.
BOUND_MASS = 0.25
#: Posterior/prior 95% width ratio above which a parameter is flagged as unidentified.
WIDTH_RATIO = 0.8
#: Two-sided posterior predictive p-value below which an observation is flagged.
PREDICTIVE_P = 0.05


@dataclass(frozen=True)
class Check:
    """:func:`diagnose`'s measures of one parameter and its flag text ("" when none)."""

    width_ratio: float
    mass_low: float
    mass_high: float
    flag: str


def uniform_scale(prior: Prior, x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``x`` on the scale where ``prior`` is uniform, with the prior's bounds there."""
    if prior.distribution == "log_uniform":
        return np.log(np.asarray(x, dtype=float)), math.log(prior.low), math.log(prior.high)
    return np.asarray(x, dtype=float), prior.low, prior.high


def weighted_quantiles(z: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of a weighted sample (inverse of the weighted step CDF)."""
    order = np.argsort(z, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf = cdf / cdf[-1]
    at = np.minimum(np.searchsorted(cdf, qs), len(cdf) - 1)
    return z[order][at]


def diagnose(prior: Prior, x: np.ndarray, weights: np.ndarray) -> Check:
    """The bound and identification checks of one parameter's weighted posterior sample
    ``x`` (continuous draws) with normalised ``weights``."""
    z, low, high = uniform_scale(prior, x)
    span = high - low
    lo, hi = weighted_quantiles(z, weights, (0.025, 0.975))
    ratio = float((hi - lo) / (0.95 * span))
    mass_low = float(np.sum(weights[z <= low + BOUND_STRIP * span]))
    mass_high = float(np.sum(weights[z >= high - BOUND_STRIP * span]))
    flags = []
    if mass_low > BOUND_MASS:
        flags.append(f"piled at the lower bound ({mass_low:.0%} of the posterior in the "
                     f"lowest {BOUND_STRIP:.0%} of the prior)")
    if mass_high > BOUND_MASS:
        flags.append(f"piled at the upper bound ({mass_high:.0%} of the posterior in the "
                     f"highest {BOUND_STRIP:.0%} of the prior)")
    if ratio > WIDTH_RATIO:
        flags.append(f"unidentified (95% width {ratio:.2f} of the prior's)")
    return Check(ratio, mass_low, mass_high, "; ".join(flags))


def predictive_flags(
    values: Sequence[float], names: Sequence[str], draws: np.ndarray
) -> list[str]:
    """One flag per observation that the posterior predictive draws rarely reach.

    ``values`` [K] are the observed values, ``names`` [K] their statistics, ``draws``
    float64 [n, K] the statistics of n simulations from the posterior (NaN where a
    statistic is undefined, left out). Flagged where the two-sided p-value
    2·min(P(T ≤ obs), P(T ≥ obs)) is below :data:`PREDICTIVE_P`; no flag without draws.
    """
    flags = []
    for k, (value, name) in enumerate(zip(values, names, strict=True)):
        t = draws[:, k][~np.isnan(draws[:, k])]
        if t.size == 0:
            continue
        below, above = float(np.mean(t < value)), float(np.mean(t > value))
        p = min(1.0, 2.0 * min(np.mean(t <= value), np.mean(t >= value)))
        if p < PREDICTIVE_P:
            flags.append(
                f"predictive check: {name} observed {value:.3g}; of {t.size} simulations "
                f"from the posterior {below:.0%} fall below it and {above:.0%} above "
                f"(two-sided p = {p:.2g}): the fitted model rarely reproduces it"
            )
    return flags
