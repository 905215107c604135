"""Continuous dynamics: the residual flow (eq. 3), its noise (eq. 5) and the MLP (eq. 6-8).

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics",
reads a residual network with shared weights as the forward-Euler (step 1) discretization of

    dy/dt = y (1 - y) (W y)                                                 (eq. 3)

and an MLP as that of ``dy/dt = -y + f(W y + b)`` (eq. 6). Input noise ``xi`` rides on a clean
trajectory ``y``; its exact equation for the ResNet is eq. 5, for the MLP
``dxi/dt = -xi + f(W(y + xi) + b) - f(W y + b)``, and the paper's eq. 7 and eq. 8 are Taylor
expansions of the latter (see the theory page on noise for what they do and do not
approximate).

A tanh network (``activation="tanh"``) has residuals in [-1, 1]^N and the flow
``dy/dt = (1 - y^2)(W y)`` (the MLP: ``dy/dt = -y + tanh(W y + b)``); its noise equations are
the same constructions with ``f = tanh``, ``f' = 1 - s^2``, ``f''/2 = -s (1 - s^2)``.

:func:`integrate` and :func:`integrate_noise` validate their arguments and call compiled
kernels (:mod:`dynsys._kernels.ode`): a fixed-step classical Runge-Kutta (``"rk4"``), a
fixed-step Dormand-Prince 5 (``"dp5"``) and an adaptive Dormand-Prince 5(4) with the quartic
dense output of Shampine (1986) (``"adaptive"``), all batched over initial conditions and
parallel over the batch. See ``docs/theory/noise.rst`` and ``docs/benchmarks/integrate.rst``.

The system is a :class:`dynsys.Network` with shared weights (its `kind` and `b` are used) or a
bare (N, N) weight array. Batch rule (as everywhere in :mod:`dynsys`): an initial state of
shape (N,) gives results without a batch axis (``.y`` of shape (K, N), scalar step
statistics); a batch (B, N) keeps it (``.y`` of shape (K, B, N), statistics of shape (B,)),
also for B = 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np

from ._activation import ACTIVATIONS, activation as _activation, resolve_activation
from ._kernels import ode
from ._network import KINDS, Network, as_weights
from ._validation import _to_float_array, as_points, check_choice, check_finite
from ._validation import check_int, check_positive_float
from ._system import ResidualSystem
from ._arrays import readonly as _frozen

__all__ = ["Trajectory", "NoiseTrajectory", "integrate", "integrate_noise", "METHODS",
           "NOISE_ORDERS"]

#: Integration methods: fixed-step RK4, fixed-step Dormand-Prince 5, adaptive DP5(4).
METHODS = ("rk4", "dp5", "adaptive")
#: Noise equations: exact, first- and second-order expansions, the paper's eq. 7 and eq. 8.
NOISE_ORDERS = ("exact", 1, 2, "paper1", "paper2")

#: Trajectories integrated side by side (vectorized) by the adaptive kernel.
_LANES = 64

_STATUS_MESSAGES = {
    ode.STATUS_OK: "success",
    ode.STATUS_MAX_STEPS: "`max_steps` reached",
    ode.STATUS_STEP_UNDERFLOW: "step size fell below the floating-point resolution of t",
    ode.STATUS_NONFINITE: "the state became non-finite (the step `dt` is too large?)",
}


def _shape_text(shape) -> str:
    return "x".join(str(int(d)) for d in shape)


def _activation_text(name) -> str:
    """The repr's activation entry: empty for the logistic, so its reprs read as before."""
    return "" if name == "logistic" else f"activation={name!r}, "


def _success(status) -> bool:
    return bool(np.all(np.asarray(status) == 0))


def _message(status) -> str:
    status = np.atleast_1d(np.asarray(status))
    if np.all(status == 0):
        return "success"
    codes, counts = np.unique(status[status != 0], return_counts=True)
    return "; ".join(f"{c} trajectories: {_STATUS_MESSAGES[int(k)]}"
                     for k, c in zip(codes, counts))


