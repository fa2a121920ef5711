"""Plain-numpy peers for the shared benchmark model (see benchmarks/_common.py).

Two variants:

``individual``
    Individual-based Wright-Fisher: genotypes are a uint8 array [N, 2]
    (1 = pathogenic). Each generation: fitness per individual (1 - s if both copies
    are pathogenic), 2N parents drawn with replacement proportional to fitness by
    ``searchsorted`` on the cumulative fitness, and each parent passes one of its two
    copies chosen uniformly. Throughput = N * generations / seconds.

``frequency``
    Allele-count model over R replicates at once: per generation
    q_sel = (q^2 (1 - s) + p q) / (1 - s q^2) for all replicates, then
    ``rng.binomial(2N, q_sel)``. Throughput = R * generations / seconds
    (replicate-generations per second); ``individual_generations_per_s`` is
    also given as R * N * generations / seconds for comparison.

Run as a subprocess so that peak_rss_mb is meaningful::

    python benchmarks/numpy_baseline.py --variant individual --n 100000
    python benchmarks/numpy_baseline.py --variant frequency --n 10000 --replicates 1000

Prints one JSON line. Timing covers the generation loop only (not imports, not the
construction of the initial population).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

try:  # imported as benchmarks.numpy_baseline
    from . import _common
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import _common  # type: ignore[no-redef]

TOOL = "numpy"


def _init_individual(n: int, q0: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.random((n, 2)) < q0).astype(np.uint8)


def _evolve_individual(
    geno: np.ndarray, generations: int, s: float, rng: np.random.Generator
) -> np.ndarray:
    n = geno.shape[0]
    w_affected = 1.0 - s
    rows = np.empty((2, n), dtype=np.intp)
    for _ in range(generations):
        affected = geno[:, 0] & geno[:, 1]
        fitness = np.where(affected, w_affected, 1.0)
        cum = np.cumsum(fitness)
        # 2N parents proportional to fitness: first N give the first copy, next N the second.
        u = rng.random(2 * n) * cum[-1]
        parents = np.searchsorted(cum, u, side="right")
        np.minimum(parents, n - 1, out=parents)  # guard u == cum[-1] rounding
        copies = rng.integers(0, 2, size=2 * n, dtype=np.intp)
        rows[:] = parents.reshape(2, n)
        cols = copies.reshape(2, n)
        new = np.empty_like(geno)
        new[:, 0] = geno[rows[0], cols[0]]
        new[:, 1] = geno[rows[1], cols[1]]
        geno = new
    return geno


def _evolve_frequency(
    counts: np.ndarray, n: int, generations: int, s: float, rng: np.random.Generator
) -> np.ndarray:
    two_n = 2 * n
    for _ in range(generations):
        q = counts / two_n
        p = 1.0 - q
        q2 = q * q
        q_sel = (q2 * (1.0 - s) + p * q) / (1.0 - s * q2)
        counts = rng.binomial(two_n, q_sel)
    return counts


def run(
    n: int,
    generations: int = _common.GENERATIONS,
    variant: str = "individual",
    replicates: int = 1000,
    repeats: int = 1,
    seed: int | None = None,
    s: float = _common.S,
    q0: float = _common.Q0,
) -> dict:
    """Run one numpy peer; return the result dict (the same keys as the JSON line).

    ``repeats`` independent runs are timed separately; ``seconds`` is the fastest,
    ``final_frequency`` the mean over runs (over all replicates for ``frequency``).
    ``peak_rss_mb`` is the process high-water mark: call from a fresh subprocess.
    """
    if variant not in ("individual", "frequency"):
        raise ValueError(f"unknown variant {variant!r}")
    baseline_rss = _common.current_rss_mb()
    rng = np.random.default_rng(seed)
    times: list[float] = []
    finals: list[float] = []
    for _ in range(repeats):
        if variant == "individual":
            geno = _init_individual(n, q0, rng)
            t0 = time.perf_counter()
            geno = _evolve_individual(geno, generations, s, rng)
            times.append(time.perf_counter() - t0)
            finals.append(float(geno.mean()))
        else:
            counts = np.full(replicates, round(q0 * 2 * n), dtype=np.int64)
            t0 = time.perf_counter()
            counts = _evolve_frequency(counts, n, generations, s, rng)
            times.append(time.perf_counter() - t0)
            finals.extend((counts / (2 * n)).tolist())
    seconds = min(times)
    result: dict = {
        "tool": TOOL,
        "variant": variant,
        "n": n,
        "generations": generations,
        "seconds": seconds,
    }
    if variant == "individual":
        result["individual_generations_per_s"] = n * generations / seconds
    else:
        result["replicates"] = replicates
        result["replicate_generations_per_s"] = replicates * generations / seconds
        result["individual_generations_per_s"] = replicates * n * generations / seconds
    result["repeats"] = repeats
    result["seconds_all"] = times
    result["peak_rss_mb"] = _common.peak_rss_mb()
    result["baseline_rss_mb"] = baseline_rss
    result["threads"] = 1
    result["numpy_version"] = np.__version__
    return _common.add_check(result, finals, n, generations)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=("individual", "frequency"), default="individual")
    ap.add_argument("--n", type=int, default=10_000, help="population size N (individuals)")
    ap.add_argument("--generations", type=int, default=_common.GENERATIONS)
    ap.add_argument("--replicates", type=int, default=1000, help="R, frequency variant only")
    ap.add_argument("--repeats", type=int, default=1, help="independent timed runs")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    _common.emit(
        run(
            args.n,
            args.generations,
            variant=args.variant,
            replicates=args.replicates,
            repeats=args.repeats,
            seed=args.seed,
        )
    )


if __name__ == "__main__":
    main()
