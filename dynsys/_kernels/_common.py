"""What the Numba kernels share: table layouts, codes, tolerance slots, rules, activation.

Private. Defined once here and imported by every kernel that needs it, and by the Python
code that fills a kernel's inputs or reads its outputs:

* the count table of the fixed-point kernels (:data:`COL_FLOW_IN` ... :func:`count_layout`),
  one layout for the enumeration kernel and the incremental walk, so that one decoder reads
  either (:func:`dynsys._fixed_points._results.decode_counts`);
* the filter codes of ``fixed_points(W, only=...)`` (:data:`FILTER_CODES`) and the slots of
  the tolerance array (:data:`TOLERANCE_NAMES`, :func:`tolerance_array`);
* the labelling rule in the plain-Python form the kernels compile (:func:`label_index`; the
  vectorised labels of :mod:`dynsys._stability` use this same function);
* the logistic activation of the kernels (:func:`logistic`);
* the steps of the pattern walk that both fixed-point kernels take: split an interior set,
  sum the columns of the boundary coordinates at 1, test the faces, read the boundary rates,
  decide a singular block's patterns, tally one point into the count table, and for a stored
  point re-sum it exactly, solve its interior eigenvalues and write it out.

The walks solve the *driven* logistic system ``ds/dt = s (1 - s) (W s + c)`` (a tanh network
reaches them as one, ``docs/theory/tanh.rst``); ``c = 0`` is the logistic of eq. 3. The drive adds
a constant offset to a pattern's interior solution and to its boundary rates
(:func:`dynsys._kernels._linalg.solve_offsets`), so every exact sum here starts from that
offset instead of 0: for ``c = 0`` the offsets are +0.0 and every sum is the logistic's, bit
for bit.

Everything that costs a call inside a hot loop is compiled with ``inline="always"``.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
from numba import njit

from ._linalg import lu_forward, small_eigvals

__all__ = [
    "TOLERANCE_NAMES",
    "TOL_RANK",
    "TOL_RESIDUAL",
    "TOL_FACE",
    "TOL_ZERO",
    "tolerance_array",
    "FILTER_NONE",
    "FILTER_IN_BOX",
    "FILTER_STABLE",
    "FILTER_STABLE_IN_BOX",
    "FILTER_CODES",
    "filter_flags",
    "REFRESH",
    "N_LABELS",
    "COL_FLOW_IN",
    "COL_FLOW_OUT",
    "COL_MAP_IN",
    "COL_DISAGREE",
    "COL_KEPT",
    "COL_NO_SOLUTION",
    "COL_CONTINUUM",
    "COL_QR_FALLBACK",
    "COL_MERGED",
    "COL_ORIGIN_COPIES",
    "COL_OUT_BOX",
    "COL_UDIM_IN",
    "udim_out_column",
    "table_width",
    "count_layout",
    "label_index",
    "label_code",
    "logistic",
    "LOGISTIC_ONE_FROM",
    "has_drive",
    "pow3_table",
    "lowest_bit",
    "interior_code",
    "masked_row_sum",
    "exact_sums",
    "split_interior",
    "face_test",
    "boundary_rates",
    "degenerate_set",
    "tally_labels",
    "resum_exact",
    "interior_eigs",
    "store_point",
]

# ----------------------------------------------------------------------------------------
# tolerance slots and filter codes
# ----------------------------------------------------------------------------------------

#: The tolerances of the numeric engines by name, in the order of the kernels' ``tols`` array.
TOLERANCE_NAMES = ("rank_tol", "residual_tol", "face_tol", "zero_tol")
#: Positions in the ``tols`` array (absolute tolerances).
TOL_RANK, TOL_RESIDUAL, TOL_FACE, TOL_ZERO = 0, 1, 2, 3


def tolerance_array(tols) -> np.ndarray:
    """The kernels' (4,) float64 array from a mapping of the named tolerances."""
    return np.array([float(tols[name]) for name in TOLERANCE_NAMES], dtype=np.float64)


