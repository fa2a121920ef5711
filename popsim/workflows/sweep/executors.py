"""Executors: where a sweep's batches run.

* ``serial``: in this process, Numba using every core over replicates.
* ``processes``: a local pool of ``workers`` processes
  (:class:`concurrent.futures.ProcessPoolExecutor`, 'spawn' context: forking a
  process that already runs Numba's threads is unsafe), one single-threaded
  worker per core.
* ``dask``: a :class:`dask.distributed.LocalCluster` (processes, ``workers``
  workers, one thread each; mutual TLS on 127.0.0.1 with throw-away
  credentials, no dashboard: see :func:`local_cluster`), or an existing
  cluster at ``scheduler``, reached with the TLS settings of Dask's config;
  its workers need popsim installed. Its address must be ``tls://``
  (:func:`check_scheduler_address`): a Dask scheduler runs whatever a client
  sends it, so one on plain TCP runs code for anyone who reaches its port, and
  a client of a scheduler it cannot authenticate unpickles whatever comes back.

Workers run Numba on one thread (``NUMBA_NUM_THREADS=1`` in their
environment, and :func:`numba.set_num_threads` in each task). Each executor
yields the rows of every batch as the batch finishes, in completion order; the
caller commits them. Results do not depend on the executor (see
:mod:`popsim.workflows.sweep.tasks`).

Ctrl-C belongs to the coordinating process: local workers start with SIGINT
ignored, and on any exception the executor stops its running work at once.
Pool workers also exit by themselves when the coordinating process dies
(kill -9), so no orphan keeps computing.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from popsim.errors import ConfigError, PopsimError
from popsim.workflows.sweep.tasks import Task, run_task

EXECUTORS = ("serial", "processes", "dask")
#: An existing Dask scheduler's address: tls://HOST[:PORT] (group 1: the protocol, 2: the port).
_ADDRESS = re.compile(
    r"(?:([a-z][a-z0-9+.-]*)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d+))?"
)
SINGLE_THREAD_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}

Rows = list[dict[str, Any]]
Runner = Callable[[Sequence[Task]], Iterator[Rows]]


def default_workers() -> int:
    """Cores available to this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def open_executor(
    kind: str,
    workers: int = 1,
    scheduler: str | None = None,
    function: Callable[[Any], Rows] = run_task,
) -> Iterator[Runner]:
    """Start executor ``kind``; yield ``run(tasks)``, an iterator over finished batches' rows.

    Each task is run by ``function`` (default :func:`run_task`; another
    module-level function, e.g. :func:`popsim.workflows.fit.simulator.run_draws`, lets
    other commands reuse the executors). Leaving the block stops the executor;
    on an exception (Ctrl-C included) running work is abandoned at once.
    """
    if kind == "serial":
        yield partial(_serial, function=function)
    elif kind == "processes":
        with _processes(workers, function) as run:
            yield run
    elif kind == "dask":
        with _dask(workers, scheduler, function) as run:
            yield run
    else:
        raise PopsimError(f"--executor {kind!r}: must be one of {', '.join(EXECUTORS)}")


def _serial(tasks: Sequence[Task], function: Callable[[Any], Rows] = run_task) -> Iterator[Rows]:
    for task in tasks:
        yield function(task)


# --------------------------------------------------------------------------- processes


