"""dynsys.basins: Monte Carlo basin fractions of the stable fixed points, flow and map."""

import numpy as np
import pytest

import dynsys
from tests._oracles.basins_reference import map_basin_labels, map_stable_points


def test_single_attractor_takes_everything():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    bas = dynsys.basins(W, n_samples=500, seed=1)
    np.testing.assert_allclose(bas.points, [[1.0, 1.0]])
    assert bas.counts.tolist() == [500] and bas.n_unassigned == 0
    assert bas.stderr[0] == 0.0


def test_symmetric_bistable_system_splits_in_half():
    """W = [[1, -2], [-2, 1]]: stable points (1, 0) and (0, 1), basins split by the diagonal
    y1 = y2 by symmetry, so each fraction is 1/2 up to sampling error."""
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    bas = dynsys.basins(W, n_samples=4000, seed=2)
    assert bas.points.shape == (2, 2)
    assert bas.n_unassigned == 0
    assert np.all(np.abs(bas.fractions - 0.5) < 4 * bas.stderr)
    # the diagonal decides: y1 > y2 ends at (1, 0)
    to_10 = np.argmin(np.abs(bas.points - [1.0, 0.0]).max(axis=1))
    np.testing.assert_array_equal(bas.labels == to_10, bas.initial[:, 0] > bas.initial[:, 1])
    assert bas.fractions.sum() + bas.unassigned_fraction == pytest.approx(1.0)


def test_stderr_is_binomial_and_seeded():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    a = dynsys.basins(W, n_samples=300, seed=5)
    b = dynsys.basins(W, n_samples=300, seed=5)
    np.testing.assert_array_equal(a.labels, b.labels)
    p = a.fractions
    np.testing.assert_allclose(a.stderr, np.sqrt(p * (1 - p) / 300))
    assert np.all((a.initial > 0) & (a.initial < 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_assignments_agree_with_integration_and_fixed_points(seed):
    """N = 4 random W: every assigned sample ends within tol of its stable point, and
    refining the end state lands on the same listed point."""
    W = np.random.default_rng(seed).normal(size=(4, 4)) * 2
    bas = dynsys.basins(W, n_samples=400, seed=seed)
    listed = dynsys.fixed_points(W, only="stable_in_box").points
    np.testing.assert_allclose(np.sort(bas.points, axis=0), np.sort(listed, axis=0))
    ok = bas.labels >= 0
    assert ok.mean() > 0.9
    d = np.abs(bas.final[ok] - bas.points[bas.labels[ok]]).max(axis=1)
    assert np.all(d <= bas.distance_tol)
    for i in np.flatnonzero(ok)[:5]:
        r = dynsys.refine_fixed_point(W, bas.final[i])
        np.testing.assert_allclose(r.point, bas.points[bas.labels[i]], atol=1e-8)


def test_unassigned_when_no_attractor_given():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    bas = dynsys.basins(W, n_samples=100, points=[[1.0, 0.0]])
    assert 0 < bas.n_unassigned < 100
    assert bas.unassigned_fraction == pytest.approx(bas.n_unassigned / 100)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "`n_samples`"),
        (dict(t_max=-1.0), "`t_max`"),
        (dict(distance_tol=0.0), "`distance_tol`"),
        (dict(dynamics="euler"), "`dynamics`"),
        (dict(dynamics="map", t_max=10.0), "`t_max`"),
        (dict(depth=10), "`depth`"),
        (dict(dynamics="map", depth=0), "`depth`"),
        (dict(initial=[[0.5, 1.0]]), "`initial`"),
        (dict(initial=[0.5, 0.5]), "`initial`"),
        (dict(points=[[1.0j, 0.0]]), "`points`"),
        (dict(points=[[1.0, 0.0, 0.0]]), "`points`"),
    ],
)
def test_basins_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.basins([[1.0, -2.0], [-2.0, 1.0]], **kwargs)


def test_basins_refuses_large_n_without_points():
    with pytest.raises(ValueError, match="`points`"):
        dynsys.basins(np.eye(11), n_samples=10)


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_map_basins_against_the_readable_twin(seed):
    """dynamics="map": labels and end states equal a one-sample-at-a-time loop over the
    layers, with the attractors picked from the enumeration's multipliers by hand."""
    W = np.random.default_rng(seed).normal(size=(4, 4)) * 3
    bas = dynsys.basins(W, dynamics="map", n_samples=40, seed=seed, depth=300)
    ref_points = map_stable_points(dynsys.fixed_points(W))
    np.testing.assert_allclose(np.sort(bas.points, axis=0), np.sort(ref_points, axis=0))
    labels, final = map_basin_labels(W, bas.initial, bas.points, 300, bas.distance_tol)
    np.testing.assert_array_equal(bas.labels, labels)
    np.testing.assert_allclose(bas.final, final, rtol=0, atol=1e-12)
    assert np.any(labels >= 0)
    assert bas.dynamics == "map" and bas.depth == 300 and bas.t_max is None


