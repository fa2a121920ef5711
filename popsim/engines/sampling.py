"""Random numbers for the Numba kernels: xoshiro256+ and an exact binomial sampler.

Each replicate owns its generator, a state of four uint64 made by
:func:`seeded` from the replicate's seed, so a replicate's numbers do not
depend on which thread runs it or on how many threads there are. The state is
a tuple, passed in and returned by every function that draws
(``x, state = uniform(state)``): a value, not an array, so a call costs no
reference counting (a ``uint64[4]`` array's two atomic increments/decrements
at every non-inlined call made the cheapest draws about three times as
expensive, benchmarks/README.md).

* :func:`uniform`: xoshiro256+ (Blackman & Vigna 2018, "Scrambled linear
  pseudorandom number generators"); the top 53 bits give a double in [0, 1).
  Period 2^256 − 1; the state is filled by splitmix64 from the seed, as the
  authors recommend.
* :func:`binomial`: an exact Binomial(n, p) variate for any n ≥ 0 and
  0 ≤ p ≤ 1. Up to :data:`BERNOULLI_MAX` trials it counts successes of n
  uniforms (:func:`binomial_inline` is the same sampler compiled into the
  calling kernel). With p > ½ it returns n − Binomial(n, 1 − p). For a mean
  n·p < :data:`INVERSION_MEAN` it inverts the distribution function by
  sequential search from 0 (expected n·p + 1 steps; a uniform below
  1 − n·p ≤ P(0) returns 0 without a logarithm). Otherwise it uses
  BTRD, the transformed rejection method with decomposition of Hörmann (1993),
  "The generation of binomial random variates", J. Statist. Comput. Simul.
  46:101–110: a constant expected number (≈ 1.2) of uniform pairs however
  large n is, most accepted by the squeeze without a logarithm; the exact
  acceptance test uses log-factorials through Stirling's series with the
  tabulated correction for k ≤ 9.

* :func:`binomial_lanes`: one Binomial draw for each of many generators
  (lanes) at once, each the variate :func:`binomial` would give from that
  generator, with its numbers; used by the frequency engine.

Both are exact samplers (up to floating-point rounding): they are tested
against the binomial probability function in tests/test_sampling.py.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: A generator's state: xoshiro256+'s four 64-bit words.
State = tuple[np.uint64, np.uint64, np.uint64, np.uint64]

#: Trials up to which :func:`binomial` simply counts n Bernoulli trials.
BERNOULLI_MAX = 32
#: Means below which :func:`binomial` inverts instead of using BTRD (BTRD
#: needs n·p ≥ 10).
INVERSION_MEAN = 10.0

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53

#: fc(k) = ln k! − [(k + ½) ln(k + 1) − (k + 1) + ½ ln 2π] for k = 0…9.
_STIRLING_TAIL = np.array(
    [
        0.08106146679532726,
        0.04134069595540929,
        0.02767792568499834,
        0.02079067210376509,
        0.01664469118982119,
        0.01387612882307075,
        0.01189670994589177,
        0.01041126526197209,
        0.009255462182712733,
        0.008330563433362871,
    ]
)


@njit(cache=True, inline="always", error_model="numpy")
def _splitmix(z: np.uint64) -> np.uint64:
    """splitmix64's output function of the counter value ``z``."""
    y = (z ^ (z >> np.uint64(30))) * _MIX1
    y = (y ^ (y >> np.uint64(27))) * _MIX2
    return y ^ (y >> np.uint64(31))


@njit(cache=True, error_model="numpy")
def seeded(seed: int) -> State:
    """A fresh xoshiro256+ state filled by splitmix64 from ``seed``."""
    z0 = np.uint64(seed) + _GOLDEN
    z1 = z0 + _GOLDEN
    z2 = z1 + _GOLDEN
    z3 = z2 + _GOLDEN
    return (_splitmix(z0), _splitmix(z1), _splitmix(z2), _splitmix(z3))


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


@njit(cache=True, inline="always", error_model="numpy")
def _stirling_tail(k: float) -> float:
    """fc(k), the error of Stirling's formula for ln k! (see module docstring)."""
    if k <= 9.0:
        return _STIRLING_TAIL[int(k)]
    kp1sq = (k + 1.0) * (k + 1.0)
    return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / kp1sq) / kp1sq) / (k + 1.0)


@njit(cache=True, error_model="numpy")
def _inversion(state: State, n: int, p: float) -> tuple[int, State]:
    """Binomial(n, p) by sequential search of the distribution function (p ≤ ½)."""
    u, state = uniform(state)
    if u <= 1.0 - n * p:  # below (1 − p)^n = P(0) (Bernoulli's inequality)
        return 0, state
    return _inversion_from(state, n, p, u)


