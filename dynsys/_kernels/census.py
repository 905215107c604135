"""Numba kernel of the attractor census: the ResNet layer map near faces of the cube.

Private, arrays and scalars only, no validation: :func:`dynsys.attractor_census` validates and
drives it. The state of one input is its logit vector z (shared weights, logit coordinates):

    z(t+1) = z(t) + W y(t),    y(t) = f(z(t)),  f logistic.

A coordinate with ``|z_i| > margin`` is *saturated* (on the 0-face below ``-margin``, on the
1-face above ``margin``); the others are *interior* (k of them). On a fixed face the engine
replaces each saturated ``y_i`` by its limit 0 or 1, an error below ``exp(-margin)`` per
coordinate, and the map becomes

    z_I(t+1) = z_I(t) + c_I + W[I,I] f(z_I(t)),     z_S(t+1) = z_S(t) + c_S + W[S,I] f(z_I(t)),

with ``c = W[:, B1] 1`` (B1 the coordinates at 1). So only the k interior coordinates are
iterated (O(k^2) per layer); the saturated ones are advanced once per block by
``L c_S + W[S,I] sum_t y_I(t)`` (O(N k)). A block is as long as no saturated coordinate can
reach the margin: with the speed bound ``v_i = c_i + sum_{j in I} max(W_ij, 0)`` toward the
margin of a coordinate at 0 (mirror image at 1) none can within ``floor((|z_i| - margin) / v_i)``
layers; coordinates that could arrive within ``_NEAR`` layers are followed layer by layer
(O(k) each) and the block lasts until the first of the others could. When the interior has
converged to the fixed point of its face the rates are constant
and the saturated coordinates jump straight to the layer at which the first leaving one reaches
the margin.

Events returned per input: ``EV_TARGET`` (reached the requested layer unsettled),
``EV_ATTRACTOR`` (within `distance_tol` of a map-stable face point, every saturated rate
pointing into its face), ``EV_CYCLE`` (a periodic orbit of the interior whose mean saturated
rates point into their faces) and ``EV_WIDE`` (more than `kmax` interior coordinates: the
driver continues with dense matrix products).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import logistic

__all__ = [
    "EV_TARGET", "EV_ATTRACTOR", "EV_CYCLE", "EV_WIDE", "advance", "faces", "count_interior",
]

EV_TARGET = 0
EV_ATTRACTOR = 1
EV_CYCLE = 2
EV_WIDE = 3

_BIG = np.int64(1) << np.int64(62)
#: Longest block of interior-only layers: bounds the rounding error of the summed y_I.
_MAX_BLOCK = 65536
#: Interior convergence is tested every this many layers once the interior moves slowly.
_CHECK_EVERY = 16
#: ... where "slowly" means max |z_I(t+1) - z_I(t)| below this.
_SLOW = 1e-2
#: Saturated coordinates that could reach the margin within this many layers are followed
#: layer by layer (O(k) each); the others are advanced once per block.
_NEAR = 256
#: Every this many face updates the column sum c is recomputed (no drift of the incremental sums).
_REFRESH_C = 64


@njit(cache=True, inline="always")
def _code(z, margin):
    if z < -margin:
        return 0
    if z > margin:
        return 1
    return 2


@njit(cache=True)
def _solve(A, rhs, out):
    """Gaussian elimination with partial pivoting; A and rhs are overwritten. False if singular."""
    k = A.shape[0]
    for col in range(k):
        p = col
        best = abs(A[col, col])
        for r in range(col + 1, k):
            if abs(A[r, col]) > best:
                best = abs(A[r, col])
                p = r
        if not best > 1e-300:
            return False
        if p != col:
            for cc in range(k):
                tmp = A[col, cc]
                A[col, cc] = A[p, cc]
                A[p, cc] = tmp
            tmp = rhs[col]
            rhs[col] = rhs[p]
            rhs[p] = tmp
        piv = A[col, col]
        for r in range(col + 1, k):
            f = A[r, col] / piv
            if f != 0.0:
                for cc in range(col, k):
                    A[r, cc] -= f * A[col, cc]
                rhs[r] -= f * rhs[col]
    for r in range(k - 1, -1, -1):
        s = rhs[r]
        for cc in range(r + 1, k):
            s -= A[r, cc] * out[cc]
        out[r] = s / A[r, r]
    return True


@njit(cache=True)
def _face_point(WII, cI, ystar, scratch):
    """Solve W[I,I] y_I = -c_I into `ystar`; True when solvable, finite and inside (0, 1)^k."""
    k = WII.shape[0]
    rhs = np.empty(k)
    for a in range(k):
        rhs[a] = -cI[a]
        for b in range(k):
            scratch[a, b] = WII[a, b]
    if not _solve(scratch[:k, :k], rhs, ystar):
        return False
    for a in range(k):
        v = ystar[a]
        if not (v > 0.0 and v < 1.0):
            return False
    return True


@njit(cache=True)
def _interior_spectral_radius(WII, ystar):
    """Largest |mu| of I + diag(y(1-y)) W[I,I], the interior multipliers of the layer map."""
    k = WII.shape[0]
    M = np.empty((k, k), dtype=np.complex128)
    for a in range(k):
        d = ystar[a] * (1.0 - ystar[a])
        for b in range(k):
            M[a, b] = d * WII[a, b]
        M[a, a] += 1.0
    ev = np.linalg.eigvals(M)
    rho = 0.0
    for a in range(k):
        m = abs(ev[a])
        if m > rho:
            rho = m
    return rho


@njit(cache=True)
def _rates(WT, idx, k, c, scale_c, coef, out):
    """out = scale_c * c + W[:, idx[:k]] coef, by rows of W^T (contiguous, vectorised)."""
    n = out.size
    for i in range(n):
        out[i] = scale_c * c[i]
    for a in range(k):
        row = WT[idx[a]]
        w = coef[a]
        for i in range(n):
            out[i] += row[i] * w


@njit(cache=True)
def _recompute_c(WT, sgn, drive, c):
    """c = drive + W[:, B1] 1: the constant part of every coordinate's rate on the current
    faces (the drive is zero for eq. 3, and then c is the same floats as W[:, B1] 1)."""
    n = c.size
    for i in range(n):
        c[i] = drive[i]
    for j in range(n):
        if sgn[j] == 1:
            for i in range(n):
                c[i] += WT[j, i]


@njit(cache=True)
def _recompute_bounds(WT, sgn, posI, negI):
    """posI = sum of max(W[:, j], 0) and negI = sum of min(W[:, j], 0) over the interior j:
    the most the interior can add to, or take from, each coordinate's rate in one layer."""
    n = posI.size
    for i in range(n):
        posI[i] = 0.0
        negI[i] = 0.0
    for j in range(n):
        if sgn[j] == 2:
            row = WT[j]
            for i in range(n):
                w = row[i]
                # max(w, 0) and min(w, 0) as selects, which vectorise
                posI[i] += 0.0 if w < 0.0 else w
                negI[i] += 0.0 if w > 0.0 else w


