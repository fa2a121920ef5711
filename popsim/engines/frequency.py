"""Frequency engine: the Wright–Fisher allele-count model as a Numba kernel.

State: for each replicate, the number of gene copies of every allele in every
deme. One generation (step τ − 1 → τ), per deme i alive at τ, in this order:

1. **migration** (backward): x_i = Σ_j M[i, j] · c_j / 2N_j(τ−1), the gamete
   pool of deme i (a deme founded at τ has row M[i] = e_source);
2. **mutation**: a normal copy becomes pathogenic with probability u; the
   mass m = u·x_0 moves from x_0 to a class of brand-new alleles;
3. **selection** on zygotes formed with inbreeding F. Because every
   pathogenic allele has the same marginal fitness, selection only rescales
   two classes: with q = 1 − x_0,
   P(0/0) = x_0²(1−F) + x_0·F, P(0/p) = 2·x_0·q·(1−F), P(p/p) = q²(1−F) + q·F,
   w̄ = P(0/0) + P(0/p)·(1 − h·s + a) + P(p/p)·(1 − s);
   x_0 ← (P(0/0) + ½·P(0/p)·(1 − h·s + a))/w̄ and every pathogenic
   frequency, the new-mutation class included, is multiplied by
   (P(p/p)·(1 − s) + ½·P(0/p)·(1 − h·s + a))/(q·w̄);
4. **drift**: the 2N_i(τ) copies of generation τ are a multinomial draw
   from those frequencies, as sequential exact binomials (valid for any N):
   each named founder allele, then the total of all mutation-born copies,
   which is split among the mutation-born alleles (aggregation property of
   the multinomial; an allele left nothing to share costs no draw); the
   normal allele takes the rest. Each copy drawn from the new-mutation class
   is a new, distinct allele.

Then founder alleles scheduled for τ replace normal copies. Alleles born by
mutation live in recycled slots; a replicate that needs more than the
capacity stops with a status code that the caller turns into an error.

Replicate r draws from its own xoshiro256+ generator seeded with
``seeds[r]`` (:mod:`popsim.engines.sampling`, exact binomial sampler), so
results do not depend on the thread count.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np
from numba import njit, prange

from popsim.demography import Plan
from popsim.engines.sampling import binomial, seeded

#: Status codes a replicate can stop with (column 0 of the status array).
OK, CAPACITY, EXTINCT, NO_NORMAL_COPIES = 0, 1, 2, 3

#: Most replicates run with one workspace (see :func:`run_replicates`): one
#: allocation per replicate cost about 3 ns per replicate-generation.
CHUNK = 64

#: The plan as the kernels take it: one argument instead of seventeen.
Schedule = namedtuple(
    "Schedule",
    "sizes migration_index migration inbreeding u s h a single_source intro_at intro_step "
    "intro_deme intro_allele intro_copies record_steps n_named capacity",
)

#: Columns of a record after the founder counts (see :func:`record_fields`).
N_FIXED_FIELDS = 5


def record_fields(founder_names: tuple[str, ...]) -> tuple[str, ...]:
    """Names of the last axis of the engine's record array.

    ``size`` (N, diploids), ``normal`` (copies of allele 0), one column of
    copies per founder allele, ``other`` (copies of mutation-born alleles),
    ``other_sumsq`` (Σ of their squared copy numbers) and ``other_alleles``
    (how many distinct mutation-born alleles segregate).
    """
    return ("size", "normal", *founder_names, "other", "other_sumsq", "other_alleles")


@njit(cache=True, inline="always")  # called every generation
def _record(counts, sizes_now, n_named, active, n_active, out):
    """Write one record per deme into ``out`` [D, fields]."""
    n_demes = counts.shape[0]
    for d in range(n_demes):
        out[d, 0] = sizes_now[d]
        out[d, 1] = counts[d, 0]
        for k in range(n_named):
            out[d, 2 + k] = counts[d, 1 + k]
        total = 0
        sumsq = 0
        alleles = 0
        for a in range(n_active):
            c = counts[d, active[a]]
            if c > 0:
                total += c
                sumsq += c * c
                alleles += 1
        out[d, 2 + n_named] = total
        out[d, 3 + n_named] = sumsq
        out[d, 4 + n_named] = alleles


@njit(cache=True, inline="always")  # called every generation
def _introduce(counts, step, intro_step, intro_deme, intro_allele, intro_copies, status):
    for k in range(intro_step.shape[0]):
        if intro_step[k] != step:
            continue
        d = intro_deme[k]
        if counts[d, 0] < intro_copies[k]:
            status[0] = NO_NORMAL_COPIES
            status[1] = step
            status[2] = d
            return
        counts[d, 0] -= intro_copies[k]
        counts[d, intro_allele[k]] += intro_copies[k]


@njit(cache=True)
def _mixed_pool(x, counts, row, parent_sizes, first_novel, active, n_born):
    """x = Σ_j row[j] · counts[j] / 2N_j, the gamete pool of a deme with migrants.

    Not inlined: a deme whose parents all come from one deme (most demes, most
    steps) takes the copy in :func:`run_replicate` instead, and keeping this
    loop out of the kernel's body makes that path about 10 ns faster per
    replicate-generation.
    """
    x[0] = 0.0
    for k in range(1, first_novel):
        x[k] = 0.0
    for k in range(n_born):
        x[active[k]] = 0.0
    for j in range(row.shape[0]):
        if row[j] <= 0.0 or parent_sizes[j] == 0:
            continue
        wj = row[j] / (2 * parent_sizes[j])
        x[0] += wj * counts[j, 0]
        for k in range(1, first_novel):
            x[k] += wj * counts[j, k]
        for k in range(n_born):
            x[active[k]] += wj * counts[j, active[k]]


@njit(cache=True)
def run_replicate(seed, sch, records, status, counts, x, active, free):
    """Simulate one replicate; fill ``records`` [n_rec, D, fields] and ``status`` [3].

    Workspace (see :func:`run_replicates`), reset here: ``counts`` [2, D,
    slots], the copies of each allele at the last step and the one being
    drawn (by the parity of the step); ``x`` [slots]; ``active`` and ``free``
    [capacity]. ``sch``: the plan's arrays (:data:`Schedule`).
    """
    (sizes, migration_index, migration, inbreeding, u, s, h, a, single_source, intro_at,
     intro_step, intro_deme, intro_allele, intro_copies, record_steps, n_named,
     capacity) = sch
    rng = seeded(seed)
    n_steps = sizes.shape[0] - 1
    n_demes = sizes.shape[1]
    first_novel = 1 + n_named
    n_slots = first_novel + capacity
    counts[:, :, :] = 0
    x[:] = 0.0
    now = counts[0]
    for k in range(capacity):
        free[k] = n_slots - 1 - k
    n_active = 0
    n_free = capacity
    w_het = 1.0 - h * s + a
    w_aff = 1.0 - s

    for d in range(n_demes):
        now[d, 0] = 2 * sizes[0, d]
    _introduce(now, 0, intro_step, intro_deme, intro_allele, intro_copies, status)
    rec = 0
    if record_steps[0] == 0:
        _record(now, sizes[0], n_named, active, n_active, records[0])
        rec = 1
    if status[0] != OK:
        return

    for step in range(1, n_steps + 1):
        last, nxt = (step - 1) & 1, step & 1  # slices of counts
        mi = migration_index[step]
        n_born = n_active  # novel slots alive before this step's mutations
        for i in range(n_demes):
            two_n = 2 * sizes[step, i]
            if two_n == 0:
                for k in range(n_slots):
                    counts[nxt, i, k] = 0
                continue
            # 1. migration: gamete pool of deme i; a copy of one deme's
            # frequencies when all its parents come from there (no migrants)
            source = single_source[mi, i]
            if source >= 0 and sizes[step - 1, source] > 0:
                wj = 1.0 / (2 * sizes[step - 1, source])
                x[0] = wj * counts[last, source, 0]
                for k in range(1, first_novel):
                    x[k] = wj * counts[last, source, k]
                for k in range(n_born):
                    x[active[k]] = wj * counts[last, source, active[k]]
            else:
                _mixed_pool(x, counts[last], migration[mi, i], sizes[step - 1], first_novel,
                            active, n_born)
            # 2. mutation
            new = u * x[0]
            x0 = x[0] - new
            q = new
            for k in range(1, first_novel):
                q += x[k]
            for k in range(n_born):
                q += x[active[k]]
            # 3. selection on zygotes with inbreeding F
            f = inbreeding[i]
            p00 = x0 * x0 * (1.0 - f) + x0 * f
            p0p = 2.0 * x0 * q * (1.0 - f)
            ppp = q * q * (1.0 - f) + q * f
            wbar = p00 + p0p * w_het + ppp * w_aff
            if wbar <= 0.0:
                status[0] = EXTINCT
                status[1] = step
                status[2] = i
                return
            scale = 0.0
            if q > 0.0:
                scale = (ppp * w_aff + 0.5 * p0p * w_het) / (q * wbar)
            # 4. drift: named founder alleles, then all mutation-born copies at
            # once (split among their alleles below), the normal allele takes the rest
            remaining = two_n
            mass = 1.0
            for k in range(1, first_novel):
                pk = x[k] * scale
                c = 0
                if mass > 0.0:
                    c, rng = binomial(rng, remaining, pk / mass)
                counts[nxt, i, k] = c
                remaining -= c
                mass -= pk
            novel = new
            for k in range(n_born):
                novel += x[active[k]]
            novel *= scale
            left = 0
            if novel > 0.0 and mass > 0.0:
                left, rng = binomial(rng, remaining, novel / mass)
            counts[nxt, i, 0] = remaining - left
            for k in range(n_born):
                slot = active[k]
                pk = x[slot] * scale
                if k == n_born - 1 and new <= 0.0:
                    c = left  # the last allele: exactly, whatever the rounding
                elif left > 0 and novel > 0.0:
                    c, rng = binomial(rng, left, pk / novel)
                else:
                    c = 0
                counts[nxt, i, slot] = c
                left -= c
                novel -= pk
            n_new = left
            if n_new > n_free:
                status[0] = CAPACITY
                status[1] = step
                status[2] = i
                return
            for _ in range(n_new):
                n_free -= 1
                slot = free[n_free]
                for d in range(n_demes):
                    counts[nxt, d, slot] = 0
                counts[nxt, i, slot] = 1
                active[n_active] = slot
                n_active += 1
        # recycle mutation-born slots lost in every deme
        k = 0
        while k < n_active:
            slot = active[k]
            total = 0
            for d in range(n_demes):
                total += counts[nxt, d, slot]
            if total == 0:
                free[n_free] = slot
                n_free += 1
                n_active -= 1
                active[k] = active[n_active]
            else:
                k += 1
        if intro_at[step]:
            _introduce(counts[nxt], step, intro_step, intro_deme, intro_allele, intro_copies,
                       status)
            if status[0] != OK:
                return
        if rec < record_steps.shape[0] and record_steps[rec] == step:
            _record(counts[nxt], sizes[step], n_named, active, n_active, records[rec])
            rec += 1


@njit(cache=True, parallel=True, nogil=True)
def run_replicates(seeds, sch, chunk, records, status):
    """Run ``len(seeds)`` replicates in parallel into ``records`` [R, n_rec, D, fields].

    Replicates go to the threads ``chunk`` at a time, each chunk allocating
    one workspace for all its replicates; results do not depend on ``chunk``.
    """
    n = seeds.shape[0]
    n_demes = sch.sizes.shape[1]
    capacity = sch.capacity
    n_slots = 1 + sch.n_named + capacity
    for b in prange((n + chunk - 1) // chunk):
        counts = np.empty((2, n_demes, n_slots), dtype=np.int64)
        x = np.empty(n_slots)  # gamete pool of the deme being drawn
        active = np.empty(capacity, dtype=np.int64)  # live mutation-born slots
        free = np.empty(capacity, dtype=np.int64)  # stack of free slots
        for r in range(b * chunk, min(n, (b + 1) * chunk)):
            run_replicate(seeds[r], sch, records[r], status[r], counts, x, active, free)


def _single_sources(migration: np.ndarray) -> np.ndarray:
    """int64 [M, D]: the one source deme j with M[m, i, j] = 1 of each row, else −1."""
    ones = migration == 1.0
    single = (ones.sum(axis=2) == 1) & ((migration > 0.0).sum(axis=2) == 1)
    return np.where(single, ones.argmax(axis=2), -1).astype(np.int64)


def simulate_frequency(plan: Plan, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the frequency engine for one replicate per seed.

    Returns ``records`` int64 [R, n_records, D, fields] (fields as in
    :func:`record_fields`) and ``status`` int64 [R, 3] = (code, step, deme).
    """
    n_named = len(plan.founder_names)
    seeds = np.asarray(seeds, dtype=np.uint32)
    records = np.zeros(
        (
            seeds.shape[0],
            plan.record_steps.shape[0],
            len(plan.deme_names),
            N_FIXED_FIELDS + n_named,
        ),
        dtype=np.int64,
    )
    status = np.zeros((seeds.shape[0], 3), dtype=np.int64)
    s, h, a = (float(v) for v in plan.selection)
    intro_at = np.zeros(plan.sizes.shape[0], dtype=np.bool_)  # steps with introductions
    intro_at[plan.intro_step] = True
    sch = Schedule(
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
        n_named=n_named,
        capacity=int(plan.max_alleles),
    )
    run_replicates(seeds, sch, chunk_size(seeds.shape[0], numba.get_num_threads()), records,
                   status)
    return records, status


def chunk_size(replicates: int, threads: int) -> int:
    """Replicates per workspace: up to :data:`CHUNK`, and at least 4 chunks per thread."""
    return max(1, min(CHUNK, replicates // (4 * threads)))
