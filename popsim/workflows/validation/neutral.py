"""Check 2: neutral drift — fixation probability p₀ and heterozygosity (1 − 1/2N)ᵗ.

Without selection or mutation the allele frequency is a martingale, so a
neutral allele at frequency p₀ fixes with probability p₀, and the expected
heterozygosity E[2p_t(1 − p_t)] decays exactly as H₀(1 − 1/2N)ᵗ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from popsim.analysis import theory
from popsim.workflows.validation import figures, scenarios
from popsim.workflows.validation.core import Check, Figure, Outcome, Settings, simulation_row
from popsim.workflows.validation.stats import binomial_test, t_test_mean

FIXATION = "neutral-fixation"
HETEROZYGOSITY = "neutral-heterozygosity"

#: (N, initial copies): a common allele, and a single new copy (p₀ = 1/2N).
FIXATION_CASES = ((10, 6), (10, 1))
#: Generations run: the exact chain leaves less than this probability unabsorbed.
UNABSORBED_BOUND = 1e-9


def absorption_time(n: int, k0: int, bound: float = UNABSORBED_BOUND) -> tuple[int, float]:
    """Generations t after which the exact neutral chain from k₀ copies is still
    unabsorbed with probability below ``bound``; returns (t, that probability)."""
    matrix = theory.wf_transition_matrix(n)
    dist = np.zeros(2 * n + 1)
    dist[k0] = 1.0
    t = 0
    while dist[1:-1].sum() >= bound:
        dist = dist @ matrix
        t += 1
    return t, float(dist[1:-1].sum())


def run_fixation(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    replicates = settings.replicates(20_000, 1_000)
    rows, points = [], []
    for k, (n, k0) in enumerate(FIXATION_CASES):
        t, unabsorbed = absorption_time(n, k0)
        result = scenarios.run(scenarios.one_deme(n, t, copies=k0), replicates, 200 + k, engine)
        final = scenarios.pathogenic_counts(result)[:, -1]
        fixed = int((final == 2 * n).sum())
        segregating = int(((final > 0) & (final < 2 * n)).sum())
        p0 = k0 / (2 * n)
        predicted = theory.neutral_fixation_probability(p0)
        test = binomial_test(fixed, replicates, predicted)
        rows.append(
            simulation_row(
                FIXATION,
                engine,
                f"P(fixed by t={t}); N={n}, p₀={p0:.3g} (WF chain unabsorbed: "
                f"{unabsorbed:.0e}; replicates still segregating: {segregating})",
                predicted,
                test,
            )
        )
        points.append((p0, test.estimate, test.standard_error))

    def draw(path: Path, z: float) -> None:
        fig, (ax,) = figures.panels(1, width=4.2, height=3.6)
        grid = np.linspace(0, 0.35, 2)
        ax.plot(grid, grid, color=figures.PREDICTED, lw=1, label="prediction P = p₀")
        x, y, e = zip(*points, strict=True)
        figures.estimates(ax, x, y, e, z)
        ax.set_xlabel("initial frequency p₀")
        ax.set_ylabel("probability of fixation")
        ax.legend(fontsize=7)
        figures.save(fig, path, f"Neutral fixation, {engine} engine ({replicates:,} replicates)")

    caption = "Neutral fixation probability against the initial frequency p₀ (line: P = p₀)."
    return Outcome(rows, [Figure(f"{FIXATION}-{engine}", caption, draw)])


def run_heterozygosity(engine: str | None, settings: Settings) -> Outcome:
    assert engine is not None
    n, k0, t_max = 50, 30, 100
    tests_at = (10, 30, 100)
    replicates = settings.replicates(20_000, 4_000)
    raw = scenarios.one_deme(n, t_max, copies=k0, record_every=1)
    result = scenarios.run(raw, replicates, seed=210, engine=engine)
    p = scenarios.pathogenic_counts(result) / (2 * n)
    het = 2 * p * (1 - p)
    p0 = k0 / (2 * n)
    h0 = 2 * p0 * (1 - p0)
    generations = np.arange(t_max + 1)
    predicted = np.asarray(theory.neutral_heterozygosity(h0, n, generations))
    rows = []
    for t in tests_at:
        test = t_test_mean(het[:, t], float(predicted[t]))
        rows.append(
            simulation_row(
                HETEROZYGOSITY, engine, f"E[2p(1−p)] at t={t}; N={n}, p₀={p0:g}", predicted[t], test
            )
        )
    mean_test = t_test_mean(p[:, t_max], p0)
    rows.append(
        simulation_row(
            HETEROZYGOSITY, engine, f"E[p] at t={t_max} (martingale); N={n}", p0, mean_test
        )
    )
    mean_het = het.mean(axis=0)
    se_het = het.std(axis=0, ddof=1) / np.sqrt(replicates)

    def draw(path: Path, z: float) -> None:
        fig, (ax, residual) = figures.panels(2, width=5.0, height=3.6)
        ax.plot(generations, predicted, color=figures.PREDICTED, lw=1.2, label="H₀(1 − 1/2N)ᵗ")
        ax.fill_between(
            generations,
            mean_het - z * se_het,
            mean_het + z * se_het,
            color=figures.SIMULATED,
            alpha=0.25,
            lw=0,
            label=f"simulated mean ±{z:.1f} SE",
        )
        ax.plot(generations, mean_het, color=figures.SIMULATED, lw=0.8)
        ax.set_xlabel("generation t")
        ax.set_ylabel("expected heterozygosity E[2p(1 − p)]")
        ax.legend(fontsize=7)
        figures.standardized(residual, generations, mean_het, predicted, se_het, z)
        residual.set_xlabel("generation t")
        figures.save(
            fig,
            path,
            f"Neutral heterozygosity decay, N = {n}, {engine} engine ({replicates:,} replicates)",
        )

    caption = (
        "Decay of expected heterozygosity under neutral drift: exact prediction and simulation."
    )
    return Outcome(rows, [Figure(f"{HETEROZYGOSITY}-{engine}", caption, draw)])


FIXATION_CHECK = Check(
    name=FIXATION,
    title="Neutral fixation probability equals the initial frequency p₀",
    engines=("frequency", "pedigree"),
    description=(
        "A neutral allele's frequency is a martingale with absorbing states 0 and 1, so it "
        "fixes with probability p₀. Each case runs for t generations, with t chosen from the "
        "exact chain so that the probability of not yet being absorbed is below 10⁻⁹ "
        "(negligible against the sampling error; the table also counts replicates still "
        "segregating). Test: exact two-sided binomial test of the number of replicates fixed. "
        "Both engines: in the pedigree engine too each child's gene copies are drawn from "
        "parents of the previous generation without bias, so p is a martingale."
    ),
    source="Kimura (1962) Genetics 47:713; Ewens (2004) ch. 1.",
    run=run_fixation,
)

HETEROZYGOSITY_CHECK = Check(
    name=HETEROZYGOSITY,
    title="Neutral heterozygosity decays as H₀(1 − 1/2N)ᵗ; the mean frequency stays p₀",
    engines=("frequency",),
    description=(
        "Under binomial sampling of 2N gene copies E[2p'(1 − p') | p] = (1 − 1/2N)·2p(1 − p), "
        "so E[H_t] = H₀(1 − 1/2N)ᵗ exactly, and E[p_t] = p₀. Test: one-sample t-test of the "
        "replicate mean at three generations, and of the mean frequency at the last one. "
        "Frequency engine only: with separate sexes the pedigree engine has N_e = N + ½."
    ),
    source="Wright (1931) Genetics 16:97; Crow & Kimura (1970) ch. 7; Ewens (2004) ch. 1.",
    run=run_heterozygosity,
)
