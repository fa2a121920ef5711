"""Small scenarios for the checks, built as config dicts and run through the public API.

Checks go through :func:`popsim.model.build.scenario_from_dict` and
:func:`popsim.simulate` exactly as a user's config would, so what is validated
is the whole path from config to result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from popsim.analysis.results import Result
from popsim.engines.layout import record_column
from popsim.model.build import scenario_from_dict
from popsim.simulate import simulate


def one_deme(
    n: int,
    generations: int,
    *,
    copies: int = 0,
    u: float = 0.0,
    s: float = 0.0,
    h: float = 0.0,
    a: float = 0.0,
    F: float = 0.0,
    max_alleles: int = 256,
    record_every: int | None = None,
) -> dict[str, Any]:
    """Config dict of one deme of N diploids with ``copies`` founder copies at generation 0.

    ``record_every`` defaults to recording only generations 0 and T.
    """
    locus: dict[str, Any] = {
        "pathogenic_mutation_rate": u,
        "selection": {"affected": s, "carrier_dominance": h, "heterozygote_advantage": a},
        "max_alleles": max_alleles,
    }
    if copies:
        locus["founder_alleles"] = [{"name": "f", "deme": "pop", "copies": copies}]
    return {
        "scenario": {
            "name": "validation",
            "generations": generations,
            "record_every": record_every or max(generations, 1),
        },
        "demes": [{"name": "pop", "size": n, "inbreeding": F}],
        "locus": locus,
    }


def run(raw: dict[str, Any], replicates: int, seed: int, engine: str) -> Result:
    """Validate ``raw`` into a scenario and simulate it with ``engine``."""
    return simulate(scenario_from_dict(raw), replicates=replicates, seed=seed, engine=engine)


def pathogenic_counts(result: Result, deme: int = 0) -> np.ndarray:
    """int64 [replicate, record]: pathogenic gene copies (all pathogenic alleles pooled)."""
    records = result.records[:, :, deme, :]
    return 2 * record_column(records, "size") - record_column(records, "normal")


def parameters(**values: float) -> str:
    """'N=10, s=0.3, h=0.4' from keyword values, leaving out zeros except N and t."""
    shown = [f"{k}={v:g}" for k, v in values.items() if v or k in ("N", "t")]
    return ", ".join(shown)
