"""Marriages: who seeks a relative, the searches among unmarried relatives, random pairs."""

from __future__ import annotations

import numpy as np
from numba import njit

from popsim.engines.pedigree.couples import _random_mating
from popsim.engines.pedigree.prefetch import _prefetch
from popsim.engines.pedigree.relatives import _couple_keys, _keys_of
from popsim.engines.rng import PURPOSE_MARRY, stream_below, stream_next, stream_start, stream_unit

#: Women seeking a relative whose searches are prefetched together (speed only).
SEEKERS = 64
#: Deme size (individuals) from which the second-cousin searches are prefetched
#: too (speed only). Their prefetch pass walks every candidate couple and its
#: sons, as the searches then do again; below this size those reads mostly hit
#: the caches anyway, and the pass only adds work. The first-cousin pass (a few
#: cache lines a search) is always on (benchmarks/README.md).
SECOND_WARM_MIN = 500_000
_KIND_DRAWS, _PICK_DRAWS = 0, 1  # the two marriage streams of a deme (block argument)
_FIRST, _SECOND, _UNCLE = 0, 1, 2  # marriage kinds (columns of plan.marriage)


@njit(cache=True)
def _shares(a, b, n_b):
    """Whether key tuples a and b[:n_b] (−1 = none) have a key in common."""
    for i in range(4):
        for j in range(n_b):
            if a[i] >= 0 and a[i] == b[j]:
                return True
    return False


@njit(cache=True, inline="always")
def _reservoir(state, count, chosen, g):
    """One more candidate ``g`` of a uniform choice made in one pass (reservoir
    sampling): the count goes up by one and ``g`` replaces ``chosen`` with
    probability 1/count. Returns (state, count, chosen)."""
    count += 1
    state, z = stream_next(state)
    if stream_below(z, count) == 0:
        chosen = g
    return state, count, chosen


@njit(cache=True, inline="always")
def _grandparents(k, rows, couples, uncle):
    """:func:`_couple_keys` at level 2 of couple k of step τ − 1, from the
    step's views ``rows`` = ancestor_rows[(τ − 1) mod 2] and ``couples`` =
    spouses[(τ − 1) mod G]."""
    k0 = np.int64(rows[k, 0]) if not uncle or couples[k, 0] >= 0 else -1
    k1 = np.int64(rows[k, 1])
    k0 = k0 if k0 >= 0 else -1
    k1 = k1 if k1 >= 0 and k1 != k0 else -1
    return k0, k1


@njit(cache=True, inline="always")
def _pick_first(state, y, lo, hi, parent_couple, rows, couples, uncle, taken, sons_start, sons,
                start, entries):
    """A first cousin for woman y (generation τ − 1), uniform among the men
    not ``taken`` in [lo, hi) (her deme) whose parent couple is not hers and
    shares a grandparent couple with her, or −1.

    ``start`` / ``entries``: the grandson index (:func:`_grandsons_part`);
    ``parent_couple``, ``rows``, ``couples``: parent_couples of generation τ − 1, ancestor_rows and
    spouses of step τ − 1 (inlined: a call per woman would cost more than the
    search). Her brothers (her parents' sons, from the ``sons`` index) are
    left out; a man under both of her grandparent couples (a double first
    cousin) counts once. One pass, reservoir sampling.
    """
    ky = parent_couple[y]
    if ky < 0:
        return state, -1
    mine = _grandparents(ky, rows, couples, uncle)
    brothers0, brothers1 = sons_start[ky], sons_start[ky + 1]
    chosen = -1
    count = 0
    for i in range(2):
        key = mine[i]
        if key < 0:
            continue
        for e in range(start[key], start[key + 1]):
            g = entries[e]
            if g < lo or g >= hi or taken[g]:
                continue
            skip = False
            for e2 in range(brothers0, brothers1):
                skip |= sons[e2] == g
            if i == 1 and mine[0] >= 0:  # counted under her other grandparent couple
                for e2 in range(start[mine[0]], start[mine[0] + 1]):
                    skip |= entries[e2] == g
            if skip:
                continue
            state, count, chosen = _reservoir(state, count, chosen, g)
    return state, chosen


