"""The kernels' random numbers: xoshiro256+ uniforms and the exact binomial sampler.

Every branch of :func:`popsim.engines.sampling.binomial` (Bernoulli counting,
inversion, BTRD with its recursive, squeeze and log-factorial acceptance, the
p > ½ reflection) is checked against the binomial probability function by a
chi-square goodness-of-fit test on 200,000 draws, with a family-wise
α = 0.001 shared by all cases (Bonferroni), and by z-tests of the mean and
variance. Seeds are fixed; a correct sampler fails with probability < 0.001.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from popsim.engines import rng, sampling

DRAWS = 200_000
CASES = [
    # (n, p): the branch it exercises
    (5, 0.3),  # Bernoulli counting
    (32, 0.9),  # Bernoulli counting, p > 1/2
    (200, 0.02),  # inversion, mean 4
    (2_000_000, 1e-6),  # inversion, mean 2: mostly the early P(0) exit
    (400, 0.99),  # inversion of the complement
    (60, 0.3),  # BTRD, mean 18: |k − m| ≤ 15 (recursive ratio) throughout
    (2_000, 0.05),  # BTRD, sd 9.7
    (200_000, 0.05),  # BTRD, sd 97: squeeze of step 3.2 and the log-factorial test
    (3_000_000_000, 0.3),  # BTRD beyond 32-bit n
    (100_000, 0.7),  # BTRD of the complement
]
ALPHA = 0.001 / (3 * len(CASES))  # chi-square, mean and variance per case


@njit  # not cached: Numba would not notice changes to popsim.engines.sampling
def _draws(seed, n, p, size):
    state = rng.seeded(seed)
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i], state = sampling.binomial(state, n, p)
    return out


@njit  # not cached: Numba would not notice changes to popsim.engines.rng
def _uniforms(seed, size):
    state = rng.seeded(seed)
    out = np.empty(size)
    for i in range(size):
        out[i], state = rng.uniform(state)
    return out


def _chi_square_p(draws: np.ndarray, n: int, p: float) -> float:
    """P-value of draws against Binomial(n, p), bins merged to expect ≥ 5 each."""
    dist = stats.binom(n, p)
    lo, hi = int(dist.ppf(1e-9)), int(dist.isf(1e-9)) + 1
    edges, expected, acc = [lo], [], 0.0
    for k in range(lo, hi + 1):
        acc += dist.pmf(k) * draws.size
        if acc >= 5.0:
            edges.append(k + 1)
            expected.append(acc)
            acc = 0.0
    expected[-1] += acc
    edges[-1] = hi + 1
    expected = np.array(expected)
    expected[0] += dist.cdf(lo - 1) * draws.size
    expected[-1] += dist.sf(hi) * draws.size
    bins = np.clip(draws, lo, hi)
    observed = np.histogram(bins, bins=np.array(edges) - 0.5)[0]
    return float(stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue)


@pytest.mark.parametrize(("n", "p"), CASES)
def test_binomial_matches_the_probability_function(n, p):
    draws = _draws(20261124 + n % 1000, n, p, DRAWS)
    assert draws.min() >= 0 and draws.max() <= n
    assert _chi_square_p(draws, n, p) > ALPHA
    mean, var = n * p, n * p * (1 - p)
    z_mean = (draws.mean() - mean) / np.sqrt(var / DRAWS)
    # variance of the sample variance: (μ4 − σ⁴)/DRAWS, μ4 = σ²(1 + 3(n − 2)pq)
    mu4 = var * (1 + 3 * (n - 2) * p * (1 - p))
    z_var = (draws.var(ddof=1) - var) / np.sqrt((mu4 - var**2) / DRAWS)
    z_crit = stats.norm.isf(ALPHA / 2)
    assert abs(z_mean) < z_crit and abs(z_var) < z_crit


def test_binomial_degenerate_arguments():
    assert np.all(_draws(1, 0, 0.5, 10) == 0)
    assert np.all(_draws(1, 10, 0.0, 10) == 0)
    assert np.all(_draws(1, 10, 1.0, 10) == 10)
    assert np.all(_draws(1, 10**12, 1.0, 10) == 10**12)


def _xoshiro256plus_reference(seed: int, size: int) -> list[float]:
    """splitmix64 seeding and xoshiro256+ written out in Python integers
    (Blackman & Vigna 2018), the definition the kernels' generator must follow."""
    mask = (1 << 64) - 1
    z, state = seed, []
    for _ in range(4):
        z = (z + 0x9E3779B97F4A7C15) & mask
        y = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & mask
        state.append(y ^ (y >> 31))
    s0, s1, s2, s3 = state
    out = []
    for _ in range(size):
        result = (s0 + s3) & mask
        t = (s1 << 17) & mask
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & mask
        out.append((result >> 11) * 2.0**-53)
    return out


