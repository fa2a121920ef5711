"""Check 1: the exact Wright–Fisher Markov chain after t generations.

For one deme of N diploids the pathogenic copy count is a Markov chain with
P[i, j] = Binomial(2N, q_sel(i/2N)).pmf(j), q_sel the deterministic mutation–
selection map with dominance h, heterozygote advantage a and inbreeding F
(:func:`popsim.analysis.theory.wf_count_distribution`). The simulated count after t
generations must follow π_t = e_{k₀} Pᵗ exactly: Pearson's χ² on the whole
distribution, sparse states pooled to expected counts ≥ 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.analysis import theory
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import chi_square_gof

NAME = "wf-chain"


@dataclass(frozen=True)
class Case:
    n: int
    t: int
    k0: int
    s: float
    h: float = 0.0
    a: float = 0.0
    F: float = 0.0

    @property
    def label(self) -> str:
        return scenarios.parameters(
            N=self.n, t=self.t, k0=self.k0, s=self.s, h=self.h, a=self.a, F=self.F
        )


#: Selection, dominance, heterozygote advantage and inbreeding, alone and together.
CASES = (
    Case(10, 6, 4, s=0.3, h=0.4, a=0.05, F=0.2),
    Case(6, 4, 6, s=0.2, h=1.0, F=0.6),
    Case(12, 8, 5, s=0.4, h=0.3),
    Case(20, 20, 10, s=0.1, a=0.02),
)


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(40_000, 4_000)
    rows, panels = [], []
    for k, case in enumerate(CASES):
        raw = scenarios.one_deme(
            case.n, case.t, copies=case.k0, s=case.s, h=case.h, a=case.a, F=case.F
        )
        result = scenarios.run(raw, replicates, seed=100 + k, engine=engine)
        counts = np.bincount(scenarios.pathogenic_counts(result)[:, -1], minlength=2 * case.n + 1)
        exact = theory.wf_count_distribution(
            case.n, case.t, case.k0, s=case.s, h=case.h, a=case.a, F=case.F
        )
        test = chi_square_gof(counts, exact)
        mean = float(np.arange(exact.size) @ exact)
        rows.append(
            simulation_row(
                NAME, engine, f"count distribution (mean shown); {case.label}", mean, test
            )
        )
        panels.append((case.label, exact, counts))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(panels))
        for ax, (label, exact, counts) in zip(axes, panels, strict=True):
            figures.pmf_panel(ax, exact, counts, z, label)
        figures.save(
            fig,
            path,
            f"Exact Wright–Fisher chain vs {engine} engine ({replicates:,} replicates per panel)",
        )

    caption = (
        "Distribution of the pathogenic copy count after t generations: exact chain "
        "(bars) and simulated proportions (points)."
    )
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Exact Wright–Fisher chain after t generations (selection, dominance, F)",
    engines=("frequency",),
    description=(
        "The pathogenic copy count of one deme of N diploids is a Markov chain: "
        "P[i, j] = Binomial(2N, q_sel(i/2N)).pmf(j), with q_sel the mutation–selection map "
        "on zygotes formed with inbreeding F (fitnesses 1, 1 − hs + a, 1 − s). For small N "
        "the distribution after t generations, e_{k₀}Pᵗ, is computed exactly "
        "(`theory.wf_count_distribution`) and the simulated counts are compared with it by "
        "Pearson's χ² over all 2N + 1 states (sparsest states pooled until every expected "
        "count is ≥ 5; df = cells − 1). Frequency engine only: the pedigree engine (separate "
        "sexes, couples) follows this chain only up to terms of order 1/N; see "
        "pedigree-vs-frequency."
    ),
    source="Ewens (2004) Mathematical Population Genetics I, ch. 1 and 3; "
    "Crow & Kimura (1970) An Introduction to Population Genetics Theory, ch. 7.",
    run=run,
)