@njit(cache=True)
def _pick(state, y, kind, lo, hi, tau, parent_couples, spouses, ancestor_rows, uncle, taken,
          sons_start, sons, start, entries):
    """A second cousin or uncle (``kind``) for woman y (generation τ − 1),
    uniform among the eligible and not ``taken`` in [lo, hi) (her deme in his
    generation), or −1 (first cousins: :func:`_pick_first`).

    Second cousin: son of a couple under one of her great-grandparent couples
    and none of her grandparent couples; uncle: a son of one of her
    grandparent couples in generation τ − 2, not her father (``start`` /
    ``entries`` is then the uncle index). A couple under several of her keys
    counts once. One pass, reservoir sampling.
    """
    ky = parent_couples[(tau - 1) % parent_couples.shape[0], y]
    if ky < 0:
        return state, -1
    level = 3 if kind == _SECOND else 2
    mine = _keys_of(ky, level, tau, spouses, ancestor_rows, uncle)
    near = _keys_of(ky, 2, tau, spouses, ancestor_rows, uncle)
    father = spouses[(tau - 1) % spouses.shape[0], ky, 0]
    b = (tau - 1) % 2
    chosen = -1
    count = 0
    for i in range(4):
        key = mine[i]
        if key < 0:
            continue
        for e in range(start[key], start[key + 1]):
            if kind == _UNCLE:
                g = entries[e]
                if lo <= g < hi and not taken[g] and g != father:
                    state, count, chosen = _reservoir(state, count, chosen, g)
                continue
            c = entries[e]
            if c == ky:
                continue  # her parents: these are her brothers
            if uncle:
                skip = _shares(_couple_keys(c, 3, tau, spouses, ancestor_rows, True), mine, i)
                skip |= _shares(_couple_keys(c, 2, tau, spouses, ancestor_rows, True), near, 2)
            else:  # the same tests on the row itself: much faster than building key tuples
                skip = False
                for j in range(i):  # counted under an earlier key
                    for w in range(4):
                        skip |= ancestor_rows[b, c, 2 + w] == mine[j]
                for j in range(2):  # first cousins
                    key = near[j]
                    skip |= key >= 0 and (
                        ancestor_rows[b, c, 0] == key or ancestor_rows[b, c, 1] == key
                    )
            if skip:
                continue
            for e2 in range(sons_start[c], sons_start[c + 1]):
                g = sons[e2]
                if lo <= g < hi and not taken[g]:
                    state, count, chosen = _reservoir(state, count, chosen, g)
    return state, chosen


@njit(cache=True)
def _warm_first(n_seek, seeker, wanted, parent_couple, rows, couples, uncle, taken, sons_start,
                sons, start, entries):
    """Prefetch, level by level, what :func:`_pick_first` will read for the
    women ``seeker[:n_seek]`` that want a first cousin; changes nothing.

    A search is a chain of scattered reads, each needing the one before: her
    parent couple's ``ancestor_rows`` row and sons' start, her grandparent couples'
    index starts and her brothers, their entries, the candidates' ``taken``
    flags. Level by level over a batch, each level's reads hit the cache and
    its prefetches are in flight together, instead of one miss at a time.
    ``parent_couple``, ``rows``, ``couples``: parent_couples of generation τ − 1, ancestor_rows and
    spouses of step τ − 1.
    """
    for stage in range(4):
        for i in range(n_seek):
            ky = parent_couple[seeker[i]]
            if wanted[i] != _FIRST or ky < 0:
                continue
            if stage == 0:
                _prefetch(rows, ky)
                _prefetch(sons_start, ky)
                if uncle:
                    _prefetch(couples, ky)
                continue
            if stage == 1:
                _prefetch(sons, sons_start[ky])
            for w in range(2):
                key = rows[ky, w]
                if key < 0:
                    continue
                if stage == 1:
                    _prefetch(start, key)
                elif stage == 2:
                    _prefetch(entries, start[key])
                    _prefetch(entries, start[key + 1] - 1)
                else:
                    for e in range(start[key], start[key + 1]):
                        _prefetch(taken, entries[e])


