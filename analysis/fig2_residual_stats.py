"""Fig. 2 of Lagzi (2018): per-layer mean and standard deviation of the residuals.

For each network (shared-weight ResNet run far beyond its trained depth, per-layer ResNet,
MLP) the residual trajectories y(t) of many samples are reduced to, per layer t,

* the mean residual (over samples and neurons) of each class,
* ``std_all[t]``: the standard deviation across *all* samples, averaged over neurons,
* ``std_within[t]``: the within-class standard deviation, averaged over neurons and classes,
* ``step[t]``: the mean absolute change ``|y(t) - y(t-1)|`` (zero at a fixed point, non-zero
  while the residuals move or oscillate),

and the *settling layer*: the first layer after which ``std_all`` stays below `tol`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ._common import as_labels, as_trajectories, class_mean
from ._style import NET_COLORS, class_color, new_figure

__all__ = ["NetworkResidualStats", "ResidualStatsResult", "residual_stats", "settling_layer"]

_TITLES = {
    "resnet_shared": "ResNet, shared weights",
    "resnet_variable": "ResNet, per-layer weights",
    "mlp": "MLP",
}


def settling_layer(curve, tol: float):
    """First layer (1-based) from which ``curve[t] < tol`` holds to the end; ``None`` if never.

    Examples
    --------
    >>> settling_layer([0.5, 0.2, 0.001, 0.0005], 0.01)
    3
    """
    c = np.asarray(curve, dtype=float)
    above = np.nonzero(~(c < tol))[0]
    if above.size == 0:
        return 1
    last = int(above[-1])
    return None if last == c.size - 1 else last + 2


@dataclass(frozen=True)
class NetworkResidualStats:
    """Per-layer statistics of one network's residuals (arrays of length T)."""

    name: str
    n_layers: int
    layers: np.ndarray = field(repr=False)  # recorded layers (1-based)
    step_layers: np.ndarray = field(repr=False)
    std_all: np.ndarray = field(repr=False)
    std_within: np.ndarray = field(repr=False)
    step: np.ndarray = field(repr=False)
    class_mean_curve: np.ndarray = field(repr=False)  # (C, T): mean over samples and neurons
    settle_layer: int | None
    final_std_all: float
    final_std_within: float
    final_step: float
    converged: bool


@dataclass(frozen=True)
class ResidualStatsResult:
    """Result of :func:`residual_stats`: one :class:`NetworkResidualStats` per network."""

    networks: dict
    tol: float
    classes: tuple
    figure: object = field(repr=False, compare=False)


def _one(name, Y, labels, classes, tol, step_tol, layers, step):
    std_all = Y.std(axis=0).mean(axis=-1)
    within = np.stack([Y[labels == c].std(axis=0).mean(axis=-1) for c in classes])
    std_within = within.mean(axis=0)
    if step is None:
        step = np.full(Y.shape[1], np.nan)
        consecutive = np.diff(layers) == 1
        diffs = np.abs(np.diff(Y, axis=1)).mean(axis=(0, 2))
        step[1:][consecutive] = diffs[consecutive]
        step_layers = layers
    else:
        step = np.asarray(step, dtype=np.float64)
        step_layers = np.arange(1, step.size + 1)
    cm = class_mean(Y.mean(axis=-1), labels, classes)
    final_step = float(step[-1])
    return NetworkResidualStats(
        name=name,
        n_layers=int(layers[-1]),
        layers=layers,
        step_layers=step_layers,
        std_all=std_all,
        std_within=std_within,
        step=step,
        class_mean_curve=cm,
        settle_layer=settling_layer(std_all, tol),
        final_std_all=float(std_all[-1]),
        final_std_within=float(std_within[-1]),
        final_step=final_step,
        converged=bool(np.isfinite(final_step) and final_step < step_tol),
    )


def residual_stats(trajectories, labels, *, layers=None, steps=None, tol: float = 0.01,
                   step_tol: float = 1e-3):
    """Per-layer residual statistics of several networks, and Fig. 2.

    Parameters
    ----------
    trajectories : dict of str -> array_like, shape (B, T, N)
        Residuals y(1..T) of the same B samples for each network, keyed by a network name
        (``"resnet_shared"``, ``"resnet_variable"``, ``"mlp"`` get titles and colours).
        T may differ between networks.
    labels : array_like of int, shape (B,)
    tol : float
        Threshold on ``std_all`` (residual units, the logistic output lies in (0, 1)) that
        defines the settling layer.
    layers : dict of str -> array_like of int, optional
        The 1-based layer index of each recorded slice, when only some layers of a long run
        were kept (default: all layers 1..T). The settling layer is then found among these.
    steps : dict of str -> array_like, shape (T,), optional
        Mean ``|y(t) - y(t-1)|`` for every layer t (NaN for t = 1), computed while iterating; by
        default it is computed where recorded layers are consecutive.
    step_tol : float
        A network counts as converged when the mean ``|y(T) - y(T-1)|`` is below this.

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
        lab = as_labels(labels, Y.shape[0])
        classes = np.unique(lab)
        lay = np.arange(1, Y.shape[1] + 1) if layers is None or name not in layers else \
            np.asarray(layers[name], dtype=np.int64)
        if lay.shape != (Y.shape[1],) or np.any(np.diff(lay) <= 0):
            raise ValueError(f"`layers[{name!r}]` must be {Y.shape[1]} increasing layer indices.")
        stp = None if steps is None else steps.get(name)
        st = _one(name, Y, lab, classes, tol, step_tol, lay, stp)
        st = replace(st, settle_layer=None if st.settle_layer is None
                     else int(lay[st.settle_layer - 1]))
        nets[name] = st

    fig = new_figure(4.2 * len(nets), 6.4)
    axes = fig.subplots(2, len(nets), squeeze=False)
    for j, (name, st) in enumerate(nets.items()):
        t = st.layers
        ax = axes[0, j]
        for k, c in enumerate(classes):
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
        ax.axhline(tol, color="0.6", lw=0.8)
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
    return ResidualStatsResult(networks=nets, tol=tol, classes=tuple(int(c) for c in classes),
                               figure=fig)
