"""`popsim describe`: the resolved scenario, and the cost estimate `popsim run` shares."""

from __future__ import annotations

import numpy as np
import pytest

import popsim.commands.compare
import popsim.commands.run
import popsim.workflows.describe
from popsim.cli import main
from popsim.errors import ConfigError
from popsim.model.build import build_model
from popsim.workflows.describe import (
    Estimate,
    check_memory,
    describe,
    estimate,
    may_be_long,
    memory_parts,
    plan_window,
)


def community(**scenario) -> dict:
    return {
        "scenario": {"name": "community", "generations": 30, "replicates": 50, **scenario},
        "demes": [
            {"name": "host", "size": 5000, "end_generation": 25},
            {"name": "jews", "size": {"start": 20, "end": 2000, "growth": "exponential"},
             "founded": {"generation": 5, "from": "host", "founders": 20},
             "first_cousin_marriage": 0.2, "second_cousin_marriage": 0.1},
        ],
        "migration": [{"source": "host", "dest": "jews", "rate": 0.01,
                       "start_generation": 6, "end_generation": 25}],
        "locus": {"founder_alleles": [{"name": "M712T", "deme": "jews", "generation": 5,
                                       "copies": 1}]},
        "observed": [{"statistic": "carrier_frequency", "deme": "jews", "value": 0.09,
                      "source": "a screen"}],
    }


def test_describe_lists_what_the_scenario_resolves_to():
    text = "\n".join(describe(build_model(community())))
    for part in [
        "engine: frequency (simulates every deme)",
        "size: 5,000 at generation 0 → 5,000 at generation 24",
        "ends: no individuals from generation 25 on",
        "size: 20 at generation 5 → 2,000 at generation 30",
        "founded at generation 5 from host by 20 founders",
        "marriages: 20% first cousins, 10% second cousins: implied F = 0.01406",
        "the frequency engine uses the implied F",
        "inbreeding: F = 0",
        "0.01 of jews's parents from host a generation, from generation 6 until generation 25",
        "M712T: 1 copy in jews at generation 5",
        "carrier_frequency = 0.09 in jews (a screen)",
    ]:
        assert part in text, part
    pedigree = "\n".join(describe(build_model(community(engine="pedigree"))))
    assert "engine: pedigree (simulates every deme); ancestry window 4 generations" in pedigree
    assert "simulated; F measured over the ancestry window" in pedigree


def test_a_plan_window_is_the_plan_from_one_step_to_another():
    plan = build_model(community()).plan
    window = plan_window(plan, 3, 10)
    assert np.array_equal(window.sizes, plan.sizes[3:11])
    assert window.generations == 7 and window.burn_in == 0
    assert window.intro_step.tolist() == [2]  # the founder allele of generation 5
    assert window.record_steps.tolist() == [7]


def test_the_estimate_comes_from_a_calibration_run_and_scales_with_replicates():
    model = build_model(community())
    few = estimate(model, 100)
    assert few.seconds > 0 and few.peak_bytes > 0
    assert "frequency engine, from" in few.basis
    many = estimate(model, 100_000)
    assert many.seconds > 100 * few.seconds / 3  # 1000× the work, timing noise allowed
    assert many.peak_bytes > 100 * few.peak_bytes / 2
    assert not may_be_long(model)
    assert may_be_long(model, 10**10)


def test_describe_command_prints_the_scenario_and_its_estimate(capsys):
    assert main(["describe", "japanese_two_founders", "--replicates", "200"]) == 0
    out = capsys.readouterr().out
    assert "japan" in out and "200 replicates" in out
    assert "estimated run time" in out and "peak memory" in out


def test_run_prints_the_estimate_before_a_long_run(capsys, monkeypatch):
    monkeypatch.setattr(popsim.commands.run, "may_be_long", lambda model, replicates: True)
    monkeypatch.setattr(popsim.commands.run, "estimate",
                        lambda model, replicates: Estimate(7200.0, 3 * 2**30, "measured"))
    assert main(["run", "japanese_two_founders", "--replicates", "2"]) == 0
    err = capsys.readouterr().err
    assert "popsim: estimated run time 2.0 h, peak memory 3.0 GiB (measured)" in err


@pytest.mark.parametrize("seconds, shown", [(30.0, False), (61.0, True)])
def test_run_announces_only_runs_over_a_minute(capsys, monkeypatch, seconds, shown):
    monkeypatch.setattr(popsim.commands.run, "may_be_long", lambda model, replicates: True)
    monkeypatch.setattr(popsim.commands.run, "estimate",
                        lambda model, replicates: Estimate(seconds, 1, "measured"))
    main(["run", "japanese_two_founders", "--replicates", "2"])
    assert ("estimated run time" in capsys.readouterr().err) == shown


