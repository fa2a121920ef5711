"""The comparison report: figures, a findings text written from the numbers, report.md/html.

:func:`write_figures` draws three PNGs (patient genotype composition per
population, allele-frequency trajectories in years before present, the
distribution of the present-day carrier frequency with the published value
marked). :func:`findings` turns the comparison table into plain-language
paragraphs: every number and every "because" in them is read from the table,
so the text changes when the numbers do. :func:`write_report` assembles the
question, the findings, the table, the figures and the scenarios with their
cited parameters into ``report.md`` and a self-contained ``report.html``
(figures embedded as base64 PNG).
"""

from __future__ import annotations

import base64
import html
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from popsim.analysis.quantiles import nan_quantiles
from popsim.genetics.statistics import BY_NAME, REGISTRY
from popsim.model.scenario import (
    Deme,
    LikelihoodObservation,
    RateObservation,
    Scenario,
)
from popsim.outputs.figures import CLASS_COLOURS, save_figure, time_axis
from popsim.outputs.words import counted, is_are
from popsim.workflows.compare.clinician import (
    CONSISTENT_P,
    bottom_line,
    decimals_apart,
    limitations,
    summary_reader,
)
from popsim.workflows.compare.screening import screening_blocks

if TYPE_CHECKING:
    from popsim.analysis.results import Result
    from popsim.workflows.compare import Comparison, Population

QUESTION = (
    "Why are the GNE myopathy patients of one community almost all homozygous for a single "
    "founder allele (M712T among Persian Jews), while patients elsewhere are mostly compound "
    "heterozygotes, carrying two different pathogenic alleles — and what should we expect in "
    "another community?"
)
#: The patient classes: (label, comparison row of their pooled share in percent).
CLASSES = tuple(
    (BY_NAME[s.pooled[0]].label, s.shown_name) for s in REGISTRY if s.pooled is not None
)
#: Panels per row in the report's figures: two keep a figure within the page's
#: width, so its text stays at least 8 pt there.
REPORT_COLUMNS = 2
FIGURES = {
    "composition": "patient_genotypes.png",
    "trajectories": "allele_frequencies.png",
    "carriers": "carrier_frequency.png",
}
CAPTIONS = {
    "composition": "Who the patients are: share of simulated patients in each genotype class "
    "(pooled over replicates), with patients per 100,000 above each bar.",
    "trajectories": "Allele frequencies over time (years before present): mean over "
    "replicates (line) and the middle 95% of replicates (band).",
    "carriers": "Present-day carrier frequency across replicates (each replicate is one "
    "possible history); the published value is marked where there is one.",
}


# --------------------------------------------------------------------------- findings


def findings(
    summary: pd.DataFrame, populations: Sequence[Population], tolerance: float
) -> list[str]:
    """Plain-language paragraphs computed from a comparison summary: the contrast
    between a founder-dominated and a compound-heterozygote-dominated population
    first (where there is one), then one paragraph per population.

    Args:
        summary: :meth:`popsim.workflows.compare.Comparison.summary` (long table with
            population, statistic, mean, q025, q975).
        populations: the table's columns, as :meth:`Comparison.populations`.
        tolerance: the relative window of the matching columns.
    """
    value = summary_reader(summary)
    paragraphs = []
    matched = {p.parent: p for p in populations if p.matched}
    ordered = sorted((p for p in populations if not p.matched), key=lambda p: not p.founders)
    for population in ordered:
        text = [_composition_sentence(population, value), _reason_sentence(population, value)]
        if population.observations:
            text.append(_observation_sentences(population, value))
        match = matched.get(population.label)
        if match is not None and match.weighted:
            text.append(_weighted_sentence(population, match, value))
        elif match is not None:
            text.append(_matching_sentence(population, match, value, tolerance))
        paragraphs.append(" ".join(t for t in text if t))
    contrast = _contrast_sentence(ordered, matched, value)
    return [contrast, *paragraphs] if contrast else paragraphs


def _founder_phrase(founders: Sequence[str]) -> str:
    if len(founders) == 1:
        return f"{founders[0]} homozygotes"
    return f"homozygous for one founder allele ({' or '.join(founders)})"


