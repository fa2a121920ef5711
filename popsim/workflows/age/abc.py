"""Simulation-based allele age: ABC on shared-length summaries, the scenario's demography.

Prior: the founder allele enters (its first ``locus.founder_alleles`` entry is
moved) at a generation uniform on a grid from the first generation its deme
exists to T − 1, everything else as in the scenario. For each grid point the
frequency engine runs the scenario; every replicate with at least n copies in
the sampled deme gives one simulated data set of n carriers
(:mod:`popsim.workflows.age.carriers`), its age the generations since that
introduction. Summaries of a data set's per-carrier totals L_i = l_i + r_i:
log mean(L) (what the Gamma method uses) and log(sd(L)/mean(L)) (how
correlated the genealogy is). Rejection: the fraction ``accept`` of simulated
data sets nearest the observed summaries (Euclidean distance after dividing
each summary by its median absolute deviation over the simulations), then
the local-linear regression adjustment of log age with Epanechnikov weights
(Beaumont, Zhang & Balding 2002, Genetics 162:2025). The estimate is the
posterior median, the interval its central quantiles.

With a marker panel the simulated carriers get haplotypes on it and their
lengths are read against their consensus exactly as the observed ones were
(chance sharing included), so no correction is applied.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from popsim.analysis.age.gamma import AgeEstimate
from popsim.analysis.age.genealogy import (
    GeneticMap,
    history_of,
    shared_segments,
    trace_genealogy,
)
from popsim.analysis.age.markers import MarkerPanel, haplotypes, shared_lengths
from popsim.errors import ConfigError
from popsim.model.build import model_of
from popsim.model.scenario import Scenario
from popsim.simulate import simulate
from popsim.workflows.age.carriers import STREAM_TAG, founder_deme, recording_scenario

#: Grid points of the entry generation, replicates per point, accepted fraction.
DEFAULT_POINTS = 30
DEFAULT_REPLICATES = 200
DEFAULT_ACCEPT = 0.1


def summaries(left_cm: np.ndarray, right_cm: np.ndarray) -> np.ndarray:
    """[log mean(L), log(sd(L)/mean(L))] of the per-carrier totals L (cM)."""
    total = np.asarray(left_cm, float) + np.asarray(right_cm, float)
    mean = max(total.mean(), 1e-12)
    return np.array([np.log(mean), np.log(max(total.std(ddof=1) / mean, 1e-6))])


def moved_introduction(scenario: Scenario, founder: int, generation: int) -> Scenario:
    """``scenario`` with founder allele ``founder``'s (only) introduction at ``generation``."""
    name = scenario.founder_names[founder]
    entries = [a for a in scenario.locus.founder_alleles if a.name == name]
    if len(entries) != 1:
        raise ConfigError(f"locus.founder_alleles ({name})", len(entries),
                          "the age ABC moves one introduction: the allele needs exactly one")
    alleles = tuple(dataclasses.replace(a, generation=generation) if a is entries[0] else a
                    for a in scenario.locus.founder_alleles)
    return dataclasses.replace(scenario, locus=dataclasses.replace(scenario.locus,
                                                                   founder_alleles=alleles))


def entry_grid(scenario: Scenario, deme: str, points: int) -> np.ndarray:
    """Entry generations from the deme's first generation to T − 1, at most ``points``."""
    founded = scenario.demes[scenario.deme_index(deme)].founded
    first = founded.generation if founded else 0
    return np.unique(np.rint(np.linspace(first, scenario.generations - 1, points))).astype(int)


def simulate_summaries(
    scenario: Scenario,
    carriers: int,
    *,
    deme: str | None = None,
    founder: int = 0,
    points: int = DEFAULT_POINTS,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 1,
    panel: MarkerPanel | None = None,
    genetic_map: GeneticMap | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(ages [k], summaries [k, 2]) of every simulated data set of the ABC (module docstring)."""
    deme = deme or founder_deme(scenario, founder)
    d = scenario.deme_index(deme)
    ages, stats = [], []
    for point, generation in enumerate(entry_grid(scenario, deme, points)):
        moved = recording_scenario(moved_introduction(scenario, founder, int(generation)))
        result = simulate(model_of(moved, "frequency"), replicates, seed, point=point)
        for r in range(result.replicates):
            history = history_of(result, r, founder)
            if history.copies[-1, d] < carriers:
                continue
            rng = np.random.default_rng([seed, STREAM_TAG, point, r])
            genealogy = trace_genealogy(history, carriers, rng, d)
            segments = shared_segments(genealogy, rng, genetic_map)
            if panel is None:
                left, right = segments.left_cm, segments.right_cm
            else:
                left, right = shared_lengths(haplotypes(segments, panel, rng)[0],
                                             panel.positions_cm)
            ages.append(genealogy.age)
            stats.append(summaries(left, right))
    return np.asarray(ages, float), np.asarray(stats).reshape(-1, 2)


def abc_estimate(
    observed: np.ndarray,
    ages: np.ndarray,
    simulated: np.ndarray,
    level: float = 0.95,
    accept: float = DEFAULT_ACCEPT,
) -> AgeEstimate:
    """Rejection with regression adjustment (module docstring) from the simulated
    (``ages``, ``simulated`` summaries) at the ``observed`` summaries."""
    if ages.size < 20:
        raise ConfigError("ABC simulations", int(ages.size),
                          "too few simulated data sets (at least 20): raise --abc-replicates")
    scale = np.median(np.abs(simulated - np.median(simulated, axis=0)), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    distance = np.sqrt((((simulated - observed) / scale) ** 2).sum(axis=1))
    keep = max(round(accept * ages.size), 10)
    nearest = np.argsort(distance)[:keep]
    bandwidth = distance[nearest].max() or 1.0
    weights = 1 - (distance[nearest] / bandwidth) ** 2
    weights = np.where(weights > 0, weights, 1e-6)
    x = simulated[nearest] - observed
    design = np.column_stack([np.ones(keep), x])
    root = np.sqrt(weights)[:, None]
    beta = np.linalg.lstsq(design * root, np.log(ages[nearest]) * root[:, 0], rcond=None)[0]
    adjusted = np.exp(np.log(ages[nearest]) - x @ beta[1:])
    order = np.argsort(adjusted)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    alpha = 1 - level
    low, median, high = np.interp([alpha / 2, 0.5, 1 - alpha / 2], cumulative, adjusted[order])
    return AgeEstimate("ABC, scenario demography", float(median), float(low), float(high), level,
                       {"simulated": float(ages.size), "accepted": float(keep)})


def abc_age(
    scenario: Scenario,
    left_cm: np.ndarray,
    right_cm: np.ndarray,
    *,
    level: float = 0.95,
    accept: float = DEFAULT_ACCEPT,
    **options,
) -> AgeEstimate:
    """The ABC age estimate of carriers with shared lengths ``left_cm``, ``right_cm``;
    ``options`` go to :func:`simulate_summaries`. ``details`` holds the data sets
    simulated and accepted and the seconds it took."""
    started = time.perf_counter()
    ages, simulated = simulate_summaries(scenario, len(left_cm), **options)
    estimate = abc_estimate(summaries(left_cm, right_cm), ages, simulated, level, accept)
    estimate.details["seconds"] = time.perf_counter() - started
    return estimate
