"""Screening and counselling numbers: formulas against hand calculations, summaries over
histories, the ``popsim risk`` command and the compare report's section."""

from __future__ import annotations

import csv
import importlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from popsim.analysis.risk import MEASURES, measures, risk_rows, table_histories
from popsim.cli import main
from popsim.genetics.risk import (
    KINSHIP,
    carrier_couples,
    child_risk,
    founder_test_detection,
    full_gene_detection,
    pathogenic_after_negative_test,
    residual_risk,
)
from popsim.outputs.risk import one_in, people, percent

Q = 0.045  # the example: q² ≈ 1/494, first cousins ≈ 1/212


# --------------------------------------------------------------------------- formulas


def test_unrelated_and_cousin_risks_match_the_hand_calculations():
    assert 1 / child_risk(Q, KINSHIP["unrelated"]) == pytest.approx(493.827, abs=1e-3)
    assert one_in(child_risk(Q, KINSHIP["unrelated"])) == "1 in 494"
    # first cousins: 0.045² · 15/16 + 0.045/16 = 0.0018984375 + 0.0028125 = 0.0047109375
    first = child_risk(Q, KINSHIP["first_cousins"])
    assert first == pytest.approx(0.0047109375, rel=1e-12)
    assert one_in(first) == "1 in 212"  # 1/212.27 (the issue rounds it to "≈ 1/213")
    # second cousins: 0.045² · 63/64 + 0.045/64 = 0.001993359375 + 0.000703125
    assert child_risk(Q, KINSHIP["second_cousins"]) == pytest.approx(0.002696484375, rel=1e-12)


def test_first_cousin_risk_keeps_the_15_16():
    """Forgetting the 15/16 (q² + q/16) overstates the risk by 1 in 206.7 vs 1 in 212.3."""
    first = child_risk(Q, 1 / 16)
    wrong = Q * Q + Q / 16
    assert abs(first - wrong) > 1e-4
    assert first == pytest.approx(Q * Q * 15 / 16 + Q / 16, rel=1e-12)


def test_child_risk_limits():
    assert child_risk(0.3, 1.0) == pytest.approx(0.3)  # both copies identical by descent
    assert child_risk(1.0, 0.0) == 1.0 and child_risk(0.0, 1 / 16) == 0.0


def _genotypes(p: np.ndarray, inbreeding: float) -> dict[tuple[int, int], float]:
    """Ordered genotype probabilities with inbreeding F (each copy's allele, by descent)."""
    return {
        (i, j): (1 - inbreeding) * p[i] * p[j] + (inbreeding * p[i] if i == j else 0.0)
        for i, j in itertools.product(range(len(p)), repeat=2)
    }


@pytest.mark.parametrize("inbreeding", [0.0, 0.0185, 0.2])
def test_unrelated_risk_and_negative_test_by_enumeration(inbreeding):
    """Enumerate two unrelated parents' genotypes (normal, founder, other allele), each
    formed with the deme's F: the child's risk is q² whatever F, and after negative
    founder-allele tests it is the closed form."""
    p = np.array([0.94, 0.045, 0.015])
    founder, other = p[1], p[2]
    geno = _genotypes(p, inbreeding)

    def gamete(condition) -> float:
        """P(a parent passes a pathogenic allele, parent meets ``condition``) / P(condition)."""
        mass = sum(w for g, w in geno.items() if condition(g))
        passes = sum(w * sum(a > 0 for a in g) / 2 for g, w in geno.items() if condition(g))
        return passes / mass

    anyone = gamete(lambda g: True)
    negative = gamete(lambda g: 1 not in g)
    assert anyone * anyone == pytest.approx(child_risk(p[1:].sum(), 0.0), rel=1e-12)
    assert negative == pytest.approx(pathogenic_after_negative_test(founder, other), rel=1e-12)
    assert negative * anyone == pytest.approx(residual_risk(founder, other, 1), rel=1e-12)
    assert negative * negative == pytest.approx(residual_risk(founder, other, 2), rel=1e-12)
    # carriers (one normal, one pathogenic allele): the founder test finds a carrier
    # when the pathogenic allele is the founder allele
    carriers = {g: w for g, w in geno.items() if (0 in g) and any(a > 0 for a in g)}
    found = sum(w for g, w in carriers.items() if 1 in g) / sum(carriers.values())
    assert found**2 == pytest.approx(founder_test_detection(founder, p[1:].sum()), rel=1e-12)


