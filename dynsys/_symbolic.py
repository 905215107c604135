"""Exact, symbolic work on small systems with SymPy.

* :func:`symbolic_system` builds the vector field F(y) = y(1-y)(Wy) of eq. 3 (or
  F(y) = (1-y^2)(Wy) for tanh units) and its Jacobian for a given N, with symbolic weights
  ``w_ij`` or a given (rational) W, and lambdified NumPy versions of both.
* :func:`derive_eq3` derives eq. 3 from the network equations (eq. 1-2 of Lagzi 2018,
  "Residual networks classify inputs based on their neural transient dynamics"): the
  continuous limit of ``x(t) = x(t-1) + f(W x(t-1) + b)`` is ``dx/dt = y`` with
  ``y = f(z)``, ``z = W x + b``; the chain rule gives ``dz/dt = W dx/dt = W y`` and
  ``dy/dt = f'(z) dz/dt = f(z) (1 - f(z)) W y``. The bias ``b`` is constant and drops out.
  SymPy does each step and checks the result equals eq. 3. With ``activation="tanh"`` the
  same steps give ``dy/dt = (1 - tanh(z)^2) W y = (1 - y^2)(W y)``. It then derives the noise
  equation (eq. 5, or its tanh analogue): the exact ``dxi/dt = F(y + xi) - F(y)`` in closed
  form, and its linear part ``J(y) xi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ._activation import ACTIVATIONS, check_activation, resolve_activation
from ._network import Network, resnet_weights
from ._validation import check_int

__all__ = ["SymbolicSystem", "Derivation", "symbolic_system", "derive_eq3"]

#: Above this N symbolic expressions become unwieldy; exact algorithms use rational linear
#: algebra pattern by pattern instead (see :mod:`dynsys._fixed_points`).
MAX_SYMBOLIC_N = 12


@dataclass(frozen=True, eq=False, repr=False)
class SymbolicSystem:
    """Symbolic eq. 3 (or the tanh flow) for one N.

    Attributes
    ----------
    y : tuple of sympy.Symbol, length N
        The state variables ``y_1 .. y_N``.
    W : sympy.Matrix, shape (N, N)
        The weights: symbols ``w_ij`` or the given exact entries.
    F : sympy.Matrix, shape (N, 1)
        The vector field ``y_i (1 - y_i) (W y)_i`` (logistic) or ``(1 - y_i^2) (W y)_i``
        (tanh): a polynomial, exact for rational W.
    J : sympy.Matrix, shape (N, N)
        Its Jacobian ``dF_i / dy_j``: ``diag((1 - 2y)(W y)) + diag(y (1 - y)) W`` or
        ``diag(-2y (W y)) + diag(1 - y^2) W``.
    activation : str
        ``"logistic"`` or ``"tanh"``; :attr:`box` is its interval, [0, 1] or [-1, 1].
    """

    y: tuple
    W: sympy.Matrix
    F: sympy.Matrix
    J: sympy.Matrix
    activation: str = "logistic"

    @property
    def n(self) -> int:
        """The dimension N."""
        return len(self.y)

    @property
    def box(self) -> tuple:
        """``(lower, upper)`` as exact integers: (0, 1) or (-1, 1)."""
        return (0, 1) if self.activation == "logistic" else (-1, 1)

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"SymbolicSystem(N={self.n}, {act}"
                f"weights={len(self._weight_symbols())} symbols)")

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
        W = resnet_weights(W, "W", activations=ACTIVATIONS)
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


def _slope(name: str, v):
    """``f'(f^{-1}(v))`` as a polynomial in the residual: ``v (1 - v)`` or ``1 - v^2``."""
    return v * (1 - v) if name == "logistic" else 1 - v**2


