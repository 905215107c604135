"""Slow, readable twin of ``dynsys.basins(W, dynamics="map")``: one sample, one layer at a time.

Each initial residual y is taken to logit coordinates z = log(y / (1 - y)), the layer map
z <- z + W f(z) (f logistic) is applied `depth` times with plain Python loops over the
neurons, and the end residual f(z) is assigned to the nearest attractor within
`distance_tol` in the max norm. The attractors are chosen here from the fixed-point
enumeration's multipliers directly (every modulus below 1), not from its labels.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["map_stable_points", "map_basin_labels"]


def _f(u: float) -> float:
    if u >= 0:
        return 1.0 / (1.0 + math.exp(-u))
    e = math.exp(u)
    return e / (1.0 + e)


def map_stable_points(fixed_points) -> np.ndarray:
    """In-box fixed points whose layer-map multipliers all have modulus below 1."""
    keep = [i for i in range(len(fixed_points))
            if fixed_points.in_box[i] and np.all(np.abs(fixed_points.multipliers[i]) < 1.0)]
    return np.array([fixed_points.points[i] for i in keep]).reshape(-1, fixed_points.W.shape[0])


def end_state(W, y0, depth: int) -> np.ndarray:
    """f(z) after `depth` layers of z <- z + W f(z), z(0) = logit(y0), for one sample."""
    n = len(y0)
    z = [math.log(y0[i]) - math.log1p(-y0[i]) for i in range(n)]
    for _ in range(depth):
        y = [_f(z[j]) for j in range(n)]
        z = [z[i] + sum(W[i][j] * y[j] for j in range(n)) for i in range(n)]
    return np.array([_f(z[i]) for i in range(n)])


def map_basin_labels(W, initial, points, depth: int, distance_tol: float):
    """(labels, final): the attractor index per sample (-1 for none) and the end states."""
    W = np.asarray(W, dtype=float).tolist()
    labels, final = [], []
    for y0 in np.asarray(initial, dtype=float):
        end = end_state(W, y0, depth)
        final.append(end)
        best, best_d = -1, math.inf
        for k, p in enumerate(points):
            d = max(abs(end[i] - p[i]) for i in range(len(end)))
            if d < best_d:
                best, best_d = k, d
        labels.append(best if best_d <= distance_tol else -1)
    return np.array(labels, dtype=np.int64), np.array(final)
