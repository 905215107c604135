"""dynsys.sensitivity: appendix A (eq. 9-10), products and log-determinants."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dynsys


def brute_products(W, y):
    T, N = y.shape
    out = []
    for s in range(1, T + 1):
        P = np.eye(N)
        for t in range(T, s - 1, -1):
            Wt = W if W.ndim == 2 else W[t - 1]
            P = P @ (np.eye(N) + np.diag(y[t - 1] * (1 - y[t - 1])) @ Wt)
        out.append(P)
    return np.array(out)


def test_diagonal_closed_form():
    """Diagonal W: I + M(t) is diagonal, M'(s) = diag(prod_{t >= s} (1 + y_t (1 - y_t) w))."""
    rng = np.random.default_rng(0)
    T, N = 15, 6
    w = rng.normal(size=N) * 3
    y = rng.random((T, N))
    r = dynsys.sensitivity(dynsys.Network(np.diag(w)), y)
    factors = 1 + y * (1 - y) * w  # (T, N)
    for s in range(1, T + 1):
        diag = np.prod(factors[s - 1:], axis=0)
        np.testing.assert_allclose(r.products[s - 1], np.diag(diag), atol=1e-12)
        np.testing.assert_allclose(r.logabsdet[s - 1], np.sum(np.log(np.abs(diag))), atol=1e-12)
        assert r.sign[s - 1] == np.prod(np.sign(diag))
    np.testing.assert_allclose(r.layer_logabsdet, np.sum(np.log(np.abs(factors)), axis=1))


@pytest.mark.parametrize("per_layer", [False, True])
def test_against_numpy_det_and_products(per_layer):
    rng = np.random.default_rng(1)
    T, N, C = 7, 5, 3
    W = rng.normal(size=(T, N, N) if per_layer else (N, N)) * 2
    y = rng.random((T, N))
    K = rng.normal(size=(C, N))
    r = dynsys.sensitivity(dynsys.Network(W, K=K), y)
    P = brute_products(W, y)
    np.testing.assert_allclose(r.products, P, atol=1e-11)
    dets = np.linalg.det(P)
    np.testing.assert_allclose(r.logabsdet, np.log(np.abs(dets)), atol=1e-10)
    np.testing.assert_array_equal(r.sign, np.sign(dets))
    np.testing.assert_allclose(r.S, K @ P, atol=1e-11)
    np.testing.assert_allclose(r.S_norm, np.linalg.norm(K @ P, axis=(1, 2)), atol=1e-10)
    sl = np.linalg.slogdet(P)
    np.testing.assert_allclose(r.logabsdet, sl[1], atol=1e-10)
    assert r.log10_det_ratio(2, 5) == pytest.approx((r.logabsdet[1] - r.logabsdet[4]) / np.log(10))


def test_batch_equals_single_inputs_and_S_without_products():
    rng = np.random.default_rng(2)
    T, B, N = 6, 4, 5
    W = rng.normal(size=(N, N))
    Y = rng.random((T, B, N))  # the layout of IterateResult.y
    K = rng.normal(size=(2, N))
    net = dynsys.Network(W, K=K)
    rb = dynsys.sensitivity(net, Y)
    assert rb.products is None and rb.logabsdet.shape == (T, B) and rb.S.shape == (T, B, 2, N)
    for i in range(B):
        ri = dynsys.sensitivity(net, Y[:, i])
        np.testing.assert_allclose(rb.logabsdet[:, i], ri.logabsdet, atol=1e-12)
        np.testing.assert_allclose(rb.S[:, i], ri.S, atol=1e-12)
    # a batch of one keeps its batch axis
    one = dynsys.sensitivity(net, Y[:, :1])
    assert one.logabsdet.shape == (T, 1) and one.S_norm.shape == (T, 1)
    np.testing.assert_allclose(one.log10_det_ratio(2, 5), rb.log10_det_ratio(2, 5)[:1])


def test_no_overflow_where_det_does():
    """N = 400 with expanding layers: det overflows float64, the log-determinant does not."""
    rng = np.random.default_rng(3)
    T, N = 15, 400
    W = np.eye(N) * 30 + rng.normal(size=(N, N)) * 0.01
    y = np.full((T, N), 0.5)
    r = dynsys.sensitivity(dynsys.Network(W), y, products=False)
    # each layer: det(I + 0.25 W) ~ 8.5^400 ~ 1e371
    assert np.isfinite(r.logabsdet).all() and r.logabsdet[0] > 709 * 10
    np.testing.assert_allclose(np.diff(r.logabsdet), -r.layer_logabsdet[:-1], rtol=1e-12)
    assert r.log10_det_ratio(4, 10) > 300  # earlier layers: orders of magnitude more


