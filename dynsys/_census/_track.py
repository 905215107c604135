"""The attractor census tracked across the checkpoints of a training run.

Private: the algorithm behind :func:`dynsys.track_census` (whose entry point, in the package's
``__init__``, runs the censuses) and its result types. A census depends on the whole
trajectory of every input through the layers of one network, so nothing of checkpoint k's
census is a sound starting point for checkpoint k+1's: each checkpoint is censused on its own,
exactly as :func:`dynsys.attractor_census` would, and only a checkpoint whose network is
identical to an earlier one (every weight, bias, readout and projection the same) reuses that
census. What is added is cheap: the points of consecutive censuses are matched by pattern and
distance (:func:`match_points`), which gives every point a global identity, and the inputs'
identities are counted into flows, shares, births, deaths and face changes.

Steps of :func:`track`:

1. check the networks (one width, kind, activation and input dimension), the inputs, the labels,
   `match_tol` and the census options; a census of no inputs on every network checks the
   remaining arguments before any work (:func:`check_networks`, :func:`check_options`);
2. census every distinct network, locally or as one Dask task each
   (:func:`distinct_networks`);
3. match the points of checkpoints k and k+1 (:func:`match_points`) and carry identities forward
   (:func:`carry_identities`);
4. the inputs' identities (:func:`input_identities`), the flows between them
   (:func:`transition_table`) and the shares per class (:func:`identity_shares`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np

from .._arrays import readonly
from .._network import Network
from .._tables import text_table
from .._validation import _describe, _to_float_array, check_finite, check_labels
from .._validation import check_positive_float
from ._common import _unique_rows
from ._results import ATTRACTOR, CYCLE, NOT_CONVERGED, SADDLE_PASSAGE, AttractorCensus

__all__ = ["CensusTrack", "CensusTransitions", "CensusEvents", "CensusFaceChanges",
           "PSEUDO_IDS", "CENSUS_OPTIONS", "DEFAULT_MATCH_TOL", "track"]


#: The identities of inputs that sit at no point (negative, so that they never collide with
#: the identities 0, 1, ... of points): a cycle, and no point nor cycle (not converged). Both
#: census engines assign a point to every input whose status is "attractor" or "saddle", so
#: these two cover every unassigned input.
PSEUDO_IDS = MappingProxyType({CYCLE: -1, NOT_CONVERGED: -2})


#: How far apart (max-norm, in the network's coordinates) two points of consecutive
#: checkpoints may lie and still be one point that moved (see :func:`dynsys.track_census`).
DEFAULT_MATCH_TOL = 0.05


#: The options of :func:`dynsys.attractor_census` that :func:`dynsys.track_census` passes on.
CENSUS_OPTIONS = ("margin", "distance_tol", "residual_tol", "zero_tol", "max_period",
                  "max_interior", "batch_size")


# the pseudo-identities in the order of CensusTrack.pseudo_shares
_PSEUDO_ORDER = (CYCLE, NOT_CONVERGED)

# the lowest identity (the offset of identity -> row of a dense transition matrix)
_LOWEST = min(PSEUDO_IDS.values())

# elements of one block of the pairwise distances of the second matching pass
_BLOCK_ELEMENTS = 1 << 22


# ---- result types -------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class CensusTransitions:
    """The flows of inputs between identities from one checkpoint to the next.

    One row per (step, source, target) with at least one input, sorted by step, then source,
    then target; staying inputs (source equal to target) are flows too, so the counts of a
    step sum to the number of inputs B. Identities are those of :class:`CensusTrack`: 0, 1,
    ... for points, the negative pseudo-identities of :data:`dynsys.CENSUS_PSEUDO_IDS` for
    inputs at no point. All arrays are read-only.

    Attributes
    ----------
    step : ndarray of int, shape (F,)
        k: the flow goes from checkpoint k to checkpoint k+1 (0 <= k < K - 1).
    source, target : ndarray of int, shape (F,)
        The identity of the inputs at checkpoint k and at k+1.
    count : ndarray of int, shape (F,)
        How many inputs flow.
    n_ids : int
        The number of point identities of the track (the dense matrices have
        ``n_ids + 2`` rows).
    n_steps : int
        K - 1.
    """

    step: np.ndarray
    source: np.ndarray
    target: np.ndarray
    count: np.ndarray
    n_ids: int
    n_steps: int

    def __len__(self) -> int:
        return int(self.step.size)

    @property
    def ids(self) -> np.ndarray:
        """The identity of each row and column of :meth:`matrix`: ``-2, -1, 0, ..., n_ids-1``."""
        return np.arange(_LOWEST, self.n_ids)

    def matrix(self, step: int) -> np.ndarray:
        """The dense flow matrix of one step, shape ``(n_ids + 2, n_ids + 2)``.

        Entry ``[i, j]`` counts the inputs with identity ``ids[i]`` at checkpoint `step` and
        ``ids[j]`` at checkpoint ``step + 1``; identity ``a`` is row ``a + 2``, so rows 0 and
        1 are the pseudo-identities -2 (not converged) and -1 (cycle). Its entries sum to B.

        Parameters
        ----------
        step : int
            0 <= step < K - 1.

        Returns
        -------
        ndarray of int64, shape (n_ids + 2, n_ids + 2)
        """
        from .._validation import check_int

        step = check_int(step, "step", minimum=0, maximum=max(self.n_steps - 1, 0))
        if self.n_steps == 0:
            raise ValueError("`step` must be a step between two checkpoints; this track has a "
                             "single checkpoint and no transitions.")
        n = self.n_ids - _LOWEST
        out = np.zeros((n, n), np.int64)
        sel = self.step == step
        np.add.at(out, (self.source[sel] - _LOWEST, self.target[sel] - _LOWEST),
                  self.count[sel])
        return out

    def __repr__(self) -> str:
        moved = int(self.count[self.source != self.target].sum())
        return (f"CensusTransitions(steps={self.n_steps}, flows={len(self)}, "
                f"moved={moved})")


@dataclass(frozen=True, repr=False, eq=False)
class CensusEvents:
    """Births or deaths of point identities: one row per event, sorted by checkpoint, then
    identity. All arrays are read-only.

    Attributes
    ----------
    identity : ndarray of int, shape (E,)
    checkpoint : ndarray of int, shape (E,)
        A birth: the first checkpoint at which the identity is present (k >= 1; the points of
        checkpoint 0 are no births). A death: the first checkpoint at which it is absent (its
        last checkpoint + 1; identities present at the last checkpoint do not die).
    kind : {"births", "deaths"}
    """

    identity: np.ndarray
    checkpoint: np.ndarray
    kind: str

    def __len__(self) -> int:
        return int(self.identity.size)

    def __repr__(self) -> str:
        return f"CensusEvents(kind={self.kind!r}, events={len(self)})"


@dataclass(frozen=True, repr=False, eq=False)
class CensusFaceChanges:
    """The matches of the second and third passes: a point that kept its identity but
    changed face (second pass, within `match_tol`), or whose inputs it kept (third pass, with
    ``match_inputs``: another face, or the same face farther than `match_tol`).

    One row per match, sorted by checkpoint, then identity. All arrays are read-only.

    Attributes
    ----------
    identity : ndarray of int, shape (F,)
    checkpoint : ndarray of int, shape (F,)
        The checkpoint k+1 at which the new pattern is first seen.
    old_pattern, new_pattern : ndarray of int8, shape (F, N)
        The point's face at checkpoints k and k+1 (codes 0, 1, 2 of
        :attr:`AttractorCensus.patterns`).
    distance : ndarray, shape (F,)
        ``max_i |y_i - y'_i|`` between the two points (at most `match_tol` for the second
        pass).
    rule : ndarray of str, shape (F,)
        ``"distance"`` (second pass) or ``"inputs"`` (third pass).
    """

    identity: np.ndarray
    checkpoint: np.ndarray
    old_pattern: np.ndarray
    new_pattern: np.ndarray
    distance: np.ndarray
    rule: np.ndarray

    def __len__(self) -> int:
        return int(self.identity.size)

    def __repr__(self) -> str:
        return f"CensusFaceChanges(changes={len(self)})"


@dataclass(frozen=True, repr=False, eq=False)
class CensusTrack:
    """The attractor census of one set of inputs at every checkpoint of a training run, with
    the points followed from checkpoint to checkpoint (:func:`dynsys.track_census`).

    K checkpoints, B inputs, N neurons; n_ids point identities over the whole track, C classes
    (1 without labels). All arrays are read-only.

    Attributes
    ----------
    censuses : tuple of AttractorCensus
        ``censuses[k]`` is the census of ``networks[k]``, equal to
        ``attractor_census(networks[k], x0, depth, labels=labels, max_depth=max_depth,
        **census_options)``.
    point_ids : tuple of ndarray of int
        ``point_ids[k][m]``: the identity of point m of ``censuses[k]`` (shape (M_k,)); the
        identities of one checkpoint are distinct.
    input_ids : ndarray of int, shape (K, B)
        Each input's identity at each checkpoint: its point's identity, or a pseudo-identity
        of :data:`dynsys.CENSUS_PSEUDO_IDS` (-1 on a cycle, -2 at no point and on no cycle,
        i.e. not converged) when ``censuses[k].assignment`` is -1. An input assigned to a point
        has the point's identity whatever its status (``censuses[k].status`` tells an
        attractor from a saddle passage).
    transitions : CensusTransitions
        The flows of inputs between identities from checkpoint k to k+1.
    births, deaths : CensusEvents
        Identities first present at checkpoint k >= 1; identities absent from checkpoint k
        that were present at k - 1.
    face_changes : CensusFaceChanges
        Identities carried across a change of face pattern (the second matching pass).
    shares : ndarray, shape (K, n_ids, C)
        ``shares[k, i, c]``: the fraction of the inputs of class c whose identity at
        checkpoint k is i (0 where i is absent). NaN for a class 0..C-1 with no input.
    pseudo_shares : ndarray, shape (K, 2, C)
        The same for the pseudo-identities, rows in the order cycle (-1), not converged (-2).
        ``shares.sum(axis=1) + pseudo_shares.sum(axis=1)`` is 1 for every class with inputs.
    id_patterns : ndarray of int8, shape (n_ids, N)
        Each identity's face pattern at its first checkpoint.
    id_points : ndarray, shape (n_ids, N)
        Each identity's point at its first checkpoint.
    id_first, id_last : ndarray of int, shape (n_ids,)
        The first and last checkpoint at which each identity is present (an identity is
        present at every checkpoint in between: a point that vanishes dies, and its return is
        a birth).
    reused_from : ndarray of int, shape (K,)
        j where ``networks[k]`` is identical to an earlier ``networks[j]`` and its census was
        reused (then ``censuses[k] is censuses[j]``), else -1.
    labels : ndarray of int, shape (B,), or None
    match_tol : float
        The distance within which points of consecutive checkpoints are matched.
    match_inputs : float or None
        The share of inputs of the third pass (None: no third pass).
    """

    censuses: tuple
    point_ids: tuple
    input_ids: np.ndarray
    transitions: CensusTransitions
    births: CensusEvents
    deaths: CensusEvents
    face_changes: CensusFaceChanges
    shares: np.ndarray
    pseudo_shares: np.ndarray
    id_patterns: np.ndarray
    id_points: np.ndarray
    id_first: np.ndarray
    id_last: np.ndarray
    reused_from: np.ndarray
    labels: np.ndarray | None
    match_tol: float
    match_inputs: float | None = None

    def __len__(self) -> int:
        return len(self.censuses)

    @property
    def n_checkpoints(self) -> int:
        """K, the number of checkpoints."""
        return len(self.censuses)

    @property
    def n_inputs(self) -> int:
        """B, the number of inputs."""
        return int(self.input_ids.shape[1])

    @property
    def n_ids(self) -> int:
        """The number of point identities over the whole track."""
        return int(self.id_first.size)

    def table(self, top: int = 10) -> str:
        """Plain-text tables: the track checkpoint by checkpoint, then the largest identities.

        One row per checkpoint: its points, its inputs by status, the identities born and dead
        there, the face changes and the inputs whose identity changed since the checkpoint
        before (``moved``). Then the `top` identities with the most inputs (summed over the
        checkpoints): their first and last checkpoint, interior coordinates at first
        appearance, face changes, and their inputs at their first checkpoint, at most and at
        their last checkpoint.

        Parameters
        ----------
        top : int
            How many identities to list.

        Returns
        -------
        str
        """
        K = self.n_checkpoints
        moved = np.zeros(K, np.int64)
        if K > 1:
            t = self.transitions
            off = t.source != t.target
            np.add.at(moved, t.step[off] + 1, t.count[off])
        n_birth = np.bincount(self.births.checkpoint, minlength=K)
        n_death = np.bincount(self.deaths.checkpoint, minlength=K)
        n_face = np.bincount(self.face_changes.checkpoint, minlength=K)
        head = ["checkpoint", "points", "attractor", "saddle", "cycle", "not converged",
                "births", "deaths", "face changes", "moved"]
        rows = [head]
        for k, c in enumerate(self.censuses):
            n = c.counts()
            rows.append([k, len(c), n[ATTRACTOR], n[SADDLE_PASSAGE], n[CYCLE], n[NOT_CONVERGED],
                         n_birth[k], n_death[k], n_face[k], moved[k] if k else "-"])
        lines = [f"census track: {K} checkpoints, {self.n_inputs} inputs, {self.n_ids} "
                 f"identities (match_tol {self.match_tol:g})",
                 text_table(rows, "r" * len(head))]
        if self.n_ids:
            per = np.zeros((K, self.n_ids), np.int64)
            for k in range(K):
                ids = self.input_ids[k]
                np.add.at(per[k], ids[ids >= 0], 1)
            total = per.sum(axis=0)
            faces = np.bincount(self.face_changes.identity, minlength=self.n_ids)
            order = np.argsort(-total, kind="stable")[:max(int(top), 0)]
            head2 = ["identity", "first", "last", "interior", "face changes",
                     "inputs at first", "max", "at last"]
            rows2 = [head2]
            for i in order:
                a, z = int(self.id_first[i]), int(self.id_last[i])
                rows2.append([i, a, z, int(np.count_nonzero(self.id_patterns[i] == 2)),
                              faces[i], per[a, i], per[a:z + 1, i].max(), per[z, i]])
            lines += ["", f"identities with the most inputs (top {len(order)}):",
                      text_table(rows2, "r" * len(head2))]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"CensusTrack(checkpoints={self.n_checkpoints}, inputs={self.n_inputs}, "
                f"identities={self.n_ids}, births={len(self.births)}, "
                f"deaths={len(self.deaths)}, face_changes={len(self.face_changes)})")


# ---- checks -------------------------------------------------------------------------------


def check_networks(networks) -> tuple:
    """`networks` as a tuple of :class:`Network` of one width, kind, activation and input
    dimension; errors name the index and what differs."""
    if isinstance(networks, Network):
        raise TypeError("`networks` must be a sequence of dynsys.Network (the checkpoints of "
                        "one run); got a single Network. Pass [net], or use "
                        "dynsys.attractor_census for one network.")
    if isinstance(networks, (str, bytes, np.ndarray)) or not hasattr(networks, "__iter__"):
        raise TypeError("`networks` must be a sequence of dynsys.Network (the checkpoints of "
                        f"one run); got {_describe(networks)}.")
    nets = tuple(networks)
    if not nets:
        raise ValueError("`networks` must hold at least one dynsys.Network; got an empty "
                         "sequence.")
    for k, net in enumerate(nets):
        if not isinstance(net, Network):
            raise TypeError(f"`networks[{k}]` must be a dynsys.Network; got {_describe(net)}.")
    first = nets[0]
    facts = (("width", lambda n: n.width), ("kind", lambda n: n.kind),
             ("activation", lambda n: n.activation),
             ("input dimension (n_features)", lambda n: n.n_features))
    for k, net in enumerate(nets[1:], start=1):
        for what, get in facts:
            if get(net) != get(first):
                raise ValueError(
                    f"`networks` must share one width, kind, activation and input dimension "
                    f"(the checkpoints of one run); networks[{k}] has {what} {get(net)!r}, "
                    f"networks[0] has {get(first)!r}.")
    return nets


def check_inputs(x0, n_features: int) -> np.ndarray:
    """`x0` as a finite float64 array of shape (B, D)."""
    arr = _to_float_array(x0, "x0")
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(f"`x0` must have shape (B, {n_features}), one row per input "
                         f"(D = {n_features}, the networks' input dimension); got shape "
                         f"{arr.shape}.")
    return check_finite(arr, "x0")


def check_options(census_options: dict) -> dict:
    """The census options, refusing names :func:`dynsys.attractor_census` does not take here."""
    for name in census_options:
        if name not in CENSUS_OPTIONS:
            raise TypeError(f"track_census() got an unexpected census option `{name}`; the "
                            f"census options are {', '.join(CENSUS_OPTIONS)}.")
    return dict(census_options)


def _network_key(net: Network) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{net.kind}|{net.activation}".encode())
    for name in ("W", "b", "K", "c", "P", "p"):
        a = getattr(net, name)
        h.update(name.encode() + (b"-" if a is None else repr(a.shape).encode()))
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


def _same_network(a: Network, b: Network) -> bool:
    if (a.kind, a.activation) != (b.kind, b.activation):
        return False
    for name in ("W", "b", "K", "c", "P", "p"):
        u, v = getattr(a, name), getattr(b, name)
        if (u is None) != (v is None) or (u is not None and not np.array_equal(u, v)):
            return False
    return True


def distinct_networks(nets) -> np.ndarray:
    """``reused_from`` (K,): the first earlier index of an identical network, or -1.

    Identical means every array equal (weights, biases, readout, projection) and the same kind
    and activation: the census, a deterministic function of these and the inputs, is then
    the same.
    """
    first = {}
    out = np.full(len(nets), -1, np.int64)
    for k, net in enumerate(nets):
        key = _network_key(net)
        j = first.get(key)
        if j is not None and _same_network(nets[j], net):
            out[k] = j
        else:
            first.setdefault(key, k)
    return out


# ---- matching -----------------------------------------------------------------------------


def _greedy(src, tgt, dist, taken_src, taken_tgt):
    """Accept candidate pairs in order of distance, ties by source then target index, each
    point at most once; marks `taken_*` in place and returns the accepted rows."""
    order = np.lexsort((tgt, src, dist))
    keep = []
    for r in order:
        i, j = src[r], tgt[r]
        if not taken_src[i] and not taken_tgt[j]:
            taken_src[i] = taken_tgt[j] = True
            keep.append(r)
    return np.asarray(keep, dtype=np.int64)


def _close_pairs(P0, P1, rows0, rows1, tol):
    """Pairs (i in rows0, j in rows1) with ``max|P0[i] - P1[j]| <= tol``, and their distances;
    pairwise distances in blocks of rows0 (at most ``_BLOCK_ELEMENTS`` numbers at a time)."""
    src, tgt, dist = [], [], []
    if rows0.size and rows1.size:
        Q = P1[rows1]
        n = max(P0.shape[1], 1)
        step = max(1, _BLOCK_ELEMENTS // (rows1.size * n))
        for lo in range(0, rows0.size, step):
            r = rows0[lo:lo + step]
            d = np.max(np.abs(P0[r][:, None, :] - Q[None, :, :]), axis=2, initial=0.0)
            a, b = np.nonzero(d <= tol)
            src.append(r[a])
            tgt.append(rows1[b])
            dist.append(d[a, b])
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(src), np.concatenate(tgt), np.concatenate(dist)


def match_points(P0, Q0, P1, Q1, tol):
    """One-to-one matching of the points of checkpoint k to those of checkpoint k+1.

    First pass: pairs with the same face pattern and ``max_i |y_i - y'_i| <= tol`` (found by
    hashing the patterns), accepted greedily in order of distance, ties by source then target
    index. Second pass, over the points still unmatched: pairs within `tol` (their patterns then
    differ only in coordinates where the two points lie within `tol` of each other, e.g. an
    interior 0.999 against a face at 1), accepted by the same greedy rule; these are the face
    changes.

    Parameters
    ----------
    P0, P1 : ndarray, shape (M0, N), (M1, N)
        The points.
    Q0, Q1 : ndarray of int8, shape (M0, N), (M1, N)
        Their patterns.
    tol : float

    Returns
    -------
    source, target : ndarray of int, shape (R,)
        Matched indices into the points of k and k+1, sorted by source.
    distance : ndarray, shape (R,)
    face_change : ndarray of bool, shape (R,)
        Whether the match came from the second pass.
    """
    P0, P1 = np.asarray(P0, np.float64), np.asarray(P1, np.float64)
    M0, M1 = P0.shape[0], P1.shape[0]
    taken0, taken1 = np.zeros(M0, bool), np.zeros(M1, bool)
    src = tgt = np.zeros(0, np.int64)
    dist = np.zeros(0)
    if M0 and M1:
        _, _, group = _unique_rows(np.concatenate([Q0, Q1]).astype(np.int8))
        g0, g1 = group[:M0], group[M0:]
        # pairs of points on the same face: sorted by group, each source meets its group
        order1 = np.argsort(g1, kind="stable")
        lo = np.searchsorted(g1[order1], g0, side="left")
        hi = np.searchsorted(g1[order1], g0, side="right")
        cnt = hi - lo
        s = np.repeat(np.arange(M0), cnt)
        # the positions lo[i], ..., hi[i] - 1 of every source i, in one vector
        t = order1[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(s.size)]
        d = (np.max(np.abs(P0[s] - P1[t]), axis=1, initial=0.0) if s.size
             else np.zeros(0))
        ok = d <= tol
        s, t, d = s[ok], t[ok], d[ok]
        keep = _greedy(s, t, d, taken0, taken1)
        src, tgt, dist = s[keep], t[keep], d[keep]
    s2, t2, d2 = _close_pairs(P0, P1, np.flatnonzero(~taken0), np.flatnonzero(~taken1), tol)
    keep2 = _greedy(s2, t2, d2, taken0, taken1)
    source = np.concatenate([src, s2[keep2]]).astype(np.int64)
    target = np.concatenate([tgt, t2[keep2]]).astype(np.int64)
    distance = np.concatenate([dist, d2[keep2]])
    face = np.concatenate([np.zeros(src.size, bool), np.ones(keep2.size, bool)])
    order = np.argsort(source, kind="stable")
    return source[order], target[order], distance[order], face[order]


def match_by_inputs(asg0, asg1, free0, free1, share):
    """The third pass: unmatched points of k and k+1 that share their inputs.

    A pair (i, j) of points still unmatched (`free0`, `free1`) qualifies when more than
    `share` of the inputs assigned to i at k are assigned to j at k+1, and more than `share`
    of those assigned to j came from i; qualifying pairs are accepted greedily by the number
    of shared inputs (largest first), ties by i, then j, each point at most once. With
    ``share >= 0.5`` each point has at most one partner and the order does not matter.

    Parameters
    ----------
    asg0, asg1 : ndarray of int, shape (B,)
        Each input's point at k and at k+1 (-1: none).
    free0, free1 : ndarray of bool, shape (M0,), (M1,)
    share : float

    Returns
    -------
    source, target, shared : ndarray of int, shape (R,)
    """
    M0, M1 = free0.size, free1.size
    n0 = np.bincount(asg0[asg0 >= 0], minlength=M0)
    n1 = np.bincount(asg1[asg1 >= 0], minlength=M1)
    both = (asg0 >= 0) & (asg1 >= 0)
    both[both] = free0[asg0[both]] & free1[asg1[both]]
    if not np.any(both):
        z = np.zeros(0, np.int64)
        return z, z, z
    code, shared = np.unique(asg0[both].astype(np.int64) * M1 + asg1[both], return_counts=True)
    src, tgt = code // M1, code % M1
    ok = (shared > share * n0[src]) & (shared > share * n1[tgt])
    src, tgt, shared = src[ok], tgt[ok], shared[ok]
    keep = _greedy(src, tgt, -shared.astype(np.float64), np.zeros(M0, bool),
                   np.zeros(M1, bool))
    order = np.argsort(src[keep], kind="stable")
    return src[keep][order], tgt[keep][order], shared[keep][order]


def carry_identities(censuses, match_tol, match_inputs=None):
    """Identities of the points of every census, matched from each checkpoint to the next.

    Returns ``point_ids`` (list of (M_k,) arrays), births, deaths and face changes as lists of
    rows, and the identities' first patterns and points.
    """
    first = censuses[0]
    M = len(first)
    point_ids = [np.arange(M, dtype=np.int64)]
    id_patterns = list(np.asarray(first.patterns, np.int8))
    id_points = list(np.asarray(first.points, np.float64))
    births, deaths, faces = [], [], []
    n_ids = M
    for k in range(1, len(censuses)):
        a, b = censuses[k - 1], censuses[k]
        src, tgt, dist, face = match_points(a.points, a.patterns, b.points, b.patterns,
                                            match_tol)
        rule = np.where(face, "distance", "")
        if match_inputs is not None:
            free0, free1 = np.ones(len(a), bool), np.ones(len(b), bool)
            free0[src], free1[tgt] = False, False
            s3, t3, _ = match_by_inputs(np.atleast_1d(a.assignment),
                                        np.atleast_1d(b.assignment), free0, free1,
                                        match_inputs)
            d3 = (np.max(np.abs(np.asarray(a.points)[s3] - np.asarray(b.points)[t3]), axis=1,
                         initial=0.0) if s3.size else np.zeros(0))
            src, tgt = np.concatenate([src, s3]), np.concatenate([tgt, t3])
            dist = np.concatenate([dist, d3])
            face = np.concatenate([face, np.ones(s3.size, bool)])
            rule = np.concatenate([rule, np.full(s3.size, "inputs")])
        prev = point_ids[-1]
        ids = np.full(len(b), -1, np.int64)
        ids[tgt] = prev[src]
        new = np.flatnonzero(ids < 0)
        ids[new] = np.arange(n_ids, n_ids + new.size)
        n_ids += new.size
        for m in new:
            births.append((int(ids[m]), k))
            id_patterns.append(np.asarray(b.patterns[m], np.int8))
            id_points.append(np.asarray(b.points[m], np.float64))
        gone = np.ones(len(a), bool)
        gone[src] = False
        deaths += [(int(i), k) for i in np.sort(prev[gone])]
        for r in np.flatnonzero(face)[np.argsort(prev[src[face]], kind="stable")]:
            faces.append((int(prev[src[r]]), k, np.asarray(a.patterns[src[r]], np.int8),
                          np.asarray(b.patterns[tgt[r]], np.int8), float(dist[r]),
                          str(rule[r])))
        point_ids.append(ids)
    return point_ids, births, deaths, faces, id_patterns, id_points


def input_identities(census: AttractorCensus, ids: np.ndarray) -> np.ndarray:
    """Each input's identity (B,): its point's, or the pseudo-identity of its status."""
    asg = np.atleast_1d(census.assignment)
    st = np.atleast_1d(census.status)
    out = np.where(st == CYCLE, PSEUDO_IDS[CYCLE], PSEUDO_IDS[NOT_CONVERGED]).astype(np.int64)
    on = asg >= 0
    out[on] = ids[asg[on]]
    return out


def transition_table(input_ids: np.ndarray, n_ids: int):
    """(step, source, target, count) of the flows between consecutive rows of `input_ids`."""
    K = input_ids.shape[0]
    n = n_ids - _LOWEST
    parts = []
    for k in range(K - 1):
        code = (input_ids[k] - _LOWEST) * n + (input_ids[k + 1] - _LOWEST)
        u, c = np.unique(code, return_counts=True)
        parts.append((np.full(u.size, k, np.int64), u // n + _LOWEST, u % n + _LOWEST, c))
    if not parts:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    return tuple(np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(4))


def identity_shares(input_ids: np.ndarray, labels, n_ids: int):
    """``shares`` (K, n_ids, C) and ``pseudo_shares`` (K, 2, C) of :class:`CensusTrack`."""
    K, B = input_ids.shape
    if labels is None:
        lab, C = np.zeros(B, np.int64), 1
    else:
        lab = labels
        C = int(lab.max()) + 1 if lab.size else 1
    counts = np.zeros((K, n_ids - _LOWEST, C), np.float64)
    kk = np.repeat(np.arange(K), B)
    np.add.at(counts, (kk, input_ids.reshape(-1) - _LOWEST, np.tile(lab, K)), 1.0)
    total = np.bincount(lab, minlength=C).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = counts / total
    pseudo = frac[:, [PSEUDO_IDS[s] - _LOWEST for s in _PSEUDO_ORDER], :]
    return frac[:, -_LOWEST:, :], pseudo


# ---- the track ----------------------------------------------------------------------------


def _readonly_census(c: AttractorCensus) -> AttractorCensus:
    # a census that travelled from a worker process comes back with writable arrays
    for f in fields(c):
        v = getattr(c, f.name)
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return c


def _run_censuses(census, nets, x, run, distinct, reused, client, distributed, progress):
    """The census of every distinct network (locally or as Dask tasks on `client`, with the
    module `distributed`), in checkpoint order."""
    K = len(nets)
    # how many checkpoints each census covers, for progress over checkpoints
    weight = {int(k): 1 + int(np.count_nonzero(reused == k)) for k in distinct}
    out = {}
    if client is not None:
        # the inputs travel once, as a task's result that every census task fetches
        x_f = client.submit(np.array, x, pure=False)
        futures = [client.submit(census, nets[k], x_f, pure=False, **run) for k in distinct]
        by_key = {f.key: int(k) for f, k in zip(futures, distinct)}
        if progress is not None:
            progress(0, K)
            done = 0
            for fut in distributed.as_completed(futures):
                done += weight[by_key[fut.key]]
                progress(done, K)
        for k, c in zip(distinct, client.gather(futures)):
            out[int(k)] = _readonly_census(c)
    else:
        if progress is not None:
            progress(0, K)
        done = 0
        for k in distinct:
            out[int(k)] = census(nets[k], x, **run)
            done += weight[int(k)]
            if progress is not None:
                progress(done, K)
    return tuple(out[int(k) if reused[k] < 0 else int(reused[k])] for k in range(K))


def track(census, networks, x0, depth, *, max_depth, labels, match_tol, client, progress,
          census_options, match_inputs=None) -> CensusTrack:
    """The census of `x0` on every network and its identities across them.

    `census` is :func:`dynsys.attractor_census` (passed in by the package's entry point, which
    documents the arguments: :func:`dynsys.track_census`).
    """
    nets = check_networks(networks)
    x = check_inputs(x0, nets[0].n_features)
    B = x.shape[0]
    if labels is not None:
        labels = readonly(check_labels(labels, B, "labels"))
    match_tol = check_positive_float(match_tol, "match_tol")
    match_inputs = check_share(match_inputs, "match_inputs")
    options = check_options(census_options)
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be a callable progress(done, total) or None; got "
                        f"{_describe(progress)}.")
    distributed = None
    if client is not None:
        from .._fixed_points._distributed import check_client

        distributed = check_client(client)
    if depth is None:
        for k, net in enumerate(nets):
            if net.shared:
                raise ValueError(f"`depth` must be a number of layers >= 1: networks[{k}] has "
                                 "shared weights and no depth of its own; got None.")
    run = dict(depth=depth, labels=labels, max_depth=max_depth, **options)
    # every remaining argument checked on every network before any census runs: a census of
    # no inputs costs nothing
    empty = dict(run, labels=None)
    for net in nets:
        census(net, x[:0], **empty)
    reused = distinct_networks(nets)
    distinct = np.flatnonzero(reused < 0)
    censuses = _run_censuses(census, nets, x, run, distinct, reused, client, distributed,
                             progress)
    return assemble(censuses, labels, match_tol, reused, match_inputs)


def check_share(value, name: str):
    """None, or a share strictly between 0 and 1; the error names the argument."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"`{name}` must be None or a share of inputs strictly between 0 and 1; "
                         f"got {value!r}.")
    return float(value)


