"""Checkpoints: safetensors + JSON only, verified on load, stray files harmless."""

import json

import pytest
import torch

from nets import CheckpointError, TrainConfig, load_checkpoint, load_dataset, train

CFG = TrainConfig(dataset="digits", width=16, depth=3, epochs=2, threads=1)


@pytest.fixture()
def run_dir(tmp_path):
    data = load_dataset("digits", n_train=300, n_test=100)
    train(CFG, out_dir=tmp_path / "run", progress=False, data=data)
    return tmp_path / "run"


def _tensor_file(run_dir):
    return run_dir / json.loads((run_dir / "checkpoint.json").read_text())["tensors"]["file"]


def test_checkpoint_contents(run_dir):
    ck = load_checkpoint(run_dir)
    assert ck.state["epoch"] == 2 and ck.state["depth"] == 3 and ck.state["finished"]
    assert ck.config == CFG.to_dict()
    assert len(ck.history) == 2
    assert ck.tensors["rng/torch"].dtype == torch.uint8
    assert any(k.startswith("optim/layers.0.weight/") for k in ck.tensors)
    assert "model/classifier.weight" in ck.tensors
    assert {p.suffix for p in run_dir.iterdir()} == {".json", ".safetensors"}


def test_truncated_tensor_file(run_dir):
    f = _tensor_file(run_dir)
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or was modified"):
        load_checkpoint(run_dir)


def test_edited_tensor_file(run_dir):
    f = _tensor_file(run_dir)
    raw = bytearray(f.read_bytes())
    raw[-3] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(run_dir)


def test_missing_tensor_file(run_dir):
    _tensor_file(run_dir).unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(run_dir)


def test_truncated_json(run_dir):
    p = run_dir / "checkpoint.json"
    p.write_text(p.read_text()[:200])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(run_dir)


def test_edited_json_shapes_and_keys(run_dir):
    p = run_dir / "checkpoint.json"
    record = json.loads(p.read_text())
    record["tensors"]["shapes"]["model/classifier.weight"] = [3, 3]
    p.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(run_dir)
    record["tensors"]["shapes"]["model/extra"] = [1]
    p.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(run_dir)
    del record["state"]
    p.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="lacks"):
        load_checkpoint(run_dir)


def test_no_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "absent")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path)


def test_stray_files_from_a_killed_save_are_ignored_and_cleaned(tmp_path):
    """A kill between writing a tensor file and committing the JSON leaves stray files."""
    data = load_dataset("digits", n_train=300, n_test=100)
    cfg = TrainConfig(dataset="digits", width=16, depth=3, epochs=3, threads=1)
    run = tmp_path / "run"
    train(TrainConfig(**{**cfg.to_dict(), "epochs": 1}), out_dir=run, progress=False, data=data)
    (run / "state-epoch0002.safetensors").write_bytes(b"half written")
    (run / "_partial_checkpoint.json").write_text("{")
    assert load_checkpoint(run).state["epoch"] == 1
    train(cfg, out_dir=run, resume=True, progress=False, data=data)
    names = sorted(p.name for p in run.iterdir())
    assert names == ["checkpoint.json", "history.json", "state-epoch0003.safetensors",
                     "weights.safetensors"]


def test_safetensors_bytes_are_canonical(tmp_path):
    """The same tensors and metadata give the same bytes, which load back unchanged."""
    from safetensors.torch import load, save

    from nets.checkpoint import _canonical_safetensors

    tensors = {"b": torch.arange(3.0), "a": torch.eye(2, dtype=torch.float64),
               "n": torch.tensor([1, 2], dtype=torch.uint8)}
    meta = {"zeta": "1", "alpha": "2", "mid": "3", "format": "x"}
    outs = {_canonical_safetensors(save(tensors, metadata=meta)) for _ in range(8)}
    assert len(outs) == 1
    data = outs.pop()
    assert _canonical_safetensors(data) == data
    n = int.from_bytes(data[:8], "little")
    assert (8 + n) % 8 == 0
    header = json.loads(data[8:8 + n])
    assert list(header["__metadata__"]) == sorted(meta)
    back = load(data)
    assert back.keys() == tensors.keys()
    for key in tensors:
        assert back[key].dtype == tensors[key].dtype and back[key].equal(tensors[key])


def test_checkpoint_records_its_hash(run_dir):
    record = json.loads((run_dir / "checkpoint.json").read_text())
    ck = load_checkpoint(run_dir)
    assert ck.sha256 == record["tensors"]["sha256"] and len(ck.sha256) == 64


def test_check_out_dir(tmp_path):
    from nets import check_out_dir

    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^--out must be a folder \(created if it does not "
                                         r"exist\); got '.*file', which is an existing file"):
        check_out_dir(tmp_path / "file", "--out")
    with pytest.raises(ValueError, match="^`out_dir` must be a folder path; got .*on that path "
                                         "is a file"):
        check_out_dir(tmp_path / "file" / "run")
    # /sys takes no new file from anyone, root included, though os.access says yes to root
    with pytest.raises(ValueError, match=r"^`out_dir` must be a writable location; got "
                                         r"'/sys/a/b', and its nearest existing folder '/sys' "
                                         r"is not writable \(creating a file there failed: "):
        check_out_dir("/sys/a/b")


def test_unfinished_run_is_refused_by_load_model(tmp_path, monkeypatch):
    """Training stopped between epochs (an exception here; the fault suite kills a process)."""
    import sys

    import nets

    module = sys.modules["nets.train"]
    real = module.save_checkpoint

    def stop_after_first(directory, **kw):
        real(directory, **kw)
        raise KeyboardInterrupt

    data = load_dataset("digits", n_train=300, n_test=100)
    run = tmp_path / "run"
    monkeypatch.setattr(module, "save_checkpoint", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        train(CFG, out_dir=run, progress=False, data=data)
    monkeypatch.undo()
    assert not (run / nets.LOCK_FILE).exists()  # released and removed on the way out
    with pytest.raises(CheckpointError, match=r"unfinished training run: its checkpoint is at "
                                              r"epoch 1 of 2"):
        nets.load_model(run)
    assert nets.restore_model(load_checkpoint(run)).depth == 3  # the model as it stands
    train(CFG, out_dir=run, resume=True, progress=False, data=data)
    assert nets.load_model(run).depth == 3
