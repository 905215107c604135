"""Numba kernels for the pattern enumeration of the fixed points of eq. 3.

Private: arrays and scalars in, arrays out, no validation (see :mod:`dynsys._fixed_points`).

Organisation (the fast path of :func:`dynsys.fixed_points`):

1. The 3^N patterns are grouped by their interior set ``I`` (2^N groups). Within a group the
   matrix ``W[I,I]`` is the same for every 0/1 assignment of the boundary coordinates, so it is
   factored once (LU with complete pivoting, which also decides its rank against `rank_tol`).
2. *Solve*: for an invertible ``W[I,I]`` the interior solution is linear in the assignment:
   ``y_I = sum_{j in B1} c_j`` with ``c_j = -W[I,I]^{-1} W[I,j]``, and likewise
   ``(W y)_B = sum_{j in B1} g_j``. Each pattern costs two short vector sums (Gray-code order:
   one column update per pattern). A singular block makes every assignment degenerate
   (continuum or no solution, decided against `residual_tol`).
3. A point is kept only at its *canonical* pattern (no interior coordinate within `face_tol`
   of 0 or 1); every other pattern that gives it is a copy. This counts distinct points in a
   streaming pass without storing any. The copies are counted too (``COL_ORIGIN_COPIES``,
   ``COL_MERGED``), so that every one of the 3^N patterns is a point, a copy or degenerate.
4. *Boundary rates*: the boundary eigenvalues ``(W y)_i`` / ``-(W y)_i`` come free and reject
   most candidates of the stable filters.
5. *Classify*: interior eigenvalues use closed forms for 1x1 and 2x2 blocks and a hand-written
   balance + Hessenberg + shifted-QR solver (after Numerical Recipes' ``hqr``) for larger
   ones. Where only the number of eigenvalues right of the axis is needed (counting
   out-of-box points), the characteristic polynomial of ``diag(d) W[I,I]`` is assembled from
   the principal minors of W (precomputed once) and a Routh-Hurwitz count is used, falling
   back to QR when the Routh array is inconclusive. Labels come from
   :func:`dynsys._stability.label_index`, compiled here.
6. *Store*: the work is split into ``n_chunks`` strided chunks of interior sets processed by
   ``prange``; in store mode the kernel runs twice with the same signature (``phase`` 0 counts
   per chunk, phase 1 writes the kept points at per-chunk offsets).

The count table's columns are defined once, by the ``COL_*`` constants and
:func:`udim_out_column` / :func:`table_width`; :func:`count_layout` reports them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._stability import label_index

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

# Positions in the ``tols`` array of :func:`enumerate_patterns` (absolute tolerances).
TOL_RANK, TOL_RESIDUAL, TOL_FACE, TOL_ZERO = 0, 1, 2, 3

# Columns of the per-chunk count table. Label blocks hold 4 columns in the order of
# dynsys._stability.LABELS; the unstable-dimension histograms hold N + 1 columns each.
COL_FLOW_IN = 0         # flow labels of in-box points
COL_FLOW_OUT = 4        # flow labels of out-of-box points
COL_MAP_IN = 8          # layer-map labels of in-box points
COL_DISAGREE = 12       # in-box points whose flow and map labels differ
COL_KEPT = 13           # points that passed the filter (store mode)
COL_NO_SOLUTION = 14    # singular patterns without solution
COL_CONTINUUM = 15      # singular patterns with a continuum of solutions
COL_QR_FALLBACK = 16    # Routh counts that fell back to QR
COL_MERGED = 17         # invertible patterns with a coordinate at 1 whose point has an
                        # interior coordinate within face_tol of 0 or 1: counted at the
                        # neighbouring pattern (code 0 / 1 there), not on their own
COL_ORIGIN_COPIES = 18  # invertible patterns with interior coordinates and none at 1: the
                        # origin again (2^N - 1 of them unless a principal block is singular)
COL_UDIM_IN = 19        # unstable-dimension histogram of in-box points


def udim_out_column(n):
    """First column of the out-of-box unstable-dimension histogram."""
    return COL_UDIM_IN + n + 1


def table_width(n):
    """Number of columns of the count table."""
    return COL_UDIM_IN + 2 * (n + 1)


_udim_out_column = njit(cache=True)(udim_out_column)
_label = njit(cache=True)(label_index)


def count_layout(n):
    """Column offsets of the per-chunk count table of :func:`enumerate_patterns`.

    Returns a dict of name -> start column; ``width`` is the number of columns.
    Label blocks are ordered stable, unstable, saddle, non-hyperbolic.
    """
    return {
        "flow_in": COL_FLOW_IN,
        "flow_out": COL_FLOW_OUT,
        "map_in": COL_MAP_IN,
        "disagree": COL_DISAGREE,
        "kept": COL_KEPT,
        "no_solution": COL_NO_SOLUTION,
        "continuum": COL_CONTINUUM,
        "qr_fallback": COL_QR_FALLBACK,
        "merged": COL_MERGED,
        "origin_copies": COL_ORIGIN_COPIES,
        "udim_in": COL_UDIM_IN,
        "udim_out": udim_out_column(n),
        "width": table_width(n),
    }


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
# the enumeration, phase by phase
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _masked_row_sum(C, r, a, lo, nb):
    """Sum of ``C[r, t]`` over the bits ``lo <= t < nb`` set in `a`, in increasing t.

    The one summation order of every exact (non-running) sum, so that sums recomputed in
    different places agree to the bit.
    """
    s = 0.0
    for t in range(lo, nb):
        if (a >> t) & 1:
            s += C[r, t]
    return s


@njit(cache=True, error_model="numpy", inline="always")
def _split(I, n, ii, bb):
    """Interior coordinates (bits of `I`) into `ii`, boundary ones into `bb`; (k, nb)."""
    k = 0
    nb = 0
    for i in range(n):
        if (I >> i) & 1:
            ii[k] = i
            k += 1
        else:
            bb[nb] = i
            nb += 1
    return k, nb


@njit(cache=True, error_model="numpy")
def _factor_block(W, ii, k, tol_rank, A, WII, pr, pc):
    """Copy ``W[I,I]`` into `A` (factored in place) and `WII` (kept); returns the rank."""
    for r in range(k):
        for c in range(k):
            A[r, c] = W[ii[r], ii[c]]
            WII[r, c] = A[r, c]
    return _lu_complete(A, k, tol_rank, pr, pc)


@njit(cache=True, error_model="numpy")
def _degenerate_set(W, ii, bb, k, nb, rank, A, pr, rhs, Rt, tol_res, base_code, pow3,
                    store, dg_row, dg_cap, out_dg_code, out_dg_kind, out_dg_dim, local):
    """Solve phase of a singular block: every assignment is degenerate.

    An assignment is a continuum when the eliminated residual of its right-hand side is at
    most `tol_res` per boundary coordinate at 1, else it has no solution. Counts go to
    `local`; with `store` the first `dg_cap` rows are written. Returns the next row.
    """
    for t in range(nb):
        for r in range(k):
            rhs[r] = -W[ii[r], bb[t]]
        _lu_forward(A, k, rank, pr, rhs)
        for r in range(k):
            Rt[r, t] = rhs[r]
    for a in range(1 << nb):
        worst = 0.0
        for r in range(rank, k):
            s = _masked_row_sum(Rt, r, a, 0, nb)
            if abs(s) > worst:
                worst = abs(s)
        nones = 0
        for t in range(nb):
            if (a >> t) & 1:
                nones += 1
        kind = 1 if worst <= tol_res * max(1.0, float(nones)) else 0
        if kind == 1:
            local[COL_CONTINUUM] += 1
        else:
            local[COL_NO_SOLUTION] += 1
        if store:
            if dg_row < dg_cap:
                code = base_code
                for t in range(nb):
                    if (a >> t) & 1:
                        code += pow3[bb[t]]
                out_dg_code[dg_row] = code
                out_dg_kind[dg_row] = kind
                out_dg_dim[dg_row] = (k - rank) if kind == 1 else 0
            dg_row += 1
    return dg_row


@njit(cache=True, error_model="numpy")
def _solve_maps(W, ii, bb, k, nb, A, pr, pc, rhs, Cm, G):
    """Solve phase of an invertible block: the linear maps from the assignment.

    ``Cm[r, t]``: contribution of boundary coordinate t (at 1) to ``y_I[r]``;
    ``G[u, t]``: its contribution to ``(W y)`` at boundary coordinate u.
    """
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


@njit(cache=True, error_model="numpy")
def _minor_tables(minors, ii, n_sub, mloc, lowb, pcnt):
    """Per-subset tables of the block's principal minors for :func:`_routh_interior`."""
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


