"""Numba kernels for the continuous dynamics: fixed-step RK4 / DP5 and adaptive Dormand-Prince.

Private, array-only, no validation (the public wrappers in :mod:`dynsys._integrate` validate).
Every kernel integrates a batch of B independent initial conditions of one autonomous system,
in parallel over the batch (``prange`` over chunks of trajectories, one work area per chunk).

The right-hand side is chosen by an integer code (:data:`RHS_CODES`), so each kernel is
compiled once for all systems. ``N`` is the number of neurons; systems with noise integrate
the joint state ``u = (y, xi)`` of length ``2N``; the others ``u = y`` of length ``N``.

=====  ======================  ============================================================
code   name                    right-hand side (s = f(W y + b), f logistic)
=====  ======================  ============================================================
0      ``resnet``              dy/dt = y(1-y)(Wy)                                  (eq. 3)
1      ``resnet_noise``        eq. 3 and dxi/dt = y(1-y)(W xi) + xi(1-2y-xi)(W(y+xi))  (eq. 5)
2      ``resnet_noise1``       eq. 3 and dxi/dt = y(1-y)(W xi) + xi(1-2y)(Wy) = J(y) xi
3      ``resnet_noise2``       eq. 3 and order-1 terms + xi(1-2y)(W xi) - xi^2 (Wy)
4      ``mlp``                 dy/dt = -y + f(Wy + b)                              (eq. 6)
5      ``mlp_noise``           eq. 6 and dxi/dt = -xi + f(W(y+xi)+b) - f(Wy+b)  (exact)
6      ``mlp_noise1``          eq. 6 and dxi/dt = -xi + s(1-s)(W xi)
7      ``mlp_noise2``          eq. 6 and dxi/dt = -xi + s(1-s)(W xi)(1 + (1-2s)(W xi)/2)
8      ``mlp_paper1``          eq. 6 and dxi/dt = -xi + xi s(1-s)          (paper's eq. 7)
9      ``mlp_paper2``          eq. 6 and dxi/dt = -xi + xi s(1-s)(1 + xi(1-2s)/2)  (eq. 8)
=====  ======================  ============================================================

The tanh network ``x(t) = x(t-1) + tanh(W x(t-1) + b)`` has the same table shifted by
:data:`TANH` (``f = tanh``, s = tanh(W y + b), ``f' = 1 - s^2``, ``f'' / 2 = -s (1 - s^2)``):

=====  ==========================  ========================================================
code   name                        right-hand side
=====  ==========================  ========================================================
10     ``tanh_resnet``             dy/dt = (1-y^2)(Wy)
11     ``tanh_resnet_noise``       and dxi/dt = (1-y^2)(W xi) - xi(2y+xi)(W(y+xi))  (exact)
12     ``tanh_resnet_noise1``      and dxi/dt = (1-y^2)(W xi) - 2y xi (Wy) = J(y) xi
13     ``tanh_resnet_noise2``      and order-1 terms - 2y xi (W xi) - xi^2 (Wy)
14     ``tanh_mlp``                dy/dt = -y + tanh(Wy + b)
15     ``tanh_mlp_noise``          and dxi/dt = -xi + tanh(W(y+xi)+b) - tanh(Wy+b)  (exact)
16     ``tanh_mlp_noise1``         and dxi/dt = -xi + (1-s^2)(W xi)
17     ``tanh_mlp_noise2``         and dxi/dt = -xi + (1-s^2)(W xi)(1 - s (W xi))
=====  ==========================  ========================================================

The paper's eq. 7-8 are printed for the logistic only and have no tanh code. The logistic
codes run the logistic arithmetic untouched; the tanh codes branch off before it.

Status codes per trajectory: 0 success, 1 `max_steps` reached, 2 step size underflow (the
adaptive controller could not meet the tolerances), 3 non-finite state (fixed step).
Outputs not reached are NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._common import logistic

RHS_RESNET = 0
RHS_RESNET_NOISE = 1
RHS_RESNET_NOISE1 = 2
RHS_RESNET_NOISE2 = 3
RHS_MLP = 4
RHS_MLP_NOISE = 5
RHS_MLP_NOISE1 = 6
RHS_MLP_NOISE2 = 7
RHS_MLP_PAPER1 = 8
RHS_MLP_PAPER2 = 9
#: The tanh right-hand side of a system is its logistic code plus this offset.
TANH = 10
RHS_TANH_RESNET = TANH + RHS_RESNET
RHS_TANH_RESNET_NOISE = TANH + RHS_RESNET_NOISE
RHS_TANH_RESNET_NOISE1 = TANH + RHS_RESNET_NOISE1
RHS_TANH_RESNET_NOISE2 = TANH + RHS_RESNET_NOISE2
RHS_TANH_MLP = TANH + RHS_MLP
RHS_TANH_MLP_NOISE = TANH + RHS_MLP_NOISE
RHS_TANH_MLP_NOISE1 = TANH + RHS_MLP_NOISE1
RHS_TANH_MLP_NOISE2 = TANH + RHS_MLP_NOISE2

#: name -> integer code of every right-hand side.
RHS_CODES = {
    "resnet": RHS_RESNET,
    "resnet_noise": RHS_RESNET_NOISE,
    "resnet_noise1": RHS_RESNET_NOISE1,
    "resnet_noise2": RHS_RESNET_NOISE2,
    "mlp": RHS_MLP,
    "mlp_noise": RHS_MLP_NOISE,
    "mlp_noise1": RHS_MLP_NOISE1,
    "mlp_noise2": RHS_MLP_NOISE2,
    "mlp_paper1": RHS_MLP_PAPER1,
    "mlp_paper2": RHS_MLP_PAPER2,
    "tanh_resnet": RHS_TANH_RESNET,
    "tanh_resnet_noise": RHS_TANH_RESNET_NOISE,
    "tanh_resnet_noise1": RHS_TANH_RESNET_NOISE1,
    "tanh_resnet_noise2": RHS_TANH_RESNET_NOISE2,
    "tanh_mlp": RHS_TANH_MLP,
    "tanh_mlp_noise": RHS_TANH_MLP_NOISE,
    "tanh_mlp_noise1": RHS_TANH_MLP_NOISE1,
    "tanh_mlp_noise2": RHS_TANH_MLP_NOISE2,
}


def state_size(code: int, n: int) -> int:
    """Length of the integrated state of right-hand side `code`: N, or 2N with noise."""
    return n if code in (RHS_RESNET, RHS_MLP, RHS_TANH_RESNET, RHS_TANH_MLP) else 2 * n

SCHEME_RK4 = 0
SCHEME_DP5 = 1

STATUS_OK = 0
STATUS_MAX_STEPS = 1
STATUS_STEP_UNDERFLOW = 2
STATUS_NONFINITE = 3

# Dormand-Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Norsett & Wanner, Table II.5.2).
_C2, _C3, _C4, _C5 = 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0
_A21 = 1.0 / 5.0
_A31, _A32 = 3.0 / 40.0, 9.0 / 40.0
_A41, _A42, _A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
_A51, _A52, _A53, _A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
_A61, _A62, _A63, _A64, _A65 = (
    9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0,
)
_B1, _B3, _B4, _B5, _B6 = (
    35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0,
)
# Error weights: (5th-order) - (embedded 4th-order), over the 7 FSAL stages.
_E1, _E3, _E4, _E5, _E6, _E7 = (
    -71.0 / 57600.0, 71.0 / 16695.0, -71.0 / 1920.0, 17253.0 / 339200.0, -22.0 / 525.0,
    1.0 / 40.0,
)
# Dense output (Shampine 1986, the quartic continuous extension used by scipy's RK45):
# y(t + x h) = y + h sum_j K_j (P_j1 x + P_j2 x^2 + P_j3 x^3 + P_j4 x^4).
_P = np.array([
    [1.0, -8048581381.0 / 2820520608.0, 8663915743.0 / 2820520608.0,
     -12715105075.0 / 11282082432.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200.0 / 32700410799.0, -68118460800.0 / 10900136933.0,
     87487479700.0 / 32700410799.0],
    [0.0, -1754552775.0 / 470086768.0, 14199869525.0 / 1410260304.0,
     -10690763975.0 / 1880347072.0],
    [0.0, 127303824393.0 / 49829197408.0, -318862633887.0 / 49829197408.0,
     701980252875.0 / 199316789632.0],
    [0.0, -282668133.0 / 205662961.0, 2019193451.0 / 616988883.0,
     -1453857185.0 / 822651844.0],
    [0.0, 40617522.0 / 29380423.0, -110615467.0 / 29380423.0, 69997945.0 / 29380423.0],
])

_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0


@njit(cache=True, inline="always")
def _sigmoid_diff(a, d):
    """f(a + d) - f(a) without cancellation for small d (f logistic).

    Uses f(c) - f(a) = f(a)(1 - f(c)) expm1(c - a) = -f(c)(1 - f(a)) expm1(a - c), taking the
    form whose expm1 argument is <= 0 so nothing overflows.
    """
    c = a + d
    if d <= 0.0:
        return logistic(a) * logistic(-c) * math.expm1(d)
    return -logistic(c) * logistic(-a) * math.expm1(-d)


@njit(cache=True, inline="always")
def _tanh_diff(a, d):
    """tanh(a + d) - tanh(a) without cancellation for small d.

    tanh(u) = 2 f(2u) - 1 with f the logistic, so the difference is twice the logistic's at
    (2a, 2d), which :func:`_sigmoid_diff` computes without cancellation or overflow (scaling
    by 2 is exact).
    """
    return 2.0 * _sigmoid_diff(2.0 * a, 2.0 * d)


@njit(cache=True, inline="always")
def _tanh_slope(z):
    """1 - tanh(z)^2 = 4 f(2z) f(-2z) (f logistic): keeps its digits where tanh(z) rounds
    to +-1, where ``1 - tanh(z)**2`` would be 0."""
    return 4.0 * logistic(2.0 * z) * logistic(-2.0 * z)


@njit(cache=True, inline="always")
def _tanh_noise(base, yi, xi, wy, wx):
    """(dy_i/dt, dxi_i/dt) of the tanh system `base` (its logistic code, noise only).

    `wy` is (W y + b)_i for the MLP, (W y)_i for the ResNet; `wx` is (W xi)_i. The ResNet's
    exact noise expands (1 - (y+xi)^2) - (1 - y^2) = -xi (2y + xi); orders 1 and 2 are its
    terms of degree 1 and 2 in xi.
    """
    if base <= RHS_RESNET_NOISE2:
        g = (1.0 - yi) * (1.0 + yi)
        dy = g * wy
        if base == RHS_RESNET_NOISE:
            dx = g * wx - xi * (2.0 * yi + xi) * (wy + wx)
        elif base == RHS_RESNET_NOISE1:
            dx = g * wx - 2.0 * yi * xi * wy
        else:
            dx = g * wx - 2.0 * yi * xi * wy - 2.0 * yi * xi * wx - xi * xi * wy
        return dy, dx
    s = math.tanh(wy)
    dy = -yi + s
    if base == RHS_MLP_NOISE:
        dx = -xi + _tanh_diff(wy, wx)
    else:
        ds = _tanh_slope(wy)
        if base == RHS_MLP_NOISE1:
            dx = -xi + ds * wx
        else:
            dx = -xi + ds * wx * (1.0 - s * wx)
    return dy, dx


@njit(cache=True, inline="always")
def _products(WT, b, n, u, out, noise, mlp):
    """``out[:n] = W u[:n] (+ b for the MLP)`` and, for a noise system, ``out[n:] = W u[n:]``,
    column by column of W (rows of WT): the linear part of every right-hand side."""
    for i in range(n):
        out[i] = b[i] if mlp else 0.0
    if noise:
        for i in range(n):
            out[n + i] = 0.0
    for j in range(n):
        uj = u[j]
        for i in range(n):
            out[i] += WT[j, i] * uj
    if noise:
        for j in range(n):
            xj = u[n + j]
            for i in range(n):
                out[n + i] += WT[j, i] * xj


@njit(cache=True)
def _rhs_tanh(base, WT, b, n, u, out):
    """:func:`rhs` for the tanh system whose logistic code is `base`."""
    noise = base != RHS_RESNET and base != RHS_MLP
    mlp = base >= RHS_MLP
    _products(WT, b, n, u, out, noise, mlp)
    if base == RHS_RESNET:
        for i in range(n):
            yi = u[i]
            out[i] = (1.0 - yi) * (1.0 + yi) * out[i]
        return
    if base == RHS_MLP:
        for i in range(n):
            out[i] = -u[i] + math.tanh(out[i])
        return
    for i in range(n):
        dy, dx = _tanh_noise(base, u[i], u[n + i], out[i], out[n + i])
        out[i] = dy
        out[n + i] = dx


@njit(cache=True)
def rhs(code, WT, b, n, u, out):
    """Evaluate the right-hand side `code` at the state `u` into `out` (see module table).

    `WT` is the transposed weight matrix (C-contiguous), so that the products W y and W xi
    are accumulated column by column: the inner loop runs over contiguous rows of WT with
    independent accumulators and vectorizes (a row-times-vector dot product would be one
    serial chain of N additions). The products are accumulated in `out` itself.
    """
    if code >= TANH:
        _rhs_tanh(code - TANH, WT, b, n, u, out)
        return
    noise = code != RHS_RESNET and code != RHS_MLP
    mlp = code >= RHS_MLP
    _products(WT, b, n, u, out, noise, mlp)
    if code == RHS_RESNET:
        for i in range(n):
            yi = u[i]
            out[i] = yi * (1.0 - yi) * out[i]
        return
    if code == RHS_MLP:
        for i in range(n):
            out[i] = -u[i] + logistic(out[i])
        return
    for i in range(n):
        yi = u[i]
        xi = u[n + i]
        wy = out[i]  # (W y + b)_i for the MLP
        wx = out[n + i]
        if code <= RHS_RESNET_NOISE2:
            g = yi * (1.0 - yi)
            out[i] = g * wy
            if code == RHS_RESNET_NOISE:
                out[n + i] = g * wx + xi * (1.0 - 2.0 * yi - xi) * (wy + wx)
            elif code == RHS_RESNET_NOISE1:
                out[n + i] = g * wx + xi * (1.0 - 2.0 * yi) * wy
            else:
                out[n + i] = (g * wx + xi * (1.0 - 2.0 * yi) * wy
                              + xi * (1.0 - 2.0 * yi) * wx - xi * xi * wy)
        else:
            s = logistic(wy)
            out[i] = -yi + s
            if code == RHS_MLP_NOISE:
                out[n + i] = -xi + _sigmoid_diff(wy, wx)
            else:
                ds = s * logistic(-wy)  # s (1 - s) without cancellation
                if code == RHS_MLP_NOISE1:
                    out[n + i] = -xi + ds * wx
                elif code == RHS_MLP_NOISE2:
                    out[n + i] = -xi + ds * wx * (1.0 + 0.5 * (1.0 - 2.0 * s) * wx)
                elif code == RHS_MLP_PAPER1:
                    out[n + i] = -xi + xi * ds
                else:
                    out[n + i] = -xi + xi * ds * (1.0 + 0.5 * xi * (1.0 - 2.0 * s))


@njit(cache=True)
def _dp5_stages(code, WT, b, n, m, y, h, K, tmp):
    """Stages 2..6 of Dormand-Prince (K[0] = f(y) given), the 5th-order update into K[6]'s
    argument: returns nothing; writes y_new into tmp[1] and f(y_new) into K[6]."""
    y1 = tmp[0]
    for i in range(m):
        y1[i] = y[i] + h * _A21 * K[0, i]
    rhs(code, WT, b, n, y1, K[1])
    for i in range(m):
        y1[i] = y[i] + h * (_A31 * K[0, i] + _A32 * K[1, i])
    rhs(code, WT, b, n, y1, K[2])
    for i in range(m):
        y1[i] = y[i] + h * (_A41 * K[0, i] + _A42 * K[1, i] + _A43 * K[2, i])
    rhs(code, WT, b, n, y1, K[3])
    for i in range(m):
        y1[i] = y[i] + h * (_A51 * K[0, i] + _A52 * K[1, i] + _A53 * K[2, i]
                            + _A54 * K[3, i])
    rhs(code, WT, b, n, y1, K[4])
    for i in range(m):
        y1[i] = y[i] + h * (_A61 * K[0, i] + _A62 * K[1, i] + _A63 * K[2, i]
                            + _A64 * K[3, i] + _A65 * K[4, i])
    rhs(code, WT, b, n, y1, K[5])
    ynew = tmp[1]
    for i in range(m):
        ynew[i] = y[i] + h * (_B1 * K[0, i] + _B3 * K[2, i] + _B4 * K[3, i]
                              + _B5 * K[4, i] + _B6 * K[5, i])
    rhs(code, WT, b, n, ynew, K[6])


@njit(cache=True)
def _rk4_step(code, WT, b, n, m, y, h, K, tmp):
    """One classical RK4 step from y (K[0] = f(y) given); the new state goes to tmp[1]."""
    y1 = tmp[0]
    for i in range(m):
        y1[i] = y[i] + 0.5 * h * K[0, i]
    rhs(code, WT, b, n, y1, K[1])
    for i in range(m):
        y1[i] = y[i] + 0.5 * h * K[1, i]
    rhs(code, WT, b, n, y1, K[2])
    for i in range(m):
        y1[i] = y[i] + h * K[2, i]
    rhs(code, WT, b, n, y1, K[3])
    ynew = tmp[1]
    for i in range(m):
        ynew[i] = y[i] + h / 6.0 * (K[0, i] + 2.0 * K[1, i] + 2.0 * K[2, i] + K[3, i])


@njit(cache=True)
def _n_substeps(span, dt):
    """Number of equal substeps of size <= dt covering `span` (tolerant to rounding)."""
    q = span / dt
    k = int(math.ceil(q - 1e-9 * max(1.0, q)))
    return max(k, 1)


@njit(cache=True)
def _fixed_one(code, scheme, WT, b, n, m, y0, t0, t_eval, dt, out, ib, K, tmp, y, stats):
    """Integrate one trajectory with a fixed step no larger than `dt`, landing on every
    output time (each interval between outputs is split into equal substeps)."""
    n_out = t_eval.shape[0]
    for i in range(m):
        y[i] = y0[i]
    t = t0
    n_steps = 0
    n_rhs = 0
    status = STATUS_OK
    k = 0
    while k < n_out and t_eval[k] <= t:
        for i in range(m):
            out[k, ib, i] = y[i]
        k += 1
    if k < n_out:
        rhs(code, WT, b, n, y, K[0])
        n_rhs += 1
    while k < n_out:
        span = t_eval[k] - t
        ns = _n_substeps(span, dt)
        h = span / ns
        for _ in range(ns):
            if scheme == SCHEME_RK4:
                _rk4_step(code, WT, b, n, m, y, h, K, tmp)
                for i in range(m):
                    y[i] = tmp[1, i]
                rhs(code, WT, b, n, y, K[0])
                n_rhs += 4
            else:
                _dp5_stages(code, WT, b, n, m, y, h, K, tmp)  # K[6] = f(y_new): FSAL
                for i in range(m):
                    y[i] = tmp[1, i]
                    K[0, i] = K[6, i]
                n_rhs += 6
            n_steps += 1
        t = t_eval[k]
        finite = True
        for i in range(m):
            if not math.isfinite(y[i]):
                finite = False
        if not finite:
            status = STATUS_NONFINITE
            break
        for i in range(m):
            out[k, ib, i] = y[i]
        k += 1
    for kk in range(k, n_out):
        for i in range(m):
            out[kk, ib, i] = np.nan
    stats[ib, 0] = n_steps
    stats[ib, 1] = 0
    stats[ib, 2] = n_rhs
    stats[ib, 3] = status


@njit(cache=True, parallel=True)
def integrate_fixed(code, scheme, WT, b, n, Y0, t0, t_eval, dt, out, stats, n_chunks):
    """Fixed-step RK4 (`scheme` 0) or DP5 (`scheme` 1) over a batch.

    Parameters
    ----------
    code : int
        Right-hand side (module table).
    WT : float64 (N, N), C-contiguous
        The transposed weights ``W.T`` (see :func:`rhs`).
    b : float64 (N,)
    n : int
        N.
    Y0 : float64 (B, m)
        Initial states at time `t0` (m = N without noise, 2N for the joint state (y, xi)).
    t_eval : float64 (K,), increasing, t_eval[0] >= t0
    dt : float
        Largest step.
    out : float64 (K, B, m)
        Filled with the states at `t_eval`.
    stats : int64 (B, 4)
        Filled with (accepted steps, rejected steps (0), right-hand side evaluations, status).
    n_chunks : int
        The batch is cut into this many contiguous chunks run in parallel (each chunk reuses
        one work area); a few per thread balances the load.
    """
    B, m = Y0.shape
    n_chunks = max(1, min(B, n_chunks))
    for c in prange(n_chunks):
        lo = c * B // n_chunks
        hi = (c + 1) * B // n_chunks
        K = np.empty((7, m))
        tmp = np.empty((2, m))
        y = np.empty(m)
        for ib in range(lo, hi):
            _fixed_one(code, scheme, WT, b, n, m, Y0[ib], t0, t_eval, dt, out, ib, K, tmp,
                       y, stats)


@njit(cache=True)
def _initial_step(code, WT, b, n, m, y, f0, t_span, rtol, atol, max_step, tmp, f1):
    """Hairer, Norsett & Wanner (1993), Sect. II.4: the starting step of an order-5 method
    with an order-4 error estimate (the rule scipy's solve_ivp uses)."""
    if t_span == 0.0:
        return 0.0
    d0 = 0.0
    d1 = 0.0
    for i in range(m):
        sc = atol + abs(y[i]) * rtol
        d0 += (y[i] / sc) ** 2
        d1 += (f0[i] / sc) ** 2
    d0 = math.sqrt(d0 / m)
    d1 = math.sqrt(d1 / m)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, t_span)
    y1 = tmp[0]
    for i in range(m):
        y1[i] = y[i] + h0 * f0[i]
    rhs(code, WT, b, n, y1, f1)
    d2 = 0.0
    for i in range(m):
        sc = atol + abs(y[i]) * rtol
        d2 += ((f1[i] - f0[i]) / sc) ** 2
    d2 = math.sqrt(d2 / m) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 5.0)
    return min(100.0 * h0, h1, t_span, max_step)


