"""Fig. 2 of Lagzi (2018): per-layer mean and standard deviation of the residuals.

For each network (shared-weight ResNet run far beyond its trained depth, per-layer ResNet,
MLP) the residual trajectories y(t) of many samples are reduced to, per layer t,

* the mean residual (over samples and neurons) of each class,
* ``std_all[t]``: the standard deviation across *all* samples, averaged over neurons,
* ``std_within[t]``: the within-class standard deviation, averaged over neurons and classes,
* ``step[t]``: the mean absolute change ``|y(t) - y(t-1)|`` (zero at a fixed point, non-zero
  while the residuals move or oscillate),

and the *settling layer*: the first layer after which ``std_all`` stays below `spread_tol`.
:func:`compute_residual_stats` returns the numbers, :func:`plot_residual_stats` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ._common import ShortRepr, as_labels, as_trajectories, class_mean, frozen_copy

__all__ = ["NetworkResidualStats", "ResidualStatsResult", "compute_residual_stats",
           "plot_residual_stats", "settling_layer"]

_TITLES = {
    "resnet_shared": "ResNet, shared weights",
    "resnet_variable": "ResNet, per-layer weights",
    "mlp": "MLP",
}


def settling_layer(curve, spread_tol: float):
    """First layer (1-based) from which ``curve[t] < spread_tol`` holds to the end; ``None``
    if the last value is not below it.

    Examples
    --------
    >>> settling_layer([0.5, 0.2, 0.001, 0.0005], 0.01)
    3
    """
    c = np.asarray(curve, dtype=float)
    above = np.nonzero(~(c < spread_tol))[0]
    if above.size == 0:
        return 1
    last = int(above[-1])
    return None if last == c.size - 1 else last + 2


@dataclass(frozen=True, repr=False)
class NetworkResidualStats(ShortRepr):
    """Per-layer statistics of one network's residuals (read-only arrays of length L, the
    number of recorded layers; ``class_mean_curve`` is (C, L))."""

    name: str
    n_layers: int
    layers: np.ndarray = field(repr=False)  # recorded layers (1-based)
    step_layers: np.ndarray = field(repr=False)
    std_all: np.ndarray = field(repr=False)
    std_within: np.ndarray = field(repr=False)
    step: np.ndarray = field(repr=False)
    class_mean_curve: np.ndarray = field(repr=False)  # (C, L): mean over samples and neurons
    settle_layer: int | None
    final_std_all: float
    final_std_within: float
    final_step: float
    converged: bool


@dataclass(frozen=True, repr=False)
class ResidualStatsResult(ShortRepr):
    """Result of :func:`compute_residual_stats`: one :class:`NetworkResidualStats` per network.

    ``spread_tol`` and ``change_tol`` are the thresholds the result was computed with.
    """

    networks: dict
    spread_tol: float
    change_tol: float
    classes: tuple


def _one(name, Y, labels, classes, spread_tol, change_tol, layers, step):
    # Y: (T, B, N)
    std_all = Y.std(axis=1).mean(axis=-1)
    within = np.stack([Y[:, labels == c].std(axis=1).mean(axis=-1) for c in classes])
    std_within = within.mean(axis=0)
    if step is None:
        step = np.full(Y.shape[0], np.nan)
        consecutive = np.diff(layers) == 1
        diffs = np.abs(np.diff(Y, axis=0)).mean(axis=(1, 2))
        step[1:][consecutive] = diffs[consecutive]
        step_layers = layers
    else:
        step = np.asarray(step, dtype=np.float64)
        step_layers = layers if step.shape == layers.shape else np.arange(1, step.size + 1)
    cm = class_mean(Y.mean(axis=-1), labels, classes, axis=1)
    final_step = float(step[-1])
    return NetworkResidualStats(
        name=name,
        n_layers=int(layers[-1]),
        layers=frozen_copy(layers),
        step_layers=frozen_copy(step_layers),
        std_all=frozen_copy(std_all),
        std_within=frozen_copy(std_within),
        step=frozen_copy(step),
        class_mean_curve=frozen_copy(cm),
        settle_layer=settling_layer(std_all, spread_tol),
        final_std_all=float(std_all[-1]),
        final_std_within=float(std_within[-1]),
        final_step=final_step,
        converged=bool(np.isfinite(final_step) and final_step < change_tol),
    )


def compute_residual_stats(trajectories, labels, *, layers=None, steps=None,
                           spread_tol: float = 0.01, change_tol: float = 1e-3):
    """Per-layer residual statistics of several networks (the numbers of Fig. 2).

    Parameters
    ----------
    trajectories : dict of str -> array_like, shape (T, B, N)
        Residuals y(1..T) of the same B samples for each network, keyed by a network name
        (``"resnet_shared"``, ``"resnet_variable"``, ``"mlp"`` get titles and colours).
        T may differ between networks.
    labels : array_like of int, shape (B,)
    layers : dict of str -> array_like of int, optional
        The 1-based layer index of each recorded slice, when only some layers of a long run
        were kept (default: all layers 1..T). The settling layer is then found among these.
    steps : dict of str -> array_like, optional
        Mean ``|y(t) - y(t-1)|`` (NaN where undefined), either for every layer t = 1..T or at
        the recorded `layers`; by default it is computed where recorded layers are
        consecutive.
    spread_tol : float
        Threshold on ``std_all`` (residual units, the logistic output lies in (0, 1)) that
        defines the settling layer.
    change_tol : float
        A network counts as converged when the mean ``|y(T) - y(T-1)|`` is below this (the
        convergence test of :func:`dynsys.iterate`).

    Returns
    -------
    ResidualStatsResult
    """
    if not trajectories:
        raise ValueError("`trajectories` must name at least one network.")
    nets = {}
    classes = None
    for name, Y in trajectories.items():
        Y = as_trajectories(Y, f"trajectories[{name!r}]")
        lab = as_labels(labels, Y.shape[1])
        classes = np.unique(lab)
        lay = np.arange(1, Y.shape[0] + 1) if layers is None or name not in layers else \
            np.asarray(layers[name], dtype=np.int64)
        if lay.shape != (Y.shape[0],) or np.any(np.diff(lay) <= 0):
            raise ValueError(f"`layers[{name!r}]` must be {Y.shape[0]} increasing layer "
                             f"indices; got {lay.tolist()}.")
        stp = None if steps is None else steps.get(name)
        st = _one(name, Y, lab, classes, spread_tol, change_tol, lay, stp)
        st = replace(st, settle_layer=None if st.settle_layer is None
                     else int(lay[st.settle_layer - 1]))
        nets[name] = st
    return ResidualStatsResult(networks=nets, spread_tol=float(spread_tol),
                               change_tol=float(change_tol),
                               classes=tuple(int(c) for c in classes))


def plot_residual_stats(result: ResidualStatsResult):
    """Fig. 2 from a :class:`ResidualStatsResult`: class means (top) and spreads (bottom)."""
    from ._style import NET_COLORS, class_color, new_figure

    nets = result.networks
    fig = new_figure(4.2 * len(nets), 6.4)
    axes = fig.subplots(2, len(nets), squeeze=False)
    for j, (name, st) in enumerate(nets.items()):
        t = st.layers
        ax = axes[0, j]
        for k, c in enumerate(result.classes):
            ax.plot(t, st.class_mean_curve[k], color=class_color(c), lw=1.2, label=str(c))
        ax.set_title(f"{_TITLES.get(name, name)}\nmean residual per class")
        ax.set_xlabel("layer t")
        ax.set_ylabel("mean residual y(t) (logistic output, 0-1)")
        if st.n_layers > 50:
            ax.set_xscale("log")
        if j == len(nets) - 1:
            ax.legend(title="class", fontsize="x-small", ncol=2)
        ax = axes[1, j]
        col = NET_COLORS.get(name, "k")
        ax.plot(t, st.std_all, color=col, lw=1.5, label="std over all samples")
        ax.plot(t, st.std_within, color=col, lw=1.5, ls="--", label="within-class std")
        ax.plot(st.step_layers, st.step, color="0.4", lw=1, ls=":", label="mean |y(t) - y(t-1)|")
        ax.axhline(result.spread_tol, color="0.6", lw=0.8)
        if st.settle_layer is not None:
            ax.axvline(st.settle_layer, color="k", lw=0.8, ls="-.",
                       label=f"settles at layer {st.settle_layer}")
        ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("layer t")
        ax.set_ylabel("standard deviation / change (residual units)")
        ax.set_title(f"{_TITLES.get(name, name)}\nspread across samples")
        if st.n_layers > 50:
            ax.set_xscale("log")
        ax.legend(fontsize="x-small")
    fig.suptitle("Fig. 2: residual dynamics across layers (mean over neurons)")
    return fig
