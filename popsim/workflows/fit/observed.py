"""Observed summary statistics, their uncertainty, and the ABC distance.

An observation gives a statistic's value in one deme and, optionally, its
uncertainty as a standard deviation σ, taken from

* ``sd = σ``;
* ``interval = [lo, hi]``, read as a 95% interval: σ = (hi − lo) / (2 · 1.96);
* ``sample_size = n`` for a proportion p: σ = √(p̃(1 − p̃)/n) with
  p̃ = (n·p + ½)/(n + 1), so that an observed 0 or 1 (e.g. 104 of 104 patients
  homozygous) still has a positive σ.

The distance between a simulation's statistics s and the observed values o
is d = √Σᵢ ((sᵢ − oᵢ)/σᵢ)²; a missing σ (or ``scale = "mad"``) is replaced
by the median absolute deviation of the statistic over the first
generation's prior simulations. A simulation with an undefined statistic
(NaN, e.g. the share of founder homozygotes when there are no patients) is
at distance +∞: it is never accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from popsim.errors import ConfigError
from popsim.genetics.statistics import observable_names
from popsim.model.config import Table

#: Simulated statistics that an observation may name (final generation, one
#: replicate; the observable ones of :mod:`popsim.genetics.statistics`), plus the allele
#: age in generations (scenario generations − the founder allele's generation).
STATISTICS = (*observable_names(), "allele_age")
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Observed:
    """One observed statistic: ``value`` ± ``sd`` (None: scale by MAD) in ``deme``."""

    statistic: str
    value: float
    deme: str
    sd: float | None
    source: str = ""


def parse_observed(t: Table, default_deme: str, demes: tuple[str, ...]) -> Observed:
    """Read one ``[[observed]]`` table."""
    statistic = t.choice("statistic", STATISTICS)
    value = t.number("value")
    deme = t.string("deme", default_deme)
    if deme not in demes:
        raise ConfigError(t.key("deme"), deme, f"must be a deme of the base: {', '.join(demes)}")
    given = [name for name in ("sd", "interval", "sample_size") if t.has(name)]
    if len(given) > 1:
        raise ConfigError(
            t.key(given[1]), t.raw(given[1]), f"give one of sd, interval, sample_size, not "
            f"{' and '.join(given)}",
        )
    sd: float | None = None
    if t.has("sd"):
        sd = t.number("sd", low=0.0, open_low=True)
    elif t.has("interval"):
        sd = _interval_sd(t, value)
    elif t.has("sample_size"):
        n = t.integer("sample_size", low=1)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(t.key("value"), value, "must be a proportion in [0, 1] with "
                              "sample_size")
        p = (n * value + 0.5) / (n + 1)
        sd = math.sqrt(p * (1.0 - p) / n)
    source = t.string("source", "")
    t.finish()
    return Observed(statistic, value, deme, sd, source)


def _interval_sd(t: Table, value: float) -> float:
    interval = t.raw("interval")
    ok = (
        isinstance(interval, list) and len(interval) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in interval)
        and interval[0] <= value <= interval[1] and interval[0] < interval[1]
    )
    if not ok:
        raise ConfigError(
            t.key("interval"), interval, f"must be [low, high] with low < high around value "
            f"= {value:g} (read as a 95% interval)",
        )
    return (float(interval[1]) - float(interval[0])) / (2 * Z95)


def mad_scales(stats: np.ndarray) -> np.ndarray:
    """Median absolute deviation of each column of ``stats`` [n, m] (NaN ignored);
    a zero or undefined MAD becomes 1 so the statistic still counts."""
    with np.errstate(all="ignore"):
        med = np.nanmedian(stats, axis=0)
        mad = np.nanmedian(np.abs(stats - med), axis=0)
    return np.where(np.isfinite(mad) & (mad > 0), mad, 1.0)


def distances(stats: np.ndarray, observed: tuple[Observed, ...], scales: np.ndarray) -> np.ndarray:
    """Scaled Euclidean distance of each row of ``stats`` [n, m] to the observations."""
    values = np.array([o.value for o in observed])
    z = (stats - values) / scales
    d = np.sqrt(np.sum(z * z, axis=1))
    return np.where(np.isfinite(d), d, np.inf)


def observation_scales(
    observed: tuple[Observed, ...], prior_stats: np.ndarray, mode: str
) -> np.ndarray:
    """σ per statistic: the observation's (``mode="observation"``, MAD where it has
    none) or the MAD of the prior simulations ``prior_stats`` for all (``"mad"``)."""
    mad = mad_scales(prior_stats)
    if mode == "mad":
        return mad
    return np.array([o.sd if o.sd is not None else mad[i] for i, o in enumerate(observed)])
