"""Small shared helpers of :mod:`analysis`: argument checks and per-class reductions."""

from __future__ import annotations

import numpy as np

__all__ = ["as_trajectories", "as_labels", "class_mean", "class_std", "readonly"]


def readonly(arr):
    """`arr` as a read-only float or int array (``None`` stays ``None``)."""
    if arr is None:
        return None
    arr = np.array(arr, copy=True)
    arr.setflags(write=False)
    return arr


def as_trajectories(Y, name: str = "Y") -> np.ndarray:
    """Return `Y` as float64 of shape (T, B, N): T layers, B samples, N neurons."""
    arr = np.asarray(Y, dtype=np.float64)
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise ValueError(
            f"`{name}` must have shape (layers T, samples B, neurons N), as "
            f"dynsys.iterate records it; got shape {arr.shape}."
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


def class_mean(X: np.ndarray, labels: np.ndarray, classes: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean of `X` over the samples (along `axis`) of each class: class axis first, (C, ...)."""
    return np.stack([np.compress(labels == c, X, axis=axis).mean(axis=axis) for c in classes])


def class_std(X: np.ndarray, labels: np.ndarray, classes: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standard deviation of `X` over the samples (along `axis`) of each class: (C, ...)."""
    return np.stack([np.compress(labels == c, X, axis=axis).std(axis=axis) for c in classes])
