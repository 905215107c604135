"""Private glue between :mod:`nets` (torch models) and the array-only analyses.

Everything that runs a trained network lives here: recording residual trajectories (all
layers of a short run, a chosen subset of a long run), the final hidden representation and
logits for the noise sweep, and weight export to float64 arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["record", "final_hidden_forward", "layer_weights", "classifier_weights",
           "long_run_layers"]


def _torch():
    import torch

    return torch


def _layer_index(model, t: int) -> int:
    """Layer t of a run beyond the trained depth T: a shared-weight net reuses its one layer;
    an MLP repeats its last layer (the shared-weight MLP of eq. 6 with W = W(T)); a per-layer
    ResNet cannot go beyond T."""
    if model.shared or not model.residual:
        return min(t, model.depth)
    return t


def long_run_layers(T: int, n_log: int = 60) -> np.ndarray:
    """Layers kept from a run of T layers: 1..20, ~`n_log` log-spaced ones, and T-1, T."""
    lay = set(range(1, min(T, 20) + 1))
    lay |= {int(round(v)) for v in np.geomspace(1, T, n_log)}
    lay |= {max(T - 1, 1), T}
    return np.array(sorted(v for v in lay if 1 <= v <= T), dtype=np.int64)


def record(model, X, *, depth: int | None = None, layers=None, batch: int = 1024):
    """Run `model` on `X` and record residuals at `layers` (1-based; default all layers).

    Returns a dict with ``y`` (B, L, N) float32 residuals at the kept layers, ``layers``,
    ``step`` (T,) mean ``|y(t) - y(t-1)|`` over samples and neurons (NaN at t = 1), ``x0`` (B, N)
    the (projected) input, ``h`` (B, N) the classifier's input (x(T) for a ResNet, y(T) for
    an MLP) and ``logits`` (B, C).
    """
    torch = _torch()
    T = model.depth if depth is None else int(depth)
    lay = np.arange(1, T + 1) if layers is None else np.asarray(layers, dtype=np.int64)
    keep = {int(t): i for i, t in enumerate(lay)}
    X = np.array(X, dtype=np.float32)
    B = X.shape[0]
    ys, x0s, hs, logits = [], [], [], []
    step_sum = np.zeros(T)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, B, batch):
            u = torch.from_numpy(X[i:i + batch])
            state = model.embed(u)
            x0s.append(state.numpy().copy())
            out = np.empty((u.shape[0], len(lay), model.width), dtype=np.float32)
            prev = None
            for t in range(1, T + 1):
                y, state = model.step(_layer_index(model, t), state)
                if prev is not None:
                    step_sum[t - 1] += float((y - prev).abs().mean(dim=1).sum())
                prev = y
                j = keep.get(t)
                if j is not None:
                    out[:, j] = y.numpy()
            ys.append(out)
            hs.append(state.numpy().copy())
            logits.append(model.classifier(state).numpy())
    model.train(was_training)
    step = step_sum / B
    step[0] = np.nan
    return {
        "y": np.concatenate(ys), "layers": lay, "step": step, "x0": np.concatenate(x0s),
        "h": np.concatenate(hs), "logits": np.concatenate(logits),
    }


def final_hidden_forward(model, depth: int | None = None):
    """A ``forward(X) -> (h, logits)`` callable for :func:`analysis.noise_sweep`."""
    torch = _torch()

    def forward(X):
        with torch.no_grad():
            model.eval()
            state = model.embed(torch.from_numpy(np.array(X, dtype=np.float32)))
            for t in range(1, (model.depth if depth is None else depth) + 1):
                _, state = model.step(_layer_index(model, t), state)
            return state.numpy().astype(np.float64), model.classifier(state).numpy()

    return forward


def layer_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) as float64 (:func:`nets.export.export_weights`): (N, N), (N,) when shared."""
    from nets.export import export_weights

    ew = export_weights(model)
    return np.array(ew.W), np.array(ew.b)


def classifier_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """(K, c) of the softmax classifier as float64 arrays, shapes (C, N) and (C,)."""
    from nets.export import export_weights

    ew = export_weights(model)
    return np.array(ew.K), np.array(ew.c)