def test_uniforms_follow_the_published_generator():
    for seed in (0, 1, 20261124, 2**32 - 1):
        assert _uniforms(seed, 1000).tolist() == _xoshiro256plus_reference(seed, 1000)


def test_uniforms_are_uniform_and_reproducible():
    u = _uniforms(7, DRAWS)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.001
    lag = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(lag) < stats.norm.isf(0.0005) / np.sqrt(DRAWS)
    assert np.array_equal(u, _uniforms(7, DRAWS))
    assert not np.array_equal(u[:100], _uniforms(8, 100))


@njit  # not cached: Numba would not notice changes to popsim.engines.sampling
def _lane_and_alone_draws(seeds, n, p):
    """Draw Binomial(n[t, l], p[t, l]) for rounds t with lanes l side by side
    (binomial_lanes) and with each lane's generator alone (binomial)."""
    rounds, lanes = n.shape
    ints, floats, states = sampling.lane_arrays(lanes)
    alone = np.empty((rounds, lanes), dtype=np.int64)
    side = np.empty((rounds, lanes), dtype=np.int64)
    for lane in range(lanes):
        sampling.set_lane_state(states, lane, rng.seeded(seeds[lane]))
        state = rng.seeded(seeds[lane])
        for t in range(rounds):
            alone[t, lane], state = sampling.binomial(state, n[t, lane], p[t, lane])
    for t in range(rounds):
        for lane in range(lanes):
            ints[sampling.LANE_N, lane] = n[t, lane]
            floats[sampling.LANE_P, lane] = p[t, lane]
        sampling.binomial_lanes(lanes, ints, floats, states)
        side[t] = ints[sampling.LANE_K, :lanes]
    return alone, side


def test_lanes_draw_what_each_generator_draws_alone():
    """binomial_lanes gives every lane the variate binomial gives from that lane's
    generator, and leaves the generator where binomial leaves it: every method
    (no draw, Bernoulli counting, inversion with and without the P(0) exit, BTRD
    inside and outside the squeeze, the p > 1/2 reflection) mixed across 48 lanes
    and 400 rounds."""
    rng = np.random.default_rng(7)
    shape = (400, 48)
    n = rng.choice([0, 1, 5, 32, 33, 60, 200, 2_000, 200_000, 3_000_000_000], size=shape)
    p = rng.choice([0.0, 1e-7, 1e-3, 0.02, 0.05, 0.3, 0.5, 0.7, 0.99, 1.0], size=shape)
    p = np.where(rng.random(shape) < 0.5, p, rng.random(shape))
    alone, side = _lane_and_alone_draws(np.arange(1, 49, dtype=np.uint64), n, p)
    np.testing.assert_array_equal(side, alone)
    # the cases are there: draws decided in the first loop and in the second
    mean = n * np.minimum(p, 1 - p)
    assert ((n > 32) & (mean >= 10)).sum() > 1000
    assert ((n > 32) & (mean < 10) & (p > 0)).sum() > 1000