#: Filters of the stored points (the ``filt`` argument of the kernels).
FILTER_NONE, FILTER_IN_BOX, FILTER_STABLE, FILTER_STABLE_IN_BOX = 0, 1, 2, 3
#: ``only`` of :func:`dynsys.fixed_points` -> the kernels' filter code.
FILTER_CODES = MappingProxyType({None: FILTER_NONE, "in_box": FILTER_IN_BOX,
                                 "stable": FILTER_STABLE,
                                 "stable_in_box": FILTER_STABLE_IN_BOX})


@njit(cache=True, inline="always")
def filter_flags(filt):
    """(want_in_box, want_stable) of a filter code."""
    return (filt == FILTER_IN_BOX or filt == FILTER_STABLE_IN_BOX,
            filt == FILTER_STABLE or filt == FILTER_STABLE_IN_BOX)


#: The walks recompute their running sums from scratch every this many Gray steps (the
#: default of the incremental walk, fixed in the enumeration kernel), so that both see
#: bit-identical ``y_I``.
REFRESH = 64

# ----------------------------------------------------------------------------------------
# the count table of the fixed-point kernels
# ----------------------------------------------------------------------------------------

#: Columns of a label block: the labels of :data:`dynsys.LABELS`, in that order.
N_LABELS = 4
COL_FLOW_IN = 0         # flow labels of in-box points
COL_FLOW_OUT = 4        # flow labels of classified out-of-box points
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
COL_OUT_BOX = 19        # out-of-box points, classified or not (count modes)
COL_UDIM_IN = 20        # unstable-dimension histogram of in-box points (N + 1 columns),
                        # then that of the classified out-of-box points (N + 1 columns)


def udim_out_column(n):
    """First column of the out-of-box unstable-dimension histogram."""
    return COL_UDIM_IN + n + 1


def table_width(n):
    """Number of columns of the count table."""
    return COL_UDIM_IN + 2 * (n + 1)


