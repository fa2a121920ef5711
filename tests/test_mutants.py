"""Mutation testing of the validator: ``popsim validate --quick`` must fail on every
plausible bug of tests/mutants.py planted in a copy of the package, and pass on the
unmutated copy (docs/validation.md, "Which rows catch which bug")."""

from __future__ import annotations

from pathlib import Path

import pytest

from popsim.workflows.validation import select
from popsim.workflows.validation.core import Settings, run_checks
from tests.mutants import BY_NAME, MUTANTS, run_validate

#: The fast subset: two mutants that no check caught before allele-splitting and
#: founder-event existed, each validated with the check that catches it.
FAST = ("merged-new-alleles", "size-schedule-off-by-one")


def test_every_mutant_applies_to_the_current_package(tmp_path: Path):
    """Each mutant's old text occurs exactly once (a mutant that no longer applies would
    pass silently as 'caught')."""
    from tests.mutants import mutated_copy

    for k, mutant in enumerate(MUTANTS):
        mutated_copy(mutant, tmp_path / str(k))


@pytest.mark.parametrize("name", FAST)
def test_quick_validation_catches_a_mutant(name: str, tmp_path: Path):
    """The mutant's catching check fails on the mutated copy, and passes on the real
    package (same quick settings and seeds)."""
    mutant = BY_NAME[name]
    report = run_checks(select(list(mutant.catching)), Settings(quick=True), ("frequency",))
    assert report.passed, [r.quantity for r in report.rows if not r.passed]
    verdict = run_validate(mutant, tmp_path, mutant.catching, timeout=600)
    assert verdict.returncode == 1 and verdict.verdict.startswith("FAIL"), verdict.output[-3000:]
    assert verdict.failing, verdict.output[-3000:]


@pytest.mark.slow
def test_unmutated_copy_passes_quick_validation(tmp_path: Path):
    verdict = run_validate(None, tmp_path)
    assert verdict.returncode == 0 and verdict.verdict.startswith("PASS"), verdict.output[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_quick_validation_fails_on_every_mutant(name: str, tmp_path: Path):
    """The whole quick catalogue, as a user runs it, fails on each mutant."""
    verdict = run_validate(BY_NAME[name], tmp_path)
    assert verdict.returncode == 1 and verdict.verdict.startswith("FAIL"), verdict.output[-3000:]
    assert verdict.failing, verdict.output[-3000:]
