"""Tanh networks in nets: the models, their export, to_network, training and checkpoints."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import dynsys
import nets
from nets import KINDS, build_model, export_weights, to_network

T = 5


def _hand_forward(model, u):
    """A float64 NumPy forward of a nets model, written out from the paper's equations with
    f = tanh: (logits, y (T, B, N), x (T + 1, B, N))."""
    def arr(t):
        return t.detach().to(torch.float64).numpy()

    x = u if model.projection is None else u @ arr(model.projection.weight).T + arr(
        model.projection.bias)
    ys, xs = [], [x]
    for t in range(model.depth):
        layer = model.layers[0] if model.shared else model.layers[t]
        y = np.tanh(x @ arr(layer.weight).T + arr(layer.bias))
        x = x + y if model.kind != "mlp" else y
        ys.append(y)
        xs.append(x)
    logits = x @ arr(model.classifier.weight).T + arr(model.classifier.bias)
    return logits, np.stack(ys), np.stack(xs)


def _tanh_model(kind, width=None, seed=0, n_features=6, depth=T):
    torch.manual_seed(seed)
    return build_model(kind, n_features, 3, width, depth, activation="tanh")


def _inputs(n_features=6, batch=7, seed=1):
    return np.random.default_rng(seed).standard_normal((batch, n_features))


def test_activation_names_agree_with_dynsys():
    from dynsys._activation import ACTIVATIONS

    assert nets.ACTIVATIONS == ACTIVATIONS == ("logistic", "tanh")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 9])
def test_tanh_forward_equals_a_hand_written_float64_forward(kind, width):
    model = _tanh_model(kind, width).double().eval()
    u = _inputs()
    with torch.no_grad():
        rec = model(torch.from_numpy(u), record=True)
    logits, ys, xs = _hand_forward(model, u)
    np.testing.assert_allclose(rec.logits.numpy(), logits, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rec.y.numpy(), ys, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rec.x.numpy(), xs, rtol=0, atol=1e-12)
    assert ys.min() < 0  # tanh residuals, which the logistic never gives


def test_activation_is_validated_and_shown():
    for bad in ("sigmoid", "relu", None, 1):
        with pytest.raises(ValueError, match=r"`activation` must be one of 'logistic', 'tanh'"):
            build_model("shared", 4, 3, activation=bad)
    with pytest.raises(ValueError, match=r"`activation` must be one of .*got 'Tanh'"):
        nets.TrainConfig(activation="Tanh")
    with pytest.raises(ValueError, match="`bias_init` must be a number, 'centred' or None"):
        build_model("shared", 4, 3, bias_init="zero")
    assert "activation='tanh'" in repr(_tanh_model("shared"))
    assert "activation" not in repr(build_model("shared", 4, 3))


def test_initial_values_by_activation():
    # the logistic defaults are the explicit values they stood for before
    for kind, explicit in (("shared", dict(init_gain=0.5, bias_init=-2.0)),
                           ("mlp", dict(init_gain=8.0, bias_init="centred"))):
        torch.manual_seed(3)
        a = build_model(kind, 16, 3, depth=2)
        torch.manual_seed(3)
        b = build_model(kind, 16, 3, depth=2, **explicit)
        for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(pa, pb), name
    torch.manual_seed(3)
    mlp = build_model("mlp", 16, 3, depth=2)
    np.testing.assert_allclose(mlp.layers[0].bias.detach().numpy(),
                               -0.5 * mlp.layers[0].weight.detach().sum(1).numpy(), atol=1e-6)
    # tanh: centred biases are 0 (the box [-1, 1]'s midpoint); the MLP's gain is 8 / 4
    for kind in KINDS:
        model = build_model(kind, 400, 3, depth=2, activation="tanh")
        for layer in model.layers:
            assert torch.count_nonzero(layer.bias) == 0
    std = float(build_model("mlp", 400, 3, depth=2, activation="tanh").layers[0].weight.detach().std())
    assert abs(std - 2.0 / 20.0) < 0.005
    std = float(build_model("shared", 400, 3, depth=2, activation="tanh").layers[0].weight.detach().std())
    assert abs(std - 0.5 / 20.0) < 0.002


# ---- export and to_network --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 9])
def test_iterate_of_to_network_equals_the_models_float64_forward(kind, width):
    model = _tanh_model(kind, width).double().eval()
    u = _inputs()
    net = to_network(model, activation="tanh")
    assert net.activation == "tanh" and to_network(model).activation == "tanh"
    res = dynsys.iterate(net, u, T)
    with torch.no_grad():
        rec = model(torch.from_numpy(u), record=True)
    np.testing.assert_allclose(res.y, rec.y.numpy(), rtol=0, atol=1e-12)
    final = res.y_final if kind == "mlp" else res.x_final
    np.testing.assert_allclose(net.readout(final), rec.logits.numpy(), rtol=0, atol=1e-12)


class TanhRes(nn.Module):
    """A foreign ResNet, x <- x + tanh(Linear(x)): one Linear shared, or one per layer."""

    def __init__(self, n=6, depth=T, shared=True):
        super().__init__()
        self.depth, self.shared = depth, shared
        if shared:
            self.lin = nn.Linear(n, n)
        else:
            self.blocks = nn.ModuleList(nn.Linear(n, n) for _ in range(depth))

    def forward(self, x):
        for t in range(self.depth):
            x = x + torch.tanh((self.lin if self.shared else self.blocks[t])(x))
        return x


class TanhRNN(nn.Module):
    """y <- tanh(Linear(y)), `depth` times: a discrete tanh RNN, dynsys's tanh MLP kind."""

    def __init__(self, n=6, depth=T):
        super().__init__()
        self.lin, self.depth = nn.Linear(n, n), depth

    def forward(self, y):
        for _ in range(self.depth):
            y = torch.tanh(self.lin(y))
        return y


