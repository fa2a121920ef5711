"""popsim compare: replicate/seed policy, matching columns, written files, report text."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest

from popsim.cli import main
from popsim.model.build import scenario_from_dict
from popsim.model.scenario import Observation
from popsim.simulate import simulate
from popsim.workflows.compare import Entry, Population, run_comparison, unique_ids
from popsim.workflows.compare.report import findings

FOUNDED = {
    "scenario": {"name": "founded", "generations": 8, "replicates": 30, "seed": 5, "burn_in": 20},
    "demes": [
        {"name": "host", "label": "host", "size": 2000},
        {
            "name": "isolate",
            "label": "isolate",
            "size": {"start": 10, "end": 400, "growth": "exponential"},
            "founded": {"generation": 0, "from": "host", "founders": 10},
            "inbreeding": 0.02,
        },
    ],
    "locus": {
        "pathogenic_mutation_rate": 1e-4,
        "selection": {"affected": 0.1},
        "founder_alleles": [{"name": "F1", "deme": "isolate", "generation": 0, "copies": 1}],
    },
    "observed": [{"statistic": "carrier_frequency", "deme": "isolate", "value": 0.05}],
}
OUTBRED = {
    "scenario": {"name": "outbred", "generations": 8, "replicates": 20, "seed": 9, "burn_in": 20},
    "demes": [{"name": "big", "label": "big", "size": 3000}],
    "locus": {"pathogenic_mutation_rate": 1e-4, "selection": {"affected": 0.1}},
}


@pytest.fixture(scope="module")
def comparison():
    entries = [
        Entry("founded", scenario_from_dict(FOUNDED)),
        Entry("outbred", scenario_from_dict(OUTBRED)),
    ]
    return run_comparison(entries)


def test_policy_is_one_replicate_count_and_the_first_seed(comparison):
    assert comparison.replicates == 20  # the smaller of 30 and 20
    assert comparison.seed == 5  # the first scenario's seed
    for entry, result in zip(comparison.entries, comparison.results, strict=True):
        alone = simulate(entry.scenario, 20, 5)
        np.testing.assert_array_equal(result.records, alone.records)


def test_columns_cover_every_deme_and_a_matching_column(comparison):
    labels = [p.label for p in comparison.populations()]
    assert labels == ["host", "isolate", "isolate (matching)", "big"]
    host, isolate, matched, big = comparison.populations()
    assert host.founders == () and big.founders == ()  # no founder allele enters them
    assert isolate.founders == ("F1",) and matched.matched


def test_matching_column_keeps_replicates_within_tolerance(comparison):
    result = comparison.results[0]
    carriers = result.statistics["carrier_frequency"][:, -1, 1]
    expected = np.abs(carriers - 0.05) <= 0.5 * 0.05
    summary = comparison.summary().set_index(["population", "statistic"])["mean"]
    assert summary[("isolate (matching)", "replicates")] == expected.sum()
    assert summary[("isolate", "replicates")] == 20


def test_summary_rescales_and_blanks_founder_rows(comparison):
    summary = comparison.summary().set_index(["population", "statistic"])
    isolate = summary.loc["isolate"]
    assert isolate.loc["prevalence_per_100k", "mean"] == pytest.approx(
        1e5 * isolate.loc["prevalence", "mean"]
    )
    shares = [
        f"share_{c}_percent"
        for c in ("founder_homozygotes", "other_homozygotes", "compound_heterozygotes")
    ]
    assert isolate.loc[shares, "mean"].sum() == pytest.approx(100.0)
    assert np.isnan(summary.loc[("big", "founder_frequency"), "mean"])


def test_unique_ids():
    assert unique_ids(["a", "b", "a", "a"]) == ["a", "b", "a-2", "a-3"]


def test_compare_cli_writes_every_file(tmp_path, capsys):
    out = tmp_path / "cmp"
    status = main(
        [
            "compare",
            "iranian_jewish_m712t",
            "outbred_reference",
            "--replicates",
            "3",
            "--set",
            "scenario.burn_in=200",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "persian jews" in printed.lower() and "outbred" in printed.lower()  # deme labels
    assert "% of patients: compound heterozygotes" in printed
    for name in (
        "comparison.csv",
        "trajectories.csv",
        "manifest.json",
        "report.md",
        "report.html",
        "figures/patient_genotypes.png",
        "figures/allele_frequencies.png",
        "figures/carrier_frequency.png",
    ):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "comparison.csv")
    assert {"persian_jews", "outbred"} <= set(table["deme"])  # ids; "population" has labels
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3 and 'src="figures/' not in page
    assert "Argov" in page  # the scenarios' citations are shown
    assert "](figures/patient_genotypes.png)" in (out / "report.md").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["compare"]["replicates"] == 3 and manifest["compare"]["seed"] == 1


def test_compare_cli_scoped_override(capsys):
    status = main(
        [
            "compare",
            "outbred_reference",
            "japanese_two_founders",
            "--replicates",
            "2",
            "--generations",
            "2",
            "--set",
            "scenario.burn_in=0",
            "--set",
            "japanese_two_founders:demes.japan.inbreeding=0.5",
        ]
    )
    assert status == 0
    capsys.readouterr()
    assert main(["compare", "outbred_reference", "--set", "nope:scenario.seed=2"]) == 2
    assert "'nope' is not a compared scenario" in capsys.readouterr().err


def test_set_without_an_id_that_fails_on_one_scenario_names_the_id_form(capsys):
    """A plain --set reaches every scenario; where one lacks the key, say how to scope it."""
    words = ["compare", "iranian_jewish_m712t", "outbred_reference", "--replicates", "2"]
    assert main([*words, "--set", "demes.persian_jews.inbreeding=0.03"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "demes.persian_jews: no entry with that name or index" in err
    assert "scenario 'outbred_reference'" in err
    assert "--set ID:KEY=VALUE" in err
    assert "--set iranian_jewish_m712t:demes.persian_jews.inbreeding=0.03" in err


# --------------------------------------------------------------------------- findings text


def synthetic(label: str, **values: float) -> pd.DataFrame:
    """A comparison summary for one population: statistic → mean (q025/q975 = mean ∓ 2)."""
    rows = [
        {
            "population": label,
            "statistic": name,
            "mean": value,
            "q025": value - 2,
            "median": value,
            "q975": value + 2,
        }
        for name, value in values.items()
    ]
    return pd.DataFrame(rows)


def population(label: str, founders: tuple[str, ...], observed: bool = False) -> Population:
    observations = (
        (Observation("carrier_frequency", 1 / 11, label, "a survey"),) if observed else ()
    )
    return Population(
        label, f"{label}_id", f"{label} scenario", label, founders, 0.02, observations, 1000
    )


ISOLATE = dict(
    share_founder_homozygotes_percent=97.0,
    share_founder_homozygotes_per_history_percent=90.0,
    share_other_homozygotes_percent=1.0,
    share_compound_heterozygotes_percent=2.0,
    prevalence_per_100k=200.0,
    founder_frequency=0.045,
    other_frequency=0.002,
    other_alleles=2.0,
    pathogenic_frequency=0.047,
    founder_homozygotes_per_100k=194.0,
    compound_heterozygotes_per_100k=4.0,
    p_reach_observed_carrier_frequency=0.15,
)
OUTBRED_NUMBERS = dict(
    share_founder_homozygotes_percent=np.nan,
    share_other_homozygotes_percent=15.0,
    share_compound_heterozygotes_percent=85.0,
    prevalence_per_100k=1.0,
    founder_frequency=np.nan,
    other_frequency=0.003,
    other_alleles=30.0,
    pathogenic_frequency=0.003,
    founder_homozygotes_per_100k=np.nan,
    compound_heterozygotes_per_100k=0.85,
)


def test_findings_are_written_from_the_numbers():
    summary = pd.concat([synthetic("isolate", **ISOLATE), synthetic("outbred", **OUTBRED_NUMBERS)])
    pops = [population("isolate", ("M712T",), observed=True), population("outbred", ())]
    text = findings(summary, pops, 0.5)
    assert len(text) == 3
    assert "200 times as frequent in isolate as in outbred" in text[0]
    assert "97% of simulated patients are M712T homozygotes" in text[1]
    assert "pooled over the 1000 simulated histories, bootstrap 95% interval 95%–99%" in text[1]
    assert "across histories, 95% of those with patients lie within 88%–92%" in text[1]
    assert "drift in a small founding population" in text[1]
    assert "reached or exceeded in 15%" in text[1]
    assert "85% of simulated patients are compound heterozygotes" in text[2]
    assert "30 different pathogenic alleles" in text[2]


def test_findings_agree_in_number_with_their_counts():
    """One history, one patient per 100,000, one other allele: singular nouns and verbs."""
    one = {**OUTBRED_NUMBERS, "prevalence_per_100k": 0.998, "other_alleles": 1.0}
    single = dataclasses.replace(population("outbred", ()), replicates=1)
    text = " ".join(findings(synthetic("outbred", **one), [single], 0.5))
    assert "there is 1 patient per 100,000 people" in text
    assert "pooled over the 1 simulated history," in text
    assert "on average 1 different pathogenic allele segregates" in text
    plural = " ".join(findings(synthetic("outbred", **OUTBRED_NUMBERS), [population(
        "outbred", ())], 0.5))
    assert "there are 1.0 patients per 100,000" in plural
    assert "pooled over the 1000 simulated histories," in plural
    assert "30 different pathogenic alleles segregate" in plural
    for words in (text, plural):
        assert not re.search(r"\b1 (patients|replicates|alleles|populations|histories)\b", words)
        assert "(s)" not in words


def test_findings_use_the_matching_histories():
    matching = {
        **ISOLATE,
        "share_founder_homozygotes_percent": 99.0,
        "share_compound_heterozygotes_percent": 0.5,
    }
    summary = pd.concat(
        [
            synthetic("isolate", **ISOLATE),
            synthetic("isolate (matching)", **matching),
            synthetic("outbred", **OUTBRED_NUMBERS),
        ]
    )
    pops = [
        population("isolate", ("M712T",), observed=True),
        dataclasses.replace(
            population("isolate", ("M712T",), observed=True),
            label="isolate (matching)",
            replicates=60,
            matched=True,
            parent="isolate",
        ),
        population("outbred", ()),
    ]
    text = findings(summary, pops, 0.5)
    assert "(99% in the histories that match the published values)" in text[0]
    assert "60 of the 1000 simulated populations (6%) end within ±50%" in text[1]
    assert "among their patients 99% are M712T homozygotes" in text[1]


def test_findings_change_when_the_numbers_change():
    pops = [population("isolate", ("M712T",))]
    before = findings(synthetic("isolate", **ISOLATE), pops, 0.5)
    flipped = {
        **ISOLATE,
        "share_founder_homozygotes_percent": 20.0,
        "share_compound_heterozygotes_percent": 79.0,
        "founder_frequency": 0.004,
        "other_alleles": 12.0,
    }
    after = findings(synthetic("isolate", **flipped), pops, 0.5)
    assert before != after
    assert "20% of simulated patients are M712T homozygotes" in after[0]
    assert "Compound heterozygotes dominate although there are founder alleles" in after[0]
    assert "drift in a small founding population" not in after[0]


def test_an_inbred_population_without_a_founder_is_explained_by_inbreeding():
    """Patients of an inbred host are mostly homozygous by descent: the text says F, not
    drift of a founder allele."""
    inbred = {
        "scenario": {"name": "inbred", "generations": 5, "replicates": 20, "seed": 3,
                     "burn_in": 300},
        "demes": [{"name": "village", "size": 5000, "inbreeding": 0.05}],
        "locus": {"pathogenic_mutation_rate": 1e-4, "selection": {"affected": 0.1}},
    }
    comparison = run_comparison([Entry("inbred", scenario_from_dict(inbred))])
    text = " ".join(findings(comparison.summary(), comparison.populations(), 0.5))
    assert "The reason is inbreeding: with F = 0.05" in text
    assert "drifted up beside the founder allele" not in text
