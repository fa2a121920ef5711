"""Fitting scenarios to observed data by approximate Bayesian computation.

``popsim fit FIT.toml --out DIR`` (see ``docs/fit.md``)::

    from popsim.fit import load_fit, run_fit
    outcome = run_fit(load_fit("configs/fit_persian_jews.toml"), "out/fit")
    outcome.summary  # per parameter: posterior median and 95% interval

Modules: :mod:`~popsim.fit.spec` (fit files), :mod:`~popsim.fit.priors`,
:mod:`~popsim.fit.observed` (observations, distance),
:mod:`~popsim.fit.simulator` (draws through the sweep executors),
:mod:`~popsim.fit.abc` (rejection, ABC-SMC), :mod:`~popsim.fit.model_choice`,
:mod:`~popsim.fit.figures`, :mod:`~popsim.fit.runner` (all of it together).
"""

from popsim.fit.runner import FitInterrupted, FitOutcome, run_fit
from popsim.fit.spec import Fit, load_fit

__all__ = ["Fit", "FitInterrupted", "FitOutcome", "load_fit", "run_fit"]
