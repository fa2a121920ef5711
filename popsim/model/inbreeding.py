"""The F that a deme's marriage customs imply, for the engine that does not simulate them.

Marriage fractions (``first_cousin_marriage`` c₁, ``second_cousin_marriage`` c₂,
``uncle_niece_marriage`` c_u) are simulated explicitly by the pedigree engine,
which measures each child's F as the kinship of its parents over its ancestry
window of G generations. The frequency engine forms zygotes with an F per deme
and generation instead; for a deme described by marriage fractions it uses

    F(τ) = c₁/16 + c₂/64 + c_u/8 + F_bg(τ),   F_bg(τ) = Σ_{d=2}^{G} 1 / (2·N(τ − d)),

(τ: the plan step whose zygotes are formed; N: the deme's diploid size; terms
where τ − d < 0 or the deme is empty are left out; G: the window the pedigree
engine would keep, :func:`ancestry_window`). The first part is the kinship of
the spouses of each kind of marriage with unrelated, non-inbred ancestors. The
second is the background relatedness the pedigree engine measures among the
spouses of a finite population within its window: two random members of
generation τ − 1 have 4^(d−2) pairs of ancestors d − 2 generations up; each
pair is a pair of full sibs (children of one of the N(τ − d)/2 couples of
generation τ − d) with probability 2/N(τ − d), and then adds 4^−(d−1) to the
kinship: 1/(2N(τ − d)) per generation of the window (Wright–Fisher
coalescence, 1/(2N) a generation).

Known excess: under heavy, repeated consanguinity the spouses' families are
related beyond the marriage kind itself (a first cousin of someone whose
parents are cousins is related to them along several lines), so the realized F
exceeds the nominal one: with c₁ = 0.5, c₂ = 0.2 the pedigree engine measures
F ≈ 0.044 against 0.034 here. The frequency engine does not add that excess: a
user who wants the realized F of such a community gives it as ``inbreeding``
(without marriage fractions) or runs the pedigree engine.
"""

from __future__ import annotations

import numpy as np

from popsim.model.limits import DEEP_ANCESTRY, DEEP_ANCESTRY_FROM, DEFAULT_ANCESTRY
from popsim.model.scenario import Deme

#: Kinship of the spouses (F of their children) of each kind of marriage, in the order
#: of :data:`popsim.model.config.MARRIAGES`' fractions: first cousin, second cousin,
#: uncle–niece.
MARRIAGE_F: dict[str, float] = {
    "first_cousin_marriage": 1 / 16,
    "second_cousin_marriage": 1 / 64,
    "uncle_niece_marriage": 1 / 8,
}


def has_marriages(deme: Deme) -> bool:
    """Whether ``deme`` gives any marriage fraction."""
    return any(getattr(deme, key) > 0 for key in MARRIAGE_F)


def marriage_inbreeding(deme: Deme) -> float:
    """c₁/16 + c₂/64 + c_u/8: F of the marriages alone (unrelated, non-inbred ancestors)."""
    return float(sum(getattr(deme, key) * f for key, f in MARRIAGE_F.items()))


def ancestry_window(marriage: np.ndarray, given: int | None) -> int:
    """Generations of ancestry the pedigree engine keeps: ``given``, or by default
    :data:`~popsim.model.limits.DEFAULT_ANCESTRY`, deepened to
    :data:`~popsim.model.limits.DEEP_ANCESTRY` where some deme's marriages imply
    F ≥ :data:`~popsim.model.limits.DEEP_ANCESTRY_FROM` (``marriage``: [D, 3]
    fractions), where a short window misses the relatedness of the spouses'
    ancestors (docs/pedigree.md, "The ancestry window")."""
    if given is not None:
        return given
    nominal = marriage @ np.array(list(MARRIAGE_F.values())) if marriage.size else np.zeros(0)
    return DEEP_ANCESTRY if (nominal >= DEEP_ANCESTRY_FROM).any() else DEFAULT_ANCESTRY


def background_inbreeding(sizes: np.ndarray, window: int) -> np.ndarray:
    """F_bg(τ) = Σ_{d=2}^{G} 1/(2·N(τ − d)) for every step τ of one deme's ``sizes``
    (int64 [steps]); terms before step 0 or at size 0 are left out (module docstring)."""
    inverse = np.zeros(sizes.shape[0], dtype=np.float64)
    alive = sizes > 0
    inverse[alive] = 0.5 / sizes[alive]
    background = np.zeros_like(inverse)
    for d in range(2, window + 1):
        background[d:] += inverse[:-d] if d < inverse.shape[0] else 0.0
    return background


def implied_inbreeding(deme: Deme, sizes: np.ndarray, window: int) -> np.ndarray:
    """F of ``deme`` at every step for the frequency engine, float64 [steps]: its
    ``inbreeding`` where it gives no marriage fractions, else the F its marriages
    imply (module docstring) with the pedigree engine's ``window``."""
    if not has_marriages(deme):
        return np.full(sizes.shape[0], deme.inbreeding, dtype=np.float64)
    implied = marriage_inbreeding(deme) + background_inbreeding(sizes, window)
    implied[sizes == 0] = 0.0
    return np.minimum(implied, 1.0 - 1e-12)
