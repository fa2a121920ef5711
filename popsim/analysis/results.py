"""The result of a simulation and its tidy tables.

A :class:`Result` keeps the raw engine records (allele counts per replicate,
recorded generation and deme) and derives every statistic registered in
:mod:`popsim.genetics.statistics` from them. Tables are pandas DataFrames in long (tidy) form;
:meth:`Result.write` writes them, figures and a manifest into a directory
atomically (see :mod:`popsim.outputs.files`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.analysis.quantiles import nan_quantiles
from popsim.engines.layout import (
    OBSERVED_FIELDS,
    founder_columns,
    observed_column,
    record_column,
)
from popsim.genetics.statistics import BY_NAME, FOUNDER_OUTCOMES, REGISTRY, Moments, compute
from popsim.model.plan import Plan, founder_demes
from popsim.model.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
#: Bootstrap of a pooled share over histories: resamples and the generator's seed (fixed,
#: so an interval depends on the replicates alone), and at most how many resample weights
#: are held at once (resamples are drawn in blocks of BOOTSTRAP_BLOCK // replicates).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
BOOTSTRAP_BLOCK = 1 << 21


@dataclass(frozen=True, eq=False)
class Result:
    """Replicates of one scenario run by one engine.

    Attributes:
        scenario: the scenario simulated.
        plan: its compiled arrays (record generations, sizes, F).
        engine: ``"frequency"``, ``"pedigree"`` or ``"hybrid"`` (:attr:`deme_engines`).
        seed, point, first_replicate: what determines every replicate's seed.
        records: int64 [R, n_records, D, columns], see
            :func:`popsim.engines.layout.record_columns`.
        observed: float64 [R, n_records, D, len(OBSERVED_FIELDS)] from the
            pedigree engine (and a hybrid run, where a host deme counts no
            individuals), else None (:data:`popsim.engines.layout.OBSERVED_COLUMNS`).
        wall_seconds: time spent in the engine.
        started: when the engine run started (UTC, ISO 8601), or None if unknown.
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
    started: str | None = None

    # ------------------------------------------------------------------ raw views

    @property
    def deme_engines(self) -> dict[str, str]:
        """The engine that simulated each deme, by name: a hybrid run's demes of
        individuals the pedigree engine's, its hosts the frequency engine's."""
        if self.engine != "hybrid":
            return dict.fromkeys(self.deme_names, self.engine)
        return {name: "pedigree" if marked else "frequency"
                for name, marked in zip(self.deme_names, self.plan.individuals, strict=True)}
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
        last = self.records[:, -1]
        return np.concatenate(
            [
                record_column(last, "normal")[..., None],
                founder_columns(last),
                record_column(last, "other")[..., None],
            ],
            axis=-1,
        )

    @property
    def sizes(self) -> np.ndarray:
        """int64 [R, n_records, D]: N, diploid individuals of each deme at each record."""
        return record_column(self.records, "size")

    @cached_property
    def inbreeding(self) -> np.ndarray:
        """F used for the expected genotype frequencies, [R, n_records, D].

        The frequency engine's F is the plan's (the config's ``inbreeding``, or
        the F implied by marriage fractions: :mod:`popsim.model.inbreeding`); the
        pedigree engine's is the realized mean pedigree F of each generation born.
        """
        if self.observed is not None:
            return observed_column(self.observed, "mean_pedigree_inbreeding")
        return np.broadcast_to(self.plan.inbreeding[self.plan.record_steps], self.records.shape[:3])

    def final_inbreeding(self, deme: int) -> float:
        """F of deme index ``deme`` at the final generation, mean over replicates: the
        config's F for the frequency engine, the measured pedigree F for the pedigree
        engine (NaN without replicates or where the deme has no individuals)."""
        values = self.inbreeding[:, -1, deme]
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

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
        """The statistics of the records ``steps`` (every one is elementwise per record),
        computed by the registry (:func:`popsim.genetics.statistics.compute`)."""
        rec = self.records[:, steps].astype(np.float64)
        two_n = 2.0 * record_column(rec, "size")
        with np.errstate(invalid="ignore", divide="ignore"):
            inv = np.where(two_n > 0, 1.0 / two_n, np.nan)
            founders = founder_columns(rec) * inv[..., None]
            normal = record_column(rec, "normal") * inv
            other = record_column(rec, "other") * inv
            other_sumsq = record_column(rec, "other_sumsq") * inv * inv
        observed = None
        if self.observed is not None:
            obs = self.observed[:, steps]
            observed = {name: observed_column(obs, name) for name in OBSERVED_FIELDS}
        moments = Moments(
            present=two_n > 0,
            normal=normal,
            founders=founders,
            other=other,
            other_sumsq=other_sumsq,
            other_alleles=record_column(rec, "other_alleles"),
            inbreeding=self.inbreeding[:, steps],
            observed=observed,
            penetrance=self.scenario.locus.penetrance,
        )
        return compute(moments, self.founder_names)

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """Final-generation statistics across replicates, one row per (deme, statistic).

        Columns: mean, q025, median, q975, plus ``p_founder_lost`` rows and,
        where the scenario gives an observation, ``p_reach_observed_<statistic>``
        = P(simulated value ≥ observed) over the histories where the statistic is
        defined (:func:`reached`). A statistic's row gives its mean over
        replicates (histories) and the 2.5%, 50% and 97.5% quantiles across them.
        A patient share (a registry entry with ``pooled``) has two rows: ``<name>``,
        the pooled share Σ class / Σ affected genotypes over replicates (the share
        of all simulated patients) with a bootstrap 95% interval over histories
        in q025/q975 and no median; ``<name>_per_history``, the share's
        distribution across the histories that have patients (mean, quantiles).
        """
        import pandas as pd

        return pd.DataFrame(self._summary_columns())

    def _summary_columns(self) -> dict[str, list]:
        """:meth:`summary` as columns (every row has the same keys)."""
        rows = self.summary_rows()
        return {key: [row[key] for row in rows] for key in rows[0]}

    def summary_rows(self) -> list[dict[str, Any]]:
        """The rows of :meth:`summary` as dicts (deme, statistic, mean, q025, median,
        q975), without importing pandas (``popsim run`` prints them at start-up speed).

        Computed once per result (the bootstrap intervals and the observations'
        Monte Carlo p-values are its costly part; a run prints the rows, writes them
        and draws from them); each call returns fresh dicts.
        """
        return [dict(row) for row in self._summary_rows]

    @cached_property
    def _summary_rows(self) -> list[dict[str, Any]]:
        stats = self.final_statistics
        shares = _pooled_shares(stats)
        absent = ~founder_demes(self.plan)  # the allele never gets there: no "lost"
        stats = {k: np.where(absent, np.nan, v) if k in FOUNDER_OUTCOMES else v
                 for k, v in stats.items()}
        rows = []
        for d, deme in enumerate(self.deme_names):
            column = {name: values[:, d] for name, values in stats.items()}
            outcomes = []
            for name, values in column.items():
                entry = BY_NAME.get(name)
                if entry is not None and entry.display == "probability":
                    outcomes.append(_probability(deme, entry.summary_name, values))
                elif name in shares:
                    share, low, high = (x[d] for x in shares[name])
                    rows.append(_interval_row(deme, name, share, low, high))
                    rows.append(_describe(deme, entry.per_history_name, values))
                else:
                    rows.append(_describe(deme, name, values))
            rows.extend(outcomes)
            for obs in self.scenario.observations:
                if obs.deme == deme:
                    reach = reached(stats[obs.statistic][:, d], obs.value)
                    rows.append(_probability(deme, f"p_reach_observed_{obs.statistic}", reach))
        rows.extend(self._evidence_rows())
        return rows

    # ------------------------------------------------------------------ evidence
    def _evidence_rows(self) -> list[dict[str, Any]]:
        """The count observations' rows of :meth:`summary` (evidence, p-values;
        :func:`popsim.analysis.evidence.summary_rows`)."""
        if not self.scenario.count_observations:
            return []
        from popsim.analysis.evidence import summary_rows

        return summary_rows(self)

    @cached_property
    def log_likelihoods(self) -> dict[str, np.ndarray]:
        """``{name: loglik [R]}`` of every observation with a likelihood, then
        ``"total"`` (:func:`popsim.analysis.evidence.history_log_likelihoods`), computed
        once per result: final.csv, the summary, the evidence and the compare weights
        all read it."""
        from popsim.analysis.evidence import history_log_likelihoods

        return history_log_likelihoods(self.scenario, self.final_statistics, self.deme_names)

    def _loglik_columns(self) -> dict[str, np.ndarray]:
        """final.csv's ``loglik_<name>`` columns (the observation's value on its deme's
        rows, NaN on other demes') and ``loglik_total`` (on every row of the replicate)."""
        if not self.scenario.count_observations:
            return {}
        n_demes = len(self.deme_names)
        logliks = self.log_likelihoods
        columns = {}
        for obs in self.scenario.count_observations:
            column = np.full((self.replicates, n_demes), np.nan)
            column[:, self.deme_names.index(obs.deme)] = logliks[obs.name]
            columns[f"loglik_{obs.name}"] = column.reshape(-1)
        columns["loglik_total"] = np.repeat(logliks["total"], n_demes)
        return columns

    @property
    def deme_labels(self) -> tuple[str, ...]:
        """What people read for each deme (its ``label``), in :attr:`deme_names` order."""
        return tuple(d.label for d in self.scenario.demes)

    @property
    def years_before_present(self) -> np.ndarray:
        """float64 [r]: each recorded generation's time in years before the present
        (the final generation), (T − g)·``generation_time_years``: the time axis of
        every table and figure (docs/config.md, "Units")."""
        scenario = self.scenario
        return (scenario.generations - self.generations) * scenario.generation_time_years

    def trajectories(self) -> pd.DataFrame:
        """Mean and quantiles of every statistic per deme and recorded generation
        (``generation`` and ``years_before_present``)."""
        import pandas as pd

        return pd.DataFrame(self._trajectory_columns())

    def _trajectory_columns(self) -> dict[str, np.ndarray]:
        """:meth:`trajectories` as columns: blocks of generations per (statistic, deme)."""
        blocks = []
        years = self.years_before_present
        n_gen = self.generations.shape[0]
        for name, values in self.statistics.items():
            with np.errstate(all="ignore"), _quiet():
                mean = np.nanmean(values, axis=0)
                qs = nan_quantiles(values, QUANTILES)
            for d, deme in enumerate(self.deme_names):
                block = {
                    "deme": np.full(n_gen, deme, dtype=object),
                    "generation": self.generations,
                    "years_before_present": years,
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
            "size": self.sizes[:, -1].reshape(-1),
        }
        counts = self.final_counts
        for a, name in enumerate(self.allele_names):
            table[f"copies_{name}"] = counts[:, :, a].reshape(-1)
        for name, values in self.final_statistics.items():
            table[name] = values.reshape(-1)
        table.update(self._loglik_columns())
        return table

    def manifest(self, command_line: str | None = None) -> dict[str, Any]:
        """What is needed to rerun this result exactly: the common provenance block
        (:mod:`popsim.provenance`) and a ``run`` section; ``command_line`` as typed."""
        from popsim.provenance import build_manifest

        section = {
            "engine": self.engine,
            "deme_engines": self.deme_engines,
            "seed": self.seed,
            "point": self.point,
            "first_replicate": self.first_replicate,
            "replicates": self.replicates,
            "wall_seconds": round(self.wall_seconds, 4),
            "scenario": scenario_to_dict(self.scenario),
        }
        return build_manifest("run", section, command_line=command_line, started=self.started)

    def write(
        self,
        directory: str | Path,
        *,
        overwrite: bool = False,
        figures: bool = True,
        command_line: str | None = None,
    ) -> Path:
        """Write manifest.json, summary.csv, trajectories.csv, final.csv and figures/*.png (+ .svg).

        The directory appears complete or not at all (written under a temporary
        name, then renamed); an existing directory is replaced only with
        ``overwrite=True``. The tables are written without pandas (the same
        bytes as ``DataFrame.to_csv``), whose import slowed ``popsim run --out``'s
        start-up (benchmarks/README.md). ``command_line`` (as typed) goes into the
        manifest.
        """
        from popsim.outputs.files import write_csv, write_directory
        from popsim.provenance import write_manifest

        def fill(tmp: Path) -> None:
            write_csv(tmp / "summary.csv", self._summary_columns())
            write_csv(tmp / "trajectories.csv", self._trajectory_columns())
            write_csv(tmp / "final.csv", self._final_columns())
            write_manifest(tmp / "manifest.json", self.manifest(command_line))
            if figures:
                from popsim.outputs.figures import result_figures

                result_figures(self, tmp / "figures")

        return write_directory(Path(directory), fill, overwrite=overwrite)


