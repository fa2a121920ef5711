"""Genetic-counselling numbers from allele frequencies: couples' risks and carrier tests.

Pure NumPy, closed-form; arrays broadcast. Allele 0 is normal, every other allele
pathogenic; q_f is the total frequency of the founder allele(s), q_o that of the
other pathogenic alleles, q = q_f + q_o (per gene copy, in one deme). A child is
affected when it inherits two pathogenic alleles, whichever they are (homozygous
or compound heterozygous). docs/risk.md gives the derivations and sources.

* A couple's child: each parent transmits a pathogenic allele with probability q
  (the allele frequency, whatever the parent's own F). With kinship coefficient φ
  between the parents (the child's inbreeding coefficient), the child's two
  alleles are identical by descent with probability φ (then affected with
  probability q) and otherwise independent (q²):

      risk = q²(1 − φ) + q·φ       (Hardy–Weinberg with inbreeding; Bennett et al. 2002)

  φ = 0 for unrelated partners, 1/64 for second cousins, 1/16 for first cousins.
* Carrier × carrier couples, random mating within the deme: c², where c is the
  carrier frequency (people with one normal and one pathogenic allele).
* A founder-allele test finds a carrier when the carrier's pathogenic allele is a
  founder allele: probability q_f / q (a carrier's pathogenic allele is allele i
  with probability p_i / q). A carrier × carrier couple is identified as at risk
  when both partners test positive: (q_f / q)². Full-gene testing (sequencing)
  finds every pathogenic allele in the model, so it identifies all of them (1).
* After a negative founder-allele test a person carries no founder allele; a
  gamete of such a person is pathogenic with probability q_o / (1 − q_f), whatever
  F (the same ratio holds for the person's genotype frequencies with and without
  inbreeding). For an unrelated couple the residual risk of an affected child is
  q · q_o / (1 − q_f) after one partner's negative test (the other untested) and
  (q_o / (1 − q_f))² after both partners' negative tests.
"""

from __future__ import annotations

import numpy as np

#: Kinship coefficient φ of the partners (= inbreeding coefficient of their child).
KINSHIP: dict[str, float] = {
    "unrelated": 0.0,
    "second_cousins": 1.0 / 64.0,
    "first_cousins": 1.0 / 16.0,
}


def child_risk(pathogenic: np.ndarray | float, kinship: float) -> np.ndarray:
    """Probability that a child of partners with kinship ``kinship`` (φ) is affected
    (two pathogenic alleles, any combination): q²(1 − φ) + q·φ, with q = ``pathogenic``."""
    q = np.asarray(pathogenic, dtype=float)
    return q * q * (1.0 - kinship) + q * kinship


def carrier_couples(carriers: np.ndarray | float) -> np.ndarray:
    """Share of couples in which both partners are carriers (partners drawn at random
    within the deme): c², with c = ``carriers`` per person."""
    c = np.asarray(carriers, dtype=float)
    return c * c


def founder_test_detection(
    founder: np.ndarray | float, pathogenic: np.ndarray | float
) -> np.ndarray:
    """Share of carrier × carrier couples that a founder-allele test of both partners
    identifies (both test positive): (q_f / q)²; NaN where q = 0 (no carriers)."""
    share = _ratio(founder, pathogenic)
    return share * share


def full_gene_detection(pathogenic: np.ndarray | float) -> np.ndarray:
    """Share of carrier × carrier couples that full-gene testing of both partners
    identifies: 1, every pathogenic allele of the model being detectable; NaN where
    q = 0 (no carriers)."""
    q = np.asarray(pathogenic, dtype=float)
    return np.where(q > 0, 1.0, np.nan)


def pathogenic_after_negative_test(
    founder: np.ndarray | float, other: np.ndarray | float
) -> np.ndarray:
    """Probability that a gamete of a person who tested negative for the founder
    allele(s) is pathogenic: q_o / (1 − q_f); NaN where q_f = 1."""
    return _ratio(other, 1.0 - np.asarray(founder, dtype=float))


def residual_risk(
    founder: np.ndarray | float, other: np.ndarray | float, negative_partners: int
) -> np.ndarray:
    """Risk of an affected child of an unrelated couple after a negative founder-allele
    test of ``negative_partners`` (1: one partner, the other untested; 2: both):
    q · q_o / (1 − q_f), or (q_o / (1 − q_f))²."""
    after = pathogenic_after_negative_test(founder, other)
    if negative_partners == 1:
        return after * (np.asarray(founder, dtype=float) + np.asarray(other, dtype=float))
    if negative_partners == 2:
        return after * after
    raise ValueError(f"negative_partners must be 1 or 2, got {negative_partners}")


def _ratio(part: np.ndarray | float, total: np.ndarray | float) -> np.ndarray:
    """part / total, NaN where total is not positive."""
    part, total = np.asarray(part, dtype=float), np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)
