"""Carriers' data of known age, simulated on a scenario's own demography.

A scenario is run by the frequency engine with every generation recorded
(``scenario.record_every = 1``); in each replicate whose founder allele has at
least n copies in the sampled deme at the present, n copies are sampled and
their genealogy and shared segments drawn
(:mod:`popsim.analysis.age.genealogy`), optionally as marker haplotypes
(:mod:`popsim.analysis.age.markers`). The allele's age is the generations since
the introduction its carriers descend from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from popsim.analysis.age.genealogy import (
    GeneticMap,
    Segments,
    history_of,
    shared_segments,
    trace_genealogy,
)
from popsim.analysis.age.markers import MarkerPanel, haplotypes
from popsim.engines.layout import founder_columns
from popsim.errors import ConfigError, PopsimError
from popsim.model.build import model_of
from popsim.model.scenario import Scenario
from popsim.simulate import simulate

#: Mixed into each data set's generator seed, so its draws differ from the engine's.
STREAM_TAG = 0x616765  # "age"


@dataclass(frozen=True)
class CarrierData:
    """One simulated data set: ``segments`` of n carriers sampled in ``replicate``;
    ``age`` (generations since the introduction) and ``tmrca`` are the truth;
    ``haplotypes`` int8 [n, markers] on ``panel`` when markers were asked for."""

    replicate: int
    age: int
    tmrca: float
    segments: Segments
    haplotypes: np.ndarray | None = None
    panel: MarkerPanel | None = None


def founder_deme(scenario: Scenario, founder: int = 0) -> str:
    """The deme of the founder allele's first introduction (the default sampled deme)."""
    name = scenario.founder_names[founder]
    return next(a.deme for a in scenario.locus.founder_alleles if a.name == name)


def recording_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` on the frequency engine with every generation recorded."""
    return dataclasses.replace(scenario, record_every=1, engine="frequency")


def simulate_carriers(
    scenario: Scenario,
    carriers: int,
    datasets: int = 1,
    *,
    seed: int | None = None,
    replicates: int | None = None,
    deme: str | None = None,
    founder: int = 0,
    genetic_map: GeneticMap | None = None,
    panel: MarkerPanel | None = None,
) -> list[CarrierData]:
    """Up to ``datasets`` data sets of ``carriers`` carriers each, one per replicate whose
    allele has enough copies (module docstring), in replicate order.

    Args:
        scenario: the demography and the allele (``founder``: index into
            ``scenario.founder_names``).
        seed, replicates: the engine run's (default: the scenario's).
        deme: deme name to sample (default: the allele's first introduction's).
        genetic_map: cM ↔ Mb (default uniform 1 cM/Mb).
        panel: marker panel; with one, each data set also has haplotypes.

    Raises:
        ConfigError: ``carriers`` < 2, a deme or founder allele that does not exist.
        PopsimError: no replicate has ``carriers`` copies at the present.
    """
    if carriers < 2:
        raise ConfigError("--carriers", carriers, "must be at least 2")
    if not scenario.founder_names:
        raise ConfigError("locus.founder_alleles", "[]", "the scenario needs a founder allele")
    deme = deme or founder_deme(scenario, founder)
    if deme not in scenario.deme_names:
        raise ConfigError("--deme", deme, f"must be one of {', '.join(scenario.deme_names)}")
    model = model_of(recording_scenario(scenario), "frequency")
    seed = model.scenario.seed if seed is None else seed
    result = simulate(model, replicates, seed)
    d = scenario.deme_index(deme)
    present = founder_columns(result.records[:, -1, d])[:, founder]
    found: list[CarrierData] = []
    for r in range(result.replicates):
        if len(found) == datasets:
            break
        history = history_of(result, r, founder)
        if history.copies[-1, d] < carriers:
            continue
        rng = np.random.default_rng([seed, STREAM_TAG, r])
        genealogy = trace_genealogy(history, carriers, rng, d)
        segments = shared_segments(genealogy, rng, genetic_map)
        haps = None if panel is None else haplotypes(segments, panel, rng)[0]
        found.append(CarrierData(r, genealogy.age, genealogy.tmrca, segments, haps, panel))
    if not found:
        raise PopsimError(
            f"no replicate of {result.replicates} has {carriers} copies of the founder allele "
            f"in deme {deme!r} at the present (largest: {int(present.max(initial=0))}); "
            "run more replicates or sample fewer carriers"
        )
    return found
