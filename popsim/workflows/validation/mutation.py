"""Check 4: recurrent mutation — E[q_t] without selection, mutation–selection balance.

Without selection, drift is unbiased and mutation is linear, so
E[q_t] = 1 − (1 − u)ᵗ exactly at any N. With selection the deterministic
trajectory q_{t+1} = f(q_t) (:func:`popsim.analysis.theory.deterministic_trajectory`)
describes an infinite population; a finite one's mean differs by drift acting
through the curvature of f. At second order (linear-noise / delta method), with
m_t the deterministic trajectory::

    σ²_{t+1} = f'(m_t)² σ²_t + f(m_t)(1 − f(m_t))/2N
    δ_{t+1}  = f'(m_t) δ_t + ½ f''(m_t) σ²_t,      E[q_t] ≈ m_t + δ_t.

The check uses a large population (4Nu = 200), where |δ_t| is a small fraction
of the sampling error, and allows exactly |δ_t| — computed from theory alone,
before any simulation — between the deterministic prediction and the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.analysis import theory
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import t_test_mean

MEAN = "mutation-mean"
BALANCE = "mutation-selection-balance"


def drift_bias(
    trajectory: np.ndarray,
    n: int,
    *,
    u: float,
    s: float,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Second-order effect of drift on the mean of a WF population of N diploids.

    Given the deterministic trajectory m_t, returns (δ_t, σ²_t): the predicted
    offset of E[q_t] from m_t and the variance of q_t across replicates, by the
    recursions in the module docstring (derivatives of f by central differences).
    """
    step = 1e-6
    delta = np.zeros_like(trajectory)
    variance = np.zeros_like(trajectory)
    for t in range(trajectory.size - 1):
        centre = min(max(float(trajectory[t]), step), 1.0 - step)
        lo, mid, hi = np.asarray(
            theory.selection_step([centre - step, centre, centre + step], u=u, s=s, h=h, a=a, F=F)
        )
        slope = (hi - lo) / (2 * step)
        curvature = (hi - 2 * mid + lo) / step**2
        f_m = float(theory.selection_step(trajectory[t], u=u, s=s, h=h, a=a, F=F))
        variance[t + 1] = slope**2 * variance[t] + f_m * (1 - f_m) / (2 * n)
        delta[t + 1] = slope * delta[t] + 0.5 * curvature * variance[t]
    return delta, variance


