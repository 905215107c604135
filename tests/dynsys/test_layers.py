"""dynsys.iterate: the ResNet and MLP layer maps against a plain NumPy loop and torch."""

import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dynsys
from dynsys._kernels import layers as K
from dynsys._system import layer_map, logistic, logit, residual_map

# ---- the readable twin ------------------------------------------------------------------


def twin(x0, W, b, T, kind):
    """Plain NumPy loop: returns y (T, B, N) and, for the ResNet, x (T+1, B, N)."""
    x = np.array(x0, dtype=np.float64)
    y = x.copy()
    ys, xs = [], [x.copy()]
    for t in range(T):
        Wt = W if W.ndim == 2 else W[t]
        bt = b if b.ndim == 1 else b[t]
        if kind == "resnet":
            y = logistic(x @ Wt.T + bt)
            x = x + y
            xs.append(x)
        else:
            y = logistic(y @ Wt.T + bt)
        ys.append(y)
    N = np.shape(x0)[-1]
    Y = np.array(ys) if ys else np.empty((0,) + np.shape(x0))
    return Y.reshape((T,) + np.shape(x0)[:-1] + (N,)), (np.array(xs) if kind == "resnet" else None)


def network(rng, B, N, T, per_layer, scale=1.5):
    x0 = rng.random((B, N))
    if per_layer:
        W = rng.normal(size=(T, N, N)) * scale / np.sqrt(N)
        b = rng.normal(size=(T, N))
    else:
        W = rng.normal(size=(N, N)) * scale / np.sqrt(N)
        b = rng.normal(size=N)
    return x0, W, b


KINDS = ("resnet", "mlp")

