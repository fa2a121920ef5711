"""Property tests: any config either validates or raises ConfigError — never anything else.

Starting from valid configs (a dict, TOML text, a Demes YAML file, ``--set``
overrides, random Demes graphs), hypothesis mutates them: wrong types,
missing keys, NaN/inf, huge and negative numbers, empty, duplicate and
unicode names, deeply nested garbage, truncated or corrupted text. Each
result must be a valid Scenario that :func:`popsim.model.plan.compile_plan`
either accepts or refuses with a ConfigError, or a ConfigError with a
one-line message. Random Demes graphs that import must also reproduce the
graph's sizes at every generation.

Sweep files are mutated the same way and must resolve every point or be
refused in one line. The CI run (``-m "not slow"``) draws 340 examples in
all; the slow run draws 13,600. Both are derandomized, so every run tries the same examples.
"""

from __future__ import annotations

import copy
import math
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import demes
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from popsim.errors import ConfigError
from popsim.model.build import load_scenario, scenario_from_dict
from popsim.model.config import merged, parse_override
from popsim.model.plan import compile_plan
from popsim.model.scenario import Scenario

#: Examples per property in the CI run (sum 300) and in the slow run (sum 12,000).
CI_EXAMPLES = {
    "dict": 120, "toml": 60, "yaml": 30, "graph": 50, "set": 40, "sweep": 40, "fit": 30,
}
SLOW_FACTOR = 40


def profile(kind: str, slow: bool = False) -> settings:
    return settings(
        max_examples=CI_EXAMPLES[kind] * (SLOW_FACTOR if slow else 1),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much
        ],
    )


BASE: dict[str, Any] = {
    "scenario": {
        "name": "fuzz", "generations": 20, "replicates": 10, "seed": 3, "burn_in": 5,
        "record_every": 2, "engine": "frequency", "generation_time_years": 25.0,
        "description": "base of the fuzz tests",
    },
    "demes": [
        {"name": "host", "size": 1000, "inbreeding": 0.01},
        {
            "name": "community",
            "size": [
                {"generation": 0, "start": 50, "end": 500, "growth": "exponential"},
                {"generation": 15, "size": 800},
            ],
            "founded": {"generation": 3, "from": "host", "founders": 50},
            "inbreeding": 0.03,
        },
    ],
    "migration": [
        {"source": "host", "dest": "community", "rate": 0.01, "start_generation": 5,
         "end_generation": 15},
    ],
    "locus": {
        "name": "GNE", "pathogenic_mutation_rate": 1e-5, "max_alleles": 64,
        "selection": {"affected": 0.1, "carrier_dominance": 0.0, "heterozygote_advantage": 0.0},
        "founder_alleles": [
            {"name": "M712T", "deme": "community", "generation": 3, "copies": 1},
            {"name": "M712T", "deme": "host", "generation": 0, "frequency": 0.001},
        ],
    },
    "observed": [
        {"statistic": "carrier_frequency", "deme": "community", "value": 0.09, "source": "s"},
    ],
}

BASE_TOML = """\
[scenario]
name = "fuzz"
generations = 20
replicates = 10
seed = 3
burn_in = 5
engine = "frequency"

[[demes]]
name = "host"
size = 1000
inbreeding = 0.01

[[demes]]
name = "community"
size = [
    {generation = 0, start = 50, end = 500, growth = "exponential"},
    {generation = 15, size = 800},
]
founded = {generation = 3, from = "host", founders = 50}

[[migration]]
source = "host"
dest = "community"
rate = 0.01
start_generation = 5

[locus]
pathogenic_mutation_rate = 1e-5

[locus.selection]
affected = 0.1

[[locus.founder_alleles]]
name = "M712T"
deme = "community"
generation = 3
copies = 1
"""

DEMES_TOML = """\
demography = "model.yaml"

[scenario]
name = "fuzz demes"
generations = 40

[[demes]]
name = "community"
inbreeding = 0.03

[locus]
[[locus.founder_alleles]]
name = "M712T"
deme = "community"
generation = 11
copies = 1
"""

