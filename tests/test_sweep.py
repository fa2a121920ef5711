"""Parameter sweeps: designs, sweep-file validation, executors, resumable store, figures."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from popsim.cli import main
from popsim.commands.sweep import result_table
from popsim.errors import ConfigError
from popsim.outputs.tables import fmt
from popsim.simulate import simulate
from popsim.workflows.sweep import Design, Parameter, load_sweep, resolve_points, run_sweep
from popsim.workflows.sweep.runner import batch_size
from popsim.workflows.sweep.tasks import point_row

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[scenario]
name = "toy founder"
generations = {generations}
replicates = 50
seed = 11

[[demes]]
name = "source"
size = 2000

[[demes]]
name = "iso"
size = {{ start = 50, end = 2000 }}
inbreeding = 0.01
founded = {{ generation = 2, from = "source", founders = 50 }}

[[locus.founder_alleles]]
name = "M712T"
deme = "iso"
generation = 2
copies = 1

[[observed]]
statistic = "carrier_frequency"
value = 0.09
deme = "iso"
source = "test"
"""

GRID = """
[sweep]
base = "base.toml"
replicates = {replicates}
seed = {seed}

[[parameters]]
key = ["demes.iso.founded.founders", "demes.iso.size.start"]
name = "founders"
low = 10
high = 1000
steps = {steps}
scale = "log"

[[parameters]]
key = "demes.iso.inbreeding"
values = [0.0, 0.05]
"""


def write_sweep(
    directory: Path, body: str = GRID, generations: int = 30, **fields: object
) -> Path:
    """Write base.toml and sweep.toml into ``directory``; return the sweep file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "base.toml").write_text(BASE.format(generations=generations))
    values = {"replicates": 40, "seed": 3, "steps": 3, **fields}
    path = directory / "sweep.toml"
    path.write_text(body.format(**values))
    return path


# --------------------------------------------------------------------------- designs


def test_grid_has_every_combination_last_parameter_fastest():
    design = Design(
        "grid",
        (Parameter("a", values=("x", "y", "z")), Parameter("b", low=0.0, high=1.0, steps=4)),
    )
    points = design.resolve(seed=1)
    assert design.size() == len(points) == 12
    assert points[0] == ("x", 0.0) and points[1][0] == "x" and points[4][0] == "y"
    assert points[-1] == ("z", 1.0)


def test_log_range_is_geometric_and_integer_ranges_round_and_dedupe():
    log = Parameter("k", low=1.0, high=1000.0, steps=4, scale="log")
    assert np.allclose(log.grid_values(), [1.0, 10.0, 100.0, 1000.0], rtol=1e-12)
    whole = Parameter("k", low=1.0, high=1000.0, steps=4, scale="log", integer=True)
    assert whole.grid_values() == (1, 10, 100, 1000)
    assert Parameter("k", low=1.0, high=3.0, steps=5, integer=True).grid_values() == (1, 2, 3)


def _stratum(x: np.ndarray, low: float, high: float, log: bool, n: int) -> np.ndarray:
    u = np.log(x / low) / math.log(high / low) if log else (x - low) / (high - low)
    return np.minimum((u * n).astype(int), n - 1)


def test_latin_hypercube_within_bounds_one_point_per_stratum():
    n = 20
    parameters = (
        Parameter("lin", low=-2.0, high=3.0),
        Parameter("log", low=1e-4, high=1e-1, scale="log"),
        Parameter("choice", values=(5, 6, 7, 8)),
    )
    points = np.array(Design("latin_hypercube", parameters, n).resolve(seed=9))
    lin, log, choice = points.T
    assert lin.min() >= -2.0 and lin.max() <= 3.0
    assert log.min() >= 1e-4 and log.max() <= 1e-1
    # Latin hypercube: each of the n strata (on the parameter's scale) holds one point
    assert sorted(_stratum(lin, -2.0, 3.0, False, n)) == list(range(n))
    assert sorted(_stratum(log, 1e-4, 1e-1, True, n)) == list(range(n))
    assert sorted(set(choice)) == [5, 6, 7, 8]
    assert all(np.bincount(choice.astype(int))[5:] == n // 4)


def test_sobol_within_bounds_and_seeded():
    parameters = (Parameter("a", low=0.5, high=2.0, scale="log"), Parameter("b", low=0.0,
                                                                            high=1.0))
    design = Design("sobol", parameters, 16)
    points = np.array(design.resolve(seed=4))
    assert points.shape == (16, 2)
    assert points[:, 0].min() >= 0.5 and points[:, 0].max() <= 2.0
    assert points[:, 1].min() >= 0.0 and points[:, 1].max() <= 1.0
    # balance of a base-2 Sobol' sample: 8 points in each half of every coordinate
    assert (points[:, 1] < 0.5).sum() == 8
    assert (np.log(points[:, 0] / 0.5) / math.log(4.0) < 0.5).sum() == 8
    assert design.resolve(seed=4) == design.resolve(seed=4) != design.resolve(seed=5)


# --------------------------------------------------------------------------- sweep files


SAMPLED = """
[sweep]
base = "base.toml"
design = "{design}"
points = {points}