# ---- asynchronous lanes: L trajectories side by side, each with its own time and step ----
#
# The arithmetic of a Dormand-Prince step is done for L lanes at once with the lane axis
# innermost and contiguous, so that it vectorizes; but every lane keeps its own time, step
# size, error test and output counter, as a plain one-trajectory Dormand-Prince loop would.
# A lane whose trajectory reaches the last output time takes the next trajectory of its chunk. The
# operations per lane are those of the one-trajectory loop in the same order, so the results
# are bitwise the same as integrating each trajectory alone (the tests hold the lanes to such a
# one-trajectory twin, ``tests/_oracles/ode_reference.py``).


@njit(cache=True, inline="always")
def _lane_products(W, b, n, U, out, noise, mlp):
    """``out[:n] = W U[:n] (+ b for the MLP)`` and, for a noise system, ``out[n:] = W U[n:]``,
    lane by lane (the lane axis innermost): the linear part of every lane right-hand side."""
    L = U.shape[1]
    for i in range(n):
        o = out[i]
        b0 = b[i] if mlp else 0.0
        for l in range(L):
            o[l] = b0
        for j in range(n):
            w = W[i, j]
            u = U[j]
            for l in range(L):
                o[l] += w * u[l]
        if noise:
            o2 = out[n + i]
            for l in range(L):
                o2[l] = 0.0
            for j in range(n):
                w = W[i, j]
                u = U[n + j]
                for l in range(L):
                    o2[l] += w * u[l]


