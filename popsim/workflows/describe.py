"""What a scenario resolves to, and what running it will cost (``popsim describe``).

:func:`describe` lists the resolved model: per deme its size schedule
(summarised: the size at its first and last generations, its epochs, founding,
end), its inbreeding (F, or marriage fractions with the F they imply under the
frequency engine and the pedigree engine's window), migration, founder
alleles, observations, and the engine that simulates it.

:func:`estimate` predicts the run time and peak memory of the whole run from
a short calibration run of the same plan: the engine runs a window of the
plan's steps (ending at the generation with the most individuals, so the
costliest part is measured) for a few replicates, after a one-step warm-up
that loads (or compiles) the kernel. The run's work is counted in the unit
that the engine's cost grows with: individual-generations for the pedigree
engine, deme-generations for the frequency engine; the estimate is
time(calibration) × work(run) / work(calibration). The frequency engine's
cost also grows with the mutation-born alleles segregating, which a window
started afresh has fewer of, and the pedigree engine's kinship work grows
with the depth of the pedigree, which such a window starts without: the
estimate is a lower bound where mutation or a deep, related pedigree
matter. Peak memory is counted, not measured: the record arrays the run
returns plus the engines' workspaces (docs/pedigree.md, "Memory");
:func:`check_memory` refuses a run that needs more than the machine has
available, before it starts.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

import numba
import numpy as np

from popsim.engines.rng import replicate_seeds
from popsim.errors import ConfigError
from popsim.model.build import Model
from popsim.model.inbreeding import has_marriages, marriage_inbreeding
from popsim.model.plan import Plan
from popsim.model.scenario import COUNT_FORMS, Deme, LikelihoodObservation, RateObservation
from popsim.outputs.words import byte_size, counted, duration
from popsim.simulate import record_bytes

#: Individual-generations (pedigree) or replicate deme-generations (frequency) a
#: calibration run aims at: well under a second of one thread.
CALIBRATION_WORK = {"pedigree": 2_000_000, "frequency": 50_000}
#: Replicates a calibration runs per thread (the frequency engine steps up to 64 side by side).
CALIBRATION_REPLICATES = {"pedigree": 2, "frequency": 64}
#: Runs expected to take longer than this many seconds get their estimate printed by
#: ``popsim run`` before they start.
ANNOUNCE_SECONDS = 60.0
#: Work a second that no machine popsim runs on exceeds (individual-generations for the
#: pedigree engine and a hybrid run's individuals, replicate deme-generations for the
#: frequency engine and a hybrid run's hosts): a run with
#: less than ANNOUNCE_SECONDS of it is not calibrated.
FASTEST = {"pedigree": 1e8, "frequency": 1e9, "hybrid": 1e8}


@dataclass(frozen=True)
class Estimate:
    """The predicted cost of a run.

    Attributes:
        seconds: wall-clock seconds of the simulation (compilation excluded).
        peak_bytes: bytes of records and engine workspace at once.
        basis: how it was measured, in words.
    """

    seconds: float
    peak_bytes: int
    basis: str

    def line(self) -> str:
        """``estimated run time … , peak memory …`` for a terminal."""
        return (f"estimated run time {duration(self.seconds)}, peak memory "
                f"{byte_size(self.peak_bytes)} ({self.basis})")


def work(plan: Plan, engine: str) -> np.ndarray:
    """Work of each step τ ≥ 1 of one replicate, float64 [B + T]: individuals made
    (pedigree engine; a hybrid run's demes of individuals) or demes with
    individuals (frequency engine)."""
    sizes = plan.sizes[1:]
    if engine == "pedigree":
        return sizes.sum(axis=1).astype(np.float64)
    if engine == "hybrid":
        return sizes[:, np.asarray(plan.individuals, dtype=bool)].sum(axis=1).astype(np.float64)
    return (sizes > 0).sum(axis=1).astype(np.float64)


def calibration_window(plan: Plan, engine: str) -> tuple[int, int]:
    """Steps (first, last) of the calibration run: a window of about
    :data:`CALIBRATION_WORK` ending at the costliest step."""
    per_step = work(plan, engine)
    last = int(np.flatnonzero(per_step == per_step.max())[-1]) + 1
    steps = max(1, min(last, int(CALIBRATION_WORK[engine] // max(per_step[last - 1], 1.0))))
    return last - steps, last


def plan_window(plan: Plan, first: int, last: int) -> Plan:
    """The plan's steps first … last as a plan of its own (step ``first`` becomes
    generation 0, no burn-in, only ``last`` recorded; founder introductions in
    the window kept)."""
    keep = (plan.intro_step > first) & (plan.intro_step <= last)
    return dataclasses.replace(
        plan,
        burn_in=0,
        generations=last - first,
        sizes=plan.sizes[first : last + 1],
        migration_index=plan.migration_index[first : last + 1],
        inbreeding=plan.inbreeding[first : last + 1],
        intro_step=plan.intro_step[keep] - first,
        intro_deme=plan.intro_deme[keep],
        intro_allele=plan.intro_allele[keep],
        intro_copies=plan.intro_copies[keep],
        record_steps=np.array([last - first], dtype=np.int64),
    )


def estimate(model: Model, replicates: int | None = None) -> Estimate:
    """Run time and peak memory of ``model``'s run of ``replicates`` (default: the
    scenario's), from a short calibration run (module docstring)."""
    plan, engine = model.plan, model.engine
    replicates = model.scenario.replicates if replicates is None else replicates
    if engine == "hybrid":
        return _estimate_hybrid(model, replicates)
    if engine == "pedigree":
        from popsim.engines.pedigree import simulate_pedigree as run
    else:
        from popsim.engines.frequency import simulate_frequency as run
    threads = numba.get_num_threads()
    first, last = calibration_window(plan, engine)
    window = plan_window(plan, first, last)
    n_cal = max(1, min(replicates, CALIBRATION_REPLICATES[engine] * threads))
    seeds = replicate_seeds(model.scenario.seed, n_cal, 0, 0)
    # load or compile the kernel the timed run takes (the pedigree engine picks its
    # kernel by the number of replicates): one step with the same seeds
    run(plan_window(plan, last - 1, last), seeds)
    started = time.perf_counter()
    run(window, seeds)
    seconds = time.perf_counter() - started
    per_replicate = work(plan, engine).sum()
    measured = work(window, engine).sum()
    total = seconds * (replicates / n_cal) * per_replicate / max(measured, 1.0)
    unit = "individual-generations" if engine == "pedigree" else "deme-generations"
    basis = (f"{engine} engine, from {n_cal} replicates of {last - first} generations "
             f"({_count(measured)} {unit} each) on {threads} "
             f"thread{'s' if threads > 1 else ''}")
    return Estimate(total, peak_bytes(plan, engine, replicates, threads), basis)


