"""Observations as count data: per-history log-likelihoods, evidence, p-values, and the
config's count forms of ``[[observed]]`` (popsim.analysis.evidence)."""

from __future__ import annotations

import copy
import csv
import tomllib

import numpy as np
import pytest
from scipy import stats as st

from popsim.analysis.evidence import (
    evidence,
    log_likelihood,
    log_likelihoods,
    posterior_predictive_p,
    undefined,
)
from popsim.cli import main
from popsim.errors import ConfigError
from popsim.model.build import scenario_from_dict
from popsim.model.scenario import CountObservation
from popsim.simulate import simulate

#: Two demes; the founder allele enters the small inbred one, other alleles arise by
#: mutation, so founder shares lie strictly between 0 and 1, or are 0 (founder lost).
TEXT = """\
[scenario]
name = "evidence"
generations = 30
replicates = 80
seed = 3

[[demes]]
name = "host"
size = 500

[[demes]]
name = "community"
size = 300
inbreeding = 0.05

[[migration]]
source = "host"
dest = "community"
rate = 0.01

[locus]
pathogenic_mutation_rate = 1e-3
selection = { affected = 0.0 }
founder_alleles = [{ name = "M712T", deme = "community", generation = 0, copies = 3 }]

[[observed]]
name = "families"
deme = "community"
families = 47
founder_homozygous = 47
compound_heterozygous = 0
other_homozygous = 0
source = "Eisenberg 2001"

[[observed]]
name = "screen"
deme = "community"
carriers = 12
screened = 100
allele = "founder"

[[observed]]
name = "sangesar"
deme = "community"
heterozygotes = 31
homozygotes = 5
sampled = 792
allele = "any"

[[observed]]
name = "prev"
deme = "host"
patients = 3
population = 1000

[[observed]]
statistic = "carrier_frequency"
deme = "community"
value = 0.09
"""
CONFIG = tomllib.loads(TEXT)
FAMILIES = CONFIG["observed"][0]


def config(**changes) -> dict:
    """A copy of :data:`CONFIG`; ``observed`` replaced by ``changes['observed']``."""
    raw = copy.deepcopy(CONFIG)
    raw.update(changes)
    return raw


@pytest.fixture(scope="module")
def result():
    return simulate(scenario_from_dict(CONFIG))


def observation(form: str, counts: tuple[int, ...], allele: str = "") -> CountObservation:
    return CountObservation("x", form, "community", counts, allele)


# --------------------------------------------------------------------------- likelihoods
def test_family_series_loglik_is_47_log_share_per_history(result):
    share = result.final_statistics["share_founder_homozygotes"][:, 1]
    assert np.any((share > 0) & (share < 1)) and np.any(share == 0), "test needs both cases"
    final = result.final()
    community = final[final["deme"] == "community"]["loglik_families"].to_numpy()
    with np.errstate(divide="ignore"):
        expected = np.where(np.isnan(share), -np.inf, 47 * np.log(share))
    np.testing.assert_allclose(community, expected, rtol=1e-12)
    assert np.all(np.isnan(final[final["deme"] == "host"]["loglik_families"]))
    rows = {r["statistic"]: r for r in result.summary_rows()}
    ev = rows["evidence_families"]
    assert ev["mean"] == pytest.approx(np.mean(np.exp(expected)), rel=1e-12)
    assert ev["q025"] < ev["mean"] < ev["q975"]
    assert rows["p_undefined_families"]["mean"] == pytest.approx(np.mean(np.isnan(share)))


def test_family_series_zero_and_undefined_shares_give_zero_likelihood():
    shares = np.array([0.9, 0.0, np.nan, 1.0])
    stats = {
        "share_founder_homozygotes": shares,
        "share_compound_heterozygotes": 1 - np.nan_to_num(shares),
        "share_other_homozygotes": np.zeros(4),
    }
    obs = observation("families", (47, 0, 0, 47))
    got = log_likelihood(obs, stats)
    assert got[0] == pytest.approx(47 * np.log(0.9))
    assert got[1] == -np.inf and got[2] == -np.inf and got[3] == 0.0


