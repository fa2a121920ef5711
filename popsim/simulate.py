"""The one call behind every engine: ``simulate(scenario) -> Result``.

Seeds. Replicate r of sweep point k gets a 32-bit seed from NumPy's
SeedSequence(root seed, spawn_key=(k,)): word r of its generated state (the
stream is prefix-stable, so replicate r can be rerun alone). Rare collisions
between 32-bit words are resolved deterministically, so no two replicates of
one run share a seed. The result depends on (scenario, seed, point) only, not
on the thread count, the chunking or the executor.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

import numba
import numpy as np

from popsim.config import ENGINES
from popsim.demography import Plan, compile_plan
from popsim.engines import first_call_lock
from popsim.engines.frequency import (
    CAPACITY,
    EXTINCT,
    NO_NORMAL_COPIES,
    OK,
    record_fields,
    simulate_frequency,
)
from popsim.errors import PopsimError, SimulationError
from popsim.results import OBSERVED_FIELDS, Result
from popsim.scenario import Scenario


def replicate_seeds(root_seed: int, replicates: int, point: int = 0, first: int = 0) -> np.ndarray:
    """Seeds (uint32) of replicates ``first … first + replicates − 1`` of sweep point ``point``.

    Word r of SeedSequence(root seed, spawn_key=(point,)), unless an earlier
    replicate already has that seed: then the next unused word of a second
    sequence (spawn_key=(point, 1)) replaces it, in replicate order, skipping
    words already taken (see :func:`_resolve_collisions`).
    """
    sequence = np.random.SeedSequence(root_seed, spawn_key=(point,))
    words = sequence.generate_state(first + replicates, np.uint32)
    values, first_at = np.unique(words, return_index=True)
    if values.size < words.size:
        extra = np.random.SeedSequence(root_seed, spawn_key=(point, 1)).generate_state(
            words.size, np.uint32
        )
        _resolve_collisions(words, extra, values, first_at)
    return words[first:]


def _resolve_collisions(
    words: np.ndarray, extra: np.ndarray, values: np.ndarray, first_at: np.ndarray
) -> None:
    """Give every repeated word of ``words`` a fresh one from ``extra``, in place;
    ``values, first_at = np.unique(words, return_index=True)``.

    The rule, in replicate order: a word already taken by an earlier replicate
    is replaced by the next word of ``extra`` not yet taken. Taken before r =
    the original words before r and the replacements made before r, so only
    repeats and the first occurrences of replacement values need a visit: a
    few hundred in 10⁶ words, against a Python loop over all of them
    (benchmarks/README.md).
    """
    n = words.size

    def first_index(x: int) -> int:
        """Where value x first occurs in the original words (n if nowhere)."""
        i = int(np.searchsorted(values, np.uint32(x)))  # uint32: no copy of values
        return int(first_at[i]) if i < values.size and values[i] == x else n

    repeated = np.ones(n, dtype=bool)
    repeated[first_at] = False
    visits = np.flatnonzero(repeated).tolist()  # ascending: a valid heap
    replaced: set[int] = set()  # a value is used once, so no position is visited twice
    k = 0
    while visits:
        r = heapq.heappop(visits)
        while True:
            x = int(extra[k])
            k += 1
            at = first_index(x)
            if at >= r and x not in replaced:
                break
        words[r] = x
        replaced.add(x)
        if r < at < n:  # replicate `at`'s own word is now taken before it
            heapq.heappush(visits, at)


def simulate(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    engine: str | None = None,
    *,
    point: int = 0,
    first_replicate: int = 0,
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Simulate ``scenario`` and return a :class:`~popsim.results.Result`.

    Args:
        scenario: a validated scenario (see :func:`popsim.load_scenario`).
        replicates: number of replicates (default: the scenario's).
        seed: root seed (default: the scenario's).
        engine: ``"frequency"`` or ``"pedigree"`` (default: the scenario's).
        point: sweep point index (part of every replicate's seed).
        first_replicate: index of the first replicate (to rerun one replicate).
        chunk: replicates per kernel call; ``progress(n_done)`` is called after each.

    Raises:
        SimulationError: a replicate ran out of allele slots, a deme lost all
            fitness, or a founder allele found too few normal copies.
    """
    replicates = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    engine = engine or scenario.engine
    if engine not in ENGINES:
        raise PopsimError(f"engine = {engine!r}: must be one of {', '.join(ENGINES)}")
    if replicates < 1:
        raise PopsimError(f"replicates = {replicates}: must be at least 1")
    plan = compile_plan(scenario)
    _check_memory(plan, replicates, engine)
    seeds = replicate_seeds(seed, replicates, point, first_replicate)
    run = _engine(engine)
    chunk = chunk or replicates
    started = time.perf_counter()
    parts: list[tuple[np.ndarray, ...]] = []
    for start in range(0, replicates, chunk):
        with first_call_lock(engine):  # see popsim.engines: several processes, one cache
            part = run_interruptibly(run, plan, seeds[start : start + chunk])
        _raise_on_status(part[1], plan, first_replicate + start, scenario)
        parts.append(part)
        if progress is not None:
            progress(min(chunk, replicates - start))
    records = _joined([p[0] for p in parts])
    observed = _joined([p[2] for p in parts]) if len(parts[0]) > 2 else None
    return Result(
        scenario=scenario,
        plan=plan,
        engine=engine,
        seed=seed,
        point=point,
        first_replicate=first_replicate,
        records=records,
        observed=observed,
        wall_seconds=time.perf_counter() - started,
    )


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The chunks' arrays end to end; one chunk's array itself (a run's records may
    take gigabytes: no copy)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


