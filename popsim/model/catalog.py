"""The preset scenarios: ``configs/*.toml``, listed by ``popsim catalog`` and named by id.

One source of truth: the presets are the TOML files of the repository's
``configs/`` folder. The package reaches them through ``popsim/presets``, a
symbolic link to ``../configs`` in a checkout (an editable install sees every
edit at once); building a wheel or an sdist copies the files behind the link
into ``popsim/presets/`` as package data (``[tool.setuptools.package-data]``
in pyproject.toml), so an installed popsim finds the same presets without the
repository.

A preset's id is its file name without ``.toml``. Its name, description and
citations are data in the file's ``[scenario]`` table, so ``popsim catalog``
and the comparison report show exactly what the config says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from popsim.errors import ConfigError
from popsim.model.config import read_toml

#: Where the presets are: a link to ``configs/`` in a checkout, a copy in an installed package.
PRESETS_DIR = Path(__file__).parents[1] / "presets"


@dataclass(frozen=True)
class Preset:
    """One preset config: its id (file stem), ``[scenario]`` name, description and citations."""

    id: str
    name: str
    description: str
    citations: tuple[str, ...]
    path: Path


def presets(directory: Path = PRESETS_DIR) -> list[Preset]:
    """Every scenario preset in ``directory``, sorted by id (empty if the folder is missing).

    A preset is a ``*.toml`` file with a ``[scenario]`` table (other TOML files
    there, such as sweep files, are not scenarios and are skipped). Only that
    table is read; :func:`popsim.load_scenario` validates a whole preset. A
    file that is not valid TOML raises ConfigError naming it.
    """
    found = []
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            head = read_toml(path).get("scenario")
        except ConfigError as error:
            raise error.with_source(str(path)) from None
        if not isinstance(head, dict):
            continue
        citations = head.get("citations", [])
        found.append(
            Preset(
                id=path.stem,
                name=str(head.get("name", "")),
                description=" ".join(str(head.get("description", "")).split()),
                citations=tuple(str(c) for c in citations) if isinstance(citations, list) else (),
                path=path,
            )
        )
    return found


def preset_ids(directory: Path = PRESETS_DIR) -> list[str]:
    """The ids of every preset, sorted."""
    return [p.id for p in presets(directory)]


def resolve_config(spec: str | Path, directory: Path = PRESETS_DIR) -> Path:
    """The config file that ``spec`` names: an existing file, else the preset with that id.

    A ``spec`` that looks like a path (it has a folder part or a ``.toml``
    suffix) is returned unchanged, so that a missing file is reported by
    :func:`popsim.load_scenario` as "file not found". A bare word that is
    neither a file nor a preset id raises ConfigError listing the ids.
    """
    path = Path(spec)
    if path.is_file() or len(path.parts) > 1 or path.suffix == ".toml":
        return path
    known = presets(directory)
    for preset in known:
        if preset.id == path.name:
            return preset.path
    ids = ", ".join(p.id for p in known) or "none installed"
    raise ConfigError(
        "config",
        str(spec),
        f"is neither a file nor a preset id; preset ids: {ids} (popsim catalog lists them)",
    )
