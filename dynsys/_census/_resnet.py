"""The ResNet engine of the census: dense layers until the logits saturate, then the
long-horizon kernel (:mod:`dynsys._kernels.census`), then the end-point classifier."""

from __future__ import annotations

import numpy as np

from .._network import Network
from .._activation import activation
from ._results import ATTRACTOR
from ._common import _APPROACH_STEP, _JUMP_TOL, CensusOptions, _Progress, _points_table
from ._classify import _classify_resnet


def _initial_logits(net: Network, x: np.ndarray, layer: int):
    """z at the first layer of the repeated map, layer `layer` (see :class:`CensusOptions`).

    Shared weights (`layer` 1): z(1) = W x(0) + b. Per-layer weights: layers 1..L-1 run with
    their own weights (and the network's activation), then z(L) = W(L) x(L-1) + b(L), from
    which W(L) repeats.
    """
    f = activation(net.activation).f
    for t in range(1, layer):
        Wt, bt = net.layer(t)
        x = x + f(x @ Wt.T + bt)
    Wt, bt = net.layer(layer)
    return x @ Wt.T + bt


def _dense_until_sparse(Z, t0, t_stop, WT, margin, kmax, batch_size, check_every=8,
                        drive=None):
    """Plain layers z += f(z) W^T (+ drive) (BLAS) on rows of Z, all at layer t0, in place.

    A row stops when at most `kmax` of its coordinates are within the margin or at t_stop.
    Returns the layer each row stopped at.
    """
    from .._kernels import census as K

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
                # z(t+1) = z(t) + W y(t) (+ the drive) and y(t+1) in one pass
                if drive is None:
                    K.add_and_sigmoid(Zc, buf, Yc)
                else:
                    K.add_drive_and_sigmoid(Zc, buf, drive, Yc)
            t += n
            alive = K.count_interior(Zc, margin) > kmax
        Z[rows] = Zc
        t_out[rows] = t
    return t_out


