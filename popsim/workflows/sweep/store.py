"""A sweep's output directory: manifest, committed points, final tables.

Layout::

    DIR/manifest.json        provenance (popsim.provenance) with a "sweep" section: sweep
                             file and its hash, resolved design, seed
    DIR/points/batch-K.json  rows of one finished batch (K = its first point index)
    DIR/results.parquet      one row per point, assembled when every point is done
    DIR/results.csv          the same table as CSV

Commit protocol: only the coordinating process writes. A finished batch is
written to a temporary file, flushed and renamed into ``points/``
(:func:`popsim.outputs.files.write_bytes_atomic`), so after a crash or kill -9 each
batch file is complete or absent. Resuming reruns exactly the points that are
in no batch file; the tables are always assembled from the batch files, so an
interrupted and resumed sweep gives the same bytes as an uninterrupted one.
One small file per batch needs no database and no locking between writers,
and leaves a readable trail; an advisory lock on ``DIR/.lock`` keeps two
sweeps out of one directory.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from popsim.errors import PopsimError
from popsim.outputs.files import (
    check_output_path,
    read_json_record,
    spreadsheet_safe,
    write_bytes_atomic,
    write_text_atomic,
)
from popsim.outputs.files import (
    damaged as damaged_file,
)
from popsim.outputs.words import counted, is_are
from popsim.provenance import read_manifest as read_provenance
from popsim.provenance import reuse_refusal, write_manifest

MANIFEST = "manifest.json"
POINTS = "points"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
LOCK = ".lock"
#: Entries of the manifest's sweep section that must match for --resume (results could
#: differ otherwise), besides the common ones of :func:`popsim.provenance.reuse_refusal`.
RESUME_KEYS = {
    "sweep_sha256": "the sweep file {sweep} changed",
    "scenarios_sha256": "the base scenario {base} (or a file it reads) changed",
}


#: Entries of a stored sweep section that a resumed sweep reads: with the hashes
#: equal they must equal the new manifest's, or the manifest was damaged.
RESUMED_SECTION = ("design", "columns", "points", "root_seed", "replicates", "deme")


class SweepStore:
    """The output directory of one sweep, open and locked; ``manifest`` is its
    :mod:`popsim.provenance` manifest."""

    def __init__(self, directory: Path, manifest: dict[str, Any]):
        self.directory = directory
        self.manifest = manifest

    @property
    def section(self) -> dict[str, Any]:
        """The manifest's sweep section (design, points, seed…)."""
        return self.manifest["sweep"]

    @property
    def points_dir(self) -> Path:
        return self.directory / POINTS

    def completed(self) -> dict[int, dict[str, Any]]:
        """Rows of every committed point, by point index.

        Raises PopsimError if a point is committed twice or lies outside the design.
        """
        total = self.section["design"]["points"]
        rows: dict[int, dict[str, Any]] = {}
        for path in sorted(self.points_dir.glob("batch-*.json")):
            for row in _read_batch(path):
                k = row["point"]
                if k in rows or not 0 <= k < total:
                    problem = "committed twice" if k in rows else "not in the design"
                    raise damaged(path, f"point {k} is {problem}")
                rows[k] = row
        return rows

    def commit(self, rows: Sequence[dict[str, Any]]) -> None:
        """Record a finished batch atomically."""
        first = min(int(row["point"]) for row in rows)
        data = json.dumps({"rows": sorted(rows, key=lambda r: r["point"])}, allow_nan=True)
        write_bytes_atomic(self.points_dir / f"batch-{first:08d}.json", data.encode("utf-8"))

    def write_results(self, columns: Sequence[str], values: Sequence[Sequence[Any]],
                      seed: int) -> pd.DataFrame:
        """Assemble the results table from the committed points and write it (CSV, Parquet).

        ``columns`` are the varied keys and ``values`` every point's values, in point order.
        """
        rows = self.completed()
        missing = [k for k in range(len(values)) if k not in rows]
        if missing:
            raise PopsimError(
                f"{counted(len(missing), 'point')} {is_are(len(missing))} not done yet "
                f"(first: {missing[0]})"
            )
        records = []
        for k, point_values in enumerate(values):
            row = dict(rows[k])
            head = {"point": k, **dict(zip(columns, point_values, strict=True))}
            head["replicates"] = row.pop("replicates")
            head["seed"] = seed
            row.pop("point")
            records.append({**head, **row})
        table = pd.DataFrame.from_records(records)
        for column in columns:
            table[column] = table_column(table[column])
        text_cells = table.map(spreadsheet_safe)  # parameter values a spreadsheet would run
        write_text_atomic(self.directory / RESULTS_CSV, text_cells.to_csv(index=False))
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        write_bytes_atomic(self.directory / RESULTS_PARQUET, buffer.getvalue())
        return table


