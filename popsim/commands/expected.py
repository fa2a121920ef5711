"""``popsim expected --freqs P0,P1,... --inbreeding F``: closed-form genotype frequencies."""

from __future__ import annotations

import argparse
import math

import numpy as np

from popsim.errors import PopsimError
from popsim.genetics.genotypes import STATISTICS, expected_genotypes
from popsim.outputs.tables import fmt, render


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "expected",
        help="expected genotype frequencies from allele frequencies and F",
        description="Expected frequencies of founder homozygotes, other homozygotes, compound "
        "heterozygotes, patients and carriers. --freqs lists allele frequencies, the normal "
        "allele first, then the pathogenic alleles; they must sum to 1. The normal allele "
        "must be the most frequent (a vector whose first entry is smaller than another is "
        "refused as written in the wrong order).",
    )
    parser.add_argument(
        "--freqs",
        required=True,
        help="comma-separated, normal allele first, e.g. 0.9523,0.0477",
    )
    parser.add_argument("--inbreeding", type=float, default=0.0, help="F in [0, 1) (default 0)")
    parser.add_argument(
        "--founder", type=int, default=1, help="index of the founder allele in --freqs (default 1)"
    )
    parser.set_defaults(func=run)


def parse_frequencies(text: str) -> np.ndarray:
    try:
        p = np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise PopsimError(f"--freqs = {text!r}: must be comma-separated numbers") from None
    if p.size < 2 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise PopsimError(
            f"--freqs = {text!r}: needs at least two finite, non-negative frequencies"
        )
    if not math.isclose(p.sum(), 1.0, abs_tol=1e-6):
        raise PopsimError(f"--freqs = {text!r}: must sum to 1 (they sum to {p.sum():.6g})")
    largest = int(np.argmax(p))
    if p[0] < p[largest]:
        parts = [part.strip() for part in text.split(",")]
        fixed = ",".join([parts[largest], *parts[:largest], *parts[largest + 1 :]])
        raise PopsimError(
            f"--freqs = {text!r}: the first entry is the normal allele, which must be the most "
            f"frequent (pathogenic alleles are rare) but {parts[0]} < {parts[largest]}; write "
            f"the normal allele first, e.g. --freqs {fixed}"
        )
    return p / p.sum()


def run(args: argparse.Namespace) -> int:
    p = parse_frequencies(args.freqs)
    if not (0.0 <= args.inbreeding < 1.0):
        raise PopsimError(f"--inbreeding = {args.inbreeding}: must be in [0, 1)")
    if not 1 <= args.founder < p.size:
        raise PopsimError(f"--founder = {args.founder}: must be in 1..{p.size - 1}")
    values = expected_genotypes(p, args.inbreeding, args.founder).as_dict()
    rows = [["statistic", "frequency", "1 in"]]
    for name in STATISTICS:
        value = float(values[name])
        one_in = "" if name.startswith("share") or value <= 0 else f"{1 / value:,.0f}"
        rows.append([name, fmt(value), one_in])
    print(render(rows))
    return 0