@njit(cache=True, error_model="numpy", inline="always")
def _exact_sums(a, rows, nb, C, out):
    """``out[r]`` = sum of the columns of ``C[r]`` at the boundary coordinates at 1 in `a`."""
    for r in range(rows):
        out[r] = _masked_row_sum(C, r, a, 0, nb)


@njit(cache=True, error_model="numpy", inline="always")
def _gray_step(step, a, k, nb, Cm, G, yI, wyB):
    """Next assignment in Gray-code order with its running sums; returns it."""
    tf = 0
    while not ((step >> tf) & 1):
        tf += 1
    a ^= 1 << tf
    if (step & 63) == 0:
        # refresh the running sums exactly (bounds rounding drift)
        _exact_sums(a, k, nb, Cm, yI)
        _exact_sums(a, nb, nb, G, wyB)
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
    return a


@njit(cache=True, error_model="numpy", inline="always")
def _face_test(yI, k, tol_face):
    """(canonical, in_box): no interior coordinate within `tol_face` of 0 or 1; y_I in [0, 1]."""
    in_box = True
    for r in range(k):
        v = yI[r]
        if abs(v) <= tol_face or abs(v - 1.0) <= tol_face:
            return False, in_box
        if v < 0.0 or v > 1.0:
            in_box = False
    return True, in_box


