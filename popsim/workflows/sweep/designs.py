"""Sweep designs: which values of the varied parameters each sweep point gets.

A parameter is a dotted config key (or several keys that take the same value)
with either an explicit list of values or a range [low, high] on a linear or
logarithmic scale, optionally rounded to whole numbers. Three designs:

* ``grid``: every combination of the parameters' values; a range gives
  ``steps`` values evenly spaced on its scale, both ends included (after
  rounding, repeated whole numbers are dropped). Point 0 takes every
  parameter's first value; the last parameter varies fastest.
* ``latin_hypercube``: ``points`` points; each parameter's range, on its scale,
  is cut into ``points`` equal strata with exactly one point in each
  (:class:`scipy.stats.qmc.LatinHypercube`).
* ``sobol``: ``points`` (a power of 2) points of a scrambled Sobol' sequence
  (:class:`scipy.stats.qmc.Sobol`), balanced in every dyadic sub-box.

The sampled designs map a coordinate u ∈ [0, 1) of the unit cube to a range as
low + u·(high − low) (linear) or low·(high/low)^u (log), and to a value list as
values[⌊u·n⌋]. The sample is drawn from NumPy's ``SeedSequence(root seed)``, a
stream disjoint from every point's ``SeedSequence(root seed, spawn_key=(k,))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

DESIGNS = ("grid", "latin_hypercube", "sobol")
SCALES = ("linear", "log")


@dataclass(frozen=True)
class Parameter:
    """One varied quantity: explicit ``values``, or a range ``low``–``high``.

    ``key`` names it (the results column); ``targets`` are the dotted config
    keys it sets, all to the same value (default: ``key`` alone). ``steps``
    (grid only) is the number of values a range gives; ``integer`` rounds range
    values to the nearest whole number.
    """

    key: str
    targets: tuple[str, ...] = ()
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    steps: int | None = None
    scale: str = "linear"
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.targets:
            object.__setattr__(self, "targets", (self.key,))

    def grid_values(self) -> tuple[Any, ...]:
        """The values this parameter takes in a grid."""
        if self.values is not None:
            return self.values
        assert self.low is not None and self.high is not None and self.steps is not None
        spaced = np.geomspace if self.scale == "log" else np.linspace
        return tuple(dict.fromkeys(self._finish(spaced(self.low, self.high, self.steps))))

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Values at unit-cube coordinates ``u`` ∈ [0, 1) (sampled designs)."""
        if self.values is not None:
            n = len(self.values)
            return [self.values[i] for i in np.minimum((u * n).astype(np.int64), n - 1)]
        assert self.low is not None and self.high is not None
        if self.scale == "log":
            x = np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return self._finish(np.clip(x, self.low, self.high))

    def _finish(self, x: np.ndarray) -> list[Any]:
        if self.integer:
            return [int(v) for v in np.rint(x)]
        return [float(v) for v in x]

    def describe(self) -> dict[str, Any]:
        """The parameter as plain data (for the manifest)."""
        out: dict[str, Any] = {"key": self.key, "targets": list(self.targets)}
        if self.values is not None:
            return {**out, "values": list(self.values)}
        out.update(low=self.low, high=self.high, scale=self.scale, integer=self.integer)
        if self.steps is not None:
            out["steps"] = self.steps
            out["values"] = list(self.grid_values())
        return out


@dataclass(frozen=True)
class Design:
    """A design over ``parameters``; ``points`` is the sample size of sampled designs."""

    name: str
    parameters: tuple[Parameter, ...]
    points: int | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parameters)

    def size(self) -> int:
        """Number of sweep points the design gives."""
        if self.name == "grid":
            return math.prod(len(p.grid_values()) for p in self.parameters)
        assert self.points is not None
        return self.points

    def resolve(self, seed: int) -> list[tuple[Any, ...]]:
        """Every point's parameter values, in point order (deterministic given ``seed``)."""
        if self.name == "grid":
            return list(product(*(p.grid_values() for p in self.parameters)))
        columns = [p.from_unit(u) for p, u in zip(self.parameters, self.unit_sample(seed).T,
                                                   strict=True)]
        return list(zip(*columns, strict=True))

    def unit_sample(self, seed: int) -> np.ndarray:
        """The sampled design's points in the unit cube, float64 [points, parameters]."""
        from scipy.stats import qmc

        assert self.points is not None
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        d = len(self.parameters)
        if self.name == "latin_hypercube":
            return qmc.LatinHypercube(d, rng=rng).random(self.points)
        if self.name == "sobol":
            return qmc.Sobol(d, rng=rng).random_base2(int(math.log2(self.points)))
        raise ValueError(f"unknown design {self.name!r}")

    def describe(self) -> dict[str, Any]:
        """The design as plain data (for the manifest)."""
        out: dict[str, Any] = {"name": self.name, "points": self.size()}
        if self.name != "grid":
            out["sample_seed"] = "numpy SeedSequence(root_seed), scipy.stats.qmc"
        out["parameters"] = [p.describe() for p in self.parameters]
        return out
