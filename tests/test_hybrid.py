"""The hybrid run (popsim.engines.hybrid): demes of individuals inside frequency-engine hosts.

What is checked: the config rules (a hybrid needs individuals and a host; genes
flow only from hosts to individuals); founders are zygotes of the host's gene
pool of the generation before, with the host's F, the host's mutation-born
alleles kept distinct (their counts against the host's recorded frequencies);
a community under random mating gives the same genotype-class frequencies as
the pure frequency engine; the same numbers on one and two threads.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from popsim import simulate
from popsim.cli import main
from popsim.engines.hybrid import simulate_hybrid
from popsim.engines.layout import founder_columns, observed_column, record_column
from popsim.errors import ConfigError
from popsim.model.build import build_model, scenario_from_dict
from popsim.model.plan import compile_plan
from popsim.workflows.validation.stats import bonferroni_z

#: Welch z of every comparison below: two-sided family-wise error 0.001.
Z = bonferroni_z(0.001 / 8)


def two_demes(
    host: int = 10_000, founders: int = 2000, community_end: int | None = None,
    generations: int = 1, founded: int = 1, migration: float = 0.0, host_f: float = 0.0,
    u: float = 2e-4, burn_in: int = 200, replicates: int = 400,
) -> dict:
    """A host with a named allele ``h`` at 30% and its own mutation-born alleles
    (neutral, ``u`` per copy for ``burn_in`` generations), and a community of
    individuals founded from it at generation ``founded`` (2 copies of ``f``)."""
    community = {
        "name": "community", "individuals": True,
        "size": {"start": founders, "end": community_end or founders, "growth": "exponential"},
        "founded": {"generation": founded, "from": "host", "founders": founders},
    }
    raw = {
        "scenario": {"name": "hybrid", "engine": "hybrid", "generations": generations,
                     "burn_in": burn_in, "replicates": replicates, "seed": 11},
        "demes": [{"name": "host", "size": host, "inbreeding": host_f}, community],
        "locus": {"pathogenic_mutation_rate": u, "max_alleles": 1024,
                  "founder_alleles": [
                      {"name": "h", "deme": "host", "frequency": 0.3},
                      {"name": "f", "deme": "community", "generation": founded, "copies": 2},
                  ]},
    }
    if migration:
        raw["migration"] = [{"source": "host", "dest": "community", "rate": migration}]
    return raw


# --------------------------------------------------------------------------- config


def test_individuals_need_the_hybrid_engine():
    raw = two_demes()
    raw["scenario"]["engine"] = "frequency"
    with pytest.raises(ConfigError, match=r"demes\[1\]\.individuals.*scenario.engine = 'hybrid'"):
        scenario_from_dict(raw)


@pytest.mark.parametrize("marked", [(False, False), (True, True)])
def test_a_hybrid_needs_individuals_and_a_host(marked):
    raw = two_demes()
    for deme, flag in zip(raw["demes"], marked, strict=True):
        deme["individuals"] = flag
    raw["demes"][1].pop("founded")
    with pytest.raises(ConfigError, match="needs at least one deme with individuals = true"):
        scenario_from_dict(raw)


def test_genes_flow_only_from_hosts_to_individuals():
    raw = two_demes(generations=3)
    raw["migration"] = [{"source": "community", "dest": "host", "rate": 0.01,
                         "start_generation": 2}]
    with pytest.raises(ConfigError, match=r"migration\[0\]\.source.*cannot send migrants"):
        scenario_from_dict(raw)
    raw = two_demes()
    raw["demes"].append({"name": "colony", "size": 50,
                         "founded": {"generation": 3, "from": "community", "founders": 50}})
    raw["scenario"]["generations"] = 4
    with pytest.raises(ConfigError, match=r"demes\[2\]\.founded\.from.*flow one way"):
        scenario_from_dict(raw)


def test_settings_follow_the_engine_of_each_deme():
    """A host takes F or marriage fractions (the frequency engine's rule: the F they
    imply, as in a frequency-engine run of the same deme); a deme of individuals
    takes marriages, not F."""
    raw = two_demes()
    raw["demes"][0].pop("inbreeding")
    raw["demes"][0]["first_cousin_marriage"] = 0.16
    hybrid = compile_plan(scenario_from_dict(raw))
    raw["scenario"]["engine"] = "frequency"
    raw["demes"][1].pop("individuals")
    frequency = compile_plan(scenario_from_dict(raw))
    np.testing.assert_array_equal(hybrid.inbreeding[:, 0], frequency.inbreeding[:, 0])
    assert hybrid.inbreeding[-1, 0] >= 0.01  # 16% first cousins: 0.16/16 and background
    raw = two_demes()
    raw["demes"][1]["inbreeding"] = 0.01
    with pytest.raises(ConfigError, match=r"demes\[1\]\.inbreeding.*marriages between relatives"):
        scenario_from_dict(raw)


# --------------------------------------------------------------------------- founders


def z_score(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> float:
    """(Σ observed − Σ expected) / √Σ variance over replicates."""
    return float((observed.sum() - expected.sum()) / np.sqrt(variance.sum()))


@pytest.mark.parametrize("host", [{"inbreeding": 0.0}, {"inbreeding": 0.25},
                                  {"inbreeding": 0.0, "first_cousin_marriage": 1.0}],
                         ids=["F=0", "F=0.25", "first cousins"])
def test_founders_are_zygotes_of_the_host_gene_pool(host):
    """2,000 founders drawn at generation 1 from the host's copies at generation 0
    (recorded): copies of ``h`` are Binomial(2n, p) with variance inflated by
    1 + F; h/h founders n(p²(1−F) + pF); homozygotes of one host mutation-born
    allele n(Σp_i²(1−F) + q_o·F) and compound heterozygotes n(1−F)(Q² − Σp²)
    (the host's alleles stay distinct: merged, the homozygotes would be n·q_o²).
    Founders are not selected (s = 0); mutation in them adds about 0.8 copies. A host
    of first-cousin marriages gives its founders the F those imply (1/16 and the
    background), as a host with that F would."""
    raw = two_demes()
    raw["demes"][0].update(host)
    scenario = scenario_from_dict(raw)
    plan = compile_plan(scenario)
    host_f = float(plan.inbreeding[plan.burn_in + 1, 0])  # the host's F at the draw
    assert host_f == pytest.approx(1 / 16 if "first_cousin_marriage" in host
                                   else host["inbreeding"], abs=1e-3)
    result = simulate(scenario)
    n = 2000
    host, community = result.records[:, 0, 0], result.records[:, 1, 1]  # generation 0, 1
    two_n_host = 2.0 * record_column(host, "size")
    p = founder_columns(host)[:, 0] / two_n_host
    other = record_column(host, "other") / two_n_host
    sumsq_other = record_column(host, "other_sumsq") / two_n_host**2
    q = p + other
    copies = founder_columns(community)[:, 0]
    assert abs(z_score(copies, 2 * n * p, 2 * n * p * (1 - p) * (1 + host_f))) < Z
    ratio = np.var(copies - 2 * n * p) / np.mean(2 * n * p * (1 - p))
    assert abs(ratio - (1 + host_f)) < Z * (1 + host_f) * np.sqrt(2 / len(p))
    observed = result.observed[:, 1, 1]

    def check(name: str, expected: np.ndarray) -> None:
        counts = observed_column(observed, name)
        assert abs(z_score(counts, expected, expected)) < Z, name

    # founder homozygotes count both named alleles; f has 2 copies (1 homozygote at most)
    check("observed_founder_homozygotes", n * (p**2 * (1 - host_f) + p * host_f))
    check("observed_other_homozygotes", n * (sumsq_other * (1 - host_f) + other * host_f))
    check("observed_compound_heterozygotes", n * (1 - host_f) * (q**2 - p**2 - sumsq_other))
    assert np.isclose(result.inbreeding[:, 1, 1], host_f).all()  # founders have unknown parents
    assert (observed_column(result.observed, "individuals")[:, :, 0] == 0).all()  # no host people


# --------------------------------------------------------------------------- agreement


def genotype_classes(result, deme: int) -> dict[str, np.ndarray]:
    """Per replicate, the final random-mating genotype-class frequencies of ``deme``
    from its allele frequencies (one named allele): founder homozygotes, other
    homozygotes, compound heterozygotes."""
    last = result.records[:, -1, deme]
    two_n = 2.0 * record_column(last, "size")
    named = founder_columns(last)[:, 0] / two_n
    other = record_column(last, "other") / two_n
    sumsq = record_column(last, "other_sumsq") / two_n**2
    q = named + other
    return {"founder": named**2, "other": sumsq, "compound": q**2 - named**2 - sumsq}


def welch(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))


def agreement(founders: int, end: int, generations: int, replicates: int) -> None:
    """The community written once runs as individuals (hybrid) and as allele counts
    (frequency engine, F = 0), random mating, migrants from a host with its own
    mutation-born alleles: the final founder-homozygote, other-homozygote and
    compound-heterozygote frequencies agree (Welch z), and so do the hybrid's
    observed genotype counts with the frequency engine's expectation."""
    raw = two_demes(founders=founders, community_end=end, generations=generations, founded=0,
                    migration=0.01, u=1e-4, burn_in=300, replicates=replicates)
    raw["locus"]["founder_alleles"] = [
        {"name": "f", "deme": "community", "generation": 0, "copies": max(2, founders // 25)}
    ]
    hybrid = simulate(scenario_from_dict(raw))
    plain = copy.deepcopy(raw)
    plain["scenario"]["engine"] = "frequency"
    plain["scenario"]["seed"] = 12
    plain["demes"][1].pop("individuals")
    frequency = simulate(scenario_from_dict(plain))
    classes = [genotype_classes(r, 1) for r in (hybrid, frequency)]
    final = hybrid.observed[:, -1, 1]
    people = observed_column(final, "individuals")
    seen = {"founder": "observed_founder_homozygotes", "other": "observed_other_homozygotes",
            "compound": "observed_compound_heterozygotes"}
    for name, column in seen.items():
        assert abs(welch(classes[0][name], classes[1][name])) < Z, name
        observed = observed_column(final, column) / people
        assert abs(welch(observed, classes[1][name])) < Z, name


def test_random_mating_community_agrees_with_the_frequency_engine():
    agreement(founders=100, end=1000, generations=10, replicates=600)


@pytest.mark.slow
def test_random_mating_community_agrees_with_the_frequency_engine_at_scale():
    agreement(founders=500, end=10_000, generations=30, replicates=2000)


# --------------------------------------------------------------------------- threads


def test_both_parallel_layouts_give_the_same_numbers():
    """The pedigree engine's replicates in parallel and its blocks in parallel
    (each replicate split across threads) are the same computation in a hybrid run."""
    raw = two_demes(founders=300, community_end=3000, generations=5, founded=0, migration=0.05,
                    host_f=0.05, u=1e-3, burn_in=30, replicates=4)
    raw["demes"][1]["first_cousin_marriage"] = 0.2
    plan = build_model(raw).plan
    seeds = np.array([3, 8, 12, 40], dtype=np.uint64)
    within = simulate_hybrid(plan, seeds, within=True)
    across = simulate_hybrid(plan, seeds, within=False)
    for name in ("records", "status", "observed"):
        np.testing.assert_array_equal(getattr(within, name), getattr(across, name))
    assert (record_column(within.records, "other")[:, -1, 1] > 0).all()  # host alleles came

THREAD_SCRIPT = """
import hashlib
import numpy as np
from popsim.engines.hybrid import simulate_hybrid
from popsim.model.build import build_model
raw = {"scenario": {"name": "t", "engine": "hybrid", "generations": 6, "burn_in": 50},
       "demes": [{"name": "host", "size": 5000, "inbreeding": 0.02},
                 {"name": "c", "individuals": True, "size": 6000, "first_cousin_marriage": 0.2,
                  "founded": {"generation": 0, "from": "host", "founders": 3000}}],
       "migration": [{"source": "host", "dest": "c", "rate": 0.05}],
       "locus": {"pathogenic_mutation_rate": 1e-3, "max_alleles": 2048,
                 "founder_alleles": [{"name": "f", "deme": "c", "copies": 30}]}}
out = simulate_hybrid(build_model(raw).plan, np.arange(1, 7, dtype=np.uint64))
digest = hashlib.sha256()
for array in (out.records, out.status, out.observed):
    digest.update(array.tobytes())
print(digest.hexdigest())
"""


def test_identical_results_on_any_thread_count_and_threading_layer(layouts_agree):
    """One thread, two on TBB and two on workqueue give the same numbers."""
    layouts_agree(THREAD_SCRIPT)


# --------------------------------------------------------------------------- the preset


def test_the_hybrid_preset_runs_and_compares(tmp_path, capsys):
    """`popsim run` writes which engine simulated which deme; `popsim compare` runs
    the preset beside the frequency-engine one."""
    out = tmp_path / "run"
    args = ["--replicates", "4"]
    assert main(["run", "iranian_jewish_m712t_pedigree", *args, "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["engine"] == "hybrid"
    assert manifest["run"]["deme_engines"] == {"iranian_host": "frequency",
                                               "persian_jews": "pedigree"}
    capsys.readouterr()
    assert main(["compare", "iranian_jewish_m712t", "iranian_jewish_m712t_pedigree", *args]) == 0
    assert "Persian Jews (iranian_jewish_m712t_pedigree)" in capsys.readouterr().out
