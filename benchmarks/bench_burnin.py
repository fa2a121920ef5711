"""The README's main command with a cold and a warm burn-in cache, beside a baseline.

Runs ``popsim compare configs/iranian_jewish_m712t.toml configs/outbred_reference.toml
--out DIR --overwrite`` (the README's main job) in fresh processes:

* ``baseline``: the same command with another checkout's popsim (``--baseline
  DIR``, e.g. a worktree of the commit before the burn-in cache), if given;
* ``no cache``: this checkout with ``--no-cache`` (scenarios with identical hosts
  still burn in once: compare shares a host within the call);
* ``cold``: this checkout with an empty cache directory (``POPSIM_CACHE_DIR``);
* ``warm``: the same command again, reading the burned-in host from that cache.

Before timing, each checkout runs the command once with 2 replicates, so that its
kernels are compiled (compilation is not timed). "simulation" is the sum of the
per-scenario times compare prints (the engine, burn-in included); "wall" is the
whole process (imports, tables, figures, report). The runs alternate over
``--rounds`` rounds and each keeps its fastest.

    python benchmarks/bench_burnin.py [--baseline DIR] [--rounds 2] [--threads 2]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("configs/iranian_jewish_m712t.toml", "configs/outbred_reference.toml")
#: compare's per-scenario line ends with the scenario's simulation time.
_SECONDS = re.compile(r", ([0-9.]+) s$", re.MULTILINE)


def run(tree: Path, out: Path, cache: Path, *extra: str, threads: int = 2) -> dict:
    """One compare in a fresh process with ``tree``'s popsim: wall and simulation seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree), "POPSIM_CACHE_DIR": str(cache),
           "NUMBA_NUM_THREADS": str(threads)}
    argv = [sys.executable, "-m", "popsim", "compare", *(str(tree / c) for c in CONFIGS),
            "--out", str(out), "--overwrite", *extra]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    seconds = [float(s) for s in _SECONDS.findall(done.stdout)]
    return {"wall": wall, "simulation": sum(seconds), "scenarios": seconds,
            "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, help="another checkout of popsim to time beside")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    trees = {"this": REPO, **({"baseline": args.baseline} if args.baseline else {})}
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, tree in trees.items():  # compile (untimed)
            subprocess.run([sys.executable, "-m", "popsim", "compare",
                            *(str(tree / c) for c in CONFIGS), "--replicates", "2",
                            *(["--no-cache"] if name == "this" else [])],
                           cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                           capture_output=True, check=True)
        for k in range(args.rounds):
            cache = folder / f"cache-{k}"
            runs = [("no cache", REPO, ("--no-cache",)), ("cold", REPO, ()), ("warm", REPO, ())]
            if args.baseline:
                runs.insert(0 if k % 2 == 0 else len(runs), ("baseline", args.baseline, ()))
            for label, tree, extra in runs:
                record = run(tree, folder / label.replace(" ", "-"), cache, *extra,
                             threads=args.threads)
                if label not in best or record["simulation"] < best[label]["simulation"]:
                    best[label] = record
    print(f"{'run':<10} {'simulation s':>13} {'wall s':>8} {'load':>6}")
    for label, record in best.items():
        print(f"{label:<10} {record['simulation']:>13.1f} {record['wall']:>8.1f} "
              f"{record['load']:>6.1f}")
    print(json.dumps({"threads": args.threads, "rounds": args.rounds, "best": best}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
