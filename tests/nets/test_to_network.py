"""nets.to_network: from every source, a dynsys.Network whose iteration is the module's forward."""

import re

import numpy as np
import pytest
import torch
from torch import nn

import dynsys
import nets
from nets import KINDS, build_model, export_weights, save_weights, to_network

T = 6


def _model(kind, width=None, seed=0, n_features=6, depth=T):
    torch.manual_seed(seed)
    return build_model(kind, n_features, 3, width, depth).double().eval()


def _inputs(n_features=6, batch=9, seed=1):
    return np.random.default_rng(seed).random((batch, n_features))


class MyRes(nn.Module):
    """A foreign shared-weight ResNet: x <- x + sigmoid(lin(x)), `depth` times, then a head."""

    def __init__(self, n, depth, classes=3):
        super().__init__()
        self.lin = nn.Linear(n, n)
        self.head = nn.Linear(n, classes)
        self.depth = depth

    def forward(self, x):
        for _ in range(self.depth):
            x = x + torch.sigmoid(self.lin(x))
        return x


class MyDeep(nn.Module):
    """A foreign per-layer ResNet with a projection: blocks.0 .. blocks.{T-1}."""

    def __init__(self, d, n, depth):
        super().__init__()
        self.embed = nn.Linear(d, n)
        self.blocks = nn.ModuleList(nn.Linear(n, n) for _ in range(depth))

    def forward(self, u):
        x = self.embed(u)
        for block in self.blocks:
            x = x + torch.sigmoid(block(x))
        return x


def _forward64(module, u):
    with torch.no_grad():
        return module(torch.from_numpy(u)).numpy()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 9])
def test_iterate_of_to_network_equals_the_nets_forward(kind, width):
    model = _model(kind, width, seed=2)
    u = _inputs()
    with torch.no_grad():
        rec = model(torch.from_numpy(u), record=True)
    net = to_network(model)
    assert isinstance(net, dynsys.Network)
    assert net.kind == ("mlp" if kind == "mlp" else "resnet")
    assert net.shared == (kind == "shared") and net.n_features == 6
    res = dynsys.iterate(net, u, T)
    assert res.y.shape == (T, 9, width or 6)
    np.testing.assert_allclose(res.y, rec.y.numpy(), rtol=1e-12, atol=1e-12)
    final = res.y_final if kind == "mlp" else res.x_final
    if kind != "mlp":
        assert res.x.shape == (T + 1, 9, width or 6)
        np.testing.assert_allclose(res.x, rec.x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.readout(final), rec.logits.numpy(), rtol=1e-12, atol=1e-12)


def test_iterate_of_a_foreign_shared_module_equals_its_forward():
    torch.manual_seed(3)
    module = MyRes(5, T).double()
    u = _inputs(5)
    net = to_network(module, weight="lin.weight", bias="lin.bias", readout="head")
    assert net.shared and net.width == 5 and net.n_classes == 3
    res = dynsys.iterate(net, u, T)
    np.testing.assert_allclose(res.x[-1], _forward64(module, u), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.x_final, _forward64(module, u), rtol=1e-12, atol=1e-12)
    # the convention: rows are outputs, z = W x + b, exactly nn.Linear.weight
    np.testing.assert_array_equal(net.W, module.lin.weight.detach().numpy())
    again = to_network(module, weight="lin.weight", bias="lin.bias",
                       readout_weight="head.weight", readout_bias="head.bias")
    np.testing.assert_array_equal(again.K, net.K)
    np.testing.assert_array_equal(again.c, net.c)


def test_iterate_of_a_foreign_per_layer_module_equals_its_forward():
    torch.manual_seed(4)
    module = MyDeep(3, 5, T).double()
    u = _inputs(3)
    expected = _forward64(module, u)
    forms = [
        dict(weight="blocks.{t}.weight", bias="blocks.{t}.bias"),
        dict(weight=[f"blocks.{t}.weight" for t in range(T)],
             bias=[f"blocks.{t}.bias" for t in range(T)]),
        dict(weight=re.compile(r"blocks\.(\d+)\.weight"), bias=re.compile(r"blocks\.(\d+)\.bias")),
        dict(weight="blocks.{t}.weight", bias="blocks.{t}.bias", depth=T),
    ]
    for names in forms:
        net = to_network(module, **names, projection="embed")
        assert net.depth == T and net.n_features == 3
        res = dynsys.iterate(net, u)
        np.testing.assert_allclose(res.x[-1], expected, rtol=1e-12, atol=1e-12)