@njit(cache=True)
def _warm(n_seek, seeker, wanted, kind, parent_couple, rows, couples, uncle, taken, sons_start,
          sons, start, entries):
    """Prefetch, level by level, what :func:`_pick` will read for the women
    ``seeker[:n_seek]`` that want ``kind`` (second cousin or uncle); changes
    nothing (as :func:`_warm_first`).

    A search is a chain of scattered reads, each needing the one before: her
    parent couple's ``ancestor_rows`` row, the index starts of her ancestor couples,
    their entries, each candidate couple's row and sons' start, its sons,
    their ``taken`` flags. Level by level over a batch, every level's reads
    hit the cache and its prefetches are in flight together, instead of one
    miss at a time. Prefetches a superset (every ancestor line of the row).
    Arguments are this step's views: ``parent_couple`` = parent_couples of generation
    τ − 1, ``rows`` / ``couples`` = ancestor_rows / spouses of step τ − 1.
    """
    first, width = (2, 4) if kind == _SECOND else (0, 2)
    for stage in range(4 if kind == _UNCLE else 6):
        for i in range(n_seek):
            if wanted[i] != kind:
                continue
            ky = parent_couple[seeker[i]]
            if ky < 0:
                continue
            if stage == 0:
                _prefetch(rows, ky)
                _prefetch(couples, ky)
                continue
            for w in range(width):
                key = rows[ky, first + w]
                if key < 0:
                    continue
                if stage == 1:
                    _prefetch(start, key)
                    continue
                for e in range(start[key], start[key + 1]):
                    if stage == 2:
                        _prefetch(entries, e)
                        continue
                    c = entries[e]
                    if kind == _UNCLE:
                        _prefetch(taken, c)
                        continue
                    if stage == 3:
                        _prefetch(rows, c)
                        _prefetch(sons_start, c)
                        if uncle:
                            _prefetch(couples, c)
                        continue
                    for e2 in range(sons_start[c], sons_start[c + 1]):
                        if stage == 4:
                            _prefetch(sons, e2)
                        else:
                            _prefetch(taken, sons[e2])