@njit(cache=True, error_model="numpy", inline="always")
def _boundary_rates(wyB, a, nb, tol_zero, lamB):
    """Boundary eigenvalues ``+-(W y)_u`` into `lamB`; (n_positive, n_negative, n_zero)."""
    npos = 0
    nneg = 0
    nzero = 0
    for u in range(nb):
        lam = -wyB[u] if (a >> u) & 1 else wyB[u]
        lamB[u] = lam
        if lam > tol_zero:
            npos += 1
        elif lam < -tol_zero:
            nneg += 1
        else:
            nzero += 1
    return npos, nneg, nzero


@njit(cache=True, error_model="numpy", inline="always")
def _resum_exact(a, k, nb, Cm, G, ones, yI, d, wyB, lamB):
    """Exact sums for a stored point instead of the running ones.

    Over the list of boundary coordinates at 1: the same terms in the same order as testing
    every bit, without the tests.
    """
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


@njit(cache=True, error_model="numpy", inline="always")
def _routh_interior(d, k, n_sub, prod, lowb, pcnt, mloc, coef, tol_zero, rw0, rw1, rw2):
    """Eigenvalues of ``diag(d) W[I,I]`` with Re > 0 by Routh-Hurwitz; -1 if inconclusive."""
    _char_poly(d, k, n_sub, prod, lowb, pcnt, mloc, coef)
    return _routh_unstable(coef, k, tol_zero, rw0, rw1, rw2)


@njit(cache=True, error_model="numpy", inline="always")
def _char_poly(d, k, n_sub, prod, lowb, pcnt, mloc, coef):
    """Monic characteristic polynomial of ``diag(d) W[I,I]`` into ``coef[:k + 1]``.

    Its coefficients are sums of principal minors times products of the `d` entries
    (tables of :func:`_minor_tables`).
    """
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


@njit(cache=True, error_model="numpy", inline="always")
def _interior_eigs(d, WII, k, M, wr, wi, work):
    """Eigenvalues of ``diag(d) W[I,I]`` into `wr`/`wi`."""
    for r in range(k):
        for c in range(k):
            M[r, c] = d[r] * WII[r, c]
    small_eigvals(M, k, wr, wi, work)


@njit(cache=True, error_model="numpy", inline="always")
def _real_part_counts(wr, k, tol_zero):
    """(n_positive, n_negative, n_zero) of the real parts ``wr[:k]``."""
    pos = 0
    neg = 0
    zero = 0
    for r in range(k):
        if wr[r] > tol_zero:
            pos += 1
        elif wr[r] < -tol_zero:
            neg += 1
        else:
            zero += 1
    return pos, neg, zero


