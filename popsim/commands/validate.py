"""``popsim validate [CHECK ...] [--quick] [--out DIR]``: the engines against exact theory."""

from __future__ import annotations

import argparse
import sys

from popsim.commands.common import announce_compilation
from popsim.errors import PopsimError
from popsim.model.config import ENGINES
from popsim.outputs.files import check_writable
from popsim.outputs.tables import render


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check the engines against exact and analytical population genetics",
        description="Run the validation catalogue (all checks, or those named) and print a "
        "table of check | prediction | simulated | sampling error | verdict. With --out, "
        "also write report.md, checks.csv and figures/*.png. Exit status 1 if any check "
        "fails. Seeds are fixed: the result is reproducible.",
    )
    parser.add_argument(
        "checks",
        nargs="*",
        metavar="CHECK",
        help="checks to run, by name or glob (e.g. 'island-*'); default: all (see --list)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer replicates (the same tests with less power; about a minute on 2 cores)",
    )
    parser.add_argument("--out", help="directory for report.md, checks.csv and figures/")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        action="append",
        help="run the simulation checks for this engine only (repeatable; default: both)",
    )
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at the top: `popsim --help` registers every command
    from popsim.workflows.validation import CATALOGUE, Settings, run_checks, select
    from popsim.workflows.validation.writeup import terminal_text, write

    if args.list:
        rows = [["check", "engines", "what it checks"]]
        for check in CATALOGUE:
            rows.append([check.name, ", ".join(check.engines) or "theory", check.title])
        print(render(rows))
        return 0
    checks = select(args.checks)
    if args.out is not None:
        check_writable(args.out, args.overwrite, cli=True)
    engines = tuple(args.engine or ENGINES)
    if not any(not c.engines or set(c.engines) & set(engines) for c in checks):
        raise PopsimError(
            f"--engine {' '.join(engines)}: none of the selected checks runs for it "
            "(see popsim validate --list)"
        )
    for engine in engines:
        if any(engine in check.engines for check in checks):
            announce_compilation(engine)

    def progress(label: str) -> None:
        if sys.stderr.isatty():
            print(f"popsim validate: {label} …", file=sys.stderr)

    report = run_checks(checks, Settings(quick=args.quick), engines, progress)
    print(terminal_text(report))
    if args.out is not None:
        path = write(report, args.out, overwrite=args.overwrite)
        print(f"wrote {path}/ (report.md, checks.csv, figures/)")
    return 0 if report.passed else 1