def test_founder_test_detection_is_squared_share():
    """Both partners must test positive: (0.04/0.05)² = 0.64, not 0.8."""
    assert founder_test_detection(0.04, 0.05) == pytest.approx(0.64)
    assert np.isnan(founder_test_detection(0.0, 0.0))
    assert full_gene_detection(0.05) == 1.0 and np.isnan(full_gene_detection(0.0))


def test_residual_risks_by_hand():
    # q_f = 0.04, q_o = 0.01: a negative person passes a pathogenic allele w.p. 0.01/0.96
    assert residual_risk(0.04, 0.01, 1) == pytest.approx(0.05 * 0.01 / 0.96)
    assert residual_risk(0.04, 0.01, 2) == pytest.approx((0.01 / 0.96) ** 2)
    assert residual_risk(0.045, 0.0, 2) == 0.0  # founder allele only: a negative test clears
    with pytest.raises(ValueError):
        residual_risk(0.04, 0.01, 3)


def test_carrier_couples():
    assert carrier_couples(1 / 11) == pytest.approx(1 / 121)


# --------------------------------------------------------------------------- summaries


def _one_history(founder: float, other: float, inbreeding: float, size: float) -> dict:
    q = founder + other
    carriers = 2 * (1 - q) * q * (1 - inbreeding)
    affected = q * q * (1 - inbreeding) + q * inbreeding
    return {
        "size": np.array([[size]]),
        "founder_frequency": np.array([[founder]]),
        "other_frequency": np.array([[other]]),
        "carrier_frequency": np.array([[carriers]]),
        "prevalence": np.array([[0.5 * affected]]),  # penetrance 0.5
    }


def test_single_history_rows_are_the_exact_values():
    histories = _one_history(0.04, 0.005, 0.02, 100_000)
    rows = {row["statistic"]: row for row in risk_rows(("deme",), histories)}
    assert list(rows) == [m.name for m in MEASURES]
    q = 0.045
    carriers = 2 * 0.955 * q * 0.98
    expected = {
        "carrier_couples": carriers**2,
        "risk_unrelated": q * q,
        "risk_second_cousins": q * q * 63 / 64 + q / 64,
        "risk_first_cousins": q * q * 15 / 16 + q / 16,
        "detected_founder_test": (0.04 / q) ** 2,
        "detected_full_gene": 1.0,
        "residual_one_negative": q * 0.005 / 0.96,
        "residual_both_negative": (0.005 / 0.96) ** 2,
        "expected_carriers": 100_000 * carriers,
        "expected_patients": 100_000 * 0.5 * (q * q * 0.98 + q * 0.02),
    }
    for name, value in expected.items():
        row = rows[name]
        for key in ("mean", "q025", "median", "q975"):
            assert row[key] == pytest.approx(value, rel=1e-12), (name, key)
        assert row["histories"] == 1


def test_rows_are_over_histories_with_median_and_range():
    q = np.linspace(0.0, 0.09, 10)[:, None]
    zero = np.zeros_like(q)
    histories = {
        "size": np.full_like(q, 1000.0),
        "founder_frequency": q,
        "other_frequency": zero,
        "carrier_frequency": 2 * q * (1 - q),
        "prevalence": q * q,
    }
    rows = {row["statistic"]: row for row in risk_rows(("d",), histories)}
    risk = q[:, 0] ** 2
    unrelated = rows["risk_unrelated"]
    assert unrelated["mean"] == pytest.approx(risk.mean())
    assert unrelated["median"] == pytest.approx(np.median(risk))
    assert unrelated["q025"] == pytest.approx(np.quantile(risk, 0.025))
    assert unrelated["q975"] == pytest.approx(np.quantile(risk, 0.975))
    # the detection share needs carriers: the history with q = 0 is left out
    assert rows["detected_founder_test"]["histories"] == 9
    assert rows["risk_unrelated"]["histories"] == 10