def _run_resnet(Z, t_first, t_stop, W, margin, kmax, distance_tol, zero_tol, pmax,
                batch_size, state, progress, drive=None):
    """Advance rows of Z from their layers toward t_stop; updates `state` arrays in place.

    `state` holds ``t`` (B,), ``event`` (B,) and ``period`` (B,) for every row; rows with a
    settled event are left alone.
    """
    from .._kernels import census as K

    WT = np.ascontiguousarray(W.T)
    Wc = np.ascontiguousarray(W)
    # the kernel's drive: zeros for eq. 3 (its rates are then the same floats)
    dvec = np.zeros(W.shape[0]) if drive is None else np.ascontiguousarray(drive, np.float64)
    todo = np.flatnonzero((state["event"] == K.EV_TARGET) | (state["event"] == K.EV_WIDE))
    todo = todo[state["t"][todo] < t_stop]
    while todo.size:
        # dense phase for rows with many interior coordinates, grouped by their layer
        for t0 in np.unique(state["t"][todo]):
            rows = todo[state["t"][todo] == t0]
            Zr = np.ascontiguousarray(Z[rows])
            t_new = _dense_until_sparse(Zr, int(t0), t_stop, WT, margin, kmax, batch_size,
                                        drive=drive)
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
            K.advance(Zr, tr, np.int64(t_stop), Wc, WT, dvec, float(margin), np.int64(kmax),
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


def census(net: Network, x: np.ndarray, options: CensusOptions, progress):
    """The ResNet engine: (table, per_input, work) of the inputs `x` (B, N); see
    :class:`CensusOptions`."""
    from .._kernels import census as K

    depth, max_depth = options.depth, options.max_depth
    margin, distance_tol = options.margin, options.distance_tol
    residual_tol, zero_tol = options.residual_tol, options.zero_tol
    max_period, max_interior, batch_size = (options.max_period, options.max_interior,
                                            options.batch_size)
    t1 = options.layer
    Z = np.ascontiguousarray(_initial_logits(net, x, t1), dtype=np.float64)
    W = np.ascontiguousarray(net.layer(t1)[0])
    drive = None
    tanh = net.activation == "tanh"
    if tanh:
        # the tanh network as the driven logistic system of dynsys._activation, in the logits
        # u = 2z and residuals s = (y + 1) / 2: the same layers, eigenvalues and multipliers;
        # the tolerances that measure y are converted, and the results converted back. The
        # margin stays a margin on the logistic's logits u: a coordinate counts as saturated
        # where its slope f'(u) is below e^-margin, as for a logistic network (|z| > margin / 2)
        W, drive = activation("tanh").unit_weights(W)
        Z = 2.0 * Z
        distance_tol, residual_tol = 0.5 * distance_tol, 0.5 * residual_tol
    n = W.shape[0]
    B = Z.shape[0]
    kmax = (n if n <= 128 else max(64, n // 8)) if max_interior is None else max_interior
    state = {"t": np.full(B, t1, np.int64), "event": np.zeros(B, np.int64),
             "period": np.zeros(B, np.int64), "dense": np.zeros(B, np.int64),
             "work": np.zeros((B, 4), np.int64)}
    prog = _Progress(progress, B) if progress is not None else None
    snapshots = None
    step = _APPROACH_STEP
    _run_resnet(Z, t1, depth, W, margin, kmax, distance_tol, zero_tol, max_period,
                batch_size, state, prog, drive)
    if prog is not None:
        prog.finish()  # rows decided at their first layer, without a layer run
    if max_depth is not None and max_depth > depth:
        # inputs that are only passing a saddle or still moving go on
        first = _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol,
                                 drive=drive)
        go = np.flatnonzero(first["status"] != ATTRACTOR)
        go = go[state["event"][go] != K.EV_CYCLE]
        state["event"][go] = K.EV_TARGET
        stops = [max_depth]
        if max_depth >= step * step * depth:
            # the states at depth and at the geometric middle of depth and max_depth are the
            # earlier two of the three layers an algebraic approach is judged from: the widest
            # span, so the most power against an exponential approach
            snapshots = [(go, Z[go].copy(), state["t"][go].copy())]
            stops = [int(round(np.sqrt(float(depth) * max_depth))), max_depth]
        for t_stop in stops:
            # unsettled rows stop at t_stop with EV_TARGET and go on in the next run
            if prog is not None:
                prog.total += go.size
            _run_resnet(Z, t1, t_stop, W, margin, kmax, distance_tol, zero_tol, max_period,
                        batch_size, state, prog, drive)
            if prog is not None:
                prog.finish()  # rows that settled before this stop
            if t_stop < max_depth:
                snapshots.append((go, Z[go].copy(), state["t"][go].copy()))
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
                            max_period, batch_size, sub, None, drive)
                out[j][0][sel], out[j][1][sel] = sub["t"], Zr
            state["dense"][rows[sel]] += sub["dense"]
            state["work"][rows[sel]] += sub["work"]
            approach_layers[0] += int(np.sum(sub["t"] - t0))
        return out

    cls = _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol,
                           others, drive)
    table = _points_table(cls.pop("point_rows"), n, zero_tol)
    if tanh:
        # back to the network's coordinates: y = 2s - 1; residuals of (1 - y^2)(W y) and
        # distances in y are twice those in s
        table["points"] = 2.0 * table["points"] - 1.0
        table["residual"] = 2.0 * table["residual"]
        cls["distance"] = 2.0 * cls["distance"]
    per_input = dict(layers=state["t"].copy(), lyapunov=np.full(B, np.nan), **cls)
    w = state["work"].sum(axis=0)
    work = {"dense_layers": int(state["dense"].sum()), "engine_blocks": int(w[0]),
            "engine_layers": int(w[1]), "near_updates": int(w[2]), "face_solves": int(w[3]),
            "approach_layers": approach_layers[0]}
    return table, per_input, work
