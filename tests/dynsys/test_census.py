"""Tests of dynsys.attractor_census against exact enumeration and plain iteration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynsys
from dynsys import CENSUS_STATUSES as STATUSES
from dynsys._kernels import census as K
from tests._helpers.census_networks import creeping_network
from tests._oracles.census_reference import (
    face_point,
    plain_logits,
    plain_states,
    reference_census,
    sigmoid,
)


def _assert_points_match_reference(census, ref):
    """Each input's end point and its layers to leave a saddle, as the slow reference has them."""
    for b, r in enumerate(ref):
        if r["point"] is None:
            assert census.assignment[b] == -1
        else:
            np.testing.assert_allclose(census.points[census.assignment[b]], r["point"],
                                       atol=1e-9)
        if r["status"] == "saddle":
            assert census.layers_to_leave[b] == r["layers_to_leave"]


def _random_net(seed, n, scale=1.5, self_excitation=1.0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) * scale + self_excitation * np.eye(n)
    return W, rng


def _match_in_enumeration(fp, point, pattern):
    """Index of the enumerated fixed point equal to `point` (with the same pattern), or -1."""
    d = np.max(np.abs(fp.points - point), axis=1)
    j = int(np.argmin(d))
    if d[j] > 1e-9 or not np.array_equal(fp.patterns[j], pattern):
        return -1
    return j


# ---- exactness at small N -----------------------------------------------------------------


@pytest.mark.parametrize("seed,n", [(0, 6), (1, 8), (2, 10), (3, 12), (5, 9)])
def test_points_are_enumerated_fixed_points_with_equal_labels(seed, n):
    W, rng = _random_net(seed, n)
    x0 = rng.normal(size=(400, n)) * 2.0
    fp = dynsys.fixed_points(W)
    census = dynsys.attractor_census(dynsys.Network(W), x0, 2000, zero_tol=fp.zero_tol)
    assert len(census) >= 1
    assert census.counts()["attractor"] > 0
    for m in range(len(census)):
        j = _match_in_enumeration(fp, census.points[m], census.patterns[m])
        assert j >= 0, f"census point {m} is not among dynsys.fixed_points' points"
        assert census.stability[m] == fp.stability[j]
        assert census.map_stability[m] == fp.map_stability[j]
        assert census.unstable_dim[m] == fp.unstable_dim[j]
        np.testing.assert_allclose(np.sort_complex(census.eigenvalues[m]),
                                   np.sort_complex(fp.eigenvalues[j]), atol=1e-9)
        assert census.in_box[m]
        assert census.leading_eigenvalue[m] == pytest.approx(fp.eigenvalues[j].real.max())
        assert census.map_radius[m] == pytest.approx(np.abs(fp.multipliers[j]).max())


@pytest.mark.parametrize("seed,n", [(0, 6), (3, 12)])
def test_attractor_inputs_end_at_their_point_under_plain_iteration(seed, n):
    W, rng = _random_net(seed, n)
    x0 = rng.normal(size=(300, n)) * 2.0
    depth = 2000
    census = dynsys.attractor_census(dynsys.Network(W), x0, depth)
    att = np.flatnonzero(census.status == "attractor")
    assert att.size > 0
    z = plain_logits(W, x0[att] @ W.T, depth - 1)
    y = sigmoid(z)
    dist = np.max(np.abs(y - census.points[census.assignment[att]]), axis=1)
    assert np.all(dist <= 1e-6)
    # and the census stopped following them once within tolerance
    assert np.all(census.layers[att] <= depth)
    assert np.all(census.distance[att] <= census.distance_tol)


def test_statuses_agree_with_the_slow_twin_at_small_n():
    W, rng = _random_net(2, 8)
    x0 = rng.normal(size=(300, 8)) * 2.0
    census = dynsys.attractor_census(dynsys.Network(W), x0, 2000)
    ref = reference_census(W, x0 @ W.T, 2000)
    assert [r["status"] for r in ref] == census.status.tolist()


# ---- a slow saddle passage -------------------------------------------------------------------


def _slow_saddle():
    # coordinate 0 sits at 1 (rate +1 into its face); coordinate 1 starts at logit -5000 on
    # the 0-face and is driven off it at the constant rate W[1, 0] * 1 = 0.5 per layer
    W = np.array([[1.0, 0.0], [0.5, 2.0]])
    b = np.array([50.0, -5000.0])
    return dynsys.Network(W, b), np.zeros(2)


def test_slow_saddle_passage_is_a_saddle_at_layer_1000():
    net, x0 = _slow_saddle()
    census = dynsys.attractor_census(net, x0, 1000)
    assert census.status == "saddle"
    m = census.assignment
    assert census.unstable_dim[m] == 1 and census.map_unstable_dim[m] == 1
    np.testing.assert_array_equal(census.patterns[m], [1, 0])
    assert census.leading_eigenvalue[m] == pytest.approx(0.5)
    # z_1(1000) = -5000 + 0.5 * 999; y_1 exceeds distance_tol (the input leaves the saddle)
    # once z_1 passes -log(1 / distance_tol - 1), after ceil(...) more layers
    z1 = -5000.0 + 0.5 * 999
    face = np.log(1 / census.distance_tol - 1)
    assert census.layers_to_leave == int(np.ceil((abs(z1) - face) / 0.5))
    assert census.layers == 1000


