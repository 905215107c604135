"""One-trajectory adaptive Dormand-Prince 5(4): the twin the library's lane kernel is held to.

:func:`dynsys._kernels.ode.integrate_adaptive_lanes` runs up to 64 trajectories side by side
with the lane axis innermost. This module integrates one trajectory at a time with the same
operations in the same order (the same right-hand side, stages, error norm, controller and
dense output of :mod:`dynsys._kernels.ode`), so the two must agree bit for bit. Test use only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from dynsys._kernels.ode import (
    RHS_MLP,
    RHS_RESNET,
    STATUS_MAX_STEPS,
    STATUS_OK,
    STATUS_STEP_UNDERFLOW,
    _E1,
    _E3,
    _E4,
    _E5,
    _E6,
    _E7,
    _MAX_FACTOR,
    _MIN_FACTOR,
    _P,
    _SAFETY,
    _dp5_stages,
    _initial_step,
    rhs,
)

__all__ = ["state_size", "integrate_adaptive"]


def state_size(code: int, n: int) -> int:
    """Length of the integrated state for right-hand side `code` and N = `n` neurons."""
    return n if code in (RHS_RESNET, RHS_MLP) else 2 * n


@njit(cache=True)
def _rms_scaled(m, a, y, ynew, rtol, atol):
    acc = 0.0
    for i in range(m):
        sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
        r = a[i] / sc
        acc += r * r
    return math.sqrt(acc / m)


@njit(cache=True)
def _adaptive_one(code, WT, b, n, m, y0, t0, t_eval, rtol, atol, first_step, max_step,
                  max_steps, out, ib, K, tmp, y, err, stats):
    """Adaptive Dormand-Prince 5(4) for one trajectory, dense output at `t_eval`.

    The controller is the standard one (Hairer, Norsett & Wanner, Sect. II.4; as in scipy's
    RK45): RMS error norm scaled by atol + rtol max(|y|, |y_new|), step factor
    0.9 err^(-1/5) clipped to [0.2, 10], no growth right after a rejection.
    """
    n_out = t_eval.shape[0]
    t_end = t_eval[n_out - 1]
    for i in range(m):
        y[i] = y0[i]
    t = t0
    k = 0
    while k < n_out and t_eval[k] <= t:
        for i in range(m):
            out[k, ib, i] = y[i]
        k += 1
    n_steps = 0
    n_rej = 0
    status = STATUS_OK
    rhs(code, WT, b, n, y, K[0])
    n_rhs = 1
    if k < n_out:
        if first_step > 0.0:
            h_abs = min(first_step, t_end - t)
        else:
            h_abs = _initial_step(code, WT, b, n, m, y, K[0], t_end - t, rtol, atol,
                                  max_step, tmp, K[1])
            n_rhs += 1
    else:
        h_abs = 0.0
    while k < n_out:
        if n_steps >= max_steps:
            status = STATUS_MAX_STEPS
            break
        min_step = 10.0 * abs(np.nextafter(t, np.inf) - t)
        rejected = False
        accepted = False
        t_new = t
        h = 0.0
        while not accepted:
            if h_abs < min_step:
                status = STATUS_STEP_UNDERFLOW
                break
            t_new = t + h_abs
            if t_new > t_end:
                t_new = t_end
            h = t_new - t
            h_abs = h
            _dp5_stages(code, WT, b, n, m, y, h, K, tmp)
            n_rhs += 6
            ynew = tmp[1]
            for i in range(m):
                err[i] = h * (_E1 * K[0, i] + _E3 * K[2, i] + _E4 * K[3, i]
                              + _E5 * K[4, i] + _E6 * K[5, i] + _E7 * K[6, i])
            en = _rms_scaled(m, err, y, ynew, rtol, atol)
            if en < 1.0:
                if en == 0.0:
                    factor = _MAX_FACTOR
                else:
                    factor = min(_MAX_FACTOR, _SAFETY * en ** -0.2)
                if rejected:
                    factor = min(1.0, factor)
                h_abs = min(h_abs * factor, max_step)
                accepted = True
            else:
                if math.isfinite(en):
                    h_abs *= max(_MIN_FACTOR, _SAFETY * en ** -0.2)
                else:
                    h_abs *= _MIN_FACTOR
                rejected = True
                n_rej += 1
        if not accepted:
            break
        n_steps += 1
        # dense output at every requested time in (t, t_new]
        while k < n_out and t_eval[k] <= t_new:
            if t_eval[k] == t_new:
                for i in range(m):
                    out[k, ib, i] = tmp[1, i]
            else:
                x = (t_eval[k] - t) / h
                x2 = x * x
                x3 = x2 * x
                x4 = x3 * x
                for i in range(m):
                    acc = 0.0
                    for j in range(7):
                        q = _P[j, 0] * x + _P[j, 1] * x2 + _P[j, 2] * x3 + _P[j, 3] * x4
                        acc += K[j, i] * q
                    out[k, ib, i] = y[i] + h * acc
            k += 1
        for i in range(m):
            y[i] = tmp[1, i]
            K[0, i] = K[6, i]  # first same as last
        t = t_new
    for kk in range(k, n_out):
        for i in range(m):
            out[kk, ib, i] = np.nan
    stats[ib, 0] = n_steps
    stats[ib, 1] = n_rej
    stats[ib, 2] = n_rhs
    stats[ib, 3] = status


@njit(cache=True, parallel=True)
def integrate_adaptive(code, WT, b, n, Y0, t0, t_eval, rtol, atol, first_step, max_step,
                       max_steps, out, stats, n_chunks):
    """Adaptive Dormand-Prince 5(4) with dense output over a batch, one trajectory at a time
    (arguments as :func:`dynsys._kernels.ode.integrate_adaptive_lanes` without `W` and
    `lanes`)."""
    B, m = Y0.shape
    n_chunks = max(1, min(B, n_chunks))
    for c in prange(n_chunks):
        lo = c * B // n_chunks
        hi = (c + 1) * B // n_chunks
        K = np.empty((7, m))
        tmp = np.empty((2, m))
        y = np.empty(m)
        err = np.empty(m)
        for ib in range(lo, hi):
            _adaptive_one(code, WT, b, n, m, Y0[ib], t0, t_eval, rtol, atol, first_step,
                          max_step, max_steps, out, ib, K, tmp, y, err, stats)
