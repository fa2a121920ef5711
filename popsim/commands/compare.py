"""``popsim compare A.toml B.toml … --out DIR``: scenarios side by side, with a report."""

from __future__ import annotations

import argparse
import shlex
import textwrap
from pathlib import Path

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
from popsim.errors import PopsimError
from popsim.model.build import model_of
from popsim.model.catalog import resolve_config
from popsim.outputs.files import check_writable
from popsim.outputs.words import counted
from popsim.workflows.compare import DEFAULT_TOLERANCE, Entry, run_comparison, unique_ids
from popsim.workflows.describe import check_memory


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run several scenarios side by side and write a report",
        description="Simulate every CONFIG with the same replicates and seed, print a "
        "side-by-side table (founder allele and carrier frequency, patients per 100,000 by "
        "genotype class, share of patients in each class, with 95% intervals) and what the "
        "numbers say; with --out, write comparison.csv, trajectories.csv, manifest.json, "
        "figures/*.png, report.md and a self-contained report.html.",
    )
    parser.add_argument(
        "configs",
        nargs="+",
        metavar="CONFIG",
        help="scenario config files (TOML) or preset ids (see popsim catalog)",
    )
    parser.add_argument("--out", help="output directory (omit to only print)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="relative window of the 'matching' columns: replicates whose present-day values "
        "lie within ±TOLERANCE × every published value (default %(default)s); only for "
        "scenarios without count observations, whose columns are weighted by likelihood",
    )
    add_scenario_options(parser)
    add_cache_option(parser)
    add_memory_force_option(parser)
    parser.set_defaults(func=run)
    parser.epilog = (
        "Defaults: --replicates is the smallest scenario.replicates of the CONFIGs and --seed "
        "the first CONFIG's seed; every scenario uses both. --set KEY=VALUE changes every "
        "scenario; --set ID:KEY=VALUE only the scenario with that id (file stem or preset id)."
    )


def load_entries(args: argparse.Namespace) -> list[Entry]:
    """Resolve and load every CONFIG with its --set overrides (plain or ``ID:``-scoped)."""
    paths = [resolve_config(spec) for spec in args.configs]
    ids = unique_ids([path.stem for path in paths])
    shared: list[str] = []
    scoped: dict[str, list[str]] = {i: [] for i in ids}
    for text in args.overrides:
        key = text.split("=", 1)[0]
        if ":" in key:
            target, rest = text.split(":", 1)
            if target not in scoped:
                raise PopsimError(
                    f"--set {text}: '{target}' is not a compared scenario; ids: {', '.join(ids)}"
                )
            scoped[target].append(rest)
        else:
            shared.append(text)
    entries = []
    for path, entry_id in zip(paths, ids, strict=True):
        options = argparse.Namespace(**{**vars(args), "overrides": shared + scoped[entry_id]})
        try:
            scenario = scenario_from_args(path, options)
        except PopsimError as error:
            if not shared:
                raise
            other = next((i for i in ids if i != entry_id), entry_id)
            raise PopsimError(
                f"{error} (scenario '{entry_id}': --set KEY=VALUE without an id changes every "
                f"compared scenario; to change one, write --set ID:KEY=VALUE, e.g. --set "
                f"{other}:{shared[0]}; ids: {', '.join(ids)})"
            ) from error
        entries.append(Entry(entry_id, scenario, str(path)))
    return entries


def reproduce_command(args: argparse.Namespace, replicates: int, seed: int) -> str:
    """The command line that gives the same numbers (explicit replicates and seed)."""
    words = [
        "popsim",
        "compare",
        *args.configs,
        "--replicates",
        str(replicates),
        "--seed",
        str(seed),
    ]
    for option in ("generations", "engine"):
        if getattr(args, option, None) is not None:
            words += [f"--{option}", str(getattr(args, option))]
    for text in args.overrides:
        words += ["--set", text]
    if args.tolerance != DEFAULT_TOLERANCE:
        words += ["--tolerance", str(args.tolerance)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from popsim.workflows.compare.report import (
        findings,  # Matplotlib: not at the top, for `popsim --help`
    )

    entries = load_entries(args)
    if args.out is not None:
        check_writable(Path(args.out), args.overwrite, cli=True)
    replicates = args.replicates or min(e.scenario.replicates for e in entries)
    held = 0  # records of the scenarios run before: a comparison keeps them all
    for entry in entries if not args.force else ():
        held += check_memory(model_of(entry.scenario), replicates, held)
    for engine in sorted({e.scenario.engine for e in entries}):
        announce_compilation(engine)
    with progress_bar(replicates * len(entries), "compare") as update:
        comparison = run_comparison(
            entries,
            args.replicates,
            args.seed,
            tolerance=args.tolerance,
            chunk=replicate_chunk(replicates),
            progress=update,
            burn_ins=BurnIns(burn_in_cache(args)),
        )
    for entry, result in zip(comparison.entries, comparison.results, strict=True):
        scenario = entry.scenario
        print(
            f"{entry.id}: {scenario.name} — {counted(result.replicates, 'replicate')}, seed "
            f"{comparison.seed}, {counted(scenario.generations, 'generation')} "
            f"({scenario.generations * scenario.generation_time_years:,.0f} years), "
            f"{result.engine} engine, {result.wall_seconds:.1f} s"
        )
    print()
    print(comparison.table())
    for entry, result in zip(comparison.entries, comparison.results, strict=True):
        if entry.scenario.count_observations:
            print(f"{entry.id}:")
            print_evidence(entry.scenario, result.summary_rows())
    print()
    for paragraph in findings(comparison.summary(), comparison.populations(), args.tolerance):
        print(textwrap.fill(paragraph, width=100))
        print()
    if args.out is not None:
        command = reproduce_command(args, comparison.replicates, comparison.seed)
        path = comparison.write(
            args.out, overwrite=args.overwrite, command=command, command_line=args.command_line
        )
        print(f"wrote {path}/ (report.html, report.md, comparison.csv, figures/)")
    return 0
