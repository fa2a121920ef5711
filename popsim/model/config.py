"""Config files (TOML) and dicts read into frozen :class:`~popsim.model.scenario.Scenario` objects.

Every key, type and range rule lives here (the first step of
:func:`popsim.model.build.build_model`), with the reading of TOML files and
``--set`` overrides. A violation raises one
:class:`~popsim.errors.ConfigError` whose message names the file, the dotted
key, the value and what is allowed, on one line, e.g.::

    configs/x.toml: demes[0].inbreeding = 1.3: must be in [0, 1)

Unknown keys are refused with a did-you-mean. Configs are data: nothing in
them is evaluated or imported. The demography may instead come from a Demes
YAML file (``demography = "model.yaml"``, see :mod:`popsim.model.demes_import`).
The rules that need the whole size schedule and those of the chosen engine
follow in :func:`popsim.model.build.build_model`. See ``docs/config.md`` for every key.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import itertools
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from popsim.errors import MISSING, ConfigError, has_hidden
from popsim.genetics.statistics import observable_names
from popsim.model.limits import (
    MAX_ANCESTRY,
    MAX_CONFIG_BYTES,
    MAX_DEMES,
    MAX_GENERATIONS,
    MAX_REPLICATES,
    MAX_SCHEDULE_CELLS,
    MAX_SIZE,
    NAME_PATTERN,
    NAME_RULE,
)
from popsim.model.scenario import (
    ALLELES,
    COUNT_FORMS,
    CountObservation,
    Deme,
    FounderAllele,
    FounderEvent,
    LikelihoodObservation,
    Locus,
    Migration,
    Observation,
    RateObservation,
    Scenario,
    Selection,
    SizeEpoch,
    default_label,
)

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
INDEX = re.compile(r"^[0-9]+$")
OBSERVABLE_STATISTICS = observable_names()
ENGINES = ("frequency", "pedigree", "hybrid")
GROWTH = ("constant", "exponential", "linear")
#: Keys a sweep or a fit sets itself: the root seed and (unless varied) the replicates.
SEED_KEY, REPLICATES_KEY = "scenario.seed", "scenario.replicates"
#: The pedigree engine's marriage fractions of a deme.
MARRIAGES = ("first_cousin_marriage", "second_cousin_marriage", "uncle_niece_marriage")
#: Keys a [[demes]] entry may set when the demography comes from a Demes file.
DEME_SETTINGS = ("name", "inbreeding", *MARRIAGES, "description", "label", "individuals")


#: What the last part of a config key means, with its unit (axes of sweep and fit
#: figures: :func:`key_label`).
KEY_LABELS = {
    "inbreeding": "inbreeding coefficient F",
    "founders": "founders (people)",
    "start": "starting size (people)",
    "end": "final size (people)",
    "size": "size (people)",
    "rate": "migration rate (share of parents per generation)",
    "generations": "generations simulated",
    "generation": "generation",
    "burn_in": "burn-in (generations)",
    "pathogenic_mutation_rate": "pathogenic mutation rate (per gene copy per generation)",
    "affected": "selection against patients, s",
    "carrier_dominance": "dominance of selection in carriers, h",
    "heterozygote_advantage": "carrier advantage",
    "penetrance": "penetrance",
    "copies": "copies introduced",
    "frequency": "frequency introduced",
    "first_cousin_marriage": "share of first-cousin marriages",
    "second_cousin_marriage": "share of second-cousin marriages",
    "uncle_niece_marriage": "share of uncle–niece marriages",
    "replicates": "replicates",
}


def key_label(dotted: str) -> str:
    """A config key as words with its unit, for a figure's axis: ``demes.persian_jews.
    inbreeding`` → ``inbreeding coefficient F, Persian jews``; ``locus.founder_alleles.
    M712T.copies`` → ``copies introduced, M712T``; an unknown key as it is."""
    parts = dotted.split(".")
    label = KEY_LABELS.get(parts[-1])
    if label is None:
        return dotted
    if parts[0] == "demes" and len(parts) > 2 and not parts[1].isdigit():
        return f"{label}, {default_label(parts[1])}"
    if parts[:2] == ["locus", "founder_alleles"] and len(parts) > 3 and not parts[2].isdigit():
        return f"{label}, {parts[2]}"
    return label


def show_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else a quoted string."""
    return name if BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


