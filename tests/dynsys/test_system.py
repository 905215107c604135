"""eq. 3, its Jacobian and the step-1 layer map against finite differences and closed forms."""

from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dynsys
from dynsys._system import ResidualSystem, jacobian, layer_map, layer_map_jacobian, logistic, logit, vector_field


def _fd_jacobian(f, y, eps=1e-6):
    cols = [(f(y + eps * e) - f(y - eps * e)) / (2 * eps) for e in np.eye(len(y))]
    return np.array(cols).T


def test_vector_field_closed_form_n1():
    # N = 1: dy/dt = w y^2 (1 - y).
    w = -1.7
    y = np.array([0.3])
    assert vector_field([[w]], y)[0] == pytest.approx(w * 0.3**2 * 0.7)
    assert jacobian([[w]], y)[0, 0] == pytest.approx(w * (2 * 0.3 - 3 * 0.3**2))


def test_vector_field_readable_loop():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 4))
    y = rng.uniform(size=(5, 4))
    expected = np.array([[yb[i] * (1 - yb[i]) * sum(W[i, j] * yb[j] for j in range(4)) for i in range(4)] for yb in y])
    np.testing.assert_allclose(vector_field(W, y), expected, rtol=1e-14, atol=1e-15)


@given(
    W=arrays(np.float64, (3, 3), elements=st.floats(-5, 5)),
    y=arrays(np.float64, (3,), elements=st.floats(0.05, 0.95)),
)
def test_jacobian_matches_finite_differences(W, y):
    J = jacobian(W, y)
    Jn = _fd_jacobian(lambda v: vector_field(W, v), y)
    np.testing.assert_allclose(J, Jn, atol=1e-7)


@given(
    W=arrays(np.float64, (3, 3), elements=st.floats(-4, 4)),
    y=arrays(np.float64, (3,), elements=st.floats(0.05, 0.95)),
)
def test_layer_map_jacobian_matches_finite_differences(W, y):
    G = layer_map_jacobian(W, y)
    Gn = _fd_jacobian(lambda v: layer_map(W, v), y)
    np.testing.assert_allclose(G, Gn, atol=1e-6)


def test_layer_map_is_one_network_layer():
    # z(t+1) = z(t) + W y(t) exactly, so f(z + W f(z)) equals the layer map of y = f(z).
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, 5))
    z = rng.normal(size=5)
    y = logistic(z)
    np.testing.assert_allclose(layer_map(W, y), logistic(z + W @ y), rtol=1e-13)
    # and it matches the residual of the next layer of x(t) = x(t-1) + f(W x(t-1) + b)
    b = rng.normal(size=5)
    x0 = rng.normal(size=5)
    y1 = logistic(W @ x0 + b)
    x1 = x0 + y1
    y2 = logistic(W @ x1 + b)
    np.testing.assert_allclose(layer_map(W, y1), y2, rtol=1e-12)


def test_layer_map_jacobian_at_fixed_point_is_identity_plus_dw():
    # Interior fixed point of N = 2 with W y = 0: y = (a, b) on the kernel of W.
    W = np.array([[1.0, -1.0], [2.0, -2.0]])
    y = np.array([0.4, 0.4])
    expected = np.eye(2) + np.diag(y * (1 - y)) @ W
    np.testing.assert_allclose(layer_map_jacobian(W, y), expected, atol=1e-14)


def test_batch_shapes():
    W = np.eye(3)
    y = np.full((7, 3), 0.5)
    assert vector_field(W, y).shape == (7, 3)
    assert jacobian(W, y).shape == (7, 3, 3)
    assert layer_map(W, y).shape == (7, 3)
    assert layer_map_jacobian(W, y).shape == (7, 3, 3)


def test_logistic_and_logit_are_inverse_and_safe():
    z = np.array([-800.0, -30.0, 0.0, 12.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        f = logistic(z)
    assert f[0] == 0.0 and f[-1] == 1.0 and f[2] == 0.5
    np.testing.assert_allclose(logit(logistic(z[1:-1])), z[1:-1], rtol=1e-9)


def test_system_object_exact_and_float():
    s = ResidualSystem.from_matrix([[Fraction(1, 2), 1], [2, -3]])
    assert s.n == 2
    assert s.W_exact == sympy.Matrix([[sympy.Rational(1, 2), 1], [2, -3]])
    assert s.W.dtype == np.float64 and not s.W.flags.writeable
    f = ResidualSystem.from_matrix(np.array([[0.1]]))
    assert f.W_exact is None
    assert f.exact_W()[0, 0] == sympy.Rational(0.1)  # the exact binary value of the float
    assert dynsys.as_system(s) is s
    y = np.array([0.2, 0.7])
    np.testing.assert_allclose(s.vector_field(y), vector_field(s.W, y))
    np.testing.assert_allclose(s.jacobian(y), jacobian(s, y))


@pytest.mark.parametrize(
    "W, message",
    [
        (np.ones((2, 3)), "square"),
        (np.ones(3), "square"),
        (np.zeros((0, 0)), "N >= 1"),
        (np.array([[np.nan]]), "finite"),
        ([["a"]], "numeric"),
    ],
)
def test_bad_W(W, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        vector_field(W, [0.5])
    assert "`W`" in str(info.value)


def test_bad_points():
    with pytest.raises(ValueError, match=r"`y` must have shape \(2,\)"):
        vector_field(np.eye(2), [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="open unit cube"):
        layer_map(np.eye(2), [0.0, 0.5])
    with pytest.raises(ValueError, match="finite"):
        jacobian(np.eye(2), [np.nan, 0.5])
    with pytest.raises(ValueError, match="rational"):
        ResidualSystem.from_matrix(sympy.Matrix([[sympy.sqrt(2)]]))
