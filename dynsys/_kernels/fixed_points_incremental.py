"""Numba kernel of the incremental engine: the pattern walk of eq. 3 over a range of chunks.

Private: arrays and scalars in, arrays out, no validation (the engine is
:mod:`dynsys._fixed_points._incremental`). The count table, filter codes and tolerance slots
are those of :mod:`dynsys._kernels._common`, shared with the enumeration kernel
(:mod:`dynsys._kernels.fixed_points_enumeration`); the linear algebra is
:mod:`dynsys._kernels._linalg`.

For an interior set ``I`` with invertible ``A = W[I,I]`` (boundary ``B``), a 0/1 assignment
``a`` of the boundary gives

* ``y_I = -A^{-1} W[I,B] a``: column ``t`` of ``Cm = -A^{-1} W[I,B]`` is what boundary
  coordinate ``t`` at 1 adds to ``y_I``;
* ``(W y)_B = S a`` with the Schur complement ``S = W[B,B] - W[B,I] A^{-1} W[I,B]``
  (array ``G``).

Walking the ``2^|B|`` assignments in Gray-code order changes one boundary coordinate per step,
so ``y_I`` and ``(W y)_B`` change by one column of ``Cm`` and ``G``: O(N) work per pattern,
no solve. The running sums are recomputed from scratch every ``refresh`` steps, which bounds
the rounding they accumulate to that of ``refresh`` additions.

*The drive.* The walk solves ``ds/dt = s (1 - s) (W s + c)`` (``c = 0``: eq. 3; a tanh
network comes as ``4W`` with ``c = -2 W 1``). The drive adds the same offsets to every
assignment of an interior set, ``y0 = -A^{-1} c_I`` to ``y_I`` and ``g0 = c_B + W[B,I] y0``
to ``(W s + c)_B`` (:func:`dynsys._kernels._linalg.solve_offsets`, once per interior set):
the walk starts from ``(y0, g0)`` instead of zeros, every sum recomputed from scratch
(the refreshes, the high sums of the filtered walk, a survivor's sums) starts from them, and
the filtered walk's bounds see them through its high sums. Without a drive a pattern with no
coordinate at 1 gives the origin (an origin copy when not canonical); with one, ``y_I = y0``
is a point of its own, and such a pattern that is not canonical is merged into its
neighbour's point. A singular block's consistency residual gains the eliminated drive.

The boundary eigenvalues of the Jacobian are ``(W y)_i`` (coordinate at 0) and ``-(W y)_i``
(at 1); ``y_I`` decides the box. Only survivors of those cheap tests need the spectrum of the
interior block ``diag(y_I (1 - y_I)) A`` (closed forms for 1x1 and 2x2, Hessenberg + shifted
QR above; a Routh-Hurwitz count from principal minors where only the inertia is needed).

Modes
-----
``MODE_STORE`` (0)
    two phases as in the enumeration kernel (count per chunk, then fill). With a
    filter (`filt`), the walk over the boundary is a table of the low LOW_BITS coordinates'
    sums and a Gray walk over the rest (see :data:`LOW_BITS`), in the same Gray order.
``MODE_COUNT_FULL`` (1)
    counts every point with its flow label, in and out of the box.
``MODE_COUNT_BOX`` (2)
    counts every point; classifies the in-box points only. Out-of-box points need no
    ``(W y)_B`` and no spectrum, so their cost is the ``|I|`` additions of the walk.

The chunks are the strided sets ``I = ch, ch + n_chunks, ...`` of the enumeration kernel,
and points come out in the same order (chunk, then interior set, then Gray order), so a run
split over chunk ranges and concatenated in chunk order equals the run over all chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._common import (
    COL_KEPT,
    COL_MERGED,
    COL_ORIGIN_COPIES,
    COL_OUT_BOX,
    COL_QR_FALLBACK,
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
    masked_row_sum,
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

__all__ = ["walk", "MODE_STORE", "MODE_COUNT_FULL", "MODE_COUNT_BOX", "LOW_BITS",
           "ROUTH_MAX_K"]

#: Modes of :func:`walk` (see the module docstring).
MODE_STORE, MODE_COUNT_FULL, MODE_COUNT_BOX = 0, 1, 2


#: Largest interior block whose in-box inertia comes from the characteristic polynomial
#: (2^k minor products); larger blocks use the QR eigen-solver (about k^3 operations).
ROUTH_MAX_K = 10


@njit(cache=True, error_model="numpy")
def _map_unstable(coef, k, tol_eig, mc, r0, r1, r2):
    """Roots of ``p(lambda) = sum_j coef[j] lambda^(k-j)`` with ``|1 + lambda| > 1``.

    The Moebius map ``s = lambda / (2 + lambda)`` sends the disk ``|1 + lambda| < 1`` to the
    half-plane Re s < 0, so the count is the Routh count of
    ``(1 - s)^k p(2 s / (1 - s)) = sum_j coef[j] (2 s)^(k-j) (1 - s)^j``. Returns -1 when
    inconclusive (a root near the unit circle of mu, or mu = -1 at infinity).
    """
    for m in range(k + 1):
        mc[m] = 0.0
    p2 = 1.0
    for j in range(k, -1, -1):
        # coefficient of s^(k-j+i) is coef[j] 2^(k-j) C(j, i) (-1)^i: index j - i
        binom = 1.0
        base = coef[j] * p2
        for i in range(j + 1):
            mc[j - i] += base * binom if (i & 1) == 0 else -base * binom
            binom = binom * (j - i) / (i + 1)
        p2 *= 2.0
    big = 0.0
    for m in range(k + 1):
        if abs(mc[m]) > big:
            big = abs(mc[m])
    pivot = mc[0]
    if abs(pivot) <= 1e-9 * big:
        return -1
    for m in range(k + 1):
        mc[m] /= pivot
    return routh_unstable(mc, k, tol_eig, r0, r1, r2)


#: The filtered walks (``MODE_STORE`` with `filt`) split the boundary coordinates into the
#: low LOW_BITS and the rest. The sums of the low columns are tabulated once per interior set,
#: for every assignment of the low coordinates, and the high coordinates are walked in Gray
#: order; a pattern's rates (and y_I) are then the high walk's running sums plus one table
#: row, with no update per pattern, and the stable filters reject nearly every pattern at its
#: first or second rate. A high assignment whose fixed rates cannot reach their target signs
#: over any low assignment skips its table. 2^7 rows of N doubles stay in the L1 cache.
LOW_BITS = 7


@njit(cache=True, error_model="numpy")
def _block_ranges(k, nb, Cm, G, yneg, ypos, yabs, gneg, gpos, gabs):
    """Prefix sums over the boundary columns ``t < L`` (column L of the outputs) of the
    negative and positive entries of each row of Cm and G: how far the assignments of the
    low L boundary coordinates can move y_I and the rates. ``*abs``: sums of |entries| over
    all columns (the scale of the rounding slack)."""
    _row_ranges(Cm, k, nb, yneg, ypos, yabs)
    _row_ranges(G, nb, nb, gneg, gpos, gabs)


@njit(cache=True, error_model="numpy", inline="always")
def _row_ranges(C, rows, nb, neg, pos, absum):
    """Prefix sums of the negative and positive entries of each row of `C` (column t + 1:
    over the columns < t + 1) and the sums of |entries| (see :func:`_block_ranges`)."""
    for r in range(rows):
        neg[r, 0] = 0.0
        pos[r, 0] = 0.0
        ab = 0.0
        for t in range(nb):
            v = C[r, t]
            ab += abs(v)
            neg[r, t + 1] = neg[r, t] + (v if v < 0.0 else 0.0)
            pos[r, t + 1] = pos[r, t] + (v if v > 0.0 else 0.0)
        absum[r] = ab


@njit(cache=True, error_model="numpy", inline="always")
def _low_tables(k, nb, m, CmT, GT, YL, RL):
    """``RL[s, u]``, ``YL[s, r]``: the sums of the columns of G and Cm over the low
    coordinates set in ``s < 2^m`` (each row its parent's, ``s`` less its lowest bit, plus one
    column)."""
    for u in range(nb):
        RL[0, u] = 0.0
    for r in range(k):
        YL[0, r] = 0.0
    for s in range(1, 1 << m):
        t = lowest_bit(s)
        p = s ^ (1 << t)
        for u in range(nb):
            RL[s, u] = RL[p, u] + GT[t, u]
        for r in range(k):
            YL[s, r] = YL[p, r] + CmT[t, r]


@njit(cache=True, error_model="numpy", inline="always")
def _high_infeasible(ahi, m, k, nb, hh, yh, yneg, ypos, yslack, gneg, gpos, gslack,
                     tol_zero, want_in_box, want_stable):
    """Whether no low assignment completes the high assignment `ahi` (sums `hh`, `yh`) to a
    pattern that passes the filter: a high coordinate at 0 needs a rate below ``-tol_zero``,
    at 1 above ``tol_zero``; in-box needs ``0 <= y_r <= 1``. The bounds are the high sums
    plus the low columns' negative (positive) sums, widened by the slack."""
    if want_stable:
        for u in range(m, nb):
            if (ahi >> u) & 1:
                if hh[u] + gpos[u, m] + gslack[u] <= tol_zero:
                    return True
            elif hh[u] + gneg[u, m] - gslack[u] >= -tol_zero:
                return True
    if want_in_box:
        for r in range(k):
            if yh[r] + ypos[r, m] + yslack[r] < 0.0 or yh[r] + yneg[r, m] - yslack[r] > 1.0:
                return True
    return False


