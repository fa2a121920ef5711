"""Demes YAML → popsim demes and migrations (the config key ``demography = "model.yaml"``).

`Demes <https://popsim-consortium.github.io/demes-spec-docs/>`_ counts time
backwards ("time ago", in ``time_units``); popsim counts generations forwards
from generation 0 to generation T (``scenario.generations``). The mapping:

* Times are converted to generations (divided by ``generation_time`` unless
  ``time_units`` is already generations) and rounded to whole generations;
  time t ago is generation g = T − t.
* A Demes epoch spans the times e ≤ t < s (``end_time`` e, ``start_time`` s);
  its individuals are those of generations T − s + 1 … T − e. Each generation's
  size follows the epoch's ``size_function`` (constant, exponential, linear)
  evaluated at that whole generation and rounded to whole diploids; it must be
  in [1, 10⁹].
* A deme that exists at time T (``start_time`` > T) is present from
  generation 0 with its size at time T; how it arose before generation 0 does
  not matter, because every deme starts with normal alleles only.
* A deme with ``start_time`` s ≤ T is *founded*: at generation T − s + 1
  (whose parents, generation T − s, are the ancestor's) by ``start_size``
  diploids from its one ancestor.
* A migration (symmetric ones are already expanded into pairs by Demes) with
  rate m over e ≤ t < s makes m of the destination's parents come from the
  source in the reproductions that make generations T − s + 1 … T − e.
* A pulse at time t with proportion p is a one-generation migration with rate
  p in the reproduction that makes generation T − t. Several pulses into one
  deme in one generation are composed in file order (each earlier fraction is
  diluted by the later pulses); their sum with the continuous migration of
  that generation must stay at most 1.
* An event is never applied to the reproduction that founds a deme (its
  parents all come from the ancestor) or to one whose source deme does not
  exist yet in the parent generation: it moves to the next generation.
* Everything older than generation 0 (demes that ended, migrations and pulses
  that finished before time T) is left out.

Refused, with a :class:`~popsim.errors.ConfigError` naming the Demes file and
the feature: demes founded inside the simulated window by several ancestors
(admixture), demes that end before the present, nonzero ``selfing_rate`` or
``cloning_rate``, a pulse or migration that only acts on a founding generation
at the end of the window, and sizes that round outside [1, 10⁹].
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from popsim.errors import ConfigError
from popsim.model.limits import MAX_CONFIG_BYTES, MAX_SIZE, NAME_PATTERN, NAME_RULE

#: Slack for rounding when summing migration fractions.
RATE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class DemesModel:
    """A Demes graph translated into config-shaped tables.

    Attributes:
        demes: one dict per deme present in generations 0 … T, shaped like a
            TOML ``[[demes]]`` table (``name``, ``size`` as an array of epochs,
            optional ``founded`` and ``description``).
        migrations: dicts shaped like TOML ``[[migration]]`` tables.
        generation_time_years: the graph's ``generation_time`` when its
            ``time_units`` are years, else None.
    """

    demes: list[dict[str, Any]]
    migrations: list[dict[str, Any]]
    generation_time_years: float | None


class _Refusal:
    """Builds ConfigErrors that name the ``demography`` key and the Demes file."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, problem: str) -> ConfigError:
        return ConfigError("demography", self.label, problem)


def load_graph(path: Path, label: str):
    """Load and resolve a Demes file (times converted to generations).

    Any failure (missing file, YAML syntax, a Demes validation error) is a
    ConfigError naming ``label``, the path as the config wrote it.
    """
    import demes

    refuse = _Refusal(label)
    try:
        found = path.is_file()
    except (OSError, ValueError) as error:  # ENAMETOOLONG, an embedded NUL byte, ...
        reason = getattr(error, "strerror", None) or str(error)
        raise refuse(f"cannot be used as a file name ({reason})") from None
    if not found:
        raise refuse(f"Demes file not found (looked for {path})")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise refuse(f"Demes file larger than {MAX_CONFIG_BYTES} bytes (4 MiB)")
    try:
        with warnings.catch_warnings():
            # Demes warns that same-time pulses depend on their order: popsim composes
            # them in file order, as documented above.
            warnings.simplefilter("ignore", UserWarning)
            graph = demes.load(path)
        return graph, graph.in_generations()
    except RecursionError:
        raise refuse("not a valid Demes model: nested too deeply") from None
    except Exception as error:  # demes and its YAML parser raise many types
        text = " ".join(str(error).split())
        text = text if len(text) <= 200 else text[:197] + "..."
        raise refuse(f"not a valid Demes model ({type(error).__name__}: {text})") from None


