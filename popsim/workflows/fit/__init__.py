"""Fitting scenarios to observed data: likelihood-weighted importance sampling on count
observations, or approximate Bayesian computation on observed statistics.

``popsim fit FIT.toml --out DIR`` (see ``docs/fit.md``)::

    from popsim.workflows.fit import load_fit, run_fit
    outcome = run_fit(load_fit("configs/fit_persian_jews.toml"), "out/fit")
    outcome.summary  # per parameter: posterior median and 95% interval

Modules: :mod:`~popsim.workflows.fit.spec` (fit files), :mod:`~popsim.workflows.fit.priors`,
:mod:`~popsim.workflows.fit.observed` (observations, distance),
:mod:`~popsim.workflows.fit.simulator` (draws through the sweep executors),
:mod:`~popsim.workflows.fit.abc` (rejection, ABC-SMC), :mod:`~popsim.workflows.fit.likelihood`
(pseudo-marginal importance sampling), :mod:`~popsim.workflows.fit.diagnostics` (flags),
:mod:`~popsim.workflows.fit.model_choice`,
:mod:`~popsim.workflows.fit.figures`, :mod:`~popsim.workflows.fit.runner` (all of it together).
"""

from popsim.workflows.fit.runner import FitInterrupted, FitOutcome, run_fit
from popsim.workflows.fit.spec import Fit, load_fit

__all__ = ["Fit", "FitInterrupted", "FitOutcome", "load_fit", "run_fit"]