def test_weighted_rows_follow_the_weights():
    histories = {k: np.concatenate([v, v * 0 + v[0] * (k == "size")]) for k, v in
                 _one_history(0.05, 0.0, 0.0, 500).items()}
    weights = np.array([1.0, 0.0])  # the second history (no carriers) has no weight
    rows = {r["statistic"]: r for r in risk_rows(("d",), histories, weights)}
    assert rows["risk_unrelated"]["mean"] == pytest.approx(0.05**2)
    assert rows["risk_unrelated"]["histories"] == 1


def test_founder_test_rows_are_undefined_without_a_founder_allele():
    """No founder allele in the deme: "0% found" would be true but meaningless; "—"."""
    histories = _one_history(0.0, 0.01, 0.0, 1000)
    rows = {r["statistic"]: r for r in risk_rows(("outbred",), histories)}
    for name in ("detected_founder_test", "residual_one_negative", "residual_both_negative"):
        assert np.isnan(rows[name]["mean"]) and rows[name]["histories"] == 0
    assert rows["risk_unrelated"]["mean"] == pytest.approx(1e-4)
    # a deme that a founder allele entered keeps them, even where it is lost (0% found)
    rows = {r["statistic"]: r for r in risk_rows(("x",), histories, founder_demes={0})}
    assert rows["detected_founder_test"]["mean"] == 0.0
    assert rows["residual_both_negative"]["mean"] == pytest.approx(1e-4)


def test_absent_deme_has_no_rows():
    histories = _one_history(0.05, 0.0, 0.0, 0)
    assert risk_rows(("gone",), histories) == []
    assert np.isnan(measures(histories)["expected_carriers"]).all()


def test_table_histories_reorders_and_refuses_gaps():
    table = {
        "replicate": ["1", "0", "1", "0"],
        "deme": ["b", "a", "a", "b"],
        **{name: ["4", "1", "3", "2"] for name in
           ("size", "founder_frequency", "other_frequency", "carrier_frequency", "prevalence")},
    }
    demes, columns = table_histories(table)
    assert demes == ("b", "a")
    np.testing.assert_array_equal(columns["size"], [[4.0, 3.0], [2.0, 1.0]])
    with pytest.raises(KeyError, match="prevalence"):
        table_histories({k: v for k, v in table.items() if k != "prevalence"})
    with pytest.raises(ValueError):
        table_histories({k: v[:3] for k, v in table.items()})


def test_words():
    assert one_in(1 / 493.8) == "1 in 494"
    assert one_in(1 / 24_321) == "1 in 24,300"
    assert one_in(1e-7) == "1 in 10 million" and one_in(2e-12) == "1 in 500 billion"
    assert one_in(0.0) == "0" and one_in(float("nan")) == "—" and one_in(1.0) == "1 in 1"
    assert percent(0.64) == "64%" and percent(1.0) == "100%" and percent(0.12345) == "12.3%"
    assert people(9087.4) == "9,090" and people(0.4213) == "0.421" and people(0.0) == "0"


# --------------------------------------------------------------------------- the command

