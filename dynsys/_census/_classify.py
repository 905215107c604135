"""The end-point classifier of the ResNet census: the face of each end state, its fixed point,
its flow and layer-map labels, and the algebraic approach to a non-hyperbolic point."""

from __future__ import annotations

import numpy as np

from .._stability import STABLE
from .._activation import logistic
from ._results import ATTRACTOR, CYCLE, NOT_CONVERGED, SADDLE_PASSAGE, _STATUS_DTYPE
from ._common import (
    _APPROACH_STEP, _FACE_TOL, _MAX_FACE_SOLVE, _face_margin, _map_label, _unique_rows,
)


def _classify_resnet(W, Z, state, margin, distance_tol, residual_tol, zero_tol, others=None,
                     drive=None):
    """Per-input status and per-point table from final logits Z (B, N).

    `drive` (N,) is the c of the rate ``W y + c`` of a driven logistic system (a tanh network
    in the coordinates of :mod:`dynsys._activation`); None for eq. 3.

    `others`, when given, is ``others(rows) -> [(t, Z), (t, Z)]``: the layers (R,) and logits
    (R, N) of `rows` at two more layers, the three layers each at least ``_APPROACH_STEP``
    times the one before. With it, the inputs that approach a non-hyperbolic point are tested
    for an algebraic approach (:func:`_algebraic_approach`).

    Returns a dict: ``point_rows`` (canonical pattern, y, ev, mu, residual per point) and the
    per-input ``assignment``, ``status``, ``distance``, ``layers_to_leave``, ``period``,
    ``n_interior``, ``leaving``, ``algebraic``, ``approach_rate``.
    """
    from .._kernels import census as K

    B, n = Z.shape
    # a coordinate within distance_tol of 0 or 1 is on its face: the engine's margin is for
    # the affine approximation, this one for "at the point within tolerance"
    face_margin = _face_margin(margin, distance_tol)
    Zc = np.ascontiguousarray(Z)
    pats = K.faces(Zc, float(face_margin))
    Y = np.empty_like(Zc)
    K.sigmoid_into(Zc, Y)
    R_now = Y @ W.T  # the rates (W y)_i at the current states
    if drive is not None:
        R_now += drive
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
            if drive is not None:
                c = c + drive[I]
            try:
                ystar[u, I] = np.linalg.solve(W[np.ix_(I, I)], -c)
            except np.linalg.LinAlgError:
                continue
        solved[u] = bool(np.all(np.isfinite(ystar[u])))
    ystar[~solved] = 0.0
    R = ystar @ W.T  # the rates at the face points
    if drive is not None:
        R += drive
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
    d = np.stack([np.max(np.abs(logistic(s[1]) - y), axis=1) for s in states])
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
