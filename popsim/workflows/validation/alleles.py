"""Check 6: the infinite-alleles pathogenic class behaves as one biallelic locus.

Every mutation creates a new, distinct pathogenic allele, but fitness depends
only on the number of pathogenic copies a person carries (homozygotes and
compound heterozygotes are equally affected). So the total pathogenic count is
itself a Wright–Fisher chain with the same mutation rate — the biallelic chain
of :func:`popsim.analysis.theory.wf_count_distribution` — however the total is split
among alleles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.analysis import theory
from popsim.engines.layout import founder_columns
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import chi_square_gof

NAME = "infinite-alleles"


@dataclass(frozen=True)
class Case:
    n: int
    t: int
    k0: int
    u: float
    s: float
    h: float = 0.0
    F: float = 0.0

    @property
    def label(self) -> str:
        return scenarios.parameters(
            N=self.n, t=self.t, k0=self.k0, u=self.u, s=self.s, h=self.h, F=self.F
        )


CASES = (
    Case(30, 30, 0, u=0.02, s=0.3, h=0.2, F=0.1),
    Case(20, 15, 5, u=0.01, s=0.5),
)


def distinct_alleles(result) -> np.ndarray:
    """Distinct pathogenic alleles segregating in deme 0 at the end, per replicate."""
    founders = (founder_columns(result.records[:, -1, 0]) > 0).sum(axis=-1)
    return result.statistics["other_alleles"][:, -1, 0] + founders


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(40_000, 4_000)
    rows, panels = [], []
    for k, case in enumerate(CASES):
        raw = scenarios.one_deme(
            case.n, case.t, copies=case.k0, u=case.u, s=case.s, h=case.h, F=case.F
        )
        result = scenarios.run(raw, replicates, seed=600 + k, engine=engine)
        counts = np.bincount(scenarios.pathogenic_counts(result)[:, -1], minlength=2 * case.n + 1)
        alleles = distinct_alleles(result)
        exact = theory.wf_count_distribution(
            case.n, case.t, case.k0, u=case.u, s=case.s, h=case.h, F=case.F
        )
        test = chi_square_gof(counts, exact)
        rows.append(
            simulation_row(
                NAME,
                engine,
                f"total pathogenic count vs biallelic chain (mean shown); {case.label}; "
                f"{alleles.mean():.2f} distinct alleles on average",
                float(np.arange(exact.size) @ exact),
                test,
            )
        )
        panels.append((case.label, exact, counts, alleles))

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(2 * len(panels), width=3.8, height=3.0, columns=4)
        for j, (label, exact, counts, alleles) in enumerate(panels):
            figures.pmf_panel(axes[2 * j], exact, counts, z, label)
            ax = axes[2 * j + 1]
            ax.hist(alleles, bins=np.arange(alleles.max() + 2) - 0.5, color="#aab7b8")
            ax.set_xlabel("distinct pathogenic alleles segregating")
            ax.set_ylabel("replicates")
            ax.set_title(label, fontsize=8)
        figures.save(
            fig,
            path,
            f"Infinite alleles: the pathogenic total follows the biallelic "
            f"chain, {engine} engine ({replicates:,} replicates)",
        )

    caption = (
        "Total pathogenic count with recurrent mutation to new alleles against the exact "
        "biallelic chain, and how many distinct alleles made up that total."
    )
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Infinite-alleles pathogenic class: the total follows the biallelic chain",
    engines=("frequency",),
    description=(
        "Recurrent mutation creates a new allele each time, so many distinct pathogenic "
        "alleles segregate and patients are homozygotes or compound heterozygotes. Selection "
        "depends only on how many pathogenic copies a person carries, so the total "
        "pathogenic count must follow the biallelic Wright–Fisher chain with the same u, s, h "
        "and F (exact, `theory.wf_count_distribution`). Test: Pearson's χ² of the simulated "
        "totals against the exact distribution (sparse states pooled to expected counts ≥ 5)."
    ),
    source="Kimura & Crow (1964) Genetics 49:725 (infinite alleles); Ewens (2004) ch. 3; "
    "popsim docs/design.md (pathogenic classes share one fitness).",
    run=run,
)
