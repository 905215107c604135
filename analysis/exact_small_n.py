"""The exact picture beyond the seeds: every fixed point of a small trained network.

For a shared-weight ResNet of small width N (6..10) every fixed point of eq. 3 is enumerated
(3^N patterns, :func:`dynsys.fixed_points`). The analysis then answers what the
seeds could only sample:

1. which fixed points lie in the unit cube and are stable *for the network*, i.e. for the
   step-1 layer map y -> f(f^{-1}(y) + W y) (all multipliers |mu| < 1), and for the flow;
2. the basin of each: the fraction of uniformly drawn y(1) in (0, 1)^N whose residuals reach
   it within `long_depth` layers;
3. which fixed point each class's trajectories approach (the data's y(1) = f(W x(0) + b));
4. how classification relates to transients versus end points: the trained classifier on
   x(T_trained) (transients integrated), the same classifier on x(long_depth) (dominated by
   long_depth * y*, the end point), and the best possible classifier that sees only the
   end point (each end point mapped to its majority class).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import as_labels
from ._style import class_color, new_figure

__all__ = ["ExactPictureResult", "exact_picture"]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _run(W, b, X, T):
    """Iterate the shared-weight ResNet; return y(T), x(T_all) snapshots and y trajectory."""
    x = np.array(X, dtype=np.float64)
    ys = np.empty((T,) + x.shape)
    for t in range(T):
        y = _sigmoid(x @ W.T + b)
        x = x + y
        ys[t] = y
    return ys, x


def _iterate_y(W, y0, T):
    z = np.log(y0) - np.log1p(-y0)
    y = y0
    for _ in range(T):
        z = z + y @ W.T
        y = _sigmoid(z)
    return y


def _nearest(points, targets, tol):
    if len(targets) == 0:
        return np.full(points.shape[0], -1)
    d = np.max(np.abs(points[:, None, :] - targets[None, :, :]), axis=2)
    k = np.argmin(d, axis=1)
    return np.where(d[np.arange(len(k)), k] <= tol, k, -1)


@dataclass(frozen=True)
class ExactPictureResult:
    """Result of :func:`exact_picture`.

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
    acc_trained, acc_long, acc_endpoint : float
        Accuracy at the trained depth, of the same classifier at `long_depth`, and of the best
        end-point-only classifier.
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
    figure: object = field(repr=False, compare=False)


