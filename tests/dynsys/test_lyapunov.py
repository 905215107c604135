"""dynsys.lyapunov: exponents of the layer maps against closed forms at fixed points."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dynsys
from dynsys._system import logistic

# A 2-D ResNet whose residuals converge to the fixed point y* = (1/2, 1) of the layer map
# (pattern (interior, 1): w11 y1 = -w12). Multipliers there: 1 + y1(1-y1) w11 = 1/2 on the
# interior coordinate and exp(-(W y*)_2) = exp(-2) on the saturated one.
W2 = np.array([[-2.0, 1.0], [3.0, 0.5]])


def test_mlp_one_neuron_closed_form():
    # y = f(2y - 1) has the fixed point 1/2 with multiplier 2 * 1/4 = 1/2
    net = dynsys.Network(np.array([[2.0]]), np.array([-1.0]), kind="mlp")
    r = dynsys.lyapunov(net, np.array([0.3]), 400)
    assert r.largest == pytest.approx(np.log(0.5), abs=1e-9)
    assert r.exponents.shape == (1,) and r.running.shape == (r.n_steps,)


def test_resnet_converging_to_a_stable_fixed_point_is_negative():
    r = dynsys.lyapunov(dynsys.Network(W2), np.array([[0.1, 0.2], [0.7, 0.4]]), 400, n_exponents=2)
    assert (r.exponents < 0).all()
    np.testing.assert_allclose(r.exponents, [[np.log(0.5), -2.0]] * 2, atol=1e-6)
    k1 = dynsys.lyapunov(dynsys.Network(W2), np.array([[0.1, 0.2], [0.7, 0.4]]), 400)
    np.testing.assert_allclose(k1.largest, r.exponents[:, 0], atol=1e-6)


def test_x_variable_sees_zero_on_saturated_coordinates():
    r = dynsys.lyapunov(dynsys.Network(W2), np.array([0.1, 0.2]), 400, variable="x",
                        n_exponents=2)
    np.testing.assert_allclose(r.exponents, [0.0, np.log(0.5)], atol=1e-3)


def test_constant_jacobian_interior_fixed_point():
    """At an interior fixed point the exponents are log|eigenvalues of I + diag(y(1-y)) W|."""
    # the MLP y = f(W y + b) with a chosen fixed point y*; W symmetric, so that the Jacobian
    # diag(y*(1-y*)) W has real eigenvalues (a complex pair's two exponents converge only
    # in their sum)
    rng = np.random.default_rng(0)
    N = 4
    ystar = rng.uniform(0.3, 0.7, N)
    A = rng.normal(size=(N, N))
    W = (A + A.T) * 0.8
    b = np.log(ystar / (1 - ystar)) - W @ ystar  # y* = f(W y* + b)
    J = np.diag(ystar * (1 - ystar)) @ W
    mu = np.sort(np.log(np.abs(np.linalg.eigvals(J))))[::-1]
    assert mu[0] < 0
    r = dynsys.lyapunov(dynsys.Network(W, b, kind="mlp"), ystar + 0.01, 600, n_exponents=N)
    np.testing.assert_allclose(r.exponents, mu, atol=1e-6)


def test_batched_and_per_layer():
    rng = np.random.default_rng(1)
    N, T = 6, 50
    Wt = rng.normal(size=(T, N, N))
    r = dynsys.lyapunov(dynsys.Network(Wt), rng.random((3, N)), None, variable="x")
    assert r.exponents.shape == (3, 1)
    m = dynsys.lyapunov(dynsys.Network(Wt, kind="mlp"), rng.random((3, N)), None, n_exponents=2)
    assert m.exponents.shape == (3, 2) and (np.diff(m.exponents, axis=1) <= 0).all()
    # the default depth runs all T layers of per-layer weights; a larger one repeats the
    # last layer past T (the depth rule)
    d = dynsys.lyapunov(dynsys.Network(Wt), rng.random((3, N)), variable="x")
    assert d.depth == T and d.running.shape == (d.n_steps, 3)
    assert dynsys.lyapunov(dynsys.Network(Wt), rng.random((3, N)), 1000,
                           variable="x").depth == 1000


def test_validation():
    W = np.eye(3)
    with pytest.raises(ValueError, match="needs shared weights"):
        dynsys.lyapunov(dynsys.Network(np.stack([W, W])), np.full(3, 0.5), None)
    with pytest.raises(ValueError, match="`variable` must be 'y' for the MLP"):
        dynsys.lyapunov(dynsys.Network(W, kind="mlp"), np.full(3, 0.5), 10, variable="x")
    with pytest.raises(ValueError, match="`n_exponents` must be <= 3"):
        dynsys.lyapunov(dynsys.Network(W), np.full(3, 0.5), 10, n_exponents=4)
    with pytest.raises(ValueError, match="`discard` must be <= 8"):
        dynsys.lyapunov(dynsys.Network(W), np.full(3, 0.5), 10, discard=50)
    with pytest.raises(ValueError, match=r"`x0` must have shape \(3,\) or \(B, 3\) for `net`"
                                         r".*got shape \(4,\)"):
        dynsys.lyapunov(dynsys.Network(W), np.full(4, 0.5), 10)


@pytest.mark.parametrize("kind,variable,minimum", [("resnet", "y", 2), ("resnet", "z", 2),
                                                   ("resnet", "x", 1), ("mlp", "y", 1)])
def test_depth_has_one_rule_and_one_message(kind, variable, minimum):
    """At least one map step: T - 1 of them for the ResNet in y or z, T otherwise."""
    net = dynsys.Network(W2, kind=kind)
    x0 = np.array([0.1, 0.2])
    for depth in sorted({-5, -1, 0, minimum - 1}):
        with pytest.raises(ValueError) as err:
            dynsys.lyapunov(net, x0, depth, variable=variable)
        assert str(err.value).startswith(
            f"`depth` must be >= {minimum} for kind={kind!r} with variable={variable!r} "), \
            str(err.value)
        assert str(err.value).endswith(f"; got {depth}.")
    r = dynsys.lyapunov(net, x0, minimum, variable=variable)
    assert r.depth == minimum and r.n_steps == 1
    with pytest.raises(TypeError, match="`depth` must be an integer; got float"):
        dynsys.lyapunov(net, x0, 2.5, variable=variable)


def test_z_variable_is_the_logit_layer_map():
    """In logit coordinates the tangent map is I + W diag(s(z)): at y* = (1/2, 1) the
    saturated coordinate's logit moves at constant speed (exponent 0) and the interior one
    contracts by 1 + w11 / 4 = 1/2, as for the cumulative signal x."""
    r = dynsys.lyapunov(dynsys.Network(W2), np.array([0.1, 0.2]), 400, variable="z",
                        n_exponents=2)
    np.testing.assert_allclose(r.exponents, [0.0, np.log(0.5)], atol=1e-3)
    # the tangent map is layer_map_jacobian along the run
    z = np.array([0.3, -0.2])
    J = dynsys.layer_map_jacobian(W2, z)
    np.testing.assert_allclose(J, np.eye(2) + W2 @ np.diag(logistic(z) * (1 - logistic(z))))


def test_saturated_run_stays_finite_and_net_is_checked():
    """A run pinned far inside a face (|z| ~ 1e3 after a few layers) keeps finite exponents."""
    W = np.array([[40.0, 0.0], [0.0, -40.0]])
    r = dynsys.lyapunov(dynsys.Network(W), np.array([[0.5, 0.5]]), 200, variable="y",
                        n_exponents=2)
    assert np.isfinite(r.exponents).all()
    with pytest.raises(TypeError, match=r"`net` must be a dynsys.Network"):
        dynsys.lyapunov(W, np.array([0.5, 0.5]), 10)
    assert len(repr(r)) < 300 and "LyapunovResult" in repr(r)


def _attracting_cycle(w, b, max_period=8):
    """The periodic orbit y -> logistic(w y + b) settles on from y = 0.5, or None.

    A decreasing map (w < 0) can settle on a stable 2-cycle while its fixed point repels
    (found by Hypothesis at w = -5, b = 2), so the closed form must be taken over the cycle."""
    y = 0.5
    for _ in range(5000):
        y = float(logistic(w * y + b))
    orbit = [y]
    for _ in range(max_period):
        orbit.append(float(logistic(w * orbit[-1] + b)))
        if abs(orbit[-1] - y) < 1e-13:
            return np.array(orbit[:-1])
    return None


@given(w=st.floats(-6.0, 6.0), b=st.floats(-3.0, 3.0))
def test_property_one_neuron_mlp(w, b):
    """1-D MLP on an attracting cycle y_1..y_p: the exponent is the orbit mean of
    log|w y_k (1 - y_k)| (log|w y*(1 - y*)| at a fixed point)."""
    cycle = _attracting_cycle(w, b)
    assume(cycle is not None and abs(w) >= 1e-3)  # a settled cycle of period <= 8
    logs = np.log(np.abs(w * cycle * (1 - cycle)))
    assume(logs.mean() <= np.log(0.9))  # weakly attracting: convergence too slow for 400 layers
    net = dynsys.Network(np.array([[w]]), np.array([b]), kind="mlp")
    r = dynsys.lyapunov(net, np.array([0.5]), 800, discard=400)
    assert r.largest == pytest.approx(logs.mean(), abs=1e-6)


def test_one_neuron_mlp_two_cycle():
    """The case Hypothesis found, pinned: w = -5, b = 2 settles on a 2-cycle whose exponent,
    (log|f'(y_1)| + log|f'(y_2)|) / 2 = -0.452, differs from log|f'| at either point."""
    cycle = _attracting_cycle(-5.0, 2.0)
    assert cycle.shape == (2,)
    net = dynsys.Network(np.array([[-5.0]]), np.array([2.0]), kind="mlp")
    r = dynsys.lyapunov(net, np.array([0.5]), 800, discard=400)
    assert r.largest == pytest.approx(-0.452004327536, abs=1e-9)


