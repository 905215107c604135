"""Training: accuracy floor, determinism, early stopping, history, in-process resume."""

import dataclasses
import json
import re

import pytest
import torch

from nets import (CheckpointError, TrainConfig, TrainResult, load_dataset, load_model, resume,
                  train)

FAST = dict(dataset="digits", width=32, depth=4, epochs=3, batch_size=64, threads=1)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_fifteen_layer_shared_resnet_reaches_95_percent_on_digits(digits):
    """The accuracy floor: >= 95 % test accuracy (well under a minute of CPU)."""
    cfg = TrainConfig(dataset="digits", kind="shared", depth=15, width=128, epochs=10,
                      batch_size=32, seed=0, threads=1)
    result = train(cfg, progress=False, data=digits)
    assert result.model.depth == 15
    assert result.test_accuracy >= 0.95


def test_same_seed_same_weights_bit_for_bit(digits):
    cfg = TrainConfig(**FAST, kind="per-layer", seed=3)
    a = train(cfg, progress=False, data=digits)
    b = train(cfg, progress=False, data=digits)
    _assert_bit_identical(_state(a.model), _state(b.model))
    c = train(dataclasses.replace(cfg, seed=4), progress=False, data=digits)
    assert not torch.equal(a.model.layers[0].weight, c.model.layers[0].weight)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history]


def test_history_records(digits):
    result = train(TrainConfig(**FAST, lr_decay=0.85), progress=False, data=digits)
    assert isinstance(result, TrainResult)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    for h in result.history:
        for key in ("epoch", "train_loss", "train_accuracy", "test_accuracy", "depth",
                    "test_loss", "depth_after", "lr", "seconds"):
            assert key in h
        assert 0.0 <= h["test_accuracy"] <= 1.0
    assert result.history[1]["lr"] == pytest.approx(3e-3 * 0.85)
    assert result.weights.depth == 4 and result.stop_reason == "epochs"


def test_early_stopping_when_training_loss_stops_improving(digits):
    cfg = TrainConfig(**{**FAST, "epochs": 20}, patience=2, min_delta=10.0)
    result = train(cfg, progress=False, data=digits)
    # the first epoch sets the best loss; no later epoch improves by 10: stop after 1 + 2
    assert len(result.history) == 3 and result.stop_reason == "early-stopping"


def test_mlp_and_blobs_train():
    cfg = TrainConfig(dataset="blobs", kind="mlp", width=16, depth=3, epochs=6, lr=1e-2,
                      threads=1, blobs_features=3, blobs_classes=3)
    result = train(cfg, progress=False)
    assert result.weights.kind == "mlp" and result.weights.W.shape == (3, 16, 16)
    assert result.test_accuracy > 0.8


def test_config_validation_and_json_round_trip():
    cfg = TrainConfig(dataset="fashion_mnist", width=10)
    assert cfg.dataset == "fashion-mnist"
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    for bad in (dict(dataset="cifar"), dict(kind="cnn"), dict(depth=0), dict(epochs=0),
                dict(lr=-1.0), dict(width=0), dict(device="tpu"),
                dict(kind="mlp", adaptive_depth=True), dict(depth=2.5)):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"depthh": 3})
    assert TrainConfig().learning_rate == 3e-3
    assert TrainConfig(kind="mlp").learning_rate == 1e-3
    assert TrainConfig(kind="mlp", lr=0.5).learning_rate == 0.5
    with pytest.raises(TypeError):
        train({"depth": 3})


def test_resume_in_process_is_bit_identical(tmp_path, digits):
    cfg = TrainConfig(**{**FAST, "epochs": 4}, kind="per-layer", adaptive_depth=True,
                      depth_threshold=0.05)
    full = train(cfg, progress=False, data=digits)
    assert full.model.depth < 4  # the rule removed layers (and their optimizer state)
    part_dir = tmp_path / "run"
    train(dataclasses.replace(cfg, epochs=2), out_dir=part_dir, progress=False, data=digits)
    resumed = train(cfg, out_dir=part_dir, resume=True, progress=False, data=digits)
    _assert_bit_identical(_state(full.model), _state(resumed.model))
    assert [h["train_loss"] for h in full.history] == [h["train_loss"] for h in resumed.history]
    again = resume(part_dir, progress=False, data=digits)  # finished: nothing more to do
    assert len(again.history) == 4
    _assert_bit_identical(_state(load_model(part_dir)), _state(full.model.eval()))


def test_out_dir_rules(tmp_path, digits):
    cfg = TrainConfig(**{**FAST, "epochs": 1})
    train(cfg, out_dir=tmp_path, progress=False, data=digits)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".json", ".safetensors",
                                                             ".safetensors"]
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and history[0]["depth"] == 4
    with pytest.raises(CheckpointError, match="already holds a checkpoint"):
        train(cfg, out_dir=tmp_path, progress=False, data=digits)
    with pytest.raises(CheckpointError, match="another configuration"):
        train(dataclasses.replace(cfg, lr=0.1), out_dir=tmp_path, resume=True, progress=False,
              data=digits)
    with pytest.raises(ValueError, match="out_dir"):
        train(cfg, resume=True)


def test_progress_bar_goes_to_stderr(capsys, digits):
    train(TrainConfig(**{**FAST, "epochs": 1}), progress=True, data=digits)
    captured = capsys.readouterr()
    assert "epoch" in captured.err and captured.out == ""