@njit(cache=True, error_model="numpy")
def _inversion_from(state: State, n: int, p: float, u: float) -> tuple[int, State]:
    """:func:`_inversion` once its first uniform ``u`` has been drawn."""
    q = 1.0 - p
    p0 = math.exp(n * math.log1p(-p))
    ratio = p / q
    # restart far in the tail, where rounding could otherwise run the search on
    bound = min(float(n), n * p + 10.0 * math.sqrt(n * p * q + 1.0))
    while True:
        x = 0
        px = p0
        while u > px and x <= bound:
            u -= px
            x += 1
            px *= ratio * (n - x + 1) / x
        if x <= bound:
            return x, state
        u, state = uniform(state)


@njit(cache=True, inline="always", error_model="numpy")
def _btrd_hat(n: int, p: float) -> tuple[float, float, float, float, float]:
    """BTRD's hat for Binomial(n, p): (√(npq), b, a, c, v_r) of :func:`_btrd`."""
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    return spq, b, a, n * p + 0.5, 0.92 - 4.2 / b


@njit(cache=True, inline="always", error_model="numpy")
def _btrd_accepts(
    n: int, p: float, spq: float, b: float, a: float, k: int, us: float, v: float
) -> bool:
    """BTRD's test of a candidate ``k`` in [0, n] outside the squeeze (steps 3.1–3.4);
    ``spq``, ``b``, ``a`` from :func:`_btrd_hat`.

    ``v·α/(a/u_s² + b) ≤ f(k)/f(m)`` (m the mode): a product of |k − m| ≤ 15
    factors, or else bounded by −(k − m)²/2npq ± ρ first and computed from
    log-factorials only between those bounds.
    """
    q = 1.0 - p
    npq = n * p * q
    m = math.floor((n + 1) * p)
    r = p / q
    v *= (2.83 + 5.1 / b) * spq / (a / (us * us) + b)
    km = abs(k - m)
    if km <= 15:
        nr = (n + 1.0) * r
        f = 1.0
        for i in range(min(k, m) + 1, max(k, m) + 1):
            if k > m:
                f *= nr / i - r
            else:
                v *= nr / i - r
        return v <= f
    rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
    t = -km * km / (2.0 * npq)
    v = math.log(v)
    if v < t - rho:
        return True
    if v > t + rho:
        return False
    nm = n - m + 1.0
    nk = n - k + 1.0
    bound = (
        (m + 0.5) * math.log((m + 1.0) / (r * nm))
        + (n + 1.0) * math.log(nm / nk)
        + (k + 0.5) * math.log(nk * r / (k + 1.0))
        + _stirling_tail(m)
        + _stirling_tail(n - m)
        - _stirling_tail(k)
        - _stirling_tail(n - k)
    )
    return v <= bound


@njit(cache=True, error_model="numpy")
def _btrd(state: State, n: int, p: float) -> tuple[int, State]:
    """Binomial(n, p) by Hörmann's transformed rejection (p ≤ ½, n·p ≥ 10).

    Hat: k = ⌊(2a/u_s + b)·u + c⌋ with u uniform on (−½, ½), u_s = ½ − |u|;
    accepted at once inside the squeeze (u_s ≥ 0.07, v ≤ v_r), otherwise by
    :func:`_btrd_accepts`.
    """
    spq, b, a, c, v_r = _btrd_hat(n, p)
    while True:
        u, state = uniform(state)
        u -= 0.5
        v, state = uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return k, state
        if _btrd_accepts(n, p, spq, b, a, k, us, v):
            return k, state


@njit(cache=True, inline="always", error_model="numpy")
def binomial_inline(state: State, n: int, p: float) -> tuple[int, State]:
    """:func:`binomial` compiled into the calling kernel: the cases without a draw
    and Bernoulli counting (n ≤ :data:`BERNOULLI_MAX`) then cost no call, which
    matters where most draws have few trials (the frequency engine's split of
    mutation-born copies); larger n call :func:`_binomial_large`."""
    if n <= 0 or p <= 0.0:
        return 0, state
    if p >= 1.0:
        return n, state
    if n <= BERNOULLI_MAX:
        x = 0
        for _ in range(n):
            v, state = uniform(state)
            x += v < p
        return x, state
    return _binomial_large(state, n, p)


@njit(cache=True, error_model="numpy")
def binomial(state: State, n: int, p: float) -> tuple[int, State]:
    """An exact Binomial(n, p) variate (0 for n ≤ 0 or p ≤ 0, n for p ≥ 1), and the state."""
    return binomial_inline(state, n, p)


@njit(cache=True, error_model="numpy")
def _binomial_large(state: State, n: int, p: float) -> tuple[int, State]:
    """:func:`binomial` for n > :data:`BERNOULLI_MAX` and 0 < p < 1: inversion or BTRD
    on the rarer outcome."""
    flip = p > 0.5  # draw the rarer outcome, then reflect
    r = 1.0 - p if flip else p
    if n * r < INVERSION_MEAN:
        k, state = _inversion(state, n, r)
    else:
        k, state = _btrd(state, n, r)
    return (n - k if flip else k), state


