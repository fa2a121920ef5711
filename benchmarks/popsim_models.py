"""popsim's entries in the shared benchmark model (see benchmarks/_common.py).

One diploid population of N, one biallelic locus, recessive s = 0.1 (h = 0), the
pathogenic allele (named M712T) at frequency 0.05 at generation 0, 200 generations,
built as a config dict with :func:`popsim.model.build.scenario_from_dict` and run through
:func:`popsim.simulate` (``record_every`` = all generations: only the first and last
generations are recorded, so the kernel is what is timed).

Engines:

``frequency``
    The allele-count engine, R replicates in parallel. Throughput in
    replicate-generations per second (R × generations / seconds). With
    ``--mutation-rate`` > 0 recurrent pathogenic mutation is on (the "one-deme M712T
    scenario with recurrent mutation" of issue 9; u = 1e-6 in the shipped configs).
    Those runs also give ``mutation_born_alleles``: the mean number of mutation-born
    alleles segregating at the start of a generation (each costs the split of the
    class's copies one exact binomial draw), counted in an untimed run of
    :data:`ALLELE_SAMPLE` replicates that records every generation.
``pedigree``
    The individual-based engine: random mating, or a fraction ``--first-cousin`` of
    first-cousin marriages. Throughput in individual-generations per second
    (N × R × generations / seconds).

Timing: each timed run is :attr:`popsim.analysis.results.Result.wall_seconds`, the time
spent in the engine (not the imports, not the config and plan, not compilation: a
one-generation run of at most 100 individuals on the same code path compiles or
loads the kernels first). The pedigree engine builds its generation-0 individuals
inside the kernel, so that one generation of construction (0.5 % of 200) is
included. ``cpu_seconds`` is the process CPU time of the fastest run: on a shared
machine, CPU ÷ wall below the thread count means the run waited for a CPU.

Memory: after the warm-up, the process's peak-RSS mark is reset (Linux
``/proc/self/clear_refs``), so ``peak_rss_mb`` is the high-water mark of the timed
runs and ``baseline_rss_mb`` the RSS just before them: interpreter, libraries and
compiled kernels. ``above_baseline_bytes_per_individual`` = (peak − baseline) / N for
one replicate (None for several: how many are alive at once is the engine's choice).
``warmup_peak_rss_mb`` is the high-water mark before the reset (compilation included).

    python -m benchmarks.popsim_models --engine frequency --n 100000 --replicates 100000
    python -m benchmarks.popsim_models --engine pedigree --n 1000000 --first-cousin 0.1

Prints one JSON line (the keys of the peers, see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import time

import numba
import numpy as np

from benchmarks import _common
from popsim.engines.layout import founder_columns, record_column
from popsim.engines.pedigree import WITHIN_MIN
from popsim.model.build import scenario_from_dict
from popsim.model.scenario import Scenario
from popsim.simulate import simulate

TOOL = "popsim"
ENGINES = ("frequency", "pedigree")
FOUNDER = "M712T"
#: Largest population of the compile warm-up run.
WARMUP_N = 100
#: Replicates of the untimed run that counts mutation-born alleles.
ALLELE_SAMPLE = 1000


def shared_scenario(
    engine: str,
    n: int,
    replicates: int,
    generations: int = _common.GENERATIONS,
    mutation_rate: float = 0.0,
    first_cousin: float = 0.0,
    record_every: int | None = None,
) -> Scenario:
    """The shared benchmark model as a popsim scenario (one deme named ``pop``).

    ``record_every`` defaults to all generations: only the first and last are recorded.
    """
    raw = {
        "scenario": {
            "name": "benchmark",
            "engine": engine,
            "generations": generations,
            "replicates": replicates,
            "record_every": record_every or max(generations, 1),
        },
        "demes": [{"name": "pop", "size": n, "first_cousin_marriage": first_cousin}],
        "locus": {
            "pathogenic_mutation_rate": mutation_rate,
            "selection": {"affected": _common.S, "carrier_dominance": _common.H},
            "founder_alleles": [{"name": FOUNDER, "deme": "pop", "frequency": _common.Q0}],
        },
    }
    return scenario_from_dict(raw)


def _reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux ≥ 4.0); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def run(
    engine: str,
    n: int,
    generations: int = _common.GENERATIONS,
    replicates: int = 1,
    threads: int | None = None,
    mutation_rate: float = 0.0,
    first_cousin: float = 0.0,
    repeats: int = 1,
    seed: int = 1,
) -> dict:
    """Time ``repeats`` runs of the shared model; return the result dict (the JSON line).

    ``seconds`` is the fastest run; ``final_frequency`` the mean final M712T frequency
    over every replicate of every run. Call from a fresh process for the memory keys.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r}: must be one of {', '.join(ENGINES)}")
    if threads is not None:
        numba.set_num_threads(threads)

    # Compile or load the kernels on a tiny population that takes the same code path
    # (the pedigree engine parallelises within a replicate when replicates are few);
    # tiny, so that the allocator keeps nothing of the size of the timed runs.
    # A single pedigree replicate is split across threads only from WITHIN_MIN
    # individuals on: warm up at that size so that the same kernels are loaded.
    splits = engine == "pedigree" and replicates < 2 * numba.get_num_threads()
    small = WITHIN_MIN if splits else WARMUP_N
    warmup = shared_scenario(engine, min(n, small), replicates, 1, mutation_rate, first_cousin)
    simulate(warmup, replicates=min(replicates, 64))
    warmup_peak = _common.peak_rss_mb()
    timed = shared_scenario(engine, n, replicates, generations, mutation_rate, first_cousin)
    times: list[float] = []
    cpu_times: list[float] = []
    finals: list[float] = []
    starts: list[float] = []  # RSS (MB) at the start of each timed run
    peaks: list[float] = []  # and its high-water mark during the run
    for k in range(repeats):
        # Memory is judged on the first run: the allocator may keep a freed run's
        # memory (each run's kernel thread can get a new malloc arena), so a later
        # run's peak may count it twice, or reuse it and seem to need none.
        gc.collect()
        peak_reset = _reset_peak_rss()
        starts.append(_common.current_rss_mb())
        cpu = time.process_time()
        result = simulate(timed, seed=seed + k)
        cpu_times.append(time.process_time() - cpu)
        times.append(result.wall_seconds)
        last = result.records[:, -1, 0, :]
        founder = founder_columns(last)[:, 0] / (2.0 * record_column(last, "size"))
        finals.extend(founder.tolist())
        del result, last, founder
        peaks.append(_common.peak_rss_mb())
    seconds = min(times)
    individuals = n * replicates
    out: dict = {
        "tool": TOOL,
        "variant": engine,
        "n": n,
        "generations": generations,
        "replicates": replicates,
        "seconds": seconds,
        "individual_generations_per_s": individuals * generations / seconds,
    }
    if engine == "frequency":
        out["replicate_generations_per_s"] = replicates * generations / seconds
        if mutation_rate > 0.0:
            out["mutation_born_alleles"] = mutation_born_alleles(
                n, generations, min(replicates, ALLELE_SAMPLE), mutation_rate, seed
            )
    out |= {
        "mutation_rate": mutation_rate,
        "first_cousin_marriage": first_cousin,
        "repeats": repeats,
        "seconds_all": times,
        "cpu_seconds": min(cpu_times),
        "peak_rss_mb": max(peaks),
        "baseline_rss_mb": starts[0],
        "peak_reset": peak_reset,
        "warmup_peak_rss_mb": warmup_peak,
        "above_baseline_bytes_per_individual": (peaks[0] - starts[0]) * 2**20 / n
        if replicates == 1 and peak_reset
        else None,
        "threads": numba.get_num_threads(),
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "numba_threading_layer": _threading_layer(),
    }
    return _common.add_check(out, finals, n, generations)


