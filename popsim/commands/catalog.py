"""``popsim catalog [ID]``: the preset scenarios, with their descriptions and sources."""

from __future__ import annotations

import argparse
import textwrap

from popsim.errors import PopsimError
from popsim.model.catalog import PRESETS_DIR, presets


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list the preset scenarios (usable by id in run and compare)",
        description="List the preset scenarios: id, name, description, the config file and "
        "the publications their numbers come from. Give an id to show one preset. Any "
        "command that takes a CONFIG also takes a preset id, e.g. "
        "'popsim compare iranian_jewish_m712t outbred_reference'.",
    )
    parser.add_argument("id", nargs="?", help="show only this preset")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = presets()
    if args.id is not None:
        found = [p for p in found if p.id == args.id]
        if not found:
            ids = ", ".join(p.id for p in presets()) or "none"
            raise PopsimError(f"catalog: no preset with id '{args.id}'; ids: {ids}")
    if not found:
        print(f"no presets found in {PRESETS_DIR.resolve()}")
        return 0
    width = max(len(p.id) for p in found)
    for preset in found:
        print(f"{preset.id.ljust(width)}  {preset.name}")
        indent = " " * 4
        if preset.description:
            print(
                textwrap.fill(
                    preset.description, 100, initial_indent=indent, subsequent_indent=indent
                )
            )
        print(f"{indent}config: {preset.path.resolve()}")
        if preset.citations:
            print(f"{indent}sources:")
            for citation in preset.citations:
                print(
                    textwrap.fill(
                        citation,
                        100,
                        initial_indent=indent + "  - ",
                        subsequent_indent=indent + "    ",
                    )
                )
        print()
    return 0