[[parameters]]
key = "demes.iso.inbreeding"
low = 0.0
high = 0.1
{extra}
"""


@pytest.mark.parametrize(
    ("design", "points", "extra", "expected"),
    [
        ("sobol", 10, "", "sweep.points = 10: must be a power of 2"),
        ("latin_hypercube", 8, "steps = 3", "parameters[0].steps = 3: only for design 'grid'"),
        ("latin_hypercube", 8, "scale = 'log'", "parameters[0].low = 0.0: must be > 0"),
        ("latin_hypercube", 8, "values = [1]", "give either values = [...] or low and high"),
        ("grid", 8, "", "sweep.points = 8: only for design"),
        ("latin_hypercube", 8, "[[parameters]]\nkey = 'scenario.seed'\nvalues = [1, 2]",
         "parameters[1].key = 'scenario.seed': cannot be varied"),
    ],
)
def test_bad_sweep_files_name_key_and_rule(tmp_path, design, points, extra, expected):
    path = write_sweep(tmp_path, SAMPLED.format(design=design, points=points, extra=extra))
    with pytest.raises(ConfigError) as error:
        load_sweep(path)
    assert str(error.value).startswith(f"{path}: ")
    assert expected in str(error.value)


def test_unknown_sweep_key_suggests_the_right_one(tmp_path):
    path = write_sweep(tmp_path, GRID.replace("replicates =", "replicate ="))
    with pytest.raises(ConfigError, match=r"sweep.replicate: unknown key; did you mean"):
        load_sweep(path)


def test_bad_point_names_the_point_and_the_key(tmp_path):
    path = write_sweep(tmp_path, GRID.replace("[0.0, 0.05]", "[0.0, 1.5]"))
    with pytest.raises(ConfigError) as error:
        resolve_points(load_sweep(path))
    message = str(error.value)
    assert message.startswith(f"{path}, point 1 (founders = 10, demes.iso.inbreeding = 1.5): ")
    assert "inbreeding = 1.5: must be in [0, 1)" in message


def test_linked_keys_and_sweep_settings_reach_every_point(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    points = resolve_points(sweep)
    assert [p.values for p in points][:2] == [(10, 0.0), (10, 0.05)]
    iso = points[2].scenario.demes[1]
    assert iso.founded.founders == iso.epochs[0].start == 100
    assert {(p.scenario.replicates, p.scenario.seed) for p in points} == {(40, 3)}
    assert sweep.deme == "iso"  # the deme of the first [[observed]]


def test_batch_size_balances_workers_and_stays_small():
    assert batch_size(10, 2) == 1
    assert batch_size(1000, 2) == 10
    assert batch_size(10**6, 2) == 32


def test_shipped_founding_sweep_resolves():
    sweep = load_sweep(ROOT / "configs" / "sweep_founding.toml")
    points = resolve_points(sweep)
    assert sweep.base_path.name == "iranian_jewish_m712t.toml"
    assert sweep.deme == "persian_jews"
    observed = {o.name: o for o in sweep.base.count_observations if o.deme == sweep.deme}
    assert observed["carriers_1_in_11"].value == pytest.approx(1 / 11, abs=5e-4)
    assert len(points) == sweep.design.size() == 6 * 3 * 2
    community = points[0].scenario.demes[1]
    assert community.founded.founders == community.epochs[0].start == 50
    assert community.epochs[1].start == 50


# --------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small grid sweep run serially: (sweep file, output directory, outcome)."""
    directory = tmp_path_factory.mktemp("sweep")
    path = write_sweep(directory)
    outcome = run_sweep(load_sweep(path), directory / "serial", executor="serial")
    return path, directory / "serial", outcome


