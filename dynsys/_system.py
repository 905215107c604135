"""The residual dynamics as a system: eq. 3's vector field and Jacobian, and the layer map.

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics":
a residual network with shared weights, ``x(t) = x(t-1) + f(W x(t-1) + b)`` (eq. 1-2), ``f``
logistic, has residuals ``y = f(z)`` whose continuous (forward-Euler, step 1) limit is

    dy_i/dt = y_i (1 - y_i) (sum_j w_ij y_j)                              (eq. 3)

The bias drops out. The Jacobian of eq. 3 is

    J(y) = diag((1 - 2y) * (W y)) + diag(y (1 - y)) W.

The network itself is not the flow but the step-1 map. Its pre-activations
``z(t) = W x(t-1) + b`` obey exactly

    z(t+1) = z(t) + W f(z(t))                                             (layer map)

with Jacobian ``I + W diag(s (1 - s))``, ``s = f(z)``: :func:`layer_map` and
:func:`layer_map_jacobian` work in these logit coordinates, where every finite state is
representable (a residual of ``1 - 1e-17`` rounds to 1; its logit, 39.1, does not). The same
map on the residuals, ``y(t+1) = g(y(t)) = f(f^{-1}(y(t)) + W y(t))``, is
:func:`residual_map` (with :func:`residual_map_jacobian`, which at a fixed point equals
``I + diag(y (1 - y)) W`` inside the cube and ``exp(+-(W y)_i)`` on face coordinates): the
coordinates of eq. 3's cube, in which fixed points on faces are points.

Every function here also takes tanh networks (``activation="tanh"``, or a network built with
it): ``f = tanh``, residuals in [-1, 1]^N, flow ``dy/dt = (1 - y^2)(W y)`` with Jacobian
``diag(-2y (W y)) + diag(1 - y^2) W``, and face multipliers ``exp(+-2 (W y)_i)``
(:mod:`dynsys._activation`).

The system definition is kept apart from the algorithms (fixed points, integration, ...), which
take a :class:`dynsys.Network`, a :class:`ResidualSystem` or a plain W array first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._activation import (
    ACTIVATIONS,
    Activation,
    check_activation,
    logistic,
    logit,
    resolve_activation,
)
from ._activation import activation as _activation_named
from ._network import Network, resnet_weights
from ._validation import _describe, as_points, as_square_matrix

__all__ = [
    "ResidualSystem",
    "as_system",
    "vector_field",
    "jacobian",
    "layer_map",
    "layer_map_jacobian",
    "residual_map",
    "residual_map_jacobian",
    "logistic",
    "logit",
]


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


@dataclass(frozen=True, repr=False, eq=False)
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
    activation : {"logistic", "tanh"}
        The activation: the logistic's flow is eq. 3 on [0, 1]^N, tanh's is
        ``dy/dt = (1 - y^2)(W y)`` on [-1, 1]^N.
    """

    W: np.ndarray
    W_exact: object = field(default=None, repr=False, compare=False)
    activation: str = "logistic"

    def __post_init__(self):
        check_activation(self.activation, "activation")
        W = as_square_matrix(self.W, "W").copy()
        W.setflags(write=False)
        object.__setattr__(self, "W", W)

    @classmethod
    def from_matrix(cls, W, activation=None) -> "ResidualSystem":
        """Build a system from any supported matrix type (see the class docstring).

        A shared-weight :class:`dynsys.Network` gives its W and its activation (a contradicting
        `activation` is refused); a bare matrix takes `activation` (default logistic).
        """
        act = resolve_activation(W, activation).name
        if isinstance(W, ResidualSystem):
            return W
        if isinstance(W, Network):
            W = resnet_weights(W, "W", ACTIVATIONS)
        exact = _exact_matrix(W)
        if exact is not None:
            W_float = np.array(exact.tolist(), dtype=np.float64)
        else:
            W_float = W
        return cls(W=W_float, W_exact=exact, activation=act)

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f", activation={self.activation!r}"
        return f"ResidualSystem(N={self.n}{act}, exact={self.W_exact is not None})"

    @property
    def act(self) -> Activation:
        """The :class:`~dynsys._activation.Activation` of this system."""
        return _activation_named(self.activation)

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

    # the maps of this system's W (the module functions below, with W bound)
    def vector_field(self, y):
        """F(y) = y(1-y)(Wy), see :func:`vector_field`."""
        return vector_field(self, y)

    def jacobian(self, y):
        """J(y), see :func:`jacobian`."""
        return jacobian(self, y)

    def layer_map(self, z):
        """z + W f(z) on pre-activations `z`, see :func:`layer_map`."""
        return layer_map(self, z)

    def layer_map_jacobian(self, z):
        """I + W diag(f'(z)), see :func:`layer_map_jacobian`."""
        return layer_map_jacobian(self, z)

    def residual_map(self, y):
        """g(y) = f(f^{-1}(y) + W y) on residuals `y`, see :func:`residual_map`."""
        return residual_map(self, y)

    def residual_map_jacobian(self, y):
        """Dg(y), see :func:`residual_map_jacobian`."""
        return residual_map_jacobian(self, y)


