"""Output files: the pandas-free CSV writer writes what pandas would.

:meth:`popsim.analysis.results.Result.write` writes its tables with
:func:`popsim.outputs.files.write_csv` so that ``popsim run --out`` need not import
pandas; users and scripts read those files with pandas, so the bytes must be
those of ``DataFrame.to_csv(index=False)``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from popsim import simulate
from popsim.model.build import scenario_from_dict
from popsim.outputs.files import write_csv


def _same_as_pandas(tmp_path: Path, columns: dict) -> None:
    ours, theirs = tmp_path / "ours.csv", tmp_path / "pandas.csv"
    write_csv(ours, columns)
    pd.DataFrame(columns).to_csv(theirs, index=False)
    assert ours.read_bytes() == theirs.read_bytes()


def test_rows_written_in_chunks_are_the_same_bytes(tmp_path: Path, monkeypatch):
    """write_csv formats CSV_CHUNK_ROWS rows at a time (memory bounded for 10⁷
    replicates); chunk boundaries change no byte, a last partial chunk included."""
    import popsim.outputs.files as files

    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", 3)
    rng = np.random.default_rng(5)
    columns = {
        "deme": np.array(["a", "b, c", 'd "e"', "f", "g", "h", "i"], dtype=object),
        "x": np.where(rng.random(7) < 0.3, np.nan, rng.random(7)),
        "n": np.arange(7, dtype=np.int64),
    }
    _same_as_pandas(tmp_path, columns)
    with pytest.raises(ValueError, match="unequal length"):
        write_csv(tmp_path / "bad.csv", {"a": [1, 2], "b": [1]})


def test_edge_values_are_written_as_pandas_writes_them(tmp_path: Path):
    floats = np.array(
        [0.1 + 0.2, np.nan, np.inf, -np.inf, -0.0, 1e16, 1e-5, 123456789.123, 5e-324, 2.0**70]
    )
    _same_as_pandas(
        tmp_path,
        {
            "float": floats,
            "int": np.array([-1, 0, 7, 2**62, -(2**63), 3, 4, 5, 6, 9], dtype=np.int64),
            "bool": np.arange(10) % 3 == 0,
            "text": np.array(
                ["a", "with,comma", 'with "quotes"', "two\nlines", "ünï", "", " x ", "1", "b", "c"],
                dtype=object,
            ),
            "mixed": [None, np.nan, 0.25, 1.0, np.float64(np.nan), "s", 3, None, 2.5, "t"],
            "python floats": [0.1, 1 / 3, float("nan"), 2.0, 1e300, -1e-300, 0.5, 0.0, 1.5, 7.0],
        },
    )


def test_a_table_without_rows_is_its_header(tmp_path: Path):
    _same_as_pandas(tmp_path, {"text": np.array([], dtype=object), "x": np.array([])})


def test_random_floats_are_written_as_pandas_writes_them(tmp_path: Path):
    rng = np.random.default_rng(20261202)
    values = rng.standard_normal(2000) * 10.0 ** rng.integers(-20, 20, 2000)
    values[rng.random(2000) < 0.1] = np.nan
    _same_as_pandas(tmp_path, {"x": values, "y": np.round(values, 3)})


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_result_tables_are_the_bytes_pandas_writes(engine, tmp_path: Path):
    """summary.csv, trajectories.csv and final.csv against the DataFrame methods."""
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "tables", "engine": engine, "generations": 6, "seed": 2},
            "demes": [
                {"name": "host", "size": 300},
                {
                    "name": "small",
                    "size": 60,
                    "founded": {"generation": 2, "from": "host", "founders": 30},
                },
            ],
            "locus": {
                "pathogenic_mutation_rate": 1e-3,
                "founder_alleles": [{"name": "F", "deme": "host", "frequency": 0.1}],
            },
            "observed": [
                {"statistic": "carrier_frequency", "deme": "small", "value": 0.1, "source": "t"}
            ],
        }
    )
    result = simulate(scenario, replicates=5)
    out = result.write(tmp_path / "out", figures=False)
    for name, frame in (
        ("summary", result.summary()),
        ("trajectories", result.trajectories()),
        ("final", result.final()),
    ):
        expected = tmp_path / f"{name}_pandas.csv"
        frame.to_csv(expected, index=False)
        assert (out / f"{name}.csv").read_bytes() == expected.read_bytes(), name


BACKEND_SCRIPT = """
import sys
import matplotlib
matplotlib.use("svg")  # a user's own backend (a notebook's inline one, say)
import matplotlib.pyplot as plt
import popsim
import popsim.workflows.fit.figures, popsim.workflows.compare.report
import popsim.workflows.sweep.figures, popsim.workflows.validation.figures
from popsim.model.build import scenario_from_dict
scenario = scenario_from_dict({
    "scenario": {"name": "b", "generations": 3},
    "demes": [{"name": "d", "size": 100}],
    "locus": {"founder_alleles": [{"name": "F", "deme": "d", "frequency": 0.1}]}})
popsim.simulate(scenario, replicates=2, seed=1).write(sys.argv[1])
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""


def test_figures_leave_the_users_matplotlib_backend_and_figures_alone(tmp_path: Path):
    """popsim draws on matplotlib Figure objects, never through pyplot: importing its
    figure modules and writing a result neither switch the backend (which a notebook
    relies on) nor leave figures open in pyplot."""
    out = subprocess.run(
        [sys.executable, "-c", BACKEND_SCRIPT, str(tmp_path / "out")],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.split() == ["svg", "0"]
    assert len(list((tmp_path / "out" / "figures").glob("*.png"))) == 2
