"""One unit convention for run, compare, report and figures; founder outcomes only
where the founder allele can be (issue 25)."""

from __future__ import annotations

import numpy as np
import pytest

from popsim.genetics.statistics import BY_NAME, run_table, shown_rows
from popsim.model.build import scenario_from_dict
from popsim.model.plan import compile_plan, founder_demes
from popsim.outputs.tables import summary_table
from popsim.simulate import simulate

CONFIG = {
    "scenario": {"name": "units", "generations": 12, "replicates": 60, "seed": 5,
                 "generation_time_years": 25},
    "demes": [
        {"name": "host", "size": 3000},
        {"name": "iso", "size": {"start": 20, "end": 500},
         "founded": {"generation": 2, "from": "host", "founders": 20}},
        {"name": "daughter", "size": 200,
         "founded": {"generation": 6, "from": "iso", "founders": 30}},
    ],
    "migration": [{"source": "host", "dest": "iso", "rate": 0.01}],
    "locus": {"pathogenic_mutation_rate": 1e-4,
              "founder_alleles": [{"name": "F", "deme": "iso", "generation": 2, "copies": 2}]},
}


@pytest.fixture(scope="module")
def result():
    return simulate(scenario_from_dict(CONFIG))


def test_founder_demes_follow_introduction_founding_and_migration():
    """iso has the allele, daughter is founded from iso; the host only gives
    migrants to iso, so the allele never reaches it — unless iso sends migrants back."""
    assert founder_demes(compile_plan(scenario_from_dict(CONFIG))).tolist() == [False, True, True]
    back = {**CONFIG, "migration": [*CONFIG["migration"],
                                    {"source": "iso", "dest": "host", "rate": 0.001,
                                     "start_generation": 3}]}
    assert founder_demes(compile_plan(scenario_from_dict(back))).all()
    none = {**CONFIG, "locus": {"pathogenic_mutation_rate": 1e-4}}
    assert not founder_demes(compile_plan(scenario_from_dict(none))).any()


def test_founder_lost_is_undefined_where_the_allele_never_was(result):
    rows = {(r["deme"], r["statistic"]): r for r in result.summary_rows()}
    assert np.isnan(rows[("host", "p_founder_lost")]["mean"])
    assert 0 <= rows[("iso", "p_founder_lost")]["mean"] <= 1
    assert rows[("host", "founder_frequency")]["mean"] == 0  # true, and shown as such


def test_no_flat_founder_figure_for_a_deme_the_allele_never_reaches(result, tmp_path):
    from popsim.outputs.figures import result_figures

    names = {p.name for p in result_figures(result, tmp_path)}
    assert "founder_frequency_iso.png" in names and "founder_frequency_daughter.png" in names
    assert "founder_frequency_host.png" not in names


def test_run_table_shows_people_per_100000_and_shares_in_percent(result):
    """The run table uses the compare table's units: a prevalence of 2e-4 is shown
    as 20 (per 100,000), a share of 0.9 as 90 (%); labels carry the unit."""
    rows = result.summary_rows()
    text = summary_table(rows + shown_rows(rows))
    labels = dict(run_table())
    prevalence = next(r for r in rows if r["deme"] == "iso" and r["statistic"] == "prevalence")
    shown = next(r for r in shown_rows(rows)
                 if r["deme"] == "iso" and r["statistic"] == "prevalence_per_100k")
    assert shown["mean"] == pytest.approx(prevalence["mean"] * 1e5, rel=1e-12)
    assert labels["prevalence_per_100k"] == "prevalence: patients (per 100,000)"
    assert "share of patients: other hom. (%), pooled" in text  # run shows all three shares
    assert "prevalence: patients (per 100,000)" in text
    assert all(BY_NAME[s].factor == 1 for s, _ in run_table() if s in BY_NAME)