def demes_to_config(path: Path, generations: int, label: str) -> DemesModel:
    """Translate the Demes file at ``path`` for a scenario of ``generations`` = T.

    ``label`` is how the config names the file (used in error messages).
    """
    refuse = _Refusal(label)
    original, graph = load_graph(path, label)
    T = generations
    demes: list[dict[str, Any]] = []
    floor: dict[str, int] = {}  # first generation an event may act on, per included deme
    units = original.time_units
    for index, deme in enumerate(graph.demes):
        where = f"deme '{deme.name}' (demes[{index}])"
        written = original.demes[index]  # times as the file writes them
        start, end = _whole(deme.start_time), _whole(deme.end_time)
        if end > T:
            continue  # ended before generation 0: irrelevant to the simulation
        if end > 0:
            raise refuse(
                f"{where} ends at end_time = {written.end_time:g} {units} ({end} generations "
                "before the present); popsim demes live until the end of the scenario"
            )
        if not NAME_PATTERN.match(deme.name):
            raise refuse(f"{where}: name {deme.name!r} {NAME_RULE}")
        if start <= end:
            raise refuse(f"{where} exists for less than one generation after rounding")
        entry: dict[str, Any] = {"name": deme.name, "size": _epochs(deme, T, where, refuse)}
        if deme.description:
            entry["description"] = deme.description
        if start <= T:
            if len(deme.ancestors) != 1:
                raise refuse(
                    f"{where} is founded at start_time = {written.start_time:g} {units} by "
                    f"{len(deme.ancestors)} ancestors {deme.ancestors}; popsim founds a deme "
                    "from exactly one ancestor (admixture-founded demes are not supported)"
                )
            founded = T - start + 1
            entry["founded"] = {
                "generation": founded,
                "from": deme.ancestors[0],
                "founders": _size_value(deme.epochs[0].start_size, where, refuse),
            }
            floor[deme.name] = founded + 1
        else:
            floor[deme.name] = 0
        demes.append(entry)
    if not demes:
        raise refuse(f"no deme exists in the {T} generations before the present")

    continuous = _migrations(graph, T, floor, refuse)
    pulses = _pulses(graph, T, floor, continuous, refuse)
    time_years = (
        float(original.generation_time) if original.time_units == "years" else None
    )
    return DemesModel(demes, continuous + pulses, time_years)


def _whole(time: float) -> float | int:
    """A time in generations rounded to a whole generation (inf stays inf)."""
    return time if math.isinf(time) else round(time)


def _size_value(value: float, where: str, refuse: _Refusal) -> int:
    size = round(value)
    if not 1 <= size <= MAX_SIZE:
        raise refuse(
            f"{where}: size {value:g} rounds to {size} diploids; popsim needs 1 to {MAX_SIZE:.0e}"
        )
    return size


def _epochs(deme, T: int, where: str, refuse: _Refusal) -> list[dict[str, Any]]:
    """Size epochs of ``deme`` that overlap generations 0 … T, popsim-shaped."""
    epochs: list[dict[str, Any]] = []
    for k, epoch in enumerate(deme.epochs):
        s, e = _whole(epoch.start_time), _whole(epoch.end_time)
        first, last = max(T - s + 1, 0), T - e
        if last < 0 or last < first:
            continue  # before generation 0, or shorter than a generation after rounding
        if epoch.selfing_rate != 0 or epoch.cloning_rate != 0:
            raise refuse(
                f"{where} epochs[{k}]: selfing_rate = {epoch.selfing_rate:g}, cloning_rate = "
                f"{epoch.cloning_rate:g}; popsim models outcrossing diploids only (both must be 0)"
            )
        at = f"{where} epochs[{k}]"
        start = _size_value(_size_at(epoch, s, e, T - first), at, refuse)
        end = _size_value(_size_at(epoch, s, e, e), at, refuse)
        growth = "constant" if start == end else epoch.size_function
        epochs.append(
            {"generation": int(first), "start": start, "end": end, "growth": growth}
        )
    epochs[0]["generation"] = 0  # popsim's rule; a founded deme's growth starts at founding
    return epochs


