"""``popsim init ID DEST.toml``: start a scenario of one's own from a preset."""

from __future__ import annotations

import argparse
from pathlib import Path

from popsim.errors import ConfigError
from popsim.model.catalog import presets
from popsim.model.config import read_toml
from popsim.outputs.files import write_bytes_atomic


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="copy a preset scenario to a config file of your own",
        description="Copy the preset ID (see popsim catalog) to DEST, byte for byte with its "
        "comments and cited sources, as a starting point to edit; then 'popsim run DEST'. A "
        "preset whose demography is a Demes file brings that file along, to the same path "
        "relative to DEST.",
    )
    parser.add_argument("id", metavar="ID", help="preset id (popsim catalog lists them)")
    parser.add_argument("dest", metavar="DEST", help="the config file to write, e.g. mine.toml")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace DEST (and its Demes file) if they exist"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for path in copy_preset(args.id, Path(args.dest), overwrite=args.overwrite):
        print(f"wrote {path}")
    print(f"edit it, then: popsim run {args.dest}")
    return 0


def copy_preset(preset_id: str, dest: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the scenario preset ``preset_id`` to ``dest``; return the files written.

    A ``demography = "x.yaml"`` Demes file, relative to the preset, is copied to
    the same path relative to ``dest`` so that the copy loads as the preset does.
    Nothing is written if any target exists and ``overwrite`` is false.
    """
    found = {p.id: p for p in presets()}
    if preset_id not in found:
        raise ConfigError(
            "ID", preset_id,
            f"is not a preset id; ids: {', '.join(found) or 'none installed'} "
            "(popsim catalog describes them)",
        )
    source = found[preset_id].path
    copies = {dest: source}
    demography = read_toml(source).get("demography")
    if isinstance(demography, str) and not Path(demography).is_absolute():
        copies[dest.parent / demography] = source.parent / demography
    for target, origin in copies.items():
        if target.resolve() == origin.resolve():
            raise ConfigError("DEST", str(target), "is the preset itself; choose another file")
        if target.exists() and not overwrite:
            raise ConfigError(
                "DEST", str(target), "already exists; choose another file or pass --overwrite"
            )
        if target.is_dir():
            raise ConfigError("DEST", str(target), "is a directory; name a file")
    for target, origin in copies.items():
        write_bytes_atomic(target, origin.read_bytes())
    return list(copies)
