"""Marker panels, phased marker haplotypes, and shared lengths read from haplotypes.

A panel is biallelic markers (alleles 0/1) at genetic positions around the
locus (cM, negative to the left) with population frequencies of allele 1,
in linkage equilibrium. :func:`haplotypes` gives each carrier the ancestral
haplotype's alleles inside its segment; beyond a crossover the carrier holds a
chromosome from the population, drawn from the frequencies once per branch
(the branch of the genealogy, lowest on the carrier's path, whose crossover
lies between the locus and the marker): carriers below a branch share its
recombinant stretch, and a recombined stretch matches the ancestral allele
by chance, as in real data.

:func:`shared_lengths` reads the lengths back as from real data: walking
outward from the locus, the consensus allele at each marker is the majority
among carriers still sharing; a carrier that differs from it ends halfway
between its last matching marker and this one (the locus counts as matching);
when at most one carrier is left the consensus ends, and that carrier ends
where the last one left (see the longest-end correction of :mod:`.gamma`);
carriers sharing up to the panel's last marker end there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from popsim.analysis.age.genealogy import Segments
from popsim.errors import ConfigError

#: Default panel: markers every DEFAULT_SPACING_CM over ±DEFAULT_SPAN_CM around the locus,
#: minor-allele frequencies log-uniform on [MIN_MAF, 0.5] (the neutral 1/x spectrum of an
#: array that keeps common markers).
DEFAULT_SPACING_CM = 0.02
DEFAULT_SPAN_CM = 40.0
MIN_MAF = 0.05


@dataclass(frozen=True)
class MarkerPanel:
    """Biallelic markers: ``positions_cm`` (strictly increasing, cM from the locus,
    none at 0) and ``frequencies`` of allele 1."""

    positions_cm: np.ndarray
    frequencies: np.ndarray

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions_cm, float)
        if positions.ndim != 1 or positions.size == 0 or positions.shape != np.shape(
            self.frequencies
        ):
            raise ConfigError("markers", positions.size, "one frequency per position")
        if not np.all(np.diff(positions) > 0) or np.any(positions == 0):
            raise ConfigError("markers.positions_cm", positions.tolist()[:5],
                              "must be strictly increasing, none at the locus (0)")
        if not np.all((np.asarray(self.frequencies) > 0) & (np.asarray(self.frequencies) < 1)):
            raise ConfigError("markers.frequencies", self.frequencies, "must be in (0, 1)")

    @classmethod
    def neutral(cls, rng: np.random.Generator, span_cm: float = DEFAULT_SPAN_CM,
                spacing_cm: float = DEFAULT_SPACING_CM) -> MarkerPanel:
        """The default panel (module constants), its frequencies drawn with ``rng``."""
        right = np.arange(1, int(span_cm / spacing_cm) + 1) * spacing_cm
        positions = np.concatenate([-right[::-1], right])
        maf = MIN_MAF * (0.5 / MIN_MAF) ** rng.random(positions.size)
        frequencies = np.where(rng.random(positions.size) < 0.5, maf, 1 - maf)
        return cls(positions, frequencies)

    @property
    def spacing_cm(self) -> float:
        """Mean distance between neighbouring markers (cM)."""
        return float(np.diff(self.positions_cm).mean()) if self.positions_cm.size > 1 else 0.0

    @property
    def median_maf(self) -> float:
        return float(np.median(np.minimum(self.frequencies, 1 - self.frequencies)))


def haplotypes(segments: Segments, panel: MarkerPanel,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(carriers' haplotypes int8 [n, markers], the ancestral haplotype int8 [markers])
    on ``panel`` (module docstring)."""
    genealogy = segments.genealogy
    n_nodes = len(genealogy.parent)
    ancestral = (rng.random(panel.positions_cm.size) < panel.frequencies).astype(np.int8)
    result = np.empty((genealogy.carriers, ancestral.size), dtype=np.int8)
    for side, crossovers in ((-1, segments.left_crossovers), (1, segments.right_crossovers)):
        columns = np.nonzero(np.sign(panel.positions_cm) == side)[0]
        distance = np.abs(panel.positions_cm[columns])
        background = (rng.random((n_nodes, columns.size)) < panel.frequencies[columns]).astype(
            np.int8
        )
        for carrier in range(genealogy.carriers):
            path = np.asarray(genealogy.ancestors(carrier))
            nearest = np.minimum.accumulate(crossovers[path])
            # first branch on the path whose crossover lies before each marker
            first = np.searchsorted(-nearest, -distance, side="right")
            alleles = ancestral[columns].copy()
            recombined = first < path.size
            alleles[recombined] = background[path[first[recombined]], np.nonzero(recombined)[0]]
            result[carrier, columns] = alleles
    return result, ancestral


def shared_lengths(haplotypes: np.ndarray, positions_cm: np.ndarray) -> tuple[
        np.ndarray, np.ndarray]:
    """(left, right) shared lengths (cM) of each carrier against the consensus
    (module docstring), from ``haplotypes`` [n, markers] at ``positions_cm``."""
    haplotypes = np.asarray(haplotypes)
    positions = np.asarray(positions_cm, float)
    left_columns = np.nonzero(positions < 0)[0][::-1]
    right_columns = np.nonzero(positions > 0)[0]
    return (
        _side_lengths(haplotypes[:, left_columns], -positions[left_columns]),
        _side_lengths(haplotypes[:, right_columns], positions[right_columns]),
    )


def _side_lengths(alleles: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Shared lengths on one side; ``alleles`` [n, markers] and ``distance`` ordered
    outward from the locus."""
    n = alleles.shape[0]
    lengths = np.full(n, distance[-1] if distance.size else 0.0)
    sharing = np.ones(n, dtype=bool)
    previous = 0.0
    for m in range(distance.size):
        values = alleles[sharing, m]
        ones = int(values.sum())
        zeros = values.size - ones
        consensus = 1 if ones > zeros or (ones == zeros and alleles[:, m].mean() >= 0.5) else 0
        leaving = sharing & (alleles[:, m] != consensus)
        end = (previous + distance[m]) / 2
        lengths[leaving] = end
        sharing &= ~leaving
        if sharing.sum() <= 1:
            lengths[sharing] = end
            break
        previous = distance[m]
    return lengths
