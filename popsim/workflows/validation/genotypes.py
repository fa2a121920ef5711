"""Check 8: closed-form genotype statistics against brute-force enumeration.

Two closed forms carry every number popsim reports: the genotype frequencies of
:mod:`popsim.genetics.genotypes` (founder and other homozygotes, compound heterozygotes,
patients, carriers, patient shares) and the selection step of
:func:`popsim.analysis.theory.selection_step` (which the frequency engine's kernel
mirrors). Both are compared here with sums over every ordered pair of gene
copies in a zygote, for random multi-allelic frequency vectors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from popsim.analysis import theory
from popsim.genetics.genotypes import STATISTICS, expected_genotypes
from popsim.workflows.validation.core import Check, Outcome, Settings, deterministic_row

NAME = "genotype-algebra"
#: Floating-point tolerance of an identity (relative to the values, which are ≤ 1).
TOLERANCE = 1e-12


def zygotes(p: np.ndarray, F: float):
    """Every ordered pair (i, j) of allele indices with its zygote probability:
    with probability F the two copies are identical by descent (i = j, drawn once),
    otherwise both are drawn independently from p."""
    for i, j in itertools.product(range(p.size), repeat=2):
        yield i, j, (1 - F) * p[i] * p[j] + (F * p[i] if i == j else 0.0)


def enumerate_genotypes(p: np.ndarray, F: float, founders: set[int]) -> dict[str, float]:
    """Genotype-class frequencies by enumeration (allele 0 normal, the rest pathogenic)."""
    out = dict.fromkeys(STATISTICS[:5], 0.0)
    for i, j, prob in zygotes(p, F):
        if i == 0 and j == 0:
            continue
        if (i == 0) != (j == 0):
            out["carriers"] += prob
            continue
        out["affected"] += prob
        if i != j:
            out["compound_heterozygotes"] += prob
        elif i in founders:
            out["founder_homozygotes"] += prob
        else:
            out["other_homozygotes"] += prob
    for name in ("founder_homozygotes", "other_homozygotes", "compound_heterozygotes"):
        out[f"share_{name}"] = out[name] / out["affected"]
    return out


def enumerate_selection(
    p: np.ndarray, *, u: float, s: float, h: float, a: float, F: float
) -> float:
    """Pathogenic frequency after mutation and selection, by enumerating zygotes.

    Mutation moves u·p₀ to a new allele (one more index); every zygote's fitness
    is set by how many pathogenic copies it has (1, 1 − hs + a, 1 − s) and it
    passes on each copy with probability ½.
    """
    mutated = np.append(p, u * p[0])
    mutated[0] -= u * p[0]
    fitness = (1.0, 1 - h * s + a, 1 - s)
    total = passed = 0.0
    for i, j, prob in zygotes(mutated, F):
        pathogenic = (i > 0) + (j > 0)
        weight = prob * fitness[pathogenic]
        total += weight
        passed += weight * pathogenic / 2
    return passed / total


def run(engine: str | None, settings: Settings) -> Outcome:
    rng = np.random.default_rng(800)
    cases = settings.replicates(300, 60)
    genotype_error = selection_error = 0.0
    for _ in range(cases):
        n_alleles = int(rng.integers(2, 7))
        p = rng.dirichlet(np.full(n_alleles, 0.7))
        F = float(rng.uniform(0, 1)) if rng.random() < 0.8 else 0.0
        founders = {
            int(k)
            for k in rng.choice(
                np.arange(1, n_alleles), int(rng.integers(1, n_alleles)), replace=False
            )
        }
        closed = expected_genotypes(p, F, tuple(sorted(founders))).as_dict()
        brute = enumerate_genotypes(p, F, founders)
        genotype_error = max(
            genotype_error, *(abs(float(closed[k]) - brute[k]) for k in STATISTICS)
        )
        s = float(rng.uniform(0, 1))
        h, a, u = float(rng.uniform(0, 1)), float(rng.uniform(0, 0.2)), float(rng.uniform(0, 0.05))
        q = float(p[1:].sum())
        selection_error = max(
            selection_error,
            abs(
                float(theory.selection_step(q, u=u, s=s, h=h, a=a, F=F))
                - enumerate_selection(p, u=u, s=s, h=h, a=a, F=F)
            ),
        )
    criterion = f"max |closed form − enumeration| ≤ {TOLERANCE:g}"
    rows = [
        deterministic_row(
            NAME,
            "identity",
            f"genetics.expected_genotypes, all {len(STATISTICS)} statistics vs enumeration of "
            f"ordered gene-copy pairs; {cases} random cases (2–6 alleles, F ∈ [0, 1))",
            math.nan,
            math.nan,
            criterion,
            genotype_error,
            TOLERANCE,
            error=genotype_error,
        ),
        deterministic_row(
            NAME,
            "identity",
            "theory.selection_step (mutation + selection on zygotes with F) vs enumeration; "
            f"{cases} random cases",
            math.nan,
            math.nan,
            criterion,
            selection_error,
            TOLERANCE,
            error=selection_error,
        ),
    ]
    return Outcome(rows)


CHECK = Check(
    name=NAME,
    title="Closed-form genotype statistics and the selection step against enumeration",
    engines=(),
    description=(
        "For random allele-frequency vectors (normal allele plus 1–5 pathogenic alleles, some "
        "of them founder alleles) and F, every ordered pair of gene copies (i, j) is "
        "enumerated with probability (1 − F)p_i p_j + F·p_i·[i = j] and classified; the sums "
        "must equal the closed forms of `popsim.genetics.genotypes` (homozygotes "
        "p_i²(1 − F) + p_i F, "
        "compound heterozygotes (1 − F)(q² − Σp_i²), carriers 2p₀q(1 − F), patient shares). "
        "Likewise the pathogenic frequency after mutation and viability selection, summed over "
        "zygotes weighted by fitness, must equal `theory.selection_step`. Identity: the "
        "largest absolute difference must be rounding error (≤ 10⁻¹²)."
    ),
    source="Wright (1922) Am Nat 56:330 (inbreeding coefficient); Crow & Kimura (1970) ch. 3; "
    "popsim docs/design.md (statistics).",
    run=run,
)
