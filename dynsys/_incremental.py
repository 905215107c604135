"""Counting and filtered listing of the fixed points of eq. 3 by the incremental pattern walk.

Private: the engine behind :func:`dynsys.count_fixed_points` and the filtered
:func:`dynsys.fixed_points` at large N, and the unit of work of :mod:`dynsys._distributed`.

For each interior set ``I`` the interior block ``A = W[I,I]`` is factored once; its ``2^|B|``
boundary assignments are walked in Gray-code order, so each pattern costs one column update
of ``y_I`` (and of the boundary rates ``(W y)_B``, a column of the Schur complement) instead
of a solve (see :mod:`dynsys._kernels.incremental`). Out-of-box points are counted without
classifying them unless ``classify_out_of_box=True``: an out-of-box point then costs the
``|I|`` additions of the walk and nothing else, which is what makes N = 20 countable in
minutes on two cores.

Work is cut into the strided chunks of interior sets used by the enumeration kernel
(``n_chunks = min(2^N, 256)``): any range of chunks can run on its own (a Dask task) and the
results merge by summing counts, or by concatenating points in chunk order, to exactly the
local result.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ._arrays import readonly as _readonly
from ._fixed_points import _output_offsets, _pattern_copies, _threads_for
from ._stability import LABELS

__all__ = [
    "MAX_N_INCREMENTAL",
    "DEFAULT_REFRESH",
    "kernel_tolerances",
    "prepare",
    "merge_stored",
    "assemble",
    "n_chunks",
    "count_table",
    "counts_from_table",
    "count_incremental",
    "store_chunks",
    "fixed_points_incremental",
]

#: Largest N accepted here: 3^24 = 2.8e11 patterns (hours on two cores; a cluster's job).
MAX_N_INCREMENTAL = 24
#: Fresh solves (running sums recomputed) every this many Gray steps; the value of the
#: enumeration kernel, so that both see bit-identical ``y_I``.
DEFAULT_REFRESH = 64
_FILTER_CODES = {None: 0, "in_box": 1, "stable": 2, "stable_in_box": 3}
_MODE_CODES = {"store": 0, "full": 1, "box": 2}


def kernel_tolerances(tols: dict) -> np.ndarray:
    """The kernel's (4,) array of absolute tolerances from the named ones (a dict)."""
    from ._fixed_points import _tols_array

    return _tols_array(tols)


def prepare(W, *, zero_tol=None, rank_tol=None, residual_tol=None, face_tol=None):
    """Validated ``(W, tols, tols_array)`` for the walk.

    `W` becomes a fresh writable C float64 copy (a read-only array would compile a second
    kernel specialisation); `tols` are the absolute tolerances by name, with the defaults
    and rules of :func:`dynsys.count_fixed_points` (a stored value passed back gives the same
    numbers), and `tols_array` their kernel form.
    """
    from ._fixed_points import _numeric_tolerances, _weights

    W_f, _ = _weights(W)
    n = W_f.shape[0]
    if n > MAX_N_INCREMENTAL:
        raise ValueError(
            f"`W` has N = {n}: its 3^N = {3**n:.3g} patterns are beyond the enumeration "
            f"(limit N <= {MAX_N_INCREMENTAL}). For wider networks search for fixed points "
            "locally (dynsys.refine_fixed_point from many starts)."
        )
    W_c = np.array(W_f, dtype=np.float64, order="C", copy=True)
    tols = _numeric_tolerances(W_c, zero_tol, rank_tol, residual_tol, face_tol)
    return W_c, tols, kernel_tolerances(tols)


def n_chunks(n: int) -> int:
    """Number of strided chunks of the 2^N interior sets (the unit of parallel work)."""
    return int(min(1 << n, 256))


def _minors(W: np.ndarray, mode: str) -> np.ndarray:
    if mode != "store":
        from ._kernels.enumeration import principal_minors

        return principal_minors(W)
    return np.zeros(1, np.float64)


