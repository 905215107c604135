"""Numba kernels of the enumeration engine: every pattern of eq. 3 solved on its own.

Private: arrays and scalars in, arrays out, no validation (the engine is
:mod:`dynsys._fixed_points._enumeration`). The count table, filter codes and tolerance slots
are those of :mod:`dynsys._kernels._common`; the linear algebra is :mod:`dynsys._kernels._linalg`.

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
   back to QR when the Routh array is inconclusive. Labels come from the one rule,
   :func:`dynsys._kernels._common.label_index`, compiled.
6. *Drive*: the kernel solves ``ds/dt = s (1 - s) (W s + c)`` (``c = 0``: eq. 3; a tanh
   network comes as ``4W`` with ``c = -2 W 1``). The drive adds the offsets
   ``y0 = -W[I,I]^{-1} c_I`` to ``y_I`` and ``g0 = c_B + W[B,I] y0`` to the rates, once per
   interior set (:func:`dynsys._kernels._linalg.solve_offsets`): the walk starts from them,
   and every exact sum starts from them. Without a drive a pattern with no coordinate at 1
   gives the origin (an origin copy when not canonical); with one, ``y_I = y0`` is a point of
   its own, and such a pattern that is not canonical is merged into its neighbour's point
   (``COL_MERGED``). A singular block's consistency residual gains the eliminated drive.
7. *Store*: the work is split into ``n_chunks`` strided chunks of interior sets processed by
   ``prange``; in store mode the kernel runs twice with the same signature (``phase`` 0 counts
   per chunk, phase 1 writes the kept points at per-chunk offsets).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import (
    COL_KEPT,
    COL_MERGED,
    COL_ORIGIN_COPIES,
    COL_QR_FALLBACK,
    REFRESH,
    TOL_FACE,
    TOL_RANK,
    TOL_RESIDUAL,
    TOL_ZERO,
    boundary_rates,
    degenerate_set,
    exact_sums,
    face_test,
    filter_flags,
    has_drive,
    interior_code,
    interior_eigs,
    lowest_bit,
    pow3_table,
    resum_exact,
    split_interior,
    store_point,
    tally_labels,
)
from ._linalg import (
    char_poly,
    factor_block,
    minor_tables,
    multiplier_counts,
    real_part_counts,
    routh_unstable,
    solve_maps,
    solve_offsets,
)

__all__ = ["MODE_STORE", "MODE_COUNT", "enumerate_patterns"]

#: Modes (``mode``) of :func:`enumerate_patterns`: store the kept points, or count only.
MODE_STORE, MODE_COUNT = 0, 1


@njit(cache=True, error_model="numpy", inline="always")
def _gray_step(step, a, k, nb, Cm, G, y0, g0, yI, wyB):
    """Next assignment in Gray-code order with its running sums; returns it."""
    tf = lowest_bit(step)
    a ^= 1 << tf
    if (step & (REFRESH - 1)) == 0:
        # refresh the running sums exactly (bounds rounding drift)
        exact_sums(a, k, nb, Cm, y0, yI)
        exact_sums(a, nb, nb, G, g0, wyB)
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
def _routh_interior(d, k, n_sub, prod, lowb, pcnt, mloc, coef, tol_zero, rw0, rw1, rw2):
    """Eigenvalues of ``diag(d) W[I,I]`` with Re > 0 by Routh-Hurwitz; -1 if inconclusive."""
    char_poly(d, k, n_sub, prod, lowb, pcnt, mloc, coef)
    return routh_unstable(coef, k, tol_zero, rw0, rw1, rw2)


@njit(cache=True, error_model="numpy", inline="always")
def _tally(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, wr, wi, k, tol_zero):
    """Classify phase of count mode: one point's flow (and, in the box, map) label."""
    mpos = 0
    mneg = 0
    mzero = 0
    if in_box:
        # map multipliers: exp(lamB) on the boundary (|exp(lam)| > 1 <=> lam > 0), 1 + eig
        # on the interior
        mpos, mneg, mzero = multiplier_counts(wr, wi, k, tol_zero)
    tally_labels(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, mpos, mneg, mzero)


