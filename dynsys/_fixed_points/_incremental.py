"""The incremental engine: counting and filtered listing by the incremental pattern walk.

Private: the engine ``"incremental"`` of :data:`dynsys.FIXED_POINT_ENGINES` (the default of
:func:`dynsys.count_fixed_points`, and of the filtered :func:`dynsys.fixed_points` beyond
N = 20), and the unit of work of the ``"distributed"`` engine.

For each interior set ``I`` the interior block ``A = W[I,I]`` is factored once; its ``2^|B|``
boundary assignments are walked in Gray-code order, so each pattern costs one column update
of ``y_I`` (and of the boundary rates ``(W y)_B``, a column of the Schur complement) instead
of a solve (see :mod:`dynsys._kernels.fixed_points_incremental`). Out-of-box points are
counted without classifying them unless ``classify_out_of_box=True``: an out-of-box point then
costs the ``|I|`` additions of the walk and nothing else: O(N) per pattern against the
O(N^3) of a solve.

Work is cut into the strided chunks of interior sets used by the enumeration kernel
(:func:`~dynsys._fixed_points._common.n_chunks`): any range of chunks can run on its own (a
Dask task) and the results merge by summing counts, or by concatenating points in chunk
order, to exactly the local result.

The inputs come validated from the entry point (:mod:`dynsys._fixed_points`).
"""

from __future__ import annotations

import numpy as np

from .._kernels._common import (
    FILTER_CODES,
    REFRESH,
    table_width,
    tolerance_array,
)
from .._threads import threads_for
from ._common import (
    MAX_N_INCREMENTAL,
    Weights,
    assemble,
    check_size,
    drive_array,
    n_chunks,
    output_offsets,
    point_fields,
    task_ranges,
)
from ._results import FixedPointCounts, FixedPoints

__all__ = [
    "DEFAULT_REFRESH",
    "OPTIONS",
    "REPORTS_PROGRESS",
    "check_refresh",
    "count_minors",
    "count_table",
    "store_chunks",
    "merge_stored",
    "stored_fields",
    "progress_ranges",
    "fixed_points",
    "count",
]

#: Fresh sums (running sums recomputed) every this many Gray steps by default: the value of
#: the enumeration kernel, so that both see bit-identical ``y_I``.
DEFAULT_REFRESH = REFRESH
#: Options of this engine beyond the common arguments.
OPTIONS = ("refresh",)
#: It calls `progress(done, total)` itself, after each range of chunks of its walk.
REPORTS_PROGRESS = True
#: Whether it solves the driven system ``ds/dt = s (1 - s)(W s + c)`` (tanh networks).
TAKES_DRIVE = True
#: At most this many progress steps per run.
PROGRESS_STEPS = 16


def check_refresh(refresh) -> int:
    """`refresh` as an int, or a ValueError: it must be a power of 2."""
    r = int(refresh)
    if r < 1 or (r & (r - 1)) != 0:
        raise ValueError(f"`refresh` must be a power of 2 (>= 1); got {refresh!r}.")
    return r


def count_minors(W: np.ndarray) -> np.ndarray:
    """The 2^N principal minors of W that the counting walk reads (both count modes)."""
    from .._kernels._linalg import principal_minors

    return principal_minors(W)


