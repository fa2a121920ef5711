"""Alleles of a replicate: mutation-born slots, founder introductions and the records."""

from __future__ import annotations

import numpy as np
from numba import njit

from popsim.engines.layout import (
    CAPACITY,
    FALLBACK_MARRIAGES,
    FIRST_COUSIN_MARRIAGES,
    FIRST_FOUNDER,
    INDIVIDUALS,
    MARRIAGES,
    MEAN_PEDIGREE_INBREEDING,
    NO_NORMAL_COPIES,
    NORMAL,
    OBSERVED_CARRIERS,
    OBSERVED_COMPOUND_HETEROZYGOTES,
    OBSERVED_FOUNDER_HOMOZYGOTES,
    OBSERVED_OTHER_HOMOZYGOTES,
    OTHER,
    OTHER_ALLELES,
    OTHER_SUMSQ,
    SECOND_COUSIN_MARRIAGES,
    SIZE,
    UNCLE_NIECE_MARRIAGES,
    stop,
)
from popsim.engines.rng import PURPOSE_INTRO, stream_next, stream_start, stream_unit

#: Allele placeholder for a new mutation not yet given a slot; in a hybrid run, −2 − h
#: stands for a copy of the host's mutation-born allele h until it has a slot.
_NEW = -1


@njit(cache=True, inline="always")
def _is_host(host_n, tau, j):
    """Whether deme j is a host deme (simulated by the frequency engine, no
    individuals here) whose gene pool makes children of step τ: ``host_n[τ, j]``
    alleles in it (``host_n`` is empty outside a hybrid run)."""
    return host_n.shape[0] > 0 and host_n[tau, j] > 0


@njit(cache=True)
def _host_allele(offspring, tau, j, r):
    """The allele of host deme j's gene pool for step τ (its copies at τ − 1) at
    cumulative probability ``r`` ∈ [0, 1): a linear search, the normal allele first."""
    cum, values = offspring.host_cum[tau, j], offspring.host_values[tau, j]
    last = offspring.host_n[tau, j] - 1
    e = 0
    while e < last and r >= cum[e]:
        e += 1
    return values[e]


@njit(cache=True)
def _recycle(tau, sch, genotypes, uncle, slots, n_free):
    """Free the slots of mutation-born alleles no live individual carries; return
    the number of free slots (``slots``: :data:`~popsim.engines.pedigree.kernel.Slots`).

    Live: generation τ and, with uncle–niece marriages, τ − 1 (next step's uncles).
    """
    offs, n_demes, first_novel = sch.offs, sch.sizes.shape[1], 1 + sch.n_named
    hist, in_use, free = slots.hist, slots.in_use, slots.free
    imported, origin = slots.imported, slots.origin
    n_genotypes = genotypes.shape[0]
    hist[:] = 0
    for g in (tau, tau - 1):
        if g < 0 or (g == tau - 1 and not uncle):
            continue
        for x in range(offs[g, 0], offs[g, n_demes]):
            for c in range(2):
                v = genotypes[g % n_genotypes, x, c]
                if v >= 0:
                    hist[v] += 1
    for slot in range(first_novel, hist.shape[0]):
        if in_use[slot] and hist[slot] == 0:
            in_use[slot] = 0
            free[n_free] = slot
            n_free += 1
            if origin[slot] >= 0:  # a host allele lost here: a later import takes a new slot
                imported[origin[slot]] = -1
                origin[slot] = -1
    return n_free


@njit(cache=True)
def _name_mutations(tau, n_blocks, sch, offspring, genotypes, uncle, slots, n_free, status):
    """Give every new mutation of generation τ a free slot, and every copy of a
    host's mutation-born allele (:func:`_host_code`) its allele's slot (a free
    one on its first arrival, or after the allele was lost here), block by
    block in order (the blocks and their counts of such copies: ``offspring``);
    return the number of free slots left."""
    offs, blocks, sums = sch.offs, offspring.blocks, offspring.sums
    in_use, free, imported, origin = slots.in_use, slots.free, slots.imported, slots.origin
    now = tau % genotypes.shape[0]
    for b in range(n_blocks):
        if sums[b, 1] == 0:
            continue
        o = offs[tau, blocks[b, 0]]
        for x in range(o + blocks[b, 1], o + blocks[b, 2]):
            for c in range(2):
                v = genotypes[now, x, c]
                if v >= 0:
                    continue
                host_id = -2 - v
                if v != _NEW and imported[host_id] >= 0:
                    genotypes[now, x, c] = imported[host_id]
                    continue
                if n_free == 0:
                    n_free = _recycle(tau, sch, genotypes, uncle, slots, n_free)
                    if n_free == 0:
                        stop(status, CAPACITY, tau, blocks[b, 0])
                        return n_free
                n_free -= 1
                slot = free[n_free]
                genotypes[now, x, c] = slot
                in_use[slot] = 1
                if v != _NEW:
                    imported[host_id] = slot
                    origin[slot] = host_id
    return n_free


