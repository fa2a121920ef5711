"""Allele age: carrier genealogies, shared segments, the Gamma method, marker haplotypes.

Statistical checks use fixed seeds and a test at level ALPHA (chi-square or
Kolmogorov–Smirnov p-value above it, or a binomial count inside its central
1 − ALPHA interval): each can fail when the model is wrong, and with the fixed
seeds they pass or fail the same way every run.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from popsim.analysis.age.gamma import chance_sharing_cm, gamma_estimates
from popsim.analysis.age.genealogy import (
    GeneticMap,
    History,
    history_of,
    shared_segments,
    trace_genealogy,
)
from popsim.analysis.age.markers import MarkerPanel, haplotypes, shared_lengths
from popsim.errors import PopsimError

ALPHA = 0.001


def binomial_inside(successes: int, trials: int, p: float) -> bool:
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], trials, p)
    return low <= successes <= high


def test_two_carriers_coalesce_as_the_discrete_coalescent():
    """Allele at a fixed count c: two lineages coalesce each generation with probability
    1/c, so the coalescence time is geometric with p = 1/c (chi-square over bins)."""
    copies, pairs = 10, 1500
    history = History.constant(copies, 100, 200)
    rng = np.random.default_rng(11)
    times = np.array(
        [trace_genealogy(history, 2, rng).pairwise_coalescence(0, 1) for _ in range(pairs)]
    )
    assert np.all(np.isfinite(times))
    edges = np.array([1, 2, 3, 4, 6, 8, 11, 15, 20, 30, np.inf])
    observed = np.histogram(times, bins=np.append(edges[:-1], 1e9))[0]
    cdf = stats.geom.cdf(edges - 1, 1 / copies)
    expected = pairs * np.diff(cdf)
    assert stats.chisquare(observed, expected).pvalue > ALPHA


def test_one_carrier_segments_are_exponential_with_rate_t():
    """One carrier, allele introduced t generations ago: each side is exponential with
    rate t per Morgan, their sum Gamma(2, t) (Kolmogorov–Smirnov)."""
    t, draws = 40, 2000
    history = History.constant(1, 100, t)
    rng = np.random.default_rng(5)
    left, right = [], []
    for _ in range(draws):
        genealogy = trace_genealogy(history, 1, rng)
        assert genealogy.age == t
        segments = shared_segments(genealogy, rng)
        left.append(segments.left_cm[0] / 100)
        right.append(segments.right_cm[0] / 100)
    left, right = np.array(left), np.array(right)
    for side in (left, right):
        assert stats.kstest(side, stats.expon(scale=1 / t).cdf).pvalue > ALPHA
    assert stats.kstest(left + right, stats.gamma(2, scale=1 / t).cdf).pvalue > ALPHA
    assert stats.pearsonr(left, right)[1] > ALPHA  # the two sides are independent


def test_a_wrong_rate_is_rejected():
    """The KS check above has power: segments of age 40 are not those of age 48."""
    history = History.constant(1, 100, 40)
    rng = np.random.default_rng(5)
    sums = [shared_segments(trace_genealogy(history, 1, rng), rng).total_cm[0] / 100
            for _ in range(2000)]
    assert stats.kstest(sums, stats.gamma(2, scale=1 / 48).cdf).pvalue < ALPHA


def test_shared_branches_share_crossovers():
    """Carriers that coalesced share their ancestor's crossovers: with 2 copies for 30
    generations, two carriers coalesce within a few generations and share most of
    their segment, so their lengths correlate strongly."""
    history = History.constant(2, 100, 30)
    rng = np.random.default_rng(3)
    pairs = np.array([shared_segments(trace_genealogy(history, 2, rng), rng).total_cm
                      for _ in range(400)])
    assert stats.pearsonr(pairs[:, 0], pairs[:, 1])[0] > 0.5


def test_genetic_map_converts_lengths():
    uniform = GeneticMap.uniform(cm_per_mb=2.0, locus_mb=10.0)
    assert uniform.mb_at(np.array([4.0]))[0] == pytest.approx(12.0)
    supplied = GeneticMap.from_points(np.array([0.0, 10.0, 20.0]), np.array([0.0, 5.0, 25.0]),
                                      locus_mb=10.0)
    assert supplied.mb_at(np.array([10.0, -2.5]))[0] == pytest.approx(15.0)
    assert supplied.mb_at(np.array([-2.5]))[0] == pytest.approx(5.0)
    assert np.isnan(supplied.mb_at(np.array([30.0]))[0])  # beyond the map


def test_too_many_carriers_is_an_error():
    with pytest.raises(PopsimError, match="cannot sample 5 carrier copies"):
        trace_genealogy(History.constant(3, 100, 10), 5, np.random.default_rng(0))


def test_gamma_interval_is_exact_for_independent_lengths():
    """Star genealogy: S ~ Gamma(2n, τ); the independent interval covers τ at 95%
    (binomial check over 2000 data sets) and τ̂ = (2n − 1)/S is unbiased."""
    tau, n, rng = 50.0, 10, np.random.default_rng(9)
    covered, estimates = 0, []
    for _ in range(2000):
        left, right = rng.exponential(100 / tau, (2, n))
        independent, _ = gamma_estimates(left, right)
        covered += independent.covers(tau)
        estimates.append(independent.generations)
        assert independent.generations == pytest.approx((2 * n - 1) / ((left + right).sum() / 100))
    assert binomial_inside(covered, 2000, 0.95)
    assert abs(np.mean(estimates) - tau) < 4 * np.std(estimates) / np.sqrt(2000)


def test_correlated_estimate_widens_with_correlation():
    """Identical lengths (complete correlation) leave about one carrier's information."""
    left = np.full(10, 2.0) + np.linspace(0, 0.01, 10)
    independent, correlated = gamma_estimates(left, left)
    assert correlated.details["rho"] > 0.9
    assert correlated.upper - correlated.lower > 3 * (independent.upper - independent.lower)


