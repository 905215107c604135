"""eq. 3, its Jacobian and the step-1 layer map (logit and residual coordinates) against finite
differences and closed forms."""

from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dynsys
from dynsys._system import (
    ResidualSystem,
    jacobian,
    layer_map,
    layer_map_jacobian,
    logistic,
    logit,
    residual_map,
    residual_map_jacobian,
    vector_field,
)


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
def test_residual_map_jacobian_matches_finite_differences(W, y):
    G = residual_map_jacobian(W, y)
    Gn = _fd_jacobian(lambda v: residual_map(W, v), y)
    np.testing.assert_allclose(G, Gn, atol=1e-6)


@given(
    W=arrays(np.float64, (3, 3), elements=st.floats(-4, 4)),
    z=arrays(np.float64, (3,), elements=st.floats(-60, 60)),
)
def test_layer_map_jacobian_matches_finite_differences(W, z):
    G = layer_map_jacobian(W, z)
    Gn = _fd_jacobian(lambda v: layer_map(W, v), z)
    np.testing.assert_allclose(G, Gn, atol=1e-7)
    s = logistic(z)
    np.testing.assert_allclose(G, np.eye(3) + W @ np.diag(s * (1 - s)), atol=1e-15)


def test_layer_map_is_one_network_layer():
    # z(t+1) = z(t) + W y(t) exactly, so f(z + W f(z)) equals the residual map of y = f(z).
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, 5))
    z = rng.normal(size=5)
    y = logistic(z)
    np.testing.assert_allclose(residual_map(W, y), logistic(z + W @ y), rtol=1e-13)
    np.testing.assert_allclose(layer_map(W, z), z + W @ y, rtol=1e-13)
    # and it matches the next layer of x(t) = x(t-1) + f(W x(t-1) + b)
    b = rng.normal(size=5)
    x0 = rng.normal(size=5)
    z1 = W @ x0 + b
    y1 = logistic(z1)
    x1 = x0 + y1
    z2 = W @ x1 + b
    y2 = logistic(z2)
    np.testing.assert_allclose(residual_map(W, y1), y2, rtol=1e-12)
    np.testing.assert_allclose(layer_map(W, z1), z2, rtol=1e-12, atol=1e-13)
    net = dynsys.Network(W, b)
    np.testing.assert_array_equal(layer_map(net, z1), layer_map(W, z1))
    np.testing.assert_array_equal(layer_map_jacobian(net, z1), layer_map_jacobian(W, z1))


def test_layer_map_jacobian_at_fixed_point_is_identity_plus_dw():
    # Interior fixed point of N = 2 with W y = 0: y = (a, b) on the kernel of W.
    W = np.array([[1.0, -1.0], [2.0, -2.0]])
    y = np.array([0.4, 0.4])
    expected = np.eye(2) + np.diag(y * (1 - y)) @ W
    np.testing.assert_allclose(residual_map_jacobian(W, y), expected, atol=1e-14)
    # in logit coordinates: I + W diag(y (1 - y)), similar, with the same multipliers
    Jz = layer_map_jacobian(W, logit(y))
    np.testing.assert_allclose(Jz, np.eye(2) + W @ np.diag(y * (1 - y)), atol=1e-14)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(Jz)),
                               np.sort_complex(np.linalg.eigvals(expected)), atol=1e-13)


def test_batch_shapes():
    W = np.eye(3)
    y = np.full((7, 3), 0.5)
    assert vector_field(W, y).shape == (7, 3)
    assert jacobian(W, y).shape == (7, 3, 3)
    assert layer_map(W, y).shape == (7, 3)
    assert layer_map_jacobian(W, y).shape == (7, 3, 3)
    assert residual_map(W, y).shape == (7, 3)
    assert residual_map_jacobian(W, y).shape == (7, 3, 3)
    assert layer_map(W, y[0]).shape == (3,) and layer_map(W, y[:1]).shape == (1, 3)


