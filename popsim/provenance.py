"""Provenance: one manifest schema for ``run``, ``compare``, ``sweep`` and ``fit``.

Every output directory holds a ``manifest.json`` built by :func:`build_manifest`
and written by :func:`write_manifest`: a common block that says which code,
seed rule, packages, machine and command line produced the results, and one
section with the workflow's own record, under the workflow's name.

Schema ``popsim-manifest``, version 1 (JSON; ``null`` where a value is unknown)::

    schema                 str   "popsim-manifest"
    schema_version         int   1
    workflow               str   "run", "compare", "sweep", "fit" or "risk"
    popsim_version         str   popsim.__version__
    engine_sources_sha256  str   hex SHA-256 of the engine code (see engine_sources_sha256)
    seed_rule              obj   {"version": int, "text": str}: how a replicate's seed is
                                 derived (popsim.engines.rng.SEED_RULE_VERSION, SEED_RULE)
    versions               obj   {"python", "numpy", "numba", "pandas", "scipy", "dask"}:
                                 str, or null where the package is not installed
    platform               obj   {"system": str (e.g. "Linux"), "release": str,
                                 "machine": str (e.g. "x86_64"), "processors": int|null}
    command_line           str|null  the command as typed (shell-quoted), null from Python
    started                str   UTC start time, ISO 8601 ("2026-01-31T12:00:00Z"); a
                                 resumed sweep keeps the start and command of its first run
    <workflow>             obj   the workflow's section:
      run      engine, deme_engines ({deme name: "pedigree" or "frequency"}), seed, point,
               replicates, first_replicate, wall_seconds (float, s), scenario (the
               resolved scenario)
      compare  replicates, seed, tolerance, wall_seconds, policy, scenarios (per scenario:
               id, source, engine, wall_seconds, scenario)
      sweep    name, description, sweep_file, sweep_sha256, base, base_sha256,
               scenarios_sha256, root_seed, replicates, deme, design, columns, points,
               observations, sweep_text
      fit      fit_file, fit_sha256, fit_text, base_file, base_sha256, fixed, seed,
               seed_rule (the seeds of the fit's draws), settings, outcome (written when
               the fit finishes)
      risk     from (the run directory read, or null where risk simulated), run (that
               run's section, or null where its directory had no manifest)

Reuse. Sweep and fit resumes reuse results written earlier only where
:func:`reuse_refusal` finds no change of the engine code, the seed rule
version, the popsim version or the version of a package that can change the
numbers (:data:`NUMERIC_PACKAGES`), besides the workflow's own inputs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from popsim._version import __version__
from popsim.errors import PopsimError
from popsim.outputs.files import write_text_atomic

SCHEMA = "popsim-manifest"
SCHEMA_VERSION = 1
WORKFLOWS = ("run", "compare", "sweep", "fit", "risk")
#: Packages whose versions the manifest records (Python's own version besides).
PACKAGES = ("numpy", "numba", "pandas", "scipy", "dask")
#: Versions that can change a simulated number: a change of one refuses a resume.
NUMERIC_PACKAGES = ("python", "numpy", "numba", "pandas", "scipy")

_PACKAGE_DIR = Path(__file__).resolve().parent


#: What decides the numbers of a scenario's results: the kernels (every module of
#: ``popsim/engines``), the plan compiler that turns a scenario into their arrays, and
#: the code that turns records into the statistics, evidence and rows that sweeps and
#: fits commit (a resume reuses those rows).
ENGINE_SOURCES = (
    "engines",
    "model/plan.py",
    "genetics",
    "analysis/results.py",
    "analysis/evidence.py",
    "workflows/sweep/tasks.py",
    "workflows/fit/observed.py",
)


@functools.cache
def engine_sources_sha256() -> str:
    """Hex SHA-256 of :data:`ENGINE_SOURCES` (relative path and bytes of every ``.py``
    file, in path order), computed once per process: everything Numba compiles into the
    kernels, the output layout included, the plan they run and the statistics made of
    their records. Equal hashes mean the same code behind every committed number."""
    digest = hashlib.sha256()
    files = []
    for source in ENGINE_SOURCES:
        path = _PACKAGE_DIR / source
        files.extend(path.rglob("*.py") if path.is_dir() else [path])
    for path in sorted(files, key=lambda p: p.relative_to(_PACKAGE_DIR).as_posix()):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. ``2026-01-31T12:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict[str, str | None]:
    """Python's version and those of :data:`PACKAGES` (None where not installed),
    read from the installed metadata without importing the packages."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def platform_info() -> dict[str, Any]:
    """Operating system, its release, machine architecture and processor count."""
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "processors": os.cpu_count(),
    }