def check_logistic_system(system, name: str = "W") -> None:
    """Refuse a tanh :class:`ResidualSystem` where only the logistic's maths is written."""
    if isinstance(system, ResidualSystem) and system.activation != "logistic":
        raise ValueError(
            f"`{name}` must be a logistic system for this function; got a "
            f"{system.activation} system, whose flow is another one."
        )


def as_system(W, activation=None) -> ResidualSystem:
    """Return `W` as a :class:`ResidualSystem` (a system passes through unchanged)."""
    return ResidualSystem.from_matrix(W, activation)


def _weights_and_points(W, z, name, activation=None):
    """W (N, N), the activation, and `z` as a (B, N) batch.

    `W` is a Network, a ResidualSystem or an array; the activation is the system's own or,
    for an array, `activation` (default logistic); a contradiction is refused.
    """
    act = resolve_activation(W, activation)
    Wm = W.W if isinstance(W, ResidualSystem) else resnet_weights(W, "W", ACTIVATIONS)
    pts, was_1d = as_points(z, Wm.shape[0], name)
    return Wm, act, pts, was_1d


def vector_field(W, y, *, activation=None):
    """The vector field of the residual flow, ``F(y) = f'(f^{-1}(y)) (W y)``.

    Eq. 3, ``y (1 - y) (W y)``, for the logistic; ``(1 - y^2) (W y)`` for tanh.

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    y : array_like, shape (N,) or (B, N)
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise.

    Returns
    -------
    ndarray, shape like `y`
    """
    Wm, act, pts, was_1d = _weights_and_points(W, y, "y", activation)
    out = act.slope(pts) * (pts @ Wm.T)
    return out[0] if was_1d else out


def jacobian(W, y, *, activation=None):
    """Jacobian of the residual flow, ``J(y) = diag(s'(y) (W y)) + diag(s(y)) W``.

    ``s(y) = y (1 - y)``, ``s' = 1 - 2y`` for the logistic (eq. 3); ``s(y) = 1 - y^2``,
    ``s' = -2y`` for tanh.

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    y : array_like, shape (N,) or (B, N)
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise.

    Returns
    -------
    ndarray, shape (N, N) or (B, N, N)
    """
    Wm, act, pts, was_1d = _weights_and_points(W, y, "y", activation)
    wy = pts @ Wm.T
    J = act.slope(pts)[:, :, None] * Wm[None, :, :]
    idx = np.arange(Wm.shape[0])
    J[:, idx, idx] += act.slope_derivative(pts) * wy
    return J[0] if was_1d else J


def layer_map(W, z, *, activation=None):
    """One layer of a shared-weight ResNet in logit coordinates, ``z + W f(z)`` (eq. 1-2).

    With shared weights the pre-activations ``z(t) = W x(t-1) + b`` of Lagzi (2018), eq. 1-2,
    obey ``z(t+1) = z(t) + W y(t)`` exactly, ``y = f(z)``: the network is this map on the
    pre-activations, and the bias only sets ``z(1)``. It is defined for every finite `z`: a
    state at a numerically saturated face (``z = +-40``, ``+-1e3``, where ``y = f(z)`` rounds
    to 0 or 1) maps and differentiates without loss, which the same map written on the
    residuals y cannot do (see :func:`residual_map`).

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    z : array_like, shape (N,) or (B, N)
        Pre-activations (logits of the residuals), any finite values.

    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise. For tanh
        ``f = tanh``, the cube is [-1, 1]^N and the face multipliers are ``exp(+-2 (W y)_i)``.

    Returns
    -------
    ndarray, shape like `z`
        ``z + f(z) @ W.T``.
    """
    Wm, act, pts, was_1d = _weights_and_points(W, z, "z", activation)
    out = pts + act.f(pts) @ Wm.T
    return out[0] if was_1d else out


