"""Config validation: one test per rule, ``--set`` addressing, and the Demes import.

Every error test asserts that the one-line message names the dotted key and
the offending value (and, where it helps, what is allowed).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import demes
import numpy as np
import pytest

from popsim.errors import ConfigError
from popsim.model.build import load_scenario, scenario_from_dict
from popsim.model.config import MAX_DEMES, apply_overrides, merged, parse_override, set_dotted
from popsim.model.plan import compile_plan

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

TWO_DEMES = {
    "scenario": {"name": "two demes", "generations": 20, "replicates": 10, "seed": 3},
    "demes": [
        {"name": "host", "size": 1000},
        {
            "name": "community",
            "size": {"start": 50, "end": 400, "growth": "exponential"},
            "founded": {"generation": 5, "from": "host", "founders": 50},
            "inbreeding": 0.02,
        },
    ],
    "migration": [{"source": "host", "dest": "community", "rate": 0.01, "start_generation": 6}],
    "locus": {
        "founder_alleles": [{"name": "M712T", "deme": "community", "generation": 5, "copies": 1}]
    },
}


def config(**changes) -> dict:
    """A copy of TWO_DEMES with dotted changes (``__`` stands for ``.``)."""
    raw = copy.deepcopy(TWO_DEMES)
    for key, value in changes.items():
        set_dotted(raw, key.replace("__", "."), value)
    return raw


def nested(depth: int) -> list:
    node: list = []
    for _ in range(depth):
        node = [node]
    return node


def message(raw: dict) -> str:
    """The ConfigError message of ``scenario_from_dict(raw)`` (fails if none): the
    schedule's rules are checked there too, not only when a plan is compiled."""
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(raw)
    text = str(info.value)
    assert "\n" not in text
    return text


def without(raw: dict, *path: str | int) -> dict:
    node = raw
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return raw


def test_base_config_is_valid():
    plan = compile_plan(scenario_from_dict(config()))
    assert plan.sizes[plan.burn_in + 5, 1] == 50  # founders
    assert plan.sizes[-1, 1] == 400


# ------------------------------------------------------------------ one test per rule