@njit(parallel=True, cache=True, error_model="numpy")
def enumerate_patterns(W, c, minors, tols, mode, filt, phase, n_chunks,
                       pt_offsets, dg_offsets, dg_cap,
                       out_y, out_code, out_eig, out_dg_code, out_dg_kind, out_dg_dim,
                       counts, active):
    """Enumerate all 3^N patterns of eq. 3, grouped by interior set.

    Parameters
    ----------
    W : (N, N) float64
    c : (N,) float64, the drive of the rate ``W s + c`` (zeros: eq. 3, the logistic)
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
    counts : (n_chunks, table_width(N)) int64, the count table of
        :mod:`dynsys._kernels._common` (phase 0)
    active : (2^N,) int64 (store mode): phase 0 marks the interior sets with output, phase 1
        visits only those
    """
    n = W.shape[0]
    n_sets = 1 << n
    tol_rank = tols[TOL_RANK]
    tol_res = tols[TOL_RESIDUAL]
    tol_face = tols[TOL_FACE]
    tol_zero = tols[TOL_ZERO]
    pow3 = pow3_table(n)
    want_in_box, want_stable = filter_flags(filt)
    storing = mode == MODE_STORE and phase == 1
    driven = has_drive(c)

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
        r0 = np.empty(n, dtype=np.float64)        # and the drive's
        y0 = np.zeros(n, dtype=np.float64)        # the drive's offset of y_I
        g0 = np.zeros(n, dtype=np.float64)        # and of (W y + c)_B
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
            k, nb = split_interior(I, n, ii, bb)
            if phase == 1 and active[I] == 0:
                continue
            kept_I = 0
            base_code = interior_code(ii, k, pow3)
            rank = factor_block(W, ii, k, tol_rank, A, WII, pr, pc)

            # --- solve
            if rank < k:
                dg_row = degenerate_set(W, c, ii, bb, k, nb, rank, A, pr, rhs, Rt, r0, tol_res,
                                         base_code, pow3, storing, dg_row, dg_cap,
                                         out_dg_code, out_dg_kind, out_dg_dim, local)
                if phase == 0 and mode == MODE_STORE:
                    active[I] = 1
                continue
            solve_maps(W, ii, bb, k, nb, A, pr, pc, rhs, Cm, G)
            if driven:
                solve_offsets(W, c, ii, bb, k, nb, A, pr, pc, y0, g0)
            use_routh = mode == MODE_COUNT and k >= 3
            n_sub = (1 << k) if use_routh else 1
            mloc = np.empty(n_sub, dtype=np.float64)
            lowb = np.empty(n_sub, dtype=np.int64)
            pcnt = np.empty(n_sub, dtype=np.int64)
            prod = np.empty(n_sub, dtype=np.float64)
            if use_routh:
                minor_tables(minors, ii, n_sub, mloc, lowb, pcnt)

            for t in range(k):
                yI[t] = y0[t]
            for u in range(nb):
                wyB[u] = g0[u]
            a = 0
            for step in range(1 << nb):
                if step > 0:
                    a = _gray_step(step, a, k, nb, Cm, G, y0, g0, yI, wyB)
                canonical, in_box = face_test(yI, k, tol_face)
                if not canonical:
                    # every pattern is accounted for: a copy of the origin (no drive and no
                    # coordinate at 1, so y_I is exactly 0) or a point merged into its
                    # neighbour's
                    if a == 0 and not driven:
                        local[COL_ORIGIN_COPIES] += 1
                    else:
                        local[COL_MERGED] += 1
                    continue
                if want_in_box and not in_box:
                    continue

                # --- boundary rates
                npos, nneg, nzero = boundary_rates(wyB, a, nb, tol_zero, lamB)
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
                        resum_exact(a, k, nb, Cm, G, y0, g0, ones, yI, d, wyB, lamB)
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
                    interior_eigs(d, WII, k, M, wr, wi, work)

                if mode == MODE_COUNT:
                    if need_eigs:
                        ipos, ineg, izero = real_part_counts(wr, k, tol_zero)
                    _tally(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, wr, wi, k,
                           tol_zero)
                    continue

                # --- store
                if want_stable:
                    _, sneg, _ = real_part_counts(wr, k, tol_zero)
                    if sneg < k:
                        continue
                if phase == 0:
                    local[COL_KEPT] += 1
                    kept_I += 1
                else:
                    store_point(out_y, out_eig, out_code, pt_row, a, k, nb, ii, bb, yI, lamB,
                                 wr, wi, base_code, pow3)
                    pt_row += 1
            if phase == 0 and mode == MODE_STORE:
                active[I] = kept_I

        if phase == 0:
            for j in range(counts.shape[1]):
                counts[ch, j] = local[j]
    return 0
