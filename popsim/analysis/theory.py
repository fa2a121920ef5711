"""Analytical and exact predictions against which the simulation engines are validated.

Everything here is pure numpy/scipy and self-contained. Units throughout:

* sizes ``n`` are numbers of **diploid individuals** N, so a deme holds 2N gene copies;
* time is in **generations**;
* ``q`` is the total frequency of pathogenic copies (all pathogenic alleles pooled), and
  x0 = 1 − q the frequency of the normal allele.

The one-generation model (the same order as the frequency engine):

1. migration (several demes only): x_i ← Σ_j M[i, j] x_j with M the backward migration
   matrix (rows sum to 1; M[i, j] = fraction of deme i's parents that come from deme j);
2. mutation: a normal copy becomes pathogenic with probability u, q ← q + u(1 − q);
3. selection on zygotes formed with inbreeding coefficient F::

       P00 = x0²(1−F) + x0·F,  P0p = 2·x0·q·(1−F),  Ppp = q²(1−F) + q·F
       fitnesses 1, 1 − h·s + a, 1 − s
       w̄ = P00 + P0p·(1 − h·s + a) + Ppp·(1 − s)
       q_sel = (Ppp·(1 − s) + ½·P0p·(1 − h·s + a)) / w̄

   (s = selection against affected, h = dominance in carriers, a = heterozygote advantage);
4. drift: the next generation's pathogenic count is Binomial(2N', q_sel), N' the next size.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = [
    "deterministic_trajectory",
    "expected_new_mutant_frequency",
    "fixation_probability",
    "island_fst",
    "migration_moments",
    "mutation_selection_equilibrium",
    "neutral_fixation_probability",
    "neutral_heterozygosity",
    "selection_step",
    "wf_count_distribution",
    "wf_transition_matrix",
]

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------
# helpers


def _check_parameters(u: float, s: float, h: float, a: float, F: float) -> None:
    """Reject parameters outside the model: probabilities in [0, 1], fitnesses ≥ 0."""
    if not 0.0 <= u <= 1.0:
        raise ValueError(f"mutation rate u must lie in [0, 1], got {u!r}")
    if not 0.0 <= F <= 1.0:
        raise ValueError(f"inbreeding coefficient F must lie in [0, 1], got {F!r}")
    if 1.0 - s < 0.0:
        raise ValueError(f"affected fitness 1 - s must be >= 0 (s <= 1), got s={s!r}")
    if 1.0 - h * s + a < 0.0:
        raise ValueError(f"carrier fitness 1 - h*s + a must be >= 0, got h={h!r}, s={s!r}, a={a!r}")


def _check_size(n: int, name: str = "n") -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"{name} must be a positive whole number of diploids, got {n!r}")
    return int(n)


def _check_generations(generations: int) -> int:
    if int(generations) != generations or generations < 0:
        raise ValueError(f"generations must be a whole number >= 0, got {generations!r}")
    return int(generations)


def _as_output(values: FloatArray, like: npt.ArrayLike) -> FloatArray | float:
    """Return a Python float when the input was a scalar, else the array."""
    return float(values) if np.ndim(like) == 0 else values


def _drift_ratio(
    z: FloatArray, *, s: float, h: float = 0.0, a: float = 0.0, F: float = 0.0
) -> FloatArray:
    """(q_sel(z) − z) / (z(1 − z)) for u = 0, in closed form (no 0/0 at z = 0 or 1).

    With Ppp + ½·P0p = z, the numerator of q_sel − z over w̄ simplifies to
    z(1 − z)·[−s·(z(1 − F) + F) + (1 − F)(a − h·s)(1 − 2z)], hence::

        g(z) = [−s·(z(1−F) + F) + (1−F)(a − h·s)(1 − 2z)] / w̄(z),
        w̄(z) = 1 − s·(z²(1−F) + z·F) + 2(a − h·s)·z(1 − z)(1 − F).
    """
    wbar = 1.0 - s * (z * z * (1.0 - F) + z * F) + 2.0 * (a - h * s) * z * (1.0 - z) * (1.0 - F)
    return (-s * (z * (1.0 - F) + F) + (1.0 - F) * (a - h * s) * (1.0 - 2.0 * z)) / wbar


# ---------------------------------------------------------------------------
# deterministic one-generation map


def selection_step(
    q: npt.ArrayLike,
    *,
    u: float = 0.0,
    s: float = 0.0,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
) -> FloatArray | float:
    """Mutation then selection on zygotes (steps 2–3 of a generation), deterministically.

    q ← q + u(1 − q), x0 = 1 − q, then with zygotes formed with inbreeding F::

        P00 = x0²(1−F) + x0·F,  P0p = 2·x0·q·(1−F),  Ppp = q²(1−F) + q·F
        w̄ = P00 + P0p·(1 − h·s + a) + Ppp·(1 − s)
        q_sel = (Ppp·(1 − s) + ½·P0p·(1 − h·s + a)) / w̄

    Args:
        q: pathogenic frequency (scalar or array) before mutation, each in [0, 1].
        u: pathogenic mutation rate per normal copy per generation.
        s: selection coefficient against affected (pathogenic/pathogenic) zygotes.
        h: dominance of s in carriers.
        a: heterozygote advantage (added to the carrier fitness).
        F: inbreeding coefficient of the zygotes.

    Returns:
        q_sel, the pathogenic frequency in the gamete pool that drift samples from
        (a float for scalar input, an array otherwise).

    Raises:
        ValueError: parameters outside the model, q outside [0, 1], or w̄ == 0 (every
            zygote has fitness 0).
    """
    _check_parameters(u, s, h, a, F)
    q_arr = np.asarray(q, dtype=np.float64)
    if np.any((q_arr < 0.0) | (q_arr > 1.0)) or np.any(np.isnan(q_arr)):
        raise ValueError("pathogenic frequency q must lie in [0, 1]")
    q_mut = q_arr + u * (1.0 - q_arr)
    x0 = 1.0 - q_mut
    p00 = x0 * x0 * (1.0 - F) + x0 * F
    p0p = 2.0 * x0 * q_mut * (1.0 - F)
    ppp = q_mut * q_mut * (1.0 - F) + q_mut * F
    w_het = 1.0 - h * s + a
    w_aff = 1.0 - s
    wbar = p00 + p0p * w_het + ppp * w_aff
    if np.any(wbar == 0.0):
        raise ValueError("mean fitness w̄ is 0: every zygote has fitness 0")
    q_sel = (ppp * w_aff + 0.5 * p0p * w_het) / wbar
    return _as_output(np.clip(q_sel, 0.0, 1.0), q)


def deterministic_trajectory(
    q0: float,
    generations: int,
    *,
    u: float = 0.0,
    s: float = 0.0,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
) -> FloatArray:
    """Pathogenic frequency in an infinite population: q_{t+1} = selection_step(q_t).

    Returns:
        Array of shape (generations + 1,) with q_0 = ``q0`` first.
    """
    t_max = _check_generations(generations)
    traj = np.empty(t_max + 1, dtype=np.float64)
    traj[0] = q0
    for t in range(t_max):
        traj[t + 1] = selection_step(traj[t], u=u, s=s, h=h, a=a, F=F)
    return traj


def mutation_selection_equilibrium(
    *, u: float, s: float, h: float = 0.0, a: float = 0.0, F: float = 0.0
) -> float:
    """Stable fixed point q* of :func:`selection_step` reached from a rare pathogenic allele.

    Solves f(q) = selection_step(q) − q = 0 with :func:`scipy.optimize.brentq`. The root
    is the first down-crossing of f (f > 0 below q*, f < 0 just above), located on a grid
    that is geometric near 0 and uniform elsewhere; this is the equilibrium that the
    deterministic trajectory from q = 0 converges to.

    Classical approximations (u ≪ s): recessive, outbred (h = 0, F = 0): q* ≈ √(u/s);
    inbred with F ≫ √(u/s): q* ≈ u/(F·s) (selection acts on the F·q homozygotes by
    descent); additive-like h·s ≫ √(u s): q* ≈ u/(h·s).

    Returns:
        q* in [0, 1]; 1.0 when f > 0 throughout (0, 1) (e.g. s = 0 with u > 0); 0.0 when
        u = 0 and a rare pathogenic allele is selected against.
    """
    _check_parameters(u, s, h, a, F)

    def f(q: float) -> float:
        return float(selection_step(q, u=u, s=s, h=h, a=a, F=F)) - q

    def g(q: float) -> float:
        return float(_drift_ratio(np.float64(q), s=s, h=h, a=a, F=F))

    grid = np.unique(
        np.concatenate(([0.0], np.geomspace(1e-15, 1e-2, 1300), np.linspace(0.0, 1.0, 2001)[:-1]))
    )  # q = 1 left out: w̄(1) = 1 − s may be 0
    if u == 0.0:
        # f(q) = q(1 − q)·g(q) on (0, 1): use g, which has the sign of f without the
        # cancellation of selection_step(q) − q for tiny q
        objective = g
        values = _drift_ratio(grid, s=s, h=h, a=a, F=F)
        if values[1] <= 0.0:
            return 0.0  # a rare pathogenic allele does not increase: q = 0 is stable
        start = 1
    else:
        objective = f
        values = np.asarray(selection_step(grid, u=u, s=s, h=h, a=a, F=F)) - grid
        start = 0
    down = np.nonzero((values[start:-1] > 0.0) & (values[start + 1 :] <= 0.0))[0]
    if down.size == 0:
        return 1.0
    k = start + int(down[0])
    if values[k + 1] == 0.0:
        return float(grid[k + 1])
    return float(
        optimize.brentq(objective, grid[k], grid[k + 1], xtol=1e-300, rtol=8.9e-16, maxiter=500)
    )


# ---------------------------------------------------------------------------
# exact Wright–Fisher Markov chain (one deme, constant size)


def wf_transition_matrix(
    n: int,
    *,
    u: float = 0.0,
    s: float = 0.0,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
) -> FloatArray:
    """Transition matrix of the pathogenic copy count in one deme of constant size N.

    P[i, j] = Pr(j pathogenic copies next generation | i now)
            = Binomial(2N, q_sel(i / 2N)).pmf(j),  i, j = 0 … 2N,

    with q_sel from :func:`selection_step`. Rows are renormalised to sum to 1 (this only
    removes rounding of order 1e-16).

    Returns:
        Array of shape (2N + 1, 2N + 1).
    """
    n = _check_size(n)
    two_n = 2 * n
    q_sel = np.asarray(
        selection_step(np.arange(two_n + 1) / two_n, u=u, s=s, h=h, a=a, F=F), dtype=np.float64
    )
    matrix = stats.binom.pmf(np.arange(two_n + 1)[None, :], two_n, q_sel[:, None])
    matrix = np.asarray(matrix, dtype=np.float64)
    matrix /= matrix.sum(axis=1, keepdims=True)
    return matrix


def wf_count_distribution(
    n: int,
    generations: int,
    initial_count: int,
    *,
    u: float = 0.0,
    s: float = 0.0,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
) -> FloatArray:
    """Exact distribution of the pathogenic copy count after t generations.

    π_0 = e_{initial_count}, π_{t+1} = π_t P with P from :func:`wf_transition_matrix`
    (t vector–matrix products, O(t·N²); no matrix powers).

    Returns:
        Array of shape (2N + 1,): Pr(count = j after ``generations``), j = 0 … 2N.
    """
    n = _check_size(n)
    t_max = _check_generations(generations)
    if int(initial_count) != initial_count or not 0 <= initial_count <= 2 * n:
        raise ValueError(f"initial_count must be a whole number in [0, 2N], got {initial_count!r}")
    matrix = wf_transition_matrix(n, u=u, s=s, h=h, a=a, F=F)
    dist = np.zeros(2 * n + 1, dtype=np.float64)
    dist[int(initial_count)] = 1.0
    for _ in range(t_max):
        dist = dist @ matrix
    return dist


# ---------------------------------------------------------------------------
# neutral closed forms


def neutral_heterozygosity(
    h0: npt.ArrayLike, n: float, generations: npt.ArrayLike
) -> FloatArray | float:
    """Expected heterozygosity under neutral drift: H_t = H_0 (1 − 1/(2N))^t.

    Exact for the Wright–Fisher model with H = 2x(1 − x) the expected heterozygosity of a
    deme with allele frequency x: E[H_{t+1} | x_t] = (1 − 1/(2N)) H_t.
    """
    if n <= 0:
        raise ValueError(f"n must be > 0 diploids, got {n!r}")
    t = np.asarray(generations, dtype=np.float64)
    values = np.asarray(h0, dtype=np.float64) * (1.0 - 1.0 / (2.0 * n)) ** t
    return float(values) if values.ndim == 0 else values


def neutral_fixation_probability(p0: npt.ArrayLike) -> FloatArray | float:
    """Fixation probability of a neutral allele at frequency p0: u(p0) = p0 (a martingale)."""
    p = np.asarray(p0, dtype=np.float64)
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p0 must lie in [0, 1]")
    return float(p) if p.ndim == 0 else p.copy()


def expected_new_mutant_frequency(u: float, generations: npt.ArrayLike) -> FloatArray | float:
    """Expected pathogenic frequency from q = 0 with mutation only: 1 − (1 − u)^t.

    Exact under drift as well (E[q_{t+1}] = E[q_t] + u(1 − E[q_t]) since drift is unbiased),
    as long as there is no selection.
    """
    if not 0.0 <= u <= 1.0:
        raise ValueError(f"mutation rate u must lie in [0, 1], got {u!r}")
    t = np.asarray(generations, dtype=np.float64)
    values = -np.expm1(t * math.log1p(-u)) if u < 1.0 else np.where(t > 0, 1.0, 0.0)
    return float(values) if np.ndim(values) == 0 else values


# ---------------------------------------------------------------------------
# diffusion approximation


def fixation_probability(
    p0: npt.ArrayLike,
    n: float,
    *,
    s: float,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
    ne: float | None = None,
) -> FloatArray | float:
    """Diffusion (Kimura 1962) fixation probability of the pathogenic allele.

    u(p) = ∫₀^p G(y) dy / ∫₀^1 G(y) dy,  G(y) = exp(−∫₀^y 2 M(z)/V(z) dz),

    * M(z) = q_sel(z) − z, the exact one-generation mean change of :func:`selection_step`
      with u = 0, so dominance h, heterozygote advantage a and inbreeding F all enter;
    * V(z) = z(1 − z)/(2 N_e), with by default N_e = N, the model of the frequency
      engine: it draws the next 2N copies independently (Binomial(2N, q_sel)), so F
      changes selection (zygote frequencies) but not the drift variance. Pass
      ``ne = n/(1 + F)`` for the variance among N individuals whose two copies are
      identical by descent with probability F (a population that is inbred in its
      gamete sampling too).

    Hence 2M/V = 4 N_e g(z) with g(z) = M(z)/(z(1 − z)) computed in closed form (smooth
    on [0, 1], see ``_drift_ratio``). L(y) = log G(y) = −4 N_e ∫₀^y g is integrated by the
    trapezoid rule on a grid with 4 N_e·Δz²·max(|g|, |g''|) ≲ 1e-7 (at most 2·10⁶ points),
    geometric near 0 and 1; ∫ G is then integrated panel by panel, exactly for log-linear
    G, and summed in log space (logaddexp), so nothing overflows for |N s| up to ~10⁴.
    For genic selection (h = ½, F = 0, a = 0) with a deleterious allele this gives G(y)
    = (1 − s y)^{−2N} and, for small s, Kimura's (e^{2Nsp} − 1)/(e^{2Ns} − 1).

    Args:
        p0: initial pathogenic frequency (scalar or array), in [0, 1].
        n: census size N (diploids).
        s, h, a, F: as in :func:`selection_step`.
        ne: effective size N_e (diploids); default N (the frequency engine's drift).

    Returns:
        Fixation probability (float for scalar ``p0``). Values below ~1e-308 underflow to 0.

    Raises:
        ValueError: bad parameters, or mean fitness 0 somewhere on [0, 1] (e.g. s = 1 with
            a pathogenic homozygote population), where the diffusion is undefined.
    """
    _check_parameters(0.0, s, h, a, F)
    if n <= 0:
        raise ValueError(f"n must be > 0 diploids, got {n!r}")
    n_e = float(n) if ne is None else float(ne)
    if n_e <= 0:
        raise ValueError(f"ne must be > 0, got {ne!r}")
    p = np.asarray(p0, dtype=np.float64)
    if np.any((p < 0.0) | (p > 1.0)) or np.any(np.isnan(p)):
        raise ValueError("p0 must lie in [0, 1]")

    # bound |g| and |g''| (in units of the fitness differences) to size the grid
    probe = np.linspace(0.0, 1.0, 1001)
    wbar = (
        1.0
        - s * (probe**2 * (1.0 - F) + probe * F)
        + 2.0 * (a - h * s) * probe * (1.0 - probe) * (1.0 - F)
    )
    if np.any(wbar <= 0.0):
        raise ValueError("mean fitness reaches 0 on [0, 1]; the diffusion is undefined")
    g_probe = _drift_ratio(probe, s=s, h=h, a=a, F=F)
    if not np.any(g_probe):
        return neutral_fixation_probability(p)
    curvature = float(np.max(np.abs(np.diff(g_probe, 2)))) / (probe[1] - probe[0]) ** 2
    scale = 4.0 * n_e * max(curvature, float(np.max(np.abs(g_probe))), 1e-300)
    step = min(1e-3, math.sqrt(1e-7 / scale))
    n_uniform = int(min(max(1.0 / step, 1000.0), 2_000_000)) + 1
    ends = np.geomspace(1e-14, 1e-3, 300)
    grid = np.unique(
        np.concatenate((np.linspace(0.0, 1.0, n_uniform), ends, 1.0 - ends, p.ravel()))
    )

    g = _drift_ratio(grid, s=s, h=h, a=a, F=F)
    widths = np.diff(grid)
    big_l = np.concatenate(([0.0], np.cumsum(-4.0 * n_e * 0.5 * (g[1:] + g[:-1]) * widths)))
    # big_l = L = log G on the grid; ∫ over a panel of exp(L) with L linear between L_k and L_{k+1}:
    # width · exp(max L) · (1 − e^{−|d|})/|d|, d = L_{k+1} − L_k
    d = np.abs(np.diff(big_l))
    shape = np.ones_like(d)
    big = d > 1e-12
    shape[big] = -np.expm1(-d[big]) / d[big]
    log_panels = np.log(widths) + np.maximum(big_l[1:], big_l[:-1]) + np.log(shape)
    log_cum = np.concatenate(([-np.inf], np.logaddexp.accumulate(log_panels)))
    index = np.searchsorted(grid, p.ravel())
    values = np.exp(log_cum[index] - log_cum[-1]).reshape(p.shape)
    values = np.where(p >= 1.0, 1.0, values)
    return float(values) if values.ndim == 0 else values


# ---------------------------------------------------------------------------
# several demes


def migration_moments(
    p0: npt.ArrayLike,
    sizes: npt.ArrayLike,
    migration: npt.ArrayLike,
    generations: int,
) -> tuple[FloatArray, FloatArray]:
    """Exact first and second moments of deme frequencies under neutral drift and migration.

    Neutral Wright–Fisher with backward migration, no mutation or selection, constant sizes
    N_i, from fixed initial frequencies p0. With m_t = E[x_t] and S_t = E[x_t x_tᵀ]:
    migration y = M x gives E[y] = M m, E[y yᵀ] = M S Mᵀ; binomial drift with 2N_i copies
    in deme i adds Var(x'_i | y) = y_i(1 − y_i)/(2N_i), independently across demes::

        m_{t+1} = M m_t
        S_{t+1} = M S_t Mᵀ + diag((M m_t − diag(M S_t Mᵀ)) / (2N))

    Args:
        p0: initial frequencies, shape (D,).
        sizes: diploid sizes N_i, shape (D,).
        migration: backward migration matrix M, shape (D, D), rows summing to 1.
        generations: number t of generations.

    Returns:
        (mean, second): mean of shape (t + 1, D) and raw second moments E[x xᵀ] of shape
        (t + 1, D, D); index 0 is the initial state (S_0 = p0 p0ᵀ). Covariances are
        ``second - mean[:, :, None] * mean[:, None, :]``.
    """
    t_max = _check_generations(generations)
    p = np.atleast_1d(np.asarray(p0, dtype=np.float64))
    n = np.atleast_1d(np.asarray(sizes, dtype=np.float64))
    m_mat = np.atleast_2d(np.asarray(migration, dtype=np.float64))
    d = p.shape[0]
    if p.ndim != 1 or n.shape != (d,) or m_mat.shape != (d, d):
        raise ValueError("p0 and sizes must have shape (D,) and migration shape (D, D)")
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p0 must lie in [0, 1]")
    if np.any(n <= 0):
        raise ValueError("sizes must be > 0 diploids")
    if np.any(m_mat < 0.0) or not np.allclose(m_mat.sum(axis=1), 1.0, rtol=0.0, atol=1e-12):
        raise ValueError("migration must be non-negative with rows summing to 1")
    mean = np.empty((t_max + 1, d), dtype=np.float64)
    second = np.empty((t_max + 1, d, d), dtype=np.float64)
    mean[0] = p
    second[0] = np.outer(p, p)
    for t in range(t_max):
        m_next = m_mat @ mean[t]
        s_mig = m_mat @ second[t] @ m_mat.T
        s_next = s_mig + np.diag((m_next - np.diag(s_mig)) / (2.0 * n))
        mean[t + 1] = m_next
        second[t + 1] = 0.5 * (s_next + s_next.T)
    return mean, second


def island_fst(n: float, m: float, n_demes: int | None = None) -> float:
    """Equilibrium F_ST of Wright's island model (Wright 1931).

    Demes of N diploids, each receiving a fraction m of its parents from the other demes
    per generation; for small m, large N and negligible mutation:

    * infinitely many islands: F_ST ≈ 1/(1 + 4 N m);
    * d islands (migrants drawn evenly from the d − 1 others):
      F_ST ≈ 1/(1 + 4 N m (d/(d − 1))²) (e.g. Takahata 1983; Slatkin 1991, from
      coalescence times T_within = 2Nd, T_between = 2Nd + (d − 1)/(2m)).
    """
    if n <= 0:
        raise ValueError(f"n must be > 0 diploids, got {n!r}")
    if m < 0:
        raise ValueError(f"migration rate m must be >= 0, got {m!r}")
    factor = 1.0
    if n_demes is not None:
        if n_demes < 2:
            raise ValueError(f"n_demes must be >= 2, got {n_demes!r}")
        factor = (n_demes / (n_demes - 1.0)) ** 2
    return 1.0 / (1.0 + 4.0 * n * m * factor)
