"""Burn in once: the burn-in key, sharing between runs, and the on-disk cache.

A state is shared only where the key says the burn-ins are the same, and
sharing changes no number; a cache entry that is corrupt, truncated or stale
is reported and never used.
"""

from __future__ import annotations

import numpy as np
import pytest

import popsim
from popsim.burnin import BurnInCache, BurnIns, burn_in_key, decode, encode
from popsim.engines.frequency import burn_in_frequency, simulate_frequency
from popsim.engines.rng import replicate_seeds, seeded
from popsim.model.build import model_of, scenario_from_dict
from tests.test_snapshot import host_and_community, outbred_host, plan_of


def test_an_identical_host_has_one_key() -> None:
    seeds = replicate_seeds(5, 40)
    assert burn_in_key(plan_of(host_and_community()), seeds) == burn_in_key(
        plan_of(outbred_host()), seeds)


@pytest.mark.parametrize(
    "change",
    [
        {"demes__0__size": 3001},
        {"locus__pathogenic_mutation_rate": 1e-4},
        {"locus__selection__affected": 0.2},
        {"locus__max_alleles": 100},
        {"scenario__burn_in": 299},
        {"demes__0__inbreeding": 0.01},
    ],
    ids=str,
)
def test_key_changes_with_what_decides_the_burn_in(change) -> None:
    seeds = replicate_seeds(5, 10)
    changed = plan_of(outbred_host(**change))
    assert burn_in_key(plan_of(outbred_host()), seeds) != burn_in_key(changed, seeds)


def test_key_ignores_what_comes_after_the_burn_in() -> None:
    seeds = replicate_seeds(5, 10)
    base = burn_in_key(plan_of(host_and_community()), seeds)
    for change in ({"demes__1__inbreeding": 0.05}, {"migration__0__rate": 0.02},
                   {"scenario__generations": 40}, {"demes__1__founded__founders": 30}):
        assert burn_in_key(plan_of(host_and_community(**change)), seeds) == base, change
    assert burn_in_key(plan_of(outbred_host()), replicate_seeds(6, 10)) != burn_in_key(
        plan_of(outbred_host()), seeds)


# ----------------------------------------------------------------------------- simulate


def _digest(result: popsim.Result) -> bytes:
    return result.records.tobytes()


def test_simulate_with_shared_burn_ins_equals_without(tmp_path) -> None:
    scenario = scenario_from_dict(host_and_community())
    plain = popsim.simulate(scenario, chunk=16)
    burn_ins = BurnIns(BurnInCache(tmp_path))
    cold = popsim.simulate(scenario, chunk=16, burn_ins=burn_ins)
    assert burn_ins.computed == 3 and burn_ins.loaded == 0
    warm_ins = BurnIns(BurnInCache(tmp_path))
    warm = popsim.simulate(scenario, chunk=16, burn_ins=warm_ins)
    assert warm_ins.loaded == 3 and warm_ins.computed == 0
    assert _digest(plain) == _digest(cold) == _digest(warm)
    outbred = scenario_from_dict(outbred_host())
    shared = popsim.simulate(outbred, chunk=16, burn_ins=burn_ins)
    assert burn_ins.shared == 3 and burn_ins.computed == 3
    assert _digest(shared) == _digest(popsim.simulate(outbred, chunk=16))


def test_burn_in_of_another_point_then_own_draws() -> None:
    """burn_in_point: the burn-in of point 0's seeds, then point k's own generators;
    point 0 itself is the plain run."""
    scenario = scenario_from_dict(outbred_host(scenario__replicates=12))
    plain0 = popsim.simulate(scenario, point=0)
    assert _digest(popsim.simulate(scenario, point=0, burn_in_point=0)) == _digest(plain0)
    k1 = popsim.simulate(scenario, point=1, burn_in_point=0)
    assert _digest(k1) != _digest(popsim.simulate(scenario, point=1))
    assert _digest(k1) != _digest(plain0)
    plan = model_of(scenario).plan
    state = burn_in_frequency(plan, replicate_seeds(5, 12, 0))
    own = np.array([seeded(s) for s in replicate_seeds(5, 12, 1)], dtype=np.uint64)
    by_hand = simulate_frequency(plan, replicate_seeds(5, 12, 1),
                                 start=state.with_generators(own))
    assert np.array_equal(by_hand.records, k1.records)
    assert _digest(popsim.simulate(scenario, point=1, burn_in_point=0,
                                   burn_ins=BurnIns())) == _digest(k1)


# ----------------------------------------------------------------------------- cache


@pytest.fixture(scope="module")
def cached_state():
    plan = plan_of(outbred_host(scenario__replicates=8))
    seeds = replicate_seeds(5, 8)
    return burn_in_key(plan, seeds), burn_in_frequency(plan, seeds)


