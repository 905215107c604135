"""Models: one layer implementation, recorded residuals equal the layer map on exported weights."""

import numpy as np
import pytest
import torch

from nets import MLP, KINDS, Recording, ResNet, build_model, export_weights



def _model(kind, n_features=6, width=None, depth=5, seed=0):
    torch.manual_seed(seed)
    return build_model(kind, n_features, 3, width, depth).double()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 9])
def test_recording_shapes_and_same_logits(kind, width):
    model = _model(kind, width=width)
    u = torch.rand(7, 6, dtype=torch.float64)
    rec = model(u, record=True)
    assert isinstance(rec, Recording)
    N = width or 6
    assert rec.logits.shape == (7, 3)
    assert rec.y.shape == (5, 7, N) and rec.x.shape == (6, 7, N)
    torch.testing.assert_close(rec.logits, model(u), rtol=0, atol=0)
    logits, y, x = rec  # unpacks as a tuple
    if kind != "mlp":
        torch.testing.assert_close(x[1:] - x[:-1], y)  # x(t) = x(t-1) + y(t)
    else:
        torch.testing.assert_close(x[1:], y)
    assert ((y > 0) & (y < 1)).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 9])
def test_recorded_residuals_equal_numpy_reference(kind, width, reference_forward):
    model = _model(kind, width=width, seed=1)
    u = np.random.default_rng(0).random((11, 6))
    rec = model(torch.from_numpy(u), record=True)
    w = export_weights(model)
    logits, y, x = reference_forward(w, u)
    np.testing.assert_allclose(rec.y.detach().numpy(), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rec.x.detach().numpy(), x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rec.logits.detach().numpy(), logits, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_recorded_residuals_equal_dynsys_iterate(kind):
    import dynsys

    model = _model(kind, width=8, seed=2)
    u = np.random.default_rng(1).random((13, 6))
    rec = model(torch.from_numpy(u), record=True)
    w = export_weights(model)
    res = dynsys.iterate(w.network, u, w.depth)
    np.testing.assert_allclose(res.y, rec.y.detach().numpy(), rtol=1e-10, atol=1e-12)
    if kind != "mlp":
        np.testing.assert_allclose(res.x, rec.x.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_float32_model_matches_float64_reference_closely(reference_forward):
    torch.manual_seed(0)
    model = build_model("shared", 64, 10, None, 15)
    u = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    rec = model(torch.from_numpy(u), record=True)
    _, y, _ = reference_forward(export_weights(model), u)
    np.testing.assert_allclose(rec.y.detach().numpy(), y, atol=1e-5)


def test_shared_network_runs_past_its_depth_and_layers_are_shared():
    model = _model("shared", depth=3)
    assert model.layer(1) is model.layer(3)
    u = torch.rand(4, 6, dtype=torch.float64)
    rec = model(u, record=True, depth=50)
    assert rec.y.shape[0] == 50
    torch.testing.assert_close(rec.y[:3], model(u, record=True).y)
    per_layer = _model("per-layer", depth=3)
    assert per_layer.layer(1) is not per_layer.layer(2)
    with pytest.raises(ValueError, match="cannot run"):
        per_layer(u, depth=4)


def test_remove_last_layer_and_set_depth():
    shared = _model("shared", depth=4)
    assert shared.remove_last_layer() == [] and shared.depth == 3
    shared.set_depth(10)
    assert shared.depth == 10
    per = _model("per-layer", depth=4)
    last = per.layers[-1]
    removed = per.remove_last_layer()
    assert per.depth == 3 and len(per.layers) == 3
    assert {id(p) for p in removed} == {id(last.weight), id(last.bias)}
    with pytest.raises(ValueError, match="cannot be deepened"):
        per.set_depth(5)
    per.set_depth(1)
    with pytest.raises(ValueError, match="depth 1"):
        per.remove_last_layer()


def test_constructor_validation():
    with pytest.raises(ValueError, match="depth"):
        ResNet(4, 3, depth=0)
    with pytest.raises(ValueError, match="projection"):
        ResNet(4, 3, width=8, projection=False)
    with pytest.raises(ValueError, match="kind"):
        build_model("cnn", 4, 3)
    assert MLP(4, 3).kind == "mlp" and ResNet(4, 3, shared=False).kind == "per-layer"
    assert ResNet(4, 3, width=4, projection=True).projection is not None
