"""``popsim fit`` with method = "likelihood": the importance sampler against a known
posterior, recovery by simulation-based calibration (coverage AND width, with a planted
"return the prior" fit that must fail), the report's flags, resuming, and bad input."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

from popsim.analysis.evidence import class_probabilities, history_log_likelihoods
from popsim.analysis.weighted import effective_histories
from popsim.cli import main
from popsim.errors import ConfigError, PopsimError
from popsim.model.build import load_scenario
from popsim.model.plan import deme_sizes
from popsim.model.scenario import CountObservation
from popsim.simulate import simulate
from popsim.workflows.fit import load_fit, run_fit
from popsim.workflows.fit.diagnostics import diagnose, weighted_quantiles
from popsim.workflows.fit.likelihood import (
    Round,
    log_evidence,
    pooled_weights,
    posterior_weights,
    run_rounds,
)
from popsim.workflows.fit.priors import Prior, sample_priors
from popsim.workflows.fit.simulator import draw_model
from tests.test_fit import PRIORS, TINY

#: A carrier screen and a genotype sample of the founder allele (the data of the tests).
OBSERVED = """
[[observed]]
name = "screen"
carriers = 30
screened = 200
allele = "founder"

[[observed]]
name = "sample"
heterozygotes = 300
homozygotes = 40
sampled = 2000
allele = "founder"
"""


def write_fit(tmp: Path, abc: str, observed: str = OBSERVED, priors: str = PRIORS) -> Path:
    (tmp / "tiny.toml").write_text(TINY)
    path = tmp / "fit.toml"
    path.write_text(f'[fit]\nbase = "tiny.toml"\nseed = 11\n\n[abc]\n{abc}\n{priors}{observed}')
    return path


# --------------------------------------------------------------------------- the sampler


def test_adaptive_rounds_target_the_exact_posterior_with_noisy_likelihoods():
    """θ ~ U(−10, 10), x = 2 observed with x ~ N(θ, 1); each "history" returns the
    likelihood times Exp(1) noise (mean 1: an unbiased estimate, as a simulated history
    is). The exact posterior is N(2, 1) (truncation negligible) and P(x) = 1/20. With
    n_eff ≥ 500, the weighted mean has sd ≤ 1/√500 ≈ 0.045 (bound 0.25 > 5 sd), the
    weighted sd is within 0.25 of 1, and log P(x) within 0.3 of log(1/20)
    (relative sd of the estimate ≈ √(2·20/4000) = 0.1)."""
    priors = (Prior("mu", ("mu",), "uniform", -10.0, 10.0),)

    def loglik(thetas: np.ndarray, stage: int, first: int) -> np.ndarray:
        rng = np.random.default_rng([stage, first, 7])
        exact = -0.5 * (thetas[:, 0] - 2.0) ** 2 - 0.5 * math.log(2 * math.pi)
        total = exact + np.log(rng.exponential(1.0, thetas.shape[0]))
        return np.column_stack([total, total])

    rounds = run_rounds(priors, loglik, rounds=4, per_round=1000, defensive=0.2, seed=3)
    assert [r.round for r in rounds] == [0, 1, 2, 3]
    assert np.all(rounds[0].log_ratio == 0.0)
    w = pooled_weights(rounds)
    theta = np.concatenate([r.thetas[:, 0] for r in rounds])
    assert effective_histories(w) >= 500
    mean = float(np.sum(w * theta))
    sd = math.sqrt(float(np.sum(w * (theta - mean) ** 2)))
    assert abs(mean - 2.0) < 0.25
    assert abs(sd - 1.0) < 0.25
    assert abs(log_evidence(rounds) - math.log(1 / 20)) < 0.3
    # adaptation concentrates the later rounds: their draws are nearer the posterior
    assert np.mean(np.abs(rounds[3].thetas[:, 0] - 2)) < np.mean(np.abs(rounds[0].thetas[:, 0] - 2))


def test_no_positive_likelihood_is_refused():
    dead = Round(0, np.zeros((3, 1)), np.zeros(3), np.full((3, 2), -np.inf), 3)
    with pytest.raises(PopsimError, match="none of 3 simulated histories gives the "
                       "observations a positive likelihood"):
        posterior_weights([dead])


def test_a_round_without_any_likelihood_leaves_the_next_to_the_prior():
    """Round 0 gave no history a positive likelihood: its weights are all 0 (n_eff 0),
    so the next round's proposal is the prior alone, not an error."""
    from popsim.workflows.fit.likelihood import _gaussian

    priors = [Prior("x", ("x",), "uniform", 0.0, 4.0)]
    dead = Round(0, np.ones((3, 1)), np.zeros(3), np.full((3, 2), -np.inf), 3)
    assert not pooled_weights([dead]).any()
    assert _gaussian(priors, [dead]) == (None, None)


