"""Shared fixtures: small scenarios built from dicts (no files needed)."""

from __future__ import annotations

import copy

import pytest

from popsim.config import scenario_from_dict

ONE_DEME = {
    "scenario": {"name": "one deme", "generations": 10, "replicates": 100, "seed": 7},
    "demes": [{"name": "pop", "size": 20}],
    "locus": {"selection": {"affected": 0.0}},
}


def one_deme(**changes) -> dict:
    """A copy of a one-deme config dict with dotted-key changes applied."""
    from popsim.config import set_dotted

    raw = copy.deepcopy(ONE_DEME)
    for key, value in changes.items():
        set_dotted(raw, key.replace("__", "."), value)
    return raw


@pytest.fixture
def make_scenario():
    """Build a validated Scenario from a one-deme config with dotted changes."""

    def build(raw: dict | None = None, **changes):
        return scenario_from_dict(raw if raw is not None else one_deme(**changes))

    return build


def pytest_sessionfinish(session, exitstatus):
    """A run that collected no tests is a failure, never a silent success (pytest's exit 5)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
