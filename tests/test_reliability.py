"""Issue 28 (reliability and security): outputs never overwrite silently, OS
errors are one-line errors, inputs are bounded (docs/reliability.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from popsim.errors import ConfigError, PopsimError
from popsim.outputs import files
from popsim.outputs.files import write_directory


def _fill(text: str):
    def fill(tmp: Path) -> None:
        (tmp / "a.txt").write_text(text)

    return fill


@pytest.fixture(params=["renameat2", "portable"])
def rename_path(request, monkeypatch):
    """Run a test with Linux's renameat2 and with the portable fallback."""
    if request.param == "portable":
        monkeypatch.setattr(files, "_renameat2", lambda source, target, flags: False)
    return request.param


def test_a_directory_that_appears_while_writing_is_not_replaced(tmp_path, rename_path):
    out = tmp_path / "out"

    def fill(tmp: Path) -> None:  # another run finishes first, while this one writes
        write_directory(out, _fill("first"))
        (tmp / "a.txt").write_text("second")

    with pytest.raises(PopsimError, match="appeared while this run was writing") as caught:
        write_directory(out, fill)
    assert (out / "a.txt").read_text() == "first"
    kept = tmp_path / "out.new-1"
    assert str(kept) in str(caught.value) and "\n" not in str(caught.value)
    assert (kept / "a.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.new-1"]