# --------------------------------------------------------------------------- flags


def test_flags_a_posterior_piled_at_a_bound_and_an_unidentified_parameter():
    prior = Prior("x", ("x",), "uniform", 0.0, 1.0)
    rng = np.random.default_rng(1)
    flat = rng.uniform(0, 1, 4000)
    w = np.full(4000, 1 / 4000)
    check = diagnose(prior, flat, w)
    assert check.width_ratio == pytest.approx(1.0, abs=0.05)
    assert "unidentified" in check.flag and "piled" not in check.flag
    piled = rng.uniform(0, 0.1, 4000)  # half of it in the lowest 5% of the prior
    check = diagnose(prior, piled, w)
    assert check.mass_low == pytest.approx(0.5, abs=0.05)
    assert "piled at the lower bound" in check.flag and "unidentified" not in check.flag
    narrow = rng.normal(0.5, 0.05, 4000)
    assert diagnose(prior, narrow, w).flag == ""
    # log-uniform priors are judged on the log scale: mass near 1 of [1, 1000] is "low"
    log_prior = Prior("n", ("n",), "log_uniform", 1.0, 1000.0)
    near_one = np.exp(rng.uniform(0, 0.1 * math.log(1000), 4000))
    assert "lower bound" in diagnose(log_prior, near_one, w).flag


# --------------------------------------------------------------------------- recovery (SBC)


def reference_table(tmp: Path, draws: int, seed: int) -> tuple[np.ndarray, dict, tuple]:
    """``draws`` prior draws of (q0, F) of the tiny scenario, one simulated history each:
    (θ [draws, 2], final statistics {name: [draws, D]}, deme names)."""
    fit = load_fit(write_fit(tmp, 'method = "likelihood"\nsimulations = 40\nrounds = 1'))
    thetas = sample_priors(fit.priors, np.random.default_rng(seed), draws)
    rows = []
    for j in range(draws):
        scenario = draw_model(fit.base_raw, fit.base_path.parent,
                              {"scenario.seed": seed}, fit.priors, thetas[j]).scenario
        result = simulate(scenario, replicates=1, point=j)
        rows.append(result.final_statistics)
    stats = {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}
    return thetas, stats, (fit, result.deme_names)


def sbc(tmp: Path, draws: int, datasets: int, seed: int, planted_prior: bool = False):
    """Simulation-based calibration, one reference table reused for every dataset.

    Dataset k: truth θ_k and its history h_k are reference draw k (a prior draw); its
    counts are sampled from the data's sampling model given h_k (the screen and the
    genotype sample of :data:`OBSERVED`, same sizes). Its posterior is the
    likelihood-weighted fit's round 0: the OTHER draws weighted by P(counts_k | h_j),
    computed by :func:`history_log_likelihoods` (the function the fit calls).
    ``planted_prior`` replaces the weights by equal ones: a "fit" that returns its prior.
    Returns (hits [2], mean width ratio [2], datasets)."""
    thetas, stats, (fit, demes) = reference_table(tmp, draws, seed)
    base = fit.base
    rng = np.random.default_rng(seed + 1)
    hits = np.zeros(len(fit.priors), dtype=int)
    widths = np.zeros(len(fit.priors))
    for k in range(datasets):
        truth_stats = {name: values[k : k + 1, 0] for name, values in stats.items()}
        data = []
        for obs in base.count_observations:
            p = class_probabilities(obs, truth_stats)[0]
            counts = rng.multinomial(obs.total, p / p.sum())
            data.append(dataclasses.replace(obs, counts=(*counts[:-1], obs.total)))
        scenario = dataclasses.replace(base, count_observations=tuple(data))
        loglik = history_log_likelihoods(scenario, stats, demes)["total"]
        loglik[k] = -np.inf
        if planted_prior:
            loglik = np.where(np.arange(draws) == k, -np.inf, 0.0)
        weights = pooled_weights([Round(0, thetas, np.zeros(draws), loglik[:, None], draws)])
        for j, prior in enumerate(fit.priors):
            lo, hi = weighted_quantiles(thetas[:, j], weights, (0.025, 0.975))
            hits[j] += lo <= thetas[k, j] <= hi
            widths[j] += diagnose(prior, thetas[:, j], weights).width_ratio
    return hits, widths / datasets, datasets


#: A parameter's mean posterior/prior width ratio must be below this: the data
#: (a screen of 200 and a genotype sample of 2,000) measure q0 and F (measured mean
#: ratios 0.33 and 0.55 with 6,000 reference histories), so a fit that learns nothing
#: (ratio ≈ 1) fails.
MAX_WIDTH_RATIO = 0.75


