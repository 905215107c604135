"""Every fixed point of eq. 3, dy/dt = y (1 - y) (W y), by pattern enumeration.

Algorithm (Lagzi 2018, "Residual networks classify inputs based on their neural transient
dynamics", eq. 3):

1. At a fixed point every coordinate has a vanishing factor: ``y_i = 0``, ``y_i = 1`` or
   ``(W y)_i = 0``. A *pattern* picks one per coordinate, coded 0, 1, 2 (interior).
2. With ``B1`` the coordinates at 1 and ``I`` the interior ones, the interior coordinates solve
   the linear system ``W[I,I] y_I = -W[I,B1] 1``. An invertible ``W[I,I]`` gives one point; a
   singular one gives no point ("no solution") or an affine set of fixed points
   ("continuum"), reported in :attr:`FixedPoints.degenerate`, never dropped.
3. Several patterns can give the same point: a point ``y`` is given by every pattern that
   agrees with it, i.e. ``2^m`` patterns with ``m = #{i : y_i in {0, 1}, (W y)_i = 0}`` (those
   with an invertible block). The origin gets ``2^N``, so a generic W has ``3^N - 2^N + 1``
   distinct points, not the paper's ``3^N``. Each point is counted once, at its *canonical*
   pattern (code 0/1 wherever ``y_i`` is 0/1), which also makes streaming counts exact.
4. At a fixed point the Jacobian is block-triangular: eigenvalues ``(W y)_i`` at coordinates at
   0, ``-(W y)_i`` at coordinates at 1, and those of ``diag(y_I (1 - y_I)) W[I,I]``. The step-1
   layer map (in logit coordinates ``z(t+1) = z(t) + W sigmoid(z(t))``) has the multipliers
   ``exp`` of the boundary eigenvalues and ``1 + lambda`` for the interior ones.

Two engines produce the same raw fields (points, patterns, eigenvalues, label codes, in-box
flags, multiplicities, degenerate patterns): the Numba kernel of
:mod:`dynsys._kernels.enumeration` (numeric mode, floating point with named tolerances) and
:mod:`dynsys._fixed_points_exact` (exact mode, rational arithmetic, N <= 6). Both label with
:func:`dynsys._stability.label_index`, and :func:`_assemble` turns either into one
:class:`FixedPoints`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._arrays import readonly as _readonly
from ._network import Network, resnet_weights
from ._stability import LABELS
from ._system import ResidualSystem
from ._validation import check_choice, check_int, check_positive_float

__all__ = [
    "FixedPoints",
    "FixedPointCounts",
    "DegeneratePatterns",
    "fixed_points",
    "count_fixed_points",
    "ONLY_CHOICES",
    "MAX_N_FULL",
    "MAX_N_STREAMING",
    "MAX_N_EXACT",
    "KIND_NO_SOLUTION",
    "KIND_CONTINUUM",
    "OUTSIDE",
    "TOLERANCE_NAMES",
    "decode_patterns",
    "encode_patterns",
]

#: Accepted values of ``only`` in :func:`fixed_points`.
ONLY_CHOICES = (None, "in_box", "stable", "stable_in_box")
#: Largest N for which every point is stored (3^13 = 1.6 million patterns, about 0.5 GB).
MAX_N_FULL = 13
#: Largest N for the streaming filters and :func:`count_fixed_points` (3^20 = 3.5e9 patterns).
MAX_N_STREAMING = 20
#: Largest N of exact mode.
MAX_N_EXACT = 6
KIND_NO_SOLUTION = "no solution"
KIND_CONTINUUM = "continuum"
#: ``map_stability`` of points outside the box, where the layer map is not defined.
OUTSIDE = "outside"
#: The tolerances of the numeric mode, in the order of the kernel's ``tols`` array.
TOLERANCE_NAMES = ("rank_tol", "residual_tol", "face_tol", "zero_tol")

_FILTER_CODES = {None: 0, "in_box": 1, "stable": 2, "stable_in_box": 3}
_LABEL_DTYPE = "<U14"
# Default tolerances: relative to max|W| (rank, residual, zero) or absolute (face, since y is
# dimensionless).
_REL = 1e-9
_DEFAULT_FACE_TOL = 1e-9
# flow and map label codes -> strings; code -1 (outside the box) is row 0
_CODE_LABELS = np.array((OUTSIDE,) + tuple(LABELS), dtype=_LABEL_DTYPE)


def encode_patterns(codes) -> np.ndarray:
    """Pattern index ``sum_i code_i 3^i`` of each row of `codes` (..., N) with entries 0, 1, 2."""
    codes = np.asarray(codes, dtype=np.int64)
    pow3 = 3 ** np.arange(codes.shape[-1], dtype=np.int64)
    return codes @ pow3


def decode_patterns(index, n: int) -> np.ndarray:
    """Inverse of :func:`encode_patterns`: int8 codes of shape (len(index), n)."""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    out = np.empty((index.size, n), dtype=np.int8)
    # six trits at a time from a (729, 6) table: one divmod and one gather per six
    # coordinates instead of one divmod per coordinate (the fixed_points output has a
    # million rows at N = 13)
    rest = index.copy()
    for i in range(0, n, 6):
        w = min(6, n - i)
        rest, low = np.divmod(rest, 729)
        out[:, i:i + w] = _TRIT_TABLE[low, :w]
    return out


# row j: the 6 base-3 digits of j, least significant first
_TRIT_TABLE = ((np.arange(729)[:, None] // 3 ** np.arange(6)) % 3).astype(np.int8)


def _fmt_tol(value) -> str:
    return "None" if value is None else f"{value:.3g}"


@dataclass(frozen=True, repr=False)
class DegeneratePatterns:
    """Patterns whose interior block ``W[I,I]`` is singular.

    Attributes
    ----------
    patterns : ndarray of int8, shape (D, N)
        Codes 0, 1, 2 (interior), one row per stored degenerate pattern, in pattern-index
        order.
    kind : ndarray of str, shape (D,)
        ``"no solution"`` (inconsistent system) or ``"continuum"`` (consistent: an affine set
        of fixed points of dimension ``dimension`` passes through the pattern's face).
    dimension : ndarray of int, shape (D,)
        ``|I| - rank W[I,I]`` for a continuum, 0 for no solution.
    n_no_solution, n_continuum : int
        Total counts (exact even when the stored list is truncated).
    truncated : bool
        True when more degenerate patterns exist than were stored (see ``max_degenerate``).
    """

    patterns: np.ndarray
    kind: np.ndarray
    dimension: np.ndarray
    n_no_solution: int = 0
    n_continuum: int = 0
    truncated: bool = False

    def __len__(self) -> int:
        return int(self.n_no_solution + self.n_continuum)

    def __repr__(self) -> str:
        return (f"DegeneratePatterns(N={self.patterns.shape[1]}, stored={self.patterns.shape[0]}, "
                f"n_continuum={self.n_continuum}, n_no_solution={self.n_no_solution}, "
                f"truncated={self.truncated})")

    @property
    def total(self) -> int:
        """Number of degenerate patterns (stored or not)."""
        return len(self)

    def continua(self) -> np.ndarray:
        """Stored patterns of kind ``"continuum"``, shape (C, N)."""
        return self.patterns[self.kind == KIND_CONTINUUM]

    @classmethod
    def empty(cls, n: int) -> "DegeneratePatterns":
        return cls(
            patterns=_readonly(np.zeros((0, n), np.int8)),
            kind=_readonly(np.zeros(0, _LABEL_DTYPE)),
            dimension=_readonly(np.zeros(0, np.int64)),
        )


@dataclass(frozen=True, repr=False)
class FixedPointCounts:
    """Counts of the distinct isolated fixed points of eq. 3 by type, without the points.

    Flow labels are those of :mod:`dynsys._stability` (``"stable"``, ``"unstable"``,
    ``"saddle"``, ``"non-hyperbolic"``); the map labels classify the in-box points for the
    step-1 layer map.

    Attributes
    ----------
    n : int
        The dimension N.
    total : int
        Distinct isolated fixed points (the origin once).
    in_box, out_of_box : int
        Of those, inside the closed cube [0, 1]^N and outside it.
    by_stability, by_stability_in_box, by_stability_out_of_box : Mapping[str, int] or None
        Flow labels, for all points, in-box points and out-of-box points. ``by_stability``
        and ``by_stability_out_of_box`` are ``None`` when the out-of-box points were counted
        but not classified (``out_of_box_classified`` False).
    map_by_stability_in_box : Mapping[str, int]
        Layer-map labels of the in-box points.
    disagreements : int
        In-box points whose flow and map labels differ.
    unstable_dim_in_box, unstable_dim_out_of_box : ndarray of int, shape (N + 1,)
        Histograms of the number of eigenvalues with real part above `zero_tol`
        (``unstable_dim_out_of_box`` is ``None`` when the out-of-box points were not
        classified).
    n_no_solution, n_continuum : int
        Degenerate patterns (singular interior block) by kind.
    n_merged : int or None
        Patterns with an invertible block and a coordinate at 1 whose point was not counted
        on its own: one of its interior coordinates lies within `face_tol` of 0 or 1 (exactly
        on it in exact mode), so the point is taken as that of the neighbouring pattern with
        code 0 / 1 there (:doc:`/theory/fixed_points`). For a generic W at large N a few
        points, distinct but closer than `face_tol` to a neighbour, are merged this way.
        ``None`` for the counts of a filtered listing (``fixed_points(W, only=...)``).
    n_origin_copies : int or None
        Patterns with an invertible block, interior coordinates and none at 1: each gives
        the origin again (``2^N - 1`` unless a principal block ``W[I,I]`` is singular).
        ``None`` as `n_merged`. Every pattern is a counted point, a copy or degenerate:
        ``total + n_origin_copies + n_merged + n_no_solution + n_continuum == n_patterns``.
    n_patterns : int
        ``3^N``.
    zero_tol, rank_tol, residual_tol, face_tol : float
        The tolerances the counts were computed with (see :func:`fixed_points`; all 0.0 in
        exact mode).
    out_of_box_classified : bool
        Whether the out-of-box points carry flow labels (``count_fixed_points(W,
        classify_out_of_box=True)``, or counts taken from a :class:`FixedPoints`).
    """

    n: int
    total: int
    in_box: int
    out_of_box: int
    by_stability: MappingProxyType
    by_stability_in_box: MappingProxyType
    by_stability_out_of_box: MappingProxyType
    map_by_stability_in_box: MappingProxyType
    disagreements: int
    unstable_dim_in_box: np.ndarray
    unstable_dim_out_of_box: np.ndarray
    n_no_solution: int
    n_continuum: int
    n_merged: int | None
    n_origin_copies: int | None
    n_patterns: int
    zero_tol: float | None = None
    rank_tol: float | None = None
    residual_tol: float | None = None
    face_tol: float | None = None
    out_of_box_classified: bool = True

    def __repr__(self) -> str:
        return (f"FixedPointCounts(N={self.n}, total={self.total}, in_box={self.in_box}, "
                f"stable={self.stable}, stable_in_box={self.stable_in_box}, "
                f"disagreements={self.disagreements}, degenerate={self.n_degenerate}, "
                f"merged={self.n_merged}, zero_tol={_fmt_tol(self.zero_tol)})")

    @property
    def generic_total(self) -> int:
        """``3^N - 2^N + 1``: the number of distinct points for a generic W."""
        return 3**self.n - 2**self.n + 1

    @property
    def stable(self) -> int | None:
        """Flow-stable points, in and out of the box (``None`` if out-of-box points were not
        classified)."""
        return None if self.by_stability is None else self.by_stability["stable"]

    @property
    def stable_in_box(self) -> int:
        return self.by_stability_in_box["stable"]

    @property
    def n_degenerate(self) -> int:
        return self.n_no_solution + self.n_continuum

    @property
    def tolerances(self) -> dict:
        """The tolerances by name, to pass back to :func:`count_fixed_points`."""
        return {name: getattr(self, name) for name in TOLERANCE_NAMES}

    def as_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return {
            "n": self.n,
            "n_patterns": self.n_patterns,
            "total": self.total,
            "generic_total": self.generic_total,
            "in_box": self.in_box,
            "out_of_box": self.out_of_box,
            "by_stability": _plain_or_none(self.by_stability),
            "by_stability_in_box": dict(self.by_stability_in_box),
            "by_stability_out_of_box": _plain_or_none(self.by_stability_out_of_box),
            "map_by_stability_in_box": dict(self.map_by_stability_in_box),
            "disagreements": self.disagreements,
            "unstable_dim_in_box": self.unstable_dim_in_box.tolist(),
            "unstable_dim_out_of_box": _plain_or_none(self.unstable_dim_out_of_box),
            "n_no_solution": self.n_no_solution,
            "n_continuum": self.n_continuum,
            "n_merged": self.n_merged,
            "n_origin_copies": self.n_origin_copies,
            "out_of_box_classified": self.out_of_box_classified,
            **self.tolerances,
        }

    def table(self, only=None) -> str:
        """A plain-text summary table (`only`: the filter the counted points passed, if any)."""
        rows = [("type", "all", "in box", "out of box", "map (in box)")]
        for lab in LABELS:
            every = "-" if self.by_stability is None else self.by_stability[lab]
            out = "-" if self.by_stability_out_of_box is None else self.by_stability_out_of_box[lab]
            rows.append((lab, every, self.by_stability_in_box[lab], out,
                         self.map_by_stability_in_box[lab]))
        rows.append(("total", self.total, self.in_box, self.out_of_box, self.in_box))
        widths = [max(len(str(r[c])) for r in rows) for c in range(5)]
        lines = ["  ".join(str(v).rjust(w) if c else str(v).ljust(w)
                           for c, (v, w) in enumerate(zip(r, widths))) for r in rows]
        lines.append(
            f"N = {self.n}: {self.total} distinct isolated fixed points"
            + ("" if only is None else f" kept by only={only!r}")
            + f" (all points for generic W: 3^N - 2^N + 1 = {self.generic_total}); "
            f"flow/map disagreements in the box: {self.disagreements}; "
            f"degenerate patterns: {self.n_continuum} continuum, {self.n_no_solution} no solution; "
            + self._merged_note()
            + ("" if self.out_of_box_classified else
               " Out-of-box points counted, not classified (-): count_fixed_points(W, "
               "classify_out_of_box=True) labels them.")
        )
        return "\n".join(lines)

    def _merged_note(self) -> str:
        if self.n_merged is None:
            return "merged patterns: not counted in a filtered listing."
        return (f"merged patterns: {self.n_merged}. Patterns: {self.n_patterns} = {self.total} "
                f"points + {self.n_origin_copies} origin copies + {self.n_merged} merged + "
                f"{self.n_degenerate} degenerate (merged: a point within face_tol = "
                f"{_fmt_tol(self.face_tol)} of a face is taken as its neighbouring pattern's, "
                "so distinct points that close are counted once).")


def _plain_or_none(value):
    if value is None:
        return None
    return value.tolist() if isinstance(value, np.ndarray) else dict(value)


def _mapping(values) -> MappingProxyType:
    return MappingProxyType({lab: int(v) for lab, v in zip(LABELS, values)})


#: Point-level array fields of :class:`FixedPoints` (one row per point).
_POINT_FIELDS = ("points", "patterns", "multiplicity", "eigenvalues", "stability",
                 "unstable_dim", "map_stability", "map_unstable_dim", "in_box", "residual")


@dataclass(frozen=True, repr=False)
class FixedPoints:
    """The distinct isolated fixed points of eq. 3 and their stability (flow and layer map).

    Attributes
    ----------
    W : ndarray, shape (N, N)
        The weights (float64, read-only).
    points : ndarray, shape (M, N)
        One row per distinct fixed point.
    patterns : ndarray of int8, shape (M, N)
        The canonical pattern of each point (0: y_i = 0, 1: y_i = 1, 2: interior,
        (W y)_i = 0 with y_i not 0 or 1).
    multiplicity : ndarray of int, shape (M,)
        How many patterns (with an invertible interior block) give the point; the origin gets
        ``2^N`` for generic W.
    eigenvalues : ndarray of complex, shape (M, N)
        Jacobian eigenvalues of eq. 3: ``(W y)_i`` / ``-(W y)_i`` at coordinate i when it is at
        0 / 1, and the eigenvalues of ``diag(y_I (1 - y_I)) W[I,I]`` at the interior positions.
    stability : ndarray of str, shape (M,)
        Flow label: ``"stable"``, ``"unstable"``, ``"saddle"`` or ``"non-hyperbolic"``.
    unstable_dim : ndarray of int, shape (M,)
        Number of eigenvalues with real part ``> zero_tol``.
    map_stability : ndarray of str, shape (M,)
        Label of the step-1 layer map for in-box points (multipliers :attr:`multipliers`),
        ``"outside"`` for points outside the box.
    map_unstable_dim : ndarray of int, shape (M,)
        Number of multipliers with modulus ``> 1 + zero_tol`` for in-box points, -1 outside.
    in_box : ndarray of bool, shape (M,)
        Whether the point lies in [0, 1]^N (the only points sigmoid outputs can approach).
    residual : ndarray, shape (M,)
        ``max_i |F(y)_i|`` at the float64 :attr:`points`.
    degenerate : DegeneratePatterns
        Patterns with a singular interior block, by kind.
    n_merged, n_origin_copies : int or None
        Patterns with an invertible block that are not the canonical pattern of a listed
        point: merged into a neighbouring pattern's point (an interior coordinate within
        `face_tol` of 0 or 1) and copies of the origin; see :class:`FixedPointCounts`.
        Without a filter ``len(fp) + n_origin_copies + n_merged + len(fp.degenerate) ==
        3^N``; ``None`` with a filter (`only`).
    only : str or None
        The filter used (see :func:`fixed_points`).
    exact : bool
        Whether exact arithmetic produced the points and the labels.
    points_exact : tuple or None
        Exact mode: one tuple of SymPy Rationals per point.
    zero_tol, rank_tol, residual_tol, face_tol : float
        The absolute tolerances the result was computed with (see :func:`fixed_points`);
        ``fixed_points(W, only=fp.only, **fp.tolerances)`` reproduces the result. Exact mode
        stores 0.0 for each: its decisions are exact comparisons with zero.
    """

    W: np.ndarray
    points: np.ndarray
    patterns: np.ndarray
    multiplicity: np.ndarray
    eigenvalues: np.ndarray
    stability: np.ndarray
    unstable_dim: np.ndarray
    map_stability: np.ndarray
    map_unstable_dim: np.ndarray
    in_box: np.ndarray
    residual: np.ndarray
    degenerate: DegeneratePatterns
    n_merged: int | None = None
    n_origin_copies: int | None = None
    only: str | None = None
    exact: bool = False
    points_exact: tuple | None = field(default=None, repr=False)
    zero_tol: float = 0.0
    rank_tol: float = 0.0
    residual_tol: float = 0.0
    face_tol: float = 0.0

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __repr__(self) -> str:
        return (f"FixedPoints(N={self.n}, points={len(self)}, in_box={int(self.in_box.sum())}, "
                f"stable={int(np.count_nonzero(self.stability == 'stable'))}, "
                f"degenerate={len(self.degenerate)}, only={self.only!r}, exact={self.exact}, "
                f"zero_tol={_fmt_tol(self.zero_tol)})")

    @property
    def n(self) -> int:
        """The dimension N."""
        return int(self.W.shape[0])

    @property
    def n_singular(self) -> int:
        """Number of degenerate patterns (singular interior block)."""
        return len(self.degenerate)

    @property
    def tolerances(self) -> dict:
        """The tolerances by name, to pass back to :func:`fixed_points`."""
        return {name: getattr(self, name) for name in TOLERANCE_NAMES}

    @property
    def multipliers(self) -> np.ndarray:
        """Multipliers of the step-1 layer map at each point, shape (M, N), complex.

        ``exp(eigenvalue)`` on boundary coordinates, ``1 + eigenvalue`` on interior ones
        (the eigenvalues of ``I + diag(y_I (1 - y_I)) W[I,I]``). Meaningful for in-box points.
        """
        ev = self.eigenvalues
        with np.errstate(over="ignore"):
            return np.where(self.patterns == 2, 1.0 + ev, np.exp(ev.real) + 0j)

    def disagreements(self) -> np.ndarray:
        """Indices of the in-box points whose flow and layer-map labels differ."""
        return np.flatnonzero(self.in_box & (self.stability != self.map_stability))

    def select(self, mask) -> "FixedPoints":
        """A new result with the rows where `mask` (bool (M,) or indices) holds."""
        idx = np.arange(len(self))[mask]
        pe = None if self.points_exact is None else tuple(self.points_exact[i] for i in idx)
        kw = {name: _readonly(getattr(self, name)[idx].copy()) for name in _POINT_FIELDS}
        return FixedPoints(W=self.W, degenerate=self.degenerate, n_merged=self.n_merged,
                           n_origin_copies=self.n_origin_copies, only=self.only,
                           exact=self.exact, points_exact=pe, **self.tolerances, **kw)

    def counts(self) -> FixedPointCounts:
        """The :class:`FixedPointCounts` of the stored points."""
        n = self.n
        st = self.stability
        ib = self.in_box

        def by(mask):
            return _mapping([np.count_nonzero(mask & (st == lab)) for lab in LABELS])

        return FixedPointCounts(
            n=n,
            total=len(self),
            in_box=int(ib.sum()),
            out_of_box=int((~ib).sum()),
            by_stability=by(np.ones_like(ib)),
            by_stability_in_box=by(ib),
            by_stability_out_of_box=by(~ib),
            map_by_stability_in_box=_mapping(
                [np.count_nonzero(ib & (self.map_stability == lab)) for lab in LABELS]),
            disagreements=int(self.disagreements().size),
            unstable_dim_in_box=_readonly(np.bincount(self.unstable_dim[ib], minlength=n + 1)),
            unstable_dim_out_of_box=_readonly(
                np.bincount(self.unstable_dim[~ib], minlength=n + 1)),
            n_no_solution=int(self.degenerate.n_no_solution),
            n_continuum=int(self.degenerate.n_continuum),
            n_merged=self.n_merged,
            n_origin_copies=self.n_origin_copies,
            n_patterns=3**n,
            **self.tolerances,
        )

    def summary(self) -> str:
        """Plain-text table of counts by type (see :meth:`FixedPointCounts.table`)."""
        head = "" if self.only is None else f"(filter only={self.only!r})\n"
        return head + self.counts().table(only=self.only)

    def as_dict(self) -> dict:
        """JSON-ready dict of every field (complex numbers as [re, im] pairs)."""
        out = {
            "n": self.n,
            "exact": self.exact,
            "only": self.only,
            **self.tolerances,
            "W": self.W.tolist(),
            "points": self.points.tolist(),
            "patterns": self.patterns.tolist(),
            "multiplicity": self.multiplicity.tolist(),
            "eigenvalues": np.stack([self.eigenvalues.real, self.eigenvalues.imag], -1).tolist(),
            "stability": self.stability.tolist(),
            "unstable_dim": self.unstable_dim.tolist(),
            "map_stability": self.map_stability.tolist(),
            "map_unstable_dim": self.map_unstable_dim.tolist(),
            "in_box": self.in_box.tolist(),
            "residual": self.residual.tolist(),
            "degenerate": {
                "patterns": self.degenerate.patterns.tolist(),
                "kind": self.degenerate.kind.tolist(),
                "dimension": self.degenerate.dimension.tolist(),
                "n_no_solution": self.degenerate.n_no_solution,
                "n_continuum": self.degenerate.n_continuum,
                "truncated": self.degenerate.truncated,
            },
            "n_merged": self.n_merged,
            "n_origin_copies": self.n_origin_copies,
            "counts": self.counts().as_dict(),
        }
        if self.points_exact is not None:
            out["points_exact"] = [[str(v) for v in row] for row in self.points_exact]
        return out


# ----------------------------------------------------------------------------------------
# inputs: weights and tolerances
# ----------------------------------------------------------------------------------------


def _weights(W) -> tuple[np.ndarray, ResidualSystem | None]:
    """Float W (N, N) and, when W was given exactly (or as a system), its ResidualSystem."""
    if isinstance(W, ResidualSystem):
        return W.W, W
    if isinstance(W, Network):
        return resnet_weights(W, "W"), None
    try:
        arr = np.asarray(W)
        if arr.dtype == object:
            sysm = ResidualSystem.from_matrix(W)
            return sysm.W, sysm
    except Exception:  # noqa: BLE001 - let the validator produce the message
        pass
    return resnet_weights(W, "W"), None


def _scale(W: np.ndarray) -> float:
    scale = float(np.max(np.abs(W))) if W.size else 0.0
    return scale if scale > 0.0 else 1.0


def _numeric_tolerances(W, zero_tol, rank_tol, residual_tol, face_tol) -> dict:
    """Absolute tolerances by name; a None gets its default (relative ones times max|W|)."""
    scale = _scale(W)
    given = {"zero_tol": zero_tol, "rank_tol": rank_tol, "residual_tol": residual_tol,
             "face_tol": face_tol}
    default = {"zero_tol": _REL * scale,
               # pivots of the complete-pivoting LU: 100x below the eigenvalue threshold
               "rank_tol": 1e-2 * _REL * scale,
               "residual_tol": _REL * scale,
               "face_tol": _DEFAULT_FACE_TOL}
    out = {}
    for name in TOLERANCE_NAMES:
        value = given[name]
        out[name] = default[name] if value is None else check_positive_float(value, name)
    return out


def _exact_tolerances(zero_tol, rank_tol, residual_tol, face_tol) -> dict:
    given = {"zero_tol": zero_tol, "rank_tol": rank_tol, "residual_tol": residual_tol,
             "face_tol": face_tol}
    for name, value in given.items():
        if value is not None and value != 0:
            raise ValueError(
                f"`{name}` must be None or 0 with `exact=True` (exact mode compares with zero "
                f"exactly and has no tolerance); got {value!r}."
            )
    return {name: 0.0 for name in TOLERANCE_NAMES}


def _n_chunks(n: int) -> int:
    return int(min(1 << n, 256))


#: Below this many patterns the kernels run on the calling thread only: waking a thread pool
#: costs more than the whole enumeration (measured: ~20 ms per parallel region on a busy
#: 2-vCPU host with the OpenMP layer, against 0.3 ms for all of N = 5 on one thread).
SERIAL_BELOW = 200_000


class _threads_for:
    """Context manager: one Numba thread for small problems, the default otherwise."""

    def __init__(self, work: int):
        self.work = work
        self.saved = None

    def __enter__(self):
        if self.work < SERIAL_BELOW:
            import numba

            self.saved = numba.get_num_threads()
            numba.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import numba

            numba.set_num_threads(self.saved)
        return False


def _check_size(n: int, only, counting: bool) -> None:
    if n > MAX_N_STREAMING:
        raise ValueError(
            f"`W` has N = {n}: its 3^N = {3**n:.3g} patterns are too many to enumerate in "
            f"reasonable time by a solve per pattern (limit N <= {MAX_N_STREAMING}; the "
            "incremental walk, count_fixed_points(W) or fixed_points(W, only=...), goes to "
            "N = 24). For wider networks search for "
            "fixed points locally (dynsys.refine_fixed_point from many starts)."
        )
    if not counting and only is None and n > MAX_N_FULL:
        raise ValueError(
            f"`W` has N = {n}: storing all of its 3^N = {3**n:,} fixed points with their "
            f"eigenvalues needs about {3**n * n * 26 / 1e9:.1f} GB (limit N <= {MAX_N_FULL} "
            "without a filter). Use dynsys.count_fixed_points(W) for the counts by type, or "
            "fixed_points(W, only='stable_in_box') (or 'in_box', 'stable') to keep a subset "
            "in bounded memory."
        )


# ----------------------------------------------------------------------------------------
# numeric engine
# ----------------------------------------------------------------------------------------


def _tols_array(tols: dict) -> np.ndarray:
    from ._kernels import enumeration as K

    out = np.empty(4, np.float64)
    out[K.TOL_RANK] = tols["rank_tol"]
    out[K.TOL_RESIDUAL] = tols["residual_tol"]
    out[K.TOL_FACE] = tols["face_tol"]
    out[K.TOL_ZERO] = tols["zero_tol"]
    return out


def _run_kernel(W, tols, mode, filt, dg_cap=0, minors=None):
    """Run :func:`enumerate_patterns` (twice in store mode); (counts, layout, outputs)."""
    from ._kernels import enumeration as K

    n = W.shape[0]
    nch = _n_chunks(n)
    lay = K.count_layout(n)
    tarr = _tols_array(tols)
    if minors is None:
        minors = (K.principal_minors(W) if mode == K.MODE_COUNT
                  else np.zeros(1, np.float64))
    counts = np.zeros((nch, lay["width"]), dtype=np.int64)
    z_off = np.zeros(nch, np.int64)
    empty_y = np.zeros((0, n), np.float64)
    empty_c = np.zeros(0, np.int64)
    empty_e = np.zeros((0, n), np.complex128)
    empty_k = np.zeros(0, np.int8)
    active = np.zeros((1 << n) if mode == K.MODE_STORE else 0, np.int64)
    K.enumerate_patterns(W, minors, tarr, mode, filt, 0, nch, z_off, z_off, 0,
                         empty_y, empty_c, empty_e, empty_c, empty_k, empty_c, counts, active)
    if mode == K.MODE_COUNT:
        return counts, lay, None
    pt_off, dg_off, m_pts, n_dg = _output_offsets(counts, lay, dg_cap)
    out_y = np.zeros((m_pts, n), np.float64)
    out_code = np.zeros(m_pts, np.int64)
    out_eig = np.zeros((m_pts, n), np.complex128)
    dg_code = np.zeros(n_dg, np.int64)
    dg_kind = np.zeros(n_dg, np.int8)
    dg_dim = np.zeros(n_dg, np.int64)
    counts2 = np.zeros_like(counts)
    K.enumerate_patterns(W, minors, tarr, mode, filt, 1, nch, pt_off, dg_off, n_dg,
                         out_y, out_code, out_eig, dg_code, dg_kind, dg_dim, counts2, active)
    return counts, lay, (out_y, out_code, out_eig, dg_code, dg_kind, dg_dim)


def _output_offsets(counts: np.ndarray, lay: dict, dg_cap: int):
    """(first point row, first degenerate row) per chunk, (points, degenerate rows) in all.

    From the phase-0 count table of a store run (columns ``kept``, ``no_solution``,
    ``continuum`` of `lay`); at most `dg_cap` degenerate rows are stored.
    """
    kept = counts[:, lay["kept"]]
    ndeg = counts[:, lay["no_solution"]] + counts[:, lay["continuum"]]
    pt_off = np.concatenate([[0], np.cumsum(kept)[:-1]]).astype(np.int64)
    dg_off = np.concatenate([[0], np.cumsum(ndeg)[:-1]]).astype(np.int64)
    return pt_off, dg_off, int(kept.sum()), int(min(ndeg.sum(), dg_cap))


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


def _point_fields(W, tols: dict, points, patterns, eigenvalues, *, dg_code, dg_kind, dg_dim,
                  n_no_solution: int, n_continuum: int, n_merged: int | None,
                  n_origin_copies: int | None) -> dict:
    """Raw fields of :func:`_assemble` from the kernel's stored points (numeric mode).

    One pass of :func:`classify_points` (labels, residual, unstable dimensions), the
    near-copy safety net of :func:`_dedupe`, and the multiplicities. `n_merged` and
    `n_origin_copies` are the kernel's counts (None with a filter); the rows the safety net
    drops are merged points too and are added to `n_merged`.
    """
    from ._kernels import enumeration as K

    pts, pats, eig = points, patterns, eigenvalues
    zero_tol = float(tols["zero_tol"])
    residual, in_box, flow, udim, mapc, mudim, flex, near = K.classify_points(
        W, pts, pats, eig, zero_tol, 1e3 * zero_tol)
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
        n_no_solution=int(n_no_solution), n_continuum=int(n_continuum),
        n_merged=None if n_merged is None else int(n_merged),
        n_origin_copies=None if n_origin_copies is None else int(n_origin_copies),
    )


def _pattern_copies(counts_row: np.ndarray, lay: dict, only) -> dict:
    """``n_merged`` and ``n_origin_copies`` from a summed count row of either kernel.

    Both are None for a filtered listing (`only` not None): the filtered walks skip patterns
    before their face test, so their counts of copies are partial.
    """
    if only is not None:
        return {"n_merged": None, "n_origin_copies": None}
    return {"n_merged": int(counts_row[lay["merged"]]),
            "n_origin_copies": int(counts_row[lay["origin_copies"]])}


def _numeric_engine(W, tols: dict, only, max_degenerate: int) -> dict:
    """Raw fields of :func:`_assemble` from the Numba kernels (see its docstring)."""
    from ._kernels import enumeration as K

    n = W.shape[0]
    counts, lay, out = _run_kernel(W, tols, K.MODE_STORE, _FILTER_CODES[only],
                                   dg_cap=max_degenerate)
    pts, out_code, eig, dg_code, dg_kind, dg_dim = out
    c = counts.sum(axis=0)
    return _point_fields(W, tols, pts, decode_patterns(out_code, n), eig,
                         dg_code=dg_code, dg_kind=dg_kind, dg_dim=dg_dim,
                         n_no_solution=c[lay["no_solution"]], n_continuum=c[lay["continuum"]],
                         **_pattern_copies(c, lay, only))


# ----------------------------------------------------------------------------------------
# one result assembly for both engines
# ----------------------------------------------------------------------------------------


def _degenerate(n, dg_code, dg_kind, dg_dim, n_no_solution, n_continuum,
                max_degenerate) -> DegeneratePatterns:
    """The degenerate patterns in pattern-index order, at most `max_degenerate` stored."""
    order = np.argsort(dg_code, kind="stable")[:max_degenerate]
    kinds = np.where(np.asarray(dg_kind)[order] == 1, KIND_CONTINUUM,
                     KIND_NO_SOLUTION).astype(_LABEL_DTYPE)
    total = n_no_solution + n_continuum
    truncated = order.size < total
    if truncated:
        warnings.warn(
            f"{total} degenerate patterns (singular interior block); only the first "
            f"{order.size} are stored (raise `max_degenerate` for all). Counts are exact.",
            RuntimeWarning, stacklevel=4)
    return DegeneratePatterns(
        patterns=_readonly(decode_patterns(np.asarray(dg_code, np.int64)[order], n)),
        kind=_readonly(kinds),
        dimension=_readonly(np.asarray(dg_dim, np.int64)[order]),
        n_no_solution=int(n_no_solution), n_continuum=int(n_continuum),
        truncated=bool(truncated))


def _assemble(W: np.ndarray, raw: dict, *, only, exact: bool, tols: dict,
              max_degenerate: int) -> FixedPoints:
    """One :class:`FixedPoints` from an engine's raw fields.

    `raw` holds, for M points: ``points`` (M, N) float, ``patterns`` (M, N) int codes,
    ``eigenvalues`` (M, N) complex, ``flow_code`` / ``map_code`` (M,) indices into
    :data:`dynsys._stability.LABELS` (map: -1 outside the box), ``unstable_dim`` /
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


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------


