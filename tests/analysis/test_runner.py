"""Recording trajectories of trained models through dynsys.iterate: the report's glue."""

import numpy as np
import pytest
import torch

import dynsys
from analysis._runner import error_rate, final_hidden_forward, long_run_layers, network, record
from nets.models import build_model


def test_long_run_layers():
    lay = long_run_layers(1000)
    assert lay[0] == 1 and lay[-2:].tolist() == [999, 1000]
    assert np.all(np.diff(lay) > 0) and set(range(1, 21)) <= set(lay.tolist())


@pytest.mark.parametrize("kind", ["shared", "per-layer", "mlp"])
def test_record_matches_the_model_forward(kind):
    torch.manual_seed(0)
    m = build_model(kind, 6, 3, depth=4)
    X = np.random.default_rng(0).uniform(0, 1, (7, 6)).astype(np.float32)
    rec = record(network(m), X, depth=4, batch=3)
    with torch.no_grad():
        ref = m(torch.from_numpy(X), record=True)
    np.testing.assert_allclose(rec.y, ref.y.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.logits, ref.logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rec.x0, X)
    h, logits = final_hidden_forward(network(m), 4)(X)
    np.testing.assert_allclose(h, rec.h, rtol=1e-5, atol=1e-6)
    d = np.abs(np.diff(rec.y, axis=0)).mean(axis=(1, 2))
    np.testing.assert_allclose(rec.step[1:], d, rtol=1e-5)
    assert rec.y.dtype == np.float64
    err = error_rate(network(m), X, np.zeros(7, dtype=int), depth=4)
    assert err == pytest.approx(np.mean(ref.logits.numpy().argmax(axis=1) != 0))


def test_long_runs_repeat_the_shared_or_last_layer():
    torch.manual_seed(0)
    X = np.random.default_rng(1).uniform(0, 1, (5, 4)).astype(np.float32)
    shared = build_model("shared", 4, 2, depth=3)
    rec = record(network(shared), X, depth=10, layers=[1, 9, 10])
    # iterate by hand: x <- x + f(W x + b), ten times
    W = shared.layers[0].weight.detach().numpy().astype(np.float64)
    b = shared.layers[0].bias.detach().numpy().astype(np.float64)
    x = X.astype(np.float64)
    ys = []
    for _ in range(10):
        y = 1 / (1 + np.exp(-(x @ W.T + b)))
        x = x + y
        ys.append(y)
    np.testing.assert_allclose(rec.y[2], ys[9], rtol=1e-5)
    # the sparse recording's step is the change between consecutive layers
    np.testing.assert_allclose(rec.step[2], np.abs(ys[9] - ys[8]).mean(), rtol=1e-9)
    np.testing.assert_allclose(rec.step[1], np.abs(ys[8] - ys[7]).mean(), rtol=1e-9)
    assert np.isnan(rec.step[0])
    mlp = build_model("mlp", 4, 2, depth=3)
    rec = record(network(mlp), X, depth=6, layers=[6])
    W3 = mlp.layers[2].weight.detach().numpy().astype(np.float64)
    b3 = mlp.layers[2].bias.detach().numpy().astype(np.float64)
    with torch.no_grad():
        y3 = mlp(torch.from_numpy(X), record=True).y[-1].numpy().astype(np.float64)
    y = y3
    for _ in range(3):
        y = 1 / (1 + np.exp(-(y @ W3.T + b3)))
    np.testing.assert_allclose(rec.y[0], y, rtol=1e-5)
    # a sparse and a dense recording of the same run agree
    dense = record(network(mlp), X, depth=6)
    np.testing.assert_allclose(dense.y[-1], rec.y[0], rtol=1e-12)
    np.testing.assert_allclose(dense.step[-1], rec.step[0], rtol=1e-9)
    # a per-layer ResNet: its 3 layers, then its last layer repeated (the dynsys rule)
    per_layer = network(build_model("per-layer", 4, 2, depth=3))
    rec = record(per_layer, X, depth=5, layers=[5])
    ref = dynsys.iterate(per_layer, X, 5, record="final", dtype=np.float64)
    np.testing.assert_allclose(rec.y[0], ref.y_final, rtol=1e-12)


def test_a_per_layer_resnet_runs_past_its_depth_on_its_last_layer():
    """The depth rule of dynsys: layers 1..T, then W(T), b(T) repeated (no refusal)."""
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(3, 4, 4)) / 2, rng.normal(size=(3, 4))
    net = dynsys.Network(W, b, K=np.eye(4))
    X = rng.uniform(0, 1, (5, 4))
    rec = record(net, X, depth=7, layers=[2, 7])
    ref = dynsys.iterate(net, X, 7, record="all")
    np.testing.assert_allclose(rec.y, ref.y[[1, 6]], rtol=1e-12)
    np.testing.assert_allclose(rec.h, ref.x_final, rtol=1e-12)