# ---- exactness -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("per_layer", [False, True])
def test_all_matches_numpy_loop(kind, per_layer):
    rng = np.random.default_rng(1)
    T = 12
    x0, W, b = network(rng, 70, 9, T, per_layer)
    Y, X = twin(x0, W, b, T, kind)
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T if not per_layer else None,
                       record="all")
    assert r.y.shape == (T, 70, 9)
    np.testing.assert_allclose(r.y, Y, rtol=0, atol=1e-12)
    if kind == "resnet":
        assert r.x.shape == (T + 1, 70, 9)
        np.testing.assert_array_equal(r.x[0], x0)
        np.testing.assert_allclose(r.x, X, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.x_final, X[-1], rtol=0, atol=1e-12)
    else:
        assert r.x is None and r.x_final is None
    np.testing.assert_allclose(r.y_final, Y[-1], rtol=0, atol=1e-12)
    assert r.shared is (not per_layer)
    assert not r.y.flags.writeable


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("per_layer", [False, True])
def test_final_and_stats_match_numpy_loop(kind, per_layer):
    rng = np.random.default_rng(2)
    T, B, N, C = 10, 150, 8, 4
    x0, W, b = network(rng, B, N, T, per_layer)
    labels = rng.integers(0, C, B)
    labels[:5] = 2  # unsorted, uneven classes
    Y, X = twin(x0, W, b, T, kind)
    f = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="final")
    np.testing.assert_allclose(f.y_final, Y[-1], rtol=0, atol=1e-12)
    assert f.y is None and f.y_mean is None
    s = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="stats", labels=labels)
    np.testing.assert_allclose(s.y_final, Y[-1], rtol=0, atol=1e-12)  # order restored
    np.testing.assert_allclose(s.y_mean, Y.mean(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.y_std, Y.std(axis=1), rtol=0, atol=1e-12)
    assert s.y_mean.shape == (T, N) and s.class_y_mean.shape == (T, C, N)
    np.testing.assert_array_equal(s.class_counts, np.bincount(labels, minlength=C))
    for c in range(C):
        m = labels == c
        np.testing.assert_allclose(s.class_y_mean[:, c], Y[:, m].mean(axis=1), atol=1e-12)
        np.testing.assert_allclose(s.class_y_std[:, c], Y[:, m].std(axis=1), atol=1e-12)
    if kind == "resnet":
        np.testing.assert_allclose(s.x_final, X[-1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.x_mean, X[1:].mean(axis=1), rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.x_std, X[1:].std(axis=1), rtol=0, atol=1e-12)
        for c in range(C):
            m = labels == c
            np.testing.assert_allclose(s.class_x_mean[:, c], X[1:, m].mean(axis=1), atol=1e-12)
            np.testing.assert_allclose(s.class_x_std[:, c], X[1:, m].std(axis=1), atol=1e-12)
    else:
        assert s.x_mean is None and s.class_x_mean is None


def test_stats_without_labels_and_empty_class():
    rng = np.random.default_rng(3)
    x0, W, b = network(rng, 40, 5, 6, False)
    r = dynsys.iterate(dynsys.Network(W, b), x0, 6, record="all")
    s = dynsys.iterate(dynsys.Network(W, b), x0, 6, record="stats")
    np.testing.assert_allclose(s.y_mean, r.y.mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(s.x_std, r.x[1:].std(axis=1), atol=1e-12)
    assert s.class_y_mean is None
    labels = np.zeros(40, int)
    labels[20:] = 2  # class 1 empty
    s = dynsys.iterate(dynsys.Network(W, b), x0, 6, record="stats", labels=labels, n_classes=4)
    assert np.isnan(s.class_y_mean[:, 1]).all() and np.isnan(s.class_y_mean[:, 3]).all()
    np.testing.assert_allclose(s.class_y_mean[:, 2], r.y[:, 20:].mean(axis=1), atol=1e-12)


def test_stats_are_stable_for_large_offsets():
    """A naive sum-of-squares variance would lose every digit here (offset 1e4, spread 1e-3)."""
    rng = np.random.default_rng(4)
    N, B, T = 3, 4000, 5
    x0 = 1e4 + 1e-3 * rng.random((B, N))
    W = np.zeros((N, N))
    b = np.zeros(N)
    s = dynsys.iterate(dynsys.Network(W, b), x0, T, record="stats")
    r = dynsys.iterate(dynsys.Network(W, b), x0, T, record="all")
    np.testing.assert_allclose(s.x_std, r.x[1:].std(axis=1), rtol=1e-9)


def test_residual_recursion_is_exact_for_shared_weights():
    """z(t+1) = z(t) + W f(z(t)) (the layer map in logit coordinates) and its conjugate on the
    residuals, y(t+1) = f(logit(y(t)) + W y(t)), checked against dynsys.layer_map and
    dynsys.residual_map."""
    rng = np.random.default_rng(5)
    x0, W, b = network(rng, 30, 6, 8, False, scale=0.5)
    r = dynsys.iterate(dynsys.Network(W, b), x0, 8)
    for t in range(7):
        np.testing.assert_allclose(r.y[t + 1], logistic(logit(r.y[t]) + r.y[t] @ W.T),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.y[t + 1], residual_map(W, r.y[t]), rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.z[t + 1], layer_map(W, r.z[t]), rtol=0, atol=1e-12)


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    T, B, N = 9, 64, 16
    for per_layer in (False, True):
        x0, W, b = network(rng, B, N, T, per_layer)
        lin = []
        for t in range(T):
            layer = torch.nn.Linear(N, N, dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(W if W.ndim == 2 else W[t]))
                layer.bias.copy_(torch.from_numpy(b if b.ndim == 1 else b[t]))
            lin.append(layer)
        with torch.no_grad():
            x = torch.from_numpy(x0)
            for t in range(T):
                x = x + torch.sigmoid(lin[t](x))
            y = torch.from_numpy(x0)
            for t in range(T):
                y = torch.sigmoid(lin[t](y))
        r = dynsys.iterate(dynsys.Network(W, b), x0, T, record="final")
        np.testing.assert_allclose(r.x_final, x.numpy(), rtol=0, atol=1e-12)
        m = dynsys.iterate(dynsys.Network(W, b, kind="mlp"), x0, T, record="final")
        np.testing.assert_allclose(m.y_final, y.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_follows_input_and_argument(kind):
    rng = np.random.default_rng(7)
    x0, W, b = network(rng, 20, 6, 5, False)
    ref = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, 5)
    r32 = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0.astype(np.float32), 5)
    assert r32.y.dtype == np.float32
    np.testing.assert_allclose(r32.y, ref.y, atol=2e-6)
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, 5, dtype="float32", record="final")
    assert r.y_final.dtype == np.float32
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0.astype(np.float32), 5,
                       dtype=np.float64)
    assert r.y.dtype == np.float64


def test_single_input_and_zero_depth():
    rng = np.random.default_rng(8)
    x0, W, b = network(rng, 1, 4, 3, False)
    r = dynsys.iterate(dynsys.Network(W, b), x0[0], 3, change_tol=1e-3)
    assert r.y.shape == (3, 4) and r.x.shape == (4, 4) and r.y_final.shape == (4,)
    assert np.ndim(r.converged_at) == 0
    full = dynsys.iterate(dynsys.Network(W, b), x0, 3)
    np.testing.assert_array_equal(r.y, full.y[:, 0])
    z = dynsys.iterate(dynsys.Network(W, b), x0, 0)
    assert z.y.shape == (0, 1, 4) and z.x.shape == (1, 1, 4) and z.y_final is None
    z = dynsys.iterate(dynsys.Network(W, b, kind="mlp"), x0, 0, record="final")
    np.testing.assert_array_equal(z.y_final, x0)