@njit(cache=True, error_model="numpy")
def _scan_low(j0, n_low, ahi, flip, k, nb, hh, yh, RL, YL, yslack, gslack, tol_zero,
              want_in_box, want_stable):
    """The first low step ``j >= j0`` whose pattern (high sums plus table row ``s``) passes
    the prefilter, or `n_low`: every rate on the right side of ``-+tol_zero`` and y_I in
    [0, 1], each up to its slack. Looser than the exact test by more than any rounding, so it
    never rejects a pattern the exact test keeps.

    Step j has the low assignment ``s = gray(j) ^ flip``: with `flip` the top low bit at odd
    high steps, the patterns come in the Gray order of all the boundary coordinates.

    One call scans a whole table: its loops are plain loops, where a helper called per
    pattern would cost a reference count per array argument (measured 20x slower).
    """
    for j in range(j0, n_low):
        s = (j ^ (j >> 1)) ^ flip
        a = ahi | s
        ok = True
        if want_stable:
            for u in range(nb):
                v = hh[u] + RL[s, u]
                if (a >> u) & 1:
                    if not v > tol_zero - gslack[u]:
                        ok = False
                        break
                elif not v < gslack[u] - tol_zero:
                    ok = False
                    break
        if ok and want_in_box:
            for r in range(k):
                v = yh[r] + YL[s, r]
                if v < -yslack[r] or v > 1.0 + yslack[r]:
                    ok = False
                    break
        if ok:
            return j
    return n_low


