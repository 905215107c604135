"""dynsys.lyapunov: exponents of the layer maps against closed forms at fixed points."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dynsys
from dynsys.system import logistic

# A 2-D ResNet whose residuals converge to the fixed point y* = (1/2, 1) of the layer map
# (pattern (interior, 1): w11 y1 = -w12). Multipliers there: 1 + y1(1-y1) w11 = 1/2 on the
# interior coordinate and exp(-(W y*)_2) = exp(-2) on the saturated one.
W2 = np.array([[-2.0, 1.0], [3.0, 0.5]])


def test_mlp_one_neuron_closed_form():
    # y = f(2y - 1) has the fixed point 1/2 with multiplier 2 * 1/4 = 1/2
    r = dynsys.lyapunov(np.array([0.3]), np.array([[2.0]]), np.array([-1.0]), 400, kind="mlp")
    assert r.largest == pytest.approx(np.log(0.5), abs=1e-9)
    assert r.exponents.shape == (1,) and r.running.shape == (r.n_steps,)


def test_resnet_converging_to_a_stable_fixed_point_is_negative():
    r = dynsys.lyapunov(np.array([[0.1, 0.2], [0.7, 0.4]]), W2, None, 400, n_exponents=2)
    assert (r.exponents < 0).all()
    np.testing.assert_allclose(r.exponents, [[np.log(0.5), -2.0]] * 2, atol=1e-6)
    k1 = dynsys.lyapunov(np.array([[0.1, 0.2], [0.7, 0.4]]), W2, None, 400)
    np.testing.assert_allclose(k1.largest, r.exponents[:, 0], atol=1e-6)


def test_x_variable_sees_zero_on_saturated_coordinates():
    r = dynsys.lyapunov(np.array([0.1, 0.2]), W2, None, 400, variable="x", n_exponents=2)
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
    r = dynsys.lyapunov(ystar + 0.01, W, b, 600, kind="mlp", n_exponents=N)
    np.testing.assert_allclose(r.exponents, mu, atol=1e-6)


def test_batched_and_per_layer():
    rng = np.random.default_rng(1)
    N, T = 6, 50
    Wt = rng.normal(size=(T, N, N))
    r = dynsys.lyapunov(rng.random((3, N)), Wt, None, None, variable="x")
    assert r.exponents.shape == (3, 1)
    m = dynsys.lyapunov(rng.random((3, N)), Wt, None, None, kind="mlp", n_exponents=2)
    assert m.exponents.shape == (3, 2) and (np.diff(m.exponents, axis=1) <= 0).all()


def test_validation():
    W = np.eye(3)
    with pytest.raises(ValueError, match="needs shared weights"):
        dynsys.lyapunov(np.full(3, 0.5), np.stack([W, W]), None, None)
    with pytest.raises(ValueError, match="`variable` must be 'y' for the MLP"):
        dynsys.lyapunov(np.full(3, 0.5), W, None, 10, kind="mlp", variable="x")
    with pytest.raises(ValueError, match="`n_exponents` must be <= 3"):
        dynsys.lyapunov(np.full(3, 0.5), W, None, 10, n_exponents=4)
    with pytest.raises(ValueError, match="`discard` must be <= 8"):
        dynsys.lyapunov(np.full(3, 0.5), W, None, 10, discard=50)
    with pytest.raises(ValueError, match=r"`W` has shape \(3, 3\) but `x0` has shape \(4,\)"):
        dynsys.lyapunov(np.full(4, 0.5), W, None, 10)


@given(w=st.floats(-6.0, 6.0), b=st.floats(-3.0, 3.0))
def test_property_one_neuron_mlp(w, b):
    """1-D MLP: where y -> y* is attracting, the exponent is log|w y*(1 - y*)|."""
    y = 0.5
    for _ in range(5000):
        y = float(logistic(w * y + b))
    s = y * (1 - y)
    if abs(w * s) > 0.9 or abs(w) < 1e-3:  # slow or no convergence: no closed form to test
        return
    r = dynsys.lyapunov(np.array([0.5]), np.array([[w]]), np.array([b]), 800, kind="mlp",
                        discard=400)
    assert r.largest == pytest.approx(np.log(abs(w * s)), abs=1e-6)