def test_total_is_the_sum_on_every_row_of_the_replicate(result):
    final = result.final()
    names = ["families", "screen", "sangesar", "prev"]
    per_rep = final.groupby("replicate")
    total = per_rep["loglik_total"].agg(["min", "max"])
    assert (total["min"] == total["max"]).all()
    summed = sum(per_rep[f"loglik_{n}"].sum(min_count=1) for n in names)
    np.testing.assert_allclose(total["min"], summed)


@pytest.mark.parametrize("allele, statistic", [("founder", "founder_carrier_frequency"),
                                               ("any", "carrier_frequency")])
def test_screen_is_binomial(allele, statistic):
    c = np.array([0.01, 0.1, 0.3])
    stats = {"founder_carrier_frequency": c, "carrier_frequency": c / 2}
    stats[statistic] = c
    got = log_likelihood(observation("screen", (12, 100), allele), stats)
    np.testing.assert_allclose(got, st.binom.logpmf(12, 100, c), rtol=1e-10)


def test_prevalence_is_binomial_even_for_a_large_population():
    k = np.array([1e-4, 2e-3, 5e-3])
    got = log_likelihood(observation("prevalence", (40, 20_000)), {"prevalence": k})
    np.testing.assert_allclose(got, st.binom.logpmf(40, 20_000, k), rtol=1e-10)


@pytest.mark.parametrize("allele", ["founder", "any"])
def test_genotype_counts_are_multinomial(allele):
    het, hom = np.array([0.04, 0.08]), np.array([0.001, 0.006])
    stats = {"founder_carrier_frequency": het, "founder_homozygotes": hom,
             "carrier_frequency": het * 1.1, "prevalence": hom * 1.2}
    if allele == "any":
        het, hom = het * 1.1, hom * 1.2
    got = log_likelihood(observation("genotypes", (31, 5, 792), allele), stats)
    probs = np.stack([het, hom, 1 - het - hom], axis=-1)
    np.testing.assert_allclose(got, st.multinomial.logpmf([31, 5, 756], 792, probs), rtol=1e-10)


def test_evidence_is_mean_likelihood_with_a_reproducible_interval():
    loglik = np.log(np.linspace(0.01, 0.5, 50))
    mean, lo, hi = evidence(loglik)
    assert mean == pytest.approx(np.exp(loglik).mean())
    assert (lo, hi) == evidence(loglik)[1:] and lo < mean < hi


# --------------------------------------------------------------------------- p-values
def test_binomial_ppp_matches_direct_monte_carlo():
    c = np.array([0.05, 0.2, 0.4])
    obs = observation("screen", (6, 20), "any")
    got = posterior_predictive_p(obs, {"carrier_frequency": c})
    rng = np.random.default_rng(1)
    x = rng.binomial(20, c[rng.integers(0, 3, 400_000)])
    below, at, above = np.mean(x < 6), np.mean(x == 6), np.mean(x > 6)
    direct = min(1.0, 2 * min(below + at / 2, above + at / 2))
    assert got == pytest.approx(direct, abs=0.01)


def test_multinomial_ppp_matches_direct_monte_carlo():
    shares = np.array([[0.9, 0.08, 0.02], [0.6, 0.3, 0.1], [0.99, 0.005, 0.005]])
    stats = dict(zip(["share_founder_homozygotes", "share_compound_heterozygotes",
                      "share_other_homozygotes"], shares.T, strict=True))
    obs = observation("families", (4, 2, 0, 6))
    got = posterior_predictive_p(obs, stats, draws=20_000)
    rng = np.random.default_rng(2)
    h = rng.integers(0, 3, 100_000)
    x = np.array([rng.multinomial(6, shares[i]) for i in h])
    pmf = st.multinomial.pmf(x, 6, shares[h])
    observed = st.multinomial.pmf([4, 2, 0], 6, shares[h])
    close = np.isclose(pmf, observed, rtol=1e-9)
    direct = np.mean((pmf < observed) & ~close) + 0.5 * np.mean(close)
    assert got == pytest.approx(direct, abs=0.01)


def test_ppp_counts_no_tie_where_a_history_cannot_give_the_counts():
    stats = {"share_founder_homozygotes": np.array([0.0, 0.0]),
             "share_compound_heterozygotes": np.array([1.0, 0.5]),
             "share_other_homozygotes": np.array([0.0, 0.5])}
    assert posterior_predictive_p(observation("families", (47, 0, 0, 47)), stats) == 0.0


