"""The activations of a residual network: the logistic and tanh, and what the maths needs of each.

A residual network ``x(t) = x(t-1) + f(W x(t-1) + b)`` has residuals ``y = f(z)`` in the box
of `f`'s range, and its continuous limit is ``dy/dt = f'(f^{-1}(y)) (W y)``:

===========  ==============  =============  ====================  =========================
activation   f(z)            box            f'(f^{-1}(y))         flow
===========  ==============  =============  ====================  =========================
logistic     1/(1+e^{-z})    [0, 1]^N       y (1 - y)             dy/dt = y(1-y)(W y)  (eq. 3)
tanh         tanh z          [-1, 1]^N      1 - y^2               dy/dt = (1-y^2)(W y)
===========  ==============  =============  ====================  =========================

The two are conjugate: ``tanh(z) = 2 f(2z) - 1`` with ``f`` the logistic. In the coordinates
``u = 2z`` and ``s = (y + 1) / 2`` a tanh network is a logistic network with weights ``4W``
and the constant drive ``c = -2 W 1``:

    u(t+1) = u(t) + 4W f(u(t)) - 2W1,      ds/dt = s (1 - s) (4W s - 2W1).

The change of coordinates is affine, and the time is the same, so the flow's eigenvalues and
the layer map's multipliers are the same numbers in both; :mod:`dynsys` carries both
activations through one set of kernels for the logistic flow with an affine rate,
``dy/dt = y (1 - y) (W y + c)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import _describe

__all__ = ["ACTIVATIONS", "Activation", "activation", "check_activation", "logistic", "logit"]

def logistic(z, out=None):
    """The logistic function ``f(z) = 1 / (1 + exp(-z))``, safe for every float (no warnings).

    The one NumPy logistic of :mod:`dynsys` (the compiled kernels have theirs, with the same
    operations): ``r = 1 / (1 + e)`` for ``z >= 0`` and ``e * r`` below, ``e = exp(-|z|)``, so
    nothing overflows and small values keep their relative accuracy.

    Parameters
    ----------
    z : array_like
        Logits (float64).
    out : ndarray of float64, optional
        Where to write the result, of the shape of `z`; may be `z` itself (in place, as the
        census's layer loop uses it: no temporary of the result's size besides one scratch).

    Returns
    -------
    ndarray
        ``f(z)``, of the shape of `z` (`out` when given).
    """
    z = np.asarray(z, dtype=np.float64)  # `z` itself when it is float64 (so `out` may be it)
    if out is None:
        out = np.empty_like(z)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == z.shape):
        raise ValueError(f"`out` must be a float64 array of the shape of `z`, {z.shape}; "
                         f"got {_describe(out)}.")
    # the sign first: `out` may be `z`
    negative = z < 0
    # exp of a non-positive number never overflows: e = exp(-|z|) serves both signs
    e = np.abs(z, out=np.empty_like(z))
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=out)
    np.divide(1.0, out, out=out)  # r = 1 / (1 + e) from 0 on ...
    np.multiply(e, out, out=out, where=negative)  # ... e * r below: the kernels' operations
    return out


def logit(y):
    """Inverse of :func:`logistic`, ``log(y / (1 - y))`` on the open interval (0, 1)."""
    y = np.asarray(y, dtype=np.float64)
    return np.log(y) - np.log1p(-y)


#: The activations :mod:`dynsys` analyses exactly.
ACTIVATIONS = ("logistic", "tanh")


@dataclass(frozen=True)
class Activation:
    """One activation and its box: the facts every function of :mod:`dynsys` reads from it.

    Attributes
    ----------
    name : {"logistic", "tanh"}
    lower, upper : float
        The box ``[lower, upper]^N`` of the residuals: [0, 1] (logistic) or [-1, 1] (tanh).
        Pattern code 0 is the lower face, 1 the upper face, 2 the interior, for both.
    code : int
        The activation's number in the compiled kernels (0 logistic, 1 tanh).
    """

    name: str
    lower: float
    upper: float
    code: int

    def __repr__(self) -> str:
        return f"Activation({self.name!r}, box=[{self.lower:g}, {self.upper:g}])"

    @property
    def box(self) -> tuple[float, float]:
        """``(lower, upper)``, the interval of every residual coordinate."""
        return (self.lower, self.upper)

    def f(self, z):
        """``f(z)`` elementwise (float64), with no overflow warnings for any finite `z`."""
        if self.name == "tanh":
            return np.tanh(np.asarray(z, dtype=np.float64))
        return logistic(z)

    def f_into(self, z, out):
        """``out = f(z)`` in place (`out` a float64 array of z's shape, possibly `z` itself)."""
        if self.name == "tanh":
            return np.tanh(z, out=out)
        return logistic(z, out=out)

    def inverse(self, y):
        """``f^{-1}(y)`` on the open box (``+-inf`` on its faces)."""
        with np.errstate(divide="ignore"):
            if self.name == "tanh":
                return np.arctanh(np.asarray(y, dtype=np.float64))
            return logit(y)

    def slope(self, y):
        """``f'(f^{-1}(y))`` as a function of the residual: ``y (1 - y)`` or ``1 - y^2``.

        The factor of the flow, ``dy/dt = slope(y) (W y)``; it vanishes on the faces.
        """
        y = np.asarray(y, dtype=np.float64)
        if self.name == "tanh":
            return (1.0 - y) * (1.0 + y)
        return y * (1.0 - y)

    def slope_derivative(self, y):
        """``d slope / dy``: ``1 - 2y`` or ``-2y`` (the Jacobian's diagonal factor)."""
        y = np.asarray(y, dtype=np.float64)
        if self.name == "tanh":
            return -2.0 * y
        return 1.0 - 2.0 * y

    @property
    def face_gain(self) -> float:
        """k in the face multipliers ``exp(+-k (W y)_i)``: 1 (logistic) or 2 (tanh).

        Near a face ``f'(z) ~ e^{-k|z|}`` (``f'`` of tanh is ``4 e^{-2|z|}`` there), so a
        coordinate whose logit moves by ``a = (W y)_i`` per layer has its distance to the face
        multiplied by ``exp(+-k a)``; the flow's eigenvalue there is ``+-k a``.
        """
        return 2.0 if self.name == "tanh" else 1.0

    def log_slope_at(self, z):
        """``log f'(z)`` for every finite `z`, without underflow."""
        z = np.asarray(z, dtype=np.float64)
        if self.name == "tanh":
            u = 2.0 * z
            return np.log(4.0) - (np.logaddexp(0.0, u) + np.logaddexp(0.0, -u))
        return -(np.logaddexp(0.0, z) + np.logaddexp(0.0, -z))

    def slope_at(self, z):
        """``f'(z)`` from the logit, accurate for every finite `z` (no cancellation).

        ``exp(-log(1 + e^z) - log(1 + e^-z))`` for the logistic; ``4`` times the logistic's
        at ``2z`` for tanh (``1 - tanh(z)^2 = 4 f(2z) f(-2z)``), which keeps its digits where
        ``tanh z`` rounds to +-1.
        """
        return np.exp(self.log_slope_at(z))

    def to_unit(self, y):
        """The residual in the logistic box: ``y`` itself, or ``(y + 1) / 2`` for tanh."""
        y = np.asarray(y, dtype=np.float64)
        return y if self.name == "logistic" else (y + 1.0) * 0.5

    def from_unit(self, s):
        """The inverse of :meth:`to_unit`: ``s``, or ``2 s - 1`` for tanh."""
        s = np.asarray(s, dtype=np.float64)
        return s if self.name == "logistic" else 2.0 * s - 1.0

    def unit_weights(self, W):
        """The logistic system conjugate to ``(W, self)``: ``(W', c)`` with rate ``W' s + c``.

        ``(W, None)`` for the logistic; ``(4W, -2 W 1)`` for tanh (the module docstring), as
        C-contiguous arrays: the one definition of the conjugate system, which the fixed-point
        engines and the census solve.
        """
        W = np.asarray(W, dtype=np.float64)
        if self.name == "logistic":
            return W, None
        return np.ascontiguousarray(4.0 * W), np.ascontiguousarray(-2.0 * W.sum(axis=-1))


_ACTIVATIONS = {
    "logistic": Activation("logistic", 0.0, 1.0, 0),
    "tanh": Activation("tanh", -1.0, 1.0, 1),
}


def check_activation(value, name: str = "activation") -> str:
    """Return `value` if it names an activation of :data:`ACTIVATIONS`, else raise.

    Raises
    ------
    ValueError
        An unknown name (the argument, the choices and the received value are named). No
        alias is guessed: ``"sigmoid"`` is refused, not read as the logistic.
    """
    if not isinstance(value, str) or value not in _ACTIVATIONS:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(a) for a in ACTIVATIONS)}; got {value!r}."
        )
    return value


def activation(name) -> Activation:
    """The :class:`Activation` of a name of :data:`ACTIVATIONS` (validated)."""
    return _ACTIVATIONS[check_activation(name)]


def activation_box(result) -> tuple[float, float]:
    """``(lower, upper)`` of a result's activation: the ``box`` property of the results."""
    return _ACTIVATIONS[result.activation].box


def resolve_activation(system, activation_arg, name: str = "activation") -> Activation:
    """The activation of a call: the network's own, or the argument for a bare W.

    A :class:`dynsys.Network` (or :class:`dynsys.ResidualSystem`) carries its activation; an `activation_arg` that contradicts it
    is refused (never reinterpreted). A bare W takes `activation_arg`, default logistic.
    """
    # a Network or a ResidualSystem carries its activation; a bare array has none
    own = getattr(system, "activation", None)
    own = own if isinstance(own, str) else None
    if activation_arg is None:
        return _ACTIVATIONS[own or "logistic"]
    check_activation(activation_arg, name)
    if own is not None and own != activation_arg:
        raise ValueError(
            f"`{name}` must match the network's own activation {own!r} (or be left out); got "
            f"{activation_arg!r}. Build the network with activation={activation_arg!r} instead."
        )
    return _ACTIVATIONS[activation_arg]