RULES = [
    # (config, substrings the message must contain)
    (config(scenario__genrations=10), ["scenario.genrations", "did you mean 'generations'"]),
    ({**config(), "migrations": []}, ["migrations", "did you mean 'migration'"]),
    (config(demes__host__inbreding=0.1), ["demes[0].inbreding", "did you mean 'inbreeding'"]),
    (config(scenario__generations="20"), ["scenario.generations = '20'", "whole number"]),
    (config(scenario__generations=20.5), ["scenario.generations = 20.5", "whole number"]),
    (config(demes__host__inbreeding=True), ["demes[0].inbreeding = True", "must be a number"]),
    (config(demes__host__inbreeding=math.nan), ["demes[0].inbreeding = nan", "finite"]),
    (config(locus__pathogenic_mutation_rate=math.inf),
     ["locus.pathogenic_mutation_rate = inf", "finite"]),
    (config(migration__0__rate=-math.inf), ["migration[0].rate = -inf", "finite"]),
    (config(scenario__replicates=10**30), ["scenario.replicates = 10000000000000", "[1, 1e+07]"]),
    (config(scenario__seed=10**5000), ["scenario.seed = <int too large to show>"]),
    (config(locus__selection__affected=10**400), ["locus.selection.affected", "finite"]),
    (config(scenario__seed=-1), ["scenario.seed = -1", "[0, "]),
    (config(demes__host__size=-5), ["demes[0].size = -5", "[1, 1e+09]"]),
    (config(demes__host__size=0), ["demes[0].size = 0", "[1, 1e+09]"]),
    (config(demes__host__size=20.5), ["demes[0].size = 20.5", "whole number"]),
    (config(demes__host__size=True), ["demes[0].size = True", "whole number of diploid"]),
    (config(demes__host__size="big"), ["demes[0].size = 'big'", "whole number of diploid"]),
    (config(demes__host__size=[]), ["demes[0].size = []", "must not be empty"]),
    (config(demes__host__size=[{"generation": 2, "size": 5}]),
     ["demes[0].size = [2]", "start at 0"]),
    (config(demes__host__size=[{"size": 5}, {"generation": 0, "size": 9}]),
     ["demes[0].size = [0, 0]", "increase strictly"]),
    (config(demes__host__size={"start": 5, "end": 9, "growth": "constant"}),
     ["demes[0].size.end = 9", "growth = 'constant'"]),
    (config(demes__host__size={"start": 5, "end": 9, "growth": "logistic"}),
     ["demes[0].size.growth = 'logistic'", "'exponential'"]),
    (config(demes__host__size={"start": 5, "size": 9}), ["demes[0].size.start", "unknown key"]),
    (config(demes__host__size=2 * 10**9), ["demes[0].size = 2000000000", "[1, 1e+09]"]),
    (config(demes__host__inbreeding=1.0), ["demes[0].inbreeding = 1.0", "[0, 1)"]),
    (config(demes__host__inbreeding=-0.1), ["demes[0].inbreeding = -0.1", "[0, 1)"]),
    (config(demes__host__first_cousin_marriage=0.7, demes__host__second_cousin_marriage=0.4),
     ["demes[0].first_cousin_marriage = 1.1", "sum to at most 1"]),
    (config(migration__0__rate=0.6, migration=[
        {"source": "host", "dest": "community", "rate": 0.6, "start_generation": 6},
        {"source": "host", "dest": "community", "rate": 0.6, "start_generation": 6},
    ]), ["migration = \"rates into 'community' summing to 1.2\"", "at most 1"]),
    (config(migration__0__source="hots"),
     ["migration[0].source = 'hots'", "is not a deme", "did you mean 'host'"]),
    (config(migration__0__dest="host"), ["migration[0].dest = 'host'", "must differ"]),
    (config(migration__0__end_generation=6), ["migration[0].end_generation = 6", "[7, "]),
    (config(migration__0__start_generation=0, migration__0__source="community",
            migration__0__dest="host"),
     ["migration[0] = 'community -> host'", "has no individuals at generation"]),
    (config(demes__1__name="host"), ["demes[1].name = 'host'", "used twice"]),
    (config(demes__1__name=""), ["demes[1].name = ''", "1–64 characters"]),
    (config(demes__1__name="gemeinschaft_ü"), ["demes[1].name = 'gemeinschaft_ü'", "a letter"]),
    (config(demes__1__name="社区"), ["demes[1].name = '社区'", "1–64 characters"]),
    (config(demes__1__name=7), ["demes[1].name = 7", "must be a string"]),
    (config(scenario__name=""), ["scenario.name = ''", "non-empty line"]),
    (config(scenario__name="two\nlines"), ["scenario.name = 'two\\nlines'", "non-empty line"]),
    ({**config(), "demes": {"name": "host", "size": 1}},
     ["demes = {", "must be an array of tables ([[demes]])"]),
    ({**config(), "demes": [1]}, ["demes[0] = 1", "must be a table"]),
    ({**config(), "demes": []}, ["demes: at least one [[demes]] table"]),
    ({**config(), "scenario": "x"}, ["scenario = 'x'", "must be a table"]),
    (without(config(), "scenario", "generations"),
     ["scenario.generations: required key is missing"]),
    (without(config(), "scenario"), ["scenario: required key is missing"]),
    (without(config(), "locus"), ["locus: required key is missing"]),
    (config(demes__community__founded__from="hostt"),
     ["demes[1].founded.from = 'hostt'", "did you mean 'host'"]),
    (config(demes__community__founded__from="community"),
     ["demes[1].founded.from = 'community'", "cannot found itself"]),
    (config(demes__community__founded__generation=21),
     ["demes[1].founded.generation = 21", "at most scenario.generations = 20"]),
    (config(demes__host__founded={"generation": 8, "from": "community", "founders": 5}),
     ["demes[1].founded.from = 'host'", "no individuals at generation 4", "cannot found"]),
    (config(locus__founder_alleles__0__frequency=0.1),
     ["locus.founder_alleles[0] = {'copies': 1, 'frequency': 0.1}", "exactly one of"]),
    (without(config(), "locus", "founder_alleles", 0, "copies"),
     ["locus.founder_alleles[0]: give exactly one of copies or frequency"]),
    (config(locus__founder_alleles__0__copies=101),
     ["locus.founder_alleles[0].copies = 101", "2N = 100"]),
    (config(locus__founder_alleles__0__copies=0),
     ["locus.founder_alleles[0].copies = 0", "[1, 2e+09]"]),
    (config(locus__founder_alleles=[
        {"name": "A", "deme": "community", "generation": 5, "copies": 60},
        {"name": "B", "deme": "community", "generation": 5, "copies": 60},
    ]), ["locus.founder_alleles[1].deme = 'community'", "total 120 copies", "2N = 100"]),
    (config(locus__founder_alleles__0__name="normal"),
     ["locus.founder_alleles[0].name = 'normal'", "reserved"]),
    (config(locus__founder_alleles__0__deme="comunity"),
     ["locus.founder_alleles[0].deme = 'comunity'", "did you mean 'community'"]),
    (config(locus__founder_alleles__0__generation=2),
     ["locus.founder_alleles[0].generation = 2", "founded later"]),
    (config(locus__founder_alleles__0__generation=25),
     ["locus.founder_alleles[0].generation = 25", "at most scenario.generations = 20"]),
    (config(locus__founder_alleles=[
        {"name": "A", "deme": "host", "copies": 1}, {"name": "A", "deme": "host", "copies": 2},
    ]), ["locus.founder_alleles[1].name = 'A'", "already introduced into 'host'"]),
    (config(locus__selection__affected=1.5), ["locus.selection.affected = 1.5", "[0, 1]"]),
    (config(locus__max_alleles=0), ["locus.max_alleles = 0", "[1, 1e+06]"]),
    (config(scenario__engine="individual"), ["scenario.engine = 'individual'", "'pedigree'"]),
    (config(scenario__engine=["frequency"]), ["scenario.engine = ['frequency']", "one of"]),
    (config(scenario__generation_time_years=0), ["scenario.generation_time_years = 0.0", "(0,"]),
    ({**config(), "observed": [{"statistic": "incidence", "deme": "host", "value": 0.1}]},
     ["observed[0].statistic = 'incidence'", "'prevalence'"]),
    ({**config(), "observed": [{"statistic": "prevalence", "deme": "host", "value": 2}]},
     ["observed[0].value = 2.0", "[0, 1]"]),
    ({**config(), "demography": 5}, ["demography = 5", "path of a Demes YAML file"]),
    ({**config(), "scenario": {**TWO_DEMES["scenario"], "burn_in": 10**6, "generations": 10**6},
      "demes": [{"name": f"d{i}", "size": 1} for i in range(30)], "migration": [],
      "locus": {}}, ["scenario.generations = 1000000", "size-schedule entries"]),
    ({**config(), "demes": [{"name": f"d{i}", "size": 1} for i in range(MAX_DEMES + 1)]},
     ["demes = '1001 tables'", "at most 1000 demes"]),
    ({**config(), 'weird "key"\n': 1}, ['"weird \\"key\\"\\n"', "unknown key"]),
    (config(demes__host__size=nested(5000)),
     ["demes[0].size[0] = <list too large to show>", "must be a table"]),
]