class _StatusSummary:
    """``success`` and ``message`` from the per-trajectory ``status`` of a solution."""

    @property
    def success(self) -> bool:
        """True if every trajectory reached the last output time."""
        return _success(self.status)

    @property
    def message(self) -> str:
        """A one-line summary of the status of the batch."""
        return _message(self.status)

    @property
    def box(self) -> tuple:
        """``(lower, upper)``: the interval of every residual, (0, 1) or (-1, 1)."""
        return _activation(self.activation).box


@dataclass(frozen=True, repr=False, eq=False)
class Trajectory(_StatusSummary):
    """Solution of :func:`integrate` at the requested times (immutable).

    Attributes
    ----------
    t : ndarray, shape (K,)
        The output times (``t_eval``).
    y : ndarray, shape (K, N) or (K, B, N)
        The state at each output time; the batch axis is there when `y0` was (B, N).
        Entries after a failure of that trajectory are NaN.
    kind : str
        ``"resnet"`` (eq. 3) or ``"mlp"`` (eq. 6).
    activation : str
        ``"logistic"`` or ``"tanh"``; :attr:`box` is its interval, [0, 1] or [-1, 1].
    method : str
        ``"rk4"``, ``"dp5"`` or ``"adaptive"``.
    n_steps : int or ndarray of int64, shape (B,)
        Accepted steps per trajectory.
    n_rejected : int or ndarray of int64, shape (B,)
        Rejected steps per trajectory (0 for the fixed-step methods).
    n_rhs : int or ndarray of int64, shape (B,)
        Right-hand side evaluations per trajectory.
    status : int or ndarray of int64, shape (B,)
        0 success, 1 `max_steps` reached, 2 step size underflow, 3 non-finite state.
    """

    t: np.ndarray
    y: np.ndarray
    kind: str
    method: str
    n_steps: object
    n_rejected: object
    n_rhs: object
    status: object
    activation: str = "logistic"

    def __repr__(self) -> str:
        return (f"Trajectory(kind={self.kind!r}, {_activation_text(self.activation)}"
                f"method={self.method!r}, "
                f"y={_shape_text(self.y.shape)}, t=[{self.t[0]:g}, {self.t[-1]:g}], "
                f"{self.message[:80]})")


@dataclass(frozen=True, repr=False, eq=False)
class NoiseTrajectory(_StatusSummary):
    """Solution of :func:`integrate_noise`: a clean trajectory and its noise (immutable).

    Attributes
    ----------
    t : ndarray, shape (K,)
    y : ndarray, shape (K, N) or (K, B, N)
        The clean trajectory (batch axis as in :class:`Trajectory`: there when `y0` or `xi0`
        was 2-D).
    xi : ndarray, shape like `y`
        The noise; ``y + xi`` is the noisy trajectory (exactly so for ``order="exact"``).
    kind, method : str
    activation : str
        ``"logistic"`` or ``"tanh"``; :attr:`box` is its interval.
    order : str or int
        ``"exact"``, 1, 2, ``"paper1"`` (eq. 7 as printed) or ``"paper2"`` (eq. 8 as printed).
    n_steps, n_rejected, n_rhs, status : int or ndarray of int64, shape (B,)
        As in :class:`Trajectory`, for the joint system (y, xi).
    """

    t: np.ndarray
    y: np.ndarray
    xi: np.ndarray
    kind: str
    method: str
    order: object
    n_steps: object
    n_rejected: object
    n_rhs: object
    status: object
    activation: str = "logistic"

    def __repr__(self) -> str:
        return (f"NoiseTrajectory(kind={self.kind!r}, {_activation_text(self.activation)}"
                f"order={self.order!r}, "
                f"method={self.method!r}, y={_shape_text(self.y.shape)}, "
                f"t=[{self.t[0]:g}, {self.t[-1]:g}], {self.message[:80]})")