def test_from_an_iterate_recording():
    rng = np.random.default_rng(4)
    N, T = 8, 15
    W = rng.normal(size=(N, N)) / np.sqrt(N)
    rec = dynsys.iterate(dynsys.Network(W, np.zeros(N)), rng.random((3, N)), T)
    r = dynsys.sensitivity(dynsys.Network(W), rec.y)
    assert r.logabsdet.shape == (T, 3)


def test_validation():
    W = np.eye(3)
    with pytest.raises(ValueError, match=r"`states` has shape \(4, 5\) but `net` has width N = 3"):
        dynsys.sensitivity(dynsys.Network(W), np.full((4, 5), 0.5))
    with pytest.raises(ValueError, match=r"`states` must hold logistic outputs y in \[0, 1\]"):
        dynsys.sensitivity(dynsys.Network(W), np.full((4, 3), 1.5))
    with pytest.raises(ValueError, match="`states` must hold the residuals"):
        dynsys.sensitivity(dynsys.Network(W), np.full(3, 0.5))
    with pytest.raises(ValueError, match=r"`K` must have shape \(C, 3\)"):
        dynsys.sensitivity(dynsys.Network(W, K=np.ones((2, 4))), np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match="`states` must be finite"):
        dynsys.sensitivity(dynsys.Network(W), np.full((4, 3), np.nan))
    r = dynsys.sensitivity(dynsys.Network(W), np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match="`s1` must be a layer in 1..4"):
        r.log10_det_ratio(0, 2)


@given(N=st.integers(1, 6), T=st.integers(1, 6), seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 10.0))
@example(N=6, T=6, seed=4, scale=8.0)  # ill-conditioned product found by the explore profile
def test_property_logdet_is_log_of_det(N, T, seed, scale):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(N, N)) * scale
    y = rng.random((T, N))
    r = dynsys.sensitivity(dynsys.Network(W), y)
    P = brute_products(W, y)
    # Oracle 1, exact identity: log|det M'(s)| = sum_{t >= s} log|det(I + M(t))|, each factor
    # determinant taken separately by numpy (well conditioned: one layer).
    # The error of each log|det| is about N eps cond(factor), so the tolerance sums those.
    factors = [np.eye(N) + np.diag(y[t] * (1 - y[t])) @ W for t in range(T)]
    per_layer = np.array([np.linalg.det(F) for F in factors])
    conds = np.array([np.linalg.cond(F) for F in factors])
    if np.all(np.abs(per_layer) > 1e-200) and np.all(np.isfinite(conds)):
        expect = np.cumsum(np.log(np.abs(per_layer))[::-1])[::-1]
        tol = 1e-10 * max(1, T * N * scale) + 1e-14 * N * np.cumsum(conds[::-1])[::-1]
        assert np.all(np.abs(r.logabsdet - expect) <= tol)
    # Oracle 2, the determinant of the product matrix itself. Forming the product loses
    # accuracy in proportion to its condition number (Hypothesis found N = T = 6, scale 8,
    # seed 4: cond ~ 1e9, brute log|det| off by 3.5e-6), so the tolerance scales with it.
    d = np.linalg.det(P)
    cond = np.linalg.cond(P)
    ok = (np.abs(d) > 1e-200) & np.isfinite(cond)
    tol = 1e-8 + 1e-14 * N * cond[ok]
    assert np.all(np.abs(r.logabsdet[ok] - np.log(np.abs(d[ok]))) <= tol)
    np.testing.assert_allclose(r.products, P, rtol=1e-9, atol=1e-9 * np.abs(P).max())


def test_mlp_factors_have_no_identity():
    """The MLP's layer Jacobian is M(t) itself: M'(s) = M(T) ... M(s)."""
    rng = np.random.default_rng(5)
    T, N = 5, 4
    W = rng.normal(size=(T, N, N)) * 2
    y = rng.uniform(0.1, 0.9, (T, N))
    r = dynsys.sensitivity(dynsys.Network(W, kind="mlp"), y)
    P = np.eye(N)
    for s in range(T, 0, -1):
        P = P @ (np.diag(y[s - 1] * (1 - y[s - 1])) @ W[s - 1])
        np.testing.assert_allclose(r.products[s - 1], P, atol=1e-12)
        assert r.logabsdet[s - 1] == pytest.approx(np.log(abs(np.linalg.det(P))), abs=1e-9)
    assert r.kind == "mlp" and r.S is None