def _composition_sentence(p: Population, value) -> str:
    label = p.label
    founder, other, compound = (value(label, stat) for _, stat in CLASSES)
    prevalence = value(label, "prevalence_per_100k")
    if math.isnan(prevalence) or prevalence <= 0:
        return f"In {label} ({p.scenario_name}) the simulation produced no patients."
    where = f"In {label} ({p.scenario_name})"
    one_in = f"about 1 in {_round_count(1e5 / prevalence)}"
    patients = _per_100k(prevalence)
    tail = f"{is_are(patients)} {counted(patients, 'patient')} per 100,000 people ({one_in})"
    if p.founders:
        return (
            f"{where}, {_pct(founder)} of simulated patients are {_founder_phrase(p.founders)} "
            f"({_share_intervals(value, label, 'share_founder_homozygotes', p.replicates)}), "
            f"{_pct(compound)} are compound heterozygotes and {_pct(other)} are homozygous for "
            f"another allele; there {tail}."
        )
    return (
        f"{where}, {_pct(compound)} of simulated patients are compound heterozygotes "
        f"({_share_intervals(value, label, 'share_compound_heterozygotes', p.replicates)}) and "
        f"{_pct(other)} are homozygous for one of the many recurrent alleles; there {tail}."
    )


def _share_intervals(value, label: str, share: str, replicates: int) -> str:
    """The two intervals of a pooled share: its bootstrap 95% interval over the histories,
    and the range of the share across 95% of the histories with patients."""
    entry = BY_NAME[share]
    pooled = _interval(value, label, entry.shown_name)
    spread = _interval(value, label, entry.per_history_shown_name)
    return (
        f"pooled over the {counted(replicates, 'simulated history', 'simulated histories')}, "
        f"bootstrap 95% interval {pooled}; "
        f"across histories, 95% of those with patients lie within {spread}"
    )


def _reason_sentence(p: Population, value) -> str:
    label = p.label
    shares = {name: value(label, stat) for name, stat in CLASSES}
    if all(math.isnan(s) for s in shares.values()):
        return ""
    dominant = max(shares, key=lambda k: -1.0 if math.isnan(shares[k]) else shares[k])
    founder_q = value(label, "founder_frequency")
    other_q = value(label, "other_frequency")
    alleles = value(label, "other_alleles")
    if dominant == "founder homozygotes":
        ratio = _ratio(
            value(label, "founder_homozygotes_per_100k"),
            value(label, "compound_heterozygotes_per_100k"),
        )
        meet = (
            "compound heterozygotes are practically absent"
            if not math.isfinite(ratio)
            else f"founder homozygotes outnumber compound heterozygotes {ratio:.0f} to 1"
        )
        lost = value(label, "p_founder_lost")
        fate = (
            f"was lost in {_pct(100 * lost)} of the simulated histories and drifted up in the "
            f"others (mean frequency over all histories {founder_q:.3g})"
            if math.isfinite(lost)
            else f"reached a mean frequency of {founder_q:.3g}"
        )
        text = (
            f"The reason is drift in a small founding population: the founder allele {fate}, "
            f"while all other pathogenic alleles together stayed at {other_q:.2g}; two copies "
            f"of the one common allele meet far more often than it meets a rare one, so {meet}."
        )
        if p.inbreeding > 0:
            by_inbreeding = value(label, "founder_homozygotes_by_descent_per_100k")
            text += (
                f" Marriage within the community (F = {p.inbreeding:g}) adds homozygotes: "
                f"{_per_100k(by_inbreeding)} of the founder homozygotes per 100,000 come from "
                f"inbreeding alone."
            )
        return text
    if dominant == "compound heterozygotes":
        total = value(label, "pathogenic_frequency")
        if p.founders:
            return (
                f"Compound heterozygotes dominate although there are founder alleles: together "
                f"they reach a mean frequency of only {founder_q:.2g} beside "
                f"{counted(alleles, 'other pathogenic allele', spec='.0f')} (total pathogenic "
                f"frequency {total:.2g}), so a patient's "
                f"two pathogenic alleles are usually different ones."
            )
        return (
            f"The reason is allelic diversity: no allele is common — on average "
            f"{counted(alleles, 'different pathogenic allele', spec='.0f')} "
            f"{'segregates' if format(alleles, '.0f') == '1' else 'segregate'}, together at a "
            f"frequency of {total:.2g} — "
            f"so a patient's two pathogenic alleles are usually different ones."
        )
    total = value(label, "pathogenic_frequency")
    if p.inbreeding > 0 and not founder_q > 0 and total > 0:
        return (
            f"The reason is inbreeding: with F = {p.inbreeding:g}, homozygotes by descent (about "
            f"F·Q of people, Q = {total:.2g} the total frequency of pathogenic alleles) "
            f"outnumber the compound heterozygotes that two different rare alleles give "
            f"(about Q²) by about F/Q = {p.inbreeding / total:.0f} to 1."
        )
    return (
        f"Most patients are homozygous for alleles other than the founder allele: in these "
        f"simulated populations another pathogenic allele (together {other_q:.2g}) drifted up "
        f"beside the founder allele ({founder_q:.2g})."
    )


