"""One ABC simulation = one replicate of the scenario at a parameter draw.

Draws are run in batches through the sweep executors
(:func:`popsim.workflows.sweep.executors.open_executor` with :func:`run_draws`), so
``serial``, ``processes`` and ``dask`` all work. Seeds: draw k of ABC
generation g (or model-choice/predictive stage g) is simulated with
``simulate(scenario, point=k)`` where the scenario's root seed is
:func:`stage_seed` (root seed, g), itself from ``SeedSequence([root, g])``;
its replicate seed is then ``SeedSequence(stage_seed, spawn_key=(k,))`` — a
function of (root seed, g, k) alone, whatever the executor, batch or worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from popsim.errors import PopsimError
from popsim.model.build import Model, build_model
from popsim.model.config import REPLICATES_KEY, SEED_KEY
from popsim.model.scenario import Scenario
from popsim.workflows.fit.observed import Observed
from popsim.workflows.fit.priors import Prior
from popsim.workflows.sweep.executors import open_executor


def stage_seed(root: int, stage: int) -> int:
    """Root seed of ABC stage ``stage`` (a 63-bit integer derived from (root, stage))."""
    word = np.random.SeedSequence([root, stage]).generate_state(1, np.uint64)[0]
    return int(word >> np.uint64(1))


def draw_model(
    base_raw: dict[str, Any],
    base_dir: Path,
    changes: dict[str, Any],
    priors: tuple[Prior, ...],
    theta: np.ndarray,
    where: str = "ABC draw",
) -> Model:
    """The validated model of one proposal: the base config with ``changes`` and
    then each prior's value of ``theta`` set (:func:`popsim.model.build.build_model`).

    A ConfigError names ``where`` and the proposal's values.
    """
    changes = dict(changes)
    for prior, x in zip(priors, theta, strict=True):
        changes.update(dict.fromkeys(prior.targets, prior.value(x)))
    label = ", ".join(f"{p.name} = {p.value(x)}" for p, x in zip(priors, theta, strict=True))
    return build_model(base_raw, overrides=changes, base_dir=base_dir, source=f"{where} ({label})")


def check_prior_box(
    base_raw: dict[str, Any],
    base_dir: Path,
    fixed: dict[str, Any],
    priors: tuple[Prior, ...],
    where: str,
) -> None:
    """Validate the proposals at each prior's two bounds, the other parameters at
    their middle (:meth:`~popsim.workflows.fit.priors.Prior.middle`), so that a box
    reaching invalid configs is refused before draw 0; with no prior, the fixed
    settings alone. Combinations of bounds are not tried.
    """
    changes = {**fixed, REPLICATES_KEY: 1}
    middle = np.array([p.middle() for p in priors])
    if not priors:
        draw_model(base_raw, base_dir, changes, priors, middle, where)
    for j, prior in enumerate(priors):
        for x in prior.ends():
            theta = middle.copy()
            theta[j] = x
            draw_model(base_raw, base_dir, changes, priors, theta, where)


@dataclass(frozen=True)
class DrawTask:
    """Draws ``draws`` (indices within their stage) with their scenarios; the
    statistics to report for each observation (statistic, deme)."""

    draws: tuple[int, ...]
    scenarios: tuple[Scenario, ...]
    observed: tuple[tuple[str, str], ...]
    single_thread: bool = False
    #: method = "likelihood": report log P(observation | history) of these observations
    #: of the scenario, then the total, instead of ``observed``'s statistics.
    likelihood: tuple[str, ...] = ()


def run_draws(task: DrawTask) -> list[dict[str, Any]]:
    """Simulate one replicate per draw; one row ``{"draw": k, "stats": [...]}`` each."""
    from popsim.analysis.evidence import history_log_likelihoods
    from popsim.simulate import simulate

    if task.single_thread:
        import numba

        numba.set_num_threads(1)
    rows = []
    for k, scenario in zip(task.draws, task.scenarios, strict=True):
        try:
            result = simulate(scenario, replicates=1, point=k)
        except PopsimError as error:
            raise PopsimError(f"ABC draw {k}: {error}") from None
        stats = result.final_statistics
        if task.likelihood:
            logliks = history_log_likelihoods(result.scenario, stats, result.deme_names)
            values = [float(logliks[name][0]) for name in (*task.likelihood, "total")]
            rows.append({"draw": k, "stats": values})
            continue
        values = []
        for statistic, deme in task.observed:
            if statistic == "allele_age":
                founded = min(a.generation for a in scenario.locus.founder_alleles)
                values.append(float(scenario.generations - founded))
            else:
                d = result.deme_names.index(deme)
                values.append(float(stats[statistic][0, d]))
        rows.append({"draw": k, "stats": values})
    return rows


class Simulator:
    """Builds each draw's scenario from the base config and runs batches of draws.

    ``simulate(thetas, stage, changes=None)`` returns the statistics [n, m] of
    rows ``thetas`` [n, p] (with ``likelihood``: the log-likelihoods [n, k + 1]);
    ``changes`` adds per-draw fixed keys (model choice).
    """

    def __init__(
        self,
        base_raw: dict[str, Any],
        base_dir: Path,
        fixed: dict[str, Any],
        observed: tuple[Observed, ...],
        seed: int,
        run: Callable[[Sequence[DrawTask]], Iterator[list[dict[str, Any]]]],
        batch: int,
        single_thread: bool,
        progress: Callable[[int], None] | None = None,
        likelihood: tuple[str, ...] = (),
    ):
        self.base_raw = base_raw
        self.base_dir = base_dir
        self.fixed = fixed
        self.observed = tuple((o.statistic, o.deme) for o in observed)
        self.likelihood = likelihood
        self.seed = seed
        self.run = run
        self.batch = batch
        self.single_thread = single_thread
        self.progress = progress
        self.count = 0

    def scenario(
        self, priors: tuple[Prior, ...], theta: np.ndarray, stage: int, extra: dict[str, Any]
    ) -> Scenario:
        """The validated scenario of one draw (ConfigError names the draw's values)."""
        changes = {**self.fixed, **extra, SEED_KEY: stage_seed(self.seed, stage),
                   REPLICATES_KEY: 1}
        return draw_model(self.base_raw, self.base_dir, changes, priors, theta).scenario

    def simulate(
        self,
        priors: tuple[Prior, ...],
        thetas: np.ndarray,
        stage: int,
        first: int = 0,
        extras: Sequence[dict[str, Any]] | None = None,
    ) -> np.ndarray:
        """Statistics [n, m] of draws ``first … first + n − 1`` of ``stage``."""
        n = thetas.shape[0]
        scenarios = [
            self.scenario(priors, thetas[i], stage, extras[i] if extras else {}) for i in range(n)
        ]
        tasks = [
            DrawTask(
                draws=tuple(range(first + s, first + min(s + self.batch, n))),
                scenarios=tuple(scenarios[s : s + self.batch]),
                observed=self.observed,
                single_thread=self.single_thread,
                likelihood=self.likelihood,
            )
            for s in range(0, n, self.batch)
        ]
        width = len(self.likelihood) + 1 if self.likelihood else len(self.observed)
        out = np.full((n, width), np.nan)
        for rows in self.run(tasks):
            for row in rows:
                out[row["draw"] - first] = row["stats"]
            self.count += len(rows)
            if self.progress is not None:
                self.progress(len(rows))
        return out


@contextmanager
def open_simulator(
    base_raw: dict[str, Any],
    base_dir: Path,
    fixed: dict[str, Any],
    observed: tuple[Observed, ...],
    seed: int,
    *,
    executor: str = "serial",
    workers: int = 1,
    scheduler: str | None = None,
    batch: int = 50,
    progress: Callable[[int], None] | None = None,
    likelihood: tuple[str, ...] = (),
) -> Iterator[Simulator]:
    """A :class:`Simulator` backed by an open executor (closed on leaving; ``scheduler``:
    an existing Dask scheduler's TLS address for ``executor = "dask"``); with
    ``likelihood`` names, draws report those observations' log-likelihoods."""
    with open_executor(executor, workers, scheduler, function=run_draws) as run:
        yield Simulator(
            base_raw, base_dir, fixed, observed, seed, run, batch,
            single_thread=executor != "serial", progress=progress, likelihood=likelihood,
        )
