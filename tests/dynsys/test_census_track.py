"""dynsys.track_census (dynsys/_census/_track.py): censuses equal to independent ones, the
identity rule on constructed networks and against a readable twin, the flows, shares and
events, the Dask path, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynsys
from dynsys._census._track import _readonly_census, match_points
from tests._oracles.census_track_reference import reference_identities, reference_match

WTA = np.array([[2.0, -3.0], [-3.0, 2.0]])  # winner-take-all: attractors (0, 1) and (1, 0)
# (0, 1) becomes a saddle (coordinate 0's rate W01 = 1 points off its face): one attractor
ONE = np.array([[2.0, 1.0], [-3.0, 2.0]])


def _face_net(w01):
    """y1 = 1 stays (rate 3 > 0); y0 solves -2 y0 + w01 = 0: interior at w01 / 2 below 2,
    on the face y0 = 1 from w01 > 2 (its rate -2 + w01 then points into that face)."""
    return dynsys.Network(np.array([[-2.0, w01], [0.0, 3.0]]))


def _inputs(n=40, d=2, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, d))


def _assert_same_census(got, ref):
    for f in dataclasses.fields(ref):
        a, b = getattr(got, f.name), getattr(ref, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b or (a != a and b != b), f.name


def _assert_consistent(track):
    """What every track must satisfy, from its censuses alone."""
    K, B = track.input_ids.shape
    assert len(track.censuses) == len(track.point_ids) == K
    for k, (c, ids) in enumerate(zip(track.censuses, track.point_ids)):
        assert ids.shape == (len(c),) and np.unique(ids).size == ids.size
        asg = np.atleast_1d(c.assignment)
        on = asg >= 0
        np.testing.assert_array_equal(track.input_ids[k][on], ids[asg[on]])
        off = track.input_ids[k][~on]
        np.testing.assert_array_equal(
            off, np.where(c.status[~on] == "cycle", -1, -2))
        np.testing.assert_array_equal(track.id_first[ids] <= k, True)
        np.testing.assert_array_equal(track.id_last[ids] >= k, True)
    t = track.transitions
    for k in range(K - 1):
        sel = t.step == k
        assert t.count[sel].sum() == B
        m = t.matrix(k)
        assert m.sum() == B
        direct = np.zeros_like(m)
        np.add.at(direct, (track.input_ids[k] + 2, track.input_ids[k + 1] + 2), 1)
        np.testing.assert_array_equal(m, direct)
    total = track.shares.sum(axis=1) + track.pseudo_shares.sum(axis=1)
    has = np.bincount(track.labels if track.labels is not None else np.zeros(B, int),
                      minlength=total.shape[1]) > 0
    np.testing.assert_allclose(total[:, has], 1.0)
    # an identity is present from its first to its last checkpoint, without a gap
    for i in range(track.n_ids):
        present = [i in ids for ids in track.point_ids]
        assert present == [track.id_first[i] <= k <= track.id_last[i] for k in range(K)]
    # every carried identity moved at most match_tol, and kept its pattern, unless recorded;
    # a match by inputs shares more than match_inputs of the inputs of each point
    fc = track.face_changes
    rule = dict(zip(zip(fc.identity.tolist(), fc.checkpoint.tolist()), fc.rule.tolist()))
    for k in range(1, K):
        a, b = track.censuses[k - 1], track.censuses[k]
        asg0, asg1 = np.atleast_1d(a.assignment), np.atleast_1d(b.assignment)
        for m_b, i in enumerate(track.point_ids[k]):
            hit = np.flatnonzero(track.point_ids[k - 1] == i)
            if hit.size:
                m_a = hit[0]
                how = rule.get((int(i), k))
                d = np.max(np.abs(a.points[m_a] - b.points[m_b]))
                same = np.array_equal(a.patterns[m_a], b.patterns[m_b])
                if how == "inputs":
                    shared = np.count_nonzero((asg0 == m_a) & (asg1 == m_b))
                    assert shared > track.match_inputs * np.count_nonzero(asg0 == m_a)
                    assert shared > track.match_inputs * np.count_nonzero(asg1 == m_b)
                else:
                    assert d <= track.match_tol
                    assert same == (how != "distance")


# ---- the censuses ------------------------------------------------------------------------


def test_censuses_equal_independent_ones_exactly():
    rng = np.random.default_rng(3)
    W0 = rng.normal(size=(4, 4)) * 1.5 + np.eye(4)
    W1 = rng.normal(size=(4, 4)) * 1.5 + np.eye(4)
    nets = [dynsys.Network(W0 + s * (W1 - W0), b=0.1 * rng.normal(size=4))
            for s in np.linspace(0.0, 1.0, 4)]
    x0 = rng.normal(size=(60, 4)) * 2.0
    labels = rng.integers(0, 3, size=60)
    opts = dict(distance_tol=1e-7, max_period=32)
    track = dynsys.track_census(nets, x0, 300, max_depth=3000, labels=labels, **opts)
    for net, c in zip(nets, track.censuses):
        _assert_same_census(c, dynsys.attractor_census(net, x0, 300, labels=labels,
                                                       max_depth=3000, **opts))
    _assert_consistent(track)
    ids, births, deaths = reference_identities(track.censuses, track.match_tol)
    assert [p.tolist() for p in track.point_ids] == ids
    assert list(zip(track.births.identity.tolist(), track.births.checkpoint.tolist())) == births
    assert list(zip(track.deaths.identity.tolist(), track.deaths.checkpoint.tolist())) == deaths


@pytest.mark.parametrize("kw", [dict(kind="mlp"), dict(activation="tanh")])
def test_other_kinds_and_activations(kw):
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 3)) * 2.0
    nets = [dynsys.Network(W * (1.0 + 0.02 * k), **kw) for k in range(3)]
    x0 = rng.normal(size=(30, 3))
    track = dynsys.track_census(nets, x0, 300)
    for net, c in zip(nets, track.censuses):
        _assert_same_census(c, dynsys.attractor_census(net, x0, 300))
    _assert_consistent(track)


def test_identical_networks_reuse_the_census():
    a, b = dynsys.Network(WTA), dynsys.Network(ONE)
    track = dynsys.track_census([a, dynsys.Network(WTA.copy()), b, a], _inputs(), 500)
    assert track.reused_from.tolist() == [-1, 0, -1, 0]
    assert track.censuses[1] is track.censuses[0] and track.censuses[3] is track.censuses[0]
    _assert_same_census(track.censuses[2], dynsys.attractor_census(b, _inputs(), 500))


# ---- the identity rule -------------------------------------------------------------------


def test_a_point_that_moves_a_little_keeps_its_identity():
    # (0.5, 1) -> (0.52, 1): same pattern, 0.02 apart
    track = dynsys.track_census([_face_net(1.0), _face_net(1.04)], _inputs(), 2000)
    assert [c.points.tolist() for c in track.censuses] == [[[0.5, 1.0]], [[0.52, 1.0]]]
    assert [p.tolist() for p in track.point_ids] == [[0], [0]]
    assert len(track.births) == len(track.deaths) == len(track.face_changes) == 0
    assert track.input_ids.tolist() == [[0] * 40, [0] * 40]
    assert track.id_first.tolist() == [0] and track.id_last.tolist() == [1]


def test_a_point_that_moves_farther_than_match_tol_dies_and_a_new_one_is_born():
    # (0.5, 1) -> (0.6, 1): 0.1 apart; a match_tol of 0.2 carries it
    nets = [_face_net(1.0), _face_net(1.2)]
    track = dynsys.track_census(nets, _inputs(), 2000)
    assert [p.tolist() for p in track.point_ids] == [[0], [1]]
    assert track.births.identity.tolist() == [1] and track.births.checkpoint.tolist() == [1]
    assert track.deaths.identity.tolist() == [0] and track.deaths.checkpoint.tolist() == [1]
    assert track.id_last.tolist() == [0, 1]
    assert track.transitions.matrix(0)[2, 3] == 40
    wide = dynsys.track_census(nets, _inputs(), 2000, match_tol=0.2)
    assert [p.tolist() for p in wide.point_ids] == [[0], [0]]


def test_a_point_that_keeps_its_inputs_keeps_its_identity_with_match_inputs():
    # (0.5, 1) -> (0.6, 1): too far for match_tol, but every input stays with it
    nets = [_face_net(1.0), _face_net(1.2)]
    track = dynsys.track_census(nets, _inputs(), 2000, match_inputs=0.5)
    assert [p.tolist() for p in track.point_ids] == [[0], [0]]
    assert len(track.births) == len(track.deaths) == 0
    fc = track.face_changes
    assert fc.rule.tolist() == ["inputs"] and fc.identity.tolist() == [0]
    assert fc.checkpoint.tolist() == [1] and fc.distance[0] == pytest.approx(0.1)
    assert track.match_inputs == 0.5
    _assert_consistent(track)


def test_a_corner_that_flips_a_coordinate_is_followed_by_its_inputs():
    # every input of the positive quadrant goes to (1, 1), then to (1, 0): coordinate 1's
    # rate -1 + 0.5 y1 turns negative on the face y1 = 1
    nets = [dynsys.Network(np.eye(2)), dynsys.Network(np.array([[1.0, 0.0], [-1.0, 0.5]]))]
    x0 = _inputs() + 0.1
    plain = dynsys.track_census(nets, x0, 2000)
    assert [c.points.tolist() for c in plain.censuses] == [[[1.0, 1.0]], [[1.0, 0.0]]]
    assert [p.tolist() for p in plain.point_ids] == [[0], [1]]
    track = dynsys.track_census(nets, x0, 2000, match_inputs=0.5)
    assert [p.tolist() for p in track.point_ids] == [[0], [0]]
    np.testing.assert_array_equal(track.face_changes.old_pattern, [[1, 1]])
    np.testing.assert_array_equal(track.face_changes.new_pattern, [[1, 0]])
    assert track.face_changes.distance.tolist() == [1.0]


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_a_point_whose_inputs_split_continues_only_into_a_large_enough_part(share):
    # one corner (1, 1) takes every input; then winner-take-all splits them between (0, 1)
    # and (1, 0): the larger part continues the identity if it holds more than `share`
    nets = [dynsys.Network(np.eye(2)), dynsys.Network(WTA)]
    x0 = _inputs(seed=4) + 0.01
    track = dynsys.track_census(nets, x0, 2000, match_inputs=share)
    parts = np.bincount(track.censuses[1].assignment)
    assert track.censuses[0].points.tolist() == [[1.0, 1.0]] and parts.size == 2
    big = int(np.argmax(parts))
    if parts[big] > share * x0.shape[0]:
        assert track.point_ids[1][big] == 0 and len(track.deaths) == 0
    else:
        assert 0 not in track.point_ids[1] and track.deaths.identity.tolist() == [0]
    ids, births, deaths = reference_identities(track.censuses, track.match_tol, share)
    assert [p.tolist() for p in track.point_ids] == ids


def test_the_split_test_meets_both_outcomes():
    parts = np.bincount(dynsys.attractor_census(dynsys.Network(WTA), _inputs(seed=4) + 0.01,
                                                2000).assignment)
    assert 0.5 < parts.max() / parts.sum() <= 0.9


@pytest.mark.parametrize("share", [0.0, 1.0, -0.5, float("nan"), True, "half"])
def test_match_inputs_must_be_a_share(share):
    with pytest.raises(ValueError, match="`match_inputs` must be None or a share"):
        dynsys.track_census([dynsys.Network(WTA)], _inputs(), 50, match_inputs=share)


def test_a_vanishing_point_dies_and_its_return_is_a_birth():
    nets = [dynsys.Network(WTA), dynsys.Network(ONE), dynsys.Network(WTA)]
    x0 = _inputs()
    track = dynsys.track_census(nets, x0, 2000)
    pts = [c.points.tolist() for c in track.censuses]
    assert pts == [[[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]]
    assert [p.tolist() for p in track.point_ids] == [[0, 1], [1], [2, 1]]
    assert track.deaths.identity.tolist() == [0] and track.deaths.checkpoint.tolist() == [1]
    assert track.births.identity.tolist() == [2] and track.births.checkpoint.tolist() == [2]
    at_a = track.input_ids[0] == 0  # the inputs at (0, 1) move to (1, 0), then to the new one
    assert at_a.sum() > 0 and (~at_a).sum() > 0
    assert np.all(track.input_ids[1] == 1)
    np.testing.assert_array_equal(track.input_ids[2], np.where(at_a, 2, 1))
    m = track.transitions.matrix(0)
    assert m[0 + 2, 1 + 2] == at_a.sum() and m[1 + 2, 1 + 2] == (~at_a).sum()
    _assert_consistent(track)


def test_a_face_change_keeps_the_identity_and_is_recorded():
    # (0.98, 1) interior -> (1, 1) on the face: 0.02 apart, patterns [2, 1] and [1, 1]
    track = dynsys.track_census([_face_net(1.96), _face_net(2.02), _face_net(1.96)],
                                _inputs(), 3000)
    assert [c.patterns.tolist() for c in track.censuses] == [[[2, 1]], [[1, 1]], [[2, 1]]]
    assert [p.tolist() for p in track.point_ids] == [[0], [0], [0]]
    fc = track.face_changes
    assert fc.identity.tolist() == [0, 0] and fc.checkpoint.tolist() == [1, 2]
    assert fc.old_pattern.tolist() == [[2, 1], [1, 1]]
    assert fc.new_pattern.tolist() == [[1, 1], [2, 1]]
    np.testing.assert_allclose(fc.distance, 0.02, atol=1e-9)
    assert track.id_patterns.tolist() == [[2, 1]]
    np.testing.assert_allclose(track.id_points, [[0.98, 1.0]])
    assert len(track.births) == len(track.deaths) == 0


def test_equal_patterns_are_matched_before_closer_face_changes():
    # point 0 of k is 0.01 from a point on another face and 0.04 from one on its own
    P0, Q0 = np.array([[0.5, 1.0]]), np.array([[2, 1]], np.int8)
    P1 = np.array([[0.51, 1.0], [0.54, 1.0]])
    Q1 = np.array([[2, 0], [2, 1]], np.int8)
    src, tgt, dist, face = match_points(P0, Q0, P1, Q1, 0.05)
    assert src.tolist() == [0] and tgt.tolist() == [1] and face.tolist() == [False]


def test_ties_go_to_the_lower_index():
    P0 = np.array([[0.5], [0.5]])
    P1 = np.array([[0.5], [0.5]])
    Q = np.array([[2], [2]], np.int8)
    src, tgt, _, _ = match_points(P0, Q, P1, Q, 0.05)
    assert src.tolist() == [0, 1] and tgt.tolist() == [0, 1]
    src, tgt, _, _ = match_points(P0[:1], Q[:1], P1, Q, 0.05)
    assert src.tolist() == [0] and tgt.tolist() == [0]


_grid = st.integers(0, 6).map(lambda v: v / 64.0)  # exact binary fractions: ties happen


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(0, 5), st.integers(0, 5), st.data())
def test_match_points_against_the_readable_twin(n, m0, m1, data):
    pats = st.lists(st.integers(0, 2), min_size=n, max_size=n)
    P0 = np.array(data.draw(st.lists(st.lists(_grid, min_size=n, max_size=n),
                                     min_size=m0, max_size=m0)), float).reshape(m0, n)
    P1 = np.array(data.draw(st.lists(st.lists(_grid, min_size=n, max_size=n),
                                     min_size=m1, max_size=m1)), float).reshape(m1, n)
    Q0 = np.array([data.draw(pats) for _ in range(m0)], np.int8).reshape(m0, n)
    Q1 = np.array([data.draw(pats) for _ in range(m1)], np.int8).reshape(m1, n)
    tol = data.draw(st.sampled_from([1 / 64, 2 / 64, 3 / 64]))
    src, tgt, dist, face = match_points(P0, Q0, P1, Q1, tol)
    got = list(zip(src.tolist(), tgt.tolist(), dist.tolist(), face.tolist()))
    assert got == reference_match(P0, Q0, P1, Q1, tol)


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 4), st.integers(1, 4), st.integers(0, 10**6), st.booleans())
def test_random_sequences_are_consistent(n, K, seed, with_labels):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) * 2.0 + np.eye(n)
    nets = []
    for _ in range(K):
        nets.append(dynsys.Network(W))
        W = W + 0.3 * rng.normal(size=(n, n))
    x0 = rng.normal(size=(25, n)) * 2.0
    labels = rng.integers(0, 3, size=25) if with_labels else None
    share = [None, 0.5, 0.3][seed % 3]
    track = dynsys.track_census(nets, x0, 200, labels=labels, match_tol=0.1,
                                match_inputs=share)
    _assert_consistent(track)
    assert track.shares.shape == (K, track.n_ids, 3 if with_labels else 1)
    ids, births, deaths = reference_identities(track.censuses, 0.1, share)
    assert [p.tolist() for p in track.point_ids] == ids
    assert list(zip(track.births.identity.tolist(), track.births.checkpoint.tolist())) == births
    assert list(zip(track.deaths.identity.tolist(), track.deaths.checkpoint.tolist())) == deaths


# ---- pseudo-identities, shares, the result ------------------------------------------------


def test_cycles_and_unconverged_inputs_get_pseudo_identities():
    cyc = dynsys.Network([[-20.0]], [10.0], kind="mlp")  # a 2-cycle around the saddle 1/2
    x0 = np.array([[0.3], [0.5], [0.9]])
    track = dynsys.track_census([cyc, cyc], x0, 1000)
    c = track.censuses[0]
    assert c.status.tolist() == ["cycle", "saddle", "cycle"]
    assert track.input_ids.tolist() == [[-1, 0, -1], [-1, 0, -1]]
    np.testing.assert_allclose(track.pseudo_shares[:, 0, 0], 2 / 3)
    short = dynsys.track_census([dynsys.Network(WTA)], _inputs(5), 1)
    assert short.censuses[0].counts()["not converged"] == 5
    assert short.input_ids.tolist() == [[-2] * 5]
    assert dynsys.CENSUS_PSEUDO_IDS == {"cycle": -1, "not converged": -2}


def test_shares_per_class():
    nets = [dynsys.Network(WTA), dynsys.Network(ONE)]
    x0 = _inputs()
    labels = (x0[:, 0] > x0[:, 1]).astype(int)  # class 1: the inputs that go to (1, 0)
    track = dynsys.track_census(nets, x0, 2000, labels=labels)
    np.testing.assert_allclose(track.shares[0], [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(track.shares[1], [[0.0, 0.0], [1.0, 1.0]])
    assert track.shares.shape == (2, 2, 2) and np.all(track.pseudo_shares == 0.0)
    _assert_consistent(track)


def test_result_is_frozen_with_a_short_repr_and_a_table():
    track = dynsys.track_census([dynsys.Network(WTA), dynsys.Network(ONE)], _inputs(), 2000)
    with pytest.raises(ValueError):
        track.input_ids[0, 0] = 5
    with pytest.raises(ValueError):
        track.point_ids[0][0] = 5
    with pytest.raises(ValueError):
        track.transitions.count[0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        track.match_tol = 1.0
    assert repr(track) == ("CensusTrack(checkpoints=2, inputs=40, identities=2, births=0, "
                           "deaths=1, face_changes=0)")
    assert repr(track.deaths) == "CensusEvents(kind='deaths', events=1)"
    text = track.table()
    lines = text.splitlines()
    assert lines[0] == "census track: 2 checkpoints, 40 inputs, 2 identities (match_tol 0.05)"
    assert lines[1].split()[:2] == ["checkpoint", "points"]
    assert lines[3].split()[:2] == ["1", "1"] and lines[3].split()[-3] == "1"  # one death
    assert "identities with the most inputs" in text
    assert track.transitions.ids.tolist() == [-2, -1, 0, 1]
    single = dynsys.track_census([dynsys.Network(WTA)], _inputs(), 100)
    assert len(single.transitions) == 0 and single.transitions.n_steps == 0
    with pytest.raises(ValueError, match="`step`"):
        single.transitions.matrix(0)


def test_progress_over_checkpoints():
    seen = []
    nets = [dynsys.Network(WTA), dynsys.Network(ONE), dynsys.Network(0.5 * WTA)]
    dynsys.track_census(nets, _inputs(), 100, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    # a reused census covers its checkpoints when it is done
    seen.clear()
    nets[2] = nets[0]
    dynsys.track_census(nets, _inputs(), 100, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 3), (2, 3), (3, 3)]


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("call,error,pattern", [
    (lambda: dynsys.track_census(dynsys.Network(WTA), _inputs(), 10), TypeError,
     r"`networks` must be a sequence of dynsys.Network .*single Network"),
    (lambda: dynsys.track_census([], _inputs(), 10), ValueError,
     r"`networks` must hold at least one"),
    (lambda: dynsys.track_census([dynsys.Network(WTA), WTA], _inputs(), 10), TypeError,
     r"`networks\[1\]` must be a dynsys.Network; got array"),
    (lambda: dynsys.track_census([dynsys.Network(WTA), dynsys.Network(np.eye(3))], _inputs(),
                                 10), ValueError,
     r"networks\[1\] has width 3, networks\[0\] has 2"),
    (lambda: dynsys.track_census([dynsys.Network(WTA), dynsys.Network(WTA, kind="mlp")],
                                 _inputs(), 10), ValueError,
     r"networks\[1\] has kind 'mlp', networks\[0\] has 'resnet'"),
    (lambda: dynsys.track_census([dynsys.Network(WTA), dynsys.Network(WTA, activation="tanh")],
                                 _inputs(), 10), ValueError, r"networks\[1\] has activation"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(d=3), 10), ValueError,
     r"`x0` must have shape \(B, 2\).*got shape \(40, 3\)"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], [1.0, 0.0], 10), ValueError,
     r"`x0` must have shape \(B, 2\).*got shape \(2,\)"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, labels=[0, 1]),
     ValueError, r"`labels` must hold .*shape \(40,\)"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, match_tol=0.0),
     ValueError, r"`match_tol` must be finite and > 0; got 0.0"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, match_tol=np.inf),
     ValueError, r"`match_tol` must be finite and > 0; got inf"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, tol=1e-3), TypeError,
     r"unexpected census option `tol`; the census options are margin, "),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, progress=3), TypeError,
     r"`progress` must be a callable"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), None), ValueError,
     r"`depth` .*networks\[0\] has shared weights"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, max_depth=5),
     ValueError, r"`max_depth` must be >= 10; got 5"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, margin=-1.0),
     ValueError, r"`margin` must be finite and > 0"),
    (lambda: dynsys.track_census([dynsys.Network(WTA)], _inputs(), 10, client=object()),
     TypeError, r"`client` must be a distributed.Client"),
])
def test_errors_name_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_arguments_are_checked_before_any_census_runs():
    seen = []
    nets = [dynsys.Network(WTA), dynsys.Network(WTA, P=np.eye(2)), dynsys.Network(WTA)]
    with pytest.raises(ValueError, match="`max_depth`"):
        dynsys.track_census(nets, _inputs(), 10, max_depth=3,
                            progress=lambda d, t: seen.append(d))
    assert seen == []


# ---- the Dask path -----------------------------------------------------------------------


def test_a_census_back_from_a_worker_process_is_read_only_again():
    import pickle

    c = dynsys.attractor_census(dynsys.Network(WTA), _inputs(), 100)
    back = pickle.loads(pickle.dumps(c))  # as a worker process returns it
    assert back.points.flags.writeable
    assert _readonly_census(back) is back
    assert not back.points.flags.writeable and not back.status.flags.writeable


def test_dask_client_gives_the_local_result():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(7)
    W0, W1 = rng.normal(size=(2, 4, 4)) * 1.5
    nets = [dynsys.Network(W0 + s * (W1 - W0)) for s in np.linspace(0.0, 1.0, 3)]
    nets.append(nets[1])
    x0 = rng.normal(size=(40, 4)) * 2.0
    labels = rng.integers(0, 2, size=40)
    local = dynsys.track_census(nets, x0, 300, labels=labels, distance_tol=1e-7)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        seen = []
        remote = dynsys.track_census(nets, x0, 300, labels=labels, distance_tol=1e-7,
                                     client=client, progress=lambda d, t: seen.append((d, t)))
    finally:
        client.close()
        cluster.close()
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert remote.reused_from.tolist() == [-1, -1, -1, 1]
    for a, b in zip(remote.censuses, local.censuses):
        _assert_same_census(a, b)
        assert not a.points.flags.writeable
    for name in ("input_ids", "shares", "pseudo_shares", "id_patterns", "id_points",
                 "id_first", "id_last"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
    for a, b in zip(remote.point_ids, local.point_ids):
        np.testing.assert_array_equal(a, b)
    for name in ("step", "source", "target", "count"):
        np.testing.assert_array_equal(getattr(remote.transitions, name),
                                      getattr(local.transitions, name))
