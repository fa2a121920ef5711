"""The catalogue of checks, in report order, and selection by name."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from popsim.errors import PopsimError
from popsim.workflows.validation import (
    alleles,
    chain,
    fixation,
    founding,
    genotypes,
    migration,
    mutation,
    neutral,
    pedigree,
    splitting,
    stationary,
    two_demes,
)
from popsim.workflows.validation.core import Check

CATALOGUE: tuple[Check, ...] = (
    chain.CHECK,
    neutral.FIXATION_CHECK,
    neutral.HETEROZYGOSITY_CHECK,
    fixation.SIMULATION_CHECK,
    fixation.DIFFUSION_CHECK,
    mutation.MEAN_CHECK,
    mutation.BALANCE_CHECK,
    migration.MOMENTS_CHECK,
    migration.ISLAND_CHECK,
    migration.ISLAND_FORMULA_CHECK,
    alleles.CHECK,
    pedigree.INBREEDING_CHECK,
    pedigree.GENOTYPES_CHECK,
    pedigree.AGREEMENT_CHECK,
    genotypes.CHECK,
    splitting.CHECK,
    founding.CHECK,
    stationary.CHECK,
    two_demes.CHECK,
)


def select(patterns: Sequence[str]) -> list[Check]:
    """Checks whose name matches any of ``patterns`` (exact names or shell globs such as
    ``'island-*'``), in catalogue order; all checks when ``patterns`` is empty.

    Raises PopsimError naming a pattern that matches nothing and listing the names.
    """
    if not patterns:
        return list(CATALOGUE)
    names = [check.name for check in CATALOGUE]
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in names):
            raise PopsimError(
                f"check {pattern!r}: no such check; choose from {', '.join(names)} "
                "(or a glob such as 'island-*'; see popsim validate --list)"
            )
    return [c for c in CATALOGUE if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
