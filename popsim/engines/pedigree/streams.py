"""Random streams of the pedigree engine: splitmix64 counters keyed by what they draw for.

A stream's initial state is a hash of (replicate seed, step, deme, block,
purpose), so every block of offspring and every deme's marriages draw their own
numbers: a replicate gives the same results on any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MARRY, _INTRO, _OFFSPRING = 1, 2, 3  # random stream purposes
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _stream(seed, step, deme, block, purpose):
    """Initial splitmix64 state of one random stream."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ np.uint64(step))
    h = _mix(h ^ (np.uint64(deme) << np.uint64(32)) ^ np.uint64(block))
    return _mix(h ^ np.uint64(purpose))


@njit(cache=True)
def _next(state):
    state = state + _GOLDEN
    return state, _mix(state)


@njit(cache=True)
def _unit(z):
    """Uniform in [0, 1) from the top 53 bits."""
    return np.float64(z >> np.uint64(11)) * _UNIT


@njit(cache=True)
def _below(z, n):
    """Uniform integer in [0, n) from the top 53 bits."""
    k = int(_unit(z) * n)
    return k if k < n else n - 1
