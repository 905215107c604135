"""dynsys.iterate_noise: input noise through the ResNet and the MLP (Fig. 4 of the paper)."""

import numpy as np
import pytest

import dynsys
from dynsys._system import logistic


def run(x0, W, b, T, kind):
    x = x0.copy()
    y = x0.copy()
    ys = []
    for _ in range(T):
        if kind == "resnet":
            y = logistic(x @ W.T + b)
            x = x + y
        else:
            y = logistic(y @ W.T + b)
        ys.append(y)
    return np.array(ys), x


@pytest.fixture
def net():
    rng = np.random.default_rng(0)
    B, N = 25, 7
    return rng.random((B, N)), rng.normal(size=(N, N)), rng.normal(size=N)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_zero_amplitude_gives_zero_noise_and_cosine_one(net, kind):
    x0, W, b = net
    r = dynsys.iterate_noise(dynsys.Network(W, b, kind=kind), x0, 10, amplitude=0.0,
                             n_realizations=3)
    assert r.xi_norm.shape == (3, 10) and r.nsr.shape == (3, 25) and r.cosine.shape == (3, 25)
    assert np.all(r.xi_norm == 0) and np.all(r.xi0_norm == 0) and np.all(r.nsr == 0)
    assert np.all(r.cosine == 1.0)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_against_a_plain_loop(net, kind):
    x0, W, b = net
    T, R, a = 9, 4, 0.2
    r = dynsys.iterate_noise(dynsys.Network(W, b, kind=kind), x0, T, amplitude=a,
                             n_realizations=R, seed=3)
    noise = np.random.default_rng(3).uniform(-a, a, size=(R,) + x0.shape)
    Yc, xc = run(x0, W, b, T, kind)
    for i in range(R):
        Yn, xn = run(x0 + noise[i], W, b, T, kind)
        xi = Yn - Yc
        np.testing.assert_allclose(r.xi_norm[i], np.linalg.norm(xi, axis=2).mean(axis=1),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.xi0_norm[i], np.linalg.norm(noise[i], axis=1).mean(),
                                   atol=1e-12)
        if kind == "resnet":
            nsr = np.linalg.norm(xi.sum(axis=0), axis=1) / np.linalg.norm(xc, axis=1)
            hc, hn = xc, xn
        else:
            nsr = np.linalg.norm(xi[-1], axis=1) / np.linalg.norm(Yc[-1], axis=1)
            hc, hn = Yc[-1], Yn[-1]
        np.testing.assert_allclose(r.nsr[i], nsr, rtol=1e-10, atol=1e-14)
        cos = np.sum(hc * hn, axis=1) / np.linalg.norm(hc, axis=1) / np.linalg.norm(hn, axis=1)
        np.testing.assert_allclose(r.cosine[i], cos, atol=1e-12)
    assert r.nsr_mean == pytest.approx(r.nsr.mean())
    assert r.xi_norm_mean.shape == (T,)


def test_seeded_and_growing_with_amplitude(net):
    x0, W, b = net
    r1 = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=0.05, seed=11)
    r2 = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=0.05, seed=11)
    np.testing.assert_array_equal(r1.nsr, r2.nsr)
    r3 = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=0.05, seed=12)
    assert not np.array_equal(r1.nsr, r3.nsr)
    small = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=1e-4, seed=1).nsr_mean
    large = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=1e-1, seed=1).nsr_mean
    assert small < large
    # first-order regime: the ratio scales linearly with the amplitude
    tiny = dynsys.iterate_noise(dynsys.Network(W, b), x0, 8, amplitude=1e-5, seed=1).nsr_mean
    assert small / tiny == pytest.approx(10.0, rel=1e-2)


def test_float32_and_chunked_realizations(net):
    x0, W, b = net
    r64 = dynsys.iterate_noise(dynsys.Network(W, b), x0, 6, amplitude=0.1, n_realizations=5, seed=2)
    r32 = dynsys.iterate_noise(dynsys.Network(W, b), x0.astype(np.float32), 6, amplitude=0.1,
                               n_realizations=5, seed=2)
    np.testing.assert_allclose(r32.nsr, r64.nsr, rtol=1e-3)


