"""Patient shares with honest uncertainty.

A pooled share's row (Σ class / Σ affected genotypes over replicates) carries a
bootstrap 95% interval over histories; the across-history distribution of the
share is its own ``_per_history`` row; no interval's centre lies outside it; the
tables' labels say which row is which.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from popsim.genetics.statistics import PER_HISTORY_NOTE, POOLED_NOTE, REGISTRY, comparison_table
from popsim.model.build import scenario_from_dict
from popsim.outputs.tables import RUN_TABLE, summary_table
from popsim.simulate import simulate

POOLED = tuple(s for s in REGISTRY if s.pooled is not None)
#: A small isolate (the founder allele is often lost: skewed shares) beside an outbred host.
CONFIG = {
    "scenario": {"name": "shares", "generations": 25, "replicates": 300, "seed": 3},
    "demes": [
        {"name": "host", "size": 5000},
        {"name": "isolate", "size": {"start": 15, "end": 3000}, "inbreeding": 0.02,
         "founded": {"generation": 5, "from": "host", "founders": 15}},
    ],
    "migration": [{"source": "host", "dest": "isolate", "rate": 0.002}],
    "locus": {
        "pathogenic_mutation_rate": 2e-4,
        "selection": {"affected": 0.1},
        "founder_alleles": [{"name": "f", "deme": "isolate", "generation": 5, "copies": 1}],
    },
}


@pytest.fixture(scope="module")
def result():
    return simulate(scenario_from_dict(CONFIG))


def rows_of(result) -> dict[tuple[str, str], dict]:
    return {(r["deme"], r["statistic"]): r for r in result.summary_rows()}


def subset(result, replicates: list[int]):
    return dataclasses.replace(result, records=result.records[replicates])


def test_pooled_row_is_the_pooled_share_with_a_bootstrap_interval(result):
    rows = rows_of(result)
    stats = result.final_statistics
    for d, deme in enumerate(result.deme_names):
        for s in POOLED:
            part, total = (np.nansum(stats[n][:, d]) for n in s.pooled)
            row = rows[(deme, s.name)]
            assert row["mean"] == pytest.approx(part / total, rel=1e-12)
            assert math.isnan(row["median"])
            spread = rows[(deme, s.per_history_name)]
            # the bootstrap interval of the pooled share is narrower than the spread of histories
            width, range_ = row["q975"] - row["q025"], spread["q975"] - spread["q025"]
            assert width < range_ or width == range_ == 0, (deme, s.name)


def test_per_history_row_describes_the_histories_with_patients(result):
    rows = rows_of(result)
    for d, deme in enumerate(result.deme_names):
        for s in POOLED:
            values = result.final_statistics[s.name][:, d]
            finite = values[np.isfinite(values)]
            row = rows[(deme, s.per_history_name)]
            assert row["mean"] == pytest.approx(finite.mean(), rel=1e-12)
            expected = np.quantile(finite, [0.025, 0.5, 0.975])
            assert [row["q025"], row["median"], row["q975"]] == pytest.approx(expected)


def test_no_centre_outside_its_interval(result):
    """Pooled rows: the pooled share lies within its bootstrap interval; every other row
    with an interval: the median lies within the 2.5–97.5% range (the mean of a skewed
    distribution may not, and is not read as the centre of a range of histories)."""
    checked = 0
    for res in (result, subset(result, [0]), subset(result, [0, 1, 2]), subset(result, [5, 9])):
        for row in res.summary_rows():
            if math.isnan(row["q025"]) and math.isnan(row["q975"]):
                continue
            pooled = any(row["statistic"] == s.name for s in POOLED)
            centre = row["mean"] if pooled else row["median"]
            assert row["q025"] <= centre <= row["q975"], row
            checked += pooled
    assert checked >= 2 * len(POOLED)


def test_two_histories_give_the_two_shares_as_interval(result):
    """With histories A and B, a resample is AA, AB or BB (probabilities 1/4, 1/2, 1/4):
    the interval runs from the smaller share to the larger."""
    d = result.deme_names.index("isolate")
    shares = result.final_statistics["share_compound_heterozygotes"][:, d]
    a, b = (int(i) for i in np.flatnonzero(np.isfinite(shares) & (shares > 0))[:2])
    assert shares[a] != shares[b]
    row = rows_of(subset(result, [a, b]))[("isolate", "share_compound_heterozygotes")]
    assert row["q025"] == pytest.approx(min(shares[a], shares[b]), rel=1e-12)
    assert row["q975"] == pytest.approx(max(shares[a], shares[b]), rel=1e-12)
    assert row["q025"] < row["mean"] < row["q975"]


def test_bootstrap_is_reproducible(result):
    again = dataclasses.replace(result)  # a fresh object: nothing cached
    np.testing.assert_equal(result.summary_rows(), again.summary_rows())


def test_labels_say_which_is_which(result):
    for table in (RUN_TABLE, comparison_table()):
        labels = dict(table)
        for s in POOLED:
            for name, per_history in ((s.summary_name, s.per_history_name),
                                      (s.shown_name, s.per_history_shown_name)):
                if name in labels:
                    assert labels[name].endswith(POOLED_NOTE)
                    assert labels[per_history].endswith(PER_HISTORY_NOTE)
    text = summary_table(result.summary_rows())
    assert POOLED_NOTE in text and PER_HISTORY_NOTE in text


def test_reach_of_a_share_leaves_out_histories_without_patients():
    """``p_reach_observed_share_…`` is over the histories where the share exists.

    An observed share of 0 is reached by every history that has patients; the
    old rule (NaN >= 0 is False) counted the patient-free histories as misses and
    reported the share of histories with patients instead of 1."""
    config = {**CONFIG, "scenario": {**CONFIG["scenario"], "replicates": 120},
              "observed": [{"statistic": "share_founder_homozygotes", "deme": "isolate",
                            "value": 0.0}]}
    res = simulate(scenario_from_dict(config))
    shares = res.final_statistics["share_founder_homozygotes"][:, 1]
    assert np.isnan(shares).any() and np.isfinite(shares).any()  # both kinds occur
    row = rows_of(res)[("isolate", "p_reach_observed_share_founder_homozygotes")]
    assert row["mean"] == 1.0
