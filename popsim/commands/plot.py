"""``popsim plot DIR``: figures of a finished sweep (heatmaps and profiles)."""

from __future__ import annotations

import argparse

from popsim.model.config import parse_override


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw figures of a sweep's results into DIR/figures",
        description="Draw heatmaps of a statistic over pairs of varied parameters and its "
        "profile (with interval) against each parameter, from the results of "
        "popsim sweep in DIR. Parameters not on an axis are pooled over (replicate-weighted) "
        "unless fixed with --fix.",
    )
    parser.add_argument("directory", metavar="DIR", help="output directory of popsim sweep")
    parser.add_argument(
        "--statistic",
        help="statistic to draw, e.g. carrier_frequency or p_founder_lost (default: "
        "p_reach_observed_carrier_frequency if present, else founder_frequency)",
    )
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="use only points where parameter KEY has VALUE (repeatable)",
    )
    parser.add_argument("--x", help="parameter on the heatmap's x axis (with --y)")
    parser.add_argument("--y", help="parameter on the heatmap's y axis (with --x)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from popsim.errors import PopsimError
    from popsim.workflows.sweep.figures import sweep_figures

    if (args.x is None) != (args.y is None):
        raise PopsimError("--x and --y: give both, or neither for every pair of parameters")
    fixed = {}
    for text in args.fix:
        key, value = parse_override(text)
        fixed[key] = value
    pair = (args.x, args.y) if args.x is not None else None
    paths = sweep_figures(args.directory, args.statistic, fixed, pair)
    for path in paths:
        print(f"wrote {path}")
    return 0
