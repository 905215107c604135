"""Kernels of the fixed-point continuation: the polynomial tables of a segment, and the
compiled pass that proves most patterns free of events.

Private: arrays and scalars in, arrays out, no validation (the public wrapper is
:func:`dynsys.continue_fixed_points`, the maths :doc:`/theory/continuation`).

Along a segment ``W(t) = W0 + t dW``, ``c(t) = c0 + t dc`` (t in [0, 1]) a pattern with
interior set I (k coordinates) has ``q(t) = det W[I,I](t)`` of degree <= k and
``q(t) y_i(t)`` of degree <= k (Cramer's rule); the boundary rates times q have degree
<= k + 1. Each is sampled at d + 1 Chebyshev nodes (d = k + 1) and converted to the
Bernstein basis on [0, 1] by one fixed matrix (:func:`bernstein_tables`). A polynomial
whose Bernstein coefficients are all of one sign, beyond a relative margin, has no root in
[0, 1] (the convex-hull property): :func:`strict_sign`. :func:`prefilter_segment` applies
these tests to every pattern of a segment and leaves the rest to the exact pass,
:func:`exact_segment`, in parallel over the remaining patterns. Its slow, readable twin
is ``tests/_oracles/continuation_exact_reference.py``; the kernel follows it step by step:

* the samples of ``q = det W[I,I](t)``, ``y_I`` and the boundary rates at the nodes;
* the roots of ``q``, of ``q (y_i - face)`` and of ``q (W y + c)_j``, isolated by de
  Casteljau subdivision of their Bernstein coefficients (:func:`isolate`) and refined by
  Brent's method on the exact function, a determinant at t (:func:`brent`, the algorithm
  of ``scipy.optimize.brentq``);
* inside the box, the interior spectrum followed by steps (first-order perturbation of the
  eigenvalues) and bisection on the eigenvalue counts.

The eigenvalues come from LAPACK's ``dgeev`` with the job options of
``numpy.linalg.eigvals`` / ``eig`` (the same values), reached through Numba's LAPACK
bridge: Numba's own ``np.linalg.eig`` refuses a real matrix with complex eigenvalues.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.np.linalg import _LAPACK, ensure_lapack

from ._common import label_code, split_interior
from ._linalg import det_partial, lu_complete, lu_partial, lu_partial_solve, lu_solve

__all__ = [
    "STATE_COPY",
    "STATE_DEGENERATE",
    "STATE_OUT",
    "STATE_IN",
    "STATE_CANDIDATE",
    "chebyshev_nodes",
    "bernstein_tables",
    "strict_sign",
    "prefilter_segment",
    "KIND_BOX_LEAVE",
    "KIND_BOX_ENTER",
    "KIND_SINGULAR",
    "KIND_FLOW_REAL",
    "KIND_FLOW_COMPLEX",
    "KIND_MAP_PLUS",
    "KIND_MAP_MINUS",
    "KIND_MAP_COMPLEX",
    "EVENT_COLUMNS",
    "FLAG_OVERFLOW",
    "FLAG_MAX_STEPS",
    "MARGIN",
    "ROOT_XTOL",
    "LABEL_OFFSET",
    "MAX_DEPTH",
    "STEP_FRACTION",
    "STEP_MIN",
    "STEP_MAX",
    "SAME_ROOT",
    "de_casteljau",
    "isolate",
    "brent",
    "exact_segment",
]

#: Per-pattern states of a segment. COPY: an interior coordinate sits on a face (within
#: face_tol) on the whole segment, so the point is its neighbour's (not canonical);
#: DEGENERATE: ``det W[I,I](t)`` vanishes identically; OUT / IN: the point exists on the
#: whole segment, outside / inside the box throughout, with no event (IN: a vertex whose
#: boundary rates keep their signs); CANDIDATE: the exact pass decides.
STATE_COPY, STATE_DEGENERATE, STATE_OUT, STATE_IN, STATE_CANDIDATE = 0, 1, 2, 3, 4


def chebyshev_nodes(d: int) -> np.ndarray:
    """The d + 1 Chebyshev-Gauss nodes on [0, 1], increasing."""
    m = np.arange(d + 1)
    return np.sort(0.5 * (1.0 - np.cos(np.pi * (2 * m + 1) / (2 * (d + 1)))))


def bernstein_tables(d_max: int):
    """(nodes, to_bernstein) for every degree d = 0 .. d_max, padded to d_max + 1.

    ``nodes[d, :d+1]`` are :func:`chebyshev_nodes` (d); ``to_bernstein[d, :d+1, :d+1]`` maps
    the values of a polynomial of degree <= d at those nodes to its Bernstein coefficients
    ``b_j`` on [0, 1], ``p(t) = sum_j b_j C(d, j) t^j (1 - t)^(d - j)``.
    """
    nodes = np.zeros((d_max + 1, d_max + 1))
    to_b = np.zeros((d_max + 1, d_max + 1, d_max + 1))
    for d in range(d_max + 1):
        t = chebyshev_nodes(d)
        j = np.arange(d + 1)
        binom = np.array([math.comb(d, int(i)) for i in j], dtype=np.float64)
        basis = binom * t[:, None] ** j * (1.0 - t[:, None]) ** (d - j)
        nodes[d, :d + 1] = t
        to_b[d, :d + 1, :d + 1] = np.linalg.inv(basis)
    return nodes, to_b


@njit(cache=True, error_model="numpy", inline="always")
def strict_sign(b, m, margin):
    """+1 / -1 when the Bernstein coefficients ``b[:m]`` are all above / below
    ``margin * max|b|`` in absolute value (then the polynomial has no root in [0, 1]); 0
    otherwise (a root is possible), also for a polynomial that is zero."""
    big = 0.0
    for j in range(m):
        v = abs(b[j])
        if v > big:
            big = v
    if big == 0.0:
        return 0
    lim = margin * big
    pos = True
    neg = True
    for j in range(m):
        if b[j] <= lim:
            pos = False
        if b[j] >= -lim:
            neg = False
    if pos:
        return 1
    if neg:
        return -1
    return 0


@njit(cache=True, error_model="numpy")
def _lu_det(A, k, pr, pc):
    """Determinant of a full-rank complete-pivoting LU (pivots times the swaps' signs)."""
    det = 1.0
    for j in range(k):
        det *= A[j, j]
        if pr[j] != j:
            det = -det
        if pc[j] != j:
            det = -det
    return det


@njit(parallel=True, cache=True, error_model="numpy")
def prefilter_segment(W0, dW, c0, dc, nodes, to_b, rank_tol, face_tol, margin, zero_abs,
                      states, solves):
    """The state of every pattern on one segment (``STATE_*``), into `states` (3^N,).

    `W0`, `dW`, `c0`, `dc`: the segment's affine weights and drive; `nodes`, `to_b`: from
    :func:`bernstein_tables` (N + 1); `rank_tol`: a block is singular at a node when its
    complete-pivoting LU meets a pivot <= it; `face_tol`: a coordinate within it of a face
    at every node lies on the face; `margin`: the relative margin of :func:`strict_sign`;
    `zero_abs`: a vertex's boundary rate below it at both ends is zero identically (the
    origin of eq. 3). `solves` (2^N,) receives the linear solves per interior set.

    Per interior set I (k >= 1): at the k + 2 nodes, LU of ``W[I,I](t)``, its determinant
    q and the columns ``-W[I,I]^{-1} W[I,t]`` of the boundary coordinates and of the drive,
    times q, in the Bernstein basis. Per boundary assignment: sums of columns, then the
    tests (no root of q; some coordinate outside the box throughout; or every coordinate
    inside). Vertices (k = 0) test their boundary rates, affine in t.
    """
    n = W0.shape[0]
    pow3 = np.empty(n, dtype=np.int64)
    acc = 1
    for i in range(n):
        pow3[i] = acc
        acc *= 3
    for I in prange(1 << n):
        ii = np.empty(n, dtype=np.int64)
        bb = np.empty(n, dtype=np.int64)
        k, nb = split_interior(I, n, ii, bb)
        base = 0
        for r in range(k):
            base += 2 * pow3[ii[r]]
        if k == 0:
            _vertices(W0, dW, c0, dc, n, pow3, margin, zero_abs, states)
            continue
        m = k + 2
        d = k + 1
        A = np.empty((k, k))
        pr = np.empty(k, dtype=np.int64)
        pc = np.empty(k, dtype=np.int64)
        rhs = np.empty(k)
        q = np.empty(m)
        PV = np.empty((m, k, nb + 1))      # q * column t (t = nb: the drive), at the nodes
        deficient = 0
        for mi in range(m):
            tn = nodes[d, mi]
            for r in range(k):
                for cc in range(k):
                    A[r, cc] = W0[ii[r], ii[cc]] + tn * dW[ii[r], ii[cc]]
            rank = lu_complete(A, k, rank_tol, pr, pc)
            if rank < k:
                deficient += 1
                continue
            qm = _lu_det(A, k, pr, pc)
            q[mi] = qm
            for t in range(nb + 1):
                if t < nb:
                    for r in range(k):
                        rhs[r] = -(W0[ii[r], bb[t]] + tn * dW[ii[r], bb[t]])
                else:
                    for r in range(k):
                        rhs[r] = -(c0[ii[r]] + tn * dc[ii[r]])
                lu_solve(A, k, pr, pc, rhs)
                for r in range(k):
                    PV[mi, r, t] = qm * rhs[r]
        solves[I] = m * (nb + 1)
        n_assign = 1 << nb
        if deficient > 0:
            state = STATE_DEGENERATE if deficient == m else STATE_CANDIDATE
            for a in range(n_assign):
                code = base
                for t in range(nb):
                    if (a >> t) & 1:
                        code += pow3[bb[t]]
                states[code] = state
            continue
        BQ = np.zeros(m)
        BP = np.zeros((m, k, nb + 1))
        for j in range(m):
            s = 0.0
            for mi in range(m):
                s += to_b[d, j, mi] * q[mi]
            BQ[j] = s
            for r in range(k):
                for t in range(nb + 1):
                    s = 0.0
                    for mi in range(m):
                        s += to_b[d, j, mi] * PV[mi, r, t]
                    BP[j, r, t] = s
        qsign = strict_sign(BQ, m, margin)
        yv = np.empty(m)
        bp = np.empty(m)
        bp1 = np.empty(m)
        ones = np.empty(nb, dtype=np.int64)
        for a in range(n_assign):
            code = base
            n1 = 0
            for t in range(nb):
                if (a >> t) & 1:
                    code += pow3[bb[t]]
                    ones[n1] = t
                    n1 += 1
            if qsign == 0:
                states[code] = STATE_CANDIDATE
                continue
            copy = False
            out = False
            for r in range(k):
                # on a face at every node: the point is the neighbouring pattern's
                at0 = True
                at1 = True
                for mi in range(m):
                    s = PV[mi, r, nb]
                    for u in range(n1):
                        s += PV[mi, r, ones[u]]
                    if abs(s) > face_tol * abs(q[mi]):
                        at0 = False
                    if abs(s - q[mi]) > face_tol * abs(q[mi]):
                        at1 = False
                if at0 or at1:
                    copy = True
                    break
                for j in range(m):
                    s = BP[j, r, nb]
                    for u in range(n1):
                        s += BP[j, r, ones[u]]
                    bp[j] = s
                    bp1[j] = s - BQ[j]
                s0 = strict_sign(bp, m, margin)
                s1 = strict_sign(bp1, m, margin)
                if s0 == -qsign or s1 == qsign:
                    out = True  # y_r < 0, or y_r > 1, on the whole segment
            if copy:
                states[code] = STATE_COPY
            elif out:
                states[code] = STATE_OUT
            else:
                # a face crossed, or inside throughout: then the interior spectrum still
                # needs the exact pass
                states[code] = STATE_CANDIDATE
    return states


@njit(cache=True, error_model="numpy")
def _vertices(W0, dW, c0, dc, n, pow3, margin, zero_abs, states):
    """The 2^N vertices (no interior coordinate): always in the box, events only where a
    boundary rate ``(W y + c)_j``, affine in t, changes sign."""
    g = np.empty(2)
    for a in range(1 << n):
        code = 0
        for t in range(n):
            if (a >> t) & 1:
                code += pow3[t]
        quiet = True
        for j in range(n):
            g0 = c0[j]
            g1 = c0[j] + dc[j]
            for t in range(n):
                if (a >> t) & 1:
                    g0 += W0[j, t]
                    g1 += W0[j, t] + dW[j, t]
            if abs(g0) <= zero_abs and abs(g1) <= zero_abs:
                continue  # zero on the whole segment (the origin of eq. 3): no crossing
            g[0] = g0
            g[1] = g1
            if strict_sign(g, 2, margin) == 0:
                quiet = False
                break
        states[code] = STATE_IN if quiet else STATE_CANDIDATE


# ----------------------------------------------------------------------------------------
# the exact pass
# ----------------------------------------------------------------------------------------

ensure_lapack()
_rgeev = _LAPACK().numba_ez_rgeev(types.float64)

#: Event kinds, in the order of ``_continuation.EVENT_KINDS``.
(KIND_BOX_LEAVE, KIND_BOX_ENTER, KIND_SINGULAR, KIND_FLOW_REAL, KIND_FLOW_COMPLEX,
 KIND_MAP_PLUS, KIND_MAP_MINUS, KIND_MAP_COMPLEX) = range(8)
#: Columns of an event row: t, kind, value (real, imaginary), coordinate, label before,
#: label after (-1: none), dimension before, dimension after.
EVENT_COLUMNS = 9
#: Per-pattern flags: its pieces or events did not fit the output rows (run it again with
#: room for more); its interior stepping stopped at ``max_steps``.
FLAG_OVERFLOW, FLAG_MAX_STEPS = 1, 2

#: Relative margin of the Bernstein sign tests: a coefficient counts as signed when it is
#: beyond this fraction of the polynomial's largest coefficient.
MARGIN = 1e-8
#: Brent's method and the bisections stop at this width in the segment's t (= s).
ROOT_XTOL = 1e-12
_ROOT_RTOL = 4.0 * 2.220446049250313e-16
#: Labels before / after an event are read this far from it (in t).
LABEL_OFFSET = 1e-9
#: Subdivision depth of the root isolation (intervals of 2^-14 at most are then searched
#: on a grid of the exact function).
MAX_DEPTH = 14
#: Steps of the interior spectrum: the fraction of the predicted distance to a zero of a
#: critical function, and the bounds of a step.
STEP_FRACTION = 0.5
STEP_MIN = 1e-7
STEP_MAX = 1.0 / 16.0
#: Roots of two functions closer than this (in t) are one root.
SAME_ROOT = 1e-8
# (the call sites pass these and other constants as np.int64 / np.float64 / np.bool_: a
# bare literal would compile one specialization of the callee per value)
_F_Q, _F_FACE, _F_RATE = 0, 1, 2


# ----------------------------------------------------------------------------------------
# Bernstein root isolation and Brent's method
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def de_casteljau(b, m, left, right):
    """The Bernstein coefficients of the halves [0, 1/2] and [1/2, 1] of ``b[:m]``."""
    work = b[:m].copy()
    for j in range(m):
        left[j] = work[0]
        right[m - 1 - j] = work[m - 1 - j]
        for i in range(m - 1 - j):
            work[i] = 0.5 * (work[i] + work[i + 1])


@njit(cache=True, error_model="numpy")
def isolate(b, m, tau, max_depth):
    """Intervals ``(a, c, certified)`` of [0, 1], in increasing order, that may hold a root
    of the polynomial with Bernstein coefficients ``b[:m]``: an interval whose coefficients
    are all beyond `tau` with one sign is dropped, one with exactly one sign change (and no
    coefficient within `tau` of 0) holds one root (certified), the rest are halved down to
    `max_depth` (then returned uncertified)."""
    out = [(0.0, 0.0, False)]
    out.pop()
    stack = [(b[:m].copy(), 0.0, 1.0, 0)]
    while len(stack):
        coef, a, c, depth = stack.pop()
        pos = True
        neg = True
        for j in range(m):
            if not coef[j] > tau:
                pos = False
            if not coef[j] < -tau:
                neg = False
        if pos or neg:
            continue
        changes = 0
        zero = False
        prev = 0.0
        for j in range(m):
            v = coef[j]
            s = 0.0
            if abs(v) > tau:
                s = 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0)
            if s == 0.0:
                zero = True
            if j > 0 and s != prev:
                changes += 1
            prev = s
        if not zero and changes == 1:
            out.append((a, c, True))
            continue
        if depth >= max_depth:
            out.append((a, c, False))
            continue
        left = np.empty(m)
        right = np.empty(m)
        de_casteljau(coef, m, left, right)
        mid = 0.5 * (a + c)
        stack.append((right, mid, c, depth + 1))
        stack.append((left, a, mid, depth + 1))
    return out


