"""Small shared helpers of :mod:`analysis`: argument checks and per-class reductions."""

from __future__ import annotations

import numpy as np

__all__ = ["as_trajectories", "as_labels", "class_mean", "class_std"]


def as_trajectories(Y, name: str = "Y") -> np.ndarray:
    """Return `Y` as float64 of shape (B, T, N): B samples, T layers, N neurons."""
    arr = np.asarray(Y, dtype=np.float64)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(
            f"`{name}` must have shape (samples, layers, neurons); got shape {arr.shape}."
        )
    return arr


def as_labels(labels, n: int, name: str = "labels") -> np.ndarray:
    """Return `labels` as int64 of shape (n,)."""
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},); got shape {arr.shape}.")
    if arr.dtype.kind not in "iu":
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"`{name}` must hold integer class labels.")
    return arr.astype(np.int64)


def class_mean(X: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Mean of `X` (B, ...) over the samples of each class: shape (C, ...)."""
    return np.stack([X[labels == c].mean(axis=0) for c in classes])


def class_std(X: np.ndarray, labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Standard deviation of `X` (B, ...) over the samples of each class: shape (C, ...)."""
    return np.stack([X[labels == c].std(axis=0) for c in classes])
