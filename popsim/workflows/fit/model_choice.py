"""ABC model choice by rejection (Pritchard et al. 1999; Grelaud et al. 2009).

Each of M models (the fit's priors and fixed keys plus the model's own) gets
the same number of prior simulations n (so equal prior probabilities 1/M);
model m's draws are stage ``MODEL_STAGE + m`` (seeds as in
:mod:`popsim.workflows.fit.simulator`). The ``accept`` fraction of all M·n draws
closest to the observations is kept; the posterior probability of model m is
its share of the accepted draws, and the Bayes factor of m against the first
model is the ratio of their accepted counts.

Caveat (Robert et al. 2011, PNAS 108:15112): ABC model choice is consistent
only if the summary statistics are sufficient for the model index — or, more
usefully, if their expectations differ between the models (Marin et al.
2014). Two or three summaries of one locus are not sufficient, so a Bayes
factor here says how well each model reproduces *these* summaries, not the
Bayes factor of the full data; it is also noisy when few draws are accepted
(its binomial standard error is reported).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from popsim.workflows.fit.priors import Prior, sample_priors
from popsim.workflows.fit.simulator import Simulator
from popsim.workflows.fit.spec import ModelChoice

#: First seed stage of model-choice draws (ABC-SMC generations use 0, 1, …).
MODEL_STAGE = 1_000

CAVEAT = (
    "ABC model choice with insufficient summary statistics (Robert et al. 2011, PNAS "
    "108:15112): the Bayes factor compares how well the models reproduce these summaries "
    "only, and is not the Bayes factor of the full data"
)


@dataclass(frozen=True)
class ModelChoiceResult:
    """Accepted draws per model and the table of posterior probabilities."""

    table: pd.DataFrame
    tolerance: float
    simulations: int


def choose_model(
    choice: ModelChoice,
    priors: tuple[Prior, ...],
    simulator: Simulator,
    distance: Callable[[np.ndarray], np.ndarray],
    seed: int,
) -> ModelChoiceResult:
    """Run rejection ABC model choice; one table row per model."""
    per_model = max(1, choice.simulations // len(choice.models))
    d_all = []
    for m, model in enumerate(choice.models):
        model_priors = priors + model.priors
        rng = np.random.default_rng([seed, MODEL_STAGE + m])
        thetas = sample_priors(model_priors, rng, per_model)
        stats = simulator.simulate(
            model_priors, thetas, MODEL_STAGE + m, extras=[model.fixed] * per_model
        )
        d_all.append(distance(stats))
    pooled = np.concatenate(d_all)
    keep = max(1, round(choice.accept * pooled.size))
    tolerance = float(np.sort(pooled)[keep - 1])
    counts = np.array([int(np.sum(d <= tolerance)) for d in d_all])
    total = counts.sum()
    first = counts[0]
    rows = []
    for model, count in zip(choice.models, counts, strict=True):
        p = count / total if total else math.nan
        rows.append({
            "model": model.name,
            "simulations": per_model,
            "accepted": int(count),
            "prior_probability": 1.0 / len(choice.models),
            "posterior_probability": p,
            "posterior_probability_se": math.sqrt(p * (1 - p) / total) if total else math.nan,
            f"bayes_factor_vs_{choice.models[0].name}": count / first if first else math.inf,
        })
    return ModelChoiceResult(pd.DataFrame(rows), tolerance, per_model * len(choice.models))
