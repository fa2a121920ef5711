"""Expected genotype frequencies at a multi-allelic recessive disease locus.

Pure numpy, no simulation. Allele 0 is normal; alleles i ≥ 1 are pathogenic,
with frequencies p_i and total q = Σ_{i≥1} p_i. Zygotes are formed with
inbreeding coefficient F (probability that the two copies are identical by
descent):

    P(i/i) = p_i²(1 − F) + p_i·F,        P(i/j) = 2·p_i·p_j·(1 − F)  (i ≠ j).

Hence, for a focal founder allele f (or a set of founder alleles):

* founder homozygotes      Σ_f [p_f²(1 − F) + p_f·F]
* other homozygotes        Σ_{i≠f} [p_i²(1 − F) + p_i·F]
* compound heterozygotes   (1 − F)·(q² − Σ_{i≥1} p_i²)
* affected                q²(1 − F) + q·F   (the sum of the three above; patients are
                           penetrance × affected, :mod:`popsim.genetics.statistics`)
* carriers                 2·p_0·q·(1 − F)   (:func:`heterozygotes`)

The founder homozygotes identical by descent, Σ_f p_f·F, are the part that
inbreeding alone adds (``founder_by_descent``).

and the shares of patients in each class are the first three divided by the
affected frequency (NaN where there are none). All quantities are frequencies
among individuals (per person), not counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Statistic names in the order :class:`GenotypeFrequencies` lists them.
STATISTICS = (
    "founder_homozygotes",
    "other_homozygotes",
    "compound_heterozygotes",
    "affected",
    "carriers",
    "share_founder_homozygotes",
    "share_other_homozygotes",
    "share_compound_heterozygotes",
)


@dataclass(frozen=True)
class GenotypeFrequencies:
    """Expected genotype frequencies (arrays broadcast over leading axes)."""

    founder_homozygotes: np.ndarray
    other_homozygotes: np.ndarray
    compound_heterozygotes: np.ndarray
    affected: np.ndarray
    carriers: np.ndarray
    founder_by_descent: np.ndarray

    @property
    def share_founder_homozygotes(self) -> np.ndarray:
        return _share(self.founder_homozygotes, self.affected)

    @property
    def share_other_homozygotes(self) -> np.ndarray:
        return _share(self.other_homozygotes, self.affected)

    @property
    def share_compound_heterozygotes(self) -> np.ndarray:
        return _share(self.compound_heterozygotes, self.affected)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in STATISTICS}


def _share(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    part, total = np.asarray(part, dtype=float), np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)


def heterozygotes(
    normal: np.ndarray, pathogenic: np.ndarray, inbreeding: np.ndarray | float
) -> np.ndarray:
    """Frequency of people carrying one normal and one pathogenic allele of the set whose
    total frequency is ``pathogenic``: 2·p_0·p·(1 − F) (per person)."""
    return 2 * normal * pathogenic * (1 - inbreeding)


def genotypes_from_moments(
    normal: np.ndarray,
    founder: np.ndarray,
    founder_sumsq: np.ndarray,
    other: np.ndarray,
    other_sumsq: np.ndarray,
    inbreeding: np.ndarray | float,
) -> GenotypeFrequencies:
    """Genotype frequencies from allele-frequency sums (what engines record).

    Args:
        normal: p_0.
        founder: Σ_f p_f over the founder alleles.
        founder_sumsq: Σ_f p_f².
        other: Σ p_i over the other (non-founder) pathogenic alleles.
        other_sumsq: Σ p_i² over the other pathogenic alleles.
        inbreeding: F.
    """
    F = np.asarray(inbreeding, dtype=float)
    normal, founder, other = (np.asarray(x, dtype=float) for x in (normal, founder, other))
    founder_sumsq = np.asarray(founder_sumsq, dtype=float)
    other_sumsq = np.asarray(other_sumsq, dtype=float)
    q = founder + other
    by_descent = founder * F
    founder_hom = founder_sumsq * (1 - F) + by_descent
    other_hom = other_sumsq * (1 - F) + other * F
    compound = np.clip((1 - F) * (q * q - founder_sumsq - other_sumsq), 0.0, None)
    affected = q * q * (1 - F) + q * F
    carriers = heterozygotes(normal, q, F)
    return GenotypeFrequencies(founder_hom, other_hom, compound, affected, carriers, by_descent)


def expected_genotypes(
    p: np.ndarray, inbreeding: np.ndarray | float = 0.0, founder: int | tuple[int, ...] = 1
) -> GenotypeFrequencies:
    """Expected genotype frequencies from a full allele-frequency vector.

    Args:
        p: allele frequencies, last axis = alleles, ``p[..., 0]`` the normal
            allele; each vector must sum to 1.
        inbreeding: F, broadcast against ``p[..., 0]``.
        founder: index (or indices) of the founder allele(s), ≥ 1.

    Example: ``expected_genotypes([0.9523, 0.0477], 0.02)`` gives founder
    homozygotes 0.0477²·0.98 + 0.0477·0.02 = 3.184e-3.
    """
    p = np.asarray(p, dtype=float)
    if p.shape[-1] < 2:
        raise ValueError("p needs at least two alleles (normal and one pathogenic)")
    founders = (founder,) if isinstance(founder, int | np.integer) else tuple(founder)
    if not founders or min(founders) < 1 or max(founders) >= p.shape[-1]:
        raise ValueError(f"founder indices must be in 1..{p.shape[-1] - 1}, got {founders}")
    is_founder = np.zeros(p.shape[-1], dtype=bool)
    is_founder[list(founders)] = True
    is_other = ~is_founder
    is_other[0] = False
    return genotypes_from_moments(
        normal=p[..., 0],
        founder=p[..., is_founder].sum(-1),
        founder_sumsq=(p[..., is_founder] ** 2).sum(-1),
        other=p[..., is_other].sum(-1),
        other_sumsq=(p[..., is_other] ** 2).sum(-1),
        inbreeding=inbreeding,
    )
