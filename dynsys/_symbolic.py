"""Exact, symbolic work on small systems with SymPy.

* :func:`symbolic_system` builds the vector field F(y) = y(1-y)(Wy) of eq. 3 and its Jacobian
  for a given N, with symbolic weights ``w_ij`` or a given (rational) W, and lambdified
  NumPy versions of both.
* :func:`derive_eq3` derives eq. 3 from the network equations (eq. 1-2 of Lagzi 2018,
  "Residual networks classify inputs based on their neural transient dynamics"): the
  continuous limit of ``x(t) = x(t-1) + f(W x(t-1) + b)`` is ``dx/dt = y`` with
  ``y = f(z)``, ``z = W x + b``; the chain rule gives ``dz/dt = W dx/dt = W y`` and
  ``dy/dt = f'(z) dz/dt = f(z) (1 - f(z)) W y``. The bias ``b`` is constant and drops out.
  SymPy does each step and checks the result equals eq. 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ._network import Network, resnet_weights
from ._validation import check_int

__all__ = ["SymbolicSystem", "Derivation", "symbolic_system", "derive_eq3"]

#: Above this N symbolic expressions become unwieldy; exact algorithms use rational linear
#: algebra pattern by pattern instead (see :mod:`dynsys._fixed_points`).
MAX_SYMBOLIC_N = 12


@dataclass(frozen=True, eq=False, repr=False)
class SymbolicSystem:
    """Symbolic eq. 3 for one N.

    Attributes
    ----------
    y : tuple of sympy.Symbol, length N
        The state variables ``y_1 .. y_N``.
    W : sympy.Matrix, shape (N, N)
        The weights: symbols ``w_ij`` or the given exact entries.
    F : sympy.Matrix, shape (N, 1)
        The vector field ``y_i (1 - y_i) (W y)_i``.
    J : sympy.Matrix, shape (N, N)
        Its Jacobian ``dF_i / dy_j``.
    """

    y: tuple
    W: sympy.Matrix
    F: sympy.Matrix
    J: sympy.Matrix

    @property
    def n(self) -> int:
        """The dimension N."""
        return len(self.y)

    def __repr__(self) -> str:
        return f"SymbolicSystem(N={self.n}, weights={len(self._weight_symbols())} symbols)"

    def _weight_symbols(self):
        return sorted(self.W.free_symbols, key=lambda s: s.name)

    def lambdify(self):
        """NumPy callables ``(F, J)`` of ``(y, *weights)``.

        ``y`` is an array of shape (N,); the weights are the free ``w_ij`` symbols in name
        order (none when W was given numerically). ``F`` returns shape (N,), ``J`` (N, N).
        """
        args = [list(self.y)] + self._weight_symbols()
        f_num = sympy.lambdify(args, self.F, "numpy")
        j_num = sympy.lambdify(args, self.J, "numpy")

        def F(y, *w):
            return np.asarray(f_num(np.asarray(y, dtype=float), *w), float).ravel()

        def J(y, *w):
            return np.asarray(j_num(np.asarray(y, dtype=float), *w), float)

        return F, J


def _weights(n: int, W):
    if W is None:
        return sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"w_{i + 1}_{j + 1}"))
    if isinstance(W, Network):
        W = resnet_weights(W, "W")
    if not isinstance(W, sympy.MatrixBase) and np.iscomplexobj(W):
        raise TypeError("`W` must be real; got complex values. Pass the real part explicitly "
                        "if that is what you mean.")
    M = sympy.Matrix(W)
    if M.shape != (n, n):
        raise ValueError(f"`W` must have shape ({n}, {n}); got shape {M.shape}.")
    M = M.applyfunc(sympy.nsimplify)
    bad = [e for e in M if e.is_real is False]
    if bad:
        raise TypeError(f"`W` must be real; got the entry {bad[0]!r}.")
    return M


def symbolic_system(W=None, *, n: int | None = None) -> SymbolicSystem:
    """Build eq. 3 and its Jacobian symbolically.

    The system comes first, as everywhere in :mod:`dynsys`: ``symbolic_system(W)`` for exact
    weights, ``symbolic_system(n=N)`` for symbols ``w_ij``.

    Parameters
    ----------
    W : array_like, sympy.Matrix or dynsys.Network (shared weights), shape (N, N), optional
        Exact (real) weights; symbols ``w_ij`` when omitted (then `n` is required). Floats
        are made exact with ``sympy.nsimplify``.
    n : int, optional
        The dimension N, 1 <= N <= 12, keyword only: required without `W`, and checked
        against `W`'s shape when both are given.

    Returns
    -------
    SymbolicSystem
    """
    if W is None and n is None:
        raise TypeError("symbolic_system needs `W` (the weights, shape (N, N)) or, for "
                        "symbolic weights w_ij, the keyword `n` (N).")
    if isinstance(W, (int, np.integer)) and not isinstance(W, bool):
        raise TypeError(f"`W` must be a weight matrix of shape (N, N); got the integer {W}. "
                        f"For symbolic weights pass n={W} (symbolic_system(n={W})); the "
                        "dimension comes after the system, by keyword.")
    if n is None:
        W = resnet_weights(W, "W") if isinstance(W, Network) else W
        shape = W.shape if isinstance(W, sympy.MatrixBase) else np.shape(W)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"`W` must have shape (N, N); got shape {tuple(shape)}.")
        n = shape[0]
    n = check_int(n, "n", minimum=1, maximum=MAX_SYMBOLIC_N)
    y = sympy.symbols(f"y_1:{n + 1}", real=True)
    Wm = _weights(n, W)
    yv = sympy.Matrix(y)
    Wy = Wm * yv
    F = sympy.Matrix([y[i] * (1 - y[i]) * Wy[i] for i in range(n)])
    J = F.jacobian(yv)
    return SymbolicSystem(y=tuple(y), W=Wm, F=F, J=J)


@dataclass(frozen=True, eq=False, repr=False)
class Derivation:
    """The derivation of eq. 3 from the network equations, step by step.

    Attributes
    ----------
    dz_dt : sympy.Matrix, shape (N, 1)
        ``dz/dt`` from ``z = W x + b`` and ``dx/dt = y``: equals ``W y``.
    dy_dt : sympy.Matrix, shape (N, 1)
        ``dy/dt = f'(z) dz/dt`` written in the residuals y (logistic f).
    eq3 : sympy.Matrix, shape (N, 1)
        The right-hand side of eq. 3, ``y (1 - y) (W y)``.
    holds : bool
        Whether ``dy_dt - eq3`` simplifies to zero.
    """

    dz_dt: sympy.Matrix
    dy_dt: sympy.Matrix
    eq3: sympy.Matrix
    holds: bool

    def __repr__(self) -> str:
        return f"Derivation(N={self.eq3.shape[0]}, holds={self.holds})"


def derive_eq3(n: int = 2) -> Derivation:
    """Derive eq. 3 from ``x' = y``, ``y = f(W x + b)`` with logistic ``f``.

    Parameters
    ----------
    n : int
        The dimension N (small: 1..4 is quick).

    Returns
    -------
    Derivation
    """
    n = check_int(n, "n", minimum=1, maximum=MAX_SYMBOLIC_N)
    t = sympy.Symbol("t", real=True)
    W = _weights(n, None)
    b = sympy.Matrix(sympy.symbols(f"b_1:{n + 1}", real=True))
    x = sympy.Matrix([sympy.Function(f"x_{i + 1}")(t) for i in range(n)])
    z = W * x + b
    f = lambda u: 1 / (1 + sympy.exp(-u))  # noqa: E731 - the logistic unit of eq. 1
    y_of_x = z.applyfunc(f)
    # The continuous limit (forward Euler with step 1): dx/dt = y.
    xdot = {sympy.Derivative(x[i], t): y_of_x[i] for i in range(n)}
    dz_dt = z.diff(t).subs(xdot)
    dy_dt_x = y_of_x.diff(t).subs(xdot)
    # Rewrite in the residuals: f(z_i) -> y_i, using f' = f (1 - f) symbolically.
    ys = sympy.Matrix(sympy.symbols(f"y_1:{n + 1}", real=True))
    zsym = sympy.Matrix(sympy.symbols(f"z_1:{n + 1}", real=True))
    to_z = {z[i]: zsym[i] for i in range(n)}
    # exp(-z_i) = (1 - y_i) / y_i for the logistic f, so every exponential becomes a rational
    # function of the residuals; the result must then equal y (1 - y) (W y).
    in_y = {sympy.exp(-zsym[i]): (1 - ys[i]) / ys[i] for i in range(n)}
    in_y.update({sympy.exp(zsym[i]): ys[i] / (1 - ys[i]) for i in range(n)})

    def in_residuals(expr):
        return sympy.simplify(sympy.simplify(expr.subs(to_z)).subs(in_y))

    dy_dt = dy_dt_x.applyfunc(in_residuals)
    dz_dt_y = dz_dt.applyfunc(in_residuals)
    eq3 = sympy.Matrix([ys[i] * (1 - ys[i]) * (W * ys)[i] for i in range(n)])
    holds = all(sympy.simplify(d) == 0 for d in (dy_dt - eq3))
    return Derivation(dz_dt=dz_dt_y, dy_dt=dy_dt, eq3=eq3, holds=bool(holds))
