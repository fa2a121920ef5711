"""The frequency engine's burn-in snapshot: a run continued from a burn-in state
gives exactly the records and status of a run that burns in itself, and the
state leaves out everything a host shares with no other scenario."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from popsim.engines.frequency import burn_in_frequency, simulate_frequency
from popsim.engines.layout import CAPACITY, OK, STATUS_CODE
from popsim.engines.rng import replicate_seeds
from popsim.engines.snapshot import BurnInState, burn_in_demes, has_burn_in
from popsim.model.build import model_of, scenario_from_dict


def host_and_community(**changes) -> dict:
    """A small copy of the Persian Jewish scenario: an outbred host with recurrent
    mutation, a community founded from it at generation 0 with a founder allele,
    migration from the host."""
    raw = {
        "scenario": {"name": "host and community", "generations": 30, "burn_in": 300,
                     "replicates": 40, "seed": 5, "record_every": 7},
        "demes": [
            {"name": "host", "size": 3000},
            {"name": "community", "size": {"start": 20, "end": 800, "growth": "exponential"},
             "founded": {"generation": 0, "from": "host", "founders": 20},
             "inbreeding": 0.02},
        ],
        "migration": [{"source": "host", "dest": "community", "rate": 0.01}],
        "locus": {
            "pathogenic_mutation_rate": 2e-4,
            "selection": {"affected": 0.1},
            "founder_alleles": [{"name": "f", "deme": "community", "generation": 0,
                                 "copies": 1}],
        },
    }
    return _changed(raw, changes)


def outbred_host(**changes) -> dict:
    """The host of :func:`host_and_community` alone, under another name."""
    raw = {
        "scenario": {"name": "outbred", "generations": 30, "burn_in": 300, "replicates": 40,
                     "seed": 5},
        "demes": [{"name": "reference", "size": 3000}],
        "locus": {"pathogenic_mutation_rate": 2e-4, "selection": {"affected": 0.1}},
    }
    return _changed(raw, changes)


def _two_hosts(**changes) -> dict:
    """Two demes exchanging migrants through the burn-in, F, heterozygote advantage."""
    raw = {
        "scenario": {"name": "two hosts", "generations": 25, "burn_in": 250, "replicates": 30,
                     "seed": 9, "record_every": 5},
        "demes": [{"name": "a", "size": 1500, "inbreeding": 0.01},
                  {"name": "b", "size": 700}],
        "migration": [{"source": "a", "dest": "b", "rate": 0.02},
                      {"source": "b", "dest": "a", "rate": 0.005}],
        "locus": {
            "pathogenic_mutation_rate": 3e-4,
            "selection": {"affected": 0.2, "carrier_dominance": 0.1,
                          "heterozygote_advantage": 0.01},
            "founder_alleles": [{"name": "f", "deme": "b", "generation": 3, "frequency": 0.01}],
        },
    }
    return _changed(raw, changes)


def _changed(raw: dict, changes: dict) -> dict:
    from popsim.model.config import set_dotted

    for key, value in changes.items():
        set_dotted(raw, key.replace("__", "."), value)
    return raw


def same_state(a: BurnInState, b: BurnInState) -> bool:
    """Whether two states hold the same step and arrays."""
    return a.step == b.step and all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("normal", "n_alleles", "alleles", "generators", "status")
    )


def plan_of(raw: dict):
    return model_of(scenario_from_dict(raw)).plan


PLANS = {
    "host and community": host_and_community,
    "two hosts": _two_hosts,
    "capacity overflow in the burn-in": lambda: host_and_community(locus__max_alleles=6),
}


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    if request.param > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("Numba has fewer threads")
    before = numba.get_num_threads()
    numba.set_num_threads(request.param)
    yield request.param
    numba.set_num_threads(before)


@pytest.mark.parametrize("name", PLANS)
def test_resumed_run_equals_run_that_burns_in_itself(name, threads) -> None:
    plan = plan_of(PLANS[name]())
    seeds = replicate_seeds(3, 40)
    whole = simulate_frequency(plan, seeds)
    state = burn_in_frequency(plan, seeds)
    resumed = simulate_frequency(plan, seeds, start=state)
    assert np.array_equal(whole.records, resumed.records)
    assert np.array_equal(whole.status, resumed.status)
    one_lane = simulate_frequency(plan, seeds, lanes=1, start=state)
    assert np.array_equal(whole.records, one_lane.records)
    if name.startswith("capacity"):  # the case must overflow during the burn-in
        stopped = whole.status[:, STATUS_CODE] == CAPACITY
        assert stopped.any() and (whole.status[stopped, 1] < plan.burn_in).any()
        assert (state.status[:, STATUS_CODE] == CAPACITY).sum() > 0
    else:
        assert (whole.status[:, STATUS_CODE] == OK).all()
        assert state.n_alleles.sum() > 0  # mutation-born alleles carried over


def test_state_does_not_depend_on_threads_or_lanes() -> None:
    plan = plan_of(_two_hosts())
    seeds = replicate_seeds(4, 20)
    a = burn_in_frequency(plan, seeds)
    b = burn_in_frequency(plan, seeds, lanes=1)
    assert same_state(a, b)


def test_an_identical_host_is_shared_between_scenarios() -> None:
    """The host with a community founded at generation 0 burns in draw for draw as
    the outbred population alone: one key, and either's state gives the other's
    records."""
    community, outbred = plan_of(host_and_community()), plan_of(outbred_host())
    seeds = replicate_seeds(5, 40)
    assert burn_in_demes(community).tolist() == [0]
    state = burn_in_frequency(community, seeds)
    assert np.array_equal(simulate_frequency(outbred, seeds, start=state).records,
                          simulate_frequency(outbred, seeds).records)
    other = burn_in_frequency(outbred, seeds)
    assert same_state(state, other)


def test_no_burn_in_no_state() -> None:
    assert not has_burn_in(plan_of(outbred_host(scenario__burn_in=0)))
    with pytest.raises(ValueError):
        burn_in_frequency(plan_of(outbred_host(scenario__burn_in=0)), replicate_seeds(1, 2))
