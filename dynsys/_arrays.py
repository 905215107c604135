"""Small array helpers shared by the result types of :mod:`dynsys`."""

from __future__ import annotations

import numpy as np

__all__ = ["readonly"]


def readonly(arr):
    """Return `arr` as an ndarray marked read-only (``None`` passes through).

    Result objects are frozen dataclasses; marking their arrays read-only keeps a caller from
    mutating a result after construction (the FixedPointFinder pitfall).
    """
    if arr is None:
        return None
    arr = np.asarray(arr)
    arr.setflags(write=False)
    return arr
