"""The residual dynamics as a system: vector field and Jacobian of eq. 3, and the layer map.

Lagzi (2018), ``seeds/001``: a residual network with shared weights,
``x(t) = x(t-1) + f(W x(t-1) + b)``, ``f`` logistic, has residuals ``y = f(z)`` whose
continuous (forward-Euler, step 1) limit is

    dy_i/dt = y_i (1 - y_i) (sum_j w_ij y_j)                              (eq. 3)

The bias drops out. The Jacobian of eq. 3 is

    J(y) = diag((1 - 2y) * (W y)) + diag(y (1 - y)) W.

The network itself is not the flow but the step-1 map. Since ``z(t+1) = z(t) + W y(t)``, the
residuals obey exactly ``y(t+1) = g(y(t)) = f(f^{-1}(y(t)) + W y(t))`` inside the open cube
(0, 1)^N. Its Jacobian is ``diag(g (1 - g)) (diag(1 / (y (1 - y))) + W)``, which at a fixed
point equals ``I + diag(y (1 - y)) W``.

The system definition is kept apart from the algorithms (fixed points, integration, ...), which
take a :class:`ResidualSystem` or a plain W array as their first argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._validation import as_points, as_square_matrix

__all__ = [
    "ResidualSystem",
    "as_system",
    "vector_field",
    "jacobian",
    "layer_map",
    "layer_map_jacobian",
    "logistic",
    "logit",
]


def logistic(z):
    """Numerically safe logistic function ``1 / (1 + exp(-z))`` (no overflow warnings)."""
    z = np.asarray(z, dtype=np.float64)
    # exp of a non-positive number never overflows: evaluate each sign on its own branch.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logit(y):
    """Inverse of :func:`logistic`, ``log(y / (1 - y))`` on the open interval (0, 1)."""
    y = np.asarray(y, dtype=np.float64)
    return np.log(y) - np.log1p(-y)


def _to_rational(value):
    """One exact entry as a SymPy Rational (ints, numpy ints, Fractions, Rationals)."""
    import sympy

    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, np.integer):
        return sympy.Integer(int(value))
    return sympy.Rational(value)


def _exact_matrix(W):
    """SymPy matrix of Rationals if every entry of `W` is exact, else ``None``.

    Floats are not converted here: a float matrix is a numerical system, and exact algorithms
    convert it on demand with :meth:`ResidualSystem.exact_W`.
    """
    import sympy

    if isinstance(W, sympy.MatrixBase):
        M = sympy.Matrix(W)
        bad = [e for e in M if not e.is_Rational]
        if bad:
            raise ValueError(
                f"`W` must have rational entries for exact work; got the entry {bad[0]!r}."
            )
        return M
    arr = np.asarray(W, dtype=object)
    if arr.ndim != 2:
        return None
    exact_types = (int, Fraction, sympy.Rational, np.integer)
    entries = arr.ravel().tolist()
    if not entries or not all(
        isinstance(v, exact_types) and not isinstance(v, bool) for v in entries
    ):
        return None
    return sympy.Matrix(arr.shape[0], arr.shape[1], [_to_rational(v) for v in entries])


@dataclass(frozen=True)
class ResidualSystem:
    """The residual dynamics dy/dt = y(1-y)(Wy) (eq. 3) for one shared weight matrix.

    Build it with :meth:`from_matrix` (or :func:`as_system`), which accepts float or integer
    arrays, nested lists of :class:`fractions.Fraction` or SymPy Rationals, or a SymPy matrix.

    Attributes
    ----------
    W : ndarray, shape (N, N)
        The weights as float64 (read-only).
    W_exact : sympy.Matrix or None
        The weights as exact Rationals when they were given exactly (integers, fractions,
        SymPy Rationals), else ``None``. Exact algorithms convert float weights on demand
        (a float is an exact binary rational).
    """

    W: np.ndarray
    W_exact: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        W = as_square_matrix(self.W, "W").copy()
        W.setflags(write=False)
        object.__setattr__(self, "W", W)

    @classmethod
    def from_matrix(cls, W) -> "ResidualSystem":
        """Build a system from any supported matrix type (see the class docstring)."""
        if isinstance(W, ResidualSystem):
            return W
        exact = _exact_matrix(W)
        if exact is not None:
            W_float = np.array(exact.tolist(), dtype=np.float64)
        else:
            W_float = W
        return cls(W=W_float, W_exact=exact)

    @property
    def n(self) -> int:
        """The dimension N."""
        return self.W.shape[0]

    def exact_W(self):
        """The weights as a SymPy matrix of exact Rationals (floats converted exactly)."""
        if self.W_exact is not None:
            return self.W_exact
        import sympy

        return sympy.Matrix(self.n, self.n, [sympy.Rational(float(v)) for v in self.W.ravel()])

    def vector_field(self, y):
        """F(y) = y(1-y)(Wy), see :func:`vector_field`."""
        return vector_field(self.W, y)

    def jacobian(self, y):
        """J(y), see :func:`jacobian`."""
        return jacobian(self.W, y)

    def layer_map(self, y):
        """g(y) = f(f^{-1}(y) + W y), see :func:`layer_map`."""
        return layer_map(self.W, y)

    def layer_map_jacobian(self, y):
        """Dg(y), see :func:`layer_map_jacobian`."""
        return layer_map_jacobian(self.W, y)


def as_system(W) -> ResidualSystem:
    """Return `W` as a :class:`ResidualSystem` (a system passes through unchanged)."""
    return ResidualSystem.from_matrix(W)


def _matrix_and_points(W, y, name="y"):
    Wm = W.W if isinstance(W, ResidualSystem) else as_square_matrix(W, "W")
    pts, was_1d = as_points(y, Wm.shape[0], name)
    return Wm, pts, was_1d


def vector_field(W, y):
    """The vector field of eq. 3, F(y) = y (1 - y) (W y).

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y : array_like, shape (N,) or (B, N)

    Returns
    -------
    ndarray, shape like `y`
    """
    Wm, pts, was_1d = _matrix_and_points(W, y)
    out = pts * (1.0 - pts) * (pts @ Wm.T)
    return out[0] if was_1d else out


def jacobian(W, y):
    """Jacobian of eq. 3, J(y) = diag((1 - 2y)(W y)) + diag(y (1 - y)) W.

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y : array_like, shape (N,) or (B, N)

    Returns
    -------
    ndarray, shape (N, N) or (B, N, N)
    """
    Wm, pts, was_1d = _matrix_and_points(W, y)
    wy = pts @ Wm.T
    J = (pts * (1.0 - pts))[:, :, None] * Wm[None, :, :]
    idx = np.arange(Wm.shape[0])
    J[:, idx, idx] += (1.0 - 2.0 * pts) * wy
    return J[0] if was_1d else J


def _check_open_cube(pts, name="y"):
    if np.any(pts <= 0.0) or np.any(pts >= 1.0):
        raise ValueError(
            f"`{name}` must lie in the open unit cube (0, 1)^N, where the layer map is defined "
            f"(residuals are logistic outputs); got values in [{pts.min():g}, {pts.max():g}]."
        )


def layer_map(W, y):
    """The exact step-1 residual map of a shared-weight ResNet, g(y) = f(f^{-1}(y) + W y).

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y : array_like, shape (N,) or (B, N), entries in the open interval (0, 1)

    Returns
    -------
    ndarray, shape like `y`
    """
    Wm, pts, was_1d = _matrix_and_points(W, y)
    _check_open_cube(pts)
    out = logistic(logit(pts) + pts @ Wm.T)
    return out[0] if was_1d else out


def layer_map_jacobian(W, y):
    """Jacobian of the step-1 map, Dg(y) = diag(g(1-g)) (diag(1/(y(1-y))) + W).

    At a fixed point (g = y) this is ``I + diag(y (1 - y)) W``.

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y : array_like, shape (N,) or (B, N), entries in (0, 1)

    Returns
    -------
    ndarray, shape (N, N) or (B, N, N)
    """
    Wm, pts, was_1d = _matrix_and_points(W, y)
    _check_open_cube(pts)
    g = logistic(logit(pts) + pts @ Wm.T)
    s = g * (1.0 - g)
    J = s[:, :, None] * Wm[None, :, :]
    idx = np.arange(Wm.shape[0])
    J[:, idx, idx] += s / (pts * (1.0 - pts))
    return J[0] if was_1d else J