def test_one_based_patterns_and_regex_order():
    torch.manual_seed(5)
    layers = {f"layer{t}": nn.Linear(4, 4) for t in (1, 2, 10)}
    module = nn.ModuleDict(layers).double()  # no forward pass: nothing for the check to run
    net = to_network(module, weight="layer{t}.weight", first_index=1, check=False)
    assert net.depth == 2  # layer1, layer2; layer3 is missing, so t stops there
    net = to_network(module, weight=re.compile(r"layer(\d+)\.weight"), check=False)
    assert net.depth == 3  # 1, 2, 10: numeric order, not text order
    np.testing.assert_array_equal(net.W[2], module["layer10"].weight.detach().numpy())
    np.testing.assert_array_equal(net.b, 0.0)


def test_unknown_names_list_the_names_there_are():
    module = MyRes(4, 2)
    with pytest.raises(ValueError, match=r"'lin\.weigth'.*lin\.weight \(4, 4\).*head\.bias \(3,\)"):
        to_network(module, weight="lin.weigth")
    with pytest.raises(ValueError, match=r"lin\.weight \(4, 4\)"):
        to_network(module)  # a foreign module needs names
    with pytest.raises(ValueError, match="first_index"):
        to_network(module, weight="blocks.{t}.weight")
    with pytest.raises(ValueError, match="matches none"):
        to_network(module, weight=re.compile(r"blocks\.(\d+)"))
    with pytest.raises(ValueError, match="readout_weight"):
        to_network(module, weight="lin.weight", readout_weight="fc.weight")
    with pytest.raises(ValueError, match=r"'blocks\.2\.weight'.*blocks\.1\.bias"):
        to_network(MyDeep(2, 4, 2), weight="blocks.{t}.weight", depth=3)
    with pytest.raises(ValueError, match="`depth` is 3"):
        to_network(MyDeep(2, 4, 2), weight=["blocks.0.weight", "blocks.1.weight"], depth=3)


def test_bad_sources_and_values():
    with pytest.raises(TypeError, match="`obj`"):
        to_network(42)
    with pytest.raises(TypeError, match="complex|W"):
        to_network({"w": torch.zeros(3, 3, dtype=torch.complex128)}, weight="w")
    with pytest.raises(ValueError, match="`kind`"):
        to_network(_model("shared"), kind="shared")
    with pytest.raises(ValueError, match="contradicts"):
        to_network(_model("mlp"), kind="resnet")
    with pytest.raises(ValueError, match="need `weight`"):
        to_network({"w": np.eye(2)}, bias="b")


def test_every_source_gives_the_same_network(tmp_path):
    data = nets.load_dataset("blobs", blobs_features=4, blobs_classes=3)
    cfg = nets.TrainConfig(dataset="blobs", kind="per-layer", width=6, depth=3, epochs=1,
                           threads=1)
    result = nets.train(cfg, out_dir=tmp_path / "run", progress=False, data=data)
    model = result.model.double()
    reference = to_network(model)
    weights_file = save_weights(export_weights(model), tmp_path / "w.safetensors")
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "foreign.safetensors"))
    (tmp_path / "run" / "weights.safetensors").unlink()  # then the checkpoint's model
    sources = {
        "ExportedWeights": to_network(result.weights),
        "ExportedWeights.network": result.weights.network,
        "run folder (checkpoint)": to_network(tmp_path / "run"),
        "weights file": to_network(str(weights_file)),
        "state_dict (nets names)": to_network(model.state_dict()),
        "state_dict (named)": to_network(model.state_dict(), weight="layers.{t}.weight",
                                         bias="layers.{t}.bias", readout="classifier",
                                         projection="projection"),
        "foreign safetensors file": to_network(tmp_path / "foreign.safetensors",
                                               weight="layers.{t}.weight",
                                               bias="layers.{t}.bias", readout="classifier",
                                               projection="projection"),
    }
    for name, net in sources.items():
        for field in ("W", "b", "K", "c", "P", "p"):
            np.testing.assert_allclose(getattr(net, field), getattr(reference, field),
                                       rtol=1e-7, atol=0, err_msg=f"{name}: {field}")
        assert net.kind == "resnet" and net.depth == 3, name


