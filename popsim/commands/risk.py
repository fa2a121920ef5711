"""``popsim risk SCENARIO`` or ``popsim risk --from DIR``: screening and counselling numbers."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

import numpy as np

from popsim.commands.common import (
    add_cache_option,
    add_memory_force_option,
    add_scenario_options,
    announce_compilation,
    burn_in_cache,
    progress_bar,
    replicate_chunk,
    scenario_from_args,
)
from popsim.errors import MISSING, ConfigError
from popsim.outputs.files import check_writable
from popsim.outputs.words import counted

#: The scenario options that make no sense with --from (the run directory fixed them).
RUN_OPTIONS = ("replicates", "seed", "generations", "engine")
#: The columns of risk.csv.
CSV_COLUMNS = ("weighting", "deme", "statistic", "mean", "q025", "median", "q975",
               "histories")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "risk",
        help="screening and counselling numbers (couples' risks, carrier tests)",
        description="Per deme, from every simulated history's final allele frequencies: "
        "carrier × carrier couples, the risk of an affected child for unrelated, "
        "second-cousin and first-cousin couples, the share of carrier couples a "
        "founder-allele test finds versus full-gene testing, the residual risk after a "
        "negative founder-allele test, and the expected carriers and patients today; each "
        "as the mean over histories, the median and the range of 95% of histories "
        "(docs/risk.md). Simulates SCENARIO, or reads the final.csv of a directory "
        "written by 'popsim run --out' (--from DIR).",
    )
    parser.add_argument(
        "config",
        nargs="?",
        metavar="SCENARIO",
        help="scenario config file (TOML), or a preset id (see popsim catalog)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        help="read the histories of a run directory (popsim run --out DIR) instead",
    )
    parser.add_argument("--out", help="output directory for risk.csv (omit to only print)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_scenario_options(parser)
    add_cache_option(parser)
    add_memory_force_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from popsim.analysis.evidence import log_likelihoods
    from popsim.analysis.risk import result_histories, risk_rows
    from popsim.analysis.weighted import effective_histories, likelihood_weights
    from popsim.burnin import BurnIns
    from popsim.model.build import model_of
    from popsim.simulate import simulate
    from popsim.workflows.describe import check_memory

    check_arguments(args)
    if args.source is not None:
        source = Path(args.source)
        run_section, demes, histories, logliks = read_run(source)
        if args.out is not None:
            check_writable(args.out, args.overwrite, cli=True)
        name = (run_section or {}).get("scenario", {}).get("name") or source.name
        print(f"{name}: {counted(histories['size'].shape[0], 'history', 'histories')} "
              f"(replicates) from {source / 'final.csv'}")
    else:
        scenario = scenario_from_args(args.config, args)
        if args.out is not None:
            check_writable(args.out, args.overwrite, cli=True)
        if not args.force:  # as popsim run: refused before it starts, --force runs it
            check_memory(model_of(scenario), scenario.replicates)
        announce_compilation(scenario.engine)
        with progress_bar(scenario.replicates, scenario.name) as update:
            result = simulate(
                scenario, chunk=replicate_chunk(scenario.replicates), progress=update,
                burn_ins=BurnIns(burn_in_cache(args)),
            )
        print(
            f"{scenario.name}: {counted(result.replicates, 'history', 'histories')} "
            f"(replicates), {result.engine} engine, seed {result.seed}"
        )
        demes, histories = result.deme_names, result_histories(result)
        run_section = result.manifest()["run"]
        logliks = (log_likelihoods(result)["total"] if scenario.count_observations
                   else None)
    labels = deme_labels(run_section)
    rows = [{"weighting": "none", **row} for row in risk_rows(demes, histories)]
    print_tables(rows, labels)
    if logliks is not None:
        weights = likelihood_weights(logliks)
        n_eff = effective_histories(weights)
        print(f"\nthe same, each history weighted by its likelihood of the scenario's "
              f"observations (worth {n_eff:.1f} equally weighted histories)")
        if n_eff == 0:
            print("no simulated history can produce the observations: nothing to weight")
        else:
            weighted = risk_rows(demes, histories, weights)
            rows += [{"weighting": "likelihood", **row} for row in weighted]
            print_tables(weighted, labels, legend=False)
    if args.out is not None:
        path = write_risk(Path(args.out), rows, args, run_section)
        print(f"wrote {path}/")
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse, before any work, a command line that names no source or two."""
    if args.source is None and args.config is None:
        raise ConfigError("SCENARIO", MISSING, "give a scenario (file or preset id) or --from DIR")
    if args.source is not None:
        if args.config is not None:
            raise ConfigError(
                "--from", args.source, f"reads a run directory; give it or a SCENARIO "
                f"({args.config!r}), not both",
            )
        given = [(f"--{name}", getattr(args, name)) for name in RUN_OPTIONS]
        given += [("--set", text) for text in args.overrides]
        for option, value in given:
            if value is not None:
                raise ConfigError(
                    option, value, "not with --from: the run directory's histories are read "
                    "as they were simulated",
                )


