"""What the engines return, column by column: the one definition of every column index.

The engines fill these arrays for R replicates, n_rec recorded generations
and D demes (:class:`EngineOutput`), the first two alike:

* ``records`` int64 [R, n_rec, D, columns]: gene-copy counts. The columns
  are :data:`RECORD_LEADING`, then one column per named founder allele
  (``plan.founder_names`` order, K of them), then :data:`RECORD_TRAILING`;
  :func:`record_columns` names them for K founder alleles.
* ``status`` int64 [R, len(STATUS_COLUMNS)]: how each replicate ended
  (:data:`STATUS_COLUMNS`, codes :data:`STATUS_CODES`).
* ``observed`` float64 [R, n_rec, D, len(OBSERVED_COLUMNS)]: counts of
  individuals and marriages, pedigree engine only (:data:`OBSERVED_COLUMNS`).

Kernels index these arrays with the integer constants below (Numba compiles
module globals in as constants); Python code reads them by name
(:meth:`EngineOutput.column`, :func:`record_column`, :func:`founder_columns`,
:func:`observed_column`). Adding a column is one entry in its table and one
constant next to it (the unpacking fails at import if the two disagree), plus
the kernel line that fills it.

This module defines a cached kernel, :func:`record_width`, which the engines
call to size their records: its cache stamp is how
:func:`popsim.engines.kernel_is_cached` sees an edit of these constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit


class Column(NamedTuple):
    """One column of an engine array: its name and its meaning, with the unit."""

    name: str
    meaning: str


# ----------------------------------------------------------------------------- records

#: Record columns before the founder alleles' columns.
RECORD_LEADING = (
    Column("size", "N, the deme's diploid individuals at that generation (individuals)"),
    Column("normal", "copies of the normal allele, allele 0 (gene copies)"),
)
SIZE, NORMAL = range(len(RECORD_LEADING))
#: Column of the first named founder allele; founder allele k (0-based, in
#: ``plan.founder_names`` order) has column FIRST_FOUNDER + k, its copies (gene copies).
FIRST_FOUNDER = len(RECORD_LEADING)

#: Record columns after the K founder alleles' columns.
RECORD_TRAILING = (
    Column("other", "copies of all mutation-born alleles together (gene copies)"),
    Column("other_sumsq", "Σ over mutation-born alleles of their copies squared (gene copies²)"),
    Column("other_alleles", "distinct mutation-born alleles with at least one copy (alleles)"),
)
#: Columns of :data:`RECORD_TRAILING` with no founder allele; with K of them,
#: column ``OTHER + K`` and so on.
OTHER, OTHER_SUMSQ, OTHER_ALLELES = range(FIRST_FOUNDER, FIRST_FOUNDER + len(RECORD_TRAILING))

#: Record columns that do not depend on the founder alleles: a record has this + K columns.
N_FIXED_COLUMNS = len(RECORD_LEADING) + len(RECORD_TRAILING)

# ----------------------------------------------------------------------------- observed

#: Columns of the pedigree engine's observed array, per recorded generation and deme,
#: counted among the individuals born in that generation (float64).
OBSERVED_COLUMNS = (
    Column("individuals", "individuals born (individuals)"),
    Column("observed_founder_homozygotes",
           "individuals with two copies of one named founder allele (individuals)"),
    Column("observed_other_homozygotes",
           "individuals with two copies of one mutation-born allele (individuals)"),
    Column("observed_compound_heterozygotes",
           "individuals with two different pathogenic alleles (individuals)"),
    Column("observed_carriers", "individuals with one pathogenic and one normal allele "
           "(individuals)"),
    Column("mean_pedigree_inbreeding",
           "mean pedigree inbreeding coefficient F of those individuals (probability; "
           "NaN where none is born)"),
    Column("marriages", "couples formed among the parents' generation (couples)"),
    Column("first_cousin_marriages", "of them, first cousins (couples)"),
    Column("second_cousin_marriages", "of them, second cousins (couples)"),
    Column("uncle_niece_marriages", "of them, uncle and niece (couples)"),
    Column("fallback_marriages",
           "of them, women who sought a relative, found none and married at random (couples)"),
    Column("mean_pedigree_inbreeding_shorter_window",
           "mean pedigree F of those individuals over an ancestry window one generation "
           "shorter: how far F has converged with the window's depth (probability; NaN "
           "where none is born)"),
)
(
    INDIVIDUALS,
    OBSERVED_FOUNDER_HOMOZYGOTES,
    OBSERVED_OTHER_HOMOZYGOTES,
    OBSERVED_COMPOUND_HETEROZYGOTES,
    OBSERVED_CARRIERS,
    MEAN_PEDIGREE_INBREEDING,
    MARRIAGES,
    FIRST_COUSIN_MARRIAGES,
    SECOND_COUSIN_MARRIAGES,
    UNCLE_NIECE_MARRIAGES,
    FALLBACK_MARRIAGES,
    MEAN_PEDIGREE_INBREEDING_SHORTER_WINDOW,
) = range(len(OBSERVED_COLUMNS))
#: Names of the observed array's last axis.
OBSERVED_FIELDS = tuple(c.name for c in OBSERVED_COLUMNS)

# ----------------------------------------------------------------------------- status

#: Columns of the status array, one row per replicate.
STATUS_COLUMNS = (
    Column("code", "how the replicate ended, one of STATUS_CODES"),
    Column("step", "plan step (generation index from the start of the burn-in) it stopped "
           "at; 0 if it ran to the end"),
    Column("deme", "index of the deme it stopped in; 0 if it ran to the end"),
)
STATUS_CODE, STATUS_STEP, STATUS_DEME = range(len(STATUS_COLUMNS))

#: Status codes, the value of the ``code`` column.
STATUS_CODES = (
    Column("ok", "ran to the end"),
    Column("capacity", "more mutation-born alleles at once than plan.max_alleles slots"),
    Column("extinct", "a deme's zygotes all have fitness 0: no offspring can be made"),
    Column("no_normal_copies", "too few normal copies left for a founder introduction"),
)
OK, CAPACITY, EXTINCT, NO_NORMAL_COPIES = range(len(STATUS_CODES))


@njit(cache=True, inline="always")
def stop(status: np.ndarray, code: int, step: int, deme: int) -> None:
    """Write into a replicate's ``status`` row that it stopped with ``code`` at plan
    step ``step`` in deme ``deme``."""
    status[STATUS_CODE] = code
    status[STATUS_STEP] = step
    status[STATUS_DEME] = deme


# ----------------------------------------------------------------------------- names

def record_columns(founder_names: tuple[str, ...]) -> tuple[str, ...]:
    """Names of the records' last axis for the founder alleles ``founder_names``."""
    return (
        *(c.name for c in RECORD_LEADING),
        *founder_names,
        *(c.name for c in RECORD_TRAILING),
    )


