"""Parameter sweeps: many scenarios from one base config, run anywhere, resumable.

``popsim sweep SWEEP.toml --out DIR`` (see ``docs/sweeps.md``)::

    from popsim.workflows.sweep import load_sweep, run_sweep
    outcome = run_sweep(load_sweep("configs/sweep_founding.toml"), "out/founding")
    outcome.table  # one row per point: varied parameters and summary statistics

Modules: :mod:`~popsim.workflows.sweep.spec` (sweep files, points),
:mod:`~popsim.workflows.sweep.designs` (grid, Latin hypercube, Sobol'),
:mod:`~popsim.workflows.sweep.tasks` (the work of one batch),
:mod:`~popsim.workflows.sweep.executors` (serial, processes, Dask),
:mod:`~popsim.workflows.sweep.store` (the resumable output directory),
:mod:`~popsim.workflows.sweep.runner` (all of it together).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names and the submodule each comes from. They are imported on first
#: use, so a worker process that only needs :mod:`popsim.workflows.sweep.tasks` does not
#: import the runner and pandas (part of every sweep's start-up, benchmarks/README.md).
_EXPORTS = {
    "DESIGNS": "designs",
    "Design": "designs",
    "Parameter": "designs",
    "EXECUTORS": "executors",
    "SweepInterrupted": "runner",
    "SweepOutcome": "runner",
    "run_sweep": "runner",
    "Point": "spec",
    "Sweep": "spec",
    "load_sweep": "spec",
    "resolve_points": "spec",
    "read_manifest": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'popsim.workflows.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"popsim.workflows.sweep.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