@njit(cache=True, error_model="numpy")
def _signbit(x):
    return x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0)


# ----------------------------------------------------------------------------------------
# one pattern: the exact functions of t
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _block(A0, A1, k, t, A):
    for r in range(k):
        for c in range(k):
            A[r, c] = A0[r, c] + t * A1[r, c]


@njit(cache=True, error_model="numpy")
def _solve(P, t, y, rate, wk):
    """``q = det W[I,I](t)`` (returned), the point `y` (N,) and the rates ``W y + c`` (N,)
    at t, for the pattern context `P`."""
    W0, dW, c0, dc, ii, bb, b1, A0, A1, r0, r1, ybase, signB, S, piv, v = P
    n = W0.shape[0]
    k = ii.shape[0]
    for i in range(n):
        y[i] = ybase[i]
    q = 1.0
    if k:
        _block(A0, A1, k, t, S)
        q = lu_partial(S, k, piv)
        for r in range(k):
            v[r] = r0[r] + t * r1[r]
        lu_partial_solve(S, k, piv, v)
        for r in range(k):
            y[ii[r]] = v[r]
        wk[0] += 1
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += (W0[i, j] + t * dW[i, j]) * y[j]
        rate[i] = s + c0[i] + t * dc[i]
    return q


@njit(cache=True, error_model="numpy")
def _fval(P, fk, farg, face, t, wk):
    """The exact function whose roots are sought: ``q`` (fk 0), ``q (y_r - face)`` as one
    determinant (Cramer; fk 1, r = farg), ``q (W y + c)_j`` as the bordered determinant
    (fk 2, j = farg)."""
    W0, dW, c0, dc, ii, bb, b1, A0, A1, r0, r1, ybase, signB, S, piv, v = P
    k = ii.shape[0]
    wk[0] += 1
    if fk == _F_Q:
        if k == 0:
            return 1.0
        _block(A0, A1, k, t, S)
        return lu_partial(S, k, piv)
    if fk == _F_FACE:
        _block(A0, A1, k, t, S)
        for r in range(k):
            S[r, farg] = (r0[r] + t * r1[r]) - face * S[r, farg]
        return det_partial(S, k)
    j = farg
    for r in range(k):
        for c in range(k):
            S[r, c] = A0[r, c] + t * A1[r, c]
        S[r, k] = r0[r] + t * r1[r]
        S[k, r] = -(W0[j, ii[r]] + t * dW[j, ii[r]])
    d0 = 0.0
    d1 = 0.0
    for u in range(b1.shape[0]):
        d0 += W0[j, b1[u]]
        d1 += dW[j, b1[u]]
    S[k, k] = (d0 + c0[j]) + t * (d1 + dc[j])
    return det_partial(S, k + 1)


