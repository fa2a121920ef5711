"""Frequency engine: the Wright–Fisher allele-count model as a Numba kernel.

State: for each replicate, the number of gene copies of every allele in every
deme. One generation (step τ − 1 → τ), per deme i alive at τ, in this order:

1. **migration** (backward): x_i = Σ_j M[i, j] · c_j / 2N_j(τ−1), the gamete
   pool of deme i (a deme founded at τ has row M[i] = e_source);
2. **mutation**: a normal copy becomes pathogenic with probability u; the
   mass m = u·x_0 moves from x_0 to a class of brand-new alleles
   (steps 1 and 2: :func:`_gamete_pools`);
3. **selection** (:func:`_select`, :func:`_selection_scale`) on zygotes
   formed with inbreeding F. Because every pathogenic allele has the same
   marginal fitness, selection only rescales two classes: with q = 1 − x_0,
   P(0/0) = x_0²(1−F) + x_0·F, P(0/p) = 2·x_0·q·(1−F), P(p/p) = q²(1−F) + q·F,
   w̄ = P(0/0) + P(0/p)·(1 − h·s + a) + P(p/p)·(1 − s);
   x_0 ← (P(0/0) + ½·P(0/p)·(1 − h·s + a))/w̄ and every pathogenic
   frequency, the new-mutation class included, is multiplied by
   (P(p/p)·(1 − s) + ½·P(0/p)·(1 − h·s + a))/(q·w̄);
4. **drift** (:func:`_take_named_draws`, :func:`_drift_mutation_born`): the
   2N_i(τ) copies of generation τ are a multinomial draw from those
   frequencies, as sequential exact binomials (valid for any N): each named
   founder allele, then the total of all mutation-born copies, which is split
   among the mutation-born alleles (aggregation property of the multinomial;
   an allele left nothing to share costs no draw); the normal allele takes
   the rest. Each copy drawn from the new-mutation class is a new, distinct
   allele.

Then founder alleles scheduled for τ replace normal copies. Alleles born by
mutation live in recycled slots (:func:`_recycle_lost`); a replicate that
needs more than the capacity stops with a status code that the caller turns
into an error.

Replicate r draws from its own xoshiro256+ generator seeded with
``seeds[r]`` (:mod:`popsim.engines.rng`; the exact binomial sampler is
:mod:`popsim.engines.sampling`'s), so results do not depend on the thread
count. Records and status are written by the columns of
:mod:`popsim.engines.layout`.

A thread steps up to :data:`MAX_LANES` replicates side by side, as lanes: the
same deme of every lane, then the same binomial draw of every lane at once
(:func:`~popsim.engines.sampling.binomial_lanes`). One replicate's
generation is a chain of dependent operations (each draw needs the last);
side by side, the processor works on several chains at once. Each lane draws
exactly the numbers it would draw alone, so the lanes change no result.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np
from numba import njit, prange

from popsim.engines.layout import (
    CAPACITY,
    EXTINCT,
    FIRST_FOUNDER,
    NO_NORMAL_COPIES,
    NORMAL,
    OK,
    OTHER,
    OTHER_ALLELES,
    OTHER_SUMSQ,
    SIZE,
    STATUS_CODE,
    STATUS_COLUMNS,
    STATUS_DEME,
    EngineOutput,
    record_width,
    stop,
)
from popsim.engines.rng import seeded
from popsim.engines.sampling import (
    LANE_K,
    LANE_N,
    LANE_P,
    binomial_inline,
    binomial_lanes,
    lane_arrays,
    lane_state,
    set_lane_state,
)
from popsim.engines.snapshot import (
    BurnInState,
    burn_in_demes,
    has_burn_in,
    snapshot_step,
)
from popsim.engines.threads import balanced
from popsim.model.plan import Plan

#: Most replicates a thread steps side by side in one workspace (lanes of a
#: group, see :func:`run_replicates`): more lanes share the sampler's per-call
#: cost, beyond 64 nothing more (benchmarks/README.md).
MAX_LANES = 64
#: Largest workspace of a group, bytes: a plan with many allele slots gets
#: fewer lanes.
GROUP_BYTES = 16 * 2**20

#: The plan as the kernels take it: one argument instead of seventeen.
Schedule = namedtuple(
    "Schedule",
    "sizes migration_index migration inbreeding u s h a single_source intro_at intro_step "
    "intro_deme intro_allele intro_copies record_steps n_named capacity begin end snap_from",
)

#: A burn-in state as the kernels take it (:class:`~popsim.engines.snapshot.BurnInState`,
#: its alleles dense): ``demes`` int64 [Db], the plan's burn-in demes; ``normal`` [R, Db];
#: ``n_alleles`` [R]; ``alleles`` [R, A, Db]; ``generators`` uint64 [R, 4]. The kernels
#: read it when ``Schedule.begin`` > 0 and write it when ``Schedule.end`` is before the
#: plan's last step; otherwise its arrays are empty.
Snapshot = namedtuple("Snapshot", "demes normal n_alleles alleles generators")

#: A group's workspace (:func:`run_replicates` makes one per group of lanes,
#: :func:`_run_group` resets it): ``counts`` [lanes, 2, D, slots], the copies of
#: each allele at the last step and the one being drawn (by the parity of the
#: step); ``pool`` [lanes, slots], the gamete pool of the deme being drawn;
#: ``active`` and ``free`` [lanes, capacity], the live mutation-born slots and
#: the stack of free ones; ``lane_ints`` [rows, lanes] and ``lane_floats``
#: [rows, lanes], per-lane scalars (rows below); ``draw_ints``, ``draw_floats``,
#: ``states``: the lanes' binomial draws and generators
#: (:func:`~popsim.engines.sampling.lane_arrays`). Each lane's data is
#: contiguous: the loops over a lane's mutation-born alleles dominate at large
#: N, and with the lanes innermost they would touch a cache line per allele.
Workspace = namedtuple(
    "Workspace",
    "counts pool active free lane_ints lane_floats draw_ints draw_floats states",
)

#: Rows of a group's per-lane integers: mutation-born alleles alive, free
#: slots, those alive before the step's mutations, copies of the deme not yet
#: drawn. A lane runs while its status is OK.
_N_ACTIVE, _N_FREE, _N_BORN, _REMAINING = range(4)
_LANE_INT_ROWS = _REMAINING + 1
#: Rows of its per-lane floats: the selection factor of pathogenic
#: frequencies, the new-mutation mass, the probability mass not yet drawn, the
#: mutation-born class's mass before selection, the mass of the allele being
#: drawn, and the normal and pathogenic frequencies after mutation.
_SCALE, _NEW, _MASS, _NOVEL, _PK, _X0, _Q = range(7)
_LANE_FLOAT_ROWS = _Q + 1

@njit(cache=True)
def _introduce(counts, par, lane, step, sch, status):
    """Founder alleles scheduled for ``step`` replace normal copies in ``counts[lane, par, :, :]``;
    a deme with too few normal copies stops the lane (its row of ``status``)."""
    for k in range(sch.intro_step.shape[0]):
        if sch.intro_step[k] != step:
            continue
        d = sch.intro_deme[k]
        copies = sch.intro_copies[k]
        if counts[lane, par, d, 0] < copies:
            stop(status[lane], NO_NORMAL_COPIES, step, d)
            return
        counts[lane, par, d, 0] -= copies
        counts[lane, par, d, sch.intro_allele[k]] += copies


@njit(cache=True)
def _record(par, step, rec, every_lane, sch, counts, active, lanes, records, status):
    """Write record ``rec`` [D, fields] of every running lane (``every_lane``:
    of every lane) from the copies of parity ``par``."""
    first_novel = 1 + sch.n_named
    for lane in range(records.shape[0]):
        if not (every_lane or status[lane, STATUS_CODE] == OK):
            continue
        for d in range(counts.shape[2]):
            records[lane, rec, d, SIZE] = sch.sizes[step, d]
            records[lane, rec, d, NORMAL] = counts[lane, par, d, 0]
            for k in range(1, first_novel):
                records[lane, rec, d, FIRST_FOUNDER - 1 + k] = counts[lane, par, d, k]
            total = 0
            sumsq = 0
            alleles = 0
            for a in range(lanes[_N_ACTIVE, lane]):
                c = counts[lane, par, d, active[lane, a]]
                if c > 0:
                    total += c
                    sumsq += c * c
                    alleles += 1
            records[lane, rec, d, OTHER + sch.n_named] = total
            records[lane, rec, d, OTHER_SUMSQ + sch.n_named] = sumsq
            records[lane, rec, d, OTHER_ALLELES + sch.n_named] = alleles


@njit(cache=True)
def _start_lane(lane, seed, sch, ws, status):
    """Generation 0 of ``lane``: its generator, every mutation-born slot free, every
    copy normal, then the founder alleles introduced at step 0."""
    n_slots = 1 + sch.n_named + sch.capacity
    set_lane_state(ws.states, lane, seeded(seed))
    for k in range(sch.capacity):
        ws.free[lane, k] = n_slots - 1 - k
    ws.lane_ints[_N_ACTIVE, lane] = 0
    ws.lane_ints[_N_FREE, lane] = sch.capacity
    for d in range(sch.sizes.shape[1]):
        ws.counts[lane, 0, d, 0] = 2 * sch.sizes[0, d]
    _introduce(ws.counts, 0, lane, 0, sch, status)


@njit(cache=True)
def _load_lane(lane, sch, ws, snap):
    """Step ``sch.begin`` of ``lane`` from the burn-in state ``snap``: its generator,
    its copies (mutation-born allele a in slot 1 + K + a, in drawing order) and the
    other slots free. The lane's status is the caller's to set."""
    first_novel = 1 + sch.n_named
    n_slots = first_novel + sch.capacity
    par = sch.begin & 1
    g = snap.generators
    set_lane_state(ws.states, lane, (g[lane, 0], g[lane, 1], g[lane, 2], g[lane, 3]))
    n = snap.n_alleles[lane]
    for b in range(snap.demes.shape[0]):
        d = snap.demes[b]
        ws.counts[lane, par, d, 0] = snap.normal[lane, b]
        for a in range(n):
            ws.counts[lane, par, d, first_novel + a] = snap.alleles[lane, a, b]
    for a in range(n):
        ws.active[lane, a] = first_novel + a
    for k in range(sch.capacity - n):
        ws.free[lane, k] = n_slots - 1 - k
    ws.lane_ints[_N_ACTIVE, lane] = n
    ws.lane_ints[_N_FREE, lane] = sch.capacity - n


@njit(cache=True)
def _save_lane(lane, sch, ws, snap, status):
    """Write ``lane``'s state at step ``sch.end`` into ``snap``; zeros for a lane that
    stopped (its state means nothing)."""
    if status[lane, STATUS_CODE] != OK:
        return  # snap's arrays start zeroed
    par = sch.end & 1
    n = ws.lane_ints[_N_ACTIVE, lane]
    s0, s1, s2, s3 = lane_state(ws.states, lane)
    snap.generators[lane, 0], snap.generators[lane, 1] = s0, s1
    snap.generators[lane, 2], snap.generators[lane, 3] = s2, s3
    snap.n_alleles[lane] = n
    for b in range(snap.demes.shape[0]):
        d = snap.demes[b]
        snap.normal[lane, b] = ws.counts[lane, par, d, 0]
        for a in range(n):
            snap.alleles[lane, a, b] = ws.counts[lane, par, d, ws.active[lane, a]]


# The steps below are compiled into _run_group (inline="always"), each a pass over
# the lanes that takes single arrays, not the named tuples: Numba counts references
# to each array an inlined call passes (each array of a named tuple too), LLVM
# drops those atomic counts only in some shapes of code, and a pass pays them once
# for all lanes (benchmarks/README.md). The per-lane helpers they call take at
# most scalars or have no loop, so that their counts are dropped.


@njit(cache=True, inline="always")
def _gamete_pools(n_lanes, last, i, source, first_novel, u, parent_sizes, migration, status,
                  counts, pool, active, lane_ints, lane_floats):
    """Steps 1 and 2 for deme ``i`` in every running lane: the gamete pool
    ``pool[lane]`` = Σ_j M[i, j] · c_j / 2N_j over the parents' demes
    (``migration`` = M of the step, ``parent_sizes`` = N(τ − 1), ``last`` = the
    parity of the parents' copies), then mutation. Sets the lane's x_0 after
    mutation, the new-mutation mass u·x_0, the pathogenic total q and the
    mutation-born class's mass (new and older alleles) in ``lane_floats``.

    Where all parents come from one deme (``source`` ≥ 0: no migrants) the pool
    is a copy of its frequencies, summed as it is copied (one loop instead of
    two, benchmarks/README.md), in the order of the general case.
    """
    for lane in range(n_lanes):
        if status[lane, STATUS_CODE] != OK:
            continue
        n_born = lane_ints[_N_BORN, lane]
        if source >= 0:
            weight = 1.0 / (2 * parent_sizes[source])
            pool[lane, 0] = weight * counts[lane, last, source, 0]
            new = u * pool[lane, 0]
            x0 = pool[lane, 0] - new
            q = new
            for g in range(1, first_novel):
                xg = weight * counts[lane, last, source, g]
                pool[lane, g] = xg
                q += xg
            novel = new
            for a in range(n_born):
                slot = active[lane, a]
                xk = weight * counts[lane, last, source, slot]
                pool[lane, slot] = xk
                q += xk
                novel += xk
        else:
            pool[lane, 0] = 0.0
            for g in range(1, first_novel):
                pool[lane, g] = 0.0
            for a in range(n_born):
                pool[lane, active[lane, a]] = 0.0
            for j in range(parent_sizes.shape[0]):
                m = migration[i, j]
                if m <= 0.0 or parent_sizes[j] == 0:
                    continue
                wj = m / (2 * parent_sizes[j])
                pool[lane, 0] += wj * counts[lane, last, j, 0]
                for g in range(1, first_novel):
                    pool[lane, g] += wj * counts[lane, last, j, g]
                for a in range(n_born):
                    slot = active[lane, a]
                    pool[lane, slot] += wj * counts[lane, last, j, slot]
            new = u * pool[lane, 0]
            x0 = pool[lane, 0] - new
            q = new
            for g in range(1, first_novel):
                q += pool[lane, g]
            novel = new
            for a in range(n_born):
                xk = pool[lane, active[lane, a]]
                q += xk
                novel += xk
        lane_floats[_X0, lane] = x0
        lane_floats[_NEW, lane] = new
        lane_floats[_Q, lane] = q
        lane_floats[_NOVEL, lane] = novel


@njit(cache=True, inline="always")
def _selection_scale(x0, q, f, w_het, w_aff):
    """Step 3: (w̄, the factor of every pathogenic frequency) for normal frequency
    x_0, pathogenic total q and inbreeding F (module docstring); the factor is 0
    where q = 0 or w̄ ≤ 0 (then the deme cannot reproduce)."""
    p00 = x0 * x0 * (1.0 - f) + x0 * f
    p0p = 2.0 * x0 * q * (1.0 - f)
    ppp = q * q * (1.0 - f) + q * f
    wbar = p00 + p0p * w_het + ppp * w_aff
    scale = 0.0
    if q > 0.0 and wbar > 0.0:
        scale = (ppp * w_aff + 0.5 * p0p * w_het) / (q * wbar)
    return wbar, scale


@njit(cache=True, inline="always")
def _prepare_draw(lane, k, first_novel, pool, lane_ints, lane_floats, draw_ints, draw_floats):
    """Step 4, draw k + 1 of ``lane`` (the next named allele, or the mutation-born
    class after the last): a binomial of the copies not yet drawn with the
    allele's share of the mass not yet drawn. Returns 1 where it needs a draw."""
    unscaled = pool[lane, k + 1] if k + 1 < first_novel else lane_floats[_NOVEL, lane]
    pk = unscaled * lane_floats[_SCALE, lane]
    lane_floats[_PK, lane] = pk
    draw_ints[LANE_N, lane] = 0
    draw_ints[LANE_K, lane] = 0
    mass = lane_floats[_MASS, lane]
    if mass > 0.0 and pk > 0.0:
        draw_ints[LANE_N, lane] = lane_ints[_REMAINING, lane]
        draw_floats[LANE_P, lane] = pk / mass
        return 1
    return 0


@njit(cache=True, inline="always")
def _select(n_lanes, step, i, copies, f, w_het, w_aff, first_novel, status, pool, lane_ints,
            lane_floats, draw_ints, draw_floats):
    """Step 3 for deme ``i`` in every running lane (a deme that cannot reproduce
    stops the lane), then the first draw of step 4 prepared: ``copies`` = 2N_i(τ)
    to draw. Returns the number of lanes with a draw to take."""
    n_draws = 0
    for lane in range(n_lanes):
        if status[lane, STATUS_CODE] != OK:
            draw_ints[LANE_N, lane] = 0
            continue
        wbar, scale = _selection_scale(lane_floats[_X0, lane], lane_floats[_Q, lane], f, w_het,
                                       w_aff)
        if wbar <= 0.0:
            stop(status[lane], EXTINCT, step, i)
            draw_ints[LANE_N, lane] = 0
            continue
        lane_floats[_SCALE, lane] = scale
        lane_floats[_MASS, lane] = 1.0
        lane_ints[_REMAINING, lane] = copies
        n_draws += _prepare_draw(lane, 0, first_novel, pool, lane_ints, lane_floats, draw_ints,
                                 draw_floats)
    return n_draws


@njit(cache=True, inline="always")
def _take_named_draws(n_lanes, nxt, i, k, first_novel, status, counts, pool, lane_ints,
                      lane_floats, draw_ints, draw_floats):
    """Step 4 for deme ``i`` in every running lane: the drawn copies of named
    allele k (the copies and mass left for the later draws shrink by them), then
    the next draw prepared. Returns the number of lanes with a draw to take."""
    n_draws = 0
    for lane in range(n_lanes):
        if status[lane, STATUS_CODE] != OK:
            draw_ints[LANE_N, lane] = 0
            continue
        c = draw_ints[LANE_K, lane]
        counts[lane, nxt, i, k] = c
        lane_ints[_REMAINING, lane] -= c
        lane_floats[_MASS, lane] -= lane_floats[_PK, lane]
        n_draws += _prepare_draw(lane, k, first_novel, pool, lane_ints, lane_floats, draw_ints,
                                 draw_floats)
    return n_draws


@njit(cache=True, inline="always")
def _drift_mutation_born(n_lanes, step, nxt, i, status, counts, pool, active, free, lane_ints,
                         lane_floats, draw_ints, states):
    """Step 4's last draw for deme ``i`` in every running lane: the normal allele
    takes the copies the mutation-born class left; the class's copies are split
    among the lane's mutation-born alleles by sequential binomials on their scaled
    pool frequencies (aggregation property of the multinomial), and each copy
    left over is a brand-new allele in a free slot (zero in every other deme).
    A lane with too few free slots stops (no new allele written)."""
    for lane in range(n_lanes):
        if status[lane, STATUS_CODE] != OK:
            draw_ints[LANE_N, lane] = 0
            continue
        c = draw_ints[LANE_K, lane]
        counts[lane, nxt, i, 0] = lane_ints[_REMAINING, lane] - c
        n_born = lane_ints[_N_BORN, lane]
        if c == 0 and n_born == 0:
            continue
        left = c
        state = lane_state(states, lane)
        scale = lane_floats[_SCALE, lane]
        novel = lane_floats[_NOVEL, lane] * scale
        for a in range(n_born):
            slot = active[lane, a]
            pk = pool[lane, slot] * scale
            if a == n_born - 1 and lane_floats[_NEW, lane] <= 0.0:
                c = left  # the last allele: exactly, whatever the rounding
            elif left > 0 and novel > 0.0:
                c, state = binomial_inline(state, left, pk / novel)
            else:
                c = 0
            counts[lane, nxt, i, slot] = c
            left -= c
            novel -= pk
        set_lane_state(states, lane, state)
        n_free, n_active = lane_ints[_N_FREE, lane], lane_ints[_N_ACTIVE, lane]
        if left > n_free:
            stop(status[lane], CAPACITY, step, i)
            continue
        for _ in range(left):
            n_free -= 1
            slot = free[lane, n_free]
            for d in range(counts.shape[2]):
                counts[lane, nxt, d, slot] = 0
            counts[lane, nxt, i, slot] = 1
            active[lane, n_active] = slot
            n_active += 1
        lane_ints[_N_FREE, lane], lane_ints[_N_ACTIVE, lane] = n_free, n_active


@njit(cache=True, inline="always")
def _recycle_lost(n_lanes, nxt, status, counts, active, free, lane_ints):
    """Return to each running lane's free stack its mutation-born slots with no
    copy left in any deme."""
    for lane in range(n_lanes):
        if status[lane, STATUS_CODE] != OK:
            continue
        n_active, n_free = lane_ints[_N_ACTIVE, lane], lane_ints[_N_FREE, lane]
        a = 0
        while a < n_active:
            slot = active[lane, a]
            total = 0
            for d in range(counts.shape[2]):
                total += counts[lane, nxt, d, slot]
            if total == 0:
                free[lane, n_free] = slot
                n_free += 1
                n_active -= 1
                active[lane, a] = active[lane, n_active]
            else:
                a += 1
        lane_ints[_N_ACTIVE, lane], lane_ints[_N_FREE, lane] = n_active, n_free


@njit(cache=True)
def _run_group(seeds, sch, ws, records, status, snap, snapshots):
    """Simulate ``len(seeds)`` replicates side by side (one lane each).

    Each lane draws from its own generator, seeded with its seed, exactly the
    numbers it would draw alone; the lanes' binomial draws of a deme are taken
    together by :func:`~popsim.engines.sampling.binomial_lanes`. Fills
    ``records`` [lanes, n_rec, D, fields], ``status`` [lanes, 3] and
    ``snapshots`` [lanes, n_snap, D, slots], every allele's copies at the end of
    steps ``sch.snap_from`` … (none where n_snap = 0). ``ws``: the group's
    :data:`Workspace`, reset here.

    Steps ``sch.begin`` + 1 … ``sch.end`` are run: from step 0 (``begin`` = 0) each
    lane starts from its seed, otherwise from the burn-in state ``snap`` at step
    ``begin`` (its status already in ``status``); where ``end`` is before the
    plan's last step, each lane's state at ``end`` is written into ``snap``.

    A deme of a step: the pools (steps 1–2, :func:`_gamete_pools`), selection
    and the first draw prepared (step 3, :func:`_select`), then one draw for
    every lane at once per named founder allele (:func:`_take_named_draws`) and
    one for the mutation-born class (:func:`_drift_mutation_born`); a draw that
    no lane needs is not taken (often none: no copies, no mutation).
    """
    n_lanes = seeds.shape[0]
    sizes = sch.sizes
    n_steps = sizes.shape[0] - 1
    n_demes = sizes.shape[1]
    first_novel = 1 + sch.n_named
    u, migration = sch.u, sch.migration
    counts, pool, active, free = ws.counts, ws.pool, ws.active, ws.free
    lane_ints, lane_floats = ws.lane_ints, ws.lane_floats
    draw_ints, draw_floats, states = ws.draw_ints, ws.draw_floats, ws.states
    counts[:n_lanes] = 0  # the pools need none: each entry is written before it is read
    n_rec = sch.record_steps.shape[0]
    rec = 0
    n_snap = snapshots.shape[1]
    if sch.begin == 0:
        for lane in range(n_lanes):
            _start_lane(lane, seeds[lane], sch, ws, status)
        if sch.record_steps[0] == 0:  # even where an introduction failed
            _record(0, 0, 0, True, sch, counts, active, lane_ints, records, status)
            rec = 1
        if sch.snap_from == 0 and n_snap > 0:
            snapshots[:, 0] = counts[:n_lanes, 0]
    else:
        for lane in range(n_lanes):
            _load_lane(lane, sch, ws, snap)
        while rec < n_rec and sch.record_steps[rec] <= sch.begin:
            rec += 1

    w_het = 1.0 - sch.h * sch.s + sch.a
    w_aff = 1.0 - sch.s
    for step in range(sch.begin + 1, sch.end + 1):
        last, nxt = (step - 1) & 1, step & 1  # parities of the copies
        for lane in range(n_lanes):
            lane_ints[_N_BORN, lane] = lane_ints[_N_ACTIVE, lane]  # before this step's mutations
        for i in range(n_demes):
            if sizes[step, i] == 0:
                # an empty deme has no copies; those of this parity still hold
                # step − 2, all zeros if the deme was empty then too (nothing
                # else writes there but new alleles' zeros)
                if step >= 2 and sizes[step - 2, i] > 0:
                    counts[:, nxt, i, :] = 0
                continue
            mi = sch.migration_index[step]
            source = sch.single_source[mi, i]  # the one parents' deme, or −1
            if source >= 0 and sizes[step - 1, source] == 0:  # a deme founded now
                source = -1
            _gamete_pools(n_lanes, last, i, source, first_novel, u, sizes[step - 1],
                          migration[mi], status, counts, pool, active, lane_ints, lane_floats)
            n_draws = _select(n_lanes, step, i, 2 * sizes[step, i], sch.inbreeding[step, i], w_het,
                              w_aff, first_novel, status, pool, lane_ints, lane_floats,
                              draw_ints, draw_floats)
            for k in range(1, first_novel + 1):
                if n_draws > 0:
                    binomial_lanes(n_lanes, draw_ints, draw_floats, states)
                if k < first_novel:
                    n_draws = _take_named_draws(n_lanes, nxt, i, k, first_novel, status, counts,
                                                pool, lane_ints, lane_floats, draw_ints,
                                                draw_floats)
                else:
                    _drift_mutation_born(n_lanes, step, nxt, i, status, counts, pool, active,
                                         free, lane_ints, lane_floats, draw_ints, states)
        _recycle_lost(n_lanes, nxt, status, counts, active, free, lane_ints)
        if sch.intro_at[step]:
            for lane in range(n_lanes):
                if status[lane, STATUS_CODE] == OK:
                    _introduce(counts, nxt, lane, step, sch, status)
        if rec < n_rec and sch.record_steps[rec] == step:
            _record(nxt, step, rec, False, sch, counts, active, lane_ints, records, status)
            rec += 1
        if sch.snap_from <= step < sch.snap_from + n_snap:
            snapshots[:, step - sch.snap_from] = counts[:n_lanes, nxt]
    if sch.end < n_steps:
        for lane in range(n_lanes):
            _save_lane(lane, sch, ws, snap, status)


@njit(cache=True, parallel=True, nogil=True)
def run_replicates(seeds, sch, group, records, status, snap, snapshots):
    """Run ``len(seeds)`` replicates in parallel into ``records`` [R, n_rec, D, fields]
    (and ``snapshots`` [R, n_snap, D, slots], see :func:`_run_group`).

    Replicates go to the threads ``group`` at a time, each group stepping its
    replicates side by side in one workspace; results depend neither on
    ``group`` nor on the thread count. ``snap``: a :data:`Snapshot` for R
    replicates read or written (see :func:`_run_group`), else empty arrays.
    """
    n = seeds.shape[0]
    n_demes = sch.sizes.shape[1]
    capacity = sch.capacity
    n_slots = 1 + sch.n_named + capacity
    for b in prange((n + group - 1) // group):
        lo, hi = b * group, min(n, (b + 1) * group)
        draw_ints, draw_floats, states = lane_arrays(group)
        ws = Workspace(
            counts=np.empty((group, 2, n_demes, n_slots), dtype=np.int64),
            pool=np.empty((group, n_slots)),
            active=np.empty((group, capacity), dtype=np.int64),
            free=np.empty((group, capacity), dtype=np.int64),
            lane_ints=np.empty((_LANE_INT_ROWS, group), dtype=np.int64),
            lane_floats=np.empty((_LANE_FLOAT_ROWS, group)),
            draw_ints=draw_ints,
            draw_floats=draw_floats,
            states=states,
        )
        part = Snapshot(demes=snap.demes, normal=snap.normal[lo:hi],
                        n_alleles=snap.n_alleles[lo:hi], alleles=snap.alleles[lo:hi],
                        generators=snap.generators[lo:hi])
        _run_group(seeds[lo:hi], sch, ws, records[lo:hi], status[lo:hi], part,
                   snapshots[lo:hi])


def _single_sources(migration: np.ndarray) -> np.ndarray:
    """int64 [M, D]: the one source deme j with M[m, i, j] = 1 of each row, else −1."""
    ones = migration == 1.0
    single = (ones.sum(axis=2) == 1) & ((migration > 0.0).sum(axis=2) == 1)
    return np.where(single, ones.argmax(axis=2), -1).astype(np.int64)


def simulate_frequency(
    plan: Plan, seeds: np.ndarray, lanes: int | None = None, *, start: BurnInState | None = None
) -> EngineOutput:
    """Run the frequency engine for one replicate per seed (uint64, see
    :func:`popsim.engines.rng.replicate_seeds`).

    ``lanes``: replicates a thread steps side by side (default
    :func:`lanes_per_group`); it changes the speed, never a number. ``start``: a
    burn-in state of ``plan`` for these replicates (:func:`burn_in_frequency`, or a
    plan with the same :func:`~popsim.engines.snapshot.burn_in_description`): the
    run continues from it instead of burning in, with the same records as without
    it (the seeds are then not read).

    Returns ``records`` int64 [R, n_records, D, columns] and ``status`` int64
    [R, 3] (:mod:`popsim.engines.layout`); ``observed`` is None.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    shape = (seeds.shape[0], plan.record_steps.shape[0], len(plan.deme_names))
    records = np.zeros((*shape, record_width(len(plan.founder_names))), dtype=np.int64)
    if start is None:
        status = np.zeros((seeds.shape[0], len(STATUS_COLUMNS)), dtype=np.int64)
        sch = _schedule(plan, 0, plan.n_steps)
        snap = _empty_snapshot()
    else:
        if start.replicates != seeds.shape[0] or start.step != snapshot_step(plan):
            raise ValueError(
                f"burn-in state of {start.replicates} replicates at step {start.step}; the run "
                f"has {seeds.shape[0]} replicates and its burn-in ends at step "
                f"{snapshot_step(plan)}"
            )
        status = np.ascontiguousarray(start.plan_status(plan))
        sch = _schedule(plan, start.step, plan.n_steps)
        snap = Snapshot(
            demes=burn_in_demes(plan),
            normal=np.ascontiguousarray(start.normal),
            n_alleles=np.ascontiguousarray(start.n_alleles),
            alleles=start.dense_alleles(),
            generators=np.ascontiguousarray(start.generators),
        )
    _run(seeds, sch, lanes, records, status, snap)
    return EngineOutput(records, status)


def simulate_frequency_snapshots(
    plan: Plan, seeds: np.ndarray, first_step: int, lanes: int | None = None
) -> tuple[EngineOutput, np.ndarray]:
    """:func:`simulate_frequency`, and the copies of every allele in every deme at
    the end of each step from ``first_step`` on: int64 [R, steps, D, slots], slot
    0 the normal allele, 1…K the named founder alleles, then the
    ``plan.max_alleles`` mutation-born slots (a slot with no copy in any deme at
    one step and copies at the next holds a new allele: slots are recycled).
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    shape = (seeds.shape[0], plan.record_steps.shape[0], len(plan.deme_names))
    records = np.zeros((*shape, record_width(len(plan.founder_names))), dtype=np.int64)
    status = np.zeros((seeds.shape[0], len(STATUS_COLUMNS)), dtype=np.int64)
    sch = _schedule(plan, 0, plan.n_steps, snap_from=first_step)
    n_snap = max(0, plan.n_steps + 1 - first_step)
    n_slots = 1 + len(plan.founder_names) + sch.capacity
    snapshots = np.zeros((shape[0], n_snap, shape[2], n_slots), np.int64)
    _run(seeds, sch, lanes, records, status, _empty_snapshot(), snapshots)
    return EngineOutput(records, status), snapshots


def burn_in_frequency(plan: Plan, seeds: np.ndarray, lanes: int | None = None) -> BurnInState:
    """Run only the burn-in of ``plan`` (steps 1 … S,
    :func:`~popsim.engines.snapshot.snapshot_step`) for one replicate per seed and
    return each replicate's state at its end.

    Requires :func:`~popsim.engines.snapshot.has_burn_in`. Memory: the kernel writes
    every replicate's alleles into an array of ``plan.max_alleles`` rows each; a
    large capacity is worked through in chunks of replicates (no number depends on it).
    """
    if not has_burn_in(plan):
        raise ValueError("the plan has no burn-in whose state can be taken")
    seeds = np.asarray(seeds, dtype=np.uint64)
    step = snapshot_step(plan)
    demes = burn_in_demes(plan)
    sch = _schedule(plan, 0, step)
    per_replicate = 8 * int(plan.max_alleles) * demes.shape[0]
    chunk = max(1, SNAPSHOT_BYTES // per_replicate)
    parts = []
    for lo in range(0, seeds.shape[0], chunk):
        part = seeds[lo : lo + chunk]
        r = part.shape[0]
        status = np.zeros((r, len(STATUS_COLUMNS)), dtype=np.int64)
        snap = Snapshot(
            demes=demes,
            normal=np.zeros((r, demes.shape[0]), dtype=np.int64),
            n_alleles=np.zeros(r, dtype=np.int64),
            alleles=np.zeros((r, int(plan.max_alleles), demes.shape[0]), dtype=np.int64),
            generators=np.zeros((r, 4), dtype=np.uint64),
        )
        records = np.zeros((r, 0, len(plan.deme_names), 0), dtype=np.int64)
        _run(part, sch, lanes, records, status, snap)
        stopped = status[:, STATUS_CODE] != OK
        status[stopped, STATUS_DEME] = np.searchsorted(demes, status[stopped, STATUS_DEME])
        alleles = np.concatenate(
            [snap.alleles[k, : snap.n_alleles[k]] for k in range(r)]
        ) if r else np.zeros((0, demes.shape[0]), dtype=np.int64)
        parts.append((snap.normal, snap.n_alleles, alleles, snap.generators, status))
    return BurnInState(
        step=step,
        normal=np.concatenate([p[0] for p in parts]),
        n_alleles=np.concatenate([p[1] for p in parts]),
        alleles=np.ascontiguousarray(np.concatenate([p[2] for p in parts])),
        generators=np.concatenate([p[3] for p in parts]),
        status=np.concatenate([p[4] for p in parts]),
    )


#: Largest array of alleles :func:`burn_in_frequency` lets the kernel write at once (bytes).
SNAPSHOT_BYTES = 256 * 2**20


def _empty_snapshot() -> Snapshot:
    """A :data:`Snapshot` of empty arrays: the kernels neither read nor write it."""
    return Snapshot(
        demes=np.zeros(0, dtype=np.int64),
        normal=np.zeros((0, 0), dtype=np.int64),
        n_alleles=np.zeros(0, dtype=np.int64),
        alleles=np.zeros((0, 0, 0), dtype=np.int64),
        generators=np.zeros((0, 4), dtype=np.uint64),
    )


def _schedule(plan: Plan, begin: int, end: int, snap_from: int | None = None) -> Schedule:
    """The kernels' :data:`Schedule` of ``plan``, running steps ``begin`` + 1 … ``end``,
    taking every allele's copies from step ``snap_from`` on (default: none)."""
    s, h, a = (float(v) for v in plan.selection)
    intro_at = np.zeros(plan.sizes.shape[0], dtype=np.bool_)  # steps with introductions
    intro_at[plan.intro_step] = True
    return Schedule(
        sizes=plan.sizes,
        migration_index=plan.migration_index,
        migration=plan.migration,
        inbreeding=plan.inbreeding,
        u=float(plan.mutation_rate),
        s=s,
        h=h,
        a=a,
        single_source=_single_sources(plan.migration),
        intro_at=intro_at,
        intro_step=plan.intro_step,
        intro_deme=plan.intro_deme,
        intro_allele=plan.intro_allele,
        intro_copies=plan.intro_copies,
        record_steps=plan.record_steps,
        n_named=len(plan.founder_names),
        capacity=int(plan.max_alleles),
        begin=begin,
        end=end,
        snap_from=plan.n_steps + 1 if snap_from is None else snap_from,
    )


def _run(seeds: np.ndarray, sch: Schedule, lanes: int | None, records: np.ndarray,
         status: np.ndarray, snap: Snapshot, snapshots: np.ndarray | None = None) -> None:
    """:func:`run_replicates` with the lanes per group chosen (default
    :func:`lanes_per_group`) and the parallel loops balanced; ``snapshots`` default:
    none taken."""
    if snapshots is None:
        snapshots = np.zeros((seeds.shape[0], 0, sch.sizes.shape[1], 0), dtype=np.int64)
    if lanes is None:
        lanes = lanes_per_group(seeds.shape[0], numba.get_num_threads(), _lane_bytes(sch))
    with balanced():
        run_replicates(seeds, sch, lanes, records, status, snap, snapshots)


def _lane_bytes(sch: Schedule) -> int:
    """Bytes of :func:`run_replicates`' workspace per lane (counts, pool, active, free)."""
    n_slots = 1 + sch.n_named + sch.capacity
    return 8 * ((2 * sch.sizes.shape[1] + 1) * n_slots + 2 * sch.capacity)


def lanes_per_group(replicates: int, threads: int, lane_bytes: int) -> int:
    """Replicates a thread steps side by side: at most :data:`MAX_LANES` and
    :data:`GROUP_BYTES` of workspace (``lane_bytes`` a lane), the replicates
    shared evenly among groups and the groups among threads."""
    most = max(1, min(MAX_LANES, GROUP_BYTES // lane_bytes))
    groups = -(-replicates // (threads * most))  # per thread
    return max(1, -(-replicates // (threads * groups)))
