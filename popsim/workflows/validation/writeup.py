"""Writing a validation run: checks.csv, report.md and figures/*.png, atomically."""

from __future__ import annotations

import math
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from popsim._version import __version__
from popsim.outputs.files import write_directory
from popsim.outputs.tables import render
from popsim.outputs.words import counted
from popsim.workflows.validation import figures
from popsim.workflows.validation.core import FAMILY_ALPHA, Report, Row
from popsim.workflows.validation.stats import power_against_shift

CSV_COLUMNS = (
    "check",
    "engine",
    "kind",
    "quantity",
    "prediction",
    "observed",
    "error",
    "test",
    "statistic",
    "p_value",
    "alpha",
    "power_10pct",
    "tolerance",
    "verdict",
)


def verdict(row: Row) -> str:
    return "pass" if row.passed else "FAIL"


def table(report: Report) -> pd.DataFrame:
    """One row per table line, the columns of checks.csv."""
    records = []
    for row in report.rows:
        record = asdict(row)
        record.pop("passed")
        record["alpha"] = report.alpha if row.kind == "simulation" else math.nan
        record["power_10pct"] = row_power(report, row)
        record["verdict"] = verdict(row)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(CSV_COLUMNS))


def row_power(report: Report, row: Row) -> float:
    """A simulation row's power against a shift of its quantity by 10% of its
    prediction (``POWER_SHIFT``, :func:`~popsim.workflows.validation.stats.
    power_against_shift`), at the run's per-test level; NaN for other rows."""
    if row.kind != "simulation":
        return math.nan
    return power_against_shift(row.prediction, row.error, report.z_critical)


