"""Lyapunov exponents of the discrete layer maps over a long run (QR method).

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics"
(Fig. 2 and 5), says that the residuals of a shared-weight ResNet settle while those of an
MLP keep oscillating. The largest Lyapunov exponent along the run makes this a number:
negative when nearby trajectories contract (convergence to a stable fixed point or cycle),
about zero at marginal or very slow convergence, positive for chaos.

The state is carried as the pre-activations z (eq. 1-2), never as y = f(z), so a run that
saturates keeps its digits; the slopes ``s = f'(z) = f(z)(1 - f(z))`` are computed from z as
``exp(-log(1 + e^z) - log(1 + e^-z))``. Maps and tangent maps:

* ResNet in the residuals (``variable="y"``, shared weights): ``z(t+1) = z(t) + W f(z(t))``
  and ``y = f(z)``, tangent ``dy(t+1) = [s(t+1)/s(t)] dy(t) + s(t+1) (W dy(t))``, i.e.
  ``diag(s(t+1)) (diag(1/s(t)) + W)``, with the ratio taken as a difference of log-slopes.
  At a fixed point its eigenvalues are the residual map's multipliers (``exp((W y)_i)`` at
  coordinates 0, ``exp(-(W y)_i)`` at coordinates 1, those of ``I + diag(y(1-y)) W``
  inside).
* ResNet in logit coordinates (``variable="z"``, shared weights): the same run, tangent
  ``I + W diag(s(t))`` (:func:`dynsys.layer_map_jacobian`). A saturated coordinate's logit
  moves at the constant speed ``(W y)_i``, so its exponent is 0, not ``-|W y|_i``.
* ResNet in the cumulative signal (``variable="x"``, shared or per-layer weights):
  ``x(t) = x(t-1) + f(W x(t-1) + b)``, tangent ``dx(t) = dx(t-1) + s(t) (W dx(t-1))``, similar
  to the z tangent (``dz = W dx``). Where residuals saturate ``s -> 0`` and this tangent map
  tends to the identity on that coordinate, so its exponent tends to 0 while the residual's
  is ``-|W y|_i``. Use "y" for the question "do the residuals converge?".
* MLP: ``y(t) = f(W y(t-1) + b)``, tangent ``dy(t) = s(t) (W dy(t-1))``.

A tanh network (``Network(..., activation="tanh")``) is run the same way with ``f = tanh`` and
``s = 1 - tanh(z)^2`` (from z, as ``4 f(2z) f(-2z)`` of the logistic f); at a fixed point its
residual multipliers on the faces are ``exp(+-2 (W y)_i)``.

The method (Benettin et al. 1980; Shimada & Nagashima 1979): evolve k orthonormal tangent
vectors with the tangent map, re-orthonormalize them by a QR factorization after every layer,
and average ``log|R_ii|`` over the layers after a transient. Everything is batched over inputs
(one matrix product per layer for the state and one for the tangent vectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import readonly as _frozen
from ._layers import _as_network, _prepare
from ._network import layer_index
from ._activation import activation, activation_box
from ._validation import check_choice, check_int

__all__ = ["LyapunovResult", "lyapunov"]


@dataclass(frozen=True, repr=False, eq=False)
class LyapunovResult:
    """Result of :func:`lyapunov` (read-only arrays; a single input drops the B axis).

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    variable : {"y", "z", "x"}
        The state whose tangent map was used ("z" and "x" only for the ResNet).
    depth : int
        Layers run.
    discard : int
        Map steps excluded from the average (transient).
    n_steps : int
        Map steps averaged over.
    exponents : ndarray (B, k)
        The k largest Lyapunov exponents per input, per layer (natural log), in decreasing
        order.
    running : ndarray (n_steps, B)
        The running estimate of the largest exponent after each averaged step, layer first
        (its convergence shows whether the run was long enough).
    activation : {"logistic", "tanh"}
        The network's activation f.
    """

    kind: str
    variable: str
    depth: int
    discard: int
    n_steps: int
    exponents: np.ndarray
    running: np.ndarray
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    @property
    def largest(self):
        """The largest exponent per input, shape (B,) (a float for a single input)."""
        out = self.exponents[..., 0]
        return float(out) if np.ndim(out) == 0 else out

    def __repr__(self) -> str:
        lead = np.asarray(self.exponents[..., 0])
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"LyapunovResult(kind={self.kind!r}, {act}variable={self.variable!r}, "
                f"depth={self.depth}, n_steps={self.n_steps}, "
                f"exponents={'x'.join(map(str, self.exponents.shape))}, "
                f"largest in [{lead.min():.4g}, {lead.max():.4g}])")


#: The depth of a shared-weight network when `depth` is None.
DEFAULT_DEPTH = 1000


def _check_depth(depth, kind: str, variable: str, closed_in_z: bool) -> int:
    """The one rule for `depth`: at least one map step to average over.

    The ResNet in y or z maps z(1) to z(T), T - 1 steps; the others map x(0) (or y(0)) to
    x(T) (y(T)), T steps.
    """
    minimum, steps = (2, "T - 1") if closed_in_z else (1, "T")
    depth = check_int(depth, "depth", minimum=None)
    if depth < minimum:
        raise ValueError(
            f"`depth` must be >= {minimum} for kind={kind!r} with variable={variable!r} (the "
            f"exponents average over {steps} map steps, at least one); got {depth}."
        )
    return depth


def lyapunov(net, x0, depth=None, *, variable="y", n_exponents=1, discard=None, seed=0):
    """Largest Lyapunov exponent(s) of the ResNet or MLP layer map (eq. 1-2) along a long run.

    Parameters
    ----------
    net : Network
        The network (``net.kind``: "resnet" or "mlp"). Shared weights are run as long as
        `depth`; per-layer weights (``variable="x"`` and the MLP only: neither the residuals
        nor the logits alone are a closed map with per-layer weights) for their T layers.
    x0 : array_like, shape (D,) or (B, D)
        Inputs (one run per input), embedded as x(0) = ``net.embed(x0)``. A 1-D `x0` drops
        the batch axis of the result.
    depth : int, optional
        Layers to run, T: T >= 2 for the ResNet in y or z (the map takes z(1) to z(T)),
        T >= 1 otherwise, so that at least one map step is averaged. None (the default):
        1000 for shared weights; a per-layer network's own T layers (``net.depth``). A depth
        d on per-layer weights runs layers 1..min(d, T) and, past T, the last repeated, as in
        :func:`dynsys.iterate`.
    variable : {"y", "z", "x"}
        ResNet: the tangent map of the residuals (default), of the logits z (shared weights)
        or of the cumulative signal x; see the module docstring. Must be "y" for the MLP.
    n_exponents : int
        k, how many of the largest exponents (1 <= k <= N); k > 1 uses QR factorizations.
    discard : int, optional
        Map steps treated as transient and left out of the average (default: a tenth of them).
    seed : int
        Seed of the random initial tangent vectors.

    Returns
    -------
    LyapunovResult

    Notes
    -----
    The number of map steps is T - 1 for the ResNet in y or z (the map takes z(1) to z(T)),
    and T otherwise (x(0) to x(T), y(0) = x(0) to y(T)). The run is done in float64 with
    NumPy.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> net = dynsys.Network(np.array([[2.0]]), np.array([-1.0]), kind="mlp")
    >>> r = dynsys.lyapunov(net, np.array([0.3]), 500)
    >>> round(r.largest, 6)   # the fixed point y* of y = f(2y - 1): log|2 y*(1-y*)|
    -0.693147
    """
    net = _as_network(net)
    act = activation(net.activation)
    _log_s, f = act.log_slope_at, act.f
    kind = net.kind
    variable = check_choice(variable, "variable", ("y", "z", "x"))
    if kind == "mlp" and variable != "y":
        raise ValueError(f"`variable` must be 'y' for the MLP, whose state is y; got "
                         f"{variable!r}.")
    if net.shared and depth is None:
        depth = DEFAULT_DEPTH
    closed_in_z = kind == "resnet" and variable in ("y", "z")
    if depth is not None:
        _check_depth(depth, kind, variable, closed_in_z)
    X, was_1d, Ws, bs, T, _ = _prepare(net, x0, depth, np.float64)
    B, N = X.shape
    k = check_int(n_exponents, "n_exponents", minimum=1, maximum=N)
    if closed_in_z and Ws.shape[0] > 1:
        raise ValueError(
            f"`variable`={variable!r} needs shared weights (`net.W` of shape (N, N)): with "
            "per-layer weights the residuals are not a closed map; use variable='x'."
        )
    n_map = T - 1 if closed_in_z else T
    if discard is None:
        discard = n_map // 10
    discard = check_int(discard, "discard", minimum=0, maximum=n_map - 1)

    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    Q = np.linalg.qr(rng.standard_normal((B, N, k)))[0]
    acc = np.zeros((B, k))
    running = np.empty((B, n_map - discard))

    def layer(t):
        return Ws[layer_index(t, Ws.shape[0])], bs[layer_index(t, bs.shape[0])]

    def renorm(V, step):
        if k == 1:
            nrm = np.linalg.norm(V[:, :, 0], axis=1)
            with np.errstate(divide="ignore"):
                logs = np.log(nrm)[:, None]
            Qn = V / np.where(nrm == 0, 1.0, nrm)[:, None, None]
        else:
            Qn, R = np.linalg.qr(V)
            d = np.diagonal(R, axis1=1, axis2=2)
            with np.errstate(divide="ignore"):
                logs = np.log(np.abs(d))
            Qn = Qn * np.where(d < 0, -1.0, 1.0)[:, None, :]  # keep orientation (cosmetic)
        if step >= discard:
            acc[:] += logs
            running[:, step - discard] = acc[:, 0] / (step - discard + 1)
        return Qn

    state = X.copy()
    if closed_in_z:
        Wm, bv = layer(1)
        z = state @ Wm.T + bv  # z(1)
        ls = _log_s(z)
        y = f(z)
        for step in range(n_map):
            z_new = z + y @ Wm.T  # z(t+1) = z(t) + W y(t)
            if variable == "y":
                ls_new = _log_s(z_new)
                r = np.exp(ls_new - ls)
                V = r[:, :, None] * Q + np.exp(ls_new)[:, :, None] * np.matmul(Wm, Q)
                ls = ls_new
            else:  # I + W diag(s(z(t)))
                V = Q + np.matmul(Wm, np.exp(ls)[:, :, None] * Q)
                ls = _log_s(z_new)
            Q = renorm(V, step)
            z, y = z_new, f(z_new)
    else:
        for step in range(n_map):
            Wm, bv = layer(step + 1)
            z = state @ Wm.T + bv
            s = np.exp(_log_s(z))[:, :, None]
            if kind == "resnet":
                V = Q + s * np.matmul(Wm, Q)
                state += f(z)
            else:
                V = s * np.matmul(Wm, Q)
                state = f(z)
            Q = renorm(V, step)
    n_avg = n_map - discard
    expo = acc / n_avg
    order = np.argsort(-expo, axis=1, kind="stable")
    expo = np.take_along_axis(expo, order, axis=1)
    running = np.ascontiguousarray(running.T)
    if was_1d:
        expo, running = expo[0], running[:, 0]
    return LyapunovResult(
        kind=kind, variable=variable, depth=T, discard=discard, n_steps=n_avg,
        exponents=_frozen(expo), running=_frozen(running), activation=act.name,
    )
