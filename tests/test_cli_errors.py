"""A user's mistake through the CLI: exit status 2, one line on stderr, no traceback,
nothing written to --out; ``--debug`` shows the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from popsim.cli import COMMANDS, main
from popsim.errors import ConfigError

GOOD = """\
[scenario]
name = "cli"
generations = 5
replicates = 4

[[demes]]
name = "pop"
size = 20

[locus]
"""

#: Config mistakes, each with a fragment of the expected message.
BAD = {
    "type": (GOOD.replace("size = 20", 'size = "twenty"'), "demes[0].size = 'twenty'"),
    "unknown key": (GOOD.replace("replicates", "replicate"), "did you mean 'replicates'"),
    "nan": (GOOD.replace("size = 20", "size = 20\ninbreeding = nan"),
            "demes[0].inbreeding = nan: must be a finite number"),
    "truncated": (GOOD[:20], "config: not valid TOML: Unterminated string"),
    "copies over 2N": (
        GOOD + '[[locus.founder_alleles]]\nname = "A"\ndeme = "pop"\ncopies = 41\n',
        "locus.founder_alleles[0].copies = 41: must be between 1 and 2N = 40",
    ),
    "demes file": ('demography = "none.yaml"\n' + GOOD.replace('[[demes]]\nname = "pop"\n'
                                                              "size = 20\n", ""),
                   "demography = 'none.yaml': Demes file not found"),
}


def error_lines(stderr: str) -> list[str]:
    """The lines of stderr (a config error is found before the engine is even compiled)."""
    return stderr.splitlines()


@pytest.mark.parametrize("case", sorted(BAD))
def test_config_mistake_exits_2_with_one_line(tmp_path, capsys, case):
    text, expected = BAD[case]
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    status = main(["run", str(config), "--out", str(out)])
    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert status == 2
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"popsim: error: {config}: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "demes.village.size=5"], "demes.village: no entry with that name or index"),
        (["--set", "scenario.seed"], "--set = 'scenario.seed': must look like dotted.key=value"),
        (["--set", "demes.0.inbreeding=1"], "demes[0].inbreeding = 1.0: must be in [0, 1)"),
        (["--replicates", "0"], "scenario.replicates = 0: must be in [1, 1e+07]"),
        (["--generations", "-3"], "scenario.generations = -3: must be in [0, 1e+06]"),
    ],
)
def test_bad_overrides_exit_2(tmp_path, capsys, args, expected):
    config = tmp_path / "good.toml"
    config.write_text(GOOD, encoding="utf-8")
    status = main(["run", str(config), "--out", str(tmp_path / "out"), *args])
    lines = error_lines(capsys.readouterr().err)
    assert status == 2 and len(lines) == 1 and expected in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert lines == [f"popsim: error: config = '{tmp_path / 'nope.toml'}': file not found"]


def test_debug_raises(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(BAD["type"][0], encoding="utf-8")
    with pytest.raises(ConfigError, match=r"demes\[0\]\.size"):
        main(["--debug", "run", str(config)])


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:popsim"}
    return subprocess.run(
        [sys.executable, "-m", "popsim", *args], cwd=cwd, capture_output=True, text=True,
        env=env, timeout=120,
    )


def test_subprocess_exit_status_and_debug(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(BAD["unknown key"][0], encoding="utf-8")
    plain = run_module("run", "bad.toml", "--out", "out", cwd=tmp_path)
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.startswith("popsim: error: bad.toml: scenario.replicate: unknown key")
    assert plain.stdout == ""
    assert not (tmp_path / "out").exists()
    debug = run_module("--debug", "run", "bad.toml", "--out", "out", cwd=tmp_path)
    assert debug.returncode != 0 and debug.returncode != 2
    assert "Traceback" in debug.stderr and "ConfigError" in debug.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_no_escaped_percent_signs(command, capsys):
    """Every --help as printed: '95%', never argparse's escape '95%%' nor a raw '%('."""
    words = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit):
        main(words)
    text = capsys.readouterr().out
    assert "usage: popsim" in text
    assert "%%" not in text and "%(" not in text
