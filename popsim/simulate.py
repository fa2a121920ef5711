"""The one call behind every engine: ``simulate(scenario) -> Result``.

Seeds: replicate r of sweep point k gets word r of NumPy's SeedSequence(root
seed, spawn_key=(k,)) (:func:`popsim.engines.rng.replicate_seeds`, seed rule
:data:`~popsim.engines.rng.SEED_RULE_VERSION`). The result depends on
(scenario, seed, point) only, not on the thread count, the chunking or the
executor.

Burn-in. Given ``burn_ins`` (:class:`popsim.burnin.BurnIns`), a frequency-engine
run with a burn-in takes each chunk's state at the burn-in's end from there
(computing it only for a key not seen before) and continues from it: the same
numbers as burning in itself. With ``burn_in_point`` = j ≠ k the burn-in is that
of point j's seeds (a sweep's points share one), and at generation 0 each
replicate's generator is seeded afresh from its own seed (point k's word r), so
that the draws after the burn-in are point k's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import numba
import numpy as np

from popsim.analysis.results import Result
from popsim.burnin import BurnIns, burn_in_key
from popsim.engines import first_call_lock
from popsim.engines.frequency import burn_in_frequency, simulate_frequency
from popsim.engines.layout import (
    CAPACITY,
    EXTINCT,
    NO_NORMAL_COPIES,
    OBSERVED_COLUMNS,
    OK,
    STATUS_CODE,
    STATUS_DEME,
    STATUS_STEP,
    EngineOutput,
    record_columns,
)
from popsim.engines.rng import replicate_seeds, seeded
from popsim.engines.snapshot import BurnInState, has_burn_in
from popsim.errors import PopsimError, SimulationError
from popsim.model.build import Model, model_of
from popsim.model.plan import Plan
from popsim.model.scenario import Scenario
from popsim.provenance import utc_now


def simulate(
    scenario: Scenario | Model,
    replicates: int | None = None,
    seed: int | None = None,
    engine: str | None = None,
    *,
    point: int = 0,
    first_replicate: int = 0,
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
    burn_ins: BurnIns | None = None,
    burn_in_point: int | None = None,
) -> Result:
    """Simulate ``scenario`` and return a :class:`~popsim.analysis.results.Result`.

    Args:
        scenario: a :class:`~popsim.model.build.Model` or a scenario (see
            :func:`popsim.load_scenario`; its plan compiled there is reused,
            see :func:`popsim.model.build.model_of`).
        replicates: number of replicates (default: the scenario's).
        seed: root seed (default: the scenario's).
        engine: ``"frequency"``, ``"pedigree"`` or ``"hybrid"`` (default: the model's, else the
            scenario's); the scenario is checked for it (a setting that engine
            does not use is a ConfigError).
        point: sweep point index (part of every replicate's seed).
        first_replicate: index of the first replicate (to rerun one replicate).
        chunk: replicates per kernel call; ``progress(n_done)`` is called after each.
        burn_ins: where the burn-in states come from (see the module docstring);
            None: every run burns in itself. Frequency engine with a burn-in only.
        burn_in_point: the point whose seeds make the burn-in (default ``point``;
            frequency engine: the pedigree and hybrid engines burn in with the point's own
            seeds).

    Raises:
        ConfigError: the scenario is invalid for the engine.
        SimulationError: a replicate ran out of allele slots, a deme lost all
            fitness, or a founder allele found too few normal copies.
    """
    model = (
        scenario.for_engine(engine) if isinstance(scenario, Model) else model_of(scenario, engine)
    )
    scenario, plan, engine = model.scenario, model.plan, model.engine
    replicates = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    if replicates < 1:
        raise PopsimError(f"replicates = {replicates}: must be at least 1")
    _check_memory(plan, replicates, engine)
    seeds = replicate_seeds(seed, replicates, point, first_replicate)
    burn_point = point if burn_in_point is None else burn_in_point
    if burn_ins is None and burn_point != point:
        burn_ins = BurnIns()
    share = burn_ins is not None and engine == "frequency" and has_burn_in(plan)
    burn_seeds = (
        seeds if burn_point == point else replicate_seeds(seed, replicates, burn_point,
                                                          first_replicate)
    )
    run = _engine(engine)
    chunk = chunk or replicates
    started_at = utc_now()
    started = time.perf_counter()
    parts: list[EngineOutput] = []
    for start in range(0, replicates, chunk):
        part_seeds = seeds[start : start + chunk]
        with first_call_lock(engine):  # see popsim.engines: several processes, one cache
            if share:
                state = _burned_in(plan, burn_seeds[start : start + chunk], burn_ins)
                if burn_point != point:
                    state = state.with_generators(np.array([seeded(s) for s in part_seeds],
                                                           dtype=np.uint64).reshape(-1, 4))
                part = run_interruptibly(partial(simulate_frequency, start=state), plan,
                                         part_seeds)
            else:
                part = run_interruptibly(run, plan, part_seeds)
        _raise_on_status(part.status, plan, first_replicate + start, scenario)
        parts.append(part)
        if progress is not None:
            progress(min(chunk, replicates - start))
    records = _joined([p.records for p in parts])
    observed = None if parts[0].observed is None else _joined([p.observed for p in parts])
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
        started=started_at,
    )


def scenario_burn_in_key(
    scenario: Scenario | Model,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    point: int = 0,
) -> str | None:
    """The :func:`~popsim.burnin.burn_in_key` of the burn-in that :func:`simulate` with
    these arguments (one chunk, ``burn_in_point`` = ``point``) would share, or None
    where it has none to share (the pedigree engine, no burn-in)."""
    model = scenario if isinstance(scenario, Model) else model_of(scenario)
    if model.engine != "frequency" or not has_burn_in(model.plan):
        return None
    replicates = model.scenario.replicates if replicates is None else replicates
    seed = model.scenario.seed if seed is None else seed
    return burn_in_key(model.plan, replicate_seeds(seed, replicates, point))


def prepare_burn_in(
    scenario: Scenario | Model,
    burn_ins: BurnIns,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    point: int = 0,
) -> str | None:
    """Put into ``burn_ins`` the burn-in state that :func:`simulate` with these
    arguments and ``burn_ins`` (one chunk) would use, computing it only if neither
    ``burn_ins`` nor its cache has it; returns its key (see :func:`scenario_burn_in_key`).

    For a workflow that runs many scenarios sharing a host (sweep points, fit
    proposals): call it once, then ``simulate(…, burn_ins=burn_ins,
    burn_in_point=point)`` for each scenario, in this process or in another one
    that gets ``burn_ins`` (it pickles).
    """
    model = scenario if isinstance(scenario, Model) else model_of(scenario)
    key = scenario_burn_in_key(model, replicates, seed, point=point)
    if key is not None:
        replicates = model.scenario.replicates if replicates is None else replicates
        seed = model.scenario.seed if seed is None else seed
        seeds = replicate_seeds(seed, replicates, point)
        with first_call_lock("frequency"):
            _burned_in(model.plan, seeds, burn_ins)
    return key


def _burned_in(plan: Plan, seeds: np.ndarray, burn_ins: BurnIns) -> BurnInState:
    """The burn-in state of ``plan`` for ``seeds``: from ``burn_ins``, else computed."""
    return burn_ins.get(
        burn_in_key(plan, seeds), lambda: run_interruptibly(burn_in_frequency, plan, seeds)
    )


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The chunks' arrays end to end; one chunk's array itself (a run's records may
    take gigabytes: no copy)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


#: Largest record array a run may allocate (bytes); beyond it a run must record less often.
MAX_RECORD_BYTES = 4 * 2**30


def record_bytes(plan: Plan, engine: str, replicates: int) -> int:
    """Bytes of the per-generation records a run of ``replicates`` returns (8 per field,
    deme, recorded generation and replicate; the observed counts of engines with
    individuals besides)."""
    fields = len(record_columns(plan.founder_names)) + (
        len(OBSERVED_COLUMNS) if engine != "frequency" else 0
    )
    return 8 * replicates * len(plan.record_steps) * len(plan.deme_names) * fields


def _check_memory(plan: Plan, replicates: int, engine: str) -> None:
    """Refuse, with advice, a run whose per-generation records would not fit in memory."""
    size = record_bytes(plan, engine, replicates)
    if size > MAX_RECORD_BYTES:
        raise PopsimError(
            f"scenario.replicates = {replicates} with {len(plan.record_steps)} recorded "
            f"generations would need {size / 2**30:.1f} GiB of records (at most "
            f"{MAX_RECORD_BYTES / 2**30:.0f} GiB): raise scenario.record_every or run "
            "fewer replicates per call (a sweep splits them)"
        )


#: Name of the thread that runs engine kernels (see :func:`run_interruptibly`).
KERNEL_THREAD = "popsim-kernel"


def run_interruptibly(run: Callable[..., EngineOutput], *args: object) -> EngineOutput:
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


def _engine(engine: str) -> Callable[..., EngineOutput]:
    if engine == "pedigree":
        from popsim.engines.pedigree import simulate_pedigree

        return simulate_pedigree
    if engine == "hybrid":
        from popsim.engines.hybrid import simulate_hybrid

        return simulate_hybrid
    return simulate_frequency


def _raise_on_status(status: np.ndarray, plan, offset: int, scenario: Scenario) -> None:
    bad = np.nonzero(status[:, STATUS_CODE] != OK)[0]
    if bad.size == 0:
        return
    r = int(bad[0])
    code, step, deme = (int(status[r, c]) for c in (STATUS_CODE, STATUS_STEP, STATUS_DEME))
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
