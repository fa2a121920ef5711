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
blocks of :data:`BLOCK`, so a replicate gives
the same numbers whether blocks run on one thread or many, and whether
replicates run in parallel (:func:`run_replicates`) or one at a time with
parallel blocks (large N).
"""

from __future__ import annotations

import time
from collections import namedtuple

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from popsim.demography import Plan
from popsim.engines.frequency import (
    CAPACITY,
    EXTINCT,
    N_FIXED_FIELDS,
    NO_NORMAL_COPIES,
    OK,
)
from popsim.engines.threads import balanced
from popsim.errors import ConfigError, PopsimError
from popsim.results import OBSERVED_FIELDS

#: Offspring per random-number block (fixed: results must not depend on threads).
BLOCK = 4096
#: Couples per inbreeding work unit (any value gives the same results).
COUPLE_BLOCK = 2048
#: Iterations ahead for which scattered rows are prefetched (speed only; at
#: N = 10⁶, 32 ran 1.2× faster than 8 and as fast as 64).
PREFETCH = 32
#: Women seeking a relative whose searches are prefetched together (speed only).
SEEKERS = 64
#: Deme size (individuals) from which the second-cousin searches are prefetched
#: too (speed only). Their prefetch pass walks every candidate couple and its
#: sons, as the searches then do again; below this size those reads mostly hit
#: the caches anyway, and the pass only added work. With 10% first- and 5%
#: second-cousin marriages (one thread, marriages per generation, with → without
#: it): N = 10⁵ 13.2–13.3 → 7.3–8.1 ms, 3 × 10⁵ 26.8–35.1 → 24.8–31.7 ms, 10⁶
#: 102–112 → 115–134 ms; the shipped pedigree config's marriages took about a
#: third less time without it. The first-cousin pass (a few cache lines a
#: search) paid at every size measured but the smallest (about 10% slower there).
SECOND_WARM_MIN = 500_000
#: Rejected zygotes in a row after which a deme counts as unable to reproduce.
MAX_TRIES = 1_000_000
#: Largest number of individuals alive at once (memory: ~55 bytes each).
MAX_INDIVIDUALS = 200_000_000
#: Largest ancestry window: the kinship recursion costs up to 4^(G−1) per couple.
MAX_ANCESTRY = 8
#: Individuals alive at once up to which replicates run in parallel, one per
#: thread (each thread then holds a replicate: ~55 bytes × this × threads).
PARALLEL_REPLICATES_MAX = 2_000_000
#: Individuals alive at once below which a replicate is never split across
#: threads: each generation of the split path costs ~0.1 ms of Python calls and
#: parallel-region start-up, more than 2 threads save on fewer individuals.
WITHIN_MIN = 20_000

_NEW = -1  # allele placeholder for a new mutation not yet given a slot
_MARRY, _INTRO, _OFFSPRING = 1, 2, 3  # random stream purposes
_KIND_DRAWS, _PICK_DRAWS = 0, 1  # the two marriage streams of a deme (block argument)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2^-53

_O = {name: i for i, name in enumerate(OBSERVED_FIELDS)}
_O_N, _O_FH, _O_OH, _O_CH, _O_CAR, _O_F = (
    _O[k]
    for k in (
        "individuals",
        "observed_founder_homozygotes",
        "observed_other_homozygotes",
        "observed_compound_heterozygotes",
        "observed_carriers",
        "mean_pedigree_inbreeding",
    )
)
_O_MAR, _O_C1, _O_C2, _O_CU, _O_FB = (
    _O[k]
    for k in (
        "marriages",
        "first_cousin_marriages",
        "second_cousin_marriages",
        "uncle_niece_marriages",
        "fallback_marriages",
    )
)


# --------------------------------------------------------------------------- random numbers


@njit(cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _stream(seed, step, deme, block, purpose):
    """Initial splitmix64 state of one random stream."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ np.uint64(step))
    h = _mix(h ^ (np.uint64(deme) << np.uint64(32)) ^ np.uint64(block))
    return _mix(h ^ np.uint64(purpose))


@njit(cache=True)
def _next(state):
    state = state + _GOLDEN
    return state, _mix(state)


@njit(cache=True)
def _unit(z):
    """Uniform in [0, 1) from the top 53 bits."""
    return np.float64(z >> np.uint64(11)) * _UNIT


@njit(cache=True)
def _below(z, n):
    """Uniform integer in [0, n) from the top 53 bits."""
    k = int(_unit(z) * n)
    return k if k < n else n - 1


# --------------------------------------------------------------------------- prefetch


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading row ``index`` of ``array`` into the caches.

    A hint only (LLVM's ``llvm.prefetch``): it changes no value, and an
    out-of-range index is harmless because nothing is read from it. Used where
    the rows needed a few iterations ahead are known but scattered in memory.
    """

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        zero = ir.Constant(ir.IntType(64), 0)
        first = context.cast(builder, args[1], index_type, types.intp)
        where = cgutils.get_item_pointer(context, builder, array_type, view,
                                         [first] + [zero] * (array_type.ndim - 1),
                                         wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        # read, keep in all cache levels, data cache
        builder.call(hint, [builder.bitcast(where, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


# --------------------------------------------------------------------------- kinship
#
# Rings: ``pc[g mod P, x]`` = parent couple of individual x of generation g
# (−1 for generation 0); ``rec[s mod G, k]`` = (husband, wife) of couple k of
# step s (a husband −1 − i is man i of generation s − 2, an uncle);
# ``anc[s mod 2, k]`` = the parent couples of the ancestors of a child of
# couple k, level by level: level ℓ = 2 … L (L = G − 1) at offset 2^(ℓ−1) − 2,
# 2^(ℓ−1) entries (level 2: the husband's and the wife's parent couples).
# A founder's unknown parent couple is a virtual key −2 − index, repeated at
# every deeper level.


@njit(cache=True)
def _virtual(parent_couple, index):
    """Key of an individual's parent couple; founders (no parents) get −2 − index."""
    return parent_couple if parent_couple >= 0 else -2 - index


@njit(cache=True)
def _tree(x, px, tau, depth, anc, rec, keys, ids, t):
    """Ancestor tree of individual ``x`` (generation τ − 1, parent couple ``px``).

    ``keys[t]``: parent couples of the ancestors, level d = 1 … L at offset
    2^(d−1) − 1; ``ids[t]``: the ancestors themselves, level d = 1 … L − 1 at
    offset 2^d − 2 (−1 where unknown).
    """
    wr = rec.shape[0]
    keys[t, 0] = _virtual(px, x)
    if px < 0:
        for i in range(1, (1 << depth) - 1):
            keys[t, i] = keys[t, 0]
        return
    for i in range((1 << depth) - 2):
        keys[t, 1 + i] = anc[(tau - 1) % 2, px, i]
    ids[t, 0] = rec[(tau - 1) % wr, px, 0]
    ids[t, 1] = rec[(tau - 1) % wr, px, 1]
    for d in range(2, depth):
        kb = (1 << (d - 1)) - 1
        ib = (1 << d) - 2
        for j in range(1 << (d - 1)):
            c = keys[t, kb + j]
            ids[t, ib + 2 * j] = rec[(tau - d) % wr, c, 0] if c >= 0 else -1
            ids[t, ib + 2 * j + 1] = rec[(tau - d) % wr, c, 1] if c >= 0 else -1


@njit(cache=True)
def _identity(root, keys, ids, t, d, p, depth):
    """Who node (tree t, depth d, position p) is, comparable within one depth."""
    if d == 0:
        return root[t]
    if d < depth:
        return ids[t, (1 << d) - 2 + p]
    return keys[t, (1 << (depth - 1)) - 1 + (p >> 1)] * 2 + (p & 1)


@njit(cache=True)
def _disjoint(keys, ta, pa, tb, pb, d, depth):
    """True when nodes a and b (depth d < L) share no ancestor couple at level L."""
    size = 1 << (depth - 1 - d)
    base = (1 << (depth - 1)) - 1
    for i in range(base + pa * size, base + (pa + 1) * size):
        for j in range(base + pb * size, base + (pb + 1) * size):
            if keys[ta, i] == keys[tb, j]:
                return False
    return True


@njit(cache=True)
def _kinship_tree(root, depth, keys, ids, stack, weight):
    """Kinship of the two roots of ``keys``/``ids`` (regular pedigrees: no uncle couples).

    Pairs of nodes at equal depth are expanded into their parents' pairs,
    except identical nodes (½(1 + F)) and pairs without a common ancestor
    couple at level L (0); nodes at depth L are founders of the window.
    """
    result = 0.0
    n = 1
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3], stack[0, 4] = 0, 0, 1, 0, 0
    weight[0] = 1.0
    while n > 0:
        n -= 1
        ta, pa, tb, pb, d = stack[n, 0], stack[n, 1], stack[n, 2], stack[n, 3], stack[n, 4]
        w = weight[n]
        has_a = d < depth and keys[ta, (1 << d) - 1 + pa] >= 0
        if _identity(root, keys, ids, ta, d, pa, depth) == _identity(
            root, keys, ids, tb, d, pb, depth
        ):
            result += 0.5 * w
            if has_a:  # + ½ F_A: the kinship of A's parents
                stack[n, 0], stack[n, 1], stack[n, 2], stack[n, 3] = ta, 2 * pa, ta, 2 * pa + 1
                stack[n, 4] = d + 1
                weight[n] = 0.5 * w
                n += 1
            continue
        if not has_a or keys[tb, (1 << d) - 1 + pb] < 0:
            continue
        if _disjoint(keys, ta, pa, tb, pb, d, depth):
            continue
        for i in range(2):
            for j in range(2):
                stack[n, 0], stack[n, 1], stack[n, 2], stack[n, 3] = ta, 2 * pa + i, tb, 2 * pb + j
                stack[n, 4] = d + 1
                weight[n] = 0.25 * w
                n += 1
    return result