def test_logistic_and_logit_are_inverse_and_safe():
    z = np.array([-800.0, -30.0, 0.0, 12.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        f = logistic(z)
    assert f[0] == 0.0 and f[-1] == 1.0 and f[2] == 0.5
    np.testing.assert_allclose(logit(logistic(z[1:-1])), z[1:-1], rtol=1e-9)


def test_logistic_in_place_is_the_same_float():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(size=5000) * 40, [-800.0, -0.0, 0.0, 800.0, np.inf, -np.inf]])
    ref = logistic(z)
    e = np.exp(-np.abs(z))  # the closed form of both branches, the kernels' operations
    r = 1.0 / (1.0 + e)
    np.testing.assert_array_equal(ref, np.where(z >= 0, r, e * r))
    buf = np.empty_like(z)
    assert logistic(z, out=buf) is buf
    np.testing.assert_array_equal(buf, ref)
    same = z.reshape(2, -1).copy()
    assert logistic(same, out=same) is same  # in place
    np.testing.assert_array_equal(same.ravel(), ref)
    assert np.ndim(logistic(0.5)) == 0 and logistic(0.0) == 0.5
    for bad in (np.empty(3), np.empty(z.shape, np.float32), list(z)):
        with pytest.raises(ValueError, match=r"^`out` must be a float64 array of the shape of "
                                             r"`z`, \(5006,\); got"):
            logistic(z, out=bad)


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
    with pytest.raises(ValueError, match=r"unit cube \[0, 1\]\^N"):
        residual_map(np.eye(2), [-0.1, 0.5])
    with pytest.raises(ValueError, match="`z` must be finite"):
        layer_map(np.eye(2), [np.inf, 0.5])
    with pytest.raises(TypeError, match="`z` must be real"):
        layer_map_jacobian(np.eye(2), [1j, 0.5])
    with pytest.raises(TypeError, match="`W` must be real"):
        layer_map(np.eye(2) * 1j, [0.0, 0.5])
    with pytest.raises(ValueError, match="`W` must be a shared-weight network"):
        layer_map(dynsys.Network(np.zeros((3, 2, 2))), [0.0, 0.5])
    with pytest.raises(ValueError, match="finite"):
        jacobian(np.eye(2), [np.nan, 0.5])
    with pytest.raises(ValueError, match="rational"):
        ResidualSystem.from_matrix(sympy.Matrix([[sympy.sqrt(2)]]))


