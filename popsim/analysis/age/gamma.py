"""The Gamma method of Gandolfo, Bahlo & Speed (2014, Genetics 197:1315).

Model. n carriers descend from one ancestor τ generations ago. Carrier i
shares with the ancestral haplotype l_i Morgans to the left of the locus and
r_i to the right; with independent lineages (a star genealogy) each is
exponential with rate τ, so L_i = l_i + r_i ~ Gamma(2, τ) and the total
S = Σ L_i ~ Gamma(2n, τ).

* **Independent genealogy**: τ̂ = (2n − 1)/S, unbiased since E[1/S] = τ/(2n − 1);
  the exact interval is τ ∈ [q_{α/2}, q_{1−α/2}]/S with q the quantiles of
  Gamma(2n, 1) (τS is a pivot).
* **Correlated genealogy**: lineages that share branches share crossovers, so
  the L_i are positively correlated (ρ) and S carries the information of only
  n* = n/(1 + (n − 1)ρ) independent carriers. ρ is estimated by the method of
  moments from the L_i (their mean m and sample variance v; Gamma(2, τ) has
  variance mean²/2): ρ̂ = (n·m² − (2n + 1)·v)/(n·m² + (n − 1)·v); a ρ̂ below 0 is
  taken as 0 (Gandolfo et al.'s script instead widens the interval when
  ρ̂ < −2/(n − 1)). Then τ̂ = (2n* − 1)/(2n*) · 2n/S and the interval is
  τ̂ · [q*_{α/2}, q*_{1−α/2}]/(2n* − 1) with q* the quantiles of Gamma(2n*, 1).

Corrections when the lengths were read from marker haplotypes against the
carriers' consensus (:mod:`.markers`):

* **chance sharing**: beyond a breakpoint a carrier still matches the ancestral
  haplotype until the first marker that differs by chance. With markers φ
  Morgans apart whose median minor-allele frequency is f, two random
  haplotypes match at a marker with probability p = f² + (1 − f)², and a run
  of chance matches longer than c = φ·ln ε/ln p has probability below ε
  (ε = 0.01). c is subtracted from each end except the longest on each side;
* **longest ends**: the consensus is defined only while two carriers still
  share it, so the longest end on each side is cut to the second longest; each
  is lengthened by the mean end length (S − 2(n − 1)c)/(2n).

Both follow Gandolfo et al. (2014) and their published R script (read, not copied).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from popsim.errors import PopsimError

#: Probability of a run of chance matches longer than the chance-sharing correction.
CHANCE_SHARING_EPSILON = 0.01


@dataclass(frozen=True)
class AgeEstimate:
    """An allele-age estimate (generations) with its interval at ``level``."""

    method: str
    generations: float
    lower: float
    upper: float
    level: float
    details: dict[str, float] = field(default_factory=dict)

    def covers(self, age: float) -> bool:
        return self.lower <= age <= self.upper


def chance_sharing_cm(spacing_cm: float, median_maf: float,
                      epsilon: float = CHANCE_SHARING_EPSILON) -> float:
    """c, the chance-sharing correction per segment end (cM), for markers
    ``spacing_cm`` apart with median minor-allele frequency ``median_maf``."""
    p = median_maf**2 + (1 - median_maf) ** 2
    if not 0 < p < 1:
        return 0.0
    return spacing_cm * math.log(epsilon) / math.log(p)


def gamma_estimates(
    left_cm: np.ndarray,
    right_cm: np.ndarray,
    level: float = 0.95,
    chance_sharing: float = 0.0,
    consensus: bool = False,
) -> tuple[AgeEstimate, AgeEstimate]:
    """The independent- and correlated-genealogy Gamma estimates (module docstring)
    from the carriers' shared lengths on each side (cM).

    ``chance_sharing``: the correction c per end (cM; 0 for exact lengths);
    ``consensus``: the lengths were read against the carriers' consensus
    haplotype (lengthen the longest end on each side).
    """
    left = np.asarray(left_cm, float) / 100.0
    right = np.asarray(right_cm, float) / 100.0
    n = left.size
    if n < 2 or right.size != n:
        raise PopsimError(f"the Gamma method needs at least two carriers, given {n}")
    cs = chance_sharing / 100.0
    total = left.sum() + right.sum() - 2 * (n - 1) * cs
    if consensus:
        mean_end = total / (2 * n)
        left, right = left.copy(), right.copy()
        left[np.argmax(left)] += mean_end + cs
        right[np.argmax(right)] += mean_end + cs
        total += 2 * mean_end
    if not total > 0:
        raise PopsimError("the shared lengths sum to 0 after the corrections: no age can be read")
    alpha = 1 - level
    low, high = stats.gamma.ppf([alpha / 2, 1 - alpha / 2], 2 * n)
    independent = AgeEstimate(
        "gamma, independent", float((2 * n - 1) / total), float(low / total),
        float(high / total), level,
    )
    per_carrier = left + right - 2 * cs
    mean, variance = per_carrier.mean(), per_carrier.var(ddof=1)
    rho = (n * mean**2 - (2 * n + 1) * variance) / (n * mean**2 + (n - 1) * variance)
    rho = max(rho, 0.0)
    n_star = n / (1 + (n - 1) * rho)
    estimate = (2 * n_star - 1) / (2 * n_star) * 2 * n / total
    low, high = stats.gamma.ppf([alpha / 2, 1 - alpha / 2], 2 * n_star) / (2 * n_star - 1)
    correlated = AgeEstimate(
        "gamma, correlated", float(estimate), float(estimate * low), float(estimate * high),
        level, {"rho": float(rho), "n_star": float(n_star)},
    )
    return independent, correlated