def _forward64(module, u):
    with torch.no_grad():
        return module.double()(torch.from_numpy(u)).numpy()


def test_foreign_tanh_modules_iterate_as_their_own_forward():
    torch.manual_seed(5)
    u = _inputs()
    shared = TanhRes()
    net = to_network(shared, weight="lin.weight", bias="lin.bias", activation="tanh")
    assert net.activation == "tanh" and net.shared
    np.testing.assert_allclose(dynsys.iterate(net, u, T).x_final, _forward64(shared, u),
                               rtol=0, atol=1e-12)
    per_layer = TanhRes(shared=False)
    net = to_network(per_layer, weight="blocks.{t}.weight", bias="blocks.{t}.bias",
                     activation="tanh")
    assert net.activation == "tanh" and net.depth == T
    np.testing.assert_allclose(dynsys.iterate(net, u).x_final, _forward64(per_layer, u),
                               rtol=0, atol=1e-12)
    rnn = TanhRNN()
    net = to_network(rnn, weight="lin.weight", bias="lin.bias", kind="mlp", activation="tanh")
    np.testing.assert_allclose(dynsys.iterate(net, u, T).y_final, _forward64(rnn, u),
                               rtol=0, atol=1e-12)
    # a state_dict holds no forward pass: the argument says what its layers compute
    sd = to_network(shared.state_dict(), weight="lin.weight", bias="lin.bias",
                    activation="tanh")
    assert sd.activation == "tanh"
    assert to_network(shared.state_dict(), weight="lin.weight").activation == "logistic"


def test_a_module_is_held_to_the_activation_named():
    torch.manual_seed(6)
    with pytest.raises(ValueError, match="with activation 'logistic'.*pass activation='tanh'"):
        to_network(TanhRes(), weight="lin.weight", bias="lin.bias")

    class SigmoidRes(TanhRes):
        def forward(self, x):
            for _ in range(self.depth):
                x = x + torch.sigmoid(self.lin(x))
            return x

    with pytest.raises(ValueError, match="does not compute the resnet network .* activation "
                                         "'tanh'"):
        to_network(SigmoidRes(), weight="lin.weight", bias="lin.bias", activation="tanh")
    with pytest.raises(ValueError, match=r"`activation` must be one of .*got 'sigmoid'"):
        to_network(SigmoidRes(), weight="lin.weight", bias="lin.bias", activation="sigmoid")


def test_a_contradicting_activation_is_refused_never_reinterpreted(tmp_path):
    tanh_model, logistic_model = _tanh_model("shared"), build_model("per-layer", 6, 3, depth=T)
    pattern = (r"`activation` must match the activation of {what}, '{own}' \(or be left out\);"
               r" got '{got}'")
    with pytest.raises(ValueError, match=pattern.format(what="the ResNet", own="tanh",
                                                        got="logistic")):
        to_network(tanh_model, activation="logistic")
    with pytest.raises(ValueError, match=pattern.format(what="the ResNet", own="logistic",
                                                        got="tanh")):
        to_network(logistic_model, activation="tanh")
    # also where the model's parameters are named
    with pytest.raises(ValueError, match=pattern.format(what="the ResNet", own="tanh",
                                                        got="logistic")):
        to_network(tanh_model, weight="layers.0.weight", activation="logistic")
    weights = export_weights(tanh_model)
    with pytest.raises(ValueError, match=pattern.format(what="the network", own="tanh",
                                                        got="logistic")):
        to_network(weights, activation="logistic")
    path = nets.save_weights(weights, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="`activation` must match the activation of `obj`"):
        to_network(path, activation="logistic")
    assert to_network(path, activation="tanh").activation == "tanh"


