"""Private: a slow, readable twin of the incremental pattern walk (plain NumPy).

For every interior set I with an invertible block A = W[I, I] it walks the 2^|B| boundary
assignments in Gray-code order and updates

* ``y_I`` by one column of ``-A^{-1} W[I, B]``,
* the boundary rates ``(W y)_B`` by one column of the Schur complement
  ``S = W[B, B] - W[B, I] A^{-1} W[I, B]``,

recomputing both from scratch every `refresh` steps. The walked values are checked against
a direct solve in the tests; the counts use NumPy eigenvalues of the interior block.
"""

from __future__ import annotations

import numpy as np

from dynsys._stability import LABELS, label_index

__all__ = ["gray_walk", "reference_counts"]


def gray_walk(W, interior, refresh: int = 64):
    """Yield ``(ones, y_I, rates_B)`` for every boundary assignment of `interior`, Gray order.

    ``ones`` is the bool mask over the boundary coordinates at 1 (boundary = the complement of
    `interior`, ascending); `W[interior, interior]` must be invertible.
    """
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    I = np.asarray(interior, dtype=np.int64)
    B = np.setdiff1d(np.arange(n), I)
    if I.size:
        A = W[np.ix_(I, I)]
        C = -np.linalg.solve(A, W[np.ix_(I, B)])              # (k, nb)
        S = W[np.ix_(B, B)] + W[np.ix_(B, I)] @ C             # Schur complement (nb, nb)
    else:
        C = np.zeros((0, B.size))
        S = W[np.ix_(B, B)]
    ones = np.zeros(B.size, dtype=bool)
    y = np.zeros(I.size)
    rates = np.zeros(B.size)
    yield ones.copy(), y.copy(), rates.copy()
    for step in range(1, 2**B.size):
        t = (step & -step).bit_length() - 1      # the coordinate that flips
        ones[t] = not ones[t]
        if step % refresh == 0:
            y = C[:, ones].sum(axis=1)
            rates = S[:, ones].sum(axis=1)
        else:
            sign = 1.0 if ones[t] else -1.0
            y = y + sign * C[:, t]
            rates = rates + sign * S[:, t]
        yield ones.copy(), y.copy(), rates.copy()


def reference_counts(W, tol: float = 1e-9, refresh: int = 64) -> dict:
    """Counts of distinct isolated points by the Gray walk: a dict of plain ints / lists.

    Keys: ``total``, ``in_box``, ``out_of_box``, ``flow_in`` and ``map_in`` (dicts label ->
    count), ``udim_in`` (list, N + 1), ``n_singular``, and the invertible patterns that are
    not counted: ``origin_copies`` (no coordinate at 1) and ``merged`` (the others).
    """
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    scale = float(np.max(np.abs(W))) or 1.0
    tol_eig = tol * scale
    out = {"total": 0, "in_box": 0, "out_of_box": 0, "n_singular": 0, "origin_copies": 0,
           "merged": 0,
           "flow_in": dict.fromkeys(LABELS, 0), "map_in": dict.fromkeys(LABELS, 0),
           "udim_in": [0] * (n + 1)}
    for mask in range(2**n):
        I = np.array([i for i in range(n) if (mask >> i) & 1], dtype=np.int64)
        B = np.setdiff1d(np.arange(n), I)
        if I.size and np.linalg.cond(W[np.ix_(I, I)]) > 1.0 / (1e-2 * tol):
            out["n_singular"] += 2**B.size
            continue
        for ones, y, rates in gray_walk(W, I, refresh):
            if np.any(np.abs(y) <= tol) or np.any(np.abs(y - 1.0) <= tol):
                # counted at its canonical pattern
                out["merged" if ones.any() else "origin_copies"] += 1
                continue
            out["total"] += 1
            if np.any(y < 0.0) or np.any(y > 1.0):
                out["out_of_box"] += 1
                continue
            out["in_box"] += 1
            lam_b = np.where(ones, -rates, rates)
            lam_i = (np.linalg.eigvals((y * (1.0 - y))[:, None] * W[np.ix_(I, I)])
                     if I.size else np.zeros(0))
            re = np.concatenate([lam_b, lam_i.real])
            flow = LABELS[label_index(int(np.sum(re > tol_eig)), int(np.sum(re < -tol_eig)),
                                      int(np.sum(np.abs(re) <= tol_eig)), n)]
            mod = np.concatenate([np.exp(lam_b), np.abs(1.0 + lam_i)])
            mlab = LABELS[label_index(int(np.sum(mod > 1 + tol_eig)),
                                      int(np.sum(mod < 1 - tol_eig)),
                                      int(np.sum(np.abs(mod - 1) <= tol_eig)), n)]
            out["flow_in"][flow] += 1
            out["map_in"][mlab] += 1
            out["udim_in"][int(np.sum(re > tol_eig))] += 1
    return out