def build_manifest(
    workflow: str,
    section: dict[str, Any],
    *,
    command_line: str | None = None,
    started: str | None = None,
) -> dict[str, Any]:
    """The manifest of one workflow: the common block and ``section`` under ``workflow``.

    Args:
        workflow: one of :data:`WORKFLOWS`.
        section: the workflow's own record (JSON-able; see the module docstring).
        command_line: the command line as typed, from the CLI (None from Python).
        started: UTC ISO start time (default: now).
    """
    from popsim.engines.rng import SEED_RULE, SEED_RULE_VERSION

    if workflow not in WORKFLOWS:
        raise ValueError(f"workflow {workflow!r}: must be one of {', '.join(WORKFLOWS)}")
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "workflow": workflow,
        "popsim_version": __version__,
        "engine_sources_sha256": engine_sources_sha256(),
        "seed_rule": {"version": SEED_RULE_VERSION, "text": SEED_RULE},
        "versions": package_versions(),
        "platform": platform_info(),
        "command_line": command_line,
        "started": started or utc_now(),
        workflow: section,
    }


def write_manifest(path: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` to ``path`` as JSON, atomically (a temporary file, then a
    rename); values JSON cannot hold, such as paths, as strings."""
    write_text_atomic(Path(path), json.dumps(manifest, indent=2, default=str))


def read_manifest(path: str | Path, workflow: str) -> dict[str, Any] | None:
    """The manifest at ``path`` if it is one of ``workflow`` in this schema, else None.

    Raises PopsimError for a manifest of this workflow written by an earlier
    popsim (another layout): its results cannot be reused or read.
    """
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get("schema") == SCHEMA and manifest.get("workflow") == workflow:
        if manifest.get("schema_version") == SCHEMA_VERSION and isinstance(
            manifest.get(workflow), dict
        ):
            return manifest
        raise PopsimError(
            f"{path}: manifest schema version {manifest.get('schema_version')!r}, this popsim "
            f"reads {SCHEMA_VERSION}; rerun with --overwrite or into a new --out"
        )
    if str(manifest.get("format", "")).startswith(f"popsim-{workflow}/"):
        raise PopsimError(
            f"{path}: written by an earlier popsim (manifest format {manifest['format']}); "
            "rerun with --overwrite or into a new --out"
        )
    return None


def reuse_refusal(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why results recorded under manifest ``old`` cannot be reused under ``new``, or None.

    Compares the common fields that decide the numbers: the engine code hash,
    the seed rule version, the popsim version and :data:`NUMERIC_PACKAGES`.
    """
    old_hash, new_hash = old.get("engine_sources_sha256"), new.get("engine_sources_sha256")
    if old_hash != new_hash:
        return f"the engine sources changed (sha256 {str(old_hash)[:12]} → {str(new_hash)[:12]})"
    old_rule = (old.get("seed_rule") or {}).get("version")
    new_rule = (new.get("seed_rule") or {}).get("version")
    if old_rule != new_rule:
        return f"the seed rule changed (version {old_rule} → {new_rule})"
    changes = []
    if old.get("popsim_version") != new.get("popsim_version"):
        changes.append(f"popsim {old.get('popsim_version')} → {new.get('popsim_version')}")
    old_versions, new_versions = old.get("versions") or {}, new.get("versions") or {}
    changes += [
        f"{name} {old_versions.get(name)} → {new_versions.get(name)}"
        for name in NUMERIC_PACKAGES
        if old_versions.get(name) != new_versions.get(name)
    ]
    if changes:
        return f"the installed versions changed ({', '.join(changes)})"
    return None