def exact_picture(W, b, K, c, X, labels, *, trained_depth: int, long_depth: int = 1000,
                  n_basin: int = 2000, tol: float = 1e-3, seed: int = 0):
    """Enumerate, classify and relate to the data every fixed point of a small network.

    Parameters
    ----------
    W : array_like, shape (N, N)
        Shared layer weights (N <= 10 keeps the 3^N enumeration in seconds).
    b : array_like, shape (N,)
        Layer bias (it shifts where trajectories start, not the fixed points of eq. 3).
    K, c : array_like, shapes (C, N) and (C,)
        Classifier on x(T).
    X : array_like, shape (B, N)
        Inputs x(0) (after any projection) of labelled test samples.
    labels : array_like of int, shape (B,)
    trained_depth : int
        The depth T the network was trained with.
    long_depth : int
        Layers run to find the end points.
    n_basin : int
        Uniform samples of y(1) for the basin fractions.
    tol : float
        Max-norm distance under which a state counts as having reached a fixed point.
    seed : int

    Returns
    -------
    ExactPictureResult
    """
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    b = np.asarray(b, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    lab = as_labels(labels, X.shape[0])
    from dynsys._fixed_points import fixed_points

    fp = fixed_points(W)
    pts = np.asarray(fp.points)
    in_box = np.asarray(fp.in_box, dtype=bool)
    n_sing = int(fp.degenerate.n_no_solution + fp.degenerate.n_continuum)
    keep = in_box & (np.asarray(fp.map_stability) == "stable")
    stable = np.clip(pts[keep], 0.0, 1.0).reshape(-1, n)
    flow_ok = [bool(s == "stable") for s in np.asarray(fp.stability)[keep]]
    inbox = pts[in_box]

    rng = np.random.default_rng(seed)
    y0 = rng.uniform(1e-3, 1 - 1e-3, size=(n_basin, n))
    ends = _iterate_y(W, y0, long_depth)
    which = _nearest(ends, stable, tol)
    S = len(stable)
    basin = tuple(float(np.mean(which == k)) for k in range(S))

    ys, _ = _run(W, b, X, trained_depth)
    xT = X + ys.sum(axis=0)
    acc_trained = float(np.mean(np.argmax(xT @ K.T + c, axis=1) == lab))
    ys_long, x_long = _run(W, b, X, long_depth)
    acc_long = float(np.mean(np.argmax(x_long @ K.T + c, axis=1) == lab))
    data_end = _nearest(ys_long[-1], stable, tol)
    classes = np.unique(lab)
    counts = np.zeros((len(classes), S + 1), dtype=int)
    for i, cl in enumerate(classes):
        for k in range(-1, S):
            counts[i, k if k >= 0 else S] = int(np.sum((lab == cl) & (data_end == k)))
    acc_end = float(counts[:, :S].max(axis=0).sum() / len(lab)) if S else 0.0
    used = int(np.sum(counts[:, :S].sum(axis=0) > 0))

    fig = new_figure(15, 4.6)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    # A: trajectories of y in the plane of the first two principal axes
    flat = ys_long[: min(long_depth, 60)].reshape(-1, n)
    mu = flat.mean(axis=0)
    _, _, Vt = np.linalg.svd(flat - mu, full_matrices=False)
    P = Vt[:2].T
    sel = np.concatenate([np.nonzero(lab == cl)[0][:15] for cl in classes])
    for i in sel:
        tr = (ys_long[: min(long_depth, 60), i] - mu) @ P
        ax1.plot(tr[:, 0], tr[:, 1], "-", color=class_color(lab[i]), lw=0.7, alpha=0.6)
        ax1.plot(tr[0, 0], tr[0, 1], ".", color=class_color(lab[i]), ms=4)
    if S:
        sp = (stable - mu) @ P
        for k, (u, v) in enumerate(sp):
            ax1.annotate(f"FP{k}", (u, v), textcoords="offset points", xytext=(5, 5))
        ax1.plot(sp[:, 0], sp[:, 1], "k*", ms=14, label="stable fixed points")
    from ._style import class_legend

    class_legend(ax1, classes, loc="lower right")
    if S:
        ax1.add_artist(ax1.get_legend())
        ax1.legend(handles=ax1.get_lines()[-1:], labels=["stable fixed points"],
                   loc="upper left", fontsize="small")
    ax1.set_xlabel("principal axis 1 of y (residual units)")
    ax1.set_ylabel("principal axis 2 of y (residual units)")
    ax1.set_title(f"A: residual trajectories (first 60 layers), N = {n}")
    # B: which fixed point each class approaches
    bottom = np.zeros(len(classes))
    names = [f"FP{k} (basin {basin[k]:.0%})" for k in range(S)] + ["none"]
    import matplotlib as mpl

    fp_cols = mpl.colormaps["Dark2"]
    cmap = [fp_cols(k % 8) for k in range(S)] + ["0.8"]
    for k in range(S + 1):
        frac = counts[:, k] / np.maximum(counts.sum(axis=1), 1)
        ax2.bar(np.arange(len(classes)), frac, bottom=bottom, color=cmap[k], label=names[k])
        bottom += frac
    ax2.set_xticks(np.arange(len(classes)), [str(cl) for cl in classes])
    ax2.set_xlabel("class")
    ax2.set_ylabel(f"fraction of test samples at layer {long_depth}")
    ax2.set_title("B: end point of each class's trajectories")
    ax2.legend(fontsize="x-small")
    # C: transients versus end points
    vals = [acc_trained, acc_long, acc_end]
    ax3.bar(range(3), [100 * v for v in vals], color=["#1b9e77", "#7570b3", "0.6"])
    ax3.set_xticks(range(3), [f"x({trained_depth})\n(transients)", f"x({long_depth})",
                              "end point only\n(best map)"])
    ax3.set_ylabel("test accuracy (%)")
    for i, v in enumerate(vals):
        ax3.annotate(f"{100 * v:.1f}", (i, 100 * v), ha="center", va="bottom")
    ax3.set_title("C: classification by transients vs end points")
    fig.suptitle(f"Exact picture: {len(pts)} fixed points, {len(inbox)} in the cube, "
                 f"{S} stable for the layer map")
    return ExactPictureResult(
        n=n, n_fixed_points=int(len(pts)), n_in_box=int(len(inbox)), n_singular=int(n_sing),
        stable_points=stable, stable_flow=tuple(flow_ok), basin_fraction=basin,
        unconverged_fraction=float(np.mean(which == -1)), class_endpoint_counts=counts,
        n_endpoints_used=used, acc_trained=acc_trained, acc_long=acc_long, acc_endpoint=acc_end,
        figure=fig,
    )