@njit(cache=True, inline="always")
def _shift_bounds(WT, j, sign, posI, negI):
    """Add (sign 1) or remove (sign -1) coordinate j's column to the interior bounds."""
    row = WT[j]
    for i in range(posI.size):
        w = row[i]
        posI[i] += sign * (0.0 if w < 0.0 else w)
        negI[i] += sign * (0.0 if w > 0.0 else w)


@njit(cache=True)
def _update_faces(z, WT, sgn, drive, c, posI, negI, margin, n_updates):
    """Recode every coordinate from z; keep c = drive + W[:, B1] 1 and the interior bounds
    posI, negI (:func:`_recompute_bounds`) in step, O(N) per coordinate that changes, so that
    a new block costs O(N) for its changes rather than O(N k) for its bounds. Returns
    (changed, updates)."""
    n = z.size
    changed = False
    # the common case, no coordinate recoded, in one branch-free pass that vectorises
    n_diff = 0
    for i in range(n):
        n_diff += _code(z[i], margin) != sgn[i]
    if n_diff == 0:
        return False, n_updates
    for i in range(n):
        new = _code(z[i], margin)
        old = sgn[i]
        if new != old:
            changed = True
            if old == 1:
                for r in range(n):
                    c[r] -= WT[i, r]
            if new == 1:
                for r in range(n):
                    c[r] += WT[i, r]
            if old == 2:
                _shift_bounds(WT, i, -1.0, posI, negI)
            if new == 2:
                _shift_bounds(WT, i, 1.0, posI, negI)
            sgn[i] = new
            n_updates += 1
    if n_updates >= _REFRESH_C:
        _recompute_c(WT, sgn, drive, c)
        _recompute_bounds(WT, sgn, posI, negI)
        n_updates = 0
    return changed, n_updates


