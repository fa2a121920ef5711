"""Sweep throughput: points per second by executor and worker count, and the Dask overhead.

A Latin-hypercube sweep (founding size, log scale × F) over a two-deme founder
scenario (host of 2,000; community founded by 10–1,000 people and growing to
2,000) is run end to end with :func:`popsim.workflows.sweep.run_sweep`, as a user would:

* ``serial``: one process, Numba threads over replicates;
* ``processes``: 1 and 2 single-threaded worker processes;
* ``dask``: a 2-worker LocalCluster (processes, one thread each).

"points/s" is end to end: wall-clock time including starting the workers
(spawn, imports, Numba cache loads) and writing the output (the Numba kernels
are compiled into the disk cache first). "steady points/s" leaves out start-up:
points committed after the first commit / time from the first commit to the
last. "Dask overhead" compares the 2-worker Dask run with the first 2-worker
processes run, both end to end and steady. Every run's results.csv must be byte-identical (checked).

The 1- and 2-worker ``processes`` runs, whose ratio is the sweep's speed-up, run
``--rounds`` times, alternating (which goes first swaps each round), and each
keeps its fastest round: on a shared machine a single pair measures the
machine's drift between the two runs as much as the workers.

    python benchmarks/bench_sweep.py [--points 256] [--replicates 1000] [--generations 300]
                                     [--rounds 3]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

BASE = """
[scenario]
name = "bench founder"
generations = {generations}
replicates = {replicates}
seed = 1

[[demes]]
name = "host"
size = 2000

[[demes]]
name = "community"
size = {{ start = 50, end = 2000 }}
founded = {{ generation = 0, from = "host", founders = 50 }}

[[locus.founder_alleles]]
name = "M712T"
deme = "community"
generation = 0
copies = 1
"""

SWEEP = """
[sweep]
base = "base.toml"
design = "latin_hypercube"
points = {points}
seed = 2

[[parameters]]
key = ["demes.community.founded.founders", "demes.community.size.start"]
name = "founders"
low = 10
high = 1000
scale = "log"

[[parameters]]
key = "demes.community.inbreeding"
low = 0.0
high = 0.05
"""

RUNS = (("serial", 1), ("processes", 1), ("processes", 2), ("dask", 2))
#: The runs whose ratio is the speed-up (see the module docstring).
PAIRED = (("processes", 1), ("processes", 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=256)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the paired runs")
    args = parser.parse_args()

    from popsim.simulate import simulate
    from popsim.workflows.sweep import load_sweep, resolve_points, run_sweep

    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        root = Path(tmp)
        (root / "base.toml").write_text(
            BASE.format(generations=args.generations, replicates=args.replicates)
        )
        (root / "sweep.toml").write_text(SWEEP.format(points=args.points))
        sweep = load_sweep(root / "sweep.toml")
        simulate(resolve_points(sweep)[0].scenario, replicates=1)  # compile / load the cache
        reference = None

        def timed(executor: str, workers: int, round_: int) -> dict:
            nonlocal reference
            out = root / f"{executor}-{workers}-{round_}"
            commits: list[tuple[float, int]] = []
            started = time.perf_counter()
            run_sweep(sweep, out, executor=executor, workers=workers,
                      progress=lambda n, log=commits: log.append((time.perf_counter(), n)))
            seconds = time.perf_counter() - started
            csv = (out / "results.csv").read_bytes()
            reference = reference or csv
            assert csv == reference, f"{executor} × {workers} gave a different table"
            steady = sum(n for _, n in commits[1:]) / (commits[-1][0] - commits[0][0])
            return {"executor": executor, "workers": workers,
                    "seconds": round(seconds, 3),
                    "points_per_s": round(args.points / seconds, 3),
                    "steady_points_per_s": round(steady, 3)}

        results = [timed(executor, workers, 1) for executor, workers in RUNS]
        first_pool = dict(results[RUNS.index(("processes", 2))])  # beside Dask's one run
        for r in results:
            if (r["executor"], r["workers"]) in PAIRED:
                r["round_seconds"] = [r["seconds"]]
        for round_ in range(2, args.rounds + 1):
            for executor, workers in PAIRED[::-1] if round_ % 2 == 0 else PAIRED:
                again = timed(executor, workers, round_)
                k = RUNS.index((executor, workers))
                again["round_seconds"] = results[k]["round_seconds"] + [again["seconds"]]
                if again["seconds"] < results[k]["seconds"]:
                    results[k] = again
                results[k]["round_seconds"] = again["round_seconds"]
    by = {(r["executor"], r["workers"]): r for r in results}
    dask, pool = by["dask", 2], first_pool
    overhead = dask["seconds"] / pool["seconds"] - 1
    steady_overhead = pool["steady_points_per_s"] / dask["steady_points_per_s"] - 1
    print(f"{args.points} points × {args.replicates} replicates × {args.generations} "
          f"generations, {os.cpu_count()} CPUs; processes: best of {args.rounds} "
          "alternating rounds")
    print(f"{'executor':<10} {'workers':>7} {'seconds':>8} {'points/s':>9} {'steady':>7}")
    for r in results:
        print(f"{r['executor']:<10} {r['workers']:>7} {r['seconds']:>8.2f} "
              f"{r['points_per_s']:>9.2f} {r['steady_points_per_s']:>7.2f}")
    print(f"dask overhead vs processes (2 workers): end to end {100 * overhead:+.0f}% "
          f"({dask['seconds'] - pool['seconds']:+.2f} s), steady {100 * steady_overhead:+.0f}%")
    print(json.dumps({"benchmark": "sweep", "points": args.points,
                      "replicates_per_point": args.replicates, "generations": args.generations,
                      "runs": results, "dask_overhead_fraction": round(overhead, 3),
                      "dask_steady_overhead_fraction": round(steady_overhead, 3)}))


if __name__ == "__main__":
    main()