def test_validation(net):
    x0, W, b = net
    with pytest.raises(ValueError, match="`amplitude` must be finite and >= 0"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, 5, amplitude=-0.1)
    with pytest.raises(ValueError, match="`n_realizations` must be >= 1"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, 5, amplitude=0.1, n_realizations=0)
    with pytest.raises(ValueError, match=r"`x0` must have shape \(3,\) or \(B, 3\).*\(25, 7\)"):
        dynsys.iterate_noise(dynsys.Network(np.eye(3)), x0, 5, amplitude=0.1)
    with pytest.raises(TypeError, match=r"`net` must be a dynsys.Network"):
        dynsys.iterate_noise(W, x0, 5, amplitude=0.1)
    with pytest.raises(ValueError, match="`depth` is required"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, amplitude=0.1)


def test_single_input(net):
    x0, W, b = net
    r = dynsys.iterate_noise(dynsys.Network(W, b), x0[0], 4, amplitude=0.1, n_realizations=2)
    assert r.nsr.shape == (2,) and r.cosine.shape == (2,) and r.xi_norm.shape == (2, 4)
    full = dynsys.iterate_noise(dynsys.Network(W, b), x0[:1], 4, amplitude=0.1, n_realizations=2)
    np.testing.assert_allclose(r.nsr, full.nsr[:, 0])


def test_noise_is_drawn_in_input_space(net):
    """With an input projection the noise is added to the inputs, before x(0) = P u + p."""
    x0, W, b = net
    N = W.shape[0]
    rng = np.random.default_rng(4)
    P = rng.normal(size=(N, 3))
    p = rng.normal(size=N)
    u = rng.random((5, 3))
    T, R, a = 6, 3, 0.05
    r = dynsys.iterate_noise(dynsys.Network(W, b, P=P, p=p), u, T, amplitude=a,
                             n_realizations=R, seed=5)
    noise = np.random.default_rng(5).uniform(-a, a, size=(R,) + u.shape)
    Yc, xc = run(u @ P.T + p, W, b, T, "resnet")
    for i in range(R):
        Yn, _ = run((u + noise[i]) @ P.T + p, W, b, T, "resnet")
        np.testing.assert_allclose(r.xi_norm[i], np.linalg.norm(Yn - Yc, axis=2).mean(axis=1),
                                   atol=1e-12)
        np.testing.assert_allclose(r.xi0_norm[i], np.linalg.norm(noise[i], axis=1).mean(),
                                   atol=1e-12)
    assert len(repr(r)) < 300 and "NoiseResult" in repr(r)


def test_the_old_positional_form_is_refused_not_misread(net):
    """System, state, depth: the amplitude is keyword only, so the old call
    ``iterate_noise(net, x0, amplitude, depth)`` cannot run with the two swapped."""
    x0, W, b = net
    with pytest.raises(TypeError, match="positional"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, 0.1, 5)
    with pytest.raises(TypeError, match="amplitude"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, 5)
    with pytest.raises((TypeError, ValueError), match="`depth`"):
        dynsys.iterate_noise(dynsys.Network(W, b), x0, 0.1, amplitude=0.1)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_tanh_noise_matches_two_plain_runs(kind):
    # one realization against the clean and noisy runs of dynsys.iterate, drawn the same way
    rng = np.random.default_rng(31)
    N, T, a = 5, 8, 0.05
    net = dynsys.Network(rng.normal(size=(N, N)) * 0.5, rng.normal(size=N) * 0.1, kind=kind,
                         activation="tanh")
    x0 = rng.normal(size=(3, N))
    res = dynsys.iterate_noise(net, x0, T, amplitude=a, n_realizations=1, seed=4)
    assert res.activation == "tanh" and "tanh" in repr(res)
    noise = np.random.default_rng(4).uniform(-a, a, size=(1, 3, N))[0]
    clean = dynsys.iterate(net, x0, T)
    noisy = dynsys.iterate(net, x0 + noise, T)
    if kind == "resnet":
        # the paper's ratio takes sum_t xi(t), the noise the layers add (not the input noise)
        num = np.linalg.norm(noisy.x_final - clean.x_final - noise, axis=1)
        den = np.linalg.norm(clean.x_final, axis=1)
    else:
        num = np.linalg.norm(noisy.y_final - clean.y_final, axis=1)
        den = np.linalg.norm(clean.y_final, axis=1)
    np.testing.assert_allclose(res.nsr[0], num / den, rtol=1e-9)
    xi = np.linalg.norm(noisy.y - clean.y, axis=2).mean(axis=1)
    np.testing.assert_allclose(res.xi_norm[0], xi, rtol=1e-9)
