"""One path from any input to a checked, compiled model: :func:`build_model`.

Every way into a simulation passes through :func:`build_model`: a TOML file, a
parsed config dict, a Demes model (``demography = "model.yaml"`` in either),
``--set`` overrides, a sweep point (:func:`popsim.workflows.sweep.spec.resolve_points`),
a fit's fixed settings and each of its proposals (:mod:`popsim.workflows.fit`). Its
checks are made once each, in this order:

1. keys, types and ranges: :func:`popsim.model.config.read_scenario` (the config's
   Table readers), after the overrides are applied;
2. the whole schedule, while the plan is compiled:
   :func:`popsim.model.plan.compile_plan` (founder copies within 2N, migration
   into a deme at most 1, founding from a deme that has individuals);
3. the engine that will run (:func:`check_engine`): a setting that engine does
   not use (or F given together with marriage fractions) is refused, naming the
   key, the engine and what to write instead, never dropped; then the pedigree
   engine's limits (an ancestry window that reaches the relatives it marries, a
   couple to make every deme's children, the individuals it can hold).

Every :class:`~popsim.errors.ConfigError` names ``source`` (the file, the sweep
point or the fit draw) where there is one.

Design. A :class:`Model` is frozen: the validated Scenario, its Plan (compiled
once) and the engine it was checked for. The plan does not depend on the
engine, so running a model under another engine re-runs step 3 only
(:meth:`Model.for_engine`). :func:`popsim.simulate` takes a Model or a
Scenario. The public :func:`load_scenario` and :func:`scenario_from_dict`
return a Scenario and remember its model by the object's identity (the entry
goes when the scenario is garbage collected); :func:`model_of` finds it, so
``simulate(load_scenario(path))`` compiles nothing again. A scenario that did
not come through here (built by hand, or a ``dataclasses.replace`` copy, which
is a new object) gets steps 2 and 3 in :func:`model_of`. Sweeps and fits keep
only their points' and draws' scenarios, not the plans (a plan per point would
hold points × schedule in memory): every point is checked here before any
runs, and the worker that runs it compiles its plan again.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from popsim.errors import ConfigError
from popsim.model.config import ENGINES, merged, read_scenario, read_toml
from popsim.model.inbreeding import has_marriages, marriage_inbreeding
from popsim.model.limits import MAX_INDIVIDUALS
from popsim.model.plan import Plan, compile_plan
from popsim.model.scenario import Scenario


@dataclass(frozen=True, eq=False)
class Model:
    """A validated scenario with its compiled plan, checked for ``engine``.

    ``source`` names where the scenario came from (a file, a sweep point) in
    the errors of later checks.
    """

    scenario: Scenario
    plan: Plan
    engine: str
    source: str | None = None

    def for_engine(self, engine: str | None) -> Model:
        """This model checked for ``engine`` (None: its own); the plan is reused."""
        if engine is None or engine == self.engine:
            return self
        with _named(self.source):
            check_engine(self.scenario, self.plan, engine)
        return dataclasses.replace(self, engine=engine)


def build_model(
    raw: Mapping[str, Any] | str | Path | Scenario,
    *,
    source: str | None = None,
    base_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    engine: str | None = None,
) -> Model:
    """Validate any input into a :class:`Model` (see the module docstring).

    Args:
        raw: a parsed config (a dict shaped like the TOML), the path of a TOML
            config (``source`` and ``base_dir`` then default to the file and
            its folder), or a Scenario (its steps 2 and 3 only).
        source: named in every ConfigError, e.g. the file or the sweep point.
        base_dir: the folder a ``demography`` path is relative to (default: the
            current directory).
        overrides: ``--set`` style ``{dotted key: value}`` changes, applied to a
            copy of ``raw`` before it is read.
        engine: the engine that will run (default: ``scenario.engine``).

    Raises:
        ConfigError: any invalid input, naming the key, the value and the rule.
    """
    if isinstance(raw, str | Path):
        path = Path(raw)
        source = source or str(path)
        base_dir = path.parent if base_dir is None else base_dir
        raw = read_toml(path)
    with _named(source):
        if isinstance(raw, Scenario):
            if overrides:
                raise TypeError("overrides apply to a config, not to a Scenario")
            scenario = raw
        else:
            scenario = read_scenario(merged(raw, overrides) if overrides else raw, base_dir)
        plan = compile_plan(scenario)
        chosen = engine or scenario.engine
        check_engine(scenario, plan, chosen)
    return Model(scenario, plan, chosen, source)


@contextmanager
def _named(source: str | None) -> Iterator[None]:
    """A ConfigError raised inside names ``source`` (unless it names one already)."""
    try:
        yield
    except ConfigError as error:
        if source and not error.source:
            raise error.with_source(source) from None
        raise


# --------------------------------------------------------------------------- engine checks


def check_engine(scenario: Scenario, plan: Plan, engine: str) -> None:
    """Step 3: refuse the settings ``engine`` does not use, then what it cannot run.

    Marriage fractions describe a deme's customs for both engines: the pedigree
    engine simulates the marriages, the frequency engine forms zygotes with the
    F they imply (:mod:`popsim.model.inbreeding`). ``inbreeding`` (F) is the
    frequency engine's alone: with marriage fractions in the same deme it is an
    error under either engine (the marriages already give F), and under the
    pedigree engine, which makes its F from marriages, it is an error that says
    to give marriage fractions. The frequency engine keeps no ancestry, so
    ``scenario.ancestry_generations`` is refused there. A hybrid run applies the
    pedigree engine's rule to its demes of individuals and the frequency engine's to
    its hosts, whose marriage fractions give the F they imply
    (:func:`_check_hybrid`). Never silently dropped.
    """
    if engine not in ENGINES:
        raise ConfigError("engine", engine, f"must be one of {', '.join(map(repr, ENGINES))}")
    for i, deme in enumerate(scenario.demes):
        if deme.inbreeding and has_marriages(deme):
            raise ConfigError(
                f"demes[{i}].inbreeding", deme.inbreeding,
                f"give either F or marriage fractions, not both: deme '{deme.name}' has "
                f"marriage fractions, which imply F = {marriage_inbreeding(deme):.4g} plus the "
                "background relatedness of a finite population (docs/design.md, \"Mating\"); "
                f"remove demes[{i}].inbreeding, or the marriage fractions",
            )
    if engine == "hybrid":
        _check_hybrid(scenario, plan)
        return
    for i, deme in enumerate(scenario.demes):
        if deme.individuals:
            raise ConfigError(
                f"demes[{i}].individuals", True,
                f"only a hybrid run simulates some demes as individuals and the others by "
                f"allele frequencies: set scenario.engine = 'hybrid', or remove the key (the "
                f"{engine} engine simulates every deme)",
            )
    if engine == "frequency":
        if scenario.ancestry_generations is not None:
            raise ConfigError(
                "scenario.ancestry_generations", scenario.ancestry_generations,
                "the frequency engine keeps no ancestry: remove the key, or choose the "
                "pedigree engine (scenario.engine = 'pedigree')",
            )
        return
    for i, deme in enumerate(scenario.demes):
        if deme.inbreeding:
            raise ConfigError(
                f"demes[{i}].inbreeding", deme.inbreeding,
                f"the pedigree engine does not use F (its inbreeding comes from marriages "
                f"between relatives): give demes[{i}].first_cousin_marriage, "
                "second_cousin_marriage or uncle_niece_marriage instead (F = 1/16, 1/64 and "
                "1/8 of those marriages; e.g. F = 0.01 is about 16% first-cousin marriages), "
                "or choose the frequency engine (scenario.engine = 'frequency')",
            )
    _check_pedigree(plan)


def _check_hybrid(scenario: Scenario, plan: Plan) -> None:
    """A hybrid run: some demes, not all, are individuals (``individuals = true``);
    those follow the pedigree engine's rules, the hosts the frequency engine's (F, or
    marriage fractions with the F they imply); genes flow one way, from the hosts to
    the individuals (docs/design.md)."""
    marked = [d.individuals for d in scenario.demes]
    if all(marked) or not any(marked):
        raise ConfigError(
            "scenario.engine", "hybrid",
            "a hybrid run needs at least one deme with individuals = true (simulated by the "
            "pedigree engine) and one without (a host, simulated by the frequency engine); "
            + ("mark a deme, or choose scenario.engine = 'frequency' or 'pedigree'"
               if not any(marked) else "choose scenario.engine = 'pedigree'"),
        )
    for i, deme in enumerate(scenario.demes):
        if deme.individuals and deme.inbreeding:
            raise ConfigError(
                f"demes[{i}].inbreeding", deme.inbreeding,
                f"deme '{deme.name}' is simulated as individuals, whose inbreeding comes from "
                "marriages between relatives: give its first_cousin_marriage, "
                "second_cousin_marriage or uncle_niece_marriage instead",
            )
        for source, _ in deme.founded.sources if deme.founded else ():
            if not deme.individuals and marked[scenario.deme_index(source)]:
                raise ConfigError(
                    f"demes[{i}].founded.from", source,
                    "a hybrid run's genes flow one way, from the hosts to the demes of "
                    "individuals: a host cannot be founded from one (make both individuals)",
                )
    for k, migration in enumerate(scenario.migrations):
        if migration.rate > 0 and marked[scenario.deme_index(migration.source)] and not marked[
            scenario.deme_index(migration.dest)
        ]:
            raise ConfigError(
                f"migration[{k}].source", migration.source,
                f"a hybrid run's genes flow one way, from the hosts to the demes of "
                f"individuals: '{migration.source}' (individuals) cannot send migrants to the "
                f"host '{migration.dest}'; mark '{migration.dest}' individuals = true too, or "
                "use the pedigree engine",
            )
    _check_pedigree(plan, plan.individuals)


def _check_pedigree(plan: Plan, individuals: np.ndarray | None = None) -> None:
    """What the pedigree engine cannot run: an ancestry window too short for the
    marriages asked for, a deme with offspring but no couple to make them, more
    individuals at once than fit in memory. ``individuals``: the demes it
    simulates (default all; in a hybrid run the others are hosts, whose gene
    pools make children without couples)."""
    if individuals is None:
        individuals = np.ones(len(plan.deme_names), dtype=np.bool_)
    g = plan.ancestry_generations
    key = "scenario.ancestry_generations"
    uses = plan.marriage > 0
    if uses[:, 1].any() and g < 4:
        raise ConfigError(key, g, "must be at least 4 with second-cousin marriages "
                          "(second cousins share great-grandparents)")
    if (uses[:, 0] | uses[:, 2]).any() and g < 3:
        raise ConfigError(key, g, "must be at least 3 with first-cousin or uncle–niece "
                          "marriages (they share grandparents)")
    alive = (plan.sizes * individuals).sum(axis=1)
    if alive.max() > MAX_INDIVIDUALS:
        step = int(alive.argmax())
        raise ConfigError(
            "scenario.engine", "pedigree",
            f"the pedigree engine holds every individual in memory (about 55 bytes each): "
            f"{int(alive[step]):,} at generation {step - plan.burn_in} are more than "
            f"{MAX_INDIVIDUALS:,}; use the frequency engine",
        )
    for step in range(1, plan.sizes.shape[0]):
        m = plan.migration[plan.migration_index[step]]
        for i, name in enumerate(plan.deme_names):
            if plan.sizes[step, i] == 0 or not individuals[i]:
                continue
            if (m[i] > 0)[~individuals].any():
                continue  # a host's gene pool can make every child
            parents = plan.sizes[step - 1] * (m[i] > 0)
            if parents.max() < 2:
                j = int(np.argmax(m[i]))
                founded = step - 1 >= 1 and plan.sizes[step - 2, j] == 0
                raise ConfigError(
                    f"demes[{j}]." + ("founded.founders" if founded else "size"),
                    int(plan.sizes[step - 1, j]),
                    f"the pedigree engine needs at least 2 individuals (a couple) in "
                    f"'{plan.deme_names[j]}' at generation {step - 1 - plan.burn_in} to make "
                    f"the offspring of '{name}'",
                )


# --------------------------------------------------------------------------- scenarios

#: (plan, engine, source) of each scenario built here, by ``id(scenario)``.
_MODELS: dict[int, tuple[Plan, str, str | None]] = {}


def _remember(model: Model) -> Scenario:
    """Keep ``model`` for :func:`model_of` while its scenario lives; return the scenario."""
    key = id(model.scenario)
    _MODELS[key] = (model.plan, model.engine, model.source)
    weakref.finalize(model.scenario, _MODELS.pop, key, None)
    return model.scenario


def model_of(scenario: Scenario, engine: str | None = None) -> Model:
    """The model of ``scenario`` checked for ``engine`` (default: the scenario's).

    Reuses the plan of a scenario built by :func:`load_scenario` or
    :func:`scenario_from_dict`; any other scenario is compiled and checked
    (steps 2 and 3) once, and remembered.
    """
    known = _MODELS.get(id(scenario))
    if known is None:
        model = build_model(scenario)
        _remember(model)
    else:
        model = Model(scenario, *known)
    return model.for_engine(engine)


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read a TOML config, apply ``--set`` style overrides, and validate it all.

    Every check of :func:`build_model` is made (for the scenario's own engine);
    a ConfigError names ``path``, also for a file that is missing or is not
    valid TOML. A ``demography`` file is read relative to the config's folder.
    """
    return _remember(build_model(Path(path), overrides=overrides))


def scenario_from_dict(raw: Mapping[str, Any], base_dir: Path | None = None) -> Scenario:
    """Validate a parsed config (a dict shaped like the TOML) into a Scenario.

    The same checks as :func:`load_scenario` (:func:`build_model`); ``base_dir``
    is the folder a ``demography`` path is relative to (default: the current
    directory).
    """
    return _remember(build_model(raw, base_dir=base_dir))