def count_layout(n):
    """Column offsets of the count table (name -> first column; ``width``: the columns).

    Label blocks hold :data:`N_LABELS` columns (stable, unstable, saddle, non-hyperbolic),
    the unstable-dimension histograms N + 1. ``merged`` and ``origin_copies`` count the
    patterns that are copies of a point counted at another pattern: complete in the count
    modes and the unfiltered store, partial in a filtered store (its walk skips patterns
    before their face test).
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
        "out_box": COL_OUT_BOX,
        "udim_in": COL_UDIM_IN,
        "udim_out": udim_out_column(n),
        "width": table_width(n),
    }


# ----------------------------------------------------------------------------------------
# the labelling rule and the activation
# ----------------------------------------------------------------------------------------


def label_index(n_positive, n_negative, n_zero, n):
    """Index into :data:`dynsys.LABELS` of a point with these eigenvalue (or multiplier) counts.

    The rule: any eigenvalue on the boundary (``n_zero > 0``) is non-hyperbolic (3); else all
    ``n`` on the stable side is stable (0), all on the unstable side unstable (1), a mix a
    saddle (2). Plain scalar Python, so that the kernels compile this very function
    (:func:`label_code`) and :mod:`dynsys._stability` vectorises it.
    """
    if n_zero > 0:
        return 3
    if n_negative == n:
        return 0
    if n_positive == n:
        return 1
    return 2


#: :func:`label_index` compiled for the kernels.
label_code = njit(cache=True)(label_index)


#: From this logit on, ``1 + exp(-z)`` rounds to 1 in float64 (``exp(-37) < 2**-53``), so
#: f(z) is exactly 1.0 and the exponential need not be computed (the value is the same).
LOGISTIC_ONE_FROM = 37.0


@njit(cache=True, inline="always")
def logistic(z):
    """The logistic function ``1 / (1 + exp(-z))`` of a float64: the one kernel logistic.

    The same operations as the NumPy :func:`dynsys.logistic`, so the two agree float for float:
    ``r = 1 / (1 + e)`` with ``e = exp(-|z|)``, then ``r`` from 0 on and ``e * r`` below. Nothing
    overflows, values down to the smallest subnormal keep their relative accuracy (a coordinate
    at 1e-300 is not 0), and a product rather than a quotient leaves fast-math's reciprocal
    nothing to change. From :data:`LOGISTIC_ONE_FROM` on the result is 1.0 without the
    exponential.
    """
    if z >= LOGISTIC_ONE_FROM:
        return 1.0
    e = math.exp(-abs(z))
    r = 1.0 / (1.0 + e)
    return r if z >= 0.0 else e * r


# ----------------------------------------------------------------------------------------
# the steps of the pattern walk shared by the fixed-point kernels
# ----------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def has_drive(c):
    """Whether the drive `c` has a non-zero entry (a logistic network's drive is all zeros)."""
    for i in range(c.shape[0]):
        if c[i] != 0.0:
            return True
    return False


@njit(cache=True, inline="always")
def pow3_table(n):
    """``3^i`` for i < n (int64): a pattern's index is ``sum_i code_i 3^i``."""
    pow3 = np.empty(n, dtype=np.int64)
    acc = 1
    for i in range(n):
        pow3[i] = acc
        acc *= 3
    return pow3


@njit(cache=True, error_model="numpy", inline="always")
def lowest_bit(x):
    """Index of the lowest set bit of ``x > 0``: the coordinate a Gray step flips."""
    t = 0
    while not ((x >> t) & 1):
        t += 1
    return t


@njit(cache=True, error_model="numpy", inline="always")
def interior_code(ii, k, pow3):
    """The pattern index of the interior coordinates ``ii[:k]`` (code 2 each), the boundary
    ones at 0: ``sum_r 2 * 3^ii[r]``."""
    code = 0
    for i in range(k):
        code += 2 * pow3[ii[i]]
    return code


@njit(cache=True, error_model="numpy", inline="always")
def masked_row_sum(C, r, a, lo, nb, s0):
    """``s0`` plus the ``C[r, t]`` over the bits ``lo <= t < nb`` set in `a`, in increasing t.

    The one summation order of every exact (non-running) sum, so that sums recomputed in
    different places agree to the bit; `s0` is the drive's offset (+0.0 without a drive,
    which leaves the sum of the terms unchanged).
    """
    s = s0
    for t in range(lo, nb):
        if (a >> t) & 1:
            s += C[r, t]
    return s


@njit(cache=True, error_model="numpy", inline="always")
def exact_sums(a, rows, nb, C, off, out):
    """``out[r]`` = ``off[r]`` plus the columns of ``C[r]`` at the boundary coordinates at 1
    in `a` (`off`: the drive's offsets ``y0`` or ``g0``, zeros without a drive)."""
    for r in range(rows):
        out[r] = masked_row_sum(C, r, a, 0, nb, off[r])


@njit(cache=True, error_model="numpy", inline="always")
def split_interior(I, n, ii, bb):
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


@njit(cache=True, error_model="numpy", inline="always")
def face_test(yI, k, tol_face):
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
def boundary_rates(wyB, a, nb, tol_zero, lamB):
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


@njit(cache=True, error_model="numpy")
def degenerate_set(W, c, ii, bb, k, nb, rank, A, pr, rhs, Rt, r0, tol_res, base_code, pow3,
                   store, dg_row, dg_cap, out_dg_code, out_dg_kind, out_dg_dim, local):
    """Solve phase of a singular block: every assignment is degenerate.

    An assignment's right-hand side is ``-W[I,B1] 1 - c_I``; it is a continuum when the
    eliminated residual (rows ``rank..k`` of the forward-eliminated right-hand side: the
    columns of its coordinates at 1 in `Rt` plus the eliminated drive `r0`) is at most
    `tol_res` per boundary coordinate at 1 (at least once), else it has no solution. Counts
    go to `local`; with `store` the first `dg_cap` rows are written. Returns the next row.
    """
    for t in range(nb):
        for r in range(k):
            rhs[r] = -W[ii[r], bb[t]]
        lu_forward(A, k, rank, pr, rhs)
        for r in range(k):
            Rt[r, t] = rhs[r]
    for r in range(k):
        r0[r] = -c[ii[r]]
    lu_forward(A, k, rank, pr, r0)
    for a in range(1 << nb):
        worst = 0.0
        for r in range(rank, k):
            s = masked_row_sum(Rt, r, a, 0, nb, r0[r])
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


@njit(cache=True, error_model="numpy", inline="always")
def tally_labels(local, n, in_box, npos, nneg, nzero, ipos, ineg, izero, mpos, mneg, mzero):
    """One point's flow label (and, in the box, map label) into the count table `local`.

    ``npos, nneg, nzero``: boundary eigenvalues; ``ipos, ...``: interior real parts;
    ``mpos, ...``: interior multipliers outside / inside / on the unit circle. An in-box
    point goes to ``COL_FLOW_IN``, ``COL_MAP_IN``, ``COL_DISAGREE`` and the in-box
    histogram, an out-of-box one to ``COL_FLOW_OUT``, ``COL_OUT_BOX`` and its histogram.
    """
    lab = label_code(npos + ipos, nneg + ineg, nzero + izero, n)
    if in_box:
        local[COL_FLOW_IN + lab] += 1
        local[COL_UDIM_IN + npos + ipos] += 1
        mlab = label_code(npos + mpos, nneg + mneg, nzero + mzero, n)
        local[COL_MAP_IN + mlab] += 1
        if mlab != lab:
            local[COL_DISAGREE] += 1
    else:
        local[COL_FLOW_OUT + lab] += 1
        local[COL_OUT_BOX] += 1
        local[COL_UDIM_IN + n + 1 + npos + ipos] += 1


@njit(cache=True, error_model="numpy", inline="always")
def resum_exact(a, k, nb, Cm, G, y0, g0, ones, yI, d, wyB, lamB):
    """Exact sums of a stored point instead of the running ones: y_I with ``d = y(1 - y)``,
    (W y + c)_B with the boundary eigenvalues ``lamB``.

    Over the list of boundary coordinates at 1 (into `ones`): the drive's offsets `y0`, `g0`
    and the terms of :func:`masked_row_sum` in the same order, without a bit test per term.
    """
    n1 = 0
    for t in range(nb):
        if (a >> t) & 1:
            ones[n1] = t
            n1 += 1
    for r in range(k):
        sacc = y0[r]
        for q in range(n1):
            sacc += Cm[r, ones[q]]
        yI[r] = sacc
        d[r] = sacc * (1.0 - sacc)
    for u in range(nb):
        sacc = g0[u]
        for q in range(n1):
            sacc += G[u, ones[q]]
        wyB[u] = sacc
        lamB[u] = -sacc if (a >> u) & 1 else sacc


@njit(cache=True, error_model="numpy", inline="always")
def interior_eigs(d, WII, k, M, wr, wi, work):
    """Eigenvalues of the interior block ``diag(d) W[I,I]`` (built in `M`) into `wr`, `wi`."""
    for r in range(k):
        for c in range(k):
            M[r, c] = d[r] * WII[r, c]
    small_eigvals(M, k, wr, wi, work)


@njit(cache=True, error_model="numpy", inline="always")
def store_point(out_y, out_eig, out_code, row, a, k, nb, ii, bb, yI, lamB, wr, wi, base_code,
                pow3):
    """Write one kept point at `row`: its coordinates (boundary 0/1 from `a`, interior y_I),
    its eigenvalues at the coordinates they belong to and its pattern index."""
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
