"""The pedigree engine: exact kinship, marriages, genotypes and agreement with WF.

Statistical tests use fixed seeds, so each is deterministic; the significance
level α = 0.001 is stated where a test is made (a correct engine fails a
given check for one seed in a thousand).
"""

from __future__ import annotations

import copy
import functools
import tomllib
from pathlib import Path

import numpy as np
import pytest

from popsim import simulate
from popsim.engines import pedigree
from popsim.engines.layout import CAPACITY, observed_column
from popsim.engines.pedigree.couples import _couples_block
from popsim.engines.pedigree.kernel import Ancestry
from popsim.engines.pedigree.relatives import _men_part, _merge_counts, _restore_starts
from popsim.errors import ConfigError, SimulationError
from popsim.model.build import load_scenario, scenario_from_dict
from popsim.model.limits import MAX_ANCESTRY
from popsim.model.plan import compile_plan
from popsim.workflows.validation.stats import bonferroni_z, chi_square_two_sample, t_test_mean

ALPHA = 0.001
ROOT = Path(__file__).resolve().parents[1]


def config(size: int = 2000, generations: int = 10, **deme) -> dict:
    """A one-deme pedigree config; ``deme`` adds keys to the deme table."""
    return {
        "scenario": {"name": "pedigree test", "generations": generations, "engine": "pedigree",
                     "replicates": 4, "seed": 5},
        "demes": [{"name": "pop", "size": size, **deme}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "pop", "frequency": 0.1}]},
    }


def run(raw: dict, replicates: int | None = None, seed: int | None = None, engine=None):
    return simulate(scenario_from_dict(raw), replicates, seed, engine)


def field(result, name: str) -> np.ndarray:
    """An observed field, [replicate, record, deme]."""
    return observed_column(result.observed, name)


# --------------------------------------------------------------------------- kinship


def random_pedigree(rng, n: int, steps: int, uncle_rate: float):
    """A random pedigree of ``steps`` generations of n: per step the couples
    ((g, husband), (g, wife)) and every child's parent couple.

    Women marry men of their generation in random order; with ``uncle_rate`` a
    woman marries a man of the generation before instead (any man: the
    recursion must handle every mixed-generation pedigree, not just uncles).
    """
    couples: list[list] = [[]]
    parent: list[np.ndarray] = [np.full(n, -1)]
    for step in range(1, steps + 1):
        men = rng.permutation(np.arange(0, n, 2))
        step_couples = []
        for woman, man in zip(range(1, n, 2), men, strict=True):
            if step >= 2 and rng.random() < uncle_rate:
                step_couples.append(((step - 2, int(rng.choice(men))), (step - 1, woman)))
            else:
                step_couples.append(((step - 1, int(man)), (step - 1, woman)))
        couples.append(step_couples)
        parent.append(rng.integers(0, len(step_couples), n))
    return couples, parent


def reference_kinship(couples, parent, a, b, oldest):
    """Kinship by the textbook recursion over the whole pedigree, individuals of
    generation ≤ ``oldest`` counted as unrelated founders (independent code)."""

    @functools.cache
    def phi(a, b):
        if a == b:
            f = phi(*couples[a[0]][parent[a[0]][a[1]]]) if a[0] > oldest and a[0] > 0 else 0.0
            return 0.5 * (1.0 + f)
        if b[0] > a[0]:
            a, b = b, a
        if a[0] <= oldest or a[0] == 0:
            return 0.0
        father, mother = couples[a[0]][parent[a[0]][a[1]]]
        return 0.5 * (phi(father, b) + phi(mother, b))

    return phi(a, b)


