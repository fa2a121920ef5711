"""``popsim fit FIT.toml --out DIR``: fit a scenario to observations (likelihood-weighted
importance sampling on count observations, or ABC on observed statistics)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popsim.commands.common import (
    add_force_option,
    announce_compilation,
    capped_workers,
    chosen_executor,
    progress_bar,
)
from popsim.model.config import parse_override
from popsim.outputs.files import check_output_path
from popsim.outputs.tables import fmt, render
from popsim.outputs.words import counted, is_are
from popsim.workflows.sweep.executors import EXECUTORS

if TYPE_CHECKING:  # imported by run(), not here: `popsim --help` registers every command
    import pandas as pd

    from popsim.workflows.fit import FitOutcome


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit scenario parameters to observations (likelihood-weighted importance "
        "sampling on counts; rejection ABC, ABC-SMC, model choice on statistics)",
        description="Fit the priors of the fit file FIT (a base scenario, priors on config "
        "keys, observations; see docs/fit.md) by likelihood-weighted importance sampling or "
        "approximate Bayesian computation and "
        "write posterior.parquet/.csv, summary.csv, generations.csv, predictive.csv, "
        "model_choice.csv, figures and manifest.json into --out. Each finished ABC-SMC "
        "generation or likelihood round is saved: after Ctrl-C or a crash, --resume "
        "continues from it.",
    )
    parser.add_argument("fit", help="fit file (TOML)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--executor", choices=EXECUTORS,
        help="where simulations run: processes (local pool, one single-threaded process per "
        "core; the default: one replicate per draw is too small for Numba's threads), serial "
        "(this process) or dask (a LocalCluster, or the cluster of --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        help="TLS address tls://HOST[:PORT] of an existing Dask scheduler (implies --executor "
        "dask; docs/sweeps.md shows how to start one)",
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: the cores)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="change the base scenario for every draw, like [fit.set] "
        "(e.g. --set scenario.burn_in=500; repeatable; the value is read as TOML)",
    )
    parser.add_argument("--resume", action="store_true",
                        help="continue the fit in --out from its last finished generation")
    parser.add_argument("--overwrite", action="store_true", help="replace a fit in --out")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    add_force_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from popsim.workflows.fit import FitInterrupted, load_fit, run_fit

    executor = chosen_executor(args)
    check_output_path(args.out)
    overrides: dict[str, Any] = dict(parse_override(text) for text in args.overrides)
    fit = load_fit(args.fit, overrides)
    announce_compilation(fit.base.engine)
    s = fit.settings
    total = s.simulations if s.method == "rejection" else s.max_simulations
    with ExitStack() as stack:
        bar = stack.enter_context(progress_bar(total, fit.name, "simulation", width=30))
        try:
            outcome = run_fit(
                fit, args.out, executor=executor,
                workers=capped_workers(args.workers, args.force), scheduler=args.scheduler,
                resume=args.resume, overwrite=args.overwrite, figures=not args.no_figures,
                progress=bar, command_line=args.command_line,
            )
        except FitInterrupted as stop:
            stack.close()
            print(
                f"popsim: interrupted; {counted(stop.done, 'ABC generation or round')} "
                f"{is_are(stop.done)} saved in "
                f"{stop.directory}; continue with: popsim fit {args.fit} --out {args.out} "
                "--resume",
                file=sys.stderr,
            )
            return 130
    _report(outcome)
    return 0


def _report(outcome: FitOutcome) -> None:
    from popsim.workflows.fit.model_choice import CAVEAT

    if outcome.rounds:
        if outcome.resumed:
            print(f"resumed after {counted(outcome.resumed, 'saved round')}")
        print(
            f"likelihood-weighted: {counted(len(outcome.rounds), 'round')}, "
            f"{counted(outcome.simulations, 'simulation')} in {outcome.wall_seconds:.1f} s; "
            f"n_eff {outcome.ess:.0f}; log evidence {outcome.log_evidence:.4g}"
        )
    else:
        final = outcome.history[-1]
        if outcome.resumed:
            print(f"resumed after {counted(outcome.resumed, 'saved generation')}")
        print(
            f"{counted(len(outcome.history), 'generation')}, "
            f"{counted(outcome.simulations, 'simulation')} in "
            f"{outcome.wall_seconds:.1f} s; stopped: {outcome.stopped}; final tolerance "
            f"{final.tolerance:.4g}, acceptance rate {final.acceptance_rate:.3g}, "
            f"ESS {final.ess:.0f}"
        )
    print(_table(outcome.summary[["parameter", "median", "q025", "q975", "width_ratio"]]))
    for row in outcome.summary.itertuples(index=False):
        if row.flag:
            print(f"flag: {row.parameter}: {row.flag}")
    if outcome.rounds and outcome.ess < outcome.min_ess:
        print(f"flag: n_eff {outcome.ess:.0f} < min_ess {outcome.min_ess:g}: too few "
              "effective draws to read the posterior; raise [abc] simulations")
    for flag in outcome.predictive_flags:
        print(f"flag: {flag}")
    if outcome.model_choice is not None:
        print(_table(outcome.model_choice.table))
        print(f"caveat: {CAVEAT}")
    print(f"wrote {outcome.directory}/: {', '.join(written(outcome.directory))}")


def written(directory: Path) -> list[str]:
    """Every file under ``directory``, as paths relative to it, sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _table(frame: pd.DataFrame) -> str:
    rows = [[str(c) for c in frame.columns]]
    rows += [[fmt(v) if isinstance(v, float) else str(v) for v in r] for r in frame.itertuples(
        index=False)]
    return render(rows)