def calibration_failures(hits: np.ndarray, widths: np.ndarray, datasets: int,
                         alpha: float) -> list[str]:
    """Why a recovery fails: per parameter, coverage of the 95% intervals outside the
    central 1 − α range of Binomial(datasets, 0.95), or a mean width ratio above
    :data:`MAX_WIDTH_RATIO`."""
    lo, hi = binom.ppf(alpha / 2, datasets, 0.95), binom.isf(alpha / 2, datasets, 0.95)
    failures = []
    for j, name in enumerate(("q0", "F")):
        if not lo <= hits[j] <= hi:
            failures.append(f"{name}: {hits[j]} of {datasets} covered, outside [{lo}, {hi}]")
        if widths[j] >= MAX_WIDTH_RATIO:
            failures.append(f"{name}: mean width ratio {widths[j]:.2f} ≥ {MAX_WIDTH_RATIO}")
    return failures


def test_recovery_by_simulation_based_calibration(tmp_path):
    """CI size: 2,000 reference histories, 100 pseudo-datasets. Calibrated 95% intervals
    cover the truth in Binomial(100, 0.95) datasets; coverage is accepted inside that
    law's central 99.9% (per parameter, α = 0.001), and each parameter's mean width
    ratio must be below :data:`MAX_WIDTH_RATIO`. The planted fit that returns its prior
    covers just as well (its intervals are the prior's) and must fail on width."""
    hits, widths, n = sbc(tmp_path, 2000, 100, seed=5)
    assert calibration_failures(hits, widths, n, alpha=0.001) == []
    hits, widths, n = sbc(tmp_path, 2000, 100, seed=5, planted_prior=True)
    failures = calibration_failures(hits, widths, n, alpha=0.001)
    assert not any("covered" in f for f in failures)
    assert [f.split(":")[0] for f in failures] == ["q0", "F"]


@pytest.mark.slow
def test_recovery_by_simulation_based_calibration_many_datasets(tmp_path):
    """6,000 reference histories, 1,000 pseudo-datasets: the same criteria (coverage
    inside Binomial(1000, 0.95)'s central 99.9%, i.e. about 93%–97%, and the width
    requirement), and the planted prior-returning fit fails on width."""
    hits, widths, n = sbc(tmp_path, 6000, 1000, seed=9)
    assert calibration_failures(hits, widths, n, alpha=0.001) == []
    hits, widths, n = sbc(tmp_path, 6000, 1000, seed=9, planted_prior=True)
    assert [f.split(":")[0] for f in calibration_failures(hits, widths, n, 0.001)] == [
        "q0", "F"]


# --------------------------------------------------------------------------- run_fit


def test_likelihood_fit_writes_flags_and_resumes_to_the_same_posterior(tmp_path):
    path = write_fit(tmp_path, 'method = "likelihood"\nsimulations = 240\nrounds = 3\n'
                     "batch = 40\nmin_ess = 1000")
    whole = run_fit(load_fit(path), tmp_path / "whole", executor="processes", workers=2,
                    figures=False)
    assert [r.round for r in whole.rounds] == [0, 1, 2] and whole.simulations == 240
    summary = whole.summary.set_index("parameter")
    assert {"width_ratio", "mass_low", "mass_high", "flag", "ess"} <= set(summary.columns)
    assert whole.posterior["weight"].sum() == pytest.approx(1.0)
    weights = whole.posterior["weight"].to_numpy()
    assert whole.ess == pytest.approx(1 / np.sum(weights**2))  # Kish, from the written weights
    assert summary["ess"].iloc[0] == pytest.approx(whole.ess)
    cut = tmp_path / "cut"
    shutil.copytree(tmp_path / "whole", cut)
    (cut / "generations" / "round-2.json").unlink()
    resumed = run_fit(load_fit(path), cut, resume=True, figures=False)
    assert resumed.resumed == 2
    assert (cut / "posterior.csv").read_bytes() == (tmp_path / "whole/posterior.csv").read_bytes()