def scenario_to_dict(scenario: Scenario) -> dict:
    """The resolved scenario as plain JSON-able data."""
    return dataclasses.asdict(scenario)


def _qname(q: float) -> str:
    return {0.5: "median"}.get(q, f"q{round(q * 1000):03d}")


def _describe(deme: str, name: str, column: np.ndarray) -> dict:
    """Mean and quantiles across the replicates where ``column`` is defined (finite)."""
    finite = column[np.isfinite(column)]
    row = {"deme": deme, "statistic": name}
    if finite.size == 0:
        row.update(mean=np.nan, q025=np.nan, median=np.nan, q975=np.nan)
        return row
    lo, med, hi = np.quantile(finite, [0.025, 0.5, 0.975])
    row.update(mean=float(finite.mean()), q025=lo, median=med, q975=hi)
    return row


def _interval_row(deme: str, name: str, estimate: float, low: float, high: float) -> dict:
    """A point estimate with its 95% interval (no median)."""
    return {
        "deme": deme,
        "statistic": name,
        "mean": float(estimate),
        "q025": float(low),
        "median": np.nan,
        "q975": float(high),
    }


def _pooled(part: np.ndarray, total: np.ndarray) -> float:
    """Σ part / Σ total over replicates (NaN terms count 0); NaN where Σ total is 0."""
    denominator = np.nansum(total)
    return float(np.nansum(part) / denominator) if denominator > 0 else float("nan")


