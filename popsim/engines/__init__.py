"""Simulation engines: Numba kernels that take a :class:`~popsim.model.plan.Plan`.

Kernels are compiled on first use and cached on disk by Numba (``cache=True``).
:func:`kernel_is_cached` tells whether a first run will compile.

Several processes at once (a sweep's workers, parallel ``popsim run``): Numba
writes each cache file atomically (a temporary file, then a rename), so no
process reads a half-written file, but it updates a function's index without a
lock and writes the index before the object code. Processes compiling the same
function at the same moment can therefore lose index entries, give two
signatures the same data file, or load an older version's object code left
under that name. :func:`first_call_lock` closes that window: a process's first
call of an engine holds a lock file in the cache directory: exclusively while the
engine is not cached or some of its kernels' cache files are stale (then all of the
engine's cache files are deleted; one process compiles and writes, the others wait
and then load) and
shared otherwise (warm processes load side by side, never while a compilation
writes). Left open: while the main kernel is cached, a kernel or signature that
is in no cache yet (a pedigree run of few replicates after only large ones, or
one that needs 32-bit allele ids) is compiled under the shared lock or none; two
processes compiling different signatures of one function at the same moment
could still mix up that function's cache files. The constants kernels embed
(columns and status codes) come from :mod:`popsim.engines.layout`, whose cached
kernel :func:`~popsim.engines.layout.record_width` each engine imports and calls,
so an edit of them is seen like an edit of an engine module.

Importing this package loads Intel TBB where pip installed it, so that Numba
runs the parallel loops on its work-stealing TBB layer (:mod:`popsim.engines.threads`).
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; Numba's atomic renames only
    fcntl = None  # type: ignore[assignment]

from popsim.engines.threads import load_tbb

load_tbb()  # before any parallel kernel starts Numba's threads

#: The kernel whose cache entry stands for each engine's compiled code.
_ENTRY_POINTS = {"frequency": "run_replicates", "pedigree": "run_replicates"}
#: The engines a hybrid run calls (:mod:`popsim.engines.hybrid`), in the order their
#: locks are taken.
HYBRID_PARTS = ("frequency", "pedigree")

#: Lock file created in the Numba cache directory of the engines.
LOCK_NAME = "popsim-compile.lock"

#: Engines whose kernel this process has already called (loaded or compiled).
_called: set[str] = set()


def _module(engine: str) -> ModuleType:
    return importlib.import_module(f"popsim.engines.{engine}")


def _cache(engine: str) -> Any:
    """Numba's cache object of the engine's main kernel (None if caching is off)."""
    return getattr(getattr(_module(engine), _ENTRY_POINTS[engine]), "_cache", None)


def kernel_is_cached(engine: str) -> bool:
    """True when the engine's main kernel has a compiled version in Numba's disk cache
    and no kernel of the engine's modules has a cache written for an older source.

    Numba keys a cached kernel on its own source file only: after an edit of
    :mod:`popsim.engines.sampling` it would load the frequency kernel with the
    old sampler compiled in, and after an edit of one module of the pedigree
    package, the pedigree kernel with the old code of that module. Such a cache
    counts as stale here, and :func:`first_call_lock` deletes the engine's caches
    before its kernels are compiled again.
    """
    if engine == "hybrid":
        return all(kernel_is_cached(part) for part in HYBRID_PARTS)
    try:
        index = _cache(engine)._cache_file._load_index  # numba's _CacheFile: {} if stale
    except AttributeError:  # caching disabled or a Numba without this layout
        return True
    return bool(index()) and not _stale_caches(engine)


def _kernel_modules(engine: str) -> list[ModuleType]:
    """The engine's module and every module whose Numba kernels it calls, found
    transitively through the kernels each module imports (a package's
    ``__init__`` leads to its submodules). Every module whose code or constants
    kernels embed must define a cached kernel of its own: one without (constants,
    an intrinsic) has no cache stamp that could tell it was edited
    (tests/test_cache_concurrency.py checks)."""
    found: dict[str, ModuleType] = {}
    todo = [_module(engine)]
    while todo:
        module = todo.pop()
        if module.__name__ in found:
            continue
        found[module.__name__] = module
        todo += [sys.modules[kernel.py_func.__module__] for kernel in _kernels(module)]
    return list(found.values())


def _kernels(module: ModuleType) -> list[Any]:
    """The Numba kernels in a module's namespace, its own and those it imports."""
    return [k for k in vars(module).values() if hasattr(k, "_cache") and hasattr(k, "py_func")]


def _cache_files(engine: str) -> list[Any]:
    """Numba's cache file objects of every kernel defined in the engine's modules."""
    files = []
    for module in _kernel_modules(engine):
        for kernel in _kernels(module):
            cache_file = getattr(kernel._cache, "_cache_file", None)  # None: not cached
            if (kernel.py_func.__module__ == module.__name__
                    and hasattr(cache_file, "_index_path")):
                files.append(cache_file)
    return files


def _stale_caches(engine: str) -> list[Any]:
    """Cache files of the engine's kernels whose index was written for an older source."""
    return [f for f in _cache_files(engine)
            if os.path.exists(f._index_path) and not f._load_index()]


def _remove_stale(engine: str) -> None:
    """Where any of the engine's kernels has a stale cache, delete the index and
    object files of all of them: a kernel embeds the code of those it calls, so
    one edited module makes every cached kernel that calls into it stale. (Numba
    writes a new index before the new object code, so an old object file left in
    place could be loaded.)"""
    if not _stale_caches(engine):
        return
    for cache_file in _cache_files(engine):
        base = cache_file._index_path.removesuffix(".nbi")
        for path in [cache_file._index_path, *glob.glob(glob.escape(base) + ".*.nbc")]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


@contextmanager
def first_call_lock(engine: str) -> Iterator[None]:
    """Hold the engine cache's lock around this process's first call of ``engine``.

    Exclusive while the engine is not cached (see :func:`kernel_is_cached`;
    this process compiles and writes the cache, the others wait) or has stale
    cache files, whereupon all of its cache files are deleted under the exclusive
    lock so that no process can load them; shared otherwise. Later calls in this
    process take no lock. Without ``fcntl``, or where the cache directory cannot
    hold a lock file, nothing is locked. A hybrid run takes the locks of both
    engines it calls, always in the order of :data:`HYBRID_PARTS`.
    """
    if engine == "hybrid":
        with first_call_lock(HYBRID_PARTS[0]), first_call_lock(HYBRID_PARTS[1]):
            yield
        return
    if engine in _called or fcntl is None:
        yield
        return
    handle = _open_lock(engine)
    if handle is None:
        yield
        _called.add(engine)
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        if not kernel_is_cached(engine):
            fcntl.flock(handle, fcntl.LOCK_EX)  # converting releases the shared lock first
            _remove_stale(engine)
            if kernel_is_cached(engine):  # another process compiled it meanwhile
                fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
            _called.add(engine)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_lock(engine: str) -> BinaryIO | None:
    """The engine cache directory's lock file opened for locking, or None."""
    cache = _cache(engine)
    try:
        directory = cache._cache_path
    except AttributeError:
        return None
    try:
        os.makedirs(directory, exist_ok=True)
        return open(os.path.join(directory, LOCK_NAME), "a+b")  # closed by the caller
    except OSError:
        return None
