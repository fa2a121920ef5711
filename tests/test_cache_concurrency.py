"""Numba's disk cache shared by processes that start at once (see popsim.engines)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "japanese_two_founders.toml"
RUN = [sys.executable, "-m", "popsim", "run", str(CONFIG), "--replicates", "64"]


def _start(cache: Path, code: Path = ROOT) -> subprocess.Popen:
    """`popsim run` (5 generations) of the popsim package in ``code`` on ``cache``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), NUMBA_DEBUG_CACHE="1")
    env["PYTHONPATH"] = str(code)
    return subprocess.Popen(
        [*RUN, "--generations", "5"],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[str, list[str], str]:
    """(table without the timing line, Numba's cache log lines, stderr)."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    log = [line for line in out.splitlines() if line.startswith("[cache]")]
    table = [line for line in out.splitlines() if not line.startswith("[cache]")]
    return "\n".join(table[1:]), log, err


def _saves(log: list[str]) -> int:
    return sum("data saved" in line and "run_replicates" in line for line in log)


@pytest.mark.slow
def test_processes_starting_at_once_compile_once_and_agree(tmp_path: Path):
    """Four runs start with an empty cache: one compiles, all succeed with the same table,
    and a later run loads the cache without compiling."""
    cache = tmp_path / "numba-cache"
    outcomes = [_finish(p) for p in [_start(cache) for _ in range(4)]]
    assert len({table for table, _, _ in outcomes}) == 1
    assert "compiling the frequency engine" in outcomes[0][2]
    assert sum(_saves(log) for _, log, _ in outcomes) == 1
    table, log, err = _finish(_start(cache))
    assert table == outcomes[0][0]
    assert _saves(log) == 0 and "compiling" not in err


@pytest.mark.slow
def test_an_edited_sampler_makes_the_frequency_kernel_recompile(tmp_path: Path):
    """Numba keys the kernel on frequency.py only; popsim also checks sampling.py's
    cache stamps, says it is compiling, and recompiles once."""
    code = tmp_path / "code"
    shutil.copytree(
        ROOT / "popsim", code / "popsim", ignore=shutil.ignore_patterns("__pycache__", "presets")
    )
    cache = tmp_path / "numba-cache"
    first, first_log, _ = _finish(_start(cache, code))
    assert _saves(first_log) == 1
    sampler = code / "popsim" / "engines" / "sampling.py"
    sampler.write_text(sampler.read_text() + "\n# edited\n")
    table, log, err = _finish(_start(cache, code))
    assert "compiling the frequency engine" in err and _saves(log) == 1 and table == first
    table, log, err = _finish(_start(cache, code))
    assert "compiling" not in err and _saves(log) == 0 and table == first