def _system_arrays(W, kind, b, activation):
    """(W, kind, b, Activation) from a Network or a bare array; a Network's own kind, b and
    activation are used.

    A `kind`, `b` or `activation` passed next to a Network must agree with it: silently
    preferring one of two contradicting descriptions of the same network would hide a mistake.
    """
    act = resolve_activation(W, activation)
    if isinstance(W, Network):
        Wm = as_weights(W, "W", activations=ACTIVATIONS)
        if kind is not None and kind != W.kind:
            check_choice(kind, "kind", KINDS)
            raise ValueError(
                f"`kind`={kind!r} contradicts the network `W` of kind {W.kind!r}; leave `kind` "
                "out (a Network carries its kind) or build the Network with the kind you mean."
            )
        if b is not None:
            raise ValueError(
                "`b` was given next to a dynsys.Network `W`, which carries its own bias; leave "
                "`b` out or build the Network with it."
            )
        kind = W.kind
        bias = np.ascontiguousarray(W.b, dtype=np.float64) if kind == "mlp" else None
        return np.ascontiguousarray(Wm), kind, bias, act
    if isinstance(W, ResidualSystem):
        Wm = W.W
    else:
        Wm = as_weights(W, "W", activations=ACTIVATIONS)
    kind = "resnet" if kind is None else check_choice(kind, "kind", KINDS)
    return np.ascontiguousarray(Wm), kind, b, act


def _check_in_box(Y, act, name):
    """Refuse states outside the activation's closed box: y is f(z), so a state outside it is
    no state of the network, and off the box the residual flow leaves every bound."""
    lo, hi = act.box
    if Y.size and (Y.min() < lo or Y.max() > hi):
        raise ValueError(
            f"`{name}` must lie in the {act.name} box [{lo:g}, {hi:g}]^N (residuals are "
            f"{act.name} outputs); got values in [{Y.min():g}, {Y.max():g}]."
        )


def _rhs_code(kind, act):
    """The kernel code of the flow of `kind` for the activation `act`."""
    return ode.RHS_CODES[kind if act.name == "logistic" else f"{act.name}_{kind}"]


def _as_times(t_eval, t0):
    if np.iscomplexobj(t_eval):
        raise TypeError(f"`t_eval` must be real; got complex values {t_eval!r:.80}.")
    try:
        t = np.asarray(t_eval, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`t_eval` must be a 1-D array of real times; got {t_eval!r:.80}.") \
            from None
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"`t_eval` must be a non-empty 1-D array; got shape {t.shape}.")
    check_finite(t, "t_eval")
    if t.size > 1 and not np.all(np.diff(t) > 0):
        i = int(np.argmin(np.diff(t) > 0))
        raise ValueError(
            f"`t_eval` must be strictly increasing; got t_eval[{i}] = {t[i]:g} followed by "
            f"t_eval[{i + 1}] = {t[i + 1]:g}."
        )
    if t0 is None:
        t0 = float(t[0])
    else:
        if isinstance(t0, (bool, np.bool_, complex, np.complexfloating)) or not np.isscalar(t0):
            raise TypeError(f"`t0` must be a real number; got {t0!r:.80}.")
        t0 = float(t0)
        if not np.isfinite(t0) or t0 > t[0]:
            raise ValueError(f"`t0` must be finite and <= t_eval[0] = {t[0]:g}; got {t0:g}.")
    return np.ascontiguousarray(t), t0


def _as_bias(b, n, kind):
    if b is None:
        return np.zeros(n)
    if kind == "resnet":
        raise ValueError(
            "`b` applies to kind='mlp' only: the bias drops out of the residual flow (eq. 3)."
        )
    arr = _to_float_array(b, "b")
    if arr.shape != (n,):
        raise ValueError(f"`b` must have shape ({n},) to match `W`; got shape {arr.shape}.")
    return np.ascontiguousarray(check_finite(arr, "b"))


