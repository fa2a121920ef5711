"""Run a sweep: resolve and validate its points, run the missing ones, assemble the table."""

from __future__ import annotations

import math
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from popsim.burnin import BurnInCache, BurnIns
from popsim.engines.snapshot import BurnInState
from popsim.errors import PopsimError
from popsim.provenance import build_manifest, utc_now
from popsim.workflows.sweep.executors import (
    EXECUTORS,
    check_scheduler_address,
    default_workers,
    open_executor,
)
from popsim.workflows.sweep.spec import Point, Sweep, fingerprint, resolve_points
from popsim.workflows.sweep.store import SweepStore, open_store
from popsim.workflows.sweep.tasks import BURN_IN_POINT, Task

#: Batches per worker at least (load balance) and points per batch at most (commit often).
BATCHES_PER_WORKER, MIN_BATCHES, MAX_BATCH = 4, 100, 32


@dataclass(frozen=True)
class SweepOutcome:
    """A finished sweep: its table, where it lies, and what this call computed."""

    directory: Path
    table: pd.DataFrame
    points: int
    computed: int
    wall_seconds: float


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: ``done`` of ``total`` points are committed in ``directory``."""

    def __init__(self, directory: Path, done: int, total: int):
        super().__init__(f"{done} of {total} points done")
        self.directory, self.done, self.total = directory, done, total


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    command_line: str | None = None,
    cache: BurnInCache | None = None,
) -> SweepOutcome:
    """Run every point of ``sweep`` not yet committed in ``out`` and write the results.

    Args:
        executor: ``serial``, ``processes`` or ``dask``; ``workers`` defaults to
            the cores available; ``scheduler`` is an existing Dask scheduler,
            ``tls://HOST[:PORT]`` (:func:`check_scheduler_address`).
        resume, overwrite: see :func:`popsim.workflows.sweep.store.open_store`.
        batch: points per task (default: see :func:`batch_size`).
        progress: called with the number of points of each committed batch.
        on_start: called with (points already done, points to run) before running.
        command_line: the command as typed, for the manifest (None from Python).
        cache: on-disk cache of burn-in states (None: none). A burn-in shared by
            several pending points is computed here, once, before the points run
            (:func:`share_burn_ins`); the others in the workers.

    Raises:
        ConfigError: a point's config or ``scheduler`` is invalid (nothing is run).
        PopsimError: a point's simulation stopped, or the directory is refused.
        SweepInterrupted: Ctrl-C; committed points stay for ``--resume``.
    """
    if executor not in EXECUTORS:
        raise PopsimError(f"--executor {executor!r}: must be one of {', '.join(EXECUTORS)}")
    if batch is not None and batch < 1:
        raise PopsimError(f"--batch {batch}: must be at least 1")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    workers = 1 if executor == "serial" else workers or default_workers()
    if workers < 1:
        raise PopsimError(f"--workers {workers}: must be at least 1")
    started_at = utc_now()
    started = time.perf_counter()
    points = resolve_points(sweep)
    names = {"sweep": str(sweep.path), "base": str(sweep.base_path)}
    manifest = sweep_manifest(sweep, points, command_line=command_line, started=started_at)
    kept = None  # finished points when a simulation failed; None: no failure in a run
    try:
        with open_store(out, manifest, resume=resume, overwrite=overwrite, names=names) as store:
            done = store.completed()
            pending = [p for p in points if p.index not in done]
            if on_start is not None:
                on_start(len(done), len(pending))
            size = batch or batch_size(len(pending), workers)
            if pending:
                try:
                    shared = share_burn_ins(pending, cache)
                    tasks = [
                        _task(pending[i : i + size], sweep.deme, executor != "serial", shared,
                              cache)
                        for i in range(0, len(pending), size)
                    ]
                    _run(store, tasks, executor, workers, scheduler, progress, len(points))
                except PopsimError:
                    kept = len(store.completed())
                    raise
            table = store.write_results(sweep.design.keys, [p.values for p in points], sweep.seed)
    except PopsimError as error:
        if kept == 0 and not resume:
            shutil.rmtree(out)  # this run made it and finished nothing: a plain rerun just works
            raise
        if kept:
            raise PopsimError(
                f"{error}; {out} keeps {kept} of {len(points)} finished points: pass --resume "
                "to continue once the cause is fixed (a changed sweep or base file needs "
                "--overwrite)"
            ) from None
        raise
    return SweepOutcome(
        Path(out), table, len(points), len(pending), time.perf_counter() - started
    )


def batch_size(pending: int, workers: int) -> int:
    """Points per task: at least max(100, 4·workers) tasks for load balance, at most
    32 points each, so a commit (and what Ctrl-C loses) stays small."""
    tasks = max(MIN_BATCHES, BATCHES_PER_WORKER * workers)
    return max(1, min(MAX_BATCH, math.ceil(pending / tasks)))


def share_burn_ins(
    points: list[Point], cache: BurnInCache | None
) -> dict[int, tuple[str, BurnInState]]:
    """Burn in, here and once each, every burn-in that two or more of ``points`` share
    (equal :func:`popsim.burnin.burn_in_key` with the seeds of :data:`BURN_IN_POINT`);
    returns each such point's key and state by point index (points with a burn-in of their
    own burn in where they run)."""
    from popsim.model.build import model_of
    from popsim.simulate import prepare_burn_in, scenario_burn_in_key

    models = {p.index: model_of(p.scenario) for p in points}  # each plan compiled once
    keys = {i: scenario_burn_in_key(model, point=BURN_IN_POINT) for i, model in models.items()}
    counts = Counter(key for key in keys.values() if key is not None)
    burn_ins = BurnIns(cache)
    states: dict[str, BurnInState] = {}
    shared = {}
    for p in points:
        key = keys[p.index]
        if key is None or counts[key] < 2:
            continue
        if key not in states:  # burned in (or read) once per key, not per point
            prepare_burn_in(models[p.index], burn_ins, point=BURN_IN_POINT)
            states[key] = burn_ins.states({key})[key]
        shared[p.index] = (key, states[key])
    return shared


def _task(points: list[Point], deme: str, single_thread: bool,
          shared: dict[int, tuple[str, BurnInState]], cache: BurnInCache | None) -> Task:
    """A task of ``points``, with those of their burn-in states that are in ``shared``."""
    return Task(
        points=tuple(p.index for p in points),
        scenarios=tuple(p.scenario for p in points),
        labels=tuple(p.label for p in points),
        deme=deme,
        single_thread=single_thread,
        burn_ins=BurnIns(cache, dict(shared[p.index] for p in points if p.index in shared)),
    )


def _run(
    store: SweepStore,
    tasks: list[Task],
    executor: str,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int], None] | None,
    total: int,
) -> None:
    if executor != "serial":
        _warm_kernels(tasks)
    try:
        with open_executor(executor, workers, scheduler) as run:
            for rows in run(tasks):
                store.commit(rows)
                if progress is not None:
                    progress(len(rows))
    except KeyboardInterrupt:
        raise SweepInterrupted(store.directory, len(store.completed()), total) from None


def _warm_kernels(tasks: list[Task]) -> None:
    """Compile (into Numba's disk cache) each engine the sweep uses, once, here,
    rather than in every worker at the same time.

    Two replicates on one thread take the kernel the workers take (one thread
    each, replicates in parallel): with a single replicate the pedigree engine
    would compile its within-replicate kernel instead.
    """
    import numba

    from popsim.engines import kernel_is_cached
    from popsim.simulate import simulate

    seen: set[str] = set()
    threads = numba.get_num_threads()
    for task in tasks:
        for scenario in task.scenarios:
            if scenario.engine not in seen:
                seen.add(scenario.engine)
                if not kernel_is_cached(scenario.engine):
                    numba.set_num_threads(1)
                    try:
                        simulate(scenario, replicates=2)
                    finally:
                        numba.set_num_threads(threads)


def sweep_manifest(
    sweep: Sweep,
    points: list[Point],
    *,
    command_line: str | None = None,
    started: str | None = None,
) -> dict[str, Any]:
    """Everything that identifies the sweep and its results (written to manifest.json):
    the common provenance block (:mod:`popsim.provenance`) and a ``sweep`` section."""
    import hashlib

    section = {
        "name": sweep.name,
        "description": sweep.description,
        "sweep_file": str(sweep.path),
        "sweep_sha256": sweep.sha256,
        "base": str(sweep.base_path),
        "base_sha256": hashlib.sha256(sweep.base_path.read_bytes()).hexdigest(),
        "scenarios_sha256": fingerprint(sweep, points),
        "root_seed": sweep.seed,
        "replicates": sweep.replicates,
        "deme": sweep.deme,
        "design": sweep.design.describe(),
        "columns": list(sweep.design.keys),
        "points": [list(p.values) for p in points],
        "observations": [
            {"statistic": o.statistic, "value": o.value, "deme": o.deme, "source": o.source}
            for o in sweep.base.observations
        ],
        "sweep_text": sweep.text,
    }
    return build_manifest("sweep", section, command_line=command_line, started=started)

