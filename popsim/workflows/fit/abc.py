"""Approximate Bayesian computation: rejection ABC and ABC-SMC (population Monte Carlo).

Both algorithms take ``simulate(thetas, stage, first) -> stats``: the summary
statistics [n, m] of parameter rows ``thetas`` [n, p], draws ``first …`` of
stage ``stage`` (see :mod:`popsim.workflows.fit.simulator` for the seeds), and a
``distance(stats) -> d`` [n].

* Rejection (Pritchard et al. 1999): ``simulations`` prior draws; accept
  those with d ≤ ``tolerance``, or the ``accept`` fraction closest.
* ABC-SMC / PMC (Beaumont et al. 2009, Biometrika 96:983; Toni et al. 2009,
  J R Soc Interface 6:187). Generation 0 is rejection ABC keeping
  ``particles`` of ``particles / accept0`` prior draws. Generation t ≥ 1 has
  tolerance εₜ = the ``quantile`` of generation t − 1's accepted distances;
  proposals θ* = θⱼ + N(0, 2Σ), j drawn by weight, Σ the weighted covariance
  of generation t − 1; θ* outside the prior's support is redrawn without
  simulating; θ* is accepted if d ≤ εₜ, until ``particles`` are accepted.
  Weights wᵢ ∝ π(θᵢ) / Σⱼ wⱼ K(θᵢ | θⱼ). Proposals of a generation are drawn
  in rounds from a generator seeded by (root seed, t), simulated in order and
  accepted in draw order, so results do not depend on the executor.
  It stops after ``generations`` generations, or when a generation's
  acceptance rate falls below ``min_acceptance`` or the simulation budget
  ``max_simulations`` is spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from popsim.errors import PopsimError
from popsim.outputs.words import counted
from popsim.workflows.fit.priors import Prior, log_prior, sample_priors

SimulateFn = Callable[[np.ndarray, int, int], np.ndarray]
DistanceFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Population:
    """One ABC generation: accepted particles with normalised weights.

    ``simulations`` counts the simulations this generation ran; the
    acceptance rate is particles / simulations.
    """

    generation: int
    thetas: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    stats: np.ndarray
    tolerance: float
    simulations: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.weights) / self.simulations if self.simulations else float("nan")

    @property
    def ess(self) -> float:
        """Kish effective sample size 1 / Σ w²."""
        return float(1.0 / np.sum(self.weights**2))


def rejection(
    priors: tuple[Prior, ...],
    simulate: SimulateFn,
    distance: DistanceFn,
    simulations: int,
    *,
    seed: int,
    accept: float | None = None,
    tolerance: float | None = None,
    stage: int = 0,
) -> tuple[Population, np.ndarray]:
    """Rejection ABC; returns the accepted population and every draw's statistics
    (for scales from the prior predictive)."""
    rng = np.random.default_rng([seed, stage])
    thetas = sample_priors(priors, rng, simulations)
    stats = simulate(thetas, stage, 0)
    d = distance(stats)
    return select(thetas, stats, d, simulations, accept, tolerance, stage), stats


def select(
    thetas: np.ndarray,
    stats: np.ndarray,
    d: np.ndarray,
    simulations: int,
    accept: float | None,
    tolerance: float | None,
    generation: int,
) -> Population:
    """Keep draws with d ≤ tolerance, or the ``accept`` fraction with the smallest d
    (ties broken by draw order); equal weights."""
    if tolerance is None:
        assert accept is not None
        keep = max(1, round(accept * len(d)))
        order = np.argsort(d, kind="stable")[:keep]
        tolerance = float(d[order[-1]])
        if not math.isfinite(tolerance):
            order = order[np.isfinite(d[order])]
    else:
        order = np.nonzero(d <= tolerance)[0]
    if order.size == 0:
        raise PopsimError(
            f"ABC: no simulation of {simulations} came within tolerance {tolerance:g} of the "
            "observations; raise the tolerance, the simulations, or widen the priors"
        )
    n = order.size
    return Population(
        generation, thetas[order], np.full(n, 1.0 / n), d[order], stats[order],
        float(tolerance), simulations,
    )


def kernel_covariance(population: Population) -> np.ndarray:
    """Twice the weighted covariance of the particles (Beaumont et al. 2009)."""
    p = population.thetas.shape[1]
    if population.thetas.shape[0] < 2:
        return np.eye(p) * 1e-12
    cov = np.atleast_2d(np.cov(population.thetas, rowvar=False, aweights=population.weights))
    return 2.0 * cov + np.eye(p) * 1e-12 * max(1.0, float(np.max(np.abs(np.diag(cov)))))


def smc_generation(
    priors: tuple[Prior, ...],
    simulate: SimulateFn,
    distance: DistanceFn,
    previous: Population,
    *,
    particles: int,
    quantile: float,
    seed: int,
    budget: int,
) -> Population:
    """Generation ``previous.generation + 1`` of ABC-SMC (see the module docstring)."""
    t = previous.generation + 1
    tolerance = float(np.quantile(previous.distances, quantile))
    rng = np.random.default_rng([seed, t])
    cov = kernel_covariance(previous)
    chol = np.linalg.cholesky(cov)
    accepted: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n_accepted = 0
    simulated = 0
    rate = max(previous.acceptance_rate, 0.05)
    while n_accepted < particles:
        if simulated >= budget:
            raise _Exhausted(t, simulated, n_accepted)
        want = int(min(budget - simulated, max(particles, (particles - n_accepted) / rate * 1.2)))
        thetas = _propose(priors, previous, chol, rng, want)
        stats = simulate(thetas, t, simulated)
        d = distance(stats)
        simulated += want
        ok = np.nonzero(d <= tolerance)[0][: particles - n_accepted]
        accepted.append((thetas[ok], stats[ok], d[ok]))
        n_accepted += ok.size
    thetas = np.concatenate([a[0] for a in accepted])
    stats = np.concatenate([a[1] for a in accepted])
    d = np.concatenate([a[2] for a in accepted])
    weights = _weights(priors, thetas, previous, cov)
    return Population(t, thetas, weights, d, stats, tolerance, simulated)


class _Exhausted(Exception):
    def __init__(self, generation: int, simulated: int, accepted: int):
        super().__init__(
            f"generation {generation}: {accepted} accepted in {counted(simulated, 'simulation')}"
        )
        self.generation = generation


def _propose(
    priors: tuple[Prior, ...], previous: Population, chol: np.ndarray,
    rng: np.random.Generator, n: int,
) -> np.ndarray:
    """``n`` perturbed particles inside the prior's support (redrawn until inside)."""
    out = np.empty((n, previous.thetas.shape[1]))
    filled = 0
    for _ in range(10_000):
        m = n - filled
        j = rng.choice(len(previous.weights), size=m, p=previous.weights)
        candidate = previous.thetas[j] + rng.standard_normal((m, chol.shape[0])) @ chol.T
        inside = np.isfinite(log_prior(priors, candidate))
        good = candidate[inside]
        out[filled : filled + good.shape[0]] = good
        filled += good.shape[0]
        if filled == n:
            return out
    raise PopsimError("ABC-SMC: perturbed particles keep leaving the prior's support")


