"""``locus.penetrance``: patients = penetrance × affected genotypes, the rest unchanged.

A seeded run with penetrance 0.4 is the run with penetrance 1 (the engines never see
it: selection stays on genotypes), its prevalence (patients) is exactly 0.4 times as
large, its genotype frequencies and patient shares are the same, and an
``[[observed]]`` prevalence is reached by patients, not by affected genotypes.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from popsim.errors import ConfigError
from popsim.model.build import scenario_from_dict
from popsim.simulate import simulate

PENETRANCE = 0.4
OBSERVED = 2e-3
CONFIG = {
    "scenario": {"name": "penetrance", "generations": 30, "replicates": 200, "seed": 7},
    "demes": [{"name": "pop", "size": 2000, "inbreeding": 0.02}],
    "locus": {
        "pathogenic_mutation_rate": 1e-4,
        "selection": {"affected": 0.1},
        "founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.03}],
    },
    "observed": [{"statistic": "prevalence", "deme": "pop", "value": OBSERVED}],
}
#: Statistics that are genotype frequencies or shares: penetrance leaves them as they are.
GENOTYPES = (
    "affected_genotypes", "founder_homozygotes", "other_homozygotes", "compound_heterozygotes",
    "carrier_frequency", "share_founder_homozygotes", "share_compound_heterozygotes",
)


def with_penetrance(value: object) -> dict:
    raw = copy.deepcopy(CONFIG)
    raw["locus"]["penetrance"] = value
    return raw


@pytest.fixture(scope="module")
def pair():
    full = simulate(scenario_from_dict(CONFIG))
    return full, simulate(scenario_from_dict(with_penetrance(PENETRANCE)))


def test_default_penetrance_is_one():
    assert scenario_from_dict(CONFIG).locus.penetrance == 1.0


def test_prevalence_scales_exactly_by_the_penetrance(pair):
    full, partial = pair
    assert np.array_equal(full.records, partial.records)  # selection stays on genotypes
    a, b = full.statistics, partial.statistics
    assert np.array_equal(a["prevalence"], a["affected_genotypes"], equal_nan=True)
    assert np.array_equal(b["prevalence"], PENETRANCE * a["prevalence"], equal_nan=True)
    assert np.nanmax(b["prevalence"]) > 0
    for name in GENOTYPES:
        assert np.array_equal(a[name], b[name], equal_nan=True), name


def test_observed_prevalence_compares_patients(pair):
    full, partial = pair
    rows = {r["statistic"]: r for r in partial.summary_rows()}
    patients = partial.final_statistics["prevalence"][:, 0]
    genotypes = partial.final_statistics["affected_genotypes"][:, 0]
    reach = rows["p_reach_observed_prevalence"]["mean"]
    assert reach == np.mean(patients >= OBSERVED)
    # the test can fail: patients and affected genotypes reach the value in different runs
    assert reach != np.mean(genotypes >= OBSERVED)
    full_rows = {r["statistic"]: r for r in full.summary_rows()}
    assert rows["prevalence"]["mean"] == pytest.approx(PENETRANCE * full_rows["prevalence"]["mean"])
    for name in ("share_founder_homozygotes", "founder_homozygotes"):
        np.testing.assert_equal(rows[name], full_rows[name])


@pytest.mark.parametrize(
    "value, allowed",
    [(0, "must be in (0, 1]"), (1.2, "must be in (0, 1]"), ("high", "must be a number")],
)
def test_penetrance_outside_zero_one_is_refused(value, allowed):
    with pytest.raises(ConfigError) as error:
        scenario_from_dict(with_penetrance(value))
    assert error.value.key == "locus.penetrance"
    assert error.value.allowed == allowed
    assert error.value.value == value


def test_pedigree_observed_prevalence_counts_patients():
    """The pedigree engine's individuals are the same; its observed prevalence is
    penetrance × the observed affected individuals per person."""
    raw = {
        "scenario": {"name": "pedigree", "generations": 8, "replicates": 4, "seed": 2,
                     "engine": "pedigree"},
        "demes": [{"name": "pop", "size": 400, "first_cousin_marriage": 0.2}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.15}]},
    }
    full = simulate(scenario_from_dict(raw))
    raw["locus"]["penetrance"] = PENETRANCE
    partial = simulate(scenario_from_dict(raw))
    assert np.array_equal(full.observed, partial.observed)
    a, b = full.statistics, partial.statistics
    assert np.nanmax(a["observed_prevalence"]) > 0
    assert np.array_equal(
        b["observed_prevalence"], PENETRANCE * a["observed_prevalence"], equal_nan=True
    )
    assert np.array_equal(
        b["observed_founder_homozygotes"], a["observed_founder_homozygotes"], equal_nan=True
    )
