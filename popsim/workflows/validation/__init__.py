"""``popsim validate``: the engines against what population genetics knows exactly.

A catalogue of checks (:mod:`popsim.workflows.validation.checklist`), each comparing an
engine's output with an exact or analytical prediction from
:mod:`popsim.analysis.theory` or :mod:`popsim.genetics.genotypes`, decided by a stated test
(:mod:`popsim.workflows.validation.stats`) with a family-wise error rate controlled by
Bonferroni (:mod:`popsim.workflows.validation.core`), and written up as report.md,
checks.csv and figures (:mod:`popsim.workflows.validation.writeup`). See
docs/validation.md.
"""

from popsim.model.config import ENGINES
from popsim.workflows.validation.checklist import CATALOGUE, select
from popsim.workflows.validation.core import FAMILY_ALPHA, Check, Report, Row, Settings, run_checks

__all__ = [
    "CATALOGUE",
    "ENGINES",
    "FAMILY_ALPHA",
    "Check",
    "Report",
    "Row",
    "Settings",
    "run_checks",
    "select",
]
