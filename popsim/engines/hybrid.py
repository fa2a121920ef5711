"""Hybrid run: demes of individuals (pedigree engine) inside hosts (frequency engine).

A scenario with ``engine = "hybrid"`` marks some demes ``individuals = true``;
the pedigree engine simulates those as individuals (cousin marriages, observed
genotypes), the frequency engine the others, the hosts (e.g. 10⁶ people at
mutation–selection–drift balance after a burn-in of 8,000 generations), as
allele counts: no individual of a host is ever made.

Coupling (one way, host → individuals; :func:`popsim.model.build.check_engine`
refuses migration or founding the other way). For each replicate:

1. The frequency engine runs the hosts through the whole plan (burn-in
   included) with the demes of individuals left empty, and keeps every
   allele's copies in every host deme at the end of each step from the step
   before the first individuals exist (``start``) on
   (:func:`~popsim.engines.frequency.simulate_frequency_snapshots`).
2. A host's mutation-born allele is told apart by its slot and its run of
   steps with copies: a slot with no copy in any host deme at one step and
   copies at the next holds a new allele (the host cannot get an allele back
   once it has lost it: nothing flows into it from the individuals), so each
   run of a slot is one allele, numbered h = 0, 1, … per replicate.
3. The pedigree engine runs steps ``start`` … end with the hosts empty. A child
   whose parents come from host deme j (a founder of a deme founded from j, or
   a migrant) is a zygote of host j's gene pool of the step before: one gene
   copy drawn from j's allele frequencies, the second identical to it with
   probability F_j (the host's inbreeding) and else drawn independently; then
   mutation and viability selection as for every child. So migrants carry the
   named founder alleles, the normal allele and each of the host's
   mutation-born alleles as the host has them, and two copies of one host
   allele make a homozygote of that allele, two different ones a compound
   heterozygote. Such a child has unknown parents (unrelated to everyone in
   the pedigree) and counts the host's F in the deme's mean pedigree F.

Where a deme of individuals exists at step 0 (no founding), its first
individuals carry only normal alleles, as the pedigree engine's founders do.

Records: the hosts' from step 1, the individuals' from step 3. The observed
columns (:data:`~popsim.engines.layout.OBSERVED_COLUMNS`) of a host count no
individuals (its ``individuals`` column is 0) and give its F as
``mean_pedigree_inbreeding``, so a Result's F is the config's F for a host and
the measured pedigree F for a deme of individuals.

Random numbers: the host of replicate r draws from the replicate's seed as a
frequency-engine run does; the individuals' streams are keyed by the seed
XOR :data:`INDIVIDUALS_SALT`. Both engines give the same numbers on any number
of threads, and step 2 is deterministic, so a hybrid run does too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from popsim.engines.frequency import simulate_frequency_snapshots
from popsim.engines.layout import (
    MEAN_PEDIGREE_INBREEDING,
    OBSERVED_COLUMNS,
    OK,
    STATUS_CODE,
    STATUS_STEP,
    EngineOutput,
)
from popsim.engines.pedigree import simulate_pedigree
from popsim.engines.pedigree.kernel import Host
from popsim.model.plan import Plan

#: XORed into a replicate's seed to key the pedigree engine's streams of a hybrid run.
INDIVIDUALS_SALT = np.uint64(0xA5C3_9E37_79B9_7F4A)


def simulate_hybrid(plan: Plan, seeds: np.ndarray, within: bool | None = None) -> EngineOutput:
    """Run the hybrid engine (module docstring) for one replicate per seed.

    Returns ``records``, ``status`` and ``observed`` shaped as the pedigree
    engine's (:mod:`popsim.engines.layout`), over all demes; a status's step is
    a step of ``plan``. ``within``: how the pedigree engine shares out its work
    (:func:`~popsim.engines.pedigree.simulate_pedigree`; never a number).
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    marked = np.asarray(plan.individuals, dtype=np.bool_)
    start = first_individual_step(plan)
    hosts_output, snapshots = simulate_frequency_snapshots(host_plan(plan), seeds, start)
    pools = host_pools(plan, snapshots, start)
    del snapshots  # as large as the pools: not kept while the individuals run
    output = simulate_pedigree(
        community_plan(plan, start), seeds ^ INDIVIDUALS_SALT, within, hosts=pools
    )
    recorded = np.nonzero(plan.record_steps >= start)[0]
    ind = np.nonzero(marked)[0]
    records = hosts_output.records
    records[:, recorded[:, None], ind[None, :]] = output.records[:, :, ind]
    observed = np.zeros((*records.shape[:3], len(OBSERVED_COLUMNS)))
    observed[..., MEAN_PEDIGREE_INBREEDING] = np.where(marked, np.nan, plan.inbreeding)
    observed[:, recorded[:, None], ind[None, :]] = output.observed[:, :, ind]
    status = hosts_output.status
    failed = (status[:, STATUS_CODE] == OK) & (output.status[:, STATUS_CODE] != OK)
    status[failed] = output.status[failed]
    status[failed, STATUS_STEP] += start
    return EngineOutput(records, status, observed)