def mutation_born_alleles(
    n: int, generations: int, replicates: int, mutation_rate: float, seed: int
) -> float:
    """Mean number of mutation-born alleles segregating at the start of a generation.

    Averaged over ``replicates`` replicates of the frequency engine and the
    generations 0 … ``generations`` − 1, the alleles among which generation τ + 1
    shares the class's copies: one exact binomial draw each.
    """
    scenario = shared_scenario("frequency", n, replicates, generations, mutation_rate,
                               record_every=1)
    alleles = simulate(scenario, seed=seed).statistics["other_alleles"][:, :-1, 0]
    return float(np.mean(alleles))


def _threading_layer() -> str:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return os.environ.get("NUMBA_THREADING_LAYER", "default")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=ENGINES, default="frequency")
    ap.add_argument("--n", type=int, default=10_000, help="population size N (diploids)")
    ap.add_argument("--generations", type=int, default=_common.GENERATIONS)
    ap.add_argument("--replicates", type=int, default=1, help="R replicates per run")
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    ap.add_argument("--mutation-rate", type=float, default=0.0, help="u per gene copy")
    ap.add_argument("--first-cousin", type=float, default=0.0, help="pedigree engine only")
    ap.add_argument("--repeats", type=int, default=1, help="independent timed runs")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    _common.emit(
        run(
            args.engine,
            args.n,
            args.generations,
            replicates=args.replicates,
            threads=args.threads,
            mutation_rate=args.mutation_rate,
            first_cousin=args.first_cousin,
            repeats=args.repeats,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