def layer_map_jacobian(W, z, *, activation=None):
    """Jacobian of :func:`layer_map`, ``I + W diag(s (1 - s))``, ``s = f(z)``.

    It is similar to ``I + diag(s (1 - s)) W`` (conjugate by ``diag(s (1 - s))`` where that is
    invertible), so at an interior fixed point of eq. 3 it has the multipliers of the residual
    map. On a saturated coordinate (``|z_i|`` large) its column is that of the identity: the
    logit moves at the constant speed ``(W y)_i`` and a perturbation of it is carried forward
    unchanged.

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    z : array_like, shape (N,) or (B, N), any finite values

    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise. For tanh
        ``f = tanh``, the cube is [-1, 1]^N and the face multipliers are ``exp(+-2 (W y)_i)``.

    Returns
    -------
    ndarray, shape (N, N) or (B, N, N)
    """
    Wm, act, pts, was_1d = _weights_and_points(W, z, "z", activation)
    d = act.slope_at(pts)
    J = Wm[None, :, :] * d[:, None, :]
    idx = np.arange(Wm.shape[0])
    J[:, idx, idx] += 1.0
    return J[0] if was_1d else J


def _check_closed_cube(pts, act, name="y"):
    if np.any(pts < act.lower) or np.any(pts > act.upper):
        what = ("the unit cube [0, 1]^N (residuals are logistic outputs)"
                if act.name == "logistic" else "the cube [-1, 1]^N (residuals are tanh outputs)")
        raise ValueError(
            f"`{name}` must lie in {what}; got values in [{pts.min():g}, {pts.max():g}]. For "
            "pre-activations use dynsys.layer_map(W, z)."
        )


def residual_map(W, y, *, activation=None):
    """The layer map written on the residuals, ``g(y) = f(f^{-1}(y) + W y)``.

    The conjugate of :func:`layer_map` by ``y = f(z)``: ``g(f(z)) = f(z + W f(z))``. A
    convenience for working in the cube of eq. 3, where fixed points on faces live. It is
    extended to the closed cube by continuity (the faces ``y_i = 0`` and ``y_i = 1`` are
    invariant). Residuals near a face have lost the digits that their logits keep (``f(40)``
    rounds to 1): iterate in logit coordinates with :func:`layer_map` when states saturate.

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    y : array_like, shape (N,) or (B, N), entries in [0, 1]

    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise. For tanh
        ``f = tanh``, the cube is [-1, 1]^N and the face multipliers are ``exp(+-2 (W y)_i)``.

    Returns
    -------
    ndarray, shape like `y`
    """
    Wm, act, pts, was_1d = _weights_and_points(W, y, "y", activation)
    _check_closed_cube(pts, act)
    z = act.inverse(pts)  # +-inf on faces, where f(+-inf + finite) is the face again
    out = act.f(z + pts @ Wm.T)
    return out[0] if was_1d else out


def residual_map_jacobian(W, y, *, activation=None):
    """Jacobian of :func:`residual_map`, ``diag(g (1 - g)) (diag(1 / (y (1 - y))) + W)``.

    At a fixed point (``g = y``) inside the cube this is ``I + diag(y (1 - y)) W``. On a face
    coordinate it is taken by continuity: row i is ``e^{a_i}`` on the diagonal (``y_i = 0``)
    or ``e^{-a_i}`` (``y_i = 1``), ``a = W y``, and zero elsewhere, so a fixed point on a face
    has the multipliers ``exp(+-(W y)_i)`` there.

    Parameters
    ----------
    W : Network (shared weights), ResidualSystem or array_like, shape (N, N)
    y : array_like, shape (N,) or (B, N), entries in [0, 1]

    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a system's own activation is used otherwise. For tanh
        ``f = tanh``, the cube is [-1, 1]^N and the face multipliers are ``exp(+-2 (W y)_i)``.

    Returns
    -------
    ndarray, shape (N, N) or (B, N, N)
    """
    Wm, act, pts, was_1d = _weights_and_points(W, y, "y", activation)
    _check_closed_cube(pts, act)
    a = pts @ Wm.T
    z = act.inverse(pts)
    finite = np.isfinite(z)
    zf = np.where(finite, z, 0.0)
    # diagonal ratio f'(z + a) / f'(z) through log f', exact in the limit of a face
    k = act.face_gain
    ratio = np.where(finite, np.exp(act.log_slope_at(zf + a) - act.log_slope_at(zf)),
                     np.exp(np.where(pts <= act.lower, k * a, -k * a)))
    gs = np.where(finite, act.slope_at(zf + a), 0.0)
    J = gs[:, :, None] * Wm[None, :, :]
    idx = np.arange(Wm.shape[0])
    J[:, idx, idx] += ratio
    return J[0] if was_1d else J