def test_map_and_flow_basins_differ_where_the_labels_do():
    """A 10x-scaled W (seed 1, N = 5) has a flow-stable fixed point that is a saddle of the
    layer map: the flow's basins assign to it, the map's never do."""
    W = np.random.default_rng(1).normal(size=(5, 5)) * 10
    fps = dynsys.fixed_points(W, only="in_box")
    flow_only = fps.points[(fps.stability == "stable") & (fps.map_stability != "stable")]
    assert len(flow_only) >= 1
    flow = dynsys.basins(W, n_samples=300, seed=0)
    mp = dynsys.basins(W, dynamics="map", n_samples=300, seed=0, depth=200)
    np.testing.assert_array_equal(flow.initial, mp.initial)  # same samples
    assert any(np.allclose(p, q) for p in flow.points for q in flow_only)
    assert not any(np.allclose(p, q) for p in mp.points for q in flow_only)
    assert mp.n_unassigned + mp.counts.sum() == 300


def test_map_basins_symmetric_bistable_and_seeded():
    """W = [[1, -2], [-2, 1]]: for the map too the stable points are (1, 0) and (0, 1) and
    the diagonal splits the square; the same seed gives the same labels."""
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    a = dynsys.basins(W, dynamics="map", n_samples=2000, seed=3)
    b = dynsys.basins(W, dynamics="map", n_samples=2000, seed=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.points.shape == (2, 2) and a.n_unassigned == 0
    assert np.all(np.abs(a.fractions - 0.5) < 4 * a.stderr)
    to_10 = np.argmin(np.abs(a.points - [1.0, 0.0]).max(axis=1))
    np.testing.assert_array_equal(a.labels == to_10, a.initial[:, 0] > a.initial[:, 1])
    flow = dynsys.basins(W, n_samples=2000, seed=3)
    np.testing.assert_array_equal(flow.initial, a.initial)


def test_explicit_initial_states_and_network_argument():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    y0 = np.array([[0.7, 0.2], [0.1, 0.6], [0.4, 0.41]])
    for dynamics in ("flow", "map"):
        a = dynsys.basins(dynsys.Network(W, b=[0.5, 0.5]), dynamics=dynamics, initial=y0)
        b = dynsys.basins(W, dynamics=dynamics, initial=y0)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.initial, y0)
        assert a.n_samples == 3 and a.seed is None
        assert a.labels[0] == np.argmin(np.abs(a.points - [1.0, 0.0]).max(axis=1))
        assert len(repr(a)) < 300
    with pytest.raises(ValueError, match="`W`"):
        dynsys.basins(dynsys.Network(W, kind="mlp"), n_samples=10)


def test_stored_distance_tol_reproduces_the_result():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    a = dynsys.basins(W, dynamics="map", n_samples=200, seed=4, distance_tol=1e-6)
    b = dynsys.basins(W, dynamics="map", n_samples=200, seed=a.seed, depth=a.depth,
                      distance_tol=a.distance_tol)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("dynamics", ["flow", "map"])
def test_tanh_basins_are_symmetric_under_y_to_minus_y(dynamics):
    # tanh is odd, so F(-y) = -F(y) and the layer map commutes with y -> -y: the corners
    # (1, 1) and (-1, -1) have mirror basins; mirrored samples split them exactly evenly
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    half = np.random.default_rng(2).uniform(-0.99, 0.99, size=(150, 2))
    initial = np.concatenate([half, -half])
    run = {"t_max": 100.0} if dynamics == "flow" else {"depth": 300}
    bas = dynsys.basins(W, dynamics=dynamics, initial=initial, points=[[1, 1], [-1, -1]],
                        activation="tanh", **run)
    assert bas.activation == "tanh" and bas.n_unassigned == 0
    assert bas.counts[0] == bas.counts[1] == 150
    np.testing.assert_array_equal(bas.labels[:150], 1 - bas.labels[150:])
    with pytest.raises(ValueError, match=r"open box \(-1, 1\)\^N"):
        dynsys.basins(W, initial=[[1.5, 0.0]], points=[[1, 1]], activation="tanh")