def count_table(W: np.ndarray, tols: np.ndarray, *, classify_out_of_box: bool = False,
                chunk_lo: int = 0, chunk_hi: int | None = None,
                refresh: int = DEFAULT_REFRESH, minors=None, drive=None) -> np.ndarray:
    """Summed count row (layout :func:`dynsys._kernels._common.count_layout`) of a chunk range.

    `W` is the validated float array, `tols` the kernel's tolerance array, `drive` the c of
    the rate ``W s + c`` (None: the logistic, c = 0). Summing the rows of disjoint chunk
    ranges that cover ``0 .. n_chunks(N)`` gives the row of the whole walk.
    """
    from .._kernels import fixed_points_incremental as K

    n = W.shape[0]
    nch = n_chunks(n)
    chunk_hi = nch if chunk_hi is None else int(chunk_hi)
    mode = K.MODE_COUNT_FULL if classify_out_of_box else K.MODE_COUNT_BOX
    if minors is None:
        minors = count_minors(W)
    counts = np.zeros((nch, table_width(n)), np.int64)
    with threads_for(3**n * (chunk_hi - chunk_lo) // nch):
        _count_pass(W, drive_array(drive, n), minors, tols, mode, 0, int(chunk_lo), chunk_hi,
                    refresh, counts, np.zeros(0, np.int64))
    return counts.sum(axis=0)


def _count_pass(W, c, minors, tols, mode: int, filt: int, chunk_lo: int, chunk_hi: int,
                refresh: int, counts: np.ndarray, active: np.ndarray) -> None:
    """Phase 0 of the walk into `counts` (and `active`): no point is written, so the output
    arrays are empty. `c`: the kernel's (N,) drive."""
    from .._kernels import fixed_points_incremental as K

    n = W.shape[0]
    z = np.zeros(counts.shape[0], np.int64)
    ec = np.zeros(0, np.int64)
    K.walk(W, c, minors, tols, mode, filt, 0, counts.shape[0], chunk_lo, chunk_hi, int(refresh),
           z, z, 0, np.zeros((0, n), np.float64), ec, np.zeros((0, n), np.complex128), ec,
           np.zeros(0, np.int8), ec, counts, active)


def store_chunks(W: np.ndarray, tols: np.ndarray, only, *, chunk_lo: int = 0,
                 chunk_hi: int | None = None, dg_cap: int = 1_000_000,
                 refresh: int = DEFAULT_REFRESH, drive=None) -> dict:
    """Points kept by the filter `only` in a chunk range, in walk order (`drive`: the c of
    the rate ``W s + c``, None for the logistic).

    Returns a dict of arrays: ``y`` (M, N), ``code`` (M,) pattern indices, ``eig`` (M, N)
    complex, the stored degenerate patterns ``dg_code``, ``dg_kind``, ``dg_dim`` (at most
    `dg_cap`) and the summed count row ``counts``. Concatenating the dicts of consecutive
    chunk ranges (and summing ``counts``) gives the dict of their union.
    """
    from .._kernels import fixed_points_incremental as K

    n = W.shape[0]
    nch = n_chunks(n)
    chunk_hi = nch if chunk_hi is None else int(chunk_hi)
    lo = int(chunk_lo)
    filt = FILTER_CODES[only]
    counts = np.zeros((nch, table_width(n)), np.int64)
    active = np.zeros(1 << n, np.int64)
    minors = np.zeros(1, np.float64)
    c = drive_array(drive, n)
    with threads_for(3**n * (chunk_hi - lo) // nch):
        _count_pass(W, c, minors, tols, K.MODE_STORE, filt, lo, chunk_hi, refresh, counts,
                    active)
        pt_off, dg_off, m, n_dg = output_offsets(counts, n, dg_cap)
        out = {
            "y": np.zeros((m, n), np.float64),
            "code": np.zeros(m, np.int64),
            "eig": np.zeros((m, n), np.complex128),
            "dg_code": np.zeros(n_dg, np.int64),
            "dg_kind": np.zeros(n_dg, np.int8),
            "dg_dim": np.zeros(n_dg, np.int64),
        }
        K.walk(W, c, minors, tols, K.MODE_STORE, filt, 1, nch, lo, chunk_hi, int(refresh),
               pt_off, dg_off, n_dg, out["y"], out["code"], out["eig"], out["dg_code"],
               out["dg_kind"], out["dg_dim"], np.zeros_like(counts), active)
    out["counts"] = counts.sum(axis=0)
    return out


def merge_stored(parts: list[dict], dg_cap: int) -> dict:
    """Concatenate :func:`store_chunks` dicts of consecutive chunk ranges (in order)."""
    out = {key: np.concatenate([p[key] for p in parts]) for key in
           ("y", "code", "eig", "dg_code", "dg_kind", "dg_dim")}
    for key in ("dg_code", "dg_kind", "dg_dim"):
        out[key] = out[key][:dg_cap]
    out["counts"] = np.sum([p["counts"] for p in parts], axis=0)
    return out


def stored_fields(W: np.ndarray, tols: dict, stored: dict, only, drive=None) -> dict:
    """The raw fields of :func:`~dynsys._fixed_points._common.assemble` from (merged)
    :func:`store_chunks` output: the per-point pass of the enumeration engine on the same
    kernel outputs (labels, residual, multiplicity, the near-copy safety net); `drive` as
    in :func:`store_chunks`."""
    return point_fields(W, tols, stored["y"], stored["code"], stored["eig"],
                        dg_code=stored["dg_code"], dg_kind=stored["dg_kind"],
                        dg_dim=stored["dg_dim"], row=stored["counts"], only=only,
                        drive=drive)


def progress_ranges(n: int) -> list[tuple[int, int]]:
    """The chunk ranges a run with `progress` walks one after the other, reporting each.

    Every range keeps each Numba thread busy (at least four chunks per thread: the walk is
    parallel over the chunks of a range), and there are at most :data:`PROGRESS_STEPS`; a
    small N is one range. Counts and stored points of consecutive ranges merge to exactly
    those of the whole walk, so reporting progress changes no number.
    """
    import numba

    nch = n_chunks(n)
    return task_ranges(nch, min(PROGRESS_STEPS, nch // (4 * numba.get_num_threads())))


def _in_steps(n: int, progress, run_range) -> list:
    """`run_range(lo, hi)` over :func:`progress_ranges`, ``progress(done, total)`` after each
    (and ``progress(0, total)`` first); the outputs in chunk order."""
    ranges = progress_ranges(n)
    progress(0, len(ranges))
    out = []
    for done, (lo, hi) in enumerate(ranges, start=1):
        out.append(run_range(lo, hi))
        progress(done, len(ranges))
    return out


def fixed_points(weights: Weights, *, only, tols: dict, max_degenerate: int,
                 refresh: int = DEFAULT_REFRESH, progress=None) -> FixedPoints:
    """The fixed points kept by `only` (N <= 24 with a filter, N <= 13 without).

    Same walk, order and numbers as the enumeration kernel, so the result equals the
    ``"enumeration"`` engine's (same tolerances) where both run. `progress(done, total)`
    is called after each range of chunks (:func:`progress_ranges`).
    """
    W, drive = weights.W, weights.drive
    check_size(weights.n, only, counting=False, engine="incremental", max_n=MAX_N_INCREMENTAL)
    refresh = check_refresh(refresh)
    tarr, cap = tolerance_array(tols), int(max_degenerate)
    if progress is None:
        stored = store_chunks(W, tarr, only, dg_cap=cap, refresh=refresh, drive=drive)
    else:
        stored = merge_stored(_in_steps(weights.n, progress, lambda lo, hi: store_chunks(
            W, tarr, only, chunk_lo=lo, chunk_hi=hi, dg_cap=cap, refresh=refresh,
            drive=drive)), cap)
    return assemble(W, stored_fields(W, tols, stored, only, drive=drive), only=only,
                    exact=False, tols=tols, max_degenerate=cap)


def count(weights: Weights, *, tols: dict, classify_out_of_box: bool,
          refresh: int = DEFAULT_REFRESH, progress=None) -> FixedPointCounts:
    """Counts by type. With `classify_out_of_box` the out-of-box points are labelled too
    (a Routh-Hurwitz count each); without, they are counted and their labels are None.
    `progress(done, total)` is called after each range of chunks (:func:`progress_ranges`)."""
    check_size(weights.n, None, counting=True, engine="incremental", max_n=MAX_N_INCREMENTAL)
    refresh = check_refresh(refresh)
    W, tarr, drive = weights.W, tolerance_array(tols), weights.drive
    if progress is None:
        row = count_table(W, tarr, classify_out_of_box=classify_out_of_box, refresh=refresh,
                          drive=drive)
    else:
        minors = count_minors(W)
        row = np.sum(_in_steps(weights.n, progress, lambda lo, hi: count_table(
            W, tarr, classify_out_of_box=classify_out_of_box, chunk_lo=lo, chunk_hi=hi,
            refresh=refresh, minors=minors, drive=drive)), axis=0)
    return FixedPointCounts.from_table(row, weights.n, tolerances=tols,
                                       out_of_box_classified=classify_out_of_box)
