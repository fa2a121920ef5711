"""`popsim validate`: the quick catalogue passes, and its checks can fail.

The quick catalogue is itself a set of statistical tests with fixed seeds and a
Bonferroni-controlled family-wise α of 0.01 (see docs/validation.md), so it is
deterministic; the tests below also make sure a wrong prediction is caught.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from popsim.analysis import theory
from popsim.cli import main
from popsim.workflows.validation import CATALOGUE, select
from popsim.workflows.validation.stats import (
    MIN_EXPECTED,
    binomial_test,
    chi_square_gof,
    chi_square_two_sample,
    pool_sparse,
    t_test_mean,
    z_test_ratio,
)


def test_quick_catalogue_passes_and_writes_report(tmp_path: Path, capsys):
    out = tmp_path / "report"
    assert main(["validate", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("PASS")
    checks = pd.read_csv(out / "checks.csv")
    assert set(checks["verdict"]) == {"pass"}
    assert {c.name for c in CATALOGUE} == set(checks["check"])
    simulation = checks[checks["kind"] == "simulation"]
    assert np.allclose(simulation["alpha"], 0.01 / len(simulation))
    assert (simulation["p_value"] >= simulation["alpha"]).all()
    report = (out / "report.md").read_text(encoding="utf-8")
    figures = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", report)
    assert "figures/p-values.png" in figures
    assert len(figures) >= len(CATALOGUE)
    for figure in figures:
        assert (out / figure).stat().st_size > 10_000, figure


def test_wrong_prediction_fails_with_exit_status_1(tmp_path: Path, monkeypatch, capsys):
    exact = theory.expected_new_mutant_frequency
    monkeypatch.setattr(
        theory, "expected_new_mutant_frequency", lambda u, t: 1.1 * np.asarray(exact(u, t))
    )
    out = tmp_path / "report"
    args = ["validate", "mutation-mean", "--quick", "--engine", "frequency", "--out", str(out)]
    assert main(args) == 1
    assert capsys.readouterr().out.startswith("FAIL")
    checks = pd.read_csv(out / "checks.csv")
    assert "FAIL" in set(checks["verdict"])


def test_wrong_approximation_and_identity_fail(tmp_path: Path, monkeypatch):
    # Wright's formula with the wrong limit does not converge to the exact stationary F,
    # and a closed form off by 1e-9 is not an identity.
    monkeypatch.setattr(theory, "island_fst", lambda n, m, n_demes=None: 1 / (1 + 3 * n * m))
    step = theory.selection_step
    monkeypatch.setattr(theory, "selection_step", lambda q, **kw: step(q, **kw) + 1e-9)
    out = tmp_path / "report"
    assert main(["validate", "island-fst-formula", "genotype-algebra", "--quick",
                 "--out", str(out)]) == 1
    checks = pd.read_csv(out / "checks.csv")
    failed = checks[checks["verdict"] == "FAIL"]
    assert set(failed["kind"]) == {"approximation", "identity"}


def test_an_engine_that_stops_fails_its_check_and_the_run_goes_on(tmp_path: Path,
                                                                   monkeypatch, capsys):
    """A SimulationError in one check (an engine that overflows its allele capacity, say)
    is a failing row naming the reason; the other checks still run and report. Fails
    against a runner that lets the error end the run (exit 2, no table)."""
    from popsim.errors import SimulationError
    from popsim.workflows.validation import scenarios

    real_run = scenarios.run

    def stop_once(raw, replicates, seed, engine):
        if seed == 400:  # mutation-mean's run
            raise SimulationError("allele capacity exceeded")
        return real_run(raw, replicates, seed, engine)

    monkeypatch.setattr(scenarios, "run", stop_once)
    out = tmp_path / "report"
    assert main(["validate", "mutation-mean", "neutral-fixation", "--quick", "--engine",
                 "frequency", "--out", str(out)]) == 1
    checks = pd.read_csv(out / "checks.csv")
    stopped = checks[checks["check"] == "mutation-mean"]
    assert list(stopped["verdict"]) == ["FAIL"]
    assert "allele capacity exceeded" in stopped["quantity"].iloc[0]
    assert set(checks[checks["check"] == "neutral-fixation"]["verdict"]) == {"pass"}


def test_list_selection_and_unknown_names(capsys):
    assert main(["validate", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(check.name in listed for check in CATALOGUE)
    assert [c.name for c in select(["island-*"])] == ["island-fst", "island-fst-formula"]
    assert main(["validate", "no-such-check"]) == 2
    assert "no such check" in capsys.readouterr().err
    assert main(["validate", "wf-chain", "--engine", "pedigree"]) == 2
    assert "none of the selected checks" in capsys.readouterr().err


# --------------------------------------------------------------------------- statistics


def test_pool_sparse_keeps_totals_and_minimum():
    rng = np.random.default_rng(1)
    expected = rng.dirichlet(np.full(40, 0.3)) * 200
    observed = rng.poisson(expected)
    exp_pooled, obs_pooled = pool_sparse(expected, observed)
    assert exp_pooled.sum() == pytest.approx(expected.sum())
    assert obs_pooled.sum() == observed.sum()
    assert exp_pooled.min() >= MIN_EXPECTED


def test_chi_square_gof_against_scipy_and_exact_counts():
    probabilities = np.array([0.1, 0.2, 0.3, 0.4])
    counts = np.array([12, 18, 33, 37])
    expected = scipy_stats.chisquare(counts, probabilities * 100)
    result = chi_square_gof(counts, probabilities)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert chi_square_gof(probabilities * 1000, probabilities).p_value == pytest.approx(1.0)
    assert chi_square_gof([0, 0, 0, 100], probabilities).p_value < 1e-10
    impossible = np.array([0.0, 0.5, 0.5, 0.0])
    assert chi_square_gof([1, 500, 500, 0], impossible).p_value == 0.0


def test_two_sample_chi_square_detects_a_shift():
    rng = np.random.default_rng(2)
    a = np.bincount(rng.binomial(20, 0.3, 4000), minlength=21)
    b = np.bincount(rng.binomial(20, 0.3, 3000), minlength=21)
    c = np.bincount(rng.binomial(20, 0.36, 3000), minlength=21)
    assert chi_square_two_sample(a, b).p_value > 0.001
    assert chi_square_two_sample(a, c).p_value < 1e-6


def test_mean_ratio_and_binomial_tests():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    se = values.std(ddof=1) / 2
    result = t_test_mean(values, 2.0)
    assert result.statistic == pytest.approx(0.5 / se)
    assert result.p_value == pytest.approx(2 * scipy_stats.t.sf(0.5 / se, 3))
    assert t_test_mean(values, 2.0, allowance=0.5).p_value == 1.0
    ratio = z_test_ratio([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], 0.5)
    assert ratio.estimate == pytest.approx(0.5) and ratio.p_value == pytest.approx(1.0)
    binomial = binomial_test(30, 100, 0.3)
    assert binomial.p_value == pytest.approx(1.0)
    assert binomial.standard_error == pytest.approx(math.sqrt(0.21 / 100))


def test_power_against_a_stated_shift_follows_the_normal_approximation():
    """Power of a two-sided z test against a shift d·SE: Φ(d − z) + Φ(−d − z). A 10%
    shift of 1.0 measured with SE 0.025 is d = 4; at z = 3.82 (97 tests at family-wise
    0.01) that is Φ(0.18) + Φ(−7.82) ≈ 0.571; no standard error or a zero prediction
    gives NaN; a larger shift never lowers it."""
    import math

    from scipy import stats

    from popsim.workflows.validation.stats import power_against_shift

    z = 3.82
    expected = stats.norm.cdf(4 - z) + stats.norm.cdf(-4 - z)
    assert power_against_shift(1.0, 0.025, z) == pytest.approx(expected, rel=1e-12)
    assert power_against_shift(1.0, 0.025, z) == pytest.approx(0.5714, abs=1e-4)  # docstring
    assert power_against_shift(-1.0, 0.025, z) == pytest.approx(expected, rel=1e-12)
    assert power_against_shift(1.0, 0.025, z, shift=0.2) > power_against_shift(1.0, 0.025, z)
    assert math.isnan(power_against_shift(0.0, 0.025, z))
    assert math.isnan(power_against_shift(1.0, float("nan"), z))
    assert math.isnan(power_against_shift(1.0, 0.0, z))
