"""Random numbers for the Numba kernels: xoshiro256+ and an exact binomial sampler.

Each replicate owns its generator, a ``uint64[4]`` state made by
:func:`seeded` from the replicate's seed, so a replicate's numbers do not
depend on which thread runs it or on how many threads there are.

* :func:`uniform`: xoshiro256+ (Blackman & Vigna 2018, "Scrambled linear
  pseudorandom number generators"); the top 53 bits give a double in [0, 1).
  Period 2^256 − 1; the state is filled by splitmix64 from the seed, as the
  authors recommend.
* :func:`binomial`: an exact Binomial(n, p) variate for any n ≥ 0 and
  0 ≤ p ≤ 1. Up to :data:`BERNOULLI_MAX` trials it counts successes of n
  uniforms. With p > ½ it returns n − Binomial(n, 1 − p). For a mean
  n·p < :data:`INVERSION_MEAN` it inverts the distribution function by
  sequential search from 0 (expected n·p + 1 steps; a uniform below
  1 − n·p ≤ P(0) returns 0 without a logarithm). Otherwise it uses
  BTRD, the transformed rejection method with decomposition of Hörmann (1993),
  "The generation of binomial random variates", J. Statist. Comput. Simul.
  46:101–110: a constant expected number (≈ 1.2) of uniform pairs however
  large n is, most accepted by the squeeze without a logarithm; the exact
  acceptance test uses log-factorials through Stirling's series with the
  tabulated correction for k ≤ 9.

Both are exact samplers (up to floating-point rounding): they are tested
against the binomial probability function in tests/test_sampling.py.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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


@njit(cache=True, error_model="numpy")
def seeded(seed: int) -> np.ndarray:
    """A fresh xoshiro256+ state (uint64[4]) filled by splitmix64 from ``seed``."""
    state = np.empty(4, dtype=np.uint64)
    z = np.uint64(seed)
    for i in range(4):
        z = z + _GOLDEN
        y = (z ^ (z >> np.uint64(30))) * _MIX1
        y = (y ^ (y >> np.uint64(27))) * _MIX2
        state[i] = y ^ (y >> np.uint64(31))
    return state


@njit(cache=True, inline="always", error_model="numpy")
def uniform(state: np.ndarray) -> float:
    """Next double in [0, 1) from ``state`` (advanced in place)."""
    result = state[0] + state[3]
    t = state[1] << np.uint64(17)
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = (state[3] << np.uint64(45)) | (state[3] >> np.uint64(19))
    return np.float64(result >> np.uint64(11)) * _UNIT


@njit(cache=True, inline="always", error_model="numpy")
def _stirling_tail(k: float) -> float:
    """fc(k), the error of Stirling's formula for ln k! (see module docstring)."""
    if k <= 9.0:
        return _STIRLING_TAIL[int(k)]
    kp1sq = (k + 1.0) * (k + 1.0)
    return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / kp1sq) / kp1sq) / (k + 1.0)


@njit(cache=True, error_model="numpy")
def _inversion(state: np.ndarray, n: int, p: float) -> int:
    """Binomial(n, p) by sequential search of the distribution function (p ≤ ½)."""
    u = uniform(state)
    if u <= 1.0 - n * p:  # below (1 − p)^n = P(0) (Bernoulli's inequality)
        return 0
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
            return x
        u = uniform(state)


@njit(cache=True, error_model="numpy")
def _btrd(state: np.ndarray, n: int, p: float) -> int:
    """Binomial(n, p) by Hörmann's transformed rejection (p ≤ ½, n·p ≥ 10).

    Hat: k = ⌊(2a/u_s + b)·u + c⌋ with u uniform on (−½, ½), u_s = ½ − |u|;
    accepted at once inside the squeeze (u_s ≥ 0.07, v ≤ v_r), otherwise when
    v·α/(a/u_s² + b) ≤ f(k)/f(m) (m the mode). That ratio is a product of
    |k − m| ≤ 15 factors, or else bounded by −(k − m)²/2npq ± ρ first and
    computed from log-factorials only between those bounds (steps 3.1–3.4
    of BTRD in Hörmann 1993).
    """
    q = 1.0 - p
    npq = n * p * q
    spq = math.sqrt(npq)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    m = math.floor((n + 1) * p)
    while True:
        u = uniform(state) - 0.5
        v = uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return k
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
            if v <= f:
                return k
            continue
        rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
        t = -km * km / (2.0 * npq)
        v = math.log(v)
        if v < t - rho:
            return k
        if v > t + rho:
            continue
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
        if v <= bound:
            return k


@njit(cache=True, error_model="numpy")
def binomial(state: np.ndarray, n: int, p: float) -> int:
    """An exact Binomial(n, p) variate; 0 for n ≤ 0 or p ≤ 0, n for p ≥ 1."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n <= BERNOULLI_MAX:
        x = 0
        for _ in range(n):
            x += uniform(state) < p
        return x
    flip = p > 0.5  # draw the rarer outcome, then reflect
    r = 1.0 - p if flip else p
    k = _inversion(state, n, r) if n * r < INVERSION_MEAN else _btrd(state, n, r)
    return n - k if flip else k
