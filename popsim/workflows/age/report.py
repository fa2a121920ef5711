"""What ``popsim age`` prints and writes: the estimates table, the figure, report.md."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from popsim.analysis.age.gamma import AgeEstimate
from popsim.outputs.files import write_csv, write_text_atomic
from popsim.outputs.tables import fmt, render


def estimate_rows(estimates: Sequence[AgeEstimate], generation_years: float) -> list[list[str]]:
    """Header and one row per estimator: age and interval in generations and years."""
    level = f"{estimates[0].level:.0%}" if estimates else "95%"
    rows = [["estimator", "age (generations)", f"{level} interval", "age (years)",
             f"{level} interval (years)"]]
    for e in estimates:
        rows.append([
            e.method, fmt(e.generations), f"[{fmt(e.lower)}, {fmt(e.upper)}]",
            fmt(e.generations * generation_years),
            f"[{fmt(e.lower * generation_years)}, {fmt(e.upper * generation_years)}]",
        ])
    return rows


def lengths_figure(left_cm: np.ndarray, right_cm: np.ndarray,
                   estimates: Sequence[AgeEstimate], path: Path) -> Path:
    """Per-carrier shared length L = left + right (cM): the data's empirical
    distribution against Gamma(2, τ̂) for each estimate τ̂ (the independent model)."""
    total = np.sort(np.asarray(left_cm) + np.asarray(right_cm))
    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.add_subplot()
    axes.step(total, np.arange(1, total.size + 1) / total.size, where="post", color="black",
              label=f"carriers (n = {total.size})")
    grid = np.linspace(0, total.max() * 1.3, 300)
    for e in estimates:
        axes.plot(grid, stats.gamma.cdf(grid / 100, 2, scale=1 / e.generations),
                  label=f"{e.method}: Gamma(2, {e.generations:.3g}/M)")
    axes.set_xlabel("shared length, left + right (cM)")
    axes.set_ylabel("fraction of carriers ≤ length")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def write_report(directory: Path, *, source: str, scenario_name: str, generation_years: float,
                 carriers: Sequence[str], left_cm: np.ndarray, right_cm: np.ndarray,
                 estimates: Sequence[AgeEstimate], notes: Sequence[str]) -> None:
    """Fill ``directory``: lengths.csv (the cM lengths used), estimates.csv,
    shared_lengths.png, report.md."""
    write_csv(directory / "lengths.csv", {"carrier": list(carriers), "left_cm": left_cm,
                                          "right_cm": right_cm})
    write_csv(directory / "estimates.csv", {
        "estimator": [e.method for e in estimates],
        "generations": [e.generations for e in estimates],
        "lower": [e.lower for e in estimates],
        "upper": [e.upper for e in estimates],
        "level": [e.level for e in estimates],
        "years": [e.generations * generation_years for e in estimates],
        "lower_years": [e.lower * generation_years for e in estimates],
        "upper_years": [e.upper * generation_years for e in estimates],
    })
    lengths_figure(left_cm, right_cm, estimates, directory / "shared_lengths.png")
    text = [
        f"# Allele age: {source}",
        "",
        f"{len(carriers)} carriers; scenario {scenario_name!r} "
        f"(generation time {generation_years:g} years). Model and estimators: docs/age.md.",
        "",
        render(estimate_rows(estimates, generation_years), markdown=True),
        "",
        *[f"- {note}" for note in notes],
        "",
        "![shared lengths against the fitted model](shared_lengths.png)",
        "",
    ]
    write_text_atomic(directory / "report.md", "\n".join(text))
