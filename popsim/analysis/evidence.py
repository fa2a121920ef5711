"""Observations as count data: their likelihood under each simulated history.

We live in one history, so the probability of published counts under a
scenario is the AVERAGE over simulated histories h (replicates) of that
history's probability of the counts, E_h[P(data | h)], never a pooled share
compared with a count. Each count form of ``[[observed]]``
(:class:`popsim.model.scenario.CountObservation`) has a sampling model given
the history's final-generation statistics (:attr:`Result.final_statistics`,
registry names of :mod:`popsim.genetics.statistics`) in its deme:

* ``screen`` (k carriers of n screened): Binomial(n, c_h), c_h the
  ``founder_carrier_frequency`` (``allele = "founder"``) or the
  ``carrier_frequency`` (``"any"``);
* ``genotypes`` (a heterozygotes, b homozygotes of n sampled): Multinomial(n;
  1 − het − hom, het, hom) with, for ``"founder"``, het = founder-allele carriers
  (founder/normal) and hom = founder homozygotes, and for ``"any"``, het =
  carriers of any pathogenic allele and hom = all affected (homozygotes of any
  allele and compound heterozygotes grouped as affected);
* ``prevalence`` (k patients in a population of n): Binomial(n, prevalence_h),
  exact (scipy's binomial log-pmf is accurate for any n, so no Poisson
  approximation is needed);
* ``families`` (n families by the class of their patients): Multinomial(n;
  share_founder_homozygotes, share_compound_heterozygotes,
  share_other_homozygotes). One proband per family ascertains it, families are
  independent, and a family's patients share the class of its proband, so a
  family's class probabilities are the shares of patients in each class.

A rate published with a stated uncertainty but no sample size
(:class:`popsim.model.scenario.RateObservation`, the ``rate`` form) has a
lognormal measurement error: ln(value) ~ Normal(ln x_h, σ²), x_h the history's
value of the statistic, σ from the stated 95% range. Its log-likelihood is the
log density of ln(value), −½z² − ln(σ√(2π)) with z = (ln value − ln x_h)/σ (a
density per unit of ln value: compare it between scenarios, not with a count
form's probability); a history with x_h = 0 gives likelihood 0.

A history where a needed quantity is undefined (a deme without people; no
patients, so no shares) gives likelihood 0 (log-likelihood −inf); the share
of such histories is reported as ``p_undefined_<name>``.

The posterior-predictive p-value (``ppp_<name>``) is the probability, over
histories and the sampling model, of a count at least as extreme as the one
observed (histories with undefined quantities left out). Binomial forms: the
two-sided mid-p of the predictive distribution (the mixture over histories),
2·min(P(X < k) + ½P(X = k), P(X > k) + ½P(X = k)), capped at 1, computed
exactly. Multinomial forms: extreme means no more probable under the history
than the observed counts, P(f_h(X) < f_h(x)) + ½P(f_h(X) = f_h(x)) with f_h the
history's multinomial pmf, by Monte Carlo (:data:`PPP_DRAWS` draws per
history, fixed seed). Rate form: the two-sided p of the predictive distribution
of the published value, 2·min(F, 1 − F), F = mean over histories of
Φ((ln value − ln x_h)/σ) (Φ = 1 where x_h = 0: the history predicts 0), exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.model.scenario import (
    CountObservation,
    LikelihoodObservation,
    RateObservation,
    Scenario,
)

if TYPE_CHECKING:
    from popsim.analysis.results import Result

#: Bootstrap resamples of the histories for the interval of the evidence.
BOOTSTRAP_RESAMPLES = 2000
#: Monte Carlo draws per history for the p-value of a multinomial form.
PPP_DRAWS = 200
#: Seed of the bootstrap and of the Monte Carlo draws (fixed: same numbers every run).
EVIDENCE_SEED = 20260122

_BINOMIAL_FORMS = ("screen", "prevalence")


def class_probabilities(
    obs: CountObservation, stats: Mapping[str, np.ndarray]
) -> np.ndarray:
    """float64 [R, k]: the probability of each of ``obs``'s count classes per history,
    from the final statistics of its deme (``stats[name]`` [R]); NaN where undefined.
    Classes follow ``obs.counts`` with the remainder class (n − Σ counts) last for
    the screen, genotypes and prevalence forms."""
    if obs.form == "screen":
        c = stats["founder_carrier_frequency" if obs.allele == "founder" else "carrier_frequency"]
        p = [c, 1.0 - c]
    elif obs.form == "prevalence":
        k = stats["prevalence"]
        p = [k, 1.0 - k]
    elif obs.form == "genotypes":
        if obs.allele == "founder":
            het, hom = stats["founder_carrier_frequency"], stats["founder_homozygotes"]
        else:
            het, hom = stats["carrier_frequency"], stats["prevalence"]
        p = [het, hom, 1.0 - het - hom]
    else:
        p = [
            stats["share_founder_homozygotes"],
            stats["share_compound_heterozygotes"],
            stats["share_other_homozygotes"],
        ]
    return np.clip(np.stack([np.asarray(v, dtype=np.float64) for v in p], axis=-1), 0.0, 1.0)


def class_counts(obs: CountObservation) -> np.ndarray:
    """int64 [k]: the observed count of each class of :func:`class_probabilities`."""
    given = np.array(obs.counts[:-1], dtype=np.int64)
    if obs.form == "families":
        return given
    return np.append(given, obs.total - given.sum())


def multinomial_logpmf(counts: np.ndarray, p: np.ndarray) -> np.ndarray:
    """log Multinomial(counts; n = Σ counts, p) per row of ``p`` [..., k]; −inf where a
    row is undefined (NaN)."""
    from scipy.special import gammaln, xlogy

    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = gammaln(n + 1) - gammaln(counts + 1).sum(-1) + xlogy(counts, p).sum(-1)
    return np.where(np.isnan(p).any(-1), -np.inf, value)


def log_likelihood(
    obs: LikelihoodObservation, stats: Mapping[str, np.ndarray]
) -> np.ndarray:
    """float64 [R]: log P(obs | history h) per replicate (−inf where undefined); for
    the rate form the log density of ln(value) (see the module docstring)."""
    if isinstance(obs, RateObservation):
        return rate_log_density(obs, stats[obs.statistic])
    return multinomial_logpmf(class_counts(obs), class_probabilities(obs, stats))


def rate_log_density(obs: RateObservation, x: np.ndarray) -> np.ndarray:
    """float64 [R]: log Normal(ln obs.value; ln x_h, σ²) per history value ``x`` [R];
    −inf where x_h = 0 or is undefined (NaN)."""
    x = np.asarray(x, dtype=np.float64)
    sigma = obs.sigma
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(obs.value) - np.log(x)) / sigma
        value = -0.5 * z * z - np.log(sigma * np.sqrt(2.0 * np.pi))
    return np.where(np.isnan(x) | (x <= 0.0), -np.inf, value)


def log_likelihoods(result: Result) -> dict[str, np.ndarray]:
    """``{name: loglik [R]}`` of every observation with a likelihood (count forms, rate
    form) of ``result``'s scenario, then ``"total"``: their sum (observations are
    independent given the history); computed once per result
    (:attr:`~popsim.analysis.results.Result.log_likelihoods`)."""
    return result.log_likelihoods


def history_log_likelihoods(
    scenario: Scenario,
    final_statistics: Mapping[str, np.ndarray],
    deme_names: Sequence[str],
) -> dict[str, np.ndarray]:
    """``{name: loglik [R]}``: log P(observation | history h) of every observation of
    ``scenario`` that has a likelihood, then ``"total"`` (their sum; observations are
    independent given the history); empty when none has one.

    ``final_statistics[stat]`` is float64 [R, D], the final generation of R histories
    with demes in the order ``deme_names``; the histories may come from different
    scenarios (a fit stacks one history per parameter draw). This is the one entry
    point to the per-history likelihood: :func:`log_likelihoods` and ``popsim fit``
    both call it, so a new observation form needs no change in either.
    """
    out: dict[str, np.ndarray] = {}
    for obs in scenario.count_observations:
        d = list(deme_names).index(obs.deme)
        out[obs.name] = log_likelihood(obs, {k: v[:, d] for k, v in final_statistics.items()})
    if out:
        out["total"] = np.sum(list(out.values()), axis=0)
    return out


def undefined(obs: LikelihoodObservation, stats: Mapping[str, np.ndarray]) -> np.ndarray:
    """bool [R]: histories where a quantity ``obs`` needs is undefined."""
    if isinstance(obs, RateObservation):
        return np.isnan(np.asarray(stats[obs.statistic], dtype=np.float64))
    return np.isnan(class_probabilities(obs, stats)).any(-1)


def evidence(
    loglik: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float, float]:
    """(mean, q025, q975): the evidence E_h[exp(loglik_h)] over histories and a
    bootstrap 95% interval of that mean (histories resampled, fixed seed)."""
    like = np.exp(np.asarray(loglik, dtype=np.float64))
    n = like.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(EVIDENCE_SEED)
    means = np.empty(resamples)
    chunk = max(1, 1_000_000 // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        means[start:stop] = like[rng.integers(0, n, size=(stop - start, n))].mean(-1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(like.mean()), float(lo), float(hi)


def posterior_predictive_p(
    obs: LikelihoodObservation, stats: Mapping[str, np.ndarray], draws: int = PPP_DRAWS
) -> float:
    """The posterior-predictive p-value of ``obs`` (see the module docstring); NaN when
    no history defines it."""
    if isinstance(obs, RateObservation):
        return _rate_p(obs, np.asarray(stats[obs.statistic], dtype=np.float64))
    p = class_probabilities(obs, stats)
    p = p[~np.isnan(p).any(-1)]
    if p.shape[0] == 0:
        return float("nan")
    if obs.form in _BINOMIAL_FORMS:
        from scipy.stats import binom

        k, n = obs.counts[0], obs.total
        at = binom.pmf(k, n, p[:, 0]).mean()
        below = binom.cdf(k - 1, n, p[:, 0]).mean() if k > 0 else 0.0
        above = max(0.0, 1.0 - below - at)
        return float(min(1.0, 2.0 * min(below + 0.5 * at, above + 0.5 * at)))
    rng = np.random.default_rng(EVIDENCE_SEED)
    x = class_counts(obs)
    p = p / p.sum(-1, keepdims=True)
    hits = 0.0
    block = max(1, 1_000_000 // draws)
    for start in range(0, p.shape[0], block):
        q = p[start : start + block]
        observed = multinomial_logpmf(x, q)[:, None]
        replicated = rng.multinomial(obs.total, q[:, None, :], size=(q.shape[0], draws))
        simulated = multinomial_logpmf(replicated, q[:, None, :])
        tol = np.where(np.isfinite(observed), 1e-9 * np.maximum(1.0, np.abs(observed)), 0.0)
        hits += np.sum(simulated < observed - tol) + 0.5 * np.sum(
            np.abs(simulated - observed) <= tol
        )
    return float(hits / (p.shape[0] * draws))


def evidence_given_founder(result: Result) -> dict[str, tuple[float, float]]:
    """For each observation in a deme that a founder allele enters: ``name → (P(every
    founder allele lost from that deme), evidence among the histories where one
    survives)`` (NaN where none survives). An allele studied today is one that
    survived: the second number is the evidence given that it did."""
    stats = result.final_statistics
    entered = {a.deme for a in result.scenario.locus.founder_alleles}
    logliks = log_likelihoods(result)
    out: dict[str, tuple[float, float]] = {}
    for obs in result.scenario.count_observations:
        if obs.deme not in entered or result.replicates == 0:
            continue
        d = result.deme_names.index(obs.deme)
        survived = stats["founder_frequency"][:, d] > 0
        given = float(np.exp(logliks[obs.name][survived]).mean()) if survived.any() else np.nan
        out[obs.name] = (float(1.0 - survived.mean()), given)
    return out


def _rate_p(obs: RateObservation, x: np.ndarray) -> float:
    """Two-sided p-value of the published rate under the predictive mixture of
    lognormals around the histories' values (x_h = 0 predicts 0, below it)."""
    from scipy.special import ndtr

    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan")
    with np.errstate(divide="ignore"):
        z = (np.log(obs.value) - np.log(x)) / obs.sigma
    below = float(np.where(x > 0.0, ndtr(z), 1.0).mean())
    return float(min(1.0, 2.0 * min(below, 1.0 - below)))


