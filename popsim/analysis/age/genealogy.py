"""Carrier genealogies traced back through a replicate's founder-allele copy numbers.

Model (exact for the frequency engine's discrete Wright–Fisher, given the
copy numbers). Generation g's founder-allele copies in deme i are drawn from
deme i's gamete pool of the step that makes g; the pool's founder-allele
frequency is Σ_j M_g[i, j]·c_j(g−1)/2N_j(g−1) (backward migration M_g, row i
the destination), then selection multiplies every pathogenic frequency of the
pool by one factor, and inbreeding F enters only through selection's genotype
frequencies (the engine draws gene copies, not individuals). Hence, given
the copy numbers, each lineage in deme i at generation g picks its parent's
deme j with probability ∝ M_g[i, j]·c_j(g−1)/2N_j(g−1) and its parent copy
uniformly among the c_j(g−1) copies there, independently of the other
lineages; lineages that pick the same copy coalesce. Selection and F shape
the genealogy only through the copy numbers they produced. A lineage that
reaches a copy introduced at generation g (``locus.founder_alleles``: the
introduced copies replace normal copies after drift) stops there: those
copies carry the allele's ancestral haplotype intact.

Time is counted in generations (meioses) before the present, the last
generation T. Crossovers: on each side of the locus, a branch of length ℓ
generations carries crossovers as a Poisson process of rate ℓ per Morgan
(Haldane, rate 1 per Morgan per meiosis); only the one nearest the locus
matters, an exponential of rate ℓ. Carriers below a branch share its
crossovers (the correlated genealogy); a carrier's segment on one side is
the smallest nearest-crossover distance over the branches from it to its
root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popsim.engines.layout import founder_columns, record_column
from popsim.errors import ConfigError, PopsimError


@dataclass(frozen=True)
class History:
    """One replicate's founder-allele history, generation by generation.

    Attributes:
        copies: int64 [T+1, D], the allele's gene copies in each deme at generations 0…T.
        sizes: int64 [T+1, D], diploid individuals (0 where a deme is absent).
        migration: float64 [T+1, D, D], backward migration of the step that makes
            generation g (row = destination deme; row g = 0 unused).
        introduced: int64 [T+1, D], copies of the allele introduced at generation g.
    """

    copies: np.ndarray
    sizes: np.ndarray
    migration: np.ndarray
    introduced: np.ndarray

    @property
    def generations(self) -> int:
        """T, the last generation (the present)."""
        return self.copies.shape[0] - 1

    @classmethod
    def constant(cls, copies: int, size: int, generations: int) -> History:
        """One deme of ``size`` diploids in which the allele has had exactly ``copies``
        copies since its introduction at generation 0 (the exact discrete coalescent
        of ``copies`` lineages: two lineages coalesce each generation with
        probability 1/``copies``)."""
        if not 1 <= copies <= 2 * size:
            raise ConfigError("copies", copies, f"must be in [1, 2·size = {2 * size}]")
        shape = (generations + 1, 1)
        introduced = np.zeros(shape, dtype=np.int64)
        introduced[0, 0] = copies
        return cls(
            copies=np.full(shape, copies, dtype=np.int64),
            sizes=np.full(shape, size, dtype=np.int64),
            migration=np.ones((generations + 1, 1, 1)),
            introduced=introduced,
        )


def history_of(result, replicate: int, founder: int = 0) -> History:
    """The :class:`History` of founder allele index ``founder`` in ``replicate`` of a
    frequency-engine ``result`` (a :class:`~popsim.analysis.results.Result`).

    Raises PopsimError unless every generation 0…T was recorded
    (``scenario.record_every = 1``) and no founder copy was introduced in the burn-in.
    """
    plan = result.plan
    if result.engine != "frequency":
        raise PopsimError("carrier genealogies need the frequency engine's records")
    generations = plan.generations
    if not np.array_equal(plan.record_generations, np.arange(generations + 1)):
        raise PopsimError(
            "carrier genealogies need every generation recorded: set scenario.record_every = 1"
        )
    record = result.records[replicate]
    steps = np.arange(generations + 1) + plan.burn_in
    introduced = np.zeros((generations + 1, len(plan.deme_names)), dtype=np.int64)
    for step, deme, allele, copies in zip(
        plan.intro_step, plan.intro_deme, plan.intro_allele, plan.intro_copies, strict=True
    ):
        if allele != founder + 1:
            continue
        if step < plan.burn_in:
            raise PopsimError("carrier genealogies need the founder allele introduced at "
                              "generation 0 or later, not in the burn-in")
        introduced[step - plan.burn_in, deme] += copies
    return History(
        copies=founder_columns(record)[:, :, founder].astype(np.int64),
        sizes=record_column(record, "size").astype(np.int64),
        migration=plan.migration[plan.migration_index[steps]],
        introduced=introduced,
    )


@dataclass(frozen=True)
class Genealogy:
    """The genealogy of n carrier copies sampled at the present.

    Nodes 0…n−1 are the carriers (time 0); every other node is a coalescence or
    an introduced copy. ``parent[v]`` is the node above v (−1 at a root: an
    introduced copy, which carries the ancestral haplotype); ``time[v]`` is v's
    time in generations before the present. A branch v → parent[v] spans
    ``time[parent[v]] − time[v]`` meioses. Nodes are numbered in the order they
    were made going back in time, so a parent's number is larger than its child's.
    """

    parent: np.ndarray
    time: np.ndarray
    carriers: int

    @property
    def roots(self) -> np.ndarray:
        """Nodes without a parent: the introduced copies the carriers descend from."""
        return np.nonzero(self.parent < 0)[0]

    @property
    def branch_lengths(self) -> np.ndarray:
        """int64 [nodes]: meioses on the branch above each node (0 at a root)."""
        above = np.where(self.parent >= 0, self.time[np.maximum(self.parent, 0)], self.time)
        return above - self.time

    def ancestors(self, node: int) -> list[int]:
        """``node`` and the nodes above it up to its root, in that order."""
        path = [node]
        while self.parent[path[-1]] >= 0:
            path.append(int(self.parent[path[-1]]))
        return path

    def pairwise_coalescence(self, a: int, b: int) -> float:
        """Generations back to the common ancestor of carriers ``a`` and ``b``; inf when
        they descend from different introduced copies."""
        above_a = set(self.ancestors(a))
        for node in self.ancestors(b):
            if node in above_a:
                return float(self.time[node])
        return float("inf")

    def coalescence_times(self) -> np.ndarray:
        """Times (generations) of the coalescences, oldest last, one per merger of
        lineages (a merger of k lineages at once counts k − 1 times)."""
        children = np.bincount(self.parent[self.parent >= 0], minlength=len(self.parent))
        merged = np.repeat(self.time, np.maximum(children - 1, 0))
        return np.sort(merged).astype(float)

    @property
    def tmrca(self) -> float:
        """Generations back to the carriers' common ancestor; inf when they descend
        from more than one introduced copy."""
        return float(self.time[self.roots[0]]) if len(self.roots) == 1 else float("inf")

    @property
    def age(self) -> int:
        """Generations since the oldest introduction the carriers descend from."""
        return int(self.time[self.roots].max())


def trace_genealogy(
    history: History, carriers: int, rng: np.random.Generator, deme: int = 0
) -> Genealogy:
    """Sample ``carriers`` distinct copies of the allele in deme index ``deme`` at the
    present and trace their lineages back (module docstring) until each reaches an
    introduced copy.

    Raises PopsimError when the deme has fewer copies than ``carriers`` at the
    present, or when a lineage finds no parent (copy numbers that the model
    cannot produce).
    """
    generations = history.generations
    present = int(history.copies[generations, deme])
    if carriers < 1 or carriers > present:
        raise PopsimError(
            f"cannot sample {carriers} carrier copies: the deme has {present} at the present"
        )
    parent: list[int] = [-1] * carriers
    time: list[int] = [0] * carriers
    nodes = np.arange(carriers)
    demes = np.full(carriers, deme)
    index = rng.choice(present, size=carriers, replace=False)
    g = generations
    while True:
        # lineages that are introduced copies stop here, at roots
        stopped = index < history.introduced[g, demes]
        for k in np.nonzero(stopped)[0]:
            node = int(nodes[k])
            if time[node] != generations - g:  # a single lineage: a root above it
                parent[node] = len(parent)
                parent.append(-1)
                time.append(generations - g)
        nodes, demes, index = nodes[~stopped], demes[~stopped], index[~stopped]
        if nodes.size == 0:
            break
        if g == 0:
            raise PopsimError("a carrier lineage reached generation 0 without an introduction")
        if nodes.size == 1 and history.copies.shape[1] == 1:
            # one lineage in one deme: it is a uniform copy of each earlier generation, so
            # only the generations with introductions need a draw
            g, index = _last_introduction(history, g, rng)
            continue
        source, index = _parents(history, g, demes, rng)
        key = source * (int(history.copies[g - 1].max()) + 1) + index
        unique, first, group = np.unique(key, return_index=True, return_inverse=True)
        merged = np.empty(unique.size, dtype=np.int64)
        for u in range(unique.size):
            members = nodes[group == u]
            if members.size == 1:
                merged[u] = members[0]
                continue
            new = len(parent)
            parent.append(-1)
            time.append(generations - g + 1)
            for m in members:
                parent[int(m)] = new
            merged[u] = new
        nodes, demes, index = merged, source[first], index[first]
        g -= 1
    return Genealogy(
        parent=np.asarray(parent, dtype=np.int64),
        time=np.asarray(time, dtype=np.int64),
        carriers=carriers,
    )


def _last_introduction(
    history: History, g: int, rng: np.random.Generator
) -> tuple[int, np.ndarray]:
    """A single lineage in a one-deme history at generation g: the latest earlier
    generation at which it is an introduced copy, and its copy index there (0 if it is
    never one: the caller then finds generation 0 without an introduction)."""
    for earlier in np.nonzero(history.introduced[:g, 0])[0][::-1]:
        if rng.integers(0, history.copies[earlier, 0]) < history.introduced[earlier, 0]:
            return int(earlier), np.zeros(1, dtype=np.int64)
    return 0, np.full(1, np.iinfo(np.int64).max)


def _parents(
    history: History, g: int, demes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Parent deme and parent copy index (in generation g − 1) of lineages in ``demes``
    at generation g."""
    if history.copies.shape[1] == 1:
        source = np.zeros(demes.size, dtype=np.int64)
        return source, rng.integers(0, history.copies[g - 1, 0], size=demes.size)
    previous = history.copies[g - 1].astype(float)
    sizes = history.sizes[g - 1].astype(float)
    frequency = np.divide(previous, 2 * sizes, out=np.zeros_like(previous), where=sizes > 0)
    source = np.empty(demes.size, dtype=np.int64)
    for d in np.unique(demes):
        cumulative = np.cumsum(history.migration[g, d] * frequency)
        if cumulative[-1] <= 0:
            raise PopsimError(
                f"generation {g}, deme {d}: a carrier lineage finds no parent copy in "
                f"generation {g - 1}"
            )
        chosen = demes == d
        draws = rng.random(int(chosen.sum())) * cumulative[-1]
        source[chosen] = np.searchsorted(cumulative, draws, side="right")
    index = rng.integers(0, history.copies[g - 1, source])
    return source, index


