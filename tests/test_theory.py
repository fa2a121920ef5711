"""Tests of popsim.analysis.theory against independent facts (closed forms, identities,
Monte Carlo).

Tolerances: exact identities are checked to 1e-12 relative (floating-point rounding only);
approximations carry a tolerance derived from the size of the neglected terms, stated at
each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from popsim.analysis import theory as th

# ---------------------------------------------------------------------------
# selection_step and the deterministic map


def test_selection_step_hand_computed() -> None:
    # q = 0.2, u = 0.01, s = 0.5, h = 0.2, a = 0.05, F = 0.1
    # mutation: q' = 0.2 + 0.01·0.8 = 0.208, x0 = 0.792
    # P00 = 0.792²·0.9 + 0.792·0.1 = 0.5645376 + 0.0792 = 0.6437376
    # P0p = 2·0.792·0.208·0.9 = 0.2965248
    # Ppp = 0.208²·0.9 + 0.208·0.1 = 0.0389376 + 0.0208 = 0.0597376   (sum = 1)
    # carrier fitness 1 − 0.2·0.5 + 0.05 = 0.95, affected 1 − 0.5 = 0.5
    # w̄ = 0.6437376 + 0.2965248·0.95 + 0.0597376·0.5 = 0.95530496
    # q_sel = (0.0597376·0.5 + 0.5·0.2965248·0.95) / w̄ = 0.17071808 / 0.95530496
    #       = 266747 / 1492664
    got = th.selection_step(0.2, u=0.01, s=0.5, h=0.2, a=0.05, F=0.1)
    assert isinstance(got, float)
    assert got == pytest.approx(266747 / 1492664, rel=1e-12)


def test_selection_step_vectorised_and_boundaries() -> None:
    q = np.array([0.0, 0.3, 1.0])
    got = th.selection_step(q, s=0.3, h=0.1, F=0.05)
    assert isinstance(got, np.ndarray)
    assert got.shape == (3,)
    # without mutation both boundaries are fixed points whatever the selection
    assert got[0] == 0.0
    assert got[2] == pytest.approx(1.0, rel=1e-12)
    # neutral: q_sel = q + u(1 − q) since Ppp + ½·P0p = q for any F
    assert th.selection_step(0.3, u=0.1, F=0.4) == pytest.approx(0.37, rel=1e-12)


def test_selection_step_zero_mean_fitness_raises() -> None:
    with pytest.raises(ValueError, match="w̄"):
        th.selection_step(1.0, s=1.0)
    with pytest.raises(ValueError):
        th.selection_step(0.5, s=1.5)  # negative affected fitness
    with pytest.raises(ValueError):
        th.selection_step(1.2)


def test_drift_ratio_matches_selection_step() -> None:
    # the closed form (q_sel − z)/(z(1 − z)) used by the diffusion equals the direct map
    z = np.linspace(0.01, 0.99, 99)
    for kw in (dict(s=0.3, h=0.2, a=0.05, F=0.1), dict(s=-0.2, h=0.7), dict(s=0.9, F=1.0)):
        direct = (np.asarray(th.selection_step(z, **kw)) - z) / (z * (1 - z))
        closed = th._drift_ratio(z, **kw)
        np.testing.assert_allclose(closed, direct, rtol=1e-9, atol=1e-13)


def test_deterministic_trajectory_mutation_only_exact() -> None:
    # s = 0: 1 − q_{t+1} = (1 − u)(1 − q_t)  ⇒  q_t = 1 − (1 − u)^t (1 − q0)
    traj = th.deterministic_trajectory(0.05, 200, u=1e-3)
    t = np.arange(201)
    assert traj.shape == (201,)
    np.testing.assert_allclose(traj, 1 - (1 - 1e-3) ** t * 0.95, rtol=1e-12)
    np.testing.assert_allclose(
        th.deterministic_trajectory(0.0, 200, u=1e-3),
        th.expected_new_mutant_frequency(1e-3, t),
        rtol=1e-12,
    )


def test_expected_new_mutant_frequency() -> None:
    assert th.expected_new_mutant_frequency(0.01, 0) == 0.0
    assert th.expected_new_mutant_frequency(0.01, 1) == pytest.approx(0.01, rel=1e-12)
    assert th.expected_new_mutant_frequency(0.01, 2) == pytest.approx(0.0199, rel=1e-12)


# ---------------------------------------------------------------------------
# mutation–selection balance


@pytest.mark.parametrize(("u", "s"), [(1e-6, 0.5), (1e-8, 1.0)])
def test_equilibrium_recessive_outbred(u: float, s: float) -> None:
    # h = 0, F = 0: u ≈ s·q*²  ⇒  q* ≈ √(u/s); the neglected terms (1 − q*, the order of
    # mutation and selection) are of relative order q* ≈ √(u/s), hence rel = 2√(u/s).
    q_star = th.mutation_selection_equilibrium(u=u, s=s)
    assert th.selection_step(q_star, u=u, s=s) == pytest.approx(q_star, rel=1e-12)
    assert q_star == pytest.approx(math.sqrt(u / s), rel=2 * math.sqrt(u / s))


def test_equilibrium_inbred() -> None:
    # F ≫ √(u/s): selection removes ≈ s·F·q per generation (homozygotes by descent), so
    # q* ≈ u/(F s). Neglected: the random-mating homozygotes, relative q*/F = u/(s F²), and
    # the discrete order mutation→selection, relative s·F. Tolerance twice their sum.
    u, s, f = 1e-8, 0.1, 1 / 16
    assert f > 100 * math.sqrt(u / s)
    q_star = th.mutation_selection_equilibrium(u=u, s=s, F=f)
    assert q_star == pytest.approx(u / (f * s), rel=2 * (s * f + u / (s * f * f)))


def test_equilibrium_is_limit_of_trajectory_and_special_cases() -> None:
    kw = dict(u=1e-4, s=0.5, h=0.1, F=0.02)
    q_star = th.mutation_selection_equilibrium(**kw)
    assert th.deterministic_trajectory(0.0, 3000, **kw)[-1] == pytest.approx(q_star, rel=1e-9)
    # overdominance without mutation: q* = a/(2a + s) for h = 0, F = 0
    assert th.mutation_selection_equilibrium(u=0.0, s=0.1, a=0.05) == pytest.approx(0.25, rel=1e-12)
    assert th.mutation_selection_equilibrium(u=0.0, s=0.1) == 0.0
    assert th.mutation_selection_equilibrium(u=1e-6, s=0.0) == 1.0


# ---------------------------------------------------------------------------
# exact Wright–Fisher chain


def test_transition_matrix_rows_and_absorbing_states() -> None:
    n = 25
    p = th.wf_transition_matrix(n, u=1e-3, s=0.2, h=0.3, a=0.01, F=0.1)
    assert p.shape == (2 * n + 1, 2 * n + 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert p[0, 0] < 1.0  # mutation leaves 0 copies
    neutral = th.wf_transition_matrix(n)
    assert neutral[0, 0] == 1.0
    assert neutral[2 * n, 2 * n] == 1.0


def test_neutral_transition_preserves_mean() -> None:
    n = 30
    p = th.wf_transition_matrix(n)
    j = np.arange(2 * n + 1)
    np.testing.assert_allclose(p @ j, j, rtol=1e-12, atol=1e-12)


def test_count_distribution_neutral_heterozygosity_exact() -> None:
    # H = 2x(1−x), x = j/2N: E[H_{t+1} | x_t] = 2(x − x² − x(1−x)/2N) = (1 − 1/2N) H_t.
    n, t, i = 20, 60, 13
    dist = th.wf_count_distribution(n, t, i)
    x = np.arange(2 * n + 1) / (2 * n)
    assert dist.sum() == pytest.approx(1.0, rel=1e-12)
    h0 = 2 * (i / (2 * n)) * (1 - i / (2 * n))
    assert dist @ (2 * x * (1 - x)) == pytest.approx(th.neutral_heterozygosity(h0, n, t), rel=1e-12)
    assert dist @ x == pytest.approx(i / (2 * n), rel=1e-12)


def test_count_distribution_neutral_absorption() -> None:
    # transient mass after t generations is < (1 − 1/2N)^t ≈ e^{−100}; the absorbed mass
    # splits as the neutral fixation probability p0.
    n, i = 10, 7
    dist = th.wf_count_distribution(n, 2000, i)
    assert dist[-1] == pytest.approx(th.neutral_fixation_probability(i / (2 * n)), rel=1e-12)
    assert dist[0] == pytest.approx(1 - i / (2 * n), rel=1e-12)


def test_count_distribution_mutation_mean_exact() -> None:
    # s = 0: E[q_{t+1}] = E[q_t] + u(1 − E[q_t]) (binomial drift is unbiased)
    n, t, u, i = 15, 40, 0.01, 3
    dist = th.wf_count_distribution(n, t, i, u=u)
    mean_q = dist @ (np.arange(2 * n + 1) / (2 * n))
    assert mean_q == pytest.approx(1 - (1 - u) ** t * (1 - i / (2 * n)), rel=1e-12)
    dist0 = th.wf_count_distribution(n, t, 0, u=u)
    assert dist0 @ (np.arange(2 * n + 1) / (2 * n)) == pytest.approx(
        th.expected_new_mutant_frequency(u, t), rel=1e-12
    )


def test_neutral_heterozygosity_closed_form() -> None:
    assert th.neutral_heterozygosity(0.5, 10, 0) == 0.5
    assert th.neutral_heterozygosity(0.5, 10, 2) == pytest.approx(0.5 * 0.95**2, rel=1e-12)


# ---------------------------------------------------------------------------
# fixation probability (diffusion)


def _genic_diffusion_exact(p: float, n: int, s: float) -> float:
    """Closed form of the diffusion with the exact drift for fitnesses 1, 1 − s/2, 1 − s.

    Here g(z) = (q_sel − z)/(z(1 − z)) = −(s/2)/(1 − s z), so G(y) = (1 − s y)^{−2N} and
    u(p) = ((1 − s p)^{1−2N} − 1)/((1 − s)^{1−2N} − 1), evaluated in log space.
    """
    big_a = (2 * n - 1) * -math.log1p(-s * p)
    big_b = (2 * n - 1) * -math.log1p(-s)
    if s > 0:
        return math.exp(big_a - big_b) * -math.expm1(-big_a) / -math.expm1(-big_b)
    return math.expm1(big_a) / math.expm1(big_b)


@pytest.mark.parametrize(
    ("n", "s", "p"),
    [(1000, 0.002, 0.1), (1000, 0.002, 1 / 2000), (10_000, 0.1, 0.99), (1000, -0.5, 0.001)],
)
def test_fixation_matches_genic_closed_form(n: int, s: float, p: float) -> None:
    # |N s| up to 1000 (u ≈ 2e-10 in the third case): only quadrature error remains, 1e-8
    got = th.fixation_probability(p, n, s=s, h=0.5)
    assert got == pytest.approx(_genic_diffusion_exact(p, n, s), rel=1e-8)


def test_fixation_matches_kimura_genic() -> None:
    # Kimura (1962) with per-copy selection −s/2 against the pathogenic allele:
    # u(p) = (1 − e^{−4N(−s/2)p})/(1 − e^{−4N(−s/2)}) = (e^{2Nsp} − 1)/(e^{2Ns} − 1).
    # It linearises log G = −2N log(1 − s y) to 2N s y; the neglected N s² y² ≤ N s² in the
    # exponent changes numerator and denominator by at most a factor e^{N s²}, so
    # rel = 2 N s² (= 0.008 here).
    n, s = 1000, 0.002
    for p in (1 / (2 * n), 0.1, 0.5):
        kimura = math.expm1(2 * n * s * p) / math.expm1(2 * n * s)
        assert th.fixation_probability(p, n, s=s, h=0.5) == pytest.approx(kimura, rel=2 * n * s * s)


def test_fixation_neutral_limit() -> None:
    # u(p) = p + O(N s) p(1 − p); with 4N s = 4e-6 the relative deviation is < 1e-5
    p = np.array([0.0, 0.01, 0.3, 0.9, 1.0])
    np.testing.assert_allclose(th.fixation_probability(p, 100, s=1e-8), p, rtol=1e-5)
    np.testing.assert_allclose(th.fixation_probability(p, 100, s=0.0, F=0.3), p, rtol=1e-12)
    assert th.neutral_fixation_probability(0.25) == 0.25


def test_fixation_inbred_effective_size() -> None:
    # F = 1: only homozygotes, g(z) = −s/(1 − s z); with N_e = N/2 (the variance of a
    # fully inbred population) G(y) = (1 − s y)^{−2N}: the closed form of the genic
    # outbred case. The default N_e = N is the frequency engine's drift.
    n, s = 500, 0.004
    assert th.fixation_probability(0.2, n, s=s, h=0.3, F=1.0, ne=n / 2) == pytest.approx(
        _genic_diffusion_exact(0.2, n, s), rel=1e-8
    )
    assert th.fixation_probability(0.2, n, s=s, F=0.1) == pytest.approx(
        th.fixation_probability(0.2, n, s=s, F=0.1, ne=n), rel=1e-12
    )


def _exact_fixation(n: int, **kw: float) -> np.ndarray:
    """Absorption probabilities at 2N of the exact chain: (I − Q) x = P[transient, 2N]."""
    p = th.wf_transition_matrix(n, **kw)
    x = np.linalg.solve(np.eye(2 * n - 1) - p[1:-1, 1:-1], p[1:-1, -1])
    return np.concatenate(([0.0], x, [1.0]))


@pytest.mark.parametrize(
    "kw",
    [
        dict(s=0.02, h=0.5),
        dict(s=-0.02, h=0.5),
        dict(s=0.05, h=0.0),
        dict(s=0.05, h=0.0, F=0.1),
        dict(s=0.02, h=0.3, a=0.01, F=1 / 16),
    ],
)
def test_fixation_matches_exact_wright_fisher(kw: dict[str, float]) -> None:
    # The engine's drift is Binomial(2N, q_sel) whatever F, so compare with ne = N.
    # The diffusion keeps only the first two moments of the one-generation change; the
    # neglected terms are of relative order s and 1/N, hence rel = |s| + 1/N.
    n = 50
    exact = _exact_fixation(n, **kw)
    for i in (1, 10, 50):
        got = th.fixation_probability(i / (2 * n), n, ne=n, **kw)
        assert got == pytest.approx(exact[i], rel=abs(kw["s"]) + 1 / n)


def test_fixation_vectorised_monotone_and_errors() -> None:
    p = np.linspace(0.0, 1.0, 11)
    got = th.fixation_probability(p, 200, s=0.01, h=0.2, F=0.05)
    assert got.shape == p.shape
    assert got[0] == 0.0
    assert got[-1] == 1.0
    assert np.all(np.diff(got) > 0)
    assert np.all(got[1:-1] < p[1:-1])  # deleterious
    with pytest.raises(ValueError):
        th.fixation_probability(0.5, 100, s=1.0)  # w̄(1) = 0
    with pytest.raises(ValueError):
        th.fixation_probability(1.5, 100, s=0.1)


# ---------------------------------------------------------------------------
# several demes


def test_migration_moments_single_deme_is_heterozygosity_decay() -> None:
    n, t, p0 = 30, 80, 0.3
    mean, second = th.migration_moments([p0], [n], [[1.0]], t)
    assert mean.shape == (t + 1, 1)
    assert second.shape == (t + 1, 1, 1)
    np.testing.assert_allclose(mean[:, 0], p0, rtol=1e-12)
    het = 2 * (mean[:, 0] - second[:, 0, 0])
    expected = th.neutral_heterozygosity(2 * p0 * (1 - p0), n, np.arange(t + 1))
    np.testing.assert_allclose(het, expected, rtol=1e-12)


def test_migration_moments_isolated_demes_independent() -> None:
    p0, sizes = np.array([0.2, 0.7]), np.array([10, 40])
    mean, second = th.migration_moments(p0, sizes, np.eye(2), 25)
    np.testing.assert_allclose(second[:, 0, 1], p0[0] * p0[1], rtol=1e-12)
    for i in range(2):
        het = 2 * (mean[:, i] - second[:, i, i])
        expected = th.neutral_heterozygosity(2 * p0[i] * (1 - p0[i]), sizes[i], np.arange(26))
        np.testing.assert_allclose(het, expected, rtol=1e-12)


def test_migration_moments_monte_carlo() -> None:
    # independent check of the recursion: simulate migration then Binomial(2N_i, y_i) drift.
    # 5 standard errors per moment (false-alarm chance ~1e-6 each; the seed is fixed).
    rng = np.random.default_rng(20240601)
    p0 = np.array([0.1, 0.5, 0.8])
    sizes = np.array([20, 50, 100])
    mig = np.array([[0.90, 0.08, 0.02], [0.05, 0.90, 0.05], [0.00, 0.10, 0.90]])
    t, reps = 20, 40_000
    x = np.tile(p0, (reps, 1))
    for _ in range(t):
        y = x @ mig.T
        x = rng.binomial(2 * sizes, y) / (2 * sizes)
    mean, second = th.migration_moments(p0, sizes, mig, t)
    se_mean = x.std(axis=0, ddof=1) / math.sqrt(reps)
    assert np.all(np.abs(x.mean(axis=0) - mean[t]) < 5 * se_mean)
    products = x[:, :, None] * x[:, None, :]
    se_second = products.std(axis=0, ddof=1) / math.sqrt(reps)
    assert np.all(np.abs(products.mean(axis=0) - second[t]) < 5 * se_second)


def test_two_demes_quasi_stationary_fst() -> None:
    # Symmetric two-deme island, no mutation: with W = E[2x_i(1−x_i)] (within) and
    # B = E[x_1(1−x_2) + x_2(1−x_1)] (between), k = 2m(1−m), c = 1 − 1/2N:
    #   W' = c[(1−k)W + kB],  B' = kW + (1−k)B.
    # Both decay at the leading eigenvalue and r = W/B converges to the positive root of
    #   k r² + (1−k)(1−c) r − c k = 0;  F_ST = 1 − W/H_T with H_T = (W + B)/2 = (1−r)/(1+r).
    n, m = 500, 0.01
    mig = np.array([[1 - m, m], [m, 1 - m]])
    mean, second = th.migration_moments([0.1, 0.5], [n, n], mig, 3000)

    def fst(t: int) -> float:
        within = np.mean([2 * (mean[t, i] - second[t, i, i]) for i in range(2)])
        between = mean[t, 0] + mean[t, 1] - 2 * second[t, 0, 1]
        return 1 - within / ((within + between) / 2)

    k, c = 2 * m * (1 - m), 1 - 1 / (2 * n)
    r = (-(1 - k) * (1 - c) + math.sqrt(((1 - k) * (1 - c)) ** 2 + 4 * k * k * c)) / (2 * k)
    assert fst(1500) == pytest.approx(fst(3000), rel=1e-9)  # converged
    assert fst(3000) == pytest.approx((1 - r) / (1 + r), rel=1e-9)
    # Wright's finite-island formula is the mutation-equilibrium value for small m; the
    # no-mutation quasi-stationary value differs by relative O(F_ST) + O(m) ≈ 2%: rel 5%.
    assert fst(3000) == pytest.approx(th.island_fst(n, m, n_demes=2), rel=0.05)


def test_island_fst() -> None:
    assert th.island_fst(100, 0.01) == pytest.approx(1 / 5, rel=1e-12)
    assert th.island_fst(100, 0.01, n_demes=2) == pytest.approx(1 / 17, rel=1e-12)
    assert th.island_fst(100, 0.01, n_demes=10**9) == pytest.approx(1 / 5, rel=1e-8)
    assert th.island_fst(100, 0.0) == 1.0
    with pytest.raises(ValueError):
        th.island_fst(100, 0.01, n_demes=1)