@pytest.mark.parametrize("raw, expected", RULES, ids=[str(i) for i in range(len(RULES))])
def test_rule_violation_names_key_and_value(raw, expected):
    text = message(raw)
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"


def test_did_you_mean_lists_allowed_keys():
    text = message(config(locus__selection__affectd=0.1))
    assert text.startswith("locus.selection.affectd: unknown key; did you mean 'affected'?")
    assert "allowed keys here: affected, carrier_dominance, heterozygote_advantage" in text


def test_none_counts_as_absent():
    scenario = scenario_from_dict(config(demes__community__inbreeding=None, migration=None))
    assert scenario.demes[1].inbreeding == 0.0 and scenario.migrations == ()
    assert "scenario: required key is missing" in message(config(scenario=None))


def test_integral_floats_are_whole_numbers():
    scenario = scenario_from_dict(config(demes__host__size=1e3, scenario__generations=20.0))
    assert scenario.demes[0].epochs[0].start == 1000
    assert isinstance(scenario.generations, int)


def test_founded_deme_growth_starts_at_founding():
    plan = compile_plan(scenario_from_dict(config()))
    community = plan.sizes[plan.burn_in :, 1]
    assert list(community[:5]) == [0] * 5
    # exponential 50 → 400 over generations 5..20 (anchored at the founding)
    expected = np.rint(50 * 8 ** ((np.arange(5, 21) - 5) / 15))
    np.testing.assert_array_equal(community[5:], expected)