@njit(cache=True)
def _layers_to_reach(dist, rate):
    """Number of layers L at which a coordinate at distance `dist` beyond the margin, moving
    toward it at `rate` > 0 per layer, first comes within the margin: ceil(dist / rate)."""
    q = dist / rate
    if q >= 1e18:
        return _BIG
    L = np.int64(np.ceil(q))
    if L < 1:
        L = 1
    return L


@njit(cache=True, inline="always")
def _interior_indices(sgn, idx, kcap):
    """The interior coordinates (code 2) into `idx`; their number k, or -1 above `kcap`."""
    k = 0
    for i in range(sgn.size):
        if sgn[i] == 2:
            if k >= kcap:
                return -1
            idx[k] = i
            k += 1
    return k


@njit(cache=True, inline="always")
def _corner(z, c, sgn, margin, zero_tol):
    """A corner (no interior coordinate): the rates are the constants c.

    Returns (settled, L): settled when every rate points into its face by more than
    `zero_tol`; else L, the first layer at which a coordinate moving toward its margin
    reaches it (``_BIG`` if none moves toward it).
    """
    all_in = True
    Lmin = _BIG
    for i in range(z.size):
        r = c[i] if sgn[i] == 0 else -c[i]  # toward the margin when positive
        if r > zero_tol:
            all_in = False
            L = _layers_to_reach(abs(z[i]) - margin, r)
            if L < Lmin:
                Lmin = L
        elif r >= -zero_tol:
            all_in = False
    return all_in, Lmin


@njit(cache=True, inline="always")
def _gather_interior(z, c, W, idx, k, cI, zI, WII, WIIT):
    """c_I, z_I, W[I,I] and its transpose for the interior coordinates ``idx[:k]``."""
    for a in range(k):
        ia = idx[a]
        cI[a] = c[ia]
        zI[a] = z[ia]
        for b in range(k):
            w = W[ia, idx[b]]
            WII[a, b] = w
            WIIT[b, a] = w


@njit(cache=True, inline="always")
def _horizon(z, c, posI, negI, WT, sgn, idx, k, margin, isnear, near_idx, WnearT, qv):
    """The safe horizon of a block; returns (n_near, Lfar).

    With the speed bound of each saturated coordinate toward its margin (``c + posI`` at 0,
    ``-(c + negI)`` at 1, :func:`_recompute_bounds`), none can reach the margin within
    ``floor((|z_i| - margin) / v_i)`` layers. Those that could within ``_NEAR`` layers are
    marked in `isnear`, listed in ``near_idx[:n_near]`` and their rows of W[:, I] copied,
    transposed, into `WnearT`; Lfar is the first layer at which one of the others could arrive.
    The bounds are kept up to date incrementally, so they carry rounding of order
    ``k * eps * max|W|``; the factor ``1 - 1e-12`` on every horizon covers it. `qv` (N,) is
    scratch.
    """
    n = z.size
    # every quotient first, in a loop without branches that vectorises the divisions
    # (needs the caller's error_model="numpy"); inf where the coordinate is interior or moves
    # away from its margin
    for i in range(n):
        s_ = sgn[i]
        v = c[i] + posI[i] if s_ == 0 else -(c[i] + negI[i])
        q = (abs(z[i]) - margin) / v * (1.0 - 1e-12)
        qv[i] = q if (s_ != 2 and v > 0.0) else np.inf
    n_near = 0
    qfar = np.inf
    for i in range(n):
        q = qv[i]
        near = q < _NEAR
        isnear[i] = near
        if near:
            near_idx[n_near] = i
            n_near += 1
        elif q < qfar:
            qfar = q
    # floor is monotone: the first far arrival is the floor of the least quotient
    Lfar = _BIG if qfar >= 1e18 else np.int64(np.floor(qfar))
    for a in range(k):
        row = WT[idx[a]]
        for j in range(n_near):
            WnearT[a, j] = row[near_idx[j]]
    return n_near, Lfar