def number(value: float, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def simulation_lines(report: Report, markdown: bool) -> list[list[str]]:
    header = [
        "check",
        "engine",
        "quantity",
        "prediction",
        "simulated",
        "sampling error",
        "test",
        "p-value",
        "power vs 10% shift",
        "verdict",
    ]
    body = [
        [
            r.check,
            r.engine,
            _short(r.quantity, markdown),
            number(r.prediction),
            number(r.observed),
            number(r.error, 2),
            r.test,
            number(r.p_value, 3),
            number(row_power(report, r), 2),
            verdict(r),
        ]
        for r in report.rows
        if r.kind == "simulation"
    ]
    return [header, *body]


def deterministic_lines(report: Report, markdown: bool) -> list[list[str]]:
    header = [
        "check",
        "kind",
        "quantity",
        "approximation / closed form",
        "exact / enumeration",
        "|difference|",
        "criterion",
        "statistic",
        "verdict",
    ]
    body = [
        [
            r.check,
            r.kind,
            _short(r.quantity, markdown),
            number(r.prediction, 6),
            number(r.observed, 6),
            number(r.error, 2),
            _short(r.test, markdown, 80),
            number(r.statistic, 3),
            verdict(r),
        ]
        for r in report.rows
        if r.kind != "simulation"
    ]
    return [header, *body]


def _short(text: str, markdown: bool, width: int = 60) -> str:
    """Markdown: the whole text with pipes escaped; terminal: cut to ``width``."""
    if markdown:
        return text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def headline(report: Report) -> str:
    failed = [r for r in report.rows if not r.passed]
    rows = counted(len(report.rows), "row")
    status = "PASS" if not failed else f"FAIL ({len(failed)} of {rows} failed)"
    return (
        f"{status}: {rows} from {counted(len(report.runs), 'check run')} "
        f"({'quick' if report.settings.quick else 'full'} mode, {report.seconds:.1f} s); "
        f"{counted(report.simulation_tests, 'simulation test')} at family-wise "
        f"α = {FAMILY_ALPHA:g}, "
        f"Bonferroni per-test α = {report.alpha:.2g} (|z| > {report.z_critical:.2f} fails)"
    )


def terminal_text(report: Report) -> str:
    parts = [headline(report)]
    if report.simulation_tests:
        parts.append(render(simulation_lines(report, markdown=False)))
    if len(report.rows) > report.simulation_tests:
        parts.append(render(deterministic_lines(report, markdown=False)))
    return "\n\n".join(parts)


def write(report: Report, directory: Path, overwrite: bool = False) -> Path:
    """Write report.md, checks.csv and figures/ into ``directory`` (atomically)."""

    def fill(tmp: Path) -> None:
        figure_dir = tmp / "figures"
        figure_dir.mkdir()
        drawn: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        for run in report.runs:
            for figure in run.outcome.figures:
                path = figure_dir / f"{figure.name}.png"
                figure.draw(path, report.z_critical)
                drawn.setdefault((run.check.name, run.engine), []).append(
                    (f"figures/{path.name}", figure.caption)
                )
        if report.simulation_tests:
            p_value_figure(report, figure_dir / "p-values.png")
        table(report).to_csv(tmp / "checks.csv", index=False)
        (tmp / "report.md").write_text(markdown(report, drawn), encoding="utf-8")

    return write_directory(Path(directory), fill, overwrite=overwrite)


def markdown(report: Report, drawn: dict[tuple[str, str | None], list[tuple[str, str]]]) -> str:
    import numba

    lines = [
        "# popsim validation report",
        "",
        f"popsim {__version__} · numpy {np.__version__} · numba {numba.__version__} · "
        f"Python {platform.python_version()} · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"**{headline(report)}.**",
        "",
        "Every check uses fixed seeds, so this report is reproducible. Simulation rows are "
        "statistical tests of an engine against a prediction; their p-values are compared "
        f"with α = {FAMILY_ALPHA:g}/m (Bonferroni over the m = {report.simulation_tests} tests "
        "of this run), so a correct engine fails the run with probability at most "
        f"{FAMILY_ALPHA:g}. Approximation and identity rows are deterministic comparisons "
        "with the stated criterion. See docs/validation.md for every check's logic and source.",
        "",
    ]
    if report.simulation_tests:
        lines += [
            "## Simulation against prediction",
            "",
            render(simulation_lines(report, markdown=True), markdown=True),
            "",
            "![p-values](figures/p-values.png)",
            "",
            "*All simulation p-values against the uniform distribution they follow when every "
            "engine is right; the dashed line is the Bonferroni threshold.*",
            "",
        ]
    if len(report.rows) > report.simulation_tests:
        lines += [
            "## Approximations and identities",
            "",
            render(deterministic_lines(report, markdown=True), markdown=True),
            "",
        ]
    lines += ["## Checks", ""]
    seen: set[str] = set()
    for run in report.runs:
        check = run.check
        if check.name not in seen:
            seen.add(check.name)
            lines += [
                f"### {check.name}: {check.title}",
                "",
                check.description,
                "",
                f"*Source:* {check.source}",
                "",
            ]
        rows = [r for r in report.rows if r.check == check.name and r.engine == (run.engine or "—")]
        passed = sum(bool(r.passed) for r in rows)
        engine = f"{run.engine} engine" if run.engine else "theory"
        lines += [f"**{engine}:** {passed}/{len(rows)} rows pass ({run.seconds:.1f} s).", ""]
        for path, caption in drawn.get((check.name, run.engine), []):
            lines += [f"![{check.name}]({path})", "", f"*{caption}*", ""]
    return "\n".join(lines)


def p_value_figure(report: Report, path: Path) -> None:
    """QQ plot of the simulation p-values against Uniform(0, 1), log scale, with the
    pointwise 95 % band of uniform order statistics (k-th smallest ~ Beta(k, m − k + 1))."""
    rows = [r for r in report.rows if r.kind == "simulation"]
    p = np.array([max(r.p_value, 1e-300) for r in rows])
    order = np.argsort(p)
    m = p.size
    k = np.arange(1, m + 1)
    expected = -np.log10((k - 0.5) / m)
    low, high = (-np.log10(stats.beta.ppf(q, k, m - k + 1)) for q in (0.975, 0.025))
    fig, (ax,) = figures.panels(1, width=5.0, height=4.2)
    ax.fill_between(expected, low, high, color="#d5d8dc", lw=0, label="95 % band if uniform")
    colours = [figures.SIMULATED if not rows[j].passed else figures.APPROXIMATION for j in order]
    ax.scatter(expected, -np.log10(p[order]), s=14, c=colours, zorder=3)
    top = max(expected[0], -np.log10(report.alpha), -np.log10(p.min())) * 1.1
    ax.plot([0, top], [0, top], color=figures.PREDICTED, lw=0.8, label="uniform p-values")
    ax.axhline(
        -np.log10(report.alpha),
        color=figures.SIMULATED,
        ls="--",
        lw=0.8,
        label=f"Bonferroni α = {report.alpha:.1e} (fail above)",
    )
    ax.set_xlabel("−log₁₀ expected p (uniform)")
    ax.set_ylabel("−log₁₀ observed p")
    ax.legend(fontsize=7, loc="upper left")
    figures.save(fig, path, f"{m} simulation tests: p-values against uniform")
