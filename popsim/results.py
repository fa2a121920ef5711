"""The result of a simulation and its tidy tables.

A :class:`Result` keeps the raw engine records (allele counts per replicate,
recorded generation and deme) and derives every statistic from them with
:mod:`popsim.genetics`. Tables are pandas DataFrames in long (tidy) form;
:meth:`Result.write` writes them, figures and a manifest into a directory
atomically (see :mod:`popsim.output`).
"""

from __future__ import annotations

import dataclasses
import json
import platform
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim import __version__
from popsim.demography import Plan
from popsim.genetics import genotypes_from_moments
from popsim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

#: Fields of the pedigree engine's observed array (last axis), all per generation born.
OBSERVED_FIELDS = (
    "individuals",
    "observed_founder_homozygotes",
    "observed_other_homozygotes",
    "observed_compound_heterozygotes",
    "observed_carriers",
    "mean_pedigree_inbreeding",
    "marriages",
    "first_cousin_marriages",
    "second_cousin_marriages",
    "uncle_niece_marriages",
    "fallback_marriages",
)

#: Statistics whose across-replicate "mean" is a pooled ratio (see :meth:`Result.summary`).
SHARES = ("share_founder_homozygotes", "share_other_homozygotes", "share_compound_heterozygotes")
QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)