def _weights(
    priors: tuple[Prior, ...], thetas: np.ndarray, previous: Population, cov: np.ndarray
) -> np.ndarray:
    """wᵢ ∝ π(θᵢ) / Σⱼ wⱼ K(θᵢ | θⱼ), K the Gaussian kernel with covariance ``cov``."""
    inv = np.linalg.inv(cov)
    diff = thetas[:, None, :] - previous.thetas[None, :, :]
    quad = np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    log_k = -0.5 * quad  # the kernel's normalising constant cancels on normalising
    log_mix = np.log(np.sum(previous.weights[None, :] * np.exp(log_k - log_k.max(1, keepdims=True)),
                            axis=1)) + log_k.max(1)
    log_w = log_prior(priors, thetas) - log_mix
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def run_smc(
    priors: tuple[Prior, ...],
    simulate: SimulateFn,
    distance: DistanceFn,
    first: Population,
    *,
    particles: int,
    generations: int,
    quantile: float,
    seed: int,
    max_simulations: int,
    min_acceptance: float,
    done: list[Population] | None = None,
    on_generation: Callable[[Population], None] | None = None,
) -> tuple[list[Population], str]:
    """Generations 1 … ``generations`` − 1 after ``first`` (resuming after ``done``).

    Returns every generation (``first`` included) and why it stopped.
    """
    history = [first, *(done or [])]
    spent = sum(p.simulations for p in history)
    while len(history) < generations:
        if history[-1].acceptance_rate < min_acceptance:
            return history, (
                f"acceptance rate {history[-1].acceptance_rate:.3g} < min_acceptance "
                f"{min_acceptance:g}"
            )
        try:
            population = smc_generation(
                priors, simulate, distance, history[-1], particles=particles,
                quantile=quantile, seed=seed, budget=max_simulations - spent,
            )
        except _Exhausted:
            return history, f"simulation budget max_simulations = {max_simulations} spent"
        spent += population.simulations
        history.append(population)
        if on_generation is not None:
            on_generation(population)
    return history, f"{counted(generations, 'generation')} done"