@njit(cache=True, error_model="numpy", inline="always")
def _interior_modulus_counts(wr, wi, k, tol_zero):
    """(outside, inside, on) the unit circle of the interior multipliers ``1 + lambda``."""
    pos = 0
    neg = 0
    zero = 0
    for r in range(k):
        mod = np.sqrt((1.0 + wr[r]) * (1.0 + wr[r]) + wi[r] * wi[r])
        if mod > 1.0 + tol_zero:
            pos += 1
        elif mod < 1.0 - tol_zero:
            neg += 1
        else:
            zero += 1
    return pos, neg, zero


@njit(cache=True, error_model="numpy", inline="always")
def _tally(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, wr, wi, k, tol_zero):
    """Classify phase of count mode: one point's flow (and, in the box, map) label."""
    mpos = 0
    mneg = 0
    mzero = 0
    if in_box:
        # map multipliers: exp(lamB) on the boundary (|exp(lam)| > 1 <=> lam > 0), 1 + eig
        # on the interior
        mpos, mneg, mzero = _interior_modulus_counts(wr, wi, k, tol_zero)
    _tally_labels(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, mpos, mneg, mzero,
                  COL_UDIM_IN, _udim_out_column(n))


@njit(cache=True, error_model="numpy", inline="always")
def _tally_labels(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, mpos, mneg, mzero,
                  c_udim_in, c_udim_out):
    """One point's flow label (and, in the box, map label) into the count table `local`.

    ``npos, nneg, nzero``: boundary eigenvalues; ``ipos, ...``: interior real parts;
    ``mpos, ...``: interior multipliers outside / inside / on the unit circle. The label
    columns are ``COL_FLOW_IN``, ``COL_FLOW_OUT``, ``COL_MAP_IN``, ``COL_DISAGREE``; the
    histograms start at `c_udim_in` and `c_udim_out`.
    """
    lab = _label(npos + ipos, nneg + ineg, nzero + izero, n)
    if in_box:
        local[COL_FLOW_IN + lab] += 1
        local[c_udim_in + npos + ipos] += 1
        mlab = _label(npos + mpos, nneg + mneg, nzero + mzero, n)
        local[COL_MAP_IN + mlab] += 1
        if mlab != lab:
            local[COL_DISAGREE] += 1
    else:
        local[COL_FLOW_OUT + lab] += 1
        local[c_udim_out + npos + ipos] += 1


