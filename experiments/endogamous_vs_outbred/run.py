"""Endogamous vs outbred: who are the GNE myopathy patients, and what do the data say?

Runs the study end to end:

1. the comparison of the presets ``iranian_jewish_m712t`` and
   ``outbred_reference`` (same replicates and seed), written as a full report
   (table, figures, report.md/html) into ``OUT/comparison``;
2. a sensitivity analysis of the Persian Jewish scenario over the assumptions
   that matter, one at a time around the preset (:data:`VARIANTS`): the
   community's size before its growth, migration from the host, the host's F,
   the community's F, u and s (prevalence identifies only u/s, so two pairs
   keep it and one doubles it), when M712T entered, and when the community was
   founded. Every point runs with the same replicates and seed. Per point, in
   the community at the present, into ``OUT/sensitivity.csv``:

   * per observation and for all together, the evidence (mean likelihood over
     histories, bootstrap 95% interval) and, per observation, the
     posterior-predictive p-value (:mod:`popsim.analysis.evidence`);
   * the evidence among the histories where M712T survived (the allele was
     studied because it is there: this is the evidence given that it is);
   * P(M712T lost);
   * the share of patients who are founder homozygotes and compound
     heterozygotes, pooled over histories (bootstrap 95%) and weighted by each
     history's likelihood of all observations (:mod:`popsim.analysis.weighted`,
     with the effective number of histories).

Usage (from the repository root)::

    .venv/bin/python experiments/endogamous_vs_outbred/run.py --out results/endogamous_vs_outbred
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from popsim.analysis.evidence import evidence, log_likelihoods
from popsim.analysis.weighted import (
    effective_histories,
    likelihood_weights,
    weighted_summary_rows,
)
from popsim.model.build import load_scenario
from popsim.model.catalog import resolve_config
from popsim.simulate import simulate
from popsim.workflows.compare import Entry, run_comparison
from popsim.workflows.compare.report import findings

COMMUNITY = "iranian_jewish_m712t"
OUTBRED = "outbred_reference"
DEME = "persian_jews"


def founders(n: int) -> dict[str, Any]:
    """Overrides for a community of ``n`` from its founding until its growth."""
    return {
        "demes.persian_jews.founded.founders": n,
        "demes.persian_jews.size.0.size": n,
        "demes.persian_jews.size.1.start": n,
    }


#: (assumption, value shown, overrides) per point; the preset's own value is marked "*".
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("preset", "*", {}),
    *[("founders", str(n), founders(n)) for n in (50, 100, 200, 700, 1000)],
    *[("migration", f"{m:g}", {"migration.0.rate": m}) for m in (0.0, 0.01)],
    ("host F", "0", {"demes.iranian_host.inbreeding": 0.0}),
    ("community F", "0.042", {"demes.persian_jews.inbreeding": 0.042}),
    *[
        ("u, s", f"{u:g}, {s:g}",
         {"locus.pathogenic_mutation_rate": u, "locus.selection.affected": s})
        for u, s in ((5e-7, 0.05), (2e-6, 0.2), (2e-6, 0.1))
    ],
    *[
        ("M712T entry (generations ago)", str(100 - g),
         {"locus.founder_alleles.M712T.generation": g})
        for g in (36, 60)
    ],
    ("founding (generations ago)", "52, with M712T",
     {"demes.persian_jews.founded.generation": 48, "migration.0.start_generation": 49}),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/endogamous_vs_outbred"))
    parser.add_argument("--replicates", type=int, default=2000, help="for the comparison")
    parser.add_argument(
        "--sensitivity-replicates", type=int, default=1000, help="per sensitivity point"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-comparison", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    if not args.skip_comparison:
        entries = [Entry(i, load_scenario(resolve_config(i)), i) for i in (COMMUNITY, OUTBRED)]
        comparison = run_comparison(entries, args.replicates, args.seed)
        command = (
            f"popsim compare {COMMUNITY} {OUTBRED} --replicates {args.replicates} "
            f"--seed {args.seed}"
        )
        comparison.write(args.out / "comparison", overwrite=True, command=command)
        print(comparison.table())
        for paragraph in findings(comparison.summary(), comparison.populations(), 0.5):
            print("\n" + textwrap.fill(paragraph, 100))

    table = sensitivity(args.sensitivity_replicates, args.seed)
    table.to_csv(args.out / "sensitivity.csv", index=False)
    print("\nSensitivity of the Persian Jewish scenario (persian_jews, present day):")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"\nwrote {args.out}/sensitivity.csv")
    return 0


def sensitivity(replicates: int, seed: int) -> pd.DataFrame:
    """One row per point of :data:`VARIANTS` (see the module docstring)."""
    rows = []
    for assumption, shown, overrides in VARIANTS:
        start = time.perf_counter()
        result = simulate(
            load_scenario(resolve_config(COMMUNITY), overrides), replicates=replicates, seed=seed
        )
        row = {"assumption": assumption, "value": shown, **point_row(result)}
        rows.append(row)
        print(f"  {assumption} = {shown}: {time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def point_row(result: Any) -> dict[str, float]:
    """The sensitivity columns of one point's result (community deme)."""
    d = result.deme_names.index(DEME)
    summary = {r["statistic"]: r for r in result.summary_rows() if r["deme"] in (DEME, "")}
    logliks = log_likelihoods(result)
    survived = result.final_statistics["founder_frequency"][:, d] > 0
    row: dict[str, float] = {"p_m712t_lost": float(1.0 - survived.mean())}
    for name in [o.name for o in result.scenario.count_observations] + ["total"]:
        ev = summary[f"evidence_{name}"]
        row[f"evidence_{name}"] = ev["mean"]
        row[f"evidence_{name}_q025"] = ev["q025"]
        row[f"evidence_{name}_q975"] = ev["q975"]
        if name != "total":
            row[f"ppp_{name}"] = summary[f"ppp_{name}"]["mean"]
        row[f"evidence_{name}_given_m712t"] = (
            evidence(logliks[name][survived], resamples=200)[0] if survived.any() else np.nan
        )
    weights = likelihood_weights(logliks["total"])
    weighted = {r["statistic"]: r for r in weighted_summary_rows(result, d, weights)}
    for share in ("share_founder_homozygotes", "share_compound_heterozygotes"):
        for label, rows in (("pooled", summary), ("weighted", weighted)):
            r = rows.get(share, {"mean": np.nan, "q025": np.nan, "q975": np.nan})
            row[f"{share}_{label}"] = r["mean"]
            row[f"{share}_{label}_q025"] = r["q025"]
            row[f"{share}_{label}_q975"] = r["q975"]
    row["effective_histories"] = effective_histories(weights)
    return row


if __name__ == "__main__":
    sys.exit(main())
