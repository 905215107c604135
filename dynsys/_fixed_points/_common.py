"""Plumbing shared by the engines of the fixed-point family.

* The validated input (:class:`Weights`, built once by :func:`validate_weights` on the way in
  through :func:`dynsys.fixed_points` or :func:`dynsys.count_fixed_points`) and the size
  limits of the engines.
* The tolerances: their defaults and checks (:func:`numeric_tolerances`,
  :func:`exact_tolerances`).
* The result assembly of every listing engine (:func:`assemble`): raw per-point fields in,
  one :class:`~dynsys.FixedPoints` out; and the per-point pass that turns the numeric
  kernels' stored rows into those fields (:func:`point_fields`).
* The bookkeeping of the chunked kernels: :func:`n_chunks`, :func:`task_ranges`,
  :func:`output_offsets`.

Nothing here chooses an engine; the entry point (:mod:`dynsys._fixed_points`) does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._arrays import readonly as _readonly
from .._kernels._common import FILTER_CODES, TOLERANCE_NAMES
from .._network import Network, resnet_weights
from .._stability import LABELS, ZERO_TOL_REL, default_zero_tol, weight_scale
from .._activation import ACTIVATIONS, activation, resolve_activation
from .._system import ResidualSystem
from .._validation import check_positive_float
from ._results import (
    KIND_CONTINUUM,
    KIND_NO_SOLUTION,
    LABEL_DTYPE,
    OUTSIDE,
    DegeneratePatterns,
    FixedPointCounts,
    FixedPoints,
    decode_counts,
    decode_patterns,
)

__all__ = [
    "ONLY_CHOICES",
    "MAX_N_FULL",
    "MAX_N_STREAMING",
    "MAX_N_INCREMENTAL",
    "MAX_N_EXACT",
    "DEFAULT_FACE_TOL",
    "Weights",
    "validate_weights",
    "drive_array",
    "check_size",
    "numeric_tolerances",
    "exact_tolerances",
    "n_chunks",
    "task_ranges",
    "output_offsets",
    "point_fields",
    "assemble",
]

#: Accepted values of ``only`` in :func:`dynsys.fixed_points` (the keys of the kernels'
#: filter codes).
ONLY_CHOICES = tuple(FILTER_CODES)
#: Largest N for which every point is stored (3^13 = 1.6 million patterns, about 0.5 GB).
MAX_N_FULL = 13
#: Largest N of the enumeration engine (3^20 = 3.5e9 patterns, a solve each).
MAX_N_STREAMING = 20
#: Largest N of the incremental walk: 3^24 = 2.8e11 patterns (hours on two cores; a
#: cluster's job).
MAX_N_INCREMENTAL = 24
#: Largest N of exact mode.
MAX_N_EXACT = 6
#: Default `face_tol`: absolute, since y is dimensionless.
DEFAULT_FACE_TOL = 1e-9

# flow and map label codes -> strings; code -1 (outside the box) is row 0
_CODE_LABELS = np.array((OUTSIDE,) + tuple(LABELS), dtype=LABEL_DTYPE)


# ----------------------------------------------------------------------------------------
# the input, validated once
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Weights:
    """The weights of eq. 3, validated once for every engine.

    Attributes
    ----------
    W : ndarray, shape (N, N)
        float64, a fresh writable C-contiguous copy (a read-only array such as
        ``ResidualSystem.W`` would compile a second kernel specialisation).
    system : ResidualSystem or None
        The exact system when `W` was given with exact entries (Fraction, SymPy Rational)
        or as a :class:`~dynsys.ResidualSystem`: the exact engine reads its rationals.
    drive : ndarray, shape (N,), or None
        The constant term c of the rate ``W s + c`` of the system the engines solve,
        ``ds/dt = s (1 - s) (W s + c)``; ``None`` (c = 0) for the logistic. A tanh network
        reaches the engines as this system (:func:`unit_weights`): `W` is then 4 times its
        weights and ``c = -2 W_tanh 1``.
    activation : {"logistic", "tanh"}
        The activation of the network asked about (the results are returned in its
        coordinates by :func:`from_unit`).
    """

    W: np.ndarray
    system: ResidualSystem | None = None
    drive: np.ndarray | None = None
    activation: str = "logistic"

    @property
    def n(self) -> int:
        """The dimension N."""
        return int(self.W.shape[0])

    @property
    def network_W(self) -> np.ndarray:
        """The weights of the network asked about (``W / 4`` for tanh, exactly)."""
        return self.W if self.activation == "logistic" else self.W / 4.0

    def exact_system(self) -> ResidualSystem:
        """The exact system (floats converted exactly when W was given as floats)."""
        return self.system if self.system is not None else ResidualSystem.from_matrix(self.W)

    def __repr__(self) -> str:
        # identity equality (eq=False), as every result holding arrays; a short repr
        act = "" if self.activation == "logistic" else f", activation={self.activation!r}"
        return f"Weights(N={self.n}{act}, exact={self.system is not None})"


def validate_weights(W, activation=None) -> Weights:
    """:class:`Weights` from a Network, an (N, N) array (float, integer, Fraction or SymPy
    Rational entries) or a ResidualSystem; a ``ValueError``/``TypeError`` naming ``W``
    otherwise. A tanh system (its own activation or `activation`) becomes the driven logistic
    system of :func:`unit_weights`."""
    act = resolve_activation(W, activation).name
    system = None
    if isinstance(W, ResidualSystem):
        W_float, system = W.W, W
    elif isinstance(W, Network):
        W_float = resnet_weights(W, "W", ACTIVATIONS)
    else:
        W_float = None
        try:
            if np.asarray(W).dtype == object:
                system = ResidualSystem.from_matrix(W, act)
                W_float = system.W
        except Exception:  # noqa: BLE001 - let the validator produce the message
            system = None
        if W_float is None:
            W_float = resnet_weights(W, "W")
    W_float = np.array(W_float, dtype=np.float64, order="C", copy=True)
    if act == "logistic":
        return Weights(W=W_float, system=system)
    return unit_weights(W_float, system)


def drive_array(drive, n: int) -> np.ndarray:
    """The kernels' (N,) float64 drive: zeros for ``None`` (the logistic), else `drive`."""
    if drive is None:
        return np.zeros(n, np.float64)
    return np.ascontiguousarray(drive, dtype=np.float64)


