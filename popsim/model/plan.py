"""Demography compiled into arrays: size schedules, founder events, migration.

:func:`compile_plan` turns a validated :class:`~popsim.model.scenario.Scenario` into a
:class:`Plan`, the plain numpy arrays that both engines consume. Engines never
see config files or scenario objects, only a plan.

Time. The plan counts steps τ = 0 … B + T, where B is the burn-in and T the
scenario's generations; generation g of the scenario is τ = B + g. Step τ ≥ 1
is the reproduction that makes the individuals of τ from those of τ − 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popsim.errors import ConfigError
from popsim.model.limits import DEFAULT_ANCESTRY, MAX_SIZE
from popsim.model.scenario import Deme, Migration, Scenario


@dataclass(frozen=True)
class Plan:
    """Everything an engine needs, as arrays (see module docstring for time).

    Attributes:
        deme_names: names of the D demes, in config order.
        founder_names: names of the K founder alleles; allele index k+1 is founder k.
        burn_in: B, steps before generation 0 that are not recorded.
        generations: T.
        sizes: int64 [B+T+1, D], diploid size of each deme at each step (0 = absent).
        migration_index: int64 [B+T+1], which matrix of ``migration`` step τ uses.
        migration: float64 [n, D, D], backward migration matrices with their
            diagonal: row i gives the fraction of deme i's parents from each deme;
            rows sum to 1. A deme founded at τ has row e_source at τ.
        inbreeding: float64 [D], F of each deme (frequency engine).
        marriage: float64 [D, 3], first-cousin, second-cousin and uncle–niece
            marriage fractions (pedigree engine).
        mutation_rate: u per normal gene copy per generation.
        selection: float64 [3], (s, h, a) of :class:`~popsim.model.scenario.Selection`.
        intro_step, intro_deme, intro_allele, intro_copies: int64 [m], founder
            introductions sorted by step; ``intro_allele`` is 1 + founder index.
        record_steps: int64 [r], the steps whose state is recorded.
        max_alleles: capacity for mutation-born alleles per replicate.
        ancestry_generations: generations of ancestry the pedigree engine keeps
            (:data:`~popsim.model.limits.DEFAULT_ANCESTRY` where the scenario gives none).
        individuals: bool [D], the demes a hybrid run simulates as individuals
            (``Deme.individuals``).
    """

    deme_names: tuple[str, ...]
    founder_names: tuple[str, ...]
    burn_in: int
    generations: int
    sizes: np.ndarray
    migration_index: np.ndarray
    migration: np.ndarray
    inbreeding: np.ndarray
    marriage: np.ndarray
    mutation_rate: float
    selection: np.ndarray
    intro_step: np.ndarray
    intro_deme: np.ndarray
    intro_allele: np.ndarray
    intro_copies: np.ndarray
    record_steps: np.ndarray
    max_alleles: int
    ancestry_generations: int
    individuals: np.ndarray

    @property
    def n_steps(self) -> int:
        return self.burn_in + self.generations

    @property
    def record_generations(self) -> np.ndarray:
        """Scenario generations of the recorded steps."""
        return self.record_steps - self.burn_in


def deme_sizes(deme: Deme, index: int, generations: int) -> np.ndarray:
    """Diploid size of ``deme`` at generations 0 … T (0 before it is founded).

    Raises ConfigError naming ``demes[index].size`` if a size leaves [1, 10⁹].
    """
    sizes = np.zeros(generations + 1, dtype=np.int64)
    first = deme.founded.generation if deme.founded else 0
    epochs = deme.epochs
    for k, epoch in enumerate(epochs):
        t0 = max(epoch.start_generation, first)
        t1 = epochs[k + 1].start_generation - 1 if k + 1 < len(epochs) else generations
        t1 = min(t1, generations)
        if t1 < t0:
            continue
        t = np.arange(t0, t1 + 1)
        span = max(t1 - t0, 1)  # a founded deme's epoch is anchored at its founding
        x = (t - t0) / span
        if epoch.growth == "exponential":
            values = epoch.start * (epoch.end / epoch.start) ** x
        elif epoch.growth == "linear":
            values = epoch.start + (epoch.end - epoch.start) * x
        else:
            values = np.full(t.shape, float(epoch.start))
        sizes[t0 : t1 + 1] = np.maximum(np.rint(values), 1).astype(np.int64)
    if deme.founded is not None:
        sizes[: deme.founded.generation] = 0
        sizes[deme.founded.generation] = deme.founded.founders
    if sizes.max(initial=0) > MAX_SIZE:
        raise ConfigError(
            f"demes[{index}].size", int(sizes.max()), f"must be at most {MAX_SIZE:.0e}"
        )
    return sizes


def compile_plan(scenario: Scenario) -> Plan:
    """Compile a scenario into engine arrays, checking what needs the whole schedule.

    Checks made here (each a ConfigError naming the key): founder alleles fit
    in the deme at their generation; migration only between demes that exist
    and rates into each deme summing to at most 1 at every generation.
    """
    names = scenario.deme_names
    n_demes = len(names)
    burn_in, generations = scenario.burn_in, scenario.generations

    by_generation = np.stack(
        [deme_sizes(d, i, generations) for i, d in enumerate(scenario.demes)], axis=1
    )
    sizes = np.concatenate([np.repeat(by_generation[:1], burn_in, axis=0), by_generation], axis=0)
    for i, deme in enumerate(scenario.demes):
        if deme.founded is not None:
            sizes[: burn_in + deme.founded.generation, i] = 0

    migration_index, migration = _migration_matrices(scenario, sizes)

    founders = scenario.founder_names
    allele_index = {name: k + 1 for k, name in enumerate(founders)}
    deme_index = {name: i for i, name in enumerate(names)}
    steps, demes_, alleles, copies = [], [], [], []
    introduced: dict[tuple[int, int], int] = {}  # copies per (step, deme)
    for k, allele in enumerate(scenario.locus.founder_alleles):
        key = f"locus.founder_alleles[{k}]"
        d = deme_index[allele.deme]
        if allele.generation > generations:
            raise ConfigError(
                f"{key}.generation",
                allele.generation,
                f"must be at most scenario.generations = {generations}",
            )
        step = burn_in + allele.generation
        two_n = 2 * int(sizes[step, d])
        if two_n == 0:
            raise ConfigError(
                f"{key}.generation",
                allele.generation,
                f"deme '{allele.deme}' has no individuals then (it is founded later)",
            )
        if allele.copies is not None:
            n_copies = allele.copies
            if not 1 <= n_copies <= two_n:
                raise ConfigError(
                    f"{key}.copies",
                    n_copies,
                    f"must be between 1 and 2N = {two_n} gene copies of '{allele.deme}' "
                    f"at generation {allele.generation}",
                )
        else:
            n_copies = round(allele.frequency * two_n)
            if n_copies < 1:
                raise ConfigError(
                    f"{key}.frequency",
                    allele.frequency,
                    f"gives round(x·2N) = 0 copies in '{allele.deme}' (2N = {two_n}); "
                    "use a larger frequency or copies = 1",
                )
        introduced[step, d] = introduced.get((step, d), 0) + n_copies
        if introduced[step, d] > two_n:
            raise ConfigError(
                f"{key}.deme", allele.deme,
                f"founder alleles introduced at generation {allele.generation} total "
                f"{introduced[step, d]} copies, more than 2N = {two_n} gene copies of the deme",
            )
        steps.append(step)
        demes_.append(d)
        alleles.append(allele_index[allele.name])
        copies.append(n_copies)
    order = np.argsort(np.asarray(steps, dtype=np.int64), kind="stable")

    record = list(range(0, generations + 1, scenario.record_every))
    if record[-1] != generations:
        record.append(generations)
    sel = scenario.locus.selection

    def as_int(values: list[int]) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)[order]

    return Plan(
        deme_names=names,
        founder_names=founders,
        burn_in=burn_in,
        generations=generations,
        sizes=sizes,
        migration_index=migration_index,
        migration=migration,
        inbreeding=np.array([d.inbreeding for d in scenario.demes], dtype=np.float64),
        marriage=np.array(
            [
                [d.first_cousin_marriage, d.second_cousin_marriage, d.uncle_niece_marriage]
                for d in scenario.demes
            ],
            dtype=np.float64,
        ).reshape(n_demes, 3),
        mutation_rate=float(scenario.locus.pathogenic_mutation_rate),
        selection=np.array(
            [sel.affected, sel.carrier_dominance, sel.heterozygote_advantage], dtype=np.float64
        ),
        intro_step=as_int(steps),
        intro_deme=as_int(demes_),
        intro_allele=as_int(alleles),
        intro_copies=as_int(copies),
        record_steps=np.asarray(record, dtype=np.int64) + burn_in,
        max_alleles=scenario.locus.max_alleles,
        ancestry_generations=scenario.ancestry_generations or DEFAULT_ANCESTRY,
        individuals=np.array([d.individuals for d in scenario.demes], dtype=np.bool_),
    )


def founder_demes(plan: Plan) -> np.ndarray:
    """bool [D]: the demes a founder allele can reach — those it is introduced into
    and, transitively, those that take parents (migrants or founders) from one of
    them at any step from the first introduction on. In the others every
    founder-allele statistic is undefined rather than 0 (a host that never had
    the allele has no "P(founder allele lost)"). Timing within that span is not
    followed, so a deme may be counted that the allele reaches only in principle.
    """
    reach = np.zeros(len(plan.deme_names), dtype=bool)
    if plan.intro_step.size == 0:
        return reach
    reach[plan.intro_deme] = True
    windows = np.unique(plan.migration_index[int(plan.intro_step.min()) :])
    takes_from = (plan.migration[windows] > 0).any(axis=0)  # [dest, source]
    while True:
        grown = reach | (takes_from & reach[None, :]).any(axis=1)
        if (grown == reach).all():
            return reach
        reach = grown


def _migration_matrices(scenario: Scenario, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward migration matrix of every step, deduplicated."""
    names = scenario.deme_names
    n_demes = len(names)
    burn_in = scenario.burn_in
    n_steps = sizes.shape[0] - 1
    founding = {burn_in + d.founded.generation: [] for d in scenario.demes if d.founded is not None}
    for i, d in enumerate(scenario.demes):
        if d.founded is not None:
            founding[burn_in + d.founded.generation].append((i, names.index(d.founded.source)))

    # Steps where anything changes: migration starts/ends and founder events.
    cuts = {1}
    for m in scenario.migrations:
        cuts.add(max(burn_in + m.start_generation, 1) if m.start_generation > 0 else 1)
        if m.end_generation is not None:
            cuts.add(burn_in + m.end_generation)
    for step in founding:
        cuts.update({step, step + 1})
    cuts = sorted(c for c in cuts if 1 <= c <= n_steps)

    matrices: list[np.ndarray] = [np.eye(n_demes)]
    index = np.zeros(n_steps + 1, dtype=np.int64)
    for k, step in enumerate(cuts):
        stop = cuts[k + 1] if k + 1 < len(cuts) else n_steps + 1
        matrix = np.zeros((n_demes, n_demes))
        generation = step - burn_in
        for j, m in enumerate(scenario.migrations):
            start = m.start_generation if m.start_generation > 0 else -burn_in
            end = m.end_generation if m.end_generation is not None else np.inf
            if start <= generation < end:
                matrix[names.index(m.dest), names.index(m.source)] += m.rate
                _check_migration_exists(m, j, sizes, step, stop, names, burn_in)
        totals = matrix.sum(axis=1)
        for i in range(n_demes):
            if totals[i] > 1 + 1e-12:
                raise ConfigError(
                    "migration",
                    f"rates into '{names[i]}' summing to {totals[i]:.6g}",
                    f"the fraction of a deme's parents that are migrants must be at most 1 "
                    f"(generation {generation})",
                )
        matrix[np.diag_indices(n_demes)] = 1.0 - totals
        for i, source in founding.get(step, []):
            matrix[i] = 0.0
            matrix[i, source] = 1.0
            if sizes[step - 1, source] == 0:
                raise ConfigError(
                    f"demes[{i}].founded.from",
                    names[source],
                    f"deme '{names[source]}' has no individuals at generation "
                    f"{step - 1 - burn_in}, so it cannot found '{names[i]}'",
                )
        for existing_k, existing in enumerate(matrices):
            if np.array_equal(existing, matrix):
                index[step:stop] = existing_k
                break
        else:
            matrices.append(matrix)
            index[step:stop] = len(matrices) - 1
    return index, np.stack(matrices)


def _check_migration_exists(
    m: Migration, j: int, sizes: np.ndarray, step: int, stop: int, names, burn_in: int
) -> None:
    src, dst = names.index(m.source), names.index(m.dest)
    parents = sizes[step - 1 : stop - 1, src]
    children = sizes[step:stop, dst]
    bad = np.nonzero((children > 0) & (parents == 0))[0]
    if bad.size and m.rate > 0:
        raise ConfigError(
            f"migration[{j}]",
            f"{m.source} -> {m.dest}",
            f"source deme '{m.source}' has no individuals at generation "
            f"{step - 1 + int(bad[0]) - burn_in}; "
            "limit the migration with start_generation/end_generation",
        )
