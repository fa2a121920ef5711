"""The floor for the allele-count model: one Numba binomial per replicate-generation.

Model (see benchmarks/_common.py): R replicates in a ``prange`` loop; replicate r
seeds Numba's per-thread generator with seed r (as popsim's frequency engine does),
then per generation q_sel = (q² (1 − s) + p q) / (1 − s q²) and
c ← binomial(2N, q_sel). Nothing else: no records, no migration, no mutation, no
allele bookkeeping. popsim's frequency engine cannot beat this loop with Numba's
binomial sampler, so popsim ÷ floor is the share of its time spent sampling.
Throughput = R × generations / seconds (replicate-generations per second).

    python -m benchmarks.numba_floor --n 100000 --replicates 100000 --threads 2

Prints one JSON line. Timing excludes compilation (a tiny call runs first).
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from numba import njit, prange

from benchmarks import _common

TOOL = "numba"


@njit(cache=True, parallel=True)
def _evolve(seeds, two_n, c0, generations, s, out):
    for r in prange(seeds.shape[0]):
        np.random.seed(seeds[r])
        c = c0
        for _ in range(generations):
            q = c / two_n
            q2 = q * q
            q_sel = (q2 * (1.0 - s) + (1.0 - q) * q) / (1.0 - s * q2)
            c = np.random.binomial(two_n, q_sel)
        out[r] = c


def run(
    n: int,
    generations: int = _common.GENERATIONS,
    replicates: int = 100_000,
    threads: int | None = None,
    repeats: int = 1,
    seed: int = 1,
) -> dict:
    """Time ``repeats`` runs of the floor loop; return the result dict (the JSON line)."""
    if threads is not None:
        numba.set_num_threads(threads)
    two_n = 2 * n
    c0 = max(1, round(_common.Q0 * two_n))
    out = np.zeros(replicates, dtype=np.int64)
    _evolve(np.arange(2, dtype=np.uint32), two_n, c0, 1, _common.S, out[:2])
    baseline = _common.current_rss_mb()
    times: list[float] = []
    cpu_times: list[float] = []
    finals: list[float] = []
    for k in range(repeats):
        seeds = np.arange(seed + k * replicates, seed + (k + 1) * replicates, dtype=np.uint32)
        t0, cpu = time.perf_counter(), time.process_time()
        _evolve(seeds, two_n, c0, generations, _common.S, out)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - cpu)
        finals.extend((out / two_n).tolist())
    seconds = min(times)
    result: dict = {
        "tool": TOOL,
        "variant": "floor",
        "n": n,
        "generations": generations,
        "replicates": replicates,
        "seconds": seconds,
        "replicate_generations_per_s": replicates * generations / seconds,
        "repeats": repeats,
        "seconds_all": times,
        "cpu_seconds": min(cpu_times),
        "peak_rss_mb": _common.peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "threads": numba.get_num_threads(),
        "numba_version": numba.__version__,
    }
    return _common.add_check(result, finals, n, generations)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="population size N (diploids)")
    ap.add_argument("--generations", type=int, default=_common.GENERATIONS)
    ap.add_argument("--replicates", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    _common.emit(
        run(args.n, args.generations, args.replicates, args.threads, args.repeats, args.seed)
    )


if __name__ == "__main__":
    main()