@njit(cache=True, error_model="numpy")
def brent(P, fk, farg, face, xa, xb, xtol, rtol, maxiter, wk):
    """A root of the exact function in [xa, xb] (a sign change), by Brent's method: the
    algorithm and stopping rule of ``scipy.optimize.brentq``."""
    xpre = xa
    xcur = xb
    xblk = 0.0
    fblk = 0.0
    spre = 0.0
    scur = 0.0
    fpre = _fval(P, fk, farg, face, xpre, wk)
    fcur = _fval(P, fk, farg, face, xcur, wk)
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and _signbit(fpre) != _signbit(fcur):
            xblk = xpre
            fblk = fpre
            spre = xcur - xpre
            scur = spre
        if abs(fblk) < abs(fcur):
            xpre = xcur
            xcur = xblk
            xblk = xpre
            fpre = fcur
            fcur = fblk
            fblk = fpre
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre = scur
                scur = stry
            else:
                spre = sbis
                scur = sbis
        else:
            spre = sbis
            scur = sbis
        xpre = xcur
        fpre = fcur
        if abs(scur) > delta:
            xcur += scur
        else:
            xcur += delta if sbis > 0.0 else -delta
        fcur = _fval(P, fk, farg, face, xcur, wk)
    return xcur


@njit(cache=True, error_model="numpy")
def _unit_roots(P, b, m, fk, farg, face, wk):
    """The sign changes in (0, 1) of the exact function whose interpolant has the
    Bernstein coefficients ``b[:m]``, increasing, closer ones than 1e-11 merged."""
    roots = [0.0]
    roots.pop()
    big = 0.0
    for j in range(m):
        big = max(big, abs(b[j]))
    if big == 0.0:
        return roots
    grid = np.empty(9)
    vals = np.empty(9)
    for a, c, certified in isolate(b, m, MARGIN * big, MAX_DEPTH):
        if certified:
            ng = 2
            grid[0] = a
            grid[1] = c
        else:
            ng = 9
            step = (c - a) / 8.0
            for i in range(8):
                grid[i] = i * step + a
            grid[8] = c
        for i in range(ng):
            vals[i] = _fval(P, fk, farg, face, grid[i], wk)
        for i in range(ng - 1):
            if vals[i] == 0.0:
                roots.append(grid[i])
            elif vals[i] * vals[i + 1] < 0.0:
                wk[2] += 1
                roots.append(brent(P, fk, farg, face, grid[i], grid[i + 1], ROOT_XTOL,
                                   _ROOT_RTOL, 100, wk))
        if vals[ng - 1] == 0.0:
            roots.append(grid[ng - 1])
    inside = [0.0]
    inside.pop()
    for r in roots:
        if 0.0 < r < 1.0:
            inside.append(r)
    inside.sort()
    kept = [0.0]
    kept.pop()
    for r in inside:
        if len(kept) == 0 or r - kept[-1] > 10.0 * ROOT_XTOL:
            kept.append(r)
    return kept