def test_time_is_years_before_present_everywhere(result, tmp_path):
    """trajectories: years_before_present = (T − g)·25; the figures' time axis says so
    and runs to the present at the right, generations on the top axis."""
    from matplotlib.figure import Figure  # noqa: F401  (the figures' backend)

    from popsim.outputs.figures import fan_chart

    frame = result.trajectories()
    expected = (12 - frame["generation"]) * 25.0
    assert np.array_equal(frame["years_before_present"], expected)
    assert "years" not in frame.columns
    from popsim.outputs import figures

    captured = {}
    original = figures.Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["fig"] = fig
        return original(fig, *args, **kwargs)

    figures.Figure.savefig = keep
    try:
        fan_chart(result, 1, tmp_path / "fan2.png")
    finally:
        figures.Figure.savefig = original
    ax = captured["fig"].axes[0]
    assert ax.get_xlabel() == "years before present"
    assert ax.xaxis_inverted()
    top = [c for c in ax.child_axes if "generations before present" in c.get_xlabel()]
    assert len(top) == 1


def test_demes_have_labels_that_people_read(tmp_path):
    """A deme's ``label`` (or one derived from its name) is what the run table's
    columns, the figures and the compare columns show; ids stay for keys and files."""
    from popsim.model.scenario import default_label

    assert default_label("persian_jews") == "Persian jews"
    raw = {**CONFIG, "demes": [{**CONFIG["demes"][0], "label": "Middle Eastern host"},
                               *CONFIG["demes"][1:]]}
    res = simulate(scenario_from_dict({**raw, "scenario": {**raw["scenario"], "replicates": 5}}))
    assert res.deme_labels == ("Middle Eastern host", "Iso", "Daughter")
    paths = res.write(tmp_path / "out")
    svg = (paths / "figures" / "patient_genotypes.svg").read_text()
    assert "Middle Eastern host" in svg and "Daughter" in svg
    assert (paths / "figures" / "founder_frequency_iso.svg").is_file()  # files keep ids


def test_a_label_with_hidden_characters_is_refused():
    from popsim.errors import ConfigError

    raw = {**CONFIG, "demes": [{**CONFIG["demes"][0], "label": "host\u202e"},
                               *CONFIG["demes"][1:]]}
    with pytest.raises(ConfigError, match=r"demes\[0\]\.label"):
        scenario_from_dict(raw)


def test_figures_are_the_same_bytes_twice(result, tmp_path):
    """The SVG carries no date: the same result gives the same figure files."""
    from popsim.outputs.figures import fan_chart

    first = fan_chart(result, 1, tmp_path / "a.png").with_suffix(".svg").read_bytes()
    second = fan_chart(result, 1, tmp_path / "b.png").with_suffix(".svg").read_bytes()
    assert first == second


def test_a_mean_outside_the_range_of_histories_is_marked_and_explained():
    """A skewed statistic (one history of ten carries it all) has its mean above the
    97.5% quantile: the cell marks it and the table explains the mark once; a mean
    inside its range, or a NaN range, is not marked."""
    from popsim.outputs.tables import OUTSIDE_NOTE, cell, summary_table

    skewed = {"deme": "a", "statistic": "prevalence", "mean": 1.51, "q025": 0.0,
              "median": 0.0, "q975": 0.603}
    inside = {**skewed, "deme": "b", "mean": 0.3}
    assert cell(skewed) == "1.51* [0, 0.603]"
    assert cell(inside) == "0.3 [0, 0.603]"
    assert cell({**skewed, "q025": float("nan"), "q975": float("nan")}) == "1.51"
    table = summary_table([skewed, inside], (("prevalence", "prevalence"),))
    assert table.endswith(OUTSIDE_NOTE) and table.count(OUTSIDE_NOTE) == 1
    assert OUTSIDE_NOTE not in summary_table([inside], (("prevalence", "prevalence"),))


def test_report_intervals_show_the_decimals_that_tell_their_ends_apart():
    """2.59%–2.79% is not printed as 3%–3%; ends that are equal stay as they are."""
    from popsim.workflows.compare.report import _interval

    def value(ends):
        return lambda label, statistic, q: ends[q]

    assert _interval(value({"q025": 2.59, "q975": 2.79}), "x", "s") == "2.6%–2.8%"
    assert _interval(value({"q025": 2.591, "q975": 2.594}), "x", "s") == "2.59%–2.59%"
    assert _interval(value({"q025": 0.0, "q975": 100.0}), "x", "s") == "0%–100%"
    assert _interval(value({"q025": 3.0, "q975": 3.0}), "x", "s") == "3%–3%"
