"""Demes models as msprime's and stdpopsim's documentation write them, imported and run.

Splits are written there as an ancestor whose ``end_time`` is the time its
descendants start; popsim gives the ancestor an ``end_generation`` and founds
the descendants in that generation. Admixture-founded demes are founded from
their ancestors in their proportions (``founded.from`` an array); a founding
before the scenario's first generation is an error, never dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from popsim.errors import ConfigError
from popsim.model.build import build_model
from popsim.simulate import simulate

#: The Gutenkunst et al. (2009) out-of-Africa model, as the Demes specification's
#: documentation and stdpopsim (HomSap/OutOfAfrica_3G09) write it.
OUT_OF_AFRICA = """\
description: The Gutenkunst et al. (2009) OOA model.
doi:
- https://doi.org/10.1371/journal.pgen.1000695
time_units: years
generation_time: 25
demes:
- name: ancestral
  description: Equilibrium/root population
  epochs:
  - {end_time: 220e3, start_size: 7300}
- name: AMH
  description: Anatomically modern humans
  ancestors: [ancestral]
  epochs:
  - {end_time: 140e3, start_size: 12300}
- name: OOA
  description: Bottleneck out-of-Africa population
  ancestors: [AMH]
  epochs:
  - {end_time: 21.2e3, start_size: 2100}
- name: YRI
  ancestors: [AMH]
  epochs:
  - start_size: 12300
- name: CEU
  ancestors: [OOA]
  epochs:
  - {start_size: 1000, end_size: 29725}
- name: CHB
  ancestors: [OOA]
  epochs:
  - {start_size: 510, end_size: 54090}
migrations:
- {demes: [YRI, OOA], rate: 25e-5}
- {demes: [YRI, CEU], rate: 3e-5}
- {demes: [YRI, CHB], rate: 1.9e-5}
- {demes: [CEU, CHB], rate: 9.6e-5}
"""

#: Isolation with migration, as in msprime's demography documentation: an
#: ancestral population splits into A and B 20 generations ago.
SPLIT = """\
time_units: generations
demes:
- name: ancestral
  epochs:
  - {end_time: 20, start_size: 1000}
- name: A
  ancestors: [ancestral]
  epochs:
  - {start_size: 300}
- name: B
  ancestors: [ancestral]
  epochs:
  - {start_size: 400}
migrations:
- {demes: [A, B], rate: 1e-3}
"""

#: A deme founded by admixture of two ancestors (fwdpy11's Demes vignette).
ADMIXTURE = """\
description: An example demes model
time_units: generations
demes:
 - name: ancestor1
   epochs:
    - start_size: 100
      end_time: 50
 - name: ancestor2
   epochs:
    - start_size: 250
      end_time: 50
 - name: admixed
   start_time: 50
   ancestors: [ancestor1, ancestor2]
   proportions: [0.90, 0.10]
   epochs:
    - start_size: 100
"""


def config(tmp_path: Path, yaml_text: str, generations: int, **locus) -> dict:
    (tmp_path / "model.yaml").write_text(yaml_text, encoding="utf-8")
    return {
        "scenario": {"name": "demes model", "generations": generations, "replicates": 4,
                     "record_every": max(1, generations // 4)},
        "demography": "model.yaml",
        "locus": locus,
    }


def test_the_out_of_africa_model_imports_with_its_splits_and_runs(tmp_path):
    T = 8800  # 220,000 years at 25 years a generation: the whole model
    raw = config(tmp_path, OUT_OF_AFRICA, T, founder_alleles=[
        {"name": "f", "deme": "CEU", "generation": 8000, "frequency": 0.05}])
    model = build_model(raw, base_dir=tmp_path)
    demes = {d.name: d for d in model.scenario.demes}
    assert demes["ancestral"].end_generation == 1  # it ends as AMH begins
    assert demes["AMH"].founded.generation == 1
    assert demes["AMH"].end_generation == T - 5600 + 1  # 140,000 years ago
    assert demes["OOA"].founded.generation == demes["YRI"].founded.generation == T - 5600 + 1
    assert demes["OOA"].end_generation == T - 848 + 1  # 21,200 years ago
    assert demes["CEU"].founded.generation == demes["CHB"].founded.generation == T - 848 + 1
    sizes = model.plan.sizes
    index = model.scenario.deme_index
    assert sizes[T - 848 + 1:, index("OOA")].max() == 0
    assert sizes[T - 848, index("OOA")] == 2100
    assert sizes[-1, index("CHB")] == 54090
    result = simulate(model.scenario)
    final = result.final_statistics["founder_frequency"]
    assert np.isnan(final[:, index("OOA")]).all()  # ended: no individuals
    assert (final[:, index("CEU")] >= 0).all()


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_a_split_runs_under_both_engines(tmp_path, engine):
    raw = config(tmp_path, SPLIT, 30, founder_alleles=[
        {"name": "f", "deme": "ancestral", "generation": 0, "frequency": 0.1}])
    raw["scenario"]["engine"] = engine
    model = build_model(raw, base_dir=tmp_path)
    assert model.plan.sizes[:, 0].tolist() == [1000] * 11 + [0] * 20
    assert model.plan.sizes[11:, 1:].tolist() == [[300, 400]] * 20
    result = simulate(model.scenario)
    frequency = result.final_statistics["founder_frequency"]
    assert np.isnan(frequency[:, 0]).all()
    assert np.isfinite(frequency[:, 1:]).all()


#: msprime's admixture example (docs, "Demography": add_admixture(time=10,
#: derived="ADMIX", ancestral=["A", "B"], proportions=[0.25, 0.75]) after a split
#: of ANC into A and B at time 20), as Demography.to_demes() writes it.
MSPRIME_ADMIXTURE = """\
time_units: generations
demes:
- name: ANC
  epochs:
  - {end_time: 20, start_size: 10000}
