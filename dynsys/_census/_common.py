"""What both census engines share: the checked options, tolerances, the labelling of map
multipliers, unique rows, the point table and progress reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._network import Network
from .._stability import (
    LABELS, classify_multipliers, classify_spectrum, label_index, unstable_dimension,
)
from .._validation import _describe, check_positive_float
from ._results import _LABEL_DTYPE


#: The largest face (interior coordinates) whose fixed point is solved at the end of a run.
_MAX_FACE_SOLVE = 1024


#: An interior coordinate of a face point within this of 0 or 1 lies on the face.
_FACE_TOL = 1e-9


#: Interior convergence at which a saddle's saturated coordinates jump (see the theory page).
_JUMP_TOL = 1e-12


#: An approach to a non-hyperbolic point is judged from the distances at three layers
#: t1 < t2 < t3, each at least this factor beyond the one before: an exponential approach then
#: steepens its log-log slope from [t1, t2] to [t2, t3] by at least this factor.
_APPROACH_STEP = 2


@dataclass(frozen=True)
class CensusOptions:
    """The checked arguments of :func:`dynsys.attractor_census` that every engine takes.

    An engine is ``census(net, x, options, progress) -> (table, per_input, work)``: `x` the
    embedded inputs (B, N), `progress` a callable ``progress(done, total)`` or None, `table`
    the per-point fields of :class:`AttractorCensus`, `per_input` its per-input fields and
    `work` its ``work`` dict.

    Attributes
    ----------
    layer : int
        The layer whose map repeats (the depth rule, :func:`dynsys._network.layer_index`):
        layers 1..layer-1 run with their own weights, then layer `layer`'s map runs to
        `depth` and `max_depth`. 1 for shared weights; T for a per-layer network run past its
        T layers; the last layer run when a run ends before T.
    depth, max_depth : int, int or None
        The layer of the first classification and the one up to which unsettled inputs are
        followed (None: not followed), as the engine runs them.
    margin, distance_tol, residual_tol, zero_tol : float
    max_period : int
    max_interior : int or None
        ResNet engine only.
    batch_size : int
    """

    layer: int
    depth: int
    max_depth: int | None
    margin: float
    distance_tol: float
    residual_tol: float
    zero_tol: float
    max_period: int
    max_interior: int | None
    batch_size: int


def _check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a dynsys.Network; got {_describe(net)}. Build one with "
                        "dynsys.Network(W, b) or nets.to_network(model).")
    return net


class _Progress:
    """Reports inputs done to a callable ``progress(done, total)``; `finish` reaches total."""

    def __init__(self, progress, total):
        self.fn = progress
        self.total = total
        self.done = 0

    def add(self, n):
        self.done += int(n)
        self.fn(self.done, self.total)

    def finish(self):
        # inputs decided without a layer run (already at the stop layer) are reported here
        if self.done < self.total:
            self.add(self.total - self.done)


def _unique_rows(A):
    """``np.unique(A, axis=0, return_index=True, return_inverse=True)`` of a 2-D array, fast.

    NumPy sorts the B rows as records of N fields, O(B log B) comparisons of whole rows (seconds
    for 10,000 rows of 784). Here the rows are grouped by their bytes in one pass and only the
    U distinct ones are sorted, column 0 first, so the result is the same: the distinct rows in
    lexicographic order, the first occurrence of each and every row's index into them. Float
    rows are taken with -0.0 equal to 0.0, as NumPy compares them; they must hold no NaN.

    Returns
    -------
    uniq : ndarray, shape (U, N)
    first : ndarray of int, shape (U,)
    inverse : ndarray of int, shape (B,)
    """
    A = np.ascontiguousarray(A)
    if A.dtype.kind == "f":
        A = A + 0.0  # -0.0 + 0.0 is 0.0: equal values get equal bytes
    B = A.shape[0]
    width = A.shape[1] * A.itemsize
    buf = A.tobytes()
    groups = {}
    first = []
    inverse = np.empty(B, np.int64)
    for i in range(B):
        g = groups.setdefault(buf[i * width:(i + 1) * width], len(first))
        if g == len(first):
            first.append(i)
        inverse[i] = g
    first = np.asarray(first, dtype=np.int64)
    distinct = A[first]
    # lexsort's last key is the primary one: the columns reversed put column 0 first
    order = np.lexsort(distinct.T[::-1]) if A.shape[1] else np.arange(first.size)
    rank = np.empty(first.size, np.int64)
    rank[order] = np.arange(first.size)
    return distinct[order], first[order], rank[inverse]


def _face_margin(margin, distance_tol):
    """Logit beyond which y_i is within `distance_tol` of 0 or 1 (at most `margin`)."""
    return float(min(margin, np.log1p(-distance_tol) - np.log(distance_tol)))


def _map_label(mu, zero_tol):
    """:func:`classify_multipliers` of one point's multipliers (N,) and their unstable count.

    The same rule (:func:`label_index` on the counts), without the per-call overhead of the
    vectorised function: it runs once per distinct point, thousands of times in a census.
    """
    a = np.abs(mu)
    n_out = int(np.count_nonzero(a > 1.0 + zero_tol))
    n_in = int(np.count_nonzero(a < 1.0 - zero_tol))
    n_on = int(np.count_nonzero(np.abs(a - 1.0) <= zero_tol))
    return LABELS[label_index(n_out, n_in, n_on, a.size)], n_out


def _resolve_tolerances(margin, distance_tol, residual_tol, zero_tol):
    margin = check_positive_float(margin, "margin")
    distance_tol = check_positive_float(distance_tol, "distance_tol")
    residual_tol = check_positive_float(residual_tol, "residual_tol")
    zero_tol = check_positive_float(zero_tol, "zero_tol", allow_zero=True)
    return margin, distance_tol, residual_tol, zero_tol


def _points_table(point_rows, n, zero_tol, box=(0.0, 1.0)):
    M = len(point_rows)
    if M == 0:
        pts = np.zeros((0, n))
        pats = np.zeros((0, n), np.int8)
        ev = np.zeros((0, n), np.complex128)
        mu = np.zeros((0, n), np.complex128)
        res = np.zeros(0)
    else:
        pats = np.stack([r[0] for r in point_rows]).astype(np.int8)
        pts = np.stack([r[1] for r in point_rows])
        ev = np.stack([r[2] for r in point_rows])
        mu = np.stack([r[3] for r in point_rows])
        res = np.array([r[4] for r in point_rows], dtype=np.float64)
    stability = np.asarray(classify_spectrum(ev, zero_tol), dtype=_LABEL_DTYPE).reshape(M)
    map_stability = np.asarray(classify_multipliers(mu, zero_tol), dtype=_LABEL_DTYPE).reshape(M)
    udim = np.asarray(unstable_dimension(ev, zero_tol), np.int64).reshape(M)
    map_udim = np.sum(np.abs(mu) > 1.0 + zero_tol, axis=1).astype(np.int64).reshape(M)
    lead = ev.real.max(axis=1) if M else np.zeros(0)
    radius = np.abs(mu).max(axis=1) if M else np.zeros(0)
    in_box = np.all((pts >= box[0]) & (pts <= box[1]), axis=1) if M else np.zeros(0, bool)
    return dict(points=pts, patterns=pats, eigenvalues=ev, multipliers=mu,
                stability=stability, map_stability=map_stability, unstable_dim=udim,
                map_unstable_dim=map_udim, leading_eigenvalue=lead, map_radius=radius,
                in_box=in_box, residual=res)