def test_founded_deme_starts_at_its_founders_by_default():
    """size.start may be left out of a founded deme: it is founded.founders."""
    both = scenario_from_dict(config())
    implied = scenario_from_dict(
        config(demes__community__size={"end": 400, "growth": "exponential"})
    )
    assert implied.demes[1].epochs == both.demes[1].epochs
    assert implied.demes[1].epochs[0].start == 50
    np.testing.assert_array_equal(compile_plan(implied).sizes, compile_plan(both).sizes)
    epochs = scenario_from_dict(
        config(demes__community__size=[{"end": 400}, {"generation": 10, "size": 400}])
    ).demes[1].epochs
    assert (epochs[0].start, epochs[0].end, epochs[1].start) == (50, 400, 400)
    # both given: start is kept as written
    given = scenario_from_dict(config(demes__community__size={"start": 80, "end": 400}))
    assert given.demes[1].epochs[0].start == 80
    # an unfounded deme still needs its start
    assert "demes[0].size.start: required key is missing" in message(
        config(demes__host__size={"end": 2000})
    )


# ------------------------------------------------------------------ files


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"config = '.*nope.toml': file not found"):
        load_scenario(missing)
    truncated = tmp_path / "truncated.toml"
    truncated.write_text('[scenario]\nname = "x"\ngenerations = ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"truncated.toml: config: not valid TOML"):
        load_scenario(truncated)
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 2000 + "]" * 2000, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_scenario(deep)
    digits = tmp_path / "digits.toml"
    digits.write_text("a = 1" + "0" * 5000, encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(digits)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_scenario(binary)
    valid = tmp_path / "valid.toml"
    valid.write_text('[scenario]\nname = "x"\ngenerations = 5\n[[demes]]\nname = "p"\n'
                     "size = 10\n[locus]\nmax_alleles = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*valid.toml: locus.max_alleles = 0: must be in"):
        load_scenario(valid)


# ------------------------------------------------------------------ --set addressing


@pytest.mark.parametrize(
    "text, key, value",
    [
        ("demes.host.inbreeding=0.03", "demes.host.inbreeding", 0.03),
        ("scenario.engine=pedigree", "scenario.engine", "pedigree"),
        ('scenario.name="a b"', "scenario.name", "a b"),
        ("demes.0.size=[{size=5}]", "demes.0.size", [{"size": 5}]),
        (" scenario.seed = 12 ", "scenario.seed", 12),
        ("scenario.description=x = y", "scenario.description", "x = y"),
    ],
)
def test_parse_override(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("text", ["no_equals", "=5", "scenario.name=a\nb"])
def test_parse_override_refuses(text):
    with pytest.raises(ConfigError, match="--set"):
        parse_override(text)


def test_set_addresses_tables_by_name_and_index():
    raw = merged(config(), {
        "demes.community.inbreeding": 0.05,
        "demes.0.size": 2000,
        "locus.founder_alleles.M712T.copies": 3,
        "migration.0.rate": 0.02,
        "locus.selection.affected": 0.1,
    })
    scenario = scenario_from_dict(raw)
    assert scenario.demes[1].inbreeding == 0.05
    assert scenario.demes[0].epochs[0].start == 2000
    assert scenario.locus.founder_alleles[0].copies == 3
    assert scenario.migrations[0].rate == 0.02
    assert scenario.locus.selection.affected == 0.1
    assert TWO_DEMES["demes"][1].get("inbreeding") == 0.02  # merged() copies


@pytest.mark.parametrize(
    "key, expected",
    [
        ("demes.village.inbreeding", "demes.village: no entry with that name or index (0–1); "
                                     "names: 'host', 'community'"),
        ("demes.5.inbreeding", "demes.5: no entry"),
        ("demes.0", "demes.0 = 1: must name a key inside the selected entry"),
        ("scenario.name.first", "scenario.name = 'two demes': is not a table"),
        ("scenario..name", "every dotted segment must be non-empty"),
        ("demes.².inbreeding", "demes.²: no entry"),
    ],
)
def test_set_addressing_errors(key, expected):
    with pytest.raises(ConfigError) as info:
        merged(config(), {key: 1})
    assert expected in str(info.value)


def test_set_unknown_key_is_refused_with_did_you_mean():
    raw = merged(config(), {"scenario.replicate": 5})
    with pytest.raises(ConfigError, match="did you mean 'replicates'"):
        scenario_from_dict(raw)


def test_load_scenario_applies_overrides_and_names_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[scenario]\nname = "x"\ngenerations = 5\n[[demes]]\nname = "p"\n'
                    "size = 10\n[locus]\n", encoding="utf-8")
    assert load_scenario(path, {"demes.p.inbreeding": 0.1}).demes[0].inbreeding == 0.1
    with pytest.raises(ConfigError, match=r"c.toml: demes\[0\].inbreeding = 1.5: must be in"):
        load_scenario(path, {"demes.p.inbreeding": 1.5})


# ------------------------------------------------------------------ Demes import

HOST_COMMUNITY = """\
time_units: generations
demes:
  - name: host
    description: the host
    epochs:
      - {start_size: 5000, end_time: 30}
      - {start_size: 8000, end_time: 0}
  - name: community
    ancestors: [host]
    start_time: 40
    epochs:
      - {start_size: 100, end_size: 100, end_time: 20}
      - {start_size: 100, end_size: 3000, size_function: exponential, end_time: 10}
      - {start_size: 3000, end_size: 1000, size_function: linear, end_time: 0}
  - name: town
    ancestors: [host]
    start_time: 500
    epochs:
      - {start_size: 700}
migrations:
  - {source: host, dest: community, rate: 0.01, start_time: 30, end_time: 10}
  - {demes: [host, town], rate: 0.002}
pulses:
  - {sources: [town], dest: community, time: 15, proportions: [0.2]}
  - {sources: [host], dest: community, time: 15, proportions: [0.1]}
  - {sources: [town], dest: host, time: 60, proportions: [0.5]}
"""


def demes_config(tmp_path: Path, yaml_text: str, generations: int = 50, **extra) -> dict:
    (tmp_path / "model.yaml").write_text(yaml_text, encoding="utf-8")
    raw = {
        "scenario": {"name": "demes", "generations": generations},
        "demography": "model.yaml",
        "locus": {},
    }
    raw.update(extra)
    return raw


def demes_scenario(tmp_path: Path, yaml_text: str, generations: int = 50, **extra):
    raw = demes_config(tmp_path, yaml_text, generations, **extra)
    return scenario_from_dict(raw, base_dir=tmp_path)


def demes_error(tmp_path: Path, yaml_text: str, generations: int = 50, **extra) -> str:
    with pytest.raises(ConfigError) as info:
        compile_plan(demes_scenario(tmp_path, yaml_text, generations, **extra))
    text = str(info.value)
    assert "\n" not in text
    return text


def test_demes_round_trip_sizes(tmp_path):
    T = 50
    scenario = demes_scenario(tmp_path, HOST_COMMUNITY, T)
    with pytest.warns(UserWarning, match="Multiple pulses"):
        graph = demes.load(tmp_path / "model.yaml")
    plan = compile_plan(scenario)
    assert scenario.deme_names == ("host", "community", "town")
    assert scenario.demes[0].description == "the host"
    assert scenario.demes[1].founded.generation == T - 40 + 1
    assert scenario.demes[1].founded.source == "host"
    assert scenario.demes[2].founded is None  # start_time 500 > T: present from generation 0
    for i, name in enumerate(scenario.deme_names):
        for g in range(T + 1):
            size = plan.sizes[plan.burn_in + g, i]
            if g == T - 40 + 1 and name == "community":
                assert size == 100  # the founders: the first epoch's start_size
                continue
            expected = graph[name].size_at(T - g)
            # popsim rounds each epoch's end sizes to whole diploids and interpolates
            # between them: at most one diploid off, plus relative 1/(smallest size).
            smallest = min(min(e.start_size, e.end_size) for e in graph[name].epochs)
            assert abs(size - expected) <= 1 + expected / smallest, (name, g, size, expected)


def test_demes_round_trip_migration_and_pulses(tmp_path):
    T = 50
    scenario = demes_scenario(tmp_path, HOST_COMMUNITY, T)
    plan = compile_plan(scenario)
    host, community, town = 0, 1, 2

    def rate(g, dest, source):
        return plan.migration[plan.migration_index[plan.burn_in + g]][dest, source]

    # host -> community over times 10 <= t < 30: generations 21..40
    assert rate(20, community, host) == 0 and rate(21, community, host) == 0.01
    assert rate(40, community, host) == 0.01 and rate(41, community, host) == 0
    # symmetric host <-> town since before generation 0
    for g in (1, T):
        assert rate(g, town, host) == rate(g, host, town) == 0.002
    # two pulses at time 15 → generation 35, composed in file order: town 0.2·(1 − 0.1)
    assert rate(35, community, town) == pytest.approx(0.18)
    assert rate(35, community, host) == pytest.approx(0.1 + 0.01)
    assert rate(34, community, town) == rate(36, community, town) == 0
    # the pulse at time 60 happened before generation 0: left out
    assert all(m.source != "town" or m.dest != "host" or m.rate == 0.002
               for m in scenario.migrations)
    # founding generation 11 takes all parents from the host
    assert rate(11, community, host) == 1.0


def test_demes_years_are_converted_and_rounded(tmp_path):
    yaml_text = """\
time_units: years
generation_time: 25
demes:
  - name: host
    epochs: [{start_size: 1000}]
  - name: community
    ancestors: [host]
    start_time: 1310
    epochs: [{start_size: 200}]
"""
    scenario = demes_scenario(tmp_path, yaml_text, 60)
    assert scenario.demes[1].founded.generation == 60 - round(1310 / 25) + 1
    assert scenario.generation_time_years == 25.0
    raw = demes_config(tmp_path, yaml_text, 60)
    raw["scenario"]["generation_time_years"] = 30
    with pytest.raises(ConfigError, match=r"scenario\.generation_time_years = 30\.0: conflicts"):
        scenario_from_dict(raw, base_dir=tmp_path)


def test_demes_settings_by_name(tmp_path):
    scenario = demes_scenario(
        tmp_path, HOST_COMMUNITY,
        demes=[{"name": "community", "inbreeding": 0.04, "description": "ours"}],
    )
    assert scenario.demes[1].inbreeding == 0.04
    assert scenario.demes[1].description == "ours"
    assert scenario.demes[0].inbreeding == 0.0


def test_demes_set_override_creates_settings_entry(tmp_path):
    raw = demes_config(tmp_path, HOST_COMMUNITY)
    apply_overrides(raw, {"demes.town.inbreeding": 0.03})
    assert scenario_from_dict(raw, base_dir=tmp_path).demes[2].inbreeding == 0.03


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"demes": [{"name": "community", "size": 10}]},
         ["demes[0].size = 10", "may only set name, inbreeding", "come from the Demes file"]),
        ({"demes": [{"name": "community", "inbreding": 0.1}]},
         ["demes[0].inbreding = 0.1", "did you mean 'inbreeding'?"]),
        ({"demes": [{"name": "comunity"}]},
         ["demes[0].name = 'comunity'", "did you mean 'community'"]),
        ({"demes": [{"name": "host"}, {"name": "host"}]}, ["demes[1].name = 'host'", "twice"]),
        ({"demes": [{"name": "host", "inbreeding": 1.2}]}, ["demes[0].inbreeding = 1.2"]),
        ({"migration": [{"source": "host", "dest": "town", "rate": 0.1}]},
         ["migration: not allowed with demography = 'model.yaml'"]),
        ({"demography": "missing.yaml"}, ["demography = 'missing.yaml'", "not found"]),
    ],
)
def test_demes_config_errors(tmp_path, extra, expected):
    text = demes_error(tmp_path, HOST_COMMUNITY, **extra)
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"


