"""Check 11: the drift–mutation–selection stationary regime (frequency engine).

The presets sit where 4Nu ≈ 1–4: the pathogenic class of a recessive allele
then neither behaves deterministically (4Nu = 200 in
``mutation-selection-balance``) nor is lost. Two predictions, for one deme of
N diploids starting without pathogenic copies:

* **exact** — the pathogenic count is a Markov chain,
  P[i, j] = Binomial(2N, q_sel(i/2N)).pmf(j) with q_sel the engine's mutation
  then selection step (:func:`popsim.analysis.theory.selection_step`, with F,
  dominance and the heterozygote fitness). Selection keeps q far below
  q_max, so the chain is kept on the counts 0 … 2N·q_max: the probability a row
  puts beyond is computed and stated (below 10⁻¹⁰ over the whole run), and
  the distribution after T generations is e_0·P^T.
* **Wright's stationary density** of the diffusion with the engine's exact
  one-generation mean change M(q) = q_sel(q) − q and binomial variance
  V(q) = q_sel(1 − q_sel)/2N: φ(q) ∝ exp(∫₀^q 2M/V)/V(q), integrated
  numerically on [0, q_max]. For q ≪ 1 and weak selection this is the
  textbook φ ∝ q^{4Nu−1}·exp(−2Ns·q²) (outbred, recessive; E[q²] = u/s);
  here nothing is expanded (F enters through P(p/p) = q²(1 − F) + qF, h and
  the (1 − q) factors are kept). Because V(0) = u(1 − u)/2N > 0 the density
  has no singularity at 0. No back mutation makes q = 1 absorbing; the density
  beyond q_max is below e⁻⁵⁰ of its peak and is left out.

Rows: the engine's count distribution (Pearson χ²), E[q] and E[q²] (t-tests)
after T generations against the exact chain (sampling error only); then an
approximation row per case: Wright's E[q] against the exact chain's stationary
E[q], passing when the difference is at most half the standard error of the
full run's E[q] (so Wright's density describes the engine to within what the
check can resolve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import integrate, stats

from popsim.analysis import theory
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import (
    Check,
    Figure,
    Outcome,
    Settings,
    deterministic_row,
    simulation_row,
)
from popsim.workflows.validation.stats import chi_square_gof, t_test_mean

NAME = "drift-mutation-selection"

#: Replicates of the full and the quick run.
FULL, QUICK = 4_000, 2_000
#: Largest frequency the exact chain and the density are kept on.
Q_MAX = 0.15
#: Allowed distance of Wright's E[q] from the exact one, in full-run standard errors.
WRIGHT_SE = 0.5


@dataclass(frozen=True)
class Case:
    n: int
    u: float
    s: float
    h: float
    F: float
    t: int

    @property
    def label(self) -> str:
        return scenarios.parameters(
            N=self.n, u=self.u, s=self.s, h=self.h, F=self.F, t=self.t
        ) + f" (4Nu={4 * self.n * self.u:g})"


CASES = (
    Case(2000, 2.5e-4, 1.0, 0.0, 0.02, 1000),
    Case(2000, 5e-4, 1.0, 0.01, 0.0, 1000),
)


def truncated_chain(case: Case) -> tuple[np.ndarray, float]:
    """(P on the counts 0 … 2N·Q_MAX, largest probability a row puts beyond them)."""
    two_n = 2 * case.n
    top = int(two_n * Q_MAX)
    states = np.arange(top + 1)
    q_sel = np.asarray(
        theory.selection_step(states / two_n, u=case.u, s=case.s, h=case.h, F=case.F)
    )
    matrix = np.asarray(stats.binom.pmf(states[None, :], two_n, q_sel[:, None]))
    return matrix, float(1.0 - matrix.sum(axis=1).max(initial=0.0))


def exact_distribution(case: Case) -> tuple[np.ndarray, np.ndarray, float]:
    """(distribution at T from no copies, stationary distribution, mass lost over the
    run by truncation) of the pathogenic count on 0 … 2N·Q_MAX."""
    matrix, _ = truncated_chain(case)
    dist = np.zeros(matrix.shape[0])
    dist[0] = 1.0
    for _ in range(case.t):
        dist = dist @ matrix
    lost = 1.0 - float(dist.sum())
    values, vectors = np.linalg.eig(matrix.T)
    stationary = np.abs(vectors[:, int(np.argmax(values.real))].real)
    return dist, stationary / stationary.sum(), lost


def wright_moments(case: Case, points: int = 200_001) -> tuple[float, float]:
    """(E[q], E[q²]) under φ(q) ∝ exp(∫₀^q 2M/V)/V on [0, Q_MAX] (module docstring)."""
    q = np.linspace(0.0, Q_MAX, points)
    q_sel = np.asarray(theory.selection_step(q, u=case.u, s=case.s, h=case.h, F=case.F))
    variance = q_sel * (1.0 - q_sel) / (2 * case.n)
    exponent = integrate.cumulative_trapezoid(2.0 * (q_sel - q) / variance, q, initial=0.0)
    density = np.exp(exponent - exponent.max()) / variance
    norm = integrate.trapezoid(density, q)
    return (
        float(integrate.trapezoid(q * density, q) / norm),
        float(integrate.trapezoid(q * q * density, q) / norm),
    )


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(FULL, QUICK)
    rows, panels = [], []
    for k, case in enumerate(CASES):
        dist, stationary, lost = exact_distribution(case)
        two_n = 2 * case.n
        x = np.arange(dist.size) / two_n
        mean, second = float(dist @ x), float(dist @ x**2)
        raw = scenarios.one_deme(case.n, case.t, u=case.u, s=case.s, h=case.h, F=case.F)
        result = scenarios.run(raw, replicates, seed=1100 + k, engine=engine)
        counts = scenarios.pathogenic_counts(result)[:, -1]
        q = counts / two_n
        observed = np.bincount(np.minimum(counts, dist.size), minlength=dist.size + 1)
        expected = np.append(dist, max(lost, 0.0))  # the last cell: beyond the kept counts
        distance = 0.5 * float(np.abs(dist - stationary).sum())
        label = (f"{case.label}; truncation loses {max(lost, 0.0):.0e}, "
                 f"distance from stationarity {distance:.0e}")
        rows += [
            simulation_row(NAME, engine, f"pathogenic count vs exact chain (mean shown); {label}",
                           mean * two_n, chi_square_gof(observed, expected)),
            simulation_row(NAME, engine, f"E[q] vs exact chain; {case.label}",
                           mean, t_test_mean(q, mean)),
            simulation_row(NAME, engine, f"E[q²] vs exact chain; {case.label}",
                           second, t_test_mean(q**2, second)),
        ]
        wright_mean, wright_second = wright_moments(case)
        stationary_mean = float(stationary @ x)
        sd = math.sqrt(float(stationary @ x**2) - stationary_mean**2)
        allowed = WRIGHT_SE * sd / math.sqrt(FULL)
        rows.append(
            deterministic_row(
                NAME, "approximation",
                f"Wright's stationary E[q] vs exact chain's (E[q²]: {wright_second:.3e} vs "
                f"{float(stationary @ x**2):.3e}); {case.label}",
                wright_mean, stationary_mean,
                f"|error| ≤ {WRIGHT_SE:g} SE of the full run", abs(wright_mean - stationary_mean),
                allowed,
            )
        )
        panels.append((case.label, dist, observed[:-1], two_n, wright_mean))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(panels), width=5.0, height=3.6)
        for ax, (label, dist, observed, two_n, wright_mean) in zip(axes, panels, strict=True):
            top = int(np.nonzero(np.cumsum(dist) < 1 - 1e-4)[0].max(initial=0)) + 2
            figures.pmf_panel(ax, dist[:top], observed[:top], z, label)
            ax.axvline(wright_mean * two_n, color=figures.APPROXIMATION, lw=0.8,
                       label="Wright's stationary mean")
            ax.legend(fontsize=7)
        figures.save(fig, path, f"Drift–mutation–selection regime, {engine} engine "
                     f"({replicates:,} replicates)")

    caption = ("Pathogenic count in the stationary regime (4Nu = 2 and 4) against the exact "
               "chain; the blue line marks Wright's stationary mean.")
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Drift–mutation–selection stationary regime (4Nu = 2, 4): exact chain and Wright",
    engines=("frequency",),
    description=(
        "A recessive pathogenic class (s = 1; h = 0 with F = 0.02, and h = 0.01 outbred) arising "
        "by mutation in N = 2,000 diploids (4Nu = 2 and 4), 1,000 generations from no copies "
        "(the chain has mixed: the row states its distance from stationarity). Pearson χ² of the "
        "pathogenic count and t-tests of E[q], E[q²] against the exact chain e_0·P^T "
        "(P[i, j] = Binomial(2N, q_sel(i/2N)), kept on counts ≤ 0.15·2N; the mass beyond is "
        "stated). Approximation row: Wright's stationary density φ ∝ exp(∫2M/V)/V with the "
        "engine's exact M and V = q_sel(1 − q_sel)/2N, integrated numerically, against the "
        "exact chain's stationary E[q]; it passes within half a standard error of the full run."
    ),
    source="Wright (1931) Genetics 16:97 and (1937) PNAS 23:307 (stationary density); "
    "Crow & Kimura (1970) ch. 8–9; Ewens (2004) ch. 4 (diffusion, stationary distributions); "
    "Nei (1968) PNAS 60:517 (E[q²] = u/s for a recessive lethal).",
    run=run,
)
