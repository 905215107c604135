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
these tests to every pattern of a segment and leaves the rest to the exact pass of
:mod:`dynsys._fixed_points._continuation`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._linalg import lu_complete, lu_solve

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
        k = 0
        nb = 0
        for i in range(n):
            if (I >> i) & 1:
                ii[k] = i
                k += 1
            else:
                bb[nb] = i
                nb += 1
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
