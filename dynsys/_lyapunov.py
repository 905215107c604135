"""Lyapunov exponents of the discrete layer maps over a long run (QR method).

The paper (Lagzi 2018, Fig. 2 and 5) says that the residuals of a shared-weight ResNet settle
while those of an MLP keep oscillating. The largest Lyapunov exponent along the run makes this
a number: negative when nearby trajectories contract (convergence to a stable fixed point or
cycle), about zero at marginal or very slow convergence, positive for chaos.

Maps and tangent maps (``s = f'(z) = f(z)(1 - f(z))``, computed from z as
``exp(-log(1 + e^z) - log(1 + e^-z))`` so that it never loses digits near saturation):

* ResNet in the residuals (``variable="y"``, shared weights): the network's residuals obey
  ``y(t+1) = f(f^-1(y(t)) + W y(t))`` exactly, with tangent map
  ``dy(t+1) = [s(t+1)/s(t)] dy(t) + s(t+1) (W dy(t))``, i.e. ``diag(s(t+1)) (diag(1/s(t)) + W)``.
  At a fixed point its eigenvalues are the layer map's multipliers (``exp((W y)_i)`` at
  coordinates 0, ``exp(-(W y)_i)`` at coordinates 1, those of ``I + diag(y(1-y)) W`` inside).
* ResNet in the cumulative signal (``variable="x"``, shared or per-layer weights):
  ``x(t) = x(t-1) + f(W x(t-1) + b)``, tangent ``dx(t) = dx(t-1) + s(t) (W dx(t-1))``. The two
  are *not* equivalent where residuals saturate: there ``s -> 0``, the x tangent map tends to
  the identity on that coordinate (a perturbation of x_i is carried forward unchanged), so its
  exponent tends to 0 while the residual's exponent is ``-|W y|_i``. Use "y" for the question
  "do the residuals converge?".
* MLP: ``y(t) = f(W y(t-1) + b)``, tangent ``dy(t) = s(t) (W dy(t-1))``.

The method (Benettin et al. 1980; Shimada & Nagashima 1979): evolve k orthonormal tangent
vectors with the tangent map, re-orthonormalize them by a QR factorization after every layer,
and average ``log|R_ii|`` over the layers after a transient. Everything is batched over inputs
(one matrix product per layer for the state and one for the tangent vectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, check_int
from ._layers import _validate_network
from ._arrays import readonly as _frozen

__all__ = ["LyapunovResult", "lyapunov"]




@dataclass(frozen=True)
class LyapunovResult:
    """Result of :func:`lyapunov` (read-only arrays; a single input drops the B axis).

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    variable : {"y", "x"}
        The state whose tangent map was used ("x" only for the ResNet).
    depth : int
        Layers run.
    discard : int
        Map steps excluded from the average (transient).
    n_steps : int
        Map steps averaged over.
    exponents : ndarray (B, k)
        The k largest Lyapunov exponents per input, per layer (natural log), in decreasing
        order.
    running : ndarray (B, n_steps)
        The running estimate of the largest exponent after each averaged step (its
        convergence shows whether the run was long enough).
    """

    kind: str
    variable: str
    depth: int
    discard: int
    n_steps: int
    exponents: np.ndarray
    running: np.ndarray

    @property
    def largest(self):
        """The largest exponent per input, shape (B,) (a float for a single input)."""
        out = self.exponents[..., 0]
        return float(out) if np.ndim(out) == 0 else out


def _log_s(z):
    """log f'(z) = log f(z) + log f(-z), stable for all z."""
    return -(np.logaddexp(0.0, z) + np.logaddexp(0.0, -z))


