"""Simulation engines: Numba kernels that take a :class:`~popsim.demography.Plan`.

Kernels are compiled on first use and cached on disk by Numba (``cache=True``;
Numba's cache is safe for concurrent processes: it writes index and data files
atomically). :func:`kernel_is_cached` tells whether a first run will compile.
"""

from __future__ import annotations

import importlib

_ENTRY_POINTS = {"frequency": "run_replicates", "pedigree": "run_replicates"}


def kernel_is_cached(engine: str) -> bool:
    """True when the engine's main kernel has a compiled version in Numba's disk cache."""
    module = importlib.import_module(f"popsim.engines.{engine}")
    dispatcher = getattr(module, _ENTRY_POINTS[engine])
    cache = getattr(dispatcher, "_cache", None)
    try:
        path = cache._cache_path  # numba's _CacheImpl locator path
        index = cache._cache_file._index_name
    except AttributeError:
        return True
    import os

    return os.path.exists(os.path.join(path, index))