def test_a_foreign_safetensors_file_needs_names(tmp_path):
    from safetensors.torch import save_file

    save_file({"lin.weight": torch.eye(3)}, str(tmp_path / "f.safetensors"))
    with pytest.raises(ValueError, match="name its tensors"):
        to_network(tmp_path / "f.safetensors")
    net = to_network(tmp_path / "f.safetensors", weight="lin.weight")
    np.testing.assert_array_equal(net.W, np.eye(3))


# ---- the check: a module is run and compared with dynsys.iterate -----------------------------


class FunctionalRes(nn.Module):
    """Shared weights used through F.linear: no submodule call for the check to count."""

    def __init__(self, n, depth):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n, n) * 0.3)
        self.depth = depth

    def forward(self, x):
        for _ in range(self.depth):
            x = x + torch.sigmoid(nn.functional.linear(x, self.weight))
        return x


def test_check_counts_the_layers_of_a_shared_module():
    torch.manual_seed(6)
    for depth in (1, 4, 23):
        to_network(MyRes(4, depth), weight="lin.weight", bias="lin.bias")
    # with a depth given, the check runs that many layers
    with pytest.raises(ValueError, match="on 8 check inputs, 5 layers"):
        to_network(MyRes(4, 4), weight="lin.weight", bias="lin.bias", depth=5)
    to_network(MyRes(4, 4), weight="lin.weight", bias="lin.bias", depth=4)


def test_check_needs_the_depth_of_a_functional_module():
    torch.manual_seed(7)
    module = FunctionalRes(3, 6)
    with pytest.raises(ValueError, match="cannot tell how many layers.*`depth=T`"):
        to_network(module, weight="weight")
    net = to_network(module, weight="weight", depth=6)
    assert net.shared and net.width == 3


def test_check_leaves_the_module_as_it_was():
    torch.manual_seed(8)
    module = MyRes(4, 3).train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    to_network(module, weight="lin.weight", bias="lin.bias")
    assert module.training and module.lin.weight.dtype == torch.float32
    assert not module.lin._forward_hooks
    for key, value in module.state_dict().items():
        assert value.equal(before[key]), key


def test_check_says_what_went_wrong_with_the_module():
    class Pair(MyRes):
        def forward(self, x):
            return super().forward(x), x

    class Broken(MyRes):
        def forward(self, x):
            raise RuntimeError("needs a mask")

    with pytest.raises(ValueError, match="return a tensor.*returned a tuple"):
        to_network(Pair(4, 2), weight="lin.weight", bias="lin.bias")
    with pytest.raises(ValueError, match=r"could not run the Broken on inputs of shape \(8, 4\) "
                                         r"\(RuntimeError: needs a mask\)"):
        to_network(Broken(4, 2), weight="lin.weight", bias="lin.bias")
    # a projection it applies but that was not named: the inputs do not fit the module
    with pytest.raises(ValueError, match="could not run the MyDeep.*`projection=`"):
        to_network(MyDeep(3, 5, 2), weight="blocks.{t}.weight", bias="blocks.{t}.bias")


def test_check_of_a_nets_model_whose_layer_is_changed():
    torch.manual_seed(9)
    model = build_model("shared", 6, 3, None, 4)

    class Scaled(type(model)):
        def step(self, t, state):
            y = torch.sigmoid(self.layer(t)(state))
            return y, state + 0.5 * y

    model.__class__ = Scaled
    with pytest.raises(ValueError, match="does not compute the resnet network"):
        to_network(model)
    assert to_network(model, check=False).width == 6
