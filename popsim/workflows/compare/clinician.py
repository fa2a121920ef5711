"""What a clinician reads first and last in the compare report: the bottom line and
the limitations.

:func:`bottom_line` gives two or three plain sentences from the comparison's
numbers (who the patients are in each population, with the 95% bootstrap
interval of the pooled share, and how many published observations the model
is consistent with). :func:`limitations` lists what the numbers rest on and
cannot tell, generated from the scenarios: their stated assumptions
(``scenario.assumptions``), the penetrance, observations without a sample size,
and what the spread over simulated histories means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from popsim.genetics.statistics import BY_NAME
from popsim.model.scenario import LikelihoodObservation, RateObservation

if TYPE_CHECKING:
    import pandas as pd

    from popsim.workflows.compare import Comparison, Population

#: A scenario is called consistent with an observation whose posterior-predictive
#: p-value is at least this (the whole report's rule).
CONSISTENT_P = 0.05


def bottom_line(comparison: Comparison) -> list[str]:
    """Two or three sentences in plain language: the headline share of patients in
    each population column that is the point of its scenario — the demes a founder
    allele enters, or every deme of a scenario without one (not the hosts of a
    founder scenario, nor the matching or weighted columns) — and the verdict on
    the published counts."""
    value = summary_reader(comparison.summary())
    populations = comparison.populations()
    with_founder = {p.scenario_id for p in populations if p.founders}
    weighted = {q.parent: q for q in populations if q.weighted and q.n_eff}
    sentences = []
    for p in populations:
        if p.matched or p.replicates == 0 or (p.scenario_id in with_founder and not p.founders):
            continue
        sentences.append(_who_the_patients_are(p, value, weighted.get(p.label)))
    verdict = _verdict(comparison)
    if verdict:
        sentences.append(verdict)
    return [s for s in sentences if s]


def decimals_apart(low: float, high: float) -> int:
    """Decimals (0 to 2) that tell two different percentages apart (2.6–2.8, not
    3–3); 0 for equal ends."""
    d = 0
    while d < 2 and low != high and f"{low:.{d}f}" == f"{high:.{d}f}":
        d += 1
    return d


def _who_the_patients_are(
    p: Population, value: Callable[[str, str, str], float], weighted: Population | None = None
) -> str:
    """The headline share of ``p``; for a founder population with a likelihood-weighted
    column (``weighted``), also that column's share: what the published counts favour."""
    founder = BY_NAME["share_founder_homozygotes"].shown_name
    compound = BY_NAME["share_compound_heterozygotes"].shown_name
    if p.founders:
        share = value(p.label, founder, "mean")
        if math.isnan(share):
            return f"In {p.label}, the simulations produced no patients to describe."
        low, high = value(p.label, founder, "q025"), value(p.label, founder, "q975")
        allele = " or ".join(p.founders)
        text = (
            f"In {p.label}, about {share:.0f}% of patients are expected to carry two copies of "
            f"{allele} (pooled over the simulated histories; 95% interval {low:.0f}–{high:.0f}%)"
        )
        data = value(weighted.label, founder, "mean") if weighted else math.nan
        if math.isnan(data):
            return text + "."
        w_low, w_high = value(weighted.label, founder, "q025"), value(weighted.label, founder,
                                                                         "q975")
        d = decimals_apart(w_low, w_high)
        return (
            f"{text}; in the histories the published observations favour (each weighted by "
            f"its likelihood of them, worth {weighted.n_eff:.0f} equally weighted histories), "
            f"about {data:.{d}f}% (95% interval {w_low:.{d}f}–{w_high:.{d}f}%)."
        )
    share = value(p.label, compound, "mean")
    if math.isnan(share):
        return f"In {p.label}, the simulations produced no patients to describe."
    low, high = value(p.label, compound, "q025"), value(p.label, compound, "q975")
    return (
        f"In {p.label}, about {share:.0f}% of patients are expected to carry two different "
        f"disease alleles (compound heterozygotes; 95% interval {low:.0f}–{high:.0f}%)."
    )


