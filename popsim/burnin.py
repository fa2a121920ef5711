"""Burn in once: the key of a burned-in state, an on-disk cache of them, and sharing.

A frequency-engine burn-in (plan steps 0 … B − 1, :mod:`popsim.engines.snapshot`)
is decided by the burn-in part of the plan, the replicates' seeds and the code.
:func:`burn_in_key` hashes exactly these; equal keys mean bit-identical states, so a
state computed once serves every run whose key is the same:

* within a process, :class:`BurnIns` keeps the states it has made or read by key
  (``popsim compare`` burns in an identical host once for all its scenarios; a
  sweep burns in once for all points that do not change the host);
* across processes, :class:`BurnInCache` keeps them as files named by the key
  (default :func:`default_cache_dir`; ``--no-cache`` on run, compare and sweep).

A cache file is ``MAGIC``, one line of JSON (the key, :data:`~popsim.engines.snapshot.
STATE_LAYOUT_VERSION`, the arrays' names, dtypes and shapes, the payload's byte count and
SHA-256) and the arrays' bytes. A file whose magic, header, key, layout, length or
checksum is wrong is reported in one line, ignored and replaced; files are written
to a temporary name and renamed, so concurrent writers of one key (which write the
same bytes) never leave a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from popsim.engines.rng import SEED_RULE_VERSION
from popsim.engines.snapshot import STATE_LAYOUT_VERSION, BurnInState, burn_in_description
from popsim.model.plan import Plan
from popsim.outputs.files import write_bytes_atomic
from popsim.provenance import engine_sources_sha256

#: First bytes of a cache file.
MAGIC = b"popsim burn-in state\n"
#: Environment variable that names the cache directory.
CACHE_ENV = "POPSIM_CACHE_DIR"
#: The arrays of a :class:`BurnInState` in a cache file, in order.
_ARRAYS = ("normal", "n_alleles", "alleles", "generators", "status")


def burn_in_key(plan: Plan, seeds: np.ndarray) -> str:
    """Hex SHA-256 of everything that decides the frequency engine's burn-in state of
    ``plan`` for replicates with ``seeds`` (uint64): the plan's
    :func:`~popsim.engines.snapshot.burn_in_description` (burn-in demes' sizes, F,
    migration among them, u, s, h, a, capacity, the step), the seeds, the seed rule
    version, the engine source hash (:func:`popsim.provenance.engine_sources_sha256`)
    and the state layout version. Deme and allele names, demes founded later, founder
    alleles and everything after the burn-in do not enter."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "state_layout": STATE_LAYOUT_VERSION,
                "seed_rule": SEED_RULE_VERSION,
                "engine_sources": engine_sources_sha256(),
            },
            sort_keys=True,
        ).encode()
    )
    items = {**burn_in_description(plan), "seeds": np.asarray(seeds, dtype=np.uint64)}
    for name, value in items.items():
        array = np.ascontiguousarray(value)
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """``$POPSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/popsim``, else ``~/.cache/popsim``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "popsim"


def _report(line: str) -> None:
    print(line, file=sys.stderr)


class BurnInCache:
    """Burned-in states on disk, one file per key under ``directory``/burn-in.

    ``report`` gets one line for each entry found corrupt, truncated or stale
    (default: printed to stderr); such an entry is never used and is replaced.
    """

    def __init__(self, directory: str | Path | None = None,
                 report: Callable[[str], None] = _report):
        self.directory = Path(directory if directory is not None else default_cache_dir())
        self.directory = self.directory / "burn-in"
        self.report = report

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.directory / f"{key}.state"

    def load(self, key: str) -> BurnInState | None:
        """The state stored under ``key``, or None (absent, or unusable: reported)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            self.report(f"burn-in cache: cannot read {path} ({error}); recomputing")
            return None
        try:
            return decode(data, key)
        except ValueError as error:
            self.report(f"burn-in cache: {path} is unusable ({error}); recomputing")
            return None

    def save(self, key: str, state: BurnInState) -> None:
        """Store ``state`` under ``key`` (atomically); a cache that cannot be written is
        reported and left alone."""
        try:
            write_bytes_atomic(self.path(key), encode(state, key))
        except OSError as error:
            self.report(f"burn-in cache: cannot write {self.path(key)} ({error})")


