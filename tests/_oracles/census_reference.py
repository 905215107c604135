"""Private: a slow, readable twin of the attractor census (plain NumPy, every layer computed).

No long-horizon engine, no early exits: the layer map ``z <- z + W f(z)`` is applied to every
input for every layer, in float64, and the final state is classified by the same rules as
:func:`dynsys.attractor_census` (face: y_i within ``distance_tol`` of 0 or 1; exact face
solve; distance; the rate's sign), written out one input at a time. Cycles are found from the
last ``2 * max_period`` recorded states. ``activation="tanh"`` runs ``z <- z + W tanh(z)`` and
classifies in tanh's own coordinates (faces -1 and +1), not through the driven logistic system
the library uses.
"""

from __future__ import annotations

import numpy as np

from dynsys._stability import classify_multipliers, classify_spectrum

__all__ = ["sigmoid", "plain_logits", "plain_states", "face_point", "reference_census"]


def sigmoid(z):
    """Logistic function without overflow warnings."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _f(activation):
    return np.tanh if activation == "tanh" else sigmoid


def plain_logits(W, z, n_layers, *, keep_last=0, activation="logistic"):
    """Apply ``z <- z + W f(z)`` `n_layers` times to the rows of z (B, N).

    Returns the final logits and, with ``keep_last``, the last `keep_last` states in y
    (shape (keep_last, B, N), the final state last).
    """
    f = _f(activation)
    z = np.array(z, dtype=np.float64)
    WT = W.T
    hist = []
    for step in range(n_layers):
        z = z + f(z) @ WT
        if keep_last and step >= n_layers - keep_last:
            hist.append(f(z))
    return (z, np.array(hist)) if keep_last else z


def plain_states(W, z1, layers):
    """The residuals y(t) at each of `layers` of the rows of ``z1 = z(1)`` (B, N).

    `layers` are increasing layer numbers >= 1; ``z <- z + W f(z)`` is applied once per layer
    from layer 1 on. Returns shape (L, B, N).
    """
    z = np.array(z1, dtype=np.float64)
    WT = W.T
    out = []
    t = 1
    for target in layers:
        while t < target:
            z = z + sigmoid(z) @ WT
            t += 1
        out.append(sigmoid(z))
    return np.array(out)


def face_point(W, pattern, activation="logistic"):
    """Fixed point of eq. 3 on a face: y = 0 / 1 where pattern is 0 / 1, solve inside.

    tanh: y = -1 / +1 on the faces, face eigenvalues +-2 (W y)_i, interior block
    diag(1 - y_I^2) W[I,I].
    """
    tanh = activation == "tanh"
    y = np.where(pattern == 1, 1.0, -1.0 if tanh else 0.0)
    I = np.flatnonzero(pattern == 2)
    if I.size:
        y[I] = 0.0
        B = np.flatnonzero(pattern != 2)
        rhs = -W[np.ix_(I, B)] @ y[B]
        y[I] = np.linalg.solve(W[np.ix_(I, I)], rhs)
    r = W @ y
    k = 2.0 if tanh else 1.0
    ev = np.where(pattern == 1, -k * r, k * r).astype(complex)
    mu = np.exp(ev.real).astype(complex)
    if I.size:
        slope = (1 - y[I] ** 2) if tanh else y[I] * (1 - y[I])
        lam = np.linalg.eigvals(np.diag(slope) @ W[np.ix_(I, I)])
        ev[I] = lam
        mu[I] = 1 + lam
    return y, r, ev, mu


def _period(hist_b, tol, max_period):
    """Smallest p >= 2 such that every recorded state repeats the one p layers before it,
    to within `tol` and to within 1e-3 of the amplitude (the largest change over the last p
    layers): a slow drift or a slow oscillating approach to a point is no cycle."""
    L = hist_b.shape[0]
    for p in range(2, max_period + 1):
        if 2 * p > L:
            break
        amp = np.max(np.abs(np.diff(hist_b[L - p - 1:], axis=0)))
        if amp <= tol:
            continue
        if np.max(np.abs(hist_b[p:] - hist_b[:-p])) <= min(tol, 1e-3 * amp):
            return p
    return 0


def reference_census(W, z1, depth, *, margin=25.0, distance_tol=1e-6, zero_tol=1e-9,
                     max_period=64, activation="logistic"):
    """Classify each input after plain iteration from z(1) = `z1` (B, N) to layer `depth`.

    Returns a list of dicts, one per input: ``status``, ``point`` (or None), ``pattern``,
    ``layers_to_leave``, ``period``, ``stability``, ``map_stability``, ``z`` (final logits).
    """
    W = np.asarray(W, dtype=np.float64)
    tanh = activation == "tanh"
    f = _f(activation)
    z, hist = plain_logits(W, z1, depth - 1, keep_last=2 * max_period, activation=activation)
    out = []
    # a coordinate is on its face when y_i is within distance_tol of its end of the box
    if tanh:
        face = min(margin, np.arctanh(1.0 - distance_tol))
    else:
        face = min(margin, np.log(1.0 / distance_tol - 1.0))
    lo = -1.0 if tanh else 0.0
    for b in range(z.shape[0]):
        zb = z[b]
        pattern = np.where(zb < -face, 0, np.where(zb > face, 1, 2))
        rec = dict(status="not converged", point=None, pattern=pattern, layers_to_leave=-1,
                   period=0, stability=None, map_stability=None, z=zb)
        y_now = f(zb)
        try:
            y, r, ev, mu = face_point(W, pattern, activation)
        except np.linalg.LinAlgError:
            y = None
        if y is not None and np.all((y >= lo) & (y <= 1)) and \
                np.max(np.abs(y_now - y)) <= distance_tol:
            rec["point"] = y
            rec["stability"] = classify_spectrum(ev, zero_tol)
            rec["map_stability"] = classify_multipliers(mu, zero_tol)
            if rec["map_stability"] == "stable":
                rec["status"] = "attractor"
            elif np.any(np.abs(mu) > 1 + zero_tol):
                rec["status"] = "saddle"
                leave = []
                for i in range(len(zb)):
                    toward = r[i] if pattern[i] == 0 else -r[i]
                    if pattern[i] != 2 and toward > zero_tol:
                        leave.append(int(np.ceil((abs(zb[i]) - face) / toward)))
                if leave:
                    rec["layers_to_leave"] = min(leave)
        else:
            p = _period(hist[:, b], distance_tol, max_period)
            if p >= 2:
                # a cycle of the map only when the saturated coordinates stay saturated: their
                # mean rate over a period points into their face
                rate = W @ hist[-p:, b].mean(axis=0)
                off = np.where(pattern == 0, rate, -rate)[pattern != 2]
                if off.size and off.max() >= -zero_tol:
                    p = 0
            if p >= 2:
                rec["status"] = "cycle"
                rec["period"] = p
        out.append(rec)
    return out