- name: A
  ancestors: [ANC]
  epochs:
  - {end_time: 0, start_size: 10000}
- name: B
  ancestors: [ANC]
  epochs:
  - {end_time: 0, start_size: 10000}
- name: ADMIX
  start_time: 10
  ancestors: [A, B]
  proportions: [0.25, 0.75]
  epochs:
  - {end_time: 0, start_size: 10000}
"""


def test_an_admixture_founded_deme_is_founded_from_its_ancestors_in_proportion(tmp_path):
    model = build_model(config(tmp_path, ADMIXTURE, 60), base_dir=tmp_path)
    admixed = model.scenario.demes[2]
    assert admixed.founded.sources == (("ancestor1", 0.9), ("ancestor2", pytest.approx(0.1)))
    plan = model.plan
    step = admixed.founded.generation  # no burn-in: step τ makes generation τ
    assert step == 11
    row = plan.migration[plan.migration_index[step], 2]
    assert row.tolist() == pytest.approx([0.9, 0.1, 0.0])
    assert plan.sizes[step - 1, :2].tolist() == [100, 250] and plan.sizes[step, :2].sum() == 0


@pytest.mark.parametrize("engine", ["frequency", "pedigree"])
def test_msprime_admixture_runs_and_draws_the_founders_from_both_sources(tmp_path, engine):
    """A founder allele only in B reaches ADMIX at 0.75 of B's frequency at founding."""
    raw = config(tmp_path, MSPRIME_ADMIXTURE, 20, founder_alleles=[
        {"name": "f", "deme": "B", "generation": 1, "frequency": 0.2}])
    raw["scenario"].update(engine=engine, replicates=8, record_every=1)
    model = build_model(raw, base_dir=tmp_path)
    assert model.plan.sizes[:11, 3].sum() == 0 and model.plan.sizes[11, 3] == 10_000
    frequency = simulate(model.scenario).statistics["founder_frequency"]  # [R, T + 1, D]
    assert np.isnan(frequency[:, 10, 3]).all() and (frequency[:, 10, 2] > 0.1).all()
    founded, parents = frequency[:, 11, 3], frequency[:, 10, 2]
    assert np.all(np.abs(founded - 0.75 * parents) < 0.02), (founded, parents)
    assert (np.nan_to_num(frequency[:, :, :2]) == 0).all()  # never in ANC or A


def test_a_founding_from_several_demes_is_checked(tmp_path):
    raw = {
        "scenario": {"name": "x", "generations": 10},
        "demes": [{"name": "a", "size": 100}, {"name": "b", "size": 100},
                  {"name": "c", "size": 50,
                   "founded": {"generation": 5, "from": ["a", "b"], "proportions": [0.5, 0.6],
                               "founders": 50}}],
    }
    with pytest.raises(ConfigError, match=r"demes\[2\]\.founded\.proportions = .*sum to 1"):
        build_model(raw)
    raw["demes"][2]["founded"]["proportions"] = [0.5]
    with pytest.raises(ConfigError, match="an array of 2 numbers"):
        build_model(raw)
    raw["demes"][2]["founded"]["from"] = ["a", "x"]
    raw["demes"][2]["founded"]["proportions"] = [0.5, 0.5]
    with pytest.raises(ConfigError, match=r"founded\.from = 'x': is not a deme"):
        build_model(raw)
    raw["demes"][2]["founded"]["from"] = "a"
    with pytest.raises(ConfigError, match=r"only with an array founded\.from"):
        build_model(raw)


def test_a_founding_before_the_first_generation_is_an_error_not_dropped(tmp_path):
    with pytest.raises(ConfigError) as info:
        build_model(config(tmp_path, SPLIT, 15), base_dir=tmp_path)
    assert "deme 'A' (demes[1]) is founded at start_time = 20 generations" in str(info.value)
    assert "at least 20" in str(info.value)


def test_a_founder_allele_before_the_founding_says_when_the_deme_is_founded(tmp_path):
    raw = config(tmp_path, SPLIT, 20, founder_alleles=[
        {"name": "f", "deme": "A", "generation": 0, "copies": 1}])
    with pytest.raises(ConfigError) as info:
        build_model(raw, base_dir=tmp_path)
    assert "deme 'A' has no individuals then (it is founded at generation 1)" in str(info.value)
    raw["locus"]["founder_alleles"][0]["deme"] = "ancestral"
    raw["locus"]["founder_alleles"][0]["generation"] = 5
    with pytest.raises(ConfigError) as info:
        build_model(raw, base_dir=tmp_path)
    assert "(it ended at generation 1)" in str(info.value)
