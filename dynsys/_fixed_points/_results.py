"""The results of the fixed-point family: frozen dataclasses, and the one count-row decoder.

:class:`FixedPoints` (every point with its labels), :class:`FixedPointCounts` (counts by
type), :class:`DegeneratePatterns` (patterns with a singular interior block), the pattern
index code (:func:`encode_patterns`, :func:`decode_patterns`), and :func:`decode_counts`,
which reads the count table of the kernels (:mod:`dynsys._kernels._common`). Every
:class:`FixedPointCounts` is built by :meth:`FixedPointCounts.from_table` from such a row:
the kernels' rows, and the row :meth:`FixedPoints.counts` tallies from stored points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .._activation import activation_box
from .._arrays import readonly as _readonly
from .._kernels._common import (
    COL_CONTINUUM,
    COL_DISAGREE,
    COL_FLOW_IN,
    COL_FLOW_OUT,
    COL_MAP_IN,
    COL_MERGED,
    COL_NO_SOLUTION,
    COL_ORIGIN_COPIES,
    COL_OUT_BOX,
    COL_UDIM_IN,
    N_LABELS,
    TOLERANCE_NAMES,
    count_layout,
    table_width,
    udim_out_column,
)
from .._stability import LABELS
from .._tables import text_table

__all__ = [
    "FixedPoints",
    "FixedPointCounts",
    "DegeneratePatterns",
    "decode_counts",
    "decode_patterns",
    "encode_patterns",
    "KIND_NO_SOLUTION",
    "KIND_CONTINUUM",
    "OUTSIDE",
    "LABEL_DTYPE",
    "TOLERANCE_NAMES",
]

KIND_NO_SOLUTION = "no solution"
KIND_CONTINUUM = "continuum"
#: ``map_stability`` of points outside the box, where the layer map is not defined.
OUTSIDE = "outside"
#: dtype of the label arrays of the results.
LABEL_DTYPE = "<U14"


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


def _fmt_complex(z) -> str:
    """A complex number in 6 digits, as a real number when its imaginary part is 0."""
    z = complex(z)
    if z.imag == 0:
        return f"{z.real:.6g}"
    return f"{z.real:.6g}{z.imag:+.6g}j"


def _fmt_tol(value) -> str:
    return "None" if value is None else f"{value:.3g}"


@dataclass(frozen=True, repr=False, eq=False)
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
            kind=_readonly(np.zeros(0, LABEL_DTYPE)),
            dimension=_readonly(np.zeros(0, np.int64)),
        )


@dataclass(frozen=True, repr=False)
class FixedPointCounts:
    """Counts of the distinct isolated fixed points of eq. 3 by type, without the points.

    Flow labels are those of :data:`dynsys.LABELS` (``"stable"``, ``"unstable"``,
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
        The tolerances the counts were computed with (see :func:`dynsys.fixed_points`; all 0.0 in
        exact mode).
    out_of_box_classified : bool
        Whether the out-of-box points carry flow labels (``count_fixed_points(W,
        classify_out_of_box=True)``, or counts taken from a :class:`FixedPoints`).
    activation : {"logistic", "tanh"}
        The activation: the box is [0, 1]^N (logistic) or [-1, 1]^N (tanh).
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
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"FixedPointCounts(N={self.n}, {act}total={self.total}, in_box={self.in_box}, "
                f"stable={self.stable}, stable_in_box={self.stable_in_box}, "
                f"disagreements={self.disagreements}, degenerate={self.n_degenerate}, "
                f"merged={self.n_merged}, zero_tol={_fmt_tol(self.zero_tol)})")

    @classmethod
    def from_table(cls, row, n: int, *, tolerances, out_of_box_classified: bool = True,
                   copies_counted: bool = True, activation: str = "logistic"
                   ) -> "FixedPointCounts":
        """The counts of one row of the kernels' count table (every engine builds them so).

        Parameters
        ----------
        row : array_like of int
            A summed count row, one entry per column of the kernels' count table (layout
            ``dynsys._kernels._common.count_layout(n)``).
        n : int
            The dimension N.
        tolerances : Mapping[str, float]
            The four tolerances the row was computed with.
        out_of_box_classified : bool
            Whether the out-of-box points carry labels; if not, the out-of-box label fields
            are None.
        copies_counted : bool
            Whether the row's ``merged`` and ``origin_copies`` are complete (not for a
            filtered listing); if not, `n_merged` and `n_origin_copies` are None.
        activation : {"logistic", "tanh"}
            The activation the row was counted for.
        """
        c = decode_counts(row, n)
        flow_in, flow_out = c["flow_in"], c["flow_out"]
        in_box = int(flow_in.sum())
        out_box = int(c["out_box"])
        classified = bool(out_of_box_classified)
        return cls(
            n=int(n),
            total=in_box + out_box,
            in_box=in_box,
            out_of_box=out_box,
            by_stability=_mapping(flow_in + flow_out) if classified else None,
            by_stability_in_box=_mapping(flow_in),
            by_stability_out_of_box=_mapping(flow_out) if classified else None,
            map_by_stability_in_box=_mapping(c["map_in"]),
            disagreements=int(c["disagree"]),
            unstable_dim_in_box=_readonly(np.array(c["udim_in"], np.int64)),
            unstable_dim_out_of_box=(_readonly(np.array(c["udim_out"], np.int64))
                                     if classified else None),
            n_no_solution=int(c["no_solution"]),
            n_continuum=int(c["continuum"]),
            n_merged=int(c["merged"]) if copies_counted else None,
            n_origin_copies=int(c["origin_copies"]) if copies_counted else None,
            n_patterns=3**int(n),
            out_of_box_classified=classified,
            activation=activation,
            **{name: float(tolerances[name]) for name in TOLERANCE_NAMES},
        )

    @property
    def generic_total(self) -> int:
        """The number of distinct points for a generic W: ``3^N - 2^N + 1`` (logistic), 3^N (tanh).

        The logistic's ``2^N`` patterns without a coordinate at 1 all give the origin; tanh
        has no such coincidence (its faces are at -1 and +1, and only the all-interior pattern
        gives the origin).
        """
        if self.activation == "tanh":
            return 3**self.n
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

    def __eq__(self, other) -> bool:
        # counts are values: equal when every count, label tally and tolerance is equal
        # (the arrays compared element by element, through the plain form)
        if not isinstance(other, FixedPointCounts):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.n, self.total, self.in_box, self.out_of_box, self.n_patterns,
                     self.zero_tol, self.activation))

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
            "activation": self.activation,
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
        lines = [text_table(rows, "lrrrr")]
        formula = ": 3^N - 2^N + 1" if self.activation == "logistic" else f", {self.activation}: 3^N"
        lines.append(
            f"N = {self.n}: {self.total} distinct isolated fixed points"
            + ("" if only is None else f" kept by only={only!r}")
            + f" (all points for generic W{formula} = {self.generic_total}); "
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


def decode_counts(rows, n: int) -> dict:
    """The named blocks of count-table rows (the one reader of the kernels' layout).

    Parameters
    ----------
    rows : ndarray of int, shape (..., width)
        One row or a stack of rows (layout :func:`dynsys._kernels._common.count_layout`).
    n : int
        The dimension N.

    Returns
    -------
    dict of ndarray
        ``flow_in``, ``flow_out``, ``map_in`` (..., 4) label counts in the order of
        :data:`dynsys.LABELS`; ``udim_in``, ``udim_out`` (..., N + 1) histograms of the
        unstable dimension; ``disagree``, ``kept``, ``no_solution``, ``continuum``,
        ``qr_fallback``, ``merged``, ``origin_copies``, ``out_box`` (...). Views of `rows`.
    """
    rows = np.asarray(rows)
    lay = count_layout(n)
    out = {name: rows[..., lay[name]:lay[name] + N_LABELS]
           for name in ("flow_in", "flow_out", "map_in")}
    for name in ("udim_in", "udim_out"):
        out[name] = rows[..., lay[name]:lay[name] + n + 1]
    for name in ("disagree", "kept", "no_solution", "continuum", "qr_fallback", "merged",
                 "origin_copies", "out_box"):
        out[name] = rows[..., lay[name]]
    return out


def _plain_or_none(value):
    if value is None:
        return None
    return value.tolist() if isinstance(value, np.ndarray) else dict(value)


def _mapping(values) -> MappingProxyType:
    return MappingProxyType({lab: int(v) for lab, v in zip(LABELS, values)})


#: Point-level array fields of :class:`FixedPoints` (one row per point).
_POINT_FIELDS = ("points", "patterns", "multiplicity", "eigenvalues", "stability",
                 "unstable_dim", "map_stability", "map_unstable_dim", "in_box", "residual")


@dataclass(frozen=True, repr=False, eq=False)
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
        The filter used (see :func:`dynsys.fixed_points`).
    exact : bool
        Whether exact arithmetic produced the points and the labels.
    points_exact : tuple or None
        Exact mode: one tuple of SymPy Rationals per point.
    zero_tol, rank_tol, residual_tol, face_tol : float
        The absolute tolerances the result was computed with (see :func:`dynsys.fixed_points`);
        ``fixed_points(W, only=fp.only, **fp.tolerances)`` reproduces the result. Exact mode
        stores 0.0 for each: its decisions are exact comparisons with zero.
    activation : {"logistic", "tanh"}
        The activation. For tanh the box is [-1, 1]^N, pattern code 0 means y_i = -1 and 1
        means y_i = +1, the face eigenvalues are ``2 (W y)_i`` / ``-2 (W y)_i``, the interior
        block is ``diag(1 - y_I^2) W[I,I]``, and a generic W has 3^N distinct points.
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
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"FixedPoints(N={self.n}, {act}points={len(self)}, "
                f"in_box={int(self.in_box.sum())}, "
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
    def leading_eigenvalue(self) -> np.ndarray:
        """The flow eigenvalue of largest real part at each point, shape (M,), complex."""
        ev = self.eigenvalues
        if ev.shape[0] == 0:
            return np.zeros(0, np.complex128)
        return ev[np.arange(ev.shape[0]), np.argmax(ev.real, axis=1)]

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
                           exact=self.exact, points_exact=pe, activation=self.activation,
                           **self.tolerances, **kw)

    def count_row(self) -> np.ndarray:
        """The stored points tallied into one row of the kernels' count table (int64).

        The row that the counting kernels would give for these points (every point
        classified); the copies count 0 when `n_merged` is None (a filtered listing).
        """
        n = self.n
        ib = self.in_box
        row = np.zeros(table_width(n), np.int64)
        for i, lab in enumerate(LABELS):
            flow = self.stability == lab
            row[COL_FLOW_IN + i] = np.count_nonzero(ib & flow)
            row[COL_FLOW_OUT + i] = np.count_nonzero(~ib & flow)
            row[COL_MAP_IN + i] = np.count_nonzero(ib & (self.map_stability == lab))
        row[COL_DISAGREE] = self.disagreements().size
        row[COL_NO_SOLUTION] = self.degenerate.n_no_solution
        row[COL_CONTINUUM] = self.degenerate.n_continuum
        row[COL_MERGED] = self.n_merged or 0
        row[COL_ORIGIN_COPIES] = self.n_origin_copies or 0
        row[COL_OUT_BOX] = np.count_nonzero(~ib)
        row[COL_UDIM_IN:COL_UDIM_IN + n + 1] = np.bincount(self.unstable_dim[ib],
                                                          minlength=n + 1)
        start = udim_out_column(n)
        row[start:start + n + 1] = np.bincount(self.unstable_dim[~ib], minlength=n + 1)
        return row

    def counts(self) -> FixedPointCounts:
        """The :class:`FixedPointCounts` of the stored points."""
        return FixedPointCounts.from_table(self.count_row(), self.n,
                                           tolerances=self.tolerances,
                                           copies_counted=self.n_merged is not None,
                                           activation=self.activation)

    def table(self) -> str:
        """Plain-text table of the points, one row each.

        Columns: the pattern (0: y_i = 0, 1: y_i = 1, 2: interior), y (4 decimals), the flow
        and layer-map labels, and the leading eigenvalue (the eigenvalue of largest real
        part, complex when it is). ``resdyn fixed-points --list`` prints it; the counts by
        type are :meth:`summary`.

        Returns
        -------
        str
        """
        lead = self.leading_eigenvalue
        rows = [("pattern", "y", "flow", "map", "leading eigenvalue")]
        for i in range(len(self)):
            rows.append(("".join(str(int(c)) for c in self.patterns[i]),
                         np.array2string(self.points[i], precision=4, floatmode="fixed",
                                         max_line_width=10**6),
                         self.stability[i], self.map_stability[i], _fmt_complex(lead[i])))
        return text_table(rows, "lllll")

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
            "activation": self.activation,
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