@dataclass(frozen=True, eq=False)
class Result:
    """Replicates of one scenario run by one engine.

    Attributes:
        scenario: the scenario simulated.
        plan: its compiled arrays (record generations, sizes, F).
        engine: ``"frequency"`` or ``"pedigree"``.
        seed, point, first_replicate: what determines every replicate's seed.
        records: int64 [R, n_records, D, fields], see
            :func:`popsim.engines.frequency.record_fields`.
        observed: float64 [R, n_records, D, len(OBSERVED_FIELDS)] from the
            pedigree engine, else None.
        wall_seconds: time spent in the engine.
    """

    scenario: Scenario
    plan: Plan
    engine: str
    seed: int
    point: int
    first_replicate: int
    records: np.ndarray
    observed: np.ndarray | None
    wall_seconds: float

    # ------------------------------------------------------------------ raw views
    @property
    def replicates(self) -> int:
        return self.records.shape[0]

    @property
    def deme_names(self) -> tuple[str, ...]:
        return self.plan.deme_names

    @property
    def founder_names(self) -> tuple[str, ...]:
        return self.plan.founder_names

    @property
    def allele_names(self) -> tuple[str, ...]:
        """Names of the allele axis of :attr:`final_counts`."""
        return ("normal", *self.founder_names, "other")

    @property
    def generations(self) -> np.ndarray:
        """Scenario generation of each record."""
        return self.plan.record_generations

    @property
    def final_counts(self) -> np.ndarray:
        """int64 [replicate, deme, allele] gene-copy counts at the final generation;
        alleles are :attr:`allele_names` (``other`` pools all mutation-born alleles)."""
        k = len(self.founder_names)
        return self.records[:, -1, :, 1 : 3 + k]

    @property
    def sizes(self) -> np.ndarray:
        return self.records[..., 0]

    @cached_property
    def inbreeding(self) -> np.ndarray:
        """F used for the expected genotype frequencies, [R, n_records, D].

        The frequency engine's F is the config's; the pedigree engine's is the
        realized mean pedigree F of each generation born.
        """
        if self.observed is not None:
            return self.observed[..., OBSERVED_FIELDS.index("mean_pedigree_inbreeding")]
        return np.broadcast_to(self.plan.inbreeding, self.records.shape[:3])

    # ------------------------------------------------------------------ statistics
    @cached_property
    def statistics(self) -> dict[str, np.ndarray]:
        """Per-replicate statistics, each float64 [R, n_records, D] (NaN where a deme is absent)."""
        return self._statistics(slice(None))

    @cached_property
    def final_statistics(self) -> dict[str, np.ndarray]:
        """:attr:`statistics` at the final record only, each float64 [R, D].

        Summaries, :meth:`final` and sweeps need nothing else: computed alone it
        costs 1/n_records of the whole (a sweep point recording 300 generations
        spent two thirds of its time on statistics it then dropped).
        """
        if "statistics" in self.__dict__:
            return {name: values[:, -1] for name, values in self.statistics.items()}
        return {name: values[:, 0] for name, values in self._statistics(slice(-1, None)).items()}

    def _statistics(self, steps: slice) -> dict[str, np.ndarray]:
        """The statistics of the records ``steps`` (every one is elementwise per record)."""
        rec = self.records[:, steps].astype(np.float64)
        k = len(self.founder_names)
        two_n = 2.0 * rec[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            inv = np.where(two_n > 0, 1.0 / two_n, np.nan)
            founders = rec[..., 2 : 2 + k] * inv[..., None]
            normal = rec[..., 1] * inv
            other = rec[..., 2 + k] * inv
            other_sumsq = rec[..., 3 + k] * inv * inv
        founder = founders.sum(-1)
        g = genotypes_from_moments(
            normal, founder, (founders**2).sum(-1), other, other_sumsq, self.inbreeding[:, steps]
        )
        stats = {
            "founder_frequency": founder,
            "pathogenic_frequency": founder + other,
            "other_frequency": other,
            "carrier_frequency": g.carriers,
            "prevalence": g.affected,
            "founder_homozygotes": g.founder_homozygotes,
            "other_homozygotes": g.other_homozygotes,
            "compound_heterozygotes": g.compound_heterozygotes,
            "share_founder_homozygotes": g.share_founder_homozygotes,
            "share_other_homozygotes": g.share_other_homozygotes,
            "share_compound_heterozygotes": g.share_compound_heterozygotes,
            "other_alleles": np.where(two_n > 0, rec[..., 4 + k], np.nan),
            "founder_lost": np.where(two_n > 0, (rec[..., 2 : 2 + k].sum(-1) == 0) * 1.0, np.nan),
        }
        if k > 1:
            for j, name in enumerate(self.founder_names):
                stats[f"frequency_{name}"] = founders[..., j]
        if self.observed is not None:
            stats.update(self._observed_statistics(stats, self.observed[:, steps]))
        return stats

    @staticmethod
    def _observed_statistics(
        expected: dict[str, np.ndarray], obs: np.ndarray
    ) -> dict[str, np.ndarray]:
        col = {name: obs[..., i] for i, name in enumerate(OBSERVED_FIELDS)}
        n = col["individuals"]
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(n > 0, 1.0 / n, np.nan)
            out = {name: col[name] * per for name in OBSERVED_FIELDS[1:5]}
            affected = sum(col[name] for name in OBSERVED_FIELDS[1:4])
            out["observed_prevalence"] = affected * per
            out["observed_share_founder_homozygotes"] = np.where(
                affected > 0, col["observed_founder_homozygotes"] / np.maximum(affected, 1), np.nan
            )
            out["pedigree_inbreeding"] = col["mean_pedigree_inbreeding"]
            # F from genotypes at the disease locus: 1 − H_obs / H_exp (NaN if monomorphic)
            q = expected["pathogenic_frequency"]
            h_exp = 2.0 * q * (1.0 - q)
            h_obs = out["observed_carriers"]
            safe = np.where(h_exp > 0, h_exp, 1.0)
            out["genotype_inbreeding"] = np.where(h_exp > 0, 1.0 - h_obs / safe, np.nan)
            marriages = col["marriages"]
            for name in ("first_cousin", "second_cousin", "uncle_niece", "fallback"):
                out[f"realized_{name}_fraction"] = np.where(
                    marriages > 0, col[f"{name}_marriages"] / np.maximum(marriages, 1), np.nan
                )
        return out

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """Final-generation statistics across replicates, one row per (deme, statistic).

        Columns: mean, q025, median, q975, plus ``p_founder_lost`` rows and,
        where the scenario gives an observation, ``p_reach_observed_<statistic>``
        = P(simulated value ≥ observed). For patient shares the mean is pooled:
        Σ class / Σ affected over replicates (the share of all simulated patients).
        """
        import pandas as pd

        return pd.DataFrame(self._summary_columns())

    def _summary_columns(self) -> dict[str, list]:
        """:meth:`summary` as columns (every row has the same keys)."""
        rows = self.summary_rows()
        return {key: [row[key] for row in rows] for key in rows[0]}

    def summary_rows(self) -> list[dict[str, Any]]:
        """The rows of :meth:`summary` as dicts (deme, statistic, mean, q025, median,
        q975), without importing pandas (``popsim run`` prints them at start-up speed)."""
        stats = self.final_statistics
        rows = []
        for d, deme in enumerate(self.deme_names):
            for name, values in stats.items():
                if name == "founder_lost":
                    continue
                column = values[:, d]
                rows.append(_describe(deme, name, column, self._pooled(stats, name, d)))
            lost = stats["founder_lost"][:, d]
            rows.append(_probability(deme, "p_founder_lost", lost))
            for obs in self.scenario.observations:
                if obs.deme == deme:
                    reach = (stats[obs.statistic][:, d] >= obs.value) * 1.0
                    rows.append(_probability(deme, f"p_reach_observed_{obs.statistic}", reach))
        return rows

    @staticmethod
    def _pooled(stats: dict[str, np.ndarray], name: str, d: int) -> float | None:
        if name not in SHARES:
            return None
        part = name.removeprefix("share_")
        total = np.nansum(stats["prevalence"][:, d])
        return float(np.nansum(stats[part][:, d]) / total) if total > 0 else float("nan")

    def trajectories(self) -> pd.DataFrame:
        """Mean and quantiles of every statistic per deme and recorded generation."""
        import pandas as pd

        return pd.DataFrame(self._trajectory_columns())

    def _trajectory_columns(self) -> dict[str, np.ndarray]:
        """:meth:`trajectories` as columns: blocks of generations per (statistic, deme)."""
        blocks = []
        years = self.generations * self.scenario.generation_time_years
        n_gen = self.generations.shape[0]
        for name, values in self.statistics.items():
            with np.errstate(all="ignore"), _quiet():
                mean = np.nanmean(values, axis=0)
                qs = np.nanquantile(values, QUANTILES, axis=0)
            for d, deme in enumerate(self.deme_names):
                block = {
                    "deme": np.full(n_gen, deme, dtype=object),
                    "generation": self.generations,
                    "years": years,
                    "statistic": np.full(n_gen, name, dtype=object),
                    "mean": mean[:, d],
                }
                for q, column in zip(QUANTILES, qs, strict=True):
                    block[_qname(q)] = column[:, d]
                blocks.append(block)
        return {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}

    def final(self) -> pd.DataFrame:
        """One row per replicate and deme at the final generation: counts and statistics."""
        import pandas as pd

        return pd.DataFrame(self._final_columns())

    def _final_columns(self) -> dict[str, np.ndarray]:
        """:meth:`final` as columns."""
        n_rep, n_demes = self.replicates, len(self.deme_names)
        table = {
            "replicate": np.repeat(np.arange(n_rep) + self.first_replicate, n_demes),
            "deme": np.tile(np.array(self.deme_names, dtype=object), n_rep),
            "size": self.records[:, -1, :, 0].reshape(-1),
        }
        counts = self.final_counts
        for a, name in enumerate(self.allele_names):
            table[f"copies_{name}"] = counts[:, :, a].reshape(-1)
        for name, values in self.final_statistics.items():
            table[name] = values.reshape(-1)
        return table

    def manifest(self) -> dict:
        """What is needed to rerun this result exactly."""
        import numba

        return {
            "popsim_version": __version__,
            "numpy_version": np.__version__,
            "numba_version": numba.__version__,
            "python_version": platform.python_version(),
            "engine": self.engine,
            "seed": self.seed,
            "point": self.point,
            "first_replicate": self.first_replicate,
            "replicates": self.replicates,
            "wall_seconds": round(self.wall_seconds, 4),
            "seed_rule": "replicate r: "
            "SeedSequence(seed, spawn_key=(point,)).generate_state(r+1)[r]"
            " (collisions resolved deterministically); rerun one replicate with "
            "popsim run CONFIG --seed SEED --replicate-index r",
            "scenario": scenario_to_dict(self.scenario),
        }

    def write(
        self, directory: str | Path, *, overwrite: bool = False, figures: bool = True
    ) -> Path:
        """Write manifest.json, summary.csv, trajectories.csv, final.csv and figures/*.png.

        The directory appears complete or not at all (written under a temporary
        name, then renamed); an existing directory is replaced only with
        ``overwrite=True``. The tables are written without pandas (the same
        bytes as ``DataFrame.to_csv``), whose import slowed ``popsim run --out``'s
        start-up (benchmarks/README.md).
        """
        from popsim.output import write_csv, write_directory

        def fill(tmp: Path) -> None:
            write_csv(tmp / "summary.csv", self._summary_columns())
            write_csv(tmp / "trajectories.csv", self._trajectory_columns())
            write_csv(tmp / "final.csv", self._final_columns())
            (tmp / "manifest.json").write_text(json.dumps(self.manifest(), indent=2, default=str))
            if figures:
                from popsim.plots import result_figures

                result_figures(self, tmp / "figures")

        return write_directory(Path(directory), fill, overwrite=overwrite)


def scenario_to_dict(scenario: Scenario) -> dict:
    """The resolved scenario as plain JSON-able data."""
    return dataclasses.asdict(scenario)


def _qname(q: float) -> str:
    return {0.5: "median"}.get(q, f"q{round(q * 1000):03d}")


def _describe(deme: str, name: str, column: np.ndarray, pooled: float | None) -> dict:
    finite = column[np.isfinite(column)]
    row = {"deme": deme, "statistic": name}
    if finite.size == 0:
        row.update(mean=np.nan, q025=np.nan, median=np.nan, q975=np.nan)
        return row
    lo, med, hi = np.quantile(finite, [0.025, 0.5, 0.975])
    row.update(
        mean=pooled if pooled is not None else float(finite.mean()), q025=lo, median=med, q975=hi
    )
    return row


def _probability(deme: str, name: str, hits: np.ndarray) -> dict:
    finite = hits[np.isfinite(hits)]
    p = float(finite.mean()) if finite.size else np.nan
    return {
        "deme": deme,
        "statistic": name,
        "mean": p,
        "q025": np.nan,
        "median": np.nan,
        "q975": np.nan,
    }


class _quiet:
    """Silence numpy's all-NaN-slice warnings inside a block."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
