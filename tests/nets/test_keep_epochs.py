"""TrainConfig(keep_epochs=True): every epoch's weights, kept once, committed by its checkpoint."""

import json
import signal
import sys

import numpy as np
import pytest
import torch

import nets
from nets import (CheckpointError, TrainConfig, export_weights, kept_epochs, load_dataset,
                  load_weights, model_for_config, to_network, train)
from tests._helpers import training_hooks as hooks

CFG = TrainConfig(dataset="digits", width=16, depth=3, epochs=2, threads=1, keep_epochs=True)
ARRAYS = ("W", "b", "K", "c")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", n_train=300, n_test=100)


def _epoch_bytes(run):
    return {p.name: p.read_bytes() for p in sorted((run / nets.EPOCHS_DIR).iterdir())}


def _same_weights(a, b):
    assert (a.kind, a.depth, a.activation) == (b.kind, b.depth, b.activation)
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.projection[0], b.projection[0])


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory, data):
    """A 2-epoch run keeping its epochs, with the model tensors of each committed checkpoint."""
    module = sys.modules["nets.train"]
    real, seen = module.save_checkpoint, {}

    def spy(directory, **kw):
        seen[int(kw["state"]["epoch"])] = {k[len("model/"):]: v.clone()
                                           for k, v in kw["tensors"].items()
                                           if k.startswith("model/")}
        return real(directory, **kw)

    run = tmp_path_factory.mktemp("kept") / "run"
    module.save_checkpoint = spy
    try:
        result = train(CFG, out_dir=run, progress=False, data=data)
    finally:
        module.save_checkpoint = real
    return run, result, seen


def test_epochs_0_to_E_are_kept_and_hold_the_model_of_each_epoch(kept_run, data):
    run, result, seen = kept_run
    assert kept_epochs(run) == (0, 1, 2)
    assert sorted(p.name for p in (run / "epochs").iterdir()) == [
        "epoch-0000.safetensors", "epoch-0001.safetensors", "epoch-0002.safetensors"]
    # epoch 0: the initial weights, before any update
    torch.manual_seed(CFG.seed)
    _same_weights(load_weights(run, epoch=0),
                  export_weights(model_for_config(CFG, data.n_features, data.n_classes)))
    # epoch e: the model the checkpoint of epoch e holds
    for epoch in (1, 2):
        model = model_for_config(CFG, data.n_features, data.n_classes)
        model.load_state_dict(seen[epoch])
        _same_weights(load_weights(run, epoch=epoch), export_weights(model))
    # the last epoch is the run's final network
    _same_weights(load_weights(run, epoch=2), load_weights(run))
    final, last = to_network(run), to_network(run, epoch=2)
    for name in ARRAYS:
        assert np.array_equal(getattr(final, name), getattr(last, name))
    assert not np.array_equal(load_weights(run, epoch=0).W, load_weights(run, epoch=1).W)
    # the record and the metadata: the epoch and the run
    record = json.loads((run / "checkpoint.json").read_text())
    assert sorted(record["kept_epochs"]) == ["0", "1", "2"]
    assert nets.load_checkpoint(run).epoch_sha256.keys() == {0, 1, 2}
    from safetensors import safe_open

    with safe_open(str(run / "epochs" / "epoch-0001.safetensors"), framework="numpy") as fh:
        meta = fh.metadata()
    assert meta["epoch"] == "1" and len(meta["run"]) == 64 and meta["kind"] == "shared"


def test_a_kept_epoch_file_reads_as_a_weights_file(kept_run):
    run, _, _ = kept_run
    path = run / "epochs" / "epoch-0001.safetensors"
    _same_weights(load_weights(path), load_weights(run, epoch=1))
    net = to_network(path)
    assert np.array_equal(net.W, to_network(run, epoch=1).W)


def test_keeping_epochs_changes_no_weight(kept_run, data, tmp_path):
    run, _, _ = kept_run
    plain = train(TrainConfig(**{**CFG.to_dict(), "keep_epochs": False}),
                  out_dir=tmp_path / "plain", progress=False, data=data)
    _same_weights(plain.weights, load_weights(run))
    assert not (tmp_path / "plain" / "epochs").exists()
    assert "kept_epochs" not in json.loads((tmp_path / "plain" / "checkpoint.json").read_text())
    assert kept_epochs(tmp_path / "plain") == ()
    with pytest.raises(ValueError, match=r"^`epoch` 1 is not kept in `obj` .*plain': it keeps "
                                         r"none \(it was trained without "
                                         r"TrainConfig\(keep_epochs=True\)"):
        to_network(tmp_path / "plain", epoch=1)


