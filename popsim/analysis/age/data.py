"""Carriers' data files for ``popsim age``: shared lengths, marker haplotypes, maps.

Every mistake is one line naming the file, the line and the column
(:class:`~popsim.errors.ConfigError`, exit status 2), found before any work.
Lines starting with ``#`` and blank lines are skipped; fields are
comma-separated.

* **Shared lengths** (CSV with a header): an optional ``carrier`` column and
  either ``left_cm,right_cm`` (cM from the locus to the end of the shared
  segment on each side) or ``left_mb,right_mb`` (Mb; converted through a
  genetic map). One row per carrier, at least two.
* **Marker haplotypes** (CSV without a header): line ``locus_mb,<Mb>``; line
  ``position_mb,<Mb>,<Mb>,…`` (strictly increasing, none at the locus); then one
  line per carrier chromosome, ``<id>,<allele>,<allele>,…`` with one allele
  (any token, e.g. A/G or 0/1) per marker, at most two distinct alleles per marker.
* **Genetic map** (CSV with the header ``position_mb,cm``): strictly increasing in both.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.analysis.age.genealogy import GeneticMap
from popsim.errors import ConfigError

LENGTH_COLUMNS = (("left_cm", "right_cm"), ("left_mb", "right_mb"))


@dataclass(frozen=True)
class CarrierLengths:
    """Shared lengths (cM) on each side of the locus, one per carrier."""

    carriers: tuple[str, ...]
    left_cm: np.ndarray
    right_cm: np.ndarray


@dataclass(frozen=True)
class HaplotypeData:
    """Phased marker haplotypes: ``alleles`` int8 [carriers, markers] (0 = the first
    allele seen at a marker, 1 = the other) at ``positions_mb``."""

    carriers: tuple[str, ...]
    locus_mb: float
    positions_mb: np.ndarray
    alleles: np.ndarray
    #: The file's line that holds the positions (for errors about them).
    position_line: int = 2


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of the data lines of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise ConfigError("DATA", str(path), f"cannot be read: {reason}") from None
    for number, fields in enumerate(csv.reader(text.splitlines()), start=1):
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        yield number, [f.strip() for f in fields]


def _error(path: Path, line: int, column: int, name: str, value: object, allowed: str):
    if isinstance(value, np.generic):
        value = value.item()
    return ConfigError(f"line {line}, column {column} ({name})", value, allowed, str(path))


def _number(path: Path, line: int, column: int, name: str, text: str,
            minimum: float | None = 0.0) -> float:
    if text == "":
        raise _error(path, line, column, name, text, "is missing: a number is needed")
    try:
        value = float(text)
    except ValueError:
        raise _error(path, line, column, name, text, "must be a number") from None
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        raise _error(path, line, column, name, text,
                     "must be a finite number" + ("" if minimum is None else f" ≥ {minimum:g}"))
    return value


def read_lengths(path: str | Path, genetic_map: GeneticMap | None = None) -> CarrierLengths:
    """Read a shared-length CSV (module docstring); Mb columns need ``genetic_map``."""
    path = Path(path)
    rows = list(_rows(path))
    if not rows:
        raise _error(path, 1, 1, "header", "", "the file is empty: a header and one row per "
                     "carrier are needed")
    header_line, header = rows[0]
    names = [h.lower() for h in header]
    for pair in LENGTH_COLUMNS:
        if all(p in names for p in pair):
            left_name, right_name = pair
            break
    else:
        raise _error(path, header_line, 1, "header", ",".join(header),
                     "needs the columns left_cm,right_cm or left_mb,right_mb")
    in_mb = left_name.endswith("_mb")
    if in_mb and genetic_map is None:
        raise _error(path, header_line, names.index(left_name) + 1, left_name, left_name,
                     "lengths in Mb need a genetic map: give --cm-per-mb or --map")
    columns = names.index(left_name), names.index(right_name)
    id_column = names.index("carrier") if "carrier" in names else None
    carriers, left, right = [], [], []
    for line, fields in rows[1:]:
        if len(fields) != len(header):
            raise _error(path, line, min(len(fields), len(header)) + 1, "row", len(fields),
                         f"must have {len(header)} fields like the header")
        values = [_number(path, line, c + 1, names[c], fields[c]) for c in columns]
        carriers.append(fields[id_column] if id_column is not None else str(len(carriers) + 1))
        left.append(values[0])
        right.append(values[1])
    if len(carriers) < 2:
        raise _error(path, rows[-1][0], 1, "carriers", len(carriers),
                     "at least two carriers are needed")
    left_arr, right_arr = np.array(left), np.array(right)
    if in_mb:
        left_arr, right_arr = _lengths_in_cm(path, rows[1:], columns, genetic_map, left_arr,
                                             right_arr)
    return CarrierLengths(tuple(carriers), left_arr, right_arr)


def _lengths_in_cm(path, rows, columns, genetic_map: GeneticMap, left, right):
    left_cm = -genetic_map.cm_at(genetic_map.locus_mb - left)
    right_cm = genetic_map.cm_at(genetic_map.locus_mb + right)
    for values, column in ((left_cm, columns[0]), (right_cm, columns[1])):
        off = np.nonzero(np.isnan(values))[0]
        if off.size:
            line, fields = rows[off[0]]
            raise _error(path, line, column + 1, "length", fields[column],
                         "reaches beyond the genetic map")
    return left_cm, right_cm


def read_haplotypes(path: str | Path) -> HaplotypeData:
    """Read a marker-haplotype file (module docstring)."""
    path = Path(path)
    rows = list(_rows(path))
    expected = ("locus_mb", "position_mb")
    for k, name in enumerate(expected):
        if len(rows) <= k or rows[k][1][0].lower() != name:
            line = rows[k][0] if len(rows) > k else k + 1
            raise _error(path, line, 1, "label", rows[k][1][0] if len(rows) > k else "",
                         f"line must start with {name}")
    locus_line, locus_fields = rows[0]
    if len(locus_fields) != 2:
        raise _error(path, locus_line, 2, "locus_mb", ",".join(locus_fields[1:]),
                     "one position (Mb) is needed")
    locus = _number(path, locus_line, 2, "locus_mb", locus_fields[1], minimum=None)
    position_line, position_fields = rows[1]
    positions = np.array([
        _number(path, position_line, c + 1, "position_mb", text, minimum=None)
        for c, text in enumerate(position_fields) if c > 0
    ])
    if positions.size == 0:
        raise _error(path, position_line, 2, "position_mb", "", "at least one marker is needed")
    for m in range(positions.size):
        if positions[m] == locus:
            raise _error(path, position_line, m + 2, "position_mb", positions[m],
                         "a marker cannot sit at the locus")
        if m and positions[m] <= positions[m - 1]:
            raise _error(path, position_line, m + 2, "position_mb", positions[m],
                         f"positions must increase (the one before is {positions[m - 1]:g})")
    carriers: list[str] = []
    alleles = np.zeros((len(rows) - 2, positions.size), dtype=np.int8)
    symbols: list[list[str]] = [[] for _ in range(positions.size)]
    for k, (line, fields) in enumerate(rows[2:]):
        if len(fields) != positions.size + 1:
            raise _error(path, line, min(len(fields), positions.size + 1) + 1, "haplotype",
                         len(fields) - 1, f"must have {positions.size} alleles, one per marker")
        carriers.append(fields[0])
        for m, token in enumerate(fields[1:]):
            if token == "":
                raise _error(path, line, m + 2, "allele", token, "is missing")
            if token not in symbols[m]:
                if len(symbols[m]) == 2:
                    raise _error(path, line, m + 2, "allele", token,
                                 f"a third allele at this marker ({', '.join(symbols[m])} "
                                 "seen): markers must be biallelic")
                symbols[m].append(token)
            alleles[k, m] = symbols[m].index(token)
    if len(carriers) < 2:
        raise _error(path, rows[-1][0], 1, "carriers", len(carriers),
                     "at least two carrier haplotypes are needed")
    return HaplotypeData(tuple(carriers), locus, positions, alleles, position_line)


def read_map(path: str | Path, locus_mb: float) -> GeneticMap:
    """Read a genetic map CSV (header ``position_mb,cm``) around ``locus_mb``."""
    path = Path(path)
    rows = list(_rows(path))
    if not rows or [h.lower() for h in rows[0][1]] != ["position_mb", "cm"]:
        raise _error(path, rows[0][0] if rows else 1, 1, "header",
                     ",".join(rows[0][1]) if rows else "", "must be position_mb,cm")
    points = []
    for line, fields in rows[1:]:
        if len(fields) != 2:
            raise _error(path, line, min(len(fields), 2) + 1, "row", len(fields),
                         "must have 2 fields: position_mb,cm")
        point = [_number(path, line, c + 1, name, fields[c], minimum=None)
                 for c, name in enumerate(("position_mb", "cm"))]
        if points and not (point[0] > points[-1][0] and point[1] > points[-1][1]):
            column = 1 if point[0] <= points[-1][0] else 2
            raise _error(path, line, column, ("position_mb", "cm")[column - 1],
                         fields[column - 1], "must increase from the line before")
        points.append(point)
    if len(points) < 2:
        raise ConfigError("map", str(path), "needs at least two points")
    positions, cm = np.array(points).T
    if not positions[0] <= locus_mb <= positions[-1]:
        raise ConfigError("locus_mb", locus_mb,
                          f"must lie in the map [{positions[0]:g}, {positions[-1]:g}] Mb",
                          str(path))
    return GeneticMap.from_points(positions, cm, locus_mb)


def marker_positions_cm(data: HaplotypeData, genetic_map: GeneticMap,
                        path: str | Path) -> np.ndarray:
    """The markers' genetic positions (cM from the locus); a ConfigError naming the
    haplotype file's position line and column where a marker is off the map."""
    positions = genetic_map.cm_at(data.positions_mb)
    off = np.nonzero(np.isnan(positions))[0]
    if off.size:
        raise ConfigError(f"line {data.position_line}, column {off[0] + 2} (position_mb)",
                          float(data.positions_mb[off[0]]),
                          "lies outside the genetic map", str(path))
    return positions
