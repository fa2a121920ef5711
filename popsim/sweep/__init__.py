"""Parameter sweeps: many scenarios from one base config, run anywhere, resumable.

``popsim sweep SWEEP.toml --out DIR`` (see ``docs/sweeps.md``)::

    from popsim.sweep import load_sweep, run_sweep
    outcome = run_sweep(load_sweep("configs/sweep_founding.toml"), "out/founding")
    outcome.table  # one row per point: varied parameters and summary statistics

Modules: :mod:`~popsim.sweep.spec` (sweep files, points),
:mod:`~popsim.sweep.designs` (grid, Latin hypercube, Sobol'),
:mod:`~popsim.sweep.tasks` (the work of one batch),
:mod:`~popsim.sweep.executors` (serial, processes, Dask),
:mod:`~popsim.sweep.store` (the resumable output directory),
:mod:`~popsim.sweep.runner` (all of it together).
"""

from popsim.sweep.designs import DESIGNS, Design, Parameter
from popsim.sweep.executors import EXECUTORS
from popsim.sweep.runner import SweepInterrupted, SweepOutcome, run_sweep
from popsim.sweep.spec import Point, Sweep, load_sweep, resolve_points
from popsim.sweep.store import read_manifest

__all__ = [
    "DESIGNS",
    "EXECUTORS",
    "Design",
    "Parameter",
    "Point",
    "Sweep",
    "SweepInterrupted",
    "SweepOutcome",
    "load_sweep",
    "read_manifest",
    "resolve_points",
    "run_sweep",
]
