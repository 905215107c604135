"""Numba kernels of the per-point pass over stored fixed points, shared by the numeric engines.

Private: arrays and scalars in, arrays out, no validation. The enumeration kernel
(:mod:`dynsys._kernels.fixed_points_enumeration`) and the incremental walk
(:mod:`dynsys._kernels.fixed_points_incremental`) store the same raw rows (point, pattern,
eigenvalues); :func:`classify_points` derives every per-point field from them in one parallel
pass and :func:`multiplicities` counts the patterns that give each point, for the result
assembly of :mod:`dynsys._fixed_points._common`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import label_code
from ._linalg import lu_complete

__all__ = ["classify_points", "multiplicities"]


@njit(parallel=True, cache=True, error_model="numpy")
def multiplicities(W, points, codes_int, flex, tol_rank):
    """Number of invertible patterns that give each point.

    ``codes_int`` (M, N) int64 holds each point's canonical pattern (0, 1, 2); ``flex``
    (M, N) bool marks the boundary coordinates with (W y)_i = 0, which may also be interior.
    Every subset of them turned interior gives a consistent pattern; it gives this point
    (rather than a continuum through it) iff its interior block is invertible.
    """
    m_pts = points.shape[0]
    n = W.shape[0]
    out = np.ones(m_pts, dtype=np.int64)
    for p in prange(m_pts):
        nf = 0
        fidx = np.empty(n, dtype=np.int64)
        for i in range(n):
            if flex[p, i]:
                fidx[nf] = i
                nf += 1
        if nf == 0:
            continue
        A = np.empty((n, n), dtype=np.float64)
        pr = np.empty(n, dtype=np.int64)
        pc = np.empty(n, dtype=np.int64)
        idx = np.empty(n, dtype=np.int64)
        count = 0
        for sub in range(1 << nf):
            k = 0
            for i in range(n):
                inter = codes_int[p, i] == 2
                if not inter:
                    for f in range(nf):
                        if fidx[f] == i and (sub >> f) & 1:
                            inter = True
                            break
                if inter:
                    idx[k] = i
                    k += 1
            for r in range(k):
                for c in range(k):
                    A[r, c] = W[idx[r], idx[c]]
            if lu_complete(A, k, tol_rank, pr, pc) == k:
                count += 1
        out[p] = count
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def classify_points(W, c, pts, pats, eig, tol_eig, tol_near):
    """Per-point derived fields in one parallel pass over stored points.

    `c` (N,) is the drive of the rate ``W y + c`` (zeros for eq. 3).

    Returns ``(residual, in_box, flow_code, unstable_dim, map_code, map_unstable_dim, flex,
    near)``: max |F(y)|, y in [0,1]^N, flow label code (index into dynsys.LABELS),
    number of eigenvalues with Re > tol_eig, layer-map label code for in-box points (-1
    outside), number of multipliers with modulus > 1 + tol_eig (-1 outside), the
    boundary coordinates with (W y)_i = 0 (they may also be interior: multiplicity), and
    whether the point is near a tolerance edge (an interior coordinate within `tol_near` of
    0 or 1, or a boundary eigenvalue within `tol_near` of 0), where near-copies could occur.
    """
    m = pts.shape[0]
    n = pts.shape[1]
    residual = np.empty(m)
    in_box = np.empty(m, dtype=np.bool_)
    flow = np.empty(m, dtype=np.int8)
    udim = np.empty(m, dtype=np.int64)
    mapc = np.empty(m, dtype=np.int8)
    mudim = np.empty(m, dtype=np.int64)
    flex = np.zeros((m, n), dtype=np.bool_)
    near = np.zeros(m, dtype=np.bool_)
    for p in prange(m):
        res = 0.0
        box = True
        for i in range(n):
            yi = pts[p, i]
            if yi < 0.0 or yi > 1.0:
                box = False
            if yi == 0.0 or yi == 1.0:
                # F_i = y_i (1 - y_i) (W y)_i is exactly 0 at a boundary coordinate (and a
                # NaN from 0 * inf would not raise `res` either): only interior rows cost
                continue
            s = 0.0
            for j in range(n):
                s += W[i, j] * pts[p, j]
            s += c[i]  # after the sum: with c = 0 the same float (up to the sign of a zero)
            f = abs(yi * (1.0 - yi) * s)
            if f > res:
                res = f
        residual[p] = res
        in_box[p] = box
        npos = 0
        nneg = 0
        nzero = 0
        mpos = 0
        mneg = 0
        mzero = 0
        for i in range(n):
            lr = eig[p, i].real
            if lr > tol_eig:
                npos += 1
            elif lr < -tol_eig:
                nneg += 1
            else:
                nzero += 1
            if pats[p, i] == 2:
                yi = pts[p, i]
                if abs(yi) <= tol_near or abs(yi - 1.0) <= tol_near:
                    near[p] = True
            else:
                if abs(lr) <= tol_eig:
                    flex[p, i] = True
                if abs(lr) <= tol_near:
                    near[p] = True
            if not box:
                # the layer map is defined in the box only: out-of-box points (almost all of
                # them for larger N) skip the multipliers and their exp / sqrt
                continue
            if pats[p, i] == 2:
                li = eig[p, i].imag
                mod = np.sqrt((1.0 + lr) * (1.0 + lr) + li * li)
            else:
                mod = np.exp(lr) if lr < 700.0 else np.inf
            if mod > 1.0 + tol_eig:
                mpos += 1
            elif mod < 1.0 - tol_eig:
                mneg += 1
            else:
                mzero += 1
        flow[p] = label_code(npos, nneg, nzero, n)
        udim[p] = npos
        mapc[p] = label_code(mpos, mneg, mzero, n) if box else -1
        mudim[p] = mpos if box else -1
    return residual, in_box, flow, udim, mapc, mudim, flex, near