@pytest.mark.parametrize(
    ("ancestry", "uncle_rate", "n"),
    [(2, 0.0, 10), (3, 0.0, 12), (4, 0.0, 16), (5, 0.0, 12), (4, 0.0, 400), (3, 0.3, 12),
     (4, 0.25, 16), (5, 0.2, 14)],
)
def test_couple_inbreeding_is_the_exact_truncated_kinship(ancestry, uncle_rate, n):
    """Every couple's F from the kernel's rings equals the textbook recursion, in
    small inbred pedigrees (every kind of loop) and with mixed generations."""
    rng = np.random.default_rng(ancestry * 100 + n)
    steps = 9
    couples, parent = random_pedigree(rng, n, steps, uncle_rate)
    depth = ancestry - 1
    k = n // 2
    pc = np.full((ancestry, n), -1, np.int32)
    rec = np.zeros((ancestry, k, 2), np.int32)
    anc = np.zeros((2, k, max((1 << depth) - 2, 2)), np.int32)
    irr = np.zeros((2, k), np.uint8)
    fk = np.zeros(k, np.float32)
    checked = 0
    for step in range(1, steps + 1):
        for c, ((g_h, h), (_, w)) in enumerate(couples[step]):
            rec[step % ancestry, c] = (h if g_h == step - 1 else -1 - h, w)
        _couples_block(0, k, step, depth, uncle_rate > 0, True, Ancestry(pc, rec, anc, irr), fk)
        for c, (husband, wife) in enumerate(couples[step]):
            expected = reference_kinship(couples, parent, husband, wife, step - ancestry)
            assert fk[c] == pytest.approx(expected, abs=1e-7), (step, c)
            checked += expected > 0
        pc[step % ancestry] = parent[step]
    assert checked > 0


def test_random_mating_large_population_has_the_drift_background():
    """With no cousin marriages F is the kinship of random spouses: after g
    generations of descent within the window, g/2N to first order (α = 0.001)."""
    n, generations = 2000, 6
    result = run(config(n, generations), replicates=6, seed=2)
    f = field(result, "mean_pedigree_inbreeding")[:, -1, 0]
    assert (field(result, "first_cousin_marriages") == 0).all()
    assert t_test_mean(f, 3 / (2 * n)).p_value > ALPHA  # window of 4: 3 generations of descent


@pytest.mark.parametrize(
    ("key", "fraction", "kinship", "ancestry", "generation"),
    [
        ("first_cousin_marriage", 0.5, 1 / 16, 3, 3),
        ("second_cousin_marriage", 0.5, 1 / 64, 4, 4),
        ("uncle_niece_marriage", 0.25, 1 / 8, 3, 3),
    ],
)
def test_realized_inbreeding_of_consanguineous_marriages(
    key, fraction, kinship, ancestry, generation
):
    """Mean F of the children born in the first generation where such a marriage
    is possible = r·F_kind + (1 − r)·g/2N, r the realized fraction and g/2N the
    background of random spouses after g = generation − 1 generations of random
    descent (two children share a couple with probability 2/N; full sibs have
    kinship ¼). One-sample t over replicates, α = 0.001. Also: the drawn share
    (realized + fallback) is Binomial(fraction)."""
    n, replicates = 8000, 10
    raw = config(n, generation, **{key: fraction})
    raw["scenario"]["ancestry_generations"] = ancestry
    raw["scenario"]["record_every"] = generation
    result = run(raw, replicates=replicates, seed=17)
    counts = key.removesuffix("_marriage") + "_marriages"
    marriages = field(result, "marriages")[:, -1, 0]
    realized = field(result, counts)[:, -1, 0] / marriages
    drawn = realized + field(result, "fallback_marriages")[:, -1, 0] / marriages
    assert realized.mean() > 0.8 * fraction  # relatives are found for most requests
    z = (drawn.sum() / replicates - fraction) / np.sqrt(fraction * (1 - fraction) / marriages.sum())
    assert abs(z) < bonferroni_z(ALPHA)
    background = (generation - 1) / (2 * n)
    predicted = realized * kinship + (1 - realized) * background
    f = field(result, "mean_pedigree_inbreeding")[:, -1, 0]
    assert t_test_mean(f - predicted, 0.0).p_value > ALPHA