def test_cli_likelihood_fit_prints_flags_and_n_eff(tmp_path, capsys):
    path = write_fit(tmp_path, 'method = "likelihood"\nsimulations = 60\nrounds = 2\n'
                     "min_ess = 1000")
    assert main(["fit", str(path), "--out", str(tmp_path / "o"), "--executor", "serial",
                 "--no-figures"]) == 0
    text = capsys.readouterr().out
    assert "n_eff" in text and "width_ratio" in text
    assert "flag: n_eff" in text and "< min_ess 1000" in text


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("abc", "observed", "key", "rule"), [
    ('method = "likelihood"', OBSERVED.replace("carriers = 30", "carriers = 300"),
     "observed[0].carriers = 300", "must be in [0, 200]"),
    ('method = "likelihood"', '[[observed]]\nstatistic = "prevalence"\nvalue = 0.01\n',
     "observed[0] = 'prevalence'", "has no likelihood"),
    ('method = "likelihood"', OBSERVED.replace('allele = "founder"', 'allele = "M712T"', 1),
     "observed[0].allele = 'M712T'", "founder"),
    ('method = "likelihood"\nparticles = 10', OBSERVED, "abc.particles = 10",
     "not a setting of method = 'likelihood'"),
    ('method = "smc"\nrounds = 3', '[[observed]]\nstatistic = "prevalence"\nvalue = 0.01\n',
     "abc.rounds = 3", "not a setting of method = 'smc'"),
    ('method = "likelihood"\nsimulations = 5', OBSERVED, "abc.simulations = 5",
     "at least 10 per round"),
    ('method = "likelihood"\ndefensive = 0', OBSERVED, "abc.defensive = 0", "must be"),
])
def test_bad_likelihood_fit_input_is_one_line_before_any_work(
    tmp_path, capsys, abc, observed, key, rule
):
    path = write_fit(tmp_path, abc, observed)
    with pytest.raises(ConfigError):
        load_fit(path)
    out = tmp_path / "out"
    assert main(["fit", str(path), "--out", str(out), "--executor", "serial"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and rule in err, err
    assert not out.exists()


def test_model_choice_is_refused_with_the_likelihood_method(tmp_path):
    choice = """
[model_choice]
[[model_choice.models]]
name = "a"
[[model_choice.models]]
name = "b"
"""
    path = write_fit(tmp_path, 'method = "likelihood"', OBSERVED + choice)
    with pytest.raises(ConfigError, match="model_choice"):
        load_fit(path)


def test_count_observation_names_the_fit_columns(tmp_path):
    fit = load_fit(write_fit(tmp_path, 'method = "likelihood"'))
    assert fit.likelihood == ("screen", "sample")
    assert fit.columns == ("loglik_screen", "loglik_sample", "loglik_total")
    assert all(isinstance(o, CountObservation) for o in fit.base.count_observations)


SHIPPED_FIT = Path(__file__).resolve().parents[1] / "configs" / "fit_persian_jews.toml"


def test_shipped_fit_varies_the_bases_founding_size_and_allele_entry_only():
    """configs/fit_persian_jews.toml against its base: it loads (every prior's bounds
    build a valid scenario); "founders" sets the community's size from its founding to
    the start of its growth (the three keys the base links), "entry" the generation
    M712T enters, 100 − age for ages 43–52 (whole numbers, each equally likely); the
    founding time stays the base's; the observations are the base's own."""
    fit = load_fit(SHIPPED_FIT)
    base = load_scenario(fit.base_path)
    by_name = {p.name: p for p in fit.priors}
    assert set(by_name) == {"founders", "entry", "inbreeding", "migration"}
    targets = {key for p in fit.priors for key in p.targets}
    assert not any("founded.generation" in k or k.startswith("scenario.") for k in targets)

    entry = by_name["entry"]
    draws = np.linspace(entry.low, entry.high, 1001)[1:-1]  # the support's ends: mass 0
    values = {entry.value(x) for x in draws}
    assert values == set(range(48, 58))
    assert {base.generations - v for v in values} == set(range(43, 53))
    assert base.locus.founder_alleles[0].generation in values

    middle = np.array([p.middle() for p in fit.priors])
    for founders in (5, 1000):
        theta = middle.copy()
        theta[list(by_name).index("founders")] = founders
        scenario = draw_model(fit.base_raw, fit.base_path.parent, fit.fixed,
                              fit.priors, theta).scenario
        d = scenario.deme_index("persian_jews")
        deme = scenario.demes[d]
        sizes = deme_sizes(deme, d, scenario.generations)
        assert deme.founded.founders == founders
        assert deme.founded.generation == base.demes[d].founded.generation == 1
        growth = next(e.start_generation for e in deme.epochs if e.growth == "exponential")
        assert set(sizes[1:growth + 1]) == {founders}
        assert sizes[-1] == base_sizes(base)[-1] == 100_000
        assert scenario.generations == base.generations

    assert fit.base.count_observations == base.count_observations


def base_sizes(base) -> np.ndarray:
    """The base's community sizes at generations 0 … T."""
    d = base.deme_index("persian_jews")
    return deme_sizes(base.demes[d], d, base.generations)