def test_overwrite_replaces_and_leaves_no_hidden_directories(tmp_path, rename_path):
    out = tmp_path / "out"
    write_directory(out, _fill("old"))
    write_directory(out, _fill("new"), overwrite=True)
    assert (out / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_interrupted_overwrite_leaves_the_old_output(tmp_path, monkeypatch):
    """The portable swap interrupted between its two renames rolls back."""
    monkeypatch.setattr(files, "_renameat2", lambda source, target, flags: False)
    out = tmp_path / "out"
    write_directory(out, _fill("old"))
    real_replace = os.replace
    interrupted = []

    def replace(source, target):
        if Path(target) == out and not interrupted:  # the new directory's rename into place
            interrupted.append(source)
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_directory(out, _fill("new"), overwrite=True)
    monkeypatch.undo()
    assert interrupted and (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ----------------------------------------------------------------- item 2: OS errors, --out checks

CONFIG = """
[scenario]
name = "tiny"
generations = 3
replicates = 4
seed = 1

[[demes]]
name = "d"
size = 50

[[locus.founder_alleles]]
name = "m"
deme = "d"
copies = 2
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(CONFIG)
    return path


def _one_line_error(capsys, *words: str) -> str:
    from popsim.cli import main

    assert main(list(words)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines()
             if not line.startswith("popsim: compiling")]  # a first run's notice
    assert len(lines) == 1 and lines[0].startswith("popsim: error: "), lines
    return lines[0]


def _never_simulates(monkeypatch):
    import popsim.commands.run

    def fail(*args, **kwargs):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(popsim.commands.run, "simulate", fail)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: "", "must name a directory"),
        (lambda tmp: (tmp / "gone").symlink_to(tmp / "nowhere") or tmp / "gone", "link to nothing"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "not a directory"),
        (lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "out", "is not a directory"),
        (lambda tmp: tmp / "out\x1b[2J", "invisible formatting characters"),
        (lambda tmp: tmp / "out\u202etxt.exe", "invisible formatting characters"),
    ],
    ids=["empty", "dangling-link", "a-file", "under-a-file", "ansi-escape", "bidi-override"],
)
def test_unusable_out_is_refused_before_simulating(
    make, expected, config, tmp_path, capsys, monkeypatch
):
    _never_simulates(monkeypatch)
    out = make(tmp_path)
    err = _one_line_error(capsys, "run", str(config), "--out", str(out))
    assert expected in err


def test_unwritable_parent_is_refused_before_simulating(config, tmp_path, capsys, monkeypatch):
    _never_simulates(monkeypatch)
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)
    err = _one_line_error(capsys, "run", str(config), "--out", str(tmp_path / "o"))
    assert "not writable" in err and str(tmp_path) in err


def test_os_error_while_writing_is_one_line(config, tmp_path, capsys, monkeypatch):
    import errno

    from popsim.analysis.results import Result

    def full(self, directory, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory))

    monkeypatch.setattr(Result, "write", full)
    out = tmp_path / "out"
    err = _one_line_error(capsys, "run", str(config), "--out", str(out), "--no-figures")
    assert f"{out}: No space left on device" in err


def test_out_in_proc_is_one_line(config, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    _one_line_error(capsys, "run", str(config), "--out", "/proc/popsim-out", "--no-figures")


@pytest.mark.parametrize(
    "address",
    ["not a url", "tcp://", "tls://host:99999", "host:port",
     "tcp://10.0.0.5:8786", "localhost:8786", "scheduler", "ws://10.0.0.5:8786"],
)
def test_bad_scheduler_address_is_refused(address, tmp_path, capsys):
    """Only tls://HOST[:PORT]: a plain tcp:// (or protocol-less, which Dask takes
    as tcp://) scheduler runs code for anyone who reaches its port (issue 28)."""
    err = _one_line_error(capsys, "sweep", "missing.toml", "--out", str(tmp_path / "o"),
                          "--scheduler", address)
    assert "--scheduler = " in err and address in err and "tls://HOST[:PORT]" in err


def test_scheduler_address_forms_are_accepted(monkeypatch, tmp_path):
    """TLS addresses pass once Dask's configuration holds this client's credentials;
    without them the address is refused before any work, naming the settings."""
    import dask
    import distributed  # noqa: F401  (registers its configuration before dask.config.set)

    from popsim.workflows.sweep.executors import check_scheduler_address

    bare = {"distributed.comm.tls.ca-file": None, "distributed.comm.tls.client.cert": None}
    with pytest.raises(ConfigError, match="DASK_DISTRIBUTED__COMM__TLS__CA_FILE"), \
            dask.config.set(bare):
        check_scheduler_address("tls://10.0.0.5:8786")
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "cert.pem").write_text("x")
    with dask.config.set({"distributed.comm.tls.ca-file": str(tmp_path / "ca.pem"),
                          "distributed.comm.tls.client.cert": str(tmp_path / "cert.pem")}):
        for address in ("tls://10.0.0.5:8786", "tls://localhost", "tls://[::1]:8786",
                        "tls://scheduler"):
            check_scheduler_address(address)


def test_run_sweep_refuses_a_plain_tcp_scheduler_before_anything(tmp_path):
    """From Python too: run_sweep refuses tcp:// before it creates the directory."""
    from popsim.workflows.sweep import load_sweep, run_sweep

    (tmp_path / "base.toml").write_text(CONFIG)
    (tmp_path / "sweep.toml").write_text(
        '[sweep]\nbase = "base.toml"\n[[parameters]]\nkey = "scenario.generations"\n'
        "values = [1, 2]\n")
    sweep = load_sweep(tmp_path / "sweep.toml")
    with pytest.raises(ConfigError, match="tls://HOST"):
        run_sweep(sweep, tmp_path / "out", executor="dask", scheduler="tcp://127.0.0.1:8786")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["sweep", "fit"])
def test_sweep_and_fit_check_out_before_reading(command, tmp_path, capsys):
    err = _one_line_error(capsys, command, "missing.toml", "--out", "")
    assert "must name a directory" in err


# ----------------------------------------------------------------- item 3: bounded inputs


@pytest.mark.parametrize("command", ["run", "sweep", "fit"])
def test_a_device_is_not_read_as_a_config(command, tmp_path, capsys):
    words = [command, "/dev/zero"] + ([] if command == "run" else ["--out", str(tmp_path / "o")])
    err = _one_line_error(capsys, *words)
    assert "/dev/zero" in err and "regular file" in err


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    assert "regular file" in _one_line_error(capsys, "run", str(fifo))


def test_a_config_over_the_size_limit_is_refused(tmp_path, capsys, monkeypatch):
    from popsim.model import config as config_module

    monkeypatch.setattr(config_module, "MAX_CONFIG_BYTES", 100)
    big = tmp_path / "big.toml"
    big.write_text(CONFIG)
    assert "larger than 100 bytes" in _one_line_error(capsys, "run", str(big))


