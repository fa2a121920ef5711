"""Pedigree engine: individual-based Wright–Fisher with cousin marriages (Numba).

State. Each replicate holds the diploid individuals of the current generation
(two allele indices each; allele 0 normal, 1…K the named founder alleles,
then recycled slots for mutation-born alleles), the four alleles of every
couple of the step (what their children inherit from), and a window of
ancestry: for the last G = ``plan.ancestry_generations`` generations, every
individual's parent couple, and every couple's husband, wife and their own
parent couples. Memory is O(N): about 55 bytes per individual for G = 4
(see docs/pedigree.md).

One generation (step τ − 1 → τ), in this order, the frequency engine's order:

1. **Marriages** (per deme, among generation τ − 1). Individuals are
   exchangeable, so sex is deme-local index parity (even = male): an exactly
   balanced random sex assignment. Every woman marries once. Woman by woman
   (index order) a draw decides whether she seeks a first cousin (fraction
   c₁ = ``plan.marriage[d, 0]``), a second cousin (c₂) or an uncle (c_u), each
   chosen uniformly among the unmarried relatives of that kind in her deme; if
   none exists the marriage falls back to random mating and is counted as a
   fallback. The remaining women and men are then paired in index order,
   which is a uniformly random pairing because individuals are exchangeable.
   First cousins share a grandparent couple (F = 1/16), second cousins a
   great-grandparent couple and no closer one (F = 1/64). An uncle is a full
   brother of one of the woman's parents, so he belongs to generation τ − 2:
   uncle–niece couples borrow a man from the generation before (F = 1/8).
   Men left over (uncle marriages, odd deme sizes) do not reproduce.
2. **Couple inbreeding**: the kinship of husband and wife, i.e. F of their
   children, exactly, over the kept window (computed on recorded steps only:
   it enters nothing else): individuals of generation τ − G
   are treated as unrelated and non-inbred. Recursion
   φ(A, B) = ½[φ(A_f, B) + φ(A_m, B)] (A not older than B), φ(A, A) = ½(1 + F_A),
   pruned where the two pedigrees share no ancestor couple.
3. **Offspring** (per deme i, N_i(τ) of them, each independently, WF style):
   a source deme j with probability M[i, j] (backward migration: both parents
   of a migrant child come from deme j; a founded deme takes all its parents
   from its source), a couple of deme j uniformly at random, one random gene
   copy from each parent (Mendel), **mutation** of each normal copy with
   probability u into a brand-new pathogenic allele, then **viability
   selection**: the zygote survives with probability w/w_max (w = 1 normal,
   1 − h·s + a carrier, 1 − s affected by any two pathogenic alleles); a
   rejected zygote is replaced by a fresh draw (source, couple, gametes).
   The survivors are a sample of zygotes formed by random couples and then
   selected, as in the frequency engine; couples get multinomial family sizes
   (Poisson-like), which gives cousins.
4. **Founder introductions** at τ replace exactly k normal copies chosen
   uniformly among the deme's 2N copies; then the generation is recorded.

Mutation-born alleles live in slots that are recycled (only when needed: when
no slot is free, those no longer carried by a live individual are freed); a
replicate that needs more than ``plan.max_alleles`` stops with CAPACITY.
With random mating and no selection this is the frequency engine's model
with separate sexes and monogamous couples: allele-frequency drift agrees
with it to O(1/N) per generation (docs/pedigree.md derives it; a test checks
it). With selection the expected change agrees too, but this engine samples
surviving individuals where the frequency engine samples gene copies, so its
drift is weaker by a factor of about 1 − s·q (docs/pedigree.md).

Randomness: splitmix64 streams keyed by (replicate seed, step, deme, block,
purpose): marriages one draw per woman for the kind she seeks and a second
stream for choosing husbands among relatives (so the women who seek one are
known ahead and their searches prefetched together), offspring in fixed
blocks of :data:`~.offspring.BLOCK`, so a replicate gives the same numbers
whether blocks run on one thread or many, and whether replicates run in
parallel (:func:`~.kernel.run_replicates`) or one at a time with parallel
blocks (large N).

Modules: :mod:`.kernel` (the generation loop and the parallel drivers),
:mod:`.marriage` and :mod:`.relatives` (step 1), :mod:`.couples` and
:mod:`.kinship` (step 2), :mod:`.offspring` (step 3), :mod:`.alleles`
(mutation-born slots, step 4 and the records) and :mod:`.prefetch` (memory
hints); the random streams are :mod:`popsim.engines.rng`'s. This module runs a
plan: :func:`simulate_pedigree`; the plans it cannot run are refused before, by
:func:`popsim.model.build.check_engine`.
"""

from __future__ import annotations

import time

import numba
import numpy as np

from popsim.engines.layout import (
    OBSERVED_COLUMNS,
    OK,
    STATUS_CODE,
    STATUS_COLUMNS,
    EngineOutput,
    record_width,
)
from popsim.engines.pedigree.kernel import Host, Schedule, _replicate_within, run_replicates
from popsim.engines.threads import balanced
from popsim.model.plan import Plan

#: Individuals alive at once up to which replicates run in parallel, one per
#: thread (each thread then holds a replicate: ~55 bytes × this × threads).
PARALLEL_REPLICATES_MAX = 2_000_000
#: Individuals alive at once below which a replicate is never split across
#: threads: each generation of the split path has a fixed cost of Python calls
#: and parallel-region start-up, more than 2 threads save on fewer individuals
#: (benchmarks/README.md).
WITHIN_MIN = 20_000