def test_slow_saddle_reaches_its_attractor_at_the_layer_the_rate_predicts():
    net, x0 = _slow_saddle()
    early = dynsys.attractor_census(net, x0, 1000)
    census = dynsys.attractor_census(net, x0, 1000, max_depth=10**6)
    assert census.status == "attractor"
    np.testing.assert_array_equal(census.points[census.assignment], [1.0, 1.0])
    predicted_leave = 1000 + int(early.layers_to_leave)
    # plain iteration: the layer at which y_1 leaves the 0-face (exceeds distance_tol) and
    # the one at which z_1 is saturated at 1 (where the engine declares the corner reached)
    face = np.log(1 / census.distance_tol - 1)
    z = net.b.copy()
    t, t_leave = 1, None
    while z[1] <= census.margin:
        z = z + net.W @ sigmoid(z)
        t += 1
        if t_leave is None and z[1] >= -face:
            t_leave = t
    assert t_leave == predicted_leave
    assert census.layers == t
    assert t - t_leave < 4 * census.margin / 0.5


def test_engine_error_bound_on_the_slow_saddle():
    # the long-horizon engine against plain iteration: saturated logits within
    # L * max_i sum_j |W_ij| * exp(-margin) plus rounding after L layers
    net, _ = _slow_saddle()
    W = np.ascontiguousarray(net.W)
    margin, L = 25.0, 5000
    Z = net.b[None, :].copy()
    T = np.array([1], np.int64)
    ev, per = np.zeros(1, np.int64), np.zeros(1, np.int64)
    K.advance(Z, T, np.int64(L), W, np.ascontiguousarray(W.T), np.zeros(W.shape[0]), margin,
              np.int64(2), 1e-6, 1e-9, 1e-12, np.int64(8), ev, per, np.zeros((1, 4), np.int64))
    assert ev[0] == K.EV_TARGET and T[0] == L
    z_plain = plain_logits(W, net.b[None, :], L - 1)
    bound = L * np.abs(W).sum(axis=1).max() * np.exp(-margin) + 1e-12 * np.abs(z_plain).max()
    assert np.max(np.abs(Z - z_plain)) <= bound


# ---- the long-horizon engine over 20,000 layers -----------------------------------------------


@pytest.mark.parametrize("scale", [0.3, 0.6])
def test_long_horizon_engine_matches_plain_iteration_over_20000_layers(scale):
    n = 64
    rng = np.random.default_rng(1)
    W = rng.normal(size=(n, n)) * scale * 4 / np.sqrt(n) - 0.05
    x0 = rng.normal(size=(100, n))
    depth = 20_000
    census = dynsys.attractor_census(dynsys.Network(W), x0, depth)
    ref = reference_census(W, x0 @ W.T, depth)
    assert [r["status"] for r in ref] == census.status.tolist()
    counts = census.counts()
    assert counts["saddle"] > 10 and counts["attractor"] > 0
    _assert_points_match_reference(census, ref)


def test_dense_phase_and_engine_agree():
    # max_interior=0 runs every layer with more than 0 interior coordinates as dense products
    n = 64
    rng = np.random.default_rng(1)
    W = rng.normal(size=(n, n)) * 2.4 / np.sqrt(n) - 0.05
    x0 = rng.normal(size=(60, n))
    a = dynsys.attractor_census(dynsys.Network(W), x0, 3000)
    b = dynsys.attractor_census(dynsys.Network(W), x0, 3000, max_interior=4, batch_size=16)
    assert a.status.tolist() == b.status.tolist()
    both = (a.assignment >= 0) & (b.assignment >= 0)
    np.testing.assert_allclose(a.points[a.assignment[both]], b.points[b.assignment[both]],
                               atol=1e-9)


def test_max_depth_settles_more_inputs():
    n = 64
    rng = np.random.default_rng(1)
    W = rng.normal(size=(n, n)) * 1.2 / np.sqrt(n) - 0.05
    x0 = rng.normal(size=(50, n))
    a = dynsys.attractor_census(dynsys.Network(W), x0, 1000)
    b = dynsys.attractor_census(dynsys.Network(W), x0, 1000, max_depth=200_000)
    settled = ("attractor", "cycle")
    assert np.isin(b.status, settled).sum() >= np.isin(a.status, settled).sum()
    was = np.isin(a.status, settled)
    assert b.status[was].tolist() == a.status[was].tolist()
    assert np.all(b.layers[~was] >= 1000)
    np.testing.assert_array_equal(b.fraction_settled([10**7]), [np.isin(b.status,
                                                                        settled).mean()])


# ---- per-layer networks, labels, shapes, errors ---------------------------------------------


