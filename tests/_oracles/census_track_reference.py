"""Private: a slow, readable twin of the identity rule of :func:`dynsys.track_census`.

Every pair of points is compared in two plain loops; the pairs are accepted greedily, first
those with equal patterns, then those with different ones, each pass in order of distance,
ties by the index at checkpoint k, then at k+1. The identities are then carried from
checkpoint to checkpoint one point at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_match", "reference_identities"]


def reference_match(P0, Q0, P1, Q1, tol):
    """Matched pairs ``[(i, j, distance, face_change), ...]`` sorted by i."""
    same, other = [], []
    for i in range(len(P0)):
        for j in range(len(P1)):
            d = float(np.max(np.abs(np.asarray(P0[i]) - np.asarray(P1[j])), initial=0.0))
            if d > tol:
                continue
            if np.array_equal(Q0[i], Q1[j]):
                same.append((d, i, j))
            else:
                other.append((d, i, j))
    used_i, used_j, out = set(), set(), []
    for face, candidates in ((False, same), (True, other)):
        for d, i, j in sorted(candidates):
            if i in used_i or j in used_j:
                continue
            used_i.add(i)
            used_j.add(j)
            out.append((i, j, d, face))
    return sorted(out)


def reference_identities(censuses, tol):
    """``point_ids`` (one list per checkpoint), births and deaths ``[(identity, k), ...]``."""
    ids = [list(range(len(censuses[0].points)))]
    births, deaths = [], []
    next_id = len(ids[0])
    for k in range(1, len(censuses)):
        a, b = censuses[k - 1], censuses[k]
        pairs = reference_match(a.points, a.patterns, b.points, b.patterns, tol)
        now = [None] * len(b.points)
        for i, j, _, _ in pairs:
            now[j] = ids[-1][i]
        for j in range(len(now)):
            if now[j] is None:
                now[j] = next_id
                births.append((next_id, k))
                next_id += 1
        matched = {i for i, _, _, _ in pairs}
        deaths += sorted((ids[-1][i], k) for i in range(len(a.points)) if i not in matched)
        ids.append(now)
    return ids, births, deaths
