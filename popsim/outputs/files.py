"""Atomic output: a file or a whole directory appears complete, or not at all.

Everything is written under a temporary name in the destination's parent
directory (same file system), flushed, and renamed into place with
:func:`os.replace`, so a run killed at any moment leaves either the previous
complete output or none.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from popsim.errors import ConfigError, PopsimError, has_hidden


def damaged(path: Path, reason: str, remedy: str) -> PopsimError:
    """The error for a file of an output directory that popsim did not write as it
    is (edited, truncated by a failing disk): which file, what is wrong, what to do."""
    return PopsimError(f"{path}: damaged ({reason}); {remedy}")


def read_json_record(path: Path, remedy: str) -> Any:
    """The JSON value in ``path``, a file popsim committed; :func:`damaged` (with
    ``remedy``) if it is not UTF-8 JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text", remedy) from None
    except ValueError as error:
        raise damaged(path, f"not valid JSON: {error}", remedy) from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    The file gets the permissions of an ordinary new file (0666 less the
    umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Rows formatted at a time by :func:`write_csv` (a few MB of strings).
CSV_CHUNK_ROWS = 65_536


def write_csv(path: Path, columns: Mapping[str, Sequence | np.ndarray]) -> None:
    """Write equal-length ``columns`` as a CSV table with a header row.

    The bytes are those of ``pandas.DataFrame(columns).to_csv(path, index=False)``
    (tests/test_output.py checks it), without importing pandas: numbers as
    numpy prints them (floats in their shortest round-trip form), missing
    values (NaN, None) empty, fields quoted only where they must be, lines
    ending in ``os.linesep``.

    Rows are formatted and written :data:`CSV_CHUNK_ROWS` at a time, so the memory
    beyond the columns themselves does not grow with the number of rows (a
    string per cell for 10⁷ replicates took about 18 GB).
    """
    arrays = [np.asarray(values) for values in columns.values()]
    rows = len(arrays[0]) if arrays else 0
    if any(len(a) != rows for a in arrays):
        raise ValueError(f"columns of unequal length for {path.name}")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator=os.linesep)
        writer.writerow(list(columns))
        for start in range(0, rows, CSV_CHUNK_ROWS):
            cells = [_csv_cells(a[start : start + CSV_CHUNK_ROWS]) for a in arrays]
            writer.writerows(zip(*cells, strict=True))


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """``value``, with a text that a spreadsheet would run as a formula quoted by a ``'``.

    Numbers (a negative one included) are returned as they are; only strings
    starting with one of :data:`FORMULA_STARTS` change (``=1+1`` → ``'=1+1``).
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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


def check_output_path(directory: Path | str) -> None:
    """Refuse (exit 2) an output directory that cannot be written, before any work.

    ``directory`` must be a non-empty path without hidden characters
    (:func:`popsim.errors.has_hidden`: it is printed) that is not a file, nor a symbolic
    link to nothing, and its nearest existing ancestor (the parent, unless
    missing parents are to be created) must be a directory this process can
    write into. Errors that only writing reveals (a full disk, a read-only file
    system, /proc) are OSErrors, which the CLI prints as one line.
    """
    if str(directory) == "":
        raise ConfigError("--out", "", "must name a directory")
    if has_hidden(str(directory)):
        raise ConfigError(
            "--out", str(directory),
            "must not contain control or invisible formatting characters (it is printed)",
        )
    directory = Path(directory)
    if directory.is_symlink() and not directory.exists():
        raise ConfigError("--out", str(directory), "is a symbolic link to nothing")
    if directory.exists() and not directory.is_dir():
        raise ConfigError("--out", str(directory), "exists and is not a directory")
    ancestor = directory.absolute().parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError("--out", str(directory), f"{ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError("--out", str(directory), f"directory {ancestor} is not writable")


def check_writable(directory: Path | str, overwrite: bool, *, cli: bool = False) -> None:
    """Refuse (exit 2) an unusable or existing output directory unless ``overwrite``.

    The message speaks the caller's language: the API's ``overwrite=True``, or
    with ``cli`` the command line's ``--out DIR`` and ``--overwrite``.
    """
    check_output_path(directory)
    directory = Path(directory)
    where, option = (f"--out {directory}", "--overwrite") if cli else (directory, "overwrite=True")
    if directory.exists() and not overwrite:
        raise PopsimError(f"{where}: already exists; choose another directory or pass {option}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_directory(
    directory: Path, fill: Callable[[Path], None], *, overwrite: bool = False
) -> Path:
    """Create ``directory`` by letting ``fill`` write into a temporary sibling, then rename.

    An existing ``directory`` is replaced only if ``overwrite``; it stays
    untouched until the new one is complete, and the swap never leaves nothing
    at ``directory`` (:func:`_swap_in`). Without ``overwrite``, a directory that
    appeared at ``directory`` while ``fill`` ran (another run to the same
    ``--out``) is not replaced: the new output is kept beside it under a name
    the :class:`PopsimError` gives.
    """
    directory = Path(directory)
    check_writable(directory, overwrite)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; a results folder is an ordinary one
        fill(tmp)
        if overwrite and os.path.lexists(directory):
            _swap_in(tmp, directory)
        elif not _rename_noreplace(tmp, directory):
            kept = _keep_beside(tmp, directory)
            raise PopsimError(
                f"--out {directory}: appeared while this run was writing and was not replaced; "
                f"this run's output is in {kept}"
            )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


#: renameat2(2) flags (Linux ≥ 3.15): fail if the target exists; swap two paths atomically.
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Rename with renameat2 ``flags``; False where the system or file system lacks it.

    Raises the OSError of any other failure (FileExistsError for
    RENAME_NOREPLACE onto an existing path).
    """
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:  # not Linux, or a C library older than glibc 2.28
        return False
    if function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL):  # no system call, or a file system without the flag
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def _rename_noreplace(source: Path, target: Path) -> bool:
    """Rename ``source`` to ``target`` unless ``target`` exists; True if renamed.

    Atomic with renameat2(RENAME_NOREPLACE); elsewhere a check before
    :func:`os.rename`, which still refuses a non-empty directory at the last
    moment (an empty one that appears in between is replaced, losing nothing).
    """
    try:
        if _renameat2(source, target, RENAME_NOREPLACE):
            return True
    except FileExistsError:
        return False
    if os.path.lexists(target):
        return False
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
            return False
        raise
    return True


def _keep_beside(tmp: Path, directory: Path) -> Path:
    """Rename the finished ``tmp`` to a visible, unused sibling of ``directory``; return it."""
    for number in range(1, 10_000):
        kept = directory.with_name(f"{directory.name}.new-{number}")
        if _rename_noreplace(tmp, kept):
            return kept
    raise PopsimError(f"--out {directory}: no free name to keep this run's output beside it")


def _swap_in(new: Path, directory: Path) -> None:
    """Put ``new`` at ``directory`` in place of the old one, then delete the old one.

    With renameat2(RENAME_EXCHANGE) the two trade places in one atomic step.
    Elsewhere the old one is renamed aside and the new one renamed in; if that
    second rename fails or is interrupted, the old one is renamed back, so
    ``directory`` is never left empty by a failure this process sees.
    """
    if _renameat2(new, directory, RENAME_EXCHANGE):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old output
        return
    parent = directory.parent
    aside = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=parent))
    previous = aside / "previous"
    os.replace(directory, previous)
    try:
        os.replace(new, directory)
    except BaseException:
        os.replace(previous, directory)
        shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
