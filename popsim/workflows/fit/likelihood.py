"""Likelihood-weighted fit: pseudo-marginal adaptive importance sampling.

The data are the count observations of ``[[observed]]`` (the forms of
:mod:`popsim.analysis.evidence`); a simulated history h gives them the
likelihood L_h = P(data | h) (:func:`popsim.analysis.evidence.history_log_likelihoods`).
For a proposal θ one history is simulated. E[L_h | θ] = P(data | θ), the
likelihood of θ, so L_h is an unbiased estimate of it and a draw θ ~ q
weighted by w = π(θ)/q(θ)·L_h is a proper importance weight for the EXACT
posterior π(θ | data) (pseudo-marginal importance sampling: Beaumont, Genetics
164:1139, 2003; Andrieu & Roberts, Ann Stat 37:697, 2009; Tran et al.,
"Importance sampling squared", arXiv:1309.3339). No tolerance or summary
distance is involved; the only error is Monte Carlo error, measured by the
effective sample size n_eff = (Σw)²/Σw² (Kish).

Rounds (``rounds`` of ``simulations // rounds`` simulated draws each). All
parameters are handled on the scale z where their prior is uniform (z = log θ
for a log-uniform prior), so π(z) is constant on the prior box:

* round 0: draws from the prior, w = L_h;
* round r ≥ 1: draws from the defensive mixture (Hesterberg, Technometrics
  37:185, 1995; Owen & Zhou, JASA 95:135, 2000)
  q_r(z) = α·π(z) + (1 − α)·N(z; μ, 2Σ), μ and Σ the weighted mean and
  covariance of all particles so far (the factor 2 widens the Gaussian as in
  Beaumont et al., Biometrika 96:983, 2009), α = ``defensive``; w =
  π(z)/q_r(z)·L_h ≤ L_h/α. A Gaussian draw outside the prior box has weight 0:
  it is dropped without simulating and the round keeps drawing until it has its
  draws inside (its weights stay π/q_r·L_h with q_r untruncated, so each round's
  weight sum estimates (draws tried)·P(data), and rounds pool correctly).
  When the particles so far have n_eff < p + 2 (p parameters), the round draws
  from the prior alone.

Each round is an unbiased importance sampler given the rounds before it, so
the particles of all rounds are pooled with their own weights (no
re-weighting of earlier rounds). Proposals of round r are drawn from a
generator seeded by (seed, r) and simulated as draws of stage r
(:mod:`popsim.workflows.fit.simulator`), so results do not depend on the
executor, and an interrupted fit resumes after its last finished round.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from popsim.analysis.weighted import effective_histories, likelihood_weights
from popsim.errors import PopsimError
from popsim.workflows.fit.priors import Prior, sample_priors

#: The Gaussian component's covariance is this multiple of the particles' covariance.
COVARIANCE_SCALE = 2.0

#: ``simulate(thetas, stage, first)`` → log-likelihoods [n, k + 1]: per observation,
#: then the total (column −1).
LogLikFn = Callable[[np.ndarray, int, int], np.ndarray]


@dataclass(frozen=True)
class Round:
    """One round of proposals: parameters ``thetas`` [n, p] (the prior's scale),
    ``log_ratio`` = log π(θ) − log q(θ) [n] (0 in round 0), ``logliks`` [n, k + 1]
    (per observation, then the total), and ``tried``: the draws made from q,
    those outside the prior box (weight 0, not simulated) included."""

    round: int
    thetas: np.ndarray
    log_ratio: np.ndarray
    logliks: np.ndarray
    tried: int

    @property
    def simulations(self) -> int:
        return int(self.thetas.shape[0])


def to_z(priors: Sequence[Prior], thetas: np.ndarray) -> np.ndarray:
    """Parameters on the scale where each prior is uniform (log for log-uniform)."""
    z = np.array(thetas, dtype=float, copy=True)
    for j, prior in enumerate(priors):
        if prior.distribution == "log_uniform":
            z[:, j] = np.log(z[:, j])
    return z


def from_z(priors: Sequence[Prior], z: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_z`."""
    thetas = np.array(z, dtype=float, copy=True)
    for j, prior in enumerate(priors):
        if prior.distribution == "log_uniform":
            thetas[:, j] = np.exp(thetas[:, j])
    return thetas


def z_bounds(priors: Sequence[Prior]) -> tuple[np.ndarray, np.ndarray]:
    """The prior box on the z scale: (low [p], high [p])."""
    low = np.array([math.log(p.low) if p.distribution == "log_uniform" else p.low
                    for p in priors])
    high = np.array([math.log(p.high) if p.distribution == "log_uniform" else p.high
                     for p in priors])
    return low, high


def pooled_weights(rounds: Sequence[Round]) -> np.ndarray:
    """Normalised weights of the particles of all ``rounds`` (in order): w ∝
    π/q·L_h (:func:`~popsim.analysis.weighted.likelihood_weights`); all 0 when no
    particle has a positive likelihood."""
    return likelihood_weights(np.concatenate([r.log_ratio + r.logliks[:, -1] for r in rounds]))


def posterior_weights(rounds: Sequence[Round]) -> np.ndarray:
    """:func:`pooled_weights` of the whole fit; raises when every weight is 0 (no
    posterior to read)."""
    weights = pooled_weights(rounds)
    if not weights.any():
        raise PopsimError(
            f"fit: none of {sum(r.simulations for r in rounds)} simulated histories gives the "
            "observations a positive likelihood; widen the priors or check the observations"
        )
    return weights


def log_evidence(rounds: Sequence[Round]) -> float:
    """log of the importance sampling estimate of P(data) = E_prior[L_h]:
    log(Σ w / Σ tried) over all rounds (unnormalised w = π/q·L_h)."""
    log_w = np.concatenate([r.log_ratio + r.logliks[:, -1] for r in rounds])
    finite = log_w[np.isfinite(log_w)]
    if finite.size == 0:
        return -math.inf
    top = float(np.max(finite))
    return top + math.log(float(np.sum(np.exp(finite - top)))) - math.log(
        sum(r.tried for r in rounds))


def _mixture_log_density(
    z: np.ndarray, log_prior: float, mean: np.ndarray | None, cov: np.ndarray | None,
    defensive: float,
) -> np.ndarray:
    """log q(z) of the defensive mixture (prior only when ``mean`` is None)."""
    if mean is None or cov is None:
        return np.full(z.shape[0], log_prior)
    p = z.shape[1]
    chol = np.linalg.cholesky(cov)
    solved = np.linalg.solve(chol, (z - mean).T)
    log_normal = (-0.5 * np.sum(solved**2, axis=0) - np.sum(np.log(np.diag(chol)))
                  - 0.5 * p * math.log(2 * math.pi))
    return np.logaddexp(math.log(defensive) + log_prior,
                        math.log1p(-defensive) + log_normal)


def _gaussian(
    priors: Sequence[Prior], rounds: Sequence[Round]
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """(μ, 2Σ) of the weighted particles so far on the z scale, or (None, None) when
    their n_eff is below p + 2."""
    w = pooled_weights(rounds)
    p = len(priors)
    if effective_histories(w) < p + 2:
        return None, None
    z = to_z(priors, np.concatenate([r.thetas for r in rounds]))
    mean = np.sum(w[:, None] * z, axis=0)
    diff = z - mean
    cov = (w[:, None] * diff).T @ diff / (1.0 - np.sum(w**2))
    low, high = z_bounds(priors)
    jitter = np.diag(1e-9 * (high - low) ** 2)
    return mean, COVARIANCE_SCALE * np.atleast_2d(cov) + jitter


def propose(
    priors: Sequence[Prior], rounds: Sequence[Round], n: int, defensive: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``n`` draws inside the prior box from round ``len(rounds)``'s proposal:
    (thetas [n, p], log π − log q [n], draws tried)."""
    low, high = z_bounds(priors)
    log_prior = -float(np.sum(np.log(high - low)))
    mean, cov = _gaussian(priors, rounds) if rounds else (None, None)
    if mean is None or cov is None:
        thetas = sample_priors(tuple(priors), rng, n)
        return thetas, np.zeros(n), n
    chol = np.linalg.cholesky(cov)
    kept: list[np.ndarray] = []
    have = tried = 0
    while have < n:
        m = max(n - have, 16)
        from_prior = rng.random(m) < defensive
        z = mean + rng.standard_normal((m, len(priors))) @ chol.T
        z[from_prior] = to_z(priors, sample_priors(tuple(priors), rng, int(from_prior.sum())))
        inside = np.all((z >= low) & (z <= high), axis=1)
        for i in range(m):
            tried += 1
            if inside[i]:
                kept.append(z[i])
                have += 1
                if have == n:
                    break
        if tried > 1000 * n:
            raise PopsimError("fit: the proposal keeps leaving the prior's support")
    z = np.array(kept)
    log_q = _mixture_log_density(z, log_prior, mean, cov, defensive)
    return from_z(priors, z), log_prior - log_q, tried


def run_rounds(
    priors: tuple[Prior, ...],
    loglik: LogLikFn,
    *,
    rounds: int,
    per_round: int,
    defensive: float,
    seed: int,
    done: Sequence[Round] = (),
    on_round: Callable[[Round], None] | None = None,
) -> list[Round]:
    """Rounds ``len(done) … rounds − 1`` after ``done`` (see the module docstring)."""
    history = list(done)
    while len(history) < rounds:
        r = len(history)
        rng = np.random.default_rng([seed, r])
        thetas, log_ratio, tried = propose(priors, history, per_round, defensive, rng)
        result = Round(r, thetas, log_ratio, loglik(thetas, r, 0), tried)
        history.append(result)
        if on_round is not None:
            on_round(result)
    return history