def test_cache_round_trip(tmp_path, cached_state) -> None:
    key, state = cached_state
    cache = BurnInCache(tmp_path)
    assert cache.load(key) is None
    cache.save(key, state)
    loaded = cache.load(key)
    assert loaded is not None and encode(loaded, key) == encode(state, key)
    assert [p.name for p in (tmp_path / "burn-in").iterdir()] == [f"{key}.state"]


def _damaged(data: bytes, how: str, key: str) -> bytes:
    if how == "flipped payload byte":
        return data[:-5] + bytes([data[-5] ^ 1]) + data[-4:]
    if how == "truncated":
        return data[: len(data) - 10]
    if how == "truncated header":
        return data[:30]
    if how == "not a state":
        return b"hello"
    if how == "other key":
        return data.replace(key.encode(), b"0" * len(key))
    if how == "other layout":
        return data.replace(b'"state_layout": 1', b'"state_layout": 0')
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["flipped payload byte", "truncated", "truncated header",
                                 "not a state", "other key", "other layout"])
def test_bad_entries_are_reported_and_recomputed(tmp_path, cached_state, how) -> None:
    key, state = cached_state
    lines: list[str] = []
    cache = BurnInCache(tmp_path, report=lines.append)
    cache.save(key, state)
    path = cache.path(key)
    path.write_bytes(_damaged(path.read_bytes(), how, key))
    with pytest.raises(ValueError):
        decode(path.read_bytes(), key)
    burn_ins = BurnIns(cache)
    got = burn_ins.get(key, lambda: state)
    assert burn_ins.computed == 1 and burn_ins.loaded == 0
    assert got is state
    assert len(lines) == 1 and str(path) in lines[0] and "\n" not in lines[0]
    assert encode(cache.load(key), key) == encode(state, key)  # replaced by a good one


def test_cache_writes_are_atomic(tmp_path, cached_state, monkeypatch) -> None:
    """A write that dies before its rename leaves the entry as it was and no
    temporary file; writers of one key at once never show a reader a partial file."""
    import os
    import threading

    key, state = cached_state
    lines: list[str] = []
    cache = BurnInCache(tmp_path, report=lines.append)
    cache.save(key, state)
    good = cache.path(key).read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk gone at the rename")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        cache.save(key, state.with_generators(state.generators + np.uint64(1)))
    assert len(lines) == 1 and "cannot write" in lines[0]
    assert cache.path(key).read_bytes() == good
    assert [p.name for p in cache.directory.iterdir()] == [f"{key}.state"]
    lines.clear()
    stop = threading.Event()

    def write() -> None:
        for _ in range(40):
            cache.save(key, state)

    def read() -> None:
        while not stop.is_set():
            assert cache.load(key) is not None

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert lines == []  # no reader ever saw a partial or damaged entry
    assert [p.name for p in cache.directory.iterdir()] == [f"{key}.state"]


