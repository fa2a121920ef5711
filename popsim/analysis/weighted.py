"""Histories weighted by their likelihood of the published counts.

Each simulated history h (replicate) gets the weight w_h = L_h / Σ_h' L_h',
with L_h = exp(``loglik_total``) its probability of every count observation
(:func:`popsim.analysis.evidence.log_likelihoods`): the histories as the data
would have us believe them (importance weights of the posterior over
histories, given the scenario). A statistic's weighted summary is its
weighted mean Σ w_h·x_h / Σ w_h and its weighted 2.5%, 50% and 97.5%
quantiles (the inverse of the weighted distribution function: the smallest
x_h whose cumulative weight reaches q), over the histories where it is
defined. A pooled patient share is Σ w_h·class_h / Σ w_h·affected_h, with the
bootstrap 95% interval of that ratio over histories resampled as for the
unweighted share. The effective number of histories (Σw)² / Σw² says how many
equally weighted histories carry the same information; it is 0 when every
weight is 0 (no history can produce the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from popsim.analysis.results import Result, _interval_row, _pooled_shares, reached
from popsim.genetics.statistics import BY_NAME

QUANTILES = (0.025, 0.5, 0.975)


def likelihood_weights(loglik: np.ndarray) -> np.ndarray:
    """float64 [R]: w_h = exp(loglik_h) / Σ exp(loglik), computed relative to the largest
    log-likelihood so that tiny likelihoods do not underflow; all 0 where every
    log-likelihood is −inf (or NaN)."""
    loglik = np.asarray(loglik, dtype=np.float64)
    finite = np.isfinite(loglik)
    weights = np.zeros(loglik.shape)
    if finite.any():
        weights[finite] = np.exp(loglik[finite] - loglik[finite].max())
        weights /= weights.sum()
    return weights


def effective_histories(weights: np.ndarray) -> float:
    """(Σw)² / Σw²: the number of equally weighted histories worth the same; 0 when
    every weight is 0."""
    total, squares = float(np.sum(weights)), float(np.sum(np.square(weights)))
    return total * total / squares if squares > 0 else 0.0


def weighted_describe(deme: str, name: str, column: np.ndarray, weights: np.ndarray) -> dict:
    """Weighted mean and 2.5/50/97.5% quantiles of ``column`` [R] over the histories where
    it is defined (finite); NaN where those carry no weight."""
    keep = np.isfinite(column) & (weights > 0)
    row: dict[str, Any] = {"deme": deme, "statistic": name}
    if not keep.any():
        row.update(mean=np.nan, q025=np.nan, median=np.nan, q975=np.nan)
        return row
    values, w = column[keep], weights[keep]
    order = np.argsort(values, kind="stable")
    values, w = values[order], w[order]
    cumulative = np.cumsum(w) / w.sum()
    at = np.minimum(np.searchsorted(cumulative, QUANTILES, side="left"), values.size - 1)
    lo, med, hi = (float(v) for v in values[at])
    row.update(mean=float(np.sum(w * values) / w.sum()), q025=lo, median=med, q975=hi)
    return row


def weighted_summary_rows(result: Result, deme: int, weights: np.ndarray) -> list[dict]:
    """The rows of :meth:`Result.summary` for deme index ``deme``, every statistic in its
    weighted form (see the module docstring); probabilities (``p_…`` rows) are weighted
    means of their indicator. Evidence rows are left out (the weights come from them)."""
    stats = result.final_statistics
    name = result.deme_names[deme]
    column = {key: values[:, deme] for key, values in stats.items()}
    weighted = {key: values * weights[:, None] for key, values in stats.items()}
    shares = _pooled_shares(weighted)
    rows, outcomes = [], []
    for key, values in column.items():
        entry = BY_NAME.get(key)
        if entry is not None and entry.display == "probability":
            row = weighted_describe(name, entry.summary_name, values, weights)
            outcomes.append({**row, "q025": np.nan, "median": np.nan, "q975": np.nan})
        elif key in shares:
            share, low, high = (x[deme] for x in shares[key])
            rows.append(_interval_row(name, key, share, low, high))
            rows.append(weighted_describe(name, entry.per_history_name, values, weights))
        else:
            rows.append(weighted_describe(name, key, values, weights))
    rows.extend(outcomes)
    for obs in result.scenario.observations:
        if obs.deme == name:
            reach = reached(column[obs.statistic], obs.value)
            row = weighted_describe(name, f"p_reach_observed_{obs.statistic}", reach, weights)
            rows.append({**row, "q025": np.nan, "median": np.nan, "q975": np.nan})
    return rows

