"""The benchmark harness: plan the runs, run each in a fresh subprocess, collect JSON.

Every configuration (tool, variant, N, replicates, threads) runs in its own process,
so that its peak RSS is its own; each prints one JSON line (see benchmarks/README.md)
that the harness stores with the run's wall time, exit status and the 1-minute load
average before and after it. Start-up runs time a whole ``popsim run`` command.
The runs compared with each other as ratios (the 1- and many-thread runs of the
thread speed-ups, the points of the replicate curve and of the two engines' curves
in N; also the first-cousin and mutation runs, whose throughput targets a slow phase
of the machine can miss) then run :data:`PAIRED_ROUNDS` − 1 more times
each, in alternating order, and each keeps its best round: a shared machine drifts
by tens of percent within minutes, and a ratio of two runs taken minutes apart
measures that drift as much as the code.

    .venv/bin/python -m benchmarks [--quick] [--sizes 1e3 1e4 ...] [--out DIR]

writes ``runs.jsonl`` (one line per run, as they finish; at the end the paired
runs' kept records again, with the rates of all their rounds), ``results.json``,
``results.md`` (the Markdown tables printed at the end) and ``throughput.png`` into
``--out`` (default ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_PYTHON = REPO / ".bench-venv" / "bin" / "python"
INSTALL_HINT = "benchmarks/install_peers.sh (builds simuPOP into .bench-venv; ~12 min on 2 cores)"
DEFAULT_OUT = REPO / "benchmarks" / "results"

#: Series names (one line of the figure, one column of the tables).
PEDIGREE = "popsim pedigree"
PEDIGREE_COUSINS = "popsim pedigree, 10% first cousins"
PEDIGREE_REPLICATES = "popsim pedigree, 10⁵/N replicates at once"
FREQUENCY = "popsim frequency"
FREQUENCY_MUTATION = "popsim frequency, u = 1e-6"
FLOOR = "Numba binomial floor"
NUMPY_INDIVIDUAL = "numpy individual"
NUMPY_FREQUENCY = "numpy frequency"
STARTUP = "start-up"
SWEEP = "popsim sweep"
#: simuPOP module variants run (variant, threads, largest N). Its OpenMP mating is
#: many times slower with 2 threads than with 1 on 2 shared cores (benchmarks/README.md).
SIMUPOP_RUNS = (("op", 1, 10**9), ("std", 1, 10**5), ("op", 2, 10**4))
_SIMUPOP_FLAGS = {"std": ("--standard",), "op": ("--optimized",)}

MUTATION_RATE = 1e-6
#: Rounds of the runs compared as ratios (see the module docstring).
PAIRED_ROUNDS = 3
#: Below this N the pedigree engine also runs MANY_REPLICATES_BELOW / N replicates at
#: once (one per thread), as a user runs small populations.
MANY_REPLICATES_BELOW = 100_000
FIRST_COUSINS = 0.1
#: Shipped configs timed by ``popsim run`` (config, extra arguments); the first
#: STARTUP_TARGETS are the issue's start-up targets (one per engine).
STARTUP_CONFIGS = (
    ("configs/japanese_two_founders.toml", ()),
    ("configs/iranian_jewish_m712t_pedigree.toml", ("--replicates", "20")),
    ("configs/mari_a57f.toml", ()),
    ("configs/iranian_jewish_m712t.toml", ()),
    ("configs/iranian_jewish_m712t_demes.toml", ()),
    ("configs/outbred_reference.toml", ()),
)
STARTUP_TARGETS = 2
#: Stands for a fresh output directory in a start-up job's command (each run gets its
#: own): the targets are timed printing only, and writing every output and figure.
OUT_DIR = "DIR"


@dataclass(frozen=True)
class Job:
    """One configuration to run in a fresh process."""

    series: str
    model: str  # "individual", "allele-count", "startup" or "sweep"
    argv: tuple[str, ...]
    n: int | None = None
    replicates: int = 1
    threads: int = 1
    timeout: float = 600.0
    #: Start-up jobs only (the scripts take --repeats): untimed runs first, timed runs,
    #: and whether to start from a fresh, empty Numba cache.
    warm_runs: int = 1
    repeats: int = 1
    cold: bool = False
    #: Compared with other runs as a ratio (a thread speed-up, the replicate curve, an
    #: N curve), or short enough for a slow phase to cover (the first-cousin and
    #: mutation runs):
    #: runs PAIRED_ROUNDS times, alternating with the runs it is compared with.
    paired: bool = False

    @property
    def label(self) -> str:
        where = f" N={self.n:.0e}" if self.n else ""
        reps = f" R={self.replicates:.0e}" if self.replicates > 1 else ""
        return f"{self.series}{where}{reps} {self.threads}t"


@dataclass(frozen=True)
class Settings:
    """What one harness invocation measures."""

    quick: bool
    sizes: tuple[int, ...]  # individual-based models
    frequency_sizes: tuple[int, ...]
    mutation_sizes: tuple[int, ...]
    replicates: int  # allele-count models
    replicate_curve: tuple[int, ...]
    scaling_n: int  # N of the 1-vs-2-thread runs
    threads: int
    timeout: float
    startup_configs: int  # how many of STARTUP_CONFIGS
    generations: int = 200

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        quick = args.quick
        sizes = (
            tuple(args.sizes)
            if args.sizes
            else ((1000, 10_000) if quick else (1000, 10_000, 100_000, 1_000_000))
        )
        big = (10**6, 10**9) if quick else (10**7, 10**8, 10**9)
        mutation = (10**5,) if quick else (10**3, 10**4, 10**5, 10**6)
        return cls(
            quick=quick,
            sizes=sizes,
            # each N with mutation on also without it: the report gives what it adds
            frequency_sizes=tuple(sorted(set(sizes) | set(big) | set(mutation))),
            mutation_sizes=mutation,
            replicates=20_000 if quick else 100_000,
            replicate_curve=(1000, 10_000, 100_000)
            if quick
            else (1000, 10_000, 100_000, 1_000_000),
            scaling_n=10_000 if quick else 100_000,
            threads=args.threads,
            timeout=args.timeout or (180.0 if quick else 900.0),
            startup_configs=STARTUP_TARGETS if quick else len(STARTUP_CONFIGS),
            generations=args.generations,
        )


def _repeats(work: float, quick: bool) -> int:
    """Timed runs per configuration: best of 3 for short runs, 1 for long ones."""
    if quick:
        return 2 if work <= 2e6 else 1
    return 3 if work <= 2e7 else 1


def plan(settings: Settings, simupop: bool) -> list[Job]:
    """Every run of one harness invocation, cheap ones first, without duplicates."""
    gens = settings.generations
    py = (sys.executable,)
    jobs: list[Job] = []

    def popsim(series: str, engine: str, n: int, reps: int, threads: int, *extra: str) -> Job:
        work = n * reps * gens if engine == "pedigree" else reps * gens
        repeats = _repeats(work, settings.quick)
        argv = (
            *py,
            "-m",
            "benchmarks.popsim_models",
            *_options(engine=engine, n=n, replicates=reps, threads=threads, generations=gens,
                      repeats=repeats),
            *extra,
        )
        model = "individual" if engine == "pedigree" else "allele-count"
        return Job(series, model, argv, n, reps, threads, settings.timeout)

    # allele-count models: N sweep, mutation, replicate curve, threads
    t, reps = settings.threads, settings.replicates
    for n in settings.frequency_sizes:
        jobs.append(popsim(FREQUENCY, "frequency", n, reps, t))
        repeats = _repeats(reps * gens, settings.quick)
        floor_argv = (
            *py,
            "-m",
            "benchmarks.numba_floor",
            *_options(n=n, replicates=reps, threads=t, generations=gens, repeats=repeats),
        )
        jobs.append(Job(FLOOR, "allele-count", floor_argv, n, reps, t, settings.timeout))
        numpy_argv = (
            *py,
            "benchmarks/numpy_baseline.py",
            *_options(variant="frequency", n=n, replicates=reps, generations=gens,
                      repeats=repeats),
        )
        jobs.append(Job(NUMPY_FREQUENCY, "allele-count", numpy_argv, n, reps, 1, settings.timeout))
    for n in settings.mutation_sizes:
        jobs.append(
            popsim(
                FREQUENCY_MUTATION, "frequency", n, reps, t, "--mutation-rate", str(MUTATION_RATE)
            )
        )
    curve_n = 10_000
    for r in settings.replicate_curve:
        jobs.append(popsim(FREQUENCY, "frequency", curve_n, r, t))
    jobs.append(popsim(FREQUENCY, "frequency", curve_n, reps, 1))

    # individual-based models
    for n in settings.sizes:
        jobs.append(popsim(PEDIGREE, "pedigree", n, 1, t))
        if n < MANY_REPLICATES_BELOW:  # how small populations are run: many at once
            jobs.append(popsim(PEDIGREE_REPLICATES, "pedigree", n, MANY_REPLICATES_BELOW // n, t))
        repeats = _repeats(n * gens, settings.quick)
        numpy_argv = (
            *py,
            "benchmarks/numpy_baseline.py",
            *_options(variant="individual", n=n, generations=gens, repeats=repeats),
        )
        jobs.append(Job(NUMPY_INDIVIDUAL, "individual", numpy_argv, n, 1, 1, settings.timeout))
        if simupop:
            for variant, threads, largest in SIMUPOP_RUNS:
                if n > largest or (settings.quick and (variant, threads) != ("op", 1)):
                    continue
                argv = (
                    str(BENCH_PYTHON),
                    "benchmarks/peer_simupop.py",
                    *_SIMUPOP_FLAGS[variant],
                    *_options(threads=threads, n=n, generations=gens, repeats=repeats),
                )
                jobs.append(
                    Job(f"simuPOP {variant}", "individual", argv, n, 1, threads, settings.timeout)
                )
    cousin_sizes = [n for n in settings.sizes if n >= 10**5] or [max(settings.sizes)]
    for n in cousin_sizes:
        jobs.append(
            popsim(
                PEDIGREE_COUSINS,
                "pedigree",
                n,
                1,
                t,
                "--first-cousin",
                str(FIRST_COUSINS),
            )
        )
    ped_n = settings.scaling_n
    for threads in (1, t):
        jobs.append(popsim(PEDIGREE, "pedigree", ped_n, 1, threads))

    # 256 points: 6-9 s of work on one worker (a point costs 25-35 ms on one thread
    # since summaries compute the final generation's statistics only; at 64 points
    # the workers' start-up, about 1 s, would be half of the sweep)
    points = 64 if settings.quick else 256
    sweep_argv = (*py, "benchmarks/bench_sweep.py", *_options(points=points))
    jobs.append(Job(SWEEP, "sweep", sweep_argv, timeout=settings.timeout))
    jobs.extend(_startup_jobs(settings))
    unique: dict[tuple, Job] = {}
    for job in jobs:
        unique.setdefault((job.argv, job.cold), job)
    return sorted(_mark_pairs(list(unique.values()), t, curve_n, reps), key=_cost)


def _mark_pairs(jobs: list[Job], threads: int, curve_n: int, replicates: int) -> list[Job]:
    """Mark as ``paired`` the popsim runs on 1 and on ``threads`` threads with the same
    series, N and replicates (the thread speed-ups), the replicate curve's runs,
    the two N curves judged for flatness (frequency engine, ``replicates``
    replicates; pedigree engine, one replicate), and the first-cousin and mutation
    runs, whose runs of half a second (first cousins at N = 10⁵, mutation at
    N ≤ 10⁴) a slow phase of the machine can cover whole."""
    def key(job: Job) -> tuple:
        return (job.series, job.n, job.replicates)

    def in_rounds(job: Job) -> bool:  # a curve's point, a first-cousin or mutation run
        if job.threads != threads:
            return False
        if job.series == FREQUENCY:
            return job.n == curve_n or job.replicates == replicates
        if job.series == FREQUENCY_MUTATION:
            return True
        return job.series in (PEDIGREE, PEDIGREE_COUSINS) and job.replicates == 1

    single = {key(j) for j in jobs if j.series.startswith("popsim") and j.threads == 1}
    many = {key(j) for j in jobs if j.series.startswith("popsim") and j.threads == threads}
    both = single & many if threads > 1 else set()
    return [
        replace(j, paired=True)
        if (key(j) in both and j.threads in (1, threads)) or in_rounds(j)
        else j
        for j in jobs
    ]


def paired_rounds(jobs: list[Job], records: list[dict], rounds: int = PAIRED_ROUNDS) -> None:
    """Run every paired job ``rounds`` − 1 more times, in an order that reverses each
    round (the two sides of a thread speed-up next to each other); each record keeps
    its fastest round (its ``round_rates`` lists them all)."""
    order = sorted(
        (k for k, job in enumerate(jobs) if job.paired),
        key=lambda k: (jobs[k].series, jobs[k].n, jobs[k].replicates, jobs[k].threads),
    )
    for k in order:
        records[k]["round_rates"] = [rate(records[k])]
    for round_ in range(2, rounds + 1):
        for k in order[::-1] if round_ % 2 == 0 else order:
            print(f"[round {round_}/{rounds}] {jobs[k].label} ...", end=" ", file=sys.stderr,
                  flush=True)
            again = run_job(jobs[k])
            print(_summary(again), file=sys.stderr, flush=True)
            rates = records[k]["round_rates"] + [rate(again)]
            if (rate(again) or 0.0) > (rate(records[k]) or 0.0):
                records[k] = again
            records[k]["round_rates"] = rates


def rate(run: dict) -> float | None:
    """The run's throughput in its model's unit, None if it did not finish."""
    if run.get("status") != "ok":
        return None
    if run["model"] == "allele-count":
        return run.get("replicate_generations_per_s")
    return run.get("individual_generations_per_s")


def _options(**values: object) -> tuple[str, ...]:
    """Command-line options ``--key value`` in the given order (``_`` becomes ``-``)."""
    return tuple(
        part for key, value in values.items() for part in (f"--{key.replace('_', '-')}", str(value))
    )


def _startup_jobs(settings: Settings) -> list[Job]:
    """Whole commands: the interpreter, the CLI, `popsim run` on shipped configs, cold run.

    The first config of each engine gets an untimed run first (to fill the cache) and
    ``repeats`` timed runs; the long-running configs after them run once (their time
    is simulation, and their kernel is already cached).
    """
    exe = Path(sys.executable).with_name("popsim")
    cli = (str(exe),) if exe.exists() else (sys.executable, "-m", "popsim")
    repeats = 2 if settings.quick else 3
    jobs = [
        Job(STARTUP, "startup", (sys.executable, "-c", "pass"), warm_runs=0, repeats=repeats),
        Job(STARTUP, "startup", (*cli, "--help"), warm_runs=0, repeats=repeats),
    ]
    for k, (config, extra) in enumerate(STARTUP_CONFIGS[: settings.startup_configs]):
        first = k < STARTUP_TARGETS
        jobs.append(
            Job(
                STARTUP,
                "startup",
                (*cli, "run", config, *extra),
                timeout=settings.timeout,
                warm_runs=1 if first else 0,
                repeats=repeats if first else 1,
            )
        )
        if first:
            jobs.append(
                Job(
                    STARTUP,
                    "startup",
                    (*cli, "run", config, *extra, "--out", OUT_DIR),
                    timeout=settings.timeout,
                    warm_runs=0,
                    repeats=repeats,
                )
            )
    config, extra = STARTUP_CONFIGS[0]
    jobs.append(
        Job(
            STARTUP,
            "startup",
            (*cli, "run", config, *extra),
            timeout=settings.timeout,
            warm_runs=0,
            cold=True,
        )
    )
    return jobs


def _cost(job: Job) -> tuple[int, float]:
    """Sort key: start-up runs first, then by a rough estimate of the work."""
    if job.model == "startup":
        return (0, 0.0)
    if job.model == "allele-count":
        return (1, job.replicates * job.threads)
    if job.model == "sweep":
        return (3, 0.0)
    return (2, (job.n or 0) * job.replicates * (1 if job.series.startswith("popsim") else 4))


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def run_job(job: Job) -> dict:
    """Run one job in a fresh subprocess; return its record (never raises for a failed run)."""
    record: dict = {
        "series": job.series,
        "model": job.model,
        "label": job.label,
        "command": " ".join(job.argv),
        "n": job.n,
        "replicates": job.replicates,
        "threads": job.threads,
        "loadavg_before": _loadavg(),
    }
    try:
        if job.model == "startup":
            record |= _run_startup(job)
        else:
            record |= _run_json(job)
    except subprocess.TimeoutExpired:
        record |= {"status": "timeout", "reason": f"over {job.timeout:.0f} s"}
    record["loadavg_after"] = _loadavg()
    return record


def _run_json(job: Job) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(
        job.argv, cwd=REPO, capture_output=True, text=True, timeout=job.timeout, check=False
    )
    wall = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": "unavailable", "wall_s": wall, "reason": _reason(proc)}
    result = json.loads(lines[-1])
    # the job's own labels win over the script's (e.g. threads actually used is kept)
    result.pop("n", None)
    result.pop("replicates", None)
    return {"status": "ok", "wall_s": wall, **result}


def _run_startup(job: Job) -> dict:
    """Wall time of a whole command (interpreter start-up included), best of ``repeats``.

    :data:`OUT_DIR` in the command becomes a new directory for each run.
    """
    env = dict(os.environ)
    cache = None
    if job.cold:
        cache = tempfile.mkdtemp(prefix="popsim-cold-cache-")
        env["NUMBA_CACHE_DIR"] = cache
    outputs = Path(tempfile.mkdtemp(prefix="popsim-startup-out-"))
    numbers = itertools.count()

    def argv() -> list[str]:
        out = str(outputs / f"run{next(numbers)}")
        return [out if word == OUT_DIR else word for word in job.argv]

    try:
        for _ in range(job.warm_runs):
            subprocess.run(
                argv(), cwd=REPO, env=env, capture_output=True, timeout=job.timeout, check=False
            )
        walls: list[float] = []
        compiling: list[bool] = []
        for _ in range(job.repeats):
            started = time.perf_counter()
            proc = subprocess.run(
                argv(),
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=job.timeout,
                check=False,
            )
            walls.append(time.perf_counter() - started)
            compiling.append("compiling" in proc.stderr)
            if proc.returncode != 0:
                return {"status": "unavailable", "reason": _reason(proc)}
    finally:
        shutil.rmtree(outputs, ignore_errors=True)
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    return {
        "status": "ok",
        "cache": "cold" if job.cold else "warm",
        "wall_s": min(walls),
        "wall_s_all": walls,
        "says_compiling": compiling,
        "loadavg_1min": _loadavg(),
    }


def _reason(proc: subprocess.CompletedProcess) -> str:
    """The last non-empty line of stderr (the exception), else the exit status."""
    lines = [ln.strip() for ln in (proc.stderr or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else f"exit status {proc.returncode}"


def machine() -> dict:
    """Where and when the run happened (CPU, versions, git commit)."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except OSError:
        commit, dirty = "", ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit + ("+uncommitted changes" if dirty.strip() else ""),
        "loadavg_start": list(os.getloadavg()),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time popsim, the numpy baselines and simuPOP on the shared benchmark "
        "model (benchmarks/README.md); print Markdown tables, write results into --out.",
    )
    ap.add_argument("--quick", action="store_true", help="small N, few repeats (~2 minutes)")
    ap.add_argument(
        "--sizes",
        type=_size,
        nargs="+",
        metavar="N",
        help="N of the individual-based models (default 1e3 1e4 1e5 1e6; "
        "--quick: 1e3 1e4); the allele-count models also run at larger N",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--threads", type=int, default=2, help="threads of popsim's runs")
    ap.add_argument("--generations", type=int, default=200, help="generations per run")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per run")
    ap.add_argument("--no-simupop", action="store_true", help="skip simuPOP")
    return ap.parse_args(argv)


def _size(text: str) -> int:
    value = float(text)
    if value < 1 or value != int(value) or value > 1e9:
        raise argparse.ArgumentTypeError(f"{text!r}: N must be a whole number in 1 … 1e9")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.figure import write_figure
    from benchmarks.report import markdown

    args = parse_args(argv)
    settings = Settings.from_args(args)
    simupop = BENCH_PYTHON.exists() and not args.no_simupop
    if not BENCH_PYTHON.exists():
        print(
            f"simuPOP: skipped, {BENCH_PYTHON.relative_to(REPO)} not found; to build it: "
            f"{INSTALL_HINT}",
            file=sys.stderr,
        )
    jobs = plan(settings, simupop)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = machine() | {"settings": asdict(settings), "simupop": simupop}
    runs: list[dict] = []
    with open(args.out / "runs.jsonl", "w") as stream:
        for k, job in enumerate(jobs, 1):
            print(f"[{k}/{len(jobs)}] {job.label} ...", end=" ", file=sys.stderr, flush=True)
            record = run_job(job)
            runs.append(record)
            stream.write(json.dumps(record) + "\n")
            stream.flush()
            print(_summary(record), file=sys.stderr, flush=True)
        paired_rounds(jobs, runs)
        for record in runs:
            if "round_rates" in record:
                stream.write(json.dumps(record) + "\n")
    meta["loadavg_end"] = list(os.getloadavg())
    text = markdown(meta, runs)
    (args.out / "results.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    (args.out / "results.md").write_text(text)
    figure = write_figure(runs, settings.replicates, settings.threads, args.out / "throughput.png")
    print(text)
    print(
        f"wrote {args.out}/results.json, results.md, runs.jsonl"
        + (f", {figure.name}" if figure else ""),
        file=sys.stderr,
    )
    return 0


def _summary(record: dict) -> str:
    if record.get("status") != "ok":
        return f"{record.get('status')}: {record.get('reason')}"
    value = rate(record)
    what = f", {value:.3g}/s" if value and record["model"] != "startup" else ""
    return f"{record['wall_s']:.1f} s{what} (load {record['loadavg_before']})"
