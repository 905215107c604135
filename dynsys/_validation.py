"""Argument validation shared by every public function of :mod:`dynsys`.

Each helper raises an error that names the argument in backticks, states what was expected
and what was received (the convention of ``scipy.integrate.solve_ivp``). Kernels never
validate: the public wrappers call these helpers first.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_square_matrix",
    "as_weight_stack",
    "as_points",
    "check_int",
    "check_finite",
    "check_choice",
    "check_positive_float",
    "check_labels",
]


def _describe(value) -> str:
    """Short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def _to_float_array(value, name: str) -> np.ndarray:
    if np.iscomplexobj(value):
        raise TypeError(
            f"`{name}` must be real; got complex values ({_describe(np.asarray(value))}). "
            "Pass the real part explicitly if that is what you mean."
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be a real numeric array; got {_describe(value)} ({exc})."
        ) from None
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise ``ValueError`` if `arr` holds NaN or infinity; return `arr` unchanged."""
    arr = np.asarray(arr)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"`{name}` must be finite; got {bad} NaN or infinite entr{'y' if bad == 1 else 'ies'}."
        )
    return arr


def as_square_matrix(W, name: str = "W") -> np.ndarray:
    """Return `W` as a finite float64 array of shape (N, N), N >= 1.

    Raises
    ------
    ValueError
        If `W` is not two-dimensional, not square, empty or not finite.
    """
    arr = _to_float_array(W, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(
            f"`{name}` must be a square matrix of shape (N, N); got shape {arr.shape}."
        )
    if arr.shape[0] < 1:
        raise ValueError(f"`{name}` must have N >= 1 rows; got shape {arr.shape}.")
    return check_finite(arr, name)


def as_weight_stack(W, name: str = "W") -> np.ndarray:
    """Return `W` as float64 (N, N) (shared weights) or (T, N, N) (one matrix per layer)."""
    arr = _to_float_array(W, name)
    if arr.ndim == 2:
        return as_square_matrix(arr, name)
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(
            f"`{name}` must have shape (N, N) for shared weights or (T, N, N) for per-layer "
            f"weights; got shape {arr.shape}."
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"`{name}` must have T >= 1 and N >= 1; got shape {arr.shape}.")
    return check_finite(arr, name)


def as_points(y, n: int, name: str = "y") -> tuple[np.ndarray, bool]:
    """Return `y` as a finite float64 batch of shape (B, N) and whether it was 1-D.

    Parameters
    ----------
    y : array_like, shape (N,) or (B, N)
    n : int
        The expected dimension N.
    """
    arr = _to_float_array(y, name)
    was_1d = arr.ndim == 1
    if was_1d:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(
            f"`{name}` must have shape ({n},) or (B, {n}); got shape {np.shape(y)}."
        )
    return check_finite(arr, name), was_1d


def check_int(value, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """Return `value` as an ``int`` after checking its type and range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {_describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}; got {value}.")
    return value


def check_positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Return `value` as a finite ``float`` > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {_describe(value)}.")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be finite and {bound}; got {value}.")
    return value


def check_choice(value, name: str, choices):
    """Return `value` if it is one of `choices`, else raise ``ValueError`` listing them."""
    if value not in tuple(choices):
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(c) for c in choices)}; got {value!r}."
        )
    return value


def check_labels(labels, n: int, name: str = "labels") -> np.ndarray:
    """Class labels as int64 of shape (n,): integers 0..C-1, one per input.

    The one check of class labels in :mod:`dynsys` and :mod:`analysis`. Labels of another
    kind (strings, floats, even whole-numbered ones, objects) are refused rather than
    converted: a float label is usually a wrong column, and a silent cast would hide it.

    Parameters
    ----------
    labels : array_like of int, shape (B,)
    n : int
        B, the number of inputs the labels belong to.
    name : str
        The argument's name in the error messages.

    Returns
    -------
    ndarray of int64, shape (B,)

    Raises
    ------
    ValueError
        A dtype that is not an integer one, another shape, or a negative label; the message
        names the argument, the labels expected and what was received.

    Examples
    --------
    >>> import dynsys
    >>> dynsys.check_labels([0, 2, 1], 3).tolist()
    [0, 2, 1]
    """
    expected = f"integer class labels 0..C-1, one per input (shape ({n},))"
    lab = np.asarray(labels)
    # the dtype first: strings or floats must not reach min(), which has no loop for strings
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"`{name}` must hold {expected}; got dtype {lab.dtype}. Map other "
                         f"labels to integers first, e.g. `np.unique({name}, "
                         "return_inverse=True)[1]`.")
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"`{name}` must hold {expected}; got shape {lab.shape}.")
    if lab.size and lab.min() < 0:
        raise ValueError(f"`{name}` must hold {expected}; got minimum {lab.min()}.")
    return lab.astype(np.int64)