def _observation_sentences(p: Population, value) -> str:
    parts = []
    for obs in p.observations:
        reach = value(p.label, f"p_reach_observed_{obs.statistic}")
        name = _label(obs.statistic)
        source = f"; {obs.source}" if obs.source else ""
        parts.append(
            f"The published {name} ({_observed_value(obs.statistic, obs.value)}{source}) is "
            f"reached or exceeded in {_pct(100 * reach)} of the simulated populations."
        )
    return " ".join(parts)


def _matching_sentence(p: Population, match: Population, value, tolerance: float) -> str:
    n, total = match.replicates, p.replicates
    window = f"within ±{_pct(100 * tolerance)} of every published value"
    if n == 0:
        nobody = (
            "The one simulated population does not end"
            if total == 1
            else f"None of the {total} simulated populations ends"
        )
        return (
            f"{nobody} {window}: as configured, the "
            f"model does not reproduce the observations."
        )
    founder = value(match.label, "share_founder_homozygotes_percent")
    compound = value(match.label, "share_compound_heterozygotes_percent")
    share_range = _interval(value, match.label, "share_founder_homozygotes_percent")
    subject = _founder_phrase(p.founders) if p.founders else "founder homozygotes"
    return (
        f"{n} of the {counted(total, 'simulated population')} ({_pct(100 * n / total)}) "
        f"{'ends' if n == 1 else 'end'} {window}; "
        f"among {'its' if n == 1 else 'their'} patients {_pct(founder)} are {subject} "
        f"(pooled; bootstrap 95% interval {share_range}) and "
        f"{_pct(compound)} compound heterozygotes."
    )


def _weighted_sentence(p: Population, match: Population, value) -> str:
    histories = counted(p.replicates, "history", "histories")
    if not match.n_eff:
        return (
            f"No simulated history of {p.label} can produce the published counts (every one "
            f"of the {histories} has likelihood 0), so none can be weighted by it: as "
            f"configured, the model does not reproduce the observations."
        )
    founder = value(match.label, "share_founder_homozygotes_percent")
    compound = value(match.label, "share_compound_heterozygotes_percent")
    share_range = _interval(value, match.label, "share_founder_homozygotes_percent")
    founders = (
        f"{_pct(founder)} of patients are {_founder_phrase(p.founders)} (pooled; bootstrap "
        f"95% interval {share_range}) and "
        if p.founders
        else ""
    )
    return (
        f"Weighting the {histories} by their likelihood of the published counts (worth "
        f"{match.n_eff:.1f} equally weighted histories), {founders}{_pct(compound)} of "
        f"patients are compound heterozygotes."
    )


def _contrast_sentence(
    populations: Sequence[Population], matched: dict[str, Population], value
) -> str:
    def dominant(p: Population) -> str:
        shares = {name: value(p.label, stat) for name, stat in CLASSES}
        shares = {k: v for k, v in shares.items() if not math.isnan(v)}
        return max(shares, key=shares.get) if shares else ""

    founder = next((p for p in populations if dominant(p) == "founder homozygotes"), None)
    compounds = [p for p in populations if dominant(p) == "compound heterozygotes"]
    if founder is None or not compounds:
        return ""
    others = [p for p in compounds if p.scenario_id != founder.scenario_id]
    compound = (others or compounds)[0]
    a, b = founder.label, compound.label
    prev_a, prev_b = value(a, "prevalence_per_100k"), value(b, "prevalence_per_100k")
    times = _ratio(prev_a, prev_b)
    how_often = f"{times:,.0f} times as frequent" if math.isfinite(times) else "far more frequent"
    match = matched.get(a)
    histories = (
        "when the histories are weighted by their likelihood of the published counts"
        if match is not None and match.weighted
        else "in the histories that match the published values"
    )
    among_matching = (
        f" ({_pct(value(match.label, CLASSES[0][1]))} {histories})"
        if match is not None and match.replicates > 0 and match.n_eff != 0
        else ""
    )
    return (
        f"Side by side: patients are {how_often} in {a} as in {b} ({_per_100k(prev_a)} vs "
        f"{_per_100k(prev_b)} per 100,000); in {a} {_pct(value(a, CLASSES[0][1]))} of them are "
        f"{_founder_phrase(founder.founders)}{among_matching}, whereas in {b} "
        f"{_pct(value(b, CLASSES[2][1]))} are compound heterozygotes. Which class dominates "
        f"follows from how the pathogenic alleles are spread: one common allele gives "
        f"homozygotes, many rare ones give compound heterozygotes."
    )


def _ratio(a: float, b: float) -> float:
    """a / b; inf where b is 0 and a positive, NaN where either is NaN or both are 0."""
    if math.isnan(a) or math.isnan(b) or (a == 0 and b == 0):
        return math.nan
    return math.inf if b == 0 else a / b


