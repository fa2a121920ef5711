"""The one validation path (:mod:`popsim.model.build`): every input refused alike, settings
an engine does not use refused, and the plan compiled once."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import popsim.model.build
import popsim.model.config
import popsim.model.demes_import
import popsim.model.limits
import popsim.model.plan
from popsim.cli import main
from popsim.errors import ConfigError
from popsim.model.build import build_model, load_scenario, model_of, scenario_from_dict
from popsim.simulate import simulate
from popsim.workflows.fit import load_fit
from popsim.workflows.fit.simulator import draw_model
from popsim.workflows.sweep import load_sweep, run_sweep

SMALL = """
[scenario]
name = "small"
generations = 5
replicates = 2
seed = 1
{scenario}

[[demes]]
name = "pop"
size = 10
{deme}

[[locus.founder_alleles]]
name = "f"
deme = "pop"
copies = {copies}
"""

#: The refusal of 50 founder copies in a deme of 10 diploids, whatever the input.
TOO_MANY = (
    "locus.founder_alleles[0].copies = 50: must be between 1 and 2N = 20 gene copies of "
    "'pop' at generation 0"
)


def small(tmp: Path, copies: int = 5, scenario: str = "", deme: str = "") -> Path:
    path = tmp / "small.toml"
    path.write_text(SMALL.format(copies=copies, scenario=scenario, deme=deme))
    return path


def refusal(call) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        call()
    return info.value


def raw_small(copies: int = 5, **deme: float) -> dict:
    return {
        "scenario": {"name": "small", "generations": 5, "replicates": 2},
        "demes": [{"name": "pop", "size": 10, **deme}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "copies": copies}]},
    }


# --------------------------------------------------------------------------- one message


def test_too_many_copies_same_refusal_from_file_dict_sweep_point_and_fit_proposal(tmp_path):
    from_file = refusal(lambda: load_scenario(small(tmp_path, copies=50)))
    from_dict = refusal(lambda: scenario_from_dict(raw_small(copies=50)))

    base = small(tmp_path)
    sweep_path = tmp_path / "sweep.toml"
    sweep_path.write_text(
        '[sweep]\nbase = "small.toml"\n\n[[parameters]]\n'
        'key = "locus.founder_alleles.f.copies"\nname = "copies"\nvalues = [5, 50]\n'
    )
    out = tmp_path / "out"
    from_sweep = refusal(lambda: run_sweep(load_sweep(sweep_path), out, executor="serial"))
    assert not out.exists()  # point 0 is valid, yet nothing is run or written

    fit_path = tmp_path / "fit.toml"
    fit_path.write_text(
        '[fit]\nbase = "small.toml"\n\n[abc]\nmethod = "rejection"\nsimulations = 10\n\n'
        '[[priors]]\nkey = "locus.founder_alleles.f.copies"\nname = "copies"\n'
        'distribution = "uniform"\nlow = 1\nhigh = 50\n\n'
        '[[observed]]\nstatistic = "carrier_frequency"\nvalue = 0.1\n'
    )
    from_fit = refusal(lambda: load_fit(fit_path))
    priors = from_fit_priors(tmp_path)
    from_proposal = refusal(lambda: draw_model(
        raw_small(), tmp_path, {}, priors, np.array([50.0])
    ))

    errors = [from_file, from_dict, from_sweep, from_fit, from_proposal]
    assert {(e.key, e.value, e.allowed) for e in errors} == {
        ("locus.founder_alleles[0].copies", 50, from_dict.allowed)
    }
    assert str(from_dict) == TOO_MANY
    assert str(from_file) == f"{base}: {TOO_MANY}"
    assert str(from_sweep) == f"{sweep_path}, point 1 (copies = 50): {TOO_MANY}"
    assert str(from_fit) == f"{fit_path}, ABC draw at a prior bound (copies = 50): {TOO_MANY}"
    assert str(from_proposal) == f"ABC draw (copies = 50): {TOO_MANY}"


def from_fit_priors(tmp: Path):
    """The priors of a valid box (copies 1–20) of the same fit."""
    path = tmp / "fit_ok.toml"
    path.write_text((tmp / "fit.toml").read_text().replace("high = 50", "high = 20"))
    return load_fit(path).priors


def test_fit_box_is_checked_at_each_bound_with_the_others_in_the_middle(tmp_path):
    """A prior whose lower bound is invalid is refused before any draw, naming the
    bound's draw with the other parameter at its middle."""
    small(tmp_path)
    path = tmp_path / "fit.toml"
    path.write_text(
        '[fit]\nbase = "small.toml"\n\n[abc]\nmethod = "rejection"\nsimulations = 10\n\n'
        '[[priors]]\nkey = "demes.pop.size"\nname = "size"\ndistribution = "uniform"\n'
        'low = 2\nhigh = 30\n\n'
        '[[priors]]\nkey = "locus.founder_alleles.f.copies"\nname = "copies"\n'
        'distribution = "uniform"\nlow = 1\nhigh = 9\n\n'
        '[[observed]]\nstatistic = "carrier_frequency"\nvalue = 0.1\n'
    )
    error = refusal(lambda: load_fit(path))
    assert str(error).startswith(f"{path}, ABC draw at a prior bound (size = 2, copies = 5): ")
    assert "2N = 4 gene copies" in str(error)


# --------------------------------------------------------------------------- engine keys


@pytest.mark.parametrize(("key", "f"), [("first_cousin_marriage", 1 / 16),
                                        ("second_cousin_marriage", 1 / 64),
                                        ("uncle_niece_marriage", 1 / 8)])
