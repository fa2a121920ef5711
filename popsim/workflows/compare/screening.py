"""The report's "Screening and counselling" section: couples' risks and carrier tests.

One table per population column of the comparison (every replicate, or the
histories the data favour: likelihood-weighted or "matching"), rows from
:func:`popsim.analysis.risk.risk_rows`, words from :mod:`popsim.outputs.risk`.
docs/risk.md gives the formulas and their sources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from popsim.analysis.risk import result_histories, risk_rows
from popsim.outputs.risk import risk_cells

if TYPE_CHECKING:
    from popsim.workflows.compare import Comparison

TITLE = "Screening and counselling"
NOTE = (
    "What each population's simulated allele frequencies mean for couples and for carrier "
    "screening. Risks are per child; carrier × carrier couples are the share of couples in "
    "which both partners carry a pathogenic allele (partners drawn at random within the "
    "population). A child is affected when it inherits two pathogenic alleles, of any kind; "
    "first cousins share 1/16 of their genes by descent (kinship), second cousins 1/64, and "
    "an unrelated couple's risk is q², without the population's average inbreeding "
    "(which comes from its consanguineous marriages, counted in the cousin rows). A "
    "founder-allele test finds a carrier couple only when both partners carry a founder "
    "allele; full-gene testing finds every pathogenic allele of the model. The residual "
    "risks are an unrelated couple's after a negative founder-allele test; both are left "
    "out (—) where no founder allele enters the population. Each number is "
    "the mean over the simulated histories, the median across histories and the range "
    "that holds 95% of histories: how much possible histories differ, not the uncertainty "
    "of the mean. Formulas and sources: docs/risk.md."
)


def screening_blocks(comparison: Comparison) -> list[tuple]:
    """The section as report blocks: a heading, the note, then per population column
    a sub-heading and its table (weighted columns use their likelihood weights)."""
    blocks: list[tuple] = [("h2", TITLE), ("p", NOTE)]
    for population, result, d in comparison.columns():
        blocks.append(("h3", population.label))
        if population.replicates == 0 or population.n_eff == 0:
            blocks.append(("p", "No simulated history agrees with the published values."))
            continue
        weights = comparison.weights(population.scenario_id) if population.weighted else None
        founder_demes = [d] if population.founders else []
        rows = risk_rows(
            result.deme_names, result_histories(result), weights, [d], founder_demes
        )
        blocks.append(("table", risk_cells(rows)))
    return blocks
