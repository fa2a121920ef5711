"""Fit files (TOML) → a validated :class:`Fit` (see ``docs/fit.md``).

::

    [fit]
    base = "iranian_jewish_m712t.toml"  # relative to the fit file
    seed = 2013
    [fit.set]                           # fixed changes to the base, every draw
    "scenario.burn_in" = 0

    [abc]
    method = "smc"          # or "rejection"; or "likelihood" (count observations)
    particles = 300         # smc (rejection: simulations and accept or tolerance)
    generations = 5         # (likelihood: simulations, rounds, defensive, min_ess)

    [[priors]]
    key = "demes.persian_jews.inbreeding"
    distribution = "uniform"            # log_uniform | fixed (with value)
    low = 0.0
    high = 0.05

    [[observed]]                        # rejection, smc: an observed statistic
    statistic = "carrier_frequency"
    value = 0.0909
    interval = [0.07, 0.11]             # or sd, or sample_size

    # likelihood: the count forms of a scenario's [[observed]] (docs/config.md), e.g.
    # name = "la_screen", carriers = 28, screened = 308, allele = "founder"

    [model_choice]                      # optional: ABC model choice
    simulations = 4000
    accept = 0.02
    [[model_choice.models]]
    name = "drift"
    [[model_choice.models]]
    name = "carrier_advantage"
    [[model_choice.models.priors]]
    key = "locus.selection.heterozygote_advantage"
    distribution = "uniform"
    low = 0.0
    high = 0.05
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from popsim.errors import MISSING, ConfigError, PopsimError
from popsim.model.build import build_model
from popsim.model.config import Table, read_config_bytes, read_toml, referenced_file
from popsim.model.scenario import Scenario
from popsim.workflows.fit.observed import Observed, parse_observed
from popsim.workflows.fit.priors import Prior, parse_priors
from popsim.workflows.fit.simulator import check_prior_box

METHODS = ("rejection", "smc", "likelihood")
#: ``[abc]`` keys that only the ABC methods (rejection, smc) read, and only ``likelihood``.
ABC_ONLY = ("accept", "tolerance", "particles", "generations", "quantile", "max_simulations",
            "min_acceptance", "scale", "predictive")
LIKELIHOOD_ONLY = ("rounds", "defensive", "min_ess")
SCALES = ("observation", "mad")
MAX_SIMULATIONS = 10_000_000


@dataclass(frozen=True)
class Settings:
    """The ``[abc]`` table: algorithm and its sizes (see :mod:`popsim.workflows.fit.abc`)."""

    method: str
    simulations: int
    accept: float | None
    tolerance: float | None
    particles: int
    generations: int
    quantile: float
    max_simulations: int
    min_acceptance: float
    scale: str
    batch: int
    predictive: int
    rounds: int = 1
    defensive: float = 0.2
    min_ess: float = 100.0


@dataclass(frozen=True)
class Model:
    """One model of a model choice: extra priors and fixed keys on top of the fit's."""

    name: str
    priors: tuple[Prior, ...]
    fixed: dict[str, Any]


@dataclass(frozen=True)
class ModelChoice:
    simulations: int
    accept: float
    models: tuple[Model, ...]


@dataclass(frozen=True, eq=False)
class Fit:
    """A validated fit file with its base scenario."""

    path: Path
    text: str
    sha256: str
    name: str
    description: str
    base_path: Path
    base_raw: dict[str, Any]
    base: Scenario
    seed: int
    fixed: dict[str, Any]
    priors: tuple[Prior, ...]
    observed: tuple[Observed, ...]
    settings: Settings
    model_choice: ModelChoice | None
    #: method = "likelihood": the names of the observations with a likelihood (the fit's
    #: ``[[observed]]``, carried by ``base``); empty for the ABC methods.
    likelihood: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """What a simulated draw reports: ABC, the observed statistics; likelihood, the
        log-likelihood of each observation then the total."""
        if self.likelihood:
            return tuple(f"loglik_{name}" for name in (*self.likelihood, "total"))
        return tuple(o.statistic for o in self.observed)


def load_fit(path: str | Path, overrides: dict[str, Any] | None = None) -> Fit:
    """Read and validate a fit file (ConfigError naming the file on bad input).

    ``overrides`` are ``--set`` changes applied to the base like ``[fit.set]``.
    """
    path = Path(path)
    if not path.exists():
        raise PopsimError(f"{path}: fit file not found")
    data = read_config_bytes(path)
    try:
        return fit_from_dict(read_toml(path), path, data, overrides)
    except ConfigError as error:
        raise (error if error.source else error.with_source(str(path))) from None