def test_frequency_engine_runs_marriages_with_their_implied_f(key, f):
    """c·F_kind plus the background Σ_{d=2}^{4} 1/(2N(τ − d)) of the default window:
    at N = 10 and step τ ≥ 4 that is 3/20; before, only the steps that exist count."""
    model = build_model(raw_small(**{key: 0.1}))
    steps = model.plan.inbreeding[:, 0]
    assert steps[0] == steps[1] == pytest.approx(0.1 * f)
    assert steps[2] == pytest.approx(0.1 * f + 1 / 20)
    assert steps[4:] == pytest.approx(0.1 * f + 3 / 20)
    result = simulate(model.scenario)
    assert result.inbreeding[:, -1, 0] == pytest.approx(0.1 * f + 3 / 20)
    assert build_model(raw_small()).plan.inbreeding.max() == 0.0  # random mating: F = 0


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_f_and_marriage_fractions_in_one_deme_are_refused(engine):
    raw = raw_small(inbreeding=0.02, first_cousin_marriage=0.1)
    error = refusal(lambda: build_model(raw, engine=engine))
    assert (error.key, error.value) == ("demes[0].inbreeding", 0.02)
    assert "give either F or marriage fractions, not both" in error.allowed
    assert "F = 0.00625" in error.allowed


def test_frequency_engine_refuses_an_explicit_ancestry_window(tmp_path):
    path = small(tmp_path, scenario="ancestry_generations = 4")
    error = refusal(lambda: load_scenario(path))
    assert str(error).startswith(f"{path}: scenario.ancestry_generations = 4: the frequency "
                                 "engine keeps no ancestry")
    pedigree = load_scenario(path, {"scenario.engine": "pedigree"})
    assert pedigree.ancestry_generations == 4
    assert load_scenario(small(tmp_path)).ancestry_generations is None


def test_pedigree_engine_refuses_inbreeding_also_through_overrides(tmp_path):
    path = small(tmp_path, deme="inbreeding = 0.02")
    assert load_scenario(path).demes[0].inbreeding == 0.02
    error = refusal(lambda: load_scenario(path, {"scenario.engine": "pedigree"}))
    assert str(error).startswith(f"{path}: demes[0].inbreeding = 0.02: the pedigree engine "
                                 "does not use F")
    assert "first_cousin_marriage" in error.allowed
    assert "16% first-cousin marriages" in error.allowed
    assert "scenario.engine = 'frequency'" in error.allowed


def test_simulate_checks_the_engine_that_runs(tmp_path):
    scenario = load_scenario(small(tmp_path, deme="inbreeding = 0.02"))
    error = refusal(lambda: simulate(scenario, engine="pedigree"))
    assert error.key == "demes[0].inbreeding"
    assert error.source == str(tmp_path / "small.toml")
    by_hand = dataclasses.replace(scenario, name="copy")  # not built by build_model
    assert refusal(lambda: simulate(by_hand, engine="pedigree")).key == "demes[0].inbreeding"


def test_zero_settings_of_the_other_engine_are_accepted():
    scenario_from_dict(raw_small(first_cousin_marriage=0.0, uncle_niece_marriage=0))
    raw = raw_small(inbreeding=0.0)
    raw["scenario"]["engine"] = "pedigree"
    assert build_model(raw).engine == "pedigree"


def test_command_line_engine_override_is_refused_naming_key_and_file(tmp_path, capsys):
    path = small(tmp_path, deme="inbreeding = 0.02")
    assert main(["run", str(path), "--engine", "pedigree"]) == 2
    assert f"{path}: demes[0].inbreeding = 0.02: the pedigree engine" in capsys.readouterr().err


def test_pedigree_only_rules_name_the_file(tmp_path):
    path = small(tmp_path, scenario='engine = "pedigree"\nancestry_generations = 3',
                 deme="second_cousin_marriage = 0.1")
    error = refusal(lambda: load_scenario(path))
    assert str(error).startswith(f"{path}: scenario.ancestry_generations = 3: must be at least 4")


# --------------------------------------------------------------------------- compiled once


def test_plan_is_compiled_once_per_scenario(tmp_path, monkeypatch):
    calls = []
    compile_plan = popsim.model.build.compile_plan
    monkeypatch.setattr(
        popsim.model.build, "compile_plan", lambda s: calls.append(s) or compile_plan(s)
    )
    scenario = load_scenario(small(tmp_path))
    plan = model_of(scenario).plan
    assert model_of(scenario, "pedigree").plan is plan  # another engine: checks only
    result = simulate(scenario, replicates=1)
    assert result.plan is plan
    assert len(calls) == 1
    copy = dataclasses.replace(scenario, generations=3)  # a new object: compiled afresh
    assert model_of(copy).plan.generations == 3
    assert len(calls) == 2


def test_limits_are_defined_once_and_demes_import_does_not_import_config():
    """config imports demes_import (for ``demography``), never the other way round."""
    source = Path(popsim.model.demes_import.__file__).read_text(encoding="utf-8")
    imported = {
        node.module for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    }
    assert "popsim.model.config" not in imported and "popsim.model.limits" in imported
    limits = popsim.model.limits
    assert popsim.model.plan.MAX_SIZE is limits.MAX_SIZE is popsim.model.config.MAX_SIZE


def test_pedigree_memory_limit_is_a_config_error_naming_the_file(tmp_path):
    path = small(tmp_path, scenario='engine = "pedigree"')
    path.write_text(path.read_text().replace("size = 10", "size = 300_000_000"))
    error = refusal(lambda: load_scenario(path))
    assert str(error).startswith(f"{path}: scenario.engine = 'pedigree': the pedigree engine "
                                 "holds every individual in memory")
    assert "300,000,000 at generation 0" in error.allowed
    assert load_scenario(path, {"scenario.engine": "frequency"}).engine == "frequency"