def read_run(
    directory: Path,
) -> tuple[dict[str, Any] | None, tuple[str, ...], dict[str, np.ndarray], np.ndarray | None]:
    """(the ``run`` section of its manifest or None, deme names, per-history inputs, each
    history's log-likelihood of the observations or None) of a run directory, from its
    final.csv (:func:`popsim.analysis.risk.table_histories`)."""
    from popsim.analysis.risk import INPUTS, table_histories, table_log_likelihoods

    final = directory / "final.csv"
    if not final.is_file():
        raise ConfigError(
            "--from", str(directory),
            "must be a directory written by 'popsim run --out DIR' (it holds final.csv)",
        )
    with open(final, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, restval="")
        records = list(reader)
        header = reader.fieldnames or []
    table = {name: [record[name] for record in records] for name in header}
    try:
        demes, histories = table_histories(table)
    except KeyError as error:
        raise ConfigError(
            "--from", str(directory), f"final.csv lacks column(s) {error.args[0]}; it needs "
            f"replicate, deme, {', '.join(INPUTS)}",
        ) from None
    except ValueError as error:
        raise ConfigError("--from", str(directory), f"final.csv: {error}") from None
    return _run_section(directory), demes, histories, table_log_likelihoods(table)


def _run_section(directory: Path) -> dict[str, Any] | None:
    """The ``run`` section of the directory's manifest.json, or None without one."""
    from popsim.provenance import read_manifest

    manifest = read_manifest(directory / "manifest.json", "run")
    return None if manifest is None else manifest["run"]


def deme_labels(run_section: dict[str, Any] | None) -> dict[str, str]:
    """What to call each deme of a run's manifest section: its ``label`` (the
    scenario's, or the default from its name for a manifest without one)."""
    from popsim.model.scenario import default_label

    demes = ((run_section or {}).get("scenario") or {}).get("demes") or []
    return {d["name"]: d.get("label") or default_label(d["name"])
            for d in demes if isinstance(d, dict) and "name" in d}


def print_tables(
    rows: list[dict[str, Any]], labels: dict[str, str], legend: bool = True
) -> None:
    """One table per deme, headed by its label, with (``legend``) what its columns are."""
    from popsim.model.scenario import default_label
    from popsim.outputs.risk import risk_tables

    if legend:
        print("mean over histories (each replicate is one possible history), median across "
              "histories, and the range holding 95% of histories (a spread of histories, not "
              "an uncertainty of the mean); risks per child, couples per couple; — where a "
              "number is undefined (no carriers, or no founder allele in the deme at the end)")
    for deme, table in risk_tables(rows):
        print(f"\n{labels.get(deme) or default_label(deme)}")
        print(table)


def write_risk(
    directory: Path, rows: list[dict[str, Any]], args: argparse.Namespace,
    run_section: dict[str, Any] | None,
) -> Path:
    """Write risk.csv and manifest.json (workflow ``risk``) into ``directory``, atomically."""
    from popsim.outputs.files import write_csv, write_directory
    from popsim.provenance import build_manifest, write_manifest

    section = {"from": args.source, "run": run_section}

    def fill(tmp: Path) -> None:
        write_csv(tmp / "risk.csv", {key: [row[key] for row in rows] for key in CSV_COLUMNS})
        write_manifest(
            tmp / "manifest.json",
            build_manifest("risk", section, command_line=args.command_line),
        )

    return write_directory(directory, fill, overwrite=args.overwrite)
