"""Config files (TOML) → validated, frozen :class:`~popsim.scenario.Scenario` objects.

Every rule lives here, and every violation raises one
:class:`~popsim.errors.ConfigError` whose message names the file, the dotted
key, the value and what is allowed, e.g.::

    configs/x.toml: demes[0].inbreeding = 1.3: must be in [0, 1)

Unknown keys are refused with a did-you-mean. Configs are data: nothing in
them is evaluated or imported. See ``docs/config.md`` for every key.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from popsim.errors import MISSING, ConfigError
from popsim.scenario import (
    Deme,
    FounderAllele,
    FounderEvent,
    Locus,
    Migration,
    Observation,
    Scenario,
    Selection,
    SizeEpoch,
)

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
NAME_RULE = "must be 1–64 characters: a letter, then letters, digits, '_', '.' or '-'"
OBSERVABLE_STATISTICS = (
    "carrier_frequency",
    "prevalence",
    "founder_frequency",
    "share_founder_homozygotes",
)
ENGINES = ("frequency", "pedigree")
GROWTH = ("constant", "exponential", "linear")
MAX_GENERATIONS = 1_000_000
MAX_REPLICATES = 10_000_000


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
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: Any = MISSING) -> Any:
        self.read.add(name)
        if name in self.data:
            return self.data[name]
        if default is MISSING:
            raise ConfigError(self.key(name), MISSING, "required key is missing")
        return default

    def has(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str, default: Any = MISSING, pattern: bool = False) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise ConfigError(self.key(name), value, "must be a string")
        if pattern and not NAME_PATTERN.match(value):
            raise ConfigError(self.key(name), value, NAME_RULE)
        return value

    def choice(self, name: str, allowed: tuple[str, ...], default: Any = MISSING) -> str:
        value = self.raw(name, default)
        if value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise ConfigError(self.key(name), value, f"must be one of {options}")
        return value

    def integer(
        self, name: str, default: Any = MISSING, low: int | None = None, high: int | None = None
    ) -> int:
        value = self.raw(name, default)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.key(name), value, f"must be a whole number{_range(low, high)}")
        check_range(self.key(name), value, low, high, closed_high=True)
        return value

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


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read a TOML config, apply ``--set`` style overrides, and validate it.

    Raises ConfigError (naming ``path``) for any invalid input, including a
    file that is missing or is not valid TOML.
    """
    path = Path(path)
    raw = read_toml(path)
    try:
        for key, value in (overrides or {}).items():
            set_dotted(raw, key, value)
        return scenario_from_dict(raw, base_dir=path.parent)
    except ConfigError as error:
        raise error.with_source(str(path)) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config", str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("config", str(path), f"cannot be read ({error})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("config", MISSING, f"not valid TOML: {error}", str(path)) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.key=value``; the value is read as TOML (number, string, array…)."""
    if "=" not in text:
        raise ConfigError("--set", text, "must look like dotted.key=value")
    key, value_text = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ConfigError("--set", text, "must look like dotted.key=value")
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text
    return key, value


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``dotted`` in a raw config dict, in place.

    Segments address tables by key; in an array of tables a segment selects the
    entry by its ``name`` (``demes.persian_jews.inbreeding``) or by index
    (``demes.0.inbreeding``). Only existing arrays can be indexed.
    """
    parts = dotted.split(".")
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
            raise ConfigError(".".join(walked) or dotted, node, "is not a table; cannot set keys in it")
        walked.append(part)
        if last:
            node[part] = value
        else:
            if part not in node:
                node[part] = {}
            node = node[part]