@njit(cache=True, inline="always")
def _interior_layer(z, zI, yI, Y, rI, cI, WIIT, c, near_idx, n_near, WnearT, snear, k,
                    margin):
    """One interior-only layer: y_I = f(z_I) (added to Y), the near-margin coordinates and
    z_I advanced. Returns (max |r_I|, whether a coordinate crossed its margin)."""
    for a in range(k):
        yI[a] = logistic(zI[a])
        Y[a] += yI[a]
    exit_face = False
    # z_near += c_near + W[near,I] y_I and r_I = c_I + W[I,I] y_I, each sum in the
    # order c + w_0 y_0 + w_1 y_1 + ..., one column of the transposed block at a time
    for j in range(n_near):
        snear[j] = c[near_idx[j]]
    for a in range(k):
        ya = yI[a]
        col = WnearT[a]
        for j in range(n_near):
            snear[j] += col[j] * ya
    for j in range(n_near):
        i = near_idx[j]
        z[i] += snear[j]
        if abs(z[i]) <= margin:
            exit_face = True
    for a in range(k):
        rI[a] = cI[a]
    for b in range(k):
        yb = yI[b]
        col = WIIT[b]
        for a in range(k):
            rI[a] += col[a] * yb
    rmax = 0.0
    for a in range(k):
        if abs(rI[a]) > rmax:
            rmax = abs(rI[a])
    for a in range(k):
        zI[a] += rI[a]
        if abs(zI[a]) > margin:
            exit_face = True
    return rmax, exit_face


@njit(cache=True, inline="always")
def _record(hist, hpos, hlen, yI, k):
    """y_I into the ring buffer `hist` of the last ``hist.shape[0]`` layers; (hpos, hlen)."""
    for a in range(k):
        hist[hpos, a] = yI[a]
    W2 = hist.shape[0]
    hpos = (hpos + 1) % W2
    if hlen < W2:
        hlen += 1
    return hpos, hlen


@njit(cache=True, inline="always")
def _settled(zI, WII, cI, WT, idx, k, c, sgn, ystar, scratch, ym, rstar, rnow, distance_tol,
             zero_tol, jump_tol):
    """Whether the interior has converged to a stable fixed point of its face.

    Returns 1 (an attractor: y_I within `distance_tol` of the face point ``ystar``, every
    saturated rate pointing into its face there and now), 3 (jump: within `jump_tol` of the
    face point, some rate leaving: the rates are constant from here on, ``rstar``), else 0.
    """
    if not _face_point(WII[:k, :k], cI[:k], ystar, scratch):
        return 0
    delta = 0.0
    for a in range(k):
        d = abs(logistic(zI[a]) - ystar[a])
        if d > delta:
            delta = d
    if delta > distance_tol:
        return 0
    rho = _interior_spectral_radius(WII[:k, :k], ystar[:k])
    interior_stable = rho < 1.0 - zero_tol
    into = True      # every saturated rate at the face point into its face
    now_into = True  # ... and at the current state
    leaving = False
    for a in range(k):
        ym[a] = logistic(zI[a])
    _rates(WT, idx, k, c, 1.0, ystar, rstar)
    _rates(WT, idx, k, c, 1.0, ym, rnow)
    for i in range(sgn.size):
        if sgn[i] == 2:
            continue
        off = rstar[i] if sgn[i] == 0 else -rstar[i]
        off2 = rnow[i] if sgn[i] == 0 else -rnow[i]
        if off >= -zero_tol:
            into = False
        if off > zero_tol:
            leaving = True
        if off2 >= 0.0:
            now_into = False
    if interior_stable and into and now_into:
        return 1
    if interior_stable and leaving and delta <= jump_tol:
        return 3
    return 0