def test_reading_an_epoch_refuses_what_is_not_one(kept_run, tmp_path):
    run, result, _ = kept_run
    with pytest.raises(ValueError, match=r"^`epoch` 3 is not kept in `obj` '.*run': it keeps "
                                         r"epochs 0 to 2\.$"):
        to_network(run, epoch=3)
    with pytest.raises(ValueError, match=r"^`epoch` 7 is not kept in `path` .*0 to 2"):
        load_weights(run, epoch=7)
    for bad in (-1, True, "1", 1.0):
        with pytest.raises(ValueError, match=rf"^`epoch` must be an integer >= 0, an epoch the "
                                             rf"run keeps; got {bad!r:s}"):
            to_network(run, epoch=bad)
    assert to_network(run, epoch=np.int64(1)).W.shape == (16, 16)
    with pytest.raises(TypeError, match=r"^`epoch` selects a kept epoch of a training run "
                                        r"folder; `obj` is a ResNet"):
        to_network(result.model, epoch=1)
    with pytest.raises(TypeError, match="`obj` is a ExportedWeights"):
        to_network(result.weights, epoch=0)
    with pytest.raises(ValueError, match=r"is a file, but kept epochs are read from a training "
                                         r"run folder"):
        to_network(run / "weights.safetensors", epoch=1)
    with pytest.raises(ValueError, match="`epoch` reads a kept epoch of a training run folder"):
        to_network(run, epoch=1, weight="W")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kept_epochs(tmp_path / "absent")
    with pytest.raises(ValueError, match="is a file"):
        kept_epochs(run / "weights.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        kept_epochs(tmp_path)


def test_an_epoch_file_of_another_run_or_modified_is_refused(kept_run, data, tmp_path):
    import shutil

    src, _, _ = kept_run
    run = tmp_path / "run"
    shutil.copytree(src, run)
    other = tmp_path / "other"
    train(TrainConfig(**{**CFG.to_dict(), "seed": 1, "epochs": 1}), out_dir=other,
          progress=False, data=data)
    shutil.copy(other / "epochs" / "epoch-0001.safetensors", run / "epochs")
    with pytest.raises(CheckpointError, match=r"epoch-0001.safetensors' is not epoch 1 of the "
                                              r"run in .*: it records epoch 1 of run .*another "
                                              r"run\?"):
        to_network(run, epoch=1)
    epochs = run / "epochs"
    shutil.copy(epochs / "epoch-0000.safetensors", epochs / "epoch-0002.safetensors")
    with pytest.raises(CheckpointError, match="records epoch 0 of run"):
        load_weights(run, epoch=2)
    f = run / "epochs" / "epoch-0000.safetensors"
    raw = bytearray(f.read_bytes())
    raw[-3] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"has SHA-256 .* not the .* that checkpoint.json "
                                              r"records: it is truncated or was modified"):
        to_network(run, epoch=0)
    f.unlink()
    with pytest.raises(CheckpointError, match="kept epoch 0 of `obj` .* is missing"):
        to_network(run, epoch=0)


def test_configuration_and_folder_checks(data, tmp_path):
    with pytest.raises(ValueError, match=r"^`keep_epochs` must be True or False; got 'yes'"):
        TrainConfig(keep_epochs="yes")
    assert TrainConfig.from_dict({"dataset": "digits"}).keep_epochs is False
    with pytest.raises(ValueError, match=r"`config.keep_epochs` writes every epoch's weights "
                                         r"into `out_dir`; give `out_dir`"):
        train(CFG, progress=False, data=data)
    # a folder holding another run's epochs but no checkpoint takes no new run
    folder = tmp_path / "mixed"
    (folder / "epochs").mkdir(parents=True)
    nets.save_weights(export_weights(model_for_config(CFG, 64, 10)),
                      folder / "epochs" / "epoch-0000.safetensors")
    with pytest.raises(CheckpointError, match=r"holds epoch weights files of another run in "
                                              r"epochs/ \(epoch-0000.safetensors, \.\.\.\) but "
                                              r"no checkpoint"):
        train(CFG, out_dir=folder, progress=False, data=data)
    assert (folder / "epochs" / "epoch-0000.safetensors").is_file()  # left as it was
    # resuming holds keep_epochs fixed, like every field but epochs
    plain = tmp_path / "plain"
    train(TrainConfig(**{**CFG.to_dict(), "keep_epochs": False, "epochs": 1}), out_dir=plain,
          progress=False, data=data)
    with pytest.raises(CheckpointError, match=r"differs in keep_epochs"):
        train(CFG, out_dir=plain, resume=True, progress=False, data=data)


def _interrupt(monkeypatch, at: int, before_commit: bool):
    """Stop training with an exception at the checkpoint of epoch `at`: before it is
    committed (the epoch's file written, not recorded) or right after."""
    module = sys.modules["nets.train"]
    real = module.save_checkpoint

    def stop(directory, **kw):
        if int(kw["state"]["epoch"]) == at and before_commit:
            raise KeyboardInterrupt
        real(directory, **kw)
        if int(kw["state"]["epoch"]) == at:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "save_checkpoint", stop)