def summary_rows(result: Result) -> list[dict[str, Any]]:
    """Summary rows for the count observations of ``result``'s scenario, each with the
    summary's keys (deme, statistic, mean, q025, median, q975): per observation
    ``evidence_<name>`` (mean = the evidence, q025/q975 its bootstrap interval),
    ``ppp_<name>`` (mean = the p-value) and ``p_undefined_<name>`` (the share of
    histories where the likelihood is 0 because a needed quantity is undefined);
    then ``evidence_total`` (deme empty) when there are any."""
    logliks = log_likelihoods(result)
    stats = result.final_statistics
    rows: list[dict[str, Any]] = []
    for obs in result.scenario.count_observations:
        d = result.deme_names.index(obs.deme)
        deme_stats = {k: v[:, d] for k, v in stats.items()}
        mean, lo, hi = evidence(logliks[obs.name])
        rows.append(_row(obs.deme, f"evidence_{obs.name}", mean, lo, hi))
        rows.append(_row(obs.deme, f"ppp_{obs.name}", posterior_predictive_p(obs, deme_stats)))
        share = float(undefined(obs, deme_stats).mean()) if result.replicates else float("nan")
        rows.append(_row(obs.deme, f"p_undefined_{obs.name}", share))
    if logliks:
        mean, lo, hi = evidence(logliks["total"])
        rows.append(_row("", "evidence_total", mean, lo, hi))
    return rows


def describe(
    observations: Sequence[LikelihoodObservation], rows: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Lines saying, per count observation, its evidence (interval) and p-value, from
    :func:`summary_rows`, the deme called by its ``labels`` entry (default: its name);
    empty without count observations."""
    by_name = {r["statistic"]: r for r in rows}
    labels = labels or {}
    lines = []
    for obs in observations:
        ev, ppp = by_name[f"evidence_{obs.name}"], by_name[f"ppp_{obs.name}"]
        lines.append(
            f"  {obs.name} ({labels.get(obs.deme, obs.deme)}, {obs.form}): evidence "
            f"{ev['mean']:.3g} "
            f"[95% {ev['q025']:.3g}–{ev['q975']:.3g}], p-value {ppp['mean']:.3f}"
        )
    if observations:
        total = by_name["evidence_total"]
        lines.append(
            f"  all together: evidence {total['mean']:.3g} "
            f"[95% {total['q025']:.3g}–{total['q975']:.3g}]"
        )
    return lines


def _row(deme: str, name: str, mean: float, lo: float = np.nan, hi: float = np.nan) -> dict:
    return {"deme": deme, "statistic": name, "mean": mean, "q025": lo, "median": np.nan,
            "q975": hi}