@njit(cache=True)
def _marry(tau, seed, sch, ancestry, indexes, marriages):
    """Form the couples of step τ (husband, wife) in ``ancestry.spouses[τ mod G]``.

    ``marriages.counts[d]`` = (marriages, first cousin, second cousin,
    uncle–niece, fallback) of deme d; ``marriages.married`` and
    ``marriages.uncle_married`` flag who is taken. The indexes (start, entries)
    are built beforehand (:func:`_build_indexes`), size 0 when unused.
    (:data:`~popsim.engines.pedigree.kernel.Ancestry`,
    :data:`~popsim.engines.pedigree.kernel.Indexes`,
    :data:`~popsim.engines.pedigree.kernel.Marriages`.)
    """
    sizes, offs, coffs, marriage = sch.sizes, sch.offs, sch.coffs, sch.marriage
    parent_couples, spouses = ancestry.parent_couples, ancestry.spouses
    ancestor_rows = ancestry.ancestor_rows
    married, uncle_married, counts = marriages.married, marriages.uncle_married, marriages.counts
    s = tau % spouses.shape[0]
    n_demes = sizes.shape[1]
    uncle = indexes.uncles[1].shape[0] > 0
    sons_start, sons = indexes.sons
    first_start, first_entries = indexes.grandsons
    second_start, second_entries = indexes.cousin_couples
    uncle_start, uncle_entries = indexes.uncles
    counts[:, :] = 0
    seeker = np.empty(SEEKERS, np.int64)
    wanted = np.empty(SEEKERS, np.int64)
    n_kind = np.zeros(3, np.int64)
    parent_couple = parent_couples[(tau - 1) % parent_couples.shape[0]]
    rows, couples = ancestor_rows[(tau - 1) % 2], spouses[(tau - 1) % spouses.shape[0]]
    if tau >= 3 and uncle:
        uncle_married[:] = 0
    for d in range(n_demes):
        n = sizes[tau - 1, d]
        o = offs[tau - 1, d]
        n_wives = n // 2
        k = coffs[tau, d]
        counts[d, 0] = n_wives
        if _random_mating(marriage, d):
            continue  # random couples: the couples step writes them (_random_couples)
        married[o : o + n] = 0
        kind_state = stream_start(seed, tau, d, _KIND_DRAWS, PURPOSE_MARRY)
        state = stream_start(seed, tau, d, _PICK_DRAWS, PURPOSE_MARRY)
        q = 0
        while q < n_wives:
            n_seek = 0  # the next SEEKERS women who seek a relative
            n_kind[:] = 0
            while q < n_wives and n_seek < SEEKERS:
                kind_state, z = stream_next(kind_state)
                r = stream_unit(z)
                kind = -1
                threshold = 0.0
                for c in range(3):
                    threshold += marriage[d, c]
                    if kind < 0 and r < threshold:
                        kind = c
                if kind >= 0:
                    if tau >= (4 if kind == _SECOND else 3):
                        seeker[n_seek] = o + 2 * q + 1
                        wanted[n_seek] = kind
                        n_seek += 1
                        n_kind[kind] += 1
                    else:  # nobody has relatives of that kind yet
                        counts[d, 4] += 1
                q += 1
            for kind in range(3):
                if n_kind[kind] == 0 or (kind == _SECOND and n < SECOND_WARM_MIN):
                    continue
                if kind == _UNCLE:
                    _warm(n_seek, seeker, wanted, kind, parent_couple, rows, couples, uncle,
                          uncle_married, sons_start, sons, uncle_start, uncle_entries)
                elif kind == _FIRST:
                    _warm_first(n_seek, seeker, wanted, parent_couple, rows, couples, uncle,
                                married, sons_start, sons, first_start, first_entries)
                else:
                    _warm(n_seek, seeker, wanted, kind, parent_couple, rows, couples, uncle,
                          married, sons_start, sons, second_start, second_entries)
            for i in range(n_seek):
                y = seeker[i]
                kind = wanted[i]
                if kind == _UNCLE:
                    lo = offs[tau - 2, d]
                    state, g = _pick(state, y, kind, lo, lo + sizes[tau - 2, d], tau,
                                     parent_couples, spouses, ancestor_rows, uncle, uncle_married,
                                     sons_start, sons, uncle_start, uncle_entries)
                elif kind == _FIRST:
                    state, g = _pick_first(state, y, o, o + n, parent_couple, rows, couples,
                                           uncle, married, sons_start, sons, first_start,
                                           first_entries)
                else:
                    state, g = _pick(state, y, kind, o, o + n, tau, parent_couples, spouses,
                                     ancestor_rows, uncle, married, sons_start, sons,
                                     second_start, second_entries)
                if g < 0:
                    counts[d, 4] += 1
                    continue
                married[y] = 1
                if kind == _UNCLE:
                    uncle_married[g] = 1
                    spouses[s, k, 0] = -1 - g
                else:
                    married[g] = 1
                    spouses[s, k, 0] = g
                spouses[s, k, 1] = y
                k += 1
                counts[d, 1 + kind] += 1
        man = o
        for q in range(n_wives):
            y = o + 2 * q + 1
            if married[y]:
                continue
            while married[man]:
                man += 2
            spouses[s, k, 0] = man
            spouses[s, k, 1] = y
            k += 1
            man += 2