BASE_YAML = """\
time_units: years
generation_time: 25
demes:
  - name: host
    epochs:
      - {start_size: 5000, end_time: 500}
      - {start_size: 8000, end_time: 0}
  - name: community
    ancestors: [host]
    start_time: 750
    epochs:
      - {start_size: 100, end_size: 2000, size_function: exponential, end_time: 0}
migrations:
  - {source: host, dest: community, rate: 0.01, start_time: 500}
pulses:
  - {sources: [host], dest: community, time: 250, proportions: [0.1]}
"""

KNOWN_KEYS = sorted({
    "scenario", "name", "generations", "replicates", "seed", "burn_in", "record_every",
    "engine", "generation_time_years", "description", "ancestry_generations", "demes",
    "size", "start", "end", "growth", "generation", "founded", "from", "founders",
    "inbreeding", "first_cousin_marriage", "second_cousin_marriage", "uncle_niece_marriage",
    "migration", "source", "dest", "rate", "start_generation", "end_generation", "locus",
    "pathogenic_mutation_rate", "max_alleles", "selection", "affected", "carrier_dominance",
    "heterozygote_advantage", "founder_alleles", "deme", "copies", "frequency", "observed",
    "statistic", "value", "demography",
})
EDGE_NUMBERS = [
    0, -1, 1, 2, -0.0, 0.5, 1.0, 0.9999999, 1e-300, 2**31, 2**53 + 1, 2**63, 2**64, 10**9,
    10**9 + 1, 10**30, 10**400, -(10**30), math.nan, math.inf, -math.inf, 1e308,
]
EDGE_STRINGS = [
    "", " ", "host", "community", "M712T", "normal", "frequency", "pedigree", "exponential",
    "linear", "constant", "carrier_frequency", "ü", "名前", "a" * 65, "x\ny", "\x00", "1e3",
    "nan", "model.yaml", "../x",
]
PLAUSIBLE_STRINGS = [
    "host", "community", "M712T", "V572L", "exponential", "linear", "constant", "prevalence",
]
scalars = st.one_of(
    st.sampled_from(EDGE_NUMBERS), st.sampled_from(EDGE_STRINGS), st.booleans(), st.none(),
    st.integers(), st.floats(), st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=6))
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys and indices) into a nested dict/list, root included."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += paths(value, (*prefix, index))
    return out


def get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def nudge(draw, value: Any) -> Any:
    """A near-miss of ``value``: an edge number for numbers, an edge string for strings."""
    if isinstance(value, bool | int | float):
        return draw(st.sampled_from([
            -value, value * 1000, value + 0.5, value - 1, 0, math.nan, math.inf, str(value),
            not value, float(value),
        ]))
    if isinstance(value, str):
        return draw(st.sampled_from(["", value + "_", value.upper(), value * 70, "ü" + value]))
    return draw(garbage)


def plausible(draw, value: Any) -> Any:
    """A value of the same kind that a user could mean: small numbers, known names."""
    if isinstance(value, bool):
        return draw(st.booleans())
    if isinstance(value, int):
        return draw(st.integers(0, 2 * abs(value) + 30))
    if isinstance(value, float):
        return draw(st.floats(0, 1))
    if isinstance(value, str):
        return draw(st.sampled_from(PLAUSIBLE_STRINGS))
    return value


def deep(depth: int, kind: str) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = [node] if kind == "list" else {"size": node}
    return node


