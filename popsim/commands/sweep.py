"""``popsim sweep SWEEP.toml --out DIR``: run a parameter sweep, resumably."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from popsim.commands.common import announce_compilation, progress_bar
from popsim.errors import PopsimError
from popsim.outputs.words import counted
from popsim.workflows.sweep.executors import EXECUTORS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep (grid, Latin hypercube, Sobol') over a scenario",
        description="Run every point of the sweep file SWEEP (a base scenario and the config "
        "keys to vary; see docs/sweeps.md) and write results.csv, results.parquet and "
        "manifest.json into --out. Finished points are saved as they finish: after Ctrl-C "
        "or a crash, --resume runs only the missing ones.",
    )
    parser.add_argument("sweep", help="sweep file (TOML)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where points run: serial (this process, all cores per point), processes "
        "(local pool, one process per core; the default), or dask (a LocalCluster, or "
        "--scheduler)",
    )
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: the cores available)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies "
        "--executor dask; its workers need popsim installed)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out (or start it if --out does not exist)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a sweep in --out")
    parser.add_argument(
        "--batch",
        type=int,
        metavar="N",
        help="points per task (default: enough tasks to balance the workers, at most 32 each)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: `popsim --help` registers every command
    from popsim.workflows.sweep import SweepInterrupted, load_sweep, run_sweep

    executor = _executor(args)
    sweep = load_sweep(args.sweep)
    announce_compilation(sweep.base.engine)
    with ExitStack() as stack:
        bar: list = []

        def started(done: int, pending: int) -> None:
            if done:
                print(
                    f"resuming {args.out}: {counted(done, 'point')} done, {pending} to run",
                    file=sys.stderr,
                )
            bar.append(stack.enter_context(progress_bar(pending, sweep.name, "point", width=30)))

        try:
            outcome = run_sweep(
                sweep,
                args.out,
                executor=executor,
                workers=args.workers,
                scheduler=args.scheduler,
                resume=args.resume,
                overwrite=args.overwrite,
                batch=args.batch,
                progress=lambda n: bar[0](n),
                on_start=started,
                command_line=args.command_line,
            )
        except SweepInterrupted as stop:
            stack.close()
            print(
                f"popsim: interrupted; {stop.done} of {stop.total} points are saved in "
                f"{stop.directory}; continue with: popsim sweep {args.sweep} --out {args.out} "
                "--resume",
                file=sys.stderr,
            )
            return 130
    rate = outcome.computed / outcome.wall_seconds if outcome.wall_seconds > 0 else 0.0
    print(
        f"{sweep.name}: {counted(outcome.points, 'point')} × "
        f"{counted(sweep.replicates, 'replicate')} "
        f"({sweep.design.name}), {outcome.computed} run now by {executor} in "
        f"{outcome.wall_seconds:.1f} s ({rate:.2f} points/s); seed {sweep.seed}"
    )
    print(f"wrote {outcome.directory}/results.csv, results.parquet, manifest.json")
    return 0


def _executor(args: argparse.Namespace) -> str:
    """The executor the options ask for; refuse combinations that mean nothing."""
    executor = args.executor or ("dask" if args.scheduler else "processes")
    if args.scheduler and executor != "dask":
        raise PopsimError(f"--scheduler: needs --executor dask, not {executor}")
    if args.workers is not None:
        if args.workers < 1:
            raise PopsimError(f"--workers {args.workers}: must be at least 1")
        if executor == "serial" or args.scheduler:
            raise PopsimError(
                "--workers: applies to --executor processes or a local dask cluster only"
            )
    return executor
