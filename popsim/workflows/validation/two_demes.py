"""Check 12: selection together with migration — an exact two-deme chain (frequency engine).

At tiny N the pair of pathogenic counts (i, j) of two demes of N_a and N_b
diploids is a Markov chain on (2N_a + 1)(2N_b + 1) states, built from the
engine's model in its step order: backward migration forms each deme's gamete
pool, x_a = M[a, a]·i/2N_a + M[a, b]·j/2N_b (likewise x_b), then mutation and
selection on zygotes formed with the deme's own F
(:func:`popsim.analysis.theory.selection_step`), then each deme draws its 2N
copies independently:

    P[(i, j) → (i′, j′)] = Bin(2N_a, q_sel,a(x_a)).pmf(i′) · Bin(2N_b, q_sel,b(x_b)).pmf(j′).

The joint distribution after T generations, e_{(i₀, j₀)}·P^T, is compared with
the engine's joint counts by Pearson's χ². Migration applied forward
(M[j, i] for M[i, j]), selection before migration or with the other deme's F
change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from popsim.analysis import theory
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import chi_square_gof

NAME = "selection-migration"


@dataclass(frozen=True)
class Case:
    sizes: tuple[int, int]
    m_ab: float  # share of a's parents from b
    m_ba: float  # share of b's parents from a
    u: float
    s: float
    h: float
    F: tuple[float, float]
    copies: int  # founder copies in a at generation 0
    t: int

    @property
    def matrix(self) -> np.ndarray:
        """Backward migration matrix M[i, j]: share of deme i's parents from deme j."""
        return np.array([[1 - self.m_ab, self.m_ab], [self.m_ba, 1 - self.m_ba]])

    @property
    def label(self) -> str:
        return (f"N=({self.sizes[0]}, {self.sizes[1]}), m_ab={self.m_ab:g}, m_ba={self.m_ba:g}, "
                f"u={self.u:g}, s={self.s:g}, h={self.h:g}, F=({self.F[0]:g}, {self.F[1]:g}), "
                f"k0={self.copies}, t={self.t}")


CASES = (
    Case((4, 4), 0.3, 0.1, u=0.01, s=0.4, h=0.3, F=(0.3, 0.0), copies=6, t=5),
    Case((3, 5), 0.05, 0.4, u=0.0, s=0.8, h=0.0, F=(0.0, 0.5), copies=5, t=4),
)


def joint_distribution(case: Case) -> np.ndarray:
    """Exact Pr(i, j) after T generations, shape (2N_a + 1, 2N_b + 1) (module docstring)."""
    na, nb = (2 * n for n in case.sizes)
    i, j = np.meshgrid(np.arange(na + 1), np.arange(nb + 1), indexing="ij")
    pools = case.matrix @ np.stack([i.ravel() / na, j.ravel() / nb])
    selected = [
        np.asarray(theory.selection_step(np.clip(pools[d], 0.0, 1.0), u=case.u, s=case.s,
                                         h=case.h, F=case.F[d]))
        for d in (0, 1)
    ]
    to_a = stats.binom.pmf(np.arange(na + 1)[None, :], na, selected[0][:, None])
    to_b = stats.binom.pmf(np.arange(nb + 1)[None, :], nb, selected[1][:, None])
    matrix = (to_a[:, :, None] * to_b[:, None, :]).reshape(i.size, i.size)
    dist = np.zeros(i.size)
    dist[case.copies * (nb + 1)] = 1.0  # (i, j) = (copies, 0)
    for _ in range(case.t):
        dist = dist @ matrix
    return dist.reshape(na + 1, nb + 1)


def config(case: Case) -> dict[str, Any]:
    return {
        "scenario": {"name": "selection with migration", "generations": case.t},
        "demes": [
            {"name": "a", "size": case.sizes[0], "inbreeding": case.F[0]},
            {"name": "b", "size": case.sizes[1], "inbreeding": case.F[1]},
        ],
        "migration": [
            {"source": "b", "dest": "a", "rate": case.m_ab},
            {"source": "a", "dest": "b", "rate": case.m_ba},
        ],
        "locus": {
            "pathogenic_mutation_rate": case.u,
            "selection": {"affected": case.s, "carrier_dominance": case.h},
            "founder_alleles": [{"name": "f", "deme": "a", "copies": case.copies}],
        },
    }


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(40_000, 5_000)
    rows, panels = [], []
    for k, case in enumerate(CASES):
        exact = joint_distribution(case)
        result = scenarios.run(config(case), replicates, seed=1200 + k, engine=engine)
        i = scenarios.pathogenic_counts(result, 0)[:, -1]
        j = scenarios.pathogenic_counts(result, 1)[:, -1]
        cells = i * exact.shape[1] + j
        observed = np.bincount(cells, minlength=exact.size)
        test = chi_square_gof(observed, exact.ravel())
        rows.append(simulation_row(
            NAME, engine, f"joint counts (i, j) vs exact two-deme chain (cell index mean shown); "
            f"{case.label}", float(np.arange(exact.size) @ exact.ravel()), test,
        ))
        panels.append((case.label, exact, observed.reshape(exact.shape)))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(2 * len(panels), width=3.8, height=3.0, columns=4)
        for d, (label, exact, observed) in enumerate(panels):
            for deme in (0, 1):
                figures.pmf_panel(axes[2 * d + deme], exact.sum(axis=1 - deme),
                                  observed.sum(axis=1 - deme), z,
                                  f"deme {'ab'[deme]}: {label}")
        figures.save(fig, path, f"Selection with migration: exact two-deme chain, {engine} "
                     f"engine ({replicates:,} replicates)")

    caption = "Each deme's pathogenic count against the exact two-deme chain (the test is joint)."
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Selection with migration: exact two-deme Markov chain",
    engines=("frequency",),
    description=(
        "Two demes of 3–5 diploids exchange migrants (backward rates 0.05–0.4), with selection "
        "(s = 0.4, h = 0.3; s = 0.8 recessive), mutation and a different F in each deme. The "
        "pair of pathogenic counts is a Markov chain built from the engine's model: migration "
        "forms each deme's pool, then mutation and selection with the deme's F, then two "
        "independent binomial draws. Test: Pearson χ² of the joint counts after T generations "
        "against the exact distribution (sparse cells pooled)."
    ),
    source="Ewens (2004) ch. 1 and 3 (WF chains); Nagylaki (1992) ch. 6 (migration and "
    "selection); Crow & Kimura (1970) ch. 7.",
    run=run,
)