def test_gamma_recovers_the_age_of_traced_genealogies():
    """Small CI recovery: 200 data sets of 10 carriers of an allele introduced 50
    generations ago as 3000 copies (nearly independent lineages); both intervals
    cover the age at their nominal 95% within binomial error."""
    history = History.constant(3000, 5000, 50)
    rng = np.random.default_rng(21)
    covered = np.zeros(2, dtype=int)
    for _ in range(200):
        segments = shared_segments(trace_genealogy(history, 10, rng), rng)
        estimates = gamma_estimates(segments.left_cm, segments.right_cm)
        covered += [e.covers(50) for e in estimates]
    assert binomial_inside(int(covered[0]), 200, 0.95)
    assert binomial_inside(int(covered[1]), 200, 0.95)


def test_marker_haplotypes_give_back_the_segments():
    """Dense markers: lengths read against the consensus end within a few marker
    spacings past the true breakpoint (chance matches only lengthen them), except
    the longest end on each side, which the consensus cuts short."""
    rng = np.random.default_rng(4)
    segments = shared_segments(trace_genealogy(History.constant(2000, 5000, 30), 12, rng), rng)
    panel = MarkerPanel.neutral(rng)
    carriers, ancestral = haplotypes(segments, panel, rng)
    assert ancestral.shape == (panel.positions_cm.size,)
    assert carriers.shape == (12, panel.positions_cm.size)
    left, right = shared_lengths(carriers, panel.positions_cm)
    for read, true in ((left, segments.left_cm), (right, segments.right_cm)):
        keep = np.argsort(true)[:-1]
        excess = read[keep] - true[keep]
        assert np.all(excess > -panel.spacing_cm)
        assert np.median(excess) < 10 * panel.spacing_cm
    cs = chance_sharing_cm(panel.spacing_cm, panel.median_maf)
    assert 0 < cs < 1.0


def test_frequency_engine_histories_trace(tmp_path):
    """A history read from a frequency-engine run: carriers trace back to the
    introduction, every copy number along the way was positive."""
    from popsim.model.build import scenario_from_dict
    from popsim.simulate import simulate

    scenario = scenario_from_dict({
        "scenario": {"name": "age", "generations": 30, "replicates": 40, "seed": 3},
        "demes": [{"name": "pop", "size": 2000}],
        "locus": {"founder_alleles": [{"name": "F", "deme": "pop", "generation": 5,
                                       "copies": 60}]},
    })
    result = simulate(scenario)
    rng = np.random.default_rng(0)
    traced = 0
    for r in range(result.replicates):
        history = history_of(result, r)
        assert history.introduced[5, 0] == 60
        if history.copies[-1, 0] >= 5:
            genealogy = trace_genealogy(history, 5, rng)
            assert genealogy.age == 25
            traced += 1
    assert traced > 10


@pytest.mark.slow
@pytest.mark.parametrize("age", [20, 50, 100])
@pytest.mark.parametrize("carriers", [10, 20, 50])
def test_gamma_coverage_on_independent_genealogies(age, carriers):
    """Recovery under the Gamma method's own model: 200 data sets traced through an
    allele at 10⁶ copies (lineages almost never meet in ≤ 100 generations); both
    intervals cover the age at 95% within binomial error (99.9% band). docs/age.md's
    table gives the realistic demographies (experiments/allele_age)."""
    history = History.constant(1_000_000, 1_000_000, age)
    rng = np.random.default_rng([age, carriers])
    covered = np.zeros(2, dtype=int)
    for _ in range(200):
        segments = shared_segments(trace_genealogy(history, carriers, rng), rng)
        covered += [e.covers(age) for e in gamma_estimates(segments.left_cm, segments.right_cm)]
    assert binomial_inside(int(covered[0]), 200, 0.95)
    assert binomial_inside(int(covered[1]), 200, 0.95)