def _solver_options(method, dt, rtol, atol, first_step, max_step, max_steps):
    check_choice(method, "method", METHODS)
    if method == "adaptive":
        if dt is not None:
            raise ValueError("`dt` applies to the fixed-step methods 'rk4' and 'dp5'; "
                             "method='adaptive' chooses its own steps (use `first_step`).")
        rtol = check_positive_float(rtol, "rtol")
        atol = check_positive_float(atol, "atol", allow_zero=True)
        if rtol < 100 * np.finfo(float).eps:
            raise ValueError(f"`rtol` must be >= {100 * np.finfo(float).eps:.3g} (100 machine "
                             f"epsilons); got {rtol:g}.")
        first = 0.0 if first_step is None else check_positive_float(first_step, "first_step")
        mstep = np.inf if max_step is None or max_step == np.inf else \
            check_positive_float(max_step, "max_step")
        return dict(rtol=rtol, atol=atol, first_step=first, max_step=mstep,
                    max_steps=check_int(max_steps, "max_steps", minimum=1))
    dt = 0.01 if dt is None else check_positive_float(dt, "dt")
    return dict(dt=dt)


def _run(code, W, b, Y0, t, t0, method, opts):
    B, m = Y0.shape
    n = W.shape[0]
    WT = np.ascontiguousarray(W.T)  # the kernels accumulate W y column by column
    out = np.empty((t.size, B, m))
    stats = np.zeros((B, 4), dtype=np.int64)
    # chunks handed out dynamically (trajectories differ in cost, and a busy machine may
    # stall a thread); the adaptive kernel runs up to _LANES trajectories side by side
    n_threads = numba.get_num_threads()
    with numba.parallel_chunksize(1):
        if method == "adaptive":
            ode.integrate_adaptive_lanes(code, W, WT, b, n, Y0, t0, t, opts["rtol"],
                                         opts["atol"], opts["first_step"], opts["max_step"],
                                         opts["max_steps"], out, stats, 4 * n_threads, _LANES)
        else:
            n_chunks = 32 * n_threads
            scheme = ode.SCHEME_RK4 if method == "rk4" else ode.SCHEME_DP5
            ode.integrate_fixed(code, scheme, WT, b, n, Y0, t0, t, opts["dt"], out, stats,
                                n_chunks)
    if np.any(stats[:, 3] != 0):
        bad = int(np.count_nonzero(stats[:, 3]))
        first = int(np.flatnonzero(stats[:, 3])[0])
        warnings.warn(
            f"{bad} of {B} trajectories stopped early (first: index {first}, "
            f"{_STATUS_MESSAGES[int(stats[first, 3])]}); their remaining outputs are NaN.",
            RuntimeWarning, stacklevel=3,
        )
    return out, stats


def _stats(stats, batched):
    """Per-trajectory statistics: arrays (B,) for a batch, Python ints for one state."""
    if batched:
        return tuple(_frozen(stats[:, j].copy()) for j in range(4))
    return tuple(int(stats[0, j]) for j in range(4))