def test_ppp_is_small_for_counts_no_history_makes_likely():
    c = np.array([0.01, 0.02])
    assert posterior_predictive_p(observation("screen", (60, 100), "any"),
                                  {"carrier_frequency": c}) < 1e-6


# --------------------------------------------------------------------------- outputs
def test_summary_and_final_csv_hold_the_evidence(result, tmp_path):
    path = result.write(tmp_path / "out", figures=False)
    with open(path / "summary.csv", newline="") as f:
        rows = {(r["deme"], r["statistic"]): r for r in csv.DictReader(f)}
    for name, deme in [("families", "community"), ("screen", "community"),
                       ("sangesar", "community"), ("prev", "host")]:
        for prefix in ("evidence", "ppp", "p_undefined"):
            assert (deme, f"{prefix}_{name}") in rows
    assert ("", "evidence_total") in rows
    assert ("community", "p_reach_observed_carrier_frequency") in rows
    with open(path / "final.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[-5:] == ["loglik_families", "loglik_screen", "loglik_sangesar",
                           "loglik_prev", "loglik_total"]


def test_run_prints_the_evidence_block(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(TEXT, encoding="utf-8")
    assert main(["run", str(path), "--replicates", "20"]) == 0
    out = capsys.readouterr().out
    assert "families (Community, families): evidence" in out  # the deme by its label
    assert "all together: evidence" in out


# --------------------------------------------------------------------------- bad input
def _with(entry: dict) -> dict:
    return config(observed=[entry])


BAD = {
    "negative count": ({**FAMILIES, "compound_heterozygous": -1}, "compound_heterozygous", "-1"),
    "non-integer count": (
        {"name": "s", "deme": "host", "carriers": 2.5, "screened": 10, "allele": "any"},
        "carriers", "2.5",
    ),
    "k over n": (
        {"name": "s", "deme": "host", "carriers": 11, "screened": 10, "allele": "any"},
        "carriers", "11",
    ),
    "genotypes over n": (
        {"name": "g", "deme": "host", "heterozygotes": 8, "homozygotes": 5, "sampled": 10,
         "allele": "any"},
        "homozygotes", "5",
    ),
    "classes do not add up": ({**FAMILIES, "families": 50}, "families", "50"),
    "two forms": ({**FAMILIES, "patients": 3}, "founder_homozygous", "prevalence form"),
    "value and counts": ({**FAMILIES, "statistic": "prevalence", "value": 0.1},
                         "founder_homozygous", "47"),
    "unknown allele": (
        {"name": "s", "deme": "host", "carriers": 1, "screened": 10, "allele": "M712T"},
        "allele", "M712T",
    ),
    "no such deme": ({**FAMILIES, "deme": "atlantis"}, "deme", "atlantis"),
    "allele where no form takes it": (
        {"name": "p", "deme": "host", "patients": 1, "population": 10, "allele": "any"},
        "allele", "",
    ),
    "no form": ({"name": "p", "deme": "host"}, "observed[0]", ""),
    "bad name": ({**FAMILIES, "name": "two words"}, "name", "two words"),
    "missing name": ({k: v for k, v in FAMILIES.items() if k != "name"}, "name", ""),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_count_observation_is_a_config_error(case):
    entry, key, value = BAD[case]
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(_with(entry))
    line = str(err.value)
    assert "\n" not in line
    assert f"observed[0].{key}" in line or key in line.split(":")[0]
    assert value in line


def test_duplicate_names_are_a_config_error():
    raw = config(observed=[FAMILIES, {**FAMILIES, "deme": "host"}])
    with pytest.raises(ConfigError, match=r"observed\[1\]\.name = 'families'.*twice"):
        scenario_from_dict(raw)


def test_bad_count_observation_through_the_cli_exits_2_writing_nothing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(TEXT.replace("families = 47", "families = 50"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "observed[0].families = 50" in err[0]
    assert not out.exists()


def test_report_says_per_observation_whether_the_scenario_is_consistent():
    from popsim.workflows.compare import Entry, run_comparison
    from popsim.workflows.compare.report import CONSISTENT_P, report_blocks

    # 60 of 100 carriers: no history of this scenario makes that likely.
    text = TEXT.replace("carriers = 12", "carriers = 60")
    comparison = run_comparison([Entry("c", scenario_from_dict(tomllib.loads(text)))], 30, 5)
    rows = {r["statistic"]: r for r in comparison.results[0].summary_rows()}
    paragraphs = [b[1] for b in report_blocks(comparison, {}, "") if b[0] == "p"]
    note = next(p for p in paragraphs if p.startswith("Published counts are data"))
    assert rows["ppp_screen"]["mean"] < CONSISTENT_P
    assert "screen (60 founder-allele carriers of 100 screened): the scenario is not " \
           "consistent with it" in note
    for name in ("families", "sangesar", "prev"):
        verdict = "is consistent" if rows[f"ppp_{name}"]["mean"] >= CONSISTENT_P else "is not"
        assert f"{name} (" in note and verdict in note.split(f"{name} (")[1].split(".")[0]


def test_value_form_keeps_working_and_may_be_named():
    scenario = scenario_from_dict(CONFIG)
    assert [o.statistic for o in scenario.observations] == ["carrier_frequency"]
    assert [o.name for o in scenario.count_observations] == [
        "families", "screen", "sangesar", "prev"]
    named = {"name": "families", "statistic": "prevalence", "deme": "host", "value": 0.1}
    with pytest.raises(ConfigError, match=r"observed\[1\]\.name = 'families'.*twice"):
        scenario_from_dict(config(observed=[FAMILIES, named]))
    raw = config(observed=[{**named, "name": "orphanet"}])
    assert scenario_from_dict(raw).observations[0].name == "orphanet"


# --------------------------------------------------------------------------- rate form
RATE = {"name": "one_in_11", "deme": "community", "statistic": "founder_carrier_frequency",
        "value": 0.0909, "factor": 2, "source": "Clin Genet 2013"}


def test_rate_form_is_lognormal_around_each_history_and_zero_where_it_is_zero():
    obs = scenario_from_dict(config(observed=[RATE])).count_observations[0]
    assert obs.form == "rate" and (obs.low, obs.high) == pytest.approx((0.04545, 0.1818))
    sigma = np.log(2.0) / 1.959963984540054
    assert obs.sigma == pytest.approx(sigma)
    x = np.array([0.02, 0.0909, 0.3, 0.0, np.nan])
    stats = {"founder_carrier_frequency": x}
    got = log_likelihood(obs, stats)
    want = st.norm.logpdf(np.log(0.0909), np.log(x[:3]), sigma)
    np.testing.assert_allclose(got[:3], want, rtol=1e-12)
    assert got[3] == -np.inf and got[4] == -np.inf
    assert undefined(obs, stats).tolist() == [False, False, False, False, True]


def test_rate_interval_sets_the_spread_and_keeps_the_value():
    entry = {**RATE, "interval": [0.05, 0.2]}
    del entry["factor"]
    obs = scenario_from_dict(config(observed=[entry])).count_observations[0]
    assert obs.value == 0.0909 and obs.sigma == pytest.approx(np.log(4.0) / 3.919927969)


def test_rate_ppp_matches_direct_monte_carlo():
    obs = scenario_from_dict(config(observed=[RATE])).count_observations[0]
    x = np.array([0.01, 0.03, 0.05, 0.0])
    got = posterior_predictive_p(obs, {"founder_carrier_frequency": x})
    rng = np.random.default_rng(2)
    h = x[rng.integers(0, 4, 400_000)]
    with np.errstate(divide="ignore"):
        rep = np.where(h > 0, np.exp(np.log(h) + obs.sigma * rng.standard_normal(h.size)), 0.0)
    direct = 2 * min(np.mean(rep < 0.0909), np.mean(rep > 0.0909))
    assert got == pytest.approx(direct, abs=0.005)
    assert 0.0 < got < 0.2


def test_rate_form_reaches_final_and_summary(tmp_path):
    raw = config(observed=[FAMILIES, RATE], scenario={**CONFIG["scenario"], "replicates": 30})
    result = simulate(scenario_from_dict(raw))
    logliks = log_likelihoods(result)
    d = result.deme_names.index("community")
    x = result.final_statistics["founder_carrier_frequency"][:, d]
    np.testing.assert_allclose(
        logliks["one_in_11"], log_likelihood(result.scenario.count_observations[1],
                                             {"founder_carrier_frequency": x}))
    np.testing.assert_allclose(logliks["total"], logliks["families"] + logliks["one_in_11"])
    rows = {r["statistic"]: r for r in result.summary_rows()}
    assert rows["evidence_one_in_11"]["mean"] == pytest.approx(np.exp(logliks["one_in_11"]).mean())
    assert 0.0 <= rows["ppp_one_in_11"]["mean"] <= 1.0
    assert "p_undefined_one_in_11" in rows


RATE_BAD = {
    "factor not above 1": ({**RATE, "factor": 1}, "factor", "1"),
    "value 0": ({**RATE, "value": 0}, "value", "0"),
    "both factor and interval": ({**RATE, "interval": [0.05, 0.2]}, "interval", "0.05"),
    "interval not around the value": (
        {**{k: v for k, v in RATE.items() if k != "factor"}, "interval": [0.1, 0.2]},
        "interval", "0.1",
    ),
    "interval not a pair": (
        {**{k: v for k, v in RATE.items() if k != "factor"}, "interval": [0.05]},
        "interval", "0.05",
    ),
    "rate and counts": ({**RATE, "carriers": 3, "screened": 10, "allele": "any"},
                        "carriers", "rate form"),
    "factor without value": (
        {k: v for k, v in RATE.items() if k not in ("value", "statistic")}, "value", ""),
    "unknown statistic": ({**RATE, "statistic": "height"}, "statistic", "height"),
    "missing name": ({k: v for k, v in RATE.items() if k != "name"}, "name", ""),
}


@pytest.mark.parametrize("case", sorted(RATE_BAD))
def test_bad_rate_observation_is_a_config_error(case):
    entry, key, value = RATE_BAD[case]
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(_with(entry))
    line = str(err.value)
    assert "\n" not in line
    assert f"observed[0].{key}" in line
    assert value in line


def test_bad_rate_observation_through_the_cli_exits_2_writing_nothing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    text = TEXT + '\n[[observed]]\nname = "r"\ndeme = "host"\nstatistic = "prevalence"\n' \
        'value = 0.002\nfactor = 0.5\n'
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "observed[5].factor = 0.5" in err[0]
    assert not out.exists()


def test_evidence_given_founder_is_the_mean_likelihood_where_it_survives(result):
    from popsim.analysis.evidence import evidence_given_founder

    given = evidence_given_founder(result)
    assert set(given) == {"families", "screen", "sangesar"}  # "prev" is in the host
    d = result.deme_names.index("community")
    survived = result.final_statistics["founder_frequency"][:, d] > 0
    loglik = log_likelihoods(result)["families"]
    lost, value = given["families"]
    assert lost == pytest.approx(1 - survived.mean())
    assert value == pytest.approx(np.exp(loglik[survived]).mean())
    assert value >= np.exp(loglik).mean()  # lost histories only ever add zeros here


def test_report_says_how_much_of_the_evidence_is_the_founders_survival():
    from popsim.workflows.compare import Entry, run_comparison
    from popsim.workflows.compare.report import report_blocks

    # One copy in a community of 300: usually lost.
    text = TEXT.replace("copies = 3", "copies = 1")
    comparison = run_comparison([Entry("c", scenario_from_dict(tomllib.loads(text)))], 40, 5)
    paragraphs = [b[1] for b in report_blocks(comparison, {}, "") if b[0] == "p"]
    note = next(p for p in paragraphs if p.startswith("Published counts are data"))
    assert "The founder allele is lost in up to" in note
    assert "among the histories where it survives the evidence is" in note
    assert "fixes no parameter" in note


def test_report_words_a_rate_as_a_value():
    from popsim.workflows.compare import Entry, run_comparison
    from popsim.workflows.compare.report import report_blocks

    raw = config(observed=[{**RATE, "value": 0.9, "factor": 1.5}])
    comparison = run_comparison([Entry("c", scenario_from_dict(raw))], 30, 5)
    paragraphs = [b[1] for b in report_blocks(comparison, {}, "") if b[0] == "p"]
    note = next(p for p in paragraphs if p.startswith("Published counts are data"))
    assert "one_in_11 (founder_carrier_frequency 0.9 (stated 95% range 0.6–1.35" in note
    assert "so extreme a value is rare" in note