def test_tanh_mlp_exponent_at_its_fixed_point_closed_form():
    # y <- tanh(w y + b) contracts to y*; the exponent is log|w (1 - y*^2)|
    w, b = 0.8, 0.3
    net = dynsys.Network(np.array([[w]]), np.array([b]), kind="mlp", activation="tanh")
    y = 0.0
    for _ in range(200):
        y = np.tanh(w * y + b)
    r = dynsys.lyapunov(net, np.array([0.1]), 600)
    assert r.activation == "tanh" and "tanh" in repr(r)
    assert r.largest == pytest.approx(np.log(abs(w * (1 - y * y))), abs=1e-3)


@pytest.mark.parametrize("w", [-0.5, -1.5])
def test_tanh_resnet_exponent_at_the_origin(w):
    # z <- z + w tanh(z): the origin is stable for -2 < w < 0 with multiplier 1 + w
    net = dynsys.Network(np.array([[w]]), activation="tanh")
    r = dynsys.lyapunov(net, np.array([0.4]), 800)
    assert r.largest == pytest.approx(np.log(abs(1 + w)), abs=2e-3)


def test_tanh_resnet_exponent_at_a_face_is_minus_2a():
    # w > 0: the faces +-1 attract with residual multiplier exp(-2w) (rate (W y) = w at +1)
    w = 0.3
    net = dynsys.Network(np.array([[w]]), activation="tanh")
    r = dynsys.lyapunov(net, np.array([0.5]), 2000)
    assert r.largest == pytest.approx(-2 * w, abs=5e-3)