def integrate(W, y0, t_eval, *, method="adaptive", kind=None, b=None, dt=None, rtol=1e-8,
              atol=1e-10, t0=None, first_step=None, max_step=None,
              max_steps=1_000_000, activation=None) -> Trajectory:
    """Integrate eq. 3 (or the MLP's eq. 6) for one initial condition or a batch.

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        The system: a Network with shared weights (its `kind`, `b` and `activation` are used)
        or the shared weight matrix.
    y0 : array_like, shape (N,) or (B, N)
        Initial state(s) at time `t0`. For the ResNet flow, residuals in the activation's box
        ([0, 1]^N for the logistic, [-1, 1]^N for tanh): outside it a state is no state of the
        network and the cubic flow can leave every bound in finite time. For the MLP (eq. 6)
        any finite start (its y(0) is the input). Shape (N,) gives results without a batch
        axis.
    t_eval : array_like, shape (K,)
        Strictly increasing output times. The integration runs from `t0` to ``t_eval[-1]``.
    method : {"adaptive", "rk4", "dp5"}
        ``"adaptive"``: Dormand-Prince 5(4) with error control and dense output (the
        algorithm of scipy's ``RK45``). ``"rk4"``: classical Runge-Kutta, fixed step.
        ``"dp5"``: the 5th-order Dormand-Prince formula with a fixed step, no error control.
    kind : {"resnet", "mlp"}, optional
        ``"resnet"`` (default for an array `W`): dy/dt = y(1-y)(Wy) (eq. 3), or
        dy/dt = (1-y^2)(Wy) for tanh. ``"mlp"``: dy/dt = -y + f(Wy + b) (eq. 6), f the
        activation. With a Network `W`, its kind is used and a different `kind` is an error.
    b : array_like, shape (N,), optional
        Bias of the MLP (eq. 6) for an array `W`; not accepted for ``kind="resnet"``, where
        it drops out, nor next to a Network (which carries its own).
    dt : float, optional
        Fixed-step methods only: the largest step (default 0.01). Each interval between
        consecutive output times is split into equal steps no longer than `dt`, so outputs
        are exact steps of the method (no interpolation).
    rtol, atol : float
        Adaptive method only: relative and absolute error tolerances (scipy's error norm:
        RMS over the state of ``err / (atol + rtol * max(abs(y_old), abs(y_new)))``).
    t0 : float, optional
        Start time, <= ``t_eval[0]`` (default ``t_eval[0]``, so that ``y[0] == y0``).
    first_step, max_step : float, optional
        Adaptive method only: the first step (default: Hairer's rule, as scipy) and a cap.
    max_steps : int
        Adaptive method only: the most accepted steps per trajectory.
    activation : {"logistic", "tanh"}, optional
        The unit f of the network, for an array `W` (default ``"logistic"``); a Network
        carries its own, and a different `activation` next to it is an error.

    Returns
    -------
    Trajectory
        ``.t`` (K,), ``.y`` (K, N) for a 1-D `y0` or (K, B, N) for a batch, and step
        statistics per trajectory (ints, or arrays of shape (B,)). A trajectory that fails
        (see ``.status``) has NaN outputs from then on and a ``RuntimeWarning`` is issued.

    Raises
    ------
    ValueError, TypeError
        On shapes that do not match `W`, complex or non-finite input, `y0` outside the box,
        `t_eval` not strictly increasing, a non-positive `dt` or tolerance, an unknown
        `method` / `kind` / `activation`, or a `kind` / `b` / `activation` that contradicts a
        Network; the message names the argument.

    Notes
    -----
    Exact trajectories of eq. 3 stay in the open cube (0, 1)^N, but coordinates approach 0 or
    1 exponentially, so in floating point they reach 0.0 or 1.0 within a few tens of time
    units and stay there (both faces are invariant). Large adaptive steps near an attractor on
    a face may overshoot it by up to about the tolerance (``rtol`` near 1, ``atol`` near 0).
    The same holds for tanh with the faces -1 and 1 of [-1, 1]^N.

    The adaptive method is the algorithm of scipy's ``solve_ivp(method="RK45")`` (same
    tableau, starting step, controller and dense output): one trajectory takes the same steps.
    A batch runs in parallel, up to 64 trajectories side by side per thread, each with its own
    steps; every trajectory's result is bitwise the same as integrating it alone.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> dynsys.integrate(W, [0.3, 0.6], np.linspace(0, 10, 5)).y.shape
    (5, 2)
    >>> dynsys.integrate(W, [[0.3, 0.6], [0.2, 0.1]], np.linspace(0, 10, 5)).y.shape
    (5, 2, 2)
    """
    Wm, kind, b, act = _system_arrays(W, kind, b, activation)
    n = Wm.shape[0]
    Y0, was_1d = as_points(y0, n, "y0")
    if kind == "resnet":
        # an MLP's y(0) is its input, anywhere; a ResNet's residuals are f(z), in the box
        _check_in_box(Y0, act, "y0")
    t, t0 = _as_times(t_eval, t0)
    bias = _as_bias(b, n, kind)
    opts = _solver_options(method, dt, rtol, atol, first_step, max_step, max_steps)
    code = _rhs_code(kind, act)
    out, stats = _run(code, Wm, bias, np.ascontiguousarray(Y0), t, t0, method, opts)
    y = np.ascontiguousarray(out[:, 0]) if was_1d else out
    n_steps, n_rej, n_rhs, status = _stats(stats, not was_1d)
    return Trajectory(t=_frozen(t.copy()), y=_frozen(y), kind=kind, method=method,
                      n_steps=n_steps, n_rejected=n_rej, n_rhs=n_rhs, status=status,
                      activation=act.name)