@njit(cache=True, inline="always")
def _period(hist, hpos, pmax, k, distance_tol):
    """The period of the orbit in the full ring buffer `hist` (2 pmax layers), or 0.

    The smallest p >= 2 such that every state of the window repeats the one p layers before
    it, to within `distance_tol` and to within 1e-3 of the orbit's amplitude (the largest
    change over its last p layers): a slow drift or a slow oscillating approach to a fixed
    point repeats itself only to a fraction of its amplitude, a cycle to rounding.
    """
    W2 = 2 * pmax
    amp = 0.0
    for p in range(1, pmax + 1):
        # amp: the largest change over the last p layers, grown one layer per p
        i0 = (hpos - p) % W2
        i1 = (hpos - 1 - p) % W2
        for a in range(k):
            d = abs(hist[i0, a] - hist[i1, a])
            if d > amp:
                amp = d
        if p == 1 or amp <= distance_tol:
            continue
        ctol = min(distance_tol, 1e-3 * amp)
        match = True
        for s_ in range(W2 - p):
            i0 = (hpos - 1 - s_) % W2
            i1 = (hpos - 1 - s_ - p) % W2
            for a in range(k):
                if abs(hist[i0, a] - hist[i1, a]) > ctol:
                    match = False
                    break
            if not match:
                break
        if match:
            return p
    return 0


@njit(cache=True, inline="always")
def _cycle_points_into(hist, hpos, p, WT, idx, k, c, sgn, zero_tol, ym, rnow):
    """Whether the saturated rates at the mean of the last `p` states of `hist` (a cycle of
    period p) all point into their faces by more than `zero_tol`."""
    W2 = hist.shape[0]
    for a in range(k):
        m = 0.0
        for s_ in range(p):
            m += hist[(hpos - 1 - s_) % W2, a]
        ym[a] = m / p
    _rates(WT, idx, k, c, 1.0, ym, rnow)
    for i in range(sgn.size):
        if sgn[i] == 2:
            continue
        off = rnow[i] if sgn[i] == 0 else -rnow[i]
        if off >= -zero_tol:
            return False
    return True


@njit(cache=True, inline="always")
def _materialise(z, WT, idx, k, c, sgn, isnear, steps, Y, zI, rnow):
    """The coordinates after a block of `steps` layers: the far saturated ones advanced by
    ``steps c + W[:, I] Y`` (Y the summed y_I), the interior ones from z_I."""
    _rates(WT, idx, k, c, float(steps), Y, rnow)
    for i in range(z.size):
        if sgn[i] == 2 or isnear[i]:
            continue
        z[i] += rnow[i]
    for a in range(k):
        z[idx[a]] = zI[a]


@njit(cache=True, inline="always")
def _jump(z, idx, k, sgn, ystar, rstar, margin, zero_tol, max_layers):
    """Move the interior onto its face point and the saturated coordinates along their
    constant rates `rstar` to the first layer at which a leaving one reaches its margin (at
    most `max_layers`). Returns the layers jumped."""
    for a in range(k):
        z[idx[a]] = np.log(ystar[a]) - np.log1p(-ystar[a])
    Lj = _BIG
    for i in range(z.size):
        if sgn[i] == 2:
            continue
        r = rstar[i] if sgn[i] == 0 else -rstar[i]
        if r > zero_tol:
            Li = _layers_to_reach(abs(z[i]) - margin, r)
            if Li < Lj:
                Lj = Li
    Lj = min(Lj, max_layers)
    for i in range(z.size):
        if sgn[i] != 2:
            z[i] += Lj * rstar[i]
    return Lj