# ----------------------------------------------------------------------------------------
# one pattern: spectra and labels
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _jacobian(P, t, J, dJ, with_derivative, y, rate, wk):
    """The interior block ``J = diag(y_I (1 - y_I)) W[I,I](t)`` and, if asked, dJ/dt."""
    W0, dW, c0, dc, ii, bb, b1, A0, A1, r0, r1, ybase, signB, S, piv, v = P
    k = ii.shape[0]
    _solve(P, t, y, rate, wk)
    for r in range(k):
        yr = y[ii[r]]
        d = yr * (1.0 - yr)
        for c in range(k):
            J[r, c] = d * (A0[r, c] + t * A1[r, c])
    if not with_derivative:
        return
    _block(A0, A1, k, t, S)
    for r in range(k):
        s = 0.0
        for c in range(k):
            s += A1[r, c] * y[ii[c]]
        v[r] = r1[r] - s
    lu_partial(S, k, piv)
    lu_partial_solve(S, k, piv, v)
    wk[0] += 1
    for r in range(k):
        yr = y[ii[r]]
        d = yr * (1.0 - yr)
        e = (1.0 - 2.0 * yr) * v[r]
        for c in range(k):
            dJ[r, c] = e * (A0[r, c] + t * A1[r, c]) + d * A1[r, c]