def test_rows_are_the_points_own_simulations(finished):
    path, _, outcome = finished
    sweep = load_sweep(path)
    table = outcome.table
    assert list(table["point"]) == list(range(6))
    assert list(table.columns[:5]) == ["point", "founders", "demes.iso.inbreeding",
                                       "replicates", "seed"]
    assert {"p_reach_observed_carrier_frequency", "founder_frequency_mean",
            "share_compound_heterozygotes_q975", "p_founder_lost"} <= set(table.columns)
    point = resolve_points(sweep)[4]
    result = simulate(point.scenario, point=4)
    expected = point_row(4, result.replicates, result.summary_rows(), "iso")
    row = table.iloc[4]
    for name, value in expected.items():
        assert row[name] == value or (np.isnan(value) and np.isnan(row[name])), name


def test_executors_give_identical_tables(finished, tmp_path):
    path, serial_dir, outcome = finished
    sweep = load_sweep(path)
    pooled = run_sweep(sweep, tmp_path / "processes", executor="processes", workers=2)
    dask = run_sweep(sweep, tmp_path / "dask", executor="dask", workers=2, batch=2)
    pd.testing.assert_frame_equal(pooled.table, outcome.table, check_exact=True)
    pd.testing.assert_frame_equal(dask.table, outcome.table, check_exact=True)
    reference = (serial_dir / "results.csv").read_bytes()
    assert (tmp_path / "processes" / "results.csv").read_bytes() == reference
    assert (tmp_path / "dask" / "results.csv").read_bytes() == reference
    parquet = pd.read_parquet(tmp_path / "dask" / "results.parquet")
    pd.testing.assert_frame_equal(parquet, outcome.table, check_exact=True)


def test_existing_directory_needs_resume_or_overwrite(finished, capsys):
    path, directory, _ = finished
    assert main(["sweep", str(path), "--out", str(directory), "--executor", "serial"]) == 2
    assert "already holds a sweep; pass --resume" in capsys.readouterr().err
    before = (directory / "results.csv").read_bytes()
    assert main(["sweep", str(path), "--out", str(directory), "--resume"]) == 0
    assert "6 run now" not in capsys.readouterr().out  # all done: nothing rerun
    assert (directory / "results.csv").read_bytes() == before


@pytest.mark.parametrize(
    ("changed", "old", "new"), [("sweep.toml", "seed = ", "seed = 1"),
                                ("base.toml", "size = 2000", "size = 2001")]
)
def test_resume_with_changed_files_is_refused(tmp_path, capsys, changed, old, new):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 0
    target = tmp_path / changed
    target.write_text(target.read_text().replace(old, new))
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume: refused" in err and "--overwrite" in err
    assert f"{target} " in err and "changed since the sweep" in err
    assert main(["sweep", str(path), "--out", str(out), "--overwrite", "--executor",
                 "serial"]) == 0


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--executor", "serial", "--workers", "2"], "--workers: applies to"),
        (["--executor", "processes", "--scheduler", "tcp://127.0.0.1:1"],
         "--scheduler: needs --executor dask"),
        (["--resume", "--overwrite"], "--resume and --overwrite: give at most one"),
        (["--batch", "0"], "--batch 0: must be at least 1"),
    ],
)
def test_sweep_refuses_meaningless_options(tmp_path, capsys, options, expected):
    path = write_sweep(tmp_path)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), *options]) == 2
    assert expected in capsys.readouterr().err


