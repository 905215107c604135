"""Private glue between trained networks and the array-only analyses.

Every trajectory the report uses comes from one path: the trained model becomes a
:class:`dynsys.Network` (:func:`nets.to_network`) and runs through :func:`dynsys.iterate` in
float64. This module records residual trajectories (all layers of a short run, a chosen
subset of a long run), the final hidden representation and logits, and the test error.

Runs past the trained depth T follow the papers and the depth rule of dynsys (the docs
section "Depth of a per-layer network"): a shared-weight network reuses its one layer; a
per-layer network (ResNet or MLP) repeats its last layer, ``net.last_layer()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr

__all__ = ["Recording", "network", "record", "final_hidden_forward", "error_rate",
           "long_run_layers"]

#: Inputs per :func:`dynsys.iterate` call: bounds the memory of ``record="all"``.
_BATCH = 1024


def network(model):
    """The :class:`dynsys.Network` of a trained nets model (weights as float64)."""
    from nets import to_network

    return to_network(model)


def long_run_layers(T: int, n_log: int = 60) -> np.ndarray:
    """Layers kept from a run of T layers: 1..20, ~`n_log` log-spaced ones, and T-1, T."""
    lay = set(range(1, min(T, 20) + 1))
    lay |= {int(round(v)) for v in np.geomspace(1, T, n_log)}
    lay |= {max(T - 1, 1), T}
    return np.array(sorted(v for v in lay if 1 <= v <= T), dtype=np.int64)


@dataclass(frozen=True, repr=False)
class Recording(ShortRepr):
    """Trajectories of B inputs at the recorded layers (L of them).

    Attributes
    ----------
    y : ndarray, shape (L, B, N)
        Residuals y(t) (ResNet) or activations y(t) (MLP) at `layers`.
    layers : ndarray of int, shape (L,)
        The recorded layers, 1-based.
    step : ndarray, shape (L,)
        Mean ``|y(t) - y(t-1)|`` over inputs and neurons at each recorded layer (NaN at
        t = 1).
    x0 : ndarray, shape (B, N)
        The (projected) input x(0).
    h : ndarray, shape (B, N)
        The classifier's input: x(T) for a ResNet, y(T) for an MLP.
    logits : ndarray, shape (B, C)
    """

    y: np.ndarray = field(repr=False)
    layers: np.ndarray = field(repr=False)
    step: np.ndarray = field(repr=False)
    x0: np.ndarray = field(repr=False)
    h: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)


def _stages(net, T: int):
    """``[(core, n_layers), ...]``: projection-free networks that run layers 1..T in turn."""
    import dynsys

    def core(W, b):
        return dynsys.Network(W, b, kind=net.kind)

    if net.shared:
        return [(core(net.W, net.b), T)]
    trained = net.depth
    if T <= trained:
        return [(core(net.W[:T], net.b[:T]), T)] if T > 0 else []
    # past T, the last layer repeated (dynsys._network.layer_index), as a shared-weight stage
    return [(core(net.W, net.b), trained), (core(net.W[-1], net.b[-1]), T - trained)]


def _segment(stage, t0, n):
    """The network of layers t0+1 .. t0+n of a stage (a slice of per-layer weights)."""
    import dynsys

    if stage.shared:
        return stage
    return dynsys.Network(stage.W[t0:t0 + n], stage.b[t0:t0 + n], kind=stage.kind)


def _run(net, X, T, keep):
    """Run one batch from one kept layer to the next; returns (ys at `keep` (L, B, N), step
    sums over inputs (L,), x0, h)."""
    import dynsys

    x0 = net.embed(X)
    B, N = x0.shape
    resnet = net.kind == "resnet"
    keep = set(int(t) for t in keep)
    ys, step = [], []
    state, prev_y, t = x0, None, 0
    for stage, n_stage in _stages(net, T):
        s0 = t
        while t < s0 + n_stage:
            later = [k for k in keep if t < k <= s0 + n_stage]
            stop = min(later) if later else s0 + n_stage
            n = stop - t
            seg = _segment(stage, t - s0, n)
            if n >= 2:  # iterate's own test measures |y(stop) - y(stop - 1)|
                res = dynsys.iterate(seg, state, n, record="final", change_tol=1.0,
                                     dtype=np.float64)
                change = np.asarray(res.last_change)
            else:
                res = dynsys.iterate(seg, state, n, record="final", dtype=np.float64)
                change = (np.full(B, np.nan) if prev_y is None
                          else np.abs(res.y_final - prev_y).mean(axis=1))
            t = stop
            state = res.x_final if resnet else res.y_final
            prev_y = np.asarray(res.y_final)
            if t in keep:
                ys.append(prev_y)
                step.append(float(change.sum()))
    y = np.stack(ys) if ys else np.empty((0, B, N))
    return y, np.asarray(step, dtype=np.float64), x0, state


def _run_all(net, X, T):
    """Run one batch recording every layer: one :func:`dynsys.iterate` call per stage."""
    import dynsys

    x0 = net.embed(X)
    resnet = net.kind == "resnet"
    parts, state = [], x0
    for stage, n in _stages(net, T):
        res = dynsys.iterate(stage, state, n, record="all", dtype=np.float64)
        parts.append(np.asarray(res.y))
        state = res.x_final if resnet else res.y_final
    ys = np.concatenate(parts) if parts else np.empty((0,) + x0.shape)
    diffs = np.abs(np.diff(ys, axis=0)).mean(axis=2).sum(axis=1)  # (T-1,) sums over inputs
    step = np.concatenate([[np.nan], diffs]) if T > 0 else np.empty(0)
    return ys, step, x0, state


def record(net, X, *, depth: int | None = None, layers=None, batch: int = _BATCH) -> Recording:
    """Run `net` on inputs `X` through :func:`dynsys.iterate` and record residuals.

    Parameters
    ----------
    net : dynsys.Network
    X : array_like, shape (B, D)
        Inputs (projected by the network's P when it has one).
    depth : int, optional
        T (default: the trained depth of a per-layer network; required for shared weights).
    layers : array_like of int, optional
        The 1-based layers to keep, increasing (default: every layer 1..T). A long run keeps
        a few (:func:`long_run_layers`) and is iterated from one kept layer to the next.
    batch : int
        Inputs per call.

    Returns
    -------
    Recording
    """
    T = net.depth if depth is None else int(depth)
    if T is None:
        raise ValueError("`depth` is required for a shared-weight network.")
    lay = np.arange(1, T + 1) if layers is None else np.asarray(layers, dtype=np.int64)
    if lay.size and (lay[0] < 1 or lay[-1] > T or np.any(np.diff(lay) <= 0)):
        raise ValueError(f"`layers` must increase within 1..{T}; got {lay.tolist()}.")
    dense = lay.size == T
    X = np.asarray(X, dtype=np.float64)
    ys, steps, x0s, hs = [], np.zeros(lay.size), [], []
    for i in range(0, X.shape[0], int(batch)):
        if dense:
            y, s, x0, h = _run_all(net, X[i:i + batch], T)
        else:
            y, s, x0, h = _run(net, X[i:i + batch], T, lay.tolist())
        ys.append(y)
        steps += s
        x0s.append(x0)
        hs.append(h)
    B = X.shape[0]
    N = net.width
    y = np.concatenate(ys, axis=1) if ys else np.empty((lay.size, 0, N))
    h = np.concatenate(hs) if hs else np.empty((0, N))
    return Recording(y=y, layers=lay, step=steps / max(B, 1),
                     x0=np.concatenate(x0s) if x0s else np.empty((0, N)), h=h,
                     logits=net.readout(h))


def final_hidden_forward(net, depth: int | None = None):
    """A ``forward(X) -> (h, logits)`` callable for :func:`analysis.compute_noise_sweep`.

    h is x(T) for a ResNet and y(T) for an MLP, from :func:`dynsys.iterate` in float64.
    """
    import dynsys

    T = net.depth if depth is None else int(depth)
    if T is None:
        raise ValueError("`depth` is required for a shared-weight network.")
    stages = _stages(net, T)

    def forward(X):
        state = net.embed(np.asarray(X, dtype=np.float64))
        for stage, n in stages:
            res = dynsys.iterate(stage, state, n, record="final", dtype=np.float64)
            state = res.x_final if net.kind == "resnet" else res.y_final
        return np.asarray(state), net.readout(state)

    return forward


def error_rate(net, X, labels, *, depth: int | None = None) -> float:
    """Fraction of the inputs `X` (B, D) whose largest logit is not their label."""
    _, logits = final_hidden_forward(net, depth)(X)
    return float(np.mean(np.argmax(logits, axis=1) != np.asarray(labels)))