@njit(cache=True)
def _rhs_lanes_tanh(base, W, b, n, U, out):
    """:func:`rhs_lanes` for the tanh system whose logistic code is `base` (per lane, the
    arithmetic of :func:`_rhs_tanh` in the same order)."""
    L = U.shape[1]
    noise = base != RHS_RESNET and base != RHS_MLP
    mlp = base >= RHS_MLP
    _lane_products(W, b, n, U, out, noise, mlp)
    if base == RHS_RESNET:
        for i in range(n):
            o = out[i]
            y = U[i]
            for l in range(L):
                o[l] = (1.0 - y[l]) * (1.0 + y[l]) * o[l]
        return
    if base == RHS_MLP:
        for i in range(n):
            o = out[i]
            y = U[i]
            for l in range(L):
                o[l] = -y[l] + math.tanh(o[l])
        return
    for i in range(n):
        for l in range(L):
            dy, dx = _tanh_noise(base, U[i, l], U[n + i, l], out[i, l], out[n + i, l])
            out[i, l] = dy
            out[n + i, l] = dx


@njit(cache=True)
def rhs_lanes(code, W, b, n, U, out):
    """Right-hand side `code` for L lanes at once: U and out have shape (m, L)."""
    if code >= TANH:
        _rhs_lanes_tanh(code - TANH, W, b, n, U, out)
        return
    L = U.shape[1]
    noise = code != RHS_RESNET and code != RHS_MLP
    mlp = code >= RHS_MLP
    _lane_products(W, b, n, U, out, noise, mlp)
    if code == RHS_RESNET:
        for i in range(n):
            o = out[i]
            y = U[i]
            for l in range(L):
                o[l] = y[l] * (1.0 - y[l]) * o[l]
        return
    if code == RHS_MLP:
        for i in range(n):
            o = out[i]
            y = U[i]
            for l in range(L):
                o[l] = -y[l] + logistic(o[l])
        return
    for i in range(n):
        for l in range(L):
            yi = U[i, l]
            xi = U[n + i, l]
            wy = out[i, l]
            wx = out[n + i, l]
            if code <= RHS_RESNET_NOISE2:
                g = yi * (1.0 - yi)
                out[i, l] = g * wy
                if code == RHS_RESNET_NOISE:
                    out[n + i, l] = g * wx + xi * (1.0 - 2.0 * yi - xi) * (wy + wx)
                elif code == RHS_RESNET_NOISE1:
                    out[n + i, l] = g * wx + xi * (1.0 - 2.0 * yi) * wy
                else:
                    out[n + i, l] = (g * wx + xi * (1.0 - 2.0 * yi) * wy
                                     + xi * (1.0 - 2.0 * yi) * wx - xi * xi * wy)
            else:
                s = logistic(wy)
                out[i, l] = -yi + s
                if code == RHS_MLP_NOISE:
                    out[n + i, l] = -xi + _sigmoid_diff(wy, wx)
                else:
                    ds = s * logistic(-wy)
                    if code == RHS_MLP_NOISE1:
                        out[n + i, l] = -xi + ds * wx
                    elif code == RHS_MLP_NOISE2:
                        out[n + i, l] = -xi + ds * wx * (1.0 + 0.5 * (1.0 - 2.0 * s) * wx)
                    elif code == RHS_MLP_PAPER1:
                        out[n + i, l] = -xi + xi * ds
                    else:
                        out[n + i, l] = -xi + xi * ds * (1.0 + 0.5 * xi * (1.0 - 2.0 * s))