def test_weights_files_record_the_activation(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    model = _tanh_model("per-layer", width=9)
    weights = export_weights(model)
    assert weights.activation == "tanh" and "activation='tanh'" in repr(weights)
    path = nets.save_weights(weights, tmp_path / "w.safetensors")
    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata()
    assert meta["activation"] == "tanh"
    back = nets.load_weights(path)
    assert back.activation == "tanh" and back.network.activation == "tanh"
    rebuilt = nets.model_from_weights(back, dtype=torch.float64).eval()
    assert rebuilt.activation == "tanh"
    u = torch.from_numpy(_inputs())
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt(u).numpy(), model.double().eval()(u).numpy(),
                                   rtol=0, atol=1e-12)
    # a file written before activations were recorded is logistic
    with safe_open(str(path), framework="numpy") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    old = {k: v for k, v in meta.items() if k != "activation"}
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=old)
    assert nets.load_weights(tmp_path / "old.safetensors").activation == "logistic"
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={**meta, "activation": "relu"})
    with pytest.raises(ValueError, match="records the activation 'relu'"):
        nets.load_weights(tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match=r"`activation` must be one of .*got 'relu'"):
        nets.ExportedWeights("shared", 2, np.zeros((3, 3)), np.zeros(3), np.zeros((2, 3)),
                             np.zeros(2), activation="relu")


# ---- training and checkpoints -----------------------------------------------------------------


def _config(**kw):
    base = dict(dataset="blobs", kind="shared", width=8, depth=3, epochs=2, seed=0,
                activation="tanh")
    base.update(kw)
    return nets.TrainConfig(**base)


def test_training_records_and_reloads_the_activation(tmp_path):
    out = tmp_path / "run"
    result = nets.train(_config(), out_dir=out, progress=False)
    assert result.model.activation == "tanh" and result.weights.activation == "tanh"
    assert json.loads((out / "checkpoint.json").read_text())["config"]["activation"] == "tanh"
    model = nets.load_model(out)
    assert model.activation == "tanh"
    u = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(u), result.model.cpu().eval()(u))
    assert nets.load_weights(out).activation == "tanh"
    assert nets.to_network(out).activation == "tanh"
    assert nets.restore_model(nets.load_checkpoint(out)).activation == "tanh"
    # the tanh run differs from the logistic run of the same seed
    logistic = nets.train(_config(activation="logistic"), progress=False)
    assert not np.allclose(logistic.weights.W, result.weights.W)


def test_a_resumed_run_keeps_its_activation(tmp_path):
    out = tmp_path / "run"
    nets.train(_config(epochs=1), out_dir=out, progress=False)
    with pytest.raises(nets.CheckpointError,
                       match=r"differs in activation: `activation`: the checkpoint has 'tanh', "
                             r"the run asks 'logistic'"):
        nets.train(_config(epochs=2, activation="logistic"), out_dir=out, resume=True,
                   progress=False)
    resumed = nets.train(_config(epochs=2), out_dir=out, resume=True, progress=False)
    assert len(resumed.history) == 2 and resumed.model.activation == "tanh"


def test_a_checkpoint_without_the_field_reads_as_logistic(tmp_path):
    out = tmp_path / "run"
    nets.train(_config(activation="logistic", epochs=1), out_dir=out, progress=False)
    path = out / "checkpoint.json"
    record = json.loads(path.read_text())
    del record["config"]["activation"]
    path.write_text(json.dumps(record))
    ck = nets.load_checkpoint(out)
    assert "activation" not in ck.config
    assert nets.restore_model(ck).activation == "logistic"
    assert nets.TrainConfig.from_dict(ck.config).activation == "logistic"
    # and a tanh run asked of it is refused
    with pytest.raises(nets.CheckpointError, match="differs in activation"):
        nets.train(_config(epochs=2), out_dir=out, resume=True, progress=False)


def test_checkpoint_folder_keys_of_logistic_runs_are_unchanged():
    from analysis._training import _key

    logistic = _config(activation="logistic")
    d = logistic.to_dict()
    del d["activation"]
    del d["keep_epochs"]  # the configuration as written before either field existed
    import hashlib

    legacy = hashlib.sha1(json.dumps({k: v for k, v in d.items() if k != "depth_criterion"
                                      or v != "paper"}, sort_keys=True,
                                     default=str).encode()).hexdigest()[:10]
    assert _key(logistic) == legacy
    assert _key(_config()) != _key(logistic)
