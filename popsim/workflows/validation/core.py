"""The machinery of ``popsim validate``: checks, result rows, verdicts.

A :class:`Check` is one entry of the catalogue. Run for one engine (or, for
checks of the theory alone, for none) it returns an :class:`Outcome`: table
rows and figures. Rows are of three kinds:

* ``simulation`` — an engine's output against a prediction, decided by a
  statistical test. The catalogue's family-wise error rate :data:`FAMILY_ALPHA`
  is split equally over the m simulation rows of the run (Bonferroni): a row
  passes when its p-value is at least α = FAMILY_ALPHA / m. Every check uses
  fixed seeds, so a run is deterministic, and a correct engine makes the whole
  catalogue fail for at most 1 % of seed choices.
* ``approximation`` — an analytical approximation (diffusion, island model)
  against the exact value it approximates, decided by a stated deterministic
  criterion (e.g. the error shrinks as N grows).
* ``identity`` — a closed form against brute-force enumeration, equal up to
  floating-point rounding.

Figures are drawn after the verdicts, so they can show the acceptance band that
the tests used (±z·SE with z the Bonferroni critical value).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from popsim.errors import SimulationError
from popsim.workflows.validation.stats import TestResult, bonferroni_z

#: Family-wise error rate of one run of the catalogue (Bonferroni over its simulation rows).
FAMILY_ALPHA = 0.01

Kind = Literal["simulation", "approximation", "identity"]


@dataclass(frozen=True)
class Row:
    """One line of the validation table.

    ``prediction`` is the theoretical value and ``observed`` what was measured:
    a simulated estimate (simulation rows), the exact value an approximation
    targets (approximation rows), or a brute-force result (identity rows).
    ``error`` is the standard error of ``observed`` for simulation rows and the
    absolute difference otherwise. ``p_value`` belongs to simulation rows,
    ``tolerance`` to the deterministic ones; ``passed`` is set by the runner for
    simulation rows.
    """

    check: str
    engine: str
    kind: Kind
    quantity: str
    prediction: float
    observed: float
    error: float
    test: str
    statistic: float = math.nan
    p_value: float = math.nan
    tolerance: float = math.nan
    passed: bool | None = None


def simulation_row(
    check: str,
    engine: str,
    quantity: str,
    prediction: float,
    result: TestResult,
    observed: float | None = None,
) -> Row:
    """A simulation row from a test result (verdict left to the runner).

    ``observed`` defaults to the test's estimate; give it when the test is of a
    difference (e.g. per-replicate simulated − predicted) but the table should
    show the simulated value itself.
    """
    return Row(
        check,
        engine,
        "simulation",
        quantity,
        float(prediction),
        result.estimate if observed is None else float(observed),
        result.standard_error,
        result.test,
        result.statistic,
        result.p_value,
    )


def deterministic_row(
    check: str,
    kind: Kind,
    quantity: str,
    prediction: float,
    observed: float,
    criterion: str,
    statistic: float,
    tolerance: float,
    error: float | None = None,
) -> Row:
    """An approximation or identity row: it passes when ``statistic ≤ tolerance``.
    ``error`` defaults to |prediction − observed|."""
    if error is None:
        error = abs(prediction - observed)
    return Row(
        check,
        "—",
        kind,
        quantity,
        float(prediction),
        float(observed),
        float(error),
        criterion,
        statistic=float(statistic),
        tolerance=float(tolerance),
        passed=bool(statistic <= tolerance),
    )


def stopped_row(check: str, engine: str | None, error: SimulationError) -> Row:
    """A failing row for a check whose engine run stopped (allele capacity, extinction):
    a correct engine runs every check's scenario to the end, so the check fails with
    the engine's reason instead of ending the whole run."""
    return Row(check, engine or "—", "identity", f"the engine stopped: {error}", math.nan,
               math.nan, math.nan, "runs to the end", passed=False)


@dataclass(frozen=True)
class Figure:
    """A figure to draw once verdicts are known: ``draw(path, z)`` writes a PNG, where
    z is the critical |z| of the run's per-test α (for acceptance bands)."""

    name: str
    caption: str
    draw: Callable[[Path, float], None]


@dataclass(frozen=True)
class Outcome:
    rows: list[Row]
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """How thoroughly to run: ``quick`` uses fewer replicates (same tests, less power)."""

    quick: bool = False

    def replicates(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue.

    Attributes:
        name: what ``popsim validate NAME`` selects.
        title: one line for the report.
        engines: the engines it runs for; empty for a check of the theory alone.
        description: what is compared, the test and its logic (Markdown).
        source: where the prediction comes from (textbook or paper).
        run: ``run(engine, settings)``; ``engine`` is None when ``engines`` is empty.
    """

    name: str
    title: str
    engines: tuple[str, ...]
    description: str
    source: str
    run: Callable[[str | None, Settings], Outcome]


@dataclass(frozen=True)
class CheckRun:
    """A check run for one engine (or none): its outcome and how long it took (s)."""

    check: Check
    engine: str | None
    outcome: Outcome
    seconds: float


@dataclass(frozen=True)
class Report:
    """Everything a run of the catalogue produced, verdicts included."""

    runs: list[CheckRun]
    rows: list[Row]
    alpha: float
    z_critical: float
    settings: Settings
    seconds: float

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def simulation_tests(self) -> int:
        return sum(row.kind == "simulation" for row in self.rows)


def run_checks(
    checks: Iterable[Check],
    settings: Settings,
    engines: tuple[str, ...],
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run ``checks`` for each of their engines that is in ``engines``; decide verdicts."""
    started = time.perf_counter()
    runs: list[CheckRun] = []
    for check in checks:
        targets: tuple[str | None, ...] = (
            tuple(e for e in check.engines if e in engines) if check.engines else (None,)
        )
        for engine in targets:
            if progress is not None:
                progress(check.name if engine is None else f"{check.name} ({engine})")
            t0 = time.perf_counter()
            try:
                outcome = check.run(engine, settings)
            except SimulationError as error:
                outcome = Outcome([stopped_row(check.name, engine, error)])
            runs.append(CheckRun(check, engine, outcome, time.perf_counter() - t0))
    rows = [row for run in runs for row in run.outcome.rows]
    m = max(sum(row.kind == "simulation" for row in rows), 1)
    alpha = FAMILY_ALPHA / m
    rows = [
        replace(row, passed=bool(row.p_value >= alpha)) if row.kind == "simulation" else row
        for row in rows
    ]
    return Report(runs, rows, alpha, bonferroni_z(alpha), settings, time.perf_counter() - started)