def _size_at(epoch, s: float, e: int, t: float) -> float:
    """The Demes size function at whole generation t ago, with rounded epoch times s, e."""
    if epoch.size_function == "constant" or math.isinf(s) or epoch.start_size == epoch.end_size:
        return float(epoch.start_size)
    x = (s - t) / (s - e)
    if epoch.size_function == "exponential":
        return epoch.start_size * (epoch.end_size / epoch.start_size) ** x
    return epoch.start_size + (epoch.end_size - epoch.start_size) * x


def _migrations(graph, T: int, floor: dict[str, int], refuse: _Refusal) -> list[dict[str, Any]]:
    out = []
    for k, m in enumerate(graph.migrations):
        s, e = _whole(m.start_time), _whole(m.end_time)
        if e > T or s <= e or m.rate == 0:
            continue  # before generation 0, shorter than a generation, or no migrants
        first = max(T - s + 1, 0, floor[m.source], floor[m.dest])
        if first > T:
            raise refuse(
                f"migrations[{k}] {m.source} -> {m.dest} acts only on the founding "
                f"generation {T} of a deme, which takes all its parents from its ancestor"
            )
        stop = max(T - e + 1, first + 1)
        entry = {"source": m.source, "dest": m.dest, "rate": float(m.rate),
                 "start_generation": int(first)}
        if stop <= T:
            entry["end_generation"] = int(stop)
        out.append(entry)
    return out


def _active_rate(migrations: list[dict[str, Any]], dest: str, generation: int) -> float:
    """Sum of continuous migration rates into ``dest`` in the step making ``generation``."""
    return sum(
        m["rate"]
        for m in migrations
        if m["dest"] == dest
        and m["start_generation"] <= generation < m.get("end_generation", math.inf)
    )


def _pulses(
    graph, T: int, floor: dict[str, int], continuous: list[dict[str, Any]], refuse: _Refusal
) -> list[dict[str, Any]]:
    """Pulses as one-generation migrations, composed per (dest, generation) in file order."""
    fractions: dict[tuple[str, int], dict[str, float]] = {}
    for k, pulse in enumerate(graph.pulses):
        t = _whole(pulse.time)
        if t >= T:
            continue  # makes generation 0 or earlier: before the simulated window
        generation = max(T - t, floor[pulse.dest], *(floor[src] for src in pulse.sources))
        if generation > T:
            raise refuse(
                f"pulses[{k}] into {pulse.dest} ({t} generations ago) acts only on the "
                f"founding generation {T} of a deme, which takes all its parents from its ancestor"
            )
        shares = fractions.setdefault((pulse.dest, generation), {})
        total = sum(pulse.proportions)
        for source in shares:
            shares[source] *= 1.0 - total
        for source, proportion in zip(pulse.sources, pulse.proportions, strict=True):
            shares[source] = shares.get(source, 0.0) + float(proportion)
        combined = sum(shares.values()) + _active_rate(continuous, pulse.dest, generation)
        if combined > 1 + RATE_TOLERANCE:
            raise refuse(
                f"pulses[{k}] into {pulse.dest}: its proportions plus the migration of "
                f"generation {generation} sum to {combined:.6g}; popsim adds them and the "
                "fraction of migrant parents must be at most 1"
            )
    return [
        {"source": source, "dest": dest, "rate": rate,
         "start_generation": generation, "end_generation": generation + 1}
        for (dest, generation), shares in fractions.items()
        for source, rate in shares.items()
        if rate > 0
    ]