@st.composite
def mutated_dicts(draw, base: dict | None = None) -> dict:
    """``base`` (default BASE) with 1–4 mutations (and sometimes deeply nested
    garbage last)."""
    raw = copy.deepcopy(BASE if base is None else base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths(raw)))
        target = get(raw, path)
        op = draw(st.sampled_from(
            ["plausible", "plausible", "replace", "delete", "add", "duplicate", "nudge", "empty"]
        ))
        if op == "add" and isinstance(target, dict):
            target[draw(keys)] = draw(garbage)
        elif op == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(draw(st.sampled_from(target))))
        elif not path:
            continue
        elif op == "delete":
            del get(raw, path[:-1])[path[-1]]
        elif op == "nudge":
            get(raw, path[:-1])[path[-1]] = nudge(draw, target)
        elif op == "plausible":
            get(raw, path[:-1])[path[-1]] = plausible(draw, target)
        elif op == "empty":
            get(raw, path[:-1])[path[-1]] = draw(st.sampled_from([[], {}, "", [{}]]))
        else:
            get(raw, path[:-1])[path[-1]] = draw(garbage)
    if draw(st.integers(0, 9)) == 0:
        containers = [p for p in paths(raw) if isinstance(get(raw, p), dict)]
        where = get(raw, draw(st.sampled_from(containers)))
        where[draw(st.sampled_from(KNOWN_KEYS))] = deep(
            draw(st.integers(50, 3000)), draw(st.sampled_from(["list", "dict"]))
        )
    return raw


