"""Shared fixtures: small scenarios built from dicts (no files needed)."""

from __future__ import annotations

import copy
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from popsim.model.build import scenario_from_dict

ONE_DEME = {
    "scenario": {"name": "one deme", "generations": 10, "replicates": 100, "seed": 7},
    "demes": [{"name": "pop", "size": 20}],
    "locus": {"selection": {"affected": 0.0}},
}


def one_deme(**changes) -> dict:
    """A copy of a one-deme config dict with dotted-key changes applied."""
    from popsim.model.config import set_dotted

    raw = copy.deepcopy(ONE_DEME)
    for key, value in changes.items():
        set_dotted(raw, key.replace("__", "."), value)
    return raw


@pytest.fixture(autouse=True, scope="session")
def burn_in_cache_dir(tmp_path_factory):
    """The on-disk burn-in cache of every test (and the processes it starts) in a
    temporary directory, never the user's."""
    path = tmp_path_factory.mktemp("popsim-cache")
    before = os.environ.get("POPSIM_CACHE_DIR")
    os.environ["POPSIM_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("POPSIM_CACHE_DIR", None)
    else:
        os.environ["POPSIM_CACHE_DIR"] = before


#: Where pyproject.toml makes ``tbb`` a dependency, so that Numba's default
#: threading layer is TBB's (popsim.engines.threads).
TBB_EXPECTED = sys.platform == "linux" and platform.machine() == "x86_64"

#: (threads, NUMBA_THREADING_LAYER) of :func:`check_layouts_agree`: one thread, two
#: on Numba's default layer (TBB where it is installed) and two on its workqueue
#: layer, built into Numba, which gives each thread a fixed share of every loop.
THREAD_LAYOUTS = (("1", None), ("2", None), ("2", "workqueue"))


def check_layouts_agree(script: str) -> None:
    """Run ``script`` (which prints a digest of its results) in a fresh process per
    :data:`THREAD_LAYOUTS` entry: the same digest on each, each on the layer it
    asked for, TBB by default where it is a dependency."""
    digests, layers = set(), []
    for threads, layer in THREAD_LAYOUTS:
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        env.pop("NUMBA_THREADING_LAYER", None)
        if layer is not None:
            env["NUMBA_THREADING_LAYER"] = layer
        code = script + "\nimport numba\nprint(numba.threading_layer())\n"
        out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                             env=env, capture_output=True, text=True, check=True)
        digest, used = out.stdout.split()[-2:]
        digests.add(digest)
        layers.append(used)
    assert len(digests) == 1, (digests, layers)
    assert layers[2] == "workqueue"
    if TBB_EXPECTED:
        assert layers[:2] == ["tbb", "tbb"], layers


@pytest.fixture
def tbb_expected() -> bool:
    """:data:`TBB_EXPECTED`, for tests."""
    return TBB_EXPECTED


@pytest.fixture
def layouts_agree():
    """:func:`check_layouts_agree`, for the engines' tests."""
    return check_layouts_agree


@pytest.fixture
def make_scenario():
    """Build a validated Scenario from a one-deme config with dotted changes."""

    def build(raw: dict | None = None, **changes):
        return scenario_from_dict(raw if raw is not None else one_deme(**changes))

    return build


@pytest.fixture(scope="session", autouse=True)
def warm_engines():
    """Compile (or load from Numba's cache) both engines' kernels once per session,
    before the first test, so that ``pytest --durations`` charges no test for
    compilation: one tiny run of each engine."""
    from popsim import simulate

    for engine in ("frequency", "pedigree"):
        simulate(scenario_from_dict(one_deme()), replicates=2, seed=1, engine=engine)


@pytest.fixture
def drawn_figures(monkeypatch):
    """The matplotlib Figures that popsim.outputs.figures creates during a test, in order
    (each kept, with its artists, after it is saved), to read the plotted data back."""
    from matplotlib.figure import Figure

    import popsim.outputs.figures as module

    drawn: list[Figure] = []

    class Recorded(Figure):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            drawn.append(self)

    monkeypatch.setattr(module, "Figure", Recorded)
    return drawn


def pytest_sessionfinish(session, exitstatus):
    """A run that collected no tests is a failure, never a silent success (pytest's exit 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