@njit(cache=True, error_model="numpy")
def _geev(J, k, wr, wi, vr, want_vectors):
    """Eigenvalues into `wr`, `wi` (and, if asked, the right eigenvectors: row i of `vr`
    for eigenvalue i, a complex pair packed as LAPACK does) of ``J[:k,:k]`` by LAPACK
    ``dgeev`` with the job options of ``numpy.linalg.eigvals`` / ``eig``, hence their
    values. Where the QR iteration fails to converge (NumPy raises there; LAPACK's limit of
    30 sweeps per eigenvalue is not met by these small blocks in practice) the eigenvalues
    are NaN rather than LAPACK's partial output."""
    a = np.empty((k, k))
    for r in range(k):
        for c in range(k):
            a[c, r] = J[r, c]   # C-order transpose: J in Fortran order
    vl = np.empty((1, 1))
    jobvr = ord("V") if want_vectors else ord("N")
    info = _rgeev(ord("d"), ord("N"), jobvr, k, a.ctypes, k, wr.ctypes, wi.ctypes, vl.ctypes,
                  1, vr.ctypes, k)
    if info != 0:
        for i in range(k):
            wr[i] = np.nan
            wi[i] = 0.0


@njit(cache=True, error_model="numpy")
def _interior_eigs(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk):
    k = P[4].shape[0]
    if k == 0:
        return
    _jacobian(P, t, J, dJ, np.bool_(False), y, rate, wk)
    _geev(J, k, wr, wi, vr, np.bool_(False))
    wk[1] += 1
    for i in range(k):
        lam[i] = complex(wr[i], wi[i])


@njit(cache=True, error_model="numpy")
def _labels(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk):
    """(flow label, flow dimension, map label, map dimension) at t, without tolerance."""
    W0, dW, c0, dc, ii, bb, b1, A0, A1, r0, r1, ybase, signB, S, piv, v = P
    n = W0.shape[0]
    k = ii.shape[0]
    _solve(P, t, y, rate, wk)
    fp = 0
    fn = 0
    fz = 0
    mp = 0
    mn = 0
    mz = 0
    for col in range(bb.shape[0]):
        lb = signB[col] * rate[bb[col]]
        if lb > 0.0:
            fp += 1
        elif lb < 0.0:
            fn += 1
        elif lb == 0.0:
            fz += 1
        mod = math.exp(min(lb, 700.0)) - 1.0
        if mod > 0.0:
            mp += 1
        elif mod < 0.0:
            mn += 1
        elif mod == 0.0:
            mz += 1
    _interior_eigs(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk)
    for i in range(k):
        re = lam[i].real
        if re > 0.0:
            fp += 1
        elif re < 0.0:
            fn += 1
        elif re == 0.0:
            fz += 1
        mod = math.hypot(1.0 + lam[i].real, lam[i].imag) - 1.0
        if mod > 0.0:
            mp += 1
        elif mod < 0.0:
            mn += 1
        elif mod == 0.0:
            mz += 1
    return label_code(fp, fn, fz, n), fp, label_code(mp, mn, mz, n), mp


@njit(cache=True, error_model="numpy")
def _counts(P, t, which, lam, J, dJ, y, rate, wr, wi, vr, wk):
    """Interior eigenvalues with Re > 0 (which 1) or with ``|1 + lambda| > 1`` (which 2)."""
    k = P[4].shape[0]
    _interior_eigs(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk)
    c = 0
    for i in range(k):
        if which == 1:
            if lam[i].real > 0.0:
                c += 1
        elif math.hypot(1.0 + lam[i].real, lam[i].imag) > 1.0:
            c += 1
    return c


@njit(cache=True, error_model="numpy")
def _step(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk):
    """(step, flow count, map count) at t: the step keeps the linear prediction of each
    critical function of the interior spectrum short of zero by half (the reference's
    ``_critical_functions``), the derivatives of the eigenvalues by first-order
    perturbation, ``lambda_i' = (V^-1 J' V)_ii``."""
    k = P[4].shape[0]
    _jacobian(P, t, J, dJ, np.bool_(True), y, rate, wk)
    _geev(J, k, wr, wi, vr, np.bool_(True))
    wk[1] += 1
    V = np.empty((k, k), np.complex128)   # V[:, i]: eigenvector i
    i = 0
    while i < k:
        lam[i] = complex(wr[i], wi[i])
        if wi[i] == 0.0:
            for j in range(k):
                V[j, i] = vr[i, j]
            i += 1
        else:
            lam[i + 1] = complex(wr[i + 1], wi[i + 1])
            for j in range(k):
                V[j, i] = complex(vr[i, j], vr[i + 1, j])
                V[j, i + 1] = complex(vr[i, j], -vr[i + 1, j])
            i += 2
    fc = 0
    mc = 0
    for i in range(k):
        if lam[i].real > 0.0:
            fc += 1
        if math.hypot(1.0 + lam[i].real, lam[i].imag) > 1.0:
            mc += 1
    # dJ V, then V^-1 (dJ V) by LU with partial pivoting; an exactly zero pivot is the
    # singular V on which the reference falls back to the smallest step
    X = np.empty((k, k), np.complex128)
    for r in range(k):
        for c in range(k):
            s = 0j
            for u in range(k):
                s += dJ[r, u] * V[u, c]
            X[r, c] = s
    cpiv = np.empty(k, np.int64)
    for j in range(k):
        bi = j
        best = abs(V[j, j])
        for r in range(j + 1, k):
            a = abs(V[r, j])
            if a > best:
                best = a
                bi = r
        cpiv[j] = bi
        if best == 0.0:
            return STEP_MIN, fc, mc
        if bi != j:
            for c in range(k):
                tmp = V[j, c]
                V[j, c] = V[bi, c]
                V[bi, c] = tmp
                tmp = X[j, c]
                X[j, c] = X[bi, c]
                X[bi, c] = tmp
        p = V[j, j]
        for r in range(j + 1, k):
            f = V[r, j] / p
            if f != 0.0:
                for c in range(j + 1, k):
                    V[r, c] -= f * V[j, c]
                for c in range(k):
                    X[r, c] -= f * X[j, c]
    dlam = np.empty(k, np.complex128)
    col = np.empty(k, np.complex128)
    for i in range(k):
        for j in range(k - 1, -1, -1):
            s = X[j, i]
            for c in range(j + 1, k):
                s -= V[j, c] * col[c]
            col[j] = s / V[j, j]
        dlam[i] = col[i]
    # the critical functions (value, rate); the smallest ratio of those approaching 0
    h = np.inf
    any_approaching = False
    for i in range(k):
        e = lam[i]
        de = dlam[i]
        if e.imag != 0.0:
            m = abs(1.0 + e)
            h, any_approaching = _ratio(e.real, de.real, h, any_approaching)
            h, any_approaching = _ratio(m - 1.0, (np.conj(1.0 + e) * de).real / m, h,
                                        any_approaching)
        else:
            h, any_approaching = _ratio(e.real + 2.0, de.real, h, any_approaching)
    for i in range(k):
        if lam[i].imag != 0.0:
            continue
        for j in range(i + 1, k):
            if lam[j].imag != 0.0:
                continue
            h, any_approaching = _ratio(lam[i].real - lam[j].real,
                                        dlam[i].real - dlam[j].real, h, any_approaching)
    if not any_approaching:
        return STEP_MAX, fc, mc
    h = STEP_FRACTION * h
    if not np.isfinite(h):
        h = STEP_MIN
    return min(STEP_MAX, max(STEP_MIN, h)), fc, mc


