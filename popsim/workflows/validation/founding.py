"""Check 10: a founder event and a growing deme (frequency engine).

Deme ``b`` is founded at generation 1 by k = 5 diploids, children of deme
``a``'s generation 0, and grows exponentially to 160 by generation 6
(N_b = 5·32^{(t−1)/5}: 5, 10, 20, 40, 80, 160); ``a`` (10 diploids) holds a
neutral allele at exactly p = ½ at generation 0; a third deme ``c`` of the
same size, without the allele, is listed first, so that founders drawn from
the wrong deme (or from ``a``'s generation 1 instead of 0) change the result.

* The founders' 2k copies are a binomial draw from a's generation 0:
  Binomial(2k, p) exactly.
* Each later generation is a binomial draw of 2N_b(τ) copies, and under binomial
  sampling E[2p′(1 − p′)] = (1 − 1/2N)·2p(1 − p), so
  E[H_b(t)] = H_0·Π_{τ=1..t}(1 − 1/2N_b(τ)), the founding draw (N_b(1) = k)
  included, with H_0 = 2p(1 − p) of a at generation 0.

The sizes in the prediction come from the config's stated schedule, not from
the compiled plan, and an identity row checks that the plan holds the same
sizes (an off-by-one in the schedule fails both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from popsim.engines.layout import record_column
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

NAME = "founder-event"

#: Source size, founders, founding generation, final size, last generation, p in a.
N_A, K, FOUNDED, N_END, T, P0 = 10, 5, 1, 160, 6, 0.5
TESTS_AT = (1, 3, T)


def stated_sizes() -> np.ndarray:
    """N_b(t), t = 0 … T, from the config's words: absent before the founding
    generation, k founders then, exponential growth to N_END at T."""
    t = np.arange(T + 1)
    growth = K * (N_END / K) ** ((t - FOUNDED) / (T - FOUNDED))
    return np.where(t < FOUNDED, 0, np.rint(growth)).astype(np.int64)


def expected_heterozygosity(sizes: np.ndarray) -> np.ndarray:
    """E[H_b(t)] = H_0·Π_{τ ≤ t}(1 − 1/2N_b(τ)) for t ≥ the founding generation (NaN before)."""
    factors = np.where(sizes > 0, 1.0 - 1.0 / (2 * np.maximum(sizes, 1)), 1.0)
    h = 2 * P0 * (1 - P0) * np.cumprod(factors)
    return np.where(sizes > 0, h, np.nan)


def config() -> dict[str, Any]:
    return {
        "scenario": {"name": "founder event", "generations": T, "record_every": 1},
        "demes": [
            {"name": "c", "size": N_A},
            {"name": "a", "size": N_A},
            {
                "name": "b",
                "size": {"end": N_END, "growth": "exponential"},
                "founded": {"generation": FOUNDED, "from": "a", "founders": K},
            },
        ],
        "locus": {"founder_alleles": [{"name": "f", "deme": "a", "copies": int(2 * N_A * P0)}]},
    }


def run(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(40_000, 4_000)
    result = scenarios.run(config(), replicates, seed=1000, engine=engine)
    sizes = stated_sizes()
    recorded = record_column(result.records[0, :, 2, :], "size")  # alike in every replicate
    counts = scenarios.pathogenic_counts(result, deme=2)
    p = counts / (2 * np.maximum(recorded, 1))
    het = 2 * p * (1 - p)
    expected = expected_heterozygosity(sizes)
    founders = np.bincount(counts[:, FOUNDED], minlength=2 * K + 1)[: 2 * K + 1]
    binomial = stats.binom.pmf(np.arange(2 * K + 1), 2 * K, P0)
    mismatch = int(np.abs(recorded - sizes).max())
    rows = [
        deterministic_row(
            NAME, "identity", f"deme b's sizes t=0…{T} against the config's schedule "
            f"({', '.join(map(str, sizes))}); largest difference shown",
            0.0, float(mismatch), "equal", float(mismatch), 0.0,
        ),
        simulation_row(
            NAME, engine, f"founder copies vs Binomial(2k={2 * K}, p={P0:g}) (mean shown)",
            2 * K * P0, chi_square_gof(founders, binomial),
        ),
    ] + [
        simulation_row(
            NAME, engine,
            f"E[2p(1−p)] in b at t={t} = H0·Π(1 − 1/2N_b), "
            f"N_b={', '.join(map(str, sizes[1:t + 1]))}",
            expected[t], t_test_mean(het[:, t], float(expected[t])),
        )
        for t in TESTS_AT
    ]

    def draw(path: Path, z: float) -> None:
        fig, (pmf, ax) = figures.panels(2, width=5.0, height=3.6)
        figures.pmf_panel(pmf, binomial, founders, z, f"founder copies, k = {K}")
        generations = np.arange(FOUNDED, T + 1)
        mean = het[:, FOUNDED:].mean(axis=0)
        se = het[:, FOUNDED:].std(axis=0, ddof=1) / np.sqrt(replicates)
        ax.plot(generations, expected[FOUNDED:], color=figures.PREDICTED, lw=1.2,
                label="H0·Π(1 − 1/2N_b)")
        ax.errorbar(generations, mean, yerr=z * se, fmt="o", ms=3, color=figures.SIMULATED,
                    label=f"simulated ±{z:.1f} SE")
        ax.set_xlabel("generation t")
        ax.set_ylabel("E[2p(1 − p)] in the founded deme")
        ax.legend(fontsize=7)
        figures.save(fig, path, f"Founder event and growth, {engine} engine "
                     f"({replicates:,} replicates)")

    caption = ("Founder copies against Binomial(2k, p) and heterozygosity through founding "
               "and growth.")
    return Outcome(rows, [Figure(f"{NAME}-{engine}", caption, draw)])


CHECK = Check(
    name=NAME,
    title="Founder event and time-varying size: Binomial(2k, p) founders, exact E[H_t]",
    engines=("frequency",),
    description=(
        f"Deme b is founded at generation {FOUNDED} by k = {K} children of deme a's generation 0 "
        f"(a: {N_A} diploids, a neutral allele at p = {P0:g}) and grows exponentially to {N_END} "
        f"by generation {T}; a decoy deme without the allele is listed first. The founders' "
        "copies are Binomial(2k, p) (Pearson χ²), and E[2p(1 − p)] in b is "
        "H0·Π_τ(1 − 1/2N_b(τ)) over b's draws, the founding draw included (t-tests at "
        f"t = {', '.join(map(str, TESTS_AT))}). The sizes are those the config states; an "
        "identity row checks that the compiled schedule holds them."
    ),
    source="Wright (1931) Genetics 16:97; Nei, Maruyama & Chakraborty (1975) Evolution 29:1 "
    "(bottlenecks, H_t = H0·Π(1 − 1/2N_τ)); Ewens (2004) ch. 1.",
    run=run,
)