def unit_weights(W_tanh: np.ndarray, system: ResidualSystem | None = None) -> Weights:
    """The tanh system as the logistic system with a drive, which the engines solve.

    With ``s = (y + 1) / 2`` the tanh flow ``dy/dt = (1 - y^2)(W y)`` becomes
    ``ds/dt = s (1 - s) (4W s - 2W 1)`` in the same time, so the fixed points correspond one to
    one (pattern codes 0 / 1 are the faces -1 / +1 and 0 / 1), with the same eigenvalues and
    layer-map multipliers. ``4W`` is exact in floating point; the drive ``-2 W 1`` is rounded
    once (the exact engine forms it from the rationals).
    """
    exact = None
    if system is not None:
        exact = ResidualSystem.from_matrix(4 * system.exact_W())
    W4, drive = activation("tanh").unit_weights(W_tanh)
    return Weights(W=W4, system=exact, drive=drive, activation="tanh")


#: How the tolerances of a tanh request act on the logistic system the engines solve (the
#: factor multiplies the tanh value): eigenvalues are the same numbers, interior blocks are 4x
#: (pivots, rank_tol), rates 2x (residuals: the rate of ``s`` is twice ``(W y)_i``), and a
#: coordinate's distance to a face is half as large in ``s`` (face_tol).
_UNIT_TOLERANCE_FACTORS = {"zero_tol": 1.0, "rank_tol": 4.0, "residual_tol": 2.0,
                           "face_tol": 0.5}


def unit_tolerances(tols: dict, weights: Weights) -> dict:
    """The engines' tolerances for `weights` from the user's (the same dict for the logistic)."""
    if weights.activation == "logistic":
        return tols
    return {name: tols[name] * _UNIT_TOLERANCE_FACTORS[name] for name in TOLERANCE_NAMES}


def from_unit(result, weights: Weights, tols: dict):
    """An engine's result (FixedPoints or FixedPointCounts) in the coordinates of the network.

    The identity for the logistic. For tanh: points ``y = 2 s - 1`` (exact points too), the
    residual of ``(1 - y^2)(W y)`` (twice that of the driven system), the weights W, the
    user's tolerances `tols` and the activation; patterns, eigenvalues, labels, counts and
    multiplicities carry over unchanged.
    """
    import dataclasses

    if weights.activation == "logistic":
        return result
    if isinstance(result, FixedPointCounts):
        return dataclasses.replace(result, activation=weights.activation,
                                   **{name: float(tols[name]) for name in TOLERANCE_NAMES})
    pe = result.points_exact
    if pe is not None:
        pe = tuple(tuple(2 * v - 1 for v in row) for row in pe)
    return dataclasses.replace(
        result, W=_readonly(weights.W / 4.0), points=_readonly(2.0 * result.points - 1.0),
        residual=_readonly(2.0 * result.residual), points_exact=pe,
        activation=weights.activation, **{name: float(tols[name]) for name in TOLERANCE_NAMES})


