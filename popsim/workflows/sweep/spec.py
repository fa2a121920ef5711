"""Sweep files (TOML) → a validated :class:`Sweep` and its validated points.

A sweep file names a base scenario and the config keys to vary::

    [sweep]
    base = "iranian_jewish_m712t.toml"   # relative to the sweep file
    design = "grid"                      # grid | latin_hypercube | sobol
    replicates = 500                     # per point (default: the base's)

    [[parameters]]
    key = "demes.persian_jews.inbreeding"
    values = [0.0, 0.01, 0.03]

    [[parameters]]
    key = ["demes.persian_jews.founded.founders", "demes.persian_jews.size.0.size",
           "demes.persian_jews.size.1.start"]
    name = "founders"                    # the results column (default: the first key)
    low = 50
    high = 1000
    steps = 6
    scale = "log"                        # rounded to whole numbers: the base's are

Every point is the base config with the point's values set at their dotted
keys, validated by :func:`popsim.model.build.build_model` (the one path every
config takes) before any point runs; a bad point is a ConfigError naming
the sweep file, the point and its values. See ``docs/sweeps.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from popsim.analysis.results import scenario_to_dict
from popsim.errors import MISSING, ConfigError, PopsimError
from popsim.model.build import build_model, load_scenario
from popsim.model.config import (
    REPLICATES_KEY,
    SEED_KEY,
    Table,
    get_dotted,
    read_config_bytes,
    read_toml,
    referenced_file,
)
from popsim.model.limits import KEY_PATTERN, MAX_REPLICATES
from popsim.model.scenario import Scenario
from popsim.workflows.sweep.designs import DESIGNS, SCALES, Design, Parameter

MAX_POINTS = 1_000_000
#: Results columns that are not parameters.
RESERVED_COLUMNS = ("point", "replicates", "seed")


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep file.

    Attributes:
        path: the sweep file; ``sha256`` is the hash of its bytes, ``text`` its content.
        base_path, base_raw, base: the base scenario file, its parsed TOML and
            its validated scenario.
        replicates: replicates per point; ``seed``: the root seed.
        deme: the deme whose statistics the results table reports.
    """

    path: Path
    text: str
    sha256: str
    name: str
    description: str
    base_path: Path
    base_raw: dict[str, Any]
    base: Scenario
    design: Design
    replicates: int
    seed: int
    deme: str

    def fixed(self) -> dict[str, Any]:
        """Keys every point sets before its own values: root seed, replicates."""
        out: dict[str, Any] = {SEED_KEY: self.seed}
        if not any(REPLICATES_KEY in p.targets for p in self.design.parameters):
            out[REPLICATES_KEY] = self.replicates
        return out

    def changes(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """The dotted keys a point with parameter ``values`` sets in the base config."""
        out = self.fixed()
        for parameter, value in zip(self.design.parameters, values, strict=True):
            out.update(dict.fromkeys(parameter.targets, value))
        return out


@dataclass(frozen=True)
class Point:
    """Sweep point ``index``: its parameter values and its validated scenario."""

    index: int
    values: tuple[Any, ...]
    scenario: Scenario
    label: str


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and its base scenario (ConfigError on bad input)."""
    path = Path(path)
    if not path.exists():
        raise PopsimError(f"{path}: sweep file not found")
    raw = read_toml(path)
    data = read_config_bytes(path)
    try:
        return sweep_from_dict(raw, path, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    except ConfigError as error:
        raise (error if error.source else error.with_source(str(path))) from None


def sweep_from_dict(raw: dict[str, Any], path: Path, text: str = "", sha256: str = "") -> Sweep:
    """Validate a parsed sweep file; ``path`` locates the base scenario."""
    root = Table(raw, "")
    head = root.table("sweep", required=True)
    assert head is not None
    base_name = head.string("base")
    base_path = referenced_file(head.key("base"), base_name, path.parent)
    base = load_scenario(base_path)
    base_raw = read_toml(base_path)
    design_name = head.choice("design", DESIGNS, "grid")
    points = _points(head, design_name)
    replicates = head.integer("replicates", base.replicates, 1, MAX_REPLICATES)
    given_replicates = head.has("replicates")
    seed = head.integer("seed", base.seed, 0, 2**63 - 1)
    deme = _deme(head, base)
    name = head.string("name", path.stem)
    description = head.string("description", "")
    head.finish()

    tables = root.tables("parameters")
    if not tables:
        raise ConfigError("parameters", MISSING, "at least one [[parameters]] table is required")
    parameters = tuple(_parameter(t, design_name, base_raw) for t in tables)
    _check_keys(parameters, given_replicates)
    root.finish()
    design = Design(design_name, parameters, points)
    if design.size() > MAX_POINTS:
        raise ConfigError(
            "sweep.design", design_name,
            f"gives {design.size():,} points; at most {MAX_POINTS:,} are allowed",
        )
    return Sweep(
        path=path, text=text, sha256=sha256, name=name, description=description,
        base_path=base_path, base_raw=base_raw, base=base, design=design,
        replicates=replicates, seed=seed, deme=deme,
    )


def _points(head: Table, design: str) -> int | None:
    if design == "grid":
        if head.has("points"):
            raise ConfigError(
                head.key("points"), head.raw("points"),
                "only for design 'latin_hypercube' or 'sobol'; a grid has one point per "
                "combination of values",
            )
        return None
    points = head.integer("points", low=2, high=MAX_POINTS)
    if design == "sobol" and points & (points - 1):
        lower = 2 ** int(math.log2(points))
        raise ConfigError(
            head.key("points"), points,
            f"must be a power of 2 for design 'sobol' (its balance needs it), e.g. {lower} "
            f"or {2 * lower}",
        )
    return points


def _deme(head: Table, base: Scenario) -> str:
    names = [d.name for d in base.demes]
    if head.has("deme"):
        deme = head.string("deme")
        if deme not in names:
            raise ConfigError(
                head.key("deme"), deme, f"is not a deme of the base scenario; demes are "
                f"{', '.join(names)}",
            )
        return deme
    if base.observations:
        return base.observations[0].deme
    if base.locus.founder_alleles:
        return base.locus.founder_alleles[0].deme
    if len(names) == 1:
        return names[0]
    raise ConfigError(
        head.key("deme"), MISSING,
        f"required when the base scenario has several demes and no [[observed]] or founder "
        f"allele: the deme whose statistics the results report; one of {', '.join(names)}",
    )


def _parameter(t: Table, design: str, base_raw: dict[str, Any]) -> Parameter:
    targets = _targets(t)
    key = t.string("name", targets[0])
    if key in RESERVED_COLUMNS or key.startswith("p_"):
        raise ConfigError(
            t.key("name"), key, f"is a results column name; not {', '.join(RESERVED_COLUMNS)} "
            "or p_…",
        )
    has_values, has_range = t.has("values"), t.has("low") or t.has("high")
    if has_values == has_range:
        raise ConfigError(t.key("values"), MISSING, "give either values = [...] or low and high")
    if has_values:
        for other in ("steps", "scale", "integer"):
            if t.has(other):
                raise ConfigError(
                    t.key(other), t.raw(other), "only with a range (low and high), not with values"
                )
        parameter = Parameter(key, targets, values=_values(t))
    else:
        parameter = _range(t, key, targets, design, base_raw)
    t.finish()
    return parameter


def _targets(t: Table) -> tuple[str, ...]:
    """``key = "a.b"`` or ``key = ["a.b", "c.d"]`` (several keys set to the same value)."""
    raw = t.raw("key")
    keys = raw if isinstance(raw, list) and raw else [raw]
    for key in keys:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise ConfigError(
                t.key("key"), key, "must be a dotted config key (or an array of them), e.g. "
                "demes.persian_jews.inbreeding",
            )
        if key == SEED_KEY:
            raise ConfigError(
                t.key("key"), key,
                "cannot be varied: sweep.seed is the root seed and every point's seed derives "
                "from it and the point index",
            )
    return tuple(keys)


def _values(t: Table) -> tuple[Any, ...]:
    values = t.raw("values")
    if not isinstance(values, list) or not values:
        raise ConfigError(t.key("values"), values, "must be a non-empty array of values")
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ConfigError(t.key("values"), value, "is listed twice; values must be distinct")
        seen.append(value)
    return tuple(values)


def _range(
    t: Table, key: str, targets: tuple[str, ...], design: str, base_raw: dict[str, Any]
) -> Parameter:
    low = t.number("low")
    high = t.number("high")
    if high <= low:
        raise ConfigError(t.key("high"), high, f"must be greater than low = {low:g}")
    scale = t.choice("scale", SCALES, "linear")
    if scale == "log" and low <= 0:
        raise ConfigError(t.key("low"), low, "must be > 0 for scale = 'log'")
    current = get_dotted(base_raw, targets[0])
    integer = t.raw("integer", isinstance(current, int) and not isinstance(current, bool))
    if not isinstance(integer, bool):
        raise ConfigError(t.key("integer"), integer, "must be true or false")
    steps = None
    if design == "grid":
        steps = t.integer("steps", low=2, high=MAX_POINTS)
    elif t.has("steps"):
        raise ConfigError(
            t.key("steps"), t.raw("steps"),
            f"only for design 'grid'; design '{design}' draws sweep.points values",
        )
    return Parameter(
        key, targets, low=low, high=high, steps=steps, scale=scale, integer=integer
    )


def _check_keys(parameters: tuple[Parameter, ...], given_replicates: bool) -> None:
    """No key set twice (or inside another), no column name used twice."""
    seen: list[tuple[str, int]] = []
    for i, parameter in enumerate(parameters):
        if parameter.key in [p.key for p in parameters[:i]]:
            raise ConfigError(
                f"parameters[{i}].name", parameter.key, "is used twice; give each a distinct name"
            )
        for key in parameter.targets:
            if key == REPLICATES_KEY and given_replicates:
                raise ConfigError(
                    f"parameters[{i}].key", key,
                    "is set by sweep.replicates; vary it here or set it there, not both",
                )
            for other, j in seen:
                if key == other or key.startswith(other + ".") or other.startswith(key + "."):
                    raise ConfigError(
                        f"parameters[{i}].key", key, f"overlaps {other!r} (parameters[{j}])"
                    )
            seen.append((key, i))


# --------------------------------------------------------------------------- points


def resolve_points(sweep: Sweep) -> list[Point]:
    """Every point of the sweep with its validated scenario (all checked before
    any runs; see :func:`popsim.model.build.build_model`, whose plans are not kept).

    Raises ConfigError naming the sweep file, the point and its values for
    the first point whose config is invalid.
    """
    keys = sweep.design.keys
    base_dir = sweep.base_path.parent
    points = []
    for k, values in enumerate(sweep.design.resolve(sweep.seed)):
        label = ", ".join(f"{key} = {_show(v)}" for key, v in zip(keys, values, strict=True))
        model = build_model(
            sweep.base_raw, overrides=sweep.changes(values), base_dir=base_dir,
            source=f"{sweep.path}, point {k} ({label})",
        )
        points.append(Point(k, values, model.scenario, label))
    return points


def fingerprint(sweep: Sweep, points: list[Point]) -> str:
    """SHA-256 of everything that determines the results: every point's resolved
    scenario (with its replicates and seed) and the reported deme."""
    data = {"deme": sweep.deme, "scenarios": [scenario_to_dict(p.scenario) for p in points]}
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return repr(value)
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