#: Largest record array a run may allocate (bytes); beyond it a run must record less often.
MAX_RECORD_BYTES = 4 * 2**30


def _check_memory(plan: Plan, replicates: int, engine: str) -> None:
    """Refuse, with advice, a run whose per-generation records would not fit in memory."""
    fields = len(record_fields(plan.founder_names)) + (
        len(OBSERVED_FIELDS) if engine == "pedigree" else 0
    )
    size = replicates * len(plan.record_steps) * len(plan.deme_names) * fields * 8
    if size > MAX_RECORD_BYTES:
        raise PopsimError(
            f"scenario.replicates = {replicates} with {len(plan.record_steps)} recorded "
            f"generations would need {size / 2**30:.1f} GiB of records (at most "
            f"{MAX_RECORD_BYTES / 2**30:.0f} GiB): raise scenario.record_every or run "
            "fewer replicates per call (a sweep splits them)"
        )


#: Name of the thread that runs engine kernels (see :func:`run_interruptibly`).
KERNEL_THREAD = "popsim-kernel"


def run_interruptibly(run: Callable[..., tuple], *args: object) -> tuple:
    """Call an engine in a worker thread so Ctrl-C reaches the caller at once.

    Kernels release the GIL (``nogil=True``) and cannot be stopped; the main
    thread waits in short joins, so a KeyboardInterrupt is raised here within
    a fraction of a second. The abandoned kernel thread is a daemon: the CLI
    exits the process without waiting for it.
    """
    outcome: dict[str, object] = {}
    threads = numba.get_num_threads()  # per thread in Numba: a new thread has the default

    def target() -> None:
        numba.set_num_threads(threads)
        try:
            outcome["value"] = run(*args)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name=KERNEL_THREAD, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _engine(engine: str) -> Callable[..., tuple[np.ndarray, ...]]:
    if engine == "pedigree":
        from popsim.engines.pedigree import simulate_pedigree

        return simulate_pedigree
    return simulate_frequency


def _raise_on_status(status: np.ndarray, plan, offset: int, scenario: Scenario) -> None:
    bad = np.nonzero(status[:, 0] != OK)[0]
    if bad.size == 0:
        return
    r = int(bad[0])
    code, step, deme = (int(v) for v in status[r])
    generation = step - plan.burn_in
    where = f"replicate {offset + r}, generation {generation}, deme '{plan.deme_names[deme]}'"
    if code == CAPACITY:
        raise SimulationError(
            f"{where}: more than locus.max_alleles = {plan.max_alleles} mutation-born alleles "
            "segregate at once; raise it, e.g. --set locus.max_alleles="
            f"{4 * plan.max_alleles}"
        )
    if code == EXTINCT:
        raise SimulationError(
            f"{where}: every zygote has fitness 0 (locus.selection.affected = "
            f"{scenario.locus.selection.affected} and no normal allele is left); "
            "the deme cannot reproduce"
        )
    if code == NO_NORMAL_COPIES:
        raise SimulationError(
            f"{where}: too few normal gene copies are left to introduce the founder allele "
            "copies scheduled then (see locus.founder_alleles)"
        )
    raise SimulationError(f"{where}: engine stopped with status {code}")
