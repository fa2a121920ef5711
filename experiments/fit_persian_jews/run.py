"""M712T in Persian Jews: which founding sizes, inbreeding and gene flow make the counts probable?

Runs ``popsim fit configs/fit_persian_jews.toml`` (likelihood-weighted importance
sampling with the base's full burn-in) into ``OUT/fit`` and writes, into
``OUT/findings.json``: the fit's summary (with its flags), n_eff, the evidence,
P(founders ≤ 50) and P(founders ≤ 100) under the posterior, and the prior
predictive probability of each observation (the mean over the prior draws of
round 0 of P(observation | history): e.g. the probability of 47 of 47 families
founder homozygous before seeing the other counts), and the conditional
predictive probability of each observation given the others (the draws of all
rounds weighted by π/q times the likelihood of the OTHER observations, then
averaging P(observation | history): is one count in tension with the rest?).

Usage (from the repository root)::

    .venv/bin/python experiments/fit_persian_jews/run.py --out results/fit_persian_jews
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from popsim.outputs.files import write_text_atomic
from popsim.workflows.fit import load_fit, run_fit
from popsim.workflows.fit.likelihood import Round

ROOT = Path(__file__).resolve().parents[2]
FIT = ROOT / "configs" / "fit_persian_jews.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--executor", default="processes", help="serial, processes or dask")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted fit")
    args = parser.parse_args()
    out = Path(args.out)
    fit = load_fit(FIT)
    outcome = run_fit(fit, out / "fit", executor=args.executor, resume=args.resume,
                      overwrite=not args.resume)
    posterior = outcome.posterior
    w = posterior["weight"].to_numpy()
    prior_draws = posterior[posterior["round"] == 0]
    findings: dict[str, object] = {
        "simulations": outcome.simulations,
        "wall_seconds": round(outcome.wall_seconds, 1),
        "n_eff": outcome.ess,
        "log_evidence": outcome.log_evidence,
        "summary": outcome.summary.to_dict(orient="records"),
        "p_founders_le_50": float(np.sum(w[posterior["founders"] <= 50])),
        "p_founders_le_100": float(np.sum(w[posterior["founders"] <= 100])),
        "prior_predictive": {
            name: float(np.mean(np.exp(prior_draws[f"loglik_{name}"])))
            for name in (*fit.likelihood, "total")
        },
    }
    findings["given_the_others"] = given_the_others(outcome.rounds, fit.likelihood)
    write_text_atomic(out / "findings.json", json.dumps(findings, indent=2))
    print(json.dumps(findings, indent=2))


def given_the_others(rounds: list[Round], names: tuple[str, ...]) -> dict[str, float]:
    """P(observation i | the other observations) per observation: Σ w₋ᵢ·Lᵢ / Σ w₋ᵢ over the
    draws of every round, w₋ᵢ = π/q · Π_{j≠i} L_j (an importance sample of the posterior
    given the others, since each round's proposal includes the prior)."""
    log_ratio = np.concatenate([r.log_ratio for r in rounds])
    logliks = np.concatenate([r.logliks for r in rounds])[:, : len(names)]
    out = {}
    for i, name in enumerate(names):
        others = log_ratio + logliks.sum(axis=1) - logliks[:, i]
        with np.errstate(invalid="ignore"):
            w = np.exp(others - np.max(others[np.isfinite(others)]))
        w = np.where(np.isfinite(w), w, 0.0)
        out[name] = float(np.sum(w * np.exp(logliks[:, i])) / np.sum(w))
    return out


if __name__ == "__main__":
    main()