# error_model="numpy": divisions without a zero check, so that the horizon's loop vectorises
# (no division in this kernel can meet a zero divisor: each is guarded by its sign test)
@njit(cache=True, error_model="numpy")
def _advance_one(z, t, t_stop, W, WT, drive, margin, kmax, distance_tol, zero_tol, jump_tol,
                 pmax, work):
    """Advance one input from layer t toward t_stop. Returns (event, t, period).

    ``drive`` (N,) is the constant c of the layer map ``z <- z + W f(z) + c`` (zeros for a
    logistic network; a tanh network in the coordinates of :mod:`dynsys._activation`).

    ``work`` (4,) accumulates counts: blocks, interior layers, followed near-margin
    coordinate-layers, face solves.
    """
    n = z.size
    sgn = np.empty(n, dtype=np.int8)
    for i in range(n):
        sgn[i] = _code(z[i], margin)
    c = np.zeros(n)
    _recompute_c(WT, sgn, drive, c)
    posI = np.zeros(n)
    negI = np.zeros(n)
    _recompute_bounds(WT, sgn, posI, negI)
    n_updates = 0
    idx = np.empty(n, dtype=np.int64)
    near_idx = np.empty(n, dtype=np.int64)
    isnear = np.zeros(n, dtype=np.bool_)
    kcap = min(kmax, n)
    WII = np.empty((kcap, kcap))
    # W[I,I] and W[near,I] transposed: the per-layer products run down their columns, a
    # vectorisable update of every row sum at once in the order of the row-by-row sums
    WIIT = np.empty((kcap, kcap))
    scratch = np.empty((kcap, kcap))
    cI = np.empty(kcap)
    zI = np.empty(kcap)
    yI = np.empty(kcap)
    rI = np.empty(kcap)
    Y = np.empty(kcap)
    ystar = np.empty(kcap)
    rstar = np.empty(n)
    rnow = np.empty(n)
    ym = np.empty(kcap)
    WnearT = np.empty((kcap, n))
    snear = np.empty(n)
    qv = np.empty(n)
    hist = np.empty((2 * pmax, kcap))
    hlen = 0
    hpos = 0
    while t < t_stop:
        k = _interior_indices(sgn, idx, kcap)
        if k < 0:
            return EV_WIDE, t, 0
        if k == 0:
            settled, L = _corner(z, c, sgn, margin, zero_tol)
            if settled:
                return EV_ATTRACTOR, t, 0
            L = min(L, t_stop - t)
            for i in range(n):
                z[i] += L * c[i]
            t += L
            _, n_updates = _update_faces(z, WT, sgn, drive, c, posI, negI, margin, n_updates)
            hlen = 0
            continue
        _gather_interior(z, c, W, idx, k, cI, zI, WII, WIIT)
        n_near, Lfar = _horizon(z, c, posI, negI, WT, sgn, idx, k, margin, isnear, near_idx,
                                WnearT, qv)
        L = min(Lfar, t_stop - t, _MAX_BLOCK)
        work[0] += 1
        # a block of interior-only layers
        for a in range(k):
            Y[a] = 0.0
        steps = 0
        action = 0  # 0 block over, 1 attractor, 2 cycle, 3 jump
        period = 0
        while steps < L:
            rmax, exit_face = _interior_layer(z, zI, yI, Y, rI, cI, WIIT, c, near_idx, n_near,
                                              WnearT, snear, k, margin)
            hpos, hlen = _record(hist, hpos, hlen, yI, k)
            steps += 1
            t += 1
            work[1] += 1
            work[2] += n_near
            if exit_face:
                break
            if rmax < _SLOW and steps % _CHECK_EVERY == 0:
                work[3] += 1
                action = _settled(zI, WII, cI, WT, idx, k, c, sgn, ystar, scratch, ym, rstar,
                                  rnow, distance_tol, zero_tol, jump_tol)
                if action != 0:
                    break
            if hlen == 2 * pmax and steps % pmax == 0 and rmax > 0.0:
                p = _period(hist, hpos, pmax, k, distance_tol)
                if p > 0 and _cycle_points_into(hist, hpos, p, WT, idx, k, c, sgn, zero_tol,
                                                ym, rnow):
                    action = 2
                    period = p
                    break
        _materialise(z, WT, idx, k, c, sgn, isnear, steps, Y, zI, rnow)
        if action == 1:
            return EV_ATTRACTOR, t, 0
        if action == 2:
            return EV_CYCLE, t, period
        if action == 3:
            t += _jump(z, idx, k, sgn, ystar, rstar, margin, zero_tol, t_stop - t)
        changed, n_updates = _update_faces(z, WT, sgn, drive, c, posI, negI, margin, n_updates)
        if changed:
            hlen = 0
    return EV_TARGET, t, 0