def _no_run(*args, **kwargs):
    raise AssertionError("the run started")


def test_run_refuses_a_run_needing_more_memory_than_available_before_it_starts(
        capsys, monkeypatch):
    monkeypatch.setattr(popsim.workflows.describe, "available_memory", lambda: 10_000)
    monkeypatch.setattr(popsim.commands.run, "simulate", _no_run)
    assert main(["run", "japanese_two_founders", "--replicates", "500"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "scenario.replicates = 500" in err
    assert "available" in err and "at most about" in err and "record_every" in err
    assert "--force runs it anyway" in err
    ran = []
    monkeypatch.setattr(popsim.commands.run, "simulate", lambda *a, **k: ran.append(1) or _no_run())
    with pytest.raises(AssertionError, match="the run started"):
        main(["run", "japanese_two_founders", "--replicates", "500", "--force"])
    assert ran  # --force skips the refusal and starts the run


def test_a_pedigree_workspace_too_large_names_the_largest_deme(monkeypatch):
    model = build_model(community(engine="pedigree"))
    records, workspace = memory_parts(model.plan, "pedigree", 1, 1)
    assert workspace > records
    monkeypatch.setattr(popsim.workflows.describe, "available_memory",
                        lambda: records + workspace - 1)
    with pytest.raises(ConfigError, match=r"demes\[0\]\.size = 5000: .*ancestry_generations"):
        check_memory(model, 1)
    monkeypatch.setattr(popsim.workflows.describe, "available_memory",
                        lambda: records + workspace)
    assert check_memory(model, 1) == records


def test_compare_counts_the_records_every_compared_scenario_keeps(capsys, monkeypatch):
    one = check_memory(build_model(community()), 400)  # bytes of records of one scenario
    monkeypatch.setattr(popsim.workflows.describe, "memory_parts",
                        lambda plan, engine, replicates, threads: (one, 0))
    monkeypatch.setattr(popsim.workflows.describe, "available_memory", lambda: 3 * one // 2)
    monkeypatch.setattr(popsim.commands.compare, "run_comparison", _no_run)
    assert main(["compare", "japanese_two_founders", "mari_a57f", "--replicates", "400"]) == 2
    assert "beside the earlier scenarios' records" in capsys.readouterr().err


def test_a_hybrid_run_is_described_and_estimated_by_its_parts():
    raw = community(engine="hybrid", burn_in=100)
    raw["demes"][1]["individuals"] = True
    model = build_model(raw)
    text = "\n".join(describe(model))
    assert ("engine: hybrid (individuals, pedigree engine: jews; allele counts, frequency "
            "engine: host)") in text
    assert "simulated; F measured over the ancestry window" in text
    expected = estimate(model, 4)
    assert expected.seconds > 0 and "hybrid engine, from" in expected.basis
    records, workspace = memory_parts(model.plan, "hybrid", 4, 1)
    pedigree = memory_parts(model.plan, "pedigree", 4, 1)[1]
    assert workspace > 0 and records == memory_parts(model.plan, "pedigree", 4, 1)[0]
    assert workspace < pedigree  # the host is not held as individuals


def test_risk_refuses_a_run_needing_more_memory_than_available_before_it_starts(
        capsys, monkeypatch):
    """popsim risk simulates as popsim run does: the same refusal, the same --force."""
    import importlib

    monkeypatch.setattr(popsim.workflows.describe, "available_memory", lambda: 10_000)
    monkeypatch.setattr(importlib.import_module("popsim.simulate"), "simulate", _no_run)
    assert main(["risk", "japanese_two_founders", "--replicates", "500"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "scenario.replicates = 500" in err and "--force" in err
    with pytest.raises(AssertionError, match="the run started"):
        main(["risk", "japanese_two_founders", "--replicates", "500", "--force"])


def test_a_hybrid_run_no_larger_than_its_calibration_is_not_estimated_first():
    """A hybrid estimate runs whole replicates, one per thread: for a run of no more
    replicates than threads that is the run itself, so popsim run does not estimate it
    first (it would run twice); with more replicates it may."""
    import numba

    raw = community(engine="hybrid", burn_in=100)
    raw["demes"][1]["individuals"] = True
    model = build_model(raw)
    assert not may_be_long(model, numba.get_num_threads())
    assert may_be_long(model, 10**9)