def _estimate_hybrid(model: Model, replicates: int) -> Estimate:
    """A hybrid run's estimate: its host's burn-in and its individuals do not share a
    window, so whole replicates calibrate it, one per thread (after a one-step
    window that loads the kernels)."""
    from popsim.engines.hybrid import simulate_hybrid

    plan, threads = model.plan, numba.get_num_threads()
    last = int(np.flatnonzero(work(plan, "hybrid") > 0)[-1]) + 1
    n_cal = max(1, min(replicates, threads))
    seeds = replicate_seeds(model.scenario.seed, n_cal, 0, 0)
    simulate_hybrid(plan_window(plan, last - 1, last), seeds)  # the same kernels, loaded
    started = time.perf_counter()
    simulate_hybrid(plan, seeds)
    seconds = time.perf_counter() - started
    basis = (f"hybrid engine, from {n_cal} whole replicate{'s' if n_cal > 1 else ''} on "
             f"{threads} thread{'s' if threads > 1 else ''}")
    return Estimate(seconds * replicates / n_cal,
                    peak_bytes(plan, "hybrid", replicates, threads), basis)


def may_be_long(model: Model, replicates: int | None = None) -> bool:
    """Whether a run could take over :data:`ANNOUNCE_SECONDS` (then :func:`estimate` it):
    its work at :data:`FASTEST` would take that long. Not a hybrid run of no more
    replicates than threads: its calibration (whole replicates, one per thread) would
    be the run itself, done twice."""
    replicates = model.scenario.replicates if replicates is None else replicates
    total = replicates * work(model.plan, model.engine).sum()
    seconds = total / FASTEST[model.engine]
    if model.engine == "hybrid":  # the hosts, by allele counts
        hosts = ~np.asarray(model.plan.individuals, dtype=bool)
        seconds += replicates * (model.plan.sizes[1:, hosts] > 0).sum() / FASTEST["frequency"]
        if replicates <= numba.get_num_threads():  # its calibration would be the run itself
            return False
    return bool(seconds > ANNOUNCE_SECONDS)


