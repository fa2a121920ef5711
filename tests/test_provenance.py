"""One manifest schema (popsim.provenance) for run, compare, sweep and fit; resumes
refused across a change of the engine code or the seed rule."""

from __future__ import annotations

import ast
import json
import shlex
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from popsim import provenance
from popsim.cli import main
from popsim.engines.rng import SEED_RULE, SEED_RULE_VERSION

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """
[scenario]
name = "tiny"
generations = 5
replicates = 4
seed = 2

[[demes]]
name = "pop"
size = 500
inbreeding = 0.02

[[locus.founder_alleles]]
name = "F"
deme = "pop"
generation = 0
frequency = 0.1
"""

SWEEP = """
[sweep]
base = "tiny.toml"
replicates = 3
seed = 5

[[parameters]]
key = "demes.pop.inbreeding"
values = [0.0, 0.05]
"""

FIT = """
[fit]
base = "tiny.toml"
seed = 11

[abc]
method = "rejection"
simulations = 12
accept = 0.25
predictive = 2

[[priors]]
key = "demes.pop.inbreeding"
name = "F"
distribution = "uniform"
low = 0.0
high = 0.1

[[observed]]
statistic = "carrier_frequency"
value = 0.18
"""


def write_inputs(directory: Path) -> dict[str, Path]:
    """The scenario, sweep and fit files of the tests, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"tiny": directory / "tiny.toml", "sweep": directory / "sweep.toml",
             "fit": directory / "fit.toml"}
    for path, text in zip(paths.values(), (SCENARIO, SWEEP, FIT), strict=True):
        path.write_text(text, encoding="utf-8")
    return paths


def commands(paths: dict[str, Path], out: Path) -> dict[str, list[str]]:
    """One small command line per workflow, each writing into ``out / workflow``."""
    return {
        "run": ["run", str(paths["tiny"]), "--out", str(out / "run"), "--no-figures"],
        "compare": ["compare", str(paths["tiny"]), str(paths["tiny"]), "--replicates", "3",
                    "--out", str(out / "compare")],
        "sweep": ["sweep", str(paths["sweep"]), "--out", str(out / "sweep"),
                  "--executor", "serial"],
        "fit": ["fit", str(paths["fit"]), "--out", str(out / "fit"), "--executor", "serial",
                "--no-figures"],
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """Every workflow run once through the CLI: its command line and its manifest."""
    root = tmp_path_factory.mktemp("provenance")
    lines = commands(write_inputs(root / "inputs"), root / "out")
    manifests = {}
    for workflow, words in lines.items():
        assert main(words) == 0, workflow
        path = root / "out" / workflow / "manifest.json"
        manifests[workflow] = json.loads(path.read_text(encoding="utf-8"))
    return lines, manifests


def _shape(value: Any) -> Any:
    """The JSON types of a value, recursively for objects (a null counts as a string)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return "str" if value is None else type(value).__name__


def test_four_manifests_share_the_common_block(written):
    lines, manifests = written
    common = {workflow: {k: v for k, v in m.items() if k != workflow}
              for workflow, m in manifests.items()}
    shapes = {workflow: _shape(block) for workflow, block in common.items()}
    assert shapes["run"] == shapes["compare"] == shapes["sweep"] == shapes["fit"]
    assert set(shapes["run"]) == {
        "schema", "schema_version", "workflow", "popsim_version", "engine_sources_sha256",
        "seed_rule", "versions", "platform", "command_line", "started",
    }
    for workflow, manifest in manifests.items():
        assert manifest["schema"] == provenance.SCHEMA
        assert manifest["schema_version"] == provenance.SCHEMA_VERSION
        assert manifest["workflow"] == workflow and isinstance(manifest[workflow], dict)
        assert manifest["engine_sources_sha256"] == provenance.engine_sources_sha256()
        assert len(manifest["engine_sources_sha256"]) == 64
        assert manifest["seed_rule"] == {"version": SEED_RULE_VERSION, "text": SEED_RULE}
        assert shlex.split(manifest["command_line"]) == ["popsim", *lines[workflow]]
        started = datetime.strptime(manifest["started"], "%Y-%m-%dT%H:%M:%SZ")
        assert abs((datetime.now(UTC) - started.replace(tzinfo=UTC)).total_seconds()) < 3600
        assert set(manifest["versions"]) == {"python", *provenance.PACKAGES}
        assert isinstance(manifest["platform"]["processors"], int)
    # each workflow's own section, with what identifies its results
    assert {"engine", "deme_engines", "seed", "point", "replicates", "first_replicate",
            "wall_seconds", "scenario"} <= set(manifests["run"]["run"])
    assert [s["id"] for s in manifests["compare"]["compare"]["scenarios"]] == [
        "tiny", "tiny-2"]
    assert manifests["sweep"]["sweep"]["columns"] == ["demes.pop.inbreeding"]
    assert {"fit_sha256", "base_sha256", "outcome"} <= set(manifests["fit"]["fit"])