def _pct(x: float) -> str:
    """A percentage (x already in percent) with the precision it needs."""
    if x is None or math.isnan(x):
        return "—"
    if 99.5 <= x < 99.95 or 0.05 <= x < 0.5:
        return f"{x:.1f}%"
    if 0 < x < 0.05:
        return "<0.1%"
    return f"{x:.0f}%"


def _interval(value, label: str, statistic: str) -> str:
    """``low–high`` in %, with as many decimals (up to 2) as it takes to tell two
    different ends apart (2.6%–2.8%, not 3%–3%; :func:`decimals_apart`)."""
    low, high = value(label, statistic, "q025"), value(label, statistic, "q975")
    if math.isnan(low) or math.isnan(high) or low == high or _pct(low) != _pct(high):
        return f"{_pct(low)}–{_pct(high)}"
    d = max(1, decimals_apart(low, high))
    return f"{low:.{d}f}%–{high:.{d}f}%"


def _times(count: int) -> str:
    """'once', 'twice', '3 times'."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _per_100k(x: float) -> str:
    if math.isnan(x):
        return "—"
    if x >= 10:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 1 else f"{x:.2g}"


def _round_count(x: float) -> str:
    """1/frequency rounded to two significant digits, with thousands separators."""
    if not math.isfinite(x) or x <= 0:
        return "—"
    digits = max(0, math.floor(math.log10(x)) - 1)
    return f"{round(x, -digits):,.0f}"


def _number(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.3g}"


def _label(statistic: str) -> str:
    entry = BY_NAME.get(statistic)
    return entry.label if entry is not None else statistic


def _observed_value(statistic: str, value: float) -> str:
    """A published value: "1 in N" for a frequency among people below 1/2."""
    entry = BY_NAME.get(statistic)
    if entry is not None and entry.unit == "per person" and 0 < value < 0.5:
        return f"1 in {1 / value:,.0f}"
    return f"{value:.3g}"


# --------------------------------------------------------------------------- figures


def write_figures(comparison: Comparison, directory: Path) -> dict[str, Path]:
    """Draw the three comparison figures into ``directory``; return {name: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / file for name, file in FIGURES.items()}
    composition_figure(comparison, paths["composition"])
    trajectory_figure(comparison, paths["trajectories"])
    carrier_figure(comparison, paths["carriers"])
    return paths


def composition_figure(comparison: Comparison, path: Path) -> Path:
    """Stacked bars: share of patients per genotype class, one bar per population column."""
    summary = comparison.summary().set_index(["population", "statistic"])["mean"]
    populations = comparison.populations()
    labels = [p.label.replace(" (", "\n(", 1) for p in populations]
    fig = Figure(figsize=(3.6 + 1.5 * len(populations), 4.6))
    ax = fig.subplots()
    bottom = np.zeros(len(populations))
    for name, stat in CLASSES:
        shares = np.array(
            [np.nan_to_num(summary.get((p.label, stat), np.nan)) for p in populations]
        )
        ax.bar(labels, shares, bottom=bottom, color=CLASS_COLOURS[name], label=name)
        bottom += shares
    for x, p in enumerate(populations):
        prevalence = summary.get((p.label, "prevalence_per_100k"), np.nan)
        text = f"{_per_100k(prevalence)} /100,000\nn = {p.replicates}"
        ax.text(x, 101, text, ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 118)
    ax.set_ylabel("% of simulated patients")
    ax.set_title("Patient genotypes at present", fontsize=10)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return save_figure(fig, path)


def _derived_mean(
    comparison: Comparison,
    derived: tuple[Population, Result] | None,
    statistic: str,
    present: np.ndarray,
    d: int,
) -> np.ndarray | None:
    """Mean trajectory of ``statistic`` in deme ``d`` over a derived column's histories
    (the matching ones, or all weighted by likelihood) at the ``present`` records; None
    where the column has no history (none matching, or every weight 0)."""
    if derived is None:
        return None
    population, result = derived
    values = result.statistics[statistic][:, present, d]
    with np.errstate(all="ignore"), warnings.catch_warnings(action="ignore"):
        if not population.weighted:
            return np.nanmean(values, axis=0) if population.replicates > 0 else None
        if not population.n_eff:
            return None
        weights = comparison.weights(population.scenario_id)
        w = np.where(np.isfinite(values), weights[:, None], 0.0)
        return np.nansum(w * values, axis=0) / w.sum(axis=0)


