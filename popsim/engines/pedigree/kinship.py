"""Kinship of a couple's spouses over the kept ancestry window (their children's F).

The ancestry is kept in rings over the last G generations:
``parent_couples[g mod P, x]`` = parent couple of individual x of generation
g (−1 for generation 0); ``spouses[s mod G, k]`` = (husband, wife) of couple k
of step s (a husband −1 − i is man i of generation s − 2, an uncle);
``ancestor_rows[s mod 2, k]`` = the parent couples of the ancestors of a
child of couple k, level by level: level ℓ = 2 … L (L = G − 1) at offset
2^(ℓ−1) − 2, 2^(ℓ−1) entries (level 2: the husband's and the wife's parent
couples). A founder's unknown parent couple is a virtual key −2 − index,
repeated at every deeper level.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def _virtual(parent_couple, index):
    """Key of an individual's parent couple; founders (no parents) get −2 − index."""
    return parent_couple if parent_couple >= 0 else -2 - index


@njit(cache=True)
def _tree(x, px, tau, depth, ancestor_rows, spouses, keys, ids, t):
    """Ancestor tree of individual ``x`` (generation τ − 1, parent couple ``px``).

    ``keys[t]``: parent couples of the ancestors, level d = 1 … L at offset
    2^(d−1) − 1; ``ids[t]``: the ancestors themselves, level d = 1 … L − 1 at
    offset 2^d − 2 (−1 where unknown).
    """
    wr = spouses.shape[0]
    keys[t, 0] = _virtual(px, x)
    if px < 0:
        for i in range(1, (1 << depth) - 1):
            keys[t, i] = keys[t, 0]
        return
    for i in range((1 << depth) - 2):
        keys[t, 1 + i] = ancestor_rows[(tau - 1) % 2, px, i]
    ids[t, 0] = spouses[(tau - 1) % wr, px, 0]
    ids[t, 1] = spouses[(tau - 1) % wr, px, 1]
    for d in range(2, depth):
        kb = (1 << (d - 1)) - 1
        ib = (1 << d) - 2
        for j in range(1 << (d - 1)):
            c = keys[t, kb + j]
            ids[t, ib + 2 * j] = spouses[(tau - d) % wr, c, 0] if c >= 0 else -1
            ids[t, ib + 2 * j + 1] = spouses[(tau - d) % wr, c, 1] if c >= 0 else -1


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
    """Kinship of the two roots of ``keys``/``ids`` (regular pedigrees: no uncle couples),
    over the window and over a window one generation shorter: (φ_G, φ_{G−1}).

    Pairs of nodes at equal depth are expanded into their parents' pairs,
    except identical nodes (½(1 + F)) and pairs without a common ancestor
    couple at level L (0); nodes at depth L are founders of the window. The
    shorter window's founders are at depth L − 1: its kinship is the sum of
    the same terms found at depth ≤ L − 1.
    """
    result = 0.0
    shorter = 0.0
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
            if d < depth:
                shorter += 0.5 * w
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
    return result, shorter


@njit(cache=True)
def _kinship_generic(ga, a, gb, b, oldest, parent_couples, spouses, stack, weight):
    """Kinship of (generation ga, index a) and (gb, b) by plain recursion, over the
    window and over a window one generation shorter: (φ_G, φ_{G−1}).

    Used where uncle–niece couples mix generations. Individuals of generation
    ≤ ``oldest`` are founders of the window, of generation ≤ ``oldest`` + 1 those
    of the shorter one: its kinship sums the terms reached without expanding
    such an individual (``stack[:, 4]`` = 1 while none was; an uncle's line
    skips a generation, so the generation of the term itself does not tell).
    """
    wp = parent_couples.shape[0]
    wr = spouses.shape[0]
    result = 0.0
    shorter = 0.0
    n = 1
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3], stack[0, 4] = ga, a, gb, b, 1
    weight[0] = 1.0
    while n > 0:
        n -= 1
        ga, a, gb, b, inner = stack[n, 0], stack[n, 1], stack[n, 2], stack[n, 3], stack[n, 4]
        w = weight[n]
        if ga == gb and a == b:
            result += 0.5 * w
            if inner:
                shorter += 0.5 * w
            k = parent_couples[ga % wp, a] if ga > oldest else -1
            if k >= 0:
                f = spouses[ga % wr, k, 0]
                stack[n, 0], stack[n, 1] = (ga - 1, f) if f >= 0 else (ga - 2, -1 - f)
                stack[n, 2], stack[n, 3] = ga - 1, spouses[ga % wr, k, 1]
                stack[n, 4] = inner and ga > oldest + 1
                weight[n] = 0.5 * w
                n += 1
            continue
        if gb > ga:  # expand the younger one: it cannot be an ancestor of the other
            ga, a, gb, b = gb, b, ga, a
        k = parent_couples[ga % wp, a] if ga > oldest else -1
        if k < 0:
            continue
        f = spouses[ga % wr, k, 0]
        inner = inner and ga > oldest + 1
        stack[n, 0], stack[n, 1] = (ga - 1, f) if f >= 0 else (ga - 2, -1 - f)
        stack[n, 2], stack[n, 3], stack[n, 4] = gb, b, inner
        weight[n] = 0.5 * w
        stack[n + 1, 0], stack[n + 1, 1] = ga - 1, spouses[ga % wr, k, 1]
        stack[n + 1, 2], stack[n + 1, 3], stack[n + 1, 4] = gb, b, inner
        weight[n + 1] = 0.5 * w
        n += 2
    return result, shorter
