"""Figure panels shared by the checks (matplotlib, Agg backend, PNG).

Conventions, so that every figure reads the same way: the prediction is a grey
bar or a black line; the simulation is a coloured point with a vertical bar of
±z standard errors, z being the critical value of the run's per-test α, so a
bar that misses the prediction is a failing test.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from popsim.outputs.figures import save_figure

SIMULATED = "#c0392b"
PREDICTED = "#404040"
APPROXIMATION = "#2471a3"


def panels(count: int, width: float = 3.6, height: float = 3.0, columns: int = 4):
    """A figure with ``count`` axes in rows of at most ``columns``; returns (fig, axes list)."""
    cols = min(count, columns)
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(width * cols, height * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def save(fig: Figure, path: Path, title: str) -> None:
    """Title (wrapped to the figure's width), tight layout, PNG at 110 dpi and SVG."""
    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 13)), fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def pmf_panel(ax: Axes, exact: np.ndarray, counts: np.ndarray, z: float, title: str) -> None:
    """Exact PMF (grey bars) against simulated proportions (points, ±z binomial SE)."""
    n = counts.sum()
    k = np.arange(exact.size)
    shown = (exact > 1e-4) | (counts > 0)
    ax.bar(
        k[shown],
        exact[shown],
        width=0.85,
        color="#d5d8dc",
        edgecolor=PREDICTED,
        linewidth=0.5,
        label="exact chain",
    )
    se = np.sqrt(exact * (1 - exact) / n)
    ax.errorbar(
        k[shown],
        counts[shown] / n,
        yerr=z * se[shown],
        fmt="o",
        ms=2.5,
        color=SIMULATED,
        elinewidth=0.8,
        label=f"simulated (±{z:.1f} SE)",
    )
    ax.set_xlabel("pathogenic gene copies")
    ax.set_ylabel("probability")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6)


def estimates(
    ax: Axes,
    x: Sequence[float],
    values: Sequence[float],
    errors: Sequence[float],
    z: float,
    label: str = "simulated",
    colour: str = SIMULATED,
) -> None:
    """Simulated estimates as points with ±z·SE bars."""
    ax.errorbar(
        x,
        values,
        yerr=z * np.asarray(errors),
        fmt="o",
        ms=3,
        color=colour,
        elinewidth=0.9,
        capsize=2,
        label=f"{label} (±{z:.1f} SE)",
    )


def identity_line(ax: Axes, values: Sequence[float]) -> None:
    """The diagonal y = x over the range of ``values`` (predicted-vs-simulated panels)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=PREDICTED, lw=0.8)


def standardized(
    ax: Axes,
    x: Sequence[float],
    simulated: np.ndarray,
    predicted: np.ndarray,
    errors: np.ndarray,
    z: float,
) -> None:
    """(simulated − predicted)/SE against x, with the ±z acceptance band of the tests.
    Points without sampling error (SE below 10⁻¹², e.g. the fixed initial state) are left out."""
    errors = np.asarray(errors, dtype=float)
    random = errors > 1e-12
    score = np.full(errors.shape, np.nan)
    score[random] = (np.asarray(simulated)[random] - np.asarray(predicted)[random]) / errors[random]
    ax.axhspan(-z, z, color="#eaecee", lw=0, label=f"±{z:.1f} (test threshold)")
    ax.axhline(0, color=PREDICTED, lw=0.8)
    ax.plot(x, score, ".", ms=3, color=SIMULATED)
    ax.set_ylabel("(simulated − predicted) / SE")
    ax.legend(fontsize=7, loc="upper right")
