"""Figures of a fit (PNG, Agg backend): marginal posteriors, pairwise densities,
posterior predictive check. Each file is written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from popsim.genetics.statistics import BY_NAME
from popsim.outputs.figures import save_figure
from popsim.workflows.fit.spec import Fit


def fit_figures(
    fit: Fit, posterior: pd.DataFrame, predictive: pd.DataFrame, directory: Path
) -> list[Path]:
    """Write marginals.png, pairs.png (two or more parameters) and predictive.png."""
    paths = [_save(marginals(fit, posterior), directory / "marginals.png")]
    if len(fit.priors) >= 2:
        paths.append(_save(pairs(fit, posterior), directory / "pairs.png"))
    if len(predictive):
        paths.append(_save(predictive_check(fit, predictive), directory / "predictive.png"))
    return paths


def _save(figure: Figure, path: Path) -> Path:
    figure.set_layout_engine("tight")
    return save_figure(figure, path)


def _bins(fit: Fit, j: int) -> np.ndarray:
    """31 edges over the prior range; for integer keys, edges at half-integers
    (one bin per whole number or group of them, none empty by construction)."""
    prior = fit.priors[j]
    if prior.distribution == "log_uniform":
        edges = np.geomspace(prior.low, prior.high, 31)
    else:
        edges = np.linspace(prior.low, prior.high, 31)
    return np.unique(np.floor(edges) + 0.5) if prior.integer else edges


def marginals(fit: Fit, posterior: pd.DataFrame) -> Figure:
    """Weighted histogram of each parameter over its prior range (prior: dashed)."""
    n = len(fit.priors)
    figure = Figure(figsize=(3.6 * n, 3.0))
    axes = figure.subplots(1, n, squeeze=False)
    for j, prior in enumerate(fit.priors):
        ax = axes[0, j]
        bins = _bins(fit, j)
        ax.hist(posterior[prior.name], bins=bins, weights=posterior["weight"], density=True,
                color="#4393c3", alpha=0.8, label="posterior")
        if prior.distribution == "log_uniform":
            ax.set_xscale("log")
            x = np.geomspace(prior.low, prior.high, 100)
            ax.plot(x, 1.0 / (x * np.log(prior.high / prior.low)), "k--", lw=1, label="prior")
        else:
            ax.axhline(1.0 / (prior.high - prior.low), color="k", ls="--", lw=1, label="prior")
        ax.set_xlabel(prior.name)
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=8)
    figure.suptitle(f"{fit.name}: marginal posteriors", y=1.04)
    return figure


def pairs(fit: Fit, posterior: pd.DataFrame) -> Figure:
    """Weighted 2-D histograms of every pair of parameters."""
    n = len(fit.priors)
    figure = Figure(figsize=(3.0 * (n - 1), 3.0 * (n - 1)))
    axes = figure.subplots(n - 1, n - 1, squeeze=False)
    for row in range(1, n):
        for col in range(n - 1):
            ax = axes[row - 1, col]
            if col >= row:
                ax.axis("off")
                continue
            px, py = fit.priors[col], fit.priors[row]
            ax.hist2d(posterior[px.name], posterior[py.name], bins=(_bins(fit, col),
                      _bins(fit, row)), weights=posterior["weight"], cmap="Blues")
            if px.distribution == "log_uniform":
                ax.set_xscale("log")
            if py.distribution == "log_uniform":
                ax.set_yscale("log")
            ax.set_xlabel(px.name, fontsize=8)
            ax.set_ylabel(py.name, fontsize=8)
    figure.suptitle(f"{fit.name}: pairwise posterior densities", y=1.02)
    return figure


def predictive_check(fit: Fit, predictive: pd.DataFrame) -> Figure:
    """Posterior predictive distribution of each observed statistic, observation ±2σ."""
    n = len(fit.observed)
    figure = Figure(figsize=(3.6 * n, 3.0))
    axes = figure.subplots(1, n, squeeze=False)
    for i, obs in enumerate(fit.observed):
        ax = axes[0, i]
        values = predictive[obs.statistic].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            ax.hist(values, bins=30, color="#92c5de", label="posterior predictive")
        ax.axvline(obs.value, color="#b2182b", lw=2, label="observed")
        if obs.sd is not None:
            ax.axvspan(obs.value - 2 * obs.sd, obs.value + 2 * obs.sd, color="#b2182b",
                       alpha=0.15)
        entry = BY_NAME.get(obs.statistic)
        name = entry.label if entry is not None else obs.statistic.replace("_", " ")
        ax.set_xlabel(f"{name} ({obs.deme})", fontsize=8)
        ax.set_yticks([])
        ax.set_title(f"{values.size} of {len(predictive)} defined", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(f"{fit.name}: posterior predictive check", y=1.06)
    return figure
