"""Numeric edge cases (issue 7): each gives a correct result or a clear error, never NaN
where a value is defined; and Ctrl-C during `popsim run` stops cleanly, writing nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from popsim import simulate
from popsim.errors import SimulationError

DEFINED = (
    "founder_frequency",
    "pathogenic_frequency",
    "carrier_frequency",
    "prevalence",
    "founder_homozygotes",
    "other_homozygotes",
    "compound_heterozygotes",
)


def assert_finite(result):
    for name in DEFINED:
        values = result.statistics[name]
        present = result.sizes > 0
        assert np.all(np.isfinite(values[present])), name
    summary = result.summary()
    defined = summary[summary.statistic.isin(DEFINED)]
    assert np.all(np.isfinite(defined["mean"])), defined


def test_single_individual(make_scenario):
    """N = 1: two gene copies; the founder allele fixes or is lost within a few generations."""
    scenario = make_scenario(
        **{
            "demes.pop.size": 1,
            "scenario.generations": 30,
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": 1}],
        }
    )
    result = simulate(scenario, replicates=2000, seed=1)
    final = result.final_counts[:, 0, 1]
    assert set(np.unique(final)) <= {0, 1, 2}
    # neutral: P(fixed) = 1/2; binomial SD for 2000 replicates is 0.011 (4 SD = 0.045)
    assert abs((final == 2).mean() - 0.5) < 0.045
    assert_finite(result)


def test_lethal_recessive_purges_homozygotes(make_scenario):
    """s = 1: affected zygotes never survive, so no affected individual reproduces."""
    scenario = make_scenario(
        **{
            "demes.pop.size": 500,
            "scenario.generations": 20,
            "locus.selection": {"affected": 1.0},
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.3}],
        }
    )
    result = simulate(scenario, replicates=200, seed=2)
    q = result.statistics["founder_frequency"][:, :, 0]
    # deterministic recursion for a recessive lethal: q' = q/(1+q); 20 generations from 0.3
    expected = 0.3
    for _ in range(20):
        expected = expected / (1 + expected)
    assert q[:, -1].mean() == pytest.approx(expected, rel=0.1)
    assert_finite(result)


def test_all_copies_pathogenic_and_lethal_is_a_clear_error(make_scenario):
    scenario = make_scenario(
        **{
            "demes.pop.size": 10,
            "locus.selection": {"affected": 1.0},
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "frequency": 1.0}],
        }
    )
    with pytest.raises(SimulationError, match="cannot reproduce"):
        simulate(scenario, replicates=3, seed=1)


def test_near_complete_inbreeding(make_scenario):
    """F → 1: almost all zygotes homozygous; prevalence ≈ q."""
    scenario = make_scenario(
        **{
            "demes.pop.size": 1000,
            "demes.pop.inbreeding": 0.999999,
            "scenario.generations": 3,
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.1}],
        }
    )
    result = simulate(scenario, replicates=50, seed=3)
    stats = result.statistics
    np.testing.assert_allclose(
        stats["prevalence"][:, -1, 0], stats["pathogenic_frequency"][:, -1, 0], rtol=1e-4
    )
    assert_finite(result)


def test_fixed_founder_allele_stays_fixed(make_scenario):
    scenario = make_scenario(
        **{
            "demes.pop.size": 100,
            "locus.selection": {"affected": 0.5},
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "frequency": 1.0}],
        }
    )
    result = simulate(scenario, replicates=20, seed=4)
    assert np.all(result.final_counts[:, 0, 1] == 200)
    assert np.all(result.statistics["carrier_frequency"][:, -1, 0] == 0)
    assert_finite(result)


def test_complete_migration_replaces_the_deme(make_scenario):
    raw = {
        "scenario": {"name": "x", "generations": 3},
        "demes": [{"name": "a", "size": 50}, {"name": "b", "size": 50}],
        "migration": [{"source": "a", "dest": "b", "rate": 1.0}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "a", "frequency": 1.0}]},
    }
    result = simulate(make_scenario(raw), replicates=10, seed=5)
    assert np.all(result.final_counts[:, 1, 1] == 100)


def test_founder_lost_in_generation_one_is_reported_as_lost(make_scenario):
    scenario = make_scenario(
        **{
            "demes.pop.size": 1000,
            "scenario.generations": 5,
            "locus.selection": {"affected": 0.0},
            "locus.founder_alleles": [{"name": "f", "deme": "pop", "copies": 1}],
        }
    )
    result = simulate(scenario, replicates=1000, seed=6)
    lost_first = result.records[:, 1, 0, 2] == 0
    assert lost_first.any()
    lost = result.summary().set_index("statistic").loc["p_founder_lost", "mean"]
    assert lost >= lost_first.mean()
    assert_finite(result)


CONFIG = """
[scenario]
name = "long"
generations = 200000
replicates = 50000
record_every = 100000

[[demes]]
name = "pop"
size = 1000000

[locus]
pathogenic_mutation_rate = 1e-5
max_alleles = 100000
"""


def test_ctrl_c_stops_a_run_cleanly(tmp_path: Path):
    config = tmp_path / "long.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "popsim", "run", str(config), "--out", str(out)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NUMBA_NUM_THREADS": "1"},
    )
    time.sleep(6)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_final_statistics_are_the_last_record_of_statistics(make_scenario, engine):
    """Final-generation statistics computed alone equal the last record of the full ones
    (every statistic is elementwise per record), whichever is asked for first."""
    scenario = make_scenario(
        scenario__record_every=1,
        locus__pathogenic_mutation_rate=0.01,
        locus__founder_alleles=[
            {"name": "A", "deme": "pop", "generation": 0, "copies": 4},
            {"name": "B", "deme": "pop", "generation": 0, "copies": 3},
        ],
    )
    first = simulate(scenario, engine=engine, replicates=30)
    final = first.final_statistics  # computed alone
    full = first.statistics
    again = simulate(scenario, engine=engine, replicates=30)
    full_first = again.statistics
    assert set(final) == set(full)
    assert ("observed_prevalence" in full) == (engine == "pedigree")
    for name, values in full.items():
        assert values.shape[1] == 11
        np.testing.assert_array_equal(final[name], values[:, -1])
        np.testing.assert_array_equal(again.final_statistics[name], full_first[name][:, -1])