def run_mean(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    n, u, t_max = 50, 0.005, 100
    tests_at = (10, 30, 100)
    replicates = settings.replicates(20_000, 2_000)
    raw = scenarios.one_deme(n, t_max, u=u, record_every=1)
    result = scenarios.run(raw, replicates, seed=400, engine=engine)
    q = scenarios.pathogenic_counts(result) / (2 * n)
    generations = np.arange(t_max + 1)
    predicted = np.asarray(theory.expected_new_mutant_frequency(u, generations))
    rows = [
        simulation_row(
            MEAN,
            engine,
            f"E[q] at t={t}; N={n}, u={u:g}, no selection",
            predicted[t],
            t_test_mean(q[:, t], float(predicted[t])),
        )
        for t in tests_at
    ]
    mean = q.mean(axis=0)
    se = q.std(axis=0, ddof=1) / np.sqrt(replicates)
    alleles = float(np.mean(result.statistics["other_alleles"][:, -1, 0]))

    def draw(path: Path, z: float) -> None:
        fig, (ax, residual) = figures.panels(2, width=5.0, height=3.6)
        ax.plot(generations, predicted, color=figures.PREDICTED, lw=1.2, label="1 − (1 − u)ᵗ")
        ax.fill_between(
            generations,
            mean - z * se,
            mean + z * se,
            color=figures.SIMULATED,
            alpha=0.25,
            lw=0,
            label=f"simulated mean ±{z:.1f} SE",
        )
        ax.plot(generations, mean, color=figures.SIMULATED, lw=0.8)
        ax.set_xlabel("generation t")
        ax.set_ylabel("E[q_t], all pathogenic alleles")
        ax.legend(
            fontsize=7,
            title=f"{alleles:.1f} distinct alleles at t = {t_max} (mean)",
            title_fontsize=7,
        )
        figures.standardized(residual, generations, mean, predicted, se, z)
        residual.set_xlabel("generation t")
        figures.save(
            fig,
            path,
            f"Recurrent mutation without selection, N = {n}, u = {u:g}, "
            f"{engine} engine ({replicates:,} replicates)",
        )

    caption = "Mean pathogenic frequency under recurrent mutation alone: 1 − (1 − u)ᵗ."
    return Outcome(rows, [Figure(f"{MEAN}-{engine}", caption, draw)])


@dataclass(frozen=True)
class Balance:
    label: str
    F: float


BALANCE_N, BALANCE_U, BALANCE_S, BALANCE_T = 200_000, 2.5e-4, 1.0, 400
BALANCE_CASES = (Balance("outbred", 0.0), Balance("inbred, F = 0.05", 0.05))
BALANCE_TIMES = (50, BALANCE_T)


def run_balance(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    n, u, s, t_max = BALANCE_N, BALANCE_U, BALANCE_S, BALANCE_T
    replicates = settings.replicates(1_000, 40)
    generations = np.arange(t_max + 1)
    rows, series = [], []
    for k, case in enumerate(BALANCE_CASES):
        raw = scenarios.one_deme(n, t_max, u=u, s=s, F=case.F, max_alleles=8192, record_every=1)
        result = scenarios.run(raw, replicates, seed=410 + k, engine=engine)
        q = scenarios.pathogenic_counts(result) / (2 * n)
        trajectory = theory.deterministic_trajectory(0.0, t_max, u=u, s=s, F=case.F)
        equilibrium = theory.mutation_selection_equilibrium(u=u, s=s, F=case.F)
        delta, variance = drift_bias(trajectory, n, u=u, s=s, F=case.F)
        for t in BALANCE_TIMES:
            test = t_test_mean(q[:, t], float(trajectory[t]), allowance=abs(float(delta[t])))
            rows.append(
                simulation_row(
                    BALANCE,
                    engine,
                    f"E[q] at t={t}; {case.label}, N={n:.0e}, u={u:g}, s={s:g} "
                    f"(q*={equilibrium:.4g}; allowance |δ|={abs(delta[t]):.1e})",
                    trajectory[t],
                    test,
                )
            )
        series.append(
            (case, trajectory, equilibrium, delta, variance, q.mean(axis=0), q.std(axis=0, ddof=1))
        )

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(series), width=5.0, height=3.6)
        for ax, (case, traj, eq, delta, variance, mean, sd) in zip(axes, series, strict=True):
            se = sd / np.sqrt(replicates)
            ax.plot(
                generations, traj, color=figures.PREDICTED, lw=1.2, label="deterministic trajectory"
            )
            ax.axhline(eq, color=figures.APPROXIMATION, ls="--", lw=0.8, label="equilibrium q*")
            ax.fill_between(
                generations,
                mean - z * se,
                mean + z * se,
                color=figures.SIMULATED,
                alpha=0.3,
                lw=0,
                label=f"simulated mean ±{z:.1f} SE",
            )
            ax.plot(generations, mean, color=figures.SIMULATED, lw=0.6)
            ax.plot(
                generations,
                traj + delta,
                ":",
                color=figures.PREDICTED,
                lw=1,
                label="with drift correction δ",
            )
            ax.set_xlabel("generation t")
            ax.set_ylabel("pathogenic frequency q")
            ax.set_title(
                f"{case.label}: SD across replicates {sd[-1]:.2g} "
                f"(predicted {np.sqrt(variance[-1]):.2g})",
                fontsize=8,
            )
            ax.legend(fontsize=6, loc="lower right")
        figures.save(
            fig,
            path,
            f"Mutation–selection balance from q = 0, N = {n:,}, u = {u:g}, "
            f"s = {s:g}, {engine} engine ({replicates} replicates)",
        )

    caption = (
        "Approach to mutation–selection balance, outbred and inbred: deterministic "
        "trajectory and equilibrium against the simulated mean."
    )
    return Outcome(rows, [Figure(f"{BALANCE}-{engine}", caption, draw)])


MEAN_CHECK = Check(
    name=MEAN,
    title="Recurrent mutation without selection: E[q_t] = 1 − (1 − u)ᵗ",
    engines=("frequency", "pedigree"),
    description=(
        "Every normal copy mutates to a new pathogenic allele with probability u per "
        "generation and drift is unbiased, so E[q_{t+1}] = E[q_t] + u(1 − E[q_t]) and "
        "E[q_t] = 1 − (1 − u)ᵗ exactly, however many distinct alleles segregate. Test: "
        "one-sample t-test of the replicate mean at three generations. Both engines: the "
        "argument holds for the pedigree engine's couples too."
    ),
    source="Crow & Kimura (1970) ch. 6; Ewens (2004) ch. 1.",
    run=run_mean,
)

BALANCE_CHECK = Check(
    name=BALANCE,
    title="Mutation–selection balance with and without inbreeding (large population)",
    engines=("frequency",),
    description=(
        f"A recessive lethal-like allele (s = {BALANCE_S:g}, h = 0) arises by recurrent "
        f"mutation (u = {BALANCE_U:g}) in N = {BALANCE_N:,} diploids (4Nu = "
        f"{4 * BALANCE_N * BALANCE_U:g}), outbred and with F = 0.05, from q = 0. Prediction: "
        "the deterministic trajectory (`theory.deterministic_trajectory`), which by t = "
        f"{BALANCE_T} has reached the equilibrium (`theory.mutation_selection_equilibrium`: "
        "≈ √(u/s) outbred, ≈ u/(F·s) inbred). Tolerance logic: in a finite population drift "
        "shifts the mean through the curvature of the selection map; the second-order "
        "(delta-method) shift δ_t is computed from theory alone and allowed: t = "
        "max(|mean − m_t| − |δ_t|, 0)/SE, two-sided t-test."
    ),
    source="Haldane (1927) Proc Camb Philos Soc 23:838; Crow & Kimura (1970) ch. 6; "
    "Nagylaki (1992) Introduction to Theoretical Population Genetics; "
    "van Kampen (1981) for the linear-noise expansion.",
    run=run_balance,
)
