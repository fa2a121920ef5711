"""Random numbers of both engines: splitmix64, xoshiro256+ and keyed splitmix64 streams.

Every generator here starts from a replicate's seed (an unsigned 64-bit
integer), so a replicate's numbers do not depend on which thread runs it or
on how many threads there are.

* :func:`mix64`: splitmix64's output function (Steele, Lea & Flood 2014,
  "Fast splittable pseudorandom number generators"; the constants of Vigna's
  splitmix64), a bijection of 64-bit words. splitmix64 itself is the counter
  z ← z + γ (γ = :data:`GOLDEN`, 2⁶⁴/φ) read through it.
* Frequency engine: :func:`uniform`, xoshiro256+ (Blackman & Vigna 2018,
  "Scrambled linear pseudorandom number generators"), period 2²⁵⁶ − 1; the top
  53 bits give a double in [0, 1). :func:`seeded` fills its four-word state
  with splitmix64 from the seed, as the authors recommend. The state is a
  tuple, passed in and returned by every function that draws
  (``x, state = uniform(state)``): a value, not an array, so a call costs no
  reference counting (with a ``uint64[4]`` array, the two atomic
  increments/decrements of every non-inlined call made an early-exit binomial
  draw about three times as expensive, benchmarks/README.md). The binomial sampler on top of it is
  :mod:`popsim.engines.sampling`.
* Pedigree engine: counter-based splitmix64 streams keyed by what they draw
  for. :func:`stream_start` hashes (replicate seed, step, deme, block, purpose) into
  a stream's initial state, so every block of offspring and every deme's
  marriages draw their own numbers; :func:`stream_next` advances a stream by one
  word, :func:`stream_unit` and :func:`stream_below` turn a word into a uniform double in
  [0, 1) or an integer in [0, n). Purposes: :data:`PURPOSE_MARRY`, :data:`PURPOSE_INTRO`,
  :data:`PURPOSE_OFFSPRING`.
* The seed rule (:func:`replicate_seeds`, :data:`SEED_RULE`): where each
  replicate's seed comes from, recorded in every manifest by its version.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Version of the rule that turns (root seed, point, replicate) into a replicate's
#: seed (:func:`replicate_seeds`): 1 was popsim 0.1's 32-bit words with collisions
#: repaired, 2 is 64-bit words. Manifests record it, and a sweep or fit refuses to
#: resume across a change of it.
SEED_RULE_VERSION = 2
#: The rule, in one line (written into manifests).
SEED_RULE = (
    "replicate r of sweep point k: word r of "
    "numpy.random.SeedSequence(seed, spawn_key=(k,)).generate_state(r + 1, numpy.uint64); "
    "rerun one replicate with popsim run CONFIG --seed SEED --replicate-index r"
)


#: A xoshiro256+ generator's state: four 64-bit words.
State = tuple[np.uint64, np.uint64, np.uint64, np.uint64]

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment γ, 2⁶⁴/φ rounded to odd
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53

#: Purposes of the pedigree engine's streams (the last key of :func:`stream_start`):
#: marriages, founder introductions, offspring.
PURPOSE_MARRY, PURPOSE_INTRO, PURPOSE_OFFSPRING = 1, 2, 3


@njit(cache=True)
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64's output function of the counter value ``z``."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


# ----------------------------------------------------------------------------- xoshiro256+

@njit(cache=True, error_model="numpy")
def seeded(seed: np.uint64) -> State:
    """A fresh xoshiro256+ state: the first four splitmix64 outputs from ``seed``."""
    z0 = np.uint64(seed) + GOLDEN
    z1 = z0 + GOLDEN
    z2 = z1 + GOLDEN
    z3 = z2 + GOLDEN
    return (mix64(z0), mix64(z1), mix64(z2), mix64(z3))


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
def stream_start(seed: np.uint64, step: int, deme: int, block: int, purpose: int) -> np.uint64:
    """Initial splitmix64 state of the stream keyed by (seed, step, deme, block, purpose)."""
    h = mix64(np.uint64(seed) + GOLDEN)
    h = mix64(h ^ np.uint64(step))
    h = mix64(h ^ (np.uint64(deme) << np.uint64(32)) ^ np.uint64(block))
    return mix64(h ^ np.uint64(purpose))


@njit(cache=True)
def stream_next(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The advanced stream state and its output word."""
    state = state + GOLDEN
    return state, mix64(state)


@njit(cache=True)
def stream_unit(z: np.uint64) -> float:
    """Uniform in [0, 1) from the top 53 bits."""
    return np.float64(z >> np.uint64(11)) * _UNIT


@njit(cache=True)
def stream_below(z: np.uint64, n: int) -> int:
    """Uniform integer in [0, n) from the top 53 bits."""
    k = int(stream_unit(z) * n)
    return k if k < n else n - 1


def replicate_seeds(root_seed: int, replicates: int, point: int = 0, first: int = 0) -> np.ndarray:
    """Seeds (uint64) of replicates ``first … first + replicates − 1`` of sweep point ``point``.

    Word r of SeedSequence(root seed, spawn_key=(point,)).generate_state(first +
    replicates, np.uint64) (:data:`SEED_RULE`). The words are prefix-stable:
    replicate r's seed does not depend on how many replicates are generated, so
    one replicate can be rerun alone. Distinct seeds are not enforced: two of R
    replicates share a seed with probability about R²/2⁶⁵ (3·10⁻⁸ for a million).

    Memory and time grow with ``replicates`` only, not with ``first``: from
    ``first`` > 0 (``--replicate-index``) the words are computed from the
    sequence's entropy pool as ``generate_state`` computes them
    (:func:`_state_words`), starting at word ``first``, without the words
    before it.
    """
    sequence = np.random.SeedSequence(root_seed, spawn_key=(point,))
    if first == 0:
        return sequence.generate_state(replicates, np.uint64)
    low = _state_words(sequence.pool, 2 * first, 2 * replicates)  # a uint64 is two uint32 words,
    return low[0::2] | (low[1::2] << np.uint64(32))  # the first the low half (little-endian)


#: Constants of numpy's SeedSequence.generate_state (numpy/random/bit_generator.pyx).
_INIT_B, _MULT_B, _MASK32 = 0x8B51F9DD, 0x58F38DED, 0xFFFFFFFF


def _state_words(pool: np.ndarray, start: int, count: int) -> np.ndarray:
    """Words ``start … start + count − 1`` of ``generate_state(·, np.uint32)`` from ``pool``.

    numpy's loop: for word i, with h = INIT_B · MULT_Bⁱ and h' = h · MULT_B
    (mod 2³²), the word is v ^ (v >> 16) with v = (pool[i mod 4] ^ h) · h'
    (mod 2³²). MULT_Bⁱ is a modular power, so word i costs nothing for the
    words before it. Returned as uint64 holding 32-bit values.
    """
    index = np.arange(start, start + count, dtype=np.uint64)
    first_hash = _INIT_B * pow(_MULT_B, start, 2**32) % 2**32
    # h_i = first_hash · MULT_B^(i − start): a cumulative product, exact mod 2⁶⁴ hence mod 2³²
    steps = np.full(count, _MULT_B, dtype=np.uint64)
    steps[:1] = 1
    hashes = (np.cumprod(steps, dtype=np.uint64) * np.uint64(first_hash)) & np.uint64(_MASK32)
    data = pool.astype(np.uint64)[(index % np.uint64(pool.size)).astype(np.intp)] ^ hashes
    value = (data * ((hashes * np.uint64(_MULT_B)) & np.uint64(_MASK32))) & np.uint64(_MASK32)
    return value ^ (value >> np.uint64(16))
