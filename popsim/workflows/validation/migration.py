"""Check 5: demes exchanging migrants — exact moments and Wright's island F_ST.

Under neutral drift with backward migration M the first and second moments of
the deme frequencies follow an exact linear recursion
(:func:`popsim.analysis.theory.migration_moments`). Wright's island model equilibrium
F_ST ≈ 1/(1 + 4Nm) (:func:`popsim.analysis.theory.island_fst`) is an approximation: the
exact stationary F of an island of N diploids receiving a fraction m of its
parents from a pool of fixed frequency (a continent, or infinitely many islands)
is 1/(2N − (2N − 1)(1 − m)²), which the moment recursion reproduces; the
formula is its limit for small m and large N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
from popsim.workflows.validation.stats import t_test_mean, z_test_ratio

MOMENTS = "migration-moments"
ISLAND = "island-fst"
ISLAND_FORMULA = "island-fst-formula"

#: Continent size: its drift over the run (variance ~ t/(8·10⁹)) is negligible.
CONTINENT = 10**9
#: Convergence criterion of the formula: relative error at 16N ≤ this × error at N.
CONVERGENCE_FACTOR = 0.25


def founder(deme: str, frequency: float) -> dict[str, Any]:
    return {"name": "f", "deme": deme, "frequency": frequency}


def run_moments(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    sizes, t_max, p0 = np.array([30, 10]), 15, np.array([0.5, 0.0])
    matrix = np.array([[0.9, 0.1], [0.05, 0.95]])
    raw = {
        "scenario": {"name": "two demes", "generations": t_max},
        "demes": [{"name": "a", "size": int(sizes[0])}, {"name": "b", "size": int(sizes[1])}],
        "migration": [
            {"source": "b", "dest": "a", "rate": float(matrix[0, 1])},
            {"source": "a", "dest": "b", "rate": float(matrix[1, 0])},
        ],
        "locus": {"founder_alleles": [founder("a", float(p0[0]))]},
    }
    replicates = settings.replicates(40_000, 5_000)
    result = scenarios.run(raw, replicates, seed=500, engine=engine)
    x = np.stack([scenarios.pathogenic_counts(result, d) / (2 * sizes[d]) for d in (0, 1)], -1)
    mean, second = theory.migration_moments(p0, sizes, matrix, t_max)
    moments = {
        "E[p_a]": (lambda v: v[..., 0], lambda t: mean[t, 0]),
        "E[p_b]": (lambda v: v[..., 1], lambda t: mean[t, 1]),
        "E[p_a²]": (lambda v: v[..., 0] ** 2, lambda t: second[t, 0, 0]),
        "E[p_b²]": (lambda v: v[..., 1] ** 2, lambda t: second[t, 1, 1]),
        "E[p_a·p_b]": (lambda v: v[..., 0] * v[..., 1], lambda t: second[t, 0, 1]),
    }
    if engine != "frequency":  # only the first moments are exact for the pedigree model
        moments = {k: v for k, v in moments.items() if k in ("E[p_a]", "E[p_b]")}
    generations = np.arange(t_max + 1)
    rows, series = [], []
    for label, (sample, exact) in moments.items():
        values = sample(x)
        test = t_test_mean(values[:, -1], float(exact(t_max)))
        rows.append(
            simulation_row(
                MOMENTS,
                engine,
                f"{label} at t={t_max}; N=(30, 10), m_ab=0.1, m_ba=0.05, p₀=(0.5, 0)",
                exact(t_max),
                test,
            )
        )
        series.append(
            (
                label,
                [exact(t) for t in generations],
                values.mean(0),
                values.std(0, ddof=1) / np.sqrt(replicates),
            )
        )

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(series), width=3.3, height=3.0, columns=5)
        for ax, (label, exact, simulated, se) in zip(axes, series, strict=True):
            ax.plot(generations, exact, color=figures.PREDICTED, lw=1.2, label="exact recursion")
            figures.estimates(ax, generations, simulated, se, z)
            ax.set_xlabel("generation t")
            ax.set_title(label, fontsize=9)
            ax.legend(fontsize=6)
        figures.save(
            fig,
            path,
            f"Two demes with migration: exact moments vs {engine} engine "
            f"({replicates:,} replicates)",
        )

    caption = "First and second moments of two demes' frequencies: exact recursion and simulation."
    return Outcome(rows, [Figure(f"{MOMENTS}-{engine}", caption, draw)])


@dataclass(frozen=True)
class Island:
    n: int
    m: float

    @property
    def label(self) -> str:
        return f"N={self.n}, m={self.m:g} (4Nm={4 * self.n * self.m:g})"


ISLANDS = (Island(50, 0.01), Island(50, 0.0025))
ISLAND_T = 600


def continent_island_fst(
    n: int, m: float, generations: int, continent: float = CONTINENT, p: float = 0.5
) -> np.ndarray:
    """Exact F_t = E[(x_i − x_c)²] / E[x_c(1 − x_c)] for t = 0 … generations by the moment
    recursion, both demes starting at p; ``continent`` = math.inf for a pool that never drifts."""
    matrix = np.array([[1.0, 0.0], [m, 1.0 - m]])
    size = min(continent, 1e300)  # drift variance ~1e-301 per generation: none
    mean, second = theory.migration_moments([p, p], [size, n], matrix, generations)
    spread = second[:, 1, 1] - 2 * second[:, 0, 1] + second[:, 0, 0]
    return spread / (mean[:, 0] - second[:, 0, 0])


def wright_exact(n: int, m: float) -> float:
    """Stationary F of the continent–island chain: 1/(2N − (2N − 1)(1 − m)²)."""
    return 1.0 / (2 * n - (2 * n - 1) * (1 - m) ** 2)


def run_island(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(20_000, 2_000)
    generations = np.arange(ISLAND_T + 1)
    rows, series = [], []
    for k, island in enumerate(ISLANDS):
        raw = {
            "scenario": {
                "name": "continent and island",
                "generations": ISLAND_T,
                "record_every": 10,
            },
            "demes": [
                {"name": "continent", "size": CONTINENT},
                {"name": "island", "size": island.n},
            ],
            "migration": [{"source": "continent", "dest": "island", "rate": island.m}],
            "locus": {"founder_alleles": [founder("continent", 0.5), founder("island", 0.5)]},
        }
        result = scenarios.run(raw, replicates, seed=510 + k, engine=engine)
        xc = scenarios.pathogenic_counts(result, 0) / (2 * CONTINENT)
        xi = scenarios.pathogenic_counts(result, 1) / (2 * island.n)
        exact = continent_island_fst(island.n, island.m, ISLAND_T)
        recorded = result.generations
        test = z_test_ratio(
            (xi[:, -1] - xc[:, -1]) ** 2, xc[:, -1] * (1 - xc[:, -1]), float(exact[-1])
        )
        rows.append(
            simulation_row(
                ISLAND,
                engine,
                f"F_ST at t={ISLAND_T}, exact moments; continent + island, "
                f"{island.label}; island formula {theory.island_fst(island.n, island.m):.4f}",
                exact[-1],
                test,
            )
        )
        spread = (xi - xc) ** 2
        het = xc * (1 - xc)
        fst = spread.mean(0) / het.mean(0)
        se = np.array(
            [
                z_test_ratio(spread[:, j], het[:, j], 0.0).standard_error
                for j in range(recorded.size)
            ]
        )
        series.append((island, exact, recorded, fst, se))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(series), width=4.6, height=3.5)
        for ax, (island, exact, recorded, fst, se) in zip(axes, series, strict=True):
            ax.plot(
                generations, exact, color=figures.PREDICTED, lw=1.2, label="exact moment recursion"
            )
            ax.axhline(
                theory.island_fst(island.n, island.m),
                color=figures.APPROXIMATION,
                ls="--",
                lw=1,
                label="1/(1 + 4Nm)",
            )
            figures.estimates(ax, recorded, fst, se, z)
            ax.set_xlabel("generation t")
            ax.set_ylabel("F_ST = E[(x_i − x_c)²] / E[x_c(1 − x_c)]")
            ax.set_title(island.label, fontsize=8)
            ax.legend(fontsize=6, loc="lower right")
        figures.save(fig, path, f"Island F_ST, {engine} engine ({replicates:,} replicates)")

    caption = (
        "F_ST of an island receiving migrants from a continent: exact moments (line), "
        "Wright's 1/(1 + 4Nm) (dashed) and the simulation (points)."
    )
    return Outcome(rows, [Figure(f"{ISLAND}-{engine}", caption, draw)])


def run_island_formula(engine: str | None, settings: Settings) -> Outcome:
    rows = []
    for island in ISLANDS:
        nm = island.n * island.m
        relative = []
        for n in (island.n, 4 * island.n, 16 * island.n):
            m = nm / n
            stationary = continent_island_fst(n, m, round(40 / (2 * m + 1 / (2 * n))), math.inf)[-1]
            relative.append(abs(theory.island_fst(n, m) - stationary) / stationary)
        exact = wright_exact(island.n, island.m)
        rows.append(
            deterministic_row(
                ISLAND_FORMULA,
                "approximation",
                f"1/(1 + 4Nm) vs exact stationary F; {island.label} (rel. error "
                f"{relative[0]:.1e} → {relative[-1]:.1e} at N={16 * island.n}, 4Nm fixed)",
                theory.island_fst(island.n, island.m),
                exact,
                f"rel. error(16N) / rel. error(N) ≤ {CONVERGENCE_FACTOR}",
                relative[-1] / relative[0],
                CONVERGENCE_FACTOR,
            )
        )
        stationary = continent_island_fst(island.n, island.m, 4000, math.inf)[-1]
        rows.append(
            deterministic_row(
                ISLAND_FORMULA,
                "identity",
                "moment recursion (continent without drift) at t=4000 vs Wright's exact "
                f"1/(2N − (2N−1)(1−m)²); {island.label}",
                exact,
                stationary,
                "relative difference ≤ 1e-9",
                abs(stationary - exact) / exact,
                1e-9,
            )
        )
    return Outcome(rows)


MOMENTS_CHECK = Check(
    name=MOMENTS,
    title="Two demes with migration: exact first and second moments",
    engines=("frequency", "pedigree"),
    description=(
        "Two demes (30 and 10 diploids) exchange migrants asymmetrically (10 % of a's parents "
        "from b, 5 % of b's from a); the allele starts at 0.5 in a and is absent from b. With "
        "m_t = E[x_t] and S_t = E[x_t x_tᵀ]: m_{t+1} = M m_t, S_{t+1} = M S_t Mᵀ + "
        "diag((M m_t − diag(M S_t Mᵀ))/2N) exactly (`theory.migration_moments`). Test: "
        "one-sample t-test of each moment's replicate mean after 15 generations. The pedigree "
        "engine is held to the first moments, which are exact for it too; its second moments "
        "differ at higher order (separate sexes; a migrant child takes both parents from "
        "one deme, where the frequency engine draws every gene copy from the mixed pool)."
    ),
    source="Bodmer & Cavalli-Sforza (1968) Genetics 59:565 (migration-matrix drift moments).",
    run=run_moments,
)

ISLAND_CHECK = Check(
    name=ISLAND,
    title="Island-model F_ST: simulation against the exact moment recursion",
    engines=("frequency",),
    description=(
        f"An island of N = 50 diploids receives a fraction m of its parents from a continent "
        f"of {CONTINENT:.0e} diploids (Wright's infinite-island setting: the migrant pool's "
        "frequency does not drift); both start at 0.5. F_ST = E[(x_i − x_c)²]/E[x_c(1 − x_c)] "
        "after 600 generations (equilibrium) is predicted exactly by the moment recursion; "
        "the table also quotes Wright's 1/(1 + 4Nm), judged in the next check. Test: "
        "two-sided z-test of the ratio of replicate means (delta-method standard error). "
        "Frequency engine only (a 10⁹ continent is beyond an individual-based engine)."
    ),
    source="Wright (1931) Genetics 16:97; Wright (1951) Ann Eugen 15:323.",
    run=run_island,
)

ISLAND_FORMULA_CHECK = Check(
    name=ISLAND_FORMULA,
    title="Wright's F_ST ≈ 1/(1 + 4Nm) approaches the exact stationary F",
    engines=(),
    description=(
        "The exact stationary F of the continent–island chain is 1/(2N − (2N − 1)(1 − m)²) "
        "(Var' = (1 − m)²(1 − 1/2N)Var + p(1 − p)/2N); the moment recursion must reproduce "
        "it (identity row, rounding only). `theory.island_fst` gives the approximation "
        "1/(1 + 4Nm), whose error is O(m) + O(1/N) at fixed Nm. Tolerance logic: pass if its "
        "relative error at 16N (m/16) is at most ¼ of that at N; a formula with the wrong "
        "limit fails."
    ),
    source="Wright (1931) Genetics 16:97; Crow & Kimura (1970) ch. 6; Hartl & Clark (2007) "
    "Principles of Population Genetics.",
    run=run_island_formula,
)
