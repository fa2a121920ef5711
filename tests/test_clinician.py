"""The report's words for a clinician: observations named in words, not ids, and
the bottom line's verdict counted from the posterior-predictive p-values."""

from __future__ import annotations

from types import SimpleNamespace

from popsim.model.scenario import CountObservation, RateObservation
from popsim.workflows.compare.clinician import CONSISTENT_P, _verdict, observation_words

FAMILIES = CountObservation("eisenberg_2001", "families", "jews", (47, 0, 0, 47))
SCREEN = CountObservation("la_screen", "screen", "jews", (3, 40), allele="founder")
PATIENTS = CountObservation("orphanet", "prevalence", "jews", (8, 4000))
GENOTYPES = CountObservation("sangesar", "genotypes", "jews", (31, 5, 792), allele="founder")
CARRIERS = RateObservation("carriers_1_in_11", "founder_carrier_frequency", "jews",
                           0.0909, 0.04545, 0.1818)


def test_each_observation_form_in_words():
    assert observation_words(FAMILIES) == "47 of 47 families founder homozygous"
    assert observation_words(SCREEN) == "3 carriers among 40 screened"
    assert observation_words(PATIENTS) == "8 patients among 4,000 people"
    assert observation_words(GENOTYPES) == (
        "31 heterozygotes and 5 homozygotes among 792 sampled")
    assert observation_words(CARRIERS) == (
        "the founder-allele carrier frequency of about 1 in 11")


def test_the_verdict_counts_p_values_and_names_the_misses_in_words():
    """p ≥ CONSISTENT_P is consistent; a smaller or undefined p is a miss, named in
    words (never by its config id)."""
    rows = [{"statistic": "ppp_eisenberg_2001", "mean": 0.5},
            {"statistic": "ppp_carriers_1_in_11", "mean": CONSISTENT_P / 2},
            {"statistic": "ppp_orphanet", "mean": float("nan")}]
    scenario = SimpleNamespace(count_observations=(FAMILIES, CARRIERS, PATIENTS))
    comparison = SimpleNamespace(
        entries=[SimpleNamespace(scenario=scenario)],
        results=[SimpleNamespace(summary_rows=lambda: rows)],
    )
    text = _verdict(comparison)
    assert text.startswith("The model is consistent with 1 of 3 published observations")
    assert ("not with the founder-allele carrier frequency of about 1 in 11 or 8 patients "
            "among 4,000 people") in text
    assert "carriers_1_in_11" not in text and "orphanet" not in text


def test_the_bottom_line_adds_what_the_likelihood_weighted_histories_say():
    """A founder population with a weighted column: the sentence gives the pooled share
    and the weighted one with its n_eff, with the decimals that tell 99.9 from 100;
    without a weighted column (or with an undefined weighted share) only the first."""
    from popsim.genetics.statistics import BY_NAME
    from popsim.workflows.compare import Population
    from popsim.workflows.compare.clinician import _who_the_patients_are

    shown = BY_NAME["share_founder_homozygotes"].shown_name
    table = {("Jews", "mean"): 85.3, ("Jews", "q025"): 71.4, ("Jews", "q975"): 94.6,
             ("Jews (w)", "mean"): 99.99, ("Jews (w)", "q025"): 99.9,
             ("Jews (w)", "q975"): 100.0}

    def value(label, statistic, q):
        assert statistic == shown
        return table.get((label, q), float("nan"))

    plain = Population("Jews", "s", "S", "jews", ("M712T",), 0.0, (), 100)
    weighted = Population("Jews (w)", "s", "S", "jews", ("M712T",), 0.0, (), 100,
                          matched=True, parent="Jews", n_eff=15.2)
    text = _who_the_patients_are(plain, value, weighted)
    assert text.startswith("In Jews, about 85% of patients are expected to carry two copies "
                           "of M712T (pooled over the simulated histories; 95% interval 71–95%)")
    assert text.endswith("worth 15 equally weighted histories), about 100.0% "
                         "(95% interval 99.9–100.0%).")
    assert _who_the_patients_are(plain, value).endswith("95% interval 71–95%).")
    table[("Jews (w)", "mean")] = float("nan")
    assert _who_the_patients_are(plain, value, weighted).endswith("71–95%).")