def test_per_layer_resnet_is_the_census_of_its_last_layer():
    rng = np.random.default_rng(4)
    n, T = 6, 3
    Ws = rng.normal(size=(T, n, n)) * 1.5 + np.eye(n)
    bs = rng.normal(size=(T, n))
    x0 = rng.normal(size=(80, n))
    net = dynsys.Network(Ws, bs)
    census = dynsys.attractor_census(net, x0, 800)
    x = x0.copy()
    for t in range(T - 1):
        x = x + sigmoid(x @ Ws[t].T + bs[t])
    last = dynsys.attractor_census(net.last_layer(), x, 800 - (T - 1))
    assert census.status.tolist() == last.status.tolist()
    np.testing.assert_array_equal(census.layers, last.layers + (T - 1))
    np.testing.assert_allclose(census.points, last.points)


def test_labels_counts_and_endpoint_accuracy():
    W = 2.0 * np.eye(3) - 3.0 * (1 - np.eye(3))  # winner-take-all: the corners e_i
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=90)
    x0 = np.eye(3)[labels] * 2 - 1 + 0.1 * rng.normal(size=(90, 3))
    net = dynsys.Network(W, K=np.eye(3))
    census = dynsys.attractor_census(net, x0, 300, labels=labels)
    assert census.class_counts.shape == (len(census), 3)
    assert census.class_counts.sum() == np.count_nonzero(census.assignment >= 0)
    assert census.status_counts.shape == (4, 3)
    np.testing.assert_array_equal(census.status_counts.sum(axis=0), np.bincount(labels))
    assert census.endpoint_fit == "same inputs"
    assert census.endpoint_accuracy == 1.0
    trained = dynsys.attractor_census(net, x0[:45], 300, labels=labels[:45],
                                      train_x0=x0[45:], train_labels=labels[45:])
    assert trained.endpoint_fit == "train"
    assert trained.endpoint_accuracy == 1.0
    np.testing.assert_array_equal(trained.endpoint_prediction, labels[:45])


def test_errors_name_the_argument():
    net = dynsys.Network(np.eye(2))
    with pytest.raises(TypeError, match="`net`"):
        dynsys.attractor_census(np.eye(2), np.zeros((1, 2)), 10)
    with pytest.raises(ValueError, match="`x0`"):
        dynsys.attractor_census(net, np.zeros((1, 3)), 10)
    with pytest.raises(ValueError, match="`max_depth`"):
        dynsys.attractor_census(net, np.zeros((1, 2)), 10, max_depth=5)
    with pytest.raises(ValueError, match="`margin`"):
        dynsys.attractor_census(net, np.zeros((1, 2)), 10, margin=-1.0)
    with pytest.raises(ValueError, match="`labels`"):
        dynsys.attractor_census(net, np.zeros((2, 2)), 10, labels=[0])
    with pytest.raises(ValueError, match="`train_labels`"):
        dynsys.attractor_census(net, np.zeros((2, 2)), 10, labels=[0, 1],
                                train_x0=np.zeros((2, 2)))


def test_stored_tolerances_reproduce_the_result():
    W, rng = _random_net(1, 6)
    x0 = rng.normal(size=(50, 6))
    a = dynsys.attractor_census(dynsys.Network(W), x0, 500, margin=20.0, distance_tol=1e-5)
    b = dynsys.attractor_census(dynsys.Network(W), x0, 500, margin=a.margin,
                                distance_tol=a.distance_tol, residual_tol=a.residual_tol,
                                zero_tol=a.zero_tol)
    assert a.status.tolist() == b.status.tolist()
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.layers, b.layers)


# ---- property -------------------------------------------------------------------------------


def test_property_census_points_are_fixed_points():
    checked = []  # the points matched: the property must not pass by never looping

    @settings(max_examples=25)
    @given(n=st.integers(2, 5), seed=st.integers(0, 10_000), scale=st.floats(0.5, 3.0))
    def census_points_are_fixed_points(n, seed, scale):
        W, rng = _random_net(seed, n, scale=scale)
        x0 = rng.normal(size=(40, n)) * 2
        fp = dynsys.fixed_points(W)
        census = dynsys.attractor_census(dynsys.Network(W), x0, 400, zero_tol=fp.zero_tol)
        assert set(census.status.tolist()) <= set(STATUSES)
        asg = census.assignment
        alg = census.algebraic
        # within distance_tol of its point, unless it approaches a non-hyperbolic point
        # algebraically (then at a positive rate, and the point has no unstable direction)
        assert np.all(census.distance[(asg >= 0) & ~alg] <= census.distance_tol)
        assert np.all(asg[alg] >= 0) and np.all(census.approach_rate[alg] > 0)
        assert np.all(np.isnan(census.approach_rate[~alg]))
        assert np.all(census.map_stability[asg[alg]] == "non-hyperbolic")
        assert np.all(census.map_unstable_dim[asg[alg]] == 0)
        assert np.all(np.isnan(census.distance[asg < 0]))
        assert np.all((census.status != "attractor") | (asg >= 0))
        for m in range(len(census)):
            j = _match_in_enumeration(fp, census.points[m], census.patterns[m])
            assert j >= 0
            assert census.stability[m] == fp.stability[j]
            assert census.map_stability[m] == fp.map_stability[j]
            y, _, _, _ = face_point(W, census.patterns[m])
            np.testing.assert_allclose(y, census.points[m], atol=1e-12)
            checked.append(m)

    census_points_are_fixed_points()
    assert checked, "no census reached a point: the property checked nothing"