def test_observed_founder_homozygotes_match_expected_with_realized_f():
    """Observed founder homozygotes, carriers and F from genotypes agree with
    q²(1 − F) + qF, 2pq(1 − F) and the pedigree F; t-tests over replicates and
    generations 4–10 pooled per replicate, α = 0.001 (no selection, N = 20,000,
    27.9% first-cousin marriages, founder frequency 0.1)."""
    raw = config(20_000, 10, first_cousin_marriage=0.279)
    result = run(raw, replicates=8, seed=23)
    stats = result.statistics
    later = slice(4, None)
    for expected, observed in (
        ("founder_homozygotes", "observed_founder_homozygotes"),
        ("carrier_frequency", "observed_carriers"),
        ("pedigree_inbreeding", "genotype_inbreeding"),
    ):
        gap = (stats[observed] - stats[expected])[:, later, 0].mean(axis=1)
        assert t_test_mean(gap, 0.0).p_value > ALPHA, expected
    realized = stats["realized_first_cousin_fraction"][:, -1, 0]
    assert (stats["pedigree_inbreeding"][:, -1, 0] > realized / 16).all()


# --------------------------------------------------------------------------- agreement with WF


def agreement_config(n: int, generations: int, copies: int, u: float, s: float) -> dict:
    return {
        "scenario": {"name": "agreement", "generations": generations, "record_every": generations},
        "demes": [{"name": "pop", "size": n}],
        "locus": {
            "pathogenic_mutation_rate": u,
            "selection": {"affected": s},
            "founder_alleles": [{"name": "f", "deme": "pop", "copies": copies}],
        },
    }


@pytest.mark.parametrize(
    ("n", "generations", "copies", "u"), [(40, 40, 16, 0.0), (30, 30, 12, 0.003)]
)
def test_random_mating_agrees_with_frequency_engine(n, generations, copies, u):
    """Random mating without selection: the final founder and total pathogenic
    copy numbers have the same distribution in both engines (χ² two-sample,
    α = 0.001, 3,000 replicates each); the second case adds recurrent mutation
    into new alleles. (Separate sexes and monogamy make N_e = N + ½, far below
    what 3,000 replicates resolve.)"""
    raw = agreement_config(n, generations, copies, u, 0.0)
    results = [run(raw, 3000, seed, engine) for seed, engine in ((3, "frequency"), (4, "pedigree"))]
    for column in (slice(1, 2), slice(1, None)):  # founder; founder + other
        counts = [r.final_counts[:, 0, column].sum(axis=1) for r in results]
        tables = [np.bincount(c, minlength=2 * n + 1) for c in counts]
        assert chi_square_two_sample(*tables).p_value > ALPHA


@pytest.mark.parametrize(("s", "h", "a", "u"), [(0.6, 0.0, 0.0, 0.0), (0.4, 0.5, 0.1, 0.01)])
def test_one_generation_of_mutation_and_viability_selection(s, h, a, u):
    """Zygotes drawn from couples, mutated and kept with probability w/w_max give
    the frequency engine's expected change: with x = q + (1 − q)u after mutation,
    E[q'] = (x²w₂ + x(1 − x)w₁)/w̄ and founder copies scaled alike. t-tests of
    the generation-1 founder and total pathogenic frequencies over 20 replicates
    of N = 50,000 (finite-pairing terms are O(1/N), well below the SE), α = 0.001."""
    n, q = 50_000, 0.3
    raw = agreement_config(n, 1, round(q * 2 * n), u, s)
    raw["locus"]["selection"] = {"affected": s, "carrier_dominance": h,
                                 "heterozygote_advantage": a}
    raw["locus"]["max_alleles"] = 2000  # about 2N(1 − q)u = 700 new alleles
    result = run(raw, 20, 31, "pedigree")
    x = q + (1 - q) * u
    w1, w2 = 1 - h * s + a, 1 - s
    w_bar = (1 - x) ** 2 + 2 * x * (1 - x) * w1 + x * x * w2
    pathogenic = (x * x * w2 + x * (1 - x) * w1) / w_bar
    counts = result.final_counts[:, 0, :] / (2 * n)
    assert t_test_mean(counts[:, 1:].sum(axis=1), pathogenic).p_value > ALPHA
    assert t_test_mean(counts[:, 1], pathogenic * q / x).p_value > ALPHA


# --------------------------------------------------------------------------- semantics


