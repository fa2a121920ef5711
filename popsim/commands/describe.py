"""``popsim describe SCENARIO``: the resolved scenario and what running it will cost."""

from __future__ import annotations

import argparse

from popsim.commands.common import add_scenario_options, announce_compilation, scenario_from_args
from popsim.model.build import model_of


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="show what a scenario resolves to and estimate its run time and memory",
        description="Print the resolved scenario of CONFIG: per deme the size schedule, F or "
        "marriage fractions with the F they imply, founding and end, migration, founder "
        "alleles, observations and the engine that simulates it; then the estimated run time "
        "and peak memory from a short calibration run (--no-estimate: skip it).",
    )
    parser.add_argument(
        "config", help="scenario config file (TOML), or a preset id (see popsim catalog)"
    )
    parser.add_argument("--no-estimate", action="store_true",
                        help="skip the calibration run and its estimate")
    add_scenario_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from popsim.workflows.describe import describe, estimate

    scenario = scenario_from_args(args.config, args)
    model = model_of(scenario)
    print("\n".join(describe(model)))
    if not args.no_estimate:
        announce_compilation(model.engine)
        print(estimate(model).line())
    return 0
