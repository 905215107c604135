"""A slow, readable twin of the enumeration kernel (plain NumPy, one pattern at a time).

The tests compare the Numba kernel with it, and ``benchmarks/bench_fixed_points.py`` uses it as
the "plain NumPy loop over patterns" baseline. Same rules as :func:`dynsys.fixed_points`:
a pattern's interior block must be invertible (``np.linalg.cond`` below
``1 / (1e-2 rel_tol)``), a point is kept at its canonical pattern only, the spectrum is the
full Jacobian's.
"""

from __future__ import annotations

import itertools

import numpy as np

from dynsys._stability import classify_multipliers, classify_spectrum

__all__ = ["reference_fixed_points"]


def reference_fixed_points(W, rel_tol: float = 1e-9, activation: str = "logistic"):
    """Return ``(points, patterns, eigenvalues, stability, map_stability, n_singular)``.

    ``activation="tanh"`` solves the tanh system ``(1 - y_i^2)(W y)_i = 0`` directly, in its
    own coordinates (faces -1 and +1, codes 0 and 1), not through the driven logistic system
    the library uses: an independent check of that conjugacy.

    `rel_tol` plays the role of the default tolerances of :func:`dynsys.fixed_points`:
    ``zero_tol = rel_tol * max|W|``, a singular block when ``cond > 1 / (1e-2 rel_tol)``,
    ``face_tol = rel_tol``.

    ``points`` (M, N), ``patterns`` (M, N) int8 canonical patterns, ``eigenvalues`` (M, N)
    complex (np.linalg.eigvals of the full Jacobian), labels as object arrays (map label
    ``"outside"`` out of the box), and the number of patterns with a singular block.
    """
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    scale = float(np.max(np.abs(W))) or 1.0
    tol_eig = rel_tol * scale
    pts, pats, eigs, stab, mstab = [], [], [], [], []
    n_singular = 0
    for pattern in itertools.product((0, 1, 2), repeat=n):
        code = np.array(pattern[::-1])  # coordinate 0 varies fastest, as in pattern index order
        interior = np.flatnonzero(code == 2)
        ones = np.flatnonzero(code == 1)
        tanh = activation == "tanh"
        lo = -1.0 if tanh else 0.0
        y = np.where(code == 1, 1.0, lo if tanh else 0.0).astype(np.float64)
        y[interior] = 0.0
        if interior.size:
            A = W[np.ix_(interior, interior)]
            if np.linalg.cond(A) > 1.0 / (1e-2 * rel_tol):
                n_singular += 1
                continue
            if tanh:
                boundary = np.flatnonzero(code != 2)
                b = -W[np.ix_(interior, boundary)] @ y[boundary]
            else:
                b = -W[np.ix_(interior, ones)].sum(axis=1)
            y[interior] = np.linalg.solve(A, b)
            yi = y[interior]
            # the tanh faces are 2 apart: rel_tol in the logistic's coordinates s = (y+1)/2
            face = 2 * rel_tol if tanh else rel_tol
            if np.any(np.abs(yi - lo) <= face) or np.any(np.abs(yi - 1.0) <= face):
                continue  # not canonical: the same point comes from a pattern with a face code
        wy = W @ y
        if tanh:
            J = np.diag(-2.0 * y * wy) + np.diag(1.0 - y * y) @ W
            k = 2.0
        else:
            J = np.diag((1.0 - 2.0 * y) * wy) + np.diag(y * (1.0 - y)) @ W
            k = 1.0
        ev = np.linalg.eigvals(J)
        label = classify_spectrum(ev, tol_eig)
        in_box = bool(np.all((y >= lo) & (y <= 1.0)))
        if in_box:
            mult = np.where(code == 2, 0j, np.exp(np.where(code == 0, k * wy, -k * wy)) + 0j)
            if interior.size:
                d = (1.0 - y[interior] ** 2) if tanh else y[interior] * (1.0 - y[interior])
                block = np.eye(interior.size) + d[:, None] * W[np.ix_(interior, interior)]
                mult[interior] = np.linalg.eigvals(block)
            mlabel = classify_multipliers(mult, tol_eig)
        else:
            mlabel = "outside"
        pts.append(y)
        pats.append(code.astype(np.int8))
        eigs.append(ev)
        stab.append(str(label))
        mstab.append(str(mlabel))
    return (np.array(pts).reshape(-1, n), np.array(pats, np.int8).reshape(-1, n),
            np.array(eigs, np.complex128).reshape(-1, n), np.array(stab, object),
            np.array(mstab, object), n_singular)
