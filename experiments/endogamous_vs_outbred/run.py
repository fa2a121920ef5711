"""Endogamous vs outbred: who are the GNE myopathy patients, and why?

Runs the study end to end:

1. the comparison of the two presets ``iranian_jewish_m712t`` and
   ``outbred_reference`` (same replicates and seed), written as a full report
   (table, figures, report.md/html) into ``OUT/comparison``;
2. a sensitivity analysis of the Persian Jewish scenario: the founding size
   (10, 20, 30, 50 founders; the community's size at founding follows it) and
   the inbreeding coefficient (0.0185 vs 0.042), each point run with the same
   replicates and seed. For every point it records P(carrier frequency ≥
   1 in 11), P(prevalence ≥ 1 in 500), the fraction of replicates within ±50%
   of both published values, and the share of patients in each genotype class
   (all replicates and the matching ones), into ``OUT/sensitivity.csv``.

Usage (from the repository root)::

    .venv/bin/python experiments/endogamous_vs_outbred/run.py --out results/endogamous_vs_outbred

About 3 minutes on 2 free cores with the defaults (2,000 replicates for the
comparison, 1,000 per sensitivity point).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import pandas as pd

from popsim.model.build import load_scenario
from popsim.model.catalog import resolve_config
from popsim.workflows.compare import Entry, run_comparison
from popsim.workflows.compare.report import findings

COMMUNITY = "iranian_jewish_m712t"
OUTBRED = "outbred_reference"
FOUNDERS = (10, 20, 30, 50)
INBREEDING = (0.0185, 0.042)
ROWS = {
    "replicates": "replicates",
    "p_reach_observed_carrier_frequency": "P(carriers >= 1/11)",
    "p_reach_observed_prevalence": "P(prevalence >= 1/500)",
    "share_founder_homozygotes_percent": "% founder hom.",
    "share_other_homozygotes_percent": "% other hom.",
    "share_compound_heterozygotes_percent": "% compound het.",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/endogamous_vs_outbred"))
    parser.add_argument("--replicates", type=int, default=2000, help="for the comparison")
    parser.add_argument(
        "--sensitivity-replicates", type=int, default=1000, help="per sensitivity point"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    entries = [Entry(i, load_scenario(resolve_config(i)), i) for i in (COMMUNITY, OUTBRED)]
    comparison = run_comparison(entries, args.replicates, args.seed)
    command = (
        f"popsim compare {COMMUNITY} {OUTBRED} --replicates {args.replicates} --seed {args.seed}"
    )
    comparison.write(args.out / "comparison", overwrite=True, command=command)
    print(comparison.table())
    for paragraph in findings(comparison.summary(), comparison.populations(), 0.5):
        print("\n" + textwrap.fill(paragraph, 100))
    print("\nMonte Carlo uncertainty of the pooled shares (bootstrap over replicates, 95%):")
    summary = comparison.summary()
    for population in comparison.populations():
        for name in ("founder_homozygotes", "compound_heterozygotes"):
            row = summary[
                (summary["population"] == population.label)
                & (summary["statistic"] == f"share_{name}")
            ]
            if row.empty or row["q025"].isna().all():
                continue
            low, high = row[["q025", "q975"]].to_numpy(float)[0]
            label = name.replace("_", " ")
            print(f"  {population.label}: {label} {100 * low:.1f}%–{100 * high:.1f}%")

    table = sensitivity(args.sensitivity_replicates, args.seed)
    table.to_csv(args.out / "sensitivity.csv", index=False)
    print("\nSensitivity of the Persian Jewish scenario (persian_jews, present day):")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"\nwrote {args.out}/comparison/ and {args.out}/sensitivity.csv")
    return 0


def sensitivity(replicates: int, seed: int) -> pd.DataFrame:
    """One row per variant of the community scenario: founding size and F."""
    variants = [(n, INBREEDING[0]) for n in FOUNDERS]
    variants += [(20, f) for f in INBREEDING[1:]]
    entries = []
    for founders, inbreeding in variants:
        overrides = {
            "demes.persian_jews.size.start": founders,
            "demes.persian_jews.founded.founders": founders,
            "demes.persian_jews.inbreeding": inbreeding,
        }
        scenario = load_scenario(resolve_config(COMMUNITY), overrides)
        entries.append(Entry(f"founders_{founders}_F_{inbreeding:g}", scenario))
    summary = run_comparison(entries, replicates, seed).summary()
    rows = []
    for (founders, inbreeding), entry in zip(variants, entries, strict=True):
        part = summary[(summary["scenario"] == entry.id) & (summary["deme"] == "persian_jews")]
        row = {"founders": founders, "inbreeding": inbreeding}
        for matched, suffix in ((False, ""), (True, " [matching]")):
            values = part[part["matched"] == matched].set_index("statistic")["mean"]
            for statistic, label in ROWS.items():
                if matched and statistic.startswith("p_reach"):
                    continue
                number = values.get(statistic, float("nan"))
                row[label + suffix] = int(number) if statistic == "replicates" else number
        rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    sys.exit(main())