@njit(cache=True, error_model="numpy", inline="always")
def _ratio(phi, dphi, h, any_approaching):
    """The running minimum of ``|phi / dphi|`` over the functions approaching 0 (``phi
    dphi < 0``); a NaN ratio makes it NaN, as ``np.min`` does."""
    if phi * dphi < 0.0:
        r = abs(phi / dphi)
        if r != r:
            h = r
        elif r < h:
            h = r
        return h, True
    return h, any_approaching


# ----------------------------------------------------------------------------------------
# one pattern: the pass
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _locate(P, a, b, which, events, lam, J, dJ, y, rate, wr, wi, vr, wk):
    """Bisect [a, b] on the flow (which 1) or map (2) count; one event at each change."""
    k = P[4].shape[0]
    target = _counts(P, b, which, lam, J, dJ, y, rate, wr, wi, vr, wk)
    while True:
        c0 = _counts(P, a, which, lam, J, dJ, y, rate, wr, wi, vr, wk)
        if c0 == target:
            return
        lo = a
        hi = b
        while hi - lo > ROOT_XTOL:
            mid = 0.5 * (lo + hi)
            if _counts(P, mid, which, lam, J, dJ, y, rate, wr, wi, vr, wk) == c0:
                lo = mid
            else:
                hi = mid
        wk[2] += 1
        t = 0.5 * (lo + hi)
        _interior_eigs(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk)
        best = 0
        if which == 1:
            for i in range(1, k):
                if abs(lam[i].real) < abs(lam[best].real):
                    best = i
            e = lam[best]
        else:
            for i in range(1, k):
                if abs(abs(1.0 + lam[i]) - 1.0) < abs(abs(1.0 + lam[best]) - 1.0):
                    best = i
            e = 1.0 + lam[best]
        # e is taken before the labels overwrite `lam`
        fb, fdb, mb, mdb = _labels(P, min(lo, t - LABEL_OFFSET), lam, J, dJ, y, rate, wr, wi,
                                   vr, wk)
        fa, fda, ma, mda = _labels(P, max(hi, t + LABEL_OFFSET), lam, J, dJ, y, rate, wr, wi,
                                   vr, wk)
        if which == 1:
            kind = KIND_FLOW_COMPLEX if abs(e.imag) > 0.0 else KIND_FLOW_REAL
            events.append((t, kind, e.real, abs(e.imag), -1, fb, fa, fdb, fda))
        else:
            kind = (KIND_MAP_COMPLEX if abs(e.imag) > 0.0 else
                    KIND_MAP_MINUS if e.real < 0.0 else KIND_MAP_PLUS)
            events.append((t, kind, e.real, abs(e.imag), -1, mb, ma, mdb, mda))
        a = hi


@njit(cache=True, error_model="numpy")
def _interior_events(P, u, v, max_steps, events, lam, J, dJ, y, rate, wr, wi, vr, wk):
    """Events of the interior spectrum inside the in-box piece [u, v]; False when the
    steps ran out."""
    lo = u + LABEL_OFFSET if u > 0.0 else u
    hi = v - LABEL_OFFSET if v < 1.0 else v
    if hi <= lo:
        return True
    t = lo
    h, fc, mc = _step(P, t, lam, J, dJ, y, rate, wr, wi, vr, wk)
    steps = 0
    while t < hi:
        t_new = min(hi, t + h)
        h_new, fc_new, mc_new = _step(P, t_new, lam, J, dJ, y, rate, wr, wi, vr, wk)
        if fc_new != fc:
            _locate(P, t, t_new, np.int64(1), events, lam, J, dJ, y, rate, wr, wi, vr, wk)
        if mc_new != mc:
            _locate(P, t, t_new, np.int64(2), events, lam, J, dJ, y, rate, wr, wi, vr, wk)
        t = t_new
        h = h_new
        fc = fc_new
        mc = mc_new
        steps += 1
        if steps > max_steps:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _in_box(P, t, y, rate, wk):
    ii = P[4]
    _solve(P, t, y, rate, wk)
    for r in range(ii.shape[0]):
        yr = y[ii[r]]
        if not (yr >= 0.0 and yr <= 1.0):
            return False
    return True


