"""M712T in Persian Jews: which founding sizes, ages and F fit the data, and is drift enough?

Runs the study end to end:

1. ``popsim fit configs/fit_persian_jews.toml`` (ABC-SMC on the founding size,
   the allele age in generations and F; ABC model choice between drift alone
   and a carrier advantage), written into ``OUT/fit``;
2. from its posterior: P(founders ≤ 50), P(founders ≤ 100), the posterior
   predictive P(carrier frequency ≥ 1 in 11), and the share of patients who are
   M712T homozygotes at the posterior medians when the host's background of
   other pathogenic alleles is at balance (the base's full burn-in, which the
   fit leaves out for speed), into ``OUT/findings.json``.

Usage (from the repository root)::

    .venv/bin/python experiments/fit_persian_jews/run.py --out results/fit_persian_jews

A few minutes on 2 cores (timings vary with the machine's load).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from popsim.model.build import load_scenario
from popsim.outputs.files import write_text_atomic
from popsim.simulate import simulate
from popsim.workflows.fit import load_fit, run_fit

ROOT = Path(__file__).resolve().parents[2]
FIT = ROOT / "configs" / "fit_persian_jews.toml"
BASE = ROOT / "configs" / "iranian_jewish_m712t.toml"
#: Replicates of the background check at the posterior medians (full burn-in).
BACKGROUND_REPLICATES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--executor", default="processes", help="serial, processes or dask")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted fit")
    args = parser.parse_args()
    out = Path(args.out)
    outcome = run_fit(
        load_fit(FIT), out / "fit", executor=args.executor, resume=args.resume,
        overwrite=not args.resume,
    )
    posterior = outcome.posterior
    w = posterior["weight"].to_numpy()
    findings: dict[str, object] = {
        "stopped": outcome.stopped,
        "simulations": outcome.simulations,
        "summary": outcome.summary.to_dict(orient="records"),
        "p_founders_le_50": float(np.sum(w[posterior["founders"] <= 50])),
        "p_founders_le_100": float(np.sum(w[posterior["founders"] <= 100])),
    }
    carriers = pd.read_csv(outcome.directory / "predictive.csv")["carrier_frequency"]
    findings["predictive_p_carriers_ge_1_in_11"] = float(np.mean(carriers >= 1 / 11))
    if outcome.model_choice is not None:
        findings["model_choice"] = outcome.model_choice.table.to_dict(orient="records")
    medians = outcome.summary.set_index("parameter")["median"]
    findings["background_check"] = background_check(medians.to_dict())
    write_text_atomic(out / "findings.json", json.dumps(findings, indent=2))
    print(json.dumps(findings, indent=2))


def background_check(medians: dict[str, float]) -> dict[str, float]:
    """Share of patients who are M712T homozygotes at the posterior medians, with the
    base's full burn-in (host background at mutation–selection balance), among
    replicates whose carrier frequency is within the observation's interval."""
    founders = int(medians["founders"])
    scenario = load_scenario(BASE, {
        "demes.persian_jews.founded.founders": founders,
        "demes.persian_jews.size.start": founders,
        "scenario.generations": int(medians["generations"]),
        "demes.persian_jews.inbreeding": float(medians["inbreeding"]),
        "scenario.replicates": BACKGROUND_REPLICATES,
    })
    result = simulate(scenario)
    d = result.deme_names.index("persian_jews")
    stats = {name: values[:, -1, d] for name, values in result.statistics.items()}
    match = (stats["carrier_frequency"] >= 0.06) & (stats["carrier_frequency"] <= 0.11)
    patients = stats["affected_genotypes"][match].sum()
    share = stats["founder_homozygotes"][match].sum() / patients if patients > 0 else np.nan
    return {
        "founders": founders,
        "replicates": BACKGROUND_REPLICATES,
        "matching_carrier_frequency": int(match.sum()),
        "share_founder_homozygotes_matching": float(share),
    }


if __name__ == "__main__":
    main()
