"""simuPOP peer for the shared benchmark model (see benchmarks/_common.py).

Runs only inside the benchmark environment (``.bench-venv``, built by
``benchmarks/install_peers.sh``); simuPOP is never a dependency of popsim, never
installed in CI and never imported by the test suite.

    .bench-venv/bin/python benchmarks/peer_simupop.py --n 100000 --generations 200 \\
        --optimized --threads 2

Model: Population(size=N, ploidy=2, loci=1, infoFields='fitness'), InitSex,
InitGenotype(freq=[0.95, 0.05]); evolve with preOps
MapSelector(loci=0, fitness={(0,0): 1, (0,1): 1, (1,1): 0.9}) and RandomMating()
for 200 generations. Timing covers ``pop.evolve`` only (not the import, not the
construction/initialisation of the population).

simuPOP picks its compiled module (std/op/ba/baop...) when first imported, from
``simuOpt.setOptions``; so ``run`` can be called at most once per process with a
given (optimized, allele_type, threads) and raises if asked for another. Run each
configuration in a fresh subprocess (also needed for peak_rss_mb).
"""

from __future__ import annotations

import argparse
import sys
import time

try:  # imported as benchmarks.peer_simupop
    from . import _common
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import _common  # type: ignore[no-redef]

TOOL = "simuPOP"

# simuOpt alleleType -> module variant suffix (standard, optimized)
_VARIANTS = {"short": ("std", "op"), "binary": ("ba", "baop"), "long": ("la", "laop")}


def _load_simupop(optimized: bool, allele_type: str, threads: int):
    """Import simuPOP with the requested module; return (module, variant name)."""
    if "simuPOP" not in sys.modules:
        import simuOpt

        simuOpt.setOptions(
            optimized=optimized, alleleType=allele_type, quiet=True, numThreads=threads
        )
    import simuPOP as sim

    info = sim.moduleInfo()
    if bool(info["optimized"]) != optimized or info["alleleType"] != allele_type:
        raise RuntimeError(
            f"simuPOP already imported as optimized={info['optimized']}, "
            f"alleleType={info['alleleType']!r}; run each configuration in a new process"
        )
    if int(info["threads"]) != threads:
        raise RuntimeError(
            f"simuPOP runs {info['threads']} thread(s), asked for {threads} "
            "(was it built with OpenMP, and imported once per process?)"
        )
    return sim, _VARIANTS[allele_type][1 if optimized else 0]


def run(
    n: int,
    generations: int = _common.GENERATIONS,
    optimized: bool = True,
    threads: int = 1,
    allele_type: str = "short",
    selector: str = "map",
    repeats: int = 1,
    seed: int | None = None,
    s: float = _common.S,
    q0: float = _common.Q0,
) -> dict:
    """Run the shared model in simuPOP; return the result dict (the JSON line's keys).

    ``repeats`` independent runs are timed separately; ``seconds`` is the fastest,
    ``final_frequency`` the mean over runs. ``selector="ma"`` uses
    MaSelector(loci=0, wildtype=0, fitness=[1, 1, 1-s]) instead of MapSelector.
    """
    baseline_before_import = _common.current_rss_mb()
    sim, variant = _load_simupop(optimized, allele_type, threads)
    if seed is not None:
        # setOptions(seed=) reseeds every OpenMP thread's RNG (seed + thread id);
        # getRNG().set() would reseed only the calling thread's.
        sim.setOptions(seed=seed)
    baseline_rss = _common.current_rss_mb()  # interpreter + simuPOP, before the population

    w_aa = 1.0 - s
    times: list[float] = []
    finals: list[float] = []
    for _ in range(repeats):
        pop = sim.Population(size=n, ploidy=2, loci=1, infoFields="fitness")
        sim.initSex(pop)
        sim.initGenotype(pop, freq=[1.0 - q0, q0])
        if selector == "map":
            sel = sim.MapSelector(loci=0, fitness={(0, 0): 1.0, (0, 1): 1.0, (1, 1): w_aa})
        elif selector == "ma":
            sel = sim.MaSelector(loci=0, wildtype=0, fitness=[1.0, 1.0, w_aa])
        else:
            raise ValueError(f"unknown selector {selector!r}")
        t0 = time.perf_counter()
        done = pop.evolve(preOps=[sel], matingScheme=sim.RandomMating(), gen=generations)
        times.append(time.perf_counter() - t0)
        if done != generations:
            raise RuntimeError(f"simuPOP evolved {done} generations, expected {generations}")
        sim.stat(pop, alleleFreq=0)
        finals.append(float(pop.dvars().alleleFreq[0][1]))
        del pop

    seconds = min(times)
    info = sim.moduleInfo()
    result: dict = {
        "tool": TOOL,
        "variant": f"{variant}-{selector}" if selector != "map" else variant,
        "n": n,
        "generations": generations,
        "seconds": seconds,
        "individual_generations_per_s": n * generations / seconds,
        "repeats": repeats,
        "seconds_all": times,
        "peak_rss_mb": _common.peak_rss_mb(),
        "baseline_rss_mb": baseline_rss,
        "baseline_rss_before_import_mb": baseline_before_import,
        "threads": int(info["threads"]),
        "optimized": bool(info["optimized"]),
        "allele_type": info["alleleType"],
        "simupop_version": info["version"],
    }
    return _common.add_check(result, finals, n, generations)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="population size N (individuals)")
    ap.add_argument("--generations", type=int, default=_common.GENERATIONS)
    opt = ap.add_mutually_exclusive_group()
    opt.add_argument("--optimized", dest="optimized", action="store_true", default=False)
    opt.add_argument("--standard", dest="optimized", action="store_false")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--allele-type", choices=tuple(_VARIANTS), default="short")
    ap.add_argument("--selector", choices=("map", "ma"), default="map")
    ap.add_argument("--repeats", type=int, default=1, help="independent timed runs")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    _common.emit(
        run(
            args.n,
            args.generations,
            optimized=args.optimized,
            threads=args.threads,
            allele_type=args.allele_type,
            selector=args.selector,
            repeats=args.repeats,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
