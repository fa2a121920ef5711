"""``popsim age DATA --scenario SCENARIO``: date a founder allele from its carriers'
shared haplotypes; ``popsim age --simulate SCENARIO --carriers n``: carriers' data
of known age. See docs/age.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from popsim.commands.common import add_scenario_options, announce_compilation, scenario_from_args
from popsim.errors import ConfigError
from popsim.outputs.files import check_writable
from popsim.outputs.words import counted

#: Marker-haplotype files start with this label (popsim.analysis.age.data).
HAPLOTYPE_LABEL = "locus_mb"
#: Relative error that ``--simulate --datasets`` reports the share of estimates within.
PLANNING_TOLERANCE = 0.2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "age",
        help="date a founder allele from carriers' shared haplotypes",
        description="Estimate how many generations (and years) ago the carriers' common "
        "ancestor lived, from the lengths of the segments they share with the ancestral "
        "haplotype around the allele: the Gamma method (independent and correlated "
        "genealogy; Gandolfo, Bahlo & Speed 2014) and, with --abc, a simulation-based "
        "estimate on the scenario's own demography. DATA is a CSV of shared lengths per "
        "carrier (columns left_cm,right_cm, or left_mb,right_mb with a map) or a file of "
        "phased marker haplotypes (first line locus_mb,<Mb>). With --simulate, write "
        "carriers' data of known age instead. File formats: docs/age.md.",
    )
    parser.add_argument("data", nargs="?", help="shared-length CSV or marker-haplotype file")
    parser.add_argument("--scenario", help="scenario config or preset id (generation time; "
                        "demography for --abc)")
    parser.add_argument("--simulate", metavar="SCENARIO",
                        help="write carriers' data of known age simulated on SCENARIO")
    parser.add_argument("--carriers", type=int, help="carriers per simulated data set")
    parser.add_argument("--datasets", type=int, default=1,
                        help="simulated data sets (more than 1: a planning summary)")
    parser.add_argument("--markers", action="store_true",
                        help="with --simulate: also write marker haplotypes (default panel)")
    parser.add_argument("--deme", help="deme whose carriers are sampled (default: the "
                        "founder allele's)")
    parser.add_argument("--map", dest="map_file", help="genetic map CSV (position_mb,cm)")
    parser.add_argument("--cm-per-mb", type=float, default=None,
                        help="uniform genetic map, cM per Mb (default 1 without --map)")
    parser.add_argument("--locus-mb", type=float, default=None,
                        help="the locus's position (Mb) for Mb lengths; simulated haplotypes "
                        "are placed around it (default 50)")
    parser.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    parser.add_argument("--chance-sharing-cm", type=float, default=None,
                        help="chance-sharing correction per segment end (cM): for a lengths "
                        "CSV read from markers (default 0); for haplotype files it replaces "
                        "the one computed from the markers (0 turns it off)")
    parser.add_argument("--consensus", action="store_true",
                        help="lengths CSV read against the carriers' consensus haplotype "
                        "(lengthen the longest end on each side; haplotype files always are)")
    parser.add_argument("--abc", action="store_true",
                        help="add the simulation-based estimate (ABC on the scenario's demography)")
    parser.add_argument("--abc-points", type=int, default=30,
                        help="ABC: entry generations on the prior grid (30)")
    parser.add_argument("--abc-replicates", type=int, default=200,
                        help="ABC: replicates per grid point (200)")
    parser.add_argument("--out", help="output directory for the report (or the simulated data)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_scenario_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.simulate is None):
        raise ConfigError("DATA", args.data, "give either DATA (with --scenario) or --simulate")
    if not 0 < args.level < 1:
        raise ConfigError("--level", args.level, "must be in (0, 1)")
    if args.chance_sharing_cm is not None and not args.chance_sharing_cm >= 0:
        raise ConfigError("--chance-sharing-cm", args.chance_sharing_cm, "must be ≥ 0")
    if args.out is not None:
        check_writable(args.out, args.overwrite, cli=True)
    if args.simulate is not None:
        return _simulate(args)
    if args.scenario is None:
        raise ConfigError("--scenario", None, "is needed with DATA (generation time, demography)")
    return _estimate(args)


def _map(args: argparse.Namespace, locus_mb: float):
    from popsim.analysis.age.data import read_map
    from popsim.analysis.age.genealogy import GeneticMap

    if args.map_file is not None:
        if args.cm_per_mb is not None:
            raise ConfigError("--cm-per-mb", args.cm_per_mb, "give either --map or --cm-per-mb")
        return read_map(args.map_file, locus_mb)
    return GeneticMap.uniform(1.0 if args.cm_per_mb is None else args.cm_per_mb, locus_mb)


def _is_haplotype_file(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip() and not line.lstrip().startswith("#"):
                    return line.split(",")[0].strip().lower() == HAPLOTYPE_LABEL
    except (OSError, UnicodeDecodeError):
        return False  # read_lengths reports it
    return False


def _estimate(args: argparse.Namespace) -> int:
    import numpy as np

    from popsim.analysis.age import data as age_data
    from popsim.analysis.age.gamma import chance_sharing_cm, gamma_estimates
    from popsim.analysis.age.markers import MarkerPanel, shared_lengths

    notes: list[str] = []
    panel = None
    if _is_haplotype_file(args.data):
        haplotypes = age_data.read_haplotypes(args.data)
        genetic_map = _map(args, haplotypes.locus_mb)
        positions = age_data.marker_positions_cm(haplotypes, genetic_map, args.data)
        left, right = shared_lengths(haplotypes.alleles, positions)
        frequencies = np.clip(haplotypes.alleles.mean(axis=0), 0.01, 0.99)
        panel = MarkerPanel(positions, frequencies)
        chance = args.chance_sharing_cm
        if chance is None:
            chance = chance_sharing_cm(panel.spacing_cm, panel.median_maf)
        consensus = True
        carriers = haplotypes.carriers
        notes.append(f"lengths read from {positions.size} markers against the carriers' "
                     f"consensus; chance-sharing correction {chance:.3g} cM per end (markers "
                     f"{panel.spacing_cm:.3g} cM apart, median minor-allele frequency "
                     f"{panel.median_maf:.2f} among carriers)")
    else:
        in_mb = args.map_file is not None or args.cm_per_mb is not None
        genetic_map = _map(args, args.locus_mb or 0.0) if in_mb else None
        lengths = age_data.read_lengths(args.data, genetic_map)
        left, right, carriers = lengths.left_cm, lengths.right_cm, lengths.carriers
        chance, consensus = args.chance_sharing_cm or 0.0, args.consensus
    scenario = scenario_from_args(args.scenario, args)
    estimates = list(gamma_estimates(left, right, args.level, chance, consensus))
    if args.abc:
        from popsim.workflows.age.abc import abc_age

        announce_compilation("frequency")
        abc = abc_age(scenario, left, right, level=args.level, deme=args.deme,
                      points=args.abc_points, replicates=args.abc_replicates,
                      seed=scenario.seed, panel=panel)
        estimates.append(abc)
        notes.append(f"ABC: {abc.details['simulated']:.0f} simulated data sets, "
                     f"{abc.details['accepted']:.0f} accepted, {abc.details['seconds']:.1f} s")
    _print_estimates(args.data, scenario, carriers, left, right, estimates, notes)
    if args.out is not None:
        from popsim.outputs.files import write_directory
        from popsim.workflows.age.report import write_report

        write_directory(Path(args.out), lambda tmp: write_report(
            tmp, source=Path(args.data).name, scenario_name=scenario.name,
            generation_years=scenario.generation_time_years, carriers=carriers,
            left_cm=left, right_cm=right, estimates=estimates, notes=notes,
        ), overwrite=args.overwrite)
        print(f"wrote {args.out}/")
    return 0


def _print_estimates(source, scenario, carriers, left, right, estimates, notes) -> None:
    from popsim.outputs.tables import render
    from popsim.workflows.age.report import estimate_rows

    total = left + right
    print(f"{source}: {len(carriers)} carriers, shared length per carrier (left + right) "
          f"mean {total.mean():.3g} cM, median {float(sorted(total)[len(total) // 2]):.3g} cM; "
          f"scenario {scenario.name!r}, {scenario.generation_time_years:g} years per generation")
    print(render(estimate_rows(estimates, scenario.generation_time_years)))
    for note in notes:
        print(f"note: {note}")


def _simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from popsim.analysis.age.markers import MarkerPanel
    from popsim.workflows.age.carriers import simulate_carriers

    if args.carriers is None:
        raise ConfigError("--carriers", None, "is needed with --simulate")
    if args.datasets < 1:
        raise ConfigError("--datasets", args.datasets, "must be at least 1")
    scenario = scenario_from_args(args.simulate, args)
    locus_mb = 50.0 if args.locus_mb is None else args.locus_mb
    genetic_map = _map(args, locus_mb)
    panel = MarkerPanel.neutral(np.random.default_rng([scenario.seed, 7])) if args.markers \
        else None
    announce_compilation("frequency")
    found = simulate_carriers(scenario, args.carriers, args.datasets, deme=args.deme,
                              genetic_map=genetic_map, panel=panel)
    rows = _planning(found, args.level)
    first = found[0]
    print(f"{scenario.name}: {counted(len(found), 'data set')} of {args.carriers} carriers "
          f"(replicates with enough copies among {scenario.replicates}); first: replicate "
          f"{first.replicate}, age {first.age} generations "
          f"({first.age * scenario.generation_time_years:g} years), TMRCA {first.tmrca:g}")
    if len(found) > 1:
        _print_planning(rows, args.carriers)
    if args.out is not None:
        from popsim.outputs.files import write_directory

        write_directory(Path(args.out), lambda tmp: _write_simulated(
            tmp, found, rows, genetic_map), overwrite=args.overwrite)
        print(f"wrote {args.out}/")
    return 0


def _planning(found, level: float) -> dict[str, list]:
    from popsim.analysis.age.gamma import gamma_estimates
    from popsim.analysis.age.markers import shared_lengths

    rows: dict[str, list] = {"dataset": [], "replicate": [], "age": [], "tmrca": [],
                             "estimator": [], "generations": [], "lower": [], "upper": []}
    for k, data in enumerate(found):
        segments = data.segments
        sets = [("", segments.left_cm, segments.right_cm, 0.0, False)]
        if data.haplotypes is not None:
            from popsim.analysis.age.gamma import chance_sharing_cm

            left, right = shared_lengths(data.haplotypes, data.panel.positions_cm)
            cs = chance_sharing_cm(data.panel.spacing_cm, data.panel.median_maf)
            sets.append((" (markers)", left, right, cs, True))
        for suffix, left, right, cs, consensus in sets:
            for e in gamma_estimates(left, right, level, cs, consensus):
                for key, value in (("dataset", k + 1), ("replicate", data.replicate),
                                   ("age", data.age), ("tmrca", data.tmrca),
                                   ("estimator", e.method + suffix),
                                   ("generations", e.generations), ("lower", e.lower),
                                   ("upper", e.upper)):
                    rows[key].append(value)
    return rows


def _print_planning(rows: dict[str, list], carriers: int) -> None:
    import numpy as np

    from popsim.outputs.tables import render

    table = [["estimator", "data sets", f"within ±{PLANNING_TOLERANCE:.0%} of the age",
              "interval covers the age", "median interval width / age"]]
    estimators = list(dict.fromkeys(rows["estimator"]))
    for name in estimators:
        pick = np.array([e == name for e in rows["estimator"]])
        age = np.array(rows["age"], float)[pick]
        estimate = np.array(rows["generations"])[pick]
        lower, upper = np.array(rows["lower"])[pick], np.array(rows["upper"])[pick]
        within = np.mean(np.abs(estimate / age - 1) <= PLANNING_TOLERANCE)
        covers = np.mean((lower <= age) & (age <= upper))
        table.append([name, str(pick.sum()), f"{within:.0%}", f"{covers:.0%}",
                      f"{np.median((upper - lower) / age):.2f}"])
    print(f"planning, {carriers} carriers per data set:")
    print(render(table))


def _write_simulated(directory: Path, found, rows, genetic_map) -> None:
    import numpy as np

    from popsim.outputs.files import write_csv, write_text_atomic

    first = found[0].segments
    n = first.left_cm.size
    write_csv(directory / "lengths.csv", {
        "carrier": [f"c{i + 1}" for i in range(n)], "left_cm": first.left_cm,
        "right_cm": first.right_cm, "left_mb": first.left_mb, "right_mb": first.right_mb,
    })
    write_csv(directory / "truth.csv", rows)
    if found[0].haplotypes is not None:
        panel = found[0].panel
        positions = genetic_map.mb_at(panel.positions_cm)
        keep = np.isfinite(positions)
        lines = [f"locus_mb,{genetic_map.locus_mb:g}",
                 "position_mb," + ",".join(f"{p:.6f}" for p in positions[keep])]
        for i, haplotype in enumerate(found[0].haplotypes):
            lines.append(f"c{i + 1}," + ",".join(str(int(a)) for a in haplotype[keep]))
        write_text_atomic(directory / "haplotypes.csv", "\n".join(lines) + "\n")
