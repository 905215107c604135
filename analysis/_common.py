"""Small shared helpers of :mod:`analysis`: argument checks and per-class reductions."""

from __future__ import annotations

import numpy as np

from dynsys import check_labels as as_labels  # the one check of class labels

__all__ = ["as_trajectories", "as_labels", "class_mean", "class_std", "frozen_copy", "ShortRepr"]


def frozen_copy(arr):
    """A read-only copy of `arr` (``None`` stays ``None``); the caller's array is untouched.

    Unlike ``dynsys._arrays.readonly``, which marks the array it is given read-only in
    place (dynsys hands it its own work buffers), analysis results often wrap arrays that a
    caller still owns, so they are copied first.
    """
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


def class_mean(X: np.ndarray, labels: np.ndarray, classes: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean of `X` over the samples (along `axis`) of each class: class axis first, (C, ...)."""
    return np.stack([np.compress(labels == c, X, axis=axis).mean(axis=axis) for c in classes])


def class_std(X: np.ndarray, labels: np.ndarray, classes: np.ndarray, axis: int = 0) -> np.ndarray:
    """Standard deviation of `X` over the samples (along `axis`) of each class: (C, ...)."""
    return np.stack([np.compress(labels == c, X, axis=axis).std(axis=axis) for c in classes])


class ShortRepr:
    """A dataclass repr of names and sizes, never array dumps (under 300 characters).

    Numbers and short strings are shown; arrays by shape, mappings by their keys, sequences
    by their length. Classes using it pass ``repr=False`` to :func:`dataclasses.dataclass`.
    """

    def __repr__(self) -> str:
        from dataclasses import fields

        parts = []
        for f in fields(self):
            if not f.repr:
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                s = f"<array {v.shape}>"
            elif isinstance(v, dict):
                keys = ", ".join(str(k) for k in list(v)[:4]) + (", ..." if len(v) > 4 else "")
                s = "{" + keys + "}"
            elif isinstance(v, (tuple, list)):
                s = repr(v) if len(v) <= 4 and all(
                    isinstance(x, (int, float, str, bool, type(None))) for x in v) \
                    else f"<{len(v)} items>"
            elif isinstance(v, float):
                s = f"{v:.4g}"
            elif isinstance(v, str) and len(v) > 40:
                s = repr(v[:37] + "...")
            else:
                s = repr(v)
            parts.append(f"{f.name}={s}")
        text = f"{type(self).__name__}({', '.join(parts)})"
        return text if len(text) < 300 else text[:292] + ", ...)"
