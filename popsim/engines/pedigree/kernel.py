"""The generation loop: a replicate's workspace, its steps in order, and the parallel drivers.

One step: marriages (:mod:`.marriage`, with the indexes of :mod:`.relatives`)
→ couples (:mod:`.couples`) → offspring (:mod:`.offspring`) → alleles,
introductions and records (:mod:`.alleles`), the order of the package
docstring. Numba bundles: the compiled plan (:data:`Schedule`) and a
replicate's arrays (:data:`Workspace`), grouped by what the steps share: the
ancestry window (:data:`Ancestry`), the step's couples (:data:`Couples`), the
marriage indexes (:data:`Indexes`) and bookkeeping (:data:`Marriages`), the
offspring blocks (:data:`Offspring`) and the allele slots (:data:`Slots`).
The generation loop exists twice: in
:func:`_replicate` (Numba, one thread, for :func:`run_replicates`) and in
:func:`_replicate_within` (Python, each generation's blocks on all threads, one
parallel call a generation: :func:`_generation_step`). Both call the same
steps; a cached function must not call a parallel one (Numba issue #8578:
segfault when loaded from the cache), hence the Python loop.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from popsim.engines.layout import EXTINCT, OK, STATUS_CODE, stop
from popsim.engines.pedigree.alleles import _introduce, _name_mutations, _record
from popsim.engines.pedigree.couples import COUPLE_BLOCK, _couples_serial, _couples_unit
from popsim.engines.pedigree.marriage import _marry
from popsim.engines.pedigree.offspring import (
    BLOCK,
    _blocks,
    _offspring_block,
    _offspring_serial,
    _sources,
)
from popsim.engines.pedigree.relatives import (
    _build_indexes,
    _clear_counts,
    _index_arrays,
    _index_keys,
    _index_part,
    _indexes_due,
    _merge_counts,
    _restore_starts,
)

Schedule = namedtuple(
    "Schedule",
    "sizes offs coffs migration_index migration marriage u wtab intro_step intro_deme "
    "intro_allele intro_copies record_steps n_named capacity ancestry",
)
#: The ancestry window (rings, see :mod:`.kinship`): ``parent_couples[g mod P,
#: x]``, the parent couple of individual x of generation g; ``spouses[s mod G,
#: k]``, (husband, wife) of couple k of step s; ``ancestor_rows[s mod 2, k]``,
#: the ancestor couples of couple k's children, level by level;
#: ``since_uncle[s mod 2, k]``, generations since the nearest uncle–niece couple
#: among them (with uncle–niece marriages only, capped at 255).
Ancestry = namedtuple("Ancestry", "parent_couples spouses ancestor_rows since_uncle")
#: The couples of the current step: ``alleles[k]`` (husband's two, wife's two)
#: and inbreeding ``f[k]`` (that of their children).
Couples = namedtuple("Couples", "alleles f")
#: The marriage indexes (:mod:`.relatives`), each a (start, entries) pair, and
#: ``spare``, the second half's cursors while one is built.
Indexes = namedtuple("Indexes", "sons grandsons cousin_couples uncles spare")
#: A step's marriages: who is ``married`` (generation τ − 1), which men of
#: τ − 2 married a niece (``uncle_married``), and ``counts[d]`` = (marriages,
#: first cousin, second cousin, uncle–niece, fallback) of deme d.
Marriages = namedtuple("Marriages", "married uncle_married counts")
#: A step's offspring work: ``blocks[b]`` = (deme, first, end, index within
#: deme), their ``sums`` (Σ F, alleles to give a slot) and ``failed`` flags, per
#: deme the parents' demes (``source``, ``cumulative`` probabilities,
#: ``n_sources``), and the host demes' gene pools of a hybrid run (:data:`Host`).
Offspring = namedtuple(
    "Offspring",
    "blocks sums failed source cumulative n_sources host_values host_cum host_n host_f",
)
#: The host demes' gene pools of one replicate of a hybrid run, by step τ of this
#: schedule and deme j (their copies at τ − 1): ``values[τ, j, :n[τ, j]]``, the
#: alleles (0 normal, 1…K named, −2 − h the host's mutation-born allele h),
#: ``cum[τ, j]`` their cumulative frequencies, ``f[j]`` the deme's F; ``ids``, the
#: host's mutation-born alleles h of the replicate. Empty arrays (n of shape (0, 0))
#: outside a hybrid run.
Host = namedtuple("Host", "values cum n f ids")
#: Mutation-born allele slots: ``hist`` (copies per allele, scratch), ``in_use``
#: flags, the stack of ``free`` slots, and in a hybrid run the slot ``imported[h]``
#: of the host's allele h (−1: none) and the host allele ``origin[slot]`` of a slot.
Slots = namedtuple("Slots", "hist in_use free imported origin")
#: One replicate's arrays; ``f_sums[d]`` = Σ F of deme d's children this step,
#: ``state`` = (free slots, next record, offspring blocks this step).
Workspace = namedtuple(
    "Workspace", "ancestry genotypes couples indexes marriages offspring slots f_sums state"
)
_N_FREE, _RECORD, _BLOCKS = 0, 1, 2  # entries of Workspace.state


@njit(cache=True)
def _kinds(marriage):
    """Whether any deme has first-cousin, second-cousin, uncle–niece marriages."""
    uses = np.zeros(3, np.bool_)
    for d in range(marriage.shape[0]):
        for c in range(3):
            uses[c] |= marriage[d, c] > 0.0
    return uses[0], uses[1], uses[2]


@njit(cache=True)
def _workspace(sch, allele_type, host):
    """All arrays of one replicate, sized for the largest generation (see docs/pedigree.md);
    ``host``: its :data:`Host` gene pools."""
    n_demes = sch.sizes.shape[1]
    depth = sch.ancestry - 1
    n_max = max(1, sch.offs[:, n_demes].max())
    k_max = max(1, sch.coffs[:, n_demes].max())
    first, second, uncle = _kinds(sch.marriage)
    n_slots = 1 + sch.n_named + sch.capacity

    def index(n_entries, wanted):
        """(start, entries) of a counting-sort index, empty when not wanted."""
        return (np.zeros(k_max + 1 if wanted else 0, np.int32),
                np.zeros(n_entries if wanted else 0, np.int32))

    men = n_max // 2 + n_demes  # men: the even local indexes, ⌈size / 2⌉ per deme
    free = np.empty(sch.capacity, np.int64)
    for k in range(sch.capacity):
        free[k] = n_slots - 1 - k
    state = np.zeros(3, np.int64)
    state[_N_FREE] = sch.capacity
    max_blocks = n_max // BLOCK + n_demes + 1
    parent_couples = np.full((sch.ancestry if uncle else 2, n_max), -1, np.int32)
    spouses = np.zeros((sch.ancestry if uncle else max(sch.ancestry - 1, 2), k_max, 2), np.int32)
    ancestor_rows = np.zeros((2, k_max, max((1 << depth) - 2, 2)), np.int32)
    since_uncle = np.zeros((2, k_max if uncle else 0), np.uint8)
    genotypes = np.zeros((2 if uncle else 1, n_max, 2), allele_type.dtype)
    # The couples' alleles (written after a step's marriages, read by its
    # offspring) share memory with the second cursors of the indexes (used
    # only while the marriages are made): ≥ 8 bytes per couple, 4 needed.
    couple_bytes = np.zeros(k_max * 4 * allele_type.itemsize, np.uint8)
    couple_alleles = couple_bytes.view(allele_type.dtype).reshape((k_max, 4))
    spare = couple_bytes[: 4 * (k_max + 1)].view(np.int32)
    # Married flags (one byte per individual, used only while a step's
    # marriages are made) share memory with couple F (written and read only
    # after them): F's buffer is 4 bytes per couple, ≥ 1 per individual.
    flags = np.zeros(max(4 * k_max, n_max), np.uint8)
    couple_f = flags[: 4 * k_max].view(np.float32)
    married = flags[: n_max if first or second or uncle else 0]
    uncle_married = np.zeros(n_max if uncle else 0, np.uint8)
    indexes = Indexes(
        sons=index(men, first or second),
        grandsons=index(2 * men, first),
        cousin_couples=index(4 * k_max, second),
        uncles=index(men, uncle),
        spare=spare,
    )
    return Workspace(
        ancestry=Ancestry(parent_couples, spouses, ancestor_rows, since_uncle),
        genotypes=genotypes,
        couples=Couples(couple_alleles, couple_f),
        indexes=indexes,
        marriages=Marriages(married, uncle_married, np.zeros((n_demes, 5), np.int64)),
        offspring=Offspring(
            blocks=np.zeros((max_blocks, 4), np.int64),
            sums=np.zeros((max_blocks, 2)),
            failed=np.zeros(max_blocks, np.uint8),
            source=np.zeros((n_demes, n_demes), np.int64),
            cumulative=np.zeros((n_demes, n_demes)),
            n_sources=np.zeros(n_demes, np.int64),
            host_values=host.values,
            host_cum=host.cum,
            host_n=host.n,
            host_f=host.f,
        ),
        slots=Slots(np.zeros(n_slots, np.int64), np.zeros(n_slots, np.uint8), free,
                    np.full(host.ids, -1, np.int64), np.full(n_slots, -1, np.int64)),
        f_sums=np.zeros(n_demes),
        state=state,
    )


@njit(cache=True)
def _recording(tau, sch, ws):
    """Whether step τ is recorded (then its couples' F is needed)."""
    i = ws.state[_RECORD]
    return i < sch.record_steps.shape[0] and sch.record_steps[i] == tau


@njit(cache=True)
def _record_if_due(tau, sch, ws, records, observed):
    i = ws.state[_RECORD]
    if _recording(tau, sch, ws):
        _record(tau, sch.sizes, sch.offs, ws.genotypes, sch.n_named, ws.slots.hist, ws.f_sums,
                ws.marriages.counts, records[i], observed[i])
        ws.state[_RECORD] = i + 1


@njit(cache=True)
def _start(seed, sch, ws, records, observed, status):
    """Generation 0: founders (all normal), founder introductions, record. False on error."""
    _introduce(0, seed, sch, ws.genotypes, status)
    if status[STATUS_CODE] != OK:
        return False
    _record_if_due(0, sch, ws, records, observed)
    return True


@njit(cache=True)
def _prepare(tau, seed, sch, ws, build_indexes):
    """Step τ before the parallel parts: the marriage indexes (``build_indexes``:
    else the caller built them), marriages, migration sources, offspring blocks."""
    if build_indexes:
        _build_indexes(tau, sch, ws)
    _marry(tau, seed, sch, ws.ancestry, ws.indexes, ws.marriages)
    offspring = ws.offspring
    _sources(tau, sch.sizes, sch.coffs, sch.migration[sch.migration_index[tau]],
             offspring.host_n, offspring.source, offspring.cumulative, offspring.n_sources)
    n_blocks = _blocks(tau, sch.sizes, offspring.blocks)
    offspring.failed[:n_blocks] = 0
    ws.state[_BLOCKS] = n_blocks


@njit(cache=True)
def _complete(tau, seed, sch, ws, records, observed, status):
    """Step τ after the parallel parts: failures, F sums, new alleles, founder
    introductions, record. False when the replicate stops."""
    n_blocks = ws.state[_BLOCKS]
    blocks, sums, failed = ws.offspring.blocks, ws.offspring.sums, ws.offspring.failed
    ws.f_sums[:] = 0.0
    for b in range(n_blocks):
        if failed[b]:
            stop(status, EXTINCT, tau, blocks[b, 0])
            return False
        ws.f_sums[blocks[b, 0]] += sums[b, 0]
    uncle = ws.marriages.uncle_married.shape[0] > 0
    ws.state[_N_FREE] = _name_mutations(tau, n_blocks, sch, ws.offspring, ws.genotypes, uncle,
                                        ws.slots, ws.state[_N_FREE], status)
    if status[STATUS_CODE] != OK:
        return False
    _introduce(tau, seed, sch, ws.genotypes, status)
    if status[STATUS_CODE] != OK:
        return False
    _record_if_due(tau, sch, ws, records, observed)
    return True


@njit(cache=True)
def _replicate(seed, sch, allele_type, host, records, observed, status):
    """Simulate one replicate on the calling thread into ``records`` [n_rec, D,
    fields], ``observed`` [n_rec, D, len(OBSERVED_COLUMNS)] and ``status`` [3]
    (``host``: its :data:`Host` gene pools)."""
    ws = _workspace(sch, allele_type, host)
    if not _start(seed, sch, ws, records, observed, status):
        return
    depth = sch.ancestry - 1
    uncle = ws.marriages.uncle_married.shape[0] > 0
    w_max = sch.wtab.max()
    n_demes = sch.sizes.shape[1]
    for tau in range(1, sch.sizes.shape[0]):
        _prepare(tau, seed, sch, ws, True)
        need_f = _recording(tau, sch, ws)
        _couples_serial(sch.coffs[tau, n_demes], tau, depth, uncle, need_f, sch, ws.ancestry,
                        ws.genotypes, ws.couples)
        _offspring_serial(ws.state[_BLOCKS], tau, seed, need_f, w_max, sch, ws.offspring,
                          ws.genotypes, ws.ancestry.parent_couples, ws.couples)
        if not _complete(tau, seed, sch, ws, records, observed, status):
            return


@njit(cache=True, parallel=True)
def run_replicates(seeds, sch, allele_type, hosts, records, observed, status):
    """Run ``len(seeds)`` replicates in parallel, one per thread (``hosts``: a
    :data:`Host` of arrays with a leading replicate axis)."""
    for r in prange(seeds.shape[0]):
        host = Host(hosts.values[r], hosts.cum[r], hosts.n[r], hosts.f, hosts.ids[r])
        _replicate(seeds[r], sch, allele_type, host, records[r], observed[r], status[r])


@njit(cache=True, inline="always")
def _last_first(j, n):
    """Block of the j-th of ``n`` iterations of a split loop: the last block first.

    Numba's static layers (OpenMP, workqueue: where TBB is not installed, see
    :mod:`popsim.engines.threads`) give each thread a contiguous run of iterations,
    the first ones one more when ``n`` is not a multiple of the threads; the last
    block is usually a partial one, and starting with it puts it in a longer run.
    On TBB, where a free thread takes the next block, it costs nothing (an example:
    benchmarks/README.md).
    Blocks own their random streams and results, so the order changes no value.
    """
    return (j + n - 1) % n


@njit(cache=True, parallel=True)
def _generation_step(tau, seed, sch, ws, w_max, records, observed, status):
    """Step τ for :func:`_replicate_within`: the marriage indexes' halves on two
    threads (as :func:`_build_indexes`), :func:`_prepare` (serial), the couples'
    blocks on every thread, the offspring blocks on every thread, then
    :func:`_complete` (serial). ``w_max``: the largest fitness of ``sch.wtab``.
    False when the replicate stops."""
    uncle = ws.marriages.uncle_married.shape[0] > 0
    # A named tuple enters a parallel loop only where this function makes it
    # (Numba's parfor lowering looks up its definition): local copies; a plain
    # tuple of arrays not at all.
    sch = Schedule(
        sizes=sch.sizes, offs=sch.offs, coffs=sch.coffs, migration_index=sch.migration_index,
        migration=sch.migration, marriage=sch.marriage, u=sch.u, wtab=sch.wtab,
        intro_step=sch.intro_step, intro_deme=sch.intro_deme, intro_allele=sch.intro_allele,
        intro_copies=sch.intro_copies, record_steps=sch.record_steps, n_named=sch.n_named,
        capacity=sch.capacity, ancestry=sch.ancestry,
    )
    ancestry = Ancestry(
        parent_couples=ws.ancestry.parent_couples, spouses=ws.ancestry.spouses,
        ancestor_rows=ws.ancestry.ancestor_rows, since_uncle=ws.ancestry.since_uncle,
    )
    indexes = ws.indexes  # plain tuples inside: unpacked below
    sons_start, sons = indexes.sons
    spare = indexes.spare
    couples = Couples(alleles=ws.couples.alleles, f=ws.couples.f)
    o = ws.offspring
    offspring = Offspring(blocks=o.blocks, sums=o.sums, failed=o.failed, source=o.source,
                          cumulative=o.cumulative, n_sources=o.n_sources,
                          host_values=o.host_values, host_cum=o.host_cum, host_n=o.host_n,
                          host_f=o.host_f)
    genotypes = ws.genotypes
    for which in _indexes_due(tau, indexes):
        start, entries = _index_arrays(which, indexes)
        n_keys = _index_keys(which, tau, sch.coffs)
        _clear_counts(n_keys, start, spare)
        for part in prange(2):
            _index_part(which, part, False, tau, sch, ancestry, uncle, sons_start, sons, start,
                        spare, entries)
        _merge_counts(n_keys, start, spare)
        for part in prange(2):
            _index_part(which, part, True, tau, sch, ancestry, uncle, sons_start, sons, start,
                        spare, entries)
        _restore_starts(n_keys, start, spare)
    _prepare(tau, seed, sch, ws, False)
    need_f = _recording(tau, sch, ws)
    n_couples = sch.coffs[tau, sch.sizes.shape[1]]
    depth = sch.ancestry - 1
    n_units = (n_couples + COUPLE_BLOCK - 1) // COUPLE_BLOCK
    for j in prange(n_units):
        _couples_unit(_last_first(j, n_units), n_couples, tau, depth, uncle, need_f, sch,
                      ancestry, genotypes, couples)
    parent_couples = ancestry.parent_couples
    n_blocks = ws.state[_BLOCKS]
    for j in prange(n_blocks):
        _offspring_block(_last_first(j, n_blocks), tau, seed, need_f, w_max, sch, offspring,
                         genotypes, parent_couples, couples)
    return _complete(tau, seed, sch, ws, records, observed, status)


def _replicate_within(seed, sch: Schedule, allele_type, host, records, observed,
                      status) -> None:
    """:func:`_replicate` with each generation's couples and offspring blocks on all
    threads: one call from Python per generation (a call costs several µs)."""
    ws = _workspace(sch, allele_type, host)
    if not _start(seed, sch, ws, records, observed, status):
        return
    w_max = float(sch.wtab.max())
    for tau in range(1, sch.sizes.shape[0]):
        if not _generation_step(tau, seed, sch, ws, w_max, records, observed, status):
            return