# ---- convergence test ------------------------------------------------------------------------


def converged_from(Y, tol, first):
    """Readable twin: per input, first layer t >= first with change < tol from t to T."""
    T, B, _ = Y.shape
    out = np.full(B, -1)
    for i in range(B):
        for t in range(T, first - 1, -1):  # layers t = T, T-1, ... (1-based)
            prev = Y[t - 2, i] if t >= 2 else None
            d = np.mean(np.abs(Y[t - 1, i] - prev))
            if d < tol:
                out[i] = t
            else:
                break
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("record", ["all", "stats", "final"])
def test_convergence_layer(kind, record):
    rng = np.random.default_rng(9)
    T = 60
    x0, W, b = network(rng, 40, 6, T, False, scale=2.0)
    Y, _ = twin(x0, W, b, T, kind)
    tol = 1e-3
    if kind == "mlp":
        Y = np.concatenate([x0[None], Y])  # y(0) = x0: the change is defined from t = 1
        expected = converged_from(Y, tol, 2) - 1
        expected[expected < 0] = -1
        last = np.mean(np.abs(Y[-1] - Y[-2]), axis=1)
    else:
        expected = converged_from(Y, tol, 2)
        last = np.mean(np.abs(Y[-1] - Y[-2]), axis=1)
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record=record, change_tol=tol)
    np.testing.assert_array_equal(r.converged_at, expected)
    assert r.change_tol == tol  # stored under its name; passing it back reproduces the run
    again = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record=record,
                           change_tol=r.change_tol)
    np.testing.assert_array_equal(again.converged_at, r.converged_at)
    np.testing.assert_allclose(r.last_change, last, atol=1e-14)
    assert (r.converged_at > 0).any() or (r.converged_at == -1).all()


def test_convergence_of_a_long_continuation():
    """Shared weights run far past a short depth: residuals settle, and the layer is found."""
    W = np.array([[-2.0, 1.0], [3.0, 0.5]])  # stable fixed point y = (1/2, 1) of the layer map
    x0 = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.1]])
    r = dynsys.iterate(dynsys.Network(W, np.zeros(2)), x0, 1000, record="stats",
                       change_tol=1e-8)
    assert (r.converged_at > 1).all() and (r.converged_at < 200).all()
    np.testing.assert_allclose(r.y_final, np.tile([0.5, 1.0], (3, 1)), atol=1e-8)


# ---- memory and the recording limit ---------------------------------------------------------


def test_streaming_memory_does_not_grow_with_depth():
    rng = np.random.default_rng(10)
    B, N, T = 400, 32, 3000
    x0, W, b = network(rng, B, N, T, False)
    # compile outside the trace
    dynsys.iterate(dynsys.Network(W, b), x0[:2], 2, record="stats", change_tol=1e-6)
    tracemalloc.start()
    dynsys.iterate(dynsys.Network(W, b), x0, T, record="stats", change_tol=1e-6)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per_layer_batch = T * B * N * 8
    stats_size = 8 * T * N * 8  # totals and (one class) per-class arrays, y and x
    assert peak < stats_size + 12 * B * N * 8 + 2**20
    assert peak < per_layer_batch / 10


def test_record_all_limit_names_record_and_suggests_stats():
    x0 = np.zeros((100, 10))
    W = np.zeros((10, 10))
    with pytest.raises(ValueError, match=r"`record`.*stats"):
        dynsys.iterate(dynsys.Network(W), x0, 1000, record="all", max_record_bytes=10**6)
    r = dynsys.iterate(dynsys.Network(W), x0, 1000, record="stats", max_record_bytes=10**6)
    assert r.y_mean.shape == (1000, 10)


# ---- validation ------------------------------------------------------------------------------


