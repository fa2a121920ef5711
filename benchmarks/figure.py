"""The harness's figure: throughput against N and replicates (log-log), thread speed-up.

Four panels: (a) individual-based models, ind-gen/s against N; (b) allele-count
models, rep-gen/s against N; (c) popsim's frequency engine, rep-gen/s against the
number of replicates (N = 10⁴); (d) speed-up of 2 threads over 1 for both engines.
A flat line in (a)–(c) is a cost linear in N (or replicates).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import FREQUENCY, PEDIGREE, STARTUP
from benchmarks.report import THREAD_SPEEDUP, find, rate


def _series(
    runs: list[dict], model: str, replicates: int, threads: int
) -> dict[str, list[tuple[int, float]]]:
    """(N, throughput) points of each series (label includes threads), sorted by N.

    Allele-count runs are kept only at the N sweep's ``replicates``, popsim's only at
    the sweep's ``threads`` (its 1-thread runs are panel (d)).
    """
    lines: dict[str, list[tuple[int, float]]] = {}
    for r in runs:
        if r["model"] != model or not rate(r) or not _in_sweep(r, threads):
            continue
        if model == "allele-count" and r["replicates"] != replicates:
            continue
        lines.setdefault(f"{r['series']} ({r['threads']}t)", []).append((r["n"], rate(r)))
    return {k: sorted(v) for k, v in lines.items()}


def _in_sweep(run: dict, threads: int) -> bool:
    return not run["series"].startswith("popsim") or run["threads"] == threads


def write_figure(runs: list[dict], replicates: int, threads: int, path: Path) -> Path | None:
    """Write the PNG; None when there is nothing to plot."""
    if not any(rate(r) for r in runs if r["series"] != STARTUP):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 11))
    for ax, model, unit in (
        (axes[0, 0], "individual", "individual-generations / s"),
        (axes[0, 1], "allele-count", "replicate-generations / s"),
    ):
        for label, points in _series(runs, model, replicates, threads).items():
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="N (diploid individuals)",
            ylabel=unit,
            title=f"({'a' if model == 'individual' else 'b'}) {model} model",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

    ax = axes[1, 0]
    points = sorted(
        (r["replicates"], rate(r))
        for r in runs
        if r["series"] == FREQUENCY and r["n"] == 10_000 and rate(r) and r["threads"] == threads
    )
    if points:
        ax.plot(*zip(*points, strict=True), marker="o", label=f"{threads} threads")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="replicates",
        ylabel="replicate-generations / s",
        title="(c) popsim frequency against replicates, N = 10⁴",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    names, speedups = [], []
    for series in (FREQUENCY, PEDIGREE):
        for one in (r for r in runs if r["series"] == series and r["threads"] == 1 and rate(r)):
            many = [
                r
                for r in runs
                if r["series"] == series
                and r["n"] == one["n"]
                and r["replicates"] == one["replicates"]
                and r["threads"] > 1
                and rate(r)
            ]
            best = find(many, series) if many else None
            if best:
                names.append(f"{series}\nN = {one['n']:.0e}, {best['threads']}t")
                speedups.append(rate(best) / rate(one))
    ax.bar(names, speedups, color="tab:blue")
    ax.axhline(THREAD_SPEEDUP, color="tab:red", linestyle="--", label=f"target {THREAD_SPEEDUP}×")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set(ylabel="speed-up over 1 thread", title="(d) threads")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