@njit(cache=True)
def _introduce(tau, seed, sch, genotypes, status):
    """Founder alleles of step τ: exactly k normal copies, uniform among the deme's copies."""
    offs, intro_step, intro_deme = sch.offs, sch.intro_step, sch.intro_deme
    intro_allele, intro_copies = sch.intro_allele, sch.intro_copies
    now = tau % genotypes.shape[0]
    for e in range(intro_step.shape[0]):
        if intro_step[e] != tau:
            continue
        d = intro_deme[e]
        normal = 0
        for x in range(offs[tau, d], offs[tau, d + 1]):
            normal += (genotypes[now, x, 0] == 0) + (genotypes[now, x, 1] == 0)
        need = intro_copies[e]
        if normal < need:
            stop(status, NO_NORMAL_COPIES, tau, d)
            return
        state = stream_start(seed, tau, d, e, PURPOSE_INTRO)
        for x in range(offs[tau, d], offs[tau, d + 1]):
            for c in range(2):
                if need == 0 or genotypes[now, x, c] != 0:
                    continue
                state, z = stream_next(state)
                if stream_unit(z) * normal < need:
                    genotypes[now, x, c] = intro_allele[e]
                    need -= 1
                normal -= 1


@njit(cache=True)
def _record(tau, sizes, offs, genotypes, n_named, hist, f_sums, counts, records, observed):
    """Allele counts (``records`` [D, fields]) and genotype/marriage counts (``observed``)."""
    now = tau % genotypes.shape[0]
    first_novel = 1 + n_named
    for d in range(sizes.shape[1]):
        n = sizes[tau, d]
        hist[:] = 0
        fh = oh = ch = car = 0
        for x in range(offs[tau, d], offs[tau, d + 1]):
            a1 = genotypes[now, x, 0]
            a2 = genotypes[now, x, 1]
            hist[a1] += 1
            hist[a2] += 1
            if a1 == 0 or a2 == 0:
                car += (a1 != 0) + (a2 != 0)
            elif a1 != a2:
                ch += 1
            elif a1 < first_novel:
                fh += 1
            else:
                oh += 1
        records[d, SIZE] = n
        records[d, NORMAL] = hist[0]
        for k in range(n_named):
            records[d, FIRST_FOUNDER + k] = hist[1 + k]
        other = sumsq = alleles = 0
        for slot in range(first_novel, hist.shape[0]):
            c = hist[slot]
            if c > 0:
                other += c
                sumsq += c * c
                alleles += 1
        records[d, OTHER + n_named] = other
        records[d, OTHER_SUMSQ + n_named] = sumsq
        records[d, OTHER_ALLELES + n_named] = alleles
        observed[d, INDIVIDUALS] = n
        observed[d, OBSERVED_FOUNDER_HOMOZYGOTES] = fh
        observed[d, OBSERVED_OTHER_HOMOZYGOTES] = oh
        observed[d, OBSERVED_COMPOUND_HETEROZYGOTES] = ch
        observed[d, OBSERVED_CARRIERS] = car
        observed[d, MEAN_PEDIGREE_INBREEDING] = f_sums[d] / n if n > 0 else np.nan
        observed[d, MARRIAGES] = counts[d, 0]
        observed[d, FIRST_COUSIN_MARRIAGES] = counts[d, 1]
        observed[d, SECOND_COUSIN_MARRIAGES] = counts[d, 2]
        observed[d, UNCLE_NIECE_MARRIAGES] = counts[d, 3]
        observed[d, FALLBACK_MARRIAGES] = counts[d, 4]