@dataclass(frozen=True)
class GeneticMap:
    """Genetic positions (cM) against physical positions (Mb) around the locus.

    ``positions_mb`` and ``cm`` are increasing and give the map at points; between
    them it is linear. A uniform map has ``cm_per_mb`` and no points.
    ``locus_mb`` is the disease locus's physical position.
    """

    locus_mb: float = 0.0
    cm_per_mb: float | None = 1.0
    positions_mb: np.ndarray | None = None
    cm: np.ndarray | None = None

    @classmethod
    def uniform(cls, cm_per_mb: float = 1.0, locus_mb: float = 0.0) -> GeneticMap:
        if not cm_per_mb > 0:
            raise ConfigError("cm_per_mb", cm_per_mb, "must be > 0")
        return cls(locus_mb=locus_mb, cm_per_mb=cm_per_mb)

    @classmethod
    def from_points(cls, positions_mb: np.ndarray, cm: np.ndarray, locus_mb: float) -> GeneticMap:
        """A map through the points (``positions_mb``, ``cm``), both strictly increasing,
        covering ``locus_mb``."""
        positions_mb, cm = np.asarray(positions_mb, float), np.asarray(cm, float)
        if positions_mb.size < 2 or positions_mb.shape != cm.shape:
            raise ConfigError("map", positions_mb.size, "needs at least two points, Mb and cM each")
        for name, values in (("map.position_mb", positions_mb), ("map.cm", cm)):
            if not np.all(np.diff(values) > 0):
                raise ConfigError(name, values.tolist()[:5], "must be strictly increasing")
        if not positions_mb[0] <= locus_mb <= positions_mb[-1]:
            raise ConfigError("locus_mb", locus_mb,
                              f"must lie in the map [{positions_mb[0]}, {positions_mb[-1]}] Mb")
        return cls(locus_mb=locus_mb, cm_per_mb=None, positions_mb=positions_mb, cm=cm)

    def cm_at(self, mb: np.ndarray) -> np.ndarray:
        """Genetic position (cM, the locus at 0) of physical positions ``mb``; NaN off the map."""
        mb = np.asarray(mb, float)
        if self.positions_mb is None:
            return (mb - self.locus_mb) * self.cm_per_mb
        inside = (mb >= self.positions_mb[0]) & (mb <= self.positions_mb[-1])
        locus = np.interp(self.locus_mb, self.positions_mb, self.cm)
        return np.where(inside, np.interp(mb, self.positions_mb, self.cm) - locus, np.nan)

    def mb_at(self, cm: np.ndarray) -> np.ndarray:
        """Physical position (Mb) of genetic positions ``cm`` (the locus at 0); NaN off
        the map."""
        cm = np.asarray(cm, float)
        if self.positions_mb is None:
            return self.locus_mb + cm / self.cm_per_mb
        absolute = cm + np.interp(self.locus_mb, self.positions_mb, self.cm)
        inside = (absolute >= self.cm[0]) & (absolute <= self.cm[-1])
        return np.where(inside, np.interp(absolute, self.cm, self.positions_mb), np.nan)


