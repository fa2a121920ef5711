"""Matplotlib figures of results (PNG; no display needed).

Every figure module of popsim draws on :class:`matplotlib.figure.Figure`
objects and saves them (PNG through Agg), never through pyplot: no global
state, so writing results neither switches a user's backend (a notebook's
inline one) nor leaves figures open in pyplot.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from popsim.analysis.quantiles import nan_quantiles
from popsim.genetics.statistics import BY_NAME, REGISTRY
from popsim.model.plan import founder_demes
from popsim.outputs.files import write_bytes_atomic

if TYPE_CHECKING:
    from popsim.analysis.results import Result

CLASS_COLOURS = {
    "founder homozygotes": "#b2182b",
    "other homozygotes": "#ef8a62",
    "compound heterozygotes": "#2166ac",
}


def save_figure(fig: Figure, path: Path, dpi: int = 120) -> Path:
    """Write ``fig`` as ``path`` (PNG, for the report and a quick look) and as the same
    name with ``.svg`` beside it (a vector copy for a paper), each atomically;
    return ``path``."""
    import matplotlib

    for target, kind in ((path, "png"), (path.with_suffix(".svg"), "svg")):
        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "popsim"}):  # ids fixed, not random
            fig.savefig(buffer, format=kind, dpi=dpi,
                        metadata=SVG_METADATA if kind == "svg" else None)
        write_bytes_atomic(target, buffer.getvalue())
    return path


#: SVG metadata: no creation date; with a fixed hash salt for element ids, the same
#: figure gives the same bytes.
SVG_METADATA = {"Date": None}


def safe_name(name: str) -> str:
    """A file-name part for a deme, parameter or statistic name, different for different names.

    A name of letters, digits, ``_``, ``.`` and ``-`` that starts with a letter or
    digit is used as it is (so ``x``, ``x_`` and ``x.`` stay apart); any other is
    reduced to those characters and followed by 8 hex digits of its SHA-256, so
    no two names share a file and none holds a path separator.
    """
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        return name
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "unnamed"
    return f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def result_figures(result: Result, directory: Path) -> list[Path]:
    """Write every standard figure of ``result`` into ``directory``; return their paths.

    A founder-frequency chart is drawn only for the demes the founder allele can
    reach (:func:`popsim.model.plan.founder_demes`): elsewhere it would be a flat 0.
    """
    directory.mkdir(parents=True, exist_ok=True)
    reached = founder_demes(result.plan)
    paths = [
        fan_chart(result, d, directory / f"founder_frequency_{safe_name(deme)}.png")
        for d, deme in enumerate(result.deme_names)
        if reached[d]
    ]
    paths.append(patient_composition(result, directory / "patient_genotypes.png"))
    if result.observed is not None:
        paths.append(observed_vs_expected(result, directory / "observed_vs_expected.png"))
    return paths


def time_axis(ax, generation_time_years: float) -> None:
    """Make ``ax``'s x axis the time convention of every figure: years before present,
    the present at the right, generations before present on the top axis."""
    ax.invert_xaxis()
    ax.set_xlabel("years before present")
    top = ax.secondary_xaxis(
        "top", functions=(lambda y: y / generation_time_years, lambda g: g * generation_time_years)
    )
    top.set_xlabel(f"generations before present ({generation_time_years:g} years each)",
                   fontsize=8)
    top.tick_params(labelsize=8)


def fan_chart(result: Result, deme: int, path: Path) -> Path:
    """Founder allele frequency over time in one deme: median, 50% and 95% bands."""
    values = result.statistics["founder_frequency"][:, :, deme]
    years = result.years_before_present
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    with np.errstate(all="ignore"):
        present = np.isfinite(values).any(axis=0)
        if present.any():
            v = values[:, present]
            x = years[present]
            q = nan_quantiles(v, [0.025, 0.25, 0.5, 0.75, 0.975])
            ax.fill_between(x, q[0], q[4], color="#9ecae1", label="95% of replicates")
            ax.fill_between(x, q[1], q[3], color="#4292c6", label="50% of replicates")
            ax.plot(x, q[2], color="#08306b", label="median")
            ax.plot(x, np.nanmean(v, axis=0), color="k", ls="--", lw=1, label="mean")
    for obs in result.scenario.observations:
        if obs.deme == result.deme_names[deme] and obs.statistic == "founder_frequency":
            ax.axhline(obs.value, color="#b2182b", ls=":", label=f"observed ({obs.source})"[:60])
    time_axis(ax, result.scenario.generation_time_years)
    ax.set_ylabel(BY_NAME["founder_frequency"].label)
    ax.set_title(f"{result.scenario.name}\n{result.deme_labels[deme]}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    return save_figure(fig, path)


def patient_composition(result: Result, path: Path) -> Path:
    """Stacked bars: share of expected patients (from each history's allele
    frequencies and F) in each genotype class, per deme, in %."""
    summary = {(row["deme"], row["statistic"]): row["mean"] for row in result.summary_rows()}
    classes = {BY_NAME[s.pooled[0]].label: s.name for s in REGISTRY if s.pooled is not None}
    fig = Figure(figsize=(1.8 + 1.4 * len(result.deme_names), 4))
    ax = fig.subplots()
    bottom = np.zeros(len(result.deme_names))
    for label, stat in classes.items():
        shares = 100 * np.array(
            [np.nan_to_num(summary.get((deme, stat), np.nan)) for deme in result.deme_names]
        )
        ax.bar(result.deme_labels, shares, bottom=bottom, color=CLASS_COLOURS[label], label=label)
        bottom += shares
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of patients, % (pooled over replicates)")
    ax.set_title("Expected patient genotypes at the present\n(from allele frequencies and F)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, path)


def observed_vs_expected(result: Result, path: Path) -> Path:
    """Pedigree engine: observed genotype-class frequencies of the simulated
    individuals against those expected from their allele frequencies and F, per
    100,000 people, over years before present; only the demes simulated as
    individuals (not a hybrid run's hosts)."""
    stats = result.statistics
    pairs = [(BY_NAME[s.pooled[0]].label, s.pooled[0]) for s in REGISTRY if s.pooled is not None]
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, len(pairs))
    years = result.years_before_present
    for ax, (label, name) in zip(axes, pairs, strict=True):
        for d, deme in enumerate(result.deme_labels):
            if result.deme_engines[result.deme_names[d]] != "pedigree":
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # generations before founding
                exp = 1e5 * np.nanmean(stats[name][:, :, d], axis=0)
                obs = 1e5 * np.nanmean(stats[f"observed_{name}"][:, :, d], axis=0)
            line = ax.plot(years, exp, ls="--", label=f"{deme}: expected")[0]
            ax.plot(years, obs, color=line.get_color(), label=f"{deme}: observed")
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("per 100,000 people", fontsize=8)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        time_axis(ax, result.scenario.generation_time_years)
    fig.suptitle(
        f"{result.scenario.name}: genotypes observed among the simulated individuals "
        "(solid) and expected from their allele frequencies and F (dashed), "
        "mean over replicates", fontsize=9,
    )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
               fontsize=8)
    return save_figure(fig, path)