def test_long_horizon_engine_on_a_trained_64_wide_network():
    import nets

    data = nets.load_dataset("digits", seed=0)
    config = nets.TrainConfig(dataset="digits", kind="shared", depth=15, width=64, epochs=3,
                              batch_size=32, seed=0, threads=1)
    net = nets.to_network(nets.train(config, progress=False, data=data).model)
    x0 = np.asarray(data.x_test[:100], dtype=np.float64)
    depth = 20_000
    census = dynsys.attractor_census(net, x0, depth)
    ref = reference_census(net.W, net.embed(x0) @ net.W.T + net.b, depth)
    assert [r["status"] for r in ref] == census.status.tolist()
    assert census.counts()["attractor"] > 0
    _assert_points_match_reference(census, ref)


# ---- the fast paths against the computations they replace -----------------------------------


def _ulps(a, b):
    return np.max(np.abs(a - b) / np.spacing(np.maximum(np.abs(a), np.abs(b))))


def test_dense_sigmoid_kernels_equal_the_plain_formula_across_the_shortcut():
    # f(z) is written 1.0 from z = 37 on without the exponential: the very same float; below 0
    # both the kernels and the NumPy logistic take e / (1 + e). The two agree bit for bit where
    # NumPy's exp is the C library's; on CPUs where NumPy runs its own SIMD exp (AVX-512) an
    # exponential may differ in its last bit, so a logistic by up to two units in the last
    # place, never more.
    z = np.concatenate([np.linspace(-60, 60, 200_001),
                        [-800.0, -740.0, -700.0, 36.0, 36.7, 36.8, 37.0, 700.0, 800.0],
                        np.nextafter(37.0, [-np.inf, np.inf])])[None, :]
    ref = dynsys.logistic(z)
    y = np.empty_like(z)
    K.sigmoid_into(z, y)
    assert _ulps(y, ref) <= 2
    # from the shortcut on the value is the same float, whatever the exponential
    hi = z >= 37.0
    np.testing.assert_array_equal(y[hi], ref[hi])
    assert np.all(y[hi] == 1.0)
    Z, D = z - 1.0, np.ones_like(z)
    z_sum = Z + D  # (z - 1) + 1 need not round back to z
    K.add_and_sigmoid(Z, D, y)
    np.testing.assert_array_equal(Z, z_sum)
    assert _ulps(y, dynsys.logistic(z_sum)) <= 2


def test_long_horizon_engine_at_width_160_matches_plain_iteration():
    # N > 128: dense products until at most 64 coordinates are unsaturated, then the engine
    # with up to 64 interior and many near-margin coordinates per layer
    n = 160
    rng = np.random.default_rng(6)
    W = rng.normal(size=(n, n)) * 2.4 / np.sqrt(n) - 0.05
    x0 = rng.normal(size=(60, n))
    depth = 4000
    census = dynsys.attractor_census(dynsys.Network(W), x0, depth)
    assert census.work["engine_layers"] > 0 and census.work["near_updates"] > 0
    assert census.work["dense_layers"] > 0
    ref = reference_census(W, x0 @ W.T, depth)
    assert [r["status"] for r in ref] == census.status.tolist()
    _assert_points_match_reference(census, ref)


# ---- algebraic approach to a non-hyperbolic point ------------------------------------------


def _loglog_slope(t, d):
    """log(d[1] / d[2]) / log(t[2] / t[1]): the exponent p of d ~ C t^-p over [t1, t2]."""
    return np.log(d[1] / d[2]) / np.log(t[2] / t[1])