@st.composite
def mutated_text(draw, text: str) -> str:
    """``text`` truncated, with a slice deleted, junk inserted, or a line replaced."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "line", "duplicate"]))
        i = draw(st.integers(0, len(text)))
        if op == "truncate":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)):]
        elif op == "insert":
            junk = draw(st.text(alphabet='[]{}=",.#\n\'x1-é: \t', max_size=10))
            text = text[:i] + junk + text[i:]
        else:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            if op == "line":
                lines[k] = draw(st.text(max_size=30))
            else:
                lines.insert(k, lines[k])
            text = "\n".join(lines)
    return text


def outcome(build: Callable[[], Scenario]) -> Scenario | None:
    """Run ``build``; a ConfigError gives None (after checking its message), else the
    scenario compiles or is refused with a ConfigError. Any other exception fails."""
    try:
        scenario = build()
    except ConfigError as error:
        assert "\n" not in str(error) and str(error)
        event(f"refused by the config: {error.allowed[:90]}")
        return None
    assert isinstance(scenario, Scenario)
    try:
        compile_plan(scenario)
    except ConfigError as error:
        assert "\n" not in str(error)
        event("refused by compile_plan")
        return scenario
    event("valid")
    return scenario


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def check_dict(raw: dict) -> None:
    outcome(lambda: scenario_from_dict(raw))


def check_toml(folder: Path, toml_text: str, yaml_text: str | None = None) -> None:
    (folder / "fuzz.toml").write_text(toml_text, encoding="utf-8")
    if yaml_text is not None:
        (folder / "model.yaml").write_text(yaml_text, encoding="utf-8")
    outcome(lambda: load_scenario(folder / "fuzz.toml"))


VALID_KEYS = [
    "scenario.seed", "scenario.generations", "scenario.burn_in", "scenario.engine",
    "demes.host.inbreeding", "demes.0.size", "demes.community.size.1.size",
    "demes.community.founded.founders", "demes.community.founded.generation",
    "migration.0.rate", "migration.0.end_generation", "locus.selection.affected",
    "locus.founder_alleles.M712T.copies", "locus.founder_alleles.1.frequency",
    "observed.0.value",
]
override_keys = st.one_of(
    st.sampled_from(VALID_KEYS),
    st.lists(
        st.one_of(st.sampled_from(KNOWN_KEYS), st.sampled_from(["0", "1", "7", "M712T"]),
                  st.text(max_size=4)),
        min_size=1, max_size=4,
    ).map(".".join),
)
override_values = st.one_of(
    st.sampled_from(["1", "2", "10", "0.01", "0.5", "-1", "nan", "inf", "true", '"x"',
                     "[1, 2]", "{a = 1}", "1e400", "9" * 30, "[[[[", "host", "",
                     "'unterminated", "pedigree"]),
    st.text(max_size=12),
)


def check_overrides(pairs: list[tuple[str, str]]) -> None:
    def build() -> Scenario:
        overrides = dict(parse_override(f"{key}={value}") for key, value in pairs)
        return scenario_from_dict(merged(BASE, overrides))

    outcome(build)


def test_base_configs_are_valid(folder):
    compile_plan(scenario_from_dict(BASE))
    (folder / "fuzz.toml").write_text(BASE_TOML, encoding="utf-8")
    compile_plan(load_scenario(folder / "fuzz.toml"))
    (folder / "fuzz.toml").write_text(DEMES_TOML, encoding="utf-8")
    (folder / "model.yaml").write_text(BASE_YAML, encoding="utf-8")
    compile_plan(load_scenario(folder / "fuzz.toml"))


# ------------------------------------------------------------------ random Demes graphs


@st.composite
def demes_graphs(draw) -> tuple[demes.Graph, int]:
    """A random resolved Demes graph in whole generations, and a window T."""
    builder = demes.Builder(time_units="generations")
    existence: dict[str, tuple[float, int]] = {}
    whole = st.integers(1, 100_000)
    sizes = st.one_of(whole, whole, whole, st.floats(1, 1e5), st.sampled_from([0.2, 2e9]))
    for i in range(draw(st.integers(1, 4))):
        name = f"_d{i}" if draw(st.integers(0, 9)) == 9 else f"d{i}"
        candidates = [n for n, (s, _) in existence.items() if s > 1]
        ancestors: list[str] = []
        start: float = math.inf
        if candidates and draw(st.booleans()):
            ancestors = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2,
                                      unique=True))
            start = draw(st.integers(1, 150))
            if any(not existence[a][0] > start >= existence[a][1] for a in ancestors):
                ancestors, start = [], math.inf
        end = draw(st.sampled_from([0] * 8 + [3, 200]))
        if end >= start:
            end = 0
        cuts = sorted(
            set(draw(st.lists(st.integers(end + 1, int(min(start, end + 200)) - 1 if
                                          min(start, end + 200) - 1 > end else end + 1),
                              max_size=2))) - {end},
            reverse=True,
        )
        bounds = [*cuts, end]
        epochs = []
        for k, epoch_end in enumerate(bounds):
            first = k == 0 and math.isinf(start)
            function = "constant" if first else draw(
                st.sampled_from(["constant", "exponential", "linear"]))
            size = draw(sizes)
            epoch = {"end_time": epoch_end, "start_size": size,
                     "end_size": size if function == "constant" else draw(sizes),
                     "size_function": function}
            if draw(st.integers(0, 19)) == 19:
                epoch[draw(st.sampled_from(["selfing_rate", "cloning_rate"]))] = 0.1
            epochs.append(epoch)
        proportions = [1 / len(ancestors)] * len(ancestors) if ancestors else None
        builder.add_deme(name, ancestors=ancestors or None, proportions=proportions,
                         start_time=None if math.isinf(start) else start, epochs=epochs)
        existence[name] = (start, end)
    names = list(existence)
    for _ in range(draw(st.integers(0, 3)) if len(names) > 1 else 0):
        source, dest = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2,
                                     unique=True))
        lo = max(existence[source][1], existence[dest][1])
        hi = min(existence[source][0], existence[dest][0])
        if hi - lo < 2:
            continue
        if draw(st.booleans()):
            top = int(min(hi, lo + 300))
            begin = draw(st.integers(lo + 1, top)) if top > lo + 1 else top
            builder.add_migration(source=source, dest=dest, rate=draw(st.floats(0, 0.2)),
                                  start_time=begin, end_time=draw(st.integers(lo, begin - 1)))
        else:
            time = draw(st.integers(max(lo, 1), int(min(hi, lo + 300))))
            builder.add_pulse(sources=[source], dest=dest, time=time,
                              proportions=[draw(st.floats(0, 0.9))])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # several pulses at one time
            graph = builder.resolve()
    except Exception:  # a combination Demes itself refuses (e.g. migration sum > 1)
        assume(False)
    return graph, draw(st.integers(0, 120))


def check_graph(folder: Path, graph: demes.Graph, T: int) -> None:
    demes.dump(graph, folder / "graph.yaml")
    raw = {"scenario": {"name": "graph", "generations": T}, "demography": "graph.yaml",
           "locus": {}}
    scenario = outcome(lambda: scenario_from_dict(raw, base_dir=folder))
    if scenario is None:
        return
    try:
        plan = compile_plan(scenario)
    except ConfigError:
        return
    for i, deme in enumerate(scenario.demes):
        original = graph[deme.name]
        assert original.end_time == 0
        smallest = min(min(e.start_size, e.end_size) for e in original.epochs)
        for g in range(T + 1):
            size = plan.sizes[plan.burn_in + g, i]
            if deme.founded is not None and g <= deme.founded.generation:
                founders = round(original.epochs[0].start_size)
                assert size == (founders if g == deme.founded.generation else 0)
                continue
            expected = original.size_at(T - g)
            # endpoint sizes are rounded to whole diploids: |error| ≤ 1 + N / (smallest N)
            assert abs(size - expected) <= 1 + expected / smallest, (deme.name, g, size)


# ------------------------------------------------------------------ sweep files

#: A valid sweep file over BASE_TOML (written as base.toml beside it), as a dict:
#: a grid, a two-key parameter, a table-valued [sweep.set]-free design.
SWEEP: dict[str, Any] = {
    "sweep": {"base": "base.toml", "replicates": 4, "seed": 7, "name": "fuzz sweep",
              "deme": "community"},
    "parameters": [
        {"key": ["demes.community.founded.founders", "demes.community.size.0.start"],
         "name": "founders", "low": 10, "high": 100, "steps": 3, "scale": "log"},
        {"key": "demes.community.inbreeding", "values": [0.0, 0.02]},
        {"key": "locus.founder_alleles.M712T.copies", "values": [1, 2]},
    ],
}


def check_sweep(folder: Path, raw: dict) -> None:
    """A sweep file either resolves (every point a valid model) or is refused with a
    one-line ConfigError/PopsimError naming the file — never another exception."""
    from popsim.errors import PopsimError
    from popsim.workflows.sweep.spec import resolve_points, sweep_from_dict

    (folder / "base.toml").write_text(BASE_TOML, encoding="utf-8")
    try:
        points = resolve_points(sweep_from_dict(raw, folder / "sweep.toml"))
    except PopsimError as error:
        assert "\n" not in str(error) and str(error)
        event("refused")
        return
    assert points and all(isinstance(p.scenario, Scenario) for p in points)
    event("valid")


def test_base_sweep_is_valid(folder):
    from popsim.workflows.sweep.spec import resolve_points, sweep_from_dict

    (folder / "base.toml").write_text(BASE_TOML, encoding="utf-8")
    assert len(resolve_points(sweep_from_dict(SWEEP, folder / "sweep.toml"))) == 12


# ------------------------------------------------------------------ fit files

#: Valid fit files over BASE_TOML (written as base.toml beside them), as dicts: an
#: ABC fit on a point value and a likelihood fit on counts, each with a two-key prior.
FITS: dict[str, dict[str, Any]] = {
    "abc": {
        "fit": {"base": "base.toml", "seed": 5, "deme": "community", "name": "fuzz fit"},
        "abc": {"method": "rejection", "simulations": 20, "accept": 0.2, "predictive": 0},
        "priors": [
            {"key": ["demes.community.founded.founders", "demes.community.size.0.start"],
             "name": "founders", "distribution": "log_uniform", "low": 10, "high": 100},
            {"key": "demes.community.inbreeding", "distribution": "uniform",
             "low": 0.0, "high": 0.05},
        ],
        "observed": [{"statistic": "carrier_frequency", "value": 0.09, "sd": 0.02}],
    },
    "likelihood": {
        "fit": {"base": "base.toml", "seed": 5, "deme": "community"},
        "abc": {"method": "likelihood", "simulations": 20, "rounds": 2},
        "priors": [
            {"key": "migration.0.rate", "name": "m", "distribution": "uniform",
             "low": 0.0, "high": 0.02},
        ],
        "observed": [
            {"name": "series", "families": 10, "founder_homozygous": 9,
             "compound_heterozygous": 1, "other_homozygous": 0, "source": "s"},
            {"name": "screen", "carriers": 3, "screened": 40, "allele": "founder",
             "source": "s"},
        ],
    },
}


def check_fit(folder: Path, raw: dict) -> None:
    """A fit file either loads (a base, priors and observations that validate) or is
    refused with a one-line ConfigError/PopsimError — never another exception."""
    from popsim.errors import PopsimError
    from popsim.workflows.fit.spec import Fit, fit_from_dict

    (folder / "base.toml").write_text(BASE_TOML, encoding="utf-8")
    try:
        fit = fit_from_dict(raw, folder / "fit.toml")
    except PopsimError as error:
        assert "\n" not in str(error) and str(error)
        event("refused")
        return
    assert isinstance(fit, Fit) and fit.priors
    event("valid")


@pytest.mark.parametrize("kind", sorted(FITS))
def test_base_fits_are_valid(folder, kind):
    from popsim.workflows.fit.spec import fit_from_dict

    (folder / "base.toml").write_text(BASE_TOML, encoding="utf-8")
    assert fit_from_dict(FITS[kind], folder / "fit.toml").priors


# ------------------------------------------------------------------ the properties


@profile("sweep")
@given(mutated_dicts(SWEEP))
def test_mutated_sweep_files(folder, raw):
    check_sweep(folder, raw)


@pytest.mark.slow
@profile("sweep", slow=True)
@given(mutated_dicts(SWEEP))
def test_mutated_sweep_files_slow(folder, raw):
    check_sweep(folder, raw)


@profile("fit")
@given(st.one_of(*(mutated_dicts(raw) for raw in FITS.values())))
def test_mutated_fit_files(folder, raw):
    check_fit(folder, raw)


@pytest.mark.slow
@profile("fit", slow=True)
@given(st.one_of(*(mutated_dicts(raw) for raw in FITS.values())))
def test_mutated_fit_files_slow(folder, raw):
    check_fit(folder, raw)


@profile("dict")
@given(mutated_dicts())
def test_mutated_dicts(raw):
    check_dict(raw)


@profile("toml")
@given(st.data())
def test_mutated_toml(folder, data):
    check_toml(folder, data.draw(mutated_text(data.draw(st.sampled_from([BASE_TOML, DEMES_TOML])))),
               BASE_YAML)


@profile("yaml")
@given(mutated_text(BASE_YAML))
def test_mutated_demes_yaml(folder, yaml_text):
    check_toml(folder, DEMES_TOML, yaml_text)


@profile("graph")
@given(demes_graphs())
def test_random_demes_graphs(folder, graph_and_window):
    check_graph(folder, *graph_and_window)


@profile("set")
@given(st.lists(st.tuples(override_keys, override_values), min_size=1, max_size=3))
def test_random_overrides(pairs):
    check_overrides(pairs)


@pytest.mark.slow
@profile("dict", slow=True)
@given(mutated_dicts())
def test_mutated_dicts_slow(raw):
    check_dict(raw)


@pytest.mark.slow
@profile("toml", slow=True)
@given(st.data())
def test_mutated_toml_slow(folder, data):
    check_toml(folder, data.draw(mutated_text(data.draw(st.sampled_from([BASE_TOML, DEMES_TOML])))),
               BASE_YAML)


@pytest.mark.slow
@profile("yaml", slow=True)
@given(mutated_text(BASE_YAML))
def test_mutated_demes_yaml_slow(folder, yaml_text):
    check_toml(folder, DEMES_TOML, yaml_text)


@pytest.mark.slow
@profile("graph", slow=True)
@given(demes_graphs())
def test_random_demes_graphs_slow(folder, graph_and_window):
    check_graph(folder, *graph_and_window)


@pytest.mark.slow
@profile("set", slow=True)
@given(st.lists(st.tuples(override_keys, override_values), min_size=1, max_size=3))
def test_random_overrides_slow(pairs):
    check_overrides(pairs)
