"""`popsim run` and `popsim expected` end to end, and the Result's tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from popsim import load_scenario, simulate
from popsim.cli import main
from popsim.errors import PopsimError
from popsim.outputs.files import check_writable

CONFIG = """
[scenario]
name = "small founder test"
generations = 12
replicates = 200
seed = 3

[[demes]]
name = "community"
size = { start = 50, end = 400, growth = "exponential" }
inbreeding = 0.05

[locus]
pathogenic_mutation_rate = 1e-4
selection = { affected = 0.1 }

[[locus.founder_alleles]]
name = "M712T"
deme = "community"
copies = 5

[[observed]]
statistic = "carrier_frequency"
value = 0.05
deme = "community"
source = "made up for the test"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(CONFIG)
    return path


def test_run_writes_every_output(config: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "founder allele frequency" in printed and "P(founder allele lost)" in printed
    for name in ("manifest.json", "summary.csv", "trajectories.csv", "final.csv"):
        assert (out / name).is_file(), name
    assert (out / "figures" / "founder_frequency_community.png").stat().st_size > 1000
    assert (out / "figures" / "patient_genotypes.png").stat().st_size > 1000
    manifest = json.loads((out / "manifest.json").read_text())
    run = manifest["run"]
    assert run["seed"] == 3 and run["replicates"] == 200 and run["wall_seconds"] > 0
    assert {"numpy", "numba"} <= set(manifest["versions"]) and manifest["popsim_version"]
    assert run["scenario"]["demes"][0]["inbreeding"] == 0.05
    final = pd.read_csv(out / "final.csv")
    assert len(final) == 200
    assert set(final["copies_normal"] + final["copies_M712T"] + final["copies_other"]) == {800}
    summary = pd.read_csv(out / "summary.csv")
    assert "p_reach_observed_carrier_frequency" in set(summary["statistic"])
    traj = pd.read_csv(out / "trajectories.csv")
    assert sorted(set(traj["generation"])) == list(range(13))
    assert not list(tmp_path.glob(".out.*")), "temporary directories must not remain"


def test_existing_output_needs_overwrite(config: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    assert main(["run", str(config), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "precious"
    assert main(["run", str(config), "--out", str(out), "--overwrite", "--no-figures"]) == 0
    assert not (out / "keep.txt").exists() and (out / "summary.csv").exists()


def test_existing_output_error_speaks_the_callers_language(config: Path, tmp_path: Path):
    """The API's refusal names its argument (overwrite=True), the CLI's its options."""

    out = tmp_path / "out"
    out.mkdir()
    result = simulate(load_scenario(config), replicates=2, seed=1)
    with pytest.raises(PopsimError) as api:
        result.write(out)
    assert str(api.value) == (
        f"{out}: already exists; choose another directory or pass overwrite=True"
    )
    assert "--" not in str(api.value)
    with pytest.raises(PopsimError) as cli:
        check_writable(out, False, cli=True)
    assert str(cli.value) == (
        f"--out {out}: already exists; choose another directory or pass --overwrite"
    )
    assert result.write(out, overwrite=True, figures=False) == out


def test_overrides_and_replicate_index(config: Path, tmp_path: Path):
    out_full, out_one = tmp_path / "full", tmp_path / "one"
    args = ["--set", "demes.community.inbreeding=0.2", "--generations", "6", "--no-figures"]
    assert main(["run", str(config), "--out", str(out_full), *args]) == 0
    assert main(["run", str(config), "--out", str(out_one), "--replicate-index", "17", *args]) == 0
    full = pd.read_csv(out_full / "final.csv")
    one = pd.read_csv(out_one / "final.csv")
    pd.testing.assert_frame_equal(
        one.reset_index(drop=True), full[full.replicate == 17].reset_index(drop=True)
    )
    manifest = json.loads((out_full / "manifest.json").read_text())
    assert manifest["run"]["scenario"]["generations"] == 6
    assert manifest["run"]["scenario"]["demes"][0]["inbreeding"] == 0.2


def test_summary_shares_are_pooled_over_replicates(config: Path):
    """The share of patients who are founder homozygotes is Σ_r founder homozygotes /
    Σ_r patients over replicates, computed here from the final copies and the model's
    genotype frequencies (p_f²(1 − F) + p_f·F over q²(1 − F) + q·F, F = 0.05), not from
    the implementation's statistics. Fails against the mean of per-replicate shares
    (which this scenario puts far from the pooled one) and against shares of carriers."""
    from popsim import load_scenario

    result = simulate(load_scenario(config), replicates=300, seed=2)
    summary = result.summary().set_index("statistic")
    final = result.final()
    two_n = 2 * final["size"].to_numpy()
    p_f = final["copies_M712T"].to_numpy() / two_n
    q = 1 - final["copies_normal"].to_numpy() / two_n
    F = 0.05
    homozygotes = p_f**2 * (1 - F) + p_f * F
    patients = q**2 * (1 - F) + q * F
    pooled = homozygotes.sum() / patients.sum()
    assert summary.loc["share_founder_homozygotes", "mean"] == pytest.approx(pooled, rel=1e-9)
    with np.errstate(invalid="ignore"):
        per_replicate = np.nanmean(homozygotes / patients)
    assert abs(per_replicate - pooled) > 0.05  # the wrong formula would fail the test
    lost = (final["copies_M712T"] == 0).mean()
    assert summary.loc["p_founder_lost", "mean"] == pytest.approx(lost)


def test_expected_command(capsys):
    assert main(["expected", "--freqs", "0.9523,0.0477", "--inbreeding", "0.02"]) == 0
    out = capsys.readouterr().out
    assert "0.00318" in out and "carriers" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--freqs", "0.5,0.6"], "must sum to 1"),
        (["--freqs", "a,b"], "comma-separated numbers"),
        (["--freqs", "0.9,0.1", "--inbreeding", "1"], "[0, 1)"),
        (["--freqs", "0.9,0.1", "--founder", "2"], "--founder"),
        (["--freqs", "0.04,0.96"], "the first entry is the normal allele, which must be the "
         "most frequent (pathogenic alleles are rare) but 0.04 < 0.96; write the normal allele "
         "first, e.g. --freqs 0.96,0.04"),
        (["--freqs", "0.2, 0.5,0.3"], "e.g. --freqs 0.5,0.2,0.3"),
    ],
)
def test_expected_bad_input(args, message, capsys):
    assert main(["expected", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "width", "label"),
    [
        ("Iranian Jewish M712T (frequency engine)", 40, "Iranian Jewish M712T (frequency engine)"),
        ("Mari: a young founder allele (A57F, about 160 years)", 40,
         "Mari: a young founder allele (A57F…"),
        ("Mari: a young founder allele (A57F, about 160 years)", 30,
         "Mari: a young founder allele…"),
        ("Outbred   reference", 40, "Outbred reference"),
        ("Supercalifragilistic expialidocious", 10, "Supercalifragilistic…"),
    ],
)
def test_progress_labels_are_cut_between_words(text, width, label):
    from popsim.commands.common import progress_label

    assert progress_label(text, width) == label
    shown, words = label.removesuffix("…").split(), text.split()
    assert shown[:-1] == words[: len(shown) - 1], "every shown word is whole"
    assert shown[-1] == words[len(shown) - 1].rstrip(",;:"), "the last one but for punctuation"
    assert len(label) <= width or len(shown) == 1


def test_counts_agree_with_their_nouns(config: Path, capsys):
    from popsim.outputs.words import counted, is_are

    assert counted(1, "replicate") == "1 replicate"
    assert counted(0, "replicate") == "0 replicates"
    assert counted(1200, "point", spec=",") == "1,200 points"
    assert counted(0.6, "allele", spec=".0f") == "1 allele"
    assert counted("1.0", "patient") == "1.0 patients"
    assert counted(1, "analysis", "analyses") == "1 analysis"
    assert (is_are(1), is_are(2), is_are(0.4, ".0f")) == ("is", "are", "are")
    assert main(["run", str(config), "--replicate-index", "3", "--generations", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert ": 1 replicate, 1 generation (" in first and "(s)" not in first


def test_run_table_columns_are_the_demes_by_label(capsys):
    """One column per deme, headed by its label (not its id), and no column for rows
    that belong to no deme (the observations' evidence, printed below the table)."""
    import re

    assert main(["run", "iranian_jewish_m712t", "--replicates", "20",
                 "--set", "scenario.burn_in=0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("statistic (mean"))
    dashes = lines[lines.index(header) + 1]
    columns = re.split(r"\s{2,}", header.strip())
    assert columns[1:] == ["Iranian host", "Persian Jews"]
    assert len(re.findall(r"-+", dashes)) == len(columns)
