"""The result figures show what they say: labels, titles, and plotted data equal to the
tables written beside them (read back from the figures' artists)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from popsim.cli import main
from popsim.genetics.statistics import BY_NAME, REGISTRY
from popsim.outputs.figures import CLASS_COLOURS
from tests.test_run_cli import CONFIG

#: The patient genotype classes of the stacked bars: (legend label, summary statistic).
CLASSES = [(BY_NAME[s.pooled[0]].label, s.name) for s in REGISTRY if s.pooled is not None]


@pytest.fixture
def run_out(tmp_path: Path, drawn_figures) -> tuple[Path, list]:
    config = tmp_path / "scenario.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out)]) == 0
    return out, drawn_figures


def _line(ax, label: str):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_fan_chart_plots_the_trajectory_table(run_out):
    """Fails against a chart that plots generations instead of years before present
    (25 years each), the mean as the median, quantiles of another statistic, or loses
    its labels."""
    out, drawn = run_out
    (ax,) = [f.axes[0] for f in drawn if f.axes[0].get_xlabel() == "years before present"
             and f.axes[0].get_ylabel() == BY_NAME["founder_frequency"].label]
    assert ax.get_title() == "small founder test\nCommunity"
    table = pd.read_csv(out / "trajectories.csv")
    table = table[(table.statistic == "founder_frequency") & (table.deme == "community")]
    assert np.array_equal(table["years_before_present"], 25 * np.arange(12, -1, -1))
    median, mean = _line(ax, "median"), _line(ax, "mean")
    np.testing.assert_allclose(median.get_xdata(), table["years_before_present"])
    np.testing.assert_allclose(median.get_ydata(), table["median"], rtol=1e-12)
    np.testing.assert_allclose(mean.get_ydata(), table["mean"], rtol=1e-12)
    assert not np.allclose(table["median"], table["mean"])  # the two are told apart
    bands = {c.get_label(): c.get_paths()[0].vertices for c in ax.collections}
    for label, lo, hi in (("95% of replicates", "q025", "q975"),
                          ("50% of replicates", "q250", "q750")):
        ys = bands[label][:, 1]
        for column in (lo, hi):
            assert all(np.isclose(ys, v, rtol=1e-12).any() for v in table[column]), (label, column)


def test_patient_bars_stack_the_pooled_shares(run_out):
    """Fails against bars of per-replicate mean shares, bars in another class's colour or
    order, or bars not stacked (each class from 0)."""
    out, drawn = run_out
    (ax,) = [f.axes[0] for f in drawn if f.axes[0].get_ylabel().startswith("share of patients")]
    assert ax.get_title() == ("Expected patient genotypes at the present\n"
                              "(from allele frequencies and F)")
    summary = pd.read_csv(out / "summary.csv")
    summary = summary[summary.deme == "community"].set_index("statistic")["mean"]
    bars = ax.patches
    assert len(bars) == len(CLASSES)
    bottom = 0.0
    for bar, (label, stat) in zip(bars, CLASSES, strict=True):
        assert bar.get_facecolor() == pytest.approx(to_rgba(CLASS_COLOURS[label]))
        assert bar.get_height() == pytest.approx(100 * summary[stat], rel=1e-12)  # in %
        assert bar.get_y() == pytest.approx(bottom, abs=1e-15)
        bottom += bar.get_height()
    assert bottom == pytest.approx(100.0, abs=1e-7)  # every patient is in one class
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [label for label, _ in CLASSES]
