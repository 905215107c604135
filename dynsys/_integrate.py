"""Continuous dynamics: the residual flow (eq. 3), its noise (eq. 5) and the MLP (eq. 6-8).

Lagzi (2018), ``seeds/001``, reads a residual network with shared weights as the forward-Euler
(step 1) discretization of

    dy/dt = y (1 - y) (W y)                                                 (eq. 3)

and an MLP as that of ``dy/dt = -y + f(W y + b)`` (eq. 6). Input noise ``xi`` rides on a clean
trajectory ``y``; its exact equation for the ResNet is eq. 5, for the MLP
``dxi/dt = -xi + f(W(y + xi) + b) - f(W y + b)``, and the paper's eq. 7 and eq. 8 are Taylor
expansions of the latter (see ``docs/theory/noise.rst`` for what they do and do not
approximate).

:func:`integrate` and :func:`integrate_noise` validate their arguments and call compiled
kernels (:mod:`dynsys._kernels.ode`): a fixed-step classical Runge-Kutta (``"rk4"``), a
fixed-step Dormand-Prince 5 (``"dp5"``) and an adaptive Dormand-Prince 5(4) with the quartic
dense output of Shampine (1986) (``"adaptive"``), all batched over initial conditions and
parallel over the batch. See ``docs/theory/noise.rst`` and ``docs/benchmarks/integrate.rst``.

Shape policy: the batch axis is always kept. ``y0`` of shape (N,) is a batch of one, and the
result's ``.y`` has shape (K, B, N) with K = ``len(t_eval)`` in every case.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np

from ._kernels import ode
from ._validation import as_points, as_square_matrix, check_choice, check_finite
from ._validation import check_int, check_positive_float
from ._system import ResidualSystem
from ._arrays import readonly as _frozen

__all__ = ["Trajectory", "NoiseTrajectory", "integrate", "integrate_noise", "METHODS",
           "SYSTEMS", "NOISE_ORDERS"]

#: Integration methods: fixed-step RK4, fixed-step Dormand-Prince 5, adaptive DP5(4).
METHODS = ("rk4", "dp5", "adaptive")
#: Systems: eq. 3 (``"residual"``) and eq. 6 (``"mlp"``).
SYSTEMS = ("residual", "mlp")
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




@dataclass(frozen=True)
class Trajectory:
    """Solution of :func:`integrate` at the requested times (immutable).

    Attributes
    ----------
    t : ndarray, shape (K,)
        The output times (``t_eval``).
    y : ndarray, shape (K, B, N)
        The state at each output time, for each initial condition (batch axis always kept).
        Entries after a failure of that trajectory are NaN.
    system : str
        ``"residual"`` (eq. 3) or ``"mlp"`` (eq. 6).
    method : str
        ``"rk4"``, ``"dp5"`` or ``"adaptive"``.
    n_steps : ndarray of int64, shape (B,)
        Accepted steps per trajectory.
    n_rejected : ndarray of int64, shape (B,)
        Rejected steps per trajectory (0 for the fixed-step methods).
    n_rhs : ndarray of int64, shape (B,)
        Right-hand side evaluations per trajectory.
    status : ndarray of int64, shape (B,)
        0 success, 1 `max_steps` reached, 2 step size underflow, 3 non-finite state.
    """

    t: np.ndarray
    y: np.ndarray
    system: str
    method: str
    n_steps: np.ndarray
    n_rejected: np.ndarray
    n_rhs: np.ndarray
    status: np.ndarray

    @property
    def success(self) -> bool:
        """True if every trajectory reached the last output time."""
        return bool(np.all(self.status == 0))

    @property
    def message(self) -> str:
        """A one-line summary of the status of the batch."""
        if self.success:
            return "success"
        codes, counts = np.unique(self.status[self.status != 0], return_counts=True)
        return "; ".join(f"{c} trajectories: {_STATUS_MESSAGES[int(k)]}"
                         for k, c in zip(codes, counts))


@dataclass(frozen=True)
class NoiseTrajectory:
    """Solution of :func:`integrate_noise`: a clean trajectory and its noise (immutable).

    Attributes
    ----------
    t : ndarray, shape (K,)
    y : ndarray, shape (K, B, N)
        The clean trajectory.
    xi : ndarray, shape (K, B, N)
        The noise; ``y + xi`` is the noisy trajectory (exactly so for ``order="exact"``).
    system, method : str
    order : str or int
        ``"exact"``, 1, 2, ``"paper1"`` (eq. 7 as printed) or ``"paper2"`` (eq. 8 as printed).
    n_steps, n_rejected, n_rhs, status : ndarray of int64, shape (B,)
        As in :class:`Trajectory`, for the joint system (y, xi).
    """

    t: np.ndarray
    y: np.ndarray
    xi: np.ndarray
    system: str
    method: str
    order: object
    n_steps: np.ndarray
    n_rejected: np.ndarray
    n_rhs: np.ndarray
    status: np.ndarray

    success = Trajectory.success
    message = Trajectory.message


def _as_weights(W) -> np.ndarray:
    if isinstance(W, ResidualSystem):
        return np.ascontiguousarray(W.W)
    return np.ascontiguousarray(as_square_matrix(W, "W"))


def _as_times(t_eval, t0):
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
        if isinstance(t0, (bool, np.bool_)) or not np.isscalar(t0):
            raise TypeError(f"`t0` must be a real number; got {t0!r:.80}.")
        t0 = float(t0)
        if not np.isfinite(t0) or t0 > t[0]:
            raise ValueError(f"`t0` must be finite and <= t_eval[0] = {t[0]:g}; got {t0:g}.")
    return np.ascontiguousarray(t), t0


def _as_bias(b, n, system):
    if b is None:
        return np.zeros(n)
    if system == "residual":
        raise ValueError(
            "`b` applies to system='mlp' only: the bias drops out of the residual flow (eq. 3)."
        )
    arr = np.asarray(b, dtype=np.float64)
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
    # chunks handed out dynamically (trajectories differ in cost, a shared machine may stall
    # a thread); the adaptive kernel runs up to _LANES trajectories side by side per chunk
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


def integrate(W, y0, t_eval, *, method="adaptive", system="residual", dt=None, rtol=1e-8,
              atol=1e-10, b=None, t0=None, first_step=None, max_step=None,
              max_steps=1_000_000) -> Trajectory:
    """Integrate eq. 3 (or the MLP's eq. 6) for a batch of initial conditions.

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
        The shared weight matrix.
    y0 : array_like, shape (N,) or (B, N)
        Initial residuals at time `t0` (one or a batch).
    t_eval : array_like, shape (K,)
        Strictly increasing output times. The integration runs from `t0` to ``t_eval[-1]``.
    method : {"adaptive", "rk4", "dp5"}
        ``"adaptive"``: Dormand-Prince 5(4) with error control and dense output (the
        algorithm of scipy's ``RK45``). ``"rk4"``: classical Runge-Kutta, fixed step.
        ``"dp5"``: the 5th-order Dormand-Prince formula with a fixed step, no error control.
    system : {"residual", "mlp"}
        ``"residual"``: dy/dt = y(1-y)(Wy) (eq. 3). ``"mlp"``: dy/dt = -y + f(Wy + b)
        (eq. 6), f logistic.
    dt : float, optional
        Fixed-step methods only: the largest step (default 0.01). Each interval between
        consecutive output times is split into equal steps no longer than `dt`, so outputs
        are exact steps of the method (no interpolation).
    rtol, atol : float
        Adaptive method only: relative and absolute tolerances (scipy's error norm: RMS over
        the state of ``err / (atol + rtol * max(abs(y_old), abs(y_new)))``).
    b : array_like, shape (N,), optional
        Bias of the MLP (eq. 6); not accepted for the residual system, where it drops out.
    t0 : float, optional
        Start time, <= ``t_eval[0]`` (default ``t_eval[0]``, so that ``y[0] == y0``).
    first_step, max_step : float, optional
        Adaptive method only: the first step (default: Hairer's rule, as scipy) and a cap.
    max_steps : int
        Adaptive method only: the most accepted steps per trajectory.

    Returns
    -------
    Trajectory
        ``.t`` (K,), ``.y`` (K, B, N) and step statistics per trajectory. A trajectory that
        fails (see ``.status``) has NaN outputs from then on and a ``RuntimeWarning`` is
        issued.

    Raises
    ------
    ValueError, TypeError
        On shapes that do not match `W`, non-finite input, `t_eval` not strictly increasing,
        a non-positive `dt` or tolerance, or an unknown `method` / `system`; the message names
        the argument.

    Notes
    -----
    Exact trajectories of eq. 3 stay in the open cube (0, 1)^N, but coordinates approach 0 or
    1 exponentially, so in floating point they reach 0.0 or 1.0 within a few tens of time
    units and stay there (both faces are invariant). Large adaptive steps near an attractor on
    a face may overshoot it by up to about the tolerance (``rtol`` near 1, ``atol`` near 0).

    The adaptive method is the algorithm of scipy's ``solve_ivp(method="RK45")`` (same
    tableau, starting step, controller and dense output): one trajectory takes the same steps.
    A batch runs in parallel, up to 64 trajectories side by side per thread, each with its own
    steps; every trajectory's result is bitwise the same as integrating it alone.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> sol = dynsys.integrate(W, [0.3, 0.6], np.linspace(0, 10, 5))
    >>> sol.y.shape
    (5, 1, 2)
    """
    check_choice(system, "system", SYSTEMS)
    Wm = _as_weights(W)
    n = Wm.shape[0]
    Y0, _ = as_points(y0, n, "y0")
    t, t0 = _as_times(t_eval, t0)
    bias = _as_bias(b, n, system)
    opts = _solver_options(method, dt, rtol, atol, first_step, max_step, max_steps)
    code = ode.RHS_CODES[system]
    out, stats = _run(code, Wm, bias, np.ascontiguousarray(Y0), t, t0, method, opts)
    return Trajectory(
        t=_frozen(t.copy()), y=_frozen(out), system=system, method=method,
        n_steps=_frozen(stats[:, 0].copy()), n_rejected=_frozen(stats[:, 1].copy()),
        n_rhs=_frozen(stats[:, 2].copy()), status=_frozen(stats[:, 3].copy()),
    )


def _noise_code(system, order):
    if isinstance(order, (bool, np.bool_)) or order not in NOISE_ORDERS:
        raise ValueError(
            f"`order` must be one of {', '.join(repr(o) for o in NOISE_ORDERS)}; got {order!r}."
        )
    if system == "residual":
        if order in ("paper1", "paper2"):
            raise ValueError(
                f"`order`={order!r} is the paper's MLP expansion (eq. 7 / eq. 8); for "
                "system='residual' use 'exact' (eq. 5), 1 or 2."
            )
        return {"exact": ode.RHS_RESIDUAL_NOISE, 1: ode.RHS_RESIDUAL_NOISE1,
                2: ode.RHS_RESIDUAL_NOISE2}[order]
    return {"exact": ode.RHS_MLP_NOISE, 1: ode.RHS_MLP_NOISE1, 2: ode.RHS_MLP_NOISE2,
            "paper1": ode.RHS_MLP_PAPER1, "paper2": ode.RHS_MLP_PAPER2}[order]


def integrate_noise(W, y0, xi0, t_eval, *, system="residual", order="exact",
                    method="adaptive", dt=None, rtol=1e-8, atol=1e-10, b=None, t0=None,
                    first_step=None, max_step=None, max_steps=1_000_000) -> NoiseTrajectory:
    """Integrate a clean trajectory jointly with its noise xi (eq. 5; MLP: eq. 6-8).

    The state (y, xi) of length 2N is integrated as one system, with no linearization unless
    asked for.

    ``system="residual"``:

    * ``order="exact"``: dxi/dt = y(1-y)(W xi) + xi(1-2y-xi)(W(y+xi)) (eq. 5), so that
      ``y + xi`` is exactly the eq.-3 trajectory from ``y0 + xi0``;
    * ``order=1``: dxi/dt = y(1-y)(W xi) + xi(1-2y)(Wy) = J(y) xi (the variational equation);
    * ``order=2``: order 1 plus xi(1-2y)(W xi) - xi^2 (Wy).

    ``system="mlp"`` (s = f(Wy + b), f logistic):

    * ``order="exact"``: dxi/dt = -xi + f(W(y+xi)+b) - f(Wy+b) (difference of two eq.-6
      trajectories; evaluated without cancellation);
    * ``order=1``: dxi/dt = -xi + s(1-s)(W xi);
    * ``order=2``: dxi/dt = -xi + s(1-s)(W xi)(1 + (1-2s)(W xi)/2);
    * ``order="paper1"``: eq. 7 as printed, dxi/dt = xi(s - s^2 - 1);
    * ``order="paper2"``: eq. 8 as printed, dxi/dt = -xi + xi s(1-s)(1 + xi(1-2s)/2).

    The paper's forms expand f(Wy + xi) rather than f(W(y + xi)): they equal orders 1 and 2
    when W is the identity and do not approximate the MLP noise for general W (see
    ``docs/theory/noise.rst``). In eq. 7-8 the paper writes s as dy/dt + y, the same thing.

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y0 : array_like, shape (N,) or (B, N)
        Clean initial state.
    xi0 : array_like, shape (N,) or (B, N)
        Initial noise; broadcast against `y0` along the batch axis.
    t_eval : array_like, shape (K,)
        Strictly increasing output times.
    system : {"residual", "mlp"}
    order : {"exact", 1, 2, "paper1", "paper2"}
    method, dt, rtol, atol, b, t0, first_step, max_step, max_steps
        As in :func:`integrate`; tolerances apply to the joint state (y, xi), so for tiny
        noise choose `atol` well below the noise amplitude.

    Returns
    -------
    NoiseTrajectory
        ``.t`` (K,), ``.y`` and ``.xi`` (K, B, N), step statistics.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> sol = dynsys.integrate_noise(W, [0.3, 0.6], [1e-3, -1e-3], [0.0, 1.0, 2.0])
    >>> sol.xi.shape
    (3, 1, 2)
    """
    check_choice(system, "system", SYSTEMS)
    code = _noise_code(system, order)
    Wm = _as_weights(W)
    n = Wm.shape[0]
    Y0, _ = as_points(y0, n, "y0")
    X0, _ = as_points(xi0, n, "xi0")
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
    t, t0 = _as_times(t_eval, t0)
    bias = _as_bias(b, n, system)
    opts = _solver_options(method, dt, rtol, atol, first_step, max_step, max_steps)
    U0 = np.ascontiguousarray(np.concatenate([Y0, X0], axis=1))
    out, stats = _run(code, Wm, bias, U0, t, t0, method, opts)
    return NoiseTrajectory(
        t=_frozen(t.copy()), y=_frozen(np.ascontiguousarray(out[:, :, :n])),
        xi=_frozen(np.ascontiguousarray(out[:, :, n:])), system=system, method=method,
        order=order, n_steps=_frozen(stats[:, 0].copy()),
        n_rejected=_frozen(stats[:, 1].copy()), n_rhs=_frozen(stats[:, 2].copy()),
        status=_frozen(stats[:, 3].copy()),
    )
