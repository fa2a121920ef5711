"""Statistical tests shared by ``popsim validate`` and the test suite.

Every function returns a p-value under the null hypothesis that the engine
reproduces the prediction; the caller compares it with its significance level
(``popsim validate`` uses a Bonferroni split of a family-wise α, see
:mod:`popsim.workflows.validation.core`). Nothing here draws random numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

#: Smallest expected count per cell after pooling (Cochran's rule for Pearson's χ²).
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class TestResult:
    """Outcome of one test: what was estimated, its standard error and the p-value."""

    estimate: float
    standard_error: float
    statistic: float
    p_value: float
    test: str


def pool_sparse(expected: npt.ArrayLike, *observed: npt.ArrayLike) -> tuple[np.ndarray, ...]:
    """Pool cells until every pooled ``expected`` count is at least :data:`MIN_EXPECTED`.

    Cells are taken from the sparsest up and merged into a pooled cell until it
    reaches the minimum; a remainder below it joins the last pooled cell. The
    pooled ``expected`` comes first, then each ``observed`` array pooled the same way.
    """
    exp = np.asarray(expected, dtype=np.float64)
    obs = [np.asarray(o, dtype=np.float64) for o in observed]
    order = np.argsort(exp, kind="stable")
    labels = np.empty(exp.size, dtype=np.int64)
    group, acc = 0, 0.0
    for k in order:
        labels[k] = group
        acc += exp[k]
        if acc >= MIN_EXPECTED:
            group, acc = group + 1, 0.0
    remainder = labels == group
    if remainder.any() and group > 0:  # a last cell below the minimum joins the previous one
        labels[remainder] = group - 1
    n_cells = int(labels.max()) + 1
    return tuple(np.bincount(labels, weights=a, minlength=n_cells) for a in (exp, *obs))


def chi_square_gof(counts: npt.ArrayLike, probabilities: npt.ArrayLike) -> TestResult:
    """Pearson's χ² goodness of fit of observed category counts to exact probabilities.

    Sparse categories are pooled (:func:`pool_sparse`) so that every expected
    count is ≥ 5; degrees of freedom = pooled cells − 1. A count in a category of
    probability exactly 0 (an impossible state) gives p = 0. The estimate reported is
    the sample mean category index and its standard error (a readable summary;
    the p-value is the χ² test of the whole distribution).
    """
    obs = np.asarray(counts, dtype=np.float64)
    prob = np.asarray(probabilities, dtype=np.float64)
    if obs.shape != prob.shape:
        raise ValueError("counts and probabilities must have the same shape")
    n = obs.sum()
    exp_pooled, obs_pooled = pool_sparse(prob / prob.sum() * n, obs)
    dof = exp_pooled.size - 1
    statistic = float(((obs_pooled - exp_pooled) ** 2 / exp_pooled).sum())
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else 1.0
    if np.any((prob == 0.0) & (obs > 0)):
        p_value = 0.0
    index = np.arange(obs.size)
    mean = float((index * obs).sum() / n)
    sd = math.sqrt(float((obs * (index - mean) ** 2).sum() / max(n - 1, 1)))
    return TestResult(mean, sd / math.sqrt(n), statistic, p_value, f"Pearson χ² (df {dof})")


def chi_square_two_sample(counts_a: npt.ArrayLike, counts_b: npt.ArrayLike) -> TestResult:
    """χ² test that two samples of category counts come from one distribution.

    The 2 × K contingency table is pooled on the combined counts so that every
    expected cell count is ≥ 5 (:func:`pool_sparse` on the smaller sample's share).
    The estimate is the difference of sample means (a − b) and its standard error.
    """
    a = np.asarray(counts_a, dtype=np.float64)
    b = np.asarray(counts_b, dtype=np.float64)
    n_a, n_b = a.sum(), b.sum()
    share = min(n_a, n_b) / (n_a + n_b)
    _, a_pooled, b_pooled = pool_sparse((a + b) * share, a, b)
    if a_pooled.size < 2:
        statistic, p_value, dof = 0.0, 1.0, 0
    else:
        statistic, p_value, dof, _ = stats.chi2_contingency(
            np.vstack([a_pooled, b_pooled]), correction=False
        )
    index = np.arange(a.size)
    means = [(index * c).sum() / c.sum() for c in (a, b)]
    se = math.sqrt(
        sum(
            (c * (index - m) ** 2).sum() / (c.sum() - 1) / c.sum()
            for c, m in zip((a, b), means, strict=True)
        )
    )
    return TestResult(
        float(means[0] - means[1]),
        se,
        float(statistic),
        float(p_value),
        f"χ² two-sample (df {dof})",
    )


def t_test_mean(values: npt.ArrayLike, expected: float, allowance: float = 0.0) -> TestResult:
    """Two-sided one-sample t-test (n − 1 df) of a sample mean against ``expected``.

    ``allowance`` ≥ 0 is a known bound on how far the prediction itself may be
    from the true mean (an approximation error computed independently, never
    fitted to the sample): t = max(|mean − expected| − allowance, 0)/SE.
    With thousands of replicates this is the z-test.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    return _shift_test(mean, se, expected, allowance, "t (mean)", x.size - 1)


def z_test_ratio(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, expected: float
) -> TestResult:
    """Two-sided z-test of a ratio of means Σa/Σb against ``expected``.

    The standard error is the delta method's:
    Var(r) ≈ [Var(a) − 2r·Cov(a, b) + r²·Var(b)] / (n·mean(b)²).
    """
    a = np.asarray(numerator, dtype=np.float64).ravel()
    b = np.asarray(denominator, dtype=np.float64).ravel()
    ratio = float(a.mean() / b.mean())
    cov = np.cov(a, b, ddof=1)
    var = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (a.size * b.mean() ** 2)
    se = math.sqrt(max(float(var), 0.0))
    return _shift_test(ratio, se, expected, 0.0, "z (ratio, delta method)", None)


def binomial_test(successes: int, trials: int, probability: float) -> TestResult:
    """Exact two-sided binomial test of a proportion (scipy's ``binomtest``)."""
    p_hat = successes / trials
    se = math.sqrt(max(probability * (1 - probability), 1e-300) / trials)
    p_value = float(stats.binomtest(int(successes), int(trials), probability).pvalue)
    return TestResult(p_hat, se, (p_hat - probability) / se, p_value, "exact binomial")


def _shift_test(
    mean: float, se: float, expected: float, allowance: float, name: str, dof: int | None
) -> TestResult:
    """Two-sided test of mean − expected beyond ``allowance``: Student t with ``dof``
    degrees of freedom, or the normal distribution when ``dof`` is None."""
    if allowance < 0:
        raise ValueError(f"allowance must be >= 0, got {allowance!r}")
    excess = max(abs(mean - expected) - allowance, 0.0)
    if se > 0:
        statistic = math.copysign(excess / se, mean - expected)
        tail = stats.norm.sf(abs(statistic)) if dof is None else stats.t.sf(abs(statistic), dof)
        p_value = float(2 * tail)
    else:  # no spread: the sample either equals the prediction or it does not
        statistic = 0.0 if excess == 0 else math.inf
        p_value = 1.0 if excess == 0 else 0.0
    return TestResult(mean, se, statistic, p_value, name)


#: The stated effect of :func:`power_against_shift`: a shift of a row's quantity by this
#: share of its prediction.
POWER_SHIFT = 0.10


def power_against_shift(
    prediction: float, error: float, z_critical: float, shift: float = POWER_SHIFT
) -> float:
    """Power of a row's two-sided test, at critical |z| ``z_critical``, against a true
    value ``shift``·|prediction| away from its prediction when the estimate's standard
    error is ``error`` (normal approximation): Φ(d − z) + Φ(−d − z), d = shift·|prediction|
    / error. NaN where it is undefined (no standard error, or a prediction of 0, which
    a relative shift does not move)."""
    if not (math.isfinite(prediction) and math.isfinite(error)) or error <= 0 or prediction == 0:
        return math.nan
    d = shift * abs(prediction) / error
    return float(stats.norm.cdf(d - z_critical) + stats.norm.cdf(-d - z_critical))


def bonferroni_z(alpha: float) -> float:
    """Critical |z| of a two-sided test at level ``alpha``."""
    return float(stats.norm.isf(alpha / 2))