def peak_bytes(plan: Plan, engine: str, replicates: int, threads: int) -> int:
    """Records the run returns plus the engines' workspaces (module docstring)."""
    return sum(memory_parts(plan, engine, replicates, threads))


def memory_parts(plan: Plan, engine: str, replicates: int, threads: int) -> tuple[int, int]:
    """Bytes of (records the run returns, engine workspaces of the replicates run at once)."""
    records = record_bytes(plan, engine, replicates)
    workspace = 0
    if engine != "frequency":  # the individuals (a hybrid run's marked demes)
        from popsim.engines.pedigree import bytes_per_individual

        marked = (np.asarray(plan.individuals, dtype=bool) if engine == "hybrid"
                  else np.ones(len(plan.deme_names), dtype=bool))
        alive = int(plan.sizes[:, marked].sum(axis=1).max())
        workspace += bytes_per_individual(plan) * alive * min(replicates, threads)
    if engine != "pedigree":  # allele counts (a hybrid run's hosts)
        slots = 1 + len(plan.founder_names) + plan.max_alleles
        workspace += 8 * (2 * len(plan.deme_names) + 3) * slots * min(replicates, 64 * threads)
    return records, workspace


def available_memory() -> int | None:
    """Bytes of memory a new run can have on this machine: Linux's ``MemAvailable``,
    else the free physical pages; None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(model: Model, replicates: int | None = None, held: int = 0) -> int:
    """Refuse, before it starts, a run whose counted peak memory (:func:`peak_bytes`),
    with ``held`` bytes of earlier runs' records still kept (``popsim compare``),
    exceeds :func:`available_memory`: a :class:`~popsim.errors.ConfigError` naming
    ``scenario.replicates`` where the records are most of it, else the largest deme's
    size (pedigree engine) or ``locus.max_alleles`` (frequency engine), with what
    the machine has and what to change. Returns the bytes of records
    the run keeps."""
    replicates = model.scenario.replicates if replicates is None else replicates
    plan, engine = model.plan, model.engine
    records, workspace = memory_parts(plan, engine, replicates, numba.get_num_threads())
    available = available_memory()
    if available is None or held + records + workspace <= available:
        return records
    available = max(available - held, 0)
    need = (f"needs about {byte_size(records + workspace)} of memory and this machine has "
            f"{byte_size(available)} available" + (" beside the earlier scenarios' records"
                                                   if held else ""))
    if records >= workspace:
        raise ConfigError(
            "scenario.replicates", replicates,
            f"the run {need}; allowed: at most about "
            f"{int(replicates * max(available - workspace, 0) / records):,} "
            "replicates, or fewer recorded generations (a larger scenario.record_every); "
            "--force runs it anyway",
        )
    if engine == "frequency":
        raise ConfigError(
            "locus.max_alleles", plan.max_alleles,
            f"the run {need} for the frequency engine's workspace; give a smaller "
            "locus.max_alleles or fewer threads (NUMBA_NUM_THREADS); --force runs it anyway",
        )
    largest = plan.sizes.max(axis=0) * (np.asarray(plan.individuals, dtype=bool)
                                        if engine == "hybrid" else 1)
    deme = int(largest.argmax())
    raise ConfigError(
        f"demes[{deme}].size", int(plan.sizes[:, deme].max()),
        f"the run {need} for the pedigree engine's workspace; give smaller demes, a "
        "shorter scenario.ancestry_generations or fewer threads (NUMBA_NUM_THREADS); --force "
        "runs it anyway",
    )


# --------------------------------------------------------------------------- the description


def describe(model: Model) -> list[str]:
    """The resolved scenario, line by line (module docstring)."""
    s, plan = model.scenario, model.plan
    lines = [
        f"{s.name}",
        f"  engine: {model.engine} ({_engine_roles(model)})"
        + (f"; ancestry window {plan.ancestry_generations} generations"
           if model.engine != "frequency" else ""),
        f"  generations: {s.generations} ({s.generations * s.generation_time_years:g} years at "
        f"{s.generation_time_years:g} years a generation), burn-in {s.burn_in}, recorded every "
        f"{s.record_every}; {s.replicates:,} replicates, seed {s.seed}",
        "demes:",
    ]
    for i, deme in enumerate(s.demes):
        lines += [f"  {deme.label} ({deme.name})"]
        lines += [f"    {x}" for x in _deme_lines(deme, i, model)]
    lines.append("migration:" if s.migrations else "migration: none")
    for m in s.migrations:
        until = f" until generation {m.end_generation}" if m.end_generation is not None else ""
        lines.append(f"  {m.rate:g} of {m.dest}'s parents from {m.source} a generation, "
                     f"from generation {m.start_generation}{until}")
    locus = s.locus
    lines.append(f"locus {locus.name}: pathogenic mutation rate "
                 f"{locus.pathogenic_mutation_rate:g}, s = {locus.selection.affected:g}, "
                 f"h = {locus.selection.carrier_dominance:g}, penetrance {locus.penetrance:g}")
    lines.append("founder alleles:" if locus.founder_alleles else "founder alleles: none")
    for a in locus.founder_alleles:
        amount = (counted(a.copies, "copy", "copies") if a.copies is not None
                  else f"frequency {a.frequency:g}")
        lines.append(f"  {a.name}: {amount} in {a.deme} at generation {a.generation}")
    observed = [f"  {o.statistic} = {o.value:g} in {o.deme}" + (f" ({o.source})" if o.source
                                                                 else "")
                for o in s.observations]
    observed += [f"  {o.form} {o.name}: {_likelihood_values(o)} in {o.deme}"
                 + (f" ({o.source})" if o.source else "") for o in s.count_observations]
    lines.append("observations:" if observed else "observations: none")
    return lines + observed


def _engine_roles(model: Model) -> str:
    """Which engine simulates which deme, in words."""
    if model.engine != "hybrid":
        return "simulates every deme"
    names = model.plan.deme_names
    marked = np.asarray(model.plan.individuals, dtype=bool)
    individuals = ", ".join(n for n, m in zip(names, marked, strict=True) if m)
    hosts = ", ".join(n for n, m in zip(names, marked, strict=True) if not m)
    return (f"individuals, pedigree engine: {individuals}; allele counts, frequency engine: "
            f"{hosts}")


def _deme_lines(deme: Deme, index: int, model: Model) -> list[str]:
    plan = model.plan
    sizes = plan.sizes[plan.burn_in :, index]
    alive = np.nonzero(sizes)[0]
    lines = []
    if alive.size:
        a, b = int(alive[0]), int(alive[-1])
        lines.append(f"size: {int(sizes[a]):,} at generation {a} → {int(sizes[b]):,} at "
                     f"generation {b} (largest {int(sizes.max()):,})")
    for epoch in deme.epochs:
        lines.append(f"  from generation {epoch.start_generation}: {epoch.growth} "
                     f"{epoch.start:,} → {epoch.end:,}" if epoch.start != epoch.end else
                     f"  from generation {epoch.start_generation}: {epoch.start:,}")
    if deme.founded is not None:
        f = deme.founded
        source = (f.source if not f.others else
                  ", ".join(f"{name} ({p:g})" for name, p in f.sources))
        lines.append(f"founded at generation {f.generation} from {source} by "
                     f"{f.founders:,} founders")
    if deme.end_generation is not None:
        lines.append(f"ends: no individuals from generation {deme.end_generation} on")
    lines.append(_inbreeding_line(deme, index, model))
    return lines


def _inbreeding_line(deme: Deme, index: int, model: Model) -> str:
    if not has_marriages(deme):
        return f"inbreeding: F = {deme.inbreeding:g}"
    kinds = [f"{100 * getattr(deme, key):g}% {label}"
             for key, label in (("first_cousin_marriage", "first cousins"),
                                ("second_cousin_marriage", "second cousins"),
                                ("uncle_niece_marriage", "uncle–niece"))
             if getattr(deme, key) > 0]
    implied = model.plan.inbreeding[-1, index]
    simulated = model.engine == "pedigree" or (model.engine == "hybrid"
                                               and bool(model.plan.individuals[index]))
    how = ("simulated; F measured over the ancestry window" if simulated
           else "the frequency engine uses the implied F")
    return (f"marriages: {', '.join(kinds)}: implied F = {marriage_inbreeding(deme):.4g} "
            f"+ background {implied - marriage_inbreeding(deme):.2g} = {implied:.4g} at the "
            f"last generation ({how})")


def _likelihood_values(o: LikelihoodObservation) -> str:
    """A count observation's counts, or a rate observation's value and range."""
    if isinstance(o, RateObservation):
        return f"{o.statistic} = {o.value:g} ({o.low:g} to {o.high:g})"
    keys = COUNT_FORMS[o.form]
    return ", ".join(f"{key.replace('_', ' ')} {count:,}"
                     for key, count in zip(keys, o.counts, strict=True))


def _count(x: float) -> str:
    return f"{x:.3g}" if x >= 1e4 else f"{x:.0f}"