@pytest.mark.parametrize("a", [0.5, 1.0, 3.0])
def test_logistic_origin_is_approached_as_one_over_a_t(a):
    # N = 1, W = -a: the origin's flow Jacobian is 0 and its multiplier 1. In u = exp(-z) the
    # step-1 map z <- z - a f(z) is exactly u <- u exp(a / (1 + u)) = u + a + (a^2/2 - a) / u
    # + O(u^-2), so u_t = a t + (a/2 - 1) log t + R_t with R_t converging, and
    # y_t = 1 / (1 + u_t) = 1 / (a t) (1 + O(log t / t)): algebraic, exponent 1
    net = dynsys.Network(np.array([[-a]]))
    x0 = np.array([[-2.0], [0.0], [1.5]])
    depth, max_depth = 1000, 16_000
    census = dynsys.attractor_census(net, x0, depth, max_depth=max_depth)
    # the three layers the census judges from: depth, sqrt(depth * max_depth), max_depth
    t = np.array([depth, 4000, max_depth], dtype=float)
    y = plain_states(net.W, x0 @ net.W.T, t.astype(int))[..., 0]  # (3, B)
    u = (1.0 - y) / y
    R = u - a * t[:, None] - (a / 2 - 1) * np.log(t)[:, None]
    assert np.all(np.abs(R[2] - R[1]) < 0.05)  # the remainder has converged
    assert np.all(np.abs(a * t[2] * y[2] - 1.0) < 0.01)

    assert census.status.tolist() == ["attractor"] * 3
    assert census.algebraic.tolist() == [True] * 3
    assert len(census) == 1 and np.all(census.assignment == 0)
    np.testing.assert_array_equal(census.points, [[0.0]])
    np.testing.assert_array_equal(census.patterns, [[0]])
    assert census.stability[0] == census.map_stability[0] == "non-hyperbolic"
    assert census.multipliers[0, 0] == 1.0 and census.eigenvalues[0, 0] == 0.0
    assert census.map_unstable_dim[0] == 0
    np.testing.assert_array_equal(census.layers, max_depth)
    assert np.all(census.layers_to_leave == -1) and not census.leaving.any()
    # the census's distance and exponent are those of plain iteration at the same layers
    np.testing.assert_allclose(census.distance, y[2], rtol=1e-8)
    np.testing.assert_allclose(census.approach_rate, _loglog_slope(t, y), rtol=1e-6)
    # p = 1 up to the O(log t / (a t)) correction of the closed form over [4000, 16000]:
    # below 4e-3 for these a and starts, so 1e-2 leaves room
    np.testing.assert_allclose(census.approach_rate, 1.0, atol=1e-2)
    assert np.all(census.distance > census.distance_tol)  # no per-layer test could pass
    assert census.work["approach_layers"] == 0  # judged from the snapshots of the run


def test_logistic_origin_without_max_depth_runs_on_to_judge():
    # without max_depth the three layers are depth, 2 depth and 4 depth: the rows run on
    net = dynsys.Network(np.array([[-1.0]]))
    x0 = np.array([[0.0], [1.5]])
    census = dynsys.attractor_census(net, x0, 500)
    assert census.algebraic.all() and np.all(census.status == "attractor")
    assert census.work["approach_layers"] == 2 * (2000 - 500)
    np.testing.assert_array_equal(census.layers, 500)
    t = np.array([500, 1000, 2000], dtype=float)
    y = plain_states(net.W, x0 @ net.W.T, t.astype(int))[..., 0]
    np.testing.assert_allclose(census.distance, y[0], rtol=1e-8)
    np.testing.assert_allclose(census.approach_rate, _loglog_slope(t, y), rtol=1e-6)


@pytest.mark.parametrize("W,point", [
    # -0.7 I: every coordinate creeps to 0 as 1 / (0.7 t)
    (-0.7 * np.eye(4), [0.0, 0.0, 0.0, 0.0]),
    # coordinate 2 runs to 1 and drives coordinate 0 to 0 at the rate -0.5 (both
    # exponentially); coordinates 1 and 3 have rate 0 at the point and creep as 1 / (2 t)
    # and 1 / (0.5 t)
    (np.array([[-1.0, 0.0, -0.5, 0.0], [0.0, -2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0],
               [0.0, 0.0, 0.0, -0.5]]), [0.0, 0.0, 1.0, 0.0]),
])
def test_face_point_approached_algebraically_in_some_coordinates(W, point):
    rng = np.random.default_rng(7)
    x0 = rng.uniform(0.2, 1.0, size=(20, 4)) * np.sign(np.diag(W))
    depth, max_depth = 400, 6400
    census = dynsys.attractor_census(dynsys.Network(W), x0, depth, max_depth=max_depth)
    assert np.all(census.status == "attractor") and census.algebraic.all()
    assert len(census) == 1
    np.testing.assert_array_equal(census.points[0], point)
    # the point is dynsys.fixed_points' point on that face, with the same labels
    fp = dynsys.fixed_points(W)
    j = _match_in_enumeration(fp, census.points[0], census.patterns[0])
    assert j >= 0 and fp.map_stability[j] == census.map_stability[0] == "non-hyperbolic"
    assert fp.map_unstable_dim[j] == census.map_unstable_dim[0] == 0
    t = np.array([depth, 1600, max_depth], dtype=float)
    Y = plain_states(W, x0 @ W.T, t.astype(int))
    d = np.max(np.abs(Y - np.asarray(point)), axis=2)
    np.testing.assert_allclose(census.distance, d[2], rtol=1e-8)
    np.testing.assert_allclose(census.approach_rate, _loglog_slope(t, d), rtol=1e-6)
    # the slowest coordinate, at 1 / (min_i |W_ii| t) among the creeping ones, sets p = 1
    np.testing.assert_allclose(census.approach_rate, 1.0, atol=2e-2)


