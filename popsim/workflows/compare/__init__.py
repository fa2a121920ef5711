"""Several scenarios side by side: one replicate count, one seed, one table.

Policy. Every scenario of a comparison runs with the same number of
replicates R and the same root seed S (R = ``replicates`` if given, else the
smallest ``scenario.replicates`` among them; S = ``seed`` if given, else the
first scenario's seed), so each scenario's numbers are exactly those of
``popsim run CONFIG --replicates R --seed S``.

Columns. The table has one column per population: every deme of every
scenario that is alive at the final generation, labelled by the deme name
(or ``scenario/deme`` where two scenarios share a deme name). A deme with
published observations (``[[observed]]``) gets a second column. In a
scenario with count observations it holds every replicate weighted by its
likelihood of the counts, w_h = L_h / Σ L (:mod:`popsim.analysis.weighted`),
labelled "weighted by likelihood, n_eff = …" with the effective number of
histories (Σw)²/Σw². In a scenario with value observations only it keeps the
older, cruder rule, "matching": the replicates whose present-day value of
every observed statistic lies within ``tolerance`` (relative, default ±50%)
of the published value — a rejection sample of the histories that agree with
the data.

Numbers. Each cell is the mean over replicates with the 2.5% and 97.5%
quantiles across replicates (the range of what 95% of the simulated
populations show; a skewed distribution may put its mean outside it). A share
of patients has two rows: pooled, Σ patients of a class / Σ patients over
replicates (the share among all simulated patients) with a bootstrap 95%
interval over histories, and across histories, the mean and 2.5%–97.5%
quantiles of the share in each history that has patients. Genotype
frequencies are also given per 100,000 people and shares in percent.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.analysis.evidence import log_likelihoods
from popsim.analysis.results import Result, scenario_to_dict
from popsim.analysis.weighted import effective_histories, likelihood_weights, weighted_summary_rows
from popsim.burnin import BurnIns
from popsim.errors import PopsimError
from popsim.genetics.statistics import REGISTRY, comparison_table, shown_rows
from popsim.model.scenario import Observation, Scenario
from popsim.outputs.tables import summary_table
from popsim.simulate import simulate

if TYPE_CHECKING:
    import pandas as pd

#: Rows of the comparison table: (statistic, label), the statistics from the registry;
#: derived statistics are made by :func:`_derived_rows`.
COMPARE_TABLE = (("replicates", "replicates (simulated populations)"), *comparison_table())
#: Rows that mean nothing in a scenario without founder alleles.
FOUNDER_ROWS = tuple(
    dict.fromkeys(
        n
        for s in REGISTRY
        if s.needs_founder
        for n in (s.summary_name, s.shown_name)
        + ((s.per_history_name, s.per_history_shown_name) if s.pooled else ())
    )
)
DEFAULT_TOLERANCE = 0.5


@dataclass(frozen=True)
class Entry:
    """One scenario to compare: a short unique id (preset id or file stem) and the scenario."""

    id: str
    scenario: Scenario
    source: str = ""


@dataclass(frozen=True)
class Population:
    """One column of the comparison: a deme of a scenario, all replicates, the matching
    ones or all of them weighted by their likelihood.

    ``founders`` are the scenario's founder allele names, ``inbreeding`` the
    deme's F at the final generation as the result has it (:attr:`Result.inbreeding`:
    the config's for the frequency engine, the measured pedigree F averaged over
    the replicates for the pedigree engine), ``observations`` the published values for this deme and
    ``replicates`` the number of replicates behind the column. A column derived
    from the data (``matched``) names the all-replicates column it comes from in
    ``parent``; ``n_eff`` is its effective number of histories when it is
    likelihood-weighted (None for a ±tolerance "matching" column).
    """

    label: str
    scenario_id: str
    scenario_name: str
    deme: str
    founders: tuple[str, ...]
    inbreeding: float
    observations: tuple[Observation, ...]
    replicates: int
    matched: bool = False
    parent: str = ""
    n_eff: float | None = None

    @property
    def weighted(self) -> bool:
        """Whether the column holds likelihood-weighted histories."""
        return self.n_eff is not None


@dataclass(frozen=True, eq=False)
class Comparison:
    """The results of several scenarios run with one replicate count and seed.

    Attributes:
        entries: the scenarios, in the order given.
        results: one :class:`~popsim.analysis.results.Result` per entry.
        replicates, seed: the shared policy (see module docstring).
        tolerance: relative window of the "matching" columns.
        wall_seconds: total simulation time.
    """

    entries: tuple[Entry, ...]
    results: tuple[Result, ...]
    replicates: int
    seed: int
    tolerance: float = DEFAULT_TOLERANCE
    wall_seconds: float = 0.0

    # ------------------------------------------------------------------ columns
    def columns(self) -> list[tuple[Population, Result, int]]:
        """Every population column with the result (all or matching replicates) and deme index."""
        return list(self._columns)

    @cached_property
    def _columns(self) -> tuple[tuple[Population, Result, int], ...]:
        alive = [
            (k, d, deme)
            for k, result in enumerate(self.results)
            for d, deme in enumerate(result.deme_names)
            if result.plan.sizes[-1, d] > 0
        ]
        labels = [self.results[k].deme_labels[d] for k, d, _ in alive]
        out = []
        for k, d, deme in alive:
            entry, result = self.entries[k], self.results[k]
            label = result.deme_labels[d]
            label = label if labels.count(label) == 1 else f"{label} ({entry.id})"
            scenario = entry.scenario
            introduced = any(a.deme == deme for a in scenario.locus.founder_alleles)
            reached = bool(np.nanmax(result.statistics["founder_frequency"][:, :, d]) > 0)
            observations = tuple(o for o in scenario.observations if o.deme == deme)
            base = Population(
                label=label,
                scenario_id=entry.id,
                scenario_name=scenario.name,
                deme=deme,
                founders=scenario.founder_names if introduced or reached else (),
                inbreeding=result.final_inbreeding(d),
                observations=observations,
                replicates=result.replicates,
            )
            out.append((base, result, d))
            weights = self.weights(entry.id)
            if weights is not None and (
                observations or any(o.deme == deme for o in scenario.count_observations)
            ):
                n_eff = effective_histories(weights)
                population = dataclasses.replace(
                    base,
                    label=f"{label} (weighted by likelihood, n_eff = {n_eff:.1f})",
                    matched=True,
                    parent=label,
                    n_eff=n_eff,
                )
                out.append((population, result, d))
            elif observations:
                mask = matching_replicates(result, d, observations, self.tolerance)
                subset = _subset(result, mask)
                population = dataclasses.replace(
                    base,
                    label=f"{label} (matching)",
                    inbreeding=subset.final_inbreeding(d),
                    replicates=int(mask.sum()),
                    matched=True,
                    parent=label,
                )
                out.append((population, subset, d))
        return tuple(out)

    def weights(self, scenario_id: str) -> np.ndarray | None:
        """Likelihood weights [R] of the replicates of the scenario with id ``scenario_id``
        (sum 1, or all 0 when no history can produce the counts); None without count
        observations."""
        return self._weights[scenario_id]

    @cached_property
    def _weights(self) -> dict[str, np.ndarray | None]:
        return {
            entry.id: likelihood_weights(log_likelihoods(result)["total"])
            if result.scenario.count_observations
            else None
            for entry, result in zip(self.entries, self.results, strict=True)
        }

    def populations(self) -> list[Population]:
        """The populations of :meth:`columns`, in table order."""
        return [population for population, _, _ in self.columns()]

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """Long table: population, scenario, deme, matched, statistic, mean, q025, median, q975.

        Holds every statistic of :meth:`Result.summary` plus the derived rows
        (per 100,000, percent) and a ``replicates`` row; founder rows are NaN for
        populations that no founder allele enters. A likelihood-weighted column has
        the weighted statistics and an ``effective_histories`` row (n_eff); where every
        weight is 0 it has only those two rows.
        """
        return self._summary.copy()

    @cached_property
    def _summary(self) -> pd.DataFrame:
        import pandas as pd  # here, not at the top: `popsim --help` stays quick

        frames = []
        for population, result, d in self.columns():
            count = pd.DataFrame({"statistic": ["replicates"], "mean": [population.replicates]})
            if population.weighted:
                n_eff = {"statistic": ["effective_histories"], "mean": [population.n_eff]}
                count = pd.concat([count, pd.DataFrame(n_eff)], ignore_index=True)
            if population.replicates == 0 or population.n_eff == 0:
                rows = count
            else:
                if population.weighted:
                    weights = self.weights(population.scenario_id)
                    rows = pd.DataFrame(weighted_summary_rows(result, d, weights))
                else:
                    rows = result.summary()
                    rows = rows[rows["deme"] == population.deme]
                rows = rows.drop(columns="deme")
                rows = pd.concat([count, rows, _derived_rows(rows)], ignore_index=True)
            if not population.founders:
                rows.loc[
                    rows["statistic"].isin(FOUNDER_ROWS), ["mean", "q025", "median", "q975"]
                ] = np.nan
            rows.insert(0, "population", population.label)
            rows.insert(1, "scenario", population.scenario_id)
            rows.insert(2, "deme", population.deme)
            rows.insert(3, "matched", population.matched)
            frames.append(rows)
        table = pd.concat(frames, ignore_index=True)
        return table[
            [
                "population",
                "scenario",
                "deme",
                "matched",
                "statistic",
                "mean",
                "q025",
                "median",
                "q975",
            ]
        ]

    def table(self, markdown: bool = False) -> str:
        """The side-by-side table (rows = statistics, columns = populations)."""
        rows = self.summary().to_dict("records")
        return summary_table(rows, COMPARE_TABLE, markdown=markdown, columns="population")

    def trajectories(self) -> pd.DataFrame:
        """Mean and quantiles per scenario, deme and recorded generation (all replicates),
        with ``years_before_present``."""
        import pandas as pd

        frames = []
        for entry, result in zip(self.entries, self.results, strict=True):
            frame = result.trajectories()
            frame.insert(0, "scenario", entry.id)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def manifest(self, command_line: str | None = None) -> dict[str, Any]:
        """What is needed to rerun the comparison exactly: the common provenance block
        (:mod:`popsim.provenance`) and a ``compare`` section; ``command_line`` as typed."""
        from popsim.provenance import build_manifest

        section = {
            "replicates": self.replicates,
            "seed": self.seed,
            "tolerance": self.tolerance,
            "wall_seconds": round(self.wall_seconds, 3),
            "policy": "every scenario: the same replicates and root seed; scenario k equals "
            "popsim run CONFIG_k --replicates R --seed S",
            "scenarios": [
                {
                    "id": entry.id,
                    "source": entry.source,
                    "engine": result.engine,
                    "wall_seconds": round(result.wall_seconds, 3),
                    "scenario": scenario_to_dict(entry.scenario),
                }
                for entry, result in zip(self.entries, self.results, strict=True)
            ],
        }
        started = self.results[0].started if self.results else None
        return build_manifest("compare", section, command_line=command_line, started=started)

    def write(
        self,
        directory: str | Path,
        *,
        overwrite: bool = False,
        command: str = "",
        command_line: str | None = None,
    ) -> Path:
        """Write comparison.csv, trajectories.csv, manifest.json, figures/*.png (+ .svg),
        report.md and report.html into ``directory`` (atomically, see
        :func:`popsim.outputs.files.write_directory`). ``command`` is shown in the report
        as the way to reproduce it; ``command_line`` (as typed) goes into the manifest."""
        from popsim.outputs.files import write_directory
        from popsim.provenance import write_manifest
        from popsim.workflows.compare.report import write_figures, write_report

        def fill(tmp: Path) -> None:
            self.summary().to_csv(tmp / "comparison.csv", index=False)
            self.trajectories().to_csv(tmp / "trajectories.csv", index=False)
            write_manifest(tmp / "manifest.json", self.manifest(command_line))
            figures = write_figures(self, tmp / "figures")
            write_report(self, tmp, figures, command=command)

        return write_directory(Path(directory), fill, overwrite=overwrite)


# --------------------------------------------------------------------------- running


def unique_ids(names: Sequence[str]) -> list[str]:
    """``names`` made unique by appending ``-2``, ``-3``… to repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def run_comparison(
    entries: Sequence[Entry],
    replicates: int | None = None,
    seed: int | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
    burn_ins: BurnIns | None = None,
) -> Comparison:
    """Simulate every entry with one replicate count and root seed (see module docstring).

    Entries whose burn-ins agree (the same host, replicates and seed: equal
    :func:`popsim.burnin.burn_in_key`) burn in once: the states come from
    ``burn_ins`` (default: a new :class:`~popsim.burnin.BurnIns`, this call's
    alone, without a disk cache), with the same numbers as burning each in.

    Raises PopsimError for no entries, repeated ids, fewer than 1 replicate or
    a tolerance outside (0, 10].
    """
    if not entries:
        raise PopsimError("compare: give at least one scenario")
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise PopsimError(f"compare: scenario ids must be unique, got {', '.join(ids)}")
    if not 0 < tolerance <= 10:
        raise PopsimError(f"--tolerance = {tolerance}: must be in (0, 10] (relative to observed)")
    replicates = (
        replicates if replicates is not None else min(e.scenario.replicates for e in entries)
    )
    seed = seed if seed is not None else entries[0].scenario.seed
    if replicates < 1:
        raise PopsimError(f"--replicates = {replicates}: must be at least 1")
    started = time.perf_counter()
    burn_ins = BurnIns() if burn_ins is None else burn_ins
    results = tuple(
        simulate(entry.scenario, replicates, seed, chunk=chunk, progress=progress,
                 burn_ins=burn_ins)
        for entry in entries
    )
    return Comparison(
        entries=tuple(entries),
        results=results,
        replicates=replicates,
        seed=seed,
        tolerance=tolerance,
        wall_seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- helpers


def matching_replicates(
    result: Result, deme: int, observations: Sequence[Observation], tolerance: float
) -> np.ndarray:
    """Boolean [R]: replicates whose final value of every observed statistic is within
    ``tolerance`` × the observed value of it (|simulated − observed| ≤ tolerance·observed)."""
    keep = np.ones(result.replicates, dtype=bool)
    for obs in observations:
        simulated = result.final_statistics[obs.statistic][:, deme]
        with np.errstate(invalid="ignore"):
            keep &= np.abs(simulated - obs.value) <= tolerance * obs.value
    return keep


def _subset(result: Result, mask: np.ndarray) -> Result:
    """The same result restricted to the replicates in ``mask``."""
    observed = None if result.observed is None else result.observed[mask]
    return dataclasses.replace(result, records=result.records[mask], observed=observed)


def _derived_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rescaled copies of some statistics (per 100,000 people, percent of patients):
    :func:`popsim.genetics.statistics.shown_rows`."""
    import pandas as pd

    return pd.DataFrame(shown_rows(rows.to_dict("records")))
