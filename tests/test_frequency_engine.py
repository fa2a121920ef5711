"""The frequency engine against exact Wright–Fisher results and the model's semantics.

Statistical tests use fixed seeds, so each is deterministic; the significance
level α is stated where a test is made. With α = 0.001 a correct engine fails
a given check for one seed in a thousand, which we would see and investigate.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from popsim import scenario_from_dict, simulate
from popsim.analysis.theory import migration_moments, wf_count_distribution
from popsim.engines.frequency import simulate_frequency
from popsim.engines.layout import CAPACITY, NO_NORMAL_COPIES, OK
from popsim.errors import SimulationError
from popsim.model.plan import compile_plan
from popsim.workflows.validation.stats import chi_square_gof

ALPHA = 0.001


def pathogenic_counts(result) -> np.ndarray:
    """Total pathogenic copies (founder + mutation-born) at the final generation, deme 0."""
    final = result.final_counts[:, 0, :]
    return final[:, 1:].sum(axis=1)


@pytest.mark.parametrize(
    ("n", "t", "k0", "u", "s", "h", "a", "F"),
    [
        (10, 6, 4, 0.0, 0.3, 0.4, 0.05, 0.2),  # selection, dominance, advantage and F
        (8, 5, 3, 0.02, 0.5, 0.0, 0.0, 0.0),  # recurrent mutation into new alleles
        (6, 4, 6, 0.01, 0.2, 1.0, 0.0, 0.6),  # strong inbreeding, additive-like h
    ],
)
def test_matches_exact_markov_chain(make_scenario, n, t, k0, u, s, h, a, F):
    """Chi-square (α = 0.001) of the pathogenic count after t generations against
    the exact WF transition matrix, 20,000 replicates."""
    scenario = make_scenario(
        **{
            "scenario.generations": t,
            "demes.pop.size": n,
            "demes.pop.inbreeding": F,
            "locus.pathogenic_mutation_rate": u,
            "locus.selection": {
                "affected": s,
                "carrier_dominance": h,
                "heterozygote_advantage": a,
            },
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": k0}],
        }
    )
    result = simulate(scenario, replicates=20_000, seed=11)
    observed = np.bincount(pathogenic_counts(result), minlength=2 * n + 1)
    exact = wf_count_distribution(n, t, k0, u=u, s=s, h=h, a=a, F=F)
    assert chi_square_gof(observed, exact).p_value > ALPHA


def test_neutral_mean_and_heterozygosity_decay(make_scenario):
    """E[p_t] = p_0 and E[2p(1−p)] = H_0 (1 − 1/2N)^t; z-tests at α = 0.001 (two-sided)."""
    n, t, k0, reps = 50, 40, 30, 20_000
    scenario = make_scenario(
        **{
            "scenario.generations": t,
            "demes.pop.size": n,
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": k0}],
        }
    )
    result = simulate(scenario, replicates=reps, seed=3)
    p = result.statistics["founder_frequency"][:, -1, 0]
    p0 = k0 / (2 * n)
    z_mean = (p.mean() - p0) / (p.std(ddof=1) / np.sqrt(reps))
    het = 2 * p * (1 - p)
    expected_het = 2 * p0 * (1 - p0) * (1 - 1 / (2 * n)) ** t
    z_het = (het.mean() - expected_het) / (het.std(ddof=1) / np.sqrt(reps))
    z_crit = stats.norm.ppf(1 - ALPHA / 2)
    assert abs(z_mean) < z_crit
    assert abs(z_het) < z_crit


def test_two_deme_migration_second_moments(make_scenario):
    """E[p_i] and E[p_i p_j] after t generations of neutral drift and migration
    against the exact moment recursion; z-tests at α = 0.001 with Bonferroni over 5."""
    raw = {
        "scenario": {"name": "two demes", "generations": 15},
        "demes": [{"name": "a", "size": 30}, {"name": "b", "size": 10}],
        "migration": [
            {"source": "b", "dest": "a", "rate": 0.1},
            {"source": "a", "dest": "b", "rate": 0.05},
        ],
        "locus": {"founder_alleles": [{"name": "f", "deme": "a", "copies": 30}]},
    }
    scenario = make_scenario(raw)
    reps = 20_000
    result = simulate(scenario, replicates=reps, seed=5)
    x = result.statistics["founder_frequency"][:, -1, :]
    M = np.array([[0.9, 0.1], [0.05, 0.95]])
    mean, second = migration_moments(np.array([0.5, 0.0]), np.array([30, 10]), M, 15)
    z_crit = stats.norm.ppf(1 - ALPHA / (2 * 5))
    samples = {
        "E[p_a]": (x[:, 0], mean[-1, 0]),
        "E[p_b]": (x[:, 1], mean[-1, 1]),
        "E[p_a²]": (x[:, 0] ** 2, second[-1, 0, 0]),
        "E[p_b²]": (x[:, 1] ** 2, second[-1, 1, 1]),
        "E[p_a p_b]": (x[:, 0] * x[:, 1], second[-1, 0, 1]),
    }
    for name, (values, expected) in samples.items():
        z = (values.mean() - expected) / (values.std(ddof=1) / np.sqrt(reps))
        assert abs(z) < z_crit, (name, values.mean(), expected)


def test_founder_copies_are_exact_and_present_in_their_generation(make_scenario):
    scenario = make_scenario(
        **{
            "scenario.generations": 5,
            "scenario.record_every": 1,
            "demes.pop.size": 100,
            "locus.founder_alleles": [
                {"name": "f", "deme": "pop", "copies": 7, "generation": 2},
            ],
        }
    )
    result = simulate(scenario, replicates=50, seed=1)
    founder = result.records[:, :, 0, 2]
    assert np.all(founder[:, :2] == 0)
    assert np.all(founder[:, 2] == 7)


def test_frequency_means_rounded_copies_and_same_name_is_one_allele(make_scenario):
    raw = {
        "scenario": {"name": "x", "generations": 0},
        "demes": [{"name": "a", "size": 100}, {"name": "b", "size": 40}],
        "locus": {
            "founder_alleles": [
                {"name": "f", "deme": "a", "frequency": 0.0126},  # round(0.0126·200) = 3
                {"name": "f", "deme": "b", "copies": 2},
            ]
        },
    }
    result = simulate(make_scenario(raw), replicates=3, seed=1)
    assert result.allele_names == ("normal", "f", "other")
    assert result.final_counts[0].tolist() == [[197, 3, 0], [78, 2, 0]]


def test_zero_generations_reports_the_initial_state(make_scenario):
    scenario = make_scenario(**{"scenario.generations": 0})
    result = simulate(scenario, replicates=4, seed=1)
    assert result.records.shape[1] == 1
    assert np.all(result.final_counts[:, 0, 0] == 40)


def test_founded_deme_is_empty_before_and_full_migration_copies_source(make_scenario):
    raw = {
        "scenario": {"name": "x", "generations": 4},
        "demes": [
            {"name": "host", "size": 1000},
            {
                "name": "new",
                "size": 50,
                "founded": {"generation": 2, "from": "host", "founders": 5},
            },
        ],
        "locus": {"founder_alleles": [{"name": "f", "deme": "host", "frequency": 1.0}]},
    }
    result = simulate(make_scenario(raw), replicates=5, seed=1)
    sizes = result.sizes[:, :, 1]
    assert sizes[0].tolist() == [0, 0, 5, 50, 50]
    # the host is all founder allele, so the founded deme is too
    assert np.all(result.records[:, 2:, 1, 2] == 2 * sizes[:, 2:])


def test_capacity_error_names_the_setting(make_scenario):
    scenario = make_scenario(
        **{
            "demes.pop.size": 1000,
            "locus.pathogenic_mutation_rate": 0.05,
            "locus.max_alleles": 4,
        }
    )
    with pytest.raises(SimulationError, match=r"locus\.max_alleles = 4"):
        simulate(scenario, replicates=2, seed=1)


def test_large_population_without_overflow(make_scenario):
    """N = 10⁹: exact binomial drift keeps counts within 2N and frequencies near p0."""
    scenario = make_scenario(
        **{
            "scenario.generations": 20,
            "demes.pop.size": 10**9,
            "locus.pathogenic_mutation_rate": 1e-9,
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.05}],
        }
    )
    result = simulate(scenario, replicates=20, seed=1)
    final = result.final_counts
    assert np.all(final.sum(axis=-1) == 2 * 10**9)
    p = result.statistics["founder_frequency"][:, -1, 0]
    # drift SD after 20 generations ≈ sqrt(20·p(1−p)/2N) ≈ 2.2e-5
    assert np.all(np.abs(p - 0.05) < 2e-4)


THREAD_SCRIPT = """
import hashlib, sys
import popsim
from tests.conftest import one_deme
raw = one_deme(**{"demes.pop.size": 200, "scenario.generations": 30,
                  "locus.pathogenic_mutation_rate": 1e-3,
                  "locus.selection": {"affected": 0.2},
                  "locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": 20}]})
