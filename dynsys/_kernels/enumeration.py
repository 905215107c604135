"""Numba kernels for the pattern enumeration of the fixed points of eq. 3.

Private: arrays and scalars in, arrays out, no validation (see :mod:`dynsys._fixed_points`).

Organisation (the fast path of :func:`dynsys.fixed_points`):

1. The 3^N patterns are grouped by their interior set ``I`` (2^N groups). Within a group the
   matrix ``W[I,I]`` is the same for every 0/1 assignment of the boundary coordinates, so it is
   factored once (LU with complete pivoting, which also decides its rank with a tolerance).
2. For an invertible ``W[I,I]`` the interior solution is linear in the assignment:
   ``y_I = sum_{j in B1} c_j`` with ``c_j = -W[I,I]^{-1} W[I,j]``, and likewise
   ``(W y)_B = sum_{j in B1} g_j``. Each pattern costs two short vector sums.
3. A point is kept only at its *canonical* pattern (no interior coordinate equal to 0 or 1
   within ``tol_y``); every other pattern that gives it is a copy. This counts distinct points
   in a streaming pass without storing any.
4. Boundary eigenvalues ``(W y)_i`` / ``-(W y)_i`` come free and reject most candidates of the
   stable filters. Interior eigenvalues use closed forms for 1x1 and 2x2 blocks and a
   hand-written balance + Hessenberg + shifted-QR solver (after Numerical Recipes' ``hqr``)
   for larger ones. Where only the number of eigenvalues right of the axis is needed
   (counting out-of-box points), the characteristic polynomial of ``diag(d) W[I,I]`` is
   assembled from the principal minors of W (precomputed once) and a Routh-Hurwitz count is
   used, falling back to QR when the Routh array is inconclusive.
5. The work is split into ``n_chunks`` strided chunks of interior sets processed by
   ``prange``; every kernel runs twice with the same signature (``phase`` 0 counts per chunk,
   phase 1 fills preallocated arrays at per-chunk offsets).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "principal_minors",
    "enumerate_patterns",
    "multiplicities",
    "classify_points",
    "small_eigvals",
    "count_layout",
]

_EPS = 2.220446049250313e-16

# Filters (``filt``) and modes (``mode``) of :func:`enumerate_patterns`.
FILTER_NONE, FILTER_IN_BOX, FILTER_STABLE, FILTER_STABLE_IN_BOX = 0, 1, 2, 3
MODE_STORE, MODE_COUNT = 0, 1


def count_layout(n):
    """Column offsets of the per-chunk count table of :func:`enumerate_patterns`.

    Returns a dict of name -> start column; ``width`` is the number of columns.
    Flow types are ordered stable, unstable, saddle, non-hyperbolic.
    """
    lay = {}
    lay["flow_in"] = 0            # 4 flow types of in-box points
    lay["flow_out"] = 4           # 4 flow types of out-of-box points
    lay["map_in"] = 8             # 4 map types of in-box points
    lay["disagree"] = 12          # in-box points whose flow and map labels differ
    lay["kept"] = 13              # points that passed the filter (store mode)
    lay["no_solution"] = 14       # singular patterns without solution
    lay["continuum"] = 15         # singular patterns with a continuum of solutions
    lay["qr_fallback"] = 16       # Routh counts that fell back to QR
    lay["udim_in"] = 17           # unstable-dimension histogram, in-box (n + 1)
    lay["udim_out"] = 17 + n + 1  # same, out of the box
    lay["width"] = 17 + 2 * (n + 1)
    return lay


# ----------------------------------------------------------------------------------------
# small dense linear algebra
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _lu_complete(A, k, tol, pr, pc):
    """In-place LU with complete pivoting of ``A[:k,:k]``; returns the numerical rank.

    Stops when the largest remaining entry is ``<= tol``. ``pr``/``pc`` receive the row and
    column swaps (LAPACK convention).
    """
    rank = 0
    for j in range(k):
        best = 0.0
        bi = j
        bj = j
        for r in range(j, k):
            for c in range(j, k):
                v = abs(A[r, c])
                if v > best:
                    best = v
                    bi = r
                    bj = c
        if best <= tol:
            for r in range(j, k):
                pr[r] = r
                pc[r] = r
            break
        pr[j] = bi
        pc[j] = bj
        if bi != j:
            for c in range(k):
                t = A[j, c]
                A[j, c] = A[bi, c]
                A[bi, c] = t
        if bj != j:
            for r in range(k):
                t = A[r, j]
                A[r, j] = A[r, bj]
                A[r, bj] = t
        piv = A[j, j]
        for r in range(j + 1, k):
            f = A[r, j] / piv
            A[r, j] = f
            if f != 0.0:
                for c in range(j + 1, k):
                    A[r, c] -= f * A[j, c]
        rank += 1
    return rank


@njit(cache=True, error_model="numpy")
def _lu_forward(A, k, rank, pr, b):
    """Apply the row swaps and L^{-1} (first `rank` columns) to `b` in place."""
    for j in range(rank):
        p = pr[j]
        if p != j:
            t = b[j]
            b[j] = b[p]
            b[p] = t
    for j in range(rank):
        bj = b[j]
        if bj != 0.0:
            for r in range(j + 1, k):
                b[r] -= A[r, j] * bj


@njit(cache=True, error_model="numpy")
def _lu_solve(A, k, pr, pc, b):
    """Solve with a full-rank complete-pivoting LU; `b` is overwritten with the solution."""
    _lu_forward(A, k, k, pr, b)
    for j in range(k - 1, -1, -1):
        s = b[j]
        for c in range(j + 1, k):
            s -= A[j, c] * b[c]
        b[j] = s / A[j, j]
    for j in range(k - 1, -1, -1):
        p = pc[j]
        if p != j:
            t = b[j]
            b[j] = b[p]
            b[p] = t


@njit(cache=True, error_model="numpy")
def _det_partial(A, k):
    """Determinant of ``A[:k,:k]`` by Gaussian elimination with partial pivoting (in place)."""
    det = 1.0
    for j in range(k):
        bi = j
        best = abs(A[j, j])
        for r in range(j + 1, k):
            v = abs(A[r, j])
            if v > best:
                best = v
                bi = r
        if best == 0.0:
            return 0.0
        if bi != j:
            det = -det
            for c in range(k):
                t = A[j, c]
                A[j, c] = A[bi, c]
                A[bi, c] = t
        piv = A[j, j]
        det *= piv
        for r in range(j + 1, k):
            f = A[r, j] / piv
            if f != 0.0:
                for c in range(j + 1, k):
                    A[r, c] -= f * A[j, c]
    return det


@njit(parallel=True, cache=True, error_model="numpy")
def principal_minors(W):
    """``det(W[S,S])`` for every subset S (bit i of the index = coordinate i); shape (2^N,)."""
    n = W.shape[0]
    total = 1 << n
    out = np.empty(total, dtype=np.float64)
    n_chunks = min(total, 256)
    for ch in prange(n_chunks):
        A = np.empty((n, n), dtype=np.float64)
        idx = np.empty(n, dtype=np.int64)
        for S in range(ch, total, n_chunks):
            k = 0
            for i in range(n):
                if (S >> i) & 1:
                    idx[k] = i
                    k += 1
            for r in range(k):
                for c in range(k):
                    A[r, c] = W[idx[r], idx[c]]
            out[S] = _det_partial(A, k)
    return out


# ----------------------------------------------------------------------------------------
# eigenvalues of a small real matrix: balance + Hessenberg + shifted QR (after NR's hqr)
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _balance(a, n):
    radix = 2.0
    sqrdx = radix * radix
    done = False
    while not done:
        done = True
        for i in range(n):
            r = 0.0
            c = 0.0
            for j in range(n):
                if j != i:
                    c += abs(a[j, i])
                    r += abs(a[i, j])
            if c != 0.0 and r != 0.0:
                g = r / radix
                f = 1.0
                s = c + r
                while c < g:
                    f *= radix
                    c *= sqrdx
                g = r * radix
                while c > g:
                    f /= radix
                    c /= sqrdx
                if (c + r) / f < 0.95 * s:
                    done = False
                    g = 1.0 / f
                    for j in range(n):
                        a[i, j] *= g
                    for j in range(n):
                        a[j, i] *= f


@njit(cache=True, error_model="numpy")
def _elmhes(a, n):
    for m in range(1, n - 1):
        x = 0.0
        i = m
        for j in range(m, n):
            if abs(a[j, m - 1]) > abs(x):
                x = a[j, m - 1]
                i = j
        if i != m:
            for j in range(m - 1, n):
                t = a[i, j]
                a[i, j] = a[m, j]
                a[m, j] = t
            for j in range(n):
                t = a[j, i]
                a[j, i] = a[j, m]
                a[j, m] = t
        if x != 0.0:
            for i2 in range(m + 1, n):
                y = a[i2, m - 1]
                if y != 0.0:
                    y /= x
                    a[i2, m - 1] = y
                    for j in range(m, n):
                        a[i2, j] -= y * a[m, j]
                    for j in range(n):
                        a[j, m] += y * a[j, i2]
    for i in range(2, n):
        for j in range(i - 1):
            a[i, j] = 0.0


@njit(cache=True, error_model="numpy")
def _sign(a, b):
    return abs(a) if b >= 0.0 else -abs(a)


@njit(cache=True, error_model="numpy")
def _hqr(a, n, wr, wi):
    """Eigenvalues of the upper Hessenberg ``a[:n,:n]`` (destroyed). Returns False on failure."""
    anorm = 0.0
    for i in range(n):
        for j in range(max(i - 1, 0), n):
            anorm += abs(a[i, j])
    nn = n - 1
    t = 0.0
    x = 0.0
    y = 0.0
    z = 0.0
    w = 0.0
    p = 0.0
    q = 0.0
    r = 0.0
    s = 0.0
    while nn >= 0:
        its = 0
        while True:
            l = nn
            while l > 0:
                s = abs(a[l - 1, l - 1]) + abs(a[l, l])
                if s == 0.0:
                    s = anorm
                if abs(a[l, l - 1]) <= _EPS * s:
                    a[l, l - 1] = 0.0
                    break
                l -= 1
            x = a[nn, nn]
            if l == nn:
                wr[nn] = x + t
                wi[nn] = 0.0
                nn -= 1
            else:
                y = a[nn - 1, nn - 1]
                w = a[nn, nn - 1] * a[nn - 1, nn]
                if l == nn - 1:
                    p = 0.5 * (y - x)
                    q = p * p + w
                    z = np.sqrt(abs(q))
                    x += t
                    if q >= 0.0:
                        z = p + _sign(z, p)
                        wr[nn - 1] = x + z
                        wr[nn] = x + z
                        if z != 0.0:
                            wr[nn] = x - w / z
                        wi[nn - 1] = 0.0
                        wi[nn] = 0.0
                    else:
                        wr[nn] = x + p
                        wr[nn - 1] = x + p
                        wi[nn] = -z
                        wi[nn - 1] = z
                    nn -= 2
                else:
                    if its == 60:
                        return False
                    if its == 10 or its == 20 or its == 40:
                        t += x
                        for i in range(nn + 1):
                            a[i, i] -= x
                        s = abs(a[nn, nn - 1]) + abs(a[nn - 1, nn - 2])
                        x = 0.75 * s
                        y = x
                        w = -0.4375 * s * s
                    its += 1
                    m = nn - 2
                    while m >= l:
                        z = a[m, m]
                        r = x - z
                        s = y - z
                        p = (r * s - w) / a[m + 1, m] + a[m, m + 1]
                        q = a[m + 1, m + 1] - z - r - s
                        r = a[m + 2, m + 1]
                        s = abs(p) + abs(q) + abs(r)
                        p /= s
                        q /= s
                        r /= s
                        if m == l:
                            break
                        u = abs(a[m, m - 1]) * (abs(q) + abs(r))
                        v = abs(p) * (abs(a[m - 1, m - 1]) + abs(z) + abs(a[m + 1, m + 1]))
                        if u <= _EPS * v:
                            break
                        m -= 1
                    for i in range(m, nn - 1):
                        a[i + 2, i] = 0.0
                        if i != m:
                            a[i + 2, i - 1] = 0.0
                    for k in range(m, nn):
                        if k != m:
                            p = a[k, k - 1]
                            q = a[k + 1, k - 1]
                            r = 0.0
                            if k + 1 != nn:
                                r = a[k + 2, k - 1]
                            x = abs(p) + abs(q) + abs(r)
                            if x != 0.0:
                                p /= x
                                q /= x
                                r /= x
                        s = _sign(np.sqrt(p * p + q * q + r * r), p)
                        if s != 0.0:
                            if k == m:
                                if l != m:
                                    a[k, k - 1] = -a[k, k - 1]
                            else:
                                a[k, k - 1] = -s * x
                            p += s
                            x = p / s
                            y = q / s
                            z = r / s
                            q /= p
                            r /= p
                            # the 3-row / 2-row cases as separate loops (same operations in
                            # the same order): no branch inside the innermost loops
                            mmin = nn if nn < k + 3 else k + 3
                            if k + 1 != nn:
                                for j in range(k, nn + 1):
                                    p = a[k, j] + q * a[k + 1, j]
                                    p += r * a[k + 2, j]
                                    a[k + 2, j] -= p * z
                                    a[k + 1, j] -= p * y
                                    a[k, j] -= p * x
                                for i in range(l, mmin + 1):
                                    p = x * a[i, k] + y * a[i, k + 1]
                                    p += z * a[i, k + 2]
                                    a[i, k + 2] -= p * r
                                    a[i, k + 1] -= p * q
                                    a[i, k] -= p
                            else:
                                for j in range(k, nn + 1):
                                    p = a[k, j] + q * a[k + 1, j]
                                    a[k + 1, j] -= p * y
                                    a[k, j] -= p * x
                                for i in range(l, mmin + 1):
                                    p = x * a[i, k] + y * a[i, k + 1]
                                    a[i, k + 1] -= p * q
                                    a[i, k] -= p
            if l + 1 >= nn:
                break
    return True


@njit(cache=True, error_model="numpy")
def small_eigvals(M, k, wr, wi, work):
    """Eigenvalues of the real ``M[:k,:k]`` into ``wr``/``wi`` (M is left intact).

    Closed forms for k = 1, 2; balance + Hessenberg + shifted QR otherwise, with LAPACK
    (complex ``eigvals``) as a last resort if QR does not converge.
    """
    if k == 1:
        wr[0] = M[0, 0]
        wi[0] = 0.0
        return
    if k == 2:
        a = M[0, 0]
        b = M[0, 1]
        c = M[1, 0]
        d = M[1, 1]
        half_tr = 0.5 * (a + d)
        half_diff = 0.5 * (a - d)
        disc = half_diff * half_diff + b * c
        if disc >= 0.0:
            sq = np.sqrt(disc)
            l1 = half_tr + _sign(sq, half_tr)
            det = a * d - b * c
            l2 = det / l1 if l1 != 0.0 else half_tr - _sign(sq, half_tr)
            wr[0] = l1
            wr[1] = l2
            wi[0] = 0.0
            wi[1] = 0.0
        else:
            sq = np.sqrt(-disc)
            wr[0] = half_tr
            wr[1] = half_tr
            wi[0] = sq
            wi[1] = -sq
        return
    for r in range(k):
        for c in range(k):
            work[r, c] = M[r, c]
    _balance(work, k)
    _elmhes(work, k)
    ok = _hqr(work, k, wr, wi)
    if not ok:
        Z = np.empty((k, k), dtype=np.complex128)
        for r in range(k):
            for c in range(k):
                Z[r, c] = M[r, c]
        ev = np.linalg.eigvals(Z)
        for i in range(k):
            wr[i] = ev[i].real
            wi[i] = ev[i].imag


@njit(cache=True, error_model="numpy")
def _routh_unstable(coef, k, tol_eig, r0, r1, r2):
    """Roots with Re > 0 of ``lambda^k + coef[1] lambda^(k-1) + ... + coef[k]``.

    Returns -1 when the Routh array is inconclusive (a first-column entry near zero after
    scaling the roots to order one, or a spectrum so small that the absolute tolerance
    matters): the caller then computes eigenvalues.
    """
    # root scale rho ~ max_j |coef_j|^(1/j), rounded up to a power of two (exact scaling,
    # and frexp is far cheaper than fractional powers)
    emax = -1100
    for j in range(1, k + 1):
        cj = coef[j]
        if cj != 0.0:
            e = math.frexp(cj)[1]  # |cj| < 2^e
            ej = -((-e) // j)      # ceil(e / j)
            if ej > emax:
                emax = ej
    if emax == -1100:
        return -1
    rho = math.ldexp(1.0, emax)
    if rho < 1e3 * tol_eig:
        return -1
    width = k // 2 + 2
    for j in range(width):
        r0[j] = 0.0
        r1[j] = 0.0
        r2[j] = 0.0
    scale = 1.0
    for j in range(k + 1):
        b = coef[j] / scale
        if j % 2 == 0:
            r0[j // 2] = b
        else:
            r1[j // 2] = b
        scale *= rho
    changes = 0
    prev_sign = 1.0  # r0[0] == 1
    delta = 1e-9
    m0 = 0.0
    for j in range(width):
        if abs(r0[j]) > m0:
            m0 = abs(r0[j])
    for i in range(1, k + 1):
        m1 = 0.0
        for j in range(width):
            if abs(r1[j]) > m1:
                m1 = abs(r1[j])
        if abs(r1[0]) <= delta * max(m0, m1, 1.0):
            return -1
        s = 1.0 if r1[0] > 0.0 else -1.0
        if s != prev_sign:
            changes += 1
        prev_sign = s
        # next row
        for j in range(width - 1):
            r2[j] = (r1[0] * r0[j + 1] - r0[0] * r1[j + 1]) / r1[0]
        r2[width - 1] = 0.0
        for j in range(width):
            r0[j] = r1[j]
            r1[j] = r2[j]
        m0 = m1
    return changes


# ----------------------------------------------------------------------------------------
# the enumeration
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def _flow_label(npos, nneg, nzero, n):
    # 0 stable, 1 unstable, 2 saddle, 3 non-hyperbolic (the order of dynsys.stability.LABELS)
    if nzero > 0:
        return 3
    if nneg == n:
        return 0
    if npos == n:
        return 1
    return 2


@njit(parallel=True, cache=True, error_model="numpy")
def enumerate_patterns(W, minors, tols, mode, filt, phase, n_chunks,
                       pt_offsets, dg_offsets, dg_cap,
                       out_y, out_code, out_eig, out_dg_code, out_dg_kind, out_dg_dim,
                       counts, active):
    """Enumerate all 3^N patterns of eq. 3, grouped by interior set.

    Parameters
    ----------
    W : (N, N) float64
    minors : (2^N,) float64, principal minors of W (used by MODE_COUNT; may be empty else)
    tols : (4,) float64, ``[tol_rank, tol_consistency, tol_y, tol_eig]`` (absolute)
    mode : 0 store points, 1 count only
    filt : 0 none, 1 in box, 2 flow-stable, 3 flow-stable in box (store mode)
    phase : 0 count per chunk into `counts`, 1 fill the output arrays (store mode)
    n_chunks : number of strided chunks of interior sets
    pt_offsets, dg_offsets : (n_chunks,) int64 first output row of each chunk (phase 1)
    dg_cap : store at most this many degenerate patterns (rows beyond are counted only)
    out_y (M, N) float64, out_code (M,) int64 pattern index sum_i code_i 3^i,
    out_eig (M, N) complex128: eigenvalues at the coordinates they belong to (boundary) and
        the interior-block eigenvalues at the interior coordinates,
    out_dg_code (D,) int64, out_dg_kind (D,) int8 (0 no solution, 1 continuum),
    out_dg_dim (D,) int64 (dimension of the continuum, 0 for no solution)
    counts : (n_chunks, width) int64, see :func:`count_layout` (written in phase 0)
    active : (2^N,) int64 (store mode): phase 0 marks the interior sets with output, phase 1
        visits only those
    """
    n = W.shape[0]
    n_sets = 1 << n
    tol_rank = tols[0]
    tol_cons = tols[1]
    tol_y = tols[2]
    tol_eig = tols[3]
    c_flow_in = 0
    c_flow_out = 4
    c_map_in = 8
    c_disagree = 12
    c_kept = 13
    c_nosol = 14
    c_cont = 15
    c_fallback = 16
    c_udim_in = 17
    c_udim_out = 17 + n + 1
    pow3 = np.empty(n, dtype=np.int64)
    acc = 1
    for i in range(n):
        pow3[i] = acc
        acc *= 3
    want_in_box = filt == 1 or filt == 3
    want_stable = filt == 2 or filt == 3

    for ch in prange(n_chunks):
        ii = np.empty(n, dtype=np.int64)
        bb = np.empty(n, dtype=np.int64)
        ones = np.empty(n, dtype=np.int64)       # boundary coordinates at 1 (phase 1)
        A = np.empty((n, n), dtype=np.float64)
        WII = np.empty((n, n), dtype=np.float64)  # W[I,I], kept (A is factored in place)
        pr = np.empty(n, dtype=np.int64)
        pc = np.empty(n, dtype=np.int64)
        Cm = np.empty((n, n), dtype=np.float64)   # Cm[i, t]: y_I contribution of boundary t
        G = np.empty((n, n), dtype=np.float64)    # G[u, t]: (W y)_B contribution of t
        Rt = np.empty((n, n), dtype=np.float64)   # consistency residual contributions (singular)
        rhs = np.empty(n, dtype=np.float64)
        yI = np.empty(n, dtype=np.float64)
        wyB = np.empty(n, dtype=np.float64)
        lamB = np.empty(n, dtype=np.float64)
        d = np.empty(n, dtype=np.float64)
        M = np.empty((n, n), dtype=np.float64)
        work = np.empty((n, n), dtype=np.float64)
        wr = np.empty(n, dtype=np.float64)
        wi = np.empty(n, dtype=np.float64)
        coef = np.empty(n + 1, dtype=np.float64)
        rw0 = np.empty(n // 2 + 2, dtype=np.float64)
        rw1 = np.empty(n // 2 + 2, dtype=np.float64)
        rw2 = np.empty(n // 2 + 2, dtype=np.float64)
        local = np.zeros(counts.shape[1], dtype=np.int64)
        pt_row = pt_offsets[ch] if phase == 1 else 0
        dg_row = dg_offsets[ch] if phase == 1 else 0

        for I in range(ch, n_sets, n_chunks):
            k = 0
            nb = 0
            for i in range(n):
                if (I >> i) & 1:
                    ii[k] = i
                    k += 1
                else:
                    bb[nb] = i
                    nb += 1
            if phase == 1 and active[I] == 0:
                continue
            kept_I = 0
            base_code = 0
            for i in range(k):
                base_code += 2 * pow3[ii[i]]
            for r in range(k):
                for c in range(k):
                    A[r, c] = W[ii[r], ii[c]]
                    WII[r, c] = A[r, c]
            rank = _lu_complete(A, k, tol_rank, pr, pc)
            n_assign = 1 << nb

            if rank < k:
                # singular interior block: every assignment is degenerate
                for t in range(nb):
                    for r in range(k):
                        rhs[r] = -W[ii[r], bb[t]]
                    _lu_forward(A, k, rank, pr, rhs)
                    for r in range(k):
                        Rt[r, t] = rhs[r]
                for a in range(n_assign):
                    worst = 0.0
                    bmax = 0.0
                    for r in range(rank, k):
                        s = 0.0
                        for t in range(nb):
                            if (a >> t) & 1:
                                s += Rt[r, t]
                        if abs(s) > worst:
                            worst = abs(s)
                    nones = 0
                    for t in range(nb):
                        if (a >> t) & 1:
                            nones += 1
                    bmax = tol_cons * max(1.0, float(nones))
                    kind = 1 if worst <= bmax else 0
                    if kind == 1:
                        local[c_cont] += 1
                    else:
                        local[c_nosol] += 1
                    if phase == 0 and mode == 0:
                        active[I] = 1
                    if phase == 1 and mode == 0:
                        if dg_row < dg_cap:
                            code = base_code
                            for t in range(nb):
                                if (a >> t) & 1:
                                    code += pow3[bb[t]]
                            out_dg_code[dg_row] = code
                            out_dg_kind[dg_row] = kind
                            out_dg_dim[dg_row] = (k - rank) if kind == 1 else 0
                        dg_row += 1
                continue

            # invertible interior block: precompute the linear maps
            for t in range(nb):
                for r in range(k):
                    rhs[r] = -W[ii[r], bb[t]]
                _lu_solve(A, k, pr, pc, rhs)
                for r in range(k):
                    Cm[r, t] = rhs[r]
            for u in range(nb):
                for t in range(nb):
                    s = W[bb[u], bb[t]]
                    for r in range(k):
                        s += W[bb[u], ii[r]] * Cm[r, t]
                    G[u, t] = s

            # principal-minor tables for the characteristic polynomial (count mode, k >= 3)
            use_routh = mode == 1 and k >= 3
            n_sub = (1 << k) if use_routh else 1
            mloc = np.empty(n_sub, dtype=np.float64)
            lowb = np.empty(n_sub, dtype=np.int64)
            pcnt = np.empty(n_sub, dtype=np.int64)
            prod = np.empty(n_sub, dtype=np.float64)
            if use_routh:
                gmask = np.empty(n_sub, dtype=np.int64)
                gmask[0] = 0
                pcnt[0] = 0
                lowb[0] = 0
                mloc[0] = 1.0
                for m in range(1, n_sub):
                    low = 0
                    while not ((m >> low) & 1):
                        low += 1
                    prev = m & (m - 1)
                    lowb[m] = low
                    pcnt[m] = pcnt[prev] + 1
                    gmask[m] = gmask[prev] | (1 << ii[low])
                    mloc[m] = minors[gmask[m]]

            for t in range(k):
                yI[t] = 0.0
            for u in range(nb):
                wyB[u] = 0.0
            a = 0
            for step in range(n_assign):
                if step > 0:
                    # Gray code: flip one boundary coordinate between 0 and 1
                    tf = 0
                    while not ((step >> tf) & 1):
                        tf += 1
                    a ^= 1 << tf
                    if (step & 63) == 0:
                        # refresh the running sums exactly (bounds rounding drift)
                        for r in range(k):
                            sacc = 0.0
                            for t in range(nb):
                                if (a >> t) & 1:
                                    sacc += Cm[r, t]
                            yI[r] = sacc
                        for u in range(nb):
                            sacc = 0.0
                            for t in range(nb):
                                if (a >> t) & 1:
                                    sacc += G[u, t]
                            wyB[u] = sacc
                    elif (a >> tf) & 1:
                        for r in range(k):
                            yI[r] += Cm[r, tf]
                        for u in range(nb):
                            wyB[u] += G[u, tf]
                    else:
                        for r in range(k):
                            yI[r] -= Cm[r, tf]
                        for u in range(nb):
                            wyB[u] -= G[u, tf]
                # canonical pattern only (no interior coordinate at 0 or 1)
                canonical = True
                in_box = True
                for r in range(k):
                    v = yI[r]
                    if abs(v) <= tol_y or abs(v - 1.0) <= tol_y:
                        canonical = False
                        break
                    if v < 0.0 or v > 1.0:
                        in_box = False
                if not canonical:
                    continue
                if want_in_box and not in_box:
                    continue
                # boundary eigenvalues
                npos = 0
                nneg = 0
                nzero = 0
                for u in range(nb):
                    lam = -wyB[u] if (a >> u) & 1 else wyB[u]
                    lamB[u] = lam
                    if lam > tol_eig:
                        npos += 1
                    elif lam < -tol_eig:
                        nneg += 1
                    else:
                        nzero += 1
                if want_stable and nneg < nb:
                    continue
                for r in range(k):
                    d[r] = yI[r] * (1.0 - yI[r])
                # decide whether this pattern needs the interior eigenvalues; one call site
                # of the eigen-solver keeps the compiled kernel (and its compile time) small
                need_eigs = False
                ipos = 0
                ineg = 0
                izero = 0
                if mode == 0:
                    need_eigs = want_stable or phase == 1
                    if phase == 1:
                        # stored point: exact sums instead of the running ones, over the
                        # list of boundary coordinates at 1 (same terms in the same order
                        # as testing every bit, without the tests)
                        n1 = 0
                        for t in range(nb):
                            if (a >> t) & 1:
                                ones[n1] = t
                                n1 += 1
                        for r in range(k):
                            sacc = 0.0
                            for q in range(n1):
                                sacc += Cm[r, ones[q]]
                            yI[r] = sacc
                            d[r] = sacc * (1.0 - sacc)
                        for u in range(nb):
                            sacc = 0.0
                            for q in range(n1):
                                sacc += G[u, ones[q]]
                            wyB[u] = sacc
                            lamB[u] = -sacc if (a >> u) & 1 else sacc
                elif in_box or k < 3:
                    need_eigs = True
                else:
                    # characteristic polynomial from principal minors, Routh count
                    for j in range(k + 1):
                        coef[j] = 0.0
                    prod[0] = 1.0
                    for m in range(1, n_sub):
                        pm = prod[m & (m - 1)] * d[lowb[m]]
                        prod[m] = pm
                        coef[pcnt[m]] += mloc[m] * pm
                    coef[0] = 1.0
                    for j in range(1, k + 1, 2):
                        coef[j] = -coef[j]
                    nr = _routh_unstable(coef, k, tol_eig, rw0, rw1, rw2)
                    if nr < 0:
                        local[c_fallback] += 1
                        need_eigs = True
                    else:
                        ipos = nr
                        ineg = k - nr
                if need_eigs:
                    for r in range(k):
                        for c in range(k):
                            M[r, c] = d[r] * WII[r, c]
                    small_eigvals(M, k, wr, wi, work)

                if mode == 0:
                    if want_stable:
                        ok = True
                        for r in range(k):
                            if wr[r] >= -tol_eig:
                                ok = False
                                break
                        if not ok:
                            continue
                    if phase == 0:
                        local[c_kept] += 1
                        kept_I += 1
                    else:
                        for u in range(nb):
                            out_y[pt_row, bb[u]] = 1.0 if (a >> u) & 1 else 0.0
                            out_eig[pt_row, bb[u]] = complex(lamB[u], 0.0)
                        code = base_code
                        for u in range(nb):
                            if (a >> u) & 1:
                                code += pow3[bb[u]]
                        for r in range(k):
                            out_y[pt_row, ii[r]] = yI[r]
                            out_eig[pt_row, ii[r]] = complex(wr[r], wi[r])
                        out_code[pt_row] = code
                        pt_row += 1
                    continue

                # count mode
                if need_eigs:
                    for r in range(k):
                        if wr[r] > tol_eig:
                            ipos += 1
                        elif wr[r] < -tol_eig:
                            ineg += 1
                        else:
                            izero += 1
                lab = _flow_label(npos + ipos, nneg + ineg, nzero + izero, n)
                if in_box:
                    local[c_flow_in + lab] += 1
                    local[c_udim_in + npos + ipos] += 1
                    # map multipliers: exp(lamB) on the boundary, 1 + eig on the interior
                    mpos = npos  # |exp(lam)| > 1  <=>  lam > 0
                    mneg = nneg
                    mzero = nzero
                    for r in range(k):
                        mod2 = (1.0 + wr[r]) * (1.0 + wr[r]) + wi[r] * wi[r]
                        mod = np.sqrt(mod2)
                        if mod > 1.0 + tol_eig:
                            mpos += 1
                        elif mod < 1.0 - tol_eig:
                            mneg += 1
                        else:
                            mzero += 1
                    mlab = _flow_label(mpos, mneg, mzero, n)
                    local[c_map_in + mlab] += 1
                    if mlab != lab:
                        local[c_disagree] += 1
                else:
                    local[c_flow_out + lab] += 1
                    local[c_udim_out + npos + ipos] += 1
            if phase == 0 and mode == 0:
                active[I] = kept_I

        if phase == 0:
            for j in range(counts.shape[1]):
                counts[ch, j] = local[j]
    return 0


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
            if _lu_complete(A, k, tol_rank, pr, pc) == k:
                count += 1
        out[p] = count
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def classify_points(W, pts, pats, eig, tol_eig, tol_near):
    """Per-point derived fields in one parallel pass over stored points.

    Returns ``(residual, in_box, flow_code, unstable_dim, map_code, flex, near)``: max |F(y)|,
    y in [0,1]^N, flow label code (0 stable, 1 unstable, 2 saddle, 3 non-hyperbolic), number
    of eigenvalues with Re > tol, layer-map label code for in-box points (-1 outside), the
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
        flow[p] = _flow_label(npos, nneg, nzero, n)
        udim[p] = npos
        mapc[p] = _flow_label(mpos, mneg, mzero, n) if box else -1
    return residual, in_box, flow, udim, mapc, flex, near
