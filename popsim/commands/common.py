"""Arguments and behaviour shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from popsim.errors import PopsimError
from popsim.model.build import load_scenario
from popsim.model.catalog import resolve_config
from popsim.model.config import ENGINES, parse_override
from popsim.model.scenario import Scenario
from popsim.outputs.words import duration

if TYPE_CHECKING:
    from popsim.burnin import BurnInCache


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """--replicates, --seed, --generations, --engine and repeatable --set."""
    parser.add_argument("--replicates", type=int, help="override scenario.replicates")
    parser.add_argument("--seed", type=int, help="override scenario.seed")
    parser.add_argument("--generations", type=int, help="override scenario.generations")
    parser.add_argument(
        "--engine", choices=ENGINES, help="override scenario.engine"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set demes.persian_jews.inbreeding=0.03 "
        "(repeatable; the value is read as TOML)",
    )


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    """--no-cache: neither read nor write the on-disk cache of burned-in states."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the on-disk cache of burned-in host states "
        "($POPSIM_CACHE_DIR, else $XDG_CACHE_HOME/popsim or ~/.cache/popsim; the numbers "
        "are the same either way)",
    )


def burn_in_cache(args: argparse.Namespace) -> BurnInCache | None:
    """The on-disk cache of burned-in states the command uses (None with --no-cache)."""
    from popsim.burnin import BurnInCache  # here: `popsim --help` imports no engine

    return None if args.no_cache else BurnInCache()


def scenario_from_args(path: str | Path, args: argparse.Namespace) -> Scenario:
    """Load a config with the command line's overrides applied (all validated)."""
    overrides: dict[str, Any] = dict(parse_override(text) for text in args.overrides)
    for option, key in (
        ("replicates", "scenario.replicates"),
        ("seed", "scenario.seed"),
        ("generations", "scenario.generations"),
        ("engine", "scenario.engine"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            overrides[key] = value
    return load_scenario(resolve_config(path), overrides)


#: Seconds between two plain progress lines (stderr not a terminal).
PLAIN_EVERY = 30.0


class PlainProgress:
    """Progress for logs: a line on ``stream`` at most every ``every`` seconds.

    ``update(n)`` counts n more units done; once ``every`` seconds have passed
    since the start or the last line, it writes ``label: done/total unit (x%),
    elapsed …, ETA …`` (the ETA extrapolates the mean rate so far). Work that
    ends within ``every`` seconds prints nothing. ``clock`` gives seconds
    (:func:`time.monotonic`; tests pass a fake one).
    """

    def __init__(self, total: int, label: str, unit: str, stream: TextIO,
                 clock: Callable[[], float] = time.monotonic, every: float = PLAIN_EVERY) -> None:
        self.total, self.label, self.unit, self.stream = total, label, unit, stream
        self.clock, self.every = clock, every
        self.done = 0
        self.start = self.last = clock()

    def update(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        share = self.done / self.total if self.total > 0 else 1.0
        eta = elapsed * (1 - share) / share if share > 0 else float("nan")
        self.stream.write(
            f"{self.label}: {self.done:,}/{self.total:,} {self.unit}s ({100 * share:.0f}%), "
            f"elapsed {duration(elapsed)}, ETA {duration(eta)}\n"
        )
        self.stream.flush()


@contextmanager
def progress_bar(total: int, description: str, unit: str = "replicate", width: int = 40,
                 clock: Callable[[], float] = time.monotonic):
    """A tqdm bar on a terminal (stderr); where stderr is not a terminal (a log, a
    scheduler's job), a plain line with an ETA at most every 30 s
    (:class:`PlainProgress`). Yields ``update(n)``.

    ``description`` is shown as :func:`progress_label` shortens it to ``width``.
    """
    label = progress_label(description, width)
    if not sys.stderr.isatty():
        yield PlainProgress(total, label, unit, sys.stderr, clock).update
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False) as bar:
        yield bar.update


def progress_label(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut only between words (then ending in "…").

    A first word longer than ``width`` is kept whole rather than cut.
    """
    words = text.split()
    label = " ".join(words)
    if len(label) <= width:
        return label
    kept = words[:1]
    for word in words[1:]:
        if len(" ".join([*kept, word])) + 1 > width:
            break
        kept.append(word)
    return " ".join(kept).rstrip(",;:(—–-") + "…"


def announce_compilation(engine: str) -> None:
    """Say so on stderr when the engine's Numba kernel is not in the cache yet."""
    from popsim.engines import kernel_is_cached

    if not kernel_is_cached(engine):
        print(
            f"popsim: compiling the {engine} engine (first run only; cached afterwards)...",
            file=sys.stderr,
        )


def replicate_chunk(replicates: int) -> int:
    """Replicates per kernel call: enough for both threads, small enough for a live bar."""
    return max(64, min(replicates, -(-replicates // 50)))


def print_evidence(scenario: Scenario, rows: list[dict[str, Any]]) -> None:
    """Print, under a summary table, each of ``scenario``'s observations with a
    likelihood: its evidence (mean likelihood over histories, bootstrap 95% interval)
    and posterior-predictive p-value, demes by their labels."""
    if not scenario.count_observations:
        return
    from popsim.analysis.evidence import describe

    print("observations: evidence = mean likelihood over histories [bootstrap 95%], "
          "p-value = posterior predictive")
    labels = {deme.name: deme.label for deme in scenario.demes}
    for line in describe(scenario.count_observations, rows, labels):
        print(line)


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """--force: allow more --workers than cores."""
    parser.add_argument(
        "--force", action="store_true", help="start --workers processes even beyond the cores"
    )


def add_memory_force_option(parser: argparse.ArgumentParser) -> None:
    """--force: run even where the estimated peak memory exceeds what is available."""
    parser.add_argument(
        "--force", action="store_true",
        help="run even if the estimated peak memory exceeds the memory available "
        "(refused otherwise, before anything is simulated)",
    )


def capped_workers(workers: int | None, force: bool) -> int | None:
    """``--workers``, at most the cores this process may use unless ``force``.

    More processes than cores only compete for them (and each holds its own
    copy of the kernels); a cap is said on stderr.
    """
    from popsim.workflows.sweep.executors import default_workers

    cores = default_workers()
    if workers is None or force or workers <= cores:
        return workers
    print(
        f"popsim: --workers {workers}: using {cores}, the cores available "
        "(--force starts them all)",
        file=sys.stderr,
    )
    return cores


def chosen_executor(args: argparse.Namespace) -> str:
    """The executor that ``--executor``, ``--scheduler`` and ``--workers`` ask for
    (``--scheduler`` implies dask); refuse combinations that mean nothing, and a
    scheduler address that is not TLS, before any file is read."""
    from popsim.workflows.sweep.executors import check_scheduler_address

    executor = args.executor or ("dask" if args.scheduler else "processes")
    if args.scheduler and executor != "dask":
        raise PopsimError(f"--scheduler: needs --executor dask, not {executor}")
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)
    if args.workers is not None:
        if args.workers < 1:
            raise PopsimError(f"--workers {args.workers}: must be at least 1")
        if executor == "serial" or args.scheduler:
            raise PopsimError(
                "--workers: applies to --executor processes or a local dask cluster only"
            )
    return executor