def check_size(n: int, only, *, counting: bool, engine: str, max_n: int) -> None:
    """A ValueError when N is beyond an engine: its limit and what to use instead.

    `max_n` is the engine's limit for counts and filtered listings; a listing of every point
    (`only` None, not `counting`) stops at :data:`MAX_N_FULL` for every engine.
    """
    if n > max_n:
        wider = ("The 'incremental' engine (the default of count_fixed_points(W), and of "
                 "fixed_points(W, only=...) beyond N = 20) goes to N = 24. "
                 if max_n < MAX_N_INCREMENTAL else "")
        raise ValueError(
            f"`W` has N = {n}: its 3^N = {3**n:.3g} patterns are too many for the {engine!r} "
            f"engine (limit N <= {max_n}). {wider}For wider networks search for fixed points "
            "locally (dynsys.refine_fixed_point from many starts)."
        )
    if not counting and only is None and n > MAX_N_FULL:
        raise ValueError(
            f"`W` has N = {n}: listing every point needs a filter above N = {MAX_N_FULL} "
            f"(its 3^N = {3**n:,} fixed points with their eigenvalues need about "
            f"{3**n * n * 26 / 1e9:.1f} GB). Use dynsys.count_fixed_points(W) for the counts by "
            "type, or fixed_points(W, only='stable_in_box') (or 'in_box', 'stable') to keep a "
            "subset in bounded memory."
        )


# ----------------------------------------------------------------------------------------
# tolerances
# ----------------------------------------------------------------------------------------


def numeric_tolerances(W, zero_tol=None, rank_tol=None, residual_tol=None,
                       face_tol=None) -> dict:
    """Absolute tolerances by name; a None gets its default.

    ``zero_tol`` defaults to :func:`dynsys._stability.default_zero_tol` (``1e-9 max|W|``),
    ``residual_tol`` to the same, ``rank_tol`` to a hundredth of it (pivots of the
    complete-pivoting LU: 100x below the eigenvalue threshold; the float
    ``(1e-2 * 1e-9) * max|W|``, which stored results hold), ``face_tol`` to
    :data:`DEFAULT_FACE_TOL`. A given value must be a positive float.
    """
    scale = weight_scale(W)
    default = {"zero_tol": default_zero_tol(W), "rank_tol": 1e-2 * ZERO_TOL_REL * scale,
               "residual_tol": ZERO_TOL_REL * scale, "face_tol": DEFAULT_FACE_TOL}
    given = {"zero_tol": zero_tol, "rank_tol": rank_tol, "residual_tol": residual_tol,
             "face_tol": face_tol}
    return {name: default[name] if given[name] is None
            else check_positive_float(given[name], name)
            for name in TOLERANCE_NAMES}


def exact_tolerances(zero_tol=None, rank_tol=None, residual_tol=None, face_tol=None) -> dict:
    """0.0 for each tolerance of exact mode, which compares with zero exactly; a ValueError
    naming any tolerance given as something other than None or 0."""
    given = {"zero_tol": zero_tol, "rank_tol": rank_tol, "residual_tol": residual_tol,
             "face_tol": face_tol}
    for name in TOLERANCE_NAMES:
        value = given[name]
        if value is not None and value != 0:
            raise ValueError(
                f"`{name}` must be None or 0 with `exact=True` (the 'exact' engine compares "
                f"with zero exactly and has no tolerance); got {value!r}."
            )
    return {name: 0.0 for name in TOLERANCE_NAMES}


# ----------------------------------------------------------------------------------------
# bookkeeping of the chunked kernels
# ----------------------------------------------------------------------------------------


def n_chunks(n: int) -> int:
    """Number of strided chunks of the 2^N interior sets (the unit of parallel work)."""
    return int(min(1 << n, 256))


