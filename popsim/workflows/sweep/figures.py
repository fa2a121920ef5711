"""Figures of a sweep's results table (PNG, Agg backend).

* heatmap: one statistic over two varied parameters;
* profile: one statistic against one varied parameter, with its interval.

Parameters not on the axes are either fixed (``fixed``: only points with that
value) or marginalised: points are pooled with weights equal to their
replicates, so a mean is the mean over all pooled replicates, a probability
(``p_…``) is pooled hits / pooled replicates (with a Wilson 95% interval), and
the 2.5%/97.5% band of a statistic is the replicate-weighted average of the
points' quantiles (quantile averaging; exact when nothing is pooled).
A parameter with more than :data:`MAX_CATEGORIES` distinct values (a sampled
design) is cut into bins evenly spaced on its scale: at most :data:`BINS`, and
few enough for about 2 points per heatmap cell and 5 per profile bin.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from popsim.errors import PopsimError
from popsim.genetics.statistics import BY_NAME
from popsim.model.config import key_label
from popsim.model.scenario import default_label
from popsim.outputs.figures import safe_name, save_figure
from popsim.workflows.sweep.store import MANIFEST, RESULTS_PARQUET, damaged, read_manifest

MAX_CATEGORIES = 12
BINS = 8
WILSON_Z = 1.959963984540054  # two-sided 95%
LOG_SPAN = 20.0
TITLE_WIDTH = 80
DEFAULT_STATISTICS = ("p_reach_observed_carrier_frequency", "founder_frequency")


@dataclass(frozen=True)
class Measure:
    """How a statistic is read from the table: centre column, optional band columns."""

    name: str
    centre: str
    low: str | None = None
    high: str | None = None

    @property
    def probability(self) -> bool:
        return self.name.startswith("p_")


@dataclass(frozen=True)
class Axis:
    """A parameter on an axis: each row's position code, the positions' labels and values."""

    key: str
    codes: np.ndarray
    labels: list[str]
    values: np.ndarray | None  # numeric position of each code (None: categorical)
    log: bool
    label: str = ""  # the axis title (the parameter in words, :func:`axis_label`)


def sweep_figures(
    directory: str | Path,
    statistic: str | None = None,
    fixed: dict[str, Any] | None = None,
    pair: tuple[str, str] | None = None,
) -> list[Path]:
    """Draw the heatmaps and profiles of a finished sweep into ``directory/figures``.

    Heatmaps for every pair of free (not fixed) parameters, or only ``pair``;
    a profile for every free parameter. Returns the paths written.
    """
    directory = Path(directory)
    table = _results(directory)
    sweep = _plotted_section(directory, table)
    keys = list(sweep["columns"])
    measure = choose_measure(table, statistic)
    table = fix(table, keys, fixed or {})
    free = [k for k in keys if k not in (fixed or {})]
    if pair is not None:
        for key in pair:
            _check_key(key, free, "--x/--y")
        if pair[0] == pair[1]:
            raise PopsimError(f"--x and --y: both are {pair[0]!r}; give two parameters")
    scales = {p["key"]: p.get("scale", "auto") for p in sweep["design"]["parameters"]}
    titles = {p["key"]: axis_label(p) for p in sweep["design"]["parameters"]}
    n = len(table)
    # bins for sampled designs: about 2 points per heatmap cell, 5 per profile bin
    cells = min(BINS, max(2, round(math.sqrt(n / 2))))
    slices = min(BINS, max(2, n // 5))
    context = _context(sweep, fixed or {}, free)
    out = directory / "figures"
    paths = []
    pairs = [pair] if pair is not None else list(combinations(free, 2))
    for x, y in pairs:
        path = out / f"heatmap_{safe_name(measure.name)}__{safe_name(x)}__{safe_name(y)}.png"
        x_axis, y_axis = (
            make_axis(table[k], k, scales.get(k, "auto"), cells, titles.get(k, k)) for k in (x, y)
        )
        paths.append(heatmap(table, measure, x_axis, y_axis, free, context, path, titles))
    for x in free:
        path = out / f"profile_{safe_name(measure.name)}__{safe_name(x)}.png"
        observed = _observed(sweep, measure)
        x_axis = make_axis(table[x], x, scales.get(x, "auto"), slices, titles.get(x, x))
        paths.append(profile(table, measure, x_axis, free, context, observed, path, titles))
    return paths


def _plotted_section(directory: Path, table: pd.DataFrame) -> dict[str, Any]:
    """The manifest's sweep section, checked for what the figures read (its name,
    deme, columns, parameters and observations); :func:`damaged` if it was edited."""
    sweep = read_manifest(directory)["sweep"]
    path = directory / MANIFEST

    def strings(value: object) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    design = sweep.get("design")
    parameters = design.get("parameters") if isinstance(design, dict) else None
    observations = sweep.get("observations", [])
    problems = [
        ("sweep.name and sweep.deme are not text",
         not all(isinstance(sweep.get(k), str) for k in ("name", "deme"))),
        ("sweep.columns is not a list of the table's columns",
         not strings(sweep.get("columns")) or not set(sweep["columns"]) <= set(table.columns)),
        ("sweep.design.parameters is not a list of parameters with a key",
         not isinstance(parameters, list)
         or not all(isinstance(p, dict) and isinstance(p.get("key"), str) for p in parameters)),
        ("sweep.observations is not a list of observations",
         not isinstance(observations, list) or not all(
             isinstance(o, dict) and {"deme", "statistic", "value", "source"} <= set(o)
             for o in observations)),
    ]
    for reason, bad in problems:
        if bad:
            raise damaged(path, reason)
    return sweep


def axis_label(parameter: dict[str, Any]) -> str:
    """A varied parameter in words with its unit (:func:`popsim.model.config.key_label`
    of the first key it sets), and its name where the sweep file gave one."""
    targets = parameter.get("targets") or [parameter["key"]]
    words = key_label(str(targets[0]))
    name = parameter["key"]
    return words if name in targets or name in words else f"{name}: {words}"


def _results(directory: Path) -> pd.DataFrame:
    path = directory / RESULTS_PARQUET
    if not path.is_file():
        raise PopsimError(
            f"{directory}: the sweep is not finished (no {RESULTS_PARQUET}); finish it with "
            f"popsim sweep SWEEP --out {directory} --resume"
        )
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise damaged(path, f"not a readable Parquet table: {str(error)[:80]}") from None


def choose_measure(table: pd.DataFrame, statistic: str | None) -> Measure:
    """The measure named ``statistic`` (default: P(reach observed carrier frequency)
    if the table has it, else the founder frequency)."""
    names = [statistic] if statistic else list(DEFAULT_STATISTICS)
    for name in names:
        if name.startswith("p_") and name in table.columns:
            return Measure(name, name)
        if f"{name}_mean" in table.columns:
            return Measure(name, f"{name}_mean", f"{name}_q025", f"{name}_q975")
        if statistic and name in table.columns and table[name].dtype.kind == "f":
            return Measure(name, name)
    available = sorted(
        {c.removesuffix("_mean") for c in table.columns if c.endswith("_mean")}
        | {c for c in table.columns if c.startswith("p_")}
    )
    raise PopsimError(
        f"--statistic {statistic!r}: not in the results; one of {', '.join(available)}"
    )


def fix(table: pd.DataFrame, keys: list[str], fixed: dict[str, Any]) -> pd.DataFrame:
    """Rows whose parameters equal every ``fixed`` value (numbers to 1e-9 relative)."""
    for key, value in fixed.items():
        _check_key(key, keys, "--fix")
        column = table[key]
        if column.dtype.kind in "iuf" and isinstance(value, int | float):
            match = np.isclose(column.to_numpy(float), float(value), rtol=1e-9, atol=0.0)
        else:
            match = column.astype(str).to_numpy() == str(value)
        if not match.any():
            values = pd.unique(column)
            shown = ", ".join(_fmt(v) for v in sorted(values)[:MAX_CATEGORIES])
            more = ", …" if len(values) > MAX_CATEGORIES else ""
            raise PopsimError(
                f"--fix {key}={value}: no point has this value; values: {shown}{more}"
            )
        table = table[match]
    return table


def _check_key(key: str, keys: list[str], option: str) -> None:
    if key not in keys:
        raise PopsimError(f"{option} {key}: not a varied parameter here; one of {', '.join(keys)}")


def make_axis(
    column: pd.Series, key: str, scale: str, bins: int = BINS, label: str = ""
) -> Axis:
    """Categories (≤ MAX_CATEGORIES distinct values) or ``bins`` bins evenly spaced on
    ``scale``: ``linear``, ``log``, or ``auto`` (log for positive values spanning a
    factor of :data:`LOG_SPAN` or more, as a value list may)."""
    numeric = column.dtype.kind in "iuf"
    distinct = np.sort(pd.unique(column)) if numeric else sorted(pd.unique(column), key=str)
    positive = numeric and bool((column > 0).all())
    if scale == "auto":
        scale = "log" if positive and column.max() >= LOG_SPAN * column.min() else "linear"
    log = positive and scale == "log"
    if len(distinct) <= MAX_CATEGORIES:
        lookup = {v: i for i, v in enumerate(distinct)}
        codes = np.array([lookup[v] for v in column])
        values = np.asarray(distinct, dtype=float) if numeric else None
        return Axis(key, codes, [_fmt(v) for v in distinct], values, log, label or key)
    x = column.to_numpy(float)
    lo, hi = x.min(), x.max()
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    centres = np.sqrt(edges[:-1] * edges[1:]) if log else (edges[:-1] + edges[1:]) / 2
    labels = [f"{_fmt(a)}–{_fmt(b)}" for a, b in pairwise(edges)]
    return Axis(key, codes, labels, centres, log, label or key)


def pooled(rows: pd.DataFrame, measure: Measure) -> tuple[float, float, float]:
    """(centre, low, high) of ``rows`` pooled with replicate weights (see module doc)."""
    w = rows["replicates"].to_numpy(float)
    centre = rows[measure.centre].to_numpy(float)
    if measure.probability:
        n = w.sum()
        p = float((centre * w).sum() / n)
        return (p, *wilson(p, n))
    ok = np.isfinite(centre)
    if not ok.any():
        return (math.nan, math.nan, math.nan)

    def average(column: str | None) -> float:
        if column is None:
            return math.nan
        values = rows[column].to_numpy(float)[ok]
        return float((values * w[ok]).sum() / w[ok].sum())

    return average(measure.centre), average(measure.low), average(measure.high)


def wilson(p: float, n: float, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``p`` from ``n`` trials."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def heatmap(
    table: pd.DataFrame, measure: Measure, x: Axis, y: Axis, free: list[str],
    context: str, path: Path, titles: dict[str, str] | None = None,
) -> Path:
    """The pooled statistic in every (x, y) cell; blank where no point falls.
    ``titles``: parameters in words by key (:func:`axis_label`)."""
    titles = titles or {}
    grid = np.full((len(y.labels), len(x.labels)), np.nan)
    codes = pd.DataFrame({"x": x.codes, "y": y.codes}, index=table.index)
    for (i, j), rows in table.groupby([codes["y"], codes["x"]]):
        grid[i, j] = pooled(rows, measure)[0]
    fig = Figure(figsize=(2.8 + 0.75 * len(x.labels), 1.4 + 0.5 * len(y.labels) + 0.8))
    ax = fig.subplots()
    # The colour scale spans the values drawn (a fixed 0–1 scale washed out values
    # that never pass 0.36); the cells' numbers give the values themselves.
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=_label(measure), shrink=0.9)
    if grid.size <= 144:
        low, high = image.get_clim()
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                light = value < low + 0.5 * (high - low)
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7,
                        color="white" if light else "black")
    ax.set_xticks(range(len(x.labels)), x.labels, rotation=45 if len(x.labels) > 6 else 0,
                  ha="right" if len(x.labels) > 6 else "center", fontsize=8)
    ax.set_yticks(range(len(y.labels)), y.labels, fontsize=8)
    ax.set_xlabel(x.label)
    ax.set_ylabel(y.label)
    others = [titles.get(k, k) for k in free if k not in (x.key, y.key)]
    ax.set_title(_title(measure, context, others), fontsize=9)
    return _save(fig, path)


def profile(
    table: pd.DataFrame, measure: Measure, x: Axis, free: list[str], context: str,
    observed: tuple[float, str] | None, path: Path, titles: dict[str, str] | None = None,
) -> Path:
    """The pooled statistic and its interval at each value (or bin) of one parameter.
    ``titles``: parameters in words by key (:func:`axis_label`)."""
    titles = titles or {}
    rows = [(code, *pooled(group, measure)) for code, group in table.groupby(x.codes)]
    codes = np.array([r[0] for r in rows])
    centre, low, high = (np.array([r[k] for r in rows]) for k in (1, 2, 3))
    position = x.values[codes] if x.values is not None else codes.astype(float)
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    entry = BY_NAME.get(measure.name)
    band = (
        "Wilson 95% interval" if measure.probability
        else "bootstrap 95% interval of the pooled share" if entry is not None and entry.pooled
        else "2.5–97.5% of replicates"
    )
    if np.isfinite(low).any():
        ax.fill_between(position, low, high, color="#9ecae1", alpha=0.8, label=band)
    ax.plot(position, centre, "o-", color="#08306b",
            label="probability" if measure.probability else "mean")
    if observed is not None:
        ax.axhline(observed[0], color="#b2182b", ls=":", label=observed[1])
    if x.log:
        ax.set_xscale("log")
    ax.set_xticks(position, [_fmt(p) if x.values is not None else x.labels[c]
                             for p, c in zip(position, codes, strict=True)])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(x.label)
    ax.set_ylabel(_label(measure))
    if measure.probability:
        ax.set_ylim(-0.02, 1.02)
    others = [titles.get(k, k) for k in free if k != x.key]
    ax.set_title(_title(measure, context, others), fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _observed(sweep: dict[str, Any], measure: Measure) -> tuple[float, str] | None:
    """The base scenario's observed value of the statistic in the sweep's deme, labelled
    (``sweep``: the manifest's sweep section)."""
    for obs in sweep.get("observations", []):
        if obs["deme"] == sweep["deme"] and obs["statistic"] == measure.name:
            source = obs["source"].split(": ")[0]
            label = f"observed {obs['value']:.3g}" + (f" ({source})" if source else "")
            return float(obs["value"]), textwrap.shorten(label, 70, placeholder="…")
    return None


def _context(sweep: dict[str, Any], fixed: dict[str, Any], free: list[str]) -> str:
    text = f"{sweep['name']}, {default_label(sweep['deme'])}"
    if fixed:
        text += "; " + ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
    return text


def _title(measure: Measure, context: str, others: list[str]) -> str:
    lines = [_label(measure), context]
    if others:
        lines.append(f"pooled over {', '.join(others)}")
    return "\n".join(textwrap.fill(line, TITLE_WIDTH) for line in lines)


def _label(measure: Measure) -> str:
    """The axis label: the registry's label (with its unit), else the name spelled out."""
    if measure.probability:
        observed = measure.name.removeprefix("p_reach_observed_")
        if observed != measure.name:
            return f"P(≥ observed {_name_label(observed)})"
        return _name_label(measure.name)
    suffix = " (mean)" if measure.centre.endswith("_mean") else ""
    return _name_label(measure.name) + suffix


def _name_label(name: str) -> str:
    entry = BY_NAME.get(name.removeprefix("p_"))
    if entry is None:
        return name.replace("_", " ")
    if entry.display == "probability":
        return f"P({entry.label})"
    return f"{entry.label} ({entry.unit})"


def _fmt(value: Any) -> str:
    """A parameter value for a label: whole numbers in full, others to 3 significant digits."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e7 else f"{number:.3g}"
    return str(value)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    return save_figure(fig, path)
