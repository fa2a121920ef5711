"""Shared pieces of the peer benchmarks: the model constants, memory probes, the
deterministic expectation used as a cheap correctness check, and JSON output.

Standard library only (plus nothing): this module is imported both from the project
venv and from ``.bench-venv`` (where simuPOP lives), so it must not import popsim,
numpy or anything else that one of the two environments may lack.

The shared benchmark model (issue 9): one diploid Wright-Fisher population of N
individuals, one biallelic locus, recessive disease. Fitness normal/normal 1,
carrier 1 (h = 0), affected 1 - s with s = 0.1; starting pathogenic allele
frequency 0.05; 200 generations; random mating, non-overlapping generations,
viability selection.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys

S = 0.1
H = 0.0
Q0 = 0.05
GENERATIONS = 200


def current_rss_mb() -> float:
    """Resident set size of this process right now, in MB (2**20 bytes)."""
    try:
        with open("/proc/self/statm") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """High-water mark of this process's RSS, in MB (getrusage(RUSAGE_SELF).ru_maxrss).

    Only meaningful for a fresh subprocess that ran one benchmark.
    """
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def selection_map(q: float, s: float = S, h: float = H) -> float:
    """Allele frequency after viability selection under Hardy-Weinberg proportions.

    Fitnesses 1, 1 - h s, 1 - s for 0, 1, 2 copies of the pathogenic allele.
    With h = 0: q' = (q^2 (1 - s) + q (1 - q)) / (1 - s q^2).
    """
    p = 1.0 - q
    w_aa = 1.0 - s
    w_het = 1.0 - h * s
    wbar = p * p + 2.0 * p * q * w_het + q * q * w_aa
    return (q * q * w_aa + p * q * w_het) / wbar


def expected_deterministic(
    generations: int = GENERATIONS, q0: float = Q0, s: float = S, h: float = H
) -> float:
    """The deterministic recursion q' = selection_map(q) iterated ``generations`` times."""
    q = q0
    for _ in range(generations):
        q = selection_map(q, s, h)
    return q


def expected_with_drift(
    n: int,
    generations: int = GENERATIONS,
    q0: float = Q0,
    s: float = S,
    h: float = H,
) -> tuple[float, float]:
    """Mean and SD of the final frequency of one Wright-Fisher run of N diploids.

    Second-order moment closure around the mean path (f = selection_map):
    m' = f(m) + f''(m) V / 2,  V' = f'(m)^2 V + (m'(1 - m') - f'(m)^2 V) / (2N).
    Drift makes the recessive selection act on E[q^2] = m^2 + V, so the mean falls
    below the deterministic recursion (by ~4 % of q at N = 1e4, ~0.4 % at 1e5);
    checked against 1e5 allele-count replicates: error < 0.3 % of q for N >= 1e4.
    Used only to turn "close to the expectation" into a z-score.
    """
    m, var = q0, 0.0
    eps = 1e-5
    for _ in range(generations):
        f0 = selection_map(m, s, h)
        fp = selection_map(m + eps, s, h)
        fm = selection_map(m - eps, s, h)
        d1 = (fp - fm) / (2 * eps)
        d2 = (fp - 2 * f0 + fm) / (eps * eps)
        m_next = f0 + 0.5 * d2 * var
        var_sel = d1 * d1 * var
        var = var_sel + (m_next * (1.0 - m_next) - var_sel) / (2.0 * n)
        m = m_next
    return m, math.sqrt(max(var, 0.0))


def add_check(result: dict, finals: list[float], n: int, generations: int) -> dict:
    """Fill final_frequency (mean over runs), the expectations and a z-score.

    ``z_vs_expected`` = (mean - expected_frequency_with_drift) / (drift SD / sqrt(runs));
    |z| < 3 passes. Single runs at small N are dominated by drift, so use --repeats
    (or the replicates of the frequency model) for a tight check.
    """
    mean = sum(finals) / len(finals)
    expected_drift, sd_one = expected_with_drift(n, generations)
    result["final_frequency"] = mean
    result["expected_frequency_deterministic"] = expected_deterministic(generations)
    result["expected_frequency_with_drift"] = expected_drift
    result["runs_for_frequency"] = len(finals)
    result["drift_sd_one_run"] = sd_one
    se = sd_one / math.sqrt(len(finals))
    result["z_vs_expected"] = (mean - expected_drift) / se if se > 0 else None
    return result


def emit(result: dict) -> None:
    """Print the one JSON line the harness parses (plus the host's CPU count and load).

    The 1-minute load average is recorded because timings on a shared machine are only
    comparable when taken at similar load (OpenMP runs are hit hardest).
    """
    result.setdefault("cpu_count", os.cpu_count())
    result.setdefault("loadavg_1min", round(os.getloadavg()[0], 2))
    print(json.dumps(result, sort_keys=False), flush=True)
