"""Screening and counselling numbers in words: "1 in 213", "87%", "9,090 people".

Tables of the rows of :func:`popsim.analysis.risk.risk_rows`, one per deme: the
measure, the mean over histories, the median across histories and the range
that holds 95% of histories (2.5% to 97.5% quantiles across histories).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from popsim.analysis.risk import BY_NAME, MEASURES
from popsim.outputs.tables import render

#: The table's header: what each column is.
HEADER = ("measure", "mean over histories", "median", "95% of histories")


def one_in(probability: float) -> str:
    """A probability as "1 in N": N rounded to a whole number below 1,000, to three
    significant digits above, in millions from 10⁶ and billions from 10⁹; "0" for 0,
    "—" for NaN, "1 in 1" from 1."""
    if probability is None or math.isnan(probability):
        return "—"
    if probability <= 0:
        return "0"
    n = 1.0 / probability
    if n < 1000:
        return f"1 in {max(1, round(n)):,}"
    if n < 1e6:
        return f"1 in {_three_digits(n):,.0f}"
    if n < 1e9:
        return f"1 in {_three_digits(n / 1e6):g} million"
    return f"1 in {_three_digits(n / 1e9):,g} billion"


def percent(share: float) -> str:
    """A share 0–1 in percent, three significant digits ("87.3%"); "—" for NaN."""
    if share is None or math.isnan(share):
        return "—"
    value = 100.0 * share
    return f"{value:.3g}%" if value < 100 else f"{value:.0f}%"


def people(count: float) -> str:
    """An expected number of people: three significant digits, thousands separated
    ("9,090", "0.42"); "—" for NaN."""
    if count is None or math.isnan(count):
        return "—"
    if count == 0:
        return "0"
    if abs(count) >= 100:
        return f"{_three_digits(count):,.0f}"
    return f"{count:.3g}"


def shown(kind: str, value: float) -> str:
    """``value`` in the words of a measure of kind ``kind`` (one_in, percent, people)."""
    return {"one_in": one_in, "percent": percent, "people": people}[kind](value)


def _three_digits(x: float) -> float:
    """``x`` rounded to three significant digits."""
    return float(f"{x:.3g}")


def row_cells(row: Mapping[str, Any]) -> list[str]:
    """A summary row as table cells: label, mean, median, "low to high" (95% of histories)."""
    measure = BY_NAME[row["statistic"]]
    low, high = (shown(measure.kind, row[k]) for k in ("q025", "q975"))
    return [
        measure.label,
        shown(measure.kind, row["mean"]),
        shown(measure.kind, row["median"]),
        "—" if low == high == "—" else f"{low} to {high}",
    ]


def risk_tables(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(deme, text table) for each deme of ``rows``, measures in
    :data:`~popsim.analysis.risk.MEASURES` order."""
    tables = []
    for deme in dict.fromkeys(row["deme"] for row in rows):
        mine = {row["statistic"]: row for row in rows if row["deme"] == deme}
        body = [row_cells(mine[m.name]) for m in MEASURES if m.name in mine]
        tables.append((deme, render([list(HEADER), *body])))
    return tables


def risk_cells(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The header and one list of cells per row (for a report's table block)."""
    return [list(HEADER), *(row_cells(row) for row in rows)]
