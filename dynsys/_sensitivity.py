"""Sensitivity of the output to perturbations of a layer (Lagzi 2018, appendix A, eq. 9-10).

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics".
For a ResNet ``x(t) = x(t-1) + y(t)``, ``y(t) = f(W(t) x(t-1) + b(t))``, the derivative of a
layer's residual with respect to its input is

    M(t) = dy(t)/dx(t-1) = diag(y(t) (1 - y(t))) W(t)                     (eq. 9)

(``diag(1 - y(t)^2) W(t)`` for a tanh network)
so dx(t)/dx(t-1) = I + M(t), and a perturbation of x(s-1) reaches the classifier's input
x(T) through the product

    M'(s) = [I + M(T)] [I + M(T-1)] ... [I + M(s)],     S(s) = K M'(s)     (eq. 10)

with K the classifier weights. For the MLP ``y(t) = f(W(t) y(t-1) + b(t))`` the factors are
M(t) itself (there is no identity path): ``M'(s) = M(T) ... M(s)``. The paper compares
det M'(4) with det M'(10). For N = 784 these determinants over- or underflow float64, so
:func:`sensitivity` reports ``log|det M'(s)|`` and its sign. Because the determinant of a
product is the product of the determinants, ``log|det M'(s)| = sum_{t=s..T} log|det F(t)|``
(F(t) the layer's factor): each factor goes through LAPACK's LU (as
``numpy.linalg.slogdet``), never the product matrix, so nothing overflows and no accuracy is
lost to the conditioning of a long product. The products themselves (and S) are accumulated
backwards, ``M'(s) = M'(s+1) F(s)``, one matrix product per layer: T products of N x N
matrices in all (seconds for N = 784, T = 15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import readonly as _frozen
from ._activation import activation, activation_box
from ._layers import _as_network
from ._network import layer_index
from ._validation import _to_float_array, check_finite

__all__ = ["SensitivityResult", "sensitivity"]


@dataclass(frozen=True, repr=False, eq=False)
class SensitivityResult:
    """Result of :func:`sensitivity`. Arrays are read-only; layer s = 1..T is index s - 1.

    Shapes are for a batch of B inputs, layer first; states of one input, shape (T, N), drop
    the B axis.

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    readout : bool
        Whether S uses the network's readout K (else K = I: ``S(s) = M'(s)``).
    layer_logabsdet, layer_sign : ndarray (T, B)
        ``log|det F(t)|`` and the sign of ``det F(t)``, F(t) = I + M(t) (ResNet) or M(t)
        (MLP).
    logabsdet, sign : ndarray (T, B)
        ``log|det M'(s)|`` (natural log) and the sign of ``det M'(s)``, s = 1..T.
    products : ndarray (T, B, N, N) or None
        M'(s), when asked for (`products`).
    S : ndarray (T, B, C, N) or None
        ``S(s) = K M'(s)`` (eq. 10) with the network's readout K; ``None`` without one
        (K = I, S would be `products`).
    S_norm : ndarray (T, B)
        Frobenius norm of S(s) (of M'(s) without a readout).
    activation : {"logistic", "tanh"}
        The network's activation: ``M(t) = diag(y (1 - y)) W(t)`` or ``diag(1 - y^2) W(t)``.
    """

    kind: str
    readout: bool
    layer_logabsdet: np.ndarray
    layer_sign: np.ndarray
    logabsdet: np.ndarray
    sign: np.ndarray
    products: np.ndarray | None = None
    S: np.ndarray | None = None
    S_norm: np.ndarray | None = None
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def log10_det_ratio(self, s1: int, s2: int):
        """``log10(|det M'(s1)| / |det M'(s2)|)`` for layers s1, s2 in 1..T (the paper: 4, 10).

        A float for one input, shape (B,) for a batch.
        """
        T = self.logabsdet.shape[0]
        for name, s in (("s1", s1), ("s2", s2)):
            if not (1 <= int(s) <= T):
                raise ValueError(f"`{name}` must be a layer in 1..{T}; got {s}.")
        d = self.logabsdet[int(s1) - 1] - self.logabsdet[int(s2) - 1]
        return d / np.log(10.0)

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.logabsdet.shape))
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"SensitivityResult(kind={self.kind!r}, {act}logabsdet={shape}, "
                f"products={self.products is not None}, readout={self.readout})")


def _validate(net, states, act):
    y = _to_float_array(states, "states")
    if y.ndim not in (2, 3):
        raise ValueError(
            f"`states` must hold the residuals y(t) of one input, shape (T, N), or of a batch, "
            f"shape (T, B, N) as recorded by dynsys.iterate; got shape {y.shape}."
        )
    T, N = y.shape[0], y.shape[-1]
    if T < 1 or y.shape[1] < 1:
        raise ValueError(f"`states` must have T >= 1 layers and B >= 1 inputs; got shape "
                         f"{y.shape}.")
    if N != net.width:
        raise ValueError(
            f"`states` has shape {y.shape} but `net` has width N = {net.width}: `states` must "
            f"be (T, {net.width}) or (T, B, {net.width})."
        )
    check_finite(y, "states")
    if np.any(y < act.lower) or np.any(y > act.upper):
        raise ValueError(
            f"`states` must hold {act.name} outputs y in [{act.lower:g}, {act.upper:g}]; got "
            f"values in [{y.min():g}, {y.max():g}]."
        )
    return y


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


def _one(W, y, K, products, identity, act):
    """Sensitivity of one input: y (T, N); K (C, N) or None (K = I: only the norm of M')."""
    T, N = y.shape
    d = act.slope(y)
    # the depth rule of every run: 0-based layer t uses W[min(t + 1, L) - 1]
    Ws = W[None] if W.ndim == 2 else W

    def Wt(t):
        return Ws[layer_index(t + 1, len(Ws))]

    # the factors F(t) = [I +] diag(d) W for all layers, for LAPACK's LU
    A = np.empty((T, N, N))
    for t in range(T):
        np.multiply(d[t][:, None], Wt(t), out=A[t])
    idx = np.arange(N)
    if identity:
        A[:, idx, idx] += 1.0
    lsign, labs = _slogdet_stack(A)

    def step(P, s):
        # P F(s) = [P +] (P diag(d)) W, one product of the carried rows with W
        out = (P * d[s][None, :]) @ Wt(s)
        return out + P if identity else out

    P = np.empty((T, N, N)) if products else None
    S_norm = np.empty(T)
    S = None
    if K is not None:
        S = np.empty((T, K.shape[0], N))
        S[T - 1] = K @ A[T - 1]
    if products:
        P[T - 1] = A[T - 1]
        for s in range(T - 2, -1, -1):
            P[s] = step(P[s + 1], s)
        if K is not None:
            np.matmul(K[None], P, out=S)
    elif K is not None:
        for s in range(T - 2, -1, -1):
            S[s] = step(S[s + 1], s)
    if S is not None:
        S_norm[:] = np.sqrt(np.sum(S * S, axis=(-2, -1)))
    elif P is not None:
        S_norm[:] = np.sqrt(np.sum(P * P, axis=(-2, -1)))
    else:  # K = I without stored products: carry M'(s) one layer at a time
        cur = A[T - 1].copy()
        S_norm[T - 1] = np.linalg.norm(cur)
        for s in range(T - 2, -1, -1):
            cur = step(cur, s)
            S_norm[s] = np.linalg.norm(cur)
    # suffix sums: log|det M'(s)| = sum_{t >= s} log|det F(t)|
    logabs = np.cumsum(labs[::-1])[::-1]
    sign = np.cumprod(lsign[::-1])[::-1]
    return labs, lsign, logabs, sign, P, S, S_norm


def sensitivity(net, states, *, products=None):
    """Appendix A of Lagzi (2018), eq. 9-10: layer Jacobians, their products, log-determinants.

    Parameters
    ----------
    net : Network
        The network whose run `states` records: W (shared or per layer), ``net.kind`` (the
        ResNet's factors are ``I + M(t)``, the MLP's ``M(t)``), the activation
        (``M(t) = diag(1 - y^2) W(t)`` for tanh) and the readout ``net.K``.
        Without a readout K is the identity: ``S(s) = M'(s)`` (``S`` is then not stored; its
        norm is).
    states : array_like, shape (T, N) or (T, B, N)
        The residuals y(1..T) of one input, or of a batch (``IterateResult.y`` of
        :func:`dynsys.iterate` with ``record="all"``). Layer t of a per-layer network uses
        W(min(t, net.depth)): the states of ``iterate(net, x0, T)`` for any T, past the
        network's depth its last layer repeated (:ref:`depth-of-a-per-layer-network`).
    products : bool, optional
        Return the products M'(s) (T N^2 numbers per input). Default: True for one input,
        False for a batch.

    Returns
    -------
    SensitivityResult
        Arrays layer first: (T, B, ...) for a batch, (T, ...) for one input.

    Raises
    ------
    TypeError
        `net` is not a :class:`dynsys.Network`; complex `states`.
    ValueError
        `states` of the wrong shape or width for `net`, not finite, or outside the
        activation's box ([0, 1], or [-1, 1] for tanh).

    Notes
    -----
    ``log|det M'(s)|`` is a suffix sum of per-layer ``slogdet`` values, never the
    determinant of the product: see the module docstring. Cost per input: T LU factorizations
    and T - 1 matrix products of size N (of size C x N with a readout and no products).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> rng = np.random.default_rng(0)
    >>> net = dynsys.Network(rng.normal(size=(5, 5)))
    >>> r = dynsys.sensitivity(net, rng.random((15, 5)))
    >>> r.logabsdet.shape, r.products.shape
    ((15,), (15, 5, 5))
    """
    net = _as_network(net)
    act = activation(net.activation)
    y = _validate(net, states, act)
    W, K = net.W, net.K
    identity = net.kind == "resnet"
    batch = y.ndim == 3
    if products is None:
        products = not batch
    products = bool(products)
    if not batch:
        labs, lsign, logabs, sign, P, S, S_norm = _one(W, y, K, products, identity, act)
    else:
        outs = [_one(W, y[:, i, :], K, products, identity, act) for i in range(y.shape[1])]
        # stack the inputs on axis 1: layer first, then batch
        labs, lsign, logabs, sign, P, S, S_norm = (
            None if outs[0][k] is None else np.stack([o[k] for o in outs], axis=1)
            for k in range(7)
        )
    return SensitivityResult(
        kind=net.kind, readout=K is not None,
        layer_logabsdet=_frozen(labs), layer_sign=_frozen(lsign), logabsdet=_frozen(logabs),
        sign=_frozen(sign), products=_frozen(P), S=_frozen(S), S_norm=_frozen(S_norm),
        activation=act.name,
    )