def test_validation_messages():
    x0 = np.zeros((3, 4))
    W = np.zeros((4, 4))
    b = np.zeros(4)
    net = dynsys.Network(W, b)
    with pytest.raises(ValueError, match=r"`x0` must have shape \(5,\) or \(B, 5\) for `net`.*"
                                         r"got shape \(3, 4\)"):
        dynsys.iterate(dynsys.Network(np.zeros((5, 5))), x0, 2)
    with pytest.raises(ValueError, match=r"`b` must have shape \(4,\) to fit `W` of shape "
                                         r"\(4, 4\); got shape \(3,\)"):
        dynsys.iterate(dynsys.Network(W, np.zeros(3)), x0, 2)
    with pytest.raises(ValueError, match=r"`b` must have shape .* to fit `W` of shape \(2, 4, 4\)"):
        dynsys.iterate(dynsys.Network(np.zeros((2, 4, 4)), np.zeros((3, 4))), x0, None)
    # the depth rule: past its T = 2 layers a per-layer network repeats its last layer
    assert dynsys.iterate(dynsys.Network(np.zeros((2, 4, 4)), b), x0, 3).depth == 3
    with pytest.raises(ValueError, match="`depth` must be >= 0"):
        dynsys.iterate(net, x0, -1)
    with pytest.raises(ValueError, match="`depth` is required"):
        dynsys.iterate(net, x0)
    bad = x0.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="`x0` must be finite"):
        dynsys.iterate(net, bad, 2)
    with pytest.raises(ValueError, match="`W` must be finite"):
        dynsys.iterate(dynsys.Network(W + np.inf, b), x0, 2)
    with pytest.raises(ValueError, match=r"`labels` must hold integer class labels 0\.\.C-1, "
                                         r"one per input \(shape \(3,\)\); got shape \(2,\)"):
        dynsys.iterate(net, x0, 2, record="stats", labels=[0, 1])
    with pytest.raises(ValueError, match=r"`labels` must hold integer .* got dtype float64"):
        dynsys.iterate(net, x0, 2, record="stats", labels=[0.0, 1.0, 1.0])  # the one check
    with pytest.raises(ValueError, match="`labels` holds the label 5"):
        dynsys.iterate(net, x0, 2, record="stats", labels=[0, 1, 5], n_classes=3)
    with pytest.raises(ValueError, match="`record` must be one of"):
        dynsys.iterate(net, x0, 2, record="every")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        dynsys.iterate(dynsys.Network(W, b, kind="cnn"), x0, 2)
    with pytest.raises(ValueError, match="`change_tol` must be finite and > 0"):
        dynsys.iterate(net, x0, 2, change_tol=-1.0)
    with pytest.raises(ValueError, match="`dtype`"):
        dynsys.iterate(net, x0, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="`W` must have shape"):
        dynsys.iterate(dynsys.Network(np.zeros(4), b), x0, 2)
    with pytest.raises(TypeError, match="`x0` must be real"):
        dynsys.iterate(net, x0 + 1j, 2)
    with pytest.raises(TypeError, match="`kind`|unexpected keyword"):
        dynsys.iterate(net, x0, 2, kind="mlp")


@pytest.mark.parametrize("bad", [np.eye(4), [[0.0] * 4] * 4, None, "W"])
def test_net_must_be_a_network(bad):
    with pytest.raises(TypeError, match=r"`net` must be a dynsys.Network; got .* Build one with "
                                        r"dynsys.Network\(W, b\)"):
        dynsys.iterate(bad, np.zeros((3, 4)), 2)


# ---- kernels -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype,tol", [(np.float64, 5e-16), (np.float32, 3e-7)])
def test_logistic_kernel_accuracy(dtype, tol):
    z = np.linspace(-740, 740, 200_001) if dtype == np.float64 else np.linspace(-87, 87, 200_001)
    z = z.astype(dtype).reshape(1, -1)
    out = np.empty_like(z)
    K.logistic_array(z, out)
    ref = logistic(z.astype(np.float64))
    ok = ref > (1e-300 if dtype == np.float64 else 1e-37)
    rel = np.abs(out.astype(np.float64)[ok] / ref[ok] - 1)
    assert rel.max() < tol
    assert np.abs(out.astype(np.float64) - ref).max() < tol


