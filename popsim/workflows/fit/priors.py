"""Priors on scenario parameters, addressed by dotted config keys.

A free parameter has a uniform or log-uniform prior on [low, high]; a fixed
one is set to one value in every simulation. A parameter may set several
keys at once (e.g. the number of founders and the founding size). Integer
keys are rounded when a scenario is built; their prior is spread over
[low − ½, high + ½] so that every whole number in [low, high] is equally
likely (uniform) or has the mass of its rounding interval (log-uniform).
Inference runs on the continuous value; tables report the rounded one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from popsim.errors import ConfigError
from popsim.model.config import SEED_KEY, Table, get_dotted
from popsim.model.limits import KEY_PATTERN

DISTRIBUTIONS = ("uniform", "log_uniform", "fixed")


@dataclass(frozen=True)
class Prior:
    """A free parameter ``name`` setting config keys ``targets``.

    ``low``/``high`` bound the continuous support (already widened by ½ for
    integer parameters); ``distribution`` is ``uniform`` or ``log_uniform``.
    """

    name: str
    targets: tuple[str, ...]
    distribution: str
    low: float
    high: float
    integer: bool = False

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws from the prior."""
        if self.distribution == "log_uniform":
            return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
        return rng.uniform(self.low, self.high, n)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """Log prior density at ``x`` (−inf outside the support)."""
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        if self.distribution == "log_uniform":
            with np.errstate(divide="ignore", invalid="ignore"):
                dens = -np.log(x) - math.log(math.log(self.high / self.low))
        else:
            dens = np.full(x.shape, -math.log(self.high - self.low))
        return np.where(inside, dens, -np.inf)

    def value(self, x: float) -> Any:
        """The config value for continuous draw ``x`` (rounded for integer keys)."""
        return int(np.rint(x)) if self.integer else float(x)

    def ends(self) -> tuple[float, float]:
        """The draws whose values are the smallest and largest the prior gives
        (for an integer key: the whole numbers ``low`` and ``high`` of the file)."""
        if self.integer:
            return self.low + 0.5, self.high - 0.5
        return self.low, self.high

    def middle(self) -> float:
        """A mid draw: the geometric mean of the bounds (log_uniform), else the mean."""
        if self.distribution == "log_uniform":
            return math.sqrt(self.low * self.high)
        return (self.low + self.high) / 2


def parse_priors(
    tables: list[Table], base_raw: dict[str, Any]
) -> tuple[tuple[Prior, ...], dict[str, Any]]:
    """``[[priors]]`` tables → the free priors and the fixed ``{dotted key: value}``."""
    free: list[Prior] = []
    fixed: dict[str, Any] = {}
    seen: set[str] = set()
    for t in tables:
        targets = _targets(t)
        name = t.string("name", targets[0])
        for key in targets:
            if key in seen:
                raise ConfigError(t.key("key"), key, "is set by another prior; set each key once")
            seen.add(key)
        distribution = t.choice("distribution", DISTRIBUTIONS)
        current = get_dotted(base_raw, targets[0])
        default_integer = isinstance(current, int) and not isinstance(current, bool)
        if distribution == "fixed":
            value = t.raw("value")
            fixed.update(dict.fromkeys(targets, value))
        else:
            free.append(_free(t, name, targets, distribution, default_integer))
        t.finish()
    names = [p.name for p in free]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("priors.name", name, "is used twice; give each prior a distinct name")
    return tuple(free), fixed


def _free(
    t: Table, name: str, targets: tuple[str, ...], distribution: str, default_integer: bool
) -> Prior:
    low = t.number("low")
    high = t.number("high")
    if high <= low:
        raise ConfigError(t.key("high"), high, f"must be greater than low = {low:g}")
    integer = t.raw("integer", default_integer)
    if not isinstance(integer, bool):
        raise ConfigError(t.key("integer"), integer, "must be true or false")
    if integer:
        if low != round(low) or high != round(high):
            raise ConfigError(t.key("low"), low, "must be whole numbers for an integer key")
        low, high = low - 0.5, high + 0.5
    if distribution == "log_uniform" and low <= 0:
        raise ConfigError(
            t.key("low"), t.raw("low"),
            "must be > 0 for a log_uniform prior (≥ 1 for an integer key)",
        )
    return Prior(name, targets, distribution, low, high, bool(integer))


def _targets(t: Table) -> tuple[str, ...]:
    raw = t.raw("key")
    keys = raw if isinstance(raw, list) and raw else [raw]
    for key in keys:
        if not isinstance(key, str) or not KEY_PATTERN.match(key) or key == SEED_KEY:
            raise ConfigError(
                t.key("key"), key, "must be a dotted config key (or an array of them) other "
                "than scenario.seed, e.g. demes.persian_jews.inbreeding",
            )
    return tuple(keys)


def log_prior(priors: tuple[Prior, ...], thetas: np.ndarray) -> np.ndarray:
    """Joint log prior density of rows ``thetas`` [n, p] (independent parameters)."""
    total = np.zeros(thetas.shape[0])
    for j, prior in enumerate(priors):
        total = total + prior.log_density(thetas[:, j])
    return total


def sample_priors(priors: tuple[Prior, ...], rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` joint prior draws, [n, p]."""
    return np.column_stack([p.sample(rng, n) for p in priors]) if priors else np.zeros((n, 0))
