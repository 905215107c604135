"""Sect. 7 of Lagzi (2018) and Sect. 3 of the NIPS 2018 submission "Compact representations and
pruning in residual networks": the adaptive-depth rule.

The rule (applied by :mod:`nets` during training): after each epoch compare the residuals of
the last two layers on training data; when the mean over neurons of |r1 - r2| is below a
threshold (0.01), remove the last layer. This module summarises such runs: the depth after
each epoch, the final depth, and the test error against the same architecture trained at full
depth. The paper: per-layer weights shrink to 3 layers at 1.7 % error (15 layers: similar);
shared weights shrink to 5 layers with no change in accuracy.
:func:`compute_adaptive_depth` collects the runs, :func:`plot_adaptive_depth` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import ShortRepr

__all__ = ["DepthRun", "AdaptiveDepthResult", "compute_adaptive_depth", "plot_adaptive_depth"]


@dataclass(frozen=True, repr=False)
class DepthRun(ShortRepr):
    """One adaptive-depth training run and its full-depth reference.

    Attributes
    ----------
    name : str
        ``"resnet_shared"`` or ``"resnet_variable"`` (colour key).
    depth_per_epoch : tuple of int
        Depth after each epoch.
    test_error : float
        Test error (fraction) of the pruned network.
    reference_error : float
        Test error of the same architecture trained at full depth.
    reference_depth : int
        The full depth (the paper: 15).
    """

    name: str
    depth_per_epoch: tuple
    test_error: float
    reference_error: float
    reference_depth: int

    @property
    def final_depth(self) -> int:
        """Depth at the end of training."""
        return int(self.depth_per_epoch[-1])

    @property
    def error_change(self) -> float:
        """Pruned minus full-depth test error (fraction; positive = worse)."""
        return float(self.test_error - self.reference_error)


@dataclass(frozen=True, repr=False)
class AdaptiveDepthResult(ShortRepr):
    """Result of :func:`compute_adaptive_depth`: the :class:`DepthRun` of each network."""

    runs: dict


def compute_adaptive_depth(runs):
    """Depth against epoch and the error of pruned against full-depth nets (Sect. 7).

    Parameters
    ----------
    runs : iterable of DepthRun

    Returns
    -------
    AdaptiveDepthResult
    """
    runs = {r.name: r for r in runs}
    if not runs:
        raise ValueError("`runs` must hold at least one DepthRun.")
    return AdaptiveDepthResult(runs=runs)


def plot_adaptive_depth(result: AdaptiveDepthResult):
    """Sect. 7's figure from an :class:`AdaptiveDepthResult`: depth per epoch, errors."""
    from ._style import NET_COLORS, new_figure

    runs = result.runs
    fig = new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    for name, r in runs.items():
        col = NET_COLORS.get(name)
        ep = np.arange(1, len(r.depth_per_epoch) + 1)
        ax1.step(ep, r.depth_per_epoch, where="post", color=col, lw=2,
                 label=f"{name}: {r.reference_depth} -> {r.final_depth} layers")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("depth (layers)")
    ax1.set_title("A: depth during training (last layer removed when |r1 - r2| < 0.01)")
    ax1.legend(fontsize="small")
    names = list(runs)
    x = np.arange(len(names))
    ax2.bar(x - 0.2, [100 * runs[n].reference_error for n in names], 0.4, color="0.6",
            label="full depth")
    ax2.bar(x + 0.2, [100 * runs[n].test_error for n in names], 0.4,
            color=[NET_COLORS.get(n, "C0") for n in names], label="adaptive depth")
    ax2.set_xticks(x, [f"{n}\n({runs[n].final_depth} vs {runs[n].reference_depth} layers)"
                       for n in names])
    ax2.set_ylabel("test error (%)")
    ax2.set_title("B: test error, pruned against full depth")
    ax2.legend(fontsize="small")
    fig.suptitle("Sect. 7: adaptive depth during training")
    return fig