def test_default_cache_dir(monkeypatch, tmp_path) -> None:
    from popsim.burnin import default_cache_dir

    monkeypatch.setenv("POPSIM_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("POPSIM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "popsim"


# ----------------------------------------------------------------------------- workflows

COMMUNITY_TOML = """
[scenario]
name = "host and community"
generations = 20
burn_in = 200
replicates = 30
seed = 2
[[demes]]
name = "host"
size = 3000
[[demes]]
name = "community"
size = { start = 30, end = 600 }
inbreeding = 0.02
founded = { generation = 0, from = "host", founders = 30 }
[[migration]]
source = "host"
dest = "community"
rate = 0.002
[locus]
pathogenic_mutation_rate = 2e-4
[locus.selection]
affected = 0.1
[[locus.founder_alleles]]
name = "M712T"
deme = "community"
generation = 0
copies = 1
"""

OUTBRED_TOML = """
[scenario]
name = "outbred"
generations = 20
burn_in = 200
replicates = 30
seed = 2
[[demes]]
name = "outbred"
size = 3000
[locus]
pathogenic_mutation_rate = 2e-4
[locus.selection]
affected = 0.1
"""


def _tables(stdout: str) -> str:
    """What compare prints after its per-scenario lines (which end with a time)."""
    return stdout.split("\n\n", 1)[1]


def test_compare_burns_an_identical_host_in_once(tmp_path, monkeypatch, capsys) -> None:
    from popsim.cli import main

    a, b = tmp_path / "community.toml", tmp_path / "outbred.toml"
    a.write_text(COMMUNITY_TOML)
    b.write_text(OUTBRED_TOML)
    cache = tmp_path / "cache"
    monkeypatch.setenv("POPSIM_CACHE_DIR", str(cache))
    assert main(["compare", str(a), str(b), "--no-cache"]) == 0
    uncached = _tables(capsys.readouterr().out)
    assert not cache.exists()
    assert main(["compare", str(a), str(b)]) == 0
    cold = _tables(capsys.readouterr().out)
    assert len(list((cache / "burn-in").glob("*.state"))) == 1  # one host, one chunk
    assert main(["compare", str(a), str(b)]) == 0
    warm = _tables(capsys.readouterr().out)
    assert uncached == cold == warm
    assert len(list((cache / "burn-in").glob("*.state"))) == 1


def test_no_cache_on_run_and_sweep(tmp_path, monkeypatch, capsys) -> None:
    """--no-cache: run and sweep neither write nor read the cache, same numbers."""
    from popsim.cli import main

    base = _written(tmp_path, "base", COMMUNITY_TOML)
    sweep = _written(tmp_path, "sweep", SWEEP_TOML)
    cache = tmp_path / "cache"
    monkeypatch.setenv("POPSIM_CACHE_DIR", str(cache))
    runs = []
    for extra in (["--no-cache"], []):
        assert main(["run", str(base), "--out", str(tmp_path / f"run{len(runs)}"),
                     "--no-figures", *extra]) == 0
        runs.append((tmp_path / f"run{len(runs)}" / "final.csv").read_bytes())
        assert cache.exists() == (not extra)
    assert runs[0] == runs[1]
    entries = sorted((cache / "burn-in").iterdir())
    for path in entries:  # damage them all: with --no-cache nothing reads them
        path.write_bytes(b"damaged")
    capsys.readouterr()
    tables = []
    for k, extra in enumerate((["--no-cache"], [])):
        assert main(["sweep", str(sweep), "--out", str(tmp_path / f"sweep{k}"),
                     "--executor", "serial", *extra]) == 0
        err = capsys.readouterr().err
        assert ("burn-in cache" in err) == (not extra)  # the damaged entry, reported
        tables.append((tmp_path / f"sweep{k}" / "results.csv").read_bytes())
    assert tables[0] == tables[1]


def test_compare_results_are_each_scenarios_own_run(tmp_path) -> None:
    from popsim.workflows.compare import Entry, run_comparison

    entries = [Entry("c", popsim.load_scenario(_written(tmp_path, "c", COMMUNITY_TOML))),
               Entry("o", popsim.load_scenario(_written(tmp_path, "o", OUTBRED_TOML)))]
    burn_ins = BurnIns()
    comparison = run_comparison(entries, 30, 2, chunk=16, burn_ins=burn_ins)
    assert burn_ins.computed == 2 and burn_ins.shared == 2  # two chunks, each shared once
    for entry, result in zip(entries, comparison.results, strict=True):
        alone = popsim.simulate(entry.scenario, 30, 2)
        assert _digest(result) == _digest(alone)


def _written(folder, name: str, text: str):
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


SWEEP_TOML = """
[sweep]
base = "base.toml"
deme = "community"
[[parameters]]
key = "demes.community.inbreeding"
values = [0.0, 0.03]
[[parameters]]
key = "migration.0.rate"
values = [0.0, 0.01]
[[parameters]]
key = "demes.host.size"
values = [3000]
"""


def test_sweep_burns_a_shared_host_in_once(tmp_path) -> None:
    from popsim.simulate import simulate
    from popsim.workflows.sweep import load_sweep, resolve_points, run_sweep
    from popsim.workflows.sweep.tasks import point_row

    _written(tmp_path, "base", COMMUNITY_TOML)
    sweep = load_sweep(_written(tmp_path, "sweep", SWEEP_TOML))
    cache = BurnInCache(tmp_path / "cache")
    serial = run_sweep(sweep, tmp_path / "serial", executor="serial", cache=cache)
    assert len(list(cache.directory.glob("*.state"))) == 1
    for point in resolve_points(sweep):
        result = simulate(point.scenario, point=point.index, burn_in_point=0)
        row = point_row(point.index, result.replicates, result.summary_rows(), "community")
        got = serial.table.iloc[point.index]
        for name, value in row.items():
            assert got[name] == value or (np.isnan(value) and np.isnan(got[name])), name
    pooled = run_sweep(sweep, tmp_path / "processes", executor="processes", workers=2)
    assert ((tmp_path / "processes" / "results.csv").read_bytes()
            == (tmp_path / "serial" / "results.csv").read_bytes())
    assert len(pooled.table) == 4


def test_sweep_points_that_change_the_host_burn_in_apart(tmp_path) -> None:
    from popsim.workflows.sweep import load_sweep, resolve_points
    from popsim.workflows.sweep.runner import share_burn_ins

    _written(tmp_path, "base", COMMUNITY_TOML)
    text = SWEEP_TOML.replace("values = [3000]", "values = [3000, 3100]")
    points = resolve_points(load_sweep(_written(tmp_path, "sweep", text)))
    shared = share_burn_ins(points, None)
    assert len(points) == 8 and sorted(shared) == [p.index for p in points]
    assert len({key for key, _ in shared.values()}) == 2
    single = share_burn_ins(points[:1] + points[-1:], None)
    assert single == {}