@njit(cache=True)
def _dp5_stages_lanes(code, W, b, n, Y, H, K, Y1, Ynew):
    """Dormand-Prince stages for L lanes with per-lane steps H (L,); K (7, m, L) with
    K[0] = f(Y) given; writes the 5th-order update into Ynew and f(Ynew) into K[6]."""
    m, L = Y.shape
    for i in range(m):
        y, y1, k0 = Y[i], Y1[i], K[0, i]
        for l in range(L):
            y1[l] = y[l] + H[l] * _A21 * k0[l]
    rhs_lanes(code, W, b, n, Y1, K[1])
    for i in range(m):
        y, y1, k0, k1 = Y[i], Y1[i], K[0, i], K[1, i]
        for l in range(L):
            y1[l] = y[l] + H[l] * (_A31 * k0[l] + _A32 * k1[l])
    rhs_lanes(code, W, b, n, Y1, K[2])
    for i in range(m):
        y, y1, k0, k1, k2 = Y[i], Y1[i], K[0, i], K[1, i], K[2, i]
        for l in range(L):
            y1[l] = y[l] + H[l] * (_A41 * k0[l] + _A42 * k1[l] + _A43 * k2[l])
    rhs_lanes(code, W, b, n, Y1, K[3])
    for i in range(m):
        y, y1, k0, k1, k2, k3 = Y[i], Y1[i], K[0, i], K[1, i], K[2, i], K[3, i]
        for l in range(L):
            y1[l] = y[l] + H[l] * (_A51 * k0[l] + _A52 * k1[l] + _A53 * k2[l]
                                   + _A54 * k3[l])
    rhs_lanes(code, W, b, n, Y1, K[4])
    for i in range(m):
        y, y1, k0, k1, k2, k3, k4 = Y[i], Y1[i], K[0, i], K[1, i], K[2, i], K[3, i], K[4, i]
        for l in range(L):
            y1[l] = y[l] + H[l] * (_A61 * k0[l] + _A62 * k1[l] + _A63 * k2[l]
                                   + _A64 * k3[l] + _A65 * k4[l])
    rhs_lanes(code, W, b, n, Y1, K[5])
    for i in range(m):
        y, yn, k0, k2, k3, k4, k5 = Y[i], Ynew[i], K[0, i], K[2, i], K[3, i], K[4, i], K[5, i]
        for l in range(L):
            yn[l] = y[l] + H[l] * (_B1 * k0[l] + _B3 * k2[l] + _B4 * k3[l] + _B5 * k4[l]
                                   + _B6 * k5[l])
    rhs_lanes(code, W, b, n, Ynew, K[6])