SMALL = ["--replicates", "6", "--set", "scenario.burn_in=200"]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("preset", ["iranian_jewish_m712t", "outbred_reference"])
def test_risk_command_matches_hand_calculations_on_a_preset(preset, tmp_path, capsys):
    run_dir, risk_dir = tmp_path / "run", tmp_path / "risk"
    assert main(["run", preset, *SMALL, "--out", str(run_dir), "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["risk", "--from", str(run_dir), "--out", str(risk_dir)]) == 0
    from_run = capsys.readouterr().out
    final = _read_csv(run_dir / "final.csv")
    table = _read_csv(risk_dir / "risk.csv")
    rows = {(r["deme"], r["statistic"]): r for r in table if r["weighting"] == "none"}
    for deme in sorted({r["deme"] for r in final}):
        mine = [r for r in final if r["deme"] == deme]
        qf = np.array([float(r["founder_frequency"]) for r in mine])
        qo = np.array([float(r["other_frequency"]) for r in mine])
        q = qf + qo
        hand = {
            "risk_unrelated": q * q,
            "risk_first_cousins": q * q * 15 / 16 + q / 16,
            "risk_second_cousins": q * q * 63 / 64 + q / 64,
            "expected_carriers": np.array(
                [float(r["size"]) * float(r["carrier_frequency"]) for r in mine]
            ),
        }
        for name, values in hand.items():
            row = rows[(deme, name)]
            assert float(row["mean"]) == pytest.approx(values.mean(), rel=1e-9, abs=1e-300)
            assert float(row["median"]) == pytest.approx(np.median(values), rel=1e-9)
            assert float(row["q975"]) == pytest.approx(np.quantile(values, 0.975), rel=1e-9)
        assert one_in(float(rows[(deme, "risk_unrelated")]["mean"])) in from_run
        founder_row = rows[(deme, "detected_founder_test")]
        if qf.max() > 0:
            share = (qf / q)[q > 0] ** 2
            assert float(founder_row["mean"]) == pytest.approx(share.mean(), rel=1e-9)
        else:  # no founder allele reaches the host or the outbred population
            assert founder_row["mean"] == "" and founder_row["histories"] == "0"
    manifest = json.loads((risk_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["workflow"] == "risk" and manifest["risk"]["from"] == str(run_dir)
    assert manifest["risk"]["run"]["replicates"] == 6
    # simulating gives the same tables as reading the run's directory
    assert main(["risk", preset, *SMALL, "--out", str(tmp_path / "again")]) == 0
    simulated = capsys.readouterr().out
    assert simulated.splitlines()[1:-1] == from_run.splitlines()[1:-1]
    assert _read_csv(tmp_path / "again" / "risk.csv") == _read_csv(risk_dir / "risk.csv")
    assert "95% of histories" in simulated and "median" in simulated
    heading = {"iranian_jewish_m712t": "Persian Jews", "outbred_reference": "Outbred"}[preset]
    assert f"\n{heading}\n" in simulated and f"\n{heading}\n" in from_run  # labels, not ids


@pytest.mark.parametrize(
    "words, message",
    [
        (["risk"], "SCENARIO: give a scenario (file or preset id) or --from DIR"),
        (["risk", "--from", "no/such/dir"], "--from = 'no/such/dir': must be a directory"),
        (["risk", "outbred_reference", "--from", "x"], "--from = 'x'"),
        (["risk", "--from", "x", "--replicates", "3"], "--replicates = 3: not with --from"),
        (["risk", "--from", "x", "--set", "a.b=1"], "--set = 'a.b=1': not with --from"),
        (["risk", "outbred_reference", "--replicates", "0"], "scenario.replicates"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(words, message, capsys):
    assert main(words) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_existing_out_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    module = importlib.import_module("popsim.simulate")

    def refuse(*args, **kwargs):
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(module, "simulate", refuse)
    assert main(["risk", "outbred_reference", "--out", str(tmp_path)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_from_a_directory_without_final_csv_columns(tmp_path, capsys):
    (tmp_path / "final.csv").write_text("replicate,deme,size\n0,a,10\n", encoding="utf-8")
    assert main(["risk", "--from", str(tmp_path)]) == 2
    assert "final.csv lacks column(s) founder_frequency" in capsys.readouterr().err


# --------------------------------------------------------------------------- the report


def test_report_section_has_one_table_per_population(tmp_path):
    from popsim.model.build import scenario_from_dict
    from popsim.workflows.compare import Entry, run_comparison
    from popsim.workflows.compare.report import report_blocks, to_html, to_markdown
    from popsim.workflows.compare.screening import TITLE, screening_blocks

    isolate = {
        "scenario": {"name": "isolate", "generations": 8, "replicates": 12, "seed": 5,
                     "burn_in": 20},
        "demes": [{"name": "isolate", "size": 400, "inbreeding": 0.02}],
        "locus": {
            "pathogenic_mutation_rate": 1e-4,
            "selection": {"affected": 0.1},
            "founder_alleles": [{"name": "F1", "deme": "isolate", "generation": 0,
                                 "copies": 20}],
        },
        "observed": [{"statistic": "carrier_frequency", "deme": "isolate", "value": 0.05}],
    }
    comparison = run_comparison([Entry("isolate", scenario_from_dict(isolate))])
    blocks = screening_blocks(comparison)
    assert blocks[0] == ("h2", TITLE)
    labels = [p.label for p in comparison.populations()]
    assert [b[1] for b in blocks if b[0] == "h3"] == labels
    tables = [b[1] for b in blocks if b[0] == "table"]
    result = comparison.results[0]
    q = result.final_statistics["pathogenic_frequency"][:, 0]
    assert tables[0][2][0] == "risk of an affected child: unrelated couple"
    assert tables[0][2][1] == one_in(float(np.mean(q * q)))
    whole = report_blocks(comparison, {}, "")
    assert ("h2", TITLE) in whole
    assert "Screening and counselling" in to_markdown(whole, tmp_path)
    assert "<h2>Screening and counselling</h2>" in to_html(whole)


def test_report_section_weights_histories_by_their_likelihood():
    from popsim.analysis.weighted import weighted_describe
    from popsim.model.build import scenario_from_dict
    from popsim.workflows.compare import Entry, run_comparison
    from popsim.workflows.compare.screening import screening_blocks

    isolate = {
        "scenario": {"name": "isolate", "generations": 8, "replicates": 16, "seed": 3,
                     "burn_in": 20},
        "demes": [{"name": "isolate", "size": 300}],
        "locus": {
            "pathogenic_mutation_rate": 1e-4,
            "founder_alleles": [{"name": "F1", "deme": "isolate", "generation": 0,
                                 "copies": 15}],
        },
        "observed": [{"name": "screen", "deme": "isolate", "carriers": 6, "screened": 100,
                      "allele": "any"}],
    }
    comparison = run_comparison([Entry("isolate", scenario_from_dict(isolate))])
    weighted = [p for p in comparison.populations() if p.weighted]
    assert len(weighted) == 1
    blocks = screening_blocks(comparison)
    position = blocks.index(("h3", weighted[0].label))
    table = blocks[position + 1][1]
    q = comparison.results[0].final_statistics["pathogenic_frequency"][:, 0]
    weights = comparison.weights("isolate")
    expected = weighted_describe("isolate", "risk_unrelated", q * q, weights)
    assert table[2][1] == one_in(expected["mean"])
    assert table[2][3] == f"{one_in(expected['q025'])} to {one_in(expected['q975'])}"
    unweighted = blocks[blocks.index(("h3", "Isolate")) + 1][1]  # the deme label
    assert unweighted[2][1] == one_in(float(np.mean(q * q)))


def test_risk_weights_histories_by_their_likelihood_of_the_observations(tmp_path, capsys):
    """A scenario with observations: risk.csv's 'likelihood' rows are the means over
    histories weighted by w_h = L_h / Σ L (L_h from final.csv's loglik_total), computed
    here by hand for the unrelated couple's risk q²; the printed weighted section
    says how many equally weighted histories it is worth. Fails against unweighted
    means (the histories' likelihoods differ by orders of magnitude here)."""
    run_dir, risk_dir = tmp_path / "run", tmp_path / "risk"
    args = ["--replicates", "40", "--set", "scenario.burn_in=0", "--set",
            "demes.persian_jews.founded.founders=20", "--set", "demes.persian_jews.size.0.size=20",
            "--set", "demes.persian_jews.size.1.start=20"]
    assert main(["run", "iranian_jewish_m712t", *args, "--out", str(run_dir),
                 "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["risk", "--from", str(run_dir), "--out", str(risk_dir)]) == 0
    out = capsys.readouterr().out
    final = [r for r in _read_csv(run_dir / "final.csv") if r["deme"] == "persian_jews"]
    loglik = np.array([float(r["loglik_total"]) for r in final])
    weights = np.where(np.isfinite(loglik), np.exp(loglik - loglik[np.isfinite(loglik)].max()), 0)
    weights /= weights.sum()
    q = np.array([float(r["founder_frequency"]) + float(r["other_frequency"]) for r in final])
    rows = {(r["weighting"], r["deme"], r["statistic"]): r
            for r in _read_csv(risk_dir / "risk.csv")}
    weighted = float(rows[("likelihood", "persian_jews", "risk_unrelated")]["mean"])
    plain = float(rows[("none", "persian_jews", "risk_unrelated")]["mean"])
    assert weighted == pytest.approx(float(np.sum(weights * q * q)), rel=1e-9)
    assert weighted != pytest.approx(plain, rel=0.1)
    n_eff = 1.0 / float(np.sum(weights**2))
    assert f"worth {n_eff:.1f} equally weighted histories" in out
