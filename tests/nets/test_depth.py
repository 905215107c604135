"""Adaptive depth (Sect. 7) and perturbation from identity (Hauser 2019, arXiv 1902.04106)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from nets import (DepthSweep, TrainConfig, adaptive_depth_step, build_model, depth_sweep,
                  load_dataset, loglog_slope, perturbation_magnitudes, remove_last_layer,
                  residual_change, stopping_depth, train)


def _converged(kind, depth=6, n=5):
    """A network whose residuals have converged: W = 0, so y(t) = f(b) in every layer."""
    torch.manual_seed(0)
    model = build_model(kind, n, 3, None, depth)
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.zero_()
            layer.bias.uniform_(-1, 1)
        if kind == "per-layer":  # the same bias in every layer: identical residuals
            for layer in model.layers[1:]:
                layer.bias.copy_(model.layers[0].bias)
    return model


def _lively(kind, depth=6, n=5):
    torch.manual_seed(1)
    model = build_model(kind, n, 3, None, depth)
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.normal_(0, 3.0)
            layer.bias.normal_(0, 3.0)
    return model


@pytest.mark.parametrize("kind", ["shared", "per-layer"])
def test_residual_change_definition(kind):
    model = _lively(kind)
    x = torch.rand(40, 5)
    with torch.no_grad():
        rec = model(x, record=True)
    expected = float((rec.y[-1] - rec.y[-2]).abs().mean())
    assert residual_change(model, x, batch_size=7) == pytest.approx(expected, rel=1e-6)
    assert residual_change(_converged(kind), x) == 0.0
    assert math.isnan(residual_change(build_model(kind, 5, 3, None, 1), x))


def _input_independent_tail(depth=6, n=5):
    """A lively per-layer network whose last two layers ignore their input (W = 0) and
    differ in their biases: y(T) and y(T-1) are constants, different from each other (the
    saturated, untrained tail layers of a per-layer network trained on full MNIST)."""
    model = _lively("per-layer", depth, n)
    with torch.no_grad():
        for layer, b in zip(model.layers[-2:], (-3.0, 3.0)):
            layer.weight.zero_()
            layer.bias.fill_(b)
    return model


@pytest.mark.parametrize("kind", ["shared", "per-layer"])
def test_centred_residual_change_definition(kind):
    model = _lively(kind)
    x = torch.rand(40, 5)
    with torch.no_grad():
        rec = model(x, record=True)
    d = (rec.y[-1] - rec.y[-2]).double()
    expected = float((d - d.mean(dim=0)).abs().mean())
    for batch_size in (7, 40, 4096):  # the means span every batch
        assert residual_change(model, x, batch_size, centred=True) == pytest.approx(
            expected, rel=1e-6)  # float32 residuals
    assert residual_change(_converged(kind), x, centred=True) == 0.0


def test_the_centred_criterion_ignores_a_change_that_is_the_same_for_every_input():
    model = _input_independent_tail()
    x = torch.rand(30, 5)
    f = torch.sigmoid(torch.tensor(3.0)) - torch.sigmoid(torch.tensor(-3.0))
    assert residual_change(model, x) == pytest.approx(float(f), rel=1e-6)  # about 0.905
    assert residual_change(model, x, centred=True) == 0.0
    removed, change = adaptive_depth_step(model, x, threshold=0.01)
    assert not removed and model.depth == 6
    removed, change = adaptive_depth_step(model, x, threshold=0.01, criterion="centred")
    assert removed and change == 0.0 and model.depth == 5
    with pytest.raises(ValueError, match="`criterion` must be one of paper, centred; got 'mean'"):
        adaptive_depth_step(model, x, criterion="mean")


def test_adaptive_step_shared_removes_one_layer_when_converged():
    model = _converged("shared")
    x = torch.rand(30, 5)
    removed, change = adaptive_depth_step(model, x, threshold=0.01)
    assert removed and change < 0.01 and model.depth == 5
    lively = _lively("shared")
    removed, change = adaptive_depth_step(lively, x, threshold=0.01)
    assert not removed and change > 0.01 and lively.depth == 6
    floor = _converged("shared", depth=3)
    assert adaptive_depth_step(floor, x, min_depth=3)[0] is False and floor.depth == 3


def test_adaptive_step_per_layer_drops_parameters_and_optimizer_state():
    model = _converged("per-layer")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(4, 5)).sum().backward()
    opt.step()
    last = model.layers[-1]
    n_params = len(opt.param_groups[0]["params"])
    removed, _ = adaptive_depth_step(model, torch.rand(10, 5), opt)
    assert removed and model.depth == 5 and len(model.layers) == 5
    assert len(opt.param_groups[0]["params"]) == n_params - 2
    assert last.weight not in opt.state and last.bias not in opt.state
    remove_last_layer(model)  # without an optimizer
    assert model.depth == 4


@pytest.mark.parametrize("kind", ["shared", "per-layer"])
def test_training_shrinks_a_converged_network_and_records_depths(kind):
    """A network built converged (W = 0) and trained with a negligible learning rate stays
    converged: the rule removes one layer per epoch down to `min_depth`."""
    data = load_dataset("digits", n_train=200, n_test=50)
    cfg = TrainConfig(dataset="digits", kind=kind, depth=6, epochs=5, lr=1e-9, threads=1,
                      init_gain=0.0, bias_init=-1.0, adaptive_depth=True, min_depth=3,
                      patience=0)
    result = train(cfg, progress=False, data=data)
    assert [h["depth"] for h in result.history] == [6, 5, 4, 3, 3]
    assert result.depth_history == (5, 4, 3, 3, 3)
    assert all(h["residual_change"] < 1e-6 for h in result.history)
    assert result.weights.depth == 3
    if kind == "per-layer":
        assert result.weights.W.shape[0] == 3


def test_training_measures_the_change_by_the_configured_criterion():
    data = load_dataset("digits", n_train=200, n_test=50)
    cfg = TrainConfig(dataset="digits", kind="per-layer", depth=6, epochs=2, lr=1e-9, threads=1,
                      adaptive_depth=True, depth_criterion="centred", depth_threshold=1e-6,
                      min_depth=3, patience=0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    paper = train(dataclasses.replace(cfg, depth_criterion="paper"), progress=False, data=data)
    centred = train(cfg, progress=False, data=data)
    # trained from the same seed, so the same first epoch; the two measures of its change
    assert centred.history[0]["train_loss"] == paper.history[0]["train_loss"]
    assert centred.history[0]["residual_change"] < paper.history[0]["residual_change"]
    with pytest.raises(ValueError, match="`depth_criterion` must be one of paper, centred"):
        TrainConfig(depth_criterion="median")


def test_perturbation_magnitudes_match_recording():
    model = _lively("shared")
    x = torch.rand(25, 5)
    mags = perturbation_magnitudes(model, x, batch_size=6)
    with torch.no_grad():
        rec = model(x, record=True)
    f = rec.y.double().norm(dim=2)
    xin = rec.x[:-1].double().norm(dim=2)
    np.testing.assert_allclose(mags.absolute, f.mean(dim=1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(mags.scaled, (f / xin).mean(dim=1).numpy(), rtol=1e-6)
    assert mags.mean_scaled == pytest.approx(float(mags.scaled.mean()))
    assert mags.depth == 6
    with pytest.raises(ValueError, match="residual"):
        perturbation_magnitudes(build_model("mlp", 5, 3, None, 2), x)


def test_loglog_slope_and_stopping_rule():
    depths = [2, 4, 8, 16, 32]
    slope, intercept = loglog_slope(depths, [3.0 / d for d in depths])
    assert slope == pytest.approx(-1.0) and intercept == pytest.approx(math.log(3.0))
    assert stopping_depth(depths, [3.0 / d for d in depths], epsilon=0.5) == 8
    assert stopping_depth(depths, [1.0] * 5, epsilon=0.5) is None
    with pytest.raises(ValueError):
        loglog_slope([1], [1.0])
    with pytest.raises(ValueError):
        loglog_slope([1, 2], [1.0, 0.0])


def test_depth_sweep_on_blobs():
    cfg = TrainConfig(dataset="blobs", width=8, epochs=2, lr=1e-2, threads=1)
    sweep = depth_sweep(cfg, [2, 4, 8], samples=100)
    assert isinstance(sweep, DepthSweep)
    assert sweep.depths == (2, 4, 8) and len(sweep.mean_scaled) == 3
    assert [m.depth for m in sweep.magnitudes] == [2, 4, 8]
    # logistic residuals add O(1) per block while |x| grows: the scaled magnitude falls
    assert sweep.slope < 0
    assert sweep.stopping_depth(1e9) == 2 and sweep.stopping_depth(0.0) is None
    with pytest.raises(ValueError):
        depth_sweep(cfg, [3])