@njit(cache=True, parallel=True)
def advance(Z, T, t_stop, W, WT, drive, margin, kmax, distance_tol, zero_tol, jump_tol, pmax,
            event, period, work):
    """Advance every row of Z (B, N), at layers T (B,), toward t_stop; in place.

    The layer map is ``z <- z + W f(z) + drive`` (``drive`` (N,): zeros for eq. 3).

    ``event`` and ``period`` (B,) receive each row's event code and cycle period; ``work``
    (B, 4) accumulates per row the blocks, interior layers, near-margin coordinate-layers and
    face solves (what the engine cost).
    """
    B = Z.shape[0]
    for b in prange(B):
        ev, tb, p = _advance_one(Z[b], T[b], t_stop, W, WT, drive, margin, kmax, distance_tol,
                                 zero_tol, jump_tol, pmax, work[b])
        event[b] = ev
        T[b] = tb
        period[b] = p


@njit(cache=True, parallel=True)
def count_interior(Z, margin):
    """Number of coordinates with |z| <= margin in each row of Z (B, N)."""
    B, n = Z.shape
    out = np.empty(B, dtype=np.int64)
    for b in prange(B):
        k = 0
        for i in range(n):
            if abs(Z[b, i]) <= margin:
                k += 1
        out[b] = k
    return out


@njit(cache=True, parallel=True)
def faces(Z, margin):
    """Pattern codes (B, N) int8 of the rows of Z: 0 below -margin, 1 above margin, else 2."""
    B, n = Z.shape
    out = np.empty((B, n), dtype=np.int8)
    for b in prange(B):
        for i in range(n):
            out[b, i] = _code(Z[b, i], margin)
    return out


@njit(cache=True, parallel=True, fastmath={"contract", "nsz", "arcp"})
def add_and_sigmoid(Z, D, Y):
    """Z += D, then Y = f(Z), in one pass over the rows (D may alias nothing)."""
    B, n = Z.shape
    for b in prange(B):
        for i in range(n):
            z = Z[b, i] + D[b, i]
            Z[b, i] = z
            Y[b, i] = logistic(z)


@njit(cache=True, parallel=True, fastmath={"contract", "nsz", "arcp"})
def add_drive_and_sigmoid(Z, D, c, Y):
    """Z += D + c (c (N,) the drive of every row), then Y = f(Z), in one pass over the rows:
    the dense layer of a driven system without a separate pass adding the drive."""
    B, n = Z.shape
    for b in prange(B):
        for i in range(n):
            z = Z[b, i] + (D[b, i] + c[i])
            Z[b, i] = z
            Y[b, i] = logistic(z)


@njit(cache=True, parallel=True, fastmath={"contract", "nsz", "arcp"})
def sigmoid_into(Z, Y):
    """Y = f(Z) for rows of Z (B, N)."""
    B, n = Z.shape
    for b in prange(B):
        for i in range(n):
            Y[b, i] = logistic(Z[b, i])
