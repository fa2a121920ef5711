"""``popsim validate``: the engines against what population genetics knows exactly.

A catalogue of checks (:mod:`popsim.validation.catalogue`), each comparing an
engine's output with an exact or analytical prediction from
:mod:`popsim.theory` or :mod:`popsim.genetics`, decided by a stated test
(:mod:`popsim.validation.stats`) with a family-wise error rate controlled by
Bonferroni (:mod:`popsim.validation.core`), and written up as report.md,
checks.csv and figures (:mod:`popsim.validation.report`). See
docs/validation.md.
"""

from popsim.config import ENGINES
from popsim.validation.catalogue import CATALOGUE, select
from popsim.validation.core import FAMILY_ALPHA, Check, Report, Row, Settings, run_checks

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