def test_readout_is_identity_without_K():
    """Without a readout K = I: S_norm is the Frobenius norm of M'(s), for one input and for
    a batch (where the products are carried but not stored)."""
    rng = np.random.default_rng(6)
    T, B, N = 6, 3, 5
    W = rng.normal(size=(N, N))
    Y = rng.random((T, B, N))
    net = dynsys.Network(W)
    rb = dynsys.sensitivity(net, Y)
    assert rb.S is None and not rb.readout and rb.S_norm.shape == (T, B)
    for i in range(B):
        P = brute_products(W, Y[:, i])
        np.testing.assert_allclose(rb.S_norm[:, i], np.linalg.norm(P, axis=(1, 2)), rtol=1e-11)
    K = np.eye(N)
    rk = dynsys.sensitivity(dynsys.Network(W, K=K), Y)
    np.testing.assert_allclose(rk.S_norm, rb.S_norm, rtol=1e-12)


def test_net_must_be_a_network_and_repr_is_short():
    W = np.eye(3)
    with pytest.raises(TypeError, match=r"`net` must be a dynsys.Network.*dynsys.Network\(W, b\)"):
        dynsys.sensitivity(W, np.full((4, 3), 0.5))
    with pytest.raises(TypeError, match="`states` must be real"):
        dynsys.sensitivity(dynsys.Network(W), np.full((4, 3), 0.5 + 0.1j))
    r = dynsys.sensitivity(dynsys.Network(np.eye(40)), np.full((15, 20, 40), 0.5), products=True)
    assert len(repr(r)) < 300 and "15x20" in repr(r)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
@pytest.mark.parametrize("d", [2, 3, 7])
def test_per_layer_states_of_any_depth_follow_the_depth_rule(kind, d):
    """States of d layers of a per-layer network (T = 3): layer t uses W(min(t, T)), as in
    iterate(net, x0, d); the same numbers as the network with W(T) tiled out to d layers."""
    rng = np.random.default_rng(4)
    T, N, B = 3, 4, 2
    W = rng.normal(size=(T, N, N))
    b = rng.normal(size=(T, N))
    K = rng.normal(size=(2, N))
    net = dynsys.Network(W, b, kind=kind, K=K)
    Y = dynsys.iterate(net, rng.random((B, N)), d).y
    idx = [min(t, T) - 1 for t in range(1, d + 1)]
    twin = dynsys.Network(W[idx], b[idx], kind=kind, K=K)  # d matrices, the last ones copies
    got = dynsys.sensitivity(net, Y, products=True)
    ref = dynsys.sensitivity(twin, Y, products=True)
    for name in ("layer_logabsdet", "layer_sign", "logabsdet", "sign", "products", "S",
                 "S_norm"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-12,
                                   atol=1e-14, err_msg=name)
    if kind == "resnet":
        np.testing.assert_allclose(got.products[:, 0], brute_products(W[idx], Y[:, 0]),
                                   rtol=1e-10, atol=1e-12)


def test_tanh_sensitivity_against_finite_differences():
    # M'(s) = dx(T)/dx(s-1) of a tanh ResNet, by finite differences through dynsys.iterate
    rng = np.random.default_rng(21)
    N, T = 4, 5
    net = dynsys.Network(rng.normal(size=(N, N)) * 0.6, rng.normal(size=N) * 0.2,
                         activation="tanh")
    x0 = rng.normal(size=N)
    run = dynsys.iterate(net, x0, T)
    res = dynsys.sensitivity(net, run.y)
    assert res.activation == "tanh" and "tanh" in repr(res)
    h = 1e-6
    num = np.stack([(dynsys.iterate(net, x0 + h * e, T).x_final
                     - dynsys.iterate(net, x0 - h * e, T).x_final) / (2 * h)
                    for e in np.eye(N)], axis=1)
    np.testing.assert_allclose(res.products[0], num, atol=1e-7)
    np.testing.assert_allclose(res.logabsdet[0], np.log(abs(np.linalg.det(num))), atol=1e-6)


def test_tanh_sensitivity_refuses_states_outside_its_box():
    net = dynsys.Network(np.eye(2), activation="tanh")
    with pytest.raises(ValueError, match=r"tanh outputs y in \[-1, 1\]"):
        dynsys.sensitivity(net, np.full((3, 2), 1.5))
    # negative residuals are tanh's, and refused for the logistic
    dynsys.sensitivity(net, np.full((3, 2), -0.5))
    with pytest.raises(ValueError, match=r"logistic outputs y in \[0, 1\]"):
        dynsys.sensitivity(dynsys.Network(np.eye(2)), np.full((3, 2), -0.5))
