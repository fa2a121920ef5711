"""popsim: Wright–Fisher simulation of founder disease alleles (GNE myopathy M712T).

Quick start::

    import popsim
    scenario = popsim.load_scenario("configs/iranian_jewish_m712t.toml")
    result = popsim.simulate(scenario, replicates=1000, seed=1)
    print(result.summary())
"""

from __future__ import annotations

from popsim._version import __version__
from popsim.analysis.results import Result
from popsim.genetics.genotypes import expected_genotypes
from popsim.model.build import load_scenario, scenario_from_dict
from popsim.simulate import simulate

__all__ = [
    "Result",
    "__version__",
    "expected_genotypes",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
]