def test_an_interrupted_run_keeps_every_epoch_once_and_reads_while_unfinished(
        kept_run, data, tmp_path, monkeypatch):
    straight, _, _ = kept_run
    cfg = CFG
    run = tmp_path / "run"
    # killed after writing epoch 2's file, before the checkpoint that records it
    _interrupt(monkeypatch, at=2, before_commit=True)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out_dir=run, progress=False, data=data)
    monkeypatch.undo()
    assert (run / "epochs" / "epoch-0002.safetensors").is_file()  # written, not committed
    # an unfinished run reads epoch by epoch, up to its last commit
    assert kept_epochs(run) == (0, 1)
    _same_weights(load_weights(run, epoch=1), load_weights(straight, epoch=1))
    with pytest.raises(CheckpointError, match="unfinished training run"):
        to_network(run)
    with pytest.raises(ValueError, match=r"it keeps epochs 0, 1 \(an unfinished run: its "
                                         r"checkpoint is at epoch 1\)"):
        to_network(run, epoch=2)
    # the writer's clean-up removes the uncommitted file and temporary files, never a kept one
    from nets.checkpoint import _remove_stale_files

    (run / "epochs" / "_partial_epoch-0002.safetensors.x.safetensors").write_bytes(b"half")
    assert _remove_stale_files(run) == 2
    assert sorted(_epoch_bytes(run)) == ["epoch-0000.safetensors", "epoch-0001.safetensors"]
    train(cfg, out_dir=run, resume=True, progress=False, data=data)
    assert kept_epochs(run) == (0, 1, 2)
    assert _epoch_bytes(run) == _epoch_bytes(straight)
    # a finished run trained further keeps its epochs and adds the new ones
    more = TrainConfig(**{**cfg.to_dict(), "epochs": 3})
    (run / "epochs" / "_partial_epoch-0003.safetensors.x.safetensors").write_bytes(b"half")
    train(more, out_dir=run, resume=True, progress=False, data=data)
    assert kept_epochs(run) == (0, 1, 2, 3)
    names = sorted(_epoch_bytes(run))
    assert names == [f"epoch-000{e}.safetensors" for e in range(4)]
    assert {k: v for k, v in _epoch_bytes(run).items() if k != names[-1]} == \
        _epoch_bytes(straight)


def test_killed_before_the_first_commit_starts_over_with_the_same_files(
        kept_run, data, tmp_path, monkeypatch):
    straight, _, _ = kept_run
    run = tmp_path / "run"
    _interrupt(monkeypatch, at=1, before_commit=True)
    with pytest.raises(KeyboardInterrupt):
        train(CFG, out_dir=run, progress=False, data=data)
    monkeypatch.undo()
    assert not (run / "checkpoint.json").exists()
    assert sorted(_epoch_bytes(run)) == ["epoch-0000.safetensors", "epoch-0001.safetensors"]
    train(CFG, out_dir=run, progress=False, data=data)
    assert _epoch_bytes(run) == _epoch_bytes(straight)


def test_sigkill_after_a_commit_then_resume_gives_the_same_files(tmp_path, train_cli, capsys):
    """SIGKILL right after the checkpoint of epoch 1 of 3 (a hook, not a timer); the resumed
    run's epoch files are byte for byte those of the uninterrupted run."""
    args = ["--dataset", "blobs", "--width", "8", "--depth", "3", "--per-layer", "--epochs",
            "3", "--seed", "2", "--threads", "1", "--keep-epochs", "--no-progress"]
    killed = tmp_path / "killed"
    done = hooks.run_killed(args + ["--out", killed], kill_at=1)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert kept_epochs(killed) == (0, 1)
    assert train_cli.main(["--resume", killed, "--keep-epochs", "--no-progress"]) == 0
    straight = tmp_path / "straight"
    assert train_cli.main(args + ["--out", straight]) == 0
    out = capsys.readouterr().out
    assert f"epochs 0 to 3 kept in {straight / 'epochs'}" in out
    assert kept_epochs(killed) == kept_epochs(straight) == (0, 1, 2, 3)
    assert _epoch_bytes(killed) == _epoch_bytes(straight)
    assert (killed / "weights.safetensors").read_bytes() == \
        (straight / "weights.safetensors").read_bytes()


def test_resume_keep_epochs_flag_of_a_run_that_keeps_none(tmp_path, train_cli, capsys):
    out = tmp_path / "run"
    assert train_cli.main(["--dataset", "blobs", "--width", "8", "--depth", "2", "--epochs",
                           "1", "--out", out, "--no-progress"]) == 0
    capsys.readouterr()
    assert train_cli.main(["--resume", out, "--keep-epochs", "--epochs", "2"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--keep-epochs asks to keep every epoch, but the run in --resume" \
        in err[0] and "trained without it" in err[0]
    assert nets.load_checkpoint(out).state["epoch"] == 1  # nothing trained