def test_marriage_counts_and_sizes_follow_the_plan():
    """Every woman marries once (⌊N/2⌋ marriages of N = 1,001 counted by the engine), the
    engine counts N individuals born, and each woman seeks a relative with probability
    0.3 + 0.2 independently, so the women drawn for a kind (realized + fallback) are
    Binomial(500, 0.5) in every generation (z-test of their total over 3 replicates × 8
    generations, α = 0.001). Fails against a draw that ignores one kind's share (mean
    150 or 200, z > 13), fallbacks left uncounted or counted twice, or a marriage pass
    that leaves women unmarried."""
    raw = config(1001, 8, first_cousin_marriage=0.3, second_cousin_marriage=0.2)
    result = run(raw, replicates=3, seed=1)
    assert (field(result, "individuals")[:, 1:, 0] == 1001).all()
    marriages = field(result, "marriages")[:, 1:, 0]
    assert (marriages == 500).all()
    drawn = sum(
        field(result, name)[:, 1:, 0]
        for name in ("first_cousin_marriages", "second_cousin_marriages", "fallback_marriages")
    )
    trials = marriages.sum()
    z = (drawn.sum() - 0.5 * trials) / np.sqrt(0.25 * trials)
    assert abs(z) < bonferroni_z(ALPHA), z
    early = slice(0, 2)  # steps 1–2: nobody has cousins yet, every request falls back
    assert (field(result, "first_cousin_marriages")[:, 1:, 0][:, early] == 0).all()
    assert (field(result, "second_cousin_marriages")[:, 1:, 0][:, :3] == 0).all()
    assert (field(result, "first_cousin_marriages")[:, -1, 0] > 0).all()
    normal, founder, other = (result.records[..., 0, i] for i in (1, 2, 3))
    assert (normal + founder + other == 2 * 1001).all()


def test_founded_deme_and_migration_take_parents_from_the_source():
    """A deme founded from another starts at the source's founder frequency in
    expectation; with migration both demes stay reproducible and counted."""
    raw = {
        "scenario": {"name": "two demes", "generations": 6, "engine": "pedigree"},
        "demes": [
            {"name": "host", "size": 3000, "first_cousin_marriage": 0.1},
            {"name": "colony", "size": 400, "founded": {"generation": 2, "from": "host",
                                                         "founders": 400}},
        ],
        "migration": [{"source": "host", "dest": "colony", "rate": 0.2}],
        "locus": {"founder_alleles": [{"name": "f", "deme": "host", "frequency": 0.3}]},
    }
    result = run(raw, replicates=40, seed=9)
    p = result.statistics["founder_frequency"]
    assert np.isnan(p[:, :2, 1]).all()
    gap = p[:, 2, 1] - p[:, 2, 0]
    assert t_test_mean(gap, 0.0).p_value > ALPHA
    assert (field(result, "individuals")[:, -1] == [3000, 400]).all()


def test_both_parallel_layouts_give_the_same_numbers():
    """Replicates in parallel and blocks in parallel are the same computation."""
    raw = config(9000, 7, first_cousin_marriage=0.2, uncle_niece_marriage=0.05)
    raw["locus"]["pathogenic_mutation_rate"] = 1e-4
    raw["locus"]["selection"] = {"affected": 0.5}
    raw["scenario"]["ancestry_generations"] = 3
    plan = compile_plan(scenario_from_dict(raw))
    seeds = np.array([3, 8, 12, 40], dtype=np.uint64)
    within = pedigree.simulate_pedigree(plan, seeds, within=True)
    across = pedigree.simulate_pedigree(plan, seeds, within=False)
    for name in ("records", "status", "observed"):
        np.testing.assert_array_equal(getattr(within, name), getattr(across, name))


