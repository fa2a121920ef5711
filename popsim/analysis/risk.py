"""Screening and counselling numbers per deme, over simulated histories.

Each simulated history (replicate) ends with its own allele frequencies; the
formulas of :mod:`popsim.genetics.risk` turn each history's final founder and
other pathogenic allele frequencies, carrier frequency, prevalence and deme size
into the numbers a genetic counsellor uses (:data:`MEASURES`). A row gives, per
deme and measure, the mean over histories, the median across histories and the
2.5% and 97.5% quantiles across histories: the spread of what different possible
histories of the population give, not an uncertainty of the mean. A measure is
summarised over the histories where it is defined (a detection share needs
carriers; a deme must exist); ``histories`` says how many those are. With
likelihood weights (:mod:`popsim.analysis.weighted`) the mean and quantiles are
weighted.

The per-history inputs come from a :class:`~popsim.analysis.results.Result`
(:func:`result_histories`) or from the ``final.csv`` a run wrote
(:func:`table_histories`): the same columns either way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from popsim.analysis.results import Result, _describe
from popsim.analysis.weighted import weighted_describe
from popsim.genetics.risk import (
    KINSHIP,
    carrier_couples,
    child_risk,
    founder_test_detection,
    full_gene_detection,
    residual_risk,
)

#: final.csv columns that the measures read (``size`` in people, the rest per person
#: or per gene copy, as :mod:`popsim.genetics.statistics` defines them).
INPUTS = ("size", "founder_frequency", "other_frequency", "carrier_frequency", "prevalence")

Kind = Literal["one_in", "percent", "people"]


@dataclass(frozen=True)
class Measure:
    """One screening or counselling number: its name (a row of risk.csv), a label for
    people, how it is shown: ``one_in`` (a probability, as "1 in 213"), ``percent``
    (a share) or ``people`` (an expected number of people), and whether it is about
    a founder-allele test (``needs_founder``: undefined in a deme without one)."""

    name: str
    label: str
    kind: Kind
    needs_founder: bool = False


#: Every measure, in table order.
MEASURES: tuple[Measure, ...] = (
    Measure("carrier_couples", "carrier × carrier couples (random mating in the deme)", "one_in"),
    Measure("risk_unrelated", "risk of an affected child: unrelated couple", "one_in"),
    Measure("risk_second_cousins", "risk of an affected child: second cousins", "one_in"),
    Measure("risk_first_cousins", "risk of an affected child: first cousins", "one_in"),
    Measure(
        "detected_founder_test",
        "carrier couples found by a founder-allele test of both partners", "percent", True,
    ),
    Measure(
        "detected_full_gene", "carrier couples found by full-gene testing of both", "percent"
    ),
    Measure(
        "residual_one_negative",
        "risk after one partner's negative founder-allele test (unrelated couple)", "one_in",
        True,
    ),
    Measure(
        "residual_both_negative",
        "risk after both partners' negative founder-allele tests (unrelated couple)", "one_in",
        True,
    ),
    Measure("expected_carriers", "carriers in the present population", "people"),
    Measure("expected_patients", "patients in the present population", "people"),
)
BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}


def measures(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every measure of :data:`MEASURES` from per-history inputs (the :data:`INPUTS`,
    arrays of one shape), elementwise; NaN where a deme is absent or a share undefined."""
    founder, other = columns["founder_frequency"], columns["other_frequency"]
    q = founder + other
    size = np.where(columns["size"] > 0, columns["size"], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "carrier_couples": carrier_couples(columns["carrier_frequency"]),
            **{f"risk_{couple}": child_risk(q, phi) for couple, phi in KINSHIP.items()},
            "detected_founder_test": founder_test_detection(founder, q),
            "detected_full_gene": full_gene_detection(q),
            "residual_one_negative": residual_risk(founder, other, 1),
            "residual_both_negative": residual_risk(founder, other, 2),
            "expected_carriers": size * columns["carrier_frequency"],
            "expected_patients": size * columns["prevalence"],
        }
    return {m.name: out[m.name] for m in MEASURES}