@njit(cache=True, error_model="numpy")
def _pattern(code, W0, dW, c0, dc, nodes, to_b, face_tol, zero_abs, rate_scale, last,
             degenerate_set, max_steps, pieces, events, wk):
    """The exact pass of one pattern (`code`, base 3, coordinate i of weight 3^i); returns
    (state, steps ran out). Appends to `pieces` ``(t0, t1, in_box)`` and to `events` the
    event rows (:data:`EVENT_COLUMNS`)."""
    n = W0.shape[0]
    codes = np.empty(n, np.int64)
    rest = code
    k = 0
    nb = 0
    n1 = 0
    for i in range(n):
        codes[i] = rest % 3
        rest //= 3
        if codes[i] == 2:
            k += 1
        else:
            nb += 1
            if codes[i] == 1:
                n1 += 1
    ii = np.empty(k, np.int64)
    bb = np.empty(nb, np.int64)
    b1 = np.empty(n1, np.int64)
    ybase = np.zeros(n)
    signB = np.empty(nb)
    iset = 0
    a_ = 0
    b_ = 0
    c_ = 0
    for i in range(n):
        if codes[i] == 2:
            ii[a_] = i
            a_ += 1
            iset |= 1 << i
        else:
            bb[b_] = i
            signB[b_] = -1.0 if codes[i] == 1 else 1.0
            b_ += 1
            if codes[i] == 1:
                b1[c_] = i
                c_ += 1
                ybase[i] = 1.0
    A0 = np.empty((k, k))
    A1 = np.empty((k, k))
    r0 = np.empty(k)
    r1 = np.empty(k)
    for r in range(k):
        s0 = 0.0
        s1 = 0.0
        for u in range(n1):
            s0 += W0[ii[r], b1[u]]
            s1 += dW[ii[r], b1[u]]
        r0[r] = -s0 - c0[ii[r]]
        r1[r] = -s1 - dc[ii[r]]
        for c in range(k):
            A0[r, c] = W0[ii[r], ii[c]]
            A1[r, c] = dW[ii[r], ii[c]]
    P = (W0, dW, c0, dc, ii, bb, b1, A0, A1, r0, r1, ybase, signB, np.empty((k + 1, k + 1)),
         np.empty(k + 1, np.int64), np.empty(k + 1))
    y = np.empty(n)
    rate = np.empty(n)
    lam = np.empty(max(k, 1), np.complex128)
    J = np.empty((k, k))
    dJ = np.empty((k, k))
    wr = np.empty(max(k, 1))
    wi = np.empty(max(k, 1))
    vr = np.empty((max(k, 1), max(k, 1)))

    d = k + 1
    m = k + 2
    q = np.empty(m)
    Y = np.empty((m, k))
    G = np.empty((m, nb))
    for mi in range(m):
        q[mi] = _solve(P, nodes[d, mi], y, rate, wk)
        for r in range(k):
            Y[mi, r] = y[ii[r]]
        for col in range(nb):
            G[mi, col] = rate[bb[col]]
    if k:
        if degenerate_set[iset]:
            return STATE_DEGENERATE, True
        for r in range(k):
            at0 = True
            at1 = True
            for mi in range(m):
                if not abs(Y[mi, r]) <= face_tol:
                    at0 = False
                if not abs(Y[mi, r] - 1.0) <= face_tol:
                    at1 = False
            if at0 or at1:
                return STATE_COPY, True
    vals = np.empty(m)
    bern = np.empty(m)
    breaks = [(0.0, 0, 0)]
    breaks.pop()
    q_roots = [0.0]
    q_roots.pop()
    if k:
        _to_bernstein(to_b, d, m, q, bern)
        q_roots = _unit_roots(P, bern, m, np.int64(_F_Q), np.int64(0), np.float64(0.0), wk)
        for t in q_roots:
            breaks.append((t, 1, -1))
        for r in range(k):
            for face in (0.0, 1.0):
                for mi in range(m):
                    vals[mi] = q[mi] * (Y[mi, r] - face)
                _to_bernstein(to_b, d, m, vals, bern)
                for t in _unit_roots(P, bern, m, np.int64(_F_FACE), np.int64(r),
                                      np.float64(face), wk):
                    # a root of q y_i shared with q is q's (a point that stays finite
                    # where the block is singular), not a crossing of the face
                    alone = True
                    for tq in q_roots:
                        if not abs(t - tq) > SAME_ROOT:
                            alone = False
                    if alone:
                        breaks.append((t, 0, r))
    # sort by (t, singular, r), as tuples
    for i in range(1, len(breaks)):
        j = i
        while j > 0 and breaks[j] < breaks[j - 1]:
            tmp = breaks[j]
            breaks[j] = breaks[j - 1]
            breaks[j - 1] = tmp
            j -= 1
    nbk = len(breaks)
    edges = np.empty(nbk + 2)
    edges[0] = 0.0
    for j in range(nbk):
        edges[j + 1] = breaks[j][0]
    edges[nbk + 1] = 1.0
    status = np.empty(nbk + 1, np.bool_)
    for j in range(nbk + 1):
        status[j] = _in_box(P, 0.5 * (edges[j] + edges[j + 1]), y, rate, wk)
    pieces.append((edges[0], edges[1], status[0]))
    for j in range(nbk):
        t, singular, r = breaks[j]
        before = status[j]
        after = status[j + 1]
        if singular:
            events.append((t, KIND_SINGULAR, np.nan, 0.0, -1, -1, -1, -1, -1))
            pieces.append((t, edges[j + 2], after))
            if before and after:
                # the point stays finite and in the box through the singular block:
                # a real interior eigenvalue passes through 0
                lo = max(0.5 * (edges[j] + t), t - LABEL_OFFSET)
                hi = min(0.5 * (t + edges[j + 2]), t + LABEL_OFFSET)
                fb, fdb, mb, mdb = _labels(P, lo, lam, J, dJ, y, rate, wr, wi, vr, wk)
                fa, fda, ma, mda = _labels(P, hi, lam, J, dJ, y, rate, wr, wi, vr, wk)
                if fdb != fda:
                    events.append((t, KIND_FLOW_REAL, 0.0, 0.0, -1, fb, fa, fdb, fda))
                if mdb != mda:
                    events.append((t, KIND_MAP_PLUS, 1.0, 0.0, -1, mb, ma, mdb, mda))
            continue
        if before != after:
            _solve(P, t, y, rate, wk)
            S = P[13]
            piv = P[14]
            v = P[15]
            for a in range(k):
                s = 0.0
                for c in range(k):
                    s += A1[a, c] * y[ii[c]]
                v[a] = r1[a] - s
            _block(A0, A1, k, t, S)
            lu_partial(S, k, piv)
            lu_partial_solve(S, k, piv, v)
            wk[0] += 1
            events.append((t, KIND_BOX_ENTER if after else KIND_BOX_LEAVE,
                           rate_scale * v[r], 0.0, ii[r], -1, -1, -1, -1))
            pieces.append((t, edges[j + 2], after))
        else:
            last_piece = pieces[len(pieces) - 1]
            pieces[len(pieces) - 1] = (last_piece[0], edges[j + 2], last_piece[2])
    finished = True
    rate_done = False
    rate_roots = [(0, 0.0)]   # (boundary column, root), column by column
    rate_roots.pop()
    for p in range(len(pieces)):
        u, v_, inside = pieces[p]
        if not inside:
            continue
        if not rate_done:
            qmax = 1.0
            for mi in range(m):
                qmax = max(qmax, abs(q[mi]))
            for col in range(nb):
                big = 0.0
                for mi in range(m):
                    vals[mi] = q[mi] * G[mi, col]
                    big = max(big, abs(vals[mi]))
                if big <= zero_abs * qmax:
                    continue  # zero on the whole segment (the origin of eq. 3): no crossing
                _to_bernstein(to_b, d, m, vals, bern)
                for t in _unit_roots(P, bern, m, np.int64(_F_RATE), np.int64(bb[col]),
                                      np.float64(0.0), wk):
                    rate_roots.append((col, t))
            rate_done = True
        for col, t in rate_roots:
            if not (u < t < v_):
                continue
            j = bb[col]
            fb, fdb, mb, mdb = _labels(P, max(u, t - LABEL_OFFSET), lam, J, dJ, y, rate, wr,
                                       wi, vr, wk)
            fa, fda, ma, mda = _labels(P, min(v_, t + LABEL_OFFSET), lam, J, dJ, y, rate, wr,
                                       wi, vr, wk)
            _solve(P, t, y, rate, wk)
            lb = signB[col] * rate[j]
            events.append((t, KIND_FLOW_REAL, lb, 0.0, j, fb, fa, fdb, fda))
            events.append((t, KIND_MAP_PLUS, math.exp(lb), 0.0, j, mb, ma, mdb, mda))
        if k:
            if not _interior_events(P, u, v_, max_steps, events, lam, J, dJ, y, rate, wr, wi,
                                    vr, wk):
                finished = False
    if not last:
        kept = 0
        for e in range(len(events)):
            if events[e][0] < 1.0:
                events[kept] = events[e]
                kept += 1
        while len(events) > kept:
            events.pop()
    if len(pieces) == 1 and len(events) == 0:
        state = STATE_IN if pieces[0][2] else STATE_OUT
        pieces.pop()
        return state, finished
    return STATE_CANDIDATE, finished