def fixed_points(W, *, exact: bool = False, only=None, zero_tol: float | None = None,
                 rank_tol: float | None = None, residual_tol: float | None = None,
                 face_tol: float | None = None, max_degenerate: int = 1_000_000,
                 client=None, progress=None) -> FixedPoints:
    """All distinct fixed points of eq. 3, dy/dt = y (1 - y) (W y), with their stability.

    Parameters
    ----------
    W : Network, array_like of shape (N, N), or ResidualSystem
        The shared weights: a shared-weight :class:`dynsys.Network` or a bare matrix of
        float, integer, Fraction or SymPy Rational entries.
    exact : bool
        Rational arithmetic throughout (points, rank decisions, in-box test, flow and map
        labels), for N <= 6; see :mod:`dynsys._fixed_points_exact`. Float entries are
        converted exactly. Exact mode has no tolerances: each must be None or 0, and the
        result stores 0.0 for each.
    only : {None, "in_box", "stable", "stable_in_box"}
        Keep only points in [0, 1]^N, flow-stable points, or both. The filter is applied
        inside the enumeration, so memory grows with the number of kept points only
        (N <= 24; beyond N = 20 by the incremental walk of :func:`count_fixed_points`);
        without a filter N <= 13.
    zero_tol : float, optional
        An eigenvalue real part (flow) or ``|mu| - 1`` (map) within this counts as zero:
        the point is non-hyperbolic. Default ``1e-9 * max|W|``.
    rank_tol : float, optional
        An interior block ``W[I,I]`` is singular when its LU with complete pivoting meets a
        pivot of at most this size. Default ``1e-11 * max|W|``.
    residual_tol : float, optional
        A singular pattern's system is consistent (a continuum of fixed points) when its
        eliminated residual is at most this per boundary coordinate at 1, else it has no
        solution. Default ``1e-9 * max|W|``.
    face_tol : float, optional
        An interior coordinate within this of 0 or 1 lies on the face: the point is listed
        at the pattern with code 0 / 1 there instead. Default ``1e-9``.
    max_degenerate : int
        Store at most this many degenerate patterns (their counts are always exact and
        ``degenerate.truncated`` says when the list is incomplete). Both modes.
    client : distributed.Client, optional
        Split the pattern space into tasks on this Dask cluster (numeric mode; ``pip install
        'resdyn[dask]'``). The points, in the same order, are those of the local run.
    progress : callable, optional
        With `client`: ``progress(tasks_done, tasks_total)`` as tasks finish.

    Returns
    -------
    FixedPoints
        It stores the four tolerances it used (absolute values);
        ``fixed_points(W, only=fp.only, **fp.tolerances)`` reproduces it.

    Raises
    ------
    ValueError
        If `W` is not a finite square matrix with N >= 1, a tolerance is not positive, or N
        is too large for the request (the message says what to use instead).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> fp = dynsys.fixed_points(np.array([[-1.0, 2.0], [3.0, -1.0]]))
    >>> len(fp)   # 3^2 - 2^2 + 1
    6
    """
    W_float, sysm = _weights(W)
    n = W_float.shape[0]
    check_choice(only, "only", ONLY_CHOICES)
    max_degenerate = check_int(max_degenerate, "max_degenerate", minimum=0)
    if exact:
        if client is not None:
            raise ValueError("`client` runs the numeric enumeration; got exact=True.")
        tols = _exact_tolerances(zero_tol, rank_tol, residual_tol, face_tol)
        if n > MAX_N_EXACT:
            raise ValueError(
                f"`exact=True` supports N <= {MAX_N_EXACT} (3^N rational solves with exact "
                f"stability tests); got N = {n}. Use the numeric mode (exact=False), which "
                "handles N <= 13 in full and N <= 20 with `only=` or count_fixed_points."
            )
        from ._fixed_points_exact import exact_enumeration

        if sysm is None:
            sysm = ResidualSystem.from_matrix(W_float)
        raw = exact_enumeration(sysm.exact_W(), only=only)
        return _assemble(W_float, raw, only=only, exact=True, tols=tols,
                         max_degenerate=max_degenerate)
    if client is not None or (only is not None and n > MAX_N_STREAMING):
        kw = dict(only=only, zero_tol=zero_tol, rank_tol=rank_tol, residual_tol=residual_tol,
                  face_tol=face_tol, max_degenerate=max_degenerate)
        if client is not None:
            from ._distributed import fixed_points_distributed

            return fixed_points_distributed(W, client, progress=progress, **kw)
        from ._incremental import fixed_points_incremental

        return fixed_points_incremental(W, **kw)
    if progress is not None:
        raise ValueError("`progress` reports the tasks of a cluster run; pass `client` too.")
    tols = _numeric_tolerances(W_float, zero_tol, rank_tol, residual_tol, face_tol)
    _check_size(n, only, counting=False)
    # a fresh writable C array: a read-only one (ResidualSystem.W) would compile a new
    # kernel specialisation
    W_c = np.array(W_float, dtype=np.float64, order="C", copy=True)
    with _threads_for(3**n):
        raw = _numeric_engine(W_c, tols, only, max_degenerate)
    return _assemble(W_c, raw, only=only, exact=False, tols=tols,
                     max_degenerate=max_degenerate)


