"""The enumeration engine: every pattern of eq. 3 solved on its own, in floating point.

Private: the engine ``"enumeration"`` of :data:`dynsys.FIXED_POINT_ENGINES`. Its kernel
(:mod:`dynsys._kernels.fixed_points_enumeration`) groups the 3^N patterns by interior set,
factors each block once and walks the boundary assignments in Gray-code order; in count mode
every point, in or out of the box, gets its flow label (out-of-box points by a Routh-Hurwitz
count of the characteristic polynomial from principal minors). N <= 13 for a full listing
(every point stored), N <= 20 with a filter or for counts.

The inputs come validated from the entry point (:mod:`dynsys._fixed_points`): a
:class:`~dynsys._fixed_points._common.Weights` and absolute tolerances by name.
"""

from __future__ import annotations

import numpy as np

from .._kernels._common import FILTER_CODES, table_width, tolerance_array
from .._threads import threads_for
from ._common import (MAX_N_STREAMING, Weights, assemble, check_size, drive_array, n_chunks,
                      output_offsets, point_fields)
from ._results import FixedPointCounts, FixedPoints

__all__ = ["OPTIONS", "REPORTS_PROGRESS", "run_kernel", "fixed_points", "count"]

#: Options of this engine beyond the common arguments (none).
OPTIONS = ()
#: It cannot report progress from inside its loops (the entry point reports one unit of
#: work).
REPORTS_PROGRESS = False
#: Whether it solves the driven system ``ds/dt = s (1 - s)(W s + c)`` (tanh networks).
TAKES_DRIVE = True


def run_kernel(W, tols: dict, mode: int, filt: int, dg_cap: int = 0, minors=None,
               drive=None):
    """Run the enumeration kernel (twice in store mode); (counts, outputs).

    `counts` is the per-chunk count table (n_chunks, width); `outputs` is None in count mode,
    else ``(points, pattern indices, eigenvalues, dg_code, dg_kind, dg_dim)``. `drive`: the c
    of the rate ``W s + c`` (None: the logistic, c = 0).
    """
    from .._kernels import _linalg
    from .._kernels import fixed_points_enumeration as K

    n = W.shape[0]
    nch = n_chunks(n)
    tarr = tolerance_array(tols)
    c = drive_array(drive, n)
    if minors is None:
        minors = (_linalg.principal_minors(W) if mode == K.MODE_COUNT
                  else np.zeros(1, np.float64))
    counts = np.zeros((nch, table_width(n)), dtype=np.int64)
    z_off = np.zeros(nch, np.int64)
    empty_y = np.zeros((0, n), np.float64)
    empty_c = np.zeros(0, np.int64)
    empty_e = np.zeros((0, n), np.complex128)
    empty_k = np.zeros(0, np.int8)
    active = np.zeros((1 << n) if mode == K.MODE_STORE else 0, np.int64)
    K.enumerate_patterns(W, c, minors, tarr, mode, filt, 0, nch, z_off, z_off, 0,
                         empty_y, empty_c, empty_e, empty_c, empty_k, empty_c, counts, active)
    if mode == K.MODE_COUNT:
        return counts, None
    pt_off, dg_off, m_pts, n_dg = output_offsets(counts, n, dg_cap)
    out_y = np.zeros((m_pts, n), np.float64)
    out_code = np.zeros(m_pts, np.int64)
    out_eig = np.zeros((m_pts, n), np.complex128)
    dg_code = np.zeros(n_dg, np.int64)
    dg_kind = np.zeros(n_dg, np.int8)
    dg_dim = np.zeros(n_dg, np.int64)
    counts2 = np.zeros_like(counts)
    K.enumerate_patterns(W, c, minors, tarr, mode, filt, 1, nch, pt_off, dg_off, n_dg,
                         out_y, out_code, out_eig, dg_code, dg_kind, dg_dim, counts2, active)
    return counts, (out_y, out_code, out_eig, dg_code, dg_kind, dg_dim)


def fixed_points(weights: Weights, *, only, tols: dict, max_degenerate: int) -> FixedPoints:
    """The points kept by `only`, every one stored with its eigenvalues and labels."""
    from .._kernels import fixed_points_enumeration as K

    W, n = weights.W, weights.n
    check_size(n, only, counting=False, engine="enumeration", max_n=MAX_N_STREAMING)
    # the per-point pass too: its parallel region would cost more than a small listing
    with threads_for(3**n):
        counts, out = run_kernel(W, tols, K.MODE_STORE, FILTER_CODES[only],
                                 dg_cap=max_degenerate, drive=weights.drive)
        pts, code, eig, dg_code, dg_kind, dg_dim = out
        raw = point_fields(W, tols, pts, code, eig, dg_code=dg_code, dg_kind=dg_kind,
                           dg_dim=dg_dim, row=counts.sum(axis=0), only=only,
                           drive=weights.drive)
    return assemble(W, raw, only=only, exact=False, tols=tols, max_degenerate=max_degenerate)


def count(weights: Weights, *, tols: dict, classify_out_of_box: bool) -> FixedPointCounts:
    """Counts by type; the kernel labels every point, and the out-of-box labels are kept
    when `classify_out_of_box`."""
    from .._kernels import fixed_points_enumeration as K

    W, n = weights.W, weights.n
    check_size(n, None, counting=True, engine="enumeration", max_n=MAX_N_STREAMING)
    with threads_for(3**n):
        counts, _ = run_kernel(W, tols, K.MODE_COUNT, 0, drive=weights.drive)
    return FixedPointCounts.from_table(counts.sum(axis=0), n, tolerances=tols,
                                       out_of_box_classified=classify_out_of_box)
