"""Plain-text tables for the terminal (and Markdown reports)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from popsim.genetics.statistics import run_table

#: One summary row: deme (or another key column), statistic, mean, q025, median, q975.
Row = Mapping[str, Any]

#: Statistics the compact run table shows, with their labels (from the registry).
RUN_TABLE = run_table()


#: The first column's heading: what a cell's numbers are (a row's label says when its
#: interval is a pooled share's bootstrap interval instead).
HEADER = "statistic (mean [2.5%, 97.5% of histories] or as labelled)"


def fmt(value: float) -> str:
    """Three significant digits (whole numbers from 1,000), scientific below 0.001 and
    from 10⁵; '—' for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.3g}"


#: The mark of a mean outside the range of 95% of histories, and what it means.
OUTSIDE_MARK = "*"
OUTSIDE_NOTE = (
    "* the mean lies outside the range of 95% of histories: a few histories carry most "
    "of it (the median is inside)"
)


def _outside(row: Row) -> bool:
    """Whether a row's mean lies outside its 2.5–97.5% range (False where it has none)."""
    return row["mean"] < row["q025"] or row["mean"] > row["q975"]  # False with NaN


def cell(row: Row) -> str:
    """'mean [q025, q975]', or just the value for probabilities; the mean marked with
    :data:`OUTSIDE_MARK` where a skewed distribution puts it outside the range."""
    if math.isnan(row["q025"]) and math.isnan(row["q975"]):
        return fmt(row["mean"])
    mark = OUTSIDE_MARK if _outside(row) else ""
    return f"{fmt(row['mean'])}{mark} [{fmt(row['q025'])}, {fmt(row['q975'])}]"


def summary_table(
    rows: Sequence[Row],
    statistics: tuple[tuple[str, str], ...] = RUN_TABLE,
    markdown: bool = False,
    columns: str = "deme",
) -> str:
    """Rows = statistics, one column per value of ``columns`` (deme or scenario), then
    a ``P(≥ observed …)`` row per observation; :data:`OUTSIDE_NOTE` under the table
    when a cell carries :data:`OUTSIDE_MARK`.

    ``rows``: summary rows as mappings (:meth:`popsim.analysis.results.Result.summary_rows`,
    or a summary DataFrame's ``to_dict("records")``).
    """
    keys = list(dict.fromkeys(row[columns] for row in rows))
    indexed: dict[tuple[Any, Any], Row] = {}
    for row in rows:
        indexed.setdefault((row[columns], row["statistic"]), row)
    found = dict.fromkeys(row["statistic"] for row in rows)
    reach = [(s, s.replace("p_reach_observed_", "P(≥ observed ") + ")")
             for s in found if s.startswith("p_reach_observed")]
    body = []
    drawn: list[Row] = []
    for stat, label in (*statistics, *reach):
        line = [label]
        for key in keys:
            row = indexed.get((key, stat))
            line.append("—" if row is None else cell(row))
            drawn += [row] if row is not None else []
        body.append(line)
    table = render([[HEADER, *keys], *body], markdown)
    if any(_outside(row) for row in drawn):
        table += ("\n\n" if markdown else "\n") + OUTSIDE_NOTE
    return table


def render(rows: list[list[str]], markdown: bool = False) -> str:
    """Align a list of rows (the first is the header) as text or a Markdown table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in widths) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
