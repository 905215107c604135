"""Fault suite, nets: no network read as something it is not, no run read from mixed files.

Each ``test_fault_*`` replays a fault that was observed (it failed before the fix); each
``test_refused_*`` pins a bad input that was already refused, so that it stays refused.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import dynsys
import nets
from nets import CheckpointError, FolderLockedError

# ---- modules that do or do not qualify ------------------------------------------------------


class Residual(nn.Module):
    """x <- x + act(lin(x)), `depth` times, one Linear shared by every layer."""

    def __init__(self, n=6, depth=10, act=torch.sigmoid, scale=1.0, classes=None):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.head = None if classes is None else nn.Linear(n, classes)
        self.depth, self.act, self.scale = depth, act, scale

    def forward(self, x):
        for _ in range(self.depth):
            x = x + self.scale * self.act(self.lin(x))
        return x if self.head is None else self.head(x)


class Recurrent(nn.Module):
    """h <- act(lin(h)), `depth` times (an RNN without input after the first step)."""

    def __init__(self, n=6, depth=10, act=torch.tanh):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.depth, self.act = depth, act

    def forward(self, h):
        for _ in range(self.depth):
            h = self.act(self.lin(h))
        return h


def _forward(module, u):
    with torch.no_grad():
        return module.double()(torch.from_numpy(u)).numpy()


def test_fault_tanh_residual_module_is_refused_not_read_as_logistic():
    torch.manual_seed(0)
    module = Residual(act=torch.tanh)
    with pytest.raises(ValueError, match="does not compute the resnet network") as err:
        nets.to_network(module, weight="lin.weight", bias="lin.bias")
    message = str(err.value)
    assert "x(t-1) + sigmoid(W(t) x(t-1) + b(t))" in message  # what qualifies (ResNet)
    assert "y(t) = sigmoid(W(t) y(t-1) + b(t)) (kind 'mlp'" in message  # and the MLP kind
    assert "check=False" in message
    # the size of what the check saw is what iterating the misread network gives
    net = nets.to_network(module, weight="lin.weight", bias="lin.bias", check=False)
    u = np.random.default_rng(0).standard_normal((8, 6))
    gap = np.abs(dynsys.iterate(net, u, 10).x_final - _forward(module, u)).max()
    assert gap > 1.0 and f"by {gap:.3g}" in message


def test_fault_tanh_rnn_is_refused_as_an_mlp():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="does not compute the mlp network"):
        nets.to_network(Recurrent(), weight="lin.weight", bias="lin.bias", kind="mlp")
    with pytest.raises(ValueError, match="does not compute the resnet network"):
        nets.to_network(Recurrent(), weight="lin.weight", bias="lin.bias")


@pytest.mark.parametrize("module,extra", [
    (Residual(scale=0.5), {}),                               # a step size is not step 1
    (Residual(act=torch.relu), {}),
    (Recurrent(act=torch.sigmoid), {}),                      # an MLP read as a ResNet
    (Residual(), {"kind": "mlp"}),                           # a ResNet read as an MLP
    (Residual(depth=3), {"depth": 5}),                       # the wrong depth
    (Residual(classes=3), {}),                               # logits without a named readout
])
def test_fault_other_maps_are_refused(module, extra):
    torch.manual_seed(1)
    with pytest.raises(ValueError, match="qualifies"):
        nets.to_network(module, weight="lin.weight", bias="lin.bias", **extra)


def test_qualifying_modules_pass_the_default_check():
    torch.manual_seed(2)
    u = np.random.default_rng(3).random((5, 6))
    plain = Residual(depth=7)
    net = nets.to_network(plain, weight="lin.weight", bias="lin.bias")
    np.testing.assert_allclose(dynsys.iterate(net, u, 7).x_final, _forward(plain, u),
                               rtol=1e-12, atol=1e-12)
    headed = Residual(depth=4, classes=3)
    net = nets.to_network(headed, weight="lin.weight", bias="lin.bias", readout="head")
    np.testing.assert_allclose(net.readout(dynsys.iterate(net, u, 4).x_final),
                               _forward(headed, u), rtol=1e-12, atol=1e-12)
    mlp = Recurrent(depth=5, act=torch.sigmoid)
    net = nets.to_network(mlp, weight="lin.weight", bias="lin.bias", kind="mlp")
    assert net.kind == "mlp"
    for kind in nets.KINDS:
        for width in (None, 9):
            model = nets.build_model(kind, 6, 3, width, 4)
            assert nets.to_network(model).n_features == 6


def test_check_inputs_and_opt_out():
    torch.manual_seed(4)
    module = Residual(act=torch.tanh)
    with pytest.raises(ValueError, match="does not compute"):
        nets.to_network(module, weight="lin.weight", bias="lin.bias", check=np.ones((2, 6)))
    net = nets.to_network(module, weight="lin.weight", bias="lin.bias", check=False)
    assert net.width == 6
    with pytest.raises(ValueError, match=r"`check` inputs must have shape \(B, 6\)"):
        nets.to_network(Residual(), weight="lin.weight", bias="lin.bias", check=np.ones((2, 5)))
    with pytest.raises(TypeError, match="`check`.*no forward pass"):
        nets.to_network(Residual().state_dict(), weight="lin.weight", check=True)


# ---- run folders ------------------------------------------------------------------------------


def _meta(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        return fh.metadata()


def test_weights_record_the_checkpoint_they_come_from(finished_run):
    record = json.loads((finished_run / nets.CHECKPOINT_FILE).read_text())
    meta = _meta(finished_run / nets.WEIGHTS_FILE)
    assert meta["checkpoint_epoch"] == str(record["state"]["epoch"]) == "2"
    assert meta["checkpoint_sha256"] == record["tensors"]["sha256"]
    assert nets.check_run(finished_run).sha256 == record["tensors"]["sha256"]


def test_fault_a_killed_resume_is_refused_by_every_reader(killed_resume, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(killed_resume, run)
    assert json.loads((run / "checkpoint.json").read_text())["state"]["epoch"] == 3
    # the epoch-2 weights are gone: they would sit beside the epoch-3 checkpoint
    assert not (run / nets.WEIGHTS_FILE).exists()
    for read in (nets.to_network, nets.load_weights, nets.load_model, nets.check_run):
        with pytest.raises(CheckpointError, match="unfinished training run") as err:
            read(run)
        assert "epoch 3 of 5" in str(err.value) and f"--resume {run}" in str(err.value)
    # finishing it makes it readable, with the weights of its own last checkpoint
    result = nets.resume(run, progress=False)
    assert result.history[-1]["epoch"] == 5
    net = nets.to_network(run)
    ck = nets.load_checkpoint(run)
    np.testing.assert_array_equal(net.W, ck.tensors["model/layers.0.weight"].double().numpy())
    assert _meta(run / nets.WEIGHTS_FILE)["checkpoint_sha256"] == ck.sha256


def test_fault_weights_of_another_run_beside_a_killed_run(finished_run, killed_run, tmp_path):
    run = tmp_path / "B"
    shutil.copytree(killed_run, run)
    shutil.copy(finished_run / nets.WEIGHTS_FILE, run / nets.WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match="unfinished training run") as err:
        nets.to_network(run)
    assert "exported from a checkpoint of epoch 2" in str(err.value)
    assert "not from the folder's checkpoint of epoch 1" in str(err.value)
    # the weights file given by its own path is read as it is
    net = nets.to_network(run / nets.WEIGHTS_FILE)
    np.testing.assert_array_equal(net.W, nets.to_network(finished_run).W)


def test_fault_finished_run_with_foreign_weights(finished_run, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(finished_run, a)
    nets.train(nets.TrainConfig(dataset="blobs", width=6, depth=3, epochs=2, seed=9,
                                threads=1), out_dir=b, progress=False)
    shutil.copy(a / nets.WEIGHTS_FILE, b / nets.WEIGHTS_FILE)
    for read in (nets.to_network, nets.load_model):
        with pytest.raises(CheckpointError, match="does not hold one consistent run"):
            read(b)
    # written without a binding (by hand, or by an older resdyn): refused too ...
    nets.save_weights(nets.load_weights(a), a / nets.WEIGHTS_FILE)
    with pytest.raises(CheckpointError, match="records no checkpoint"):
        nets.to_network(a)
    # ... until the run exports its checkpoint's weights again
    nets.resume(a, progress=False)
    nets.to_network(a)


def test_fault_second_writer_of_a_folder_is_refused(tmp_path):
    from nets.atomic import folder_lock

    cfg = nets.TrainConfig(dataset="blobs", width=6, depth=3, epochs=1, threads=1)
    out = tmp_path / "run"
    out.mkdir()
    with folder_lock(out, nets.LOCK_FILE):
        with pytest.raises(FolderLockedError, match="being written by another process") as err:
            nets.train(cfg, out_dir=out, progress=False)
        assert str(out) in str(err.value)
        assert not nets.has_checkpoint(out)
    nets.train(cfg, out_dir=out, progress=False)  # free again
    assert not (out / nets.LOCK_FILE).exists()


def test_fault_partial_files_of_a_killed_writer_are_removed(killed_run, tmp_path):
    run = tmp_path / "B"
    shutil.copytree(killed_run, run)
    (run / "_partial_checkpoint.json.x1y2.json").write_text("{")
    (run / "_partial_weights.safetensors.a.safetensors").write_bytes(b"half")
    (run / "state-epoch0002.safetensors").write_bytes(b"orphan of a killed save")
    nets.resume(run, progress=False)
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint.json", "history.json", "state-epoch0003.safetensors", "weights.safetensors"]


# ---- small things -----------------------------------------------------------------------------


def test_fault_npy_where_a_run_or_weights_file_is_expected(tmp_path):
    path = tmp_path / "W.npy"
    np.save(path, np.eye(3))
    for call, name in ((lambda: nets.to_network(path), "`obj`"),
                       (lambda: nets.load_weights(path), "`path`"),
                       (lambda: nets.to_network(path, weight="W"), "`obj`"),
                       (lambda: nets.check_run(path, "RUN"), "RUN")):
        with pytest.raises(ValueError) as err:
            call()
        message = str(err.value)
        assert message.startswith(f"{name} '{path}' is a NumPy .npy file"), message
        assert "run folder or a .safetensors weights file" in message
        assert "header too large" not in message


def test_fault_exported_weights_repr_is_short():
    torch.manual_seed(0)
    w = nets.export_weights(nets.build_model("per-layer", 784, 10, 64, 15))
    text = repr(w)
    assert text == ("ExportedWeights(kind='per-layer', depth=15, W=15x64x64, b=15x64, "
                    "K=10x64, c=10, projection=64x784)")
    assert "\n" not in repr(nets.export_weights(nets.build_model("shared", 4, 2, None, 3)))


def test_fault_identical_runs_write_identical_bytes(tmp_path):
    cfg = nets.TrainConfig(dataset="blobs", width=6, depth=3, epochs=2, seed=5, threads=1)
    for name in ("a", "b"):
        nets.train(cfg, out_dir=tmp_path / name, progress=False)
    files = sorted(p.name for p in (tmp_path / "a").glob("*.safetensors"))
    assert files == ["state-epoch0002.safetensors", "weights.safetensors"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # the library writes metadata in hash order, new in every write: eight writes, one file
    w = nets.load_weights(tmp_path / "a")
    blobs = {nets.save_weights(w, tmp_path / f"w{i}.safetensors").read_bytes() for i in range(8)}
    assert len(blobs) == 1
    header = json.loads(blobs.pop()[8:].split(b"}}", 1)[0] + b"}}")
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])


# ---- bad inputs that are refused already, and must stay so -------------------------------------


def test_refused_wrong_shapes():
    with pytest.raises(ValueError, match="`W` must have shape"):
        dynsys.Network(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="`b` must have shape"):
        nets.to_network({"w": np.eye(3), "b": np.zeros(4)}, weight="w", bias="b")
    with pytest.raises(ValueError, match="`K` must have shape"):
        nets.to_network({"w": np.eye(3), "k": np.zeros((2, 4))}, weight="w", readout_weight="k")
    with pytest.raises(ValueError, match="do not fit"):
        nets.ExportedWeights("shared", 2, np.zeros((3, 3)), np.zeros(4), np.zeros((2, 3)),
                             np.zeros(2))
    with pytest.raises(ValueError, match="names layers of different shapes"):
        nets.to_network({"l0": np.eye(3), "l1": np.eye(2)}, weight="l{t}")


def test_refused_nan_weights(tmp_path):
    W = np.eye(3)
    W[1, 2] = np.nan
    with pytest.raises(ValueError, match="`W`.*NaN|NaN.*`W`"):
        dynsys.Network(W)
    with pytest.raises(ValueError, match="NaN"):
        nets.to_network({"w": torch.from_numpy(W)}, weight="w")
    module = Residual(n=3)
    with torch.no_grad():
        module.lin.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        nets.to_network(module, weight="lin.weight", bias="lin.bias")


def test_refused_corrupt_checkpoints_and_weights(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    weights = run / nets.WEIGHTS_FILE
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        nets.to_network(run)
    weights.unlink()
    tensor = next(run.glob("state-epoch*.safetensors"))
    tensor.write_bytes(tensor.read_bytes()[:-64])
    with pytest.raises(CheckpointError, match="truncated or was modified"):
        nets.to_network(run)
    (run / "checkpoint.json").write_text("{\"format\": ")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        nets.load_model(run)


def test_refused_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nets.to_network(tmp_path / "absent.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nets.load_weights(tmp_path / "absent")
    with pytest.raises(CheckpointError, match="does not exist"):
        nets.load_model(tmp_path / "absent")
    with pytest.raises(ValueError, match="checkpoint.json"):
        nets.to_network(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        nets.resume(tmp_path)