@pytest.mark.parametrize("face", [50.0, -50.0, 1e3, -1e3])
def test_layer_map_at_saturated_faces(face):
    """z = +-50, +-1e3: y = f(z) rounds to 0 or 1 (or underflows), the logit map does not fail,
    and it agrees with the residual map wherever that one is representable."""
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 4))
    z = np.array([face, 0.3, -1.2, face / 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is exact enough
        out = layer_map(W, z)
        J = layer_map_jacobian(W, z)
    y = logistic(z)
    np.testing.assert_allclose(out, z + W @ y, rtol=1e-15)
    assert np.isfinite(J).all()
    # saturated columns are those of the identity (their slope underflows)
    np.testing.assert_allclose(J[:, 0], np.eye(4)[:, 0], atol=1e-20)
    # the residual map is the conjugate: f(layer_map(z)) = residual_map(f(z)) inside the cube
    np.testing.assert_allclose(logistic(out), residual_map(W, y), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(logistic(out[1:3]), residual_map(W, y)[1:3], rtol=1e-12)


def test_iterating_from_just_off_a_face():
    """Start 1e-6 off a face in y and take 100 steps in z: no error, every state finite,
    and y = f(z) agrees with the residual map as long as it stays representable."""
    W = np.array([[3.0, 1.0], [-2.0, 0.5]])
    y0 = np.array([1 - 1e-6, 0.4])
    z = logit(y0)
    y = y0.copy()
    for _ in range(100):
        z_next = layer_map(W, z)
        J = layer_map_jacobian(W, z)
        assert np.isfinite(z_next).all() and np.isfinite(J).all()
        y = residual_map(W, y)  # the y map on the closed cube (faces are invariant)
        assert np.all((y >= 0) & (y <= 1))
        z = z_next
    assert z[0] > 100  # saturated: y_0 rounds to 1, z_0 keeps growing at (W y)_0
    np.testing.assert_allclose(logistic(z), y, atol=1e-12)


def test_residual_map_jacobian_on_faces_is_the_limit():
    """On a face coordinate the residual map's Jacobian row is exp(+-(W y)_i) e_i, the limit
    from inside the cube, so face fixed points get the multipliers exp(+-(W y)_i)."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 3))
    y = np.array([0.0, 1.0, 0.4])
    a = W @ y
    J = residual_map_jacobian(W, y)
    np.testing.assert_allclose(J[0], [np.exp(a[0]), 0, 0], atol=1e-15)
    np.testing.assert_allclose(J[1], [0, np.exp(-a[1]), 0], atol=1e-15)
    inside = residual_map_jacobian(W, np.array([1e-9, 1 - 1e-9, 0.4]))
    np.testing.assert_allclose(J, inside, atol=1e-6)
    np.testing.assert_array_equal(residual_map(W, y)[:2], [0.0, 1.0])


# ---- tanh: the same maps on [-1, 1]^N ---------------------------------------------------


def _numeric_jacobian(fn, x, h=1e-6):
    return np.stack([(fn(x + h * e) - fn(x - h * e)) / (2 * h) for e in np.eye(x.size)], 1)


def test_tanh_vector_field_and_jacobian_closed_forms():
    rng = np.random.default_rng(11)
    W = rng.normal(size=(4, 4))
    net = dynsys.Network(W, activation="tanh")
    y = np.tanh(rng.normal(size=4))
    np.testing.assert_allclose(dynsys.vector_field(net, y), (1 - y * y) * (W @ y), rtol=1e-14)
    J = dynsys.jacobian(W, y, activation="tanh")
    closed = np.diag(-2 * y * (W @ y)) + np.diag(1 - y * y) @ W
    np.testing.assert_allclose(J, closed, rtol=1e-14, atol=1e-15)
    num = _numeric_jacobian(lambda v: dynsys.vector_field(net, v), y)
    np.testing.assert_allclose(J, num, atol=1e-8)
    # the system object carries the activation to its methods
    system = dynsys.as_system(W, activation="tanh")
    assert system.activation == "tanh" and "tanh" in repr(system)
    np.testing.assert_array_equal(system.vector_field(y), dynsys.vector_field(net, y))


def test_tanh_layer_map_and_its_jacobian():
    rng = np.random.default_rng(12)
    W = rng.normal(size=(3, 3))
    z = np.array([0.3, -45.0, 60.0])  # two saturated coordinates keep their digits in z
    net = dynsys.Network(W, activation="tanh")
    np.testing.assert_allclose(dynsys.layer_map(net, z), z + W @ np.tanh(z), rtol=1e-15)
    J = dynsys.layer_map_jacobian(net, z)
    d = 4 * np.exp(-2 * np.abs(z)) / (1 + np.exp(-2 * np.abs(z))) ** 2  # 1 - tanh^2
    np.testing.assert_allclose(J, np.eye(3) + W * d[None, :], rtol=1e-13)
    assert J[0, 1] != 0.0  # 4 e^-90 is not rounded away


def test_tanh_residual_map_face_multipliers_are_exp_2a():
    rng = np.random.default_rng(13)
    W = rng.normal(size=(3, 3))
    y = np.array([-1.0, 1.0, 0.25])
    a = W @ y
    g = dynsys.residual_map(W, y, activation="tanh")
    assert g[0] == -1.0 and g[1] == 1.0  # the faces are invariant
    D = dynsys.residual_map_jacobian(W, y, activation="tanh")
    assert D[0, 0] == pytest.approx(np.exp(2 * a[0]), rel=1e-12)
    assert D[1, 1] == pytest.approx(np.exp(-2 * a[1]), rel=1e-12)
    assert D[0, 1] == 0.0 and D[1, 2] == 0.0
    inner = np.tanh(rng.normal(size=3))
    num = _numeric_jacobian(lambda v: dynsys.residual_map(W, v, activation="tanh"), inner)
    np.testing.assert_allclose(dynsys.residual_map_jacobian(W, inner, activation="tanh"), num,
                               atol=1e-8)


def test_tanh_box_and_contradictions_are_refused():
    W = np.eye(2)
    with pytest.raises(ValueError, match=r"cube \[-1, 1\]\^N"):
        dynsys.residual_map(W, [1.5, 0.0], activation="tanh")
    with pytest.raises(ValueError, match=r"unit cube \[0, 1\]\^N"):
        dynsys.residual_map(W, [-0.5, 0.0])
    with pytest.raises(ValueError, match="must match the network's own activation"):
        dynsys.vector_field(dynsys.Network(W, activation="tanh"), [0.1, 0.2],
                            activation="logistic")
    with pytest.raises(ValueError, match="`activation` must be one of"):
        dynsys.jacobian(W, [0.1, 0.2], activation="relu")
