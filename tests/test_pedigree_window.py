"""The pedigree engine's F for expected genotypes is unbiased under heavy consanguinity.

With 50% first-cousin and 20% second-cousin marriages a 4-generation ancestry
window misses the relatedness of the spouses' families (docs/pedigree.md, "The
ancestry window"), so observed founder homozygotes exceed the expected ones.
The default window is deeper there; observed − expected founder homozygotes
must lie within 3 standard errors of zero over 64 replicates, and the F over
a window one generation shorter shows that F has converged.
"""

from __future__ import annotations

import numpy as np
import pytest

from popsim.model.build import build_model
from popsim.simulate import simulate


def heavy(size: int, window: int | None = None, replicates: int = 64) -> dict:
    scenario = {"name": "heavy consanguinity", "generations": 8, "engine": "pedigree",
                "replicates": replicates, "seed": 7, "record_every": 8}
    if window is not None:
        scenario["ancestry_generations"] = window
    return {
        "scenario": scenario,
        "demes": [{"name": "pop", "size": size, "first_cousin_marriage": 0.5,
                   "second_cousin_marriage": 0.2}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.5}]},
    }


def final(raw: dict) -> dict[str, np.ndarray]:
    model = build_model(raw)
    return {k: v[:, 0] for k, v in simulate(model).final_statistics.items()}


def unbiased(size: int) -> None:
    assert build_model(heavy(size)).plan.ancestry_generations == 8  # the deep default
    stats = final(heavy(size))
    diff = stats["observed_founder_homozygotes"] - stats["founder_homozygotes"]
    z = diff.mean() / (diff.std(ddof=1) / np.sqrt(diff.size))
    assert abs(z) < 3, z
    f, shorter = stats["pedigree_inbreeding"].mean(), stats["pedigree_inbreeding_shorter_window"]
    assert 0 < f - shorter.mean() < 0.05 * f  # converged: the last generation adds < 5%
    assert f > 0.04


def test_observed_and_expected_homozygotes_agree_under_heavy_consanguinity():
    unbiased(2000)


@pytest.mark.slow
def test_observed_and_expected_homozygotes_agree_at_the_issue_size():
    unbiased(20_000)


def test_a_four_generation_window_reports_a_lower_f_there():
    """What the deep default corrects (the issue: 0.0349 against 0.0449)."""
    short = final(heavy(2000, window=4, replicates=8))["pedigree_inbreeding"].mean()
    deep = final(heavy(2000, window=8, replicates=8))["pedigree_inbreeding"].mean()
    assert deep - short > 0.006


def test_the_shorter_window_misses_exactly_the_ancestors_of_the_last_generation():
    """Window 3 sees first cousins' shared grandparents; window 2 sees only shared parents."""
    raw = heavy(1000, window=3, replicates=2)
    raw["demes"][0]["second_cousin_marriage"] = 0.0
    raw["demes"][0]["first_cousin_marriage"] = 1.0
    stats = final(raw)
    assert (stats["pedigree_inbreeding"] > 0.03).all()  # 1/16 where a cousin was found
    assert (stats["pedigree_inbreeding_shorter_window"] < 0.01).all()