def symbolic_system(W=None, *, n: int | None = None, activation=None) -> SymbolicSystem:
    """Build eq. 3 (or the tanh flow) and its Jacobian symbolically.

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
    activation : {"logistic", "tanh"}, optional
        The unit of the network: the field is ``y (1 - y) (W y)`` (logistic, the default for
        a bare W) or ``(1 - y^2) (W y)`` (tanh). A Network carries its own; a different
        `activation` next to it is an error.

    Returns
    -------
    SymbolicSystem
        ``F`` of shape (N, 1), ``J`` of shape (N, N), and the activation.

    Examples
    --------
    >>> import dynsys
    >>> dynsys.symbolic_system([[1, 0], [0, -1]], activation="tanh").F.T
    Matrix([[y_1*(1 - y_1**2), -y_2*(1 - y_2**2)]])
    """
    if W is None and n is None:
        raise TypeError("symbolic_system needs `W` (the weights, shape (N, N)) or, for "
                        "symbolic weights w_ij, the keyword `n` (N).")
    if isinstance(W, (int, np.integer)) and not isinstance(W, bool):
        raise TypeError(f"`W` must be a weight matrix of shape (N, N); got the integer {W}. "
                        f"For symbolic weights pass n={W} (symbolic_system(n={W})); the "
                        "dimension comes after the system, by keyword.")
    # read before W is reduced to its matrix, which no longer carries the activation
    act = resolve_activation(W, activation).name
    if n is None:
        W = resnet_weights(W, "W", activations=ACTIVATIONS) if isinstance(W, Network) else W
        shape = W.shape if isinstance(W, sympy.MatrixBase) else np.shape(W)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"`W` must have shape (N, N); got shape {tuple(shape)}.")
        n = shape[0]
    n = check_int(n, "n", minimum=1, maximum=MAX_SYMBOLIC_N)
    y = sympy.symbols(f"y_1:{n + 1}", real=True)
    Wm = _weights(n, W)
    yv = sympy.Matrix(y)
    Wy = Wm * yv
    F = sympy.Matrix([_slope(act, y[i]) * Wy[i] for i in range(n)])
    J = F.jacobian(yv)
    return SymbolicSystem(y=tuple(y), W=Wm, F=F, J=J, activation=act)


@dataclass(frozen=True, eq=False, repr=False)
class Derivation:
    """The derivation of eq. 3 (or the tanh flow) and of its noise equation, step by step.

    Attributes
    ----------
    dz_dt : sympy.Matrix, shape (N, 1)
        ``dz/dt`` from ``z = W x + b`` and ``dx/dt = y``: equals ``W y``.
    dy_dt : sympy.Matrix, shape (N, 1)
        ``dy/dt = f'(z) dz/dt`` written in the residuals y (f the activation).
    eq3 : sympy.Matrix, shape (N, 1)
        The right-hand side of eq. 3, ``y (1 - y) (W y)``, or for tanh ``(1 - y^2) (W y)``.
    holds : bool
        Whether ``dy_dt - eq3`` simplifies to zero.
    activation : str
        ``"logistic"`` or ``"tanh"``.
    noise : sympy.Matrix, shape (N, 1), in the symbols ``y_i`` and ``xi_i``
        The closed form of the exact noise equation ``dxi/dt`` (eq. 5):
        ``y(1-y)(W xi) + xi(1-2y-xi)(W(y+xi))``, or for tanh
        ``(1-y^2)(W xi) - xi(2y+xi)(W(y+xi))``.
    variational : sympy.Matrix, shape (N, 1)
        ``J(y) xi``, the variational equation (the noise equation to first order).
    noise_holds : bool
        Whether `noise` equals ``F(y + xi) - F(y)`` for the derived field F, and its part
        linear in xi equals `variational`, both identically (polynomial identities).
    """

    dz_dt: sympy.Matrix
    dy_dt: sympy.Matrix
    eq3: sympy.Matrix
    holds: bool
    activation: str = "logistic"
    noise: sympy.Matrix = None
    variational: sympy.Matrix = None
    noise_holds: bool = None

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return f"Derivation(N={self.eq3.shape[0]}, {act}holds={self.holds})"