def fit_from_dict(
    raw: dict[str, Any], path: Path, data: bytes = b"",
    overrides: dict[str, Any] | None = None,
) -> Fit:
    """Validate a parsed fit file (``data``: its bytes, for the manifest); ``path``
    locates the base scenario. ConfigError (without the file's name) on bad input."""
    overrides = overrides or {}
    root = Table(raw, "")
    head = root.table("fit", required=True)
    assert head is not None
    base_name = head.string("base")
    base_path = referenced_file(head.key("base"), base_name, path.parent)
    set_table = head.table("set")
    fixed: dict[str, Any] = dict(set_table.data) if set_table else {}
    fixed.update(overrides)
    base_raw = read_toml(base_path)
    base = build_model(
        base_raw, overrides=fixed, base_dir=base_path.parent,
        source=f"{base_path} with fit.set and --set",
    ).scenario
    seed = head.integer("seed", base.seed, 0, 2**63 - 1)
    name = head.string("name", path.stem)
    description = head.string("description", "")
    demes = tuple(d.name for d in base.demes)
    default_deme = head.string("deme", _default_deme(base))
    head.finish(("set",))

    priors, prior_fixed = parse_priors(root.tables("priors"), base_raw)
    fixed.update(prior_fixed)
    settings = _settings(root.table("abc", required=True))
    tables = root.tables("observed")
    if not tables:
        raise ConfigError("observed", MISSING, "at least one [[observed]] table is required")
    likelihood: tuple[str, ...] = ()
    if settings.method == "likelihood":
        observed: tuple[Observed, ...] = ()
        base_raw = {**base_raw, "observed": [{"deme": default_deme, **t.data} for t in tables]}
        base = build_model(base_raw, overrides=fixed, base_dir=base_path.parent,
                           source=str(path)).scenario
        likelihood = _likelihood_names(base, tables)
    else:
        observed = tuple(parse_observed(t, default_deme, demes) for t in tables)
    choice_table = root.table("model_choice")
    model_choice = _model_choice(choice_table, base_raw, priors) if choice_table else None
    if model_choice is not None and settings.method == "likelihood":
        raise ConfigError("model_choice", "[model_choice]", "is ABC model choice: only with "
                          "method = 'rejection' or 'smc', not 'likelihood'")
    if not priors and model_choice is None:
        raise ConfigError("priors", MISSING, "give at least one uniform or log_uniform prior")
    root.finish()
    where = f"{path}, ABC draw at a prior bound"
    check_prior_box(base_raw, base_path.parent, fixed, priors, where)
    for model in model_choice.models if model_choice else ():
        check_prior_box(base_raw, base_path.parent, {**fixed, **model.fixed},
                        priors + model.priors, f"{path}, model '{model.name}', ABC draw "
                        "at a prior bound")
    return Fit(
        path=path, text=data.decode("utf-8"), sha256=hashlib.sha256(data).hexdigest(),
        name=name, description=description, base_path=base_path, base_raw=base_raw,
        base=base, seed=seed, fixed=fixed, priors=priors, observed=observed,
        settings=settings, model_choice=model_choice, likelihood=likelihood,
    )


def _likelihood_names(base: Scenario, tables: list[Table]) -> tuple[str, ...]:
    """The names of the observations that have a likelihood (the base's count and
    rate observations: :func:`popsim.analysis.evidence.history_log_likelihoods` gives
    one for each); a ConfigError names the first table without one."""
    names = [o.name for o in base.count_observations]
    for t in tables:
        if t.data.get("name") not in names:
            raise ConfigError(
                t.path, t.data.get("statistic", t.data.get("name", "")),
                "has no likelihood (a point value): method = 'likelihood' takes counts, "
                "the forms of docs/config.md [[observed]] (e.g. carriers + screened, "
                "families + founder_homozygous + ...)",
            )
    return tuple(names)


def _default_deme(base: Scenario) -> str:
    if base.observations:
        return base.observations[0].deme
    if base.locus.founder_alleles:
        return base.locus.founder_alleles[0].deme
    return base.demes[0].name