def _logistic(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def lyapunov(x0, W, b=None, depth=1000, *, kind="resnet", variable="y", n_exponents=1,
             discard=None, seed=0):
    """Largest Lyapunov exponent(s) of the ResNet or MLP layer map along a long run.

    Parameters
    ----------
    x0 : array_like, shape (N,) or (B, N)
        Inputs (one run per input).
    W : array_like, shape (N, N) or (T, N, N)
        Shared weights (run as long as `depth`), or one matrix per layer (``variable="x"``
        and the MLP only; the residuals alone are not a closed map with per-layer weights).
    b : array_like, shape (N,) or (T, N), optional
        Biases (default zero).
    depth : int
        Layers to run, T >= 1 (default 1000; None with per-layer stacks).
    kind : {"resnet", "mlp"}
    variable : {"y", "x"}
        ResNet: the tangent map of the residuals (default) or of the cumulative signal x;
        see the module docstring. Must be "y" for the MLP.
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
    The number of map steps is T - 1 for the ResNet in y (the map takes y(1) to y(T)), and T
    otherwise (x(0) to x(T), y(0) = x0 to y(T)). The run is done in float64 with NumPy.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> r = dynsys.lyapunov(np.array([0.3]), np.array([[2.0]]), np.array([-1.0]), 500,
    ...                     kind="mlp")
    >>> round(r.largest, 6)   # the fixed point y* of y = f(2y - 1): log|2 y*(1-y*)|
    -0.693147
    """
    kind = check_choice(kind, "kind", ("resnet", "mlp"))
    variable = check_choice(variable, "variable", ("y", "x"))
    if kind == "mlp" and variable != "y":
        raise ValueError("`variable` must be 'y' for the MLP, whose state is y.")
    X, was_1d, Ws, bs, T, shared, _ = _validate_network(x0, W, b, depth, np.float64)
    if T < 1:
        raise ValueError(f"`depth` must be >= 1; got {T}.")
    B, N = X.shape
    k = check_int(n_exponents, "n_exponents", minimum=1, maximum=N)
    if kind == "resnet" and variable == "y" and Ws.shape[0] > 1:
        raise ValueError(
            "`variable`='y' needs shared weights (`W` of shape (N, N)): with per-layer weights "
            "the residuals are not a closed map; use variable='x'."
        )
    n_map = T - 1 if (kind == "resnet" and variable == "y") else T
    if n_map < 1:
        raise ValueError(f"`depth` = {T} leaves no map step for variable='y'; use depth >= 2.")
    if discard is None:
        discard = n_map // 10
    discard = check_int(discard, "discard", minimum=0, maximum=n_map - 1)

    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    Q = np.linalg.qr(rng.standard_normal((B, N, k)))[0]
    acc = np.zeros((B, k))
    running = np.empty((B, n_map - discard))

    def layer(t):
        i = 0 if Ws.shape[0] == 1 else t - 1
        j = 0 if bs.shape[0] == 1 else t - 1
        return Ws[i], bs[j]

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
    if kind == "resnet" and variable == "y":
        Wm, bv = layer(1)
        z = state @ Wm.T + bv  # z(1)
        ls = _log_s(z)
        y = _logistic(z)
        for step in range(n_map):
            z_new = z + y @ Wm.T  # z(t+1) = z(t) + W y(t)
            ls_new = _log_s(z_new)
            r = np.exp(ls_new - ls)
            V = r[:, :, None] * Q + np.exp(ls_new)[:, :, None] * np.matmul(Wm, Q)
            Q = renorm(V, step)
            z, ls, y = z_new, ls_new, _logistic(z_new)
    else:
        for step in range(n_map):
            Wm, bv = layer(step + 1)
            z = state @ Wm.T + bv
            s = np.exp(_log_s(z))[:, :, None]
            if kind == "resnet":
                V = Q + s * np.matmul(Wm, Q)
                state += _logistic(z)
            else:
                V = s * np.matmul(Wm, Q)
                state = _logistic(z)
            Q = renorm(V, step)
    n_avg = n_map - discard
    expo = acc / n_avg
    order = np.argsort(-expo, axis=1, kind="stable")
    expo = np.take_along_axis(expo, order, axis=1)
    if was_1d:
        expo, running = expo[0], running[0]
    return LyapunovResult(
        kind=kind, variable=variable, depth=T, discard=discard, n_steps=n_avg,
        exponents=_frozen(expo), running=_frozen(running),
    )
