"""``popsim sweep SWEEP.toml --out DIR``: run a parameter sweep, resumably."""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING

import numpy as np

from popsim.commands.common import (
    add_cache_option,
    add_force_option,
    announce_compilation,
    burn_in_cache,
    capped_workers,
    chosen_executor,
    progress_bar,
)
from popsim.genetics.statistics import BY_NAME
from popsim.outputs.files import check_output_path
from popsim.outputs.tables import fmt
from popsim.outputs.words import counted, is_are
from popsim.workflows.sweep.executors import EXECUTORS

if TYPE_CHECKING:
    import pandas as pd


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
        help="TLS address tls://HOST[:PORT] of an existing Dask scheduler, e.g. "
        "tls://10.0.0.5:8786; plain tcp:// is refused (implies "
        "--executor dask; its workers need popsim installed; TLS credentials come from "
        "Dask's config, distributed.comm.tls.*: see docs/sweeps.md)",
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
    add_force_option(parser)
    add_cache_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: `popsim --help` registers every command
    from popsim.workflows.sweep import SweepInterrupted, load_sweep, run_sweep

    executor = chosen_executor(args)
    check_output_path(args.out)
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
                workers=capped_workers(args.workers, args.force),
                scheduler=args.scheduler,
                resume=args.resume,
                overwrite=args.overwrite,
                batch=args.batch,
                progress=lambda n: bar[0](n),
                on_start=started,
                command_line=args.command_line,
                cache=burn_in_cache(args),
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
    print()
    print(result_table(outcome.table, sweep.design.keys, sweep.deme))
    print()
    print(f"wrote {outcome.directory}/results.csv, results.parquet, manifest.json")
    return 0


#: The statistics of the closing table (registry names), shown as the comparison table
#: shows them (per 100,000, percent), with the registry's table labels.
TABLE_STATISTICS = (
    "founder_frequency", "carrier_frequency", "prevalence", "share_founder_homozygotes",
    "founder_lost",
)
#: Rows of the closing table at most; a longer sweep shows that many, evenly spaced.
TABLE_ROWS = 20
#: Width a column header is wrapped to (between words, or after a dot of a dotted key).
HEADER_WIDTH = 14


def result_table(table: pd.DataFrame, parameters: tuple[str, ...], deme: str) -> str:
    """The closing summary of a sweep: one row per point, its parameters and key statistics.

    Cells are means over the point's replicates (pooled for the shares), scaled
    as their registry display (prevalence per 100,000, shares in %); the
    quantiles and every other statistic are in results.csv. Sweeps of more than
    :data:`TABLE_ROWS` points show that many, evenly spaced, and say how many
    are left out.
    """
    columns: list[tuple[str, str, float]] = []  # (header, results column, scale)
    for name in TABLE_STATISTICS:
        statistic = BY_NAME[name]
        column = f"p_{name}" if statistic.display == "probability" else f"{name}_mean"
        if column in table.columns and table[column].notna().any():
            scaled = statistic.factor != 1.0  # then the label must say per 100,000 or %
            label = (statistic.table if scaled else statistic.short) or statistic.label
            columns.append((label, column, statistic.factor))
    total = len(table)
    shown = (
        np.unique(np.linspace(0, total - 1, TABLE_ROWS).round().astype(int))
        if total > TABLE_ROWS
        else np.arange(total)
    )
    headers = [_wrap("point"), *(_wrap(p) for p in parameters), *(_wrap(h) for h, _, _ in columns)]
    height = max(len(h) for h in headers)
    headers = [[""] * (height - len(h)) + h for h in headers]  # labels end on the last line
    rows = [[str(int(table["point"].iloc[k])), *(_value(table[p].iloc[k]) for p in parameters),
             *(fmt(float(table[c].iloc[k]) * scale) for _, c, scale in columns)] for k in shown]
    widths = [max(len(x) for x in [*h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [
        f"{deme} at the last generation (mean over each point's replicates; quantiles and "
        f"more in results.csv):",
        *(line([h[k] for h in headers]) for k in range(height)),
        "  ".join("-" * w for w in widths),
        *(line(row) for row in rows),
    ]
    if len(shown) < total:
        left_out = total - len(shown)
        lines.append(
            f"{len(shown)} of {counted(total, 'point')} shown, evenly spaced; "
            f"{counted(left_out, 'point')} left out here {is_are(left_out)} in results.csv"
        )
    return "\n".join(lines)


def _wrap(header: str) -> list[str]:
    """``header`` in lines of at most :data:`HEADER_WIDTH`, broken after spaces or dots."""
    pieces = re.findall(r"[^ .]+\.?|\s+", header)
    lines: list[str] = [""]
    for piece in pieces:
        if piece.isspace():
            piece = " "
        if lines[-1] and len((lines[-1] + piece).rstrip()) > HEADER_WIDTH:
            lines.append(piece.lstrip())
        else:
            lines[-1] += piece
    return [line.strip() for line in lines if line.strip()]


def _value(value: object) -> str:
    """A parameter value: whole numbers in full, other numbers as tables show them."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)