@njit(cache=True)
def _lane_start(code, WT, b, n, m, Y0, ib, l, t0, t_eval, rtol, atol, first_step, max_step,
                out, Y, K, T, Habs, Kout, NS, NR, NF, yv, fv, tmp, f1):
    """Load trajectory `ib` into lane `l`: state, f(y0), first step, outputs at t <= t0.
    Returns True if the trajectory still has outputs to compute."""
    n_out = t_eval.shape[0]
    t_end = t_eval[n_out - 1]
    for i in range(m):
        yv[i] = Y0[ib, i]
        Y[i, l] = yv[i]
    k = 0
    while k < n_out and t_eval[k] <= t0:
        for i in range(m):
            out[k, ib, i] = yv[i]
        k += 1
    rhs(code, WT, b, n, yv, fv)
    nf = 1
    h_abs = 0.0
    if k < n_out:
        if first_step > 0.0:
            h_abs = min(first_step, t_end - t0)
        else:
            h_abs = _initial_step(code, WT, b, n, m, yv, fv, t_end - t0, rtol, atol,
                                  max_step, tmp, f1)
            nf += 1
    for i in range(m):
        K[0, i, l] = fv[i]
    T[l] = t0
    Habs[l] = h_abs
    Kout[l] = k
    NS[l] = 0
    NR[l] = 0
    NF[l] = nf
    return k < n_out


