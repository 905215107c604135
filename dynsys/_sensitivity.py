"""Sensitivity of the output to perturbations of a layer (Lagzi 2018, appendix A, eq. 9-10).

For a ResNet ``x(t) = x(t-1) + y(t)``, ``y(t) = f(W(t) x(t-1) + b(t))``, the derivative of a
layer's residual with respect to its input is

    M(t) = dy(t)/dx(t-1) = diag(y(t) (1 - y(t))) W(t)                     (eq. 9)

so dx(t)/dx(t-1) = I + M(t), and a perturbation of x(s-1) reaches the classifier's input
x(T) through the product

    M'(s) = [I + M(T)] [I + M(T-1)] ... [I + M(s)],     S(s) = K M'(s)     (eq. 10)

with K the classifier weights. The paper compares det M'(4) with det M'(10). For N = 784
these determinants over- or underflow float64, so :func:`sensitivity` reports
``log|det M'(s)|`` and its sign. Because the determinant of a product is the product of the
determinants, ``log|det M'(s)| = sum_{t=s..T} log|det(I + M(t))|``: each factor goes
through LAPACK's LU (``numpy.linalg.slogdet``), never the product matrix, so nothing
overflows and no accuracy is lost to the conditioning of a long product. The products
themselves (and S) are accumulated backwards, ``M'(s) = M'(s+1) [I + M(s)]``, one matrix
product per layer: T products of N x N matrices in all (seconds for N = 784, T = 15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_finite
from ._arrays import readonly as _frozen

__all__ = ["SensitivityResult", "sensitivity"]




@dataclass(frozen=True)
class SensitivityResult:
    """Result of :func:`sensitivity`. Arrays are read-only; layer s = 1..T is index s - 1.

    Shapes are for one input; a batch adds a leading B axis to every array.

    Attributes
    ----------
    layer_logabsdet, layer_sign : ndarray (T,)
        ``log|det(I + M(t))|`` and the sign of ``det(I + M(t))``.
    logabsdet, sign : ndarray (T,)
        ``log|det M'(s)|`` (natural log) and the sign of ``det M'(s)``, s = 1..T.
    products : ndarray (T, N, N) or None
        M'(s), when asked for (`products`).
    S : ndarray (T, C, N) or None
        ``S(s) = K M'(s)`` when `K` is given.
    S_norm : ndarray (T,) or None
        Frobenius norm of S(s) when `K` is given.
    """

    layer_logabsdet: np.ndarray
    layer_sign: np.ndarray
    logabsdet: np.ndarray
    sign: np.ndarray
    products: np.ndarray | None = None
    S: np.ndarray | None = None
    S_norm: np.ndarray | None = None

    def log10_det_ratio(self, s1: int, s2: int):
        """``log10(|det M'(s1)| / |det M'(s2)|)`` for layers s1, s2 in 1..T (the paper: 4, 10)."""
        T = self.logabsdet.shape[-1]
        for name, s in (("s1", s1), ("s2", s2)):
            if not (1 <= int(s) <= T):
                raise ValueError(f"`{name}` must be a layer in 1..{T}; got {s}.")
        d = self.logabsdet[..., int(s1) - 1] - self.logabsdet[..., int(s2) - 1]
        return d / np.log(10.0)


def _validate(W, y, K):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (2, 3):
        raise ValueError(
            f"`y` must hold the residuals y(t) of one input, shape (T, N), or of a batch, shape "
            f"(T, B, N) as recorded by dynsys.iterate; got shape {y.shape}."
        )
    T, N = y.shape[0], y.shape[-1]
    if T < 1 or N < 1:
        raise ValueError(f"`y` must have T >= 1 layers and N >= 1 neurons; got shape {y.shape}.")
    check_finite(y, "y")
    if np.any(y < 0) or np.any(y > 1):
        raise ValueError(
            f"`y` must hold logistic outputs in [0, 1]; got values in [{y.min():g}, {y.max():g}]."
        )
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        if W.shape != (N, N):
            raise ValueError(
                f"`W` has shape {W.shape} but `y` has shape {y.shape}: shared weights must be "
                f"({N}, {N})."
            )
    elif W.ndim == 3:
        if W.shape != (T, N, N):
            raise ValueError(
                f"`W` has shape {W.shape} but `y` has shape {y.shape}: per-layer weights must be "
                f"({T}, {N}, {N})."
            )
    else:
        raise ValueError(f"`W` must have shape (N, N) or (T, N, N); got shape {W.shape}.")
    check_finite(W, "W")
    if K is not None:
        K = np.asarray(K, dtype=np.float64)
        if K.ndim == 1:
            K = K[None, :]
        if K.ndim != 2 or K.shape[1] != N:
            raise ValueError(
                f"`K` has shape {np.shape(K)} but `y` has N = {N} neurons: `K` must be (C, {N})."
            )
        check_finite(K, "K")
    return W, y, K


def _slogdet_stack(A):
    """``(sign, log|det|)`` of each matrix of the stack `A` (T, N, N), from its LU factors.

    The same computation as :func:`numpy.linalg.slogdet` (LAPACK getrf, then the sum of
    log|u_ii| and the sign of the pivots), through SciPy, whose LU is several times faster
    than NumPy's stacked slogdet for N ~ 800.
    """
    from scipy.linalg import lu_factor

    T, N = A.shape[0], A.shape[1]
    sign = np.empty(T)
    logabs = np.empty(T)
    swaps_ref = np.arange(N)
    for t in range(T):
        # det(A^T) = det(A); the transpose is Fortran-ordered, so LAPACK needs no copy
        lu, piv = lu_factor(A[t].T, check_finite=False)
        u = np.diagonal(lu)
        if np.any(u == 0):
            sign[t], logabs[t] = 0.0, -np.inf
            continue
        n_swaps = np.count_nonzero(piv != swaps_ref)
        sign[t] = (-1.0) ** n_swaps * np.prod(np.sign(u))
        logabs[t] = np.sum(np.log(np.abs(u)))
    return sign, logabs


def _one(W, y, K, products):
    """Sensitivity of one input: y (T, N)."""
    T, N = y.shape
    d = y * (1.0 - y)
    Wt = (lambda t: W) if W.ndim == 2 else (lambda t: W[t])
    # I + M(t) for all layers, for LAPACK's batched LU
    A = np.empty((T, N, N))
    for t in range(T):
        np.multiply(d[t][:, None], Wt(t), out=A[t])
    idx = np.arange(N)
    A[:, idx, idx] += 1.0
    lsign, labs = _slogdet_stack(A)
    # backwards accumulation of the products and of S
    P = np.empty((T, N, N)) if products else None
    S = np.empty((T, K.shape[0], N)) if K is not None else None
    if products:
        P[T - 1] = A[T - 1]
        for s in range(T - 2, -1, -1):
            # M'(s) = M'(s+1) (I + diag(d) W) = M'(s+1) + (M'(s+1) diag(d)) W
            P[s] = P[s + 1] + (P[s + 1] * d[s][None, :]) @ Wt(s)
        if K is not None:
            np.matmul(K[None], P, out=S)
    elif K is not None:
        S[T - 1] = K @ A[T - 1]
        for s in range(T - 2, -1, -1):
            S[s] = S[s + 1] + (S[s + 1] * d[s][None, :]) @ Wt(s)
    # suffix sums: log|det M'(s)| = sum_{t >= s} log|det(I + M(t))|
    logabs = np.cumsum(labs[::-1])[::-1]
    sign = np.cumprod(lsign[::-1])[::-1]
    return labs, lsign, logabs, sign, P, S


def sensitivity(W, y, K=None, *, products=None):
    """Appendix A of Lagzi (2018): layer Jacobians, their products and log-determinants.

    Parameters
    ----------
    W : array_like, shape (N, N) or (T, N, N)
        Shared or per-layer weights.
    y : array_like, shape (T, N) or (T, B, N)
        The residuals y(1..T) of one input, or of a batch (``IterateResult.y`` of
        :func:`dynsys.iterate` with ``record="all"``).
    K : array_like, shape (C, N), optional
        Classifier weights: S(s) = K M'(s) is returned with its Frobenius norm.
    products : bool, optional
        Return the products M'(s) (T N^2 numbers per input). Default: True for one input,
        False for a batch.

    Returns
    -------
    SensitivityResult

    Notes
    -----
    ``log|det M'(s)|`` is a suffix sum of per-layer ``slogdet`` values, never the
    determinant of the product: see the module docstring. Cost per input: T LU factorizations
    and, for the products, T - 1 matrix products of size N.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(5, 5)); y = rng.random((15, 5))
    >>> r = dynsys.sensitivity(W, y)
    >>> r.logabsdet.shape, r.products.shape
    ((15,), (15, 5, 5))
    """
    W, y, K = _validate(W, y, K)
    batch = y.ndim == 3
    if products is None:
        products = not batch
    products = bool(products)
    if not batch:
        labs, lsign, logabs, sign, P, S = _one(W, y, K, products)
    else:
        outs = [_one(W, y[:, i, :], K, products) for i in range(y.shape[1])]
        labs, lsign, logabs, sign, P, S = (
            None if outs[0][k] is None else np.stack([o[k] for o in outs]) for k in range(6)
        )
    S_norm = None
    if S is not None:
        S_norm = np.sqrt(np.sum(S * S, axis=(-2, -1)))
    return SensitivityResult(
        layer_logabsdet=_frozen(labs), layer_sign=_frozen(lsign), logabsdet=_frozen(logabs),
        sign=_frozen(sign), products=_frozen(P), S=_frozen(S), S_norm=_frozen(S_norm),
    )