def test_the_limit_is_four_mebibytes():
    from popsim.model.limits import MAX_CONFIG_BYTES

    assert MAX_CONFIG_BYTES == 4 * 2**20


@pytest.mark.parametrize("index", ["4", "300000000", "1000000000000"])
def test_replicate_index_beyond_the_replicates_is_refused(index, config, capsys, monkeypatch):
    _never_simulates(monkeypatch)
    err = _one_line_error(capsys, "run", str(config), "--replicate-index", index)
    assert f"--replicate-index = {index}: must be in [0, 4)" in err


def test_replicate_index_seed_needs_no_earlier_seeds():
    """Seeds from a large first replicate equal numpy's words, computed without them."""
    import numpy as np

    from popsim.engines.rng import replicate_seeds

    for seed, point in [(3, 0), (2**64 + 11, 5)]:
        words = np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(600, np.uint64)
        for first, count in [(1, 599), (17, 1), (599, 1), (300, 100)]:
            assert np.array_equal(replicate_seeds(seed, count, point, first),
                                  words[first:first + count])
    import tracemalloc

    tracemalloc.start()
    far = replicate_seeds(3, 2, 0, 10**12)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**20, "materialised the seeds before the first"
    assert far.dtype == np.uint64 and far.shape == (2,)
    assert np.array_equal(replicate_seeds(3, 1, 0, 10**12 + 1), far[1:])


def test_workers_are_capped_at_the_cores_unless_forced(capsys, monkeypatch):
    from popsim.commands.common import capped_workers
    from popsim.workflows.sweep import executors

    monkeypatch.setattr(executors, "default_workers", lambda: 2)
    assert capped_workers(48, force=False) == 2
    assert "--workers 48: using 2" in capsys.readouterr().err
    assert capped_workers(48, force=True) == 48
    assert capped_workers(2, force=False) == 2 and capped_workers(None, force=False) is None
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------- item 4: smaller ones

SIGTERM_SCRIPT = """
import os, signal, sys, time
from popsim.analysis.results import Result
from popsim.outputs.files import write_directory
import popsim.cli

def write(self, directory, **kwargs):
    def fill(tmp):
        (tmp / "partial.csv").write_text("x")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    return write_directory(directory, fill)

Result.write = write
sys.exit(popsim.cli.main(["run", sys.argv[1], "--out", sys.argv[2], "--no-figures"]))
"""