def encode(state: BurnInState, key: str) -> bytes:
    """A cache file's bytes for ``state`` stored under ``key``."""
    arrays = [np.ascontiguousarray(getattr(state, name)) for name in _ARRAYS]
    payload = b"".join(a.tobytes() for a in arrays)
    header = {
        "key": key,
        "state_layout": STATE_LAYOUT_VERSION,
        "step": state.step,
        "arrays": [[n, a.dtype.str, list(a.shape)] for n, a in zip(_ARRAYS, arrays, strict=True)],
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def decode(data: bytes, key: str) -> BurnInState:
    """The state in a cache file's bytes ``data``, checked against ``key``.

    Raises ValueError saying what is wrong: not a cache file, a header that
    cannot be read, another key or layout (stale), a truncated or altered payload.
    """
    if not data.startswith(MAGIC):
        raise ValueError("not a popsim burn-in state")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise ValueError("truncated header")
    try:
        header = json.loads(data[len(MAGIC) : end])
        arrays, step, length, checksum = (
            header["arrays"], int(header["step"]), int(header["bytes"]), str(header["sha256"])
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"unreadable header: {error}") from None
    if header.get("state_layout") != STATE_LAYOUT_VERSION:
        raise ValueError(f"stale: state layout {header.get('state_layout')!r}, "
                         f"this popsim writes {STATE_LAYOUT_VERSION}")
    if header.get("key") != key:
        raise ValueError("stale: written under another key")
    payload = data[end + 1 :]
    if len(payload) != length:
        raise ValueError(f"truncated: {len(payload)} of {length} payload bytes")
    if hashlib.sha256(payload).hexdigest() != checksum:
        raise ValueError("checksum mismatch")
    values: dict[str, np.ndarray] = {}
    offset = 0
    try:
        for (name, dtype, shape), expected in zip(arrays, _ARRAYS, strict=True):
            if name != expected:
                raise ValueError(f"array {name!r} where {expected!r} belongs")
            count = int(np.prod(shape, dtype=np.int64))
            array = np.frombuffer(payload, dtype=np.dtype(dtype), count=count, offset=offset)
            values[name] = array.reshape(shape).copy()
            offset += array.nbytes
    except (TypeError, ValueError) as error:
        raise ValueError(f"unreadable arrays: {error}") from None
    return BurnInState(step=step, **values)


class BurnIns:
    """Where runs get burned-in states: those this object has made or read (by key),
    then ``cache`` (a :class:`BurnInCache`, or None for none on disk).

    :meth:`get` computes a state only when neither has it, and stores what it
    computes in both. One object shared by several runs makes them burn in once
    per key (``popsim compare``, a sweep's points in one process).
    """

    def __init__(self, cache: BurnInCache | None = None,
                 states: dict[str, BurnInState] | None = None):
        self.cache = cache
        self._states: dict[str, BurnInState] = dict(states or {})
        #: Keys computed here, read from disk and found in memory (counts).
        self.computed = self.loaded = self.shared = 0

    def states(self, keys: set[str]) -> dict[str, BurnInState]:
        """The states kept here of ``keys`` (those it has)."""
        return {k: v for k, v in self._states.items() if k in keys}

    def get(self, key: str, compute: Callable[[], BurnInState]) -> BurnInState:
        """The state of ``key``: kept, cached on disk, or ``compute()``'d and kept."""
        if key in self._states:
            self.shared += 1
            return self._states[key]
        state = self.cache.load(key) if self.cache is not None else None
        if state is not None:
            self.loaded += 1
        else:
            state = compute()
            self.computed += 1
            if self.cache is not None:
                self.cache.save(key, state)
        self._states[key] = state
        return state