def _pooled_shares(
    stats: dict[str, np.ndarray],
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each pooled share of ``stats`` (each [R, D]) with its bootstrap 95% interval:
    name → (share, q025, q975), each [D].

    The share is Σ part / Σ total over the replicates (NaN terms count 0; NaN where
    the total is 0). Its interval is the 2.5% and 97.5% quantiles of the same ratio
    over :data:`BOOTSTRAP_RESAMPLES` resamples of the replicates with replacement
    (one set of resamples, from :data:`BOOTSTRAP_SEED`, for every share and deme):
    how far the pooled share could move with other simulated histories. Each
    resample is a vector of replicate counts, so its sums are one matrix product.
    """
    pooled = [s for s in REGISTRY if s.pooled is not None and s.name in stats]
    if not pooled:
        return {}
    names = list(dict.fromkeys(n for s in pooled for n in s.pooled))
    n_rep, n_demes = stats[names[0]].shape
    shares = {
        s.name: np.array(
            [_pooled(stats[s.pooled[0]][:, d], stats[s.pooled[1]][:, d]) for d in range(n_demes)]
        )
        for s in pooled
    }
    if n_rep == 0:
        return {name: (share, share, share) for name, share in shares.items()}
    values = np.nan_to_num(np.stack([stats[n] for n in names], axis=-1)).reshape(n_rep, -1)
    sums = np.empty((BOOTSTRAP_RESAMPLES, values.shape[1]))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    block = max(1, BOOTSTRAP_BLOCK // n_rep)
    for start in range(0, BOOTSTRAP_RESAMPLES, block):
        size = min(block, BOOTSTRAP_RESAMPLES - start)
        draws = rng.integers(0, n_rep, (size, n_rep)) + n_rep * np.arange(size)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n_rep).reshape(size, n_rep)
        sums[start : start + size] = counts.astype(np.float64) @ values
    sums = sums.reshape(BOOTSTRAP_RESAMPLES, n_demes, len(names))
    out = {}
    for s in pooled:
        part, total = (sums[..., names.index(n)] for n in s.pooled)
        interval = np.full((2, n_demes), np.nan)
        for d in range(n_demes):
            defined = total[:, d] > 0
            if defined.any():
                resampled = part[defined, d] / total[defined, d]
                interval[:, d] = np.quantile(resampled, [0.025, 0.975])
        out[s.name] = (shares[s.name], *interval)
    return out


def reached(values: np.ndarray, observed: float) -> np.ndarray:
    """float64, like ``values``: 1 where a history's value is ≥ ``observed``, 0 where it
    is below, NaN where the value is undefined (a patient share in a history without
    patients), so that ``p_reach_observed_…`` is a probability over the histories
    where the statistic exists, not a count of undefined histories as misses."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), np.nan, (values >= observed) * 1.0)


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
