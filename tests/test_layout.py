"""The engines' output layout: every column defined once, both engines filling it alike."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from popsim.engines import layout
from popsim.engines.frequency import simulate_frequency
from popsim.engines.pedigree import simulate_pedigree
from popsim.model.build import build_model

PACKAGE = Path(layout.__file__).resolve().parents[1]


def _constants() -> dict[str, int]:
    """Every integer index or code the layout defines, by constant name, from its tables."""
    out = {c.name.upper(): i for i, c in enumerate(layout.RECORD_LEADING)}
    out |= {c.name.upper(): layout.FIRST_FOUNDER + i for i, c in enumerate(layout.RECORD_TRAILING)}
    out |= {c.name.upper(): i for i, c in enumerate(layout.OBSERVED_COLUMNS)}
    out |= {f"STATUS_{c.name.upper()}": i for i, c in enumerate(layout.STATUS_COLUMNS)}
    out |= {c.name.upper(): i for i, c in enumerate(layout.STATUS_CODES)}
    return out


def test_every_column_is_defined_once_with_its_constant():
    """Column names are unique across the record, observed and status tables; each has a
    constant of its name at its position, and a meaning."""
    tables = (layout.RECORD_LEADING, layout.RECORD_TRAILING, layout.OBSERVED_COLUMNS,
              layout.STATUS_COLUMNS)
    names = [c.name for table in tables for c in table]
    assert len(names) == len(set(names)), names
    for table in (*tables, layout.STATUS_CODES):
        assert all(c.meaning for c in table)
    constants = _constants()
    assert len(constants) == len(names) + len(layout.STATUS_CODES)
    for name, index in constants.items():
        assert getattr(layout, name) == index, name
    assert tuple(c.name for c in layout.OBSERVED_COLUMNS) == layout.OBSERVED_FIELDS
    assert layout.record_width(3) == len(layout.record_columns(("a", "b", "c")))


def _is_index(value: ast.expr) -> bool:
    """Whether an assigned value is an integer, a tuple of them or a range(...)."""
    if isinstance(value, ast.Tuple):
        return all(_is_index(v) for v in value.elts)
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Name) and value.func.id == "range"
    return isinstance(value, ast.Constant) and type(value.value) is int


def test_no_other_module_defines_a_column_constant():
    """Kernels and readers import the layout's constants: no other module of popsim
    gives an integer to a name of the layout's constants, or defines the column names."""
    own = set(_constants()) | {"N_FIXED_COLUMNS", "FIRST_FOUNDER", "N_FIXED_FIELDS"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == Path(layout.__file__).resolve():
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == "record_fields":
                offenders.append(f"{path.relative_to(PACKAGE)}: {node.name}")
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
                if "OBSERVED_FIELDS" in names or (names & own and _is_index(node.value)):
                    offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(names)}")
    assert offenders == []


def test_record_index_follows_the_founder_columns():
    assert layout.record_columns(("f", "g")) == (
        "size", "normal", "f", "g", "other", "other_sumsq", "other_alleles")
    for k in (0, 1, 4):
        columns = layout.record_columns(tuple(f"f{j}" for j in range(k)))
        for name in ("size", "normal", "other", "other_sumsq", "other_alleles"):
            assert columns[layout.record_index(name, k)] == name
    records = np.arange(2 * 8).reshape(2, 8)  # 3 founder alleles: 5 + 3 columns
    np.testing.assert_array_equal(layout.founder_columns(records), records[:, 2:5])
    np.testing.assert_array_equal(layout.record_column(records, "other"), records[:, 5])
    with pytest.raises(KeyError, match="no record column 'f'"):
        layout.record_column(records, "f")
    with pytest.raises(KeyError, match="no observed column"):
        layout.observed_column(np.zeros((1, 11)), "size")


def _plan(engine: str):
    """Two demes (one founded later, with migration), two founder alleles, mutation;
    first-cousin marriages under the pedigree engine, the F they imply under the other."""
    marriage = {"first_cousin_marriage": 0.1} if engine == "pedigree" else {"inbreeding": 1 / 160}
    raw = {
        "scenario": {"name": "layout", "generations": 8, "engine": engine, "record_every": 2},
        "demes": [
            {"name": "a", "size": 800, **marriage},
            {"name": "b", "size": 300, "founded": {"generation": 3, "from": "a", "founders": 60}},
        ],
        "migration": [{"source": "a", "dest": "b", "rate": 0.05}],
        "locus": {
            "pathogenic_mutation_rate": 1e-3,
            "selection": {"affected": 0.2},
            "founder_alleles": [{"name": "f", "deme": "a", "frequency": 0.1},
                                {"name": "g", "deme": "a", "copies": 30}],
        },
    }
    return build_model(raw).plan


@pytest.fixture(scope="module")
def outputs():
    seeds = np.array([5, 6, 7], dtype=np.uint64)
    return {engine: (plan := _plan(engine), run(plan, seeds)) for engine, run in
            (("frequency", simulate_frequency), ("pedigree", simulate_pedigree))}


def test_engine_outputs_have_the_layouts_shapes(outputs):
    for engine, (plan, out) in outputs.items():
        shape = (3, len(plan.record_steps), len(plan.deme_names))
        assert out.records.dtype == np.int64 and out.status.dtype == np.int64
        assert out.records.shape == (*shape, len(layout.record_columns(plan.founder_names)))
        assert out.status.shape == (3, len(layout.STATUS_COLUMNS))
        assert (out.status_column("code") == layout.OK).all(), engine
        if engine == "frequency":
            assert out.observed is None
        else:
            assert out.observed.dtype == np.float64
            assert out.observed.shape == (*shape, len(layout.OBSERVED_COLUMNS))


def test_both_engines_fill_the_same_record_columns(outputs):
    """Every record column, read by name, means the same in both engines: sizes are the
    plan's, the gene copies add up to 2N, mutation-born copies are at least their alleles
    and at most the root of their sum of squares times the alleles (Cauchy–Schwarz)."""
    for engine, (plan, out) in outputs.items():
        size = out.column("size")
        assert size.shape == out.records.shape[:3]
        np.testing.assert_array_equal(size, np.broadcast_to(plan.sizes[plan.record_steps],
                                                            size.shape))
        copies = out.column("normal") + out.founders().sum(-1) + out.column("other")
        np.testing.assert_array_equal(copies, 2 * size, err_msg=engine)
        other, sumsq, alleles = (out.column(n) for n in ("other", "other_sumsq", "other_alleles"))
        assert (alleles <= other).all() and (other * other <= sumsq * alleles).all(), engine
        assert (other > 0).any() and (out.founders()[:, 0, 0] > 0).all(), engine
        assert out.founders().shape[-1] == len(plan.founder_names)
        if out.observed is not None:
            np.testing.assert_array_equal(out.column("individuals"), size)
            with pytest.raises(KeyError):
                out.column("nonsense")
