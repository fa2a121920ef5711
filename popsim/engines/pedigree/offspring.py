"""Offspring: source deme, random couple, Mendel, mutation and viability selection.

Children are made in blocks of :data:`BLOCK`, each from its own random stream,
so any thread may make any block.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from popsim.engines.pedigree.alleles import _NEW, _host_allele, _is_host
from popsim.engines.pedigree.prefetch import PREFETCH, _prefetch
from popsim.engines.rng import (
    GOLDEN,
    PURPOSE_OFFSPRING,
    mix64,
    stream_below,
    stream_next,
    stream_start,
    stream_unit,
)

#: Offspring per random-number block (fixed: results must not depend on threads).
BLOCK = 4096
#: Rejected zygotes in a row after which a deme counts as unable to reproduce.
MAX_TRIES = 1_000_000


@njit(cache=True)
def _offspring_block(b, tau, seed, need_f, w_max, sch, offspring, genotypes, parent_couples,
                     couples):
    """Offspring of block b (deme, first, end, index within deme) of step τ.

    Writes ``genotypes`` (``_NEW`` for a new mutation, −2 − h for host's
    mutation-born allele h) and ``parent_couples`` (−1 for a child of host
    parents, :func:`_is_host`); ``offspring.sums[b]`` = (Σ F of the couples
    if ``need_f``, else 0, a host child counting the host's F; alleles still
    to be given a slot); ``offspring.failed[b]`` = 1 if MAX_TRIES zygotes in a row were
    rejected. ``w_max``: the largest fitness of ``sch.wtab``. Parents' alleles
    come from ``couples.alleles`` (:func:`_couple_alleles`): one random read per
    zygote. (:data:`~popsim.engines.pedigree.kernel.Offspring`,
    :data:`~popsim.engines.pedigree.kernel.Couples`.)
    """
    blocks, sums, fail = offspring.blocks, offspring.sums, offspring.failed
    source, cumulative, n_sources = offspring.source, offspring.cumulative, offspring.n_sources
    host_n, host_f = offspring.host_n, offspring.host_f
    offs, coffs, u, wtab = sch.offs, sch.coffs, sch.u, sch.wtab
    couple_alleles, couple_f = couples.alleles, couples.f
    i, first, end, index = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
    born = tau % parent_couples.shape[0]
    now = tau % genotypes.shape[0]
    state = stream_start(seed, tau, i, index, PURPOSE_OFFSPRING)
    o = offs[tau, i]
    f_sum = 0.0
    n_new = 0
    # The couple a child PREFETCH children on will read, if every child until then
    # takes its usual draws (the couple; with mutation on, one per normal allele):
    # the stream is a counter, so that draw is known now. A guess, hence only a
    # prefetch (it changes no value); it hides most of the random read of the
    # couple's alleles.
    single = n_sources[i] == 1 and not _is_host(host_n, tau, source[i, 0])
    ahead = np.uint64(PREFETCH * (3 if u > 0.0 else 1)) * GOLDEN
    lo = span = 0
    if single:
        lo = coffs[tau, source[i, 0]]
        span = coffs[tau, source[i, 0] + 1] - lo
    for n in range(first, end):
        if single:
            _prefetch(couple_alleles, lo + stream_below(mix64(state + ahead), span))
        tries = 0
        while True:
            tries += 1
            if tries > MAX_TRIES:
                fail[b] = 1
                return
            j = source[i, 0]
            if n_sources[i] > 1:
                state, z = stream_next(state)
                r = stream_unit(z)
                c = 0
                while c < n_sources[i] - 1 and r >= cumulative[i, c]:
                    c += 1
                j = source[i, c]
            if _is_host(host_n, tau, j):
                k = -1  # parents not simulated: a host zygote with the host's F
                state, z = stream_next(state)
                a1 = _host_allele(offspring, tau, j, stream_unit(z))
                state, z = stream_next(state)
                if stream_unit(z) < host_f[j]:
                    a2 = a1
                else:
                    state, z = stream_next(state)
                    a2 = _host_allele(offspring, tau, j, stream_unit(z))
            else:
                k0 = coffs[tau, j]
                state, z = stream_next(state)
                k = k0 + stream_below(z, coffs[tau, j + 1] - k0)
                bits = int(z & np.uint64(3))
                a1 = couple_alleles[k, bits & 1]
                a2 = couple_alleles[k, 2 + (bits >> 1)]
            if u > 0.0:
                if a1 == 0:
                    state, z = stream_next(state)
                    if stream_unit(z) < u:
                        a1 = _NEW
                if a2 == 0:
                    state, z = stream_next(state)
                    if stream_unit(z) < u:
                        a2 = _NEW
            w = wtab[(a1 != 0) + (a2 != 0)]
            if w < w_max:
                state, z = stream_next(state)
                if stream_unit(z) * w_max >= w:
                    continue
            break
        x = o + n
        genotypes[now, x, 0] = a1
        genotypes[now, x, 1] = a2
        parent_couples[born, x] = k
        if need_f:
            f_sum += couple_f[k] if k >= 0 else host_f[j]
        n_new += (a1 < 0) + (a2 < 0)
    sums[b, 0] = f_sum
    sums[b, 1] = n_new


@njit(cache=True)
def _offspring_serial(n_blocks, tau, seed, need_f, w_max, sch, offspring, genotypes,
                      parent_couples, couples):
    """Every offspring block of step τ on the calling thread (:func:`_offspring_block`)."""
    for b in range(n_blocks):
        _offspring_block(b, tau, seed, need_f, w_max, sch, offspring, genotypes, parent_couples,
                         couples)


@njit(cache=True)
def _sources(tau, sizes, coffs, m, host_n, source, cumulative, n_sources):
    """Per destination deme i: the ``n_sources[i]`` demes ``source[i, :]`` that
    have couples or are host demes with gene copies (:func:`_is_host`), with
    probabilities M[i, j] renormalised over them and accumulated in
    ``cumulative[i, :]``."""
    n_demes = sizes.shape[1]
    for i in range(n_demes):
        total = 0.0
        for j in range(n_demes):
            if m[i, j] > 0.0 and (coffs[tau, j + 1] > coffs[tau, j] or _is_host(host_n, tau, j)):
                total += m[i, j]
        c = 0
        acc = 0.0
        for j in range(n_demes):
            if m[i, j] > 0.0 and (coffs[tau, j + 1] > coffs[tau, j] or _is_host(host_n, tau, j)):
                acc += m[i, j]
                source[i, c] = j
                cumulative[i, c] = acc / total
                c += 1
        n_sources[i] = c


@njit(cache=True)
def _blocks(tau, sizes, blocks):
    """Split every deme's offspring of step τ into blocks of BLOCK; return their number."""
    n = 0
    for i in range(sizes.shape[1]):
        for index in range((sizes[tau, i] + BLOCK - 1) // BLOCK):
            blocks[n, 0] = i
            blocks[n, 1] = index * BLOCK
            blocks[n, 2] = min(sizes[tau, i], (index + 1) * BLOCK)
            blocks[n, 3] = index
            n += 1
    return n
