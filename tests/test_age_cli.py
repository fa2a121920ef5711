"""``popsim age``: simulated data of known age, the estimates, and bad input."""

from __future__ import annotations

import pytest

from popsim.cli import main

SCENARIO = """
[scenario]
name = "growing founder deme"
generations = 40
replicates = 200
seed = 3

[[demes]]
name = "pop"
size = [{generation = 0, start = 100, end = 20000, growth = "exponential"}]

[[locus.founder_alleles]]
name = "F"
deme = "pop"
generation = 0
copies = 1
"""

LENGTHS = "carrier,left_cm,right_cm\nc1,1.5,2.0\nc2,0.5,3.1\nc3,2.2,0.9\n"
HAPLOTYPES = "locus_mb,10\nposition_mb,9.0,9.5,10.5,11.0\nc1,A,C,G,T\nc2,A,C,G,T\nc3,G,C,G,T\n"


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_simulate_then_estimate(tmp_path, scenario, capsys):
    sim, report = tmp_path / "sim", tmp_path / "report"
    status = main(["age", "--simulate", str(scenario), "--carriers", "8", "--datasets", "3",
                   "--markers", "--out", str(sim)])
    out = capsys.readouterr().out
    assert status == 0
    assert "planning, 8 carriers per data set" in out and "age 40 generations" in out
    assert {p.name for p in sim.iterdir()} == {"lengths.csv", "haplotypes.csv", "truth.csv"}
    assert main(["age", str(sim / "lengths.csv"), "--scenario", str(scenario),
                 "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert "8 carriers" in out and "gamma, independent" in out and "gamma, correlated" in out
    assert {p.name for p in report.iterdir()} == {
        "lengths.csv", "estimates.csv", "shared_lengths.png", "report.md"}
    assert main(["age", str(sim / "haplotypes.csv"), "--scenario", str(scenario)]) == 0
    assert "chance-sharing correction" in capsys.readouterr().out


def test_lengths_in_mb_through_a_map(tmp_path, scenario, capsys):
    data = tmp_path / "mb.csv"
    data.write_text("left_mb,right_mb\n1,2\n2,1\n", encoding="utf-8")
    genetic_map = tmp_path / "map.csv"
    genetic_map.write_text("position_mb,cm\n0,0\n10,20\n20,30\n", encoding="utf-8")
    assert main(["age", str(data), "--scenario", str(scenario), "--map", str(genetic_map),
                 "--locus-mb", "10"]) == 0
    # 2 cM/Mb left of 10 Mb, 1 cM/Mb right: carriers share 2 + 2 and 4 + 1 cM
    assert "mean 4.5 cM" in capsys.readouterr().out


BAD = {
    "missing length": ("lengths", "carrier,left_cm,right_cm\nc1,1,\nc2,1,2\n", [],
                       "line 2, column 3 (right_cm) = '': is missing"),
    "negative length": ("lengths", "left_cm,right_cm\n1,2\n-0.5,1\n", [],
                        "line 3, column 1 (left_cm) = '-0.5': must be a finite number ≥ 0"),
    "one carrier": ("lengths", "left_cm,right_cm\n1,2\n", [],
                    "(carriers) = 1: at least two carriers are needed"),
    "no length columns": ("lengths", "a,b\n1,2\n3,4\n", [], "line 1, column 1 (header)"),
    "Mb without a map": ("lengths", "left_mb,right_mb\n1,2\n3,4\n", [],
                         "lengths in Mb need a genetic map"),
    "positions out of order": ("haplotypes", "locus_mb,10\nposition_mb,9,8.5,11\nc1,A,C,G\n"
                               "c2,A,C,G\n", [], "line 2, column 3 (position_mb) = 8.5"),
    "unequal haplotypes": ("haplotypes", "locus_mb,10\nposition_mb,9,11\nc1,A,C\nc2,A\n", [],
                           "line 4, column 3 (haplotype) = 1: must have 2 alleles"),
    "three alleles": ("haplotypes", "locus_mb,10\nposition_mb,9,11\nc1,A,C\nc2,G,C\nc3,T,C\n",
                      [], "line 5, column 2 (allele) = 'T': a third allele"),
    "map short of the markers": ("haplotypes", HAPLOTYPES, ["--map", "MAP"],
                                 "line 2, column 5 (position_mb) = 11.0: lies outside"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_naming_file_line_and_column(case, tmp_path, scenario, capsys):
    kind, text, extra, message = BAD[case]
    data = tmp_path / f"{kind}.csv"
    data.write_text(text, encoding="utf-8")
    genetic_map = tmp_path / "map.csv"
    genetic_map.write_text("position_mb,cm\n8,0\n10.8,3\n", encoding="utf-8")
    extra = [str(genetic_map) if word == "MAP" else word for word in extra]
    status = main(["age", str(data), "--scenario", str(scenario), "--out",
                   str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"popsim: error: {data}")
    assert message in err
    assert not (tmp_path / "out").exists()