def task_ranges(n_chunks: int, n_tasks: int) -> list[tuple[int, int]]:
    """Split ``0 .. n_chunks`` into `n_tasks` contiguous ranges of near-equal length (the
    tasks of the distributed engine, the progress steps of the incremental one)."""
    n_tasks = max(1, min(int(n_tasks), n_chunks))
    edges = np.linspace(0, n_chunks, n_tasks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def output_offsets(counts: np.ndarray, n: int, dg_cap: int):
    """(first point row, first degenerate row) per chunk, (points, degenerate rows) in all.

    From the phase-0 count table (n_chunks, width) of a store run (its ``kept``,
    ``no_solution`` and ``continuum`` counts); at most `dg_cap` degenerate rows are stored.
    """
    c = decode_counts(counts, n)
    kept = c["kept"]
    ndeg = c["no_solution"] + c["continuum"]
    pt_off = np.concatenate([[0], np.cumsum(kept)[:-1]]).astype(np.int64)
    dg_off = np.concatenate([[0], np.cumsum(ndeg)[:-1]]).astype(np.int64)
    return pt_off, dg_off, int(kept.sum()), int(min(ndeg.sum(), dg_cap))


# ----------------------------------------------------------------------------------------
# one result assembly for every listing engine
# ----------------------------------------------------------------------------------------


def _dedupe(points: np.ndarray):
    """Groups of rows closer than about 1e-9 (relative to 1 + |y|); (keep index, group).

    A safety net: the canonical-pattern rule already yields distinct points, and only
    tolerance-edge cases of non-generic W can produce near-copies. Rows are snapped to a
    grid in log-compressed coordinates (twice, the second grid shifted by half a cell) and
    hashed to one integer each, so this is a 1-D sort.
    """
    m = points.shape[0]
    if m < 2:
        return np.arange(m), np.arange(m)
    h = 1e-9
    u = np.sign(points) * np.log1p(np.abs(points))
    mix = np.random.default_rng(12345).integers(1, 2**62, size=points.shape[1], dtype=np.int64)
    group = np.arange(m)
    for shift in (0.0, 0.5):
        keys = np.floor(u / h + shift).astype(np.int64)
        with np.errstate(over="ignore"):
            hsh = (keys * mix).sum(axis=1)
        order = np.argsort(hsh, kind="stable")
        hs = hsh[order]
        same = np.flatnonzero(hs[1:] == hs[:-1])
        for j in same:  # rare: verify the keys really match, then merge
            a, b = order[j], order[j + 1]
            if np.array_equal(keys[a], keys[b]):
                ra, rb = group[a], group[b]
                group[group == max(ra, rb)] = min(ra, rb)
    keep = np.flatnonzero(group == np.arange(m))
    return keep, group


def point_fields(W, tols: dict, points, codes, eigenvalues, *, dg_code, dg_kind, dg_dim,
                 row, only, drive=None) -> dict:
    """Raw fields of :func:`assemble` from a numeric kernel's stored points.

    `points` (M, N), `codes` (M,) pattern indices and `eigenvalues` (M, N) are the stored
    rows, ``dg_*`` the stored degenerate patterns, `row` the summed count row of the store
    run; `drive` the c of the rate ``W y + c`` (None: 0). One pass of the per-point kernel
    (labels, residual, unstable dimensions), the
    near-copy safety net of :func:`_dedupe`, and the multiplicities. The copies are the
    row's (None with a filter, `only`); the rows the safety net drops are merged points too
    and are added to `n_merged`.
    """
    from .._kernels import fixed_points_assembly as K

    n = W.shape[0]
    counts = decode_counts(row, n)
    # a filtered walk skips patterns before their face test: its copies are partial
    n_merged = None if only is not None else int(counts["merged"])
    n_origin_copies = None if only is not None else int(counts["origin_copies"])
    pts, pats, eig = points, decode_patterns(codes, n), eigenvalues
    zero_tol = float(tols["zero_tol"])
    c = drive_array(drive, n)
    residual, in_box, flow, udim, mapc, mudim, flex, near = K.classify_points(
        W, c, pts, pats, eig, zero_tol, 1e3 * zero_tol)
    # safety net for tolerance-edge cases of non-generic W: merge near-identical rows; only
    # rows near a tolerance edge can have a near-copy (see _dedupe)
    cand = np.flatnonzero(near)
    if cand.size > 1:
        keep, _ = _dedupe(pts[cand])
        if keep.size != cand.size:
            if n_merged is not None:
                n_merged = int(n_merged) + int(cand.size - keep.size)
            sel = np.ones(pts.shape[0], bool)
            sel[np.setdiff1d(cand, cand[keep])] = False
            pts, pats, eig, residual, in_box = (pts[sel], pats[sel], eig[sel], residual[sel],
                                                in_box[sel])
            flow, udim, mapc, mudim, flex = (flow[sel], udim[sel], mapc[sel], mudim[sel],
                                             flex[sel])
    # boundary coordinates whose (W y)_i vanishes could also be interior
    multiplicity = np.ones(pts.shape[0], np.int64)
    rows = np.flatnonzero(flex.any(axis=1))
    if rows.size:
        multiplicity[rows] = K.multiplicities(
            W, np.ascontiguousarray(pts[rows]), np.ascontiguousarray(pats[rows], np.int64),
            np.ascontiguousarray(flex[rows]), float(tols["rank_tol"]))
    return dict(
        points=pts, patterns=pats, eigenvalues=eig, flow_code=flow, unstable_dim=udim,
        map_code=mapc, map_unstable_dim=mudim, in_box=in_box, residual=residual,
        multiplicity=multiplicity, points_exact=None,
        dg_code=dg_code, dg_kind=dg_kind, dg_dim=dg_dim,
        n_no_solution=int(counts["no_solution"]), n_continuum=int(counts["continuum"]),
        n_merged=None if n_merged is None else int(n_merged),
        n_origin_copies=None if n_origin_copies is None else int(n_origin_copies),
    )


def _degenerate(n, dg_code, dg_kind, dg_dim, n_no_solution, n_continuum,
                max_degenerate) -> DegeneratePatterns:
    """The degenerate patterns in pattern-index order, at most `max_degenerate` stored."""
    order = np.argsort(dg_code, kind="stable")[:max_degenerate]
    kinds = np.where(np.asarray(dg_kind)[order] == 1, KIND_CONTINUUM,
                     KIND_NO_SOLUTION).astype(LABEL_DTYPE)
    total = n_no_solution + n_continuum
    truncated = order.size < total
    if truncated:
        warnings.warn(
            f"{total} degenerate patterns (singular interior block); only the first "
            f"{order.size} are stored (raise `max_degenerate` for all). Counts are exact.",
            RuntimeWarning, stacklevel=5)
    return DegeneratePatterns(
        patterns=_readonly(decode_patterns(np.asarray(dg_code, np.int64)[order], n)),
        kind=_readonly(kinds),
        dimension=_readonly(np.asarray(dg_dim, np.int64)[order]),
        n_no_solution=int(n_no_solution), n_continuum=int(n_continuum),
        truncated=bool(truncated))


def assemble(W: np.ndarray, raw: dict, *, only, exact: bool, tols: dict,
             max_degenerate: int) -> FixedPoints:
    """One :class:`~dynsys.FixedPoints` from an engine's raw fields.

    `raw` holds, for M points: ``points`` (M, N) float, ``patterns`` (M, N) int codes,
    ``eigenvalues`` (M, N) complex, ``flow_code`` / ``map_code`` (M,) indices into
    :data:`dynsys.LABELS` (map: -1 outside the box), ``unstable_dim`` /
    ``map_unstable_dim`` (M,), ``in_box`` (M,) bool, ``residual`` (M,), ``multiplicity``
    (M,), ``points_exact`` (tuple or None), the degenerate patterns: ``dg_code`` (pattern
    indices), ``dg_kind`` (0 no solution, 1 continuum), ``dg_dim``, ``n_no_solution``,
    ``n_continuum``, and the copies ``n_merged``, ``n_origin_copies`` (None with a filter).
    """
    n = W.shape[0]

    def arr(name, dtype):
        # the engines hand over fresh arrays: no copy (they are a million rows at N = 13)
        return _readonly(np.ascontiguousarray(raw[name], dtype=dtype))

    flow = np.asarray(raw["flow_code"], np.intp)
    mapc = np.asarray(raw["map_code"], np.intp)
    m = flow.size
    return FixedPoints(
        W=_readonly(np.array(W, dtype=np.float64, copy=True)),
        points=arr("points", np.float64).reshape(m, n),
        patterns=arr("patterns", np.int8).reshape(m, n),
        multiplicity=arr("multiplicity", np.int64),
        eigenvalues=arr("eigenvalues", np.complex128).reshape(m, n),
        # labels by one gather each from the 5-entry table, not by building strings per point
        stability=_readonly(np.take(_CODE_LABELS, flow + 1)),
        unstable_dim=arr("unstable_dim", np.int64),
        map_stability=_readonly(np.take(_CODE_LABELS, mapc + 1)),
        map_unstable_dim=arr("map_unstable_dim", np.int64),
        in_box=arr("in_box", np.bool_),
        residual=arr("residual", np.float64),
        degenerate=_degenerate(n, raw["dg_code"], raw["dg_kind"], raw["dg_dim"],
                               raw["n_no_solution"], raw["n_continuum"], max_degenerate),
        n_merged=raw["n_merged"],
        n_origin_copies=raw["n_origin_copies"],
        only=only,
        exact=exact,
        points_exact=raw["points_exact"],
        **{name: float(tols[name]) for name in TOLERANCE_NAMES},
    )
