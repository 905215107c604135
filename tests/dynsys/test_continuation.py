"""continue_fixed_points: events in closed form, agreement with fresh listings on a grid,
pruning, Dask, validation."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from tests._oracles.continuation_exact_reference import de_casteljau, unit_roots
from tests._oracles.continuation_reference import (event_mismatches, grid_mismatches,
                                                   random_path)


def _events(cont, pattern, kind):
    ev = cont.events
    sel = np.all(ev.pattern == np.array(pattern), axis=1) & (ev.kind == kind)
    return ev.select(sel)


# --- events known in closed form -------------------------------------------------------


def test_a_point_reaches_the_face_one_where_its_neighbour_exchanges():
    # pattern (1, 2): y_0 = 1 and W_11 y_1 = -W_10, so y_1 = W_10 = 0.5 + s: y_1 = 1 at 0.5
    W0 = np.array([[-1.0, 0.0], [0.5, -1.0]])
    W1 = np.array([[-1.0, 0.0], [1.5, -1.0]])
    cont = dynsys.continue_fixed_points([W0, W1])
    box = _events(cont, (1, 2), "box:leave")
    assert len(box) == 1 and box.s[0] == pytest.approx(0.5, abs=1e-10)
    assert box.coordinate[0] == 1 and box.value[0] == pytest.approx(1.0)
    # the neighbour (1, 1): its rate (W y)_1 = W_10 + W_11 crosses 0 at the same s
    flow = _events(cont, (1, 1), "flow:real")
    assert len(flow) == 1 and flow.s[0] == pytest.approx(0.5, abs=1e-10)
    assert flow.coordinate[0] == 1
    rows = np.flatnonzero(np.all(cont.branches.pattern == [1, 2], axis=1))
    assert cont.branches.in_box[rows].tolist() == [True, False]
    assert cont.branches.s_end[rows[0]] == pytest.approx(0.5, abs=1e-10)


def test_a_face_system_turns_singular():
    # pattern (1, 2): W_11(s) = -1 + 4 s vanishes at s = 1/4
    W0 = np.array([[-1.0, 2.0], [3.0, -1.0]])
    cont = dynsys.continue_fixed_points([W0, W0 + np.array([[0.0, 0.0], [0.0, 4.0]])])
    sing = _events(cont, (1, 2), "singular")
    assert len(sing) == 1 and sing.s[0] == pytest.approx(0.25, abs=1e-10)
    rows = np.flatnonzero(np.all(cont.branches.pattern == [1, 2], axis=1))
    assert len(rows) == 2 and cont.branches.s_end[rows[0]] == pytest.approx(0.25, abs=1e-10)


def _rotation_path(a0, a1):
    """N = 3, pattern (1, 2, 2): y_I = (1/2, 1/2) and W[I,I] = [[a, -1], [1, a]], so the
    interior eigenvalues are (a +- i) / 4; the coordinate at 1 has eigenvalue -2."""
    def W(a):
        A = np.array([[a, -1.0], [1.0, a]])
        out = np.zeros((3, 3))
        out[0, 0] = 2.0
        out[1:, 1:] = A
        out[1:, 0] = -A @ np.array([0.5, 0.5])
        return out
    return np.array([W(a0), W(a1)])


def test_a_complex_pair_crosses_the_imaginary_axis_and_the_unit_circle():
    # a(s) = -0.5 + s: the flow's pair (a +- i)/4 crosses at s = 1/2; the multipliers
    # 1 + (a +- i)/4 leave the unit circle where (1 + a/4)^2 + 1/16 = 1
    cont = dynsys.continue_fixed_points(_rotation_path(-0.5, 0.5))
    hopf = _events(cont, (1, 2, 2), "flow:complex")
    assert len(hopf) == 1 and hopf.s[0] == pytest.approx(0.5, abs=1e-10)
    assert hopf.value[0] == pytest.approx(0.25j, abs=1e-8)
    assert (hopf.before[0], hopf.after[0]) == ("stable", "saddle")
    a_ns = 4.0 * (np.sqrt(15.0 / 16.0) - 1.0)
    ns = _events(cont, (1, 2, 2), "map:complex")
    assert len(ns) == 1 and ns.s[0] == pytest.approx(0.5 + a_ns, abs=1e-10)
    assert abs(abs(ns.value[0]) - 1.0) < 1e-8
    assert (ns.before[0], ns.after[0]) == ("stable", "saddle")


def test_a_multiplier_through_minus_one():
    # pattern (1, 2): y_1 = 1/2 (W_10 = -W_11 / 2), interior eigenvalue W_11 / 4 = -2 at
    # W_11 = -6 - 4 s = -8, s = 1/2
    def W(s):
        w11 = -6.0 - 4.0 * s
        return np.array([[1.0, 0.0], [-w11 / 2.0, w11]])
    cont = dynsys.continue_fixed_points([W(0.0), W(1.0)])
    flip = _events(cont, (1, 2), "map:-1")
    assert len(flip) == 1 and flip.s[0] == pytest.approx(0.5, abs=1e-10)
    assert flip.value[0] == pytest.approx(-1.0, abs=1e-8)
    assert (flip.before[0], flip.after[0]) == ("stable", "saddle")
    assert len(_events(cont, (1, 2), "flow:real")) == 0


def test_a_degenerate_path_is_reported():
    # W_11 = 0 all along: every pattern with coordinate 1 interior is singular identically
    Ws = [[[-1.0, 2.0], [3.0, 0.0]], [[-2.0, 1.0], [1.0, 0.0]]]
    cont = dynsys.continue_fixed_points(Ws)
    deg = cont.branches.pattern[cont.branches.degenerate]
    assert {tuple(p) for p in deg.tolist()} == {(0, 2), (1, 2)}
    assert not cont.branches.in_box[cont.branches.degenerate].any()


# --- agreement with fresh listings -------------------------------------------------------


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
@pytest.mark.parametrize("n, seed", [(2, 0), (3, 1), (4, 2)])
def test_branches_and_labels_agree_with_fresh_listings(activation, n, seed):
    cont = dynsys.continue_fixed_points(random_path(n, 3, seed), activation=activation)
    assert grid_mismatches(cont, 41) == []
    assert event_mismatches(cont) == []
    for s in (0.3, 1.7):
        fp, ref = cont.points_at(s), dynsys.fixed_points(cont.W_at(s), activation=activation)
        np.testing.assert_array_equal(fp.patterns, ref.patterns)
        np.testing.assert_array_equal(fp.points, ref.points)
        np.testing.assert_array_equal(fp.stability, ref.stability)
        np.testing.assert_array_equal(fp.map_stability, ref.map_stability)


def test_a_wider_network_on_a_short_path():
    cont = dynsys.continue_fixed_points(random_path(6, 2, 3, step=0.2))
    assert grid_mismatches(cont, 9) == []
    assert cont.work.pruned[0] > 0.5 * cont.work.patterns[0]


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
def test_pruning_changes_nothing(activation):
    Ws = random_path(3, 3, 4)
    a = dynsys.continue_fixed_points(Ws, activation=activation)
    b = dynsys.continue_fixed_points(Ws, activation=activation, prune=False)
    for f in ("pattern", "s_start", "s_end", "in_box", "degenerate"):
        np.testing.assert_array_equal(getattr(a.branches, f), getattr(b.branches, f))
    for f in ("s", "kind", "pattern", "coordinate", "before", "after"):
        np.testing.assert_array_equal(getattr(a.events, f), getattr(b.events, f))
    assert a.work.eigen_solves.sum() <= b.work.eigen_solves.sum()
    assert b.work.pruned.sum() == 0


def test_work_and_progress():
    calls = []
    cont = dynsys.continue_fixed_points(random_path(3, 4, 5),
                                        progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    w = cont.work
    assert w.patterns.tolist() == [27] * 3
    np.testing.assert_array_equal(w.pruned + w.candidates, w.patterns)
    assert set(w.per_pattern) == {"solves", "eigen_solves", "pruned_fraction"}
    assert "FixedPointContinuation(N=3, K=4" in repr(cont)


# --- helpers -------------------------------------------------------------------------------


def test_de_casteljau_halves_evaluate_the_same_polynomial():
    from scipy.special import comb

    b = np.array([1.0, -2.0, 0.5, 3.0])
    d = b.size - 1

    def ev(coef, t):
        j = np.arange(d + 1)
        return np.sum(coef * comb(d, j) * t**j * (1 - t) ** (d - j))

    left, right = de_casteljau(b)
    for t in (0.1, 0.3, 0.45):
        assert ev(left, t) == pytest.approx(ev(b, t / 2))
        assert ev(right, t) == pytest.approx(ev(b, 0.5 + t / 2))


def test_unit_roots_of_a_known_polynomial():
    from dynsys._kernels.continuation import bernstein_tables

    nodes, to_b = bernstein_tables(4)
    f = lambda t: (t - 0.2) * (t - 0.7) * (t + 1.0)  # noqa: E731
    b = to_b[3, :4, :4] @ np.array([f(t) for t in nodes[3, :4]])
    roots = unit_roots(b, f, [0])
    np.testing.assert_allclose(roots, [0.2, 0.7], atol=1e-11)
    # one sign throughout: no root, no evaluation needed
    g = lambda t: 1.0 + t * t  # noqa: E731
    bg = to_b[2, :3, :3] @ np.array([g(t) for t in nodes[2, :3]])
    assert unit_roots(bg, g, [0]) == []


# --- Dask and validation --------------------------------------------------------------------


def test_dask_equals_local():
    distributed = pytest.importorskip("distributed")
    Ws = random_path(3, 3, 6)
    local = dynsys.continue_fixed_points(Ws, activation="tanh")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        remote = dynsys.continue_fixed_points(Ws, activation="tanh", client=client)
    finally:
        client.close()
        cluster.close()
    for f in ("pattern", "s_start", "s_end", "in_box"):
        np.testing.assert_array_equal(getattr(local.branches, f), getattr(remote.branches, f))
    for f in ("s", "kind", "pattern", "value", "before", "after"):
        np.testing.assert_array_equal(getattr(local.events, f), getattr(remote.events, f))


@pytest.mark.parametrize("Ws, error, match", [
    (np.zeros((1, 2, 2)), ValueError, "K >= 2"),
    (np.zeros((2, 2, 3)), ValueError, r"shape \(K, N, N\)"),
    (np.zeros((2, 14, 14)), ValueError, "N = 14"),
    (np.full((2, 2, 2), np.nan), ValueError, "finite"),
    (np.zeros((2, 2, 2)) + 1j, TypeError, "real"),
    ([np.zeros((2, 2)), np.zeros((3, 3))], ValueError, "one shape"),
    ("W", TypeError, "Ws"),
])
def test_validation(Ws, error, match):
    with pytest.raises(error, match=match):
        dynsys.continue_fixed_points(Ws)


def test_validation_of_the_options():
    Ws = np.zeros((2, 2, 2))
    with pytest.raises(TypeError, match="progress"):
        dynsys.continue_fixed_points(Ws, progress=3)
    with pytest.raises(ValueError, match="activation"):
        dynsys.continue_fixed_points(Ws, activation="relu")
    with pytest.raises(ValueError, match="zero_tol"):
        dynsys.continue_fixed_points(Ws, zero_tol=-1.0)
    cont = dynsys.continue_fixed_points(Ws + np.eye(2))
    with pytest.raises(ValueError, match="`s`"):
        cont.points_at(2.0)
