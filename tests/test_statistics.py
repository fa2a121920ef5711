"""The statistics registry: entries, the founder-allele carrier frequency added as one entry
(and seen in every output), and model quantities that the report reads from the result."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from popsim.cli import main
from popsim.engines.layout import OBSERVED_FIELDS
from popsim.genetics.statistics import BY_NAME, DISPLAY_SCALE, REGISTRY, observable_names
from popsim.model.build import scenario_from_dict
from popsim.model.config import OBSERVABLE_STATISTICS
from popsim.simulate import simulate
from popsim.workflows.compare import Entry, run_comparison
from popsim.workflows.fit.observed import STATISTICS as FIT_STATISTICS
from popsim.workflows.sweep import load_sweep, run_sweep

TWO_FOUNDERS = {
    "scenario": {"name": "two founders", "generations": 6, "replicates": 30, "seed": 4},
    "demes": [{"name": "pop", "size": 300, "inbreeding": 0.03}],
    "locus": {
        "pathogenic_mutation_rate": 1e-4,
        "founder_alleles": [
            {"name": "a", "deme": "pop", "frequency": 0.05},
            {"name": "b", "deme": "pop", "frequency": 0.02},
        ],
    },
    "observed": [{"statistic": "founder_carrier_frequency", "deme": "pop", "value": 0.08}],
}


def test_registry_entries_are_consistent():
    names = [s.name for s in REGISTRY]
    assert len(names) == len(set(names))
    for entry in REGISTRY:
        assert entry.display in DISPLAY_SCALE and entry.label and entry.unit
        if entry.pooled is not None:
            assert set(entry.pooled) <= set(names)
        assert not (entry.pedigree_only and entry.observable)
    assert observable_names() == OBSERVABLE_STATISTICS
    assert set(observable_names()) < set(FIT_STATISTICS)
    assert "founder_carrier_frequency" in OBSERVABLE_STATISTICS


def test_founder_carrier_frequency_is_two_p0_pf_times_one_minus_f():
    result = simulate(scenario_from_dict(TWO_FOUNDERS))
    stats = result.final_statistics
    counts = result.final_counts[:, 0].astype(float)  # normal, a, b, other
    freq = counts / counts.sum(-1, keepdims=True)
    f = 0.03
    expected = 2 * freq[:, 0] * (freq[:, 1] + freq[:, 2]) * (1 - f)
    np.testing.assert_allclose(stats["founder_carrier_frequency"][:, 0], expected, rtol=1e-12)
    for j, name in enumerate(("a", "b"), start=1):
        one = stats[f"founder_carrier_frequency_{name}"][:, 0]
        np.testing.assert_allclose(one, 2 * freq[:, 0] * freq[:, j] * (1 - f), rtol=1e-12)
    # the founder alleles' carriers are a part of all carriers of a pathogenic allele
    assert (stats["founder_carrier_frequency"] <= stats["carrier_frequency"] + 1e-15).all()
    assert (expected > 0).any()


def _summary_statistics(path: Path) -> set[str]:
    with path.open() as handle:
        return {row["statistic"] for row in csv.DictReader(handle)}


def test_new_statistic_in_summary_terminal_table_and_observations(tmp_path, capsys):
    config = tmp_path / "two.toml"
    config.write_text(
        """
[scenario]
name = "two founders"
generations = 6
replicates = 20
seed = 4

[[demes]]
name = "pop"
size = 300
inbreeding = 0.03

[[locus.founder_alleles]]
name = "a"
deme = "pop"
frequency = 0.05

[[locus.founder_alleles]]
name = "b"
deme = "pop"
frequency = 0.02