def _offsets(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """First individual of each deme per step, and first couple of each deme per step."""
    sizes = plan.sizes.astype(np.int64)
    offs = np.zeros((sizes.shape[0], sizes.shape[1] + 1), dtype=np.int64)
    offs[:, 1:] = np.cumsum(sizes, axis=1)
    coffs = np.zeros_like(offs)
    coffs[1:, 1:] = np.cumsum(sizes[:-1] // 2, axis=1)
    return offs, coffs


def simulate_pedigree(
    plan: Plan, seeds: np.ndarray, within: bool | None = None, hosts: Host | None = None
) -> EngineOutput:
    """Run the pedigree engine for one replicate per seed.

    Args:
        plan: the compiled scenario, checked for this engine by
            :func:`popsim.model.build.build_model` (this function checks nothing).
        seeds: uint64 replicate seeds (:func:`popsim.engines.rng.replicate_seeds`).
        within: parallelise within each replicate (True) or across replicates
            (False); default: across, one replicate per thread, unless the
            replicates are fewer than twice the threads and the population
            has at least :data:`WITHIN_MIN` individuals, or it exceeds
            :data:`PARALLEL_REPLICATES_MAX`. Results are identical either way.
        hosts: in a hybrid run (:mod:`popsim.engines.hybrid`), the gene pools of
            the host demes, which have no individuals here (size 0 in ``plan``),
            for every replicate: a :data:`~.kernel.Host` whose arrays have a
            leading replicate axis (``f`` excepted); their mutation-born alleles
            are told apart by number (``ids`` [R]).

    Returns:
        ``records`` int64 [R, n_records, D, columns] as the frequency engine's,
        ``status`` int64 [R, 3] and ``observed`` float64 [R, n_records, D,
        len(OBSERVED_COLUMNS)] (:mod:`popsim.engines.layout`).
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    n_rep, n_rec, n_demes = seeds.shape[0], plan.record_steps.shape[0], len(plan.deme_names)
    n_named = len(plan.founder_names)
    records = np.zeros((n_rep, n_rec, n_demes, record_width(n_named)), dtype=np.int64)
    observed = np.zeros((n_rep, n_rec, n_demes, len(OBSERVED_COLUMNS)), dtype=np.float64)
    status = np.zeros((n_rep, len(STATUS_COLUMNS)), dtype=np.int64)
    offs, coffs = _offsets(plan)
    if hosts is None:
        hosts = Host(np.zeros((n_rep, 0, 0, 0), np.int16), np.zeros((n_rep, 0, 0, 0)),
                     np.zeros((n_rep, 0, 0), np.int64), np.zeros(0), np.zeros(n_rep, np.int64))
    small_alleles = max(1 + n_named + plan.max_alleles, 2 + int(hosts.ids.max(initial=0))) < (
        np.iinfo(np.int16).max
    )
    allele_type = np.zeros(0, dtype=np.int16 if small_alleles else np.int32)
    hosts = hosts._replace(values=hosts.values.astype(allele_type.dtype))
    s, h, a = (float(v) for v in plan.selection)
    sch = Schedule(
        sizes=plan.sizes.astype(np.int64), offs=offs, coffs=coffs,
        migration_index=plan.migration_index, migration=plan.migration, marriage=plan.marriage,
        u=float(plan.mutation_rate), wtab=np.array([1.0, 1.0 - h * s + a, 1.0 - s]),
        intro_step=plan.intro_step, intro_deme=plan.intro_deme, intro_allele=plan.intro_allele,
        intro_copies=plan.intro_copies, record_steps=plan.record_steps, n_named=n_named,
        capacity=int(plan.max_alleles), ancestry=int(plan.ancestry_generations),
    )
    if within is None:
        alive = offs[:, -1].max()
        within = alive > PARALLEL_REPLICATES_MAX or (
            n_rep < 2 * numba.get_num_threads() and alive >= WITHIN_MIN
        )
    with balanced():
        if within:
            for r in range(n_rep):
                host = Host(hosts.values[r], hosts.cum[r], hosts.n[r], hosts.f, hosts.ids[r])
                _replicate_within(seeds[r], sch, allele_type, host, records[r], observed[r],
                                  status[r])
                if status[r, STATUS_CODE] != OK:
                    break
        else:
            run_replicates(seeds, sch, allele_type, hosts, records, observed, status)
    return EngineOutput(records, status, observed)


def throughput(
    size: int, generations: int = 20, first_cousin: float = 0.0, replicates: int = 1,
    seed: int = 1,
) -> float:
    """Individual-generations per second of one deme of constant ``size``.

    Random mating plus a fraction ``first_cousin`` of first-cousin marriages,
    ancestry window 4, no selection or mutation; compile time excluded (a
    one-generation warm-up runs first). Uses the current Numba thread count.
    """
    from popsim.model.build import build_model

    def plan_for(gens: int) -> Plan:
        raw = {
            "scenario": {"name": "throughput", "generations": gens, "engine": "pedigree",
                         "record_every": gens},
            "demes": [{"name": "pop", "size": size, "first_cousin_marriage": first_cousin}],
            "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.05}]},
        }
        return build_model(raw).plan

    seeds = np.arange(seed, seed + replicates, dtype=np.uint64)
    simulate_pedigree(plan_for(1), seeds[:1])
    plan = plan_for(generations)
    started = time.perf_counter()
    simulate_pedigree(plan, seeds)
    return size * generations * replicates / (time.perf_counter() - started)