BASE_YAML = """\
time_units: generations
demes:
  - name: host
    epochs: [{start_size: 1000}]
"""

REFUSED = [
    ("""\
  - name: other
    epochs: [{start_size: 500}]
  - name: mixed
    ancestors: [host, other]
    proportions: [0.5, 0.5]
    start_time: 20
    epochs: [{start_size: 100}]
""", ["demography = 'model.yaml'", "deme 'mixed'", "2 ancestors", "admixture"]),
    ("""\
  - name: gone
    ancestors: [host]
    start_time: 30
    epochs: [{start_size: 100, end_time: 5}]
""", ["deme 'gone'", "ends at end_time = 5 generations", "before the present"]),
    ("""\
  - name: selfer
    ancestors: [host]
    start_time: 30
    epochs: [{start_size: 100, selfing_rate: 0.1}]
""", ["deme 'selfer'", "selfing_rate = 0.1", "must be 0"]),
    ("""\
  - name: cloner
    epochs: [{start_size: 100, cloning_rate: 0.5}]
""", ["deme 'cloner'", "cloning_rate = 0.5"]),
    ("""\
  - name: tiny
    ancestors: [host]
    start_time: 30
    epochs: [{start_size: 0.4}]
""", ["deme 'tiny'", "size 0.4 rounds to 0 diploids"]),
    ("""\
  - name: _hidden
    epochs: [{start_size: 100}]
""", ["deme '_hidden'", "a letter"]),
    ("""\
  - name: late
    ancestors: [host]
    start_time: 1
    epochs: [{start_size: 100}]
pulses:
  - {sources: [host], dest: late, time: 0.5, proportions: [0.5]}
""", ["pulses[0] into late", "founding generation 50"]),
    ("""\
  - name: com
    ancestors: [host]
    start_time: 30
    epochs: [{start_size: 100}]
migrations:
  - {source: host, dest: com, rate: 0.9}
pulses:
  - {sources: [host], dest: com, time: 10, proportions: [0.5]}
""", ["pulses[0] into com", "sum to 1.4"]),
    ("demes: [oops", ["not a valid Demes model"]),
    ("  - name: host\n    epochs: [{start_size: 5}]\n", ["not a valid Demes model", "host"]),
]