@pytest.mark.parametrize("middle", range(0, 23))
def test_an_index_built_in_two_halves_is_the_stable_sort(middle):
    """The marriage indexes are counting sorts built in two halves of their items
    (one per thread): whatever the split, men come out bucketed by parent couple in
    index order, and the bucket starts are the cumulative counts."""
    rng = np.random.default_rng(middle)
    sizes = np.array([[7, 10, 5]])  # odd deme sizes: men are the even local indexes
    offs = np.array([[0, 7, 17, 22]])
    n_keys = 6
    pc = rng.integers(-1, n_keys, size=(2, 22)).astype(np.int32)  # −1: no parents
    men = [x for d in range(3) for x in range(offs[0, d], offs[0, d + 1], 2) if pc[0, x] >= 0]
    start = np.zeros(n_keys + 1, np.int32)
    spare = np.zeros(n_keys + 1, np.int32)
    entries = np.full(len(men), -1, np.int32)
    for fill in (False, True):
        for lo, hi, cursor in ((0, middle, start), (middle, 22, spare)):
            _men_part(0, sizes, offs, pc, lo, hi, fill, cursor, entries)
        if not fill:
            _merge_counts(n_keys, start, spare)
    _restore_starts(n_keys, start, spare)
    keys = pc[0, men]
    np.testing.assert_array_equal(entries, np.array(men)[np.argsort(keys, kind="stable")])
    np.testing.assert_array_equal(start[1:], np.cumsum(np.bincount(keys, minlength=n_keys)))
    assert start[0] == 0


def test_unrecorded_steps_skip_nothing_that_is_recorded():
    """Couple F is computed only on recorded steps; the records of the steps
    that both runs record (and every allele count) must not notice."""
    raw = config(4000, 9, first_cousin_marriage=0.2, uncle_niece_marriage=0.05)
    raw["locus"]["pathogenic_mutation_rate"] = 1e-4
    raw["scenario"]["ancestry_generations"] = 4
    sparse_raw = copy.deepcopy(raw)
    raw["scenario"]["record_every"] = 1
    sparse_raw["scenario"]["record_every"] = 3
    seeds = np.array([2, 11], dtype=np.uint64)
    every = compile_plan(scenario_from_dict(raw))
    sparse = compile_plan(scenario_from_dict(sparse_raw))
    shared = np.isin(every.record_steps, sparse.record_steps)
    assert shared.sum() == len(sparse.record_steps) >= 3
    full = pedigree.simulate_pedigree(every, seeds)
    few = pedigree.simulate_pedigree(sparse, seeds)
    np.testing.assert_array_equal(full.records[:, shared], few.records)
    np.testing.assert_array_equal(full.status, few.status)
    np.testing.assert_array_equal(full.observed[:, shared], few.observed)
    assert (few.column("mean_pedigree_inbreeding")[:, -1, 0] > 0).all()


THREAD_SCRIPT = """
import hashlib, numpy as np
from popsim.model.build import build_model
from popsim.engines.pedigree import simulate_pedigree
raw = {"scenario": {"name": "t", "generations": 6, "engine": "pedigree",
                    "ancestry_generations": 4},
       "demes": [{"name": "a", "size": 9000, "first_cousin_marriage": 0.2,
                  "second_cousin_marriage": 0.1},
                 {"name": "b", "size": 300, "uncle_niece_marriage": 0.1}],
       "migration": [{"source": "a", "dest": "b", "rate": 0.1}],
       "locus": {"pathogenic_mutation_rate": 1e-4, "selection": {"affected": 0.5},
                 "founder_alleles": [{"name": "f", "deme": "a", "frequency": 0.05}]}}
plan = build_model(raw).plan
digest = hashlib.sha256()
for within in (True, False):
    out = simulate_pedigree(plan, np.arange(1, 9, dtype=np.uint64), within=within)
    for array in (out.records, out.status, out.observed):
        digest.update(array.tobytes())
print(digest.hexdigest())
"""


def test_identical_results_on_any_thread_count_and_threading_layer(layouts_agree):
    """One thread, two on TBB (dynamic: a thread takes whichever iteration is next)
    and two on workqueue (a fixed share each) give the same numbers."""
    layouts_agree(THREAD_SCRIPT)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"second_cousin_marriage": 0.1}, ["scenario.ancestry_generations = 3", "at least 4"]),
        ({"first_cousin_marriage": 0.1}, ["scenario.ancestry_generations = 2", "at least 3"]),
    ],
)
def test_ancestry_window_must_reach_the_common_ancestors(changes, words):
    raw = config(100, 3, **changes)
    raw["scenario"]["ancestry_generations"] = 3 if "second_cousin_marriage" in changes else 2
    with pytest.raises(ConfigError) as error:
        run(raw)
    for word in words:
        assert word in str(error.value)