# ----------------------------------------------------------------- many generators at once

#: Rows of the integer array of a lane draw (:func:`binomial_lanes`): the
#: trials n (in), the variate (out), then the sampler's own rows.
LANE_N, LANE_K, _LANE_CANDIDATE, _LANE_TODO, _LANE_LIST = range(5)
#: Rows of its float array: the probability p (in), then the sampler's own rows.
LANE_P, _LANE_U, _LANE_US, _LANE_V = range(4)


@njit(cache=True)
def lane_arrays(lanes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty arrays for :func:`binomial_lanes`: ``(ints, floats, states)``."""
    return (
        np.empty((5, lanes), dtype=np.int64),
        np.empty((4, lanes)),
        np.empty((4, lanes), dtype=np.uint64),
    )


@njit(cache=True, inline="always", error_model="numpy")
def lane_state(states: np.ndarray, lane: int) -> State:
    """The generator of ``lane`` (column of ``states`` [4, lanes]) as a state tuple."""
    return (states[0, lane], states[1, lane], states[2, lane], states[3, lane])


@njit(cache=True, inline="always", error_model="numpy")
def set_lane_state(states: np.ndarray, lane: int, state: State) -> None:
    """Store ``state`` as the generator of ``lane``."""
    states[0, lane], states[1, lane], states[2, lane], states[3, lane] = state


@njit(cache=True, error_model="numpy")
def binomial_lanes(n_lanes: int, ints: np.ndarray, floats: np.ndarray, states: np.ndarray) -> None:
    """ints[LANE_K, l] = Binomial(ints[LANE_N, l], floats[LANE_P, l]) for l < ``n_lanes``.

    Each lane draws from its own generator (column l of ``states``) exactly
    the numbers :func:`binomial` would draw, and gets the same variate. The
    first loop has no data-dependent branch: every lane takes the first step
    of its method (BTRD's first pair and squeeze, the inversion's first
    uniform and P(0) exit), so the processor overlaps the lanes' chains of
    dependent operations; the second loop finishes the lanes still undecided
    (about a quarter), each from the uniforms it already drew.
    """
    for lane in range(n_lanes):
        n, p = ints[LANE_N, lane], floats[LANE_P, lane]
        flip = p > 0.5
        r = 1.0 - p if flip else p
        # 0: decided without a draw; 1: Bernoulli counting; 2: inversion; 3: BTRD
        method = 1
        if n <= 0 or p <= 0.0 or p >= 1.0:
            method = 0
        elif n > BERNOULLI_MAX:
            method = 2 if n * r < INVERSION_MEAN else 3
        _, b, a, c, v_r = _btrd_hat(n, r)
        u1, one = uniform(lane_state(states, lane))
        v, two = uniform(one)
        if method == 2:
            set_lane_state(states, lane, one)
        elif method == 3:
            set_lane_state(states, lane, two)
        u = u1 - 0.5
        us = 0.5 - abs(u)
        kf = np.floor((2.0 * a / us + b) * u + c)
        in_range = (kf >= 0.0) and (kf <= n)
        candidate = np.int64(kf) if in_range else np.int64(-1)
        squeezed = method == 3 and in_range and us >= 0.07 and v <= v_r
        below_p0 = method == 2 and u1 <= 1.0 - n * r
        k = candidate if squeezed else np.int64(0)
        k = n - k if flip and (squeezed or below_p0) else k
        ints[LANE_K, lane] = n if method == 0 and n > 0 and p >= 1.0 else k
        ints[_LANE_CANDIDATE, lane] = candidate
        ints[_LANE_TODO, lane] = 0 if method == 0 or squeezed or below_p0 else method
        floats[_LANE_U, lane] = u1
        floats[_LANE_US, lane] = us
        floats[_LANE_V, lane] = v
    n_todo = 0
    for lane in range(n_lanes):
        ints[_LANE_LIST, n_todo] = lane
        n_todo += ints[_LANE_TODO, lane] != 0
    for j in range(n_todo):
        lane = ints[_LANE_LIST, j]
        n, p = ints[LANE_N, lane], floats[LANE_P, lane]
        state = lane_state(states, lane)
        method = ints[_LANE_TODO, lane]
        if method == 1:
            k, state = binomial(state, n, p)
        else:
            flip = p > 0.5
            r = 1.0 - p if flip else p
            if method == 2:
                k, state = _inversion_from(state, n, r, floats[_LANE_U, lane])
            else:
                k = ints[_LANE_CANDIDATE, lane]
                spq, b, a, _, _ = _btrd_hat(n, r)
                if k < 0 or not _btrd_accepts(n, r, spq, b, a, k, floats[_LANE_US, lane],
                                              floats[_LANE_V, lane]):
                    k, state = _btrd(state, n, r)
            k = n - k if flip else k
        ints[LANE_K, lane] = k
        set_lane_state(states, lane, state)