@njit(cache=True, error_model="numpy", inline="always")
def _transposed_maps(Cm, G, k, nb, CmT, GT):
    """``CmT = Cm[:k, :nb]^T`` and ``GT = G[:nb, :nb]^T``: a Gray step adds one contiguous
    row of each."""
    for t in range(nb):
        for r in range(k):
            CmT[t, r] = Cm[r, t]
        for u in range(nb):
            GT[t, u] = G[u, t]


@njit(cache=True, error_model="numpy")
def _prune_buffers(n):
    """The scratch arrays of the filtered walk: (yneg, ypos, yabs, gneg, gpos, gabs, RL, YL,
    hh, yh, gslack, yslack); see :func:`_prune_tables` and :func:`_next_survivor`."""
    n_low_max = 1 << min(n, LOW_BITS)
    return (np.empty((n, n + 1), dtype=np.float64), np.empty((n, n + 1), dtype=np.float64),
            np.empty(n, dtype=np.float64), np.empty((n, n + 1), dtype=np.float64),
            np.empty((n, n + 1), dtype=np.float64), np.empty(n, dtype=np.float64),
            np.empty((n_low_max, n), dtype=np.float64),   # RL[s]: rates of low assignment s
            np.empty((n_low_max, n), dtype=np.float64),   # YL[s]: its y_I
            np.empty(n, dtype=np.float64),                # the high walk's rates
            np.empty(n, dtype=np.float64),                # and y_I
            np.empty(n, dtype=np.float64), np.empty(n, dtype=np.float64))


@njit(cache=True, error_model="numpy", inline="always")
def _prune_tables(k, nb, Cm, G, CmT, GT, y0, g0, yneg, ypos, yabs, gneg, gpos, gabs, gslack,
                  yslack, YL, RL):
    """The tables of a filtered walk over one interior set: the column ranges with their
    rounding slack, and the sums of the low columns. Returns m, the number of low bits."""
    m = min(nb, LOW_BITS)
    _block_ranges(k, nb, Cm, G, yneg, ypos, yabs, gneg, gpos, gabs)
    # far above the rounding of any order of summing a row's entries and the drive's offset
    # (|offset| is +0.0 without a drive: the slack is the logistic's to the bit)
    for u in range(nb):
        gslack[u] = 2e-9 * (gabs[u] + abs(g0[u]))
    for r in range(k):
        yslack[r] = 2e-9 * (yabs[r] + abs(y0[r]))
    _low_tables(k, nb, m, CmT, GT, YL, RL)
    return m