result = popsim.simulate(popsim.scenario_from_dict(raw), replicates=500, seed=9, chunk=77)
print(hashlib.sha256(result.records.tobytes()).hexdigest())
"""


def test_identical_results_on_any_thread_count_and_threading_layer(layouts_agree):
    """One thread, two on TBB (dynamic: a thread takes whichever iteration is next)
    and two on workqueue (a fixed share each) give the same numbers."""
    layouts_agree(THREAD_SCRIPT)


def test_lanes_change_no_result():
    """Replicates stepped side by side (lanes) give what each gives alone: two demes
    with migration both ways, founders at three steps (one without enough normal
    copies in some replicates), many mutation-born alleles, some replicates out of
    allele slots, on groups of 1 (one replicate at a time), 7 and 64 lanes."""
    raw = {
        "scenario": {"name": "lanes", "generations": 40, "replicates": 1},
        "demes": [{"name": "a", "size": 60}, {"name": "b", "size": 40, "inbreeding": 0.1}],
        "migration": [{"source": "a", "dest": "b", "rate": 0.2},
                      {"source": "b", "dest": "a", "rate": 0.05}],
        "locus": {
            "pathogenic_mutation_rate": 0.01,
            "max_alleles": 12,
            "selection": {"affected": 0.3, "carrier_dominance": 0.2},
            "founder_alleles": [
                {"name": "F1", "deme": "a", "copies": 3, "generation": 0},
                {"name": "F2", "deme": "b", "copies": 30, "generation": 10},
                {"name": "F3", "deme": "b", "copies": 65, "generation": 20},
            ],
        },
    }
    plan = compile_plan(scenario_from_dict(raw))
    seeds = np.arange(1, 301, dtype=np.uint64) * np.uint64(7919)
    alone = simulate_frequency(plan, seeds, lanes=1)
    codes = set(alone.status_column("code").tolist())
    assert {OK, CAPACITY, NO_NORMAL_COPIES} <= codes, codes
    for lanes in (7, 64):
        side_by_side = simulate_frequency(plan, seeds, lanes=lanes)
        np.testing.assert_array_equal(side_by_side.records, alone.records)
        np.testing.assert_array_equal(side_by_side.status, alone.status)


def test_replicate_index_reruns_one_replicate(make_scenario):
    scenario = make_scenario(
        **{"locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": 5}]}
    )
    full = simulate(scenario, replicates=30, seed=4)
    one = simulate(scenario, replicates=1, seed=4, first_replicate=17)
    np.testing.assert_array_equal(one.records[0], full.records[17])


def test_replicate_seeds_are_64_bit_words_of_the_seed_sequence():
    """Seed rule 2: replicate r of point k gets word r of SeedSequence(seed,
    spawn_key=(k,)).generate_state(·, uint64); any replicate alone gets its word."""
    from popsim.engines.rng import SEED_RULE_VERSION, replicate_seeds

    assert SEED_RULE_VERSION == 2
    full = np.random.SeedSequence(7, spawn_key=(3,)).generate_state(2000, np.uint64)
    seeds = replicate_seeds(7, 2000, point=3)
    assert seeds.dtype == np.uint64
    np.testing.assert_array_equal(seeds, full)
    for r in (0, 1, 17, 1999):
        one = replicate_seeds(7, 1, 3, first=r)
        assert one.dtype == np.uint64 and one.tolist() == [full[r]]
    np.testing.assert_array_equal(replicate_seeds(7, 500, point=3, first=1500), full[1500:])
    assert (seeds >= 2**32).mean() > 0.99  # the upper 32 bits are used
    assert not np.isin(replicate_seeds(7, 2000, point=4), seeds).any()


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_engines_use_every_bit_of_a_seed(engine):
    """Seeds that differ only above bit 31 give different replicates (a kernel that
    cut seeds to 32 bits would give two equal ones); equal seeds, equal replicates."""
    from popsim.engines.pedigree import simulate_pedigree

    raw = {
        "scenario": {"name": "bits", "generations": 5, "engine": engine},
        "demes": [{"name": "pop", "size": 400}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.3}]},
    }
    plan = compile_plan(scenario_from_dict(raw))
    seed = 2**40 + 12345
    seeds = np.array([seed, seed + 2**32, seed], dtype=np.uint64)
    run = simulate_frequency if engine == "frequency" else simulate_pedigree
    records = run(plan, seeds).records
    assert not np.array_equal(records[0], records[1])
    np.testing.assert_array_equal(records[0], records[2])