def test_ancestry_window_has_a_ceiling():
    raw = config(100, 3)
    raw["scenario"]["ancestry_generations"] = MAX_ANCESTRY + 1
    with pytest.raises(ConfigError, match=r"ancestry_generations = 9: must be .*\[2, 8\]"):
        run(raw)


def test_a_single_founder_cannot_have_children():
    raw = {
        "scenario": {"name": "t", "generations": 3, "engine": "pedigree"},
        "demes": [{"name": "host", "size": 50},
                  {"name": "isle", "size": 10, "founded": {"generation": 1, "from": "host",
                                                           "founders": 1}}],
        "locus": {},
    }
    with pytest.raises(ConfigError, match=r"demes\[1\]\.founded\.founders = 1.*at least 2"):
        run(raw)


def test_allele_capacity_is_reported():
    raw = config(500, 5)
    raw["locus"]["pathogenic_mutation_rate"] = 0.01
    raw["locus"]["max_alleles"] = 3
    with pytest.raises(SimulationError, match="max_alleles = 3"):
        run(raw)
    plan = compile_plan(scenario_from_dict(raw))
    code = pedigree.simulate_pedigree(plan, np.array([1], dtype=np.uint64)).status_column("code")
    assert code[0] == CAPACITY


# --------------------------------------------------------------------------- the shipped config


def test_iranian_jewish_pedigree_config_runs_and_draws_observed_vs_expected(
    tmp_path, drawn_figures
):
    """The shipped config runs through ``popsim run``; its observed-vs-expected figure
    has one panel per patient class, titled by the class, whose lines are the
    per-generation means of the expected and observed statistics written to
    trajectories.csv, per 100,000 people against years before present (25 a
    generation); and the config's 27.9 % + 10.7 % of consanguineous marriages reach
    the engine: the women drawn for either
    kind are Binomial(marriages, 0.386) (α = 0.001). Fails against a figure that
    swaps observed and expected, plots generations or another statistic, or a config
    whose second-cousin rate is dropped (0.279: z ≈ 50)."""
    import pandas as pd

    from popsim.cli import main
    from popsim.genetics.statistics import BY_NAME, REGISTRY

    path = ROOT / "configs" / "iranian_jewish_m712t_pedigree.toml"
    out = tmp_path / "run"
    args = ["run", str(path), "--replicates", "24", "--out", str(out)]
    assert main(args) == 0
    (fig,) = [f for f in drawn_figures if "observed among" in f.get_suptitle()]
    table = pd.read_csv(out / "trajectories.csv")
    table = table[table.deme == "persian_jews"]
    classes = [s.pooled[0] for s in REGISTRY if s.pooled is not None]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == len(classes)
    for ax, name in zip(panels, classes, strict=True):
        assert ax.get_title() == BY_NAME[name].label
        assert ax.get_xlabel() == "years before present"
        assert ax.get_ylabel() == "per 100,000 people"
        for kind, stat in (("expected", name), ("observed", f"observed_{name}")):
            (line,) = [ln for ln in ax.get_lines() if ln.get_label().endswith(kind)]
            rows = table[table.statistic == stat]
            np.testing.assert_allclose(line.get_xdata(), rows["years_before_present"])
            np.testing.assert_allclose(line.get_ydata(), 1e5 * rows["mean"], rtol=1e-12)
        assert np.array_equal(rows["years_before_present"], 25 * np.arange(100, -1, -1))
    scenario = load_scenario(path)
    d = scenario.deme_index("persian_jews")
    assert scenario.demes[d].individuals and scenario.engine == "hybrid"
    result = run(tomllib.loads(path.read_text()), replicates=24, seed=1)
    marriages = field(result, "marriages")[:, 1:, d].sum()
    drawn = sum(field(result, name)[:, 1:, d].sum() for name in (
        "first_cousin_marriages", "second_cousin_marriages", "fallback_marriages"))
    z = (drawn - 0.386 * marriages) / np.sqrt(0.386 * 0.614 * marriages)
    assert abs(z) < bonferroni_z(ALPHA), z
