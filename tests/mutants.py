"""Plausible bugs ("mutants") that ``popsim validate --quick`` must catch, and the harness
that plants each in a copy of the package and runs the validator on it.

A mutant is a list of textual replacements in ``popsim/`` (each ``old`` must occur
exactly once). :func:`run_validate` copies the package to a temporary directory,
applies them, and runs ``python -m popsim validate --quick [checks]`` in a
subprocess whose ``PYTHONPATH`` is the copy, with a fresh Numba cache there (so no
kernel compiled from the real package is reused), and returns the exit status
and the failing rows of ``checks.csv``.

Run as a script (``python tests/mutants.py OUT``) it validates the unmutated copy
and every mutant with the whole quick catalogue and writes ``OUT/mutants.csv``:
which rows fail on which mutant (the table in docs/validation.md).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FREQUENCY = "popsim/engines/frequency.py"


@dataclass(frozen=True)
class Mutant:
    """A bug planted by ``edits`` [(file under the root, old text, new text)]; ``catching``:
    the checks that catch it, what the fast test runs."""

    name: str
    description: str
    edits: tuple[tuple[str, str, str], ...]
    catching: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "merged-new-alleles",
        "every new mutant copy of a generation merged into one allele",
        (
            (FREQUENCY, "        for _ in range(left):\n            n_free -= 1",
             "        for _ in range(min(left, 1)):\n            n_free -= 1"),
            (FREQUENCY, "            counts[lane, nxt, i, slot] = 1\n",
             "            counts[lane, nxt, i, slot] = left\n"),
        ),
        ("allele-splitting",),
    ),
    Mutant(
        "inbreeding-ignored",
        "F ignored in zygote formation (the selection step gets F = 0)",
        ((FREQUENCY, "2 * sizes[step, i], sch.inbreeding[i], w_het,",
          "2 * sizes[step, i], 0.0, w_het,"),),
        ("wf-chain",),
    ),
    Mutant(
        "migration-forward",
        "migration applied forward: deme i's pool takes M[j, i] instead of M[i, j]",
        ((FREQUENCY, "                m = migration[i, j]\n",
          "                m = migration[j, i]\n"),),
        ("migration-moments",),
    ),
    Mutant(
        "founders-wrong-generation",
        "a founded deme's founders drawn from the source's new generation (τ, not τ − 1)",
        ((FREQUENCY, "            _gamete_pools(n_lanes, last, i, source,",
          "            _gamete_pools(n_lanes, nxt if sizes[step - 1, i] == 0 else last, i, "
          "source,"),),
        ("founder-event",),
    ),
    Mutant(
        "founders-wrong-deme",
        "a founded deme's single source taken along the wrong axis (argmax over i, not j)",
        ((FREQUENCY, "ones.argmax(axis=2)", "ones.argmax(axis=1)"),),
        ("founder-event",),
    ),
    Mutant(
        "split-not-decremented",
        "the conditional binomial split of mutation-born copies does not remove each "
        "allele's share from the mass left",
        ((FREQUENCY, "            left -= c\n            novel -= pk\n",
          "            left -= c\n"),),
        ("allele-splitting",),
    ),
    Mutant(
        "named-mass-not-decremented",
        "the conditional binomial draws of named alleles do not remove each allele's "
        "share from the mass left",
        ((FREQUENCY, "        lane_floats[_MASS, lane] -= lane_floats[_PK, lane]\n", ""),),
        ("infinite-alleles",),
    ),
    Mutant(
        "size-schedule-off-by-one",
        "a growth epoch runs one generation ahead (x = (t − t₀ + 1)/span)",
        (("popsim/model/plan.py", "x = (t - t0) / span", "x = (t - t0 + 1) / span"),),
        ("founder-event",),
    ),
    Mutant(
        "selection-after-drift",
        "selection applied after drift, to the copies already drawn: the draw takes the "
        "pool before selection",
        (
            (FREQUENCY, "    pk = unscaled * lane_floats[_SCALE, lane]\n", "    pk = unscaled\n"),
            (FREQUENCY, "        scale = lane_floats[_SCALE, lane]\n        novel =",
             "        scale = 1.0\n        novel ="),
        ),
        ("wf-chain",),
    ),
    Mutant(
        "second-cousins-as-first",
        "the pedigree engine's second-cousin seekers drawn as first cousins (and the "
        "first-cousin index built for them)",
        (
            ("popsim/engines/pedigree/marriage.py",
             "                elif kind == _FIRST:\n                    state, g = _pick_first(",
             "                elif kind != _UNCLE:\n                    state, g = _pick_first("),
            ("popsim/engines/pedigree/kernel.py", "grandsons=index(2 * men, first),",
             "grandsons=index(2 * men, first or second),"),
        ),
        ("pedigree-inbreeding",),
    ),
)


BY_NAME = {m.name: m for m in MUTANTS}


def mutated_copy(mutant: Mutant | None, where: Path) -> Path:
    """Copy ``popsim/`` under ``where`` and apply ``mutant``'s edits; returns ``where``.

    Raises AssertionError if an edit's old text does not occur exactly once (the
    engine changed under the mutant: update the mutant, never drop it).
    """
    shutil.copytree(ROOT / "popsim", where / "popsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for path, old, new in mutant.edits if mutant else ():
        target = where / path
        text = target.read_text()
        assert text.count(old) == 1, f"{mutant.name}: {old!r} occurs {text.count(old)} times"
        target.write_text(text.replace(old, new))
    return where


@dataclass(frozen=True)
class Verdict:
    returncode: int
    verdict: str  # the verdict line
    failing: tuple[str, ...]  # "check (engine): quantity" of each failing row
    output: str


def run_validate(mutant: Mutant | None, where: Path, checks: tuple[str, ...] = (),
                 timeout: float = 3600, options: tuple[str, ...] = ()) -> Verdict:
    """Validate (quick) a copy of the package with ``mutant`` planted (None: unmutated);
    ``options``: more arguments of ``popsim validate`` (e.g. ``--engine frequency``)."""
    copy = mutated_copy(mutant, where)
    out = where / "validation"
    env = {**os.environ, "PYTHONPATH": str(copy), "NUMBA_CACHE_DIR": str(where / "numba-cache")}
    done = subprocess.run(
        [sys.executable, "-m", "popsim", "validate", "--quick", "--out", str(out), *options,
         *checks],
        cwd=where, env=env, capture_output=True, text=True, timeout=timeout,
    )
    failing: list[str] = []
    table = out / "checks.csv"
    if table.exists():
        with table.open() as f:
            failing = [f"{r['check']} ({r['engine']}): {r['quantity']}"
                       for r in csv.DictReader(f) if r["verdict"] != "pass"]
    verdict = next((line for line in done.stdout.splitlines()
                    if line.startswith(("PASS", "FAIL"))), "")
    return Verdict(done.returncode, verdict, tuple(failing), done.stdout + done.stderr)


def engine_of(mutant: Mutant) -> str:
    """The engine a mutant's edits can change: ``pedigree`` if they touch only its files."""
    pedigree = all(path.startswith("popsim/engines/pedigree/") for path, _, _ in mutant.edits)
    return "pedigree" if pedigree else "frequency"


def main(out: Path, names: list[str]) -> None:
    """Validate the unmutated copy (name ``unmutated``) and the mutants ``names`` (all of
    them and the unmutated copy if none); write ``out/mutants.csv``. A mutant is
    validated with the simulation checks of the engine it can change
    (:func:`engine_of`) and the theory checks, which is what the table in
    docs/validation.md reports; the slow test runs the whole catalogue."""
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    with (out / "mutants.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["mutant", "returncode", "verdict", "failing rows"])
        chosen = [BY_NAME.get(n) for n in names] if names else [None, *MUTANTS]
        for mutant in chosen:
            with tempfile.TemporaryDirectory() as tmp:
                options = ("--engine", engine_of(mutant)) if mutant else ()
                v = run_validate(mutant, Path(tmp), options=options)
            name = mutant.name if mutant else "unmutated"
            writer.writerow([name, v.returncode, v.verdict, " | ".join(v.failing)])
            f.flush()
            print(name, v.returncode, v.verdict, len(v.failing), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
