"""The registry of per-deme statistics: what each one is, how it is computed and shown.

One frozen :class:`Statistic` per statistic, in :data:`REGISTRY` order (the
order of the rows of summary.csv and the columns of final.csv). An entry gives

* ``name``, a human ``label`` and the ``unit`` of its value;
* ``display``: how tables and the report show it — ``"fraction"`` (as is),
  ``"per_100k"`` (×100,000, as ``<name>_per_100k`` in comparison tables),
  ``"percent"`` (×100, as ``<name>_percent``), ``"count"`` or
  ``"probability"`` (a 0/1 outcome per replicate, summarised as ``p_<name>``,
  the share of replicates where it is 1);
* ``pooled``: ``(part, total)`` where the across-replicate summary is the pooled
  ratio Σ part / Σ total (the patient shares: the share among all simulated
  patients) with a bootstrap interval over replicates, and the distribution
  across replicates is a second row, ``<name>_per_history``
  (:meth:`popsim.analysis.results.Result.summary_rows`); else None (the plain mean);
* ``observable``: whether a config's ``[[observed]]`` and a fit's
  ``[[observed]]`` may name it;
* ``needs_founder``: it means nothing in a population no founder allele enters;
* ``pedigree_only``: an observed statistic of the pedigree engine's individuals;
* ``per_founder``: a name pattern (``"frequency_{}"``) under which the
  statistic is also given for each founder allele when there are several;
* ``formula``: a function of the allele-frequency moments, F and the penetrance
  (:class:`Moments`) computing it with :mod:`popsim.genetics.genotypes`.

``prevalence`` counts patients: penetrance × ``affected_genotypes``. Every other
per-person statistic is a genotype frequency.

Tables (terminal, comparison), figures, the report, sweeps, the fit and the
config's list of observable statistics read from here: adding a per-deme
statistic is one entry plus its formula.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from popsim.genetics.genotypes import GenotypeFrequencies, genotypes_from_moments, heterozygotes

Display = Literal["fraction", "per_100k", "percent", "count", "probability"]

#: Scale factor and name suffix of each display kind in comparison tables.
DISPLAY_SCALE: dict[str, tuple[float, str]] = {
    "fraction": (1.0, ""),
    "per_100k": (1e5, "_per_100k"),
    "percent": (100.0, "_percent"),
    "count": (1.0, ""),
    "probability": (1.0, ""),
}


@dataclass(frozen=True)
class Moments:
    """Allele-frequency moments of records (arrays of one shape [..., ]), what formulas read.

    Frequencies are per gene copy and NaN where a deme is absent (no gene copies).

    Attributes:
        present: the deme has individuals.
        normal: p_0.
        founders: p_f of each founder allele, shape [..., k].
        other: Σ p_i over the other (mutation-born) pathogenic alleles.
        other_sumsq: Σ p_i² over them.
        other_alleles: number of other pathogenic alleles segregating.
        inbreeding: F of the generation (the config's, or the measured pedigree F).
        observed: the pedigree engine's per-generation columns by name
            (:data:`popsim.engines.layout.OBSERVED_FIELDS`), else None.
        penetrance: the probability that a person with an affected genotype is a
            patient (the locus's ``penetrance``, 1 by default).
    """

    present: np.ndarray
    normal: np.ndarray
    founders: np.ndarray
    other: np.ndarray
    other_sumsq: np.ndarray
    other_alleles: np.ndarray
    inbreeding: np.ndarray
    observed: Mapping[str, np.ndarray] | None = None
    penetrance: float = 1.0

    @cached_property
    def founder(self) -> np.ndarray:
        """Σ_f p_f, the founder alleles' total frequency."""
        return self.founders.sum(-1)

    @cached_property
    def pathogenic(self) -> np.ndarray:
        """q = Σ_{i≥1} p_i."""
        return self.founder + self.other

    @cached_property
    def genotypes(self) -> GenotypeFrequencies:
        """Expected genotype frequencies per person given the moments and F."""
        return genotypes_from_moments(
            self.normal,
            self.founder,
            (self.founders**2).sum(-1),
            self.other,
            self.other_sumsq,
            self.inbreeding,
        )

    def one_founder(self, j: int) -> Moments:
        """The same moments with founder allele ``j`` alone as "the founder allele"."""
        return replace(self, founders=self.founders[..., j : j + 1])


@dataclass(frozen=True)
class Statistic:
    """One per-deme statistic (see the module docstring for the fields)."""

    name: str
    label: str
    unit: str
    display: Display
    formula: Callable[[Moments], np.ndarray]
    pooled: tuple[str, str] | None = None
    observable: bool = False
    needs_founder: bool = False
    pedigree_only: bool = False
    per_founder: str | None = None
    short: str | None = None
    table: str | None = None

    @property
    def summary_name(self) -> str:
        """Its row in summaries: ``p_<name>`` for a probability, else the name."""
        return f"p_{self.name}" if self.display == "probability" else self.name

    @property
    def shown_name(self) -> str:
        """Its row in comparison tables, the summary row scaled for display:
        ``<name>_per_100k``, ``<name>_percent``, else :attr:`summary_name`."""
        return self.summary_name + DISPLAY_SCALE[self.display][1]

    @property
    def per_history_name(self) -> str:
        """The summary row of a pooled statistic's distribution across histories
        (replicates), beside its pooled row: ``<name>_per_history``."""
        return f"{self.name}_per_history"

    @property
    def per_history_shown_name(self) -> str:
        """:attr:`per_history_name` scaled for display, as :attr:`shown_name`."""
        return self.per_history_name + DISPLAY_SCALE[self.display][1]

    @property
    def factor(self) -> float:
        """What a value is multiplied by to be shown (100,000 per 100,000, 100 in %)."""
        return DISPLAY_SCALE[self.display][0]


def _observed_per_person(field: str) -> Callable[[Moments], np.ndarray]:
    def formula(m: Moments) -> np.ndarray:
        return m.observed[field] * _per_individual(m)

    return formula


def _per_individual(m: Moments) -> np.ndarray:
    n = m.observed["individuals"]
    return np.where(n > 0, 1.0 / n, np.nan)


def _observed_affected(m: Moments) -> np.ndarray:
    col = m.observed
    return sum(
        col[f"observed_{name}"]
        for name in ("founder_homozygotes", "other_homozygotes", "compound_heterozygotes")
    )


def _observed_patients(m: Moments) -> np.ndarray:
    """Expected patients per person among the pedigree's individuals: penetrance ×
    observed affected genotypes per person."""
    return m.penetrance * (_observed_affected(m) * _per_individual(m))


def _observed_founder_share(m: Moments) -> np.ndarray:
    affected = _observed_affected(m)
    founder = m.observed["observed_founder_homozygotes"]
    return np.where(affected > 0, founder / np.maximum(affected, 1), np.nan)


def _genotype_inbreeding(m: Moments) -> np.ndarray:
    """F from genotypes at the disease locus: 1 − H_obs / H_exp (NaN if monomorphic)."""
    q = m.pathogenic
    h_exp = 2.0 * q * (1.0 - q)
    h_obs = _observed_per_person("observed_carriers")(m)
    safe = np.where(h_exp > 0, h_exp, 1.0)
    return np.where(h_exp > 0, 1.0 - h_obs / safe, np.nan)


def _marriage_fraction(kind: str) -> Callable[[Moments], np.ndarray]:
    def formula(m: Moments) -> np.ndarray:
        marriages = m.observed["marriages"]
        part = m.observed[f"{kind}_marriages"]
        return np.where(marriages > 0, part / np.maximum(marriages, 1), np.nan)

    return formula


_GENE_COPY = "per gene copy"
_PERSON = "per person"
_PATIENTS = "share of patients"


def _pedigree(
    name: str, label: str, formula: Callable[[Moments], np.ndarray], unit: str = _PERSON
) -> Statistic:
    """An observed statistic of the pedigree engine's individuals (shown as a fraction)."""
    return Statistic(name, label, unit, "fraction", formula, pedigree_only=True)


#: Every per-deme statistic, in table order.
REGISTRY: tuple[Statistic, ...] = (
    Statistic(
        "founder_frequency", "founder allele frequency", _GENE_COPY, "fraction",
        lambda m: m.founder, observable=True, needs_founder=True, per_founder="frequency_{}",
        short="founder allele frequency", table="founder allele frequency",
    ),
    Statistic(
        "pathogenic_frequency", "pathogenic allele frequency (all pathogenic alleles)",
        _GENE_COPY, "fraction", lambda m: m.pathogenic, observable=True,
    ),
    Statistic(
        "other_frequency", "frequency of the other pathogenic alleles", _GENE_COPY, "fraction",
        lambda m: m.other,
    ),
    Statistic(
        "carrier_frequency", "carrier frequency", _PERSON, "fraction",
        lambda m: m.genotypes.carriers, observable=True,
        short="carrier frequency", table="carrier frequency (any pathogenic allele)",
    ),
    Statistic(
        "founder_carrier_frequency", "founder-allele carrier frequency", _PERSON, "fraction",
        lambda m: heterozygotes(m.normal, m.founder, m.inbreeding), observable=True,
        needs_founder=True, per_founder="founder_carrier_frequency_{}",
        short="founder-allele carrier frequency", table="founder-allele carrier frequency",
    ),
    Statistic(
        "prevalence", "prevalence (patients)", _PERSON,
        "per_100k", lambda m: m.penetrance * m.genotypes.affected,
        observable=True, short="prevalence: patients", table="patients per 100,000 (prevalence)",
    ),
    Statistic(
        "affected_genotypes", "affected genotypes (any two pathogenic alleles)", _PERSON,
        "per_100k", lambda m: m.genotypes.affected,
    ),
    Statistic(
        "founder_homozygotes", "founder homozygotes", _PERSON, "per_100k",
        lambda m: m.genotypes.founder_homozygotes, needs_founder=True,
        short="founder homozygotes", table="founder homozygotes per 100,000",
    ),
    Statistic(
        "founder_homozygotes_by_descent",
        "founder homozygotes identical by descent (p_f·F, from inbreeding alone)", _PERSON,
        "per_100k", lambda m: m.genotypes.founder_by_descent, needs_founder=True,
    ),
    Statistic(
        "other_homozygotes", "other homozygotes", _PERSON, "per_100k",
        lambda m: m.genotypes.other_homozygotes,
        short="other homozygotes", table="other homozygotes per 100,000",
    ),
    Statistic(
        "compound_heterozygotes", "compound heterozygotes", _PERSON, "per_100k",
        lambda m: m.genotypes.compound_heterozygotes,
        short="compound heterozygotes", table="compound heterozygotes per 100,000",
    ),
    Statistic(
        "share_founder_homozygotes", "share of patients who are founder homozygotes", _PATIENTS,
        "percent", lambda m: m.genotypes.share_founder_homozygotes,
        pooled=("founder_homozygotes", "affected_genotypes"), observable=True, needs_founder=True,
        short="share of patients: founder hom.", table="% of patients: founder homozygotes",
    ),
    Statistic(
        "share_other_homozygotes", "share of patients who are other homozygotes", _PATIENTS,
        "percent", lambda m: m.genotypes.share_other_homozygotes,
        pooled=("other_homozygotes", "affected_genotypes"), observable=True,
        short="share of patients: other hom.", table="% of patients: other homozygotes",
    ),
    Statistic(
        "share_compound_heterozygotes", "share of patients who are compound heterozygotes",
        _PATIENTS, "percent", lambda m: m.genotypes.share_compound_heterozygotes,
        pooled=("compound_heterozygotes", "affected_genotypes"), observable=True,
        short="share of patients: compound het.", table="% of patients: compound heterozygotes",
    ),
    Statistic(
        "other_alleles", "other pathogenic alleles segregating", "alleles", "count",
        lambda m: np.where(m.present, m.other_alleles, np.nan),
        table="other pathogenic alleles segregating",
    ),
    Statistic(
        "founder_lost", "founder allele lost", "replicates", "probability",
        lambda m: np.where(m.present, (m.founder == 0) * 1.0, np.nan), needs_founder=True,
        short="P(founder allele lost)", table="P(founder allele lost)",
    ),
    _pedigree(
        "observed_founder_homozygotes", "observed founder homozygotes",
        _observed_per_person("observed_founder_homozygotes"),
    ),
    _pedigree(
        "observed_other_homozygotes", "observed other homozygotes",
        _observed_per_person("observed_other_homozygotes"),
    ),
    _pedigree(
        "observed_compound_heterozygotes", "observed compound heterozygotes",
        _observed_per_person("observed_compound_heterozygotes"),
    ),
    _pedigree(
        "observed_carriers", "observed carrier frequency",
        _observed_per_person("observed_carriers"),
    ),
    _pedigree(
        "observed_prevalence", "observed prevalence (patients)",
        _observed_patients,
    ),
    _pedigree(
        "observed_share_founder_homozygotes",
        "observed share of patients who are founder homozygotes", _observed_founder_share,
        _PATIENTS,
    ),
    _pedigree(
        "pedigree_inbreeding", "mean pedigree inbreeding coefficient F",
        lambda m: m.observed["mean_pedigree_inbreeding"], "F",
    ),
    _pedigree(
        "genotype_inbreeding", "inbreeding from genotypes (1 − H_obs/H_exp)",
        _genotype_inbreeding, "F",
    ),
    *(
        _pedigree(
            f"realized_{kind}_fraction", f"share of marriages: {kind.replace('_', ' ')}",
            _marriage_fraction(kind), "share of marriages",
        )
        for kind in ("first_cousin", "second_cousin", "uncle_niece", "fallback")
    ),
)
#: Outcomes of the founder allele's history (``P(founder allele lost)``): undefined,
#: not 0 or 1, in a deme the allele never reaches. Its frequencies and shares
#: there are 0, which is true.
FOUNDER_OUTCOMES = frozenset(
    s.name for s in REGISTRY if s.needs_founder and s.display == "probability"
)


#: The registry by name.
BY_NAME: dict[str, Statistic] = {s.name: s for s in REGISTRY}


def observable_names() -> tuple[str, ...]:
    """Statistics a config's or a fit's ``[[observed]]`` may name, in registry order."""
    return tuple(s.name for s in REGISTRY if s.observable)


#: What the interval of a pooled share's row is, and of its ``_per_history`` row.
POOLED_NOTE = "pooled over histories (bootstrap 95%)"
PER_HISTORY_NOTE = "across histories (95% of histories)"


def _table(shown: bool, label: Callable[[Statistic], str | None]) -> tuple[tuple[str, str], ...]:
    """(row, label) of every statistic with a ``label``: its summary row (``shown``: scaled
    for display), a pooled statistic's followed by its ``_per_history`` row, the labels
    saying which is which."""
    rows = []
    for s in REGISTRY:
        text = label(s)
        if not text:
            continue
        row = s.shown_name if shown else s.summary_name
        if s.pooled is None:
            rows.append((row, text))
            continue
        per_history = s.per_history_shown_name if shown else s.per_history_name
        rows += [(row, f"{text}, {POOLED_NOTE}"), (per_history, f"{text}, {PER_HISTORY_NOTE}")]
    return tuple(rows)


#: What a shown value is, by display kind: the unit convention of every table
#: (docs/config.md, "Units"): people per 100,000, shares of patients in %.
DISPLAY_UNIT = {"per_100k": "per 100,000", "percent": "%"}


def run_table() -> tuple[tuple[str, str], ...]:
    """(shown row name, label with unit) of the rows of ``popsim run``'s terminal
    table; its values are the summary rows scaled by :func:`shown_rows`, as in the
    comparison table."""
    def label(s: Statistic) -> str | None:
        unit = DISPLAY_UNIT.get(s.display)
        return f"{s.short} ({unit})" if s.short and unit else s.short

    return _table(True, label)


def shown_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each summary row of a statistic shown scaled (per 100,000, %), a copy
    under its shown name (:attr:`Statistic.shown_name`, a pooled share's
    ``_per_history`` row too) with mean and quantiles multiplied by its factor."""
    scaled = {}
    for s in REGISTRY:
        if s.factor != 1.0:
            scaled[s.summary_name] = (s.shown_name, s.factor)
            if s.pooled:
                scaled[s.per_history_name] = (s.per_history_shown_name, s.factor)
    out = []
    for row in rows:
        if row["statistic"] in scaled:
            name, factor = scaled[row["statistic"]]
            out.append({**row, "statistic": name, **{
                k: row[k] * factor for k in ("mean", "q025", "median", "q975")}})
    return out


def comparison_table() -> tuple[tuple[str, str], ...]:
    """(comparison row name, label) of the statistics of the comparison table (shown scaled,
    see :attr:`Statistic.shown_name`)."""
    return _table(True, lambda s: s.table)


def compute(moments: Moments, founder_names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every registered statistic of ``moments``, in registry order, then each
    ``per_founder`` statistic per founder allele (when there are several), then the
    pedigree-only ones (when ``moments.observed`` is given)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {s.name: s.formula(moments) for s in REGISTRY if not s.pedigree_only}
        if len(founder_names) > 1:
            for s in REGISTRY:
                if s.per_founder:
                    for j, allele in enumerate(founder_names):
                        out[s.per_founder.format(allele)] = s.formula(moments.one_founder(j))
        if moments.observed is not None:
            out.update({s.name: s.formula(moments) for s in REGISTRY if s.pedigree_only})
    return out