def first_individual_step(plan: Plan) -> int:
    """The step before the first with individuals in a marked deme (0 if they are there
    from the start): the pedigree engine's step 0."""
    marked = np.asarray(plan.individuals, dtype=np.bool_)
    alive = (plan.sizes[:, marked] > 0).any(axis=1)
    return max(int(np.argmax(alive)) - 1, 0)


def host_plan(plan: Plan) -> Plan:
    """``plan`` with the demes of individuals empty and without their founder alleles."""
    marked = np.asarray(plan.individuals, dtype=np.bool_)
    keep = ~marked[plan.intro_deme]
    return dataclasses.replace(
        plan,
        sizes=np.where(marked, 0, plan.sizes),
        intro_step=plan.intro_step[keep],
        intro_deme=plan.intro_deme[keep],
        intro_allele=plan.intro_allele[keep],
        intro_copies=plan.intro_copies[keep],
    )


def community_plan(plan: Plan, start: int) -> Plan:
    """``plan`` from step ``start`` on (its step 0), the hosts empty and without their
    founder alleles; the records of the steps from ``start`` on."""
    marked = np.asarray(plan.individuals, dtype=np.bool_)
    keep = marked[plan.intro_deme]
    recorded = plan.record_steps[plan.record_steps >= start]
    return dataclasses.replace(
        plan,
        burn_in=0,
        generations=plan.n_steps - start,
        sizes=np.where(marked, plan.sizes, 0)[start:],
        migration_index=plan.migration_index[start:],
        intro_step=plan.intro_step[keep] - start,
        intro_deme=plan.intro_deme[keep],
        intro_allele=plan.intro_allele[keep],
        intro_copies=plan.intro_copies[keep],
        record_steps=recorded - start,
    )


def host_pools(plan: Plan, snapshots: np.ndarray, start: int) -> Host:
    """The hosts' gene pools for the pedigree engine's steps (a :data:`Host` with a
    replicate axis) from ``snapshots`` [R, S, D, slots], every allele's copies at the
    end of steps ``start`` … (:func:`~popsim.engines.frequency.simulate_frequency_snapshots`).

    Step τ ≥ 1 of the pedigree engine (plan step ``start`` + τ) draws from the
    copies at plan step ``start`` + τ − 1. Host alleles are numbered as the module
    docstring's step 2 says; an allele's entry is −2 − h (the pedigree engine's
    placeholder for host allele h), a named or the normal allele's its index.
    """
    n_rep, n_snap, n_demes, n_slots = snapshots.shape
    first_novel = 1 + len(plan.founder_names)
    hosts = np.nonzero(~np.asarray(plan.individuals, dtype=np.bool_))[0]
    values = np.zeros((n_rep, n_snap, n_demes, n_slots), dtype=np.int32)
    cum = np.zeros((n_rep, n_snap, n_demes, n_slots))
    n = np.zeros((n_rep, n_snap, n_demes), dtype=np.int64)
    ids = np.zeros(n_rep, dtype=np.int64)
    values[..., :first_novel] = np.arange(first_novel)
    steps = np.arange(n_snap)[:, None]
    for r in range(n_rep):
        present = snapshots[r][:, hosts, first_novel:].sum(axis=1) > 0  # [S, C]
        new = present.copy()
        new[1:] &= ~present[:-1]
        number = np.cumsum(new.ravel()).reshape(new.shape) - 1
        born = np.maximum.accumulate(np.where(new, steps, 0), axis=0)  # start of each run
        allele = np.take_along_axis(number, born, axis=0)
        ids[r] = int(new.sum())
        for j in hosts:
            copies = snapshots[r, :-1, j].astype(np.float64)  # parents of steps 1 …
            total = copies.sum(axis=1)
            live = total > 0
            values[r, 1:, j, first_novel:] = np.where(present[:-1], -2 - allele[:-1], 0)
            cum[r, 1:, j] = np.cumsum(copies, axis=1) / np.where(live, total, 1.0)[:, None]
            last = n_slots - np.argmax(copies[:, ::-1] > 0, axis=1)
            n[r, 1:, j] = np.where(live, last, 0)
    width = max(1, int(n.max(initial=0)))  # slots past every pool's last allele: unused
    return Host(values[..., :width].copy(), cum[..., :width].copy(), n,
                np.asarray(plan.inbreeding, dtype=np.float64), ids)