def count_table(W: np.ndarray, tols: np.ndarray, *, classify_out_of_box: bool = False,
                chunk_lo: int = 0, chunk_hi: int | None = None,
                refresh: int = DEFAULT_REFRESH, minors=None) -> np.ndarray:
    """Summed count row (see :func:`dynsys._kernels.incremental.layout`) of a chunk range.

    `W` and `tols` as returned by :func:`prepare`. Summing the rows of disjoint chunk ranges
    that cover ``0 .. n_chunks(N)`` gives the row of the whole walk.
    """
    from ._kernels import incremental as K

    n = W.shape[0]
    nch = n_chunks(n)
    chunk_hi = nch if chunk_hi is None else int(chunk_hi)
    mode = "full" if classify_out_of_box else "box"
    if minors is None:
        minors = _minors(W, mode)
    counts = np.zeros((nch, K.layout(n)["width"]), np.int64)
    with _threads_for(3**n * (chunk_hi - chunk_lo) // nch):
        _count_pass(W, minors, tols, _MODE_CODES[mode], 0, int(chunk_lo), chunk_hi, refresh,
                    counts, np.zeros(0, np.int64))
    return counts.sum(axis=0)


def _count_pass(W, minors, tols, mode: int, filt: int, chunk_lo: int, chunk_hi: int,
                refresh: int, counts: np.ndarray, active: np.ndarray) -> None:
    """Phase 0 of :func:`dynsys._kernels.incremental.walk` into `counts` (and `active`):
    no point is written, so the output arrays are empty."""
    from ._kernels import incremental as K

    n = W.shape[0]
    z = np.zeros(counts.shape[0], np.int64)
    ec = np.zeros(0, np.int64)
    K.walk(W, minors, tols, mode, filt, 0, counts.shape[0], chunk_lo, chunk_hi, int(refresh),
           z, z, 0, np.zeros((0, n), np.float64), ec, np.zeros((0, n), np.complex128), ec,
           np.zeros(0, np.int8), ec, counts, active)


def _mapping(values) -> MappingProxyType:
    return MappingProxyType({lab: int(v) for lab, v in zip(LABELS, values)})


def counts_from_table(c: np.ndarray, n: int, tols: dict, *,
                      classify_out_of_box: bool = False):
    """The :class:`~dynsys.FixedPointCounts` of a summed count row.

    Without `classify_out_of_box` the out-of-box points are counted (``out_of_box``,
    ``total``) but carry no label: ``by_stability``, ``by_stability_out_of_box`` and
    ``unstable_dim_out_of_box`` are ``None`` and ``out_of_box_classified`` is False.
    """
    from ._fixed_points import FixedPointCounts
    from ._kernels.incremental import layout

    lay = layout(n)
    flow_in = c[lay["flow_in"]:lay["flow_in"] + 4]
    flow_out = c[lay["flow_out"]:lay["flow_out"] + 4]
    map_in = c[lay["map_in"]:lay["map_in"] + 4]
    in_box = int(flow_in.sum())
    out_box = int(c[lay["out_box"]])
    return FixedPointCounts(
        n=n,
        total=in_box + out_box,
        in_box=in_box,
        out_of_box=out_box,
        by_stability=_mapping(flow_in + flow_out) if classify_out_of_box else None,
        by_stability_in_box=_mapping(flow_in),
        by_stability_out_of_box=_mapping(flow_out) if classify_out_of_box else None,
        map_by_stability_in_box=_mapping(map_in),
        disagreements=int(c[lay["disagree"]]),
        unstable_dim_in_box=_readonly(c[lay["udim_in"]:lay["udim_in"] + n + 1].copy()),
        unstable_dim_out_of_box=(_readonly(c[lay["udim_out"]:lay["udim_out"] + n + 1].copy())
                                 if classify_out_of_box else None),
        n_no_solution=int(c[lay["no_solution"]]),
        n_continuum=int(c[lay["continuum"]]),
        **_pattern_copies(c, lay, None),
        n_patterns=3**n,
        out_of_box_classified=bool(classify_out_of_box),
        **tols,
    )


def count_incremental(W, *, zero_tol: float | None = None, rank_tol: float | None = None,
                      residual_tol: float | None = None, face_tol: float | None = None,
                      classify_out_of_box: bool = False, refresh: int = DEFAULT_REFRESH):
    """Count the distinct isolated fixed points of eq. 3 by type with the incremental walk.

    Parameters
    ----------
    W : Network, array_like of shape (N, N), or ResidualSystem
        N <= 24.
    zero_tol, rank_tol, residual_tol, face_tol : float, optional
        As in :func:`dynsys.count_fixed_points` (same defaults; the counts store them).
    classify_out_of_box : bool
        Also label the out-of-box points (flow type and unstable dimension by a Routh-Hurwitz
        count): the result then equals :func:`dynsys.count_fixed_points` field by field.
        Without it every in-box field, ``total``, ``out_of_box`` and the degenerate counts
        are the same, and the out-of-box labels are ``None``.
    refresh : int
        Recompute the running sums from scratch every `refresh` Gray steps (a power of 2).

    Returns
    -------
    FixedPointCounts
    """
    W_c, tols, tarr = prepare(W, zero_tol=zero_tol, rank_tol=rank_tol,
                              residual_tol=residual_tol, face_tol=face_tol)
    refresh = _check_refresh(refresh)
    c = count_table(W_c, tarr, classify_out_of_box=classify_out_of_box, refresh=refresh)
    return counts_from_table(c, W_c.shape[0], tols, classify_out_of_box=classify_out_of_box)


def _check_refresh(refresh) -> int:
    r = int(refresh)
    if r < 1 or (r & (r - 1)) != 0:
        raise ValueError(f"`refresh` must be a power of 2 (>= 1); got {refresh!r}.")
    return r


def store_chunks(W: np.ndarray, tols: np.ndarray, only, *, chunk_lo: int = 0,
                 chunk_hi: int | None = None, dg_cap: int = 1_000_000,
                 refresh: int = DEFAULT_REFRESH) -> dict:
    """Points kept by the filter `only` in a chunk range, in walk order.

    Returns a dict of arrays: ``y`` (M, N), ``code`` (M,) pattern indices, ``eig`` (M, N)
    complex, the stored degenerate patterns ``dg_code``, ``dg_kind``, ``dg_dim`` (at most
    `dg_cap`) and the summed count row ``counts``. Concatenating the dicts of consecutive
    chunk ranges (and summing ``counts``) gives the dict of their union.
    """
    from ._kernels import incremental as K

    n = W.shape[0]
    nch = n_chunks(n)
    chunk_hi = nch if chunk_hi is None else int(chunk_hi)
    lo = int(chunk_lo)
    lay = K.layout(n)
    filt = _FILTER_CODES[only]
    counts = np.zeros((nch, lay["width"]), np.int64)
    active = np.zeros(1 << n, np.int64)
    minors = np.zeros(1, np.float64)
    with _threads_for(3**n * (chunk_hi - lo) // nch):
        _count_pass(W, minors, tols, 0, filt, lo, chunk_hi, refresh, counts, active)
        pt_off, dg_off, m, n_dg = _output_offsets(counts, lay, dg_cap)
        out = {
            "y": np.zeros((m, n), np.float64),
            "code": np.zeros(m, np.int64),
            "eig": np.zeros((m, n), np.complex128),
            "dg_code": np.zeros(n_dg, np.int64),
            "dg_kind": np.zeros(n_dg, np.int8),
            "dg_dim": np.zeros(n_dg, np.int64),
        }
        K.walk(W, minors, tols, 0, filt, 1, nch, lo, chunk_hi, int(refresh), pt_off, dg_off,
               n_dg, out["y"], out["code"], out["eig"], out["dg_code"], out["dg_kind"],
               out["dg_dim"], np.zeros_like(counts), active)
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


def assemble(W: np.ndarray, tols: dict, stored: dict, only, max_degenerate: int):
    """The :class:`~dynsys.FixedPoints` of merged :func:`store_chunks` output.

    The per-point fields (labels, residual, multiplicity, the near-copy safety net) come
    from the pass of :func:`dynsys.fixed_points`' numeric engine on the same kernel outputs.
    """
    from ._fixed_points import _assemble, _point_fields, decode_patterns
    from ._kernels.incremental import layout

    n = W.shape[0]
    lay = layout(n)
    c = stored["counts"]
    raw = _point_fields(W, tols, stored["y"], decode_patterns(stored["code"], n), stored["eig"],
                        dg_code=stored["dg_code"], dg_kind=stored["dg_kind"],
                        dg_dim=stored["dg_dim"], n_no_solution=c[lay["no_solution"]],
                        n_continuum=c[lay["continuum"]], **_pattern_copies(c, lay, only))
    return _assemble(W, raw, only=only, exact=False, tols=tols,
                     max_degenerate=int(max_degenerate))


def fixed_points_incremental(W, *, only=None, zero_tol: float | None = None,
                             rank_tol: float | None = None, residual_tol: float | None = None,
                             face_tol: float | None = None, max_degenerate: int = 1_000_000,
                             refresh: int = DEFAULT_REFRESH):
    """The fixed points kept by `only` (N <= 24 with a filter), as :func:`dynsys.fixed_points`.

    Same walk, order and numbers as the enumeration kernel, so the result equals
    ``dynsys.fixed_points(W, only=only)`` (same tolerances) where both run.
    """
    from ._validation import check_choice

    check_choice(only, "only", tuple(_FILTER_CODES))
    W_c, tols, tarr = prepare(W, zero_tol=zero_tol, rank_tol=rank_tol,
                              residual_tol=residual_tol, face_tol=face_tol)
    _check_listing(W_c.shape[0], only)
    stored = store_chunks(W_c, tarr, only, dg_cap=int(max_degenerate),
                          refresh=_check_refresh(refresh))
    return assemble(W_c, tols, stored, only, max_degenerate)


def _check_listing(n: int, only) -> None:
    if only is None and n > 13:
        raise ValueError(
            f"`W` has N = {n}: listing every point needs a filter above N = 13; pass "
            "`only='stable_in_box'` (or 'in_box', 'stable'), or count with "
            "count_fixed_points(W)."
        )