@njit(cache=True, error_model="numpy", inline="always")
def _next_survivor(j_low, hi_step, ahi, m, k, nb, rmask, Cm, G, CmT, GT, y0, g0, hh, yh, RL,
                   YL, yneg, ypos, yslack, gneg, gpos, gslack, tol_eig, want_in_box,
                   want_stable):
    """The next assignment of the filtered walk that passes the prefilter.

    The walk state is (j_low, hi_step, ahi): the next low step, the high step and the high
    assignment. The high sums `hh`, `yh` include the drive's offsets `g0`, `y0`, so the
    bounds and the prefilter see them. High assignments whose bounds cannot pass are skipped
    whole. Returns
    ``(a, j_low, hi_step, ahi)``, with ``a = -1`` when the interior set is done.
    """
    n_low = 1 << m
    n_high = 1 << (nb - m)
    while True:
        if j_low >= n_low:
            hi_step += 1
            if hi_step >= n_high:
                return -1, j_low, hi_step, ahi
            bit = 0
            if hi_step > 0:
                bit = m + lowest_bit(hi_step)
                ahi ^= 1 << bit
            if (hi_step & rmask) == 0:
                # fresh sums over the high coordinates at 1, in coordinate order
                for u in range(nb):
                    hh[u] = masked_row_sum(G, u, ahi, m, nb, g0[u])
                for r in range(k):
                    yh[r] = masked_row_sum(Cm, r, ahi, m, nb, y0[r])
            else:
                sg = 1.0 if (ahi >> bit) & 1 else -1.0
                for u in range(nb):
                    hh[u] += sg * GT[bit, u]
                for r in range(k):
                    yh[r] += sg * CmT[bit, r]
            if _high_infeasible(ahi, m, k, nb, hh, yh, yneg, ypos, yslack, gneg, gpos,
                                gslack, tol_eig, want_in_box, want_stable):
                continue
            j_low = 0
        flip = (hi_step & 1) << (m - 1) if m > 0 else 0
        j_low = _scan_low(j_low, n_low, ahi, flip, k, nb, hh, yh, RL, YL, yslack, gslack,
                          tol_eig, want_in_box, want_stable)
        if j_low < n_low:
            return ahi | ((j_low ^ (j_low >> 1)) ^ flip), j_low + 1, hi_step, ahi


@njit(cache=True, error_model="numpy", inline="always")
def _rates_all_stable(wyB, a, nb, tol_eig):
    """Whether every boundary eigenvalue ``+-(W y)_u`` is below ``-tol_eig``; stops at the
    first that is not (the stable filters reject most patterns at their first rates)."""
    for u in range(nb):
        lam = -wyB[u] if (a >> u) & 1 else wyB[u]
        if not lam < -tol_eig:
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _interior_stable(wr, k, tol_eig):
    """Whether every interior real part is below ``-tol_eig``. A NaN passes, where
    ``real_part_counts`` would count it as zero: the stored listing keeps such a point for
    the per-point pass to label."""
    for r in range(k):
        if wr[r] >= -tol_eig:
            return False
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _routh_inertia(d, k, n_sub, prod, lowb, pcnt, mloc, coef, in_box, tol_eig, mcoef, rw0,
                   rw1, rw2):
    """Interior inertia from the characteristic polynomial of ``diag(d) W[I,I]`` (principal
    minors, then Routh). Returns ``(n_unstable, map_unstable)``: eigenvalues with Re > 0 and,
    in the box, layer-map multipliers with ``|mu| > 1`` (0 outside); ``n_unstable = -1``
    when either count is inconclusive."""
    char_poly(d, k, n_sub, prod, lowb, pcnt, mloc, coef)
    map_pos = 0
    if in_box:
        # the layer map's multipliers mu = 1 + lambda: |mu| > 1 iff
        # s = lambda / (2 + lambda) has Re s > 0, and the roots s are those of
        # (1 - s)^k p(2 s / (1 - s)); needs coef before the Routh array uses it
        map_pos = _map_unstable(coef, k, tol_eig, mcoef, rw0, rw1, rw2)
    nr = routh_unstable(coef, k, tol_eig, rw0, rw1, rw2)
    if nr < 0 or (in_box and map_pos < 0):
        return -1, map_pos
    return nr, map_pos


