"""The attractor census: what every input of a network converges to, exactly, at any width.

A trajectory of the shared-weight ResNet ends near a face of the cube [0, 1]^N: most logits
z_i = (W x + b)_i run off to -inf or +inf at the constant rate ``(W y)_i`` and only a few stay
finite. The fixed point of eq. 3 of Lagzi (2018) on that face solves a small linear system on
the unsaturated coordinates, and its flow spectrum and layer-map multipliers follow from the
block structure of the Jacobian. :func:`attractor_census` runs every input, decides its face
from the logits and the rates, solves, verifies and deduplicates the face points and reports per
input whether it sits at an attractor, passes a saddle (and for how many more layers), cycles,
or has not converged. See the theory page "The attractor census" for the maths and the error
bound of the long-horizon engine (:mod:`dynsys._kernels.census`), and for the inputs that approach
a non-hyperbolic point at an algebraic rate, which no per-layer test recognises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import readonly
from ._network import Network
from ._stability import (
    LABELS,
    STABLE,
    classify_multipliers,
    default_zero_tol,
    label_index,
    classify_spectrum,
    unstable_dimension,
)
from ._validation import _describe, check_int, check_positive_float

__all__ = ["AttractorCensus", "attractor_census", "STATUSES"]

ATTRACTOR = "attractor"
SADDLE_PASSAGE = "saddle"
CYCLE = "cycle"
NOT_CONVERGED = "not converged"
#: The four per-input statuses, in the order of :attr:`AttractorCensus.status_counts`.
STATUSES = (ATTRACTOR, SADDLE_PASSAGE, CYCLE, NOT_CONVERGED)
_STATUS_DTYPE = "<U13"
_LABEL_DTYPE = "<U14"

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


@dataclass(frozen=True, repr=False, eq=False)
class AttractorCensus:
    """The end states of a batch of inputs: distinct fixed points and what each input does.

    All arrays are read-only. Per-point arrays have M rows (the distinct fixed points that some
    input was assigned to); per-input arrays have B entries (a 1-D `x0` drops the B axis).

    Attributes
    ----------
    kind : {"resnet", "mlp"}
        The layer map censused (a per-layer network: its last layer repeated).
    depth : int
        The layer at which unsettled inputs were classified when `max_depth` is ``None``.
    max_depth : int or None
        The layer up to which unsettled inputs were followed.
    margin, distance_tol, residual_tol, zero_tol : float
        The tolerances used (see :func:`attractor_census`); passing them back reproduces
        the result.
    points : ndarray, shape (M, N)
        The distinct fixed points (residual coordinates y).
    patterns : ndarray of int8, shape (M, N)
        Face of each point: 0 (y_i = 0), 1 (y_i = 1), 2 (interior), as in
        :func:`dynsys.fixed_points`. For the MLP, 0 / 1 where the point's logit is beyond
        `margin`, else 2.
    eigenvalues : ndarray of complex, shape (M, N)
        Flow spectrum: eq. 3 for the ResNet (``(W y)_i`` at 0, ``-(W y)_i`` at 1, the
        eigenvalues of ``diag(y_I (1 - y_I)) W[I,I]`` inside); eq. 6 for the MLP
        (``diag(f'(z)) W - I``).
    multipliers : ndarray of complex, shape (M, N)
        Layer-map multipliers: ``exp`` of the boundary eigenvalues and ``1 +`` the interior
        ones (ResNet); the eigenvalues of ``diag(f'(z)) W`` (MLP).
    stability, map_stability : ndarray of str, shape (M,)
        Flow and layer-map labels of :mod:`dynsys._stability`.
    unstable_dim, map_unstable_dim : ndarray of int, shape (M,)
        Eigenvalues with real part above `zero_tol`; multipliers with modulus above
        ``1 + zero_tol``.
    leading_eigenvalue : ndarray, shape (M,)
        The largest real part of the flow spectrum.
    map_radius : ndarray, shape (M,)
        The largest multiplier modulus.
    in_box : ndarray of bool, shape (M,)
        Whether the point lies in [0, 1]^N.
    residual : ndarray, shape (M,)
        ``max_i |F(y)_i|`` of the vector field (eq. 3 or eq. 6).
    assignment : ndarray of int, shape (B,)
        Index into `points` of the point each input is within `distance_tol` of or approaches
        algebraically (see `algebraic`), or -1.
    status : ndarray of str, shape (B,)
        ``"attractor"``, ``"saddle"``, ``"cycle"`` or ``"not converged"``. An input that
        approaches a non-hyperbolic point algebraically is ``"attractor"`` when every rate
        points into the point's face and ``"saddle"`` when one points off it (`algebraic`).
    distance : ndarray, shape (B,)
        ``max_i |y_i - point_i|`` to the assigned point (NaN when unassigned); at most
        `distance_tol` except where `algebraic`.
    layers : ndarray of int, shape (B,)
        The layer at which the status was reached (attractor, cycle) or classified. The ResNet
        engine tests every 16 layers once an input moves slowly (dense phases every 8); the
        MLP at the end of windows of ``2 * max_period + 1`` recorded layers, every 512 layers.
    layers_to_leave : ndarray of int, shape (B,)
        Saddles left along a saturated coordinate: the number of further layers until the
        first leaving coordinate comes within `margin` (from its rate); -1 otherwise, also
        for an algebraic passage of a non-hyperbolic point (its rates decay with the distance).
    period : ndarray of int, shape (B,)
        The period of a cycle, 0 otherwise.
    n_interior : ndarray of int, shape (B,)
        Unsaturated coordinates in the final state: ResNet, y_i farther than `distance_tol`
        from 0 and 1; MLP, ``|z_i| <= margin``.
    leaving : ndarray of bool, shape (B,)
        ResNet: some saturated coordinate's current rate ``(W y)_i`` points off its face, or,
        for an algebraic approach, off the face of the point (the input is at best passing a
        saddle). False for the MLP.
    lyapunov : ndarray, shape (B,)
        The largest Lyapunov exponent (per layer) of not-converged MLP inputs, NaN otherwise.
    algebraic : ndarray of bool, shape (B,)
        ResNet: the input approaches ``points[assignment]``, a non-hyperbolic fixed point with
        no unstable direction (a flow eigenvalue 0, a multiplier of modulus 1, within
        `zero_tol`; none above), at an algebraic rate ``distance ~ C t^-p``: its distance falls
        over three layers at a log-log slope that does not grow as an exponential approach's
        would (see the theory page "The attractor census"). Such an input never passes the
        per-layer tests, and its `distance` may exceed `distance_tol`. False for the MLP.
    approach_rate : ndarray, shape (B,)
        The exponent p of an algebraic approach (the log-log slope of the distance over the
        later two of the three layers), NaN where `algebraic` is False. The origin of a
        network approached along ``y ~ v / t`` has p = 1.
    work : dict
        What the run cost, summed over inputs: ``dense_layers`` (input-layers computed by
        dense matrix products) and, for the ResNet engine, ``engine_blocks``,
        ``engine_layers`` (input-layers of interior-only updates), ``near_updates``
        (saturated coordinates followed layer by layer), ``face_solves`` and
        ``approach_layers`` (input-layers run past the last layer only to judge an approach to
        a non-hyperbolic point; they are included in the other counts).
    labels : ndarray of int, shape (B,), or None
    class_counts : ndarray of int, shape (M, C), or None
        Inputs per (point, class).
    status_counts : ndarray of int, shape (4, C), or None
        Inputs per (status, class), statuses in the order of :data:`STATUSES`.
    endpoint_accuracy : float or None
        Fraction of inputs whose class is the majority class of their end point (see
        `endpoint_fit`). Inputs without an assigned point, and points the fitting inputs never
        reached, predict the fitting inputs' most frequent class.
    endpoint_fit : {"train", "same inputs"} or None
        Where the majority labels come from: the census of `train_x0` ("train") or these
        inputs themselves ("same inputs", an in-sample score).
    endpoint_prediction : ndarray of int, shape (B,), or None
        The class predicted from the end point alone.
    """

    kind: str
    depth: int
    max_depth: int | None
    margin: float
    distance_tol: float
    residual_tol: float
    zero_tol: float
    points: np.ndarray
    patterns: np.ndarray
    eigenvalues: np.ndarray
    multipliers: np.ndarray
    stability: np.ndarray
    map_stability: np.ndarray
    unstable_dim: np.ndarray
    map_unstable_dim: np.ndarray
    leading_eigenvalue: np.ndarray
    map_radius: np.ndarray
    in_box: np.ndarray
    residual: np.ndarray
    assignment: np.ndarray
    status: np.ndarray
    distance: np.ndarray
    layers: np.ndarray
    layers_to_leave: np.ndarray
    period: np.ndarray
    n_interior: np.ndarray
    leaving: np.ndarray
    lyapunov: np.ndarray
    algebraic: np.ndarray
    approach_rate: np.ndarray
    work: dict | None = None
    labels: np.ndarray | None = None
    class_counts: np.ndarray | None = None
    status_counts: np.ndarray | None = None
    endpoint_accuracy: float | None = None
    endpoint_fit: str | None = None
    endpoint_prediction: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def n_inputs(self) -> int:
        """B, the number of inputs."""
        return int(np.size(self.status))

    def counts(self) -> dict:
        """Inputs per status, ``{status: count}`` in the order of :data:`STATUSES`."""
        st = np.atleast_1d(self.status)
        return {s: int(np.count_nonzero(st == s)) for s in STATUSES}

    def fraction_settled(self, layers) -> np.ndarray:
        """Fraction of inputs at an attractor or on a cycle by each of `layers` (shape (L,))."""
        lay = np.asarray(layers, dtype=np.int64).reshape(-1)
        st = np.atleast_1d(self.status)
        t = np.where((st == ATTRACTOR) | (st == CYCLE), np.atleast_1d(self.layers),
                     np.iinfo(np.int64).max)
        return (t[None, :] <= lay[:, None]).mean(axis=1)

    def table(self, n_classes: int | None = None) -> str:
        """Plain-text tables: the points reached, then the inputs by status (and class).

        One row per reached point, most inputs first: its flow and layer-map labels, unstable
        dimension (``index``), leading eigenvalue, whether it lies in the box, its inputs, how
        many of them are at it as an attractor, pass it as a saddle and approach it
        algebraically (`algebraic`), and, with labels, a ``classes (count)`` column: its four
        most frequent classes as ``class:count``. Then, with labels, the inputs per status and
        class (`status_counts`); a line of the inputs per status with the number of algebraic
        approaches; and the end-point accuracy. ``resdyn census`` prints this.

        Parameters
        ----------
        n_classes : int, optional
            The status-by-class table has at least this many class columns (default: the C of
            `status_counts`).

        Returns
        -------
        str
        """
        st = np.atleast_1d(self.status)
        asg = np.atleast_1d(self.assignment)
        alg = np.atleast_1d(self.algebraic)
        M = len(self)
        n_in = np.bincount(asg[asg >= 0], minlength=M)
        head = ["point", "inputs", "flow", "map", "index", "leading eig", "box", "attractor",
                "saddle", "algebraic"]
        with_classes = self.class_counts is not None
        if with_classes:
            head.append("classes (count)")
        rows = [head]
        for m in np.argsort(-n_in, kind="stable"):
            sel = asg == m
            row = [str(m), str(int(n_in[m])), str(self.stability[m]),
                   str(self.map_stability[m]), str(int(self.unstable_dim[m])),
                   f"{self.leading_eigenvalue[m] + 0.0:.4g}", "yes" if self.in_box[m] else "no",
                   str(int(np.count_nonzero(sel & (st == ATTRACTOR)))),
                   str(int(np.count_nonzero(sel & (st == SADDLE_PASSAGE)))),
                   str(int(np.count_nonzero(sel & alg)))]
            if with_classes:
                cc = self.class_counts[m]
                top = np.argsort(-cc, kind="stable")[:4]
                row.append(" ".join(f"{k}:{int(cc[k])}" for k in top if cc[k] > 0))
            rows.append(row)
        # labels left-aligned, numbers right-aligned; the last column is not padded
        left = {"flow", "map", "box", "classes (count)"}
        lines = [f"distinct end states: {M}", _columns(rows, [h in left for h in head])]
        if self.status_counts is not None:
            C = self.status_counts.shape[1]
            C = C if n_classes is None else max(C, int(n_classes))
            sc = np.zeros((len(STATUSES), C), np.int64)
            sc[:, :self.status_counts.shape[1]] = self.status_counts
            by_class = [["status", *map(str, range(C)), "all"]]
            by_class += [[s, *map(str, sc[i].tolist()), str(int(sc[i].sum()))]
                         for i, s in enumerate(STATUSES)]
            lines += ["", "inputs by status and class:",
                      _columns(by_class, [True] + [False] * (C + 1))]
        lines += ["", ", ".join(f"{k}: {v}" for k, v in self.counts().items())
                  + f"; algebraic approaches: {int(np.count_nonzero(alg))}"]
        if self.endpoint_accuracy is not None:
            lines.append(f"end-point accuracy: {100 * self.endpoint_accuracy:.1f} % "
                         f"(majority class per end point fitted on {self.endpoint_fit})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.counts()
        n = self.points.shape[1] if self.points.ndim == 2 else 0
        acc = ("" if self.endpoint_accuracy is None
               else f", endpoint_accuracy={self.endpoint_accuracy:.3f}")
        return (f"AttractorCensus(kind={self.kind!r}, inputs={self.n_inputs}, N={n}, "
                f"points={len(self)}, attractor={c[ATTRACTOR]}, saddle={c[SADDLE_PASSAGE]}, "
                f"cycle={c[CYCLE]}, not_converged={c[NOT_CONVERGED]}{acc})")


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def _columns(rows, left) -> str:
    """`rows` (lists of str, the first the header) as aligned text columns: ``left[c]`` pads
    column c on the right, else on the left; the last column is not padded on the right."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [v.ljust(w) if lf else v.rjust(w) for v, w, lf in zip(r, widths, left)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be a dynsys.Network; got {_describe(net)}. Build one with "
                        "dynsys.Network(W, b) or nets.to_network(model).")
    return net


class _Progress:
    """Reports inputs done to a callable ``progress(done, total)``."""

    def __init__(self, progress, total):
        self.fn = progress
        self.total = total
        self.done = 0

    def add(self, n):
        self.done += int(n)
        self.fn(self.done, self.total)

    def close(self):
        pass


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


def _initial_logits(net: Network, x: np.ndarray):
    """z at the first layer of the repeated last layer, and that layer's number.

    Shared weights: z(1) = W x(0) + b. Per-layer weights: layers 1..T-1 run with their own
    weights, then z(T) = W(T) x(T-1) + b(T), from which W(T) repeats.
    """
    if net.shared:
        return x @ net.W.T + net.b, 1
    T = net.depth
    for t in range(1, T):
        Wt, bt = net.layer(t)
        x = x + _sigmoid(x @ Wt.T + bt)
    Wt, bt = net.layer(T)
    return x @ Wt.T + bt, T


def _dense_until_sparse(Z, t0, t_stop, WT, margin, kmax, batch_size, check_every=8):
    """Plain layers z += f(z) W^T (BLAS) on rows of Z, all at layer t0, in place.

    A row stops when at most `kmax` of its coordinates are within the margin or at t_stop.
    Returns the layer each row stopped at.
    """
    from ._kernels import census as K

    B = Z.shape[0]
    t_out = np.full(B, t0, dtype=np.int64)
    for lo in range(0, B, batch_size):
        rows = np.arange(lo, min(B, lo + batch_size))
        Zc = Z[rows]
        t = t0
        alive = np.ones(rows.size, bool)
        k = K.count_interior(Zc, margin)
        alive &= k > kmax
        while alive.any() and t < t_stop:
            if not alive.all():
                done = ~alive
                Z[rows[done]] = Zc[done]
                t_out[rows[done]] = t
                rows, Zc = rows[alive], np.ascontiguousarray(Zc[alive])
                alive = np.ones(rows.size, bool)
            buf = np.empty_like(Zc)
            Yc = np.empty_like(Zc)
            n = min(check_every, t_stop - t)
            K.sigmoid_into(Zc, Yc)
            for j in range(n):
                np.matmul(Yc, WT, out=buf)
                # z(t+1) = z(t) + W y(t) and y(t+1) in one pass
                K.add_and_sigmoid(Zc, buf, Yc)
            t += n
            alive = K.count_interior(Zc, margin) > kmax
        Z[rows] = Zc
        t_out[rows] = t
    return t_out


def _run_resnet(Z, t_first, t_stop, W, margin, kmax, distance_tol, zero_tol, pmax,
                batch_size, state, progress):
    """Advance rows of Z from their layers toward t_stop; updates `state` arrays in place.

    `state` holds ``t`` (B,), ``event`` (B,) and ``period`` (B,) for every row; rows with a
    settled event are left alone.
    """
    from ._kernels import census as K

    WT = np.ascontiguousarray(W.T)
    Wc = np.ascontiguousarray(W)
    todo = np.flatnonzero((state["event"] == K.EV_TARGET) | (state["event"] == K.EV_WIDE))
    todo = todo[state["t"][todo] < t_stop]
    while todo.size:
        # dense phase for rows with many interior coordinates, grouped by their layer
        for t0 in np.unique(state["t"][todo]):
            rows = todo[state["t"][todo] == t0]
            Zr = np.ascontiguousarray(Z[rows])
            t_new = _dense_until_sparse(Zr, int(t0), t_stop, WT, margin, kmax, batch_size)
            state["dense"][rows] += t_new - t0
            state["t"][rows] = t_new
            Z[rows] = Zr
        rows = todo[state["t"][todo] < t_stop]
        if rows.size:
            Zr = np.ascontiguousarray(Z[rows])
            tr = np.ascontiguousarray(state["t"][rows])
            ev = np.zeros(rows.size, np.int64)
            per = np.zeros(rows.size, np.int64)
            work = np.zeros((rows.size, 4), np.int64)
            K.advance(Zr, tr, np.int64(t_stop), Wc, WT, float(margin), np.int64(kmax),
                      float(distance_tol), float(zero_tol), float(_JUMP_TOL), np.int64(pmax),
                      ev, per, work)
            state["work"][rows] += work
            Z[rows] = Zr
            state["t"][rows] = tr
            state["event"][rows] = ev
            state["period"][rows] = per
        done = todo[(state["t"][todo] >= t_stop) | ((state["event"][todo] != K.EV_TARGET)
                                                    & (state["event"][todo] != K.EV_WIDE))]
        if progress is not None:
            progress.add(done.size)
        todo = np.setdiff1d(todo, done)
        todo = todo[(state["event"][todo] == K.EV_WIDE) | (state["event"][todo] == K.EV_TARGET)]


def _face_margin(margin, distance_tol):
    """Logit beyond which y_i is within `distance_tol` of 0 or 1 (at most `margin`)."""
    return float(min(margin, np.log1p(-distance_tol) - np.log(distance_tol)))


def _mlp_fixed_point(W, b, y0, residual_tol, max_iter=50):
    """Newton on F(y) = f(W y + b) - y from y0; returns (y, residual, converged)."""
    y = np.array(y0, dtype=np.float64)
    n = y.size
    eye = np.eye(n)
    for _ in range(max_iter):
        z = W @ y + b
        s = _sigmoid(z)
        F = s - y
        res = float(np.max(np.abs(F)))
        if res <= residual_tol * 1e-3:
            break
        J = (s * (1.0 - s))[:, None] * W - eye
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            break
        y = y + step
        if not np.all(np.isfinite(y)):
            return y, np.inf, False
    z = W @ y + b
    res = float(np.max(np.abs(_sigmoid(z) - y)))
    return y, res, res <= residual_tol


def _mlp_spectra(W, b, y):
    z = W @ y + b
    s = _sigmoid(z)
    mu = np.linalg.eigvals((s * (1.0 - s))[:, None] * W).astype(np.complex128)
    return z, mu, mu - 1.0


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


# ----------------------------------------------------------------------------------------
# the census of the ResNet
# ----------------------------------------------------------------------------------------


def _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol, others=None):
    """Per-input status and per-point table from final logits Z (B, N).

    `others`, when given, is ``others(rows) -> [(t, Z), (t, Z)]``: the layers (R,) and logits
    (R, N) of `rows` at two more layers, the three layers each at least ``_APPROACH_STEP``
    times the one before. With it, the inputs that approach a non-hyperbolic point are tested
    for an algebraic approach (:func:`_algebraic_approach`).

    Returns a dict: ``point_rows`` (canonical pattern, y, ev, mu, residual per point) and the
    per-input ``assignment``, ``status``, ``distance``, ``layers_to_leave``, ``period``,
    ``n_interior``, ``leaving``, ``algebraic``, ``approach_rate``.
    """
    from ._kernels import census as K

    B, n = Z.shape
    # a coordinate within distance_tol of 0 or 1 is on its face: the engine's margin is for
    # the affine approximation, this one for "at the point within tolerance"
    face_margin = _face_margin(margin, distance_tol)
    Zc = np.ascontiguousarray(Z)
    pats = K.faces(Zc, float(face_margin))
    Y = np.empty_like(Zc)
    K.sigmoid_into(Zc, Y)
    R_now = Y @ W.T  # the rates (W y)_i at the current states
    toward_now = np.where(pats == 0, R_now, -R_now)
    leaving_now = np.any((pats != 2) & (toward_now > zero_tol), axis=1)
    status = np.full(B, NOT_CONVERGED, dtype=_STATUS_DTYPE)
    assignment = np.full(B, -1, np.int64)
    distance = np.full(B, np.nan)
    to_leave = np.full(B, -1, np.int64)
    period = np.zeros(B, np.int64)
    algebraic = np.zeros(B, bool)
    rate = np.full(B, np.nan)
    cyc = state["event"] == K.EV_CYCLE
    status[cyc] = CYCLE
    period[cyc] = state["period"][cyc]
    rows = np.flatnonzero(~cyc)
    point_rows = []  # (canonical pattern, y, ev, mu, residual)
    out = dict(point_rows=point_rows, assignment=assignment, status=status, distance=distance,
               layers_to_leave=to_leave, period=period,
               n_interior=np.sum(pats == 2, axis=1).astype(np.int64), leaving=leaving_now,
               algebraic=algebraic, approach_rate=rate)
    if rows.size == 0:
        return out
    uniq, _, inv = _unique_rows(pats[rows])
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(uniq.shape[0] + 1))
    # the face points of every face reached, solved on their interior coordinates
    U = uniq.shape[0]
    ystar = np.zeros((U, n))
    solved = np.zeros(U, bool)
    for u in range(U):
        pat = uniq[u]
        I = np.flatnonzero(pat == 2)
        B1 = pat == 1
        ystar[u, B1] = 1.0
        if I.size > _MAX_FACE_SOLVE:
            continue
        if I.size:
            c = W[I][:, B1].sum(axis=1)
            try:
                ystar[u, I] = np.linalg.solve(W[np.ix_(I, I)], -c)
            except np.linalg.LinAlgError:
                continue
        solved[u] = bool(np.all(np.isfinite(ystar[u])))
    ystar[~solved] = 0.0
    R = ystar @ W.T  # the rates at the face points
    seen = {}

    def register(canon, y, ev, mu, residual):
        # two faces can share a point on their common boundary: one row per canonical pattern
        key = canon.tobytes()
        m = seen.get(key)
        if m is None:
            m = len(point_rows)
            seen[key] = m
            point_rows.append((canon, y + 0.0, ev, mu, residual))  # no -0.0 coordinates
        return m

    candidates = []  # (inputs, point, canonical pattern, ev, mu, residual)
    for u in np.flatnonzero(solved):
        pat = uniq[u]
        y, r = ystar[u], R[u]
        if not np.all((y >= 0.0) & (y <= 1.0)):
            continue
        I = np.flatnonzero(pat == 2)
        yi = y[I]
        residual = float(np.max(np.abs(yi * (1.0 - yi) * r[I]))) if I.size else 0.0
        if residual > residual_tol:
            continue
        members = rows[order[bounds[u]:bounds[u + 1]]]
        d = np.max(np.abs(Y[members] - y), axis=1)
        near = d <= distance_tol
        ev = np.where(pat == 1, -r, r).astype(np.complex128)
        # only a non-hyperbolic point with no unstable direction can be approached at an
        # algebraic rate by inputs that are not within distance_tol (see the theory page); a
        # saturated rate pointing off its face is an unstable direction, known before the
        # interior eigensolve, which the faces of inputs in transit would otherwise all pay
        if not near.any() and (others is None or np.any(ev.real[pat != 2] > zero_tol)):
            continue
        with np.errstate(over="ignore"):
            mu = np.exp(ev.real).astype(np.complex128)
        if I.size:
            lam = np.linalg.eigvals((yi * (1.0 - yi))[:, None] * W[np.ix_(I, I)])
            ev[I] = lam
            mu[I] = 1.0 + lam
        # the canonical pattern (code 0 / 1 wherever y_i is 0 / 1, as dynsys.fixed_points
        # lists it)
        canon = np.where(np.abs(y) <= _FACE_TOL, 0,
                         np.where(np.abs(y - 1.0) <= _FACE_TOL, 1, pat)).astype(np.int8)
        map_label, map_udim = _map_label(mu, zero_tol)
        if others is not None and map_label != STABLE and map_udim == 0:
            # near ones too: an approach within distance_tol of a non-hyperbolic point is
            # no attractor by the per-layer rule, and is told apart by its rate
            candidates.append((members, y, canon, ev, mu, residual))
        if not near.any():
            continue
        m = register(canon, y, ev, mu, residual)
        mem = members[near]
        assignment[mem] = m
        distance[mem] = d[near]
        if map_label == STABLE:
            # every saturated rate at the current state must point into its face too
            sat = pat != 2
            ok = np.all(toward_now[np.ix_(mem, np.flatnonzero(sat))] < 0.0, axis=1)
            status[mem[ok]] = ATTRACTOR
        elif map_udim >= 1:
            status[mem] = SADDLE_PASSAGE
            toward = np.where(pat == 0, r, -r)
            leaving = (pat != 2) & (toward > zero_tol)
            if leaving.any():
                dist = np.abs(Z[np.ix_(mem, np.flatnonzero(leaving))]) - face_margin
                L = np.ceil(np.maximum(dist, 0.0) / toward[leaving])
                to_leave[mem] = np.minimum(L.min(axis=1), np.iinfo(np.int64).max // 2).astype(
                    np.int64)
    for members, y, canon, ev, mu, residual in candidates:
        _algebraic_approach(Z, Y, R_now, state["t"], members, y, canon, zero_tol, others,
                            lambda: register(canon, y, ev, mu, residual), out)
    return out


