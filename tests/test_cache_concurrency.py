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
#: A pedigree scenario (the shipped one is a hybrid run, which calls both engines).
PEDIGREE_CONFIG = """
[scenario]
name = "pedigree"
engine = "pedigree"
generations = 45
[[demes]]
name = "community"
size = { start = 20, end = 20_000, growth = "exponential" }
first_cousin_marriage = 0.279
second_cousin_marriage = 0.107
[locus]
pathogenic_mutation_rate = 1e-6
[[locus.founder_alleles]]
name = "M712T"
deme = "community"
copies = 1
"""


def _pedigree_run(folder: Path) -> list[str]:
    """A pedigree run of enough replicates to take run_replicates (one per thread)."""
    config = folder / "pedigree.toml"
    config.write_text(PEDIGREE_CONFIG)
    return [sys.executable, "-m", "popsim", "run", str(config), "--replicates", "16"]


def _start(cache: Path, code: Path = ROOT, run: list[str] = RUN) -> subprocess.Popen:
    """`popsim run` (5 generations) of the popsim package in ``code`` on ``cache``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), NUMBA_DEBUG_CACHE="1")
    env["PYTHONPATH"] = str(code)
    return subprocess.Popen(
        [*run, "--generations", "5"],
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
@pytest.mark.parametrize(
    ("engine", "run", "edited"),
    [
        ("frequency", RUN, "sampling.py"),
        ("frequency", RUN, "layout.py"),
        ("pedigree", None, "pedigree/kinship.py"),
    ],
)
def test_an_edited_module_makes_its_engine_recompile(engine, run, edited, tmp_path: Path):
    """Numba keys a kernel on its own file only: the frequency kernel on frequency.py,
    not the sampler it calls nor the column constants it embeds (layout.py, seen
    through the stamp of its record_width kernel); the pedigree kernel on
    pedigree/kernel.py, not kinship.py, two calls down. popsim checks the stamps of
    every module the engine's kernels come from, says it is compiling, and
    recompiles once."""
    run = run or _pedigree_run(tmp_path)
    code = tmp_path / "code"
    shutil.copytree(
        ROOT / "popsim", code / "popsim", ignore=shutil.ignore_patterns("__pycache__", "presets")
    )
    cache = tmp_path / "numba-cache"
    first, first_log, _ = _finish(_start(cache, code, run))
    assert _saves(first_log) == 1
    module = code / "popsim" / "engines" / edited
    module.write_text(module.read_text() + "\n# edited\n")
    table, log, err = _finish(_start(cache, code, run))
    assert f"compiling the {engine} engine" in err and _saves(log) == 1 and table == first
    table, log, err = _finish(_start(cache, code, run))
    assert "compiling" not in err and _saves(log) == 0 and table == first


def test_every_module_compiled_into_an_engine_has_a_cache_stamp():
    """A module whose code or constants a kernel embeds is seen to change only through
    the cache stamps of its own kernels: every such module must define one, and be
    reached from the engine's entry (popsim.engines._kernel_modules)."""
    import popsim.engines.pedigree
    from popsim import engines

    package = Path(popsim.engines.pedigree.__file__).parent
    shared = {"popsim.engines.layout", "popsim.engines.rng"}
    expected = {
        "frequency": {"popsim.engines.frequency", "popsim.engines.sampling", *shared},
        "pedigree": {f"popsim.engines.pedigree.{p.stem}" for p in package.glob("*.py")
                     if p.stem != "__init__"} | shared,
    }
    for engine, names in expected.items():
        modules = {m.__name__: m for m in engines._kernel_modules(engine)}
        assert names <= set(modules), names - set(modules)
        for name in names:
            own = [k for k in engines._kernels(modules[name])
                   if k.py_func.__module__ == name and k._cache is not None]
            assert own, f"{name} defines no cached kernel"