@njit(cache=True, error_model="numpy", inline="always")
def _tally_point(local, n, in_box, nr, map_pos, d, WII, k, M, wr, wi, work, npos, nneg,
                 nzero, tol_eig):
    """One point of the count modes into `local`: its interior counts from the Routh
    inertia (`nr`, `map_pos`) or, with ``nr < 0``, from the eigenvalues."""
    if nr < 0:
        interior_eigs(d, WII, k, M, wr, wi, work)
        ipos, ineg, izero = real_part_counts(wr, k, tol_eig)
    else:
        ipos = nr
        ineg = k - nr
        izero = 0
    # layer-map multipliers: exp(boundary eigenvalue), 1 + interior eigenvalue
    mpos = 0
    mneg = 0
    mzero = 0
    if in_box:
        if nr < 0:
            mpos, mneg, mzero = multiplier_counts(wr, wi, k, tol_eig)
        else:
            mpos = map_pos
            mneg = k - map_pos
    tally_labels(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, mpos, mneg, mzero)


@njit(cache=True, error_model="numpy")
def _walk_chunk(W, c, driven, minors, tols, mode, filt, phase, n_chunks, ch, refresh,
                pt_offsets, dg_offsets, dg_cap, out_y, out_code, out_eig, out_dg_code,
                out_dg_kind, out_dg_dim, counts, active):
    """The walk of one chunk (interior sets ``ch, ch + n_chunks, ...``); see :func:`walk`.
    `driven`: whether the drive `c` has a non-zero entry."""
    n = W.shape[0]
    n_sets = 1 << n
    tol_rank = tols[TOL_RANK]
    tol_res = tols[TOL_RESIDUAL]
    tol_face = tols[TOL_FACE]
    tol_eig = tols[TOL_ZERO]
    pow3 = pow3_table(n)
    want_in_box, want_stable = filter_flags(filt)
    track_rates = mode != MODE_COUNT_BOX
    prune = mode == MODE_STORE and (want_stable or want_in_box)
    rmask = refresh - 1
    ii = np.empty(n, dtype=np.int64)
    bb = np.empty(n, dtype=np.int64)
    ones = np.empty(n, dtype=np.int64)
    A = np.empty((n, n), dtype=np.float64)
    WII = np.empty((n, n), dtype=np.float64)
    pr = np.empty(n, dtype=np.int64)
    pc = np.empty(n, dtype=np.int64)
    Cm = np.empty((n, n), dtype=np.float64)   # Cm[r, t]: -A^{-1} W[I, b_t]
    CmT = np.empty((n, n), dtype=np.float64)  # its transpose: one contiguous row per flip
    G = np.empty((n, n), dtype=np.float64)    # G[u, t]: Schur complement
    GT = np.empty((n, n), dtype=np.float64)
    Rt = np.empty((n, n), dtype=np.float64)
    r0 = np.empty(n, dtype=np.float64)
    y0 = np.zeros(n, dtype=np.float64)        # the drive's offset of y_I (0 without a drive)
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
    mcoef = np.empty(n + 1, dtype=np.float64)
    rw0 = np.empty(n // 2 + 2, dtype=np.float64)
    rw1 = np.empty(n // 2 + 2, dtype=np.float64)
    rw2 = np.empty(n // 2 + 2, dtype=np.float64)
    yneg, ypos, yabs, gneg, gpos, gabs, RL, YL, hh, yh, gslack, yslack = _prune_buffers(n)
    local = np.zeros(counts.shape[1], dtype=np.int64)
    n_out = 0
    n_merged = 0
    n_origin = 0
    pt_row = pt_offsets[ch] if phase == 1 else 0
    dg_row = dg_offsets[ch] if phase == 1 else 0

    for I in range(ch, n_sets, n_chunks):
        if phase == 1 and active[I] == 0:
            continue
        k, nb = split_interior(I, n, ii, bb)
        kept_I = 0
        base_code = interior_code(ii, k, pow3)
        rank = factor_block(W, ii, k, tol_rank, A, WII, pr, pc)
        n_assign = 1 << nb
        if rank < k:
            # singular interior block: every assignment is a degenerate pattern, decided
            # by the consistency of the eliminated rows (as in the enumeration kernel)
            dg_row = degenerate_set(W, c, ii, bb, k, nb, rank, A, pr, rhs, Rt, r0, tol_res,
                                     base_code, pow3, phase == 1 and mode == MODE_STORE,
                                     dg_row, dg_cap, out_dg_code, out_dg_kind, out_dg_dim,
                                     local)
            if phase == 0 and mode == MODE_STORE:
                active[I] = 1
            continue
        solve_maps(W, ii, bb, k, nb, A, pr, pc, rhs, Cm, G)
        if driven:
            solve_offsets(W, c, ii, bb, k, nb, A, pr, pc, y0, g0)
        _transposed_maps(Cm, G, k, nb, CmT, GT)

        # inertia from the characteristic polynomial (principal minors): out-of-box points
        # in MODE_COUNT_FULL, in-box points of both count modes up to ROUTH_MAX_K
        use_routh = mode != MODE_STORE and k >= 3 and (mode == MODE_COUNT_FULL
                                                        or k <= ROUTH_MAX_K)
        n_sub = (1 << k) if use_routh else 1
        mloc = np.empty(n_sub, dtype=np.float64)
        lowb = np.empty(n_sub, dtype=np.int64)
        pcnt = np.empty(n_sub, dtype=np.int64)
        prod = np.empty(n_sub, dtype=np.float64)
        # filled at the set's first survivor that needs them: in MODE_COUNT_BOX most sets
        # with a large interior have no in-box point at all
        tables_ready = False

        m = 0
        hi_step = -1
        ahi = 0
        j_low = 1
        if prune:
            m = _prune_tables(k, nb, Cm, G, CmT, GT, y0, g0, yneg, ypos, yabs, gneg, gpos,
                              gabs, gslack, yslack, YL, RL)
            j_low = 1 << m
        for t in range(k):
            yI[t] = y0[t]
        for u in range(nb):
            wyB[u] = g0[u]
        a = 0
        step = -1
        while True:
            if prune:
                a, j_low, hi_step, ahi = _next_survivor(
                    j_low, hi_step, ahi, m, k, nb, rmask, Cm, G, CmT, GT, y0, g0, hh, yh, RL,
                    YL, yneg, ypos, yslack, gneg, gpos, gslack, tol_eig, want_in_box,
                    want_stable)
                if a < 0:
                    break
                # a survivor is decided on the exact sums, as at the Gray walk's fresh solves
                exact_sums(a, k, nb, Cm, y0, yI)
                exact_sums(a, nb, nb, G, g0, wyB)
            else:
                # the Gray step in the loop body: every pattern of the counting walk passes here
                step += 1
                if step >= n_assign:
                    break
                if step > 0:
                    tf = lowest_bit(step)
                    a ^= 1 << tf
                    if (step & rmask) == 0:
                        # fresh sums over the boundary coordinates at 1, in coordinate order
                        exact_sums(a, k, nb, Cm, y0, yI)
                        if track_rates:
                            exact_sums(a, nb, nb, G, g0, wyB)
                    elif (a >> tf) & 1:
                        for r in range(k):
                            yI[r] += CmT[tf, r]
                        if track_rates:
                            for u in range(nb):
                                wyB[u] += GT[tf, u]
                    else:
                        for r in range(k):
                            yI[r] -= CmT[tf, r]
                        if track_rates:
                            for u in range(nb):
                                wyB[u] -= GT[tf, u]
            if want_stable and not _rates_all_stable(wyB, a, nb, tol_eig):
                continue
            # a point is counted at its canonical pattern only; the other patterns are
            # counted as copies of the origin (no drive and no coordinate at 1: y_I is
            # exactly 0) or as merged into a neighbour's point
            canonical, in_box = face_test(yI, k, tol_face)
            if not canonical:
                if a == 0 and not driven:
                    n_origin += 1
                else:
                    n_merged += 1
                continue
            if mode == MODE_COUNT_BOX:
                if not in_box:
                    n_out += 1  # a scalar: a store to `local` would reload yI
                    continue
                # an in-box survivor: its boundary rates from scratch
                exact_sums(a, nb, nb, G, g0, wyB)
            if want_in_box and not in_box:
                continue
            npos, nneg, nzero = boundary_rates(wyB, a, nb, tol_eig, lamB)
            if want_stable and nneg < nb:
                continue
            for r in range(k):
                d[r] = yI[r] * (1.0 - yI[r])

            if mode == MODE_STORE:
                if phase == 1:
                    # a stored point: exact sums instead of the running ones
                    resum_exact(a, k, nb, Cm, G, y0, g0, ones, yI, d, wyB, lamB)
                if want_stable or phase == 1:
                    interior_eigs(d, WII, k, M, wr, wi, work)
                if want_stable and not _interior_stable(wr, k, tol_eig):
                    continue
                if phase == 0:
                    local[COL_KEPT] += 1
                    kept_I += 1
                else:
                    store_point(out_y, out_eig, out_code, pt_row, a, k, nb, ii, bb, yI, lamB,
                                wr, wi, base_code, pow3)
                    pt_row += 1
                continue

            nr = -1
            map_pos = 0
            if k >= 3 and not (in_box and k > ROUTH_MAX_K):
                if not tables_ready:
                    minor_tables(minors, ii, n_sub, mloc, lowb, pcnt)
                    tables_ready = True
                nr, map_pos = _routh_inertia(d, k, n_sub, prod, lowb, pcnt, mloc, coef, in_box,
                                             tol_eig, mcoef, rw0, rw1, rw2)
                if nr < 0:
                    local[COL_QR_FALLBACK] += 1
            _tally_point(local, n, in_box, nr, map_pos, d, WII, k, M, wr, wi, work, npos, nneg,
                         nzero, tol_eig)
        if phase == 0 and mode == MODE_STORE:
            active[I] = kept_I

    local[COL_OUT_BOX] += n_out
    local[COL_MERGED] += n_merged
    local[COL_ORIGIN_COPIES] += n_origin
    if phase == 0:
        for j in range(counts.shape[1]):
            counts[ch, j] = local[j]
    return 0


# nogil: samples of an ensemble walk concurrently from Python threads (the OpenMP layer is
# safe for concurrent parallel regions)
@njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def walk(W, c, minors, tols, mode, filt, phase, n_chunks, chunk_lo, chunk_hi, refresh,
         pt_offsets, dg_offsets, dg_cap,
         out_y, out_code, out_eig, out_dg_code, out_dg_kind, out_dg_dim, counts, active):
    """Walk the patterns of the interior sets of chunks ``chunk_lo <= ch < chunk_hi``.

    Parameters
    ----------
    W : (N, N) float64
    c : (N,) float64, the drive of the rate ``W s + c`` (zeros: eq. 3, the logistic)
    minors : (2^N,) float64 principal minors (``MODE_COUNT_FULL``; any array otherwise)
    tols : (4,) float64 absolute tolerances at the slots ``TOL_RANK``, ``TOL_RESIDUAL``,
        ``TOL_FACE``, ``TOL_ZERO`` of :mod:`dynsys._kernels._common`
    mode, filt : see the module docstring; `filt` applies to ``MODE_STORE``
    phase : 0 counts into ``counts``, 1 fills the outputs (``MODE_STORE``)
    n_chunks : total number of strided chunks of the 2^N interior sets
    chunk_lo, chunk_hi : the chunks this call walks
    refresh : recompute the running sums from scratch every `refresh` steps (a power of 2)
    pt_offsets, dg_offsets : (n_chunks,) first output row of each chunk (phase 1)
    dg_cap : store at most this many degenerate patterns
    out_y (M, N), out_code (M,), out_eig (M, N) complex: stored points (phase 1)
    out_dg_code (D,), out_dg_kind (D,) int8, out_dg_dim (D,): degenerate patterns (phase 1)
    counts : (n_chunks, width) int64, the count table of :mod:`dynsys._kernels._common` (rows
        ``chunk_lo..chunk_hi-1``)
    active : (2^N,) int64 (store mode): interior sets with output (phase 0 marks them)
    """
    driven = has_drive(c)
    for ch in prange(chunk_lo, chunk_hi):
        # the chunk's walk in its own (serial) function: compiled outside the parallel
        # region, its loops optimise as plain loops (measured 2x faster than the same code
        # inline in the prange body)
        _walk_chunk(W, c, driven, minors, tols, mode, filt, phase, n_chunks, ch, refresh,
                    pt_offsets, dg_offsets, dg_cap, out_y, out_code, out_eig, out_dg_code,
                    out_dg_kind, out_dg_dim, counts, active)
    return 0