def _algebraic_rate(t, d):
    """The exponent p of ``d ~ C t^-p`` and whether an approach is algebraic, per input.

    Parameters
    ----------
    t, d : ndarray, shape (3, R)
        Three layers ``t1 < t2 < t3`` of each input and its distances to the point there.

    Returns
    -------
    p : ndarray, shape (R,)
        The log-log slope ``log(d2 / d3) / log(t3 / t2)`` over the later interval; NaN where the
        approach is not algebraic.
    algebraic : ndarray of bool, shape (R,)

    Notes
    -----
    Under ``d ~ C t^-p`` the log-log slopes ``s12`` over [t1, t2] and ``s23`` over [t2, t3] are
    equal. Under exponential convergence ``d ~ C exp(-lambda t)`` the slope over [a, b] is
    ``lambda (b - a) / log(b / a)``, so ``s23 / s12 = G``, the ratio of these factors (``t2 / t1``
    for a geometric middle t2, at least ``_APPROACH_STEP``). The approach is algebraic when the
    distance falls over both intervals and ``|log(s23 / s12)| < log(G) / 2``: the slope is
    closer to constant than to the growth of an exponential approach (the geometric middle of
    the two hypotheses). Slopes over whole intervals, not one layer, tolerate approaches whose
    distance wobbles from layer to layer.
    """
    t = np.asarray(t, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s12 = np.log(d[0] / d[1]) / np.log(t[1] / t[0])
        s23 = np.log(d[1] / d[2]) / np.log(t[2] / t[1])
        g = ((t[2] - t[1]) / np.log(t[2] / t[1])) / ((t[1] - t[0]) / np.log(t[1] / t[0]))
        ok = (np.isfinite(s12) & np.isfinite(s23) & (s12 > 0.0) & (s23 > 0.0)
              & (t[1] >= _APPROACH_STEP * t[0]) & (t[2] >= _APPROACH_STEP * t[1])
              & (np.abs(np.log(s23 / s12)) < 0.5 * np.log(g)))
    return np.where(ok, s23, np.nan), ok


def _algebraic_approach(Z, Y, R_now, t_now, members, y, canon, zero_tol, others, register, out):
    """Decide which `members` approach the non-hyperbolic point y algebraically; update `out`.

    The point has no unstable direction (checked by the caller). An input is assigned to it
    when its distance falls over three layers at a constant log-log slope
    (:func:`_algebraic_rate`); its status is then "attractor" when every rate at the current
    state points into the point's face (``(W y)_i < 0`` where the point is 0, ``> 0`` where it
    is 1) and "saddle" when one points off it by more than `zero_tol` (the input passes the
    point and leaves along that coordinate, after a number of layers the census does not
    estimate). Inputs with neither keep their status.
    """
    mem = members[out["status"][members] == NOT_CONVERGED]
    if mem.size == 0:
        return
    states = [(t_now[mem], Z[mem])] + list(others(mem))
    t = np.stack([np.asarray(s[0], np.float64) for s in states])
    d = np.stack([np.max(np.abs(_sigmoid(s[1]) - y), axis=1) for s in states])
    order = np.argsort(t, axis=0, kind="stable")
    cols = np.arange(mem.size)
    p, ok = _algebraic_rate(t[order, cols], d[order, cols])
    on_face = np.flatnonzero(canon != 2)
    rates = R_now[np.ix_(mem, on_face)]
    toward = np.where(canon[on_face] == 0, rates, -rates)
    into = np.all(toward < 0.0, axis=1)
    leaving = np.any(toward > zero_tol, axis=1)
    ok &= into | leaving
    if not ok.any():
        return
    m = register()
    sel = mem[ok]
    out["assignment"][sel] = m
    out["distance"][sel] = np.max(np.abs(Y[sel] - y), axis=1)
    out["algebraic"][sel] = True
    out["approach_rate"][sel] = p[ok]
    out["status"][sel] = np.where(into[ok], ATTRACTOR, SADDLE_PASSAGE)
    out["layers_to_leave"][sel] = -1
    out["leaving"][sel[~into[ok]]] = True


def _points_table(point_rows, n, zero_tol, W=None):
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
    in_box = np.all((pts >= 0.0) & (pts <= 1.0), axis=1) if M else np.zeros(0, bool)
    return dict(points=pts, patterns=pats, eigenvalues=ev, multipliers=mu,
                stability=stability, map_stability=map_stability, unstable_dim=udim,
                map_unstable_dim=map_udim, leading_eigenvalue=lead, map_radius=radius,
                in_box=in_box, residual=res)


def _census_resnet(net, x, depth, max_depth, margin, distance_tol, residual_tol, zero_tol,
                   max_period, max_interior, batch_size, progress):
    from ._kernels import census as K

    Z, t1 = _initial_logits(net, x)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    W = np.ascontiguousarray(net.last_layer().W)
    n = W.shape[0]
    B = Z.shape[0]
    kmax = (n if n <= 128 else max(64, n // 8)) if max_interior is None else max_interior
    state = {"t": np.full(B, t1, np.int64), "event": np.zeros(B, np.int64),
             "period": np.zeros(B, np.int64), "dense": np.zeros(B, np.int64),
             "work": np.zeros((B, 4), np.int64)}
    prog = _Progress(progress, B) if progress is not None else None
    snapshots = None
    step = _APPROACH_STEP
    try:
        _run_resnet(Z, t1, depth, W, margin, kmax, distance_tol, zero_tol, max_period,
                    batch_size, state, prog)
        if max_depth is not None and max_depth > depth:
            # inputs that are only passing a saddle or still moving go on
            first = _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol)
            go = np.flatnonzero(first["status"] != ATTRACTOR)
            go = go[state["event"][go] != K.EV_CYCLE]
            state["event"][go] = K.EV_TARGET
            stops = [max_depth]
            if max_depth >= step * step * depth:
                # the states at depth and at the geometric middle of depth and max_depth are
                # the earlier two of the three layers an algebraic approach is judged from: the
                # widest span, so the most power against an exponential approach
                snapshots = [(go, Z[go].copy(), state["t"][go].copy())]
                stops = [int(round(np.sqrt(float(depth) * max_depth))), max_depth]
            if prog is not None:
                prog.total += go.size * len(stops)
            for t_stop in stops:
                # unsettled rows stop at t_stop with EV_TARGET and go on in the next run
                _run_resnet(Z, t1, t_stop, W, margin, kmax, distance_tol, zero_tol, max_period,
                            batch_size, state, prog)
                if t_stop < max_depth:
                    snapshots.append((go, Z[go].copy(), state["t"][go].copy()))
            if prog is not None:
                prog.add(prog.total - prog.done)  # rows settled before the last stop
    finally:
        if prog is not None:
            prog.close()
    approach_layers = [0]

    def others(rows):
        """The rows at two more layers: the snapshots at `depth` and at the geometric middle
        of `depth` and `max_depth` when `max_depth` is at least _APPROACH_STEP^2 times `depth`,
        else their states run on to _APPROACH_STEP and _APPROACH_STEP^2 times their layer."""
        out = [(np.zeros(rows.size, np.int64), np.empty((rows.size, n))) for _ in range(2)]
        todo = np.ones(rows.size, bool)
        if snapshots is not None and snapshots[0][0].size:
            go = snapshots[0][0]
            pos = np.minimum(np.searchsorted(go, rows), go.size - 1)
            have = go[pos] == rows
            ts = [snap[2][pos] for snap in snapshots]
            have &= (ts[1] >= step * ts[0]) & (state["t"][rows] >= step * ts[1])
            for (t_o, Z_o), snap in zip(out, snapshots):
                t_o[have], Z_o[have] = snap[2][pos[have]], snap[1][pos[have]]
            todo &= ~have
        for t0 in np.unique(state["t"][rows[todo]]):
            sel = np.flatnonzero(todo & (state["t"][rows] == t0))
            Zr = np.ascontiguousarray(Z[rows[sel]])
            sub = {"t": np.full(sel.size, t0, np.int64), "event": np.zeros(sel.size, np.int64),
                   "period": np.zeros(sel.size, np.int64),
                   "dense": np.zeros(sel.size, np.int64),
                   "work": np.zeros((sel.size, 4), np.int64)}
            for j, t_stop in enumerate((step * int(t0), step * step * int(t0))):
                _run_resnet(Zr, t0, t_stop, W, margin, kmax, distance_tol, zero_tol,
                            max_period, batch_size, sub, None)
                out[j][0][sel], out[j][1][sel] = sub["t"], Zr
            state["dense"][rows[sel]] += sub["dense"]
            state["work"][rows[sel]] += sub["work"]
            approach_layers[0] += int(np.sum(sub["t"] - t0))
        return out

    cls = _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol,
                           others)
    table = _points_table(cls.pop("point_rows"), n, zero_tol)
    per_input = dict(layers=state["t"].copy(), lyapunov=np.full(B, np.nan), **cls)
    w = state["work"].sum(axis=0)
    work = {"dense_layers": int(state["dense"].sum()), "engine_blocks": int(w[0]),
            "engine_layers": int(w[1]), "near_updates": int(w[2]), "face_solves": int(w[3]),
            "approach_layers": approach_layers[0]}
    return table, per_input, work


# ----------------------------------------------------------------------------------------
# the census of the MLP
# ----------------------------------------------------------------------------------------


def _mlp_initial(net, x):
    """y at the first layer of the repeated last layer, and that layer's number."""
    y = x
    T = 1 if net.shared else net.depth
    for t in range(1, T):
        Wt, bt = net.layer(t)
        y = _sigmoid(y @ Wt.T + bt)
    Wt, bt = net.layer(T)
    return _sigmoid(y @ Wt.T + bt), T


class _Workers:
    """Independent blocks of MLP rows run side by side: one thread per block, BLAS on one thread.

    A layer of the MLP is a matrix product, which BLAS spreads over the cores, then ``tanh``
    and four other elementwise passes, which NumPy runs on one core: about 40 % of the layer
    with the other cores idle. Blocks of rows that never meet (the chunks of the census, the
    slices of the Lyapunov run) keep every core busy instead when each thread runs its block's
    layers whole with a single-threaded BLAS. The numbers are those of the same products and
    ufuncs; only a BLAS's split of one product over its threads can round the last rows of an
    odd-sized block differently.
    """

    def __init__(self):
        from threadpoolctl import threadpool_info

        blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        self.n = max(1, min(blas)) if blas else 1

    def map(self, fn, items):
        """``fn(item)`` for every item, in order of the items (a generator of the results)."""
        items = list(items)
        if self.n == 1 or len(items) < 2:
            for item in items:
                yield fn(item)
            return
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(min(self.n, len(items))) as pool:
            yield from pool.map(fn, items)


def _sigmoid_of_product(Z, b):
    """``Z = 0.5 + 0.5 tanh(0.5 (Z + b))`` in place: :func:`_sigmoid` of ``Z + b``."""
    Z += b
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z *= 0.5
    Z += 0.5


def _mlp_layer(Y, WT, b, out):
    """``out = f(Y W^T + b)``, i.e. ``0.5 + 0.5 tanh(0.5 (Y W^T + b))``, into `out` (not `Y`).

    The operations of :func:`_sigmoid` of the product in the same order, so the same numbers,
    without the four temporary (B, N) arrays of the expression.
    """
    np.matmul(Y, WT, out=out)
    _sigmoid_of_product(out, b)
    return out


class _MlpMapStability:
    """Whether the MLP's layer map is stable at a state y: all multipliers inside the circle.

    The verdict of :func:`_mlp_spectra` and :func:`_map_label` at y (one eigen-decomposition of
    an (N, N) matrix, as much work as hundreds of layers), computed once per state. The inputs
    that reach one attractor sit at states a few units of rounding apart (never the same bytes),
    so a verdict "stable" is also carried over, with a certificate, to states near one already
    decided (the representative, found by its coordinates rounded to `_REP_DECIMALS`):

    with ``A = diag(s(1-s)) W`` at the representative, its computed eigen-decomposition
    ``A V = V diag(lam) + R`` and ``E = A' - A`` for the new state (``||E||_F`` bounded from the
    change of ``s(1-s)`` and the row norms of W), the Bauer-Fike theorem puts every eigenvalue
    of ``A'`` (and of ``A'`` plus LAPACK's backward error, ``_BACKWARD n eps ||A||_F``) within
    ``cond(V) (||R||_F / sigma_min(V) + ||E||_F + _BACKWARD n eps ||A||_F)`` of an eigenvalue of
    A. When that radius plus ``max |lam|`` stays below ``1 - zero_tol`` the new state is
    stable; otherwise its own multipliers decide, as for a first state.
    """

    _REP_DECIMALS = 9
    _BACKWARD = 10.0

    def __init__(self, W, b, zero_tol):
        self.W, self.b, self.zero_tol = W, b, zero_tol
        self.row_norm = np.linalg.norm(W, axis=1)
        self.verdicts = {}  # state bytes -> verdict
        self.reps = {}  # rounded state bytes -> [f'(z) at the representative, certificate]
        self.n_eig = 0  # eigen-decompositions computed (verdicts and certificates)

    def _certificate(self, d):
        """(max |lam|, cond(V), the radius independent of the new state) at f'(z) = d, or None."""
        A = d[:, None] * self.W
        self.n_eig += 1
        try:
            lam, V = np.linalg.eig(A)
            sv = np.linalg.svd(V, compute_uv=False)
        except np.linalg.LinAlgError:
            return None
        if not (np.all(np.isfinite(lam)) and sv[-1] > 0.0):
            return None
        R = A @ V - V * lam
        n = A.shape[0]
        base = (np.linalg.norm(R) / sv[-1]
                + self._BACKWARD * n * np.finfo(float).eps * np.linalg.norm(A))
        return float(np.max(np.abs(lam))), float(sv[0] / sv[-1]), float(base)

    def __call__(self, y):
        key = y.tobytes()
        verdict = self.verdicts.get(key)
        if verdict is not None:
            return verdict
        s = _sigmoid(self.W @ y + self.b)
        d = s * (1.0 - s)
        rkey = np.round(y, self._REP_DECIMALS).tobytes()
        rep = self.reps.get(rkey)
        if rep is not None:
            if rep[1] is None:
                rep[1] = self._certificate(rep[0]) or False
            if rep[1]:
                lead, cond, base = rep[1]
                dE = float(np.linalg.norm((d - rep[0]) * self.row_norm))
                if lead + cond * (base + dE) < 1.0 - self.zero_tol:
                    self.verdicts[key] = True
                    return True
        _, mu, _ = _mlp_spectra(self.W, self.b, y)
        self.n_eig += 1
        verdict = _map_label(mu, self.zero_tol)[0] == STABLE
        self.verdicts[key] = verdict
        if rep is None and verdict:
            # only a stable verdict is carried over; the certificate is built on a second visit
            self.reps[rkey] = [d, None]
        return verdict


def _find_periods(H, tol, pmax):
    """Smallest period p in 1..pmax of each trajectory in H (L, B, N) (0 if none).

    p = 1 (a fixed point): the last two states agree within `tol`. p >= 2: every state of
    the window repeats the one p layers before it within `tol` and within 1e-3 of the
    amplitude (the largest change over the last p layers), so that a slow drift or a slow
    oscillating approach to a fixed point is not taken for a cycle.
    """
    L, B, _ = H.shape
    out = np.zeros(B, np.int64)
    fixed = np.max(np.abs(H[-1] - H[-2]), axis=1) <= tol
    out[fixed] = 1
    undecided = ~fixed
    # the largest change of each state per layer, one layer at a time (no (L, B, N) temporary)
    steps = np.empty((L - 1, B))
    buf = np.empty(H.shape[1:])
    for j in range(L - 1):
        np.subtract(H[j + 1], H[j], out=buf)
        np.abs(buf, out=buf)
        np.max(buf, axis=1, out=steps[j])
    for p in range(2, min(pmax, L // 2) + 1):
        idx = np.flatnonzero(undecided)
        if idx.size == 0:
            break
        amp = steps[-p:, idx].max(axis=0)
        ctol = np.minimum(tol, 1e-3 * amp)
        cand = (amp > tol) & (np.max(np.abs(H[-1, idx] - H[-1 - p, idx]), axis=1) <= ctol)
        if not cand.any():
            continue
        j = idx[cand]
        ok = np.max(np.abs(H[p:, j] - H[:-p, j]), axis=(0, 2)) <= ctol[cand]
        out[j[ok]] = p
        undecided[j[ok]] = False
    return out


def _mlp_lyapunov(W, b, Y, n_layers=256, discard=32, seed=0, workers=None):
    """Largest Lyapunov exponent of y -> f(W y + b) from the rows of Y (B, N)."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(Y.shape)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    acc = np.zeros(Y.shape[0])
    WT = W.T
    Y = np.array(Y, dtype=np.float64)

    def run(rows):
        # s = f(Y W^T + b), V <- (V W^T) * (s (1 - s)), then V normalised row by row, in
        # preallocated arrays swapped each layer
        y, v = Y[rows], V[rows]
        s, d, v_next = np.empty_like(y), np.empty_like(y), np.empty_like(v)
        for step in range(n_layers):
            _mlp_layer(y, WT, b, s)
            np.matmul(v, WT, out=v_next)
            np.subtract(1.0, s, out=d)
            d *= s
            v_next *= d
            v, v_next = v_next, v
            nv = np.linalg.norm(v, axis=1)
            nv = np.where(nv > 0, nv, 1e-300)
            if step >= discard:
                acc[rows] += np.log(nv)
            v /= nv[:, None]
            y, s = s, y

    workers = workers or _Workers()
    # slices that start at multiples of 8 rows: BLAS kernels work on blocks of 4 or 8 rows, so
    # each row is then rounded as in the one product over all the rows
    edges = np.minimum(8 * np.ceil(np.linspace(0, Y.shape[0], workers.n + 1) / 8),
                       Y.shape[0]).astype(int)
    for _ in workers.map(run, [slice(a, z) for a, z in zip(edges[:-1], edges[1:]) if z > a]):
        pass
    return acc / (n_layers - discard)


def _census_mlp(net, x, depth, max_depth, margin, distance_tol, residual_tol, zero_tol,
                max_period, batch_size, progress):
    last = net.last_layer()
    W, b = np.ascontiguousarray(last.W), np.ascontiguousarray(last.b)
    n = W.shape[0]
    Y, t1 = _mlp_initial(net, x)
    B = Y.shape[0]
    stop = depth if max_depth is None else max(depth, max_depth)
    window = 2 * max_period + 1
    # history windows of `window` states: keep one window below about 256 MB (one per worker)
    chunk = int(max(1, min(batch_size, 256e6 // (window * n * 8))))
    workers = _Workers()
    t_end = np.full(B, t1, np.int64)
    period = np.zeros(B, np.int64)
    check_every = 512
    WT = W.T
    map_stable = _MlpMapStability(W, b, zero_tol)
    prog = _Progress(progress, B) if progress is not None else None

    def run_chunk(lo):
        rows = np.arange(lo, min(B, lo + chunk))
        Yc = Y[rows].copy()
        t = t1
        alive = np.ones(rows.size, bool)
        while alive.any():
            # run plainly to the start of the next window, then record the window
            nxt = min(stop, t + check_every)
            if t >= depth and max_depth is None:
                nxt = t
            w0 = max(t, nxt - window + 1)
            if w0 > t:
                # all rows alive (the usual case): no gather and scatter per layer
                Ya = Yc if alive.all() else Yc[alive]
                buf = np.empty_like(Ya)
                for _ in range(w0 - t):
                    _mlp_layer(Ya, WT, b, buf)
                    Ya, buf = buf, Ya
                Yc[alive] = Ya
            t = w0
            idx = np.flatnonzero(alive)
            H = np.empty((nxt - t + 1, idx.size, n))
            H[0] = Yc[idx]
            for j in range(1, nxt - t + 1):
                _mlp_layer(H[j - 1], WT, b, H[j])
            t = nxt
            Yc[idx] = H[-1]
            p = _find_periods(H, distance_tol, max_period) if H.shape[0] >= 3 else \
                np.zeros(idx.size, np.int64)
            settled = p > 0
            if settled.any():
                # a fixed point only settles when it is map-stable (a saddle is passed)
                fix = np.flatnonzero(settled & (p == 1))
                for j in fix:
                    if not map_stable(H[-1, j]):
                        settled[j] = False
            period[rows[idx[settled]]] = p[settled]
            t_end[rows[idx[settled]]] = t
            alive[idx[settled]] = False
            if t >= stop or (t >= depth and max_depth is None):
                period[rows[idx[~settled]]] = p[~settled]
                t_end[rows[idx[~settled]]] = t
                break
        Y[rows] = Yc
        return rows.size

    for done in workers.map(run_chunk, range(0, B, chunk)):
        if prog is not None:
            prog.add(done)
    if prog is not None:
        prog.close()
    status = np.full(B, NOT_CONVERGED, dtype=_STATUS_DTYPE)
    cyc = period >= 2
    status[cyc] = CYCLE
    # fixed points: Newton from one representative per rounded end state, then dedupe
    fixed = np.flatnonzero(period == 1)
    assignment = np.full(B, -1, np.int64)
    distance = np.full(B, np.nan)
    point_rows = []
    if fixed.size:
        keys = np.round(Y[fixed], 6)
        _, first, inv = _unique_rows(keys)
        refined = []
        for g, j in enumerate(first):
            yr, res, ok = _mlp_fixed_point(W, b, Y[fixed[j]], residual_tol)
            refined.append((yr, res, ok))
        for g, (yr, res, ok) in enumerate(refined):
            members = fixed[inv == g]
            if not ok:
                continue
            d = np.max(np.abs(Y[members] - yr), axis=1)
            near = d <= distance_tol
            if not near.any():
                continue
            # the same point from two rounding groups: reuse its row
            m = next((i for i, r in enumerate(point_rows)
                      if np.max(np.abs(r[1] - yr)) <= distance_tol), None)
            if m is None:
                z, mu, ev = _mlp_spectra(W, b, yr)
                pat = np.where(z < -margin, 0, np.where(z > margin, 1, 2)).astype(np.int8)
                m = len(point_rows)
                point_rows.append((pat, yr, ev, mu, res))
            mem = members[near]
            assignment[mem] = m
            distance[mem] = d[near]
            mu = point_rows[m][3]
            label = classify_multipliers(mu, zero_tol)
            if label == STABLE:
                status[mem] = ATTRACTOR
            elif np.any(np.abs(mu) > 1.0 + zero_tol):
                status[mem] = SADDLE_PASSAGE
    lyap = np.full(B, np.nan)
    nc = np.flatnonzero(status == NOT_CONVERGED)
    if nc.size:
        lyap[nc] = _mlp_lyapunov(W, b, Y[nc], workers=workers)
    table = _points_table(point_rows, n, zero_tol)
    Zf = Y @ WT + b
    n_int = np.sum(np.abs(Zf) <= margin, axis=1).astype(np.int64)
    per_input = dict(assignment=assignment, status=status, distance=distance, layers=t_end,
                     layers_to_leave=np.full(B, -1, np.int64), period=np.where(cyc, period, 0),
                     n_interior=n_int, leaving=np.zeros(B, bool), lyapunov=lyap,
                     algebraic=np.zeros(B, bool), approach_rate=np.full(B, np.nan))
    return table, per_input


# ----------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------


def _point_keys(table, assignment):
    """A hashable key per input: its point's pattern and rounded coordinates (None if -1)."""
    keys = []
    cache = {}
    for a in np.atleast_1d(assignment):
        a = int(a)
        if a < 0:
            keys.append(None)
            continue
        if a not in cache:
            cache[a] = (table["patterns"][a].tobytes(),
                        np.round(table["points"][a], 6).tobytes())
        keys.append(cache[a])
    return keys


def _majority(keys, labels, n_classes):
    votes = {}
    for k, lab in zip(keys, labels):
        if k is None:
            continue
        votes.setdefault(k, np.zeros(n_classes, np.int64))[lab] += 1
    return {k: int(np.argmax(v)) for k, v in votes.items()}


def _as_labels(labels, B, name):
    """`labels` as int64 of shape (B,), or a ValueError naming `name` and what it got."""
    expected = f"integer class labels 0..C-1, one per input (shape ({B},))"
    lab = np.asarray(labels)
    # the dtype first: strings or floats must not reach min(), which has no loop for strings
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"`{name}` must hold {expected}; got dtype {lab.dtype}. Map other "
                         f"labels to integers first, e.g. `np.unique({name}, "
                         "return_inverse=True)[1]`.")
    if lab.ndim != 1 or lab.shape[0] != B:
        raise ValueError(f"`{name}` must hold {expected}; got shape {lab.shape}.")
    if lab.size and lab.min() < 0:
        raise ValueError(f"`{name}` must hold {expected}; got minimum {lab.min()}.")
    return lab.astype(np.int64)


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------


def attractor_census(net, x0, depth: int = 1000, *, labels=None, max_depth=None,
                     margin: float = 25.0, distance_tol: float = 1e-6,
                     residual_tol: float = 1e-9, zero_tol: float | None = None,
                     max_period: int = 64, max_interior=None, batch_size: int = 2048,
                     train_x0=None, train_labels=None, progress=None) -> AttractorCensus:
    """Census of the end states: which fixed point, saddle or cycle each input converges to.

    Shared-weight ResNet (eq. 1-2 of Lagzi 2018) in logit coordinates,
    ``z(t+1) = z(t) + W f(z(t))`` with ``z(1) = W x(0) + b``. At the end of a run a coordinate
    whose residual y_i is within `distance_tol` of 0 (``z_i < -mu``,
    ``mu = log(1 / distance_tol - 1)``) is at 0, symmetrically at 1, the others are interior.
    The fixed point of eq. 3 on that face solves ``W[I,I] y_I = -W[I,B1] 1`` exactly; it is
    verified by its residual and shared by every input on the face. A saturated coordinate
    whose rate ``(W y)_i`` points off its face (positive at 0, negative at 1) will leave it:
    the input passes a saddle, and ``(|z_i| - mu) / |(W y)_i|`` further layers take it off
    the face. Inputs that settle (attractor or cycle) drop out of the run; the long-horizon
    engine follows the others in O(N k) work per block of layers for k unsaturated
    coordinates (see the theory page "The attractor census" for its error bound). Inputs that
    approach a non-hyperbolic point with no unstable direction, such as the origin (whose flow
    Jacobian is 0 for every W) as 1/t, never pass a per-layer test; a log-log slope test over
    three layers assigns them (`AttractorCensus.algebraic`, `AttractorCensus.approach_rate`;
    theory page, section "Non-hyperbolic points: the algebraic approach").

    Parameters
    ----------
    net : dynsys.Network
        Shared weights; a per-layer network runs its trained layers and then repeats its last
        layer, so the census is that of ``net.last_layer()`` from the state the trained
        layers reach. ``kind="mlp"``: the map ``y -> f(W y + b)`` (last layer repeated).
    x0 : array_like, shape (D,) or (B, D)
        Inputs; x(0) = ``net.embed(x0)``. A 1-D input drops the B axis of per-input fields.
    depth : int
        The layer at which unsettled inputs are classified (>= the trained depth T of a
        per-layer network).
    labels : array_like of int, shape (B,), optional
        Classes, for `class_counts`, `status_counts` and `endpoint_accuracy`.
    max_depth : int, optional
        Follow inputs that have not settled at `depth` (saddle passages, slow transients) up
        to this layer. The long-horizon engine makes ``max_depth=10**6`` affordable. At
        ``4 * depth`` or more, an algebraic approach is judged from the layers `depth`,
        ``sqrt(depth * max_depth)`` and the last one; otherwise such inputs run on to four
        times their last layer (``work["approach_layers"]``).
    margin : float
        Logit beyond which the long-horizon engine treats a coordinate as exactly saturated
        (its y_i within exp(-margin) of 0 or 1; the error per layer is below
        ``max_i sum_j |W_ij| exp(-margin)``).
    distance_tol : float
        An input is at a point when ``max_i |y_i - point_i| <= distance_tol``; also the
        tolerance of the cycle test.
    residual_tol : float
        A face point (MLP: a Newton point) is accepted when its residual is below this.
    zero_tol : float, optional
        Eigenvalue real parts (flow) and ``|mu| - 1`` (map) within this count as zero; saturated
        rates within it neither stay nor leave. Default ``1e-9 * max|W|``, as in
        :func:`dynsys.fixed_points`.
    max_period : int
        Longest cycle period looked for.
    max_interior : int, optional
        ResNet: with at most this many interior coordinates an input runs in the long-horizon
        engine, with more in dense matrix products (default: N up to N = 128, i.e. always the
        engine, and max(64, N // 8) above).
    batch_size : int
        Inputs per dense matrix product (memory: about ``3 * batch_size * N * 8`` bytes).
    train_x0, train_labels : array_like, optional
        Training inputs and classes: the majority class per end point is fitted on their census
        and scored on `x0` / `labels`. Without them it is fitted and scored on `x0` itself.
    progress : callable, optional
        Called as ``progress(inputs_done, total)`` as inputs are decided. :mod:`dynsys` draws
        no bars: ``resdyn census`` draws one, and ``analysis`` passes its own.

    Returns
    -------
    AttractorCensus

    Raises
    ------
    TypeError
        `net` is not a :class:`dynsys.Network`, or a tolerance is not a number.
    ValueError
        Shapes that do not fit, non-finite inputs, `depth` below the trained depth, labels of
        the wrong shape.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[2.0, -3.0], [-3.0, 2.0]])       # winner-take-all
    >>> census = dynsys.attractor_census(dynsys.Network(W), [[1.0, 0.0], [0.0, 1.0]], 200)
    >>> census.status.tolist(), census.points.tolist()
    (['attractor', 'attractor'], [[0.0, 1.0], [1.0, 0.0]])
    """
    net = _check_net(net)
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be a callable progress(done, total) or None; got "
                        f"{progress!r}. dynsys draws no progress bars: the command line "
                        "(resdyn census) draws one.")
    x = net.embed(x0)
    one = np.ndim(x0) == 1 or (np.ndim(x) == 1)
    x = np.atleast_2d(x)
    B = x.shape[0]
    T_trained = 1 if net.shared else net.depth
    depth = check_int(depth, "depth", minimum=T_trained)
    if max_depth is not None:
        max_depth = check_int(max_depth, "max_depth", minimum=depth)
    if zero_tol is None:
        zero_tol = default_zero_tol(net.last_layer().W)
    margin, distance_tol, residual_tol, zero_tol = _resolve_tolerances(
        margin, distance_tol, residual_tol, zero_tol)
    max_period = check_int(max_period, "max_period", minimum=1, maximum=4096)
    if max_interior is not None:
        max_interior = check_int(max_interior, "max_interior", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if labels is not None:
        labels = _as_labels(labels, B, "labels")
    if (train_x0 is None) != (train_labels is None):
        raise ValueError("`train_x0` and `train_labels` go together; got only "
                         f"`{'train_x0' if train_labels is None else 'train_labels'}`.")
    if train_x0 is not None and labels is None:
        raise ValueError("`train_x0` fits the end-point classifier scored on `labels`; pass "
                         "`labels` too.")
    if train_x0 is not None:
        # checked before any layer is run
        train_x = np.atleast_2d(net.embed(train_x0))
        train_labels = _as_labels(train_labels, train_x.shape[0], "train_labels")
    args = (depth, max_depth, margin, distance_tol, residual_tol, zero_tol, max_period)
    if net.kind == "mlp":
        table, per = _census_mlp(net, x, *args, batch_size, progress)
        work = {"dense_layers": int(np.sum(per["layers"] - (1 if net.shared else net.depth)))}
    else:
        table, per, work = _census_resnet(net, x, *args, max_interior, batch_size, progress)
    extra = {}
    if labels is not None:
        C = int(labels.max()) + 1 if labels.size else 0
        if net.n_classes is not None:
            C = max(C, net.n_classes)
        M = table["points"].shape[0]
        cc = np.zeros((M, C), np.int64)
        asg = per["assignment"]
        ok = asg >= 0
        np.add.at(cc, (asg[ok], labels[ok]), 1)
        sc = np.zeros((len(STATUSES), C), np.int64)
        for s_i, s in enumerate(STATUSES):
            np.add.at(sc[s_i], labels[per["status"] == s], 1)
        keys = _point_keys(table, asg)
        if train_x0 is not None:
            tx, tl = train_x, train_labels
            C = max(C, int(tl.max()) + 1 if tl.size else 0)
            if net.kind == "mlp":
                t_table, t_per = _census_mlp(net, tx, *args, batch_size, None)
            else:
                t_table, t_per, _ = _census_resnet(net, tx, *args, max_interior, batch_size,
                                                   None)
            fit_keys, fit_labels, fit = _point_keys(t_table, t_per["assignment"]), tl, "train"
        else:
            fit_keys, fit_labels, fit = keys, labels, "same inputs"
        vote = _majority(fit_keys, fit_labels, C)
        fallback = int(np.argmax(np.bincount(fit_labels, minlength=C))) if fit_labels.size else 0
        pred = np.array([vote.get(k, fallback) if k is not None else fallback for k in keys],
                        dtype=np.int64)
        extra = dict(labels=labels, class_counts=cc, status_counts=sc,
                     endpoint_accuracy=float(np.mean(pred == labels)) if B else float("nan"),
                     endpoint_fit=fit, endpoint_prediction=pred)
    if one:
        per = {k: v[0] for k, v in per.items()}
        if extra:
            extra["labels"] = extra["labels"][0]
            extra["endpoint_prediction"] = extra["endpoint_prediction"][0]
    fields = {k: readonly(np.asarray(v)) for k, v in {**table, **per}.items()}
    for k in ("labels", "class_counts", "status_counts", "endpoint_prediction"):
        if k in extra:
            extra[k] = readonly(np.asarray(extra[k]))
    return AttractorCensus(kind=net.kind, depth=depth, max_depth=max_depth, margin=margin,
                           distance_tol=distance_tol, residual_tol=residual_tol,
                           zero_tol=zero_tol, work=work, **fields, **extra)
