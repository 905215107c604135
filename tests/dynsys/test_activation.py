"""The activations: closed forms, the conjugacy of tanh to the driven logistic, refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynsys
from dynsys._activation import ACTIVATIONS, activation, check_activation, resolve_activation

finite = st.floats(-30, 30, allow_nan=False)


@pytest.mark.parametrize("name, box", [("logistic", (0.0, 1.0)), ("tanh", (-1.0, 1.0))])
def test_box_and_codes(name, box):
    act = activation(name)
    assert act.box == box
    assert act.code == ACTIVATIONS.index(name)
    assert name in repr(act)


@pytest.mark.parametrize("bad", ["sigmoid", "Tanh", "", None, 1])
def test_unknown_activation_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="`activation` must be one of 'logistic', 'tanh'"):
        check_activation(bad)
    with pytest.raises(ValueError, match="activation"):
        dynsys.Network(np.eye(2), activation=bad)


@given(finite)
@settings(max_examples=60, deadline=None)
def test_f_inverse_and_slopes_closed_forms(z):
    for name in ACTIVATIONS:
        act = activation(name)
        y = act.f(z)
        ref = 1.0 / (1.0 + np.exp(-z)) if name == "logistic" else np.tanh(z)
        assert y == pytest.approx(ref, rel=1e-15, abs=1e-300)
        if act.lower < y < act.upper and abs(z) < 15:
            # the inverse is as accurate as y's rounding allows: |dz| = ulp(y) / f'(z)
            assert act.inverse(y) == pytest.approx(z, rel=1e-12,
                                                   abs=4e-16 / act.slope_at(z))
        # f'(z) from the logit agrees with the slope as a function of y where y keeps digits
        h = 1e-6
        num = (act.f(z + h) - act.f(z - h)) / (2 * h)
        # the central difference is good to ~h^2 and to the rounding of f, ~1e-16 / h
        assert act.slope_at(z) == pytest.approx(num, rel=1e-5, abs=1e-9)
        if abs(z) < 15:
            assert act.slope(y) == pytest.approx(act.slope_at(z), rel=1e-9, abs=1e-15)


def test_slope_at_keeps_digits_where_f_saturates():
    # 1 - tanh(30)^2 rounds to 0 in the product form; 4 e^{-60} is the truth
    act = activation("tanh")
    assert act.slope(np.tanh(30.0)) == 0.0
    assert act.slope_at(30.0) == pytest.approx(4 * np.exp(-60.0), rel=1e-12)


@given(st.lists(finite, min_size=3, max_size=3), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_tanh_layer_is_the_driven_logistic_layer_in_doubled_logits(z, seed):
    # tanh(z) = 2 f(2z) - 1: u = 2z obeys u <- u + 4W f(u) - 2W1
    W = np.random.default_rng(seed).normal(size=(3, 3))
    z = np.asarray(z)
    tanh = activation("tanh")
    W4, c = tanh.unit_weights(W)
    u_next = 2 * z + W4 @ dynsys.logistic(2 * z) + c
    z_next = z + W @ np.tanh(z)
    np.testing.assert_allclose(u_next, 2 * z_next, rtol=1e-12, atol=1e-12)
    # and the flows: s = (y + 1) / 2 obeys ds/dt = s(1-s)(4W s - 2W1) with dy/dt = (1-y^2) Wy
    y = np.tanh(z)
    s = tanh.to_unit(y)
    ds = s * (1 - s) * (W4 @ s + c)
    dy = (1 - y * y) * (W @ y)
    np.testing.assert_allclose(2 * ds, dy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tanh.from_unit(s), y, rtol=0, atol=1e-15)


def test_logistic_unit_weights_are_the_identity():
    W = np.arange(4.0).reshape(2, 2)
    W2, c = activation("logistic").unit_weights(W)
    assert c is None and np.array_equal(W2, W)


def test_resolve_activation_refuses_a_contradiction():
    net = dynsys.Network(np.eye(2), activation="tanh")
    assert resolve_activation(net, None).name == "tanh"
    assert resolve_activation(net, "tanh").name == "tanh"
    assert resolve_activation(np.eye(2), None).name == "logistic"
    assert resolve_activation(np.eye(2), "tanh").name == "tanh"
    with pytest.raises(ValueError, match="must match the network's own activation 'tanh'"):
        resolve_activation(net, "logistic")


def test_results_record_their_box():
    W = np.array([[-1.0, 2.0], [3.0, -1.0]])
    for act, box in (("logistic", (0.0, 1.0)), ("tanh", (-1.0, 1.0))):
        net = dynsys.Network(W, activation=act)
        assert net.box == box
        assert dynsys.fixed_points(net).box == box
        assert dynsys.count_fixed_points(net).box == box
        assert dynsys.spectrum_at(net, [0.0, 0.0]).box == box
        assert dynsys.iterate(net, [0.1, 0.2], 3).box == box
        assert dynsys.attractor_census(net, [[0.1, 0.2]], 50).box == box
        assert dynsys.integrate(net, [0.5, 0.5], [0.0, 1.0]).box == box
