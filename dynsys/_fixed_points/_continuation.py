"""The fixed points of eq. 3 along a path of weights: branches and events.

Public entry :func:`continue_fixed_points` (re-exported by :mod:`dynsys`); the maths is on
:doc:`/theory/continuation`. The path runs linearly between checkpoints,
``W(s) = (1 - t) W_k + t W_{k+1}`` for ``s = k + t``; a tanh path is solved as the driven
logistic path ``4 W(s)``, ``c(s) = -2 W(s) 1`` (affine in s as well, :doc:`/theory/tanh`).

Per segment, in order:

1. The compiled pass (:func:`dynsys._kernels.continuation.prefilter_segment`) samples, for
   each interior set, ``q = det W[I,I](t)`` and the columns of ``q y_I`` at Chebyshev
   nodes, converts them to the Bernstein basis, and proves most patterns free of events:
   a coordinate outside the box on the whole segment, no root of q, or a vertex whose
   boundary rates keep their signs. Those cost no eigenvalue.
2. The exact pass (the compiled kernel
   :func:`dynsys._kernels.continuation.exact_segment`, in parallel over the
   remaining patterns) takes each remaining pattern: the roots of ``q``, ``q y_i``,
   ``q (y_i - 1)`` (singular and box events) and of ``q (W y + c)_j`` (boundary
   eigenvalues through 0) are isolated by Bernstein subdivision and refined by Brent's
   method on the exact function (a determinant at t); inside the box the interior
   spectrum is followed by steps (first-order perturbation of the eigenvalues), and a
   change of the eigenvalue counts is located by bisection on the counts. Python only
   tests the degeneracy of each interior set once and assembles the rows.
3. The pieces of every pattern are joined across segments into the branches.

Segments are independent: with ``client=`` each is a Dask task, and the merged result
equals the local one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .._activation import activation as _activation, activation_box, check_activation
from .._arrays import readonly as _readonly
from .._kernels._common import TOLERANCE_NAMES
from .._kernels.continuation import (LABEL_OFFSET, MARGIN, MAX_DEPTH, ROOT_XTOL,
                                           SAME_ROOT as _SAME_ROOT, STEP_FRACTION, STEP_MAX,
                                           STEP_MIN)
from .._stability import LABELS
from .._tables import text_table
from .._validation import _describe, _to_float_array, check_finite
from ._common import (MAX_N_FULL, Weights, from_unit, numeric_tolerances, unit_tolerances,
                      validate_weights)
from ._results import decode_patterns

__all__ = [
    "MAX_N_CONTINUATION",
    "FixedPointBranches",
    "FixedPointEvents",
    "ContinuationWork",
    "FixedPointContinuation",
    "continue_fixed_points",
    "validate_path",
    "analyse_segment",
]

#: Largest N of :func:`continue_fixed_points` (3^N patterns per segment; `points_at` lists
#: every point, as :func:`dynsys.fixed_points` does up to this N).
MAX_N_CONTINUATION = MAX_N_FULL
#: The constants of the exact pass (their meaning is in
#: :mod:`dynsys._kernels.continuation`): the relative margin of the Bernstein sign
#: tests, the width at which roots stop, the offset of the labels around an event, the
#: subdivision depth, the steps of the interior spectrum, and the distance within which
#: two roots are one. The cap on the steps per piece:
MAX_STEPS = 20000

_FLOW_REAL, _FLOW_COMPLEX = "flow:real", "flow:complex"
_MAP_PLUS, _MAP_MINUS, _MAP_COMPLEX = "map:+1", "map:-1", "map:complex"
_BOX_LEAVE, _BOX_ENTER, _SINGULAR = "box:leave", "box:enter", "singular"
#: Every event kind.
EVENT_KINDS = (_BOX_LEAVE, _BOX_ENTER, _SINGULAR, _FLOW_REAL, _FLOW_COMPLEX, _MAP_PLUS,
               _MAP_MINUS, _MAP_COMPLEX)
_KIND_DTYPE = "<U12"
_LABEL_DTYPE = "<U14"


# ----------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class FixedPointBranches:
    """Where each face pattern's fixed point exists along the path, and whether in the box.

    One row per maximal s-interval on which a pattern's point exists (its interior block
    is invertible, except at isolated s) and its in-box status is constant. Patterns
    whose point lies on a face on a whole segment (an interior coordinate identically 0 or
    1: the point is the neighbouring pattern's, as the copies of the origin) have no rows.

    Attributes
    ----------
    pattern : ndarray of int8, shape (R, N)
        Codes 0 (lower face), 1 (upper face), 2 (interior), as in :class:`FixedPoints`.
    s_start, s_end : ndarray of float, shape (R,)
        The interval, in path coordinates s in [0, K - 1].
    in_box : ndarray of bool, shape (R,)
        Whether the point is in the closed box on the interval.
    degenerate : ndarray of bool, shape (R,)
        Rows on which ``det W[I,I](s)`` vanishes identically (a singular face system all
        along the interval: no isolated point, see :class:`DegeneratePatterns`); their
        `in_box` is False.
    """

    pattern: np.ndarray
    s_start: np.ndarray
    s_end: np.ndarray
    in_box: np.ndarray
    degenerate: np.ndarray

    def __len__(self) -> int:
        return int(self.s_start.shape[0])

    def __repr__(self) -> str:
        return (f"FixedPointBranches(rows={len(self)}, in_box={int(self.in_box.sum())}, "
                f"degenerate={int(self.degenerate.sum())})")

    def at(self, s: float) -> np.ndarray:
        """Indices of the rows whose interval contains `s`."""
        return np.flatnonzero((self.s_start <= s) & (s <= self.s_end))


@dataclass(frozen=True, repr=False, eq=False)
class FixedPointEvents:
    """What happens to the fixed points along the path, ordered by s.

    Attributes
    ----------
    s : ndarray of float, shape (E,)
        Where, located to ``|delta s| <= 1e-10``.
    kind : ndarray of str, shape (E,)
        ``"box:leave"`` / ``"box:enter"`` (the point crosses the boundary of the box),
        ``"singular"`` (``det W[I,I]`` crosses 0: the point goes to infinity),
        ``"flow:real"`` (a real eigenvalue through 0: a boundary rate ``(W y)_j``, the
        transcritical exchange with the pattern that has j interior), ``"flow:complex"``
        (a complex pair through the imaginary axis), ``"map:+1"``, ``"map:-1"`` (a layer-map
        multiplier through +1 / -1), ``"map:complex"`` (a complex pair of multipliers
        through the unit circle). Flow and map events are reported for points in the box.
    pattern : ndarray of int8, shape (E, N)
        The pattern whose point the event concerns.
    value : ndarray of complex, shape (E,)
        Flow: the eigenvalue at the event (imaginary for a complex pair, the one with
        positive imaginary part); map: the multiplier; box: ``dy_i/ds``; singular: NaN.
    coordinate : ndarray of int, shape (E,)
        The coordinate involved (box: the one reaching the face; flow:real and map:+1 at a
        boundary coordinate: that coordinate), -1 if none.
    before, after : ndarray of str, shape (E,)
        Flow events: the flow labels just before and after; map events: the layer-map
        labels; "" for box and singular events. Read without tolerance (the strict signs of
        the real parts / ``|mu| - 1``).
    dim_before, dim_after : ndarray of int, shape (E,)
        The unstable dimensions (flow or map) just before and after; -1 for box and singular
        events. An event changes the dimension; the label can stay (a saddle stays a saddle).
    """

    s: np.ndarray
    kind: np.ndarray
    pattern: np.ndarray
    value: np.ndarray
    coordinate: np.ndarray
    before: np.ndarray
    after: np.ndarray
    dim_before: np.ndarray
    dim_after: np.ndarray

    def __len__(self) -> int:
        return int(self.s.shape[0])

    def __repr__(self) -> str:
        kinds = {k: int(np.count_nonzero(self.kind == k)) for k in EVENT_KINDS}
        shown = ", ".join(f"{k}={v}" for k, v in kinds.items() if v)
        return f"FixedPointEvents(events={len(self)}{', ' if shown else ''}{shown})"

    def select(self, mask) -> "FixedPointEvents":
        """The events where `mask` (bool (E,) or indices) holds."""
        idx = np.arange(len(self))[mask]
        return FixedPointEvents(**{f: _readonly(getattr(self, f)[idx].copy())
                                   for f in _EVENT_FIELDS})

    def of_kind(self, prefix: str) -> "FixedPointEvents":
        """The events whose kind starts with `prefix` (``"box"``, ``"flow"``, ``"map"``,
        ``"singular"`` or a full kind)."""
        return self.select(np.char.startswith(self.kind.astype(str), prefix))

    def table(self) -> str:
        """Plain-text table, one event a row."""
        rows = [("s", "kind", "pattern", "coord", "value", "before", "after")]
        for i in range(len(self)):
            v = complex(self.value[i])
            val = "nan" if np.isnan(v.real) else (
                f"{v.real:.6g}" if v.imag == 0 else f"{v.real:.6g}{v.imag:+.6g}j")
            rows.append((f"{self.s[i]:.10f}", str(self.kind[i]),
                         "".join(str(int(c)) for c in self.pattern[i]),
                         str(int(self.coordinate[i])), val, str(self.before[i]),
                         str(self.after[i])))
        return text_table(rows, "lllrlll")


_EVENT_FIELDS = ("s", "kind", "pattern", "value", "coordinate", "before", "after",
                 "dim_before", "dim_after")


@dataclass(frozen=True, repr=False, eq=False)
class ContinuationWork:
    """What the continuation cost, per segment.

    Attributes
    ----------
    patterns : ndarray of int, shape (K - 1,)
        Patterns examined (3^N per segment).
    pruned : ndarray of int, shape (K - 1,)
        Of those, decided by the compiled Bernstein pass alone (no event possible), with no
        eigenvalue.
    candidates : ndarray of int, shape (K - 1,)
        Patterns handed to the exact pass (``patterns - pruned``).
    solves : ndarray of int, shape (K - 1,)
        Linear solves (right-hand sides) of both passes.
    eigen_solves : ndarray of int, shape (K - 1,)
        Eigenvalue problems of the exact pass (the pruning pass solves none).
    roots : ndarray of int, shape (K - 1,)
        Roots refined by Brent's method or by bisection on the eigenvalue counts.
    """

    patterns: np.ndarray
    pruned: np.ndarray
    candidates: np.ndarray
    solves: np.ndarray
    eigen_solves: np.ndarray
    roots: np.ndarray

    def __repr__(self) -> str:
        return (f"ContinuationWork(segments={self.patterns.size}, "
                f"patterns={int(self.patterns.sum())}, pruned={int(self.pruned.sum())}, "
                f"eigen_solves={int(self.eigen_solves.sum())})")

    @property
    def per_pattern(self) -> dict:
        """Mean linear solves and eigenvalue problems per pattern and segment."""
        total = max(1, int(self.patterns.sum()))
        return {"solves": float(self.solves.sum()) / total,
                "eigen_solves": float(self.eigen_solves.sum()) / total,
                "pruned_fraction": float(self.pruned.sum()) / total}


@dataclass(frozen=True, repr=False, eq=False)
class FixedPointContinuation:
    """The fixed points of eq. 3 along a piecewise-linear path of weights.

    Attributes
    ----------
    Ws : ndarray, shape (K, N, N)
        The checkpoints (network coordinates, read-only); ``W(s) = (1 - t) W_k + t W_{k+1}``
        for ``s = k + t``.
    activation : {"logistic", "tanh"}
    branches : FixedPointBranches
        Where each pattern's point exists and is in the box.
    events : FixedPointEvents
        Singular, box, flow and layer-map events, ordered by s.
    work : ContinuationWork
        Counters per segment.
    zero_tol, rank_tol, residual_tol, face_tol : float or None
        The tolerances given (None: the default of :func:`fixed_points` at each W(s));
        :meth:`points_at` passes them on. Events are located without tolerance.
    """

    Ws: np.ndarray
    activation: str
    branches: FixedPointBranches
    events: FixedPointEvents
    work: ContinuationWork
    zero_tol: float | None = None
    rank_tol: float | None = None
    residual_tol: float | None = None
    face_tol: float | None = None
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"FixedPointContinuation(N={self.n}, K={self.Ws.shape[0]}, {act}"
                f"branches={len(self.branches)}, events={len(self.events)})")

    @property
    def n(self) -> int:
        """The dimension N."""
        return int(self.Ws.shape[1])

    @property
    def s_max(self) -> float:
        """The end of the path, K - 1."""
        return float(self.Ws.shape[0] - 1)

    @property
    def tolerances(self) -> dict:
        """The tolerances by name (None: the default at each W(s))."""
        return {name: getattr(self, name) for name in TOLERANCE_NAMES}

    def W_at(self, s: float) -> np.ndarray:
        """``W(s)``, shape (N, N)."""
        s = _check_s(s, self.s_max)
        k = min(int(math.floor(s)), self.Ws.shape[0] - 2)
        t = s - k
        return (1.0 - t) * self.Ws[k] + t * self.Ws[k + 1]

    def points_at(self, s: float):
        """Every fixed point at `s`: :func:`dynsys.fixed_points` of ``W(s)``.

        The same points, patterns and labels as a fresh ``fixed_points(W(s),
        activation=...)`` with this result's tolerances (it is that call); the branches and
        events say between which s it changes.
        """
        from ._enumeration import fixed_points as enumerate_points

        # the steps of dynsys.fixed_points(W, activation=...) with its default engine
        weights = validate_weights(self.W_at(s), self.activation)
        tols = numeric_tolerances(weights.network_W, **self.tolerances)
        result = enumerate_points(weights, only=None,
                                  tols=unit_tolerances(tols, weights),
                                  max_degenerate=1_000_000)
        return from_unit(result, weights, tols)


def _check_s(s, s_max: float) -> float:
    try:
        v = float(s)
    except (TypeError, ValueError):
        raise TypeError(f"`s` must be a real number in [0, {s_max:g}]; got {_describe(s)}.") \
            from None
    if not (0.0 <= v <= s_max):
        raise ValueError(f"`s` must lie on the path, in [0, {s_max:g}]; got {s!r}.")
    return v


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------


def validate_path(Ws) -> np.ndarray:
    """``Ws`` as a float64 (K, N, N) array, K >= 2, 1 <= N <= :data:`MAX_N_CONTINUATION`."""
    if isinstance(Ws, (str, bytes)) or Ws is None:
        raise TypeError(f"`Ws` must be a (K, N, N) array or a sequence of (N, N) arrays; got "
                        f"{_describe(Ws)}.")
    if not isinstance(Ws, np.ndarray):
        try:
            parts = [np.asarray(w) for w in Ws]
        except TypeError:
            raise TypeError(f"`Ws` must be a (K, N, N) array or a sequence of (N, N) arrays; "
                            f"got {_describe(Ws)}.") from None
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise ValueError(f"`Ws` must hold (N, N) matrices of one shape; got shapes "
                             f"{sorted(shapes)}.")
        Ws = np.stack(parts) if parts else np.zeros((0, 0, 0))
    arr = _to_float_array(Ws, "Ws")
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"`Ws` must have shape (K, N, N) (K checkpoints of an (N, N) "
                         f"weight matrix); got shape {arr.shape}.")
    if arr.shape[0] < 2:
        raise ValueError(f"`Ws` must hold K >= 2 checkpoints (a path); got K = {arr.shape[0]}.")
    n = arr.shape[1]
    if n < 1:
        raise ValueError(f"`Ws` must have N >= 1; got shape {arr.shape}.")
    if n > MAX_N_CONTINUATION:
        raise ValueError(f"`Ws` has N = {n}: its 3^N = {3**n:,} patterns per segment are "
                         f"too many for continue_fixed_points (limit N <= "
                         f"{MAX_N_CONTINUATION}).")
    check_finite(arr, "Ws")
    return np.array(arr, dtype=np.float64, order="C", copy=True)


# ----------------------------------------------------------------------------------------
# the segment's data
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SegmentData:
    """One segment in the unit (driven logistic) system: ``W(t) = W0 + t dW``,
    ``c(t) = c0 + t dc``, and the constants of the passes."""

    W0: np.ndarray
    dW: np.ndarray
    c0: np.ndarray
    dc: np.ndarray
    rank_tol: float
    face_tol: float
    zero_abs: float
    rate_scale: float   # factor from the unit system's dy/dt to the network's (2 for tanh)


def _rank_deficient(A: np.ndarray, tol: float) -> bool:
    return bool(np.linalg.svd(A, compute_uv=False)[-1] <= tol)


def _tables():
    from .._kernels.continuation import bernstein_tables

    return bernstein_tables(MAX_N_CONTINUATION + 1)


_TABLES = _tables()


# ----------------------------------------------------------------------------------------
# one segment
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SegmentResult:
    """What one segment hands to the merge (plain arrays: it travels back from a task).

    ``states`` (3^N,) int8 ``STATE_*``; the pieces of the candidates ``piece_code``,
    ``piece_t0``, ``piece_t1``, ``piece_in``; the events, ``event_code`` (E,) the pattern
    index and ``events`` (E, 9) the rows of the exact pass
    (:data:`dynsys._kernels.continuation.EVENT_COLUMNS`: t in the segment, kind, value,
    coordinate, label codes, dimensions), each pattern's in the order of the pass; the work
    counters.
    """

    states: np.ndarray
    piece_code: np.ndarray
    piece_t0: np.ndarray
    piece_t1: np.ndarray
    piece_in: np.ndarray
    event_code: np.ndarray
    events: np.ndarray
    work: tuple


def segment_data(W0, W1, c0, c1, tols: dict, rate_scale: float = 1.0) -> _SegmentData:
    """The segment W0 -> W1, drive c0 -> c1, as the passes read it: start and slope as
    contiguous float64, the unit tolerances, and the absolute zero of its determinants
    (1e-12 of the largest entry)."""
    W0 = np.ascontiguousarray(W0, np.float64)
    c0 = np.ascontiguousarray(c0, np.float64)
    scale = max(float(np.max(np.abs(W0))), float(np.max(np.abs(W1))),
                float(np.max(np.abs(c0))), float(np.max(np.abs(c1))), 1e-300)
    return _SegmentData(W0, np.ascontiguousarray(W1 - W0, np.float64), c0,
                        np.ascontiguousarray(c1 - c0, np.float64), float(tols["rank_tol"]),
                        float(tols["face_tol"]), 1e-12 * scale, rate_scale)


def analyse_segment(W0, W1, c0, c1, tols: dict, *, last: bool, prune: bool = True,
                    rate_scale: float = 1.0) -> SegmentResult:
    """The states, pieces and events of every pattern on the segment W0 -> W1 (unit system,
    drive c0 -> c1; `tols` the unit tolerances)."""
    from .._kernels import continuation as KC

    n = W0.shape[0]
    seg = segment_data(W0, W1, c0, c1, tols, rate_scale)
    W0, dW, c0, dc = seg.W0, seg.dW, seg.c0, seg.dc
    n_pat = 3**n
    solves = 0
    if prune:
        nodes, to_b = _TABLES
        states = np.full(n_pat, KC.STATE_CANDIDATE, np.int8)
        kernel_solves = np.zeros(1 << n, np.int64)
        KC.prefilter_segment(W0, dW, c0, dc, nodes, to_b, seg.rank_tol, seg.face_tol,
                             MARGIN, seg.zero_abs, states, kernel_solves)
        solves += int(kernel_solves.sum())
        cand = np.flatnonzero(states == KC.STATE_CANDIDATE)
    else:
        states = np.full(n_pat, KC.STATE_CANDIDATE, np.int8)
        cand = np.arange(n_pat)
    pruned = n_pat - cand.size
    pieces, events, work, steps_out = _compiled_exact(seg, states, cand, n, last)
    if steps_out.size:
        warnings.warn(f"continue_fixed_points: the interior spectrum of {steps_out.size} "
                      f"pattern(s) (the first {_pattern_text(steps_out[0], n)}) needed more "
                      f"than {MAX_STEPS} steps on one segment; events beyond were not "
                      "searched.", RuntimeWarning, stacklevel=3)
    p_code, p_t0, p_t1, p_in = pieces
    return SegmentResult(
        states=states, piece_code=p_code, piece_t0=p_t0, piece_t1=p_t1, piece_in=p_in,
        event_code=events[0], events=events[1],
        work=(n_pat, pruned, int(cand.size), solves + int(work[0]), int(work[1]),
              int(work[2])))


def _pattern_text(code: int, n: int) -> str:
    return "".join(str(int(c)) for c in decode_patterns(np.array([code]), n)[0])


def degenerate_sets(seg: _SegmentData, cand: np.ndarray, n: int) -> np.ndarray:
    """(2^N,) bool: the interior sets, among those of the candidates `cand`, whose block
    ``W[I,I](t)`` has its smallest singular value <= ``rank_tol`` at every node (one
    test per interior set, shared by its 2^(N-k) patterns)."""
    nodes, _ = _TABLES
    out = np.zeros(1 << n, bool)
    digits = decode_patterns(cand, n) == 2
    sets = np.unique(digits.astype(np.int64) @ (1 << np.arange(n, dtype=np.int64)))
    for iset in sets.tolist():
        I = np.flatnonzero((iset >> np.arange(n)) & 1)
        if I.size == 0:
            continue
        A0 = seg.W0[np.ix_(I, I)]
        A1 = seg.dW[np.ix_(I, I)]
        d = I.size + 1
        out[iset] = all(_rank_deficient(A0 + t * A1, seg.rank_tol)
                        for t in nodes[d, :d + 1])
    return out


#: Room per candidate for pieces and events in the compiled pass's output (a pattern that
#: needs more is run again with room for it; most candidates have one piece and an event).
_CAP_PIECES = 4
_CAP_EVENTS = 8
#: Candidates per call of the compiled pass (bounds the memory of its output rows).
_CHUNK = 1 << 16


def _compiled_exact(seg: _SegmentData, states: np.ndarray, cand: np.ndarray, n: int,
                    last: bool):
    """The exact pass over `cand` by :func:`dynsys._kernels.continuation.exact_segment`:
    updates `states`; returns the pieces (codes, t0, t1, in_box), the events (codes, rows),
    the work (solves, eigenvalue problems, roots) and the patterns whose interior stepping
    ran out of steps."""
    from .._kernels import continuation as KX

    nodes, to_b = _TABLES
    deg = degenerate_sets(seg, cand, n)
    none = (np.zeros(0, np.int64), np.zeros((0, 3)))
    pieces = [none]
    events = [(none[0], np.zeros((0, KX.EVENT_COLUMNS)))]
    work = np.zeros(3, np.int64)
    steps_out = []
    cand = np.asarray(cand, np.int64)
    for start in range(0, cand.size, _CHUNK):
        todo = cand[start:start + _CHUNK]
        cap_p, cap_e = _CAP_PIECES, _CAP_EVENTS
        while todo.size:
            c = todo.size
            st = np.empty(c, np.int8)
            npc = np.empty(c, np.int64)
            pc = np.empty((c, cap_p, 3))
            nev = np.empty(c, np.int64)
            ev = np.empty((c, cap_e, KX.EVENT_COLUMNS))
            wk = np.empty((c, 3), np.int64)
            fl = np.empty(c, np.int64)
            KX.exact_segment(seg.W0, seg.dW, seg.c0, seg.dc, nodes, to_b, seg.face_tol,
                             seg.zero_abs, seg.rate_scale, bool(last), deg, MAX_STEPS, todo, st,
                             npc, pc, nev, ev, wk, fl)
            over = (fl & KX.FLAG_OVERFLOW) != 0
            done = ~over
            work += wk[done].sum(axis=0)
            states[todo[done]] = st[done]
            steps_out.extend(todo[done & ((fl & KX.FLAG_MAX_STEPS) != 0)].tolist())
            # the rows in use, candidate by candidate, each in the order of the pass
            npc_done = np.where(done, npc, 0)
            nev_done = np.where(done, nev, 0)
            rows = pc[np.arange(cap_p)[None, :] < npc_done[:, None]]
            pieces.append((np.repeat(todo, npc_done), rows))
            rows = ev[np.arange(cap_e)[None, :] < nev_done[:, None]]
            events.append((np.repeat(todo, nev_done), rows))
            todo = todo[over]
            if todo.size:
                cap_p = max(cap_p, int(npc[over].max()))
                cap_e = max(cap_e, int(nev[over].max()))
    p_code = np.concatenate([p[0] for p in pieces])
    p_rows = np.concatenate([p[1] for p in pieces])
    e_code = np.concatenate([e[0] for e in events])
    e_rows = np.concatenate([e[1] for e in events])
    return ((p_code, p_rows[:, 0].copy(), p_rows[:, 1].copy(), p_rows[:, 2] != 0.0),
            (e_code, e_rows), work, np.array(sorted(steps_out), np.int64))


# ----------------------------------------------------------------------------------------
# the merge into branches
# ----------------------------------------------------------------------------------------


def _merge(parts: list, n: int):
    """Branch rows (code, s_start, s_end, kind) from the segments' states and pieces, in
    pattern-index order, then s; kind 1 degenerate, 2 outside the box, 3 inside.

    Inside a segment consecutive pieces are separated by an event (a break); across a
    checkpoint a pattern's row continues when its kind is the same on both sides.
    """
    from .._kernels import continuation as KC

    n_pat = 3**n
    kind_of_state = np.zeros(5, np.int8)
    kind_of_state[[KC.STATE_DEGENERATE, KC.STATE_OUT, KC.STATE_IN]] = (1, 2, 3)
    open_start = np.zeros(n_pat)
    open_kind = np.zeros(n_pat, np.int8)
    rows = []  # (codes, starts, ends, kinds) blocks

    def close(idx, s_end):
        rows.append((idx, open_start[idx].copy(), np.broadcast_to(s_end, idx.shape).copy(),
                     open_kind[idx].copy()))
        open_kind[idx] = 0

    for k, part in enumerate(parts):
        first = kind_of_state[part.states]
        order = np.lexsort((part.piece_t0, part.piece_code))
        pc, t0, pin = part.piece_code[order], part.piece_t0[order], part.piece_in[order]
        # every candidate's first piece starts at t = 0
        starts_at_0 = np.flatnonzero(t0 == 0.0)
        first[pc[starts_at_0]] = np.where(pin[starts_at_0], 3, 2)
        cont = (open_kind != 0) & (open_kind == first)
        ends = np.flatnonzero((open_kind != 0) & ~cont)
        if ends.size:
            close(ends, float(k))
        new = np.flatnonzero((first != 0) & ~cont)
        open_start[new] = float(k)
        open_kind[new] = first[new]
        # the breaks inside the segment, one piece at a time (scalars: there are many)
        closed = ([], [], [], [])
        later = np.flatnonzero(t0 > 0.0)
        for i, t, inside in zip(pc[later].tolist(), t0[later].tolist(), pin[later].tolist()):
            s = k + t
            if open_kind[i] != 0:
                for col, v in zip(closed, (i, open_start[i], s, open_kind[i])):
                    col.append(v)
            open_start[i] = s
            open_kind[i] = 3 if inside else 2
        if closed[0]:
            rows.append((np.array(closed[0], np.int64), np.array(closed[1], np.float64),
                         np.array(closed[2], np.float64), np.array(closed[3], np.int8)))
    still = np.flatnonzero(open_kind != 0)
    if still.size:
        close(still, float(len(parts)))
    if rows:
        code = np.concatenate([r[0] for r in rows])
        a = np.concatenate([r[1] for r in rows])
        b = np.concatenate([r[2] for r in rows])
        kind = np.concatenate([r[3] for r in rows])
    else:
        code, a, b, kind = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                            np.zeros(0, np.int8))
    order = np.lexsort((a, code))
    return code[order], a[order], b[order], kind[order]


def _segment_inputs(Ws_unit, drives, k):
    return Ws_unit[k], Ws_unit[k + 1], drives[k], drives[k + 1]


def continue_fixed_points(Ws, *, activation=None, zero_tol: float | None = None,
                          rank_tol: float | None = None, residual_tol: float | None = None,
                          face_tol: float | None = None, client=None,
                          progress=None, prune: bool = True) -> FixedPointContinuation:
    """The fixed points of eq. 3 along a piecewise-linear path of weights: their branches
    (where each face pattern's point exists and is in the box) and the events between.

    The path runs linearly between the checkpoints, ``W(s) = (1 - t) W_k + t W_{k+1}`` for
    ``s = k + t``, s in [0, K - 1]. Along a segment ``W[I,I](s)`` and the right-hand side of
    a pattern's face system are affine in s, so ``q = det W[I,I]``, ``q y_i`` and
    ``q (W y)_j`` are polynomials of degree <= N + 1 (Cramer's rule); their Bernstein
    coefficients prove most patterns free of events with no eigenvalue, and every event is
    located on the exact function (a linear solve at s) to ``|delta s| <= 1e-10``
    (:doc:`/theory/continuation`).

    Parameters
    ----------
    Ws : array_like, shape (K, N, N), or a sequence of K arrays of shape (N, N)
        The checkpoints, K >= 2, N <= :data:`MAX_N_CONTINUATION` (13).
    activation : {"logistic", "tanh"}, optional
        Default logistic (eq. 3, dy/dt = y (1 - y)(W y) on [0, 1]^N); tanh: dy/dt =
        (1 - y^2)(W y) on [-1, 1]^N, solved as the conjugate logistic system with weights
        ``4 W(s)`` and drive ``-2 W(s) 1`` (:doc:`/theory/tanh`).
    zero_tol, rank_tol, residual_tol, face_tol : float, optional
        As in :func:`fixed_points`; :meth:`FixedPointContinuation.points_at` passes them on
        (None: the default at each W(s)). The branches use `rank_tol` (a face system is
        singular at every sample: degenerate) and `face_tol` (an interior coordinate on a
        face at every sample: the neighbouring pattern's point) with defaults relative to
        ``max |W_k|``; events are located without tolerance.
    client : distributed.Client, optional
        Run each segment as a task on this Dask cluster (``pip install 'resdyn[dask]'``);
        the result equals the local one.
    progress : callable, optional
        ``progress(done, total)`` over the K - 1 segments.
    prune : bool
        Let the compiled Bernstein pass decide the patterns without events (default). False
        sends every pattern through the exact pass: the same result, slower (a check).

    Returns
    -------
    FixedPointContinuation

    Raises
    ------
    ValueError
        `Ws` not of shape (K, N, N) with K >= 2 and 1 <= N <= 13, or not finite; a
        tolerance that is not positive.
    TypeError
        `Ws` not numeric, `progress` not callable, `client` not a ``distributed.Client``.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W0 = np.array([[-1.0, 2.0], [3.0, -1.0]])
    >>> c = dynsys.continue_fixed_points([W0, W0 + np.array([[0.0, 0.0], [0.0, 4.0]])])
    >>> sorted(set(c.events.kind.tolist()))
    ['flow:real', 'map:+1', 'singular']
    """
    arr = validate_path(Ws)
    act = _activation("logistic" if activation is None else check_activation(activation))
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be a callable progress(done, total) or None; got "
                        f"{progress!r}.")
    given = {"zero_tol": zero_tol, "rank_tol": rank_tol, "residual_tol": residual_tol,
             "face_tol": face_tol}
    ref = np.abs(arr).max(axis=0)
    tols = numeric_tolerances(ref, **given)   # checks the given values, fills defaults
    unit = unit_tolerances(tols, Weights(W=arr[0], activation=act.name))
    stored = {name: (None if given[name] is None else float(tols[name]))
              for name in TOLERANCE_NAMES}
    n, K = arr.shape[1], arr.shape[0]
    Ws_unit, drives = [], []
    for W in arr:
        Wu, c = act.unit_weights(W)
        Ws_unit.append(np.ascontiguousarray(Wu))
        drives.append(np.zeros(n) if c is None else np.ascontiguousarray(c))
    rate_scale = 2.0 if act.name == "tanh" else 1.0
    n_seg = K - 1
    if client is not None:
        from ._distributed import check_client

        distributed = check_client(client)
        futures = [client.submit(analyse_segment, *_segment_inputs(Ws_unit, drives, k), unit,
                                 last=(k == n_seg - 1), prune=bool(prune),
                                 rate_scale=rate_scale, pure=False)
                   for k in range(n_seg)]
        if progress is not None:
            progress(0, n_seg)
            for done, _ in enumerate(distributed.as_completed(futures), start=1):
                progress(done, n_seg)
        parts = client.gather(futures)
    else:
        parts = []
        if progress is not None:
            progress(0, n_seg)
        for k in range(n_seg):
            parts.append(analyse_segment(*_segment_inputs(Ws_unit, drives, k), unit,
                                         last=(k == n_seg - 1), prune=bool(prune),
                                         rate_scale=rate_scale))
            if progress is not None:
                progress(k + 1, n_seg)
    return _assemble(arr, act.name, parts, stored)


def _complex(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    out = np.empty(re.shape, np.complex128)
    out.real = re
    out.imag = im
    return out


def _assemble(arr, activation, parts, stored) -> FixedPointContinuation:
    n = arr.shape[1]
    code, a, b, kind = _merge(parts, n)
    branches = FixedPointBranches(
        pattern=_readonly(decode_patterns(code, n)), s_start=_readonly(a), s_end=_readonly(b),
        in_box=_readonly(kind == 3), degenerate=_readonly(kind == 1))
    from .._kernels import continuation as KX

    rows = np.concatenate([p.events for p in parts]).reshape(-1, KX.EVENT_COLUMNS)
    code = np.concatenate([p.event_code for p in parts]).astype(np.int64)
    s = np.concatenate([k + p.events[:, 0] for k, p in enumerate(parts)])
    kind = rows[:, 1].astype(np.int64)
    # by s, pattern, kind (its name), then t; ties keep each pattern's order of the pass
    kind_rank = np.argsort(np.argsort(np.array(EVENT_KINDS)))
    order = np.lexsort((rows[:, 0], kind_rank[kind], code, s))
    rows, code, s, kind = rows[order], code[order], s[order], kind[order]
    labels = np.array(list(LABELS) + [""], _LABEL_DTYPE)
    events = FixedPointEvents(
        s=_readonly(s),
        kind=_readonly(np.array(EVENT_KINDS, _KIND_DTYPE)[kind]),
        pattern=_readonly(decode_patterns(code, n)),
        value=_readonly(_complex(rows[:, 2], rows[:, 3])),
        coordinate=_readonly(rows[:, 4].astype(np.int64)),
        before=_readonly(labels[rows[:, 5].astype(np.int64)]),
        after=_readonly(labels[rows[:, 6].astype(np.int64)]),
        dim_before=_readonly(rows[:, 7].astype(np.int64)),
        dim_after=_readonly(rows[:, 8].astype(np.int64)))
    w = np.array([p.work for p in parts], np.int64).reshape(len(parts), 6)
    work = ContinuationWork(*(_readonly(w[:, j].copy()) for j in range(6)))
    return FixedPointContinuation(Ws=_readonly(arr), activation=activation,
                                  branches=branches, events=events, work=work, **stored)
