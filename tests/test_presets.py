"""The shipped study presets: one generation-time convention, demographically possible
histories, and the Demes preset as the same scenario as the TOML preset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from popsim.model.build import load_scenario
from popsim.model.plan import compile_plan
from popsim.simulate import simulate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
#: The frequency-engine study presets (the pedigree preset and the fit file are
#: maintained with their own workflows).
STUDY = (
    "iranian_jewish_m712t",
    "iranian_jewish_m712t_demes",
    "outbred_reference",
    "mari_a57f",
    "japanese_two_founders",
)
#: The fastest growth a preset may assume, per generation: doubling a generation is
#: about 2.8% a year at 25 years, above any sustained human growth.
MAX_GROWTH = 2.0


@pytest.mark.parametrize("preset", STUDY)
def test_one_generation_time_convention(preset):
    assert load_scenario(CONFIGS / f"{preset}.toml").generation_time_years == 25.0


@pytest.mark.parametrize("preset", STUDY)
def test_histories_are_demographically_possible(preset):
    scenario = load_scenario(CONFIGS / f"{preset}.toml")
    sizes = compile_plan(scenario).sizes.astype(np.float64)
    for d, deme in enumerate(scenario.demes):
        n = sizes[:, d]
        grown = (n[:-1] > 0) & (n[1:] > 0)  # the founding step (0 → founders) is not growth
        growth = (n[1:][grown] / n[:-1][grown]).max(initial=1.0)
        assert growth <= MAX_GROWTH, f"{preset}: {deme.name} grows ×{growth:.2f} a generation"


def _without_texts(scenario):
    demes = tuple(dataclasses.replace(d, description="", epochs=()) for d in scenario.demes)
    return dataclasses.replace(scenario, name="", description="", citations=(), demes=demes)


def test_demes_preset_is_the_toml_preset_up_to_rounding_of_sizes():
    toml = load_scenario(CONFIGS / "iranian_jewish_m712t.toml")
    demes = load_scenario(CONFIGS / "iranian_jewish_m712t_demes.toml")
    assert _without_texts(toml) == _without_texts(demes)
    a, b = compile_plan(toml).sizes, compile_plan(demes).sizes
    assert ((a > 0) == (b > 0)).all()
    assert (np.abs(a - b) / np.maximum(a, 1)).max() < 1e-3


def test_demes_preset_gives_the_toml_presets_numbers_within_sampling_error():
    overrides = {"scenario.burn_in": 200}
    runs = [
        simulate(load_scenario(CONFIGS / f"{name}.toml", overrides), replicates=400)
        for name in ("iranian_jewish_m712t", "iranian_jewish_m712t_demes")
    ]
    d = runs[0].deme_names.index("persian_jews")
    for statistic in ("founder_carrier_frequency", "carrier_frequency"):
        x, y = (r.final_statistics[statistic][:, d] for r in runs)
        se = np.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) <= 4 * se + 1e-12, statistic
    lost = [float((r.final_statistics["founder_frequency"][:, d] == 0).mean()) for r in runs]
    assert abs(lost[0] - lost[1]) <= 4 * np.sqrt(0.25 / 400 * 2)
