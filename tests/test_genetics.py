"""Closed-form genotype statistics against hand computation and brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from popsim.genetics.genotypes import expected_genotypes, genotypes_from_moments
from popsim.workflows.validation.genotypes import enumerate_genotypes


def test_hand_computed_persian_jewish_example():
    # p = (0.9523, 0.0477), F = 0.02: founder homozygotes 0.0477²·0.98 + 0.0477·0.02
    # = 0.0022298 + 0.000954 = 0.0031838; carriers 2·0.9523·0.0477·0.98 = 0.0890324.
    g = expected_genotypes([0.9523, 0.0477], 0.02)
    assert g.founder_homozygotes == pytest.approx(0.0477**2 * 0.98 + 0.0477 * 0.02, rel=1e-12)
    assert g.founder_homozygotes == pytest.approx(0.0031838, abs=1e-7)
    assert g.carriers == pytest.approx(0.0890324, abs=1e-7)
    assert g.compound_heterozygotes == 0.0
    assert g.share_founder_homozygotes == pytest.approx(1.0)


def test_two_alleles_outbred_compound_heterozygotes():
    # p1 = p2 = 0.01, F = 0: compound het 2·0.01·0.01 = 2e-4, homozygotes 1e-4 each.
    g = expected_genotypes([0.98, 0.01, 0.01], 0.0)
    assert g.compound_heterozygotes == pytest.approx(2e-4, rel=1e-12)
    assert g.founder_homozygotes == pytest.approx(1e-4, rel=1e-12)
    assert g.other_homozygotes == pytest.approx(1e-4, rel=1e-12)
    assert g.share_compound_heterozygotes == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force_enumeration(seed):
    rng = np.random.default_rng(seed)
    n_alleles = int(rng.integers(2, 8))
    p = rng.dirichlet(np.ones(n_alleles))
    F = float(rng.choice([0.0, rng.uniform(0, 1)]))
    founders = {
        int(f)
        for f in rng.choice(np.arange(1, n_alleles), size=min(2, n_alleles - 1), replace=False)
    }
    g = expected_genotypes(p, F, tuple(sorted(founders))).as_dict()
    brute = enumerate_genotypes(p, F, founders)
    for name, value in brute.items():
        assert g[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
    total = brute["affected"] + brute["carriers"] + (1 - F) * p[0] ** 2 + F * p[0]
    assert total == pytest.approx(1.0, rel=1e-12)


def test_vectorised_over_leading_axes_and_moments_agree():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), size=(4, 3))
    F = rng.uniform(0, 0.5, size=(4, 3))
    g = expected_genotypes(p, F, founder=1)
    m = genotypes_from_moments(
        p[..., 0], p[..., 1], p[..., 1] ** 2, p[..., 2:].sum(-1), (p[..., 2:] ** 2).sum(-1), F
    )
    np.testing.assert_allclose(g.affected, m.affected, rtol=1e-13)
    np.testing.assert_allclose(
        g.founder_homozygotes + g.other_homozygotes + g.compound_heterozygotes,
        g.affected,
        rtol=1e-12,
    )


def test_no_patients_gives_nan_shares():
    g = expected_genotypes([1.0, 0.0], 0.0)
    assert np.isnan(g.share_founder_homozygotes)
    assert g.affected == 0.0


def test_invalid_founder_index():
    with pytest.raises(ValueError, match="founder indices"):
        expected_genotypes([0.5, 0.5], 0.0, founder=2)