def test_sigterm_is_handled_like_ctrl_c(config, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "results" / "out"
    done = subprocess.run([sys.executable, "-c", SIGTERM_SCRIPT, str(config), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
    assert list((tmp_path / "results").iterdir()) == []  # no hidden .tmp directory


def test_names_that_differ_get_different_file_names():
    from popsim.outputs.figures import safe_name

    names = ["x", "x_", "x.", "x-", "a b", "a_b", "a/b", "../b", "", "_", "Persian Jews"]
    files_ = [safe_name(name) for name in names]
    assert len(set(files_)) == len(names)
    assert all("/" not in f and not f.startswith(".") and f for f in files_)
    assert safe_name("persian_jews") == "persian_jews"  # ordinary names are kept


def test_sweep_results_csv_defuses_spreadsheet_formulas(tmp_path):
    import pandas as pd

    from popsim.outputs.files import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in ["=1+1", "+x", "-cmd", "@SUM(A1)", "\tx", "ok", -1.5]] == [
        "'=1+1", "'+x", "'-cmd", "'@SUM(A1)", "'\tx", "ok", -1.5]
    from popsim.workflows.sweep.store import SweepStore

    store = SweepStore.__new__(SweepStore)
    store.directory = tmp_path
    store.completed = lambda: {0: {"point": 0, "replicates": 2, "carrier_frequency": -0.5}}
    table = store.write_results(["scenario.name"], [("=HYPERLINK(\"http://x\")",)], seed=1)
    csv = pd.read_csv(tmp_path / "results.csv")
    assert csv["scenario.name"][0] == "'=HYPERLINK(\"http://x\")"
    assert csv["carrier_frequency"][0] == -0.5
    assert table["scenario.name"][0] == "=HYPERLINK(\"http://x\")"  # the data itself unchanged


def test_atomic_files_follow_the_umask(tmp_path):
    from popsim.outputs.files import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.csv", "x")
        os.umask(0o077)
        write_text_atomic(tmp_path / "b.csv", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.csv").stat().st_mode & 0o777 == 0o600


def test_report_md_shows_text_as_text():
    from popsim.workflows.compare.report import to_markdown

    hostile = "<img src=x onerror=alert(1)> **bold** [link](http://x) `code`"
    md = to_markdown(
        [("h1", "# title"), ("p", hostile), ("ul", ["1. item"]),
         ("table", [["a|b"], ["<b>"], ["0.0347"], ["-0.5"]]), ("code", "popsim run ```x```")],
        Path("."),
    )
    import re

    assert not re.search(r"(?<!\\)[<>*\[\]`]", md.split("````")[0])  # all escaped, outside code
    assert "\\<img src=x onerror=alert(1)\\> \\*\\*bold\\*\\* \\[link\\](http://x)" in md
    assert "# \\# title" in md and "- 1\\. item" in md and "a\\|b" in md
    assert "````\npopsim run ```x```\n````" in md
    assert "| 0.0347 |" in md and "| -0.5 |" in md  # numbers stay readable


@pytest.mark.parametrize("hidden", ["\u2028", "\u2029", "\u202e", "\u200b", "\x1b", "\x85"])
def test_one_line_names_refuse_hidden_characters(hidden, tmp_path, capsys):
    """A line or separator character, a bidi override or a zero-width space in a
    one-line name (here the scenario's) is refused, and the message shows it
    escaped: the terminal never receives it raw."""
    path = tmp_path / "hidden.toml"
    escaped = f"\\u{ord(hidden):04x}"  # TOML's escape: TOML itself refuses a raw ESC
    path.write_text(CONFIG.replace('name = "tiny"', f'name = "a{escaped}b"', 1))
    err = _one_line_error(capsys, "run", str(path))
    assert "scenario.name" in err and "invisible formatting" in err
    assert hidden not in err


def test_a_path_with_an_ansi_escape_is_shown_escaped(tmp_path, capsys):
    """A config path with ESC in its name reaches stderr as ``\\x1b``, not as a
    terminal command."""
    path = tmp_path / "evil\x1b[31m.toml"
    path.write_text("[scenario]\nnot_a_key = 1\n")
    err = _one_line_error(capsys, "run", str(path))
    assert "\x1b" not in err and "\\x1b[31m" in err


@pytest.mark.parametrize("name", ["x" * 300 + ".toml", "a\\u0000b.toml"], ids=["too-long", "nul"])
@pytest.mark.parametrize("command", ["sweep", "fit", "demography"])
def test_file_names_the_system_refuses_are_config_errors(name, command, tmp_path, capsys):
    """A referenced file whose name the OS cannot use (ENAMETOOLONG, a NUL byte) was
    an OSError traceback from the API (found by the sweep-file fuzz); it is a
    one-line error naming the key (Python reports a NUL byte as "not found")."""
    head = {"sweep": "[sweep]\nbase", "fit": "[fit]\nbase", "demography": "demography"}[command]
    path = tmp_path / "f.toml"
    scenario = '[scenario]\nname = "x"\ngenerations = 5\n' if command == "demography" else ""
    path.write_text(f'{head} = "{name}"\n{scenario}')
    key = {"sweep": "sweep.base", "fit": "fit.base", "demography": "demography"}[command]
    words = ["run", str(path)] if command == "demography" else [command, str(path)]
    if command != "demography":
        words += ["--out", str(tmp_path / "out")]
    err = _one_line_error(capsys, *words)
    assert f"{key} = " in err
    if len(name) > 255:
        assert "cannot be used as a file name" in err
    else:
        assert "not found" in err or "must be the path" in err