def assemble(censuses, labels, match_tol, reused, match_inputs=None) -> CensusTrack:
    """The :class:`CensusTrack` of censuses of the same inputs (steps 3 and 4 of the module)."""
    K = len(censuses)
    N = int(np.shape(censuses[0].points)[1])
    point_ids, births, deaths, faces, id_patterns, id_points = carry_identities(
        censuses, match_tol, match_inputs)
    n_ids = len(id_patterns)
    input_ids = np.stack([input_identities(c, ids) for c, ids in zip(censuses, point_ids)])
    id_first = np.full(n_ids, -1, np.int64)
    id_last = np.full(n_ids, -1, np.int64)
    for k, ids in enumerate(point_ids):
        id_first[ids[id_first[ids] < 0]] = k
        id_last[ids] = k
    step, source, target, count = transition_table(input_ids, n_ids)
    shares, pseudo = identity_shares(input_ids, labels, n_ids)

    def events(rows, kind):
        arr = np.asarray(rows, np.int64).reshape(-1, 2)
        return CensusEvents(identity=readonly(arr[:, 0].copy()),
                            checkpoint=readonly(arr[:, 1].copy()), kind=kind)

    face_changes = CensusFaceChanges(
        identity=readonly(np.array([f[0] for f in faces], np.int64)),
        checkpoint=readonly(np.array([f[1] for f in faces], np.int64)),
        old_pattern=readonly(np.array([f[2] for f in faces], np.int8).reshape(-1, N)),
        new_pattern=readonly(np.array([f[3] for f in faces], np.int8).reshape(-1, N)),
        distance=readonly(np.array([f[4] for f in faces], np.float64)),
        rule=readonly(np.array([f[5] for f in faces], dtype="<U8")))
    return CensusTrack(
        censuses=tuple(censuses),
        point_ids=tuple(readonly(ids) for ids in point_ids),
        input_ids=readonly(input_ids),
        transitions=CensusTransitions(step=readonly(step), source=readonly(source),
                                      target=readonly(target), count=readonly(count),
                                      n_ids=n_ids, n_steps=K - 1),
        births=events(births, "births"), deaths=events(deaths, "deaths"),
        face_changes=face_changes, shares=readonly(shares), pseudo_shares=readonly(pseudo),
        id_patterns=readonly(np.array(id_patterns, np.int8).reshape(n_ids, N)),
        id_points=readonly(np.array(id_points, np.float64).reshape(n_ids, N)),
        id_first=readonly(id_first), id_last=readonly(id_last),
        reused_from=readonly(np.asarray(reused, np.int64)), labels=labels,
        match_tol=float(match_tol), match_inputs=match_inputs)
