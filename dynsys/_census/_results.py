"""The census result: :class:`AttractorCensus`, the four statuses and the per-class summaries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._activation import activation_box
from .._tables import text_table


ATTRACTOR = "attractor"


SADDLE_PASSAGE = "saddle"


CYCLE = "cycle"


NOT_CONVERGED = "not converged"


#: The four per-input statuses, in the order of :attr:`AttractorCensus.status_counts`.
STATUSES = (ATTRACTOR, SADDLE_PASSAGE, CYCLE, NOT_CONVERGED)


_STATUS_DTYPE = "<U13"


_LABEL_DTYPE = "<U14"


@dataclass(frozen=True, repr=False, eq=False)
class AttractorCensus:
    """The end states of a batch of inputs: distinct fixed points and what each input does.

    All arrays are read-only. Per-point arrays have M rows (the distinct fixed points that some
    input was assigned to); per-input arrays have B entries (a 1-D `x0` drops the B axis).

    Attributes
    ----------
    kind : {"resnet", "mlp"}
        The layer map censused: a per-layer network's last layer repeated past its T layers,
        or, for a run that ends at a layer d <= T, the map of layer d (the depth rule of
        :func:`attractor_census`).
    activation : {"logistic", "tanh"}
        The network's activation; the points lie in its box, [0, 1]^N or [-1, 1]^N, and
        pattern code 0 is the lower face (0 or -1), 1 the upper face.
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
        Whether the point lies in the activation's box, [0, 1]^N or [-1, 1]^N.
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
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

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
        # labels left-aligned, numbers right-aligned
        left = {"flow", "map", "box", "classes (count)"}
        lines = [f"distinct end states: {M}",
                 text_table(rows, "".join("l" if h in left else "r" for h in head))]
        if self.status_counts is not None:
            C = self.status_counts.shape[1]
            C = C if n_classes is None else max(C, int(n_classes))
            sc = np.zeros((len(STATUSES), C), np.int64)
            sc[:, :self.status_counts.shape[1]] = self.status_counts
            by_class = [["status", *map(str, range(C)), "all"]]
            by_class += [[s, *map(str, sc[i].tolist()), str(int(sc[i].sum()))]
                         for i, s in enumerate(STATUSES)]
            lines += ["", "inputs by status and class:",
                      text_table(by_class, "l" + "r" * (C + 1))]
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
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"AttractorCensus(kind={self.kind!r}, {act}inputs={self.n_inputs}, N={n}, "
                f"points={len(self)}, attractor={c[ATTRACTOR]}, saddle={c[SADDLE_PASSAGE]}, "
                f"cycle={c[CYCLE]}, not_converged={c[NOT_CONVERGED]}{acc})")


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