def test_device_resolution():
    from nets import resolve_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_progress_bar_shows_the_epoch_just_finished(capsys, digits):
    """Every frame that counts k epochs shows epoch k's loss and accuracies, never epoch k-1's."""
    result = train(TrainConfig(**{**FAST, "epochs": 3}), progress=True, data=digits)
    err = capsys.readouterr().err
    frames = [f for f in re.split(r"[\r\n]", err) if "loss=" in f]
    assert frames, err
    seen = set()
    for frame in frames:
        k = int(re.search(r"\| *(\d+)/3 ", frame).group(1))
        h = result.history[k - 1]
        assert f"loss={h['train_loss']:.4f}" in frame, frame
        assert f"acc={h['train_accuracy']:.3f}" in frame, frame
        assert f"test={h['test_accuracy']:.3f}" in frame, frame
        seen.add(k)
    assert seen == {1, 2, 3}
    from nets.train import _postfix

    assert _postfix(result.history[-1])["loss"] == f"{result.history[-1]['train_loss']:.4f}"


def test_learning_rate_decay_defaults():
    """The measured defaults: 0.95 per epoch for the ResNets, a constant rate for the MLP."""
    assert TrainConfig().lr_decay is None
    assert TrainConfig().learning_rate_decay == 0.95
    assert TrainConfig(kind="per-layer").learning_rate_decay == 0.95
    assert TrainConfig(kind="mlp").learning_rate_decay == 1.0
    assert TrainConfig(kind="mlp", lr_decay=0.5).learning_rate_decay == 0.5
    for bad in (0.0, -0.9, float("nan")):
        with pytest.raises(ValueError, match="lr_decay"):
            TrainConfig(lr_decay=bad)
    cfg = TrainConfig(**{**FAST, "epochs": 2})
    result = train(cfg, progress=False)
    assert result.history[1]["lr"] == pytest.approx(3e-3 * 0.95)


def test_mnist_defaults_and_their_resolution():
    """The full MNIST's measured defaults (decay 0.85, shifts of 2 pixels) apply to its
    ResNets only; every other data set and the MLP keep theirs."""
    for kind in ("shared", "per-layer"):
        cfg = TrainConfig(dataset="mnist", kind=kind)
        assert (cfg.learning_rate_decay, cfg.image_shift) == (0.85, 2)
    mlp = TrainConfig(dataset="mnist", kind="mlp")
    assert (mlp.learning_rate_decay, mlp.image_shift) == (1.0, 0)
    for dataset in ("digits", "mnist5k", "fashion-mnist"):
        cfg = TrainConfig(dataset=dataset)
        assert (cfg.learning_rate_decay, cfg.image_shift) == (0.95, 0)
    explicit = TrainConfig(dataset="mnist", lr_decay=0.9, shift=0)
    assert (explicit.learning_rate_decay, explicit.image_shift) == (0.9, 0)
    resolved = TrainConfig(dataset="mnist").resolved()
    assert (resolved.lr, resolved.lr_decay, resolved.shift) == (3e-3, 0.85, 2)
    assert resolved.resolved() == resolved


def test_resume_accepts_a_stored_default_and_the_value_it_stands_for(tmp_path, digits):
    cfg = TrainConfig(**{**FAST, "epochs": 1})
    train(cfg, out_dir=tmp_path / "r", progress=False, data=digits)
    explicit = dataclasses.replace(cfg, epochs=2, shift=0, lr_decay=0.95, lr=3e-3)
    result = train(explicit, out_dir=tmp_path / "r", resume=True, progress=False, data=digits)
    assert len(result.history) == 2
    with pytest.raises(CheckpointError, match="differs in shift"):
        train(dataclasses.replace(explicit, epochs=3, shift=1), out_dir=tmp_path / "r",
              resume=True, progress=False, data=digits)


def test_shift_translates_images_with_zero_fill():
    from nets.train import _shift_images

    img = torch.arange(1, 13, dtype=torch.float32).view(1, 3, 4)
    x = torch.cat([img, img]).reshape(2, 12)
    out = _shift_images(x, torch.tensor([1, -2]), torch.tensor([-1, 2]), (3, 4), 2).view(2, 3, 4)
    # image 0: one row down, one column left; image 1: two rows up, two columns right
    expect0 = torch.zeros(3, 4)
    expect0[1:, :3] = img[0, :2, 1:]
    expect1 = torch.zeros(3, 4)
    expect1[:1, 2:] = img[0, 2:, :2]
    assert torch.equal(out[0], expect0)
    assert torch.equal(out[1], expect1)
    same = _shift_images(x, torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                         (3, 4), 2)
    assert torch.equal(same, x)


def test_shift_augmentation_is_seeded_resumable_and_changes_training(tmp_path, digits):
    cfg = TrainConfig(**FAST, shift=1, seed=5)
    a = train(cfg, progress=False, data=digits)
    b = train(cfg, progress=False, data=digits)
    _assert_bit_identical(_state(a.model), _state(b.model))
    plain = train(dataclasses.replace(cfg, shift=0), progress=False, data=digits)
    assert not torch.equal(a.model.layers[0].weight, plain.model.layers[0].weight)
    # a run stopped after one epoch and resumed repeats the uninterrupted one bit for bit
    train(dataclasses.replace(cfg, epochs=1), out_dir=tmp_path / "r", progress=False,
          data=digits)
    c = resume(tmp_path / "r", progress=False, epochs=cfg.epochs, data=digits)
    _assert_bit_identical(_state(a.model), _state(c.model))
    assert TrainConfig.from_dict(cfg.to_dict()).shift == 1


def test_shift_is_refused_without_images(digits):
    with pytest.raises(ValueError, match="`shift` must be an integer >= 0 or None; got -1"):
        TrainConfig(**FAST, shift=-1)
    with pytest.raises(ValueError, match="`dataset` 'blobs' has none"):
        TrainConfig(dataset="blobs", shift=2)
    flat = dataclasses.replace(digits, image_shape=None)
    with pytest.raises(ValueError, match="`shift` = 1 needs image data"):
        train(TrainConfig(**FAST, shift=1), progress=False, data=flat)
