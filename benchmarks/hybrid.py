"""What a hybrid run costs, side by side with the pure engines (issue 23, Speed).

    .venv/bin/python -m benchmarks.hybrid [--replicates 200] [--repeats 3]

Times, in one process after a warm-up run that compiles every kernel, on the
default thread count, the shipped hybrid preset
``configs/iranian_jewish_m712t_pedigree.toml`` (a community of individuals,
20 → 20,000 with cousin marriages, inside a host of 10⁶ with an 8,000-generation
burn-in) and:

* its parts: the host alone through the frequency engine (its plan with the
  community empty, burn-in included, keeping the host's allele copies), the
  host's gene pools built from them, and the community alone through the
  pedigree engine drawing its founders and migrants from those pools
  (:mod:`popsim.engines.hybrid`'s three steps);
* the pure frequency engine on the same scenario, the community's marriages
  replaced by the F they imply (c₁/16 + c₂/64);
* the pure pedigree engine on the same scenario, every deme individuals: one
  replicate of a few generations of the host at 10⁶ (burn-in 0), extrapolated
  to the scenario's 8,045 generations and replicates (it cannot be run).

Prints a Markdown table: per row the least wall time and the least CPU time
(all threads) over ``--repeats`` rounds, the rows taken in turn in each round.
"""

from __future__ import annotations

import argparse
import copy
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

PRESET = Path(__file__).resolve().parents[1] / "configs" / "iranian_jewish_m712t_pedigree.toml"
#: Generations of the pure pedigree run that is extrapolated.
PEDIGREE_PROBE_GENERATIONS = 3


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call of ``run``; CPU time is the process's, all
    threads together, which a loaded machine inflates less than wall time."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_interleaved(repeats: int, runs: dict[str, Callable[[], object]]) -> dict:
    """Least wall and least CPU time of each run over ``repeats`` rounds, the runs
    taken in turn within each round (a shared machine drifts within minutes)."""
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            wall, cpu = timed(run)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def frequency_raw(raw: dict) -> dict:
    """The scenario for the frequency engine: marriages replaced by their implied F."""
    raw = copy.deepcopy(raw)
    raw["scenario"]["engine"] = "frequency"
    raw["scenario"].pop("ancestry_generations", None)
    for deme in raw["demes"]:
        deme.pop("individuals", None)
        c1 = deme.pop("first_cousin_marriage", 0.0)
        c2 = deme.pop("second_cousin_marriage", 0.0)
        if c1 or c2:
            deme["inbreeding"] = c1 / 16 + c2 / 64
    return raw


def pedigree_probe_raw(raw: dict) -> dict:
    """Every deme individuals under the pedigree engine, no burn-in, a few generations."""
    raw = copy.deepcopy(raw)
    raw["scenario"].update(engine="pedigree", burn_in=0, generations=PEDIGREE_PROBE_GENERATIONS)
    for deme in raw["demes"]:
        deme.pop("individuals", None)
    return raw


def main(argv: list[str] | None = None) -> None:
    import numba

    from popsim import scenario_from_dict, simulate
    from popsim.engines.frequency import simulate_frequency_snapshots
    from popsim.engines.hybrid import (
        INDIVIDUALS_SALT,
        community_plan,
        first_individual_step,
        host_plan,
        host_pools,
    )
    from popsim.engines.pedigree import simulate_pedigree
    from popsim.engines.rng import replicate_seeds
    from popsim.model.build import build_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    raw = tomllib.loads(PRESET.read_text(encoding="utf-8"))
    hybrid = scenario_from_dict(raw)
    reps = args.replicates
    simulate(hybrid, replicates=2)  # compiles both engines' kernels
    plan = build_model(raw).plan
    seeds = replicate_seeds(hybrid.seed, reps)
    start = first_individual_step(plan)
    hosts = host_plan(plan)
    community = community_plan(plan, start)
    _, snapshots = simulate_frequency_snapshots(hosts, seeds, start)
    pools = host_pools(plan, snapshots, start)
    plain = scenario_from_dict(frequency_raw(raw))
    best = best_interleaved(args.repeats, {
        "hybrid run (simulate)": lambda: simulate(hybrid, reps),
        "  its host: frequency engine, burn-in included":
            lambda: simulate_frequency_snapshots(hosts, seeds, start),
        "  its host's gene pools": lambda: host_pools(plan, snapshots, start),
        "  its community: pedigree engine":
            lambda: simulate_pedigree(community, seeds ^ INDIVIDUALS_SALT, hosts=pools),
        "pure frequency engine (F = c₁/16 + c₂/64)": lambda: simulate(plain, reps),
    })
    probe = scenario_from_dict(pedigree_probe_raw(raw))
    simulate(probe, replicates=1)
    scale = plan.n_steps * reps / PEDIGREE_PROBE_GENERATIONS
    wall, cpu = timed(lambda: simulate(probe, 1))
    best[f"pure pedigree engine (extrapolated from {PEDIGREE_PROBE_GENERATIONS} generations "
         "of 1 replicate)"] = (wall * scale, cpu * scale)
    print(f"{reps} replicates, {plan.n_steps:,} generations, {numba.get_num_threads()} "
          f"threads, best of {args.repeats}\n")
    print("| run | wall time (s) | CPU time (s) |\n| --- | ---: | ---: |")
    for name, (wall, cpu) in best.items():
        print(f"| {name} | {wall:,.2f} | {cpu:,.2f} |")


if __name__ == "__main__":
    main()