def damaged(path: Path, reason: str) -> PopsimError:
    """The error for a file of a sweep directory that popsim did not write as it is
    (edited, truncated by a failing disk): what is wrong and what to do."""
    return damaged_file(path, reason, _remedy(path))


def _remedy(path: Path) -> str:
    """What to do about a damaged file of a sweep directory."""
    if path.parent.name == POINTS:
        return (
            "delete that file and pass --resume to recompute its points, "
            "or start again with --overwrite"
        )
    return "start again with --overwrite, or run into a new --out"


def _read_batch(path: Path) -> list[dict[str, Any]]:
    """The rows of one committed batch file; :func:`damaged` if it is not one."""
    data = read_json_record(path, _remedy(path))
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise damaged(path, "no list of rows")
    for row in rows:
        point = row.get("point") if isinstance(row, dict) else None
        if not isinstance(point, int) or isinstance(point, bool) or "replicates" not in row:
            raise damaged(path, f"a row without a point index and replicates: {str(row)[:60]}")
    return rows


def table_column(column: pd.Series) -> pd.Series:
    """A parameter column as one type: numbers, booleans or strings kept; other or
    mixed values (arrays, tables) as JSON text."""
    values = list(column)
    kinds = {
        "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__
        for v in values
    }
    if len(kinds) == 1 and kinds & {"number", "bool", "str"}:
        return column
    return pd.Series([json.dumps(v, sort_keys=True) for v in values], index=column.index)


# --------------------------------------------------------------------------- opening


@contextmanager
def open_store(
    directory: str | Path,
    manifest: dict[str, Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    names: dict[str, str] | None = None,
) -> Iterator[SweepStore]:
    """Open ``directory`` for the sweep described by ``manifest``, locked while in use.

    A new (or empty) directory starts the sweep. An existing sweep directory
    is continued with ``resume`` (refused, exit 2, if the sweep file, the
    resolved scenarios, the engine code, the seed rule or the versions differ)
    or replaced with ``overwrite``;
    otherwise it is refused. ``names`` (``sweep``, ``base``) name files in messages.
    """
    check_output_path(directory)
    directory = Path(directory)
    names = {"sweep": "SWEEP", "base": "the base scenario", **(names or {})}
    if resume and overwrite:
        raise PopsimError("--resume and --overwrite: give at most one")
    existing = directory.is_dir() and any(p.name != LOCK for p in directory.iterdir())
    stored, earlier = None, False
    if existing:
        try:
            stored = _read_manifest(directory)
        except PopsimError:  # a sweep of an earlier popsim: only --overwrite replaces it
            if not overwrite:
                raise
            earlier = True
    if existing and stored is None and not earlier:
        raise PopsimError(
            f"--out {directory}: exists and is not a popsim sweep directory; choose another"
        )
    if existing and not resume and not overwrite:
        raise PopsimError(
            f"--out {directory}: already holds a sweep; pass --resume to continue it, "
            "--overwrite to start again, or choose another directory"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        if existing and resume:
            assert stored is not None
            _check_resumable(stored, manifest, directory, names)
            _remove_temporaries(directory)
            manifest = stored
        else:
            for path in directory.iterdir():
                if path.name != LOCK:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            (directory / POINTS).mkdir()
            write_manifest(directory / MANIFEST, manifest)
        yield SweepStore(directory, manifest)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The :mod:`popsim.provenance` manifest of a sweep directory (PopsimError if it is
    not one); ``manifest["sweep"]`` holds the sweep's own section."""
    manifest = _read_manifest(Path(directory))
    if manifest is None:
        raise PopsimError(f"{directory}: not a popsim sweep directory (no valid {MANIFEST})")
    return manifest


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    return read_provenance(directory / MANIFEST, "sweep")


def _check_resumable(
    stored: dict[str, Any], new: dict[str, Any], directory: Path, names: dict[str, str]
) -> None:
    reasons = [
        message.format(**names)
        for key, message in RESUME_KEYS.items()
        if stored["sweep"].get(key) != new["sweep"].get(key)
    ]
    reason = reasons[0] if reasons else reuse_refusal(stored, new)
    if reason is not None:
        raise PopsimError(
            f"--resume: refused: {reason} since the sweep in {directory} started; run it into "
            "a new --out, or pass --overwrite to start again"
        )
    expected = json.loads(json.dumps(new["sweep"], default=str))
    for key in RESUMED_SECTION:
        if stored["sweep"].get(key) != expected.get(key):
            raise damaged(directory / MANIFEST, f"its sweep.{key} is not what the sweep file gives")


def _remove_temporaries(directory: Path) -> None:
    """Delete half-written files left by a killed run (they were never renamed into place)."""
    for folder in (directory, directory / POINTS):
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an advisory lock on ``directory/.lock`` (POSIX; released even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, no protection against two sweeps
        yield
        return
    handle = open(directory / LOCK, "a+")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PopsimError(
                f"--out {directory}: another popsim sweep is running there"
            ) from None
        yield
    finally:
        handle.close()