def _settings(t: Table | None) -> Settings:
    assert t is not None
    method = t.choice("method", METHODS, "smc")
    unused = LIKELIHOOD_ONLY if method != "likelihood" else ABC_ONLY
    for key in unused:
        if t.has(key):
            raise ConfigError(t.key(key), t.raw(key), f"is not a setting of method = "
                              f"'{method}' (rejection and smc: {', '.join(ABC_ONLY)}; "
                              f"likelihood: {', '.join(LIKELIHOOD_ONLY)})")
    if method == "likelihood":
        return _likelihood_settings(t)
    given = [k for k in ("accept", "tolerance") if t.has(k)]
    if len(given) == 2:
        raise ConfigError(t.key("tolerance"), t.raw("tolerance"), "give accept or tolerance, "
                          "not both")
    accept = t.number("accept", 0.1, 0.0, 1.0, open_low=True) if "tolerance" not in given else None
    tolerance = t.number("tolerance", low=0.0, open_low=True) if "tolerance" in given else None
    if method == "smc" and tolerance is not None:
        raise ConfigError(t.key("tolerance"), tolerance, "only for method = 'rejection'; ABC-SMC "
                          "sets its tolerances from quantile")
    particles = t.integer("particles", 200, 2, 1_000_000)
    simulations = t.integer(
        "simulations", max(particles, round(particles / (accept or 1.0))), 1, MAX_SIMULATIONS
    )
    if method == "smc" and simulations < particles:
        raise ConfigError(t.key("simulations"), simulations, f"must be at least particles = "
                          f"{particles} (generation 0 keeps the closest particles of them)")
    settings = Settings(
        method=method, simulations=simulations, accept=accept, tolerance=tolerance,
        particles=particles,
        generations=t.integer("generations", 5, 1, 100),
        quantile=t.number("quantile", 0.5, 0.0, 1.0, open_low=True, open_high=True),
        max_simulations=t.integer("max_simulations", 200_000, 1, MAX_SIMULATIONS),
        min_acceptance=t.number("min_acceptance", 0.01, 0.0, 1.0),
        scale=t.choice("scale", SCALES, "observation"),
        batch=t.integer("batch", 50, 1, 100_000),
        predictive=t.integer("predictive", 200, 0, 1_000_000),
    )
    t.finish()
    return settings


def _likelihood_settings(t: Table) -> Settings:
    """``[abc]`` of method = "likelihood" (see :mod:`popsim.workflows.fit.likelihood`)."""
    rounds = t.integer("rounds", 4, 1, 100)
    simulations = t.integer("simulations", 4000, 1, MAX_SIMULATIONS)
    if simulations < 10 * rounds:
        raise ConfigError(t.key("simulations"), simulations, f"must be at least 10 per round "
                          f"(rounds = {rounds}): at least {10 * rounds}")
    settings = Settings(
        method="likelihood", simulations=simulations, accept=None, tolerance=None,
        particles=simulations, generations=rounds, quantile=0.5, max_simulations=simulations,
        min_acceptance=0.0, scale="observation",
        batch=t.integer("batch", 50, 1, 100_000),
        predictive=0,
        rounds=rounds,
        defensive=t.number("defensive", 0.2, 0.0, 1.0, open_low=True),
        min_ess=t.number("min_ess", 100.0, 1.0),
    )
    t.finish()
    return settings


def _model_choice(t: Table, base_raw: dict[str, Any], shared: tuple[Prior, ...]) -> ModelChoice:
    simulations = t.integer("simulations", 4000, 2, MAX_SIMULATIONS)
    accept = t.number("accept", 0.02, 0.0, 1.0, open_low=True)
    models = []
    for m in t.tables("models"):
        name = m.string("name", pattern=True)
        priors, fixed = parse_priors(m.tables("priors"), base_raw)
        set_table = m.table("set")
        fixed.update(set_table.data if set_table else {})
        inferred = {key for p in shared for key in p.targets}
        for key in [*fixed, *(k for p in priors for k in p.targets)]:
            if key in inferred:
                raise ConfigError(
                    m.key("set"), key, "is a key of a [[priors]] table shared by all models; "
                    "give it a prior per model instead",
                )
        m.finish(("set",))
        models.append(Model(name, priors, fixed))
    if len(models) < 2:
        raise ConfigError(t.key("models"), len(models), "model choice needs at least 2 "
                          "[[model_choice.models]]")
    names = [m.name for m in models]
    if len(set(names)) < len(names):
        raise ConfigError(t.key("models"), names, "model names must be distinct")
    t.finish()
    return ModelChoice(simulations, accept, tuple(models))