@pytest.mark.parametrize("W,point", [
    # a hyperbolic interior coordinate: y_0 = 1/2 (eigenvalue -1/2), y_1 at 1 (rate 1)
    (np.array([[-2.0, 1.0], [0.0, 1.0]]), [0.5, 1.0]),
    # a face point whose rates point strictly into the face: y_0 at 0 (rate -1), y_1 at 1
    (np.array([[0.0, -1.0], [0.0, 1.0]]), [0.0, 1.0]),
])
def test_exponential_approaches_are_not_algebraic(W, point):
    rng = np.random.default_rng(8)
    x0 = rng.normal(size=(30, 2)) + np.array([0.0, 2.0])
    for max_depth in (None, 10**4):
        census = dynsys.attractor_census(dynsys.Network(W), x0, 300, max_depth=max_depth)
        assert np.all(census.status == "attractor")
        np.testing.assert_array_equal(census.points, [point])
        assert census.map_stability[0] == "stable"
        assert not census.algebraic.any()
        assert np.all(np.isnan(census.approach_rate))
        assert np.all(census.distance <= census.distance_tol)


def test_pre_asymptotic_creep_is_not_flagged():
    # z(1) = -12: u_1 = e^12 dwarfs a t over the layers judged (100, 200, 400), so the
    # distance 1 / (1 + u_1 + t) falls by layers as slowly as an exponential approach would
    # (the slopes double from one interval to the next): not judged algebraic, not assigned
    net = dynsys.Network(np.array([[-1.0]]), b=np.array([-12.0]))
    census = dynsys.attractor_census(net, [[0.0]], 100)
    assert census.status.tolist() == ["not converged"]
    assert census.algebraic.tolist() == [False] and np.isnan(census.approach_rate[0])
    assert census.assignment.tolist() == [-1] and len(census) == 0


def test_small_trained_like_network_inputs_creeping_to_the_origin_are_assigned():
    net, x0, labels = creeping_network()
    depth, max_depth = 1000, 10**4
    census = dynsys.attractor_census(net, x0, depth, labels=labels, max_depth=max_depth)
    origin = np.flatnonzero(np.all(census.points == 0.0, axis=1))
    assert origin.size == 1
    at0 = census.assignment == origin[0]
    assert at0.sum() > x0.shape[0] // 2  # most inputs creep to the origin
    assert census.map_stability[origin[0]] == "non-hyperbolic"
    # exactly the inputs at the origin are algebraic, every other one converges exponentially
    np.testing.assert_array_equal(census.algebraic, at0)
    assert np.all(census.status[at0] == "attractor")
    assert np.all(np.isnan(census.approach_rate[~at0]))
    assert np.all(census.map_stability[census.assignment[~at0]] == "stable")
    # the counts add up: every input has one status, per class and in all
    assert sum(census.counts().values()) == x0.shape[0]
    np.testing.assert_array_equal(census.status_counts.sum(axis=0), np.bincount(labels))
    assert census.class_counts[origin[0]].sum() == at0.sum()
    # plain iteration: the same distances and exponents, and no input within distance_tol
    rows = np.flatnonzero(at0)
    t = np.array([depth, 3162, max_depth], dtype=float)
    d = np.max(plain_states(net.W, x0[rows] @ net.W.T, t.astype(int)), axis=2)
    np.testing.assert_allclose(census.distance[rows], d[2], rtol=1e-6)
    np.testing.assert_allclose(census.approach_rate[rows], _loglog_slope(t, d), rtol=1e-6)
    assert np.all(d[2] > census.distance_tol)
    # the origin is approached as v / t: p tends to 1 (sub-dominant coordinates and the
    # inhibited winners decay faster and bend the slope at these depths)
    assert np.all((census.approach_rate[rows] > 0.5) & (census.approach_rate[rows] < 1.1))
    assert abs(np.median(census.approach_rate[rows]) - 1.0) < 0.02


@pytest.mark.parametrize("bad", [np.array(["a", "b", "a"]), np.array([0.0, 1.0, 0.0]),
                                 np.array([0, 1, 0], dtype=object)])
def test_labels_that_are_not_integers_name_the_argument(bad):
    net = dynsys.Network(np.array([[2.0, -3.0], [-3.0, 2.0]]))
    x0 = np.eye(2)[[0, 1, 0]]
    with pytest.raises(ValueError, match=r"^`labels` must hold integer class labels") as err:
        dynsys.attractor_census(net, x0, 50, labels=bad)
    assert f"got dtype {bad.dtype}" in str(err.value)
    with pytest.raises(ValueError, match=r"^`train_labels` must hold integer class labels"):
        dynsys.attractor_census(net, x0, 50, labels=[0, 1, 0], train_x0=x0, train_labels=bad)


def test_train_labels_are_checked_before_any_layer_runs(monkeypatch):
    import dynsys._census as census_module

    def never(*args, **kwargs):
        raise AssertionError("the census ran before its arguments were checked")

    monkeypatch.setattr(census_module, "CENSUS_ENGINES", {"resnet": never, "mlp": never})
    net = dynsys.Network(np.array([[2.0, -3.0], [-3.0, 2.0]]))
    x0 = np.eye(2)
    for bad, match in ((["a", "b"], "got dtype <U1"), ([0, 1, 1], r"got shape \(3,\)"),
                       ([0, -1], "got minimum -1")):
        with pytest.raises(ValueError, match=f"^`train_labels`.*{match}"):
            dynsys.attractor_census(net, x0, 50, labels=[0, 1], train_x0=x0,
                                    train_labels=bad)