def get_dotted(raw: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """The value at ``dotted`` in a raw config dict (addressed as in :func:`set_dotted`),
    or ``default`` where nothing is there."""
    node: Any = raw
    for part in dotted.split("."):
        if isinstance(node, list):
            try:
                node, _ = _select(node, part, "")
            except ConfigError:
                return default
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return default
    return node


def _select(items: list[Any], part: str, where: str) -> tuple[Any, str]:
    if part.isdigit() and int(part) < len(items):
        return items[int(part)], part
    names = [item.get("name") for item in items if isinstance(item, dict)]
    for item in items:
        if isinstance(item, dict) and item.get("name") == part:
            return item, part
    options = ", ".join(repr(n) for n in names if n is not None)
    raise ConfigError(
        f"{where}.{part}", MISSING, f"no entry with that name or index; entries: {options}"
    )


def merged(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``raw`` with dotted overrides applied."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        set_dotted(out, key, value)
    return out


# --------------------------------------------------------------------------- validation


def scenario_from_dict(raw: Mapping[str, Any], base_dir: Path | None = None) -> Scenario:
    """Validate a parsed config (a dict shaped like the TOML) into a Scenario."""
    root = Table(raw, "")
    head = root.table("scenario", required=True)
    assert head is not None
    generations = head.integer("generations", low=0, high=MAX_GENERATIONS)
    settings = {
        "name": head.string("name"),
        "generations": generations,
        "generation_time_years": head.number("generation_time_years", 25.0, 0, 200, open_low=True),
        "replicates": head.integer("replicates", 1000, 1, MAX_REPLICATES),
        "seed": head.integer("seed", 1, 0, 2**63 - 1),
        "burn_in": head.integer("burn_in", 0, 0, MAX_GENERATIONS),
        "record_every": head.integer("record_every", 1, 1, MAX_GENERATIONS),
        "engine": head.choice("engine", ENGINES, "frequency"),
        "ancestry_generations": head.integer("ancestry_generations", 4, 2, 16),
        "description": head.string("description", ""),
    }
    head.finish()

    demography_file = root.raw("demography", None)
    if demography_file is not None:
        from popsim.demes_import import demes_to_config

        if not isinstance(demography_file, str):
            raise ConfigError("demography", demography_file, "must be a path to a Demes YAML file")
        demes_raw, migrations_raw = demes_to_config(
            Path(base_dir or ".") / demography_file, generations, root.tables("demes")
        )
    else:
        demes_raw = root.tables("demes")
        migrations_raw = root.tables("migration")
    root.read.update({"demes", "migration"})
    if not demes_raw:
        raise ConfigError("demes", MISSING, "at least one [[demes]] table is required")
    demes = tuple(_deme(t) for t in demes_raw)
    names = [d.name for d in demes]
    _unique(names, "demes", "name")
    for i, deme in enumerate(demes):
        if deme.founded is not None:
            _known(deme.founded.source, names, f"demes[{i}].founded.from")
            if deme.founded.source == deme.name:
                raise ConfigError(f"demes[{i}].founded.from", deme.name, "a deme cannot found itself")
            if deme.founded.generation > generations:
                raise ConfigError(
                    f"demes[{i}].founded.generation", deme.founded.generation,
                    f"must be at most scenario.generations = {generations}",
                )
    migrations = tuple(_migration(t, names) for t in migrations_raw)

    locus_table = root.table("locus", required=True)
    assert locus_table is not None
    locus = _locus(locus_table, names)
    observations = tuple(_observation(t, names) for t in root.tables("observed"))
    root.finish()
    return Scenario(
        demes=demes, migrations=migrations, locus=locus, observations=observations, **settings
    )


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
        raise ConfigError(key, name, f"is not a deme; demes are {', '.join(names)}{hint}")


def _deme(t: Table) -> Deme:
    name = t.string("name", pattern=True)
    epochs = _size(t.raw("size"), t.key("size"))
    founded = None
    f = t.table("founded")
    if f is not None:
        founded = FounderEvent(
            generation=f.integer("generation", low=0, high=MAX_GENERATIONS),
            source=f.string("from"),
            founders=f.integer("founders", low=1, high=10**9),
        )
        f.finish()
    marriage = {
        key: t.number(key, 0.0, 0.0, 1.0)
        for key in ("first_cousin_marriage", "second_cousin_marriage", "uncle_niece_marriage")
    }
    if sum(marriage.values()) > 1.0:
        raise ConfigError(
            t.key("first_cousin_marriage"), sum(marriage.values()),
            "the cousin and uncle–niece marriage fractions must sum to at most 1",
        )
    deme = Deme(
        name=name,
        epochs=epochs,
        inbreeding=t.number("inbreeding", 0.0, 0.0, 1.0, open_high=True),
        founded=founded,
        description=t.string("description", ""),
        **marriage,
    )
    t.finish()
    return deme


def _size(value: Any, key: str) -> tuple[SizeEpoch, ...]:
    """``size = 1000``, ``size = {start, end, growth}`` or an array of epochs."""
    if isinstance(value, list):
        if not value:
            raise ConfigError(key, value, "an array of size epochs must not be empty")
        epochs = []
        for i, item in enumerate(value):
            t = Table(item, f"{key}[{i}]")
            generation = t.integer("generation", 0 if i == 0 else MISSING, 0, MAX_GENERATIONS)
            epochs.append(_epoch(t, generation))
        starts = [e.start_generation for e in epochs]
        if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ConfigError(
                key, starts, "epoch generations must start at 0 and increase strictly"
            )
        return tuple(epochs)
    if isinstance(value, Mapping):
        return (_epoch(Table(value, key), 0),)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            key, value, "must be a whole number of diploid individuals, a table "
            "{start, end, growth} or an array of such tables with a 'generation'",
        )
    check_range(key, value, 1, 10**9)
    return (SizeEpoch(0, value, value, "constant"),)


def _epoch(t: Table, generation: int) -> SizeEpoch:
    if t.has("size"):
        start = end = t.integer("size", low=1, high=10**9)
        growth = "constant"
    else:
        start = t.integer("start", low=1, high=10**9)
        growth = t.choice("growth", GROWTH, "exponential" if t.has("end") else "constant")
        end = t.integer("end", start, low=1, high=10**9)
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
            raise ConfigError(a.key("copies"), MISSING, "give exactly one of copies or frequency")
        copies = a.integer("copies", None, 1, 2 * 10**9) if has_copies else None
        frequency = (
            a.number("frequency", None, 0.0, 1.0, open_low=True) if has_freq else None
        )
        alleles.append(FounderAllele(name, deme, generation, copies, frequency))
        a.finish()
    keys = [(a.name, a.deme, a.generation) for a in alleles]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise ConfigError(
                f"locus.founder_alleles[{i}]", key[0],
                "the same allele is introduced twice into the same deme at the same generation",
            )
    locus = Locus(
        name=t.string("name", "GNE"),
        pathogenic_mutation_rate=t.number("pathogenic_mutation_rate", 0.0, 0.0, 0.1),
        selection=selection,
        founder_alleles=tuple(alleles),
        max_alleles=t.integer("max_alleles", 256, 1, 1_000_000),
    )
    t.finish()
    return locus


def _observation(t: Table, names: list[str]) -> Observation:
    deme = t.string("deme")
    _known(deme, names, t.key("deme"))
    obs = Observation(
        statistic=t.choice("statistic", OBSERVABLE_STATISTICS),
        value=t.number("value", low=0.0, high=1.0),
        deme=deme,
        source=t.string("source", ""),
    )
    t.finish()
    return obs