@pytest.mark.parametrize("tail, expected", REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_demes_refused_features(tmp_path, tail, expected):
    yaml_text = tail if tail.startswith("demes: [") else BASE_YAML + tail
    text = demes_error(tmp_path, yaml_text)
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"


def test_demes_history_before_generation_zero_is_left_out(tmp_path):
    yaml_text = """\
time_units: generations
demes:
  - name: ancestral
    epochs: [{start_size: 1000, end_time: 200}]
  - name: a
    ancestors: [ancestral]
    start_time: 200
    epochs: [{start_size: 300}]
  - name: b
    ancestors: [ancestral]
    start_time: 200
    epochs: [{start_size: 400}]
  - name: ab
    ancestors: [a, b]
    proportions: [0.5, 0.5]
    start_time: 100
    epochs: [{start_size: 50}]
"""
    scenario = demes_scenario(tmp_path, yaml_text, 50)
    assert scenario.deme_names == ("a", "b", "ab")  # 'ancestral' ended 200 generations ago
    assert all(d.founded is None for d in scenario.demes)  # admixture before generation 0
    assert compile_plan(scenario).sizes[0].tolist() == [300, 400, 50]


def test_shipped_demes_example_loads():
    scenario = load_scenario(CONFIGS / "iranian_jewish_m712t_demes.toml")
    plan = compile_plan(scenario)
    community = scenario.deme_index("persian_jews")
    assert scenario.demes[community].founded.generation == 1
    assert plan.sizes[-1, community] == 100_000
    assert scenario.generation_time_years == 25.0


def test_long_founder_allele_lists_are_checked_in_one_pass():
    """Validation is linear in the number of founder alleles (issue 28: 30,000 took
    104 s through list scans): 20,000 distinct alleles build, and a duplicate at
    the very end of the list is still found, with its index."""
    alleles = [{"name": f"a{i}", "deme": "host", "copies": 1} for i in range(20_000)]
    raw = config(demes__host__size=10**6, locus__founder_alleles=alleles)
    scenario = scenario_from_dict(raw)
    assert len(scenario.founder_names) == 20_000
    assert compile_plan(scenario).intro_allele.max() == 20_000
    duplicate = config(
        demes__host__size=10**6,
        locus__founder_alleles=[*alleles, {"name": "a7", "deme": "host", "copies": 1}],
    )
    assert "locus.founder_alleles[20000].name = 'a7'" in message(duplicate)