def _noise_code(kind, order, act):
    if isinstance(order, (bool, np.bool_)) or order not in NOISE_ORDERS:
        raise ValueError(
            f"`order` must be one of {', '.join(repr(o) for o in NOISE_ORDERS)}; got {order!r}."
        )
    if act.name != "logistic":
        if order in ("paper1", "paper2"):
            raise ValueError(
                f"`order`={order!r} is the paper's MLP expansion (eq. 7 / eq. 8), printed for "
                f"the logistic only; for activation={act.name!r} use 'exact', 1 or 2."
            )
        suffix = {"exact": "_noise", 1: "_noise1", 2: "_noise2"}[order]
        return ode.RHS_CODES[f"{act.name}_{kind}{suffix}"]
    if kind == "resnet":
        if order in ("paper1", "paper2"):
            raise ValueError(
                f"`order`={order!r} is the paper's MLP expansion (eq. 7 / eq. 8); for "
                "kind='resnet' use 'exact' (eq. 5), 1 or 2."
            )
        return {"exact": ode.RHS_RESNET_NOISE, 1: ode.RHS_RESNET_NOISE1,
                2: ode.RHS_RESNET_NOISE2}[order]
    return {"exact": ode.RHS_MLP_NOISE, 1: ode.RHS_MLP_NOISE1, 2: ode.RHS_MLP_NOISE2,
            "paper1": ode.RHS_MLP_PAPER1, "paper2": ode.RHS_MLP_PAPER2}[order]


