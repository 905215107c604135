"""Small dense linear algebra for the Numba kernels, on preallocated work arrays.

Private, array-only and allocation-free in the hot loops (the kernels call these once per
pattern or per interior set): LU with complete pivoting (which decides a block's numerical
rank), determinants and the principal minors of a matrix, eigenvalues of a small real matrix
(closed forms for 1x1 and 2x2, balance + Hessenberg + shifted QR after Numerical Recipes'
``hqr`` above), the characteristic polynomial of ``diag(d) W[I,I]`` from principal minors,
Routh-Hurwitz root counts, and the block solve of a pattern's interior system with its Schur
complement. This module imports nothing but NumPy and Numba (see :mod:`dynsys._kernels`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "lu_complete",
    "lu_forward",
    "lu_solve",
    "lu_partial",
    "lu_partial_solve",
    "det_partial",
    "principal_minors",
    "small_eigvals",
    "routh_unstable",
    "minor_tables",
    "char_poly",
    "real_part_counts",
    "multiplier_counts",
    "factor_block",
    "solve_maps",
    "solve_offsets",
]

_EPS = 2.220446049250313e-16

# ----------------------------------------------------------------------------------------
# small dense linear algebra
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def lu_complete(A, k, tol, pr, pc):
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
def lu_forward(A, k, rank, pr, b):
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
def lu_solve(A, k, pr, pc, b):
    """Solve with a full-rank complete-pivoting LU; `b` is overwritten with the solution."""
    lu_forward(A, k, k, pr, b)
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
def lu_partial(A, k, piv):
    """In-place LU with partial pivoting of ``A[:k,:k]`` (row swaps in `piv`); returns the
    determinant. A zero pivot column is left as it is (the solve then gives inf / nan)."""
    det = 1.0
    for j in range(k):
        bi = j
        best = abs(A[j, j])
        for r in range(j + 1, k):
            v = abs(A[r, j])
            if v > best:
                best = v
                bi = r
        piv[j] = bi
        if bi != j:
            det = -det
            for c in range(k):
                t = A[j, c]
                A[j, c] = A[bi, c]
                A[bi, c] = t
        p = A[j, j]
        det *= p
        if p != 0.0:
            for r in range(j + 1, k):
                f = A[r, j] / p
                A[r, j] = f
                if f != 0.0:
                    for c in range(j + 1, k):
                        A[r, c] -= f * A[j, c]
    return det


@njit(cache=True, error_model="numpy")
def lu_partial_solve(A, k, piv, b):
    """Solve with :func:`lu_partial`'s factors; `b` is overwritten with the solution."""
    lu_forward(A, k, k, piv, b)
    for j in range(k - 1, -1, -1):
        s = b[j]
        for c in range(j + 1, k):
            s -= A[j, c] * b[c]
        b[j] = s / A[j, j]


@njit(cache=True, error_model="numpy")
def det_partial(A, k):
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
            out[S] = det_partial(A, k)
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


# ----------------------------------------------------------------------------------------
# a pattern's interior block: factor once, then the linear maps from the boundary assignment
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def factor_block(W, ii, k, tol_rank, A, WII, pr, pc):
    """Copy ``W[I,I]`` into `A` (factored in place) and `WII` (kept); returns the rank."""
    for r in range(k):
        for c in range(k):
            A[r, c] = W[ii[r], ii[c]]
            WII[r, c] = A[r, c]
    return lu_complete(A, k, tol_rank, pr, pc)


@njit(cache=True, error_model="numpy")
def solve_maps(W, ii, bb, k, nb, A, pr, pc, rhs, Cm, G):
    """Solve phase of an invertible block: the linear maps from the assignment.

    ``Cm[r, t]``: contribution of boundary coordinate t (at 1) to ``y_I[r]``;
    ``G[u, t]``: its contribution to ``(W y)`` at boundary coordinate u.
    """
    for t in range(nb):
        for r in range(k):
            rhs[r] = -W[ii[r], bb[t]]
        lu_solve(A, k, pr, pc, rhs)
        for r in range(k):
            Cm[r, t] = rhs[r]
    for u in range(nb):
        for t in range(nb):
            s = W[bb[u], bb[t]]
            for r in range(k):
                s += W[bb[u], ii[r]] * Cm[r, t]
            G[u, t] = s


@njit(cache=True, error_model="numpy")
def solve_offsets(W, c, ii, bb, k, nb, A, pr, pc, y0, g0):
    """The drive's part of a pattern of an invertible block: what every assignment adds.

    For the rate ``W s + c`` the interior solution is ``y_I = y0 + sum_{t in B1} Cm[:, t]``
    and the boundary rates ``(W s + c)_B = g0 + sum_{t in B1} G[:, t]``, with
    ``y0 = -A^{-1} c_I`` (`A` factored by :func:`factor_block`) and
    ``g0 = c_B + W[B,I] y0``: one more column of :func:`solve_maps`, the one of the
    assignment with no coordinate at 1.
    """
    for r in range(k):
        y0[r] = -c[ii[r]]
    lu_solve(A, k, pr, pc, y0)
    for u in range(nb):
        s = c[bb[u]]
        for r in range(k):
            s += W[bb[u], ii[r]] * y0[r]
        g0[u] = s


# ----------------------------------------------------------------------------------------
# inertia without eigenvalues: characteristic polynomial from principal minors, root counts
# ----------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def minor_tables(minors, ii, n_sub, mloc, lowb, pcnt):
    """Per-subset tables of the block's principal minors for :func:`char_poly`."""
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
def char_poly(d, k, n_sub, prod, lowb, pcnt, mloc, coef):
    """Monic characteristic polynomial of ``diag(d) W[I,I]`` into ``coef[:k + 1]``.

    Its coefficients are sums of principal minors times products of the `d` entries
    (tables of :func:`minor_tables`).
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


@njit(cache=True, error_model="numpy")
def routh_unstable(coef, k, tol_eig, r0, r1, r2):
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


@njit(cache=True, error_model="numpy", inline="always")
def real_part_counts(wr, k, tol_zero):
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
def multiplier_counts(wr, wi, k, tol_zero):
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
