"""Marriage customs mean the same under both engines (popsim/model/inbreeding.py).

One community, written once with marriage fractions, runs under the frequency
engine (zygotes formed with the implied F) and the pedigree engine (marriages
simulated, genotypes counted). Founder-homozygote and compound-heterozygote
frequencies must agree within sampling error: the difference of the two
engines' replicate means within 4 standard errors. With the marriages dropped
(F = 0 in the frequency engine, as before) the founder homozygotes differ by
about F·p(1 − p), several standard errors: the tests check that too, so they
can fail for what they claim.
"""

from __future__ import annotations

import numpy as np
import pytest

from popsim.model.build import build_model
from popsim.model.inbreeding import background_inbreeding, marriage_inbreeding
from popsim.model.scenario import Deme, SizeEpoch
from popsim.simulate import simulate


def community(size: int, generations: int, replicates: int, engine: str,
              marriages: bool = True) -> dict:
    """Two neutral founder alleles at 10% each; 25% first-cousin, 10% second-cousin marriages."""
    deme: dict = {"name": "pop", "size": size}
    if marriages:
        deme |= {"first_cousin_marriage": 0.25, "second_cousin_marriage": 0.1}
    return {
        "scenario": {"name": "community", "generations": generations, "engine": engine,
                     "replicates": replicates, "seed": 11, "record_every": generations},
        "demes": [deme],
        "locus": {"founder_alleles": [
            {"name": "a", "deme": "pop", "frequency": 0.1},
            {"name": "b", "deme": "pop", "frequency": 0.1},
        ]},
    }


def final(raw: dict, statistic: str) -> np.ndarray:
    return simulate(build_model(raw)).final_statistics[statistic][:, 0]


def z_score(x: np.ndarray, y: np.ndarray) -> float:
    return float((x.mean() - y.mean()) / np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size))


def agreement(size: int, generations: int, replicates: int) -> None:
    frequency = community(size, generations, replicates, "frequency")
    pedigree = community(size, generations, replicates, "pedigree")
    for expected, observed in [("founder_homozygotes", "observed_founder_homozygotes"),
                               ("compound_heterozygotes", "observed_compound_heterozygotes")]:
        by_f = final(frequency, expected)
        assert abs(z_score(by_f, final(pedigree, observed))) < 4, expected
        assert abs(z_score(by_f, final(pedigree, expected))) < 4, expected
    outbred = final(community(size, generations, replicates, "frequency", marriages=False),
                    "founder_homozygotes")
    assert z_score(final(pedigree, "observed_founder_homozygotes"), outbred) > 4
    result = simulate(build_model(pedigree))
    f_pedigree = float(np.nanmean(result.inbreeding[:, -1, 0]))
    f_frequency = float(simulate(build_model(frequency)).inbreeding[0, -1, 0])
    assert f_frequency == pytest.approx(f_pedigree, rel=0.1)


def test_both_engines_agree_on_a_small_community():
    agreement(size=2000, generations=10, replicates=300)


@pytest.mark.slow
def test_both_engines_agree_on_a_larger_community():
    agreement(size=10_000, generations=12, replicates=1000)


def test_implied_f_is_the_marriages_plus_the_background_of_the_window():
    deme = Deme("pop", (SizeEpoch(0, 100, 100),), first_cousin_marriage=0.16,
                second_cousin_marriage=0.32, uncle_niece_marriage=0.08)
    assert marriage_inbreeding(deme) == pytest.approx(0.01 + 0.005 + 0.01)
    sizes = np.array([0, 10, 20, 40, 80, 160], dtype=np.int64)
    background = background_inbreeding(sizes, 4)
    assert background == pytest.approx([0, 0, 0, 1 / 20, 1 / 20 + 1 / 40,
                                        1 / 20 + 1 / 40 + 1 / 80])
