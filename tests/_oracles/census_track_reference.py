"""Private: a slow, readable twin of the identity rule of :func:`dynsys.track_census`.

Every pair of points is compared in two plain loops; the pairs are accepted greedily, first
those with equal patterns, then those with different ones, each pass in order of distance,
ties by the index at checkpoint k, then at k+1; then, with a share of inputs, the points still
unmatched that share that much of each other's inputs, most shared inputs first. The identities are then carried from
checkpoint to checkpoint one point at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_match", "reference_input_match", "reference_identities"]


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


def reference_input_match(asg0, asg1, free0, free1, share):
    """Pairs ``[(i, j), ...]`` of unmatched points that share more than `share` of the inputs
    of each, accepted by the number of shared inputs (most first), ties by i, then j."""
    candidates = []
    for i in free0:
        for j in free1:
            shared = sum(1 for a, b in zip(asg0, asg1) if a == i and b == j)
            at_i = sum(1 for a in asg0 if a == i)
            at_j = sum(1 for b in asg1 if b == j)
            if shared > share * at_i and shared > share * at_j:
                candidates.append((-shared, i, j))
    used_i, used_j, out = set(), set(), []
    for _, i, j in sorted(candidates):
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def reference_identities(censuses, tol, match_inputs=None):
    """``point_ids`` (one list per checkpoint), births and deaths ``[(identity, k), ...]``."""
    ids = [list(range(len(censuses[0].points)))]
    births, deaths = [], []
    next_id = len(ids[0])
    for k in range(1, len(censuses)):
        a, b = censuses[k - 1], censuses[k]
        pairs = reference_match(a.points, a.patterns, b.points, b.patterns, tol)
        if match_inputs is not None:
            free0 = [i for i in range(len(a.points)) if i not in {p[0] for p in pairs}]
            free1 = [j for j in range(len(b.points)) if j not in {p[1] for p in pairs}]
            pairs += [(i, j, None, True) for i, j in reference_input_match(
                list(np.atleast_1d(a.assignment)), list(np.atleast_1d(b.assignment)), free0,
                free1, match_inputs)]
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
