"""Recovery of a known allele age: coverage, bias and width of each estimator.

Two demographies (:func:`recovery_scenario`), the allele entering at
generation 0 and the present at generation ``age``:

* **no bottleneck**: one deme of :data:`LARGE` diploids; the allele enters as
  :data:`ENTRY_COPIES` copies of one ancestral haplotype (lineages rarely meet:
  a nearly independent genealogy);
* **founder bottleneck**: a deme founded by :data:`FOUNDERS` diploids growing
  exponentially to :data:`LARGE`; the allele enters as one copy (carriers
  coalesce in the first generations: a correlated genealogy).

Each data set is n carriers of one replicate (:mod:`.carriers`); every
estimator is applied to the exact segment lengths and, with a marker panel,
to the lengths read from marker haplotypes (chance-sharing and longest-end
corrections on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from popsim.analysis.age.gamma import chance_sharing_cm, gamma_estimates
from popsim.analysis.age.markers import MarkerPanel, shared_lengths
from popsim.model.build import scenario_from_dict
from popsim.model.scenario import Scenario
from popsim.workflows.age.carriers import simulate_carriers

LARGE = 20_000
ENTRY_COPIES = 200
FOUNDERS = 50


def recovery_scenario(age: int, bottleneck: bool, seed: int, replicates: int) -> Scenario:
    """The recovery demography (module docstring) with the present ``age`` generations
    after the allele's entry."""
    size: object = (
        [{"generation": 0, "start": FOUNDERS, "end": LARGE, "growth": "exponential"}]
        if bottleneck else LARGE
    )
    return scenario_from_dict({
        "scenario": {"name": f"age {age}, {'bottleneck' if bottleneck else 'no bottleneck'}",
                     "generations": age, "replicates": replicates, "seed": seed},
        "demes": [{"name": "pop", "size": size}],
        "locus": {"founder_alleles": [{"name": "F", "deme": "pop", "generation": 0,
                                       "copies": 1 if bottleneck else ENTRY_COPIES}]},
    })


@dataclass(frozen=True)
class RecoveryRow:
    """One estimator in one setting over ``datasets`` data sets: the share of
    intervals that cover the age, the binomial band that share should fall in
    (central 99.9% at the nominal level), mean relative bias (estimate/age − 1),
    median relative interval width ((upper − lower)/age)."""

    age: int
    carriers: int
    bottleneck: bool
    estimator: str
    datasets: int
    coverage: float
    band: tuple[float, float]
    bias: float
    width: float


def recovery(age: int, carriers: int, bottleneck: bool, datasets: int = 200, seed: int = 1,
             markers: bool = True, level: float = 0.95) -> list[RecoveryRow]:
    """Apply the Gamma estimators to ``datasets`` simulated data sets (module docstring)."""
    replicates = datasets * (25 if bottleneck else 3)
    scenario = recovery_scenario(age, bottleneck, seed, replicates)
    panel = MarkerPanel.neutral(np.random.default_rng([seed, age, carriers])) if markers else None
    found = simulate_carriers(scenario, carriers, datasets, panel=panel)
    results: dict[str, list[tuple[float, float, float]]] = {}
    for data in found:
        sets = [("", data.segments.left_cm, data.segments.right_cm, 0.0, False)]
        if panel is not None:
            left, right = shared_lengths(data.haplotypes, panel.positions_cm)
            cs = chance_sharing_cm(panel.spacing_cm, panel.median_maf)
            sets.append((", markers", left, right, cs, True))
        for suffix, left, right, cs, consensus in sets:
            for e in gamma_estimates(left, right, level, cs, consensus):
                results.setdefault(e.method + suffix, []).append(
                    (e.generations, e.lower, e.upper))
    rows = []
    n = len(found)
    band = tuple(stats.binom.ppf([0.0005, 0.9995], n, level) / n)
    for name, values in results.items():
        estimate, lower, upper = np.array(values).T
        rows.append(RecoveryRow(
            age, carriers, bottleneck, name, n,
            float(np.mean((lower <= age) & (age <= upper))), band,
            float(np.mean(estimate / age - 1)), float(np.median((upper - lower) / age)),
        ))
    return rows
