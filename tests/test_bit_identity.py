"""Seeded results are bit-identical across refactorings of the engines.

Each case runs through the public API and hashes what the engines returned
(the records and, for the pedigree engine, the observed counts). A change to
the engines that is meant to keep every seeded number must leave every digest
as it is; one that changes them on purpose (a new seed rule) updates the
digests in the same commit and says so. The cases cover every shipped
frequency config, the benchmark model at N = 10³…10⁶ with u = 0, 10⁻⁶ and
10⁻⁵, a capacity overflow, and the pedigree engine's paths (random mating,
first/second cousins and uncle–niece marriages, mutation, a replicate split
across threads, the shipped pedigree config). Thread counts are covered by
tests/test_threads.py; here the default thread count runs each case. The
digests also hold this platform's floating-point library and compiler (the
samplers take logarithms): on another OS or processor a differing digest is
not by itself a regression.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import popsim
from popsim.errors import SimulationError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _benchmark_model(n: int, u: float) -> dict:
    """The shared benchmark model: one deme, recessive s = 0.1, q₀ = 0.05, 200 generations."""
    return {
        "scenario": {"name": "benchmark", "generations": 200, "record_every": 50},
        "demes": [{"name": "pop", "size": n}],
        "locus": {
            "pathogenic_mutation_rate": u,
            "selection": {"affected": 0.1},
            "founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.05}],
        },
    }


def _pedigree_model(n: int, generations: int, **deme: float) -> dict:
    return {
        "scenario": {"name": "pedigree", "generations": generations, "engine": "pedigree",
                     "record_every": max(1, generations // 4)},
        "demes": [{"name": "pop", "size": n, **deme}],
        "locus": {
            "selection": {"affected": 0.1},
            "founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.05}],
        },
    }


def _digest(result: popsim.Result) -> str:
    h = hashlib.sha256(np.ascontiguousarray(result.records).tobytes())
    if result.observed is not None:
        h.update(np.ascontiguousarray(result.observed).tobytes())
    return h.hexdigest()[:16]


def _config(name: str, replicates: int) -> popsim.Result:
    scenario = popsim.load_scenario(CONFIGS / name)
    return popsim.simulate(scenario, replicates=replicates)


def _dict(raw: dict, replicates: int, seed: int = 11) -> popsim.Result:
    return popsim.simulate(popsim.scenario_from_dict(raw), replicates=replicates, seed=seed)


def _mutation_pedigree() -> dict:
    raw = _pedigree_model(3000, 40, first_cousin_marriage=0.1)
    raw["locus"]["pathogenic_mutation_rate"] = 1e-4
    return raw


CASES = {
    "outbred_reference": lambda: _config("outbred_reference.toml", 16),
    "iranian_jewish_m712t": lambda: _config("iranian_jewish_m712t.toml", 16),
    "iranian_jewish_m712t_demes": lambda: _config("iranian_jewish_m712t_demes.toml", 16),
    "japanese_two_founders": lambda: _config("japanese_two_founders.toml", 16),
    "mari_a57f": lambda: _config("mari_a57f.toml", 16),
    **{
        f"benchmark N={n:.0e} u={u:g}": (lambda n=n, u=u: _dict(_benchmark_model(n, u), 70))
        for n in (10**3, 10**4, 10**5, 10**6)
        for u in (0.0, 1e-6, 1e-5)
    },
    "pedigree random mating": lambda: _dict(_pedigree_model(2000, 30), 4),
    "pedigree cousins": lambda: _dict(
        _pedigree_model(3000, 30, first_cousin_marriage=0.3, second_cousin_marriage=0.2,
                        uncle_niece_marriage=0.05), 4),
    "pedigree mutation": lambda: _dict(_mutation_pedigree(), 3),
    "pedigree within": lambda: _dict(_pedigree_model(25_000, 6, first_cousin_marriage=0.2), 1),
    "pedigree config": lambda: _config("iranian_jewish_m712t_pedigree.toml", 4),
}

#: Digests of seed rule 2: 64-bit replicate seeds (popsim.engines.rng.SEED_RULE).
DIGESTS = {
    "benchmark N=1e+03 u=0": "a11525151cee6549",
    "benchmark N=1e+03 u=1e-05": "445b0757c8bc25d7",
    "benchmark N=1e+03 u=1e-06": "a60605270d14ef69",
    "benchmark N=1e+04 u=0": "65195ef0963f4d4d",
    "benchmark N=1e+04 u=1e-05": "2ff1d0ddc0023c37",
    "benchmark N=1e+04 u=1e-06": "401cb127acf53267",
    "benchmark N=1e+05 u=0": "f41c091d7f27501f",
    "benchmark N=1e+05 u=1e-05": "41725a8466938076",
    "benchmark N=1e+05 u=1e-06": "8f7cf1e54e95b005",
    "benchmark N=1e+06 u=0": "f83fd739e4be5ea8",
    "benchmark N=1e+06 u=1e-05": "0862005156ed56e0",
    "benchmark N=1e+06 u=1e-06": "e125be775315ca47",
    "iranian_jewish_m712t": "db053c27a754883f",
    "iranian_jewish_m712t_demes": "1f2c45fd328c2abe",
    "japanese_two_founders": "837b34ce4f936745",
    "mari_a57f": "d6054d99a5483ed1",
    "outbred_reference": "ebf46fbf2c6d3da7",
    "pedigree config": "cd52aec4ee77873a",
    "pedigree cousins": "b98d3a01b403824f",
    "pedigree mutation": "14b2ed2a42718b85",
    "pedigree random mating": "291f9094560502f2",
    "pedigree within": "870c549abcb5ee3e",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_results_are_unchanged(case: str) -> None:
    assert _digest(CASES[case]()) == DIGESTS[case]


def test_capacity_overflow_is_reported_at_the_same_place() -> None:
    raw = _benchmark_model(10**5, 1e-4)
    raw["locus"]["max_alleles"] = 8
    with pytest.raises(SimulationError) as error:
        _dict(raw, 8)
    assert str(error.value).startswith(CAPACITY_MESSAGE)


CAPACITY_MESSAGE = (
    "replicate 0, generation 1, deme 'pop': more than locus.max_alleles = 8 "
    "mutation-born alleles segregate at once"
)
