"""The frequency engine's state at the end of a burn-in, apart from any scenario's layout.

The burn-in is the part of a plan before generation 0: plan steps 0 … S with
S = :func:`snapshot_step` (B − 1; generation 0 is step B, where founder events
and founder alleles of generation 0 take effect). What happens in it depends
only on the demes alive then (:func:`burn_in_demes`), their sizes, F and the
migration among them, u, s, h, a, the allele capacity and the replicates'
seeds: demes founded later have no copies and draw nothing, and no founder
allele can be scheduled before generation 0 (``locus.founder_alleles``'s
generation is at least 0). Two scenarios whose burn-ins agree in these (a host
with a community founded from it at generation 0, and that host alone) burn in
identically, draw for draw, whatever their other demes and founder alleles.

:class:`BurnInState` holds that state for R replicates in a layout of its own,
not the engine's: counts by burn-in deme (the plan's demes alive in the
burn-in, in plan order), the mutation-born alleles of a replicate in the order
the engine draws them (its slot numbers, which no number depends on, are not
kept), its xoshiro256+ generator and its status. A run started from it
(:func:`popsim.engines.frequency.simulate_frequency` with ``start``) gives
exactly the records of a run that burns in itself. :data:`STATE_LAYOUT_VERSION`
names this layout; the on-disk cache keys on it (:mod:`popsim.burnin`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popsim.engines.layout import OK, STATUS_CODE, STATUS_DEME
from popsim.model.plan import Plan

#: Version of :class:`BurnInState`'s layout and meaning; a change invalidates cached states.
STATE_LAYOUT_VERSION = 1


@dataclass(frozen=True, eq=False)
class BurnInState:
    """The frequency engine's state of R replicates at plan step ``step`` (the burn-in's end).

    Attributes:
        step: S, the plan step the state is at (:func:`snapshot_step`).
        normal: int64 [R, Db], copies of the normal allele in each burn-in deme (gene copies).
        n_alleles: int64 [R], mutation-born alleles alive in each replicate (0 for a
            replicate that stopped).
        alleles: int64 [Σ n_alleles, Db], copies of each mutation-born allele in each
            burn-in deme (gene copies), replicate after replicate, each replicate's
            alleles in the engine's drawing order.
        generators: uint64 [R, 4], each replicate's xoshiro256+ state.
        status: int64 [R, 3], each replicate's status
            (:data:`~popsim.engines.layout.STATUS_COLUMNS`; its deme column an index
            among the burn-in demes).
    """

    step: int
    normal: np.ndarray
    n_alleles: np.ndarray
    alleles: np.ndarray
    generators: np.ndarray
    status: np.ndarray

    @property
    def replicates(self) -> int:
        return int(self.normal.shape[0])

    def offsets(self) -> np.ndarray:
        """int64 [R + 1]: replicate r's alleles are rows offsets[r] … offsets[r + 1] − 1."""
        return np.concatenate([[0], np.cumsum(self.n_alleles)]).astype(np.int64)

    def dense_alleles(self) -> np.ndarray:
        """int64 [R, max n_alleles, Db]: the alleles of each replicate, zero-padded."""
        r, demes = self.normal.shape
        dense = np.zeros((r, int(self.n_alleles.max(initial=0)), demes), dtype=np.int64)
        offsets = self.offsets()
        for k in np.nonzero(self.n_alleles)[0]:
            dense[k, : self.n_alleles[k]] = self.alleles[offsets[k] : offsets[k + 1]]
        return dense

    def with_generators(self, generators: np.ndarray) -> BurnInState:
        """The same state with other generators (uint64 [R, 4])."""
        return BurnInState(self.step, self.normal, self.n_alleles, self.alleles,
                           np.ascontiguousarray(generators, dtype=np.uint64), self.status)

    def stopped(self) -> np.ndarray:
        """Boolean [R]: replicates that stopped during the burn-in."""
        return self.status[:, STATUS_CODE] != OK

    def plan_status(self, plan: Plan) -> np.ndarray:
        """int64 [R, 3]: the status with its deme column as ``plan``'s deme index."""
        status = self.status.copy()
        demes = burn_in_demes(plan)
        stopped = self.stopped()
        status[stopped, STATUS_DEME] = demes[status[stopped, STATUS_DEME]]
        return status


def snapshot_step(plan: Plan) -> int:
    """S = B − 1, the last step before generation 0, where a burn-in state is taken."""
    return plan.burn_in - 1


def has_burn_in(plan: Plan) -> bool:
    """Whether ``plan`` has a burn-in whose state can be taken and shared: B ≥ 1 and
    no founder allele introduced before generation 0."""
    return plan.burn_in >= 1 and not bool(np.any(plan.intro_step <= snapshot_step(plan)))


def burn_in_demes(plan: Plan) -> np.ndarray:
    """int64 [Db]: the plan's demes with individuals at some step of the burn-in
    (steps 0 … S), in plan order."""
    alive = plan.sizes[: snapshot_step(plan) + 1].max(axis=0, initial=0) > 0
    return np.nonzero(alive)[0].astype(np.int64)


def burn_in_description(plan: Plan) -> dict[str, np.ndarray | float | int]:
    """Everything in ``plan`` that decides its burn-in (besides the seeds), named,
    in a form that no other deme or founder allele changes: the steps, the burn-in
    demes' sizes and F [S + 1, Db], the migration among them of steps 1 … S
    (the distinct matrices [m, Db, Db] in order of first use and each step's index
    among them), u, (s, h, a) and the allele capacity."""
    step = snapshot_step(plan)
    demes = burn_in_demes(plan)
    used = plan.migration_index[1 : step + 1]
    order = list(dict.fromkeys(int(i) for i in used))
    matrices = plan.migration[order][:, demes][:, :, demes] if order else np.zeros((0,))
    index = np.array([order.index(int(i)) for i in used], dtype=np.int64)
    return {
        "step": step,
        "sizes": np.ascontiguousarray(plan.sizes[: step + 1, demes]),
        "inbreeding": np.ascontiguousarray(plan.inbreeding[: step + 1, demes]),
        "migration": np.ascontiguousarray(matrices),
        "migration_index": index,
        "mutation_rate": float(plan.mutation_rate),
        "selection": np.ascontiguousarray(plan.selection, dtype=np.float64),
        "max_alleles": int(plan.max_alleles),
    }