@njit(cache=True)
def _kinship_generic(ga, a, gb, b, oldest, pc, rec, stack, weight):
    """Kinship of (generation ga, index a) and (gb, b) by plain recursion.

    Used where uncle–niece couples mix generations. Individuals of generation
    ≤ ``oldest`` are founders of the window.
    """
    wp = pc.shape[0]
    wr = rec.shape[0]
    result = 0.0
    n = 1
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = ga, a, gb, b
    weight[0] = 1.0
    while n > 0:
        n -= 1
        ga, a, gb, b = stack[n, 0], stack[n, 1], stack[n, 2], stack[n, 3]
        w = weight[n]
        if ga == gb and a == b:
            result += 0.5 * w
            k = pc[ga % wp, a] if ga > oldest else -1
            if k >= 0:
                f = rec[ga % wr, k, 0]
                stack[n, 0], stack[n, 1] = (ga - 1, f) if f >= 0 else (ga - 2, -1 - f)
                stack[n, 2], stack[n, 3] = ga - 1, rec[ga % wr, k, 1]
                weight[n] = 0.5 * w
                n += 1
            continue
        if gb > ga:  # expand the younger one: it cannot be an ancestor of the other
            ga, a, gb, b = gb, b, ga, a
        k = pc[ga % wp, a] if ga > oldest else -1
        if k < 0:
            continue
        f = rec[ga % wr, k, 0]
        stack[n, 0], stack[n, 1] = (ga - 1, f) if f >= 0 else (ga - 2, -1 - f)
        stack[n, 2], stack[n, 3] = gb, b
        weight[n] = 0.5 * w
        stack[n + 1, 0], stack[n + 1, 1] = ga - 1, rec[ga % wr, k, 1]
        stack[n + 1, 2], stack[n + 1, 3] = gb, b
        weight[n + 1] = 0.5 * w
        n += 2
    return result


@njit(cache=True)
def _prefetch_rows(k, couples, parent_couple, old_rows):
    """Prefetch the ``anc`` rows of the spouses' parent couples of couple k."""
    f, m = couples[k, 0], couples[k, 1]
    if f >= 0 and parent_couple[f] >= 0:
        _prefetch(old_rows, parent_couple[f])
    if parent_couple[m] >= 0:
        _prefetch(old_rows, parent_couple[m])