[[observed]]
statistic = "founder_carrier_frequency"
value = 0.08
deme = "pop"
"""
    )
    out = tmp_path / "run"
    assert main(["run", str(config), "--out", str(out), "--no-figures"]) == 0
    printed = capsys.readouterr().out
    line = next(row for row in printed.splitlines() if row.startswith("founder-allele carrier"))
    assert "[" in line  # a mean with its interval
    assert "P(≥ observed founder_carrier_frequency)" in printed
    names = _summary_statistics(out / "summary.csv")
    assert {
        "founder_carrier_frequency",
        "founder_carrier_frequency_a",
        "founder_carrier_frequency_b",
        "p_reach_observed_founder_carrier_frequency",
    } <= names
    with (out / "final.csv").open() as handle:
        assert "founder_carrier_frequency" in next(csv.reader(handle))


def test_new_statistic_in_comparison_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    status = main(
        ["compare", "iranian_jewish_m712t", "--replicates", "3",
         "--set", "scenario.burn_in=0", "--out", str(out)]
    )
    assert status == 0
    assert "founder-allele carrier frequency" in capsys.readouterr().out
    for name in ("report.md", "report.html"):
        assert "founder-allele carrier frequency" in (out / name).read_text(encoding="utf-8")
    assert "founder_carrier_frequency" in _summary_statistics(out / "comparison.csv")


SWEEP_BASE = """
[scenario]
name = "toy"
generations = 5
replicates = 10
seed = 2

[[demes]]
name = "iso"
size = 200
inbreeding = 0.01

[[locus.founder_alleles]]
name = "M712T"
deme = "iso"
copies = 4
"""
SWEEP = """
[sweep]
base = "base.toml"
replicates = 10
seed = 3

[[parameters]]
key = "demes.iso.inbreeding"
values = [0.0, 0.05]
"""


def test_new_statistic_in_sweep_results(tmp_path):
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    outcome = run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "out", executor="serial")
    table = outcome.table
    for column in ("mean", "q025", "q975"):
        assert f"founder_carrier_frequency_{column}" in table.columns
    assert (table["founder_carrier_frequency_mean"] > 0).any()


PEDIGREE = {
    "scenario": {"name": "cousins", "generations": 6, "engine": "pedigree", "replicates": 4,
                 "seed": 5},
    "demes": [{"name": "pop", "size": 2000, "first_cousin_marriage": 0.5}],
    "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.1}]},
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_report_shows_the_measured_pedigree_inbreeding(tmp_path):
    scenario = scenario_from_dict(PEDIGREE)
    assert scenario.demes[0].inbreeding == 0.0  # the config gives no F
    comparison = run_comparison([Entry("cousins", scenario)])
    result = comparison.results[0]
    measured = result.observed[:, -1, 0, OBSERVED_FIELDS.index("mean_pedigree_inbreeding")]
    assert measured.mean() > 0.01
    population = comparison.populations()[0]
    assert population.inbreeding == pytest.approx(measured.mean(), rel=1e-12)
    assert result.final_inbreeding(0) == population.inbreeding
    comparison.write(tmp_path / "out")
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"(F = {population.inbreeding:g})" in report
    assert f"| {population.inbreeding:.3g} |" in report  # the scenario's deme table
    # the inbreeding part of founder homozygotes comes from the result, p_f·F per replicate
    stats = result.final_statistics
    by_descent = stats["founder_homozygotes_by_descent"][:, 0]
    np.testing.assert_allclose(by_descent, stats["founder_frequency"][:, 0] * measured)
    summary = comparison.summary().set_index("statistic")
    per_100k = summary.loc["founder_homozygotes_by_descent_per_100k", "mean"]
    assert per_100k == pytest.approx(by_descent.mean() * 1e5)


def test_pooled_shares_are_registry_driven():
    pooled = [s.name for s in REGISTRY if s.pooled is not None]
    assert pooled == [
        "share_founder_homozygotes",
        "share_other_homozygotes",
        "share_compound_heterozygotes",
    ]
    assert BY_NAME["founder_lost"].summary_name == "p_founder_lost"
    assert BY_NAME["prevalence"].shown_name == "prevalence_per_100k"