def result_histories(result: Result) -> dict[str, np.ndarray]:
    """The :data:`INPUTS` of every history of ``result`` at its final generation,
    each float64 [replicate, deme]."""
    stats = result.final_statistics
    columns = {name: stats[name] for name in INPUTS if name != "size"}
    return {"size": result.sizes[:, -1].astype(np.float64), **columns}


def table_histories(
    table: Mapping[str, Sequence[Any]],
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """Deme names and the :data:`INPUTS` as [replicate, deme] arrays from the columns of
    a run's ``final.csv`` (one row per replicate and deme; ``replicate``, ``deme`` and
    the inputs). Raises KeyError naming a missing column, ValueError for a table whose
    rows are not every deme of every replicate."""
    missing = [name for name in ("replicate", "deme", *INPUTS) if name not in table]
    if missing:
        raise KeyError(", ".join(missing))
    demes = tuple(dict.fromkeys(str(d) for d in table["deme"]))
    replicates = list(dict.fromkeys(int(r) for r in table["replicate"]))
    rows = len(table["deme"])
    if rows == 0 or rows != len(demes) * len(replicates):
        raise ValueError(f"{rows} rows for {len(replicates)} replicates × {len(demes)} demes")
    shape = (len(replicates), len(demes))
    pairs = zip(table["replicate"], table["deme"], strict=True)
    row_of = {(int(r), str(d)): i for i, (r, d) in enumerate(pairs)}
    if len(row_of) != rows:
        raise ValueError("a (replicate, deme) pair appears twice")
    order = [row_of[(r, d)] for r in replicates for d in demes]
    columns = {
        name: np.array([float(table[name][i]) for i in order]).reshape(shape) for name in INPUTS
    }
    return demes, columns


def table_log_likelihoods(table: Mapping[str, Sequence[Any]]) -> np.ndarray | None:
    """float64 [replicate]: each history's ``loglik_total`` (the log-likelihood of all
    the scenario's observations, the same on every row of a replicate) from a run's
    ``final.csv``, replicates in the order of :func:`table_histories`; None where the
    table has no such column (a scenario without observations with a likelihood)."""
    if "loglik_total" not in table:
        return None
    first: dict[int, float] = {}
    for replicate, value in zip(table["replicate"], table["loglik_total"], strict=True):
        first.setdefault(int(replicate), float(value) if value != "" else np.nan)
    return np.array(list(first.values()), dtype=np.float64)


def risk_rows(
    deme_names: Sequence[str],
    histories: Mapping[str, np.ndarray],
    weights: np.ndarray | None = None,
    demes: Sequence[int] | None = None,
    founder_demes: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """Summary rows (deme, statistic, mean, q025, median, q975, histories) of every
    measure over the histories of each deme index in ``demes`` (default: every deme
    that has people in some history).

    A founder-allele test's measures (``needs_founder``) are left undefined (NaN, 0
    histories) in a deme outside ``founder_demes``, the demes that a founder allele
    enters (default: those where one is present at the end of some history).

    ``histories``: the :data:`INPUTS`, each [replicate, deme]. ``weights`` [replicate]:
    likelihood weights (the weighted mean and quantiles), else every history counts
    the same. ``histories`` in a row is the number of histories where the measure is
    defined (with positive weight).
    """
    values = measures(histories)
    if demes is None:
        demes = [d for d in range(len(deme_names)) if np.any(histories["size"][:, d] > 0)]
    if founder_demes is None:
        founder_demes = set(np.flatnonzero(np.any(histories["founder_frequency"] > 0, axis=0)))
    rows = []
    for d in demes:
        for m in MEASURES:
            column = values[m.name][:, d]
            if m.needs_founder and d not in founder_demes:
                column = np.full_like(column, np.nan)
            defined = np.isfinite(column)
            if weights is None:
                row = _describe(deme_names[d], m.name, column)
            else:
                row = weighted_describe(deme_names[d], m.name, column, weights)
                defined &= weights > 0
            rows.append({**row, "histories": int(defined.sum())})
    return rows
