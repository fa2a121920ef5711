"""Indexes of relatives for cousin and uncle–niece marriages, rebuilt every step.

Relatives are found through indexes (fields of
:data:`~popsim.engines.pedigree.kernel.Indexes`, each a (start, entries) pair)
built by counting sort: ``sons``: the men of generation τ − 1 by parent
couple; ``grandsons``: the same men by their grandparent couples (the level-2
ancestor couples of their parent couple: each man under one or two keys), for
first cousins; ``cousin_couples``: the couples of step τ − 1 by their
children's great-grandparent couples (level 3), for second cousins;
``uncles``: the men of generation τ − 2 by parent couple. Each is
built in two halves of its items, which can run on two threads: the halves
count their items per key (each into its own array of cursors: the index's
``start`` and the workspace's ``spare``), the counts become both halves' first
positions in each bucket, and each half writes its items there, so an index is
the same whichever thread ran which half (timings: docs/pedigree.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: The indexes of a step (see above), in the order they are built: the grandson
#: index reads the sons index.
_SONS, _GRANDSONS, _COUSIN_COUPLES, _UNCLES = range(4)


@njit(cache=True)
def _couple_keys(c, level, tau, spouses, ancestor_rows, uncle):
    """Level-``level`` (2 or 3) ancestor couples of the children of couple c of
    step τ − 1, each once, as a 4-tuple (unknown: −1).

    With ``uncle`` marriages, lines through an uncle husband are left out: his
    parent couple belongs to an older step than the others of its level.
    """
    wr = spouses.shape[0]
    b = (tau - 1) % 2
    father_ok = not uncle or spouses[(tau - 1) % wr, c, 0] >= 0
    if level == 2:
        k0 = np.int64(ancestor_rows[b, c, 0]) if father_ok else -1
        k1 = np.int64(ancestor_rows[b, c, 1])
        k0 = k0 if k0 >= 0 else -1
        k1 = k1 if k1 >= 0 and k1 != k0 else -1
        return k0, k1, np.int64(-1), np.int64(-1)
    k0, k1 = np.int64(ancestor_rows[b, c, 2]), np.int64(ancestor_rows[b, c, 3])
    k2, k3 = np.int64(ancestor_rows[b, c, 4]), np.int64(ancestor_rows[b, c, 5])
    if uncle:  # the level-2 couples these keys come through must have regular husbands
        p0, p1 = ancestor_rows[b, c, 0], ancestor_rows[b, c, 1]
        if not father_ok or p0 < 0:
            k0 = k1 = -1
        elif spouses[(tau - 2) % wr, p0, 0] < 0:
            k0 = -1
        if p1 < 0:
            k2 = k3 = -1
        elif spouses[(tau - 2) % wr, p1, 0] < 0:
            k2 = -1
    k0 = k0 if k0 >= 0 else -1
    k1 = k1 if k1 >= 0 and k1 != k0 else -1
    k2 = k2 if k2 >= 0 and k2 != k0 and k2 != k1 else -1
    k3 = k3 if k3 >= 0 and k3 != k0 and k3 != k1 and k3 != k2 else -1
    return k0, k1, k2, k3


@njit(cache=True)
def _keys_of(c, level, tau, spouses, ancestor_rows, uncle):
    """:func:`_couple_keys` with a constant level and uncle flag where possible,
    so that the compiled key code simplifies."""
    if uncle:
        return _couple_keys(c, level, tau, spouses, ancestor_rows, True)
    if level == 2:
        return _couple_keys(c, 2, tau, spouses, ancestor_rows, False)
    return _couple_keys(c, 3, tau, spouses, ancestor_rows, False)


@njit(cache=True)
def _men_part(gen, sizes, offs, parent_couples, lo, hi, fill, cursor, entries):
    """Men x of generation ``gen`` with lo ≤ x < hi, bucketed by parent couple:
    counted into ``cursor[key + 1]``, or (``fill``) written at ``cursor[key]``.

    The count-or-fill lines are written out here and in the other parts: a
    shared helper, even with ``inline="always"``, made the index builds slower
    (benchmarks/README.md)."""
    parent_couple = parent_couples[gen % parent_couples.shape[0]]
    for d in range(sizes.shape[1]):
        o = offs[gen, d]
        for x in range(o + 2 * ((max(lo, o) - o + 1) // 2), min(hi, o + sizes[gen, d]), 2):
            key = parent_couple[x]
            if key < 0:
                continue
            if fill:
                entries[cursor[key]] = x
                cursor[key] += 1
            else:
                cursor[key + 1] += 1


@njit(cache=True)
def _cousin_couples_part(tau, lo, hi, spouses, ancestor_rows, uncle, fill, cursor, entries):
    """Couples c of step τ − 1 with lo ≤ c < hi, bucketed by their children's
    great-grandparent couples (counted or filled as in :func:`_men_part`)."""
    for c in range(lo, hi):
        if uncle:  # as _keys_of, written out: measured faster in this loop
            keys = _couple_keys(c, 3, tau, spouses, ancestor_rows, True)
        else:
            keys = _couple_keys(c, 3, tau, spouses, ancestor_rows, False)
        for key in keys:
            if key < 0:
                continue
            if fill:
                entries[cursor[key]] = c
                cursor[key] += 1
            else:
                cursor[key + 1] += 1


@njit(cache=True)
def _grandsons_part(tau, lo, hi, spouses, ancestor_rows, uncle, sons_start, sons, fill, cursor,
                    entries):
    """Men of generation τ − 1 whose parent couple c has lo ≤ c < hi, bucketed by
    grandparent couple (c's level-2 keys), couple by couple through the ``sons``
    index (counted or filled as in :func:`_men_part`)."""
    for c in range(lo, hi):
        e0, e1 = sons_start[c], sons_start[c + 1]
        if e0 == e1:
            continue
        if uncle:  # as _keys_of, written out: measured faster in this loop
            keys = _couple_keys(c, 2, tau, spouses, ancestor_rows, True)
        else:
            keys = _couple_keys(c, 2, tau, spouses, ancestor_rows, False)
        for key in keys:
            if key < 0:
                continue
            if not fill:
                cursor[key + 1] += e1 - e0
                continue
            for e in range(e0, e1):
                entries[cursor[key]] = sons[e]
                cursor[key] += 1


@njit(cache=True)
def _index_keys(which, tau, coffs):
    """Number of keys (ancestor couples) of index ``which`` at step τ."""
    n_demes = coffs.shape[1] - 1
    if which == _SONS:
        return coffs[tau - 1, n_demes]
    if which == _COUSIN_COUPLES:
        return coffs[tau - 3, n_demes]
    return coffs[tau - 2, n_demes]  # grandsons by grandparent couple, uncles by parent couple


@njit(cache=True)
def _index_part(which, part, fill, tau, sch, ancestry, uncle, sons_start, sons, start, spare,
                entries):
    """Half ``part`` (0 or 1) of the items of index ``which`` (arrays ``start``,
    ``entries``) at step τ, counted or (``fill``) written with that half's
    cursors: ``start`` for the first, ``spare`` for the second (see
    :func:`_merge_counts`). The halves touch different cursors and entries, so
    they can run on two threads. ``sons_start``, ``sons``: the sons index (read
    by the grandsons index)."""
    offs, coffs, sizes = sch.offs, sch.coffs, sch.sizes
    spouses, ancestor_rows = ancestry.spouses, ancestry.ancestor_rows
    cursor = start if part == 0 else spare
    n_demes = sizes.shape[1]
    if which in (_SONS, _UNCLES):
        gen = tau - 1 if which == _SONS else tau - 2
        lo, hi = offs[gen, 0], offs[gen, n_demes]
        lo, hi = (lo, (lo + hi) // 2) if part == 0 else ((lo + hi) // 2, hi)
        _men_part(gen, sizes, offs, ancestry.parent_couples, lo, hi, fill, cursor, entries)
        return
    n_couples = coffs[tau - 1, n_demes]
    lo, hi = (0, n_couples // 2) if part == 0 else (n_couples // 2, n_couples)
    if which == _GRANDSONS:
        _grandsons_part(tau, lo, hi, spouses, ancestor_rows, uncle, sons_start, sons, fill, cursor,
                        entries)
    else:
        _cousin_couples_part(tau, lo, hi, spouses, ancestor_rows, uncle, fill, cursor, entries)


@njit(cache=True)
def _clear_counts(n_keys, start, spare):
    """Zero both halves' counts of the ``n_keys`` buckets before counting. A function
    of its own, not inlined: in :func:`_generation_step` (``parallel=True``) a slice
    assignment is a parallel loop, which the engine's chunk size of 1
    (:func:`popsim.engines.threads.balanced`) would split element by element
    (benchmarks/README.md)."""
    start[: n_keys + 1] = 0
    spare[: n_keys + 1] = 0


@njit(cache=True)
def _merge_counts(n_keys, start, spare):
    """Turn the halves' counts of each bucket (``start[key + 1]``, ``spare[key + 1]``)
    into their cursors: the first half fills bucket ``key`` from its start, the
    second half after it, so the entries come out in item order (a stable
    counting sort, whichever thread runs a half)."""
    run = 0
    for key in range(n_keys):
        c0, c1 = start[key + 1], spare[key + 1]
        start[key] = run
        spare[key] = run + c0
        run += c0 + c1


@njit(cache=True)
def _restore_starts(n_keys, start, spare):
    """After filling, the second half's cursor of a bucket is where the next one
    starts: make ``start`` the bucket starts again (``start[n_keys]`` the total)."""
    for key in range(n_keys, 0, -1):
        start[key] = spare[key - 1]
    start[0] = 0


@njit(cache=True)
def _index_arrays(which, indexes):
    """(start, entries) of index ``which``."""
    if which == _SONS:
        return indexes.sons
    if which == _GRANDSONS:
        return indexes.grandsons
    if which == _COUSIN_COUPLES:
        return indexes.cousin_couples
    return indexes.uncles


@njit(cache=True)
def _indexes_due(tau, indexes):
    """The indexes the marriages of step τ read, in the order they are built."""
    due = np.empty(4, np.int64)
    n = 0
    if tau >= 2 and indexes.sons[1].shape[0] > 0:
        due[n] = _SONS
        n += 1
        if tau >= 3 and indexes.grandsons[1].shape[0] > 0:
            due[n] = _GRANDSONS
            n += 1
        if tau >= 4 and indexes.cousin_couples[1].shape[0] > 0:
            due[n] = _COUSIN_COUPLES
            n += 1
    if tau >= 3 and indexes.uncles[1].shape[0] > 0:
        due[n] = _UNCLES
        n += 1
    return due[:n]


@njit(cache=True)
def _build_indexes(tau, sch, ws):
    """Build the indexes of step τ on the calling thread (:func:`_generation_step`
    runs the same halves on two threads)."""
    uncle = ws.marriages.uncle_married.shape[0] > 0
    indexes = ws.indexes
    for which in _indexes_due(tau, indexes):
        start, entries = _index_arrays(which, indexes)
        n_keys = _index_keys(which, tau, sch.coffs)
        _clear_counts(n_keys, start, indexes.spare)
        for fill in (False, True):
            for part in range(2):
                _index_part(which, part, fill, tau, sch, ws.ancestry, uncle, indexes.sons[0],
                            indexes.sons[1], start, indexes.spare, entries)
            if not fill:
                _merge_counts(n_keys, start, indexes.spare)
        _restore_starts(n_keys, start, indexes.spare)
