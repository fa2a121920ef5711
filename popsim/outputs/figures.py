"""Matplotlib figures of results (PNG; no display needed).

Every figure module of popsim draws on :class:`matplotlib.figure.Figure`
objects and saves them (PNG through Agg), never through pyplot: no global
state, so writing results neither switches a user's backend (a notebook's
inline one) nor leaves figures open in pyplot.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from popsim.genetics.statistics import BY_NAME, REGISTRY

if TYPE_CHECKING:
    from popsim.analysis.results import Result

CLASS_COLOURS = {
    "founder homozygotes": "#b2182b",
    "other homozygotes": "#ef8a62",
    "compound heterozygotes": "#2166ac",
}


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
    """Write every standard figure of ``result`` into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [
        fan_chart(result, d, directory / f"founder_frequency_{safe_name(deme)}.png")
        for d, deme in enumerate(result.deme_names)
    ]
    paths.append(patient_composition(result, directory / "patient_genotypes.png"))
    if result.observed is not None:
        paths.append(observed_vs_expected(result, directory / "observed_vs_expected.png"))
    return paths


def fan_chart(result: Result, deme: int, path: Path) -> Path:
    """Founder allele frequency over time in one deme: median, 50% and 95% bands."""
    values = result.statistics["founder_frequency"][:, :, deme]
    years = result.generations * result.scenario.generation_time_years
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    with np.errstate(all="ignore"):
        present = np.isfinite(values).any(axis=0)
        if present.any():
            v = values[:, present]
            x = years[present]
            q = np.nanquantile(v, [0.025, 0.25, 0.5, 0.75, 0.975], axis=0)
            ax.fill_between(x, q[0], q[4], color="#9ecae1", label="95% of replicates")
            ax.fill_between(x, q[1], q[3], color="#4292c6", label="50% of replicates")
            ax.plot(x, q[2], color="#08306b", label="median")
            ax.plot(x, np.nanmean(v, axis=0), color="k", ls="--", lw=1, label="mean")
    for obs in result.scenario.observations:
        if obs.deme == result.deme_names[deme] and obs.statistic == "founder_frequency":
            ax.axhline(obs.value, color="#b2182b", ls=":", label=f"observed ({obs.source})"[:60])
    ax.set_xlabel("years since generation 0")
    ax.set_ylabel(BY_NAME["founder_frequency"].label)
    ax.set_title(f"{result.scenario.name}\n{result.deme_names[deme]}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def patient_composition(result: Result, path: Path) -> Path:
    """Stacked bars: share of expected patients in each genotype class, per deme."""
    summary = {(row["deme"], row["statistic"]): row["mean"] for row in result.summary_rows()}
    classes = {BY_NAME[s.pooled[0]].label: s.name for s in REGISTRY if s.pooled is not None}
    fig = Figure(figsize=(1.8 + 1.4 * len(result.deme_names), 4))
    ax = fig.subplots()
    bottom = np.zeros(len(result.deme_names))
    for label, stat in classes.items():
        shares = np.array(
            [np.nan_to_num(summary.get((deme, stat), np.nan)) for deme in result.deme_names]
        )
        ax.bar(result.deme_names, shares, bottom=bottom, color=CLASS_COLOURS[label], label=label)
        bottom += shares
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of patients (pooled over replicates)")
    ax.set_title(f"Patient genotypes at generation {result.plan.generations}", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def observed_vs_expected(result: Result, path: Path) -> Path:
    """Pedigree engine: observed genotype-class frequencies against expected ones, for
    the demes simulated as individuals (not a hybrid run's hosts)."""
    stats = result.statistics
    pairs = [(BY_NAME[s.pooled[0]].label, s.pooled[0]) for s in REGISTRY if s.pooled is not None]
    fig = Figure(figsize=(11, 3.6))
    axes = fig.subplots(1, len(pairs))
    years = result.generations * result.scenario.generation_time_years
    for ax, (label, name) in zip(axes, pairs, strict=True):
        for d, deme in enumerate(result.deme_names):
            if result.deme_engines[deme] != "pedigree":
                continue
            with np.errstate(all="ignore"):
                exp = np.nanmean(stats[name][:, :, d], axis=0)
                obs = np.nanmean(stats[f"observed_{name}"][:, :, d], axis=0)
            line = ax.plot(years, exp, ls="--", label=f"{deme} expected")[0]
            ax.plot(years, obs, color=line.get_color(), label=f"{deme} observed")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("years")
    axes[0].set_ylabel("frequency among individuals (mean over replicates)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
