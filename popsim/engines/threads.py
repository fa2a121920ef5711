"""How the engines' parallel loops share out their work among threads.

Numba runs a ``prange`` loop on its threading layer. Its OpenMP and workqueue
layers give each thread one contiguous run of iterations, fixed in advance: when
one CPU is slower than the other (another process on it, or a virtual CPU whose
host core is busy), every parallel loop waits for the slow thread, and the
pedigree engine, several loops per generation, falls below one thread's speed.
Intel's TBB layer (the ``tbb`` package, a dependency on Linux x86_64) schedules
by work stealing: with a chunk size of 1 (:func:`balanced`) each iteration (a
group of replicates, a block of couples or offspring) goes to whichever thread
is free. With a busy process on one of 2 CPUs, TBB keeps the pedigree engine
near one thread's speed where OpenMP falls far below it; on idle CPUs both give
the same (benchmarks/README.md, docs/pedigree.md).
No result depends on the schedule: every replicate, group and block draws from
its own random stream.

pip installs TBB's library into the environment's ``lib`` folder, where the
dynamic loader does not look, so :func:`load_tbb` loads it first by path; Numba
then picks TBB as its default layer. A layer the user chose
(``NUMBA_THREADING_LAYER``) is left alone, and without TBB Numba keeps OpenMP or
workqueue.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager

#: TBB's shared library as the tbb wheel installs it (Numba needs interface 12).
_TBB_NAMES = {"linux": "libtbb.so.12", "darwin": "libtbb.12.dylib"}


def load_tbb() -> bool:
    """Load the TBB library installed by pip into this environment, so that Numba
    can use its TBB threading layer; True if it is loaded (or found by the
    system), False where there is none. Call before the first parallel kernel."""
    name = _TBB_NAMES.get(sys.platform)
    if name is None:
        return False
    folders = {os.path.join(sysconfig.get_paths()["data"], "lib"), os.path.join(sys.prefix, "lib")}
    for path in [os.path.join(folder, name) for folder in sorted(folders)] + [name]:
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        return True
    return False


@contextmanager
def balanced() -> Iterator[None]:
    """Parallel loops started in this block hand out one iteration at a time
    (Numba's parallel chunk size 1): on TBB, to whichever thread is free.

    Every parallel loop: also those Numba makes of array expressions in a
    ``parallel=True`` function (``a[:n] = 0``), which would go element by
    element. The engines' parallel functions therefore hold only ``prange``
    loops over blocks, replicates or groups, and calls (see
    ``pedigree.relatives._clear_counts``)."""
    import numba  # here: importing the engines package must not cost Numba's import

    with numba.parallel_chunksize(1):
        yield
