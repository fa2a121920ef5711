"""Check 9: how mutation-born copies are split among alleles (frequency engine).

Neutral Wright–Fisher with mutation to new alleles, in the engine's step order
(migration, mutation, selection, drift; popsim.engines.frequency): a normal
copy becomes pathogenic with probability u, the new mass m = u·x_0 forms a
class of brand-new alleles, and the 2N copies of the next generation are a
multinomial draw in which *each* copy drawn from that class is its own allele.
Without selection (s = 0 makes every selection factor 1) two results are exact
at any N, with q'_t = 1 − (1 − u)^{t+1} the expected pathogenic frequency
after step t + 1's mutation:

* the homozygosity of mutation-born alleles, G_t = E[Σ_i p_i²]: an allele of
  frequency p drawn binomially has E[p'²] = (1 − 1/2N)p² + p/2N, and each of
  the K ~ Binomial(2N, m) new copies adds 1/(2N)², so
  G_{t+1} = (1 − 1/2N)·G_t + q'_t/2N, G_0 = 0;
* the number of distinct mutation-born alleles, A_t: 2N·u·(1 − u)^{τ−1} new
  alleles are born at step τ on average, each with one copy, and an allele's own
  count is the neutral WF chain (its binomial depends only on its own count),
  so A_t = Σ_{τ=1..t} 2N·u·(1 − u)^{τ−1}·(1 − Pr[count 0 after t − τ steps | 1]).

Merging a generation's new copies into one allele (K copies of one allele
instead of K alleles) raises G by E[K² − K]/(2N)² a generation and lowers A;
neither the pathogenic total nor its moments see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.analysis import theory
from popsim.engines.layout import record_column
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import t_test_mean

NAME = "allele-splitting"



@dataclass(frozen=True)
class Case:
    """N diploids, mutation rate u, T generations; G tested at ``g_at``, A at ``a_at``."""

    n: int
    u: float
    t: int
    g_at: tuple[int, ...]
    a_at: tuple[int, ...]


#: Rare mutation (2Nu = 0.5: the allele count is the sensitive statistic) and frequent
#: mutation (2Nu = 2: several new copies a generation, so merging them moves G).
CASES = (Case(50, 0.005, 100, (10, 30, 100), (30, 100)), Case(20, 0.05, 20, (5, 20), (20,)))


def mutation_born_homozygosity(n: int, u: float, generations: int) -> np.ndarray:
    """Exact G_t = E[Σ_i p_i²] over mutation-born alleles, t = 0 … T (module docstring):
    one deme of N diploids, no selection, no pathogenic copies at t = 0."""
    g = np.zeros(generations + 1)
    for t in range(generations):
        mutated = 1.0 - (1.0 - u) ** (t + 1)
        g[t + 1] = (1.0 - 1.0 / (2 * n)) * g[t] + mutated / (2 * n)
    return g


def expected_mutation_born_alleles(n: int, u: float, generations: int) -> np.ndarray:
    """Exact expected number of distinct mutation-born alleles A_t, t = 0 … T
    (module docstring): one deme of N diploids, no selection, none at t = 0."""
    matrix = theory.wf_transition_matrix(n)
    lost = np.zeros(generations + 1)  # Pr(a one-copy allele is lost after k steps)
    dist = np.zeros(2 * n + 1)
    dist[1] = 1.0
    for k in range(generations + 1):
        lost[k] = dist[0]
        dist = dist @ matrix
    births = 2 * n * u * (1.0 - u) ** np.arange(generations)  # at steps τ = 1 … T
    alleles = np.zeros(generations + 1)
    for t in range(1, generations + 1):
        ages = t - np.arange(1, t + 1)
        alleles[t] = float(births[:t] @ (1.0 - lost[ages]))
    return alleles


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(20_000, 3_000)
    rows, panels = [], []
    for k, case in enumerate(CASES):
        raw = scenarios.one_deme(case.n, case.t, u=case.u, record_every=1)
        result = scenarios.run(raw, replicates, seed=900 + k, engine=engine)
        records = result.records[:, :, 0, :]
        sumsq = record_column(records, "other_sumsq") / (2.0 * case.n) ** 2
        alleles = record_column(records, "other_alleles").astype(np.float64)
        g = mutation_born_homozygosity(case.n, case.u, case.t)
        a = expected_mutation_born_alleles(case.n, case.u, case.t)
        label = scenarios.parameters(N=case.n, u=case.u)
        rows += [
            simulation_row(
                NAME, engine, f"G = E[Σ p_i²] over mutation-born alleles at t={t}; {label}",
                g[t], t_test_mean(sumsq[:, t], float(g[t])),
            )
            for t in case.g_at
        ] + [
            simulation_row(
                NAME, engine, f"E[distinct mutation-born alleles] at t={t}; {label}",
                a[t], t_test_mean(alleles[:, t], float(a[t])),
            )
            for t in case.a_at
        ]
        panels += [
            (f"G_t = E[Σ p_i²]; {label}", g, sumsq),
            (f"E[distinct mutation-born alleles]; {label}", a, alleles),
        ]

    def draw(path: Path, z: float) -> None:
        fig, axes = figures.panels(len(panels), width=4.2, height=3.4, columns=2)
        for ax, (ylabel, exact, sample) in zip(axes, panels, strict=True):
            generations = np.arange(exact.size)
            mean = sample.mean(axis=0)
            se = sample.std(axis=0, ddof=1) / np.sqrt(replicates)
            ax.plot(generations, exact, color=figures.PREDICTED, lw=1.2, label="exact recursion")
            ax.fill_between(generations, mean - z * se, mean + z * se, color=figures.SIMULATED,
                            alpha=0.25, lw=0, label=f"simulated mean ±{z:.1f} SE")
            ax.plot(generations, mean, color=figures.SIMULATED, lw=0.8)
            ax.set_xlabel("generation t")
            ax.set_ylabel(ylabel, fontsize=7)
            ax.legend(fontsize=7)
        figures.save(fig, path, f"Mutation-born alleles, {engine} engine "
                     f"({replicates:,} replicates)")

    caption = "Homozygosity and number of mutation-born alleles against their exact recursions."
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Mutation-born copies split among alleles: exact homozygosity and allele number",
    engines=("frequency",),
    description=(
        "Neutral WF with mutation to new alleles (N = 50, u = 0.005 and N = 20, u = 0.05, from "
        "no pathogenic copy). "
        "Each copy drawn from the new-mutation class is its own allele, so "
        "G_t = E[Σ_i p_i²] over mutation-born alleles follows "
        "G_{t+1} = (1 − 1/2N)·G_t + q'_t/2N exactly (q'_t = 1 − (1 − u)^{t+1}, the pathogenic "
        "frequency after mutation), and the expected number of distinct mutation-born alleles "
        "is Σ_τ 2N·u·(1 − u)^{τ−1}·(survival of a one-copy allele for t − τ generations in the "
        "neutral chain). Test: t-tests of G and of the allele count at several t. A "
        "generation's new copies merged into one allele raise G and lower the allele count."
    ),
    source="Kimura & Crow (1964) Genetics 49:725; Ewens (2004) ch. 3 (infinite alleles: "
    "homozygosity recursion, Ewens' F = 1/(1 + θ)); Ewens (1972) Theor Popul Biol 3:87.",
    run=run,
)