def integrate_noise(W, y0, xi0, t_eval, *, kind=None, order="exact", method="adaptive",
                    b=None, dt=None, rtol=1e-8, atol=1e-10, t0=None, first_step=None,
                    max_step=None, max_steps=1_000_000, activation=None) -> NoiseTrajectory:
    """Integrate a clean trajectory jointly with its noise xi (eq. 5; MLP: eq. 6-8).

    The state (y, xi) of length 2N is integrated as one system, with no linearization unless
    asked for.

    ``kind="resnet"``:

    * ``order="exact"``: dxi/dt = y(1-y)(W xi) + xi(1-2y-xi)(W(y+xi)) (eq. 5), so that
      ``y + xi`` is exactly the eq.-3 trajectory from ``y0 + xi0``;
    * ``order=1``: dxi/dt = y(1-y)(W xi) + xi(1-2y)(Wy) = J(y) xi (the variational equation);
    * ``order=2``: order 1 plus xi(1-2y)(W xi) - xi^2 (Wy).

    ``kind="mlp"`` (s = f(Wy + b), f logistic):

    * ``order="exact"``: dxi/dt = -xi + f(W(y+xi)+b) - f(Wy+b) (difference of two eq.-6
      trajectories; evaluated without cancellation);
    * ``order=1``: dxi/dt = -xi + s(1-s)(W xi);
    * ``order=2``: dxi/dt = -xi + s(1-s)(W xi)(1 + (1-2s)(W xi)/2);
    * ``order="paper1"``: eq. 7 as printed, dxi/dt = xi(s - s^2 - 1);
    * ``order="paper2"``: eq. 8 as printed, dxi/dt = -xi + xi s(1-s)(1 + xi(1-2s)/2).

    The paper's forms expand f(Wy + xi) rather than f(W(y + xi)): they equal orders 1 and 2
    when W is the identity and do not approximate the MLP noise for general W (see the theory
    page on noise). In eq. 7-8 the paper writes s as dy/dt + y, the same thing.

    ``activation="tanh"`` (the residual flow dy/dt = (1-y^2)(Wy)), ``kind="resnet"``:

    * ``order="exact"``: dxi/dt = (1-y^2)(W xi) - xi(2y+xi)(W(y+xi));
    * ``order=1``: dxi/dt = (1-y^2)(W xi) - 2y xi (Wy) = J(y) xi, with
      J(y) = diag(-2y (Wy)) + diag(1-y^2) W;
    * ``order=2``: order 1 minus 2y xi (W xi) + xi^2 (Wy).

    ``activation="tanh"``, ``kind="mlp"`` (s = tanh(Wy + b)): ``"exact"`` as for the
    logistic with f = tanh; ``order=1``: dxi/dt = -xi + (1-s^2)(W xi); ``order=2``:
    dxi/dt = -xi + (1-s^2)(W xi)(1 - s (W xi)). The paper printed eq. 7-8 for the logistic
    only, so ``"paper1"`` and ``"paper2"`` are refused for tanh.

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        As in :func:`integrate` (a Network's `kind`, `b` and `activation` are used).
    y0 : array_like, shape (N,) or (B, N)
        Clean initial state, in the activation's box for the ResNet (as in :func:`integrate`).
    xi0 : array_like, shape (N,) or (B, N)
        Initial noise; broadcast against `y0` along the batch axis. The results have a batch
        axis when `y0` or `xi0` is 2-D. With ``order="exact"`` the noisy start ``y0 + xi0``
        of a ResNet is a state of the network too and must lie in the box.
    t_eval : array_like, shape (K,)
        Strictly increasing output times.
    kind : {"resnet", "mlp"}, optional
        As in :func:`integrate` (default ``"resnet"`` for an array `W`).
    order : {"exact", 1, 2, "paper1", "paper2"}
    method, b, dt, rtol, atol, t0, first_step, max_step, max_steps, activation
        As in :func:`integrate`; tolerances apply to the joint state (y, xi), so for tiny
        noise choose `atol` well below the noise amplitude.

    Returns
    -------
    NoiseTrajectory
        ``.t`` (K,), ``.y`` and ``.xi`` (K, N) or (K, B, N), step statistics.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> sol = dynsys.integrate_noise(W, [0.3, 0.6], [1e-3, -1e-3], [0.0, 1.0, 2.0])
    >>> sol.xi.shape
    (3, 2)
    """
    Wm, kind, b, act = _system_arrays(W, kind, b, activation)
    code = _noise_code(kind, order, act)
    n = Wm.shape[0]
    Y0, y_1d = as_points(y0, n, "y0")
    if kind == "resnet":
        _check_in_box(Y0, act, "y0")
    X0, x_1d = as_points(xi0, n, "xi0")
    if Y0.shape[0] != X0.shape[0]:
        if Y0.shape[0] == 1:
            Y0 = np.broadcast_to(Y0, X0.shape)
        elif X0.shape[0] == 1:
            X0 = np.broadcast_to(X0, Y0.shape)
        else:
            raise ValueError(
                f"`xi0` must have shape ({n},) or the batch shape of `y0` {Y0.shape}; got "
                f"shape {np.shape(xi0)}."
            )
    if order == "exact" and kind == "resnet":
        noisy = Y0 + X0
        lo, hi = act.box
        if noisy.size and (noisy.min() < lo or noisy.max() > hi):
            # the exact noise is the difference of two trajectories, both of the network
            raise ValueError(
                f"`xi0` must keep the noisy start y0 + xi0 in the {act.name} box "
                f"[{lo:g}, {hi:g}]^N for order='exact'; got y0 + xi0 in "
                f"[{noisy.min():g}, {noisy.max():g}]."
            )
    batched = not (y_1d and x_1d)
    t, t0 = _as_times(t_eval, t0)
    bias = _as_bias(b, n, kind)
    opts = _solver_options(method, dt, rtol, atol, first_step, max_step, max_steps)
    U0 = np.ascontiguousarray(np.concatenate([Y0, X0], axis=1))
    out, stats = _run(code, Wm, bias, U0, t, t0, method, opts)
    y, xi = out[:, :, :n], out[:, :, n:]
    if not batched:
        y, xi = y[:, 0], xi[:, 0]
    n_steps, n_rej, n_rhs, status = _stats(stats, batched)
    return NoiseTrajectory(
        t=_frozen(t.copy()), y=_frozen(np.ascontiguousarray(y)),
        xi=_frozen(np.ascontiguousarray(xi)), kind=kind, method=method, order=order,
        n_steps=n_steps, n_rejected=n_rej, n_rhs=n_rhs, status=status, activation=act.name,
    )
