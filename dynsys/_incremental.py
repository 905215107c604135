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
from ._stability import LABELS

__all__ = [
    "MAX_N_INCREMENTAL",
    "DEFAULT_REFRESH",
    "kernel_tolerances",
    "prepare",
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


def kernel_tolerances(W: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Absolute tolerances ``[rank, consistency, y in {0,1}, eigenvalue sign]`` from `tol`.

    The rule of :func:`dynsys.count_fixed_points`: a relative `tol` times ``max|W|`` for the
    rank (times 1e-2), the consistency residual and the eigenvalue signs; `tol` itself for
    ``y_i`` equal to 0 or 1.
    """
    scale = float(np.max(np.abs(W))) if W.size else 0.0
    scale = scale if scale > 0.0 else 1.0
    return np.array([1e-2 * tol * scale, tol * scale, tol, tol * scale], dtype=np.float64)


def prepare(W, tol: float = 1e-9, tols=None) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(W, tols)``: a fresh writable C float64 W and the absolute tolerances.

    `tols` (4,) overrides the ones derived from `tol` (callers that derive their own
    tolerances pass them through unchanged, so both walk with the same numbers).
    """
    from ._network import as_weights
    from ._validation import check_positive_float

    W_f = as_weights(W, "W")
    n = W_f.shape[0]
    if n > MAX_N_INCREMENTAL:
        raise ValueError(
            f"`W` has N = {n}: its 3^N = {3**n:.3g} patterns are beyond the enumeration "
            f"(limit N <= {MAX_N_INCREMENTAL}). For wider networks search for fixed points "
            "locally (Newton from many starts)."
        )
    # a fresh writable C array: a read-only one would compile a second kernel specialisation
    W_c = np.array(W_f, dtype=np.float64, order="C", copy=True)
    if tols is None:
        tols = kernel_tolerances(W_c, check_positive_float(tol, "tol"))
    else:
        tols = np.ascontiguousarray(tols, dtype=np.float64).reshape(4)
    return W_c, tols


def n_chunks(n: int) -> int:
    """Number of strided chunks of the 2^N interior sets (the unit of parallel work)."""
    return int(min(1 << n, 256))


class _threads:
    """One Numba thread for tiny walks, where waking the pool costs more than the walk."""

    def __init__(self, work: int):
        self.work = work
        self.saved = None

    def __enter__(self):
        if self.work < 200_000:
            import numba

            self.saved = numba.get_num_threads()
            numba.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import numba

            numba.set_num_threads(self.saved)
        return False


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
    lay = K.layout(n)
    counts = np.zeros((nch, lay["width"]), np.int64)
    z = np.zeros(nch, np.int64)
    ey = np.zeros((0, n), np.float64)
    ec = np.zeros(0, np.int64)
    ee = np.zeros((0, n), np.complex128)
    ek = np.zeros(0, np.int8)
    with _threads(3**n * (chunk_hi - chunk_lo) // nch):
        K.walk(W, minors, tols, _MODE_CODES[mode], 0, 0, nch, int(chunk_lo), chunk_hi,
               int(refresh), z, z, 0, ey, ec, ee, ec, ek, ec, counts, np.zeros(0, np.int64))
    return counts.sum(axis=0)


def _mapping(values) -> MappingProxyType:
    return MappingProxyType({lab: int(v) for lab, v in zip(LABELS, values)})


def counts_from_table(c: np.ndarray, n: int, *, classify_out_of_box: bool = False):
    """The :class:`~dynsys.FixedPointCounts` of a summed count row.

    Without `classify_out_of_box` the out-of-box points are counted (``out_of_box``,
    ``total``) but carry no label: ``by_stability_out_of_box`` and ``unstable_dim_out_of_box``
    are zero and ``by_stability`` holds the in-box labels only.
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
        by_stability=_mapping(flow_in + flow_out),
        by_stability_in_box=_mapping(flow_in),
        by_stability_out_of_box=_mapping(flow_out),
        map_by_stability_in_box=_mapping(map_in),
        disagreements=int(c[lay["disagree"]]),
        unstable_dim_in_box=_readonly(c[lay["udim_in"]:lay["udim_in"] + n + 1].copy()),
        unstable_dim_out_of_box=_readonly(c[lay["udim_out"]:lay["udim_out"] + n + 1].copy()),
        n_no_solution=int(c[lay["no_solution"]]),
        n_continuum=int(c[lay["continuum"]]),
        n_patterns=3**n,
    )


def count_incremental(W, *, tol: float = 1e-9, classify_out_of_box: bool = False,
                      refresh: int = DEFAULT_REFRESH, tols=None):
    """Count the distinct isolated fixed points of eq. 3 by type with the incremental walk.

    Parameters
    ----------
    W : array_like, shape (N, N), or a shared-weight Network
        N <= 24.
    tol : float
        Relative tolerance, the rule of :func:`dynsys.count_fixed_points`
        (see :func:`kernel_tolerances`); ignored when `tols` is given.
    classify_out_of_box : bool
        Also label the out-of-box points (flow type and unstable dimension by a Routh-Hurwitz
        count): the result then equals :func:`dynsys.count_fixed_points` field by field.
        Without it every in-box field, ``total``, ``out_of_box`` and the degenerate counts
        are the same, and the out-of-box labels are left at zero.
    refresh : int
        Recompute the running sums from scratch every `refresh` Gray steps (a power of 2).
    tols : array_like, shape (4,), optional
        Absolute tolerances ``[rank, consistency, y in {0,1}, eigenvalue sign]``.

    Returns
    -------
    FixedPointCounts
    """
    W_c, tols = prepare(W, tol, tols)
    refresh = _check_refresh(refresh)
    c = count_table(W_c, tols, classify_out_of_box=classify_out_of_box, refresh=refresh)
    return counts_from_table(c, W_c.shape[0], classify_out_of_box=classify_out_of_box)


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
    z = np.zeros(nch, np.int64)
    ey = np.zeros((0, n), np.float64)
    ec = np.zeros(0, np.int64)
    ee = np.zeros((0, n), np.complex128)
    ek = np.zeros(0, np.int8)
    active = np.zeros(1 << n, np.int64)
    minors = np.zeros(1, np.float64)
    with _threads(3**n * (chunk_hi - lo) // nch):
        K.walk(W, minors, tols, 0, filt, 0, nch, lo, chunk_hi, int(refresh), z, z, 0,
               ey, ec, ee, ec, ek, ec, counts, active)
        kept = counts[:, lay["kept"]]
        ndeg = counts[:, lay["no_solution"]] + counts[:, lay["continuum"]]
        pt_off = np.concatenate([[0], np.cumsum(kept)[:-1]]).astype(np.int64)
        dg_off = np.concatenate([[0], np.cumsum(ndeg)[:-1]]).astype(np.int64)
        m = int(kept.sum())
        n_dg = int(min(ndeg.sum(), dg_cap))
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


def assemble(W: np.ndarray, tols: np.ndarray, stored: dict, only, tol: float):
    """The :class:`~dynsys.FixedPoints` of merged :func:`store_chunks` output."""
    from ._fixed_points import _assemble, _degenerate, decode_patterns
    from ._kernels.incremental import layout

    n = W.shape[0]
    lay = layout(n)
    counts = stored["counts"][None, :]
    degenerate = _degenerate(n, counts, lay, stored["dg_code"], stored["dg_kind"],
                             stored["dg_dim"])
    pats = decode_patterns(stored["code"], n)
    return _assemble(W, stored["y"], pats, stored["eig"], float(tols[3]), float(tols[0]),
                     degenerate, only, tol)


def fixed_points_incremental(W, *, only=None, tol: float = 1e-9,
                             max_degenerate: int = 1_000_000, tols=None):
    """The fixed points kept by `only` (N <= 24 with a filter), as :func:`dynsys.fixed_points`.

    Same walk, order and numbers as the enumeration kernel, so the result equals
    ``dynsys.fixed_points(W, only=only, tol=tol)`` where both run.
    """
    from ._validation import check_choice

    check_choice(only, "only", tuple(_FILTER_CODES))
    W_c, tols = prepare(W, tol, tols)
    if only is None and W_c.shape[0] > 13:
        raise ValueError(
            f"`W` has N = {W_c.shape[0]}: listing every point needs a filter above N = 13; "
            "pass `only='stable_in_box'` (or 'in_box', 'stable')."
        )
    stored = store_chunks(W_c, tols, only, dg_cap=int(max_degenerate))
    return assemble(W_c, tols, stored, only, tol)