def derive_eq3(n: int = 2, *, activation: str = "logistic") -> Derivation:
    """Derive eq. 3 from ``x' = y``, ``y = f(W x + b)``, and its noise equation.

    Parameters
    ----------
    n : int
        The dimension N (small: 1..4 is quick).
    activation : {"logistic", "tanh"}
        The unit f: the logistic gives eq. 3, ``dy/dt = y (1 - y) (W y)``; tanh gives
        ``dy/dt = (1 - y^2) (W y)`` on [-1, 1]^N.

    Returns
    -------
    Derivation
        The steps, the derived field, whether it equals the stated flow (``holds``), and the
        noise equation with its check (``noise_holds``).

    Examples
    --------
    >>> import dynsys
    >>> d = dynsys.derive_eq3(2, activation="tanh")
    >>> d.holds, d.noise_holds
    (True, True)
    """
    act = check_activation(activation)
    n = check_int(n, "n", minimum=1, maximum=MAX_SYMBOLIC_N)
    t = sympy.Symbol("t", real=True)
    W = _weights(n, None)
    b = sympy.Matrix(sympy.symbols(f"b_1:{n + 1}", real=True))
    x = sympy.Matrix([sympy.Function(f"x_{i + 1}")(t) for i in range(n)])
    z = W * x + b
    if act == "logistic":
        f = lambda u: 1 / (1 + sympy.exp(-u))  # noqa: E731 - the logistic unit of eq. 1
    else:
        f = sympy.tanh
    y_of_x = z.applyfunc(f)
    # The continuous limit (forward Euler with step 1): dx/dt = y.
    xdot = {sympy.Derivative(x[i], t): y_of_x[i] for i in range(n)}
    dz_dt = z.diff(t).subs(xdot)
    dy_dt_x = y_of_x.diff(t).subs(xdot)
    # Rewrite in the residuals: f(z_i) -> y_i, using f' = f (1 - f) symbolically.
    ys = sympy.Matrix(sympy.symbols(f"y_1:{n + 1}", real=True))
    zsym = sympy.Matrix(sympy.symbols(f"z_1:{n + 1}", real=True))
    to_z = {z[i]: zsym[i] for i in range(n)}
    if act == "logistic":
        # exp(-z_i) = (1 - y_i) / y_i for the logistic f, so every exponential becomes a
        # rational function of the residuals; the result must then equal y (1 - y) (W y).
        in_y = {sympy.exp(-zsym[i]): (1 - ys[i]) / ys[i] for i in range(n)}
        in_y.update({sympy.exp(zsym[i]): ys[i] / (1 - ys[i]) for i in range(n)})
    else:
        # SymPy differentiates tanh to 1 - tanh^2 and the x_j(t) enter only through tanh(z_i);
        # tanh(z_i) = y_i then leaves a polynomial in the residuals: (1 - y^2)(W y).
        in_y = {sympy.tanh(zsym[i]): ys[i] for i in range(n)}

    def in_residuals(expr):
        expr = expr.subs(to_z)
        if act == "logistic":
            expr = sympy.simplify(expr)
        # (not for tanh: simplify would turn 1 - tanh(z)^2 into cosh(z)^-2, out of reach of
        # the substitution tanh(z_i) -> y_i)
        return sympy.simplify(expr.subs(in_y))

    dy_dt = dy_dt_x.applyfunc(in_residuals)
    dz_dt_y = dz_dt.applyfunc(in_residuals)
    eq3 = sympy.Matrix([_slope(act, ys[i]) * (W * ys)[i] for i in range(n)])
    holds = all(sympy.simplify(d) == 0 for d in (dy_dt - eq3))
    noise, variational, noise_holds = _derive_noise(act, W, ys, dy_dt)
    return Derivation(dz_dt=dz_dt_y, dy_dt=dy_dt, eq3=eq3, holds=bool(holds), activation=act,
                      noise=noise, variational=variational, noise_holds=noise_holds)


def _derive_noise(act: str, W, ys, field):
    """The noise equation of the derived `field` F(y): eq. 5 or its tanh analogue.

    A noisy input gives a second trajectory y + xi of the same flow (eq. 4), so exactly
    ``dxi/dt = F(y + xi) - F(y)``. The closed form factors the change of the slope,
    ``y(1-y)`` -> ``(y+xi)(1-y-xi)`` adds ``xi (1 - 2y - xi)``, and ``1 - y^2`` ->
    ``1 - (y+xi)^2`` adds ``-xi (2y + xi)``. Both are checked as polynomial identities, and the
    part linear in xi against ``J(y) xi`` with J the Jacobian of F.
    """
    n = len(ys)
    xs = sympy.Matrix(sympy.symbols(f"xi_1:{n + 1}", real=True))
    shifted = dict(zip(ys, ys + xs))
    exact = (field.xreplace(shifted) - field).applyfunc(sympy.expand)
    wx = W * xs
    wyx = W * (ys + xs)
    if act == "logistic":
        noise = sympy.Matrix([ys[i] * (1 - ys[i]) * wx[i]
                              + xs[i] * (1 - 2 * ys[i] - xs[i]) * wyx[i] for i in range(n)])
    else:
        noise = sympy.Matrix([(1 - ys[i] ** 2) * wx[i]
                              - xs[i] * (2 * ys[i] + xs[i]) * wyx[i] for i in range(n)])
    variational = field.jacobian(ys) * xs
    eps = sympy.Symbol("epsilon")
    scaled = exact.xreplace({x: eps * x for x in xs})
    linear = scaled.applyfunc(lambda e: sympy.expand(e).coeff(eps, 1))
    holds = ((noise.applyfunc(sympy.expand) - exact).is_zero_matrix
             and (linear - variational.applyfunc(sympy.expand)).applyfunc(sympy.expand)
             .is_zero_matrix)
    return noise, variational, bool(holds)