@given(
    B=st.integers(1, 70), N=st.integers(1, 9), T=st.integers(0, 6),
    kind=st.sampled_from(KINDS), per_layer=st.booleans(), seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 20.0),
)
def test_property_all_modes_agree_with_twin(B, N, T, kind, per_layer, seed, scale):
    rng = np.random.default_rng(seed)
    if per_layer and T == 0:
        per_layer = False
    x0, W, b = network(rng, B, N, T, per_layer, scale=scale)
    Y, X = twin(x0, W, b, T, kind)
    depth = None if per_layer else T
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, depth, record="all")
    np.testing.assert_allclose(r.y, Y, rtol=0, atol=1e-12)
    f = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, depth, record="final")
    s = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, depth, record="stats")
    if T > 0:
        np.testing.assert_allclose(f.y_final, Y[-1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.y_final, Y[-1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.y_mean, Y.mean(axis=1), rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.y_std, Y.std(axis=1), rtol=0, atol=1e-12)
    if kind == "resnet":
        np.testing.assert_allclose(f.x_final, X[-1], rtol=0, atol=1e-11 * max(1, T))


def test_nonfinite_detected_in_large_inputs():
    x0 = np.zeros((300, 300), np.float32)
    x0[123, 45] = np.inf
    x0[7, 8] = np.nan
    with pytest.raises(ValueError, match="`x0` must be finite; got 2 NaN or infinite entries"):
        dynsys.iterate(dynsys.Network(np.zeros((300, 300))), x0, 1)
    assert K.count_nonfinite(np.array([1.0, -np.inf, 3.0, np.nan])) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_builds_match_numpy_loop(kind, monkeypatch):
    """The threaded kernels (used from 2^20 entries per layer) on a small batch."""
    monkeypatch.setattr(K, "PARALLEL_MIN_ENTRIES", 0)
    rng = np.random.default_rng(11)
    T, B, N, C = 8, 300, 10, 3
    x0, W, b = network(rng, B, N, T, False)
    labels = rng.integers(0, C, B)
    Y, X = twin(x0, W, b, T, kind)
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="all", change_tol=1e-3)
    np.testing.assert_allclose(r.y, Y, rtol=0, atol=1e-12)
    s = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="stats", labels=labels,
                       change_tol=1e-3)
    np.testing.assert_allclose(s.y_mean, Y.mean(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.y_std, Y.std(axis=1), rtol=0, atol=1e-12)
    for c in range(C):
        np.testing.assert_allclose(s.class_y_std[:, c], Y[:, labels == c].std(axis=1),
                                   atol=1e-12)
    np.testing.assert_array_equal(s.converged_at, r.converged_at)
    f = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0.astype(np.float32), T,
                       record="final")
    np.testing.assert_allclose(f.y_final, Y[-1], atol=2e-6)
    if kind == "resnet":
        np.testing.assert_allclose(s.x_std, X[1:].std(axis=1), rtol=0, atol=1e-12)
        np.testing.assert_allclose(f.x_final, X[-1], atol=2e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("per_layer", [False, True])
def test_fused_engine_matches_numpy_loop(kind, per_layer):
    rng = np.random.default_rng(12)
    T, B, N = 7, 600, 12  # several blocks of 256 rows, the last one partial
    x0, W, b = network(rng, B, N, T, per_layer)
    Y, X = twin(x0, W, b, T, kind)
    r = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="final", engine="fused")
    np.testing.assert_allclose(r.y_final, Y[-1], rtol=0, atol=1e-12)
    if kind == "resnet":
        np.testing.assert_allclose(r.x_final, X[-1], rtol=0, atol=1e-12)
    else:
        assert r.x_final is None
    r32 = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0.astype(np.float32), T,
                         record="final", engine="fused")
    np.testing.assert_allclose(r32.y_final, Y[-1], atol=2e-6)
    one = dynsys.iterate(dynsys.Network(W, b, kind=kind), x0[0], T, record="final",
                         engine="fused")
    np.testing.assert_allclose(one.y_final, Y[-1, 0], atol=1e-12)
    with pytest.raises(ValueError, match="`engine`='fused' supports record='final'"):
        dynsys.iterate(dynsys.Network(W, b, kind=kind), x0, T, record="stats", engine="fused")


def test_auto_engine_choice(monkeypatch):
    import sys

    layers_mod = sys.modules["dynsys._layers"]
    used = []
    real = layers_mod._fused
    monkeypatch.setattr(layers_mod, "_fused", lambda *a: used.append(1) or real(*a))
    rng = np.random.default_rng(13)
    x0, W, b = network(rng, 50, 6, 4, False)
    dynsys.iterate(dynsys.Network(W, b), x0, 4, record="final", engine="auto")
    assert not used  # small batch: layerwise
    monkeypatch.setattr(K, "PARALLEL_MIN_ENTRIES", 0)
    dynsys.iterate(dynsys.Network(W, b), x0, 4, record="final", engine="layerwise")
    assert not used
    r = dynsys.iterate(dynsys.Network(W, b), x0, 4, record="final")
    assert used == [1]  # the default engine is "auto": fused where it applies
    ref = dynsys.iterate(dynsys.Network(W, b), x0, 4, record="final", engine="layerwise")
    np.testing.assert_allclose(r.x_final, ref.x_final, rtol=0, atol=1e-13)
    dynsys.iterate(dynsys.Network(W, b), x0, 4, record="final", change_tol=1e-3,
                   engine="auto")
    dynsys.iterate(dynsys.Network(W, b), x0, 4, record="stats", engine="auto")
    assert used == [1]  # tol and stats need the layerwise engine