def _verdict(comparison: Comparison) -> str:
    """How many published counts the scenarios are consistent with (p ≥ 0.05)."""
    consistent, total, failed = 0, 0, []
    for entry, result in zip(comparison.entries, comparison.results, strict=True):
        if not entry.scenario.count_observations:
            continue
        rows = {r["statistic"]: r for r in result.summary_rows()}
        for obs in entry.scenario.count_observations:
            total += 1
            ppp = rows[f"ppp_{obs.name}"]["mean"]
            if not math.isnan(ppp) and ppp >= CONSISTENT_P:
                consistent += 1
            else:
                failed.append(observation_words(obs))
    if total == 0:
        return ""
    if consistent == total:
        return (
            f"The model is consistent with all {total} published counts it was given "
            "(see 'What the numbers say')."
        )
    return (
        f"The model is consistent with {consistent} of {total} published observations; "
        f"not with {' or '.join(failed)} (see 'What the numbers say')."
    )


def observation_words(obs: LikelihoodObservation) -> str:
    """An observation in a reader's words: 'the founder-allele carrier frequency of
    about 1 in 11', '47 of 47 families founder homozygous', '3 carriers among 40
    screened'."""
    if isinstance(obs, RateObservation):
        label = BY_NAME[obs.statistic].label
        value = (f"about 1 in {1 / obs.value:,.0f}" if 0 < obs.value < 0.5
                 else f"{obs.value:g}")
        return f"the {label} of {value}"
    if obs.form == "families":
        return (f"{obs.count('founder_homozygous')} of {obs.total} families founder "
                "homozygous")
    if obs.form == "screen":
        return f"{obs.count('carriers')} carriers among {obs.count('screened'):,} screened"
    if obs.form == "prevalence":
        return f"{obs.count('patients')} patients among {obs.count('population'):,} people"
    return (f"{obs.count('heterozygotes')} heterozygotes and {obs.count('homozygotes')} "
            f"homozygotes among {obs.count('sampled'):,} sampled")


def limitations(comparison: Comparison) -> list[str]:
    """What the report's numbers rest on and cannot tell, one item each."""
    items = []
    for entry in comparison.entries:
        scenario = entry.scenario
        for assumption in scenario.assumptions:
            items.append(f"{scenario.name}: assumption (no published figure): {assumption}")
        penetrance = scenario.locus.penetrance
        if penetrance < 1:
            items.append(
                f"{scenario.name}: {penetrance:.0%} of people with two disease alleles are "
                "assumed to become patients (penetrance); prevalence counts patients."
            )
        else:
            items.append(
                f"{scenario.name}: everyone with two disease alleles is counted as a patient "
                "(penetrance 1); if some stay unaffected, as reported for M712T homozygotes, "
                "the prevalence is overstated."
            )
        if scenario.observations:
            names = ", ".join(BY_NAME[o.statistic].label for o in scenario.observations)
            items.append(
                f"{scenario.name}: published values without a sample size ({names}) are "
                "compared, not weighed as data: they cannot say how well the model fits."
            )
        if not scenario.observations and not scenario.count_observations:
            items.append(f"{scenario.name}: no published observation is compared with it.")
    items += [
        "Each simulated history is one way the past could have gone; the intervals "
        "'across histories' show that spread, which is not an error of measurement. "
        f"{comparison.replicates:,} histories were simulated per scenario.",
        "The model follows one gene in randomly mating populations with a fixed "
        "inbreeding coefficient (or simulated cousin marriages); it leaves out "
        "ascertainment of patients, misdiagnosis, and differences in fertility other than "
        "the stated selection.",
    ]
    return items


def summary_reader(summary: pd.DataFrame) -> Callable[..., float]:
    """value(population label, statistic, column="mean") from a comparison summary
    (:meth:`Comparison.summary`); NaN where it has no such row."""
    indexed = summary.set_index(["population", "statistic"])

    def value(label: str, statistic: str, column: str = "mean") -> float:
        key = (label, statistic)
        if key not in indexed.index:
            return math.nan
        return float(indexed.loc[key, column])

    return value
