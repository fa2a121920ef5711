"""The unit of work a sweep hands to an executor: a batch of points.

:func:`run_task` simulates each point of a batch with
``simulate(scenario, point=k, burn_in_point=0)``: replicate r of point k gets its
seed from ``SeedSequence(root seed, spawn_key=(k,))`` (see :mod:`popsim.simulate`);
with the frequency engine its burn-in is that of point 0's replicate r (the seeds
of point 0), and from generation 0 it draws from its own seed. Points whose
burn-ins agree (:func:`popsim.burnin.burn_in_key`) so share one burn-in, computed
once (:data:`BURN_IN_POINT`; docs/sweeps.md). A point's row depends on the point
alone — not on the batch, the executor, the worker, the thread count or where its
burn-in was computed. A row is the point's final-generation summary for one deme
(:meth:`popsim.analysis.results.Result.summary_rows`), pivoted wide; workers need no
pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from popsim.burnin import BurnIns
from popsim.errors import PopsimError
from popsim.model.scenario import Scenario

#: The point whose seeds make every point's burn-in (frequency engine).
BURN_IN_POINT = 0
#: Summary columns kept per statistic: mean and the 2.5% and 97.5% quantiles across replicates.
SUMMARY_COLUMNS = ("mean", "q025", "q975")


@dataclass(frozen=True)
class Task:
    """Points ``points`` (indices) with their validated scenarios and labels.

    ``single_thread`` makes the worker run Numba kernels on one thread (one
    worker process per core); results do not depend on it. ``burn_ins``: burn-in
    states computed before (those shared by several points) and the on-disk
    cache, if any; without it the points burn in themselves, with the same numbers.
    """

    points: tuple[int, ...]
    scenarios: tuple[Scenario, ...]
    labels: tuple[str, ...]
    deme: str
    single_thread: bool = False
    burn_ins: BurnIns | None = None


def run_task(task: Task) -> list[dict[str, Any]]:
    """Simulate every point of ``task``; one row (a flat dict) per point.

    Raises:
        PopsimError: naming the point and its values, when a point's
            simulation stops (e.g. allele capacity exceeded).
    """
    from popsim.simulate import simulate

    if task.single_thread:
        import numba

        numba.set_num_threads(1)
    rows = []
    for k, scenario, label in zip(task.points, task.scenarios, task.labels, strict=True):
        try:
            result = simulate(scenario, point=k, burn_ins=task.burn_ins,
                              burn_in_point=BURN_IN_POINT)
        except PopsimError as error:
            raise PopsimError(f"sweep point {k} ({label}): {error}") from None
        rows.append(point_row(k, result.replicates, result.summary_rows(), task.deme))
    return rows


def point_row(
    point: int, replicates: int, summary: list[dict[str, Any]], deme: str
) -> dict[str, Any]:
    """One wide row from the long summary rows (keys deme, statistic, mean, q025, q975;
    :meth:`popsim.analysis.results.Result.summary_rows`).

    A statistic ``s`` gives ``s_mean``, ``s_q025`` and ``s_q975``; a probability
    (``p_founder_lost``, ``p_reach_observed_…``) gives one column ``s``.
    """
    row: dict[str, Any] = {"point": point, "replicates": replicates}
    for record in summary:
        if record["deme"] not in (deme, ""):  # "": rows of no deme (evidence_total)
            continue
        name = str(record["statistic"])
        if name.startswith("p_"):
            row[name] = float(record["mean"])
        else:
            for column in SUMMARY_COLUMNS:
                row[f"{name}_{column}"] = float(record[column])
    return row