class Table:
    """A TOML table being read: typed getters that know their dotted key path.

    After reading, :meth:`finish` refuses keys that were not read, suggesting
    the closest allowed key.
    """

    def __init__(self, data: object, path: str):
        if not isinstance(data, Mapping):
            raise ConfigError(path or "config", data, "must be a table (key = value pairs)")
        self.data = data
        self.path = path
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        shown = show_key(str(name))
        return f"{self.path}.{shown}" if self.path else shown

    def raw(self, name: str, default: Any = MISSING) -> Any:
        """The value of ``name`` (None, which TOML cannot write, counts as absent)."""
        self.read.add(name)
        if self.has(name):
            return self.data[name]
        if default is MISSING:
            raise ConfigError(self.key(name), MISSING, "required key is missing")
        return default

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def strings(self, name: str) -> tuple[str, ...]:
        """An optional array of non-empty strings (default: empty)."""
        value = self.raw(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(self.key(name), value, "must be an array of non-empty strings")
        return tuple(value)

    def string(
        self, name: str, default: Any = MISSING, pattern: bool = False, line: bool = False
    ) -> str:
        """A string; ``pattern``: a name (:data:`NAME_RULE`); ``line``: one non-empty line."""
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise ConfigError(self.key(name), value, "must be a string")
        if pattern and not NAME_PATTERN.match(value):
            raise ConfigError(self.key(name), value, NAME_RULE)
        if line and (not value.strip() or has_hidden(value) or len(value) > 200):
            raise ConfigError(
                self.key(name), value,
                "must be a non-empty line of at most 200 characters (no control or "
                "invisible formatting characters)",
            )
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: Any = MISSING) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str) or value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise ConfigError(self.key(name), value, f"must be one of {options}")
        return value

    def integer(
        self, name: str, default: Any = MISSING, low: int | None = None, high: int | None = None
    ) -> int:
        return whole_number(self.key(name), self.raw(name, default), low, high)

    def number(
        self,
        name: str,
        default: Any = MISSING,
        low: float | None = None,
        high: float | None = None,
        open_high: bool = False,
        open_low: bool = False,
    ) -> float:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.key(name), value, "must be a number")
        if isinstance(value, int) and abs(value) > 2**1000:
            raise ConfigError(self.key(name), value, "must be a finite number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(self.key(name), value, "must be a finite number")
        check_range(self.key(name), value, low, high, not open_high, not open_low)
        return value

    def table(self, name: str, required: bool = False) -> Table | None:
        value = self.raw(name, MISSING if required else None)
        return None if value is None else Table(value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        value = self.raw(name, [])
        if not isinstance(value, list):
            raise ConfigError(self.key(name), value, f"must be an array of tables ([[{name}]])")
        return [Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def finish(self, allowed: tuple[str, ...] = ()) -> None:
        known = sorted(self.read | set(allowed))
        for name in self.data:
            if name not in self.read:
                close = difflib.get_close_matches(str(name), known, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ConfigError(
                    self.key(str(name)), MISSING,
                    f"unknown key; {hint}allowed keys here: {', '.join(known)}",
                )


def whole_number(key: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int (integral floats such as 1e4 accepted) within [low, high]."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, value, f"must be a whole number{_range(low, high)}")
    check_range(key, value, low, high, closed_high=True)
    return value


def check_range(
    key: str,
    value: float,
    low: float | None,
    high: float | None,
    closed_high: bool = True,
    closed_low: bool = True,
) -> None:
    """Raise ConfigError unless ``value`` lies within [low, high] (ends as given)."""
    too_low = low is not None and (value < low if closed_low else value <= low)
    too_high = high is not None and (value > high if closed_high else value >= high)
    if too_low or too_high:
        raise ConfigError(key, value, f"must be in {_interval(low, high, closed_low, closed_high)}")


def _interval(low, high, closed_low=True, closed_high=True) -> str:
    left = ("[" if closed_low else "(") + (f"{low:g}" if low is not None else "-inf")
    right = (f"{high:g}" if high is not None else "inf") + ("]" if closed_high else ")")
    return f"{left}, {right}"


def _range(low, high) -> str:
    return "" if low is None and high is None else f" in {_interval(low, high)}"


# --------------------------------------------------------------------------- loading


def referenced_file(key: str, name: str, folder: Path) -> Path:
    """The file ``name`` (a sweep's or fit's ``base``, a config's ``demography``),
    relative to ``folder``; ConfigError naming ``key`` unless it is an existing file.
    A name the system cannot use (too long, with a NUL byte) is refused too."""
    path = folder / name
    try:
        found = path.is_file()
    except (OSError, ValueError) as error:  # ENAMETOOLONG, an embedded NUL byte, ...
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(key, name, f"cannot be used as a file name ({reason})") from None
    if not found:
        raise ConfigError(key, name, f"file not found (looked for {path})")
    return path


def read_config_bytes(path: Path, key: str = "config") -> bytes:
    """The bytes of a config, sweep or fit file, refused (ConfigError) unless readable.

    Only a regular file of at most :data:`~popsim.model.limits.MAX_CONFIG_BYTES`
    bytes is read: a device (``/dev/zero``), a pipe or a directory is refused
    without reading or waiting for a writer, and at most one byte past the
    limit is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError(key, str(path), "file not found") from None
    except (OSError, ValueError) as error:
        raise ConfigError(key, str(path), f"cannot be read ({error})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(key, str(path), "must be a regular file, not a device, pipe or "
                              "directory")
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as error:
            raise ConfigError(key, str(path), f"cannot be read ({error})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(key, str(path), f"larger than {MAX_CONFIG_BYTES} bytes (4 MiB)")
    return data


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file (:func:`read_config_bytes`); a bad or malformed file is a ConfigError."""
    try:
        text = read_config_bytes(path).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError("config", str(path), f"cannot be read ({error})") from None
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(
            "config", MISSING, "not valid TOML: nested too deeply", str(path)
        ) from None
    except ValueError as error:  # TOMLDecodeError, or an integer with too many digits
        message = " ".join(str(error).split())
        raise ConfigError("config", MISSING, f"not valid TOML: {message}", str(path)) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=value``; the value is read as TOML (number, string, array…).

    A value that is not valid TOML is taken as a plain string, so
    ``--set scenario.engine=pedigree`` needs no quotes.
    """
    if "=" not in text:
        raise ConfigError("--set", text, "must look like dotted.key=value")
    key, value_text = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ConfigError("--set", text, "must look like dotted.key=value")
    if has_hidden(value_text):
        raise ConfigError("--set", text, "the value must be one line without control characters")
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except (ValueError, RecursionError):
        value = value_text
    return key, value


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Apply dotted overrides to a raw config dict, in place.

    ``demography`` is set first. When the demography comes from a Demes file,
    ``demes.NAME.key`` may address a deme that the config has no [[demes]]
    entry for yet: a settings entry ``{name = NAME}`` is added for it.
    """
    items = sorted(overrides.items(), key=lambda item: item[0] != "demography")
    for key, value in items:
        if raw.get("demography") is not None:
            _add_settings_entry(raw, key)
        set_dotted(raw, key, value)


def _add_settings_entry(raw: dict[str, Any], dotted: str) -> None:
    parts = dotted.split(".")
    if len(parts) < 3 or parts[0] != "demes" or INDEX.match(parts[1]):
        return
    entries = raw.setdefault("demes", [])
    if isinstance(entries, list) and not any(
        isinstance(e, dict) and e.get("name") == parts[1] for e in entries
    ):
        entries.append({"name": parts[1]})


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``dotted`` in a raw config dict, in place.

    Segments address tables by key; in an array of tables a segment selects the
    entry by its ``name`` (``demes.persian_jews.inbreeding``) or by index
    (``demes.0.inbreeding``). Only existing arrays can be indexed.
    """
    parts = dotted.split(".")
    if any(not part for part in parts):
        raise ConfigError("--set", dotted, "every dotted segment must be non-empty")
    node: Any = raw
    walked: list[str] = []
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if isinstance(node, list):
            node, label = _select(node, part, ".".join(walked))
            walked.append(label)
            if last:
                raise ConfigError(dotted, value, "must name a key inside the selected entry")
            continue
        if not isinstance(node, dict):
            raise ConfigError(
                ".".join(walked) or dotted, node, "is not a table; cannot set keys in it"
            )
        walked.append(part)
        if last:
            node[part] = value
        else:
            if part not in node:
                node[part] = {}
            node = node[part]


def get_dotted(raw: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in a raw config dict, or None where there is none.

    Addressing is that of :func:`set_dotted`: arrays of tables by entry name or index.
    """
    node: Any = raw
    for part in dotted.split("."):
        if isinstance(node, list):
            named = [e for e in node if isinstance(e, dict) and e.get("name") == part]
            if part.isdigit() and int(part) < len(node):
                named = [node[int(part)]]
            node = named[0] if named else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return node


def _select(items: list[Any], part: str, where: str) -> tuple[Any, str]:
    if INDEX.match(part) and int(part) < len(items):
        return items[int(part)], part
    names = [item.get("name") for item in items if isinstance(item, dict)]
    for item in items:
        if isinstance(item, dict) and item.get("name") == part:
            return item, part
    options = ", ".join(repr(n) for n in names if n is not None)
    raise ConfigError(
        f"{where}.{part}", MISSING,
        f"no entry with that name or index (0–{len(items) - 1}); names: {options or 'none'}",
    )


def merged(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``raw`` with dotted overrides applied (see :func:`apply_overrides`)."""
    try:
        out = copy.deepcopy(raw)
    except RecursionError:
        raise ConfigError("config", MISSING, "nested too deeply") from None
    apply_overrides(out, overrides)
    return out


# --------------------------------------------------------------------------- validation


def read_scenario(raw: Mapping[str, Any], base_dir: Path | None = None) -> Scenario:
    """Read a parsed config (a dict shaped like the TOML) into a Scenario, checking
    every key, type and range (step 1 of :func:`popsim.model.build.build_model`).

    ``base_dir`` is the folder a ``demography`` path is relative to (default:
    the current directory). ``scenario.ancestry_generations`` is None when the
    config does not give it.
    """
    root = Table(raw, "")
    head = root.table("scenario", required=True)
    assert head is not None
    generations = head.integer("generations", low=0, high=MAX_GENERATIONS)
    settings = {
        "name": head.string("name", line=True),
        "generations": generations,
        "generation_time_years": head.number("generation_time_years", 25.0, 0, 200, open_low=True),
        "replicates": head.integer("replicates", 1000, 1, MAX_REPLICATES),
        "seed": head.integer("seed", 1, 0, 2**63 - 1),
        "burn_in": head.integer("burn_in", 0, 0, MAX_GENERATIONS),
        "record_every": head.integer("record_every", 1, 1, MAX_GENERATIONS),
        "engine": head.choice("engine", ENGINES, "frequency"),
        "ancestry_generations": _optional_integer(head, "ancestry_generations", 2, MAX_ANCESTRY),
        "description": head.string("description", ""),
        "citations": head.strings("citations"),
        "assumptions": head.strings("assumptions"),
    }
    explicit_generation_time = head.has("generation_time_years")
    head.finish()

    if root.raw("demography", None) is not None:
        demes, migrations, generation_time = _demography_file(root, generations, base_dir)
        if generation_time is not None:
            if explicit_generation_time and generation_time != settings["generation_time_years"]:
                raise ConfigError(
                    "scenario.generation_time_years", settings["generation_time_years"],
                    f"conflicts with generation_time = {generation_time:g} years in the "
                    "Demes file; remove one of them",
                )
            if not 0 < generation_time <= 200:
                raise ConfigError(
                    "demography", root.raw("demography"),
                    f"generation_time = {generation_time:g} years in the Demes file; "
                    "popsim needs (0, 200] years",
                )
            settings["generation_time_years"] = generation_time
    else:
        demes = tuple(_deme(t) for t in _deme_tables(root))
        names = [d.name for d in demes]
        _unique(names, "demes", "name")
        migrations = tuple(_migration(t, names) for t in root.tables("migration"))
    names = [d.name for d in demes]
    cells = (settings["burn_in"] + generations + 1) * len(demes)
    if cells > MAX_SCHEDULE_CELLS:
        raise ConfigError(
            "scenario.generations", generations,
            f"(burn_in + generations + 1) × {len(demes)} demes = {cells:.3g} exceeds "
            f"{MAX_SCHEDULE_CELLS:.0e} size-schedule entries; use fewer generations or demes",
        )
    for i, deme in enumerate(demes):
        if deme.founded is not None:
            _known(deme.founded.source, names, f"demes[{i}].founded.from")
            if deme.founded.source == deme.name:
                raise ConfigError(
                    f"demes[{i}].founded.from", deme.name, "a deme cannot found itself"
                )
            if deme.founded.generation > generations:
                raise ConfigError(
                    f"demes[{i}].founded.generation", deme.founded.generation,
                    f"must be at most scenario.generations = {generations}",
                )

    locus_table = root.table("locus", required=True)
    assert locus_table is not None
    locus = _locus(locus_table, names)
    observations, counted = _observations(root.tables("observed"), names)
    root.finish()
    return Scenario(
        demes=demes, migrations=migrations, locus=locus, observations=observations,
        count_observations=counted, **settings
    )


def _optional_integer(t: Table, name: str, low: int, high: int) -> int | None:
    """A whole number in [low, high], or None where the key is not given."""
    value = t.raw(name, None)
    return None if value is None else whole_number(t.key(name), value, low, high)


def _deme_tables(root: Table) -> list[Table]:
    tables = root.tables("demes")
    if not tables:
        raise ConfigError("demes", MISSING, "at least one [[demes]] table is required")
    if len(tables) > MAX_DEMES:
        raise ConfigError("demes", f"{len(tables)} tables", f"at most {MAX_DEMES} demes")
    return tables


def _demography_file(
    root: Table, generations: int, base_dir: Path | None
) -> tuple[tuple[Deme, ...], tuple[Migration, ...], float | None]:
    """Demes and migration from the Demes file of ``demography``; [[demes]] add settings."""
    from popsim.model.demes_import import demes_to_config

    label = root.raw("demography")
    if not isinstance(label, str) or not label.strip() or has_hidden(label):
        raise ConfigError(
            "demography", label, "must be the path of a Demes YAML file, relative to this config"
        )
    if root.has("migration"):
        raise ConfigError(
            "migration", MISSING,
            f"not allowed with demography = {label!r}: migration comes from the Demes file",
        )
    root.read.add("migration")
    model = demes_to_config(Path(base_dir or ".") / label, generations, label)
    names = [d["name"] for d in model.demes]
    settings: dict[str, dict[str, Any]] = {}
    for t in root.tables("demes"):
        name = t.string("name")
        _known(name, names, t.key("name"))
        if name in settings:
            raise ConfigError(t.key("name"), name, "is used twice; names must be unique")
        for key in t.data:
            if key not in DEME_SETTINGS:
                close = difflib.get_close_matches(str(key), DEME_SETTINGS, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ConfigError(
                    t.key(str(key)), t.data[key],
                    f"{hint}with demography = {label!r}, [[demes]] entries may only set "
                    f"{', '.join(DEME_SETTINGS)}; sizes, founding and migration come from "
                    "the Demes file",
                )
        settings[name] = _deme_settings(t)
        t.finish()
    demes = []
    for i, entry in enumerate(model.demes):
        deme = _deme(Table(entry, f"demography.demes[{i}]"))
        if deme.name in settings:
            given = settings[deme.name]
            if "description" not in given:
                given = {**given, "description": deme.description}
            deme = dataclasses.replace(deme, **given)
        demes.append(deme)
    if len(demes) > MAX_DEMES:
        raise ConfigError("demography", label, f"has {len(demes)} demes; at most {MAX_DEMES}")
    migrations = tuple(
        _migration(Table(m, f"demography.migration[{k}]"), names)
        for k, m in enumerate(model.migrations)
    )
    return tuple(demes), migrations, model.generation_time_years


def _unique(values: list[str], path: str, field: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise ConfigError(f"{path}[{i}].{field}", value, "is used twice; names must be unique")
        seen.add(value)


def _known(name: str, names: list[str], key: str) -> None:
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        shown = ", ".join(names) if len(names) <= 20 else ", ".join(names[:20]) + ", …"
        raise ConfigError(key, name, f"is not a deme; demes are {shown}{hint}")


def _deme_settings(t: Table) -> dict[str, Any]:
    """The per-deme settings that are not demography: F, marriage fractions, description,
    label, and whether a hybrid run simulates the deme as individuals."""
    marriage = {key: t.number(key, 0.0, 0.0, 1.0) for key in MARRIAGES}
    if sum(marriage.values()) > 1.0:
        raise ConfigError(
            t.key("first_cousin_marriage"), sum(marriage.values()),
            "the first-cousin, second-cousin and uncle–niece marriage fractions must sum "
            "to at most 1",
        )
    settings: dict[str, Any] = {
        "inbreeding": t.number("inbreeding", 0.0, 0.0, 1.0, open_high=True), **marriage
    }
    if t.has("description"):
        settings["description"] = t.string("description")
    if t.has("label"):
        settings["label"] = t.string("label", line=True)
    individuals = t.raw("individuals", False)
    if not isinstance(individuals, bool):
        raise ConfigError(t.key("individuals"), individuals, "must be true or false")
    settings["individuals"] = individuals
    return settings


def _deme(t: Table) -> Deme:
    name = t.string("name", pattern=True)
    founded = None
    f = t.table("founded")
    if f is not None:
        founded = FounderEvent(
            generation=f.integer("generation", low=0, high=MAX_GENERATIONS),
            source=f.string("from"),
            founders=f.integer("founders", low=1, high=MAX_SIZE),
        )
        f.finish()
    epochs = _size(t.raw("size"), t.key("size"), founded.founders if founded else MISSING)
    deme = Deme(
        name=name,
        epochs=epochs,
        founded=founded,
        **{"description": "", **_deme_settings(t)},
    )
    t.finish(("description", "label"))
    return deme


def _size(value: Any, key: str, start: Any = MISSING) -> tuple[SizeEpoch, ...]:
    """``size = 1000``, ``size = {start, end, growth}`` or an array of epochs.

    ``start`` is the default of the first epoch's ``start`` (a founded deme's
    founders, in diploids); without it ``start`` is required.
    """
    if isinstance(value, list):
        if not value:
            raise ConfigError(key, value, "an array of size epochs must not be empty")
        epochs = []
        for i, item in enumerate(value):
            t = Table(item, f"{key}[{i}]")
            generation = t.integer("generation", 0 if i == 0 else MISSING, 0, MAX_GENERATIONS)
            epochs.append(_epoch(t, generation, start if i == 0 else MISSING))
        starts = [e.start_generation for e in epochs]
        if starts[0] != 0 or any(b <= a for a, b in itertools.pairwise(starts)):
            raise ConfigError(
                key, starts, "epoch generations must start at 0 and increase strictly"
            )
        return tuple(epochs)
    if isinstance(value, Mapping):
        return (_epoch(Table(value, key), 0, start),)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            key, value, "must be a whole number of diploid individuals, a table "
            "{start, end, growth} or an array of such tables with a 'generation'",
        )
    size = whole_number(key, value, 1, MAX_SIZE)
    return (SizeEpoch(0, size, size, "constant"),)


def _epoch(t: Table, generation: int, default_start: Any = MISSING) -> SizeEpoch:
    if t.has("size"):
        start = end = t.integer("size", low=1, high=MAX_SIZE)
        growth = "constant"
    else:
        start = t.integer("start", default_start, low=1, high=MAX_SIZE)
        growth = t.choice("growth", GROWTH, "exponential" if t.has("end") else "constant")
        end = t.integer("end", start, low=1, high=MAX_SIZE)
        if growth == "constant" and end != start:
            raise ConfigError(
                t.key("end"), end,
                f"differs from start = {start} but growth = 'constant'; "
                "use growth = 'exponential' or 'linear', or drop end",
            )
    t.finish()
    return SizeEpoch(generation, start, end, growth)


def _migration(t: Table, names: list[str]) -> Migration:
    source, dest = t.string("source"), t.string("dest")
    _known(source, names, t.key("source"))
    _known(dest, names, t.key("dest"))
    if source == dest:
        raise ConfigError(t.key("dest"), dest, "must differ from source")
    start = t.integer("start_generation", 0, 0, MAX_GENERATIONS)
    end = t.raw("end_generation", None)
    if end is not None:
        end = t.integer("end_generation", low=start + 1, high=MAX_GENERATIONS + 1)
    migration = Migration(source, dest, t.number("rate", low=0.0, high=1.0), start, end)
    t.finish()
    return migration


def _locus(t: Table, names: list[str]) -> Locus:
    sel_table = t.table("selection")
    selection = Selection()
    if sel_table is not None:
        selection = Selection(
            affected=sel_table.number("affected", 0.0, 0.0, 1.0),
            carrier_dominance=sel_table.number("carrier_dominance", 0.0, 0.0, 1.0),
            heterozygote_advantage=sel_table.number("heterozygote_advantage", 0.0, 0.0, 1.0),
        )
        sel_table.finish()
    alleles = []
    for a in t.tables("founder_alleles"):
        name = a.string("name", pattern=True)
        if name == "normal":
            raise ConfigError(a.key("name"), name, "'normal' is reserved for allele 0")
        deme = a.string("deme")
        _known(deme, names, a.key("deme"))
        generation = a.integer("generation", 0, 0, MAX_GENERATIONS)
        has_copies, has_freq = a.has("copies"), a.has("frequency")
        if has_copies == has_freq:
            shown = {k: a.data[k] for k in ("copies", "frequency") if a.has(k)}
            raise ConfigError(
                a.path, shown or MISSING, "give exactly one of copies or frequency"
            )
        copies = a.integer("copies", None, 1, 2 * MAX_SIZE) if has_copies else None
        frequency = (
            a.number("frequency", None, 0.0, 1.0, open_low=True) if has_freq else None
        )
        alleles.append(FounderAllele(name, deme, generation, copies, frequency))
        a.finish()
    seen: set[tuple[str, str, int]] = set()
    for i, key in enumerate((a.name, a.deme, a.generation) for a in alleles):
        if key in seen:
            raise ConfigError(
                f"locus.founder_alleles[{i}].name", key[0],
                f"is already introduced into '{key[1]}' at generation {key[2]}; "
                "give one entry with the total copies",
            )
        seen.add(key)
    locus = Locus(
        name=t.string("name", "GNE", line=True),
        pathogenic_mutation_rate=t.number("pathogenic_mutation_rate", 0.0, 0.0, 0.1),
        selection=selection,
        founder_alleles=tuple(alleles),
        max_alleles=t.integer("max_alleles", 256, 1, 1_000_000),
        penetrance=t.number("penetrance", 1.0, 0.0, 1.0, open_low=True),
    )
    t.finish()
    return locus


#: The keys that make each form of ``[[observed]]``: the value form and the count forms.
OBSERVATION_FORMS: dict[str, tuple[str, ...]] = {"value": ("statistic", "value"), **COUNT_FORMS}
#: The keys that turn a value-form entry into the rate form (a rate with a stated 95% range).
RATE_KEYS: tuple[str, ...] = ("factor", "interval")


def _observations(
    tables: list[Table], names: list[str]
) -> tuple[tuple[Observation, ...], tuple[LikelihoodObservation, ...]]:
    """The ``[[observed]]`` entries: value-form ones and those with a likelihood (count
    forms, rate form), names unique."""
    values: list[Observation] = []
    counted: list[LikelihoodObservation] = []
    seen: set[str] = set()
    for t in tables:
        obs = _observation(t, names)
        if obs.name:
            if obs.name in seen:
                raise ConfigError(t.key("name"), obs.name, "is used twice; names must be unique")
            seen.add(obs.name)
        if isinstance(obs, Observation):
            values.append(obs)
        else:
            counted.append(obs)
    return tuple(values), tuple(counted)


def _observation_form(t: Table) -> str:
    """The one form whose keys ``t`` gives (see :data:`OBSERVATION_FORMS`)."""
    forms = {**OBSERVATION_FORMS, "rate": ("statistic", "value", *RATE_KEYS)}
    given = [form for form, keys in OBSERVATION_FORMS.items() if any(t.has(k) for k in keys)]
    if any(t.has(k) for k in RATE_KEYS):
        given = ["rate" if f == "value" else f for f in given] if "value" in given else [
            "rate", *given]
    if len(given) > 1:
        first, second = given[0], given[1]
        key = next(k for k in forms[second] if t.has(k))
        raise ConfigError(
            t.key(key), t.data[key],
            f"one form per [[observed]] entry: this entry already has the {first} form "
            f"({', '.join(forms[first])})",
        )
    if not given:
        listed = "; ".join(f"{f}: {', '.join(k)}" for f, k in forms.items())
        raise ConfigError(t.path, MISSING, f"needs the keys of one form ({listed})")
    return given[0]


def _rate_range(t: Table, value: float) -> tuple[float, float]:
    """The stated 95% range [low, high] of a rate-form entry: ``factor = f`` (> 1) gives
    [value/f, value·f]; ``interval = [low, high]`` needs 0 < low < value < high."""
    if t.has("factor") and t.has("interval"):
        raise ConfigError(
            t.key("interval"), t.data["interval"], "give factor or interval, not both"
        )
    if t.has("factor"):
        factor = t.number("factor", low=1.0, high=1e6, open_low=True)
        return value / factor, value * factor
    bounds = t.raw("interval")
    rule = f"must be [low, high] with 0 < low < value = {value:g} < high"
    if (
        not isinstance(bounds, list) or len(bounds) != 2
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        or not 0.0 < bounds[0] < value < bounds[1] or not math.isfinite(bounds[1])
    ):
        raise ConfigError(t.key("interval"), bounds, rule)
    return float(bounds[0]), float(bounds[1])


def _observation(
    t: Table, names: list[str]
) -> Observation | CountObservation | RateObservation:
    deme = t.string("deme")
    _known(deme, names, t.key("deme"))
    form = _observation_form(t)
    if form == "value":
        obs: Observation | CountObservation | RateObservation = Observation(
            statistic=t.choice("statistic", OBSERVABLE_STATISTICS),
            value=t.number("value", low=0.0, high=1.0),
            deme=deme,
            source=t.string("source", ""),
            name=t.string("name", "", pattern=True) if t.has("name") else "",
        )
    elif form == "rate":
        value = t.number("value", low=0.0, high=1.0, open_low=True)
        low, high = _rate_range(t, value)
        obs = RateObservation(
            name=t.string("name", pattern=True),
            statistic=t.choice("statistic", OBSERVABLE_STATISTICS),
            deme=deme,
            value=value,
            low=low,
            high=high,
            source=t.string("source", ""),
        )
    else:
        keys = COUNT_FORMS[form]
        total = t.integer(keys[-1], low=1)
        counts = tuple(t.integer(k, low=0, high=total) for k in keys[:-1])
        if form == "genotypes" and sum(counts) > total:
            raise ConfigError(
                t.key("homozygotes"), counts[1],
                f"heterozygotes + homozygotes must be at most sampled = {total}",
            )
        if form == "families" and sum(counts) != total:
            raise ConfigError(
                t.key("families"), total,
                f"must equal founder_homozygous + compound_heterozygous + other_homozygous "
                f"= {sum(counts)}",
            )
        allele = t.choice("allele", ALLELES) if form in ("screen", "genotypes") else ""
        obs = CountObservation(
            name=t.string("name", pattern=True),
            form=form,
            deme=deme,
            counts=(*counts, total),
            allele=allele,
            source=t.string("source", ""),
        )
    t.finish()
    return obs