def trajectory_figure(comparison: Comparison, path: Path) -> Path:
    """One panel per population (all replicates): founder and other pathogenic allele
    frequencies over years before present."""
    columns = comparison.columns()
    panels = [(p, r, d) for p, r, d in columns if not p.matched]
    matching = {p.parent: (p, r) for p, r, _ in columns if p.matched}
    n_cols = min(REPORT_COLUMNS, len(panels))
    n_rows = math.ceil(len(panels) / n_cols)
    fig = Figure(figsize=(4.4 * n_cols, 4.6 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax, (population, result, d) in zip(axes.flat, panels, strict=False):
        scenario = result.scenario
        years = result.years_before_present
        series = [("other_frequency", "other pathogenic alleles", "#2166ac")]
        if population.founders:
            series.insert(0, ("founder_frequency", " + ".join(population.founders), "#b2182b"))
        for statistic, label, colour in series:
            values = result.statistics[statistic][:, :, d]
            present = np.isfinite(values).any(axis=0)
            if not present.any():
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings(action="ignore"):
                low, high = nan_quantiles(values[:, present], [0.025, 0.975])
                mean = np.nanmean(values[:, present], axis=0)
            x = years[present]
            ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
            ax.plot(x, mean, color=colour, label=f"{label}: mean (band: 95% of replicates)")
            derived = matching.get(population.label)
            kept = _derived_mean(comparison, derived, statistic, present, d)
            if kept is not None:
                which = "weighted mean" if derived[0].weighted else "mean of matching"
                ax.plot(x, kept, color=colour, ls="--", label=f"{label}: {which}")
        for obs in population.observations:
            if obs.statistic == "founder_frequency":
                ax.axhline(obs.value, color="k", ls=":", lw=1, label="observed")
        time_axis(ax, scenario.generation_time_years)
        ax.set_ylabel("allele frequency")
        ax.set_title(population.label, fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    return save_figure(fig, path)


def carrier_figure(comparison: Comparison, path: Path) -> Path:
    """Histogram (log scale) of the present-day carrier frequency across replicates,
    one panel per population, with the observed value and P(≥ observed) where published."""
    panels = [(p, r, d) for p, r, d in comparison.columns() if not p.matched]
    n_cols = min(REPORT_COLUMNS, len(panels))
    n_rows = math.ceil(len(panels) / n_cols)
    fig = Figure(figsize=(4.4 * n_cols, 3.6 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax, (population, result, d) in zip(axes.flat, panels, strict=False):
        values = result.final_statistics["carrier_frequency"][:, d]
        values = values[np.isfinite(values)]
        positive = values[values > 0]
        observed = [o for o in population.observations if o.statistic == "carrier_frequency"]
        if positive.size:
            low = min(positive.min(), *(o.value for o in observed)) if observed else positive.min()
            high = max(positive.max(), *(o.value for o in observed)) if observed else positive.max()
            bins = np.geomspace(low * 0.9, high * 1.1, 40)
            ax.hist(positive, bins=bins, color="#6a51a3", alpha=0.8)
            ax.set_xscale("log")
        zero = values.size - positive.size
        replicates = counted(values.size, "replicate")
        note = f"{zero} of {replicates} at 0" if zero else replicates
        for obs in observed:
            share = float(np.mean(values >= obs.value)) if values.size else math.nan
            ax.axvline(
                obs.value,
                color="#b2182b",
                lw=1.5,
                label=f"observed {_observed_value(obs.statistic, obs.value)}",
            )
            note += f"\nP(≥ observed) = {_pct(100 * share)}"
        ax.set_xlabel("carrier frequency at present (log scale)")
        ax.set_ylabel("replicates")
        ax.set_title(f"{population.label}\n{note}", fontsize=9)
        if observed:
            ax.legend(fontsize=8, loc="upper right")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    return save_figure(fig, path)


# --------------------------------------------------------------------------- document

Block = tuple  # ("h1"|"h2"|"h3"|"p"|"box"|"ul"|"table"|"figure"|"code", payload…)


def report_blocks(comparison: Comparison, figures: dict[str, Path], command: str) -> list[Block]:
    """The report as a list of blocks that :func:`to_markdown` and :func:`to_html` render."""
    populations = comparison.populations()
    summary = comparison.summary()
    names = "; ".join(e.scenario.name for e in comparison.entries)
    blocks: list[Block] = [
        ("h1", f"GNE myopathy: who the patients are — {names}"),
        ("box", "Bottom line", bottom_line(comparison)),
        ("h2", "The question"),
        ("p", QUESTION),
        ("h2", "What the numbers say"),
        *(("p", text) for text in findings(summary, populations, comparison.tolerance)),
        ("h2", "The numbers"),
        ("p", _table_note(comparison)),
        *_table_blocks(comparison),
        ("h2", "Figures"),
    ]
    for name, path in figures.items():
        blocks.append(("figure", path, CAPTIONS[name]))
    blocks.extend(screening_blocks(comparison))
    blocks.append(("h2", "The scenarios and where their numbers come from"))
    for entry, result in zip(comparison.entries, comparison.results, strict=True):
        blocks.extend(_scenario_blocks(entry.id, entry.scenario, entry.source, result))
    blocks += [
        ("h2", "Limitations"),
        ("ul", limitations(comparison)),
        ("h2", "How this was computed"),
        ("p", _method_note(comparison)),
    ]
    if command:
        blocks.append(("code", command))
    return blocks


def _table_note(comparison: Comparison) -> str:
    return (
        f"Each scenario was simulated {_times(comparison.replicates)} (root seed "
        f"{comparison.seed}); each replicate is one possible history of the population. "
        f"Cells give the mean over replicates and, in brackets, the range that holds 95% of "
        f"replicates. Each share of patients has two rows: pooled over histories (all "
        f"simulated patients together), in brackets its bootstrap 95% interval (resampling "
        f"the histories); and across histories, the mean share of the histories that have "
        f"patients with the range that holds 95% of them (a range of histories, not an "
        f"uncertainty of the mean: the mean of a skewed distribution may lie outside it)."
        f"{_derived_note(comparison, weighted=False)}"
    )


def _derived_note(comparison: Comparison, *, weighted: bool) -> str:
    """How the likelihood-weighted (``weighted``) or the "matching" columns were made;
    empty where the comparison has none."""
    if not any(p.matched and p.weighted == weighted for p in comparison.populations()):
        return ""
    if weighted:
        return (
            ' Columns "weighted by likelihood" weight each history by its probability of the '
            "published counts, divided by the sum over all histories, so their means and "
            "2.5–97.5% ranges are those of the histories the data favour; n_eff = (Σw)²/Σw² "
            "is how many equally weighted histories they are worth."
        )
    return (
        ' Columns marked "matching" keep only the replicates whose present-day values lie '
        f"within ±{_pct(100 * comparison.tolerance)} of every published value of that "
        "population (a cruder rejection rule, kept for scenarios whose observations are "
        "published values without counts)."
    )


def _table_blocks(comparison: Comparison) -> list[Block]:
    """The comparison table as a table block, then its notes (the lines under it that
    are not table rows) as paragraphs."""
    lines = [line for line in comparison.table(markdown=True).splitlines() if line.strip()]
    rows = [line.strip().strip("|").split(" | ") for line in lines if line.startswith("|")]
    notes = [line for line in lines if not line.startswith("|")]
    return [("table", [rows[0], *rows[2:]]), *(("p", note) for note in notes)]


def _method_note(comparison: Comparison) -> str:
    engines = sorted({r.engine for r in comparison.results})
    from popsim._version import __version__

    return (
        f"Forward Wright–Fisher simulation ({', '.join(engines)} engine) with popsim "
        f"{__version__}: migration, mutation (each new pathogenic allele distinct), selection "
        f"on affected genotypes, then drift, every generation; a burn-in brings outbred "
        f"populations to mutation–selection–drift balance first. Genotype frequencies are the "
        f"expected ones given each replicate's allele frequencies and the inbreeding "
        f"coefficient F; patients are the affected genotypes times the penetrance."
        f"{_derived_note(comparison, weighted=True)} Simulation time "
        f"{comparison.wall_seconds:.1f} s. The same numbers come back with:"
    )


def _scenario_blocks(
    scenario_id: str, scenario: Scenario, source: str, result: Result
) -> list[Block]:
    """The settings of one scenario; F per deme is the simulated one at the final
    generation (:meth:`popsim.analysis.results.Result.final_inbreeding`: for the pedigree
    engine the measured pedigree F, not the config's)."""

    years = scenario.generations * scenario.generation_time_years
    blocks: list[Block] = [
        ("h3", f"{scenario.name} ({scenario_id})"),
        ("p", " ".join(scenario.description.split()) or "(no description)"),
    ]
    locus = scenario.locus
    settings = [
        ["setting", "value"],
        ["config", source or scenario_id],
        [
            "generations simulated",
            f"{scenario.generations} ({years:,.0f} years at "
            f"{scenario.generation_time_years:g} years a generation)",
        ],
        ["burn-in (generations)", f"{scenario.burn_in:,}"],
        [
            "pathogenic mutation rate u",
            f"{locus.pathogenic_mutation_rate:g} per gene copy per generation",
        ],
        ["fitness of affected genotypes", f"1 − s = {1 - locus.selection.affected:g}"],
        ["penetrance", f"{locus.penetrance:g} (patients per person with an affected genotype)"],
    ]
    for allele in locus.founder_alleles:
        amount = (
            (f"{allele.copies} copy" if allele.copies == 1 else f"{allele.copies} copies")
            if allele.copies is not None
            else f"frequency {allele.frequency:g}"
        )
        settings.append(
            [
                f"founder allele {allele.name}",
                f"{amount} in {allele.deme} at generation {allele.generation}",
            ]
        )
    for m in scenario.migrations:
        settings.append(
            [f"migration {m.source} → {m.dest}", f"{m.rate:g} of parents per generation"]
        )
    blocks.append(("table", settings))
    demes = [["population", "size", "founded", "F (simulated, final generation)", "description"]]
    for d, deme in enumerate(scenario.demes):
        founded = (
            f"generation {deme.founded.generation} from "
            f"{', '.join(name for name, _ in deme.founded.sources)} by "
            f"{deme.founded.founders:,}"
            if deme.founded
            else "—"
        )
        demes.append(
            [
                deme.name,
                _size_text(deme),
                founded,
                _number(result.final_inbreeding(d)),
                " ".join(deme.description.split()),
            ]
        )
    blocks.append(("table", demes))
    if scenario.observations:
        rows = [["published value", "population", "value", "source"]]
        for obs in scenario.observations:
            rows.append(
                [
                    _label(obs.statistic),
                    obs.deme,
                    _observed_value(obs.statistic, obs.value),
                    obs.source,
                ]
            )
        blocks.append(("table", rows))
    blocks.extend(_evidence_blocks(scenario, result))
    if scenario.citations:
        blocks.append(("p", "Sources:"))
        blocks.append(("ul", list(scenario.citations)))
    return blocks


def _evidence_blocks(scenario: Scenario, result: Result) -> list[Block]:
    """The count observations of ``scenario``: a table of their evidence and p-values
    (:mod:`popsim.analysis.evidence`) and, per observation, a sentence saying whether
    the scenario is consistent with it (posterior-predictive p-value ≥
    :data:`CONSISTENT_P`)."""
    if not scenario.count_observations:
        return []
    rows = {r["statistic"]: r for r in result.summary_rows()}
    table = [["observation", "population", "data", "evidence [95%]", "p-value", "source"]]
    sentences = []
    for obs in scenario.count_observations:
        ev, ppp = rows[f"evidence_{obs.name}"], rows[f"ppp_{obs.name}"]["mean"]
        table.append([
            obs.name, obs.deme, _counts_text(obs),
            f"{ev['mean']:.3g} [{ev['q025']:.3g}–{ev['q975']:.3g}]", f"{ppp:.3f}", obs.source,
        ])
        if not ppp >= 0:
            verdict = "no simulated history defines the quantities it needs"
        elif ppp >= CONSISTENT_P:
            verdict = f"the scenario is consistent with it (p-value {ppp:.2f} ≥ {CONSISTENT_P})"
        else:
            what = "value" if isinstance(obs, RateObservation) else "count"
            verdict = (f"the scenario is not consistent with it (p-value {ppp:.2g} < "
                       f"{CONSISTENT_P}): so extreme a {what} is rare in its histories")
        sentences.append(f"{obs.name} ({_counts_text(obs)}): {verdict}.")
    total = rows["evidence_total"]
    note = (
        "Published counts are data with a likelihood: each simulated history gives them a "
        "probability, the evidence is the mean of that probability over histories, and "
        "the p-value is the probability, over histories and sampling, of counts at least "
        "as extreme. " + " ".join(sentences)
        + f" All together the evidence is {total['mean']:.3g}."
        + _survival_sentence(result)
        + " A p-value says whether the data are unusual among this scenario's histories, "
        "not which assumption is wrong; the evidence of one scenario alone fixes no "
        "parameter: compare it between scenarios that differ in one assumption."
    )
    return [("table", table), ("p", note)]


def _survival_sentence(result: Result) -> str:
    """How much of the evidence is the founder allele's survival: its loss rate and the
    evidence among the histories where it survives (:func:`evidence_given_founder`)."""
    from popsim.analysis.evidence import evidence_given_founder

    given = evidence_given_founder(result)
    lost = {name: v[0] for name, v in given.items()}
    if not given or max(lost.values()) < 0.05:
        return ""
    share = max(lost.values())
    parts = ", ".join(f"{v[1]:.3g} ({name})" for name, v in given.items())
    return (
        f" The founder allele is lost in up to {_pct(100 * share)} of histories, and those "
        f"give an observation of it likelihood 0: much of the evidence is the chance that "
        f"one founder copy survives. The allele was studied because it is there; among the "
        f"histories where it survives the evidence is {parts}."
    )


def _counts_text(obs: LikelihoodObservation) -> str:
    """The observed counts in words, e.g. "47 of 47 families founder homozygous"."""
    if isinstance(obs, RateObservation):
        return (f"{obs.statistic} {obs.value:.3g} (stated 95% range "
                f"{obs.low:.3g}–{obs.high:.3g}, no sample size)")
    detected = "founder-allele" if obs.allele == "founder" else "any-allele"
    if obs.form == "screen":
        return f"{obs.count('carriers')} {detected} carriers of {obs.total:,} screened"
    if obs.form == "genotypes":
        return (f"{obs.count('heterozygotes')} {detected} heterozygotes and "
                f"{obs.count('homozygotes')} homozygotes of {obs.total:,} sampled")
    if obs.form == "prevalence":
        return f"{obs.count('patients')} patients in {obs.total:,} people"
    return (f"{obs.total} families: {obs.count('founder_homozygous')} founder homozygous, "
            f"{obs.count('compound_heterozygous')} compound heterozygous, "
            f"{obs.count('other_homozygous')} other homozygous")


def _size_text(deme: Deme) -> str:
    parts = []
    for epoch in deme.epochs:
        size = (
            f"{epoch.start:,}"
            if epoch.start == epoch.end
            else (f"{epoch.start:,} → {epoch.end:,} ({epoch.growth})")
        )
        parts.append(
            size if len(deme.epochs) == 1 else f"from generation {epoch.start_generation}: {size}"
        )
    return "; ".join(parts)


def to_markdown(blocks: Sequence[Block], relative_to: Path) -> str:
    """Render blocks as Markdown; figures link to their files relative to ``relative_to``.

    Text is plain text, as :func:`to_html` shows it: Markdown and HTML in it
    (from a config's names, descriptions and citations) are escaped
    (:func:`markdown_text`), and a code block's fence is longer than any run of
    backticks inside it.
    """
    esc = markdown_text
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {esc(block[1])}")
        elif kind == "p":
            out.append(esc(block[1]))
        elif kind == "box":
            out.append(f"> **{esc(block[1])}.** " + " ".join(esc(s) for s in block[2]))
        elif kind == "ul":
            out.append("\n".join(f"- {esc(item)}" for item in block[1]))
        elif kind == "code":
            longest = max((len(run) for run in re.findall("`+", block[1])), default=0)
            fence = "`" * max(3, longest + 1)
            out.append(f"{fence}\n{block[1]}\n{fence}")
        elif kind == "table":
            rows = [[esc(cell) for cell in row] for row in block[1]]
            lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
            out.append("\n".join(lines))
        elif kind == "figure":
            path, caption = block[1], esc(block[2])
            out.append(f"![{caption}]({path.relative_to(relative_to).as_posix()})\n\n*{caption}*")
    return "\n\n".join(out) + "\n"


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown: one line, its Markdown and HTML characters escaped.

    Backslash-escapes every character that starts inline markup or HTML
    (``\\ ` * _ [ ] < > & | ~``), and a leading ``#``, ``+``, ``-`` or ``1.``
    that would start a heading, list or rule (``-0.5`` and ``0.03`` stay as
    they are); line breaks become spaces.
    """
    text = re.sub(r"([\\`*_\[\]<>&|~])", r"\\\1", " ".join(text.split()))
    text = re.sub(r"^([#+\-])(?=[\s#+\-]|$)", r"\\\1", text)
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)


STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }
h1 { font-size: 1.6em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.bottom-line { display: block; background: #eef5fb; border-left: 5px solid #2166ac;
               padding: .8em 1em; margin: 1em 0; font-size: 1.1em; }
table { display: block; overflow-x: auto; max-width: 100%; }
"""


def to_html(blocks: Sequence[Block]) -> str:
    """Render blocks as one self-contained HTML page (figures embedded as base64 PNG)."""
    esc = html.escape
    body = []
    title = next((b[1] for b in blocks if b[0] == "h1"), "popsim report")
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{esc(block[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{esc(block[1])}</p>")
        elif kind == "box":
            body.append(
                f'<aside class="bottom-line"><strong>{esc(block[1])}.</strong> '
                + " ".join(esc(s) for s in block[2]) + "</aside>"
            )
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "code":
            body.append(f"<pre><code>{esc(block[1])}</code></pre>")
        elif kind == "table":
            head, *rows = block[1]
            cells = "".join(f"<th>{esc(c)}</th>" for c in head)
            lines = [f"<tr>{cells}</tr>"]
            lines += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
            body.append("<table>" + "".join(lines) + "</table>")
        elif kind == "figure":
            data = base64.b64encode(Path(block[1]).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img alt="{esc(block[2])}" src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(block[2])}</figcaption></figure>"
            )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(
    comparison: Comparison, directory: Path, figures: dict[str, Path], command: str = ""
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``directory``; return their paths."""
    blocks = report_blocks(comparison, figures, command)
    md, page = directory / "report.md", directory / "report.html"
    md.write_text(to_markdown(blocks, directory), encoding="utf-8")
    page.write_text(to_html(blocks), encoding="utf-8")
    return md, page
