"""dynsys.lyapunov: exponents of the layer maps against closed forms at fixed points."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dynsys
from dynsys._system import logistic

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
    if cycle is None or abs(w) < 1e-3:  # no settled cycle of period <= 8: no closed form
        return
    logs = np.log(np.abs(w * cycle * (1 - cycle)))
    if logs.mean() > np.log(0.9):  # weakly attracting: convergence too slow for 400 layers
        return
    r = dynsys.lyapunov(np.array([0.5]), np.array([[w]]), np.array([b]), 800, kind="mlp",
                        discard=400)
    assert r.largest == pytest.approx(logs.mean(), abs=1e-6)


def test_one_neuron_mlp_two_cycle():
    """The case Hypothesis found, pinned: w = -5, b = 2 settles on a 2-cycle whose exponent,
    (log|f'(y_1)| + log|f'(y_2)|) / 2 = -0.452, differs from log|f'| at either point."""
    cycle = _attracting_cycle(-5.0, 2.0)
    assert cycle.shape == (2,)
    r = dynsys.lyapunov(np.array([0.5]), np.array([[-5.0]]), np.array([2.0]), 800, kind="mlp",
                        discard=400)
    assert r.largest == pytest.approx(-0.452004327536, abs=1e-9)
