"""The exact picture of a small trained network: every fixed point, its basin, its classes.

For a shared-weight ResNet of small width N (6..10) every fixed point of eq. 3 is enumerated
(3^N patterns, :func:`dynsys.fixed_points`). The analysis then answers what sampling
trajectories of a wide network cannot:

1. which fixed points lie in the unit cube and are stable *for the network*, i.e. for the
   step-1 layer map z -> z + W f(z) in logit coordinates (all multipliers |mu| < 1), and for
   the flow;
2. the basin of each for the layer map: the fraction of uniformly drawn y(1) in (0, 1)^N whose
   residuals reach it within `long_depth` layers (:func:`dynsys.basins` with
   ``dynamics="map"``);
3. which fixed point each class's trajectories approach (the data run through
   :func:`dynsys.iterate`);
4. how classification relates to transients versus end points: the trained classifier on
   x(T_trained) (transients integrated), the same classifier on x(long_depth) (dominated by
   long_depth * y*, the end point), and the best possible classifier that sees only the
   end point (each end point mapped to its majority class).

:func:`compute_exact_picture` returns the numbers, :func:`plot_exact_picture` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_labels, frozen_copy

__all__ = ["ExactPictureResult", "compute_exact_picture", "plot_exact_picture"]

#: Layers of the data trajectories kept for the figure.
_PLOT_LAYERS = 60
#: Trajectories per class kept for the figure.
_PLOT_PER_CLASS = 15


def _nearest(states, targets, distance_tol):
    """Index of the target within `distance_tol` (max norm) of each state, else -1."""
    if len(targets) == 0:
        return np.full(states.shape[0], -1)
    d = np.max(np.abs(states[:, None, :] - targets[None, :, :]), axis=2)
    k = np.argmin(d, axis=1)
    return np.where(d[np.arange(len(k)), k] <= distance_tol, k, -1)


@dataclass(frozen=True, repr=False)
class ExactPictureResult(ShortRepr):
    """Result of :func:`compute_exact_picture`.

    Attributes
    ----------
    n : int
        Width N.
    n_fixed_points, n_in_box, n_singular : int
        Distinct isolated fixed points (origin once), those in [0, 1]^N, and patterns with a
        singular interior block (no point or a continuum; reported, never dropped).
    stable_points : ndarray, shape (S, N)
        In-box fixed points stable for the layer map.
    stable_flow : tuple of bool
        Whether each of them is also stable for the flow of eq. 3.
    basin_fraction : tuple of float
        Fraction of uniform y(1) reaching each stable point (``unconverged_fraction`` the rest).
    class_endpoint_counts : ndarray, shape (C, S + 1)
        Test samples of each class ending at each stable point (last column: none).
    n_endpoints_used : int
        Stable points that some test sample ends at.
    acc_trained, acc_long, acc_endpoint : float
        Accuracy at the trained depth, of the same classifier at `long_depth`, and of the best
        end-point-only classifier.
    trained_depth, long_depth : int
    distance_tol : float
        Max-norm distance under which a state counts as having reached a fixed point.
    classes : tuple of int
    plot_trajectories : ndarray, shape (L, P, N)
        The first L <= 60 residuals of P test samples (at most 15 per class), for the figure;
        ``plot_labels`` (P,) are their classes.
    """

    n: int
    n_fixed_points: int
    n_in_box: int
    n_singular: int
    stable_points: np.ndarray = field(repr=False)
    stable_flow: tuple
    basin_fraction: tuple
    unconverged_fraction: float
    class_endpoint_counts: np.ndarray = field(repr=False)
    n_endpoints_used: int
    acc_trained: float
    acc_long: float
    acc_endpoint: float
    trained_depth: int
    long_depth: int
    distance_tol: float
    classes: tuple
    plot_trajectories: np.ndarray = field(repr=False)
    plot_labels: np.ndarray = field(repr=False)


def compute_exact_picture(net, X, labels, *, trained_depth: int, long_depth: int = 1000,
                          n_basin: int = 2000, distance_tol: float = 1e-3, seed: int = 0):
    """Enumerate, classify and relate to the data every fixed point of a small network.

    Parameters
    ----------
    net : dynsys.Network
        A shared-weight ResNet (W of shape (N, N), N <= 10 keeps the 3^N enumeration in
        seconds) with its readout K, c; its bias shifts where trajectories start, not the
        fixed points of eq. 3.
    X : array_like, shape (B, D)
        Inputs of labelled test samples (projected by the network's P when it has one).
    labels : array_like of int, shape (B,)
    trained_depth : int
        The depth T the network was trained with.
    long_depth : int
        Layers run to find the end points (of the data and of the basin samples).
    n_basin : int
        Uniform samples of y(1) for the basin fractions.
    distance_tol : float
        Max-norm distance under which a state counts as having reached a fixed point.
    seed : int

    Returns
    -------
    ExactPictureResult
    """
    import dynsys

    if not isinstance(net, dynsys.Network) or not net.shared or net.kind != "resnet":
        raise ValueError("`net` must be a shared-weight dynsys.Network of kind 'resnet'; got "
                         f"{net!r}.")
    if net.K is None:
        raise ValueError("`net` needs a readout K to relate end points to classes.")
    W = net.W
    n = W.shape[0]
    X = np.asarray(X, dtype=np.float64)
    lab = as_labels(labels, X.shape[0])

    fp = dynsys.fixed_points(W)
    pts = np.asarray(fp.points)
    in_box = np.asarray(fp.in_box, dtype=bool)
    n_sing = int(fp.degenerate.n_no_solution + fp.degenerate.n_continuum)
    keep = in_box & (np.asarray(fp.map_stability) == dynsys.STABLE)
    stable = np.clip(pts[keep], 0.0, 1.0).reshape(-1, n)
    flow_ok = [bool(s == dynsys.STABLE) for s in np.asarray(fp.stability)[keep]]
    n_in_box = int(in_box.sum())

    bas = dynsys.basins(W, dynamics="map", depth=long_depth, n_samples=n_basin, seed=seed,
                        points=stable, distance_tol=distance_tol)
    S = len(stable)
    basin = tuple(float(f) for f in bas.fractions)

    short = dynsys.iterate(net, X, trained_depth, record="final")
    acc_trained = float(np.mean(np.argmax(net.readout(short.x_final), axis=1) == lab))
    long = dynsys.iterate(net, X, long_depth, record="final")
    acc_long = float(np.mean(np.argmax(net.readout(long.x_final), axis=1) == lab))
    data_end = _nearest(np.asarray(long.y_final), stable, distance_tol)
    classes = np.unique(lab)
    counts = np.zeros((len(classes), S + 1), dtype=int)
    for i, cl in enumerate(classes):
        for k in range(-1, S):
            counts[i, k if k >= 0 else S] = int(np.sum((lab == cl) & (data_end == k)))
    acc_end = float(counts[:, :S].max(axis=0).sum() / len(lab)) if S else 0.0
    used = int(np.sum(counts[:, :S].sum(axis=0) > 0))

    sel = np.concatenate([np.nonzero(lab == cl)[0][:_PLOT_PER_CLASS] for cl in classes])
    head = dynsys.iterate(net, X[sel], min(long_depth, _PLOT_LAYERS), record="all")
    return ExactPictureResult(
        n=n, n_fixed_points=int(len(pts)), n_in_box=n_in_box, n_singular=n_sing,
        stable_points=frozen_copy(stable), stable_flow=tuple(flow_ok), basin_fraction=basin,
        unconverged_fraction=float(bas.unassigned_fraction),
        class_endpoint_counts=frozen_copy(counts), n_endpoints_used=used,
        acc_trained=acc_trained, acc_long=acc_long, acc_endpoint=acc_end,
        trained_depth=int(trained_depth), long_depth=int(long_depth),
        distance_tol=float(distance_tol), classes=tuple(int(c) for c in classes),
        plot_trajectories=frozen_copy(head.y), plot_labels=frozen_copy(lab[sel]),
    )


def plot_exact_picture(result: ExactPictureResult):
    """The exact picture's figure: trajectories and stable points, end point per class,
    accuracy from transients against end points."""
    import matplotlib as mpl

    from ._style import class_color, class_legend, new_figure

    n, stable, basin = result.n, result.stable_points, result.basin_fraction
    counts, classes = result.class_endpoint_counts, np.asarray(result.classes)
    S = len(stable)
    ys, labs = result.plot_trajectories, result.plot_labels
    fig = new_figure(15, 4.6)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    # A: trajectories of y in the plane of the first two principal axes
    flat = ys.reshape(-1, n)
    mu = flat.mean(axis=0)
    _, _, Vt = np.linalg.svd(flat - mu, full_matrices=False)
    P = Vt[:2].T if Vt.shape[0] >= 2 else np.eye(n, 2)
    for i in range(ys.shape[1]):
        tr = (ys[:, i] - mu) @ P
        ax1.plot(tr[:, 0], tr[:, 1], "-", color=class_color(labs[i]), lw=0.7, alpha=0.6)
        ax1.plot(tr[0, 0], tr[0, 1], ".", color=class_color(labs[i]), ms=4)
    if S:
        sp = (stable - mu) @ P
        for k, (u, v) in enumerate(sp):
            ax1.annotate(f"FP{k}", (u, v), textcoords="offset points", xytext=(5, 5))
        ax1.plot(sp[:, 0], sp[:, 1], "k*", ms=14, label="stable fixed points")
    class_legend(ax1, classes, loc="lower right")
    if S:
        ax1.add_artist(ax1.get_legend())
        ax1.legend(handles=ax1.get_lines()[-1:], labels=["stable fixed points"],
                   loc="upper left", fontsize="small")
    ax1.set_xlabel("principal axis 1 of y (residual units)")
    ax1.set_ylabel("principal axis 2 of y (residual units)")
    ax1.set_title(f"A: residual trajectories (first {ys.shape[0]} layers), N = {n}")
    # B: which fixed point each class approaches
    bottom = np.zeros(len(classes))
    names = [f"FP{k} (basin {basin[k]:.0%})" for k in range(S)] + ["none"]
    fp_cols = mpl.colormaps["Dark2"]
    cmap = [fp_cols(k % 8) for k in range(S)] + ["0.8"]
    for k in range(S + 1):
        frac = counts[:, k] / np.maximum(counts.sum(axis=1), 1)
        ax2.bar(np.arange(len(classes)), frac, bottom=bottom, color=cmap[k], label=names[k])
        bottom += frac
    ax2.set_xticks(np.arange(len(classes)), [str(cl) for cl in classes])
    ax2.set_xlabel("class")
    ax2.set_ylabel(f"fraction of test samples at layer {result.long_depth}")
    ax2.set_title("B: end point of each class's trajectories")
    ax2.legend(fontsize="x-small")
    # C: transients versus end points
    vals = [result.acc_trained, result.acc_long, result.acc_endpoint]
    ax3.bar(range(3), [100 * v for v in vals], color=["#1b9e77", "#7570b3", "0.6"])
    ax3.set_xticks(range(3), [f"x({result.trained_depth})\n(transients)",
                              f"x({result.long_depth})", "end point only\n(best map)"])
    ax3.set_ylabel("test accuracy (%)")
    for i, v in enumerate(vals):
        ax3.annotate(f"{100 * v:.1f}", (i, 100 * v), ha="center", va="bottom")
    ax3.set_title("C: classification by transients vs end points")
    fig.suptitle(f"Exact picture: {result.n_fixed_points} fixed points, {result.n_in_box} in "
                 f"the cube, {S} stable for the layer map")
    return fig