@contextmanager
def _processes(workers: int, function: Callable[[Any], Rows]) -> Iterator[Runner]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )

    def run(tasks: Sequence[Task]) -> Iterator[Rows]:
        with _spawning():  # the pool spawns its workers on submit
            futures = [pool.submit(function, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()

    try:
        yield run
    except BaseException:
        _terminate(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(parent: int) -> None:
    """In a pool worker: leave Ctrl-C to the parent, and exit if the parent dies
    (e.g. kill -9), so no orphan keeps computing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="popsim-parent-watch", daemon=True).start()


def _terminate(pool: Any) -> None:
    """Stop a ProcessPoolExecutor's workers now (Python ≥ 3.14 has a method for it)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


@contextmanager
def _spawning() -> Iterator[None]:
    """While worker processes start: give them one Numba thread, and leave Ctrl-C to
    this process (a spawned child keeps an ignored SIGINT ignored; a Ctrl-C pressed
    in these moments is dropped)."""
    with _environment(SINGLE_THREAD_ENV):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --------------------------------------------------------------------------- dask


def check_scheduler_address(address: str) -> None:
    """Refuse (:class:`~popsim.errors.ConfigError`, exit 2) an existing scheduler's
    address that is not ``tls://HOST[:PORT]``, or one that this client has no TLS
    credentials for in Dask's configuration, before any work.

    Only mutual TLS is accepted: ``tcp://`` (Dask's protocol when none is given)
    neither authenticates the scheduler nor keeps others off it, and a Dask
    scheduler runs whatever its clients send (docs/sweeps.md, "Who can connect").
    """
    match = _ADDRESS.fullmatch(address)
    if (match is None or match[1] != "tls"
            or (match[2] is not None and not 0 < int(match[2]) < 65536)):
        raise ConfigError(
            "--scheduler", address, "must be a TLS address tls://HOST[:PORT], e.g. "
            "tls://10.0.0.5:8786 (a tcp:// or protocol-less scheduler runs code for anyone "
            "who reaches its port; docs/sweeps.md shows how to start one with TLS)"
        )
    from distributed.security import Security

    security = Security()  # from Dask's config: distributed.comm.tls.*
    missing = [name for name, value in (
        ("ca_file", security.tls_ca_file), ("client.cert", security.tls_client_cert),
    ) if not value]
    if missing:
        raise ConfigError(
            "--scheduler", address, "needs this client's TLS credentials in Dask's "
            f"configuration, which has no distributed.comm.tls.{' or .'.join(missing)}: set "
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT "
            "and DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (docs/sweeps.md)",
        )


@contextmanager
def _dask(
    workers: int, scheduler: str | None, function: Callable[[Any], Rows]
) -> Iterator[Runner]:
    from dask.distributed import Client, as_completed
    from distributed.security import Security

    cluster = None
    if scheduler:  # its address checked by run_sweep and run_fit, before any work
        try:  # TLS credentials, if any, from Dask's config (distributed.comm.tls.*)
            client = Client(scheduler, timeout="20s", security=Security())
        except (OSError, TimeoutError) as error:
            raise PopsimError(f"--scheduler {scheduler}: cannot connect ({error})") from None
    else:
        cluster = local_cluster(workers)
        client = Client(cluster, security=cluster.security)
    futures: list[Any] = []

    def run(tasks: Sequence[Task]) -> Iterator[Rows]:
        futures.extend(client.map(function, list(tasks), pure=False))
        for future in as_completed(futures):
            yield future.result()

    try:
        yield run
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


#: Dask's HTTP routes (dashboard, /info, /json, Prometheus, health): none are served.
_NO_HTTP = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


def local_cluster(workers: int) -> Any:
    """A :class:`dask.distributed.LocalCluster` that only this process can use.

    The scheduler, nannies and ``workers`` worker processes (one thread each)
    listen on 127.0.0.1 over TLS with throw-away credentials
    (:meth:`distributed.security.Security.temporary`: a CA and a certificate
    made in memory and handed to the workers through their start-up pipe, never
    written to disk); each end requires the other's certificate, so another
    local user who connects is refused. No HTTP routes are served (no
    dashboard: a worker's HTTP server answers 404 to everything), and the
    scheduler's HTTP server, which Dask starts even when the dashboard is off,
    is stopped. The caller closes the cluster.
    """
    import dask
    from dask.distributed import LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    with dask.config.set(_NO_HTTP), _spawning():  # the cluster starts its workers now
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", protocol="tls://", security=security,
            dashboard_address=None,
            # the HTTP server starts all the same: on a free port, not 8787, until stopped
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            env=SINGLE_THREAD_ENV,
            silence_logs=logging.CRITICAL,  # a failed point is reported here, once
        )

    async def stop_http() -> None:
        cluster.scheduler.http_server.stop()

    cluster.sync(stop_http)
    return cluster