@dataclass(frozen=True)
class Segments:
    """Per carrier, the segment still identical to the ancestral haplotype.

    ``left_cm``, ``right_cm``: float64 [n], genetic lengths from the locus to the
    nearest crossover on each side (cM); ``left_mb``, ``right_mb``: the same in Mb
    through the map (NaN where the segment leaves a supplied map).
    ``left_crossovers``/``right_crossovers`` [nodes]: the branch crossovers drawn
    (cM from the locus; inf on a branch of length 0), from which :mod:`.markers`
    builds haplotypes; ``genealogy``: the tree they were drawn on.
    """

    left_cm: np.ndarray
    right_cm: np.ndarray
    left_mb: np.ndarray
    right_mb: np.ndarray
    left_crossovers: np.ndarray
    right_crossovers: np.ndarray
    genealogy: Genealogy

    @property
    def total_cm(self) -> np.ndarray:
        return self.left_cm + self.right_cm


def shared_segments(
    genealogy: Genealogy, rng: np.random.Generator, genetic_map: GeneticMap | None = None
) -> Segments:
    """Draw the crossovers of every branch of ``genealogy`` and each carrier's segment
    on each side (module docstring); lengths in cM and, through ``genetic_map``
    (default uniform 1 cM/Mb), in Mb."""
    genetic_map = genetic_map or GeneticMap.uniform()
    lengths = genealogy.branch_lengths.astype(float)
    crossovers = []
    for _side in range(2):
        with np.errstate(divide="ignore"):
            draws = rng.exponential(1.0, size=lengths.size) / lengths * 100.0  # cM
        crossovers.append(np.where(lengths > 0, draws, np.inf))
    left = _nearest_to_root(genealogy, crossovers[0])
    right = _nearest_to_root(genealogy, crossovers[1])
    return Segments(
        left_cm=left,
        right_cm=right,
        left_mb=genetic_map.locus_mb - genetic_map.mb_at(-left),
        right_mb=genetic_map.mb_at(right) - genetic_map.locus_mb,
        left_crossovers=crossovers[0],
        right_crossovers=crossovers[1],
        genealogy=genealogy,
    )


def _nearest_to_root(genealogy: Genealogy, crossovers: np.ndarray) -> np.ndarray:
    """Per carrier, the smallest branch crossover distance on its path to the root."""
    nearest = crossovers.copy()
    for node in range(len(nearest) - 1, -1, -1):  # parents have larger numbers
        up = genealogy.parent[node]
        if up >= 0:
            nearest[node] = min(nearest[node], nearest[up])
    return nearest[: genealogy.carriers]
