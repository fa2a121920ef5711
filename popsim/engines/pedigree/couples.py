"""The couples step: each couple's ancestry row, inbreeding F and four alleles.

Couples are processed in units of :data:`COUPLE_BLOCK`, on one thread
(:func:`_couples_serial`) or one unit per parallel iteration; any order gives
the same rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from popsim.engines.pedigree.kinship import _kinship_generic, _kinship_tree, _tree, _virtual
from popsim.engines.pedigree.prefetch import PREFETCH, _prefetch_rows

#: Couples per inbreeding work unit (any value gives the same results).
COUPLE_BLOCK = 2048


@njit(cache=True)
def _couples_block(c0, c1, tau, depth, uncle, need_f, ancestry, couple_f, couple_f_shorter):
    """Rows of ``ancestry.ancestor_rows`` and inbreeding F (kinship of the spouses,
    into ``couple_f``; over a window one generation shorter into
    ``couple_f_shorter``) of couples [c0, c1) of step τ (``ancestry``: the window,
    :data:`~popsim.engines.pedigree.kernel.Ancestry`).

    A couple's row is its spouses' parent couples, then level by level the
    first half of the spouses' parent couples' rows (the husband's side) and
    the second half (the wife's). Unusable lines (through an uncle husband)
    are −1; a founder's line repeats its virtual key. F is computed only when
    ``need_f`` (a recorded step: F enters nothing but the records).
    """
    parent_couples, spouses = ancestry.parent_couples, ancestry.spouses
    ancestor_rows, since_uncle = ancestry.ancestor_rows, ancestry.since_uncle
    wp = parent_couples.shape[0]
    now, before = tau % 2, (tau - 1) % 2
    couples = spouses[tau % spouses.shape[0]]  # views of this step's rows, made once per block
    parent_couple = parent_couples[(tau - 1) % wp]
    rows, old_rows = ancestor_rows[now], ancestor_rows[before]
    width = 1 << depth
    last = (1 << (depth - 1)) - 2  # offset of level L in an ancestor_rows row
    keys = np.empty((2, width), np.int64)
    ids = np.empty((2, width), np.int64)
    root = np.empty(2, np.int64)
    stack = np.empty((4 * depth + 8, 5), np.int64)
    weight = np.empty(4 * depth + 8)
    gstack = np.empty((4 * depth + 16, 5), np.int64)
    gweight = np.empty(4 * depth + 16)
    for k in range(c0, c1):
        if k + PREFETCH < c1:
            _prefetch_rows(k + PREFETCH, couples, parent_couple, old_rows)
        f = couples[k, 0]
        m = couples[k, 1]
        pm = parent_couple[m]
        if f >= 0:
            fi, fg, pf = f, tau - 1, parent_couple[f]
        else:
            fi, fg = -1 - f, tau - 2
            pf = parent_couples[(tau - 2) % wp, fi]
        usable_f = f >= 0 and pf >= 0
        if depth == 3 and usable_f and pm >= 0 and not uncle:
            # The default window (G = 4), straight-line: faster than the loops
            # below, all loads issued before any store (benchmarks/README.md).
            f0, f1, m0, m1 = old_rows[pf, 0], old_rows[pf, 1], old_rows[pm, 0], old_rows[pm, 1]
            if not need_f:
                rows[k, 0], rows[k, 1], rows[k, 2] = pf, pm, f0
                rows[k, 3], rows[k, 4], rows[k, 5] = f1, m0, m1
                continue
            f2, f3, f4, f5 = old_rows[pf, 2], old_rows[pf, 3], old_rows[pf, 4], old_rows[pf, 5]
            m2, m3, m4, m5 = old_rows[pm, 2], old_rows[pm, 3], old_rows[pm, 4], old_rows[pm, 5]
            rows[k, 0], rows[k, 1], rows[k, 2] = pf, pm, f0
            rows[k, 3], rows[k, 4], rows[k, 5] = f1, m0, m1
            related = pf == pm
            for x in (f2, f3, f4, f5):
                related |= (x == m2) | (x == m3) | (x == m4) | (x == m5)
            if not related:
                couple_f[k] = couple_f_shorter[k] = 0.0
                continue
        else:
            rows[k, 0] = _virtual(pf, fi)
            rows[k, 1] = _virtual(pm, m)
            for d in range(2, depth):
                half = 1 << (d - 1)
                for i in range(half):
                    rows[k, (1 << d) - 2 + i] = (
                        old_rows[pf, half - 2 + i] if usable_f else (rows[k, 0] if pf < 0 else -1)
                    )
                    rows[k, (1 << d) - 2 + half + i] = (
                        old_rows[pm, half - 2 + i] if pm >= 0 else rows[k, 1]
                    )
            if uncle:
                if f < 0:
                    since_uncle[now, k] = 0
                    if need_f:
                        couple_f[k], couple_f_shorter[k] = _kinship_generic(
                            fg, fi, tau - 1, m, tau - depth - 1, parent_couples, spouses,
                            gstack, gweight)
                    continue
                near = min(since_uncle[before, pf] if pf >= 0 else 255,
                           since_uncle[before, pm] if pm >= 0 else 255)
                since_uncle[now, k] = min(near + 1, 255)
                if need_f and near < depth:
                    couple_f[k], couple_f_shorter[k] = _kinship_generic(
                        fg, fi, tau - 1, m, tau - depth - 1, parent_couples, spouses,
                        gstack, gweight)
                    continue
            if not need_f:
                continue
            if pf >= 0 and pm >= 0:  # quick answer for unrelated spouses
                related = pf == pm
                for i in range(last, 2 * last + 2):
                    for j in range(last, 2 * last + 2):
                        related |= old_rows[pf, i] == old_rows[pm, j]
                if not related:
                    couple_f[k] = couple_f_shorter[k] = 0.0
                    continue
        root[0], root[1] = f, m
        _tree(f, pf, tau, depth, ancestor_rows, spouses, keys, ids, 0)
        _tree(m, pm, tau, depth, ancestor_rows, spouses, keys, ids, 1)
        couple_f[k], couple_f_shorter[k] = _kinship_tree(root, depth, keys, ids, stack, weight)


@njit(cache=True)
def _couple_alleles(c0, c1, tau, spouses, genotypes, couple_alleles):
    """``couple_alleles[k]`` = (husband's two alleles, wife's two alleles) of couples [c0, c1)
    of step τ, so that a child reads one record of its parent couple."""
    couples = spouses[tau % spouses.shape[0]]
    n_genotypes = genotypes.shape[0]
    parents, elders = genotypes[(tau - 1) % n_genotypes], genotypes[(tau - 2) % n_genotypes]
    for k in range(c0, c1):
        f = couples[k, 0]
        m = couples[k, 1]
        husband = parents[f] if f >= 0 else elders[-1 - f]
        couple_alleles[k, 0], couple_alleles[k, 1] = husband[0], husband[1]
        couple_alleles[k, 2], couple_alleles[k, 3] = parents[m, 0], parents[m, 1]


@njit(cache=True, inline="always")
def _random_mating(marriage, d):
    """Whether deme d has no consanguineous marriages (its couples are neighbours)."""
    return marriage[d, 0] + marriage[d, 1] + marriage[d, 2] <= 0.0


@njit(cache=True)
def _random_couples(c0, c1, tau, sch, spouses):
    """Couples [c0, c1) of step τ that belong to demes without consanguineous
    marriages: couple q of deme d is its individuals 2q and 2q + 1 of generation
    τ − 1 (random mating: the order of a generation's individuals is random).
    Written here, block by block on every thread, rather than in :func:`_marry`."""
    s = tau % spouses.shape[0]
    offs, coffs, marriage = sch.offs, sch.coffs, sch.marriage
    for d in range(marriage.shape[0]):
        lo, hi = max(c0, coffs[tau, d]), min(c1, coffs[tau, d + 1])
        if lo >= hi or not _random_mating(marriage, d):
            continue
        first = offs[tau - 1, d] - 2 * coffs[tau, d]  # individual of couple k: first + 2k
        for k in range(lo, hi):
            spouses[s, k, 0] = first + 2 * k
            spouses[s, k, 1] = first + 2 * k + 1


@njit(cache=True)
def _couples_unit(b, n_couples, tau, depth, uncle, need_f, sch, ancestry, genotypes, couples):
    """Couples block b (:data:`COUPLE_BLOCK` couples) of step τ: the random couples'
    pairs, then every couple's ancestry row, F and four alleles (``couples``:
    :data:`~popsim.engines.pedigree.kernel.Couples`)."""
    c0 = b * COUPLE_BLOCK
    c1 = min(n_couples, c0 + COUPLE_BLOCK)
    _random_couples(c0, c1, tau, sch, ancestry.spouses)
    _couples_block(c0, c1, tau, depth, uncle, need_f, ancestry, couples.f, couples.f_shorter)
    _couple_alleles(c0, c1, tau, ancestry.spouses, genotypes, couples.alleles)


@njit(cache=True)
def _couples_serial(n_couples, tau, depth, uncle, need_f, sch, ancestry, genotypes, couples):
    """Every couples block of step τ on the calling thread (:func:`_couples_unit`)."""
    for b in range((n_couples + COUPLE_BLOCK - 1) // COUPLE_BLOCK):
        _couples_unit(b, n_couples, tau, depth, uncle, need_f, sch, ancestry, genotypes, couples)
