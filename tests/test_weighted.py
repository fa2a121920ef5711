"""compare's likelihood-weighted columns (popsim.analysis.weighted): weights, weighted
means, quantiles and pooled shares by hand, and the message when no history fits."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from popsim.analysis.evidence import log_likelihoods
from popsim.analysis.weighted import effective_histories, likelihood_weights, weighted_describe
from popsim.genetics.statistics import BY_NAME
from popsim.model.build import scenario_from_dict
from popsim.workflows.compare import Entry, run_comparison
from popsim.workflows.compare.report import findings
from tests.test_evidence import CONFIG


def test_weights_mean_quantiles_and_n_eff_by_hand():
    loglik = np.array([0.0, -np.inf, np.log(3.0), -np.inf]) + 1000.0  # no overflow
    w = likelihood_weights(loglik)
    np.testing.assert_allclose(w, [0.25, 0.0, 0.75, 0.0])
    assert effective_histories(w) == pytest.approx(1.0 / (0.25**2 + 0.75**2))
    row = weighted_describe("d", "x", np.array([1.0, 2.0, 3.0, 4.0]), w)
    assert row["mean"] == pytest.approx(0.25 * 1 + 0.75 * 3)
    assert (row["q025"], row["median"], row["q975"]) == (1.0, 3.0, 3.0)
    unweighted = weighted_describe("d", "x", np.array([4.0, np.nan, 1.0]), np.ones(3))
    assert unweighted["mean"] == 2.5 and unweighted["median"] == 1.0


def test_all_minus_infinite_logliks_give_zero_weights():
    w = likelihood_weights(np.array([-np.inf, -np.inf]))
    assert np.all(w == 0) and effective_histories(w) == 0.0


@pytest.fixture(scope="module")
def comparison():
    return run_comparison([Entry("ev", scenario_from_dict(CONFIG))], replicates=40)


def test_weighted_column_replaces_matching_and_equals_hand_computation(comparison):
    labels = [p.label for p in comparison.populations()]
    assert not any("matching" in label for label in labels)
    weighted = [p for p in comparison.populations() if p.weighted]
    assert [p.parent for p in weighted] == ["Host", "Community"]  # both have count data
    result = comparison.results[0]
    loglik = log_likelihoods(result)["total"]
    like = np.exp(loglik - loglik.max())
    w = like / like.sum()
    n_eff = w.sum() ** 2 / np.sum(w**2)
    assert 1 < n_eff < 40, "test needs unequal weights"
    community = next(p for p in weighted if p.parent == "Community")
    assert community.label == f"Community (weighted by likelihood, n_eff = {n_eff:.1f})"
    summary = comparison.summary().set_index(["population", "statistic"])["mean"]
    stats = {k: v[:, 1] for k, v in result.final_statistics.items()}
    carriers = stats["carrier_frequency"]
    assert summary[(community.label, "carrier_frequency")] == pytest.approx(
        np.sum(w * carriers) / np.sum(w)
    )
    assert summary[(community.label, "effective_histories")] == pytest.approx(n_eff)
    part, total = BY_NAME["share_founder_homozygotes"].pooled
    pooled = np.nansum(w * stats[part]) / np.nansum(w * stats[total])
    assert summary[(community.label, "share_founder_homozygotes")] == pytest.approx(pooled)
    assert summary[(community.label, "share_founder_homozygotes_percent")] == pytest.approx(
        100 * pooled
    )
    assert summary[("Community", "carrier_frequency")] == pytest.approx(carriers.mean())
    assert not math.isclose(np.sum(w * carriers), carriers.mean(), rel_tol=1e-6)
    text = " ".join(findings(comparison.summary(), comparison.populations(), 0.5))
    assert f"worth {n_eff:.1f} equally weighted histories" in text


def test_no_history_can_produce_the_data():
    raw = copy.deepcopy(CONFIG)
    # 47 founder-homozygous families in the host, which the founder allele never reaches
    raw["observed"] = [{**CONFIG["observed"][0], "deme": "host"}]
    comparison = run_comparison([Entry("ev", scenario_from_dict(raw))], replicates=20)
    (weighted,) = [p for p in comparison.populations() if p.weighted]
    assert weighted.n_eff == 0 and weighted.label == "Host (weighted by likelihood, n_eff = 0.0)"
    rows = comparison.summary()
    rows = rows[rows["population"] == weighted.label]
    assert list(rows["statistic"]) == ["replicates", "effective_histories"]
    text = " ".join(findings(comparison.summary(), comparison.populations(), 0.5))
    assert "No simulated history of Host can produce the published counts" in text
    assert "every one of the 20 histories has likelihood 0), so none" in text