def test_sweep_never_overwrites_a_directory_it_did_not_make(tmp_path, capsys):
    path = write_sweep(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    out = str(tmp_path / "mine")
    assert main(["sweep", str(path), "--out", out, "--overwrite"]) == 2
    assert "is not a popsim sweep directory" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _sweep_process(path: Path, out: Path, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "popsim", "sweep", str(path), "--out", str(out),
               "--executor", "serial", "--batch", "1", *options]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for_batches(out: Path, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(list((out / "points").glob("batch-*.json"))) < count:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_kill_9_then_resume_gives_the_uninterrupted_table(tmp_path):
    # 30 points of 300 replicates × 100 generations: long enough to be killed midway
    path = write_sweep(tmp_path, generations=100, replicates=300, steps=15)
    out = tmp_path / "killed"
    process = _sweep_process(path, out)
    _wait_for_batches(out, process, 3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list((out / "points").glob("batch-*.json")))
    assert 3 <= done < 30 and not (out / "results.csv").exists()
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--executor", "serial"]) == 0
    whole = run_sweep(load_sweep(path), tmp_path / "whole", executor="serial", batch=7)
    assert (out / "results.csv").read_bytes() == (tmp_path / "whole" / "results.csv").read_bytes()
    assert len(whole.table) == 30 and whole.table["point"].is_unique


def test_ctrl_c_stops_with_a_resume_hint(tmp_path):
    path = write_sweep(tmp_path, generations=100, replicates=300, steps=15)
    out = tmp_path / "stopped"
    process = _sweep_process(path, out)
    _wait_for_batches(out, process, 2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    err = process.stderr.read()
    assert err.startswith("popsim: interrupted; ") and err.count("\n") == 1
    assert f"--out {out} --resume" in err
    assert not any(p.name.endswith(".tmp") for p in (out / "points").iterdir())


# --------------------------------------------------------------------------- figures


def test_plot_draws_heatmap_and_profiles(finished, capsys):
    _, directory, _ = finished
    assert main(["plot", str(directory)]) == 0
    figures = sorted(p.name for p in (directory / "figures").glob("*.png"))
    assert figures == [
        "heatmap_p_reach_observed_carrier_frequency__founders__demes.iso.inbreeding.png",
        "profile_p_reach_observed_carrier_frequency__demes.iso.inbreeding.png",
        "profile_p_reach_observed_carrier_frequency__founders.png",
    ]
    assert all(os.path.getsize(directory / "figures" / f) > 10_000 for f in figures)
    assert main(["plot", str(directory), "--statistic", "carrier_frequency",
                 "--fix", "demes.iso.inbreeding=0.05"]) == 0
    assert (directory / "figures" / "profile_carrier_frequency__founders.png").exists()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--statistic", "nonsense"], "--statistic 'nonsense': not in the results; one of"),
        (["--fix", "founders=7"], "--fix founders=7: no point has this value; values: 10, 100"),
        (["--fix", "nope=1"], "--fix nope: not a varied parameter here"),
    ],
)
def test_plot_refuses_bad_options(finished, capsys, options, expected):
    _, directory, _ = finished
    assert main(["plot", str(directory), *options]) == 2
    assert expected in capsys.readouterr().err


def test_sweep_ends_with_a_result_table(finished, tmp_path, capsys):
    path, _, outcome = finished
    assert main(["sweep", str(path), "--out", str(tmp_path / "again"), "--executor",
                 "serial"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("iso at the last generation (mean"): out.index("wrote ")].strip()
    lines = table.splitlines()
    for label in ("founders", "demes.", "inbreeding", "founder allele", "patients per",
                  "100,000", "% of patients:", "P(founder"):
        assert label in table, label
    rule = next(k for k, line in enumerate(lines) if set(line) <= {"-", " "})
    rows = lines[rule + 1 :]
    assert len(rows) == 6 and "left out" not in table
    first = outcome.table.iloc[0]
    cells = rows[0].split()
    assert cells[:3] == ["0", "10", "0"]
    assert fmt(first["prevalence_mean"] * 1e5) in cells
    assert fmt(first["share_founder_homozygotes_mean"] * 100) in cells


def test_result_table_of_a_long_sweep_shows_twenty_rows_and_says_so(finished):
    _, _, outcome = finished
    long = pd.concat([outcome.table] * 10, ignore_index=True)
    long["point"] = range(len(long))
    text = result_table(long, ("founders", "demes.iso.inbreeding"), "iso")
    rule = next(k for k, line in enumerate(text.splitlines()) if set(line) <= {"-", " "})
    rows = text.splitlines()[rule + 1 : -1]
    assert len(rows) == 20
    assert [row.split()[0] for row in rows][:2] == ["0", "3"] and rows[-1].split()[0] == "59"
    assert text.splitlines()[-1] == (
        "20 of 60 points shown, evenly spaced; 40 points left out here are in results.csv"
    )
    assert all(len(line) <= 100 for line in text.splitlines())


# --------------------------------------------------------------------------- damaged directories

def _damage_batch(text: bytes):
    def damage(directory: Path) -> None:
        (directory / "points" / "batch-00000002.json").write_bytes(text)
    return damage


def _damage_manifest(directory: Path) -> None:
    import json

    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["sweep"]["design"] = "edited"
    path.write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """A finished 6-point sweep committed in batches of 2 (3 batch files)."""
    directory = tmp_path_factory.mktemp("batched")
    path = write_sweep(directory, replicates=4)
    run_sweep(load_sweep(path), directory / "done", executor="serial", batch=2)
    return path, directory / "done"


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_damage_batch(b'{"rows": [{"point": 2, "repl'), "not valid JSON"),
        (_damage_batch(b"\xff\xfe"), "not UTF-8 text"),
        (_damage_batch(b'{"rows": 5}'), "no list of rows"),
        (_damage_batch(b'[1, 2]'), "no list of rows"),
        (_damage_batch(b'{"rows": [{"x": 1}]}'), "a row without a point index"),
        (_damage_batch(b'{"rows": [{"point": 99, "replicates": 4}]}'), "point 99 is not in"),
        (_damage_manifest, "manifest.json: damaged (its sweep.design"),
    ],
    ids=["truncated", "binary", "rows-int", "a-list", "no-point", "outside", "manifest"],
)
def test_a_damaged_sweep_directory_is_reported_not_a_traceback(
    damage, expected, batched, tmp_path, capsys
):
    """Issue 28: damaged files gave JSONDecodeError/TypeError/KeyError tracebacks.
    Each is one line naming the file, what is wrong and what to do, exit 2."""
    import shutil

    path, done = batched
    copy = tmp_path / "copy"
    shutil.copytree(done, copy)
    damage(copy)
    assert main(["sweep", str(path), "--out", str(copy), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "damaged" in err[0], err
    assert ("delete that file" in err[0]) == ("points" in err[0])


def test_a_deleted_batch_is_recomputed_to_the_same_bytes(batched, tmp_path):
    """The remedy the message gives works: delete the damaged batch, --resume."""
    import shutil

    path, done = batched
    copy = tmp_path / "copy"
    shutil.copytree(done, copy)
    (copy / "points" / "batch-00000002.json").unlink()
    (copy / "results.csv").unlink()
    assert main(["sweep", str(path), "--out", str(copy), "--resume"]) == 0
    assert (copy / "results.csv").read_bytes() == (done / "results.csv").read_bytes()


def test_plot_reports_a_damaged_table_or_manifest(batched, tmp_path, capsys):
    import json
    import shutil

    _, done = batched
    broken = tmp_path / "parquet"
    shutil.copytree(done, broken)
    (broken / "results.parquet").write_bytes(b"not parquet")
    assert main(["plot", str(broken)]) == 2
    assert "results.parquet: damaged (not a readable Parquet" in capsys.readouterr().err
    edited = tmp_path / "manifest"
    shutil.copytree(done, edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    del manifest["sweep"]["columns"]
    (edited / "manifest.json").write_text(json.dumps(manifest))
    assert main(["plot", str(edited)]) == 2
    assert "manifest.json: damaged (sweep.columns" in capsys.readouterr().err


FAILING = """
[sweep]
base = "base.toml"
replicates = 4
seed = 1

[[parameters]]
key = "locus.pathogenic_mutation_rate"
values = {values}

[[parameters]]
key = "locus.max_alleles"
values = [1]
"""


@pytest.mark.parametrize(("values", "finished"), [("[0.0, 1e-9, 0.01]", 2), ("[0.01, 0.0]", 0)],
                         ids=["late", "first"])
def test_a_simulation_that_fails_mid_sweep_leaves_a_usable_directory(
    values, finished, tmp_path, capsys
):
    """Issue 28: a late failure left a partial directory that a plain rerun refused.
    Now: finished points are kept and the message says how to continue; a sweep
    that finished nothing leaves nothing, so the same command can simply be rerun."""
    path = write_sweep(tmp_path, FAILING.replace("{values}", values))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial",
                 "--batch", "1"]) == 2
    err = capsys.readouterr().err
    assert "locus.max_alleles" in err
    if finished:
        assert "keeps 2 of 3 finished points: pass --resume" in err
        assert len(list((out / "points").glob("batch-*.json"))) == 2
    else:
        assert "keeps" not in err and not out.exists()


def test_figure_axes_are_parameters_in_words(batched, tmp_path):
    """Axes and titles say what a parameter is, with its unit, not its config key
    (issue 25); the SVG copy carries the text."""
    import shutil

    from popsim.model.config import key_label
    from popsim.workflows.sweep.figures import sweep_figures

    assert key_label("demes.persian_jews.inbreeding") == "inbreeding coefficient F, Persian jews"
    assert key_label("locus.founder_alleles.M712T.copies") == "copies introduced, M712T"
    assert key_label("migration.0.rate").startswith("migration rate")
    assert key_label("some.unknown.key") == "some.unknown.key"
    _, done = batched
    copy = tmp_path / "copy"
    shutil.copytree(done, copy)
    paths = sweep_figures(copy)
    heatmap = next(p for p in paths if p.name.startswith("heatmap_"))
    text = heatmap.with_suffix(".svg").read_text()
    assert "founders (people), Iso" in text
    assert "inbreeding coefficient F, Iso" in text
    assert "P(≥ observed carrier frequency" in text
    assert "p_reach_observed_carrier_frequency" not in text and "demes.iso" not in text
