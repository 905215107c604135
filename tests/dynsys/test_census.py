"""Tests of dynsys.attractor_census against exact enumeration and plain iteration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynsys
from dynsys import CENSUS_STATUSES as STATUSES
from dynsys._kernels import census as K
from dynsys._stability import classify_multipliers
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
    K.advance(Z, T, np.int64(L), W, np.ascontiguousarray(W.T), margin, np.int64(2), 1e-6,
              1e-9, 1e-12, np.int64(8), ev, per, np.zeros((1, 4), np.int64))
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


# ---- MLP --------------------------------------------------------------------------------------


def test_mlp_two_cycle():
    # y -> f(10 - 20 y): the fixed point 1/2 has multiplier -5; the orbit flips between
    # f(10) and f(10 - 20 f(10))
    net = dynsys.Network([[-20.0]], [10.0], kind="mlp")
    census = dynsys.attractor_census(net, [[0.3], [0.9]], 1000)
    assert census.status.tolist() == ["cycle", "cycle"]
    assert census.period.tolist() == [2, 2]
    assert np.all(census.assignment == -1)
    assert np.all(np.isnan(census.lyapunov))


def test_mlp_fixed_points_against_newton_from_many_starts():
    from scipy.optimize import fsolve

    n = 6
    W = 8.0 * np.eye(n) - 3.0 * (1 - np.eye(n))
    b = np.full(n, -2.0)
    net = dynsys.Network(W, b, kind="mlp")
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 1, size=(200, n))
    census = dynsys.attractor_census(net, x0, 500)
    assert len(census) >= 2
    assert census.counts()["attractor"] == 200

    def F(y):
        return sigmoid(W @ y + b) - y

    roots = []
    for y0 in rng.uniform(0, 1, size=(300, n)):
        y, info, ier, _ = fsolve(F, y0, full_output=True, xtol=1e-13)
        if ier == 1 and np.max(np.abs(F(y))) < 1e-12:
            roots.append(y)
    roots = np.array(roots)
    for m in range(len(census)):
        p = census.points[m]
        assert np.max(np.abs(F(p))) <= 1e-9
        assert np.min(np.max(np.abs(roots - p), axis=1)) <= 1e-8
        s = sigmoid(W @ p + b)
        mu = np.linalg.eigvals(np.diag(s * (1 - s)) @ W)
        assert census.map_stability[m] == classify_multipliers(mu, census.zero_tol)
        np.testing.assert_allclose(np.sort_complex(census.multipliers[m]), np.sort_complex(mu),
                                   atol=1e-10)
        np.testing.assert_allclose(census.eigenvalues[m], census.multipliers[m] - 1)
    # every input ends within tolerance of its Newton point under plain iteration
    y = x0
    for _ in range(500):
        y = sigmoid(y @ W.T + b)
    assert np.all(np.max(np.abs(y - census.points[census.assignment]), axis=1) <= 1e-6)


def test_mlp_not_converged_has_a_lyapunov_exponent():
    rng = np.random.default_rng(3)
    n = 30
    # a random MLP of gain 8 about y = 1/2 is chaotic: positive largest exponent
    W = rng.normal(size=(n, n)) * 8 / np.sqrt(n)
    net = dynsys.Network(W, -0.5 * W.sum(axis=1), kind="mlp")
    census = dynsys.attractor_census(net, rng.uniform(size=(10, n)), 600, max_period=16)
    nc = census.status == "not converged"
    assert nc.all()
    assert np.all(census.lyapunov[nc] > 0.05)
    assert np.all(np.isnan(census.lyapunov[~nc]))


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
    with pytest.raises(ValueError, match="`depth`"):
        dynsys.attractor_census(net, x0, 2)


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


def test_one_input_drops_the_batch_axis_and_result_is_frozen():
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    census = dynsys.attractor_census(dynsys.Network(W), [1.0, 0.0], 200)
    assert census.status == "attractor" and np.ndim(census.status) == 0
    assert np.ndim(census.layers) == 0
    with pytest.raises(ValueError):
        census.points[0, 0] = 3.0
    with pytest.raises(AttributeError):
        census.depth = 3
    text = repr(census)
    assert len(text) < 300 and "points=1" in text
    assert "attractor" in census.table()


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


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 200), N=st.integers(1, 9), groups=st.integers(1, 30),
       seed=st.integers(0, 10_000))
def test_unique_rows_is_numpys_unique_along_rows(B, N, groups, seed):
    from dynsys._census._common import _unique_rows

    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 3, size=(groups, N)).astype(np.int8)[rng.integers(0, groups, B)]
    values = np.round(rng.normal(size=(groups, N)), 1)[rng.integers(0, groups, B)]
    values[rng.random(values.shape) < 0.2] = -0.0  # -0.0 and 0.0 are one value
    values[rng.random(values.shape) < 0.2] = 0.0
    for A in (patterns, values):
        uniq, first, inverse = _unique_rows(A)
        ref_uniq, ref_first, ref_inverse = np.unique(A, axis=0, return_index=True,
                                                     return_inverse=True)
        np.testing.assert_array_equal(uniq, ref_uniq)
        np.testing.assert_array_equal(first, ref_first)
        np.testing.assert_array_equal(inverse, ref_inverse.reshape(-1))


def test_map_label_is_classify_multipliers():
    from dynsys._census._common import _map_label

    rng = np.random.default_rng(0)
    zero_tol = 1e-9
    for _ in range(300):
        n = int(rng.integers(1, 8))
        mu = rng.normal(size=n) * 1.2 + 1j * rng.normal(size=n) * rng.integers(0, 2)
        # some moduli on the unit circle, just inside or just outside the tolerance
        on = rng.random(n) < 0.3
        mu[on] = np.exp(1j * rng.uniform(0, 2 * np.pi, on.sum())) * (
            1 + rng.choice([0.0, 0.5e-9, -0.5e-9, 2e-9, -2e-9], on.sum()))
        label, n_out = _map_label(mu, zero_tol)
        assert label == classify_multipliers(mu, zero_tol)
        assert n_out == int(np.sum(np.abs(mu) > 1 + zero_tol))


def test_dense_sigmoid_kernels_equal_the_plain_formula_across_the_shortcut():
    # f(z) is written 1.0 from z = 37 on without the exponential: the very same float
    z = np.concatenate([np.linspace(-60, 60, 200_001), [36.0, 36.7, 36.8, 37.0, 700.0, 800.0],
                        np.nextafter(37.0, [-np.inf, np.inf])])[None, :]
    ref = 1.0 / (1.0 + np.exp(-z))
    y = np.empty_like(z)
    K.sigmoid_into(z, y)
    np.testing.assert_array_equal(y, ref)
    Z, D = z - 1.0, np.ones_like(z)
    z_sum = Z + D  # (z - 1) + 1 need not round back to z
    K.add_and_sigmoid(Z, D, y)
    np.testing.assert_array_equal(Z, z_sum)
    np.testing.assert_array_equal(y, 1.0 / (1.0 + np.exp(-z_sum)))


def test_mlp_layer_in_place_equals_the_expression():
    from dynsys._census._mlp import _mlp_layer

    rng = np.random.default_rng(1)
    W, b, Y = rng.normal(size=(50, 50)) * 3, rng.normal(size=50), rng.random((70, 50))
    out = np.empty_like(Y)
    _mlp_layer(Y, W.T, b, out)
    np.testing.assert_array_equal(out, sigmoid(Y @ W.T + b))


def _old_find_periods(H, tol, pmax):
    """The MLP period search as it was written, with the full (L - 1, B, N) difference."""
    L, B, _ = H.shape
    out = np.zeros(B, np.int64)
    fixed = np.max(np.abs(H[-1] - H[-2]), axis=1) <= tol
    out[fixed] = 1
    undecided = ~fixed
    steps = np.max(np.abs(np.diff(H, axis=0)), axis=2)
    for p in range(2, min(pmax, L // 2) + 1):
        idx = np.flatnonzero(undecided)
        if idx.size == 0:
            break
        amp = steps[-p:, idx].max(axis=0)
        ctol = np.minimum(tol, 1e-3 * amp)
        cand = (amp > tol) & (np.max(np.abs(H[-1, idx] - H[-1 - p, idx]), axis=1) <= ctol)
        if not cand.any():
            continue
        j = idx[cand]
        ok = np.max(np.abs(H[p:, j] - H[:-p, j]), axis=(0, 2)) <= ctol[cand]
        out[j[ok]] = p
        undecided[j[ok]] = False
    return out


def test_find_periods_equals_the_full_difference_version():
    from dynsys._census._mlp import _find_periods

    rng = np.random.default_rng(2)
    L, N = 33, 5
    H = rng.random((L, 60, N))
    t = np.arange(L)[:, None]
    for j in range(60):
        kind = j % 4
        if kind == 1:  # a cycle of period 2..8, to rounding
            p = 2 + j % 7
            H[:, j] = rng.random((p, N))[t[:, 0] % p] + 1e-13 * rng.random((L, N))
        elif kind == 2:  # a fixed point approached
            H[:, j] = 0.3 + 0.5 ** t * rng.random(N)
        elif kind == 3:  # a slow oscillating approach, no cycle
            H[:, j] = 0.5 + (-0.99) ** t * 1e-4
    np.testing.assert_array_equal(_find_periods(H, 1e-6, 16), _old_find_periods(H, 1e-6, 16))
    assert set(_find_periods(H, 1e-6, 16).tolist()) >= {0, 1, 2, 5}


def _contracting_mlp(n=40, seed=0, gain=0.6):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) * gain * 4 / np.sqrt(n)
    return W, rng.normal(size=n)


def _direct_verdict(W, b, y, zero_tol):
    """The stability check as written before: the multipliers at y, labelled."""
    from dynsys._census._mlp import _mlp_spectra

    _, mu, _ = _mlp_spectra(W, b, y)
    return classify_multipliers(mu, zero_tol) == "stable"


def test_mlp_map_stability_equals_the_eigenvalues_at_every_state():
    from dynsys._census._mlp import _MlpMapStability

    zero_tol = 1e-9
    W, b = _contracting_mlp()
    y = np.full(W.shape[0], 0.5)
    for _ in range(400):
        y = sigmoid(W @ y + b)
    # states a few units of rounding from the attractor, all different bytes
    rng = np.random.default_rng(3)
    states = [y]
    for _ in range(30):
        steps = rng.integers(-3, 4, y.size)
        states.append(np.array([np.nextafter(v, v + np.sign(s)) if s else v
                                for v, s in zip(y, steps)]))
    check = _MlpMapStability(W, b, zero_tol)
    verdicts = [check(s) for s in states]
    assert verdicts == [_direct_verdict(W, b, s, zero_tol) for s in states]
    assert all(verdicts)
    # the first state and the certificate: two eigen-decompositions for 31 distinct states
    assert check.n_eig == 2
    # a map whose attractor is barely stable: the certificate cannot decide, the multipliers do
    for gain in (1.2, 2.0):
        W2, b2 = _contracting_mlp(seed=1, gain=gain)
        y2 = np.full(W2.shape[0], 0.5)
        for _ in range(400):
            y2 = sigmoid(W2 @ y2 + b2)
        check2 = _MlpMapStability(W2, b2, zero_tol)
        near = [y2, y2 + 1e-12, y2 - 1e-12]
        assert [check2(s) for s in near] == [_direct_verdict(W2, b2, s, zero_tol) for s in near]


def test_mlp_census_equals_the_census_with_one_eigen_check_per_input(monkeypatch):
    import dynsys._census._mlp as C

    W, b = _contracting_mlp(n=30, seed=4, gain=0.5)
    net = dynsys.Network(np.stack([W, W]), np.stack([b, b]), kind="mlp")
    x0 = np.random.default_rng(5).random((150, 30))
    fast = dynsys.attractor_census(net, x0, 600)
    assert fast.counts()["attractor"] == 150

    class PerInput:  # the check as it was: the multipliers of every input's own state
        def __init__(self, W, b, zero_tol):
            self.args = (W, b, zero_tol)

        def __call__(self, y):
            return _direct_verdict(self.args[0], self.args[1], y, self.args[2])

    monkeypatch.setattr(C, "_MlpMapStability", PerInput)
    slow = dynsys.attractor_census(net, x0, 600)
    for name in fast.__dataclass_fields__:
        a, b_ = getattr(fast, name), getattr(slow, name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b_, err_msg=name)
        else:
            assert a == b_ or (a != a and b_ != b_), name


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


def _creeping_network(n_inputs=300, inhibition=-3.0):
    """A small network of the trained kind: two self-exciting coordinates that inhibit each
    other (two winner-take-all corners), six with negative self-coupling, each group
    inhibiting the other. Inputs whose winner does not emerge creep to the origin."""
    N = 8
    rng = np.random.default_rng(0)
    W = 0.15 * rng.normal(size=(N, N))
    np.fill_diagonal(W, -rng.uniform(0.5, 2.0, N))
    W[0, 0] = W[1, 1] = 2.0
    W[0, 1] = W[1, 0] = -3.0
    W[2:, :2] = -1.0
    W[:2, 2:] = inhibition
    x0 = rng.normal(size=(n_inputs, N)) * 2
    labels = np.where(x0[:, :2].max(axis=1) > 1.0, np.argmax(x0[:, :2], axis=1), 2)
    return dynsys.Network(W), x0, labels


def test_small_trained_like_network_inputs_creeping_to_the_origin_are_assigned():
    net, x0, labels = _creeping_network()
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


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("t", [(1000, 4000, 16000), (100, 200, 400), (10, 300, 9000)])
def test_algebraic_rate_of_a_power_law(p, t):
    from dynsys._census._classify import _algebraic_rate

    t = np.array(t, dtype=float)[:, None]
    d = 3.0 * t ** -p
    rate, ok = _algebraic_rate(t, d)
    assert ok.tolist() == [True]
    np.testing.assert_allclose(rate, p, rtol=1e-12)


@pytest.mark.parametrize("lam", [1e-5, 1e-3, 1e-2])
@pytest.mark.parametrize("t", [(1000, 4000, 16000), (100, 200, 400), (10, 300, 9000)])
def test_algebraic_rate_of_an_exponential_is_not_algebraic(lam, t):
    from dynsys._census._classify import _algebraic_rate

    t = np.array(t, dtype=float)[:, None]
    rate, ok = _algebraic_rate(t, 0.3 * np.exp(-lam * t))
    assert ok.tolist() == [False] and np.isnan(rate[0])


def test_algebraic_rate_needs_a_falling_distance_and_spread_layers():
    from dynsys._census._classify import _algebraic_rate

    t = np.array([[1000.0] * 5, [4000.0] * 5, [16000.0] * 5])
    d = np.array([
        [1e-3, 1e-3, 1e-3],          # constant
        [1e-3, 2e-3, 4e-3],          # growing
        [1e-3, 2.5e-4, 4e-4],        # falls, then grows
        [1e-3, 2.5e-4, 0.0],         # reaches the point exactly
        [1e-3, 2.5e-4, np.nan],
    ]).T
    rate, ok = _algebraic_rate(t, d)
    assert not ok.any() and np.all(np.isnan(rate))
    # layers closer than _APPROACH_STEP apart
    t = np.array([[1000.0], [1500.0], [16000.0]])
    assert not _algebraic_rate(t, 1.0 / t)[1].any()


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.05, 5.0), C=st.floats(1e-3, 1e3), t1=st.floats(1.0, 1e5),
       r1=st.floats(2.0, 100.0), r2=st.floats(2.0, 100.0), lam_t3=st.floats(1e-4, 600.0))
def test_property_algebraic_rate_tells_power_laws_from_exponentials(p, C, t1, r1, r2, lam_t3):
    from dynsys._census._classify import _algebraic_rate

    t = np.array([t1, t1 * r1, t1 * r1 * r2])[:, None]
    rate, ok = _algebraic_rate(t, C * t ** -p)
    assert ok[0]
    np.testing.assert_allclose(rate, p, rtol=1e-6)
    # an exponential over the same layers, from a fall of 1e-4 to 600 e-foldings by t3 (no
    # underflow): its slope ratio is the factor G of the notes, never within sqrt(G) of 1
    d = C * np.exp(-(lam_t3 / t[2]) * t)
    rate, ok = _algebraic_rate(t, d)
    assert not ok[0] and np.isnan(rate[0])


def test_mlp_census_has_no_algebraic_approach():
    # a two-cycle, a contracting map (fixed points) and a chaotic one (not converged)
    rng = np.random.default_rng(3)
    chaotic = rng.normal(size=(30, 30)) * 8 / np.sqrt(30)
    for net, x0 in ((dynsys.Network([[-20.0]], [10.0], kind="mlp"), [[0.3], [0.9]]),
                    (dynsys.Network(*_contracting_mlp(), kind="mlp"),
                     rng.uniform(size=(20, 40))),
                    (dynsys.Network(chaotic, -0.5 * chaotic.sum(axis=1), kind="mlp"),
                     rng.uniform(size=(5, 30)))):
        census = dynsys.attractor_census(net, x0, 500, max_period=16)
        assert census.counts()[{1: "cycle", 40: "attractor", 30: "not converged"}[
            net.width]] == len(x0)
        assert census.algebraic.dtype == bool and not census.algebraic.any()
        assert census.approach_rate.shape == (len(x0),)
        assert np.all(np.isnan(census.approach_rate))


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

    monkeypatch.setattr(census_module, "_census_resnet", never)
    net = dynsys.Network(np.array([[2.0, -3.0], [-3.0, 2.0]]))
    x0 = np.eye(2)
    for bad, match in ((["a", "b"], "got dtype <U1"), ([0, 1, 1], r"got shape \(3,\)"),
                       ([0, -1], "got minimum -1")):
        with pytest.raises(ValueError, match=f"^`train_labels`.*{match}"):
            dynsys.attractor_census(net, x0, 50, labels=[0, 1], train_x0=x0,
                                    train_labels=bad)


# ---- the table --------------------------------------------------------------------------


def _table_rows(text):
    """The point rows of AttractorCensus.table(): {point: whitespace-split fields}."""
    lines = text.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("point"))) + 1
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        fields = line.split()
        rows[int(fields[0])] = fields
    return rows


def test_table_has_a_class_column_with_labels():
    net, x0, labels = _creeping_network(n_inputs=120)
    census = dynsys.attractor_census(net, x0, 1000, labels=labels, max_depth=10**4)
    text = census.table()
    header = next(x for x in text.splitlines() if x.startswith("point"))
    assert header.split("  ")[-1].strip() == "classes (count)"
    assert header.split()[:11] == ["point", "inputs", "flow", "map", "index", "leading",
                                   "eig", "box", "attractor", "saddle", "algebraic"]
    rows = _table_rows(text)
    assert sorted(rows) == list(range(len(census)))
    n_in = np.bincount(census.assignment[census.assignment >= 0], minlength=len(census))
    assert [int(r[1]) for r in rows.values()] == sorted(n_in.tolist(), reverse=True)
    for m, fields in rows.items():
        sel = census.assignment == m
        assert int(fields[1]) == sel.sum()
        assert int(fields[7]) == np.sum(sel & (census.status == "attractor"))
        assert int(fields[9]) == np.sum(sel & census.algebraic)
        cc = census.class_counts[m]
        shown = dict(tuple(map(int, f.split(":"))) for f in fields[10:])
        top = np.argsort(-cc, kind="stable")[:4]
        assert shown == {int(k): int(cc[k]) for k in top if cc[k] > 0}
    assert f"algebraic approaches: {int(census.algebraic.sum())}" in text
    assert int(census.algebraic.sum()) > 0
    # the inputs by status and class: status_counts, with its row sums
    lines = text.splitlines()
    i = lines.index("inputs by status and class:")
    assert lines[i + 1].split() == ["status", "0", "1", "2", "all"]
    for s_i, s in enumerate(STATUSES):
        row = census.status_counts[s_i]
        assert lines[i + 2 + s_i].split()[-4:] == [*map(str, row.tolist()), str(row.sum())]
    wide = census.table(n_classes=5)
    assert wide.splitlines()[i + 1].split() == ["status", "0", "1", "2", "3", "4", "all"]
    assert "end-point accuracy:" in text


def test_table_without_labels_has_no_class_column():
    net, x0, _ = _creeping_network(n_inputs=40)
    census = dynsys.attractor_census(net, x0, 1000)
    text = census.table()
    assert "classes (count)" not in text and "inputs by status and class" not in text
    assert "end-point accuracy" not in text
    assert all(len(f) == 10 for f in _table_rows(text).values())
    c = census.counts()
    assert (f"attractor: {c['attractor']}, saddle: {c['saddle']}, cycle: {c['cycle']}, "
            f"not converged: {c['not converged']}; algebraic approaches: "
            f"{int(census.algebraic.sum())}") in text


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