def count_fixed_points(W, *, zero_tol: float | None = None, rank_tol: float | None = None,
                       residual_tol: float | None = None, face_tol: float | None = None,
                       classify_out_of_box: bool = False, client=None,
                       progress=None) -> FixedPointCounts:
    """Count the distinct isolated fixed points of eq. 3 by type, without storing them.

    Every point is counted once, at its canonical pattern. In-box points get both the flow
    and the layer-map label. By default the patterns of each interior set I are walked in
    Gray-code order, so that one boundary coordinate changes per step and the point and its
    boundary rates move by one column of ``-W[I,I]^{-1} W[I,B]`` and of the Schur complement:
    O(N) work per pattern, N <= 24 (N = 16, 43 million patterns, in about 1-2 s on 2 cores;
    see :doc:`/theory/fixed_points`). Out-of-box points are then counted, not labelled.

    Parameters
    ----------
    W : Network, array_like of shape (N, N), or ResidualSystem
    zero_tol, rank_tol, residual_tol, face_tol : float, optional
        As in :func:`fixed_points`; the counts store the values used.
    classify_out_of_box : bool
        Also give every out-of-box point its flow label and unstable dimension (a solve per
        pattern with a Routh-Hurwitz count of the characteristic polynomial, QR where that is
        inconclusive; N <= 20, N = 16 in about 20-60 s on 2 cores).
    client : distributed.Client, optional
        Split the pattern space into tasks on this Dask cluster (``pip install
        'resdyn[dask]'``); the counts are identical to the local run.
    progress : callable, optional
        With `client`: ``progress(tasks_done, tasks_total)`` as tasks finish.

    Returns
    -------
    FixedPointCounts

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> c = dynsys.count_fixed_points(np.array([[-1.0, 2.0], [3.0, -1.0]]))
    >>> c.total, c.in_box
    (6, 4)
    """
    if client is not None or not classify_out_of_box:
        kw = dict(zero_tol=zero_tol, rank_tol=rank_tol, residual_tol=residual_tol,
                  face_tol=face_tol, classify_out_of_box=bool(classify_out_of_box))
        if client is not None:
            from ._distributed import count_distributed

            return count_distributed(W, client, progress=progress, **kw)
        if progress is not None:
            raise ValueError("`progress` reports the tasks of a cluster run; pass `client` too.")
        from ._incremental import count_incremental

        return count_incremental(W, **kw)
    W_float, _ = _weights(W)
    tols = _numeric_tolerances(W_float, zero_tol, rank_tol, residual_tol, face_tol)
    n = W_float.shape[0]
    _check_size(n, None, counting=True)
    # a fresh writable C array: a read-only one (ResidualSystem.W) would compile a new
    # kernel specialisation
    W_c = np.array(W_float, dtype=np.float64, order="C", copy=True)
    from ._kernels import enumeration as K

    with _threads_for(3**n):
        counts, lay, _ = _run_kernel(W_c, tols, K.MODE_COUNT, 0)
    c = counts.sum(axis=0)
    nlab = len(LABELS)
    flow_in = c[lay["flow_in"]:lay["flow_in"] + nlab]
    flow_out = c[lay["flow_out"]:lay["flow_out"] + nlab]
    map_in = c[lay["map_in"]:lay["map_in"] + nlab]
    return FixedPointCounts(
        n=n,
        total=int(flow_in.sum() + flow_out.sum()),
        in_box=int(flow_in.sum()),
        out_of_box=int(flow_out.sum()),
        by_stability=_mapping(flow_in + flow_out),
        by_stability_in_box=_mapping(flow_in),
        by_stability_out_of_box=_mapping(flow_out),
        map_by_stability_in_box=_mapping(map_in),
        disagreements=int(c[lay["disagree"]]),
        unstable_dim_in_box=_readonly(c[lay["udim_in"]:lay["udim_in"] + n + 1].copy()),
        unstable_dim_out_of_box=_readonly(c[lay["udim_out"]:lay["udim_out"] + n + 1].copy()),
        n_no_solution=int(c[lay["no_solution"]]),
        n_continuum=int(c[lay["continuum"]]),
        **_pattern_copies(c, lay, None),
        n_patterns=3**n,
        **tols,
    )