@njit(cache=True)
def _couples_block(c0, c1, tau, depth, uncle, need_f, pc, rec, anc, irr, fk):
    """``anc`` rows and inbreeding F (kinship of the spouses) of couples [c0, c1) of step τ.

    A couple's row is its spouses' parent couples, then level by level the
    first half of the spouses' parent couples' rows (the husband's side) and
    the second half (the wife's). Unusable lines (through an uncle husband)
    are −1; a founder's line repeats its virtual key. F is computed only when
    ``need_f`` (a recorded step: F enters nothing but the records).
    """
    wp = pc.shape[0]
    now, before = tau % 2, (tau - 1) % 2
    couples = rec[tau % rec.shape[0]]  # views of this step's rows, made once per block
    parent_couple = pc[(tau - 1) % wp]
    rows, old_rows = anc[now], anc[before]
    width = 1 << depth
    last = (1 << (depth - 1)) - 2  # offset of level L in an anc row
    keys = np.empty((2, width), np.int64)
    ids = np.empty((2, width), np.int64)
    root = np.empty(2, np.int64)
    stack = np.empty((4 * depth + 8, 5), np.int64)
    weight = np.empty(4 * depth + 8)
    gstack = np.empty((4 * depth + 16, 4), np.int64)
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
            pf = pc[(tau - 2) % wp, fi]
        usable_f = f >= 0 and pf >= 0
        if depth == 3 and usable_f and pm >= 0 and not uncle:
            # The default window (G = 4), straight-line: about twice as fast as
            # the loops below because all loads are issued before any store.
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
                fk[k] = 0.0
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
                    irr[now, k] = 0
                    if need_f:
                        fk[k] = _kinship_generic(fg, fi, tau - 1, m, tau - depth - 1, pc, rec,
                                                 gstack, gweight)
                    continue
                near = min(irr[before, pf] if pf >= 0 else 255,
                           irr[before, pm] if pm >= 0 else 255)
                irr[now, k] = min(near + 1, 255)
                if need_f and near < depth:
                    fk[k] = _kinship_generic(fg, fi, tau - 1, m, tau - depth - 1, pc, rec,
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
                    fk[k] = 0.0
                    continue
        root[0], root[1] = f, m
        _tree(f, pf, tau, depth, anc, rec, keys, ids, 0)
        _tree(m, pm, tau, depth, anc, rec, keys, ids, 1)
        fk[k] = _kinship_tree(root, depth, keys, ids, stack, weight)


@njit(cache=True)
def _couple_alleles(c0, c1, tau, rec, al, ca):
    """``ca[k]`` = (husband's two alleles, wife's two alleles) of couples [c0, c1)
    of step τ, so that a child reads one record of its parent couple."""
    couples = rec[tau % rec.shape[0]]
    n_al = al.shape[0]
    parents, elders = al[(tau - 1) % n_al], al[(tau - 2) % n_al]
    for k in range(c0, c1):
        f = couples[k, 0]
        m = couples[k, 1]
        husband = parents[f] if f >= 0 else elders[-1 - f]
        ca[k, 0], ca[k, 1] = husband[0], husband[1]
        ca[k, 2], ca[k, 3] = parents[m, 0], parents[m, 1]


@njit(cache=True, inline="always")
def _random_mating(marriage, d):
    """Whether deme d has no consanguineous marriages (its couples are neighbours)."""
    return marriage[d, 0] + marriage[d, 1] + marriage[d, 2] <= 0.0


@njit(cache=True)
def _random_couples(c0, c1, tau, offs, coffs, marriage, rec):
    """Couples [c0, c1) of step τ that belong to demes without consanguineous
    marriages: couple q of deme d is its individuals 2q and 2q + 1 of generation
    τ − 1 (random mating: the order of a generation's individuals is random).
    Written here, block by block on every thread, rather than in :func:`_marry`."""
    s = tau % rec.shape[0]
    for d in range(marriage.shape[0]):
        lo, hi = max(c0, coffs[tau, d]), min(c1, coffs[tau, d + 1])
        if lo >= hi or not _random_mating(marriage, d):
            continue
        first = offs[tau - 1, d] - 2 * coffs[tau, d]  # individual of couple k: first + 2k
        for k in range(lo, hi):
            rec[s, k, 0] = first + 2 * k
            rec[s, k, 1] = first + 2 * k + 1


@njit(cache=True)
def _couples_unit(b, n_couples, tau, depth, uncle, need_f, offs, coffs, marriage, pc, rec, anc,
                  irr, fk, al, ca):
    """Couples block b (:data:`COUPLE_BLOCK` couples) of step τ: the random couples'
    pairs, then every couple's ancestry row, F and couple alleles."""
    c0 = b * COUPLE_BLOCK
    c1 = min(n_couples, c0 + COUPLE_BLOCK)
    _random_couples(c0, c1, tau, offs, coffs, marriage, rec)
    _couples_block(c0, c1, tau, depth, uncle, need_f, pc, rec, anc, irr, fk)
    _couple_alleles(c0, c1, tau, rec, al, ca)


@njit(cache=True)
def _couples_serial(n_couples, tau, depth, uncle, need_f, offs, coffs, marriage, pc, rec, anc,
                    irr, fk, al, ca):
    for b in range((n_couples + COUPLE_BLOCK - 1) // COUPLE_BLOCK):
        _couples_unit(b, n_couples, tau, depth, uncle, need_f, offs, coffs, marriage, pc, rec,
                      anc, irr, fk, al, ca)


# --------------------------------------------------------------------------- marriages
#
# Relatives are found through indexes rebuilt every step by counting sort:
# ``sons``: the men of generation τ − 1 by parent couple; ``cousins[0]``: the
# same men by their grandparent couples (the level-2 ancestor couples of their
# parent couple: each man under one or two keys), for first cousins;
# ``cousins[1]``: the couples of step τ − 1 by their children's
# great-grandparent couples (level 3), for second cousins; ``uncles``: the
# men of generation τ − 2 by parent couple. Each is built in two halves of its
# items, which can run on two threads: the halves count their items per key
# (each into its own array of cursors: the index's ``start`` and the
# workspace's ``spare``), the counts become both halves' first positions in
# each bucket, and each half writes its items there, so an index is the same
# whichever thread ran which half (timings: docs/pedigree.md).

_FIRST, _SECOND, _UNCLE = 0, 1, 2  # marriage kinds (columns of plan.marriage)


@njit(cache=True)
def _couple_keys(c, level, tau, rec, anc, uncle):
    """Level-``level`` (2 or 3) ancestor couples of the children of couple c of
    step τ − 1, each once, as a 4-tuple (unknown: −1).

    With ``uncle`` marriages, lines through an uncle husband are left out: his
    parent couple belongs to an older step than the others of its level.
    """
    wr = rec.shape[0]
    b = (tau - 1) % 2
    father_ok = not uncle or rec[(tau - 1) % wr, c, 0] >= 0
    if level == 2:
        k0 = np.int64(anc[b, c, 0]) if father_ok else -1
        k1 = np.int64(anc[b, c, 1])
        k0 = k0 if k0 >= 0 else -1
        k1 = k1 if k1 >= 0 and k1 != k0 else -1
        return k0, k1, np.int64(-1), np.int64(-1)
    k0, k1, k2, k3 = (np.int64(anc[b, c, 2]), np.int64(anc[b, c, 3]), np.int64(anc[b, c, 4]),
                      np.int64(anc[b, c, 5]))
    if uncle:  # the level-2 couples these keys come through must have regular husbands
        p0, p1 = anc[b, c, 0], anc[b, c, 1]
        if not father_ok or p0 < 0:
            k0 = k1 = -1
        elif rec[(tau - 2) % wr, p0, 0] < 0:
            k0 = -1
        if p1 < 0:
            k2 = k3 = -1
        elif rec[(tau - 2) % wr, p1, 0] < 0:
            k2 = -1
    k0 = k0 if k0 >= 0 else -1
    k1 = k1 if k1 >= 0 and k1 != k0 else -1
    k2 = k2 if k2 >= 0 and k2 != k0 and k2 != k1 else -1
    k3 = k3 if k3 >= 0 and k3 != k0 and k3 != k1 and k3 != k2 else -1
    return k0, k1, k2, k3


@njit(cache=True)
def _keys_of(c, level, tau, rec, anc, uncle):
    """:func:`_couple_keys` with a constant level and uncle flag where possible,
    so that the compiled key code simplifies."""
    if uncle:
        return _couple_keys(c, level, tau, rec, anc, True)
    if level == 2:
        return _couple_keys(c, 2, tau, rec, anc, False)
    return _couple_keys(c, 3, tau, rec, anc, False)


#: The indexes of a step (see above), in the order they are built: the grandson
#: index reads the sons index.
_SONS, _GRANDSONS, _COUSIN_COUPLES, _UNCLES = range(4)


@njit(cache=True)
def _men_part(gen, sizes, offs, pc, lo, hi, fill, cursor, entries):
    """Men x of generation ``gen`` with lo ≤ x < hi, bucketed by parent couple:
    counted into ``cursor[key + 1]``, or (``fill``) written at ``cursor[key]``.

    The count-or-fill lines are written out here and in the other parts: a
    shared helper, even with ``inline="always"``, made the index builds at
    N = 10⁶ take 54–56 ms instead of 25–36 on one thread."""
    parent_couple = pc[gen % pc.shape[0]]
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
def _cousin_couples_part(tau, lo, hi, rec, anc, uncle, fill, cursor, entries):
    """Couples c of step τ − 1 with lo ≤ c < hi, bucketed by their children's
    great-grandparent couples (counted or filled as in :func:`_men_part`)."""
    for c in range(lo, hi):
        if uncle:  # as _keys_of, written out: measured faster in this loop
            keys = _couple_keys(c, 3, tau, rec, anc, True)
        else:
            keys = _couple_keys(c, 3, tau, rec, anc, False)
        for key in keys:
            if key < 0:
                continue
            if fill:
                entries[cursor[key]] = c
                cursor[key] += 1
            else:
                cursor[key + 1] += 1


@njit(cache=True)
def _grandsons_part(tau, lo, hi, rec, anc, uncle, sons_start, sons, fill, cursor, entries):
    """Men of generation τ − 1 whose parent couple c has lo ≤ c < hi, bucketed by
    grandparent couple (c's level-2 keys), couple by couple through the ``sons``
    index (counted or filled as in :func:`_men_part`)."""
    for c in range(lo, hi):
        e0, e1 = sons_start[c], sons_start[c + 1]
        if e0 == e1:
            continue
        if uncle:  # as _keys_of, written out: measured faster in this loop
            keys = _couple_keys(c, 2, tau, rec, anc, True)
        else:
            keys = _couple_keys(c, 2, tau, rec, anc, False)
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
def _index_part(which, part, fill, tau, offs, coffs, sizes, pc, rec, anc, uncle, sons_start,
                sons, start, spare, entries):
    """Half ``part`` (0 or 1) of the items of index ``which`` at step τ, counted or
    (``fill``) written with that half's cursors: ``start`` for the first, ``spare``
    for the second (see :func:`_merge_counts`). The halves touch different cursors
    and entries, so they can run on two threads."""
    cursor = start if part == 0 else spare
    n_demes = sizes.shape[1]
    if which in (_SONS, _UNCLES):
        gen = tau - 1 if which == _SONS else tau - 2
        lo, hi = offs[gen, 0], offs[gen, n_demes]
        lo, hi = (lo, (lo + hi) // 2) if part == 0 else ((lo + hi) // 2, hi)
        _men_part(gen, sizes, offs, pc, lo, hi, fill, cursor, entries)
        return
    n_couples = coffs[tau - 1, n_demes]
    lo, hi = (0, n_couples // 2) if part == 0 else (n_couples // 2, n_couples)
    if which == _GRANDSONS:
        _grandsons_part(tau, lo, hi, rec, anc, uncle, sons_start, sons, fill, cursor, entries)
    else:
        _cousin_couples_part(tau, lo, hi, rec, anc, uncle, fill, cursor, entries)


@njit(cache=True)
def _clear_counts(n_keys, start, spare):
    """Zero both halves' counts of the ``n_keys`` buckets before counting. A function
    of its own, not inlined: in :func:`_generation_step` (``parallel=True``) a slice
    assignment is a parallel loop, which the engine's chunk size of 1
    (:func:`popsim.engines.threads.balanced`) would split element by element (10⁵
    first cousins: 39 → 6 M ind-gen/s)."""
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
def _index_arrays(which, ws):
    """(start, entries) of index ``which`` in the workspace."""
    if which == _SONS:
        return ws.sons
    if which == _GRANDSONS:
        return ws.cousins[0]
    if which == _COUSIN_COUPLES:
        return ws.cousins[1]
    return ws.uncles


@njit(cache=True)
def _indexes_due(tau, ws):
    """The indexes the marriages of step τ read, in the order they are built."""
    due = np.empty(4, np.int64)
    n = 0
    if tau >= 2 and ws.sons[1].shape[0] > 0:
        due[n] = _SONS
        n += 1
        if tau >= 3 and ws.cousins[0][1].shape[0] > 0:
            due[n] = _GRANDSONS
            n += 1
        if tau >= 4 and ws.cousins[1][1].shape[0] > 0:
            due[n] = _COUSIN_COUPLES
            n += 1
    if tau >= 3 and ws.uncles[1].shape[0] > 0:
        due[n] = _UNCLES
        n += 1
    return due[:n]


@njit(cache=True)
def _build_indexes(tau, sch, ws):
    """Build the indexes of step τ on the calling thread (:func:`_generation_step`
    runs the same halves on two threads)."""
    uncle = ws.used.shape[0] > 0
    for which in _indexes_due(tau, ws):
        start, entries = _index_arrays(which, ws)
        n_keys = _index_keys(which, tau, sch.coffs)
        _clear_counts(n_keys, start, ws.spare)
        for fill in (False, True):
            for part in range(2):
                _index_part(which, part, fill, tau, sch.offs, sch.coffs, sch.sizes, ws.pc,
                            ws.rec, ws.anc, uncle, ws.sons[0], ws.sons[1], start, ws.spare,
                            entries)
            if not fill:
                _merge_counts(n_keys, start, ws.spare)
        _restore_starts(n_keys, start, ws.spare)


@njit(cache=True)
def _shares(a, b, n_b):
    """Whether key tuples a and b[:n_b] (−1 = none) have a key in common."""
    for i in range(4):
        for j in range(n_b):
            if a[i] >= 0 and a[i] == b[j]:
                return True
    return False


@njit(cache=True, inline="always")
def _grandparents(k, rows, couples, uncle):
    """:func:`_couple_keys` at level 2 of couple k of step τ − 1, from the
    step's views ``rows`` = anc[(τ − 1) mod 2] and ``couples`` = rec[(τ − 1) mod G]."""
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
    ``parent_couple``, ``rows``, ``couples``: pc of generation τ − 1, anc and
    rec of step τ − 1 (inlined: a call per woman would cost more than the
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
            count += 1
            state, z = _next(state)
            if _below(z, count) == 0:
                chosen = g
    return state, chosen


@njit(cache=True)
def _pick(state, y, kind, lo, hi, tau, pc, rec, anc, uncle, taken, sons_start, sons, start,
          entries):
    """A second cousin or uncle (``kind``) for woman y (generation τ − 1),
    uniform among the eligible and not ``taken`` in [lo, hi) (her deme in his
    generation), or −1 (first cousins: :func:`_pick_first`).

    Second cousin: son of a couple under one of her great-grandparent couples
    and none of her grandparent couples; uncle: a son of one of her
    grandparent couples in generation τ − 2, not her father (``start`` /
    ``entries`` is then the uncle index). A couple under several of her keys
    counts once. One pass, reservoir sampling.
    """
    ky = pc[(tau - 1) % pc.shape[0], y]
    if ky < 0:
        return state, -1
    level = 3 if kind == _SECOND else 2
    mine = _keys_of(ky, level, tau, rec, anc, uncle)
    near = _keys_of(ky, 2, tau, rec, anc, uncle)
    father = rec[(tau - 1) % rec.shape[0], ky, 0]
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
                    count += 1
                    state, z = _next(state)
                    if _below(z, count) == 0:
                        chosen = g
                continue
            c = entries[e]
            if c == ky:
                continue  # her parents: these are her brothers
            if uncle:
                skip = _shares(_couple_keys(c, 3, tau, rec, anc, True), mine, i)
                skip |= _shares(_couple_keys(c, 2, tau, rec, anc, True), near, 2)
            else:  # the same tests on the row itself: much faster than building key tuples
                skip = False
                for j in range(i):  # counted under an earlier key
                    for w in range(4):
                        skip |= anc[b, c, 2 + w] == mine[j]
                for j in range(2):  # first cousins
                    key = near[j]
                    skip |= key >= 0 and (anc[b, c, 0] == key or anc[b, c, 1] == key)
            if skip:
                continue
            for e2 in range(sons_start[c], sons_start[c + 1]):
                g = sons[e2]
                if lo <= g < hi and not taken[g]:
                    count += 1
                    state, z = _next(state)
                    if _below(z, count) == 0:
                        chosen = g
    return state, chosen


@njit(cache=True)
def _warm_first(n_seek, seeker, wanted, parent_couple, rows, couples, uncle, taken, sons_start,
                sons, start, entries):
    """Prefetch, level by level, what :func:`_pick_first` will read for the
    women ``seeker[:n_seek]`` that want a first cousin; changes nothing.

    A search is a chain of scattered reads, each needing the one before: her
    parent couple's ``anc`` row and sons' start, her grandparent couples'
    index starts and her brothers, their entries, the candidates' ``taken``
    flags. Level by level over a batch, each level's reads hit the cache and
    its prefetches are in flight together, instead of one miss at a time.
    ``parent_couple``, ``rows``, ``couples``: pc of generation τ − 1, anc and
    rec of step τ − 1.
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
    parent couple's ``anc`` row, the index starts of her ancestor couples,
    their entries, each candidate couple's row and sons' start, its sons,
    their ``taken`` flags. Level by level over a batch, every level's reads
    hit the cache and its prefetches are in flight together, instead of one
    miss at a time. Prefetches a superset (every ancestor line of the row).
    Arguments are this step's views: ``parent_couple`` = pc of generation
    τ − 1, ``rows`` / ``couples`` = anc / rec of step τ − 1.
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
def _marry(tau, seed, sizes, offs, coffs, marriage, pc, rec, anc, married, used, sons_index,
           cousins, uncles, counts):
    """Form the couples of step τ (husband, wife) in ``rec[τ mod G]``.

    ``counts[d]`` = (marriages, first cousin, second cousin, uncle–niece,
    fallback) of deme d. The indexes (start, entries) are built beforehand
    (:func:`_build_indexes`), size 0 when unused.
    """
    s = tau % rec.shape[0]
    n_demes = sizes.shape[1]
    uncle = uncles[1].shape[0] > 0
    sons_start, sons = sons_index
    first_start, first_entries = cousins[0]
    second_start, second_entries = cousins[1]
    uncle_start, uncle_entries = uncles
    counts[:, :] = 0
    seeker = np.empty(SEEKERS, np.int64)
    wanted = np.empty(SEEKERS, np.int64)
    n_kind = np.zeros(3, np.int64)
    parent_couple = pc[(tau - 1) % pc.shape[0]]
    rows, couples = anc[(tau - 1) % 2], rec[(tau - 1) % rec.shape[0]]
    if tau >= 3 and uncle:
        used[:] = 0
    for d in range(n_demes):
        n = sizes[tau - 1, d]
        o = offs[tau - 1, d]
        n_wives = n // 2
        k = coffs[tau, d]
        counts[d, 0] = n_wives
        if _random_mating(marriage, d):
            continue  # random couples: the couples step writes them (_random_couples)
        married[o : o + n] = 0
        kind_state = _stream(seed, tau, d, _KIND_DRAWS, _MARRY)
        state = _stream(seed, tau, d, _PICK_DRAWS, _MARRY)
        q = 0
        while q < n_wives:
            n_seek = 0  # the next SEEKERS women who seek a relative
            n_kind[:] = 0
            while q < n_wives and n_seek < SEEKERS:
                kind_state, z = _next(kind_state)
                r = _unit(z)
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
                          used, sons_start, sons, uncle_start, uncle_entries)
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
                    state, g = _pick(state, y, kind, lo, lo + sizes[tau - 2, d], tau, pc, rec,
                                     anc, uncle, used, sons_start, sons, uncle_start,
                                     uncle_entries)
                elif kind == _FIRST:
                    state, g = _pick_first(state, y, o, o + n, parent_couple, rows, couples,
                                           uncle, married, sons_start, sons, first_start,
                                           first_entries)
                else:
                    state, g = _pick(state, y, kind, o, o + n, tau, pc, rec, anc, uncle, married,
                                     sons_start, sons, second_start, second_entries)
                if g < 0:
                    counts[d, 4] += 1
                    continue
                married[y] = 1
                if kind == _UNCLE:
                    used[g] = 1
                    rec[s, k, 0] = -1 - g
                else:
                    married[g] = 1
                    rec[s, k, 0] = g
                rec[s, k, 1] = y
                k += 1
                counts[d, 1 + kind] += 1
        man = o
        for q in range(n_wives):
            y = o + 2 * q + 1
            if married[y]:
                continue
            while married[man]:
                man += 2
            rec[s, k, 0] = man
            rec[s, k, 1] = y
            k += 1
            man += 2


# --------------------------------------------------------------------------- offspring


@njit(cache=True)
def _offspring_block(b, tau, seed, blocks, offs, coffs, source, cumulative, n_sources, u,
                     wtab, w_max, need_f, al, pc, ca, fk, sums, fail):
    """Offspring of block b (deme, first, end, index within deme) of step τ.

    Writes alleles (``_NEW`` for a new mutation), parent couple; ``sums[b]`` =
    (Σ F of the couples if ``need_f``, else 0; new mutations); ``fail[b]`` = 1
    if MAX_TRIES zygotes in a row were rejected. Parents' alleles come from
    ``ca`` (:func:`_couple_alleles`): one random read per zygote.
    """
    i, first, end, index = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
    born = tau % pc.shape[0]
    now = tau % al.shape[0]
    state = _stream(seed, tau, i, index, _OFFSPRING)
    o = offs[tau, i]
    f_sum = 0.0
    n_new = 0
    # The couple a child PREFETCH children on will read, if every child until then
    # takes its usual draws (the couple; with mutation on, one per normal allele):
    # the stream is a counter, so that draw is known now. A guess, hence only a
    # prefetch (it changes no value); it hides most of the random read of ``ca``.
    single = n_sources[i] == 1
    ahead = np.uint64(PREFETCH * (3 if u > 0.0 else 1)) * _GOLDEN
    lo = span = 0
    if single:
        lo = coffs[tau, source[i, 0]]
        span = coffs[tau, source[i, 0] + 1] - lo
    for n in range(first, end):
        if single:
            _prefetch(ca, lo + _below(_mix(state + ahead), span))
        tries = 0
        while True:
            tries += 1
            if tries > MAX_TRIES:
                fail[b] = 1
                return
            j = source[i, 0]
            if n_sources[i] > 1:
                state, z = _next(state)
                r = _unit(z)
                c = 0
                while c < n_sources[i] - 1 and r >= cumulative[i, c]:
                    c += 1
                j = source[i, c]
            k0 = coffs[tau, j]
            state, z = _next(state)
            k = k0 + _below(z, coffs[tau, j + 1] - k0)
            bits = int(z & np.uint64(3))
            a1 = ca[k, bits & 1]
            a2 = ca[k, 2 + (bits >> 1)]
            if u > 0.0:
                if a1 == 0:
                    state, z = _next(state)
                    if _unit(z) < u:
                        a1 = _NEW
                if a2 == 0:
                    state, z = _next(state)
                    if _unit(z) < u:
                        a2 = _NEW
            w = wtab[(a1 != 0) + (a2 != 0)]
            if w < w_max:
                state, z = _next(state)
                if _unit(z) * w_max >= w:
                    continue
            break
        x = o + n
        al[now, x, 0] = a1
        al[now, x, 1] = a2
        pc[born, x] = k
        if need_f:
            f_sum += fk[k]
        n_new += (a1 == _NEW) + (a2 == _NEW)
    sums[b, 0] = f_sum
    sums[b, 1] = n_new


@njit(cache=True)
def _offspring_serial(n_blocks, tau, seed, blocks, offs, coffs, source, cumulative, n_sources,
                      u, wtab, w_max, need_f, al, pc, ca, fk, sums, fail):
    for b in range(n_blocks):
        _offspring_block(b, tau, seed, blocks, offs, coffs, source, cumulative, n_sources, u,
                         wtab, w_max, need_f, al, pc, ca, fk, sums, fail)


@njit(cache=True)
def _sources(tau, sizes, coffs, m, source, cumulative, n_sources):
    """Per destination deme i: the ``n_sources[i]`` demes ``source[i, :]`` that
    have couples, with probabilities M[i, j] renormalised over them and
    accumulated in ``cumulative[i, :]``."""
    n_demes = sizes.shape[1]
    for i in range(n_demes):
        total = 0.0
        for j in range(n_demes):
            if m[i, j] > 0.0 and coffs[tau, j + 1] > coffs[tau, j]:
                total += m[i, j]
        c = 0
        acc = 0.0
        for j in range(n_demes):
            if m[i, j] > 0.0 and coffs[tau, j + 1] > coffs[tau, j]:
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


# --------------------------------------------------------------------------- alleles


@njit(cache=True)
def _recycle(tau, offs, n_demes, al, uncle, first_novel, hist, in_use, free, n_free):
    """Free the slots of mutation-born alleles no live individual carries.

    Live: generation τ and, with uncle–niece marriages, τ − 1 (next step's uncles).
    """
    n_al = al.shape[0]
    hist[:] = 0
    for g in (tau, tau - 1):
        if g < 0 or (g == tau - 1 and not uncle):
            continue
        for x in range(offs[g, 0], offs[g, n_demes]):
            for c in range(2):
                v = al[g % n_al, x, c]
                if v >= 0:
                    hist[v] += 1
    for slot in range(first_novel, hist.shape[0]):
        if in_use[slot] and hist[slot] == 0:
            in_use[slot] = 0
            free[n_free] = slot
            n_free += 1
    return n_free


@njit(cache=True)
def _name_mutations(tau, n_blocks, blocks, sums, offs, n_demes, al, uncle, first_novel, hist,
                    in_use, free, n_free, status):
    """Give every new mutation of generation τ a free slot, block by block in order."""
    now = tau % al.shape[0]
    for b in range(n_blocks):
        if sums[b, 1] == 0:
            continue
        o = offs[tau, blocks[b, 0]]
        for x in range(o + blocks[b, 1], o + blocks[b, 2]):
            for c in range(2):
                if al[now, x, c] != _NEW:
                    continue
                if n_free == 0:
                    n_free = _recycle(tau, offs, n_demes, al, uncle, first_novel, hist, in_use,
                                      free, n_free)
                    if n_free == 0:
                        status[0], status[1], status[2] = CAPACITY, tau, blocks[b, 0]
                        return n_free
                n_free -= 1
                al[now, x, c] = free[n_free]
                in_use[free[n_free]] = 1
    return n_free


@njit(cache=True)
def _introduce(tau, seed, offs, al, intro_step, intro_deme, intro_allele, intro_copies, status):
    """Founder alleles of step τ: exactly k normal copies, uniform among the deme's copies."""
    now = tau % al.shape[0]
    for e in range(intro_step.shape[0]):
        if intro_step[e] != tau:
            continue
        d = intro_deme[e]
        normal = 0
        for x in range(offs[tau, d], offs[tau, d + 1]):
            normal += (al[now, x, 0] == 0) + (al[now, x, 1] == 0)
        need = intro_copies[e]
        if normal < need:
            status[0], status[1], status[2] = NO_NORMAL_COPIES, tau, d
            return
        state = _stream(seed, tau, d, e, _INTRO)
        for x in range(offs[tau, d], offs[tau, d + 1]):
            for c in range(2):
                if need == 0 or al[now, x, c] != 0:
                    continue
                state, z = _next(state)
                if _unit(z) * normal < need:
                    al[now, x, c] = intro_allele[e]
                    need -= 1
                normal -= 1


@njit(cache=True)
def _record(tau, sizes, offs, al, n_named, hist, f_sums, counts, records, observed):
    """Allele counts (``records`` [D, fields]) and genotype/marriage counts (``observed``)."""
    now = tau % al.shape[0]
    first_novel = 1 + n_named
    for d in range(sizes.shape[1]):
        n = sizes[tau, d]
        hist[:] = 0
        fh = oh = ch = car = 0
        for x in range(offs[tau, d], offs[tau, d + 1]):
            a1 = al[now, x, 0]
            a2 = al[now, x, 1]
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
        records[d, 0] = n
        records[d, 1] = hist[0]
        for k in range(n_named):
            records[d, 2 + k] = hist[1 + k]
        other = sumsq = alleles = 0
        for slot in range(first_novel, hist.shape[0]):
            c = hist[slot]
            if c > 0:
                other += c
                sumsq += c * c
                alleles += 1
        records[d, 2 + n_named] = other
        records[d, 3 + n_named] = sumsq
        records[d, 4 + n_named] = alleles
        observed[d, _O_N] = n
        observed[d, _O_FH] = fh
        observed[d, _O_OH] = oh
        observed[d, _O_CH] = ch
        observed[d, _O_CAR] = car
        observed[d, _O_F] = f_sums[d] / n if n > 0 else np.nan
        observed[d, _O_MAR] = counts[d, 0]
        observed[d, _O_C1] = counts[d, 1]
        observed[d, _O_C2] = counts[d, 2]
        observed[d, _O_CU] = counts[d, 3]
        observed[d, _O_FB] = counts[d, 4]


# --------------------------------------------------------------------------- driver
#
# Numba bundles: the compiled plan (Schedule) and a replicate's arrays
# (Workspace). The generation loop exists twice: in :func:`_replicate` (Numba,
# one thread, for run_replicates) and in :func:`_replicate_within` (Python,
# each generation's blocks on all threads, one parallel call a generation:
# :func:`_generation_step`). Both call the same steps;
# a cached function must not call a parallel one (Numba issue #8578: segfault
# when loaded from the cache), hence the Python loop.

Schedule = namedtuple(
    "Schedule",
    "sizes offs coffs migration_index migration marriage u wtab intro_step intro_deme "
    "intro_allele intro_copies record_steps n_named capacity ancestry",
)
Workspace = namedtuple(
    "Workspace",
    "pc rec anc irr al ca fk married used sons cousins uncles spare counts hist in_use free "
    "state blocks sums fail f_sums source cumulative n_sources",
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
def _workspace(sch, allele_type):
    """All arrays of one replicate, sized for the largest generation (see docs/pedigree.md)."""
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
    pc = np.full((sch.ancestry if uncle else 2, n_max), -1, np.int32)
    rec = np.zeros((sch.ancestry if uncle else max(sch.ancestry - 1, 2), k_max, 2), np.int32)
    anc = np.zeros((2, k_max, max((1 << depth) - 2, 2)), np.int32)
    irr = np.zeros((2, k_max if uncle else 0), np.uint8)
    al = np.zeros((2 if uncle else 1, n_max, 2), allele_type.dtype)
    # The couples' alleles (written after a step's marriages, read by its
    # offspring) share memory with the second cursors of the indexes (used
    # only while the marriages are made): ≥ 8 bytes per couple, 4 needed.
    couple_bytes = np.zeros(k_max * 4 * allele_type.itemsize, np.uint8)
    ca = couple_bytes.view(allele_type.dtype).reshape((k_max, 4))
    spare = couple_bytes[: 4 * (k_max + 1)].view(np.int32)
    # Married flags (one byte per individual, used only while a step's
    # marriages are made) share memory with couple F (written and read only
    # after them): F's buffer is 4 bytes per couple, ≥ 1 per individual.
    flags = np.zeros(max(4 * k_max, n_max), np.uint8)
    fk = flags[: 4 * k_max].view(np.float32)
    married = flags[: n_max if first or second or uncle else 0]
    used = np.zeros(n_max if uncle else 0, np.uint8)
    sons = index(men, first or second)
    cousins = (index(2 * men, first), index(4 * k_max, second))
    return Workspace(
        pc, rec, anc, irr, al, ca, fk, married, used, sons, cousins,
        index(men, uncle), spare, np.zeros((n_demes, 5), np.int64), np.zeros(n_slots, np.int64),
        np.zeros(n_slots, np.uint8), free, state, np.zeros((max_blocks, 4), np.int64),
        np.zeros((max_blocks, 2)), np.zeros(max_blocks, np.uint8), np.zeros(n_demes),
        np.zeros((n_demes, n_demes), np.int64), np.zeros((n_demes, n_demes)),
        np.zeros(n_demes, np.int64),
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
        _record(tau, sch.sizes, sch.offs, ws.al, sch.n_named, ws.hist, ws.f_sums, ws.counts,
                records[i], observed[i])
        ws.state[_RECORD] = i + 1


@njit(cache=True)
def _start(seed, sch, ws, records, observed, status):
    """Generation 0: founders (all normal), founder introductions, record. False on error."""
    _introduce(0, seed, sch.offs, ws.al, sch.intro_step, sch.intro_deme, sch.intro_allele,
               sch.intro_copies, status)
    if status[0] != OK:
        return False
    _record_if_due(0, sch, ws, records, observed)
    return True


@njit(cache=True)
def _prepare(tau, seed, sch, ws, build_indexes):
    """Step τ before the parallel parts: the marriage indexes (``build_indexes``:
    else the caller built them), marriages, migration sources, offspring blocks."""
    if build_indexes:
        _build_indexes(tau, sch, ws)
    _marry(tau, seed, sch.sizes, sch.offs, sch.coffs, sch.marriage, ws.pc, ws.rec, ws.anc,
           ws.married, ws.used, ws.sons, ws.cousins, ws.uncles, ws.counts)
    _sources(tau, sch.sizes, sch.coffs, sch.migration[sch.migration_index[tau]], ws.source,
             ws.cumulative, ws.n_sources)
    n_blocks = _blocks(tau, sch.sizes, ws.blocks)
    ws.fail[:n_blocks] = 0
    ws.state[_BLOCKS] = n_blocks


@njit(cache=True)
def _complete(tau, seed, sch, ws, records, observed, status):
    """Step τ after the parallel parts: failures, F sums, new alleles, founder
    introductions, record. False when the replicate stops."""
    n_demes = sch.sizes.shape[1]
    n_blocks = ws.state[_BLOCKS]
    ws.f_sums[:] = 0.0
    for b in range(n_blocks):
        if ws.fail[b]:
            status[0], status[1], status[2] = EXTINCT, tau, ws.blocks[b, 0]
            return False
        ws.f_sums[ws.blocks[b, 0]] += ws.sums[b, 0]
    ws.state[_N_FREE] = _name_mutations(
        tau, n_blocks, ws.blocks, ws.sums, sch.offs, n_demes, ws.al, ws.used.shape[0] > 0,
        1 + sch.n_named, ws.hist, ws.in_use, ws.free, ws.state[_N_FREE], status,
    )
    if status[0] != OK:
        return False
    _introduce(tau, seed, sch.offs, ws.al, sch.intro_step, sch.intro_deme, sch.intro_allele,
               sch.intro_copies, status)
    if status[0] != OK:
        return False
    _record_if_due(tau, sch, ws, records, observed)
    return True


@njit(cache=True)
def _replicate(seed, sch, allele_type, records, observed, status):
    """Simulate one replicate on the calling thread into ``records`` [n_rec, D,
    fields], ``observed`` [n_rec, D, len(OBSERVED_FIELDS)] and ``status`` [3]."""
    ws = _workspace(sch, allele_type)
    if not _start(seed, sch, ws, records, observed, status):
        return
    depth = sch.ancestry - 1
    uncle = ws.used.shape[0] > 0
    w_max = sch.wtab.max()
    n_demes = sch.sizes.shape[1]
    for tau in range(1, sch.sizes.shape[0]):
        _prepare(tau, seed, sch, ws, True)
        need_f = _recording(tau, sch, ws)
        _couples_serial(sch.coffs[tau, n_demes], tau, depth, uncle, need_f, sch.offs, sch.coffs,
                        sch.marriage, ws.pc, ws.rec, ws.anc, ws.irr, ws.fk, ws.al, ws.ca)
        _offspring_serial(ws.state[_BLOCKS], tau, seed, ws.blocks, sch.offs, sch.coffs,
                          ws.source, ws.cumulative, ws.n_sources, sch.u, sch.wtab, w_max,
                          need_f, ws.al, ws.pc, ws.ca, ws.fk, ws.sums, ws.fail)
        if not _complete(tau, seed, sch, ws, records, observed, status):
            return


@njit(cache=True, parallel=True)
def run_replicates(seeds, sch, allele_type, records, observed, status):
    """Run ``len(seeds)`` replicates in parallel, one per thread."""
    for r in prange(seeds.shape[0]):
        _replicate(seeds[r], sch, allele_type, records[r], observed[r], status[r])


@njit(cache=True, inline="always")
def _last_first(j, n):
    """Block of the j-th of ``n`` iterations of a split loop: the last block first.

    Numba gives each thread a contiguous run of iterations, the first ones one more
    when ``n`` is not a multiple of the threads; the last block is usually a partial
    one, and starting with it puts it in a longer run. At N = 10⁵ on 2 threads (25
    blocks, the last 41% full) the longer run holds 12.41 blocks' work instead of 13.
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
    uncle = ws.used.shape[0] > 0
    offs, coffs, sizes = sch.offs, sch.coffs, sch.sizes
    pc, rec, anc, spare = ws.pc, ws.rec, ws.anc, ws.spare
    sons_start, sons = ws.sons
    for which in _indexes_due(tau, ws):
        start, entries = _index_arrays(which, ws)
        n_keys = _index_keys(which, tau, coffs)
        _clear_counts(n_keys, start, spare)
        for part in prange(2):
            _index_part(which, part, False, tau, offs, coffs, sizes, pc, rec, anc, uncle,
                        sons_start, sons, start, spare, entries)
        _merge_counts(n_keys, start, spare)
        for part in prange(2):
            _index_part(which, part, True, tau, offs, coffs, sizes, pc, rec, anc, uncle,
                        sons_start, sons, start, spare, entries)
        _restore_starts(n_keys, start, spare)
    _prepare(tau, seed, sch, ws, False)
    need_f = _recording(tau, sch, ws)
    n_couples = sch.coffs[tau, sch.sizes.shape[1]]
    depth = sch.ancestry - 1
    marriage, u, wtab = sch.marriage, sch.u, sch.wtab
    irr, fk, al, ca = ws.irr, ws.fk, ws.al, ws.ca
    n_units = (n_couples + COUPLE_BLOCK - 1) // COUPLE_BLOCK
    for j in prange(n_units):
        _couples_unit(_last_first(j, n_units), n_couples, tau, depth, uncle, need_f, offs,
                      coffs, marriage, pc, rec, anc, irr, fk, al, ca)
    blocks, source, cumulative, n_sources = ws.blocks, ws.source, ws.cumulative, ws.n_sources
    sums, fail = ws.sums, ws.fail
    n_blocks = ws.state[_BLOCKS]
    for j in prange(n_blocks):
        _offspring_block(_last_first(j, n_blocks), tau, seed, blocks, offs, coffs, source,
                         cumulative, n_sources, u, wtab, w_max, need_f, al, pc, ca, fk, sums,
                         fail)
    return _complete(tau, seed, sch, ws, records, observed, status)


def _replicate_within(seed, sch: Schedule, allele_type, records, observed, status) -> None:
    """:func:`_replicate` with each generation's couples and offspring blocks on all
    threads: one call from Python per generation (a call costs several µs)."""
    ws = _workspace(sch, allele_type)
    if not _start(seed, sch, ws, records, observed, status):
        return
    w_max = float(sch.wtab.max())
    for tau in range(1, sch.sizes.shape[0]):
        if not _generation_step(tau, seed, sch, ws, w_max, records, observed, status):
            return


# --------------------------------------------------------------------------- Python entry


def check_plan(plan: Plan) -> None:
    """Refuse plans the pedigree engine cannot run, naming the key at fault.

    Raises:
        ConfigError: an ancestry window too short for the marriages asked for
            or too long to compute, or a deme with offspring but no couple.
        PopsimError: more individuals at once than fit in memory.
    """
    g = plan.ancestry_generations
    key = "scenario.ancestry_generations"
    uses = plan.marriage > 0
    if g > MAX_ANCESTRY:
        raise ConfigError(key, g, f"the pedigree engine keeps at most {MAX_ANCESTRY} generations "
                          "(the kinship of a couple costs up to 4^(G−1) steps)")
    if uses[:, 1].any() and g < 4:
        raise ConfigError(key, g, "must be at least 4 with second-cousin marriages "
                          "(second cousins share great-grandparents)")
    if (uses[:, 0] | uses[:, 2]).any() and g < 3:
        raise ConfigError(key, g, "must be at least 3 with first-cousin or uncle–niece "
                          "marriages (they share grandparents)")
    total = int(plan.sizes.sum(axis=1).max())
    if total > MAX_INDIVIDUALS:
        raise PopsimError(
            f"the pedigree engine holds every individual in memory (about 55 bytes each): "
            f"{total:,} at once is more than {MAX_INDIVIDUALS:,}; use the frequency engine"
        )
    for step in range(1, plan.sizes.shape[0]):
        m = plan.migration[plan.migration_index[step]]
        for i, name in enumerate(plan.deme_names):
            if plan.sizes[step, i] == 0:
                continue
            parents = plan.sizes[step - 1] * (m[i] > 0)
            if parents.max() < 2:
                j = int(np.argmax(m[i]))
                founded = step - 1 >= 1 and plan.sizes[step - 2, j] == 0
                raise ConfigError(
                    f"demes[{j}]." + ("founded.founders" if founded else "size"),
                    int(plan.sizes[step - 1, j]),
                    f"the pedigree engine needs at least 2 individuals (a couple) in "
                    f"'{plan.deme_names[j]}' at generation {step - 1 - plan.burn_in} to make "
                    f"the offspring of '{name}'",
                )


def _offsets(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """First individual of each deme per step, and first couple of each deme per step."""
    sizes = plan.sizes.astype(np.int64)
    offs = np.zeros((sizes.shape[0], sizes.shape[1] + 1), dtype=np.int64)
    offs[:, 1:] = np.cumsum(sizes, axis=1)
    coffs = np.zeros_like(offs)
    coffs[1:, 1:] = np.cumsum(sizes[:-1] // 2, axis=1)
    return offs, coffs


def simulate_pedigree(
    plan: Plan, seeds: np.ndarray, within: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the pedigree engine for one replicate per seed.

    Args:
        plan: the compiled scenario (see :func:`popsim.demography.compile_plan`).
        seeds: uint32 replicate seeds.
        within: parallelise within each replicate (True) or across replicates
            (False); default: across, one replicate per thread, unless the
            replicates are fewer than twice the threads and the population
            has at least :data:`WITHIN_MIN` individuals, or it exceeds
            :data:`PARALLEL_REPLICATES_MAX`. Results are identical either way.

    Returns:
        ``records`` int64 [R, n_records, D, fields] as the frequency engine's
        (:func:`popsim.engines.frequency.record_fields`), ``status`` int64
        [R, 3] = (code, step, deme) and ``observed`` float64 [R, n_records, D,
        len(OBSERVED_FIELDS)] (:data:`popsim.results.OBSERVED_FIELDS`).
    """
    check_plan(plan)
    seeds = np.asarray(seeds, dtype=np.uint32)
    n_rep, n_rec, n_demes = seeds.shape[0], plan.record_steps.shape[0], len(plan.deme_names)
    n_named = len(plan.founder_names)
    records = np.zeros((n_rep, n_rec, n_demes, N_FIXED_FIELDS + n_named), dtype=np.int64)
    observed = np.zeros((n_rep, n_rec, n_demes, len(OBSERVED_FIELDS)), dtype=np.float64)
    status = np.zeros((n_rep, 3), dtype=np.int64)
    offs, coffs = _offsets(plan)
    small_alleles = 1 + n_named + plan.max_alleles < np.iinfo(np.int16).max
    allele_type = np.zeros(0, dtype=np.int16 if small_alleles else np.int32)
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
                _replicate_within(seeds[r], sch, allele_type, records[r], observed[r], status[r])
                if status[r, 0] != OK:
                    break
        else:
            run_replicates(seeds, sch, allele_type, records, observed, status)
    return records, status, observed


def throughput(
    size: int, generations: int = 20, first_cousin: float = 0.0, replicates: int = 1,
    seed: int = 1,
) -> float:
    """Individual-generations per second of one deme of constant ``size``.

    Random mating plus a fraction ``first_cousin`` of first-cousin marriages,
    ancestry window 4, no selection or mutation; compile time excluded (a
    one-generation warm-up runs first). Uses the current Numba thread count.
    """
    from popsim.config import scenario_from_dict
    from popsim.demography import compile_plan

    def plan_for(gens: int) -> Plan:
        raw = {
            "scenario": {"name": "throughput", "generations": gens, "engine": "pedigree",
                         "record_every": gens},
            "demes": [{"name": "pop", "size": size, "first_cousin_marriage": first_cousin}],
            "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.05}]},
        }
        return compile_plan(scenario_from_dict(raw))

    seeds = np.arange(seed, seed + replicates, dtype=np.uint32)
    simulate_pedigree(plan_for(1), seeds[:1])
    plan = plan_for(generations)
    started = time.perf_counter()
    simulate_pedigree(plan, seeds)
    return size * generations * replicates / (time.perf_counter() - started)
