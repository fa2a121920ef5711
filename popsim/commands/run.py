"""``popsim run CONFIG --out DIR``: simulate one scenario, print a table, write outputs."""

from __future__ import annotations

import argparse
import sys

from popsim.burnin import BurnIns
from popsim.commands.common import (
    add_cache_option,
    add_memory_force_option,
    add_scenario_options,
    announce_compilation,
    burn_in_cache,
    print_evidence,
    progress_bar,
    replicate_chunk,
    scenario_from_args,
)
from popsim.errors import ConfigError
from popsim.genetics.statistics import shown_rows
from popsim.model.build import Model, model_of
from popsim.outputs.files import check_writable
from popsim.outputs.tables import summary_table
from popsim.outputs.words import counted
from popsim.simulate import simulate
from popsim.workflows.describe import ANNOUNCE_SECONDS, check_memory, estimate, may_be_long


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate a scenario and write tables and figures",
        description="Simulate the scenario of CONFIG with many replicates; print a summary "
        "table and write manifest.json, summary.csv, trajectories.csv, final.csv and "
        "figures/*.png into --out.",
    )
    parser.add_argument(
        "config", help="scenario config file (TOML), or a preset id (see popsim catalog)"
    )
    parser.add_argument("--out", help="output directory (omit to only print the table)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument(
        "--replicate-index",
        type=int,
        metavar="R",
        help="rerun only replicate R of the run (same seed as in the full run)",
    )
    add_scenario_options(parser)
    add_cache_option(parser)
    add_memory_force_option(parser)
    parser.set_defaults(func=run)


def announce_estimate(model: Model, replicates: int) -> None:
    """On stderr, the estimated run time and peak memory of a run that may take over a
    minute (:mod:`popsim.workflows.describe`, as ``popsim describe`` prints it)."""
    if not may_be_long(model, replicates):
        return
    expected = estimate(model, replicates)
    if expected.seconds > ANNOUNCE_SECONDS:
        print(f"popsim: {expected.line()}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args.config, args)
    if args.out is not None:
        check_writable(args.out, args.overwrite, cli=True)
    replicates, first = scenario.replicates, 0
    if args.replicate_index is not None:
        if not 0 <= args.replicate_index < scenario.replicates:
            raise ConfigError(
                "--replicate-index", args.replicate_index,
                f"must be in [0, {scenario.replicates}), the run's replicates (scenario.replicates"
                "; give --replicates as the run did)",
            )
        replicates, first = 1, args.replicate_index
    model = model_of(scenario)
    if not args.force:
        check_memory(model, replicates)
    announce_compilation(scenario.engine)
    announce_estimate(model, replicates)
    with progress_bar(replicates, scenario.name) as update:
        result = simulate(
            scenario,
            replicates,
            first_replicate=first,
            chunk=replicate_chunk(replicates),
            progress=update,
            burn_ins=BurnIns(burn_in_cache(args)),
        )
    print(
        f"{scenario.name}: {counted(result.replicates, 'replicate')}, "
        f"{counted(scenario.generations, 'generation')} "
        f"({scenario.generations * scenario.generation_time_years:g} years), "
        f"{result.engine} engine, seed {result.seed}, {result.wall_seconds:.2f} s"
    )
    rows = result.summary_rows()
    labels = dict(zip(result.deme_names, result.deme_labels, strict=True))
    print(summary_table([{**row, "deme": labels[row["deme"]]}
                         for row in rows + shown_rows(rows) if row["deme"] in labels]))
    print_evidence(scenario, rows)
    if args.out is not None:
        path = result.write(
            args.out,
            overwrite=args.overwrite,
            figures=not args.no_figures,
            command_line=args.command_line,
        )
        print(f"wrote {path}/")
    return 0