@pytest.mark.parametrize(
    "edited", ["engines/pedigree/kinship.py", "model/plan.py", "genetics/statistics.py"]
)
def test_engine_hash_covers_every_engine_module_and_the_plan(tmp_path, monkeypatch, edited):
    copy = tmp_path / "popsim"
    for source in provenance.ENGINE_SOURCES:
        original = ROOT / "popsim" / source
        if original.is_dir():
            shutil.copytree(original, copy / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (copy / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(original, copy / source)
    monkeypatch.setattr(provenance, "_PACKAGE_DIR", copy)
    compute = provenance.engine_sources_sha256.__wrapped__
    assert compute() == provenance.engine_sources_sha256()
    module = copy / edited
    module.write_text(module.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert compute() != provenance.engine_sources_sha256()


def _sweep_or_fit(tmp_path: Path, workflow: str) -> tuple[list[str], Path]:
    """A finished sweep or fit in tmp_path: its command line and its manifest path."""
    words = commands(write_inputs(tmp_path / "inputs"), tmp_path / "out")[workflow]
    assert main(words) == 0
    return words, tmp_path / "out" / workflow / "manifest.json"


@pytest.mark.parametrize("workflow", ["sweep", "fit"])
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("engine_sources_sha256", "0" * 64, "the engine sources changed (sha256 000000000000 → "),
        ("seed_rule", {"version": 0, "text": "old"},
         f"the seed rule changed (version 0 → {SEED_RULE_VERSION})"),
    ],
)
def test_resume_is_refused_across_an_engine_or_seed_rule_change(
    tmp_path, capsys, workflow, field, value, expected
):
    words, path = _sweep_or_fit(tmp_path, workflow)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    capsys.readouterr()
    assert main([*words, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("popsim: error: --resume: refused: ")
    assert expected in err and "--overwrite" in err and "new --out" in err
    assert main([*words, "--overwrite"]) == 0


@pytest.mark.parametrize("workflow", ["sweep", "fit"])
def test_resume_continues_an_unchanged_directory(tmp_path, capsys, workflow):
    words, path = _sweep_or_fit(tmp_path, workflow)
    before = json.loads(path.read_text(encoding="utf-8"))
    assert main([*words, "--resume"]) == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["engine_sources_sha256"] == before["engine_sources_sha256"]


@pytest.mark.parametrize("workflow", ["sweep", "fit"])
def test_a_manifest_of_an_earlier_layout_is_named_not_resumed(tmp_path, capsys, workflow):
    words, path = _sweep_or_fit(tmp_path, workflow)
    path.write_text(json.dumps({"format": f"popsim-{workflow}/1"}), encoding="utf-8")
    capsys.readouterr()
    assert main([*words, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "written by an earlier popsim" in err
    assert "--overwrite" in err
    assert main([*words, "--overwrite"]) == 0
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == provenance.SCHEMA


def test_read_manifest_takes_only_its_own_workflow(tmp_path):
    path = tmp_path / "manifest.json"
    manifest = provenance.build_manifest("sweep", {"design": {}})
    provenance.write_manifest(path, manifest)
    assert provenance.read_manifest(path, "sweep") == json.loads(json.dumps(manifest))
    assert provenance.read_manifest(path, "fit") is None
    path.write_text("{not json", encoding="utf-8")
    assert provenance.read_manifest(path, "sweep") is None
    assert provenance.read_manifest(tmp_path / "absent.json", "sweep") is None


def test_reuse_refusal_names_changed_versions():
    old = provenance.build_manifest("fit", {})
    assert provenance.reuse_refusal(old, old) is None
    new = json.loads(json.dumps(old))
    new["versions"]["numpy"] = "0.0.1"
    new["versions"]["dask"] = "0.0.1"  # runs no numbers: not a reason
    reason = provenance.reuse_refusal(old, new)
    assert reason == (
        f"the installed versions changed (numpy {old['versions']['numpy']} → 0.0.1)"
    )


def test_no_module_imports_names_from_the_package_init():
    """Modules inside popsim import submodules, never names of popsim/__init__.py
    (such as __version__: it lives in popsim/_version.py), so no import cycle."""
    package = ROOT / "popsim"
    offenders = []
    for path in package.rglob("*.py"):
        if path == package / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "popsim" and not node.level:
                offenders += [
                    f"{path.relative_to(ROOT)}: {alias.name}"
                    for alias in node.names
                    if not (package / f"{alias.name}.py").is_file()
                    and not (package / alias.name).is_dir()
                ]
    assert offenders == []
