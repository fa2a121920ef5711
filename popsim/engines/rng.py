"""Random numbers of both engines: splitmix64, xoshiro256+ and keyed splitmix64 streams.

Every generator here starts from a replicate's seed (an unsigned 64-bit
integer), so a replicate's numbers do not depend on which thread runs it or
on how many threads there are.

* :func:`_mix`: splitmix64's output function (Steele, Lea & Flood 2014,
  "Fast splittable pseudorandom number generators"; the constants of Vigna's
  splitmix64), a bijection of 64-bit words. splitmix64 itself is the counter
  z ← z + γ (γ = :data:`_GOLDEN`, 2⁶⁴/φ) read through it.
* Frequency engine: :func:`uniform`, xoshiro256+ (Blackman & Vigna 2018,
  "Scrambled linear pseudorandom number generators"), period 2²⁵⁶ − 1; the top
  53 bits give a double in [0, 1). :func:`seeded` fills its four-word state
  with splitmix64 from the seed, as the authors recommend. The state is a
  tuple, passed in and returned by every function that draws
  (``x, state = uniform(state)``): a value, not an array, so a call costs no
  reference counting (with a ``uint64[4]`` array, the two atomic
  increments/decrements of every non-inlined call made an early-exit binomial
  draw cost 17 ns instead of 6). The binomial sampler on top of it is
  :mod:`popsim.engines.sampling`.
* Pedigree engine: counter-based splitmix64 streams keyed by what they draw
  for. :func:`_stream` hashes (replicate seed, step, deme, block, purpose) into
  a stream's initial state, so every block of offspring and every deme's
  marriages draw their own numbers; :func:`_next` advances a stream by one
  word, :func:`_unit` and :func:`_below` turn a word into a uniform double in
  [0, 1) or an integer in [0, n). Purposes: :data:`_MARRY`, :data:`_INTRO`,
  :data:`_OFFSPRING`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: A xoshiro256+ generator's state: four 64-bit words.
State = tuple[np.uint64, np.uint64, np.uint64, np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment γ, 2⁶⁴/φ rounded to odd
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53

#: Purposes of the pedigree engine's streams (the last key of :func:`_stream`):
#: marriages, founder introductions, offspring.
_MARRY, _INTRO, _OFFSPRING = 1, 2, 3


@njit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    """splitmix64's output function of the counter value ``z``."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


# ----------------------------------------------------------------------------- xoshiro256+

@njit(cache=True, error_model="numpy")
def seeded(seed: np.uint64) -> State:
    """A fresh xoshiro256+ state: the first four splitmix64 outputs from ``seed``."""
    z0 = np.uint64(seed) + _GOLDEN
    z1 = z0 + _GOLDEN
    z2 = z1 + _GOLDEN
    z3 = z2 + _GOLDEN
    return (_mix(z0), _mix(z1), _mix(z2), _mix(z3))


@njit(cache=True, inline="always", error_model="numpy")
def uniform(state: State) -> tuple[float, State]:
    """The next double in [0, 1) from ``state``, and the advanced state."""
    s0, s1, s2, s3 = state
    result = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    return np.float64(result >> np.uint64(11)) * _UNIT, (s0, s1, s2, s3)


# ----------------------------------------------------------------------------- keyed streams

@njit(cache=True)
def _stream(seed: np.uint64, step: int, deme: int, block: int, purpose: int) -> np.uint64:
    """Initial splitmix64 state of the stream keyed by (seed, step, deme, block, purpose)."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ np.uint64(step))
    h = _mix(h ^ (np.uint64(deme) << np.uint64(32)) ^ np.uint64(block))
    return _mix(h ^ np.uint64(purpose))


@njit(cache=True)
def _next(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The advanced stream state and its output word."""
    state = state + _GOLDEN
    return state, _mix(state)


@njit(cache=True)
def _unit(z: np.uint64) -> float:
    """Uniform in [0, 1) from the top 53 bits."""
    return np.float64(z >> np.uint64(11)) * _UNIT


@njit(cache=True)
def _below(z: np.uint64, n: int) -> int:
    """Uniform integer in [0, n) from the top 53 bits."""
    k = int(_unit(z) * n)
    return k if k < n else n - 1