@njit(cache=True)
def _adaptive_lanes_chunk(code, W, WT, b, n, Y0, lo, hi, t0, t_eval, rtol, atol, first_step,
                          max_step, max_steps, out, stats, L):
    """Adaptive DP5(4) for trajectories lo..hi-1 on L asynchronous lanes."""
    m = Y0.shape[1]
    n_out = t_eval.shape[0]
    t_end = t_eval[n_out - 1]
    Y = np.zeros((m, L))
    Ynew = np.zeros((m, L))
    Y1 = np.zeros((m, L))
    K = np.zeros((7, m, L))
    H = np.zeros(L)
    T = np.zeros(L)
    Habs = np.zeros(L)
    Tnew = np.zeros(L)
    Err = np.zeros(L)
    Kout = np.zeros(L, dtype=np.int64)
    NS = np.zeros(L, dtype=np.int64)
    NR = np.zeros(L, dtype=np.int64)
    NF = np.zeros(L, dtype=np.int64)
    Idx = np.full(L, -1, dtype=np.int64)
    Rej = np.zeros(L, dtype=np.bool_)
    yv = np.empty(m)
    fv = np.empty(m)
    tmp = np.empty((2, m))
    f1 = np.empty(m)
    nxt = lo
    n_active = 0
    for l in range(L):
        while nxt < hi:
            ib = nxt
            nxt += 1
            if _lane_start(code, WT, b, n, m, Y0, ib, l, t0, t_eval, rtol, atol, first_step,
                           max_step, out, Y, K, T, Habs, Kout, NS, NR, NF, yv, fv, tmp, f1):
                Idx[l] = ib
                n_active += 1
                break
            stats[ib, 0] = 0
            stats[ib, 1] = 0
            stats[ib, 2] = NF[l]
            stats[ib, 3] = STATUS_OK
    while n_active > 0:
        # 1. per-lane step sizes (the step-start checks of the one-trajectory loop)
        for l in range(L):
            H[l] = 0.0
            if Idx[l] < 0:
                continue
            status = STATUS_OK
            t = T[l]
            if not Rej[l] and NS[l] >= max_steps:
                status = STATUS_MAX_STEPS
            elif Habs[l] < 10.0 * abs(np.nextafter(t, np.inf) - t):
                status = STATUS_STEP_UNDERFLOW
            if status != STATUS_OK:
                ib = Idx[l]
                for kk in range(Kout[l], n_out):
                    for i in range(m):
                        out[kk, ib, i] = np.nan
                stats[ib, 0] = NS[l]
                stats[ib, 1] = NR[l]
                stats[ib, 2] = NF[l]
                stats[ib, 3] = status
                Idx[l] = -1
                n_active -= 1
                continue
            t_new = t + Habs[l]
            if t_new > t_end:
                t_new = t_end
            Tnew[l] = t_new
            H[l] = t_new - t
            Habs[l] = H[l]
        # 2. one Dormand-Prince attempt on all lanes (idle lanes: H = 0, results unused)
        _dp5_stages_lanes(code, W, b, n, Y, H, K, Y1, Ynew)
        for l in range(L):
            Err[l] = 0.0
        for i in range(m):
            y, yn = Y[i], Ynew[i]
            k0, k2, k3, k4, k5, k6 = K[0, i], K[2, i], K[3, i], K[4, i], K[5, i], K[6, i]
            for l in range(L):
                e = H[l] * (_E1 * k0[l] + _E3 * k2[l] + _E4 * k3[l] + _E5 * k4[l]
                            + _E6 * k5[l] + _E7 * k6[l])
                sc = atol + rtol * max(abs(y[l]), abs(yn[l]))
                r = e / sc
                Err[l] += r * r
        # 3. per-lane acceptance, controller, dense output, refill
        for l in range(L):
            if Idx[l] < 0:
                continue
            NF[l] += 6
            en = math.sqrt(Err[l] / m)
            if en < 1.0:
                if en == 0.0:
                    factor = _MAX_FACTOR
                else:
                    factor = min(_MAX_FACTOR, _SAFETY * en ** -0.2)
                if Rej[l]:
                    factor = min(1.0, factor)
                Habs[l] = min(Habs[l] * factor, max_step)
            else:
                if math.isfinite(en):
                    Habs[l] *= max(_MIN_FACTOR, _SAFETY * en ** -0.2)
                else:
                    Habs[l] *= _MIN_FACTOR
                Rej[l] = True
                NR[l] += 1
                continue
            # accepted
            Rej[l] = False
            NS[l] += 1
            ib = Idx[l]
            t = T[l]
            t_new = Tnew[l]
            h = H[l]
            k = Kout[l]
            while k < n_out and t_eval[k] <= t_new:
                if t_eval[k] == t_new:
                    for i in range(m):
                        out[k, ib, i] = Ynew[i, l]
                else:
                    x = (t_eval[k] - t) / h
                    x2 = x * x
                    x3 = x2 * x
                    x4 = x3 * x
                    for i in range(m):
                        acc = 0.0
                        for j in range(7):
                            q = _P[j, 0] * x + _P[j, 1] * x2 + _P[j, 2] * x3 + _P[j, 3] * x4
                            acc += K[j, i, l] * q
                        out[k, ib, i] = Y[i, l] + h * acc
                k += 1
            Kout[l] = k
            for i in range(m):
                Y[i, l] = Ynew[i, l]
                K[0, i, l] = K[6, i, l]
            T[l] = t_new
            if k < n_out:
                continue
            # trajectory done: record, take the next one
            stats[ib, 0] = NS[l]
            stats[ib, 1] = NR[l]
            stats[ib, 2] = NF[l]
            stats[ib, 3] = STATUS_OK
            Idx[l] = -1
            n_active -= 1
            while nxt < hi:
                ib2 = nxt
                nxt += 1
                if _lane_start(code, WT, b, n, m, Y0, ib2, l, t0, t_eval, rtol, atol,
                               first_step, max_step, out, Y, K, T, Habs, Kout, NS, NR, NF,
                               yv, fv, tmp, f1):
                    Idx[l] = ib2
                    n_active += 1
                    break
                stats[ib2, 0] = 0
                stats[ib2, 1] = 0
                stats[ib2, 2] = NF[l]
                stats[ib2, 3] = STATUS_OK


