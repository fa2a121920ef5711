"""``run_fit``: a fit file → posterior, summary, figures, model choice, in a directory.

Layout of ``DIR``::

    DIR/manifest.json                 provenance (popsim.provenance) with a "fit" section:
                                      fit file and hashes, seed, settings, outcome
    DIR/generations/generation-G.json one finished ABC generation (particles, weights, ε)
    DIR/generations/round-R.json      method = "likelihood": one finished round
    DIR/posterior.parquet, .csv       ABC: the final generation: parameters, weight, distance,
                                      statistics; likelihood: every draw of every round,
                                      weight, loglik_<observation>, loglik_total
    DIR/summary.csv                   per parameter: weighted median, 95% interval, flags
                                      (popsim.workflows.fit.diagnostics); with ESS and
                                      simulations (ABC: acceptance rate of the final generation)
    DIR/generations.csv               per generation: tolerance, simulations, acceptance, ESS;
                                      likelihood: per round: simulations, draws tried, n_eff
    DIR/predictive.csv                posterior predictive simulations of the observed statistics
    DIR/model_choice.csv              posterior model probabilities, Bayes factors
    DIR/figures/*.png                 marginals, pairwise densities, predictive check

Every file is written atomically (:mod:`popsim.outputs.files`). Each ABC generation
(likelihood round) is committed as it finishes, so ``resume=True`` continues an interrupted fit
from its last finished generation with the same results (each generation's
random numbers derive from (seed, generation) only). Model choice and the
predictive check are rerun on resume.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from popsim.analysis.weighted import effective_histories
from popsim.errors import PopsimError
from popsim.outputs.files import (
    check_output_path,
    damaged,
    read_json_record,
    write_bytes_atomic,
    write_text_atomic,
)
from popsim.outputs.words import counted
from popsim.provenance import build_manifest, read_manifest, reuse_refusal, utc_now, write_manifest
from popsim.workflows.fit.abc import Population, rejection, run_smc
from popsim.workflows.fit.diagnostics import diagnose, predictive_flags
from popsim.workflows.fit.likelihood import (
    Round,
    log_evidence,
    pooled_weights,
    posterior_weights,
    run_rounds,
)
from popsim.workflows.fit.model_choice import CAVEAT, ModelChoiceResult, choose_model
from popsim.workflows.fit.observed import distances, observation_scales
from popsim.workflows.fit.simulator import Simulator, open_simulator
from popsim.workflows.fit.spec import Fit
from popsim.workflows.sweep.executors import check_scheduler_address, default_workers

#: Seed stage of the posterior predictive simulations.
PREDICTIVE_STAGE = 2_000


class FitInterrupted(Exception):
    """Ctrl-C during a fit: ``done`` ABC generations are saved in ``directory``."""

    def __init__(self, directory: Path, done: int):
        super().__init__(f"{counted(done, 'generation')} saved in {directory}")
        self.directory = directory
        self.done = done


@dataclass(frozen=True)
class FitOutcome:
    """What a fit produced (also written to ``directory``)."""

    directory: Path
    history: list[Population]
    posterior: pd.DataFrame
    summary: pd.DataFrame
    stopped: str
    model_choice: ModelChoiceResult | None
    simulations: int
    wall_seconds: float
    resumed: int
    #: method = "likelihood": its rounds (``history`` is then empty).
    rounds: list[Round] = field(default_factory=list)
    #: n_eff of the posterior's weights (Kish).
    ess: float = math.nan
    #: method = "likelihood": log of the estimate of P(data) (the evidence).
    log_evidence: float = math.nan
    #: method = "likelihood": the n_eff below which the posterior is flagged unreadable.
    min_ess: float = math.nan
    #: ABC methods: the posterior predictive check's flags (:func:`predictive_flags`).
    predictive_flags: list[str] = field(default_factory=list)


def run_fit(
    fit: Fit,
    out: str | Path,
    *,
    executor: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    figures: bool = True,
    progress: Callable[[int], None] | None = None,
    command_line: str | None = None,
) -> FitOutcome:
    """Run the fit's ABC (and model choice) and write everything into ``out``;
    ``scheduler``: an existing Dask scheduler (``tls://HOST[:PORT]``) for
    ``executor = "dask"``; ``command_line`` (as typed, None from Python) goes into
    the manifest."""
    started_at = utc_now()
    started = time.perf_counter()
    directory = Path(out)
    if scheduler is not None:  # before anything is written
        if executor != "dask":
            raise PopsimError(f"--scheduler: needs --executor dask, not {executor}")
        check_scheduler_address(scheduler)
    manifest = fit_manifest(fit, command_line=command_line, started=started_at)
    resuming = _open_directory(directory, manifest, resume, overwrite)
    run = _run_likelihood if fit.likelihood else _run_abc
    simulator = partial(  # the executor behind every draw, for either method
        open_simulator, fit.base_raw, fit.base_path.parent, fit.fixed,
        () if fit.likelihood else fit.observed, fit.seed, executor=executor,
        workers=workers or default_workers(), scheduler=scheduler, batch=fit.settings.batch,
        progress=progress, likelihood=fit.likelihood,
    )
    try:
        return run(fit, directory, manifest, resuming, started, simulator, figures)
    except PopsimError:
        if not resuming and [p.name for p in directory.iterdir()] == ["manifest.json"]:
            shutil.rmtree(directory)  # nothing was computed: leave nothing behind
        raise


def _run_abc(
    fit: Fit,
    directory: Path,
    manifest: dict[str, Any],
    resuming: bool,
    started: float,
    simulator: Callable[[], AbstractContextManager[Simulator]],
    figures: bool,
) -> FitOutcome:
    """The ABC methods (rejection, ABC-SMC) and model choice: each generation
    committed as it finishes, then the posterior, the predictive check and the
    tables."""
    done = _load_generations(directory) if resuming else []

    def commit(population: Population, scales: np.ndarray) -> None:
        write_text_atomic(
            directory / "generations" / f"generation-{population.generation}.json",
            json.dumps(_population_json(population, scales)),
        )

    with simulator() as draws:
        try:
            history, scales, stopped = _abc(fit, draws, done, commit)
            def distance(stats: np.ndarray) -> np.ndarray:
                return distances(stats, fit.observed, scales)
            choice = (
                choose_model(fit.model_choice, fit.priors, draws, distance, fit.seed)
                if fit.model_choice else None
            )
            predictive = _predictive(fit, draws, history[-1])
        except KeyboardInterrupt:
            raise FitInterrupted(directory, len(_load_generations(directory))) from None
    final = history[-1]
    posterior = posterior_table(fit, final)
    summary = summary_table(fit, final.thetas, final.weights, {
        "acceptance_rate": final.acceptance_rate, "ess": final.ess,
        "tolerance": final.tolerance, "simulations": final.simulations,
    })
    flags = predictive_flags(
        [o.value for o in fit.observed], [o.statistic for o in fit.observed],
        predictive.to_numpy(dtype=np.float64),
    )
    generations = pd.DataFrame([
        {"generation": p.generation, "tolerance": p.tolerance, "simulations": p.simulations,
         "particles": len(p.weights), "acceptance_rate": p.acceptance_rate, "ess": p.ess}
        for p in history
    ])
    simulations = int(sum(p.simulations for p in history)) + (
        choice.simulations if choice else 0) + len(predictive)
    manifest["fit"]["outcome"] = {
        "stopped": stopped, "generations": len(history), "simulations": simulations,
        "scales": dict(zip([o.statistic for o in fit.observed], scales.tolist(), strict=True)),
        "final_tolerance": final.tolerance,
        "model_choice_caveat": CAVEAT if choice else None,
        "flags": [f for f in summary["flag"] if f] + flags,
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    _write_tables(directory, posterior, summary, generations, predictive, choice, manifest)
    if figures:
        from popsim.workflows.fit.figures import fit_figures

        fit_figures(fit, posterior, predictive, directory / "figures")
    return FitOutcome(
        directory, history, posterior, summary, stopped, choice, simulations,
        time.perf_counter() - started, len(done), ess=final.ess, predictive_flags=flags,
    )


def _run_likelihood(
    fit: Fit,
    directory: Path,
    manifest: dict[str, Any],
    resuming: bool,
    started: float,
    simulator: Callable[[], AbstractContextManager[Simulator]],
    figures: bool,
) -> FitOutcome:
    """method = "likelihood" (:mod:`popsim.workflows.fit.likelihood`): its rounds, each
    committed as it finishes, then the weighted posterior and the tables."""
    s = fit.settings
    done = _load_rounds(directory) if resuming else []

    def commit(r: Round) -> None:
        write_text_atomic(directory / "generations" / f"round-{r.round}.json",
                          json.dumps(_round_json(r)))

    with simulator() as draws:
        def loglik(thetas: np.ndarray, stage: int, first: int) -> np.ndarray:
            return draws.simulate(fit.priors, thetas, stage, first)

        try:
            rounds = run_rounds(
                fit.priors, loglik, rounds=s.rounds, per_round=s.simulations // s.rounds,
                defensive=s.defensive, seed=fit.seed, done=done, on_round=commit,
            )
        except KeyboardInterrupt:
            raise FitInterrupted(directory, len(_load_rounds(directory))) from None
    weights = posterior_weights(rounds)
    ess = effective_histories(weights)
    thetas = np.concatenate([r.thetas for r in rounds])
    logliks = np.concatenate([r.logliks for r in rounds])
    simulations = sum(r.simulations for r in rounds)
    posterior = _likelihood_posterior(fit, rounds, thetas, weights, logliks)
    summary = summary_table(fit, thetas, weights, {"ess": ess, "simulations": simulations})
    table = pd.DataFrame([
        {"round": r.round, "simulations": r.simulations, "tried": r.tried,
         "ess": effective_histories(pooled_weights([r])),
         "ess_pooled": effective_histories(pooled_weights(rounds[: r.round + 1]))}
        for r in rounds
    ])
    evidence = log_evidence(rounds)
    stopped = f"{counted(len(rounds), 'round')} done"
    readable = ess >= s.min_ess
    manifest["fit"]["outcome"] = {
        "stopped": stopped, "rounds": len(rounds), "simulations": simulations,
        "ess": ess, "min_ess": s.min_ess, "readable": readable, "log_evidence": evidence,
        "flags": [f for f in summary["flag"] if f],
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    _write_tables(directory, posterior, summary, table, pd.DataFrame(), None, manifest)
    if figures:
        from popsim.workflows.fit.figures import fit_figures

        fit_figures(fit, posterior, pd.DataFrame(), directory / "figures")
    return FitOutcome(
        directory, [], posterior, summary, stopped, None, simulations,
        time.perf_counter() - started, len(done), rounds=rounds, ess=ess,
        log_evidence=evidence, min_ess=s.min_ess,
    )


def _likelihood_posterior(
    fit: Fit, rounds: list[Round], thetas: np.ndarray, weights: np.ndarray,
    logliks: np.ndarray,
) -> pd.DataFrame:
    """One row per simulated draw of every round: parameters (integers rounded), round,
    weight and the log-likelihood of each observation and in total."""
    table: dict[str, Any] = {}
    for j, prior in enumerate(fit.priors):
        column = thetas[:, j]
        table[prior.name] = np.round(column).astype(np.int64) if prior.integer else column
    table["round"] = np.concatenate([np.full(r.simulations, r.round) for r in rounds])
    table["weight"] = weights
    for i, name in enumerate(fit.columns):
        table[name] = logliks[:, i]
    return pd.DataFrame(table)


def _abc(
    fit: Fit,
    simulator: Simulator,
    done: list[tuple[Population, np.ndarray]],
    commit: Callable[[Population, np.ndarray], None],
) -> tuple[list[Population], np.ndarray, str]:
    """Rejection ABC, or ABC-SMC after a rejection generation 0; resumes after ``done``."""
    s = fit.settings
    priors = fit.priors

    def simulate(thetas: np.ndarray, stage: int, first: int) -> np.ndarray:
        return simulator.simulate(priors, thetas, stage, first)

    scales_box: list[np.ndarray] = [done[0][1]] if done else []

    def distance(stats: np.ndarray) -> np.ndarray:
        if not scales_box:  # generation 0: scales from its prior simulations
            scales_box.append(observation_scales(fit.observed, stats, s.scale))
        return distances(stats, fit.observed, scales_box[0])

    if done:
        first = done[0][0]
    else:
        accept = s.accept if s.method == "rejection" else s.particles / s.simulations
        first, _ = rejection(
            priors, simulate, distance, s.simulations, seed=fit.seed, accept=accept,
            tolerance=s.tolerance, stage=0,
        )
        commit(first, scales_box[0])
    if s.method == "rejection":
        return [first], scales_box[0], "rejection ABC"
    history, stopped = run_smc(
        priors, simulate, distance, first, particles=s.particles, generations=s.generations,
        quantile=s.quantile, seed=fit.seed, max_simulations=s.max_simulations,
        min_acceptance=s.min_acceptance, done=[p for p, _ in done[1:]],
        on_generation=lambda p: commit(p, scales_box[0]),
    )
    return history, scales_box[0], stopped


def _predictive(fit: Fit, simulator: Simulator, final: Population) -> pd.DataFrame:
    """Simulate ``predictive`` posterior draws (resampled by weight) once more each."""
    n = fit.settings.predictive
    columns = [o.statistic for o in fit.observed]
    if n == 0:
        return pd.DataFrame(columns=columns)
    rng = np.random.default_rng([fit.seed, PREDICTIVE_STAGE])
    picks = rng.choice(len(final.weights), size=n, p=final.weights)
    stats = simulator.simulate(fit.priors, final.thetas[picks], PREDICTIVE_STAGE)
    return pd.DataFrame(stats, columns=columns)


# --------------------------------------------------------------------------- tables


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-quantile of a weighted sample (inverse of the weighted step CDF)."""
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    cdf = cdf / cdf[-1]
    return float(values[order][min(np.searchsorted(cdf, q), len(cdf) - 1)])


def posterior_table(fit: Fit, population: Population) -> pd.DataFrame:
    """One row per particle: parameter values as set in the scenario (integers
    rounded), weight, distance and the simulated statistics."""
    table: dict[str, Any] = {}
    for j, prior in enumerate(fit.priors):
        column = population.thetas[:, j]
        table[prior.name] = np.round(column).astype(np.int64) if prior.integer else column
    table["weight"] = population.weights
    table["distance"] = population.distances
    for i, obs in enumerate(fit.observed):
        table[f"sim_{obs.statistic}"] = population.stats[:, i]
    return pd.DataFrame(table)


def summary_table(
    fit: Fit, thetas: np.ndarray, weights: np.ndarray, extra: dict[str, float]
) -> pd.DataFrame:
    """Per parameter: weighted mean, median and 95% interval (2.5%, 97.5%), the
    diagnostics of :func:`~popsim.workflows.fit.diagnostics.diagnose` (``width_ratio``,
    ``mass_low``, ``mass_high``, ``flag``), then ``extra`` (e.g. the ESS)."""
    rows = []
    for j, prior in enumerate(fit.priors):
        x = thetas[:, j]
        if prior.integer:
            x = np.round(x)
        check = diagnose(prior, thetas[:, j], weights)
        rows.append({
            "parameter": prior.name,
            "mean": float(np.sum(weights * x)),
            "q025": weighted_quantile(x, weights, 0.025),
            "median": weighted_quantile(x, weights, 0.5),
            "q975": weighted_quantile(x, weights, 0.975),
            "prior_low": prior.low + (0.5 if prior.integer else 0.0),
            "prior_high": prior.high - (0.5 if prior.integer else 0.0),
            "prior": prior.distribution,
            "width_ratio": check.width_ratio,
            "mass_low": check.mass_low,
            "mass_high": check.mass_high,
            "flag": check.flag,
            **extra,
        })
    return pd.DataFrame(rows)


def _write_tables(
    directory: Path,
    posterior: pd.DataFrame,
    summary: pd.DataFrame,
    generations: pd.DataFrame,
    predictive: pd.DataFrame,
    choice: ModelChoiceResult | None,
    manifest: dict[str, Any],
) -> None:
    import io

    buffer = io.BytesIO()
    posterior.to_parquet(buffer, index=False)
    write_bytes_atomic(directory / "posterior.parquet", buffer.getvalue())
    write_text_atomic(directory / "posterior.csv", posterior.to_csv(index=False))
    write_text_atomic(directory / "summary.csv", summary.to_csv(index=False))
    write_text_atomic(directory / "generations.csv", generations.to_csv(index=False))
    write_text_atomic(directory / "predictive.csv", predictive.to_csv(index=False))
    if choice is not None:
        write_text_atomic(directory / "model_choice.csv", choice.table.to_csv(index=False))
    write_manifest(directory / "manifest.json", manifest)


# --------------------------------------------------------------------------- directory


def fit_manifest(
    fit: Fit, *, command_line: str | None = None, started: str | None = None
) -> dict[str, Any]:
    """What identifies the fit and its results (checked on --resume): the common
    provenance block (:mod:`popsim.provenance`) and a ``fit`` section."""
    base = json.dumps(asdict(fit.base), sort_keys=True, default=str)
    section = {
        "fit_file": str(fit.path),
        "fit_sha256": fit.sha256,
        "fit_text": fit.text,
        "base_file": str(fit.base_path),
        "base_sha256": hashlib.sha256(base.encode("utf-8")).hexdigest(),
        "fixed": json.loads(json.dumps(fit.fixed, default=str)),
        "seed": fit.seed,
        "seed_rule": "draw k of stage g (ABC generation or likelihood round g; model choice "
        "1000+m; predictive 2000): simulate(scenario with seed = SeedSequence([seed, g]) "
        "state >> 1, point=k), one replicate",
        "settings": asdict(fit.settings),
    }
    return build_manifest("fit", section, command_line=command_line, started=started)


#: Entries of the manifest's fit section that must match for --resume, with what changed;
#: besides the common ones of :func:`popsim.provenance.reuse_refusal`.
RESUME_KEYS = {
    "fit_sha256": "the fit file changed",
    "base_sha256": "the base scenario changed",
    "fixed": "the --set values changed",
    "seed": "the seed changed",
}


def _open_directory(
    directory: Path, manifest: dict[str, Any], resume: bool, overwrite: bool
) -> bool:
    """Prepare ``directory``; True when resuming the fit already in it."""
    check_output_path(directory)
    if directory.exists() and resume:
        old = read_manifest(directory / "manifest.json", "fit")
        if old is None:
            raise PopsimError(
                f"--out {directory}: not a popsim fit directory (no valid manifest.json)"
            )
        reasons = [
            message for key, message in RESUME_KEYS.items()
            if old["fit"].get(key) != manifest["fit"][key]
        ]
        reason = reasons[0] if reasons else reuse_refusal(old, manifest)
        if reason is not None:
            raise PopsimError(
                f"--resume: refused: {reason} since the fit in {directory} started; run it "
                "into a new --out, or pass --overwrite to start again"
            )
        return True
    if directory.exists():
        if not overwrite:
            raise PopsimError(
                f"--out {directory}: already exists; pass --resume to continue it or "
                "--overwrite to replace it"
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    write_manifest(directory / "manifest.json", manifest)
    return False


def _population_json(p: Population, scales: np.ndarray) -> dict[str, Any]:
    return {
        "generation": p.generation, "tolerance": p.tolerance, "simulations": p.simulations,
        "scales": scales.tolist(), "thetas": p.thetas.tolist(), "weights": p.weights.tolist(),
        "distances": p.distances.tolist(), "stats": p.stats.tolist(),
    }


#: What to do about a damaged round or generation file of a fit directory.
DAMAGED_REMEDY = (
    "delete it and the later ones and pass --resume to recompute from there, "
    "or start again with --overwrite"
)


def _load_generations(directory: Path) -> list[tuple[Population, np.ndarray]]:
    """Finished generations 0, 1, … in ``directory`` (stopping at the first gap)."""
    out = []
    g = 0
    while (path := directory / "generations" / f"generation-{g}.json").is_file():
        data = read_json_record(path, DAMAGED_REMEDY)
        with _damaged_if_malformed(path):
            n = len(data["weights"])
            population = Population(
                g, np.array(data["thetas"], dtype=float).reshape(n, -1),
                np.array(data["weights"], dtype=float), np.array(data["distances"], dtype=float),
                np.array(data["stats"], dtype=float).reshape(n, -1),
                float(data["tolerance"]), int(data["simulations"]),
            )
            scales = np.array(data["scales"], dtype=float)
            if (population.distances.shape != (n,) or population.stats.shape[1] != scales.size
                    or not np.all(population.weights >= 0)):
                raise ValueError("the particles' arrays do not agree")
        out.append((population, scales))
        g += 1
    return out


@contextmanager
def _damaged_if_malformed(path: Path) -> Iterator[None]:
    """Turn a missing entry or an array of the wrong shape or type in a committed
    round or generation file into :func:`~popsim.outputs.files.damaged`."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as error:
        reason = f"no entry {error}" if isinstance(error, KeyError) else str(error)
        raise damaged(path, reason, DAMAGED_REMEDY) from None


def _round_json(r: Round) -> dict[str, Any]:
    return {
        "round": r.round, "tried": r.tried, "thetas": r.thetas.tolist(),
        "log_ratio": r.log_ratio.tolist(), "logliks": r.logliks.tolist(),
    }


def _load_rounds(directory: Path) -> list[Round]:
    """Finished likelihood rounds 0, 1, … in ``directory`` (stopping at the first gap)."""
    out = []
    r = 0
    while (path := directory / "generations" / f"round-{r}.json").is_file():
        data = read_json_record(path, DAMAGED_REMEDY)
        with _damaged_if_malformed(path):
            n = len(data["log_ratio"])
            out.append(Round(
                r, np.array(data["thetas"], dtype=float).reshape(n, -1),
                np.array(data["log_ratio"], dtype=float),
                np.array(data["logliks"], dtype=float).reshape(n, -1), int(data["tried"]),
            ))
        r += 1
    return out
