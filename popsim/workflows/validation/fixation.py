"""Check 3: fixation probability with selection — exact chain, Kimura's diffusion, simulation.

Kimura's formula u(p) = ∫₀ᵖ G / ∫₀¹ G, G(y) = exp(−∫₀ʸ 2M/V), is a diffusion
*approximation*: for fixed N·s and p₀ it is the limit N → ∞ of the exact
Wright–Fisher absorption probability, with an error of order 1/N. The catalogue
therefore separates two questions:

* ``kimura-fixation`` (simulation): is the engine's fixation frequency the exact
  chain's absorption probability for the same N? Exact binomial test; only
  sampling error is involved.
* ``kimura-diffusion`` (approximation): does the diffusion approach the exact
  chain as N grows at fixed N·s? Its relative error at 16N must be at most a
  quarter of that at N (an O(1/N) error falls by 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.ticker import NullLocator

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
from popsim.workflows.validation.stats import binomial_test

SIMULATION = "kimura-fixation"
DIFFUSION = "kimura-diffusion"

#: Diploid size of the simulated chains (2N = 50 states, cheap to solve exactly).
N = 25
P0 = 0.5
#: Generations are chosen so the exact chain is unabsorbed with probability below this.
UNABSORBED_BOUND = 1e-9
#: Convergence criterion of the diffusion: relative error at 16N ≤ this × error at N.
CONVERGENCE_FACTOR = 0.25


@dataclass(frozen=True)
class Family:
    """A dominance/inbreeding setting and the grid of N·s it is checked over."""

    label: str
    h: float
    F: float
    ns: tuple[float, ...]


FAMILIES = (
    Family("genic (h = ½)", 0.5, 0.0, (0.5, 1.0, 2.0, 4.0)),
    Family("recessive (h = 0)", 0.0, 0.0, (0.5, 1.0, 2.0, 4.0)),
    Family("recessive, F = 0.25", 0.0, 0.25, (0.5, 1.0, 2.0, 4.0)),
)


def absorption_probability(matrix: np.ndarray) -> np.ndarray:
    """Probability of absorption in the top state (fixation) from every state.

    With Q the transitions among transient states 1 … 2N − 1 and r the one-step
    probabilities of reaching 2N, the fixation probabilities solve (I − Q) x = r.
    Returns x for states 0 … 2N (0 and 1 at the absorbing ends).
    """
    size = matrix.shape[0]
    transient = matrix[1:-1, 1:-1]
    x = np.linalg.solve(np.eye(size - 2) - transient, matrix[1:-1, -1])
    return np.concatenate(([0.0], x, [1.0]))


def exact_fixation(n: int, p0: float, s: float, h: float, F: float) -> float:
    """Exact WF fixation probability from round(p₀·2N) copies."""
    matrix = theory.wf_transition_matrix(n, s=s, h=h, F=F)
    return float(absorption_probability(matrix)[round(p0 * 2 * n)])


def diffusion(n: int, p0: float, s: float, h: float, F: float) -> float:
    """Kimura's diffusion with the engine's drift variance z(1 − z)/2N (N_e = N: the
    frequency engine samples 2N copies independently whatever F)."""
    return float(theory.fixation_probability(p0, n, s=s, h=h, F=F, ne=n))


def generations_to_absorb(n: int, k0: int, s: float, h: float, F: float) -> int:
    matrix = theory.wf_transition_matrix(n, s=s, h=h, F=F)
    dist = np.zeros(2 * n + 1)
    dist[k0] = 1.0
    t = 0
    while dist[1:-1].sum() >= UNABSORBED_BOUND:
        dist = dist @ matrix
        t += 1
    return t


def run_simulation(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(20_000, 2_000)
    k0 = round(P0 * 2 * N)
    rows, points = [], []
    seed = 300
    for family in FAMILIES:
        for ns in family.ns:
            s = ns / N
            t = generations_to_absorb(N, k0, s, family.h, family.F)
            raw = scenarios.one_deme(N, t, copies=k0, s=s, h=family.h, F=family.F)
            seed += 1
            result = scenarios.run(raw, replicates, seed, engine)
            fixed = int((scenarios.pathogenic_counts(result)[:, -1] == 2 * N).sum())
            exact = exact_fixation(N, P0, s, family.h, family.F)
            test = binomial_test(fixed, replicates, exact)
            rows.append(
                simulation_row(
                    SIMULATION,
                    engine,
                    f"P(fixation), exact chain; {family.label}, N·s={ns:g}, "
                    f"N={N}, p₀={P0:g}, t={t}",
                    exact,
                    test,
                )
            )
            points.append((family, ns, exact, test.estimate, test.standard_error))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(FAMILIES), width=4.0, height=3.4)
        for ax, family in zip(axes, FAMILIES, strict=True):
            grid = np.linspace(0.0, max(family.ns) * 1.05, 60)
            curve = [diffusion(N, P0, g / N, family.h, family.F) for g in grid]
            ax.plot(grid, curve, color=figures.APPROXIMATION, lw=1.2, label="Kimura diffusion")
            mine = [p for p in points if p[0] is family]
            ax.plot(
                [p[1] for p in mine],
                [p[2] for p in mine],
                "s",
                mfc="none",
                ms=7,
                color=figures.PREDICTED,
                label="exact chain",
            )
            figures.estimates(
                ax, [p[1] for p in mine], [p[3] for p in mine], [p[4] for p in mine], z
            )
            ax.set_yscale("log")
            ax.set_xlabel("N·s")
            ax.set_ylabel(f"P(fixation) from p₀ = {P0:g}")
            ax.set_title(family.label, fontsize=8)
            ax.legend(fontsize=6)
        figures.save(
            fig,
            path,
            f"Fixation with selection, N = {N}, {engine} engine "
            f"({replicates:,} replicates per point)",
        )

    caption = (
        "Fixation probability over a grid of N·s: Kimura's diffusion (line), the exact "
        "chain for the same N (squares) and the simulation (points)."
    )
    return Outcome(rows, [Figure(f"{SIMULATION}-{engine}", caption, draw)])


def run_diffusion(engine: str | None, settings: Settings) -> Outcome:
    sizes = (N, 4 * N, 16 * N)
    rows = []
    errors: dict[str, list[tuple[float, list[float]]]] = {}
    for family in FAMILIES:
        for ns in family.ns:
            values = [
                (
                    diffusion(n, P0, ns / n, family.h, family.F),
                    exact_fixation(n, P0, ns / n, family.h, family.F),
                )
                for n in sizes
            ]
            relative = [abs(approx - exact) / exact for approx, exact in values]
            rows.append(
                deterministic_row(
                    DIFFUSION,
                    "approximation",
                    f"diffusion vs exact chain; {family.label}, N·s={ns:g}, p₀={P0:g}, N={N} "
                    f"(rel. error {relative[0]:.1e} → {relative[-1]:.1e} at N={sizes[-1]})",
                    *values[0],
                    f"rel. error(N={sizes[-1]}) / rel. error(N={N}) ≤ {CONVERGENCE_FACTOR}",
                    relative[-1] / relative[0],
                    CONVERGENCE_FACTOR,
                )
            )
            errors.setdefault(family.label, []).append((ns, relative))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(errors), width=4.0, height=3.4)
        for ax, (label, series) in zip(axes, errors.items(), strict=True):
            for ns, relative in series:
                ax.loglog(sizes, relative, "o-", ms=3, lw=1, label=f"N·s = {ns:g}")
            ref = np.array(sizes, dtype=float)
            top = max(r[0] for _, r in series)
            ax.loglog(ref, top * ref[0] / ref, ":", color=figures.PREDICTED, label="∝ 1/N")
            ax.set_xticks(sizes, [str(n) for n in sizes])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("N (diploids), N·s fixed")
            ax.set_ylabel("|diffusion − exact| / exact")
            ax.set_title(label, fontsize=8)
            ax.legend(fontsize=6)
        figures.save(fig, path, "Kimura's diffusion converges to the exact chain as N grows")

    caption = (
        "Relative error of Kimura's diffusion against the exact Wright–Fisher fixation "
        "probability at N, 4N and 16N with N·s fixed: the error falls like 1/N."
    )
    return Outcome(rows, [Figure(DIFFUSION, caption, draw)])


SIMULATION_CHECK = Check(
    name=SIMULATION,
    title="Fixation probability with selection over a grid of N·s",
    engines=("frequency",),
    description=(
        f"One deme of N = {N} diploids starts with the pathogenic allele at p₀ = {P0:g} and "
        "runs until the exact chain is absorbed with probability ≥ 1 − 10⁻⁹. The prediction "
        "is the exact absorption probability of the Wright–Fisher chain for the same N, "
        "x = (I − Q)⁻¹r from its transition matrix (Q among transient states, r into "
        "fixation), so the comparison involves sampling error only: exact two-sided binomial "
        "test. Grid: genic (h = ½), recessive (h = 0), and recessive with F = 0.25, each over "
        "four values of N·s. The figure also draws Kimura's diffusion (next check)."
    ),
    source="Kimura (1962) Genetics 47:713; Ewens (2004) ch. 4–5; Crow & Kimura (1970) ch. 8.",
    run=run_simulation,
)

DIFFUSION_CHECK = Check(
    name=DIFFUSION,
    title="Kimura's diffusion approaches the exact chain as N grows (N·s fixed)",
    engines=(),
    description=(
        "`theory.fixation_probability` integrates Kimura's formula numerically for any "
        "dominance and F, with M(z) the exact one-generation change and V(z) = z(1 − z)/2N "
        "(the frequency engine draws 2N copies independently, so N_e = N whatever F). It is "
        "an approximation with error O(1/N) at fixed N·s and p₀, so it cannot be held to "
        "sampling error at N = 25. Tolerance logic: compare it with the exact chain at N, 4N "
        "and 16N; pass if the relative error at 16N is at most ¼ of that at N (an O(1/N) "
        "error falls 16-fold; an error that does not vanish, i.e. a wrong formula, fails)."
    ),
    source="Kimura (1962) Genetics 47:713; Ewens (2004) ch. 4 (diffusion limit of the WF chain).",
    run=run_diffusion,
)