@njit(cache=True, parallel=True)
def integrate_adaptive_lanes(code, W, WT, b, n, Y0, t0, t_eval, rtol, atol, first_step,
                             max_step, max_steps, out, stats, n_chunks, lanes):
    """Adaptive DP5(4) with dense output over a batch, `lanes` trajectories side by side.

    Arguments as :func:`integrate_fixed` (without `scheme` and `dt`), plus `W` (the weights,
    used by the vectorized lanes) next to `WT`, the error tolerances `rtol` and `atol`,
    `first_step` (<= 0 selects the starting step automatically), `max_step` (a cap on the
    step), `max_steps` (a cap on the accepted steps per trajectory) and the number of `lanes`
    per chunk. The controller is the standard one (Hairer, Norsett & Wanner, Sect. II.4; as in
    scipy's RK45): RMS error norm scaled by atol + rtol max(|y|, |y_new|), step factor
    0.9 err^(-1/5) clipped to [0.2, 10], no growth right after a rejection.
    """
    B = Y0.shape[0]
    n_chunks = max(1, min(B, n_chunks))
    for c in prange(n_chunks):
        lo = c * B // n_chunks
        hi = (c + 1) * B // n_chunks
        L = max(1, min(lanes, hi - lo))
        _adaptive_lanes_chunk(code, W, WT, b, n, Y0, lo, hi, t0, t_eval, rtol, atol,
                              first_step, max_step, max_steps, out, stats, L)
