"""Perturbation from identity (Hauser 2019, "On residual networks learning a perturbation from
identity", arXiv 1902.04106): magnitude against depth.

Each residual block is x -> x + F(x). Only the abstract is at hand, so the magnitudes are
taken as ``|F(x)|_2`` (absolute) and ``|F(x)|_2 / |x|_2`` (scaled), averaged over samples and
blocks.
The paper finds the average scaled magnitude roughly inversely proportional to the number of
blocks: a log-log slope near -1. :func:`compute_perturbation_slope` fits that slope by least
squares on log(scaled magnitude) against log(depth) (:func:`nets.depth.loglog_slope`);
:func:`plot_perturbation_slope` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import ShortRepr, frozen_copy

__all__ = ["PerturbationSweepResult", "compute_perturbation_slope", "plot_perturbation_slope"]


@dataclass(frozen=True, repr=False)
class PerturbationSweepResult(ShortRepr):
    """Result of :func:`compute_perturbation_slope`; ``slope`` is d log(scaled) / d log(depth)."""

    depths: np.ndarray
    scaled: np.ndarray
    absolute: np.ndarray | None
    slope: float
    intercept: float
    r2: float


def compute_perturbation_slope(depths, scaled, absolute=None):
    """Fit the log-log slope of the scaled perturbation magnitude against depth.

    Parameters
    ----------
    depths : array_like of int, shape (K,), K >= 2
    scaled : array_like, shape (K,)
        Average ``|F(x)| / |x|`` at each depth (positive).
    absolute : array_like, shape (K,), optional
        Average ``|F(x)|`` at each depth (plotted only).

    Returns
    -------
    PerturbationSweepResult
    """
    from nets.depth import loglog_slope

    d = np.asarray(depths, dtype=float)
    s = np.asarray(scaled, dtype=float)
    if d.ndim != 1 or d.shape != s.shape or d.size < 2:
        raise ValueError("`depths` and `scaled` must be 1-D of the same length >= 2; got "
                         f"shapes {d.shape} and {s.shape}.")
    slope, intercept = loglog_slope(d, s)
    lx, ly = np.log(d), np.log(s)
    pred = intercept + slope * lx
    ss = np.sum((ly - ly.mean()) ** 2)
    r2 = float(1 - np.sum((ly - pred) ** 2) / ss) if ss > 0 else 1.0
    absolute = None if absolute is None else frozen_copy(np.asarray(absolute, float))
    return PerturbationSweepResult(depths=frozen_copy(d), scaled=frozen_copy(s), absolute=absolute,
                                   slope=float(slope), intercept=float(intercept), r2=r2)


def plot_perturbation_slope(result: PerturbationSweepResult):
    """The magnitude-against-depth figure from a :class:`PerturbationSweepResult`."""
    from ._style import new_figure

    d, s, absolute = result.depths, result.scaled, result.absolute
    slope, intercept, r2 = result.slope, result.intercept, result.r2
    fig = new_figure(6.4, 4.4)
    ax = fig.subplots()
    ax.loglog(d, s, "o", color="#1b9e77", label="scaled |F(x)| / |x| (mean over samples, blocks)")
    dd = np.geomspace(d.min(), d.max(), 50)
    ax.loglog(dd, np.exp(intercept) * dd ** slope, "-", color="#1b9e77",
              label=f"fit: slope {slope:.2f} (R^2 {r2:.2f})")
    ax.loglog(dd, s[0] * (dd / d[0]) ** -1.0, ":", color="0.5", label="slope -1 (the paper)")
    if absolute is not None:
        ax.loglog(d, absolute, "s--", color="#d95f02", label="absolute |F(x)|")
    ax.set_xlabel("number of residual blocks (depth)")
    ax.set_ylabel("average perturbation magnitude")
    ax.set_title("Perturbation from identity against depth (Hauser 2019)")
    ax.legend(fontsize="small")
    return fig