@njit(cache=True, error_model="numpy", inline="always")
def _to_bernstein(to_b, d, m, vals, out):
    for j in range(m):
        s = 0.0
        for mi in range(m):
            s += to_b[d, j, mi] * vals[mi]
        out[j] = s


@njit(parallel=True, cache=True, error_model="numpy")
def exact_segment(W0, dW, c0, dc, nodes, to_b, face_tol, zero_abs, rate_scale, last,
                  degenerate_set, max_steps, cand, states, n_pieces, pieces, n_events,
                  events, work, flags):
    """The exact pass over the candidate patterns `cand` (C,) of one segment.

    `W0`, `dW`, `c0`, `dc`: the segment's unit system; `nodes`, `to_b`: the Bernstein
    tables; `face_tol`, `zero_abs`, `rate_scale`: as in the reference; `last`: keep events
    at t = 1; `degenerate_set` (2^N,) bool: the interior sets whose block is singular at
    every node; `max_steps`: the cap of the interior stepping per piece. Out, per candidate
    c: ``states[c]`` (``STATE_*``), ``n_pieces[c]`` and ``pieces[c, :n, :]`` (t0, t1,
    in_box as 0 / 1), ``n_events[c]`` and ``events[c, :n, :]`` (:data:`EVENT_COLUMNS`),
    ``work[c]`` (solves, eigenvalue problems, roots), ``flags[c]`` (``FLAG_*``).
    """
    cap_p = pieces.shape[1]
    cap_e = events.shape[1]
    for c in prange(cand.shape[0]):
        pl = [(0.0, 0.0, False)]
        pl.pop()
        el = [(0.0, 0, 0.0, 0.0, 0, 0, 0, 0, 0)]
        el.pop()
        wk = np.zeros(3, np.int64)
        state, finished = _pattern(cand[c], W0, dW, c0, dc, nodes, to_b, face_tol, zero_abs,
                                   rate_scale, last, degenerate_set, max_steps, pl, el, wk)
        states[c] = state
        flags[c] = 0 if finished else FLAG_MAX_STEPS
        for j in range(3):
            work[c, j] = wk[j]
        if len(pl) > cap_p or len(el) > cap_e:
            flags[c] |= FLAG_OVERFLOW
            n_pieces[c] = len(pl)
            n_events[c] = len(el)
            continue
        n_pieces[c] = len(pl)
        for j in range(len(pl)):
            pieces[c, j, 0] = pl[j][0]
            pieces[c, j, 1] = pl[j][1]
            pieces[c, j, 2] = 1.0 if pl[j][2] else 0.0
        n_events[c] = len(el)
        for j in range(len(el)):
            e = el[j]
            events[c, j, 0] = e[0]
            events[c, j, 1] = e[1]
            events[c, j, 2] = e[2]
            events[c, j, 3] = e[3]
            events[c, j, 4] = e[4]
            events[c, j, 5] = e[5]
            events[c, j, 6] = e[6]
            events[c, j, 7] = e[7]
            events[c, j, 8] = e[8]
