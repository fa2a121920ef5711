"""Scenario model objects: what a config file describes, validated and frozen.

A :class:`Scenario` is the complete, engine-independent description of one
simulation: demes with their size schedules and founder events, backward
migration, one disease locus with its founder alleles and fitness model, and
optional published observations to compare with. Objects are built and
validated by :func:`popsim.model.build.build_model`; engines receive them compiled into
arrays by :func:`popsim.model.plan.compile_plan`.

Units: sizes are numbers of diploid individuals; times are generations
counted forward from generation 0 (the scenario's start); rates are per gene
copy (mutation) or per generation (migration, a fraction of parents).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Growth = Literal["constant", "exponential", "linear"]


@dataclass(frozen=True)
class SizeEpoch:
    """One piece of a deme's diploid size schedule.

    From generation ``start_generation`` until the next epoch starts (or the
    scenario ends) the size goes from ``start`` to ``end``:

    * ``constant``: N(t) = start;
    * ``exponential``: N(t) = round(start · (end/start)^((t − t₀)/(t₁ − t₀)));
    * ``linear``: N(t) = round(start + (end − start) · (t − t₀)/(t₁ − t₀)),

    where t₀ is the epoch's first generation (for a founded deme, no earlier
    than its founding) and t₁ its last (the generation before the next epoch,
    or the scenario's final generation).
    """

    start_generation: int
    start: int
    end: int
    growth: Growth = "constant"


@dataclass(frozen=True)
class FounderEvent:
    """A deme founded at ``generation`` by ``founders`` diploids from ``source``.

    The founders' gene copies are drawn from the source deme's gamete pool of
    the reproduction step that makes generation ``generation`` (after the
    source's migration, mutation and selection): a complete one-generation
    migration from the source. Before that generation the deme is empty.
    """

    generation: int
    source: str
    founders: int


@dataclass(frozen=True)
class Deme:
    """A randomly mating population with inbreeding coefficient F.

    ``inbreeding`` is F of the frequency engine: zygotes are formed with
    P(i/i) = p_i²(1−F) + p_i·F and P(i/j) = 2·p_i·p_j·(1−F).
    The marriage fractions are the pedigree engine's: each engine refuses the
    other's settings when they are non-zero (:func:`popsim.model.build.build_model`).
    ``label`` is what people read (tables, figures, reports); ``name`` is the id
    that configs, ``--set`` and file names use.
    ``individuals``: in a hybrid run (``Scenario.engine = "hybrid"``) the pedigree
    engine simulates this deme as individuals, the frequency engine the others
    (the hosts); any other engine refuses it.
    """

    name: str
    epochs: tuple[SizeEpoch, ...]
    inbreeding: float = 0.0
    founded: FounderEvent | None = None
    first_cousin_marriage: float = 0.0
    second_cousin_marriage: float = 0.0
    uncle_niece_marriage: float = 0.0
    description: str = ""
    individuals: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", default_label(self.name))


def default_label(name: str) -> str:
    """What tables, figures and reports call a deme whose config gives no ``label``:
    its name with ``_`` as spaces and a capital first letter (``persian_jews`` →
    ``Persian jews``)."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Migration:
    """Backward migration: each generation a fraction ``rate`` of ``dest``'s
    parents come from ``source`` (msprime/Demes convention), from generation
    ``start_generation`` (inclusive) to ``end_generation`` (exclusive; None =
    until the end). Rates apply to the reproduction step that makes generation t.
    """

    source: str
    dest: str
    rate: float
    start_generation: int = 0
    end_generation: int | None = None


@dataclass(frozen=True)
class Selection:
    """Viability selection on zygotes (fitness relative to normal/normal = 1).

    normal/normal: 1;  carrier: 1 − h·s + a;  affected (any two pathogenic
    alleles, homozygous or compound heterozygous): 1 − s,
    with s = ``affected``, h = ``carrier_dominance``, a = ``heterozygote_advantage``.
    (SLiM writes the homozygote as 1 + s and dadi as 1 + 2s: popsim's s is the
    loss of fitness of an affected person, so SLiM's s = −popsim's s.)
    """

    affected: float = 0.0
    carrier_dominance: float = 0.0
    heterozygote_advantage: float = 0.0


@dataclass(frozen=True)
class FounderAllele:
    """A named pathogenic allele introduced at ``generation`` into ``deme``.

    Exactly ``copies`` normal gene copies of that generation's individuals are
    replaced by the allele before they reproduce (``frequency = x`` in a config
    is resolved to round(x·2N) copies). The same name in several demes is one
    allele.
    """

    name: str
    deme: str
    generation: int
    copies: int | None = None
    frequency: float | None = None


@dataclass(frozen=True)
class Locus:
    """The disease gene: allele 0 is normal, every other allele pathogenic.

    ``pathogenic_mutation_rate`` (u, per normal gene copy per generation) turns
    a normal copy into a new, distinct pathogenic allele (infinite alleles, no
    back mutation). At most ``max_alleles`` mutation-born alleles may segregate
    at once in one replicate; slots are recycled when an allele is lost.

    ``penetrance`` ∈ (0, 1] is the probability that a person with an affected
    genotype (any two pathogenic alleles) is a patient, the same for every
    affected genotype. It scales the patients the statistics report
    (``prevalence``), not the genotype frequencies, and not selection: the
    fitness cost ``selection.affected`` applies to every affected genotype
    (late onset: the cost is carried by the genotype, whether or not the
    disease shows), so the engines never see it.
    """

    name: str = "GNE"
    pathogenic_mutation_rate: float = 0.0
    selection: Selection = field(default_factory=Selection)
    founder_alleles: tuple[FounderAllele, ...] = ()
    max_alleles: int = 256
    penetrance: float = 1.0


@dataclass(frozen=True)
class Observation:
    """A published value to set beside the simulation, with its source (the value
    form of ``[[observed]]``: a point observation with no likelihood)."""

    statistic: str
    value: float
    deme: str
    source: str = ""
    name: str = ""


#: The count forms of ``[[observed]]``: each form's count keys, the total (last) included.
COUNT_FORMS: dict[str, tuple[str, ...]] = {
    "screen": ("carriers", "screened"),
    "genotypes": ("heterozygotes", "homozygotes", "sampled"),
    "prevalence": ("patients", "population"),
    "families": ("founder_homozygous", "compound_heterozygous", "other_homozygous", "families"),
}

#: Which pathogenic alleles a screen or genotype count detects.
ALLELES: tuple[str, ...] = ("founder", "any")


@dataclass(frozen=True)
class CountObservation:
    """Published counts with a likelihood under each simulated history (see
    :mod:`popsim.analysis.evidence`).

    ``form`` is a key of :data:`COUNT_FORMS`; ``counts`` holds that form's
    counts in its key order (the total last); ``allele`` (screen and genotypes
    forms) is ``"founder"`` (the founder allele(s)) or ``"any"`` (any
    pathogenic allele), else empty.
    """

    name: str
    form: str
    deme: str
    counts: tuple[int, ...]
    allele: str = ""
    source: str = ""

    def count(self, key: str) -> int:
        """The count given for ``key`` (one of the form's keys)."""
        return self.counts[COUNT_FORMS[self.form].index(key)]

    @property
    def total(self) -> int:
        """n: people screened, sampled or counted, or families."""
        return self.counts[-1]


#: z of a two-sided 95% normal interval: a stated 95% range [lo, hi] of a rate gives
#: σ = ln(hi/lo) / (2·RATE_Z) on the log scale.
RATE_Z = 1.959963984540054


@dataclass(frozen=True)
class RateObservation:
    """A published rate with a stated uncertainty but no sample size (the rate form of
    ``[[observed]]``; its likelihood is in :mod:`popsim.analysis.evidence`).

    The published ``value`` is read as the history's value of ``statistic`` times a
    lognormal measurement error: ln(value) ~ Normal(ln x_h, σ²), σ = ln(high/low) /
    (2·:data:`RATE_Z`), [``low``, ``high``] the stated 95% range (``factor = f``
    gives [value/f, value·f]).
    """

    name: str
    statistic: str
    deme: str
    value: float
    low: float
    high: float
    source: str = ""

    #: The form's name, as :attr:`CountObservation.form` (one code path for both).
    form = "rate"

    @property
    def sigma(self) -> float:
        """σ: the standard deviation of ln(value) around ln(x_h)."""
        return math.log(self.high / self.low) / (2.0 * RATE_Z)


#: An ``[[observed]]`` entry with a likelihood per history: the count forms and the rate form.
LikelihoodObservation = CountObservation | RateObservation


@dataclass(frozen=True)
class Scenario:
    """A complete simulation: demography, locus and run settings.

    ``generations`` = T rounds of reproduction after generation 0; the final
    state reported is generation T. ``burn_in`` generations run before
    generation 0 at the sizes of generation 0 (used to bring an outbred
    population to mutation–selection–drift balance) and are not recorded.
    """

    name: str
    generations: int
    demes: tuple[Deme, ...]
    locus: Locus
    migrations: tuple[Migration, ...] = ()
    generation_time_years: float = 25.0
    replicates: int = 1000
    seed: int = 1
    burn_in: int = 0
    record_every: int = 1
    engine: Literal["frequency", "pedigree", "hybrid"] = "frequency"
    #: Generations of ancestry the pedigree engine keeps; None: its default
    #: (:data:`popsim.model.limits.DEFAULT_ANCESTRY`). Only the pedigree engine uses it.
    ancestry_generations: int | None = None
    observations: tuple[Observation, ...] = ()
    #: The ``[[observed]]`` entries with a likelihood per history: the count forms and
    #: the rate form (a rate with a stated uncertainty).
    count_observations: tuple[LikelihoodObservation, ...] = ()
    description: str = ""
    #: Publications the scenario's numbers come from (shown by ``popsim catalog`` and reports).
    citations: tuple[str, ...] = ()
    #: The numbers no publication gives, each with why it was chosen (listed under the
    #: report's Limitations).
    assumptions: tuple[str, ...] = ()

    @property
    def deme_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.demes)

    @property
    def founder_names(self) -> tuple[str, ...]:
        """Distinct founder allele names in order of first appearance."""
        return tuple(dict.fromkeys(allele.name for allele in self.locus.founder_alleles))

    def deme_index(self, name: str) -> int:
        return self.deme_names.index(name)
