"""Preset catalog: every config is listed with its sources, validates, and is usable by id."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from popsim.cli import main
from popsim.errors import ConfigError
from popsim.model.build import load_scenario
from popsim.model.catalog import PRESETS_DIR, presets, resolve_config
from popsim.model.plan import compile_plan

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
STUDY_PRESETS = (
    "iranian_jewish_m712t",
    "outbred_reference",
    "mari_a57f",
    "japanese_two_founders",
)


def scenario_files() -> list[Path]:
    """configs/*.toml that describe a scenario (sweep files have no [scenario] table)."""
    return [
        path
        for path in sorted(CONFIGS.glob("*.toml"))
        if "scenario" in tomllib.loads(path.read_text(encoding="utf-8"))
    ]


def test_presets_are_the_configs_folder():
    assert PRESETS_DIR.resolve() == CONFIGS.resolve()


def test_catalog_lists_every_scenario_config():
    ids = [p.id for p in presets()]
    assert ids == [path.stem for path in scenario_files()]
    assert set(STUDY_PRESETS) <= set(ids)


@pytest.mark.parametrize("preset", presets(), ids=lambda p: p.id)
def test_every_preset_has_name_description_and_citations(preset):
    assert preset.name.strip()
    assert preset.description.strip()
    assert preset.citations, f"{preset.path}: add scenario.citations = [...]"
    assert preset.path.read_text(encoding="utf-8").startswith("#"), "header comment citing sources"


@pytest.mark.parametrize("preset", presets(), ids=lambda p: p.id)
def test_every_preset_validates_and_compiles(preset):
    scenario = load_scenario(preset.path)
    compile_plan(scenario)
    assert scenario.citations == preset.citations


def test_the_pedigree_preset_is_a_hybrid_in_the_frequency_presets_host():
    """The community is simulated as individuals inside the host of
    iranian_jewish_m712t (same size, F, burn-in, locus and gene flow), simulated
    by allele frequencies, and the host's sources are cited."""
    hybrid = load_scenario(CONFIGS / "iranian_jewish_m712t_pedigree.toml")
    frequency = load_scenario(CONFIGS / "iranian_jewish_m712t.toml")
    assert hybrid.engine == "hybrid"
    assert [d.individuals for d in hybrid.demes] == [False, True]
    host = frequency.demes[frequency.deme_index("iranian_host")]
    assert dataclasses.replace(hybrid.demes[0], description=host.description) == host
    assert hybrid.burn_in == frequency.burn_in == 8000
    assert hybrid.locus.pathogenic_mutation_rate == frequency.locus.pathogenic_mutation_rate
    assert hybrid.locus.selection == frequency.locus.selection
    assert hybrid.migrations == frequency.migrations
    assert hybrid.demes[1].founded == frequency.demes[1].founded
    assert any(c.startswith("Celeste") for c in hybrid.citations)


def test_resolve_config_takes_ids_and_paths(tmp_path):
    assert resolve_config("outbred_reference") == PRESETS_DIR / "outbred_reference.toml"
    own = tmp_path / "mine.toml"
    own.write_text("[scenario]\n", encoding="utf-8")
    assert resolve_config(own) == own
    assert resolve_config("missing/file.toml") == Path("missing/file.toml")
    with pytest.raises(ConfigError, match=r"config = 'nonesuch': .*outbred_reference"):
        resolve_config("nonesuch")


def test_catalog_command_lists_presets_with_sources(capsys):
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    for preset_id in STUDY_PRESETS:
        assert preset_id in out
    assert "Argov" in out and "sources:" in out
    assert main(["catalog", "mari_a57f"]) == 0
    one = capsys.readouterr().out
    assert "Subbotin" in one and "outbred_reference" not in one


def test_catalog_command_refuses_unknown_id(capsys):
    assert main(["catalog", "nonesuch"]) == 2
    assert "no preset with id 'nonesuch'" in capsys.readouterr().err


def test_run_accepts_a_preset_id(capsys):
    status = main(["run", "japanese_two_founders", "--replicates", "2", "--generations", "3"])
    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith("Japan: two founder alleles")  # the preset's scenario ran
    assert "  Japan" in out  # its deme's column, by label


def test_init_copies_a_preset_with_its_comments(tmp_path, capsys):
    dest = tmp_path / "mine.toml"
    assert main(["init", "mari_a57f", str(dest)]) == 0
    assert dest.read_bytes() == (PRESETS_DIR / "mari_a57f.toml").read_bytes()
    assert "# Sources" in dest.read_text(encoding="utf-8")
    assert f"popsim run {dest}" in capsys.readouterr().out
    assert load_scenario(dest).name == load_scenario(PRESETS_DIR / "mari_a57f.toml").name


def test_init_brings_the_demes_file_along(tmp_path):
    dest = tmp_path / "own" / "demes_scenario.toml"
    assert main(["init", "iranian_jewish_m712t_demes", str(dest)]) == 0
    assert (dest.parent / "demes" / "iranian_jewish_m712t.yaml").is_file()
    preset = load_scenario(PRESETS_DIR / "iranian_jewish_m712t_demes.toml")
    assert load_scenario(dest).demes == preset.demes


def test_init_refuses_to_overwrite_without_the_option(tmp_path, capsys):
    dest = tmp_path / "mine.toml"
    dest.write_text("# my own work\n", encoding="utf-8")
    assert main(["init", "outbred_reference", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"DEST = '{dest}': already exists" in err and "--overwrite" in err
    assert dest.read_text(encoding="utf-8") == "# my own work\n"
    assert main(["init", "outbred_reference", str(dest), "--overwrite"]) == 0
    assert dest.read_bytes() == (PRESETS_DIR / "outbred_reference.toml").read_bytes()


def test_init_refuses_an_unknown_id_listing_the_ids(tmp_path, capsys):
    dest = tmp_path / "mine.toml"
    assert main(["init", "nonesuch", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("popsim: error: ID = 'nonesuch': is not a preset id; ids: ")
    assert all(preset_id in err for preset_id in STUDY_PRESETS)
    assert not dest.exists()