# ---- pre-activations, the batch rule, the network argument -------------------------------


def twin_z(x0, W, b, T, kind):
    """Readable twin of the pre-activations z(t) = W(t) x(t-1) + b(t) (MLP: W(t) y(t-1) + b(t))."""
    x = np.array(x0, dtype=np.float64)
    y = x.copy()
    zs = []
    for t in range(T):
        Wt = W if W.ndim == 2 else W[t]
        bt = b if b.ndim == 1 else b[t]
        z = (x if kind == "resnet" else y) @ Wt.T + bt
        y = logistic(z)
        if kind == "resnet":
            x = x + y
        zs.append(z)
    return np.array(zs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("per_layer", [False, True])
def test_pre_activations_match_numpy_loop(kind, per_layer):
    rng = np.random.default_rng(14)
    T, B, N = 9, 40, 7
    x0, W, b = network(rng, B, N, T, per_layer, scale=3.0)
    Z = twin_z(x0, W, b, T, kind)
    net = dynsys.Network(W, b, kind=kind)
    r = dynsys.iterate(net, x0, T)
    assert r.z.shape == (T, B, N) and not r.z.flags.writeable
    np.testing.assert_allclose(r.z, Z, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(r.z_final, Z[-1], rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(r.y, logistic(r.z), rtol=0, atol=1e-15)
    for record in ("stats", "final"):
        s = dynsys.iterate(net, x0, T, record=record, change_tol=1e-3)
        assert s.z is None
        np.testing.assert_allclose(s.z_final, Z[-1], rtol=1e-13, atol=1e-12)
    f = dynsys.iterate(net, x0, T, record="final", engine="fused")
    np.testing.assert_allclose(f.z_final, Z[-1], rtol=1e-13, atol=1e-12)
    s = dynsys.iterate(net, x0, T, record="stats", labels=rng.integers(0, 3, B))
    np.testing.assert_allclose(s.z_final, Z[-1], rtol=1e-13, atol=1e-12)  # order restored
    if not per_layer:
        zero = dynsys.iterate(net, x0, 0, record="final")
        assert zero.z_final is None and (zero.y_final is None) == (kind == "resnet")


def test_saturation_is_kept_in_z():
    """Large weights saturate the residuals: y floors (about 3e-308) or rounds to 1, z does not."""
    W = np.array([[-800.0, 0.0], [0.0, 600.0]])
    x0 = np.array([[1.0, 1.0]])
    Z = twin_z(x0, W, np.zeros(2), 5, "resnet")
    for engine in ("layerwise", "fused"):
        r = dynsys.iterate(dynsys.Network(W), x0, 5, record="final", engine=engine)
        np.testing.assert_allclose(r.z_final, Z[-1], rtol=1e-14)
    r = dynsys.iterate(dynsys.Network(W), x0, 5)
    assert r.z[-1, 0, 0] < -708 and r.y[-1, 0, 1] == 1.0  # beyond what y can represent
    np.testing.assert_allclose(r.z, Z, rtol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_batch_rule_one_dimensional_and_batch_of_one(kind):
    rng = np.random.default_rng(15)
    x0, W, b = network(rng, 1, 5, 4, False)
    net = dynsys.Network(W, b, kind=kind)
    for record in ("all", "stats", "final"):
        one = dynsys.iterate(net, x0[0], 4, record=record, change_tol=1e-3)
        batch = dynsys.iterate(net, x0, 4, record=record, change_tol=1e-3)
        assert one.y_final.shape == (5,) and batch.y_final.shape == (1, 5)
        assert one.z_final.shape == (5,) and batch.z_final.shape == (1, 5)
        assert np.shape(one.converged_at) == () and batch.converged_at.shape == (1,)
        assert np.shape(one.last_change) == () and batch.last_change.shape == (1,)
        np.testing.assert_array_equal(one.y_final, batch.y_final[0])
        if record == "all":
            assert one.y.shape == one.z.shape == (4, 5) and batch.z.shape == (4, 1, 5)
    n1 = dynsys.iterate_noise(net, x0[0], 4, amplitude=0.1, n_realizations=2)
    nb = dynsys.iterate_noise(net, x0, 4, amplitude=0.1, n_realizations=2)
    assert n1.nsr.shape == (2,) and nb.nsr.shape == (2, 1)
    l1 = dynsys.lyapunov(net, x0[0], 20)
    lb = dynsys.lyapunov(net, x0, 20)
    assert l1.exponents.shape == (1,) and lb.exponents.shape == (1, 1)
    assert l1.running.shape == (l1.n_steps,) and lb.running.shape == (lb.n_steps, 1)


def test_input_projection_embeds_x0():
    rng = np.random.default_rng(16)
    N, D, T = 6, 3, 5
    W = rng.normal(size=(N, N))
    b = rng.normal(size=N)
    P = rng.normal(size=(N, D))
    p = rng.normal(size=N)
    u = rng.random((4, D))
    r = dynsys.iterate(dynsys.Network(W, b, P=P, p=p), u, T)
    ref = dynsys.iterate(dynsys.Network(W, b), u @ P.T + p, T)
    np.testing.assert_allclose(r.x, ref.x, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r.x[0], u @ P.T + p, rtol=0, atol=1e-14)
    r32 = dynsys.iterate(dynsys.Network(W, b, P=P, p=p), u.astype(np.float32), T)
    assert r32.y.dtype == np.float32
    with pytest.raises(ValueError, match=r"`x0` must have shape \(3,\) or \(B, 3\) for `net` "
                                         r"\(with D = 3"):
        dynsys.iterate(dynsys.Network(W, b, P=P, p=p), rng.random((4, N)), T)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_readout_of_an_iterate_result(kind):
    """The classifier reads x(T) of a ResNet and y(T) of an MLP, whose x_final is None."""
    rng = np.random.default_rng(18)
    N, C, T = 4, 3, 6
    W, b = rng.normal(size=(N, N)), rng.normal(size=N)
    K, c = rng.normal(size=(C, N)), rng.normal(size=C)
    net = dynsys.Network(W, b, kind=kind, K=K, c=c)
    u = rng.random((5, N))
    state = u.copy()
    for _ in range(T):
        y = 1.0 / (1.0 + np.exp(-(state @ W.T + b)))
        state = state + y if kind == "resnet" else y
    res = dynsys.iterate(net, u, T, record="final")
    final = res.y_final if kind == "mlp" else res.x_final
    np.testing.assert_allclose(net.readout(final), state @ K.T + c, rtol=1e-12, atol=1e-12)
    one = dynsys.iterate(net, u[0], T, record="final")
    np.testing.assert_allclose(net.readout(one.y_final if kind == "mlp" else one.x_final),
                               state[0] @ K.T + c, rtol=1e-12, atol=1e-12)
    name = "y_final" if kind == "mlp" else "x_final"
    with pytest.raises(ValueError, match=rf"`state` must be an array of shape \(4,\) or "
                                         rf"\(B, 4\); got None\..*pass `res\.{name}`"):
        net.readout(None)
    if kind == "mlp":
        assert res.x_final is None
        with pytest.raises(ValueError, match=r"an MLP result has no x\(T\)"):
            net.readout(res.x_final)
    for bad in (1.0, np.zeros((2, 3, N)), np.zeros(N + 1)):
        with pytest.raises(ValueError, match=rf"`state` must have shape \(4,\) or \(B, 4\) "
                                             rf"\(for a dynsys.iterate result, `res\.{name}`\); "
                                             rf"got shape {re.escape(str(np.shape(bad)))}"):
            net.readout(bad)


def test_reprs_are_short():
    rng = np.random.default_rng(17)
    x0, W, b = network(rng, 300, 50, 20, True)
    labels = rng.integers(0, 10, 300)
    net = dynsys.Network(W, b)
    for r in (dynsys.iterate(net, x0, None),
              dynsys.iterate(net, x0, None, record="stats", labels=labels, change_tol=1e-3),
              dynsys.iterate(net, x0[0], None, record="final")):
        text = repr(r)
        assert text.startswith("IterateResult(") and len(text) < 300
        assert "array(" not in text


def _per_layer_reference(W, b, x0, depth, kind):
    """Plain loop of the depth rule: layers 1..min(d, T), then the last layer repeated."""
    x = np.array(x0, dtype=np.float64)
    ys = []
    for t in range(1, depth + 1):
        i = min(t, W.shape[0]) - 1
        y = 1.0 / (1.0 + np.exp(-(x @ W[i].T + b[i])))
        x = x + y if kind == "resnet" else y
        ys.append(y)
    return np.array(ys), x


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
@pytest.mark.parametrize("depth", [0, 2, 5, 12])
@pytest.mark.parametrize("engine", ["layerwise", "fused"])
def test_per_layer_depth_rule(kind, depth, engine):
    """T = 5 per-layer weights run to depth d < T, d = T and d > T (the last layer repeated)."""
    rng = np.random.default_rng(7)
    W, b = rng.normal(size=(5, 4, 4)) * 0.8, rng.normal(size=(5, 4))
    x0 = rng.normal(size=(3, 4))
    net = dynsys.Network(W, b, kind=kind)
    ys, x_ref = _per_layer_reference(W, b, x0, depth, kind)
    if engine == "fused":
        r = dynsys.iterate(net, x0, depth, record="final", engine="fused")
    else:
        r = dynsys.iterate(net, x0, depth)
        assert r.depth == depth
        if depth:
            np.testing.assert_allclose(r.y, ys, atol=1e-12)
    if depth:
        np.testing.assert_allclose(r.y_final, ys[-1], atol=1e-12)
    if kind == "resnet":
        np.testing.assert_allclose(r.x_final, x_ref, atol=1e-12)
    if depth > 5 and kind == "resnet":
        # the tail is the network's last layer as a shared-weight network
        head = dynsys.iterate(net, x0, record="final")
        tail = dynsys.iterate(net.last_layer(), head.x_final, depth - 5, record="final")
        np.testing.assert_allclose(tail.x_final, r.x_final, atol=1e-12)


def test_per_layer_depth_rule_in_noise_and_lyapunov():
    rng = np.random.default_rng(8)
    W, b = rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4))
    net = dynsys.Network(W, b)
    x0 = rng.normal(size=(2, 4))
    zero = dynsys.iterate_noise(net, x0, 9, amplitude=0.0, n_realizations=2)
    assert zero.depth == 9 and np.all(zero.nsr == 0)
    long = dynsys.lyapunov(net, x0, 400, variable="x")
    assert long.depth == 400
    assert dynsys.lyapunov(net, x0, variable="x").depth == 3


# ---- tanh networks ------------------------------------------------------------------------


def _tanh_reference(W, b, x, T, kind):
    """Plain NumPy layers of a tanh network (the readable twin of the kernels)."""
    Ws = W if W.ndim == 3 else np.broadcast_to(W, (T,) + W.shape)
    bs = b if b.ndim == 2 else np.broadcast_to(b, (T,) + b.shape)
    x = np.array(x, dtype=np.float64)
    for t in range(T):
        Wt, bt = Ws[min(t, Ws.shape[0] - 1)], bs[min(t, bs.shape[0] - 1)]
        y = np.tanh(x @ Wt.T + bt)
        x = x + y if kind == "resnet" else y
    return x


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
@pytest.mark.parametrize("engine", ["layerwise", "fused"])
@pytest.mark.parametrize("shared", [True, False])
def test_tanh_networks_iterate_as_their_numpy_twin(kind, engine, shared):
    rng = np.random.default_rng(7)
    N, T = 5, 12
    W = rng.normal(size=(N, N)) / 2 if shared else rng.normal(size=(T, N, N)) / 2
    b = rng.normal(size=N) * 0.3 if shared else rng.normal(size=(T, N)) * 0.3
    x = rng.normal(size=(9, N))
    net = dynsys.Network(W, b, kind=kind, activation="tanh")
    res = dynsys.iterate(net, x, T, record="final", engine=engine)
    got = res.x_final if kind == "resnet" else res.y_final
    np.testing.assert_allclose(got, _tanh_reference(W, b, x, T, kind), rtol=1e-13, atol=1e-13)
    assert res.activation == "tanh" and "activation='tanh'" in repr(res)
    # the residuals live in [-1, 1], and the logistic network of the same weights differs
    assert np.all(np.abs(res.y_final) <= 1.0) and np.any(res.y_final < 0)
    logi = dynsys.iterate(dynsys.Network(W, b, kind=kind), x, T, record="final", engine=engine)
    assert logi.activation == "logistic"
    assert not np.allclose(logi.y_final, res.y_final)


def test_tanh_record_all_and_float32():
    rng = np.random.default_rng(8)
    N, T = 4, 6
    W, b = rng.normal(size=(N, N)), rng.normal(size=N)
    x = rng.normal(size=(3, N))
    net = dynsys.Network(W, b, activation="tanh")
    res = dynsys.iterate(net, x, T)
    np.testing.assert_allclose(res.y, np.tanh(res.z), rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.diff(res.x, axis=0), res.y, rtol=0, atol=1e-13)
    r32 = dynsys.iterate(net, x.astype(np.float32), T)
    assert r32.x_final.dtype == np.float32
    np.testing.assert_allclose(r32.x_final, res.x_final, rtol=1e-5, atol=1e-5)