@njit(cache=True)
def record_width(n_founders: int) -> int:
    """Columns of a record with ``n_founders`` named founder alleles."""
    return N_FIXED_COLUMNS + n_founders


def n_founders(records: np.ndarray) -> int:
    """K, the founder alleles of a records array (from the length of its last axis)."""
    return records.shape[-1] - N_FIXED_COLUMNS


def record_index(name: str, n_founders: int) -> int:
    """Index in the records' last axis of the column ``name`` of :data:`RECORD_LEADING`
    or :data:`RECORD_TRAILING`, with ``n_founders`` founder alleles."""
    for i, column in enumerate(RECORD_LEADING):
        if column.name == name:
            return i
    for i, column in enumerate(RECORD_TRAILING):
        if column.name == name:
            return FIRST_FOUNDER + n_founders + i
    raise KeyError(f"no record column {name!r}: one of {', '.join(record_columns(()))}")


def record_column(records: np.ndarray, name: str) -> np.ndarray:
    """The record column ``name`` (not a founder allele's) of ``records`` [..., columns]:
    a view [...]."""
    return records[..., record_index(name, n_founders(records))]


def founder_columns(records: np.ndarray) -> np.ndarray:
    """The founder alleles' copies in ``records`` [..., columns]: a view [..., K]."""
    return records[..., FIRST_FOUNDER : FIRST_FOUNDER + n_founders(records)]


def observed_column(observed: np.ndarray, name: str) -> np.ndarray:
    """The observed column ``name`` of ``observed`` [..., len(OBSERVED_COLUMNS)]: a view."""
    if name not in OBSERVED_FIELDS:
        raise KeyError(f"no observed column {name!r}: one of {', '.join(OBSERVED_FIELDS)}")
    return observed[..., OBSERVED_FIELDS.index(name)]


# ----------------------------------------------------------------------------- engine output

@dataclass(frozen=True, eq=False)
class EngineOutput:
    """What an engine returns for R replicates.

    Attributes:
        records: int64 [R, n_rec, D, :func:`record_width` (K)].
        status: int64 [R, len(STATUS_COLUMNS)].
        observed: float64 [R, n_rec, D, len(OBSERVED_COLUMNS)] (pedigree engine),
            or None (frequency engine).
    """

    records: np.ndarray
    status: np.ndarray
    observed: np.ndarray | None = None

    def column(self, name: str) -> np.ndarray:
        """A view [R, n_rec, D] of the record or observed column ``name`` (see
        :data:`RECORD_LEADING`, :data:`RECORD_TRAILING`, :data:`OBSERVED_COLUMNS`);
        founder alleles: :meth:`founders`."""
        if self.observed is not None and name in OBSERVED_FIELDS:
            return observed_column(self.observed, name)
        return record_column(self.records, name)

    def founders(self) -> np.ndarray:
        """A view [R, n_rec, D, K] of the founder alleles' copies."""
        return founder_columns(self.records)

    def status_column(self, name: str) -> np.ndarray:
        """The status column ``name`` (see :data:`STATUS_COLUMNS`): a view [R]."""
        names = [c.name for c in STATUS_COLUMNS]
        if name not in names:
            raise KeyError(f"no status column {name!r}: one of {', '.join(names)}")
        return self.status[:, names.index(name)]
