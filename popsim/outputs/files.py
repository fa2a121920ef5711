"""Atomic output: a file or a whole directory appears complete, or not at all.

Everything is written under a temporary name in the destination's parent
directory (same file system), flushed, and renamed into place with
:func:`os.replace`, so a run killed at any moment leaves either the previous
complete output or none.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from popsim.errors import PopsimError


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, columns: Mapping[str, Sequence | np.ndarray]) -> None:
    """Write equal-length ``columns`` as a CSV table with a header row.

    The bytes are those of ``pandas.DataFrame(columns).to_csv(path, index=False)``
    (tests/test_output.py checks it), without importing pandas: numbers as
    numpy prints them (floats in their shortest round-trip form), missing
    values (NaN, None) empty, fields quoted only where they must be, lines
    ending in ``os.linesep``.
    """
    cells = [_csv_cells(np.asarray(values)) for values in columns.values()]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=os.linesep)
        writer.writerow(list(columns))
        writer.writerows(zip(*cells, strict=True))


def _csv_cells(values: np.ndarray) -> np.ndarray:
    """One column as strings, formatted as pandas formats it for ``to_csv``."""
    if values.dtype.kind == "O":
        missing = np.fromiter(
            (v is None or (isinstance(v, float) and v != v) for v in values),
            dtype=bool,
            count=values.size,
        )
        out = values.copy()
    else:
        missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, bool)
        out = values.astype(str).astype(object)
    out[missing] = ""
    return out


def check_writable(directory: Path, overwrite: bool, *, cli: bool = False) -> None:
    """Refuse (exit 2) an existing output directory unless ``overwrite``.

    The message speaks the caller's language: the API's ``overwrite=True``, or
    with ``cli`` the command line's ``--out DIR`` and ``--overwrite``.
    """
    directory = Path(directory)
    where, option = (f"--out {directory}", "--overwrite") if cli else (directory, "overwrite=True")
    if directory.exists() and not overwrite:
        raise PopsimError(f"{where}: already exists; choose another directory or pass {option}")
    if directory.exists() and not directory.is_dir():
        raise PopsimError(f"{where}: exists and is not a directory")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_directory(
    directory: Path, fill: Callable[[Path], None], *, overwrite: bool = False
) -> Path:
    """Create ``directory`` by letting ``fill`` write into a temporary sibling, then rename.

    An existing ``directory`` is replaced only if ``overwrite``; it stays
    untouched until the new one is complete.
    """
    directory = Path(directory)
    check_writable(directory, overwrite)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; a results folder is an ordinary one
        fill(tmp)
        if directory.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent)
            )
            os.replace(directory, old / "previous")
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