# ---- progress ---------------------------------------------------------------------------


def test_progress_is_a_callable_reaching_the_total():
    W, rng = _random_net(4, 3, scale=2.0)
    x0 = rng.normal(size=(30, 3))
    calls = []
    dynsys.attractor_census(dynsys.Network(W), x0, 200,
                            progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (30, 30)
    assert all(t == 30 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize("progress", [True, False, "bar"])
def test_progress_that_is_not_a_callable_is_refused(progress):
    W, rng = _random_net(4, 3, scale=2.0)
    with pytest.raises(TypeError, match="`progress` must be a callable"):
        dynsys.attractor_census(dynsys.Network(W), rng.normal(size=(3, 3)), 50,
                                progress=progress)


@pytest.mark.parametrize("case", ["shared", "per-layer at T", "per-layer below T",
                                  "followed twice", "mlp"])
def test_progress_reaches_the_total_with_every_engine_and_depth(case):
    # before: a per-layer network censused at its own depth T reported nothing, and a depth
    # below T was refused
    rng = np.random.default_rng(7)
    n, T = 5, 3
    Ws = rng.normal(size=(T, n, n)) * 1.5 + np.eye(n)
    net, depth, max_depth = {
        "shared": (dynsys.Network(Ws[0]), 200, None),
        "per-layer at T": (dynsys.Network(Ws), T, None),
        "per-layer below T": (dynsys.Network(Ws), 2, None),
        "followed twice": (dynsys.Network(Ws[0]), 50, 5000),  # stops at sqrt(50 * 5000), 5000
        "mlp": (dynsys.Network(0.5 * Ws, kind="mlp"), 300, None),
    }[case]
    calls = []
    dynsys.attractor_census(net, rng.normal(size=(40, n)), depth, max_depth=max_depth,
                            progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] >= 40
    assert all(0 <= d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---- the entry point: one engine per kind, the depth rule ----------------------------------


def test_one_engine_per_kind_behind_one_signature():
    import inspect

    from dynsys._census import CENSUS_ENGINES

    assert set(CENSUS_ENGINES) == set(dynsys.KINDS)
    assert len({str(inspect.signature(f)) for f in CENSUS_ENGINES.values()}) == 1


@pytest.mark.parametrize("T,depth,max_depth,expected", [
    # shared weights: the map repeats from layer 1
    (None, 5, None, (1, 5, None)),
    (None, 5, 40, (1, 5, 40)),
    (None, 5, 5, (1, 5, None)),
    # per-layer, T = 4: layers 1..min(d, T), past T the last layer repeated
    (4, 9, None, (4, 9, None)),
    (4, 4, None, (4, 4, None)),
    (4, 2, None, (2, 2, None)),  # ends before T: layer 2's map classifies
    (4, 1, 3, (3, 3, None)),  # followed, still before T
    (4, 1, 4, (4, 4, None)),
    (4, 1, 40, (4, 4, 40)),  # followed past T: first classified at T
    (4, 6, 40, (4, 6, 40)),
])
def test_the_engine_runs_layers_by_the_depth_rule(monkeypatch, T, depth, max_depth, expected):
    import dynsys._census as census_module

    seen = []

    def engine(net, x, options, progress):
        seen.append((options.layer, options.depth, options.max_depth))
        table, per, work = census_module._resnet.census(net, x, options, progress)
        return table, per, work

    monkeypatch.setattr(census_module, "CENSUS_ENGINES", {"resnet": engine, "mlp": engine})
    W = np.random.default_rng(0).normal(size=(3, 3))
    net = dynsys.Network(W if T is None else np.stack([W * (t + 1) for t in range(T)]))
    census = dynsys.attractor_census(net, np.eye(3), depth, max_depth=max_depth)
    assert seen == [expected]
    assert (census.depth, census.max_depth) == (depth, max_depth)
    layer = expected[0]
    assert census.zero_tol == dynsys.default_zero_tol(net.layer(layer)[0])


def _per_layer_net(kind, T=4, n=6, seed=4):
    rng = np.random.default_rng(seed)
    Ws = rng.normal(size=(T, n, n)) * (1.5 if kind == "resnet" else 0.8) + np.eye(n)
    return dynsys.Network(Ws, rng.normal(size=(T, n)), kind=kind), rng.normal(size=(60, n))


_FIELDS = ("status", "assignment", "points", "patterns", "stability", "map_stability",
           "n_interior", "leaving", "period", "algebraic", "lyapunov")


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_per_layer_depth_up_to_T_runs_its_first_d_layers(kind):
    # the depth rule: a run to d <= T runs layers 1..d (before: ValueError below T) and is
    # classified by the map of layer d, the last one run
    net, x0 = _per_layer_net(kind)
    states = []
    for d in range(1, net.depth + 1):
        census = dynsys.attractor_census(net, x0, d)
        x = net.embed(x0)
        for t in range(1, d):
            W, b = net.layer(t)
            y = dynsys.logistic(x @ W.T + b)
            x = x + y if kind == "resnet" else y
        ref = dynsys.attractor_census(dynsys.Network(*net.layer(d), kind=kind), x, 1)
        assert census.depth == d and census.zero_tol == ref.zero_tol
        for name in _FIELDS:
            np.testing.assert_array_equal(getattr(census, name), getattr(ref, name), name)
        np.testing.assert_array_equal(census.layers, ref.layers + (d - 1))
        states.append(np.concatenate([census.n_interior, census.leaving,
                                      np.nan_to_num(census.lyapunov)]).tobytes())
    # each depth classifies another state
    assert len(set(states)) == net.depth


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_per_layer_followed_from_below_T_is_the_run_followed_from_T(kind):
    net, x0 = _per_layer_net(kind)
    T = net.depth
    at_T = dynsys.attractor_census(net, x0, T, max_depth=400)
    assert at_T.counts()["attractor"] > 0
    for d in range(1, T):
        below = dynsys.attractor_census(net, x0, d, max_depth=400)
        assert (below.depth, below.max_depth) == (d, 400)
        for name in (*_FIELDS, "layers"):
            np.testing.assert_array_equal(getattr(below, name), getattr(at_T, name), name)
    # followed only up to a layer before T: the run to that layer
    before = dynsys.attractor_census(net, x0, 1, max_depth=T - 1)
    plain = dynsys.attractor_census(net, x0, T - 1)
    for name in (*_FIELDS, "layers"):
        np.testing.assert_array_equal(getattr(before, name), getattr(plain, name), name)


def test_depth_none_is_a_per_layer_networks_own_depth():
    net, x0 = _per_layer_net("resnet")
    own = dynsys.attractor_census(net, x0, None)
    assert own.depth == net.depth
    np.testing.assert_array_equal(own.n_interior,
                                  dynsys.attractor_census(net, x0, net.depth).n_interior)
    with pytest.raises(ValueError, match=r"^`depth` must be a number of layers >= 1 for a "
                                         r"shared-weight network.*got None"):
        dynsys.attractor_census(net.last_layer(), x0, None)
    with pytest.raises(ValueError, match="^`depth` must be >= 1; got 0"):
        dynsys.attractor_census(net, x0, 0)


# ---- tanh ResNets: the driven logistic engine against tanh's own plain iteration ------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_census_matches_the_plain_tanh_reference(seed):
    # the reference iterates z <- z + W tanh(z) and classifies with faces at -1 and +1; the
    # library runs the conjugate driven logistic system (4W, -2W1) in u = 2z
    W, rng = _random_net(seed, 8, scale=0.6, self_excitation=0.3)
    b = rng.normal(size=8) * 0.3
    net = dynsys.Network(W, b, activation="tanh")
    x0 = rng.normal(size=(40, 8))
    depth = 3000
    census = dynsys.attractor_census(net, x0, depth)
    ref = reference_census(W, x0 @ W.T + b, depth, activation="tanh")
    assert [r["status"] for r in ref] == census.status.tolist()
    _assert_points_match_reference(census, ref)
    assert census.activation == "tanh" and census.in_box.all()
    assert census.points.min() < 0  # the lower face is -1
    for m in range(len(census)):
        y, _, ev, mu = face_point(W, census.patterns[m], "tanh")
        np.testing.assert_allclose(census.points[m], y, atol=1e-12)
        np.testing.assert_allclose(np.sort_complex(census.eigenvalues[m]), np.sort_complex(ev),
                                   atol=1e-9)


def test_tanh_census_points_are_listed_by_fixed_points_with_their_labels():
    W, rng = _random_net(5, 6, scale=0.8, self_excitation=0.2)
    net = dynsys.Network(W, activation="tanh")
    census = dynsys.attractor_census(net, rng.normal(size=(60, 6)), 2000)
    fp = dynsys.fixed_points(net, engine="exact")
    assert len(census) > 0
    for m in range(len(census)):
        j = _match_in_enumeration(fp, census.points[m], census.patterns[m])
        assert j >= 0
        assert census.stability[m] == fp.stability[j]
        assert census.map_stability[m] == fp.map_stability[j]


def test_tanh_census_of_a_trained_network_against_20000_plain_layers():
    import nets

    data = nets.load_dataset("digits", seed=0)
    config = nets.TrainConfig(dataset="digits", kind="shared", depth=15, width=32, epochs=3,
                              batch_size=32, seed=0, threads=1, activation="tanh")
    net = nets.to_network(nets.train(config, progress=False, data=data).model)
    assert net.activation == "tanh"
    x0 = np.asarray(data.x_test[:100], dtype=np.float64)
    depth = 20_000
    census = dynsys.attractor_census(net, x0, depth)
    ref = reference_census(net.W, net.embed(x0) @ net.W.T + net.b, depth, activation="tanh")
    assert [r["status"] for r in ref] == census.status.tolist()
    # this network's test inputs pass saddles (no corner of its cube attracts them): the
    # census must reach points, with the reference's layers to leave each saddle
    assert len(census) > 0 and census.counts()["saddle"] > 0
    _assert_points_match_reference(census, ref)