@njit(cache=True, error_model="numpy", inline="always")
def _store_point(out_y, out_eig, out_code, row, a, k, nb, ii, bb, yI, lamB, wr, wi,
                 base_code, pow3):
    """Store phase: write one kept point, its eigenvalues and its pattern index."""
    for u in range(nb):
        out_y[row, bb[u]] = 1.0 if (a >> u) & 1 else 0.0
        out_eig[row, bb[u]] = complex(lamB[u], 0.0)
    code = base_code
    for u in range(nb):
        if (a >> u) & 1:
            code += pow3[bb[u]]
    for r in range(k):
        out_y[row, ii[r]] = yI[r]
        out_eig[row, ii[r]] = complex(wr[r], wi[r])
    out_code[row] = code


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
    tols : (4,) float64, absolute tolerances at ``TOL_RANK``, ``TOL_RESIDUAL``, ``TOL_FACE``,
        ``TOL_ZERO``
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
    counts : (n_chunks, table_width(N)) int64, columns ``COL_*`` (written in phase 0)
    active : (2^N,) int64 (store mode): phase 0 marks the interior sets with output, phase 1
        visits only those
    """
    n = W.shape[0]
    n_sets = 1 << n
    tol_rank = tols[TOL_RANK]
    tol_res = tols[TOL_RESIDUAL]
    tol_face = tols[TOL_FACE]
    tol_zero = tols[TOL_ZERO]
    pow3 = np.empty(n, dtype=np.int64)
    acc = 1
    for i in range(n):
        pow3[i] = acc
        acc *= 3
    want_in_box = filt == FILTER_IN_BOX or filt == FILTER_STABLE_IN_BOX
    want_stable = filt == FILTER_STABLE or filt == FILTER_STABLE_IN_BOX
    storing = mode == MODE_STORE and phase == 1

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
            k, nb = _split(I, n, ii, bb)
            if phase == 1 and active[I] == 0:
                continue
            kept_I = 0
            base_code = 0
            for i in range(k):
                base_code += 2 * pow3[ii[i]]
            rank = _factor_block(W, ii, k, tol_rank, A, WII, pr, pc)

            # --- solve
            if rank < k:
                dg_row = _degenerate_set(W, ii, bb, k, nb, rank, A, pr, rhs, Rt, tol_res,
                                         base_code, pow3, storing, dg_row, dg_cap,
                                         out_dg_code, out_dg_kind, out_dg_dim, local)
                if phase == 0 and mode == MODE_STORE:
                    active[I] = 1
                continue
            _solve_maps(W, ii, bb, k, nb, A, pr, pc, rhs, Cm, G)
            use_routh = mode == MODE_COUNT and k >= 3
            n_sub = (1 << k) if use_routh else 1
            mloc = np.empty(n_sub, dtype=np.float64)
            lowb = np.empty(n_sub, dtype=np.int64)
            pcnt = np.empty(n_sub, dtype=np.int64)
            prod = np.empty(n_sub, dtype=np.float64)
            if use_routh:
                _minor_tables(minors, ii, n_sub, mloc, lowb, pcnt)

            for t in range(k):
                yI[t] = 0.0
            for u in range(nb):
                wyB[u] = 0.0
            a = 0
            for step in range(1 << nb):
                if step > 0:
                    a = _gray_step(step, a, k, nb, Cm, G, yI, wyB)
                canonical, in_box = _face_test(yI, k, tol_face)
                if not canonical:
                    # every pattern is accounted for: a copy of the origin (no coordinate
                    # at 1, so y_I is exactly 0) or a point merged into its neighbour's
                    if a == 0:
                        local[COL_ORIGIN_COPIES] += 1
                    else:
                        local[COL_MERGED] += 1
                    continue
                if want_in_box and not in_box:
                    continue

                # --- boundary rates
                npos, nneg, nzero = _boundary_rates(wyB, a, nb, tol_zero, lamB)
                if want_stable and nneg < nb:
                    continue
                for r in range(k):
                    d[r] = yI[r] * (1.0 - yI[r])

                # --- classify; one call site of the eigen-solver keeps the compiled kernel
                # (and its compile time) small
                need_eigs = False
                ipos = 0
                ineg = 0
                izero = 0
                if mode == MODE_STORE:
                    need_eigs = want_stable or phase == 1
                    if phase == 1:
                        _resum_exact(a, k, nb, Cm, G, ones, yI, d, wyB, lamB)
                elif in_box or k < 3:
                    need_eigs = True
                else:
                    nr = _routh_interior(d, k, n_sub, prod, lowb, pcnt, mloc, coef, tol_zero,
                                         rw0, rw1, rw2)
                    if nr < 0:
                        local[COL_QR_FALLBACK] += 1
                        need_eigs = True
                    else:
                        ipos = nr
                        ineg = k - nr
                if need_eigs:
                    _interior_eigs(d, WII, k, M, wr, wi, work)

                if mode == MODE_COUNT:
                    if need_eigs:
                        ipos, ineg, izero = _real_part_counts(wr, k, tol_zero)
                    _tally(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, wr, wi, k,
                           tol_zero)
                    continue

                # --- store
                if want_stable:
                    _, sneg, _ = _real_part_counts(wr, k, tol_zero)
                    if sneg < k:
                        continue
                if phase == 0:
                    local[COL_KEPT] += 1
                    kept_I += 1
                else:
                    _store_point(out_y, out_eig, out_code, pt_row, a, k, nb, ii, bb, yI, lamB,
                                 wr, wi, base_code, pow3)
                    pt_row += 1
            if phase == 0 and mode == MODE_STORE:
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

    Returns ``(residual, in_box, flow_code, unstable_dim, map_code, map_unstable_dim, flex,
    near)``: max |F(y)|, y in [0,1]^N, flow label code (index into dynsys._stability.LABELS),
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
        flow[p] = _label(npos, nneg, nzero, n)
        udim[p] = npos
        mapc[p] = _label(mpos, mneg, mzero, n) if box else -1
        mudim[p] = mpos if box else -1
    return residual, in_box, flow, udim, mapc, mudim, flex, near
