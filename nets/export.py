"""Trained weights <-> plain float64 arrays and the :class:`dynsys.Network` that dynsys takes.

>>> net = to_network(model)                         # doctest: +SKIP
>>> res = dynsys.iterate(net, inputs, model.depth)  # doctest: +SKIP

``res.y`` then equals the residuals that ``model(inputs, record=True)`` recorded (up to the
float32 rounding of the torch model); the input projection, if any, is part of `net`.
:func:`to_network` also takes a training run folder, a weights file, a state_dict or any torch
module whose layers are ``x <- x + sigmoid(Linear(x))`` or, with ``activation="tanh"``,
``x <- x + tanh(Linear(x))`` (the caller names its parameters); a module is run once on test
inputs and compared with :func:`dynsys.iterate`, so a module that computes something else
(another activation than the one named, a scaled or normalised residual) is refused, never
read as if it qualified. A nets model, a weights file and a run folder carry their own
activation; an `activation` argument that contradicts it is refused. :func:`export_weights`
gives the same weights as an :class:`ExportedWeights` (with the training depth, the nets
architecture name and the activation); :func:`save_weights` / :func:`load_weights` store them
in one ``.safetensors`` file (float64 tensors, the kind, depth and activation in its metadata,
byte for byte the same for the same weights; nothing pickled; a file without the activation
reads as logistic), and :func:`model_from_weights` builds the torch model back. A run folder
is read only when it holds one finished run (:func:`nets.check_run`). A run trained with
``TrainConfig(keep_epochs=True)`` also keeps the weights of every epoch, in the same format:
``to_network(run, epoch=k)`` and ``load_weights(run, epoch=k)`` read epoch k
(:func:`nets.kept_epochs` lists them), finished run or not.

Weight convention: rows are outputs, as in :attr:`torch.nn.Linear.weight`, so a layer computes
``z = W x + b`` with ``W[i, j]`` the weight from neuron j into neuron i.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write_bytes
from .checkpoint import (
    WEIGHTS_FILE,
    _canonical_safetensors,
    _kept_epoch_file,
    _weights_metadata,
    check_run,
    restore_model,
)
from .config import KINDS, check_activation
from .models import LayeredNet, build_model

__all__ = ["ExportedWeights", "export_weights", "model_from_weights", "save_weights",
           "load_weights", "to_network"]

_FORMAT = "resdyn-weights/1"

#: A module's output and dynsys.iterate's may differ by this much, relative to the output's
#: size (both run in float64; the rest is summation order, amplified by the layers).
CHECK_RTOL = 1e-6
#: How many seeded random inputs the default check of a module runs.
CHECK_SAMPLES = 8


def _ro(arr) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class ExportedWeights:
    """A trained network as read-only float64 arrays.

    Attributes
    ----------
    kind : {"shared", "per-layer", "mlp"}
    depth : int
        T, the number of layers the network was trained with.
    W : ndarray, shape (N, N) (shared) or (T, N, N) (per-layer, MLP)
        Layer weights, ``z(t) = W(t) x(t-1) + b(t)`` (row i holds the weights into neuron i).
    b : ndarray, shape (N,) or (T, N)
    K : ndarray, shape (C, N)
        Classifier weights, ``logits = K x(T) + c`` (MLP: ``K y(T) + c``).
    c : ndarray, shape (C,)
    projection : tuple (P, p) or None
        Input projection ``x(0) = P u + p`` with P of shape (N, D), p of shape (N,); ``None``
        when the input is used as it is (N = D).
    activation : {"logistic", "tanh"}
        The unit f of the layers, ``x + f(W x + b)`` (MLP: ``f(W y + b)``); default logistic.
    """

    kind: str
    depth: int
    W: np.ndarray
    b: np.ndarray
    K: np.ndarray
    c: np.ndarray
    projection: tuple | None = None
    activation: str = "logistic"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        check_activation(self.activation, "activation")
        object.__setattr__(self, "depth", int(self.depth))
        for name in ("W", "b", "K", "c"):
            object.__setattr__(self, name, _ro(getattr(self, name)))
        if self.projection is not None:
            P, p = self.projection
            object.__setattr__(self, "projection", (_ro(P), _ro(p)))
        N = self.K.shape[1] if self.K.ndim == 2 else -1
        shared = self.kind == "shared"
        w_shape = (N, N) if shared else (self.depth, N, N)
        b_shape = (N,) if shared else (self.depth, N)
        if self.W.shape != w_shape or self.b.shape != b_shape:
            raise ValueError(
                f"`W` {self.W.shape} and `b` {self.b.shape} do not fit a {self.kind} network of "
                f"width {N} and depth {self.depth} (expected {w_shape} and {b_shape})."
            )
        if self.c.shape != (self.K.shape[0],):
            raise ValueError(f"`c` {self.c.shape} does not fit `K` {self.K.shape}.")
        if self.projection is not None:
            P, p = self.projection
            if P.ndim != 2 or P.shape[0] != N or p.shape != (N,):
                raise ValueError(
                    f"projection (P {P.shape}, p {p.shape}) does not fit width {N}."
                )

    def __repr__(self) -> str:  # shapes only, as the other results
        def shape(a):
            return "x".join(str(int(d)) for d in np.shape(a))

        proj = "None" if self.projection is None else shape(self.projection[0])
        act = "" if self.activation == "logistic" else f", activation={self.activation!r}"
        return (f"ExportedWeights(kind={self.kind!r}, depth={self.depth}, W={shape(self.W)}, "
                f"b={shape(self.b)}, K={shape(self.K)}, c={shape(self.c)}, projection={proj}"
                f"{act})")

    @property
    def width(self) -> int:
        """N."""
        return int(self.K.shape[1])

    @property
    def n_classes(self) -> int:
        """C."""
        return int(self.K.shape[0])

    @property
    def n_features(self) -> int:
        """D, the input dimension (N without projection)."""
        return self.width if self.projection is None else int(self.projection[0].shape[1])

    @property
    def shared(self) -> bool:
        return self.kind == "shared"

    @property
    def dynsys_kind(self) -> str:
        """The dynsys kind of the layer map: ``"resnet"`` or ``"mlp"``."""
        return "mlp" if self.kind == "mlp" else "resnet"

    @property
    def network(self):
        """The same weights as a :class:`dynsys.Network` (readout, projection and activation
        included).

        Shared weights give a network of any depth (``depth`` is then the caller's); per-layer
        weights and the MLP give one of depth T.
        """
        from dynsys import Network

        P, p = self.projection if self.projection is not None else (None, None)
        return Network(self.W, self.b, kind=self.dynsys_kind, K=self.K, c=self.c, P=P, p=p,
                       activation=self.activation)

    def embed(self, inputs) -> np.ndarray:
        """x(0) in float64: the inputs (B, D) projected to width N (unchanged without projection)."""
        u = np.asarray(inputs, dtype=np.float64)
        if u.shape[-1] != self.n_features:
            raise ValueError(
                f"`inputs` must have {self.n_features} features; got shape {u.shape}."
            )
        if self.projection is None:
            return u.copy()
        P, p = self.projection
        return u @ P.T + p

    def classify(self, x_final) -> np.ndarray:
        """Logits ``K x(T) + c`` (MLP: ``K y(T) + c``) for final states of shape (B, N)."""
        return np.asarray(x_final, dtype=np.float64) @ self.K.T + self.c


def export_weights(model: LayeredNet) -> ExportedWeights:
    """The trained weights of `model` as an :class:`ExportedWeights` (float64 copies).

    Parameters
    ----------
    model : nets.ResNet or nets.MLP

    Returns
    -------
    ExportedWeights
        W (N, N) shared or (T, N, N) per layer, b (N,) or (T, N), K (C, N), c (C,), the
        projection if any, and the model's activation.
    """
    if not isinstance(model, LayeredNet):
        raise TypeError(
            f"`model` must be a nets ResNet or MLP; got {type(model).__name__}. For another "
            "module whose layers are x + sigmoid(Linear(x)) or x + tanh(Linear(x)), name its "
            "parameters: nets.to_network(module, weight=..., bias=..., activation=...)."
        )

    def arr(t):
        return t.detach().to("cpu", torch.float64).numpy()

    if model.shared:
        W, b = arr(model.layers[0].weight), arr(model.layers[0].bias)
    else:
        W = np.stack([arr(layer.weight) for layer in model.layers])
        b = np.stack([arr(layer.bias) for layer in model.layers])
    projection = None
    if model.projection is not None:
        projection = (arr(model.projection.weight), arr(model.projection.bias))
    return ExportedWeights(
        kind=model.kind, depth=model.depth, W=W, b=b,
        K=arr(model.classifier.weight), c=arr(model.classifier.bias), projection=projection,
        activation=model.activation,
    )


def model_from_weights(weights: ExportedWeights, dtype=torch.float32) -> LayeredNet:
    """A torch model (default float32) holding `weights`; the inverse of :func:`export_weights`."""
    if not isinstance(weights, ExportedWeights):
        raise TypeError(f"`weights` must be ExportedWeights; got {type(weights).__name__}.")
    model = build_model(
        weights.kind, weights.n_features, weights.n_classes, weights.width, weights.depth,
        projection=weights.projection is not None, activation=weights.activation,
    )
    model = model.to(dtype)

    def t(a):
        return torch.as_tensor(np.array(a), dtype=dtype)

    with torch.no_grad():
        if weights.shared:
            model.layers[0].weight.copy_(t(weights.W))
            model.layers[0].bias.copy_(t(weights.b))
        else:
            for i, layer in enumerate(model.layers):
                layer.weight.copy_(t(weights.W[i]))
                layer.bias.copy_(t(weights.b[i]))
        model.classifier.weight.copy_(t(weights.K))
        model.classifier.bias.copy_(t(weights.c))
        if weights.projection is not None:
            model.projection.weight.copy_(t(weights.projection[0]))
            model.projection.bias.copy_(t(weights.projection[1]))
    return model


def _save_weights(weights: ExportedWeights, path, binding: Mapping) -> Path:
    """:func:`save_weights` with extra metadata (a run's export names its checkpoint)."""
    from safetensors.numpy import save

    if isinstance(weights, LayeredNet):
        weights = export_weights(weights)
    if not isinstance(weights, ExportedWeights):
        raise TypeError(f"`weights` must be ExportedWeights or a nets model; got "
                        f"{type(weights).__name__}.")
    tensors = {"W": weights.W, "b": weights.b, "K": weights.K, "c": weights.c}
    if weights.projection is not None:
        tensors["P"], tensors["p"] = weights.projection
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    meta = {"format": _FORMAT, "kind": weights.kind, "depth": str(weights.depth),
            "activation": weights.activation, **binding}
    return atomic_write_bytes(Path(path), _canonical_safetensors(save(tensors, metadata=meta)))


def save_weights(weights: ExportedWeights, path) -> Path:
    """Write `weights` to one ``.safetensors`` file (atomically: temporary file, then rename).

    The same weights give the same bytes (the header is written in one fixed order).
    """
    return _save_weights(weights, path, {})


def load_weights(path, *, epoch: int | None = None) -> ExportedWeights:
    """Read weights written by :func:`save_weights` (or a training run folder).

    `path` may be a ``.safetensors`` file from :func:`save_weights` (a run's
    ``weights.safetensors`` or one of its kept epoch files among them), or a training run
    folder (then its ``weights.safetensors``, else the model of its finished checkpoint). A
    folder is read only when it holds one finished run (:func:`nets.check_run`); a weights
    file given by its own path is read as it is.

    Parameters
    ----------
    path : str or Path
    epoch : int, optional
        Read the weights of this epoch of the run folder `path` (0: as initialised; e: after
        epoch e), kept by ``TrainConfig(keep_epochs=True)`` (:func:`nets.kept_epochs` lists
        them). The file is checked against the run's committed checkpoint (its SHA-256, and
        the epoch and run its metadata record); the run may still be training.

    Raises
    ------
    FileNotFoundError
        `path` does not exist.
    nets.CheckpointError
        An unfinished run, or a weights file that belongs to another checkpoint; with
        `epoch`, an epoch file that is missing, belongs to another run or was modified.
    ValueError
        A file that is not a resdyn weights file (a NumPy ``.npy`` file is named as such);
        `epoch` not an epoch the run keeps (the message lists those it keeps), or `epoch`
        with a file for `path`.
    """
    return _load_weights(path, "`path`", epoch)


def _load_weights(path, name: str, epoch=None) -> ExportedWeights:
    """:func:`load_weights`, with errors that name the caller's argument."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if epoch is not None:
        path = _kept_epoch_file(path, epoch, name)
    else:
        ck = check_run(path, name)
        if path.is_dir():
            if not (path / WEIGHTS_FILE).is_file():
                return export_weights(restore_model(ck).eval())
            path = path / WEIGHTS_FILE
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"weights file {str(path)!r} is not a readable safetensors file: {exc}") from None
    if meta.get("format") != _FORMAT:
        raise ValueError(f"weights file {str(path)!r} is not a resdyn weights file "
                         f"(format {meta.get('format')!r}); for a foreign safetensors file "
                         "name its tensors: nets.to_network(path, weight=..., bias=...).")
    missing = [k for k in ("W", "b", "K", "c") if k not in tensors]
    if missing:
        raise ValueError(f"weights file {str(path)!r} lacks the tensors {missing}.")
    projection = (tensors["P"], tensors["p"]) if "P" in tensors else None
    # files written before tanh networks existed record no activation: they are logistic
    activation = meta.get("activation", "logistic")
    try:
        check_activation(activation, "activation")
    except ValueError:
        raise ValueError(f"weights file {str(path)!r} records the activation {activation!r}; "
                         "expected 'logistic' or 'tanh' (edited?).") from None
    return ExportedWeights(kind=meta.get("kind"), depth=int(meta.get("depth", 0)),
                           W=tensors["W"], b=tensors["b"], K=tensors["K"], c=tensors["c"],
                           projection=projection, activation=activation)


# ---------------------------------------------------------------------------------------------
# any source -> dynsys.Network


def _as_array(value) -> np.ndarray:
    """A tensor or array as NumPy; complex stays complex, so that dynsys.Network refuses it."""
    if torch.is_tensor(value):
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.to(torch.float64)
        return value.numpy()
    return np.asarray(value)


def _describe_names(tensors: Mapping, limit: int = 40) -> str:
    items = [f"{k} {tuple(np.shape(v))}" for k, v in tensors.items()]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "(none)"


def _lookup(tensors: Mapping, name: str, arg: str, owner: str) -> np.ndarray:
    if not isinstance(name, str):
        raise TypeError(f"`{arg}` must name a parameter (a str); got {type(name).__name__}.")
    if name not in tensors:
        raise ValueError(
            f"`{arg}` names {name!r}, which {owner} does not have; its parameters are: "
            f"{_describe_names(tensors)}."
        )
    return _as_array(tensors[name])


def _layer_names(spec, tensors: Mapping, arg: str, owner: str, first_index: int,
                 depth: int | None) -> list[str]:
    """The parameter names of layers 1..T from a pattern, a regex or a list (see to_network)."""
    if isinstance(spec, re.Pattern):
        if spec.groups != 1:
            raise ValueError(f"`{arg}` must be a regex with one group, the layer index; got "
                             f"{spec.pattern!r} with {spec.groups} groups.")
        found = []
        for key in tensors:
            m = spec.fullmatch(key)
            if m is not None:
                try:
                    found.append((int(m.group(1)), key))
                except ValueError:
                    raise ValueError(f"`{arg}` {spec.pattern!r} captured {m.group(1)!r} from "
                                     f"{key!r}, not a layer index (an integer).") from None
        if not found:
            raise ValueError(f"`{arg}` {spec.pattern!r} matches none of the parameters of "
                             f"{owner}: {_describe_names(tensors)}.")
        names = [key for _, key in sorted(found)]
    elif isinstance(spec, str):
        if depth is not None:
            names = [spec.format(t=first_index + i) for i in range(depth)]
        else:
            names, t = [], first_index
            while spec.format(t=t) in tensors:
                names.append(spec.format(t=t))
                t += 1
            if not names:
                raise ValueError(
                    f"`{arg}` {spec!r} with t = {first_index} names "
                    f"{spec.format(t=first_index)!r}, which {owner} does not have "
                    f"(`first_index` sets where t starts); its parameters are: "
                    f"{_describe_names(tensors)}."
                )
    else:
        names = list(spec)
        if not names:
            raise ValueError(f"`{arg}` is an empty list of parameter names.")
    if depth is not None and len(names) != depth:
        raise ValueError(f"`{arg}` gives {len(names)} layers but `depth` is {depth}.")
    return names


def _stack(spec, tensors, arg, owner, first_index, depth) -> np.ndarray:
    """One array from a name (shared, or already stacked) or per-layer names (stacked)."""
    if isinstance(spec, str) and "{t}" not in spec:
        return _lookup(tensors, spec, arg, owner)
    names = _layer_names(spec, tensors, arg, owner, first_index, depth)
    arrays = [_lookup(tensors, name, arg, owner) for name in names]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"`{arg}` names layers of different shapes: "
                         f"{', '.join(f'{n} {a.shape}' for n, a in zip(names, arrays))}.")
    return np.stack(arrays)


def _pair(prefix, weight, bias, arg: str):
    """(weight name, bias name) from a Linear's prefix (``"fc"``) and/or explicit names."""
    if prefix is None:
        return weight, bias
    if not isinstance(prefix, str):
        raise TypeError(f"`{arg}` must be the name of a Linear submodule (a str); got "
                        f"{type(prefix).__name__}.")
    if weight is not None or bias is not None:
        raise ValueError(f"give either `{arg}` (a Linear's name) or `{arg}_weight` / "
                         f"`{arg}_bias`, not both.")
    return f"{prefix}.weight", f"{prefix}.bias"


def _network_from_tensors(tensors: Mapping, owner: str, *, weight, bias, readout_weight,
                          readout_bias, projection_weight, projection_bias, kind, first_index,
                          depth, activation):
    from dynsys import Network

    if weight is None:
        if "layers.0.weight" in tensors and "classifier.weight" in tensors:
            # the parameter names of a nets model's state_dict
            weight = "layers.{t}.weight" if "layers.1.weight" in tensors else "layers.0.weight"
            bias = weight.replace("weight", "bias")
            readout_weight, readout_bias = "classifier.weight", "classifier.bias"
            if "projection.weight" in tensors:
                projection_weight, projection_bias = "projection.weight", "projection.bias"
        else:
            raise ValueError(
                f"name the layer weights of {owner}: `weight=` (shared, e.g. "
                "'lin.weight'), a pattern with {t} (per layer, e.g. 'blocks.{t}.weight'), a "
                f"list of names or a compiled regex; its parameters are: "
                f"{_describe_names(tensors)}."
            )
    W = _stack(weight, tensors, "weight", owner, first_index, depth)
    if W.ndim == 3 and depth is None:
        depth = W.shape[0]
    b = None if bias is None else _stack(bias, tensors, "bias", owner, first_index, depth)
    K = None if readout_weight is None else _lookup(tensors, readout_weight, "readout_weight", owner)
    c = None if readout_bias is None else _lookup(tensors, readout_bias, "readout_bias", owner)
    P = None if projection_weight is None else _lookup(tensors, projection_weight,
                                                       "projection_weight", owner)
    p = None if projection_bias is None else _lookup(tensors, projection_bias,
                                                     "projection_bias", owner)
    return Network(W, b, kind=kind or "resnet", K=K, c=c, P=P, p=p, activation=activation)


# ---------------------------------------------------------------------------------------------
# the check that a module computes the network read from it

#: What qualifies, said once for every error of the check.
QUALIFYING = (
    "A network qualifies when it computes, after an optional input projection "
    "x(0) = P u + p, T layers x(t) = x(t-1) + sigmoid(W(t) x(t-1) + b(t)) (kind 'resnet': "
    "one Linear shared by every layer, or one per layer) or y(t) = sigmoid(W(t) y(t-1) + b(t)) "
    "(kind 'mlp', y(0) = x(0)), or the same with tanh in place of the sigmoid (pass "
    "activation='tanh'), and returns x(T) (MLP: y(T)) or a linear readout of it, "
    "K x(T) + c. Other activations (ReLU, GELU), scaled, gated or normalised residuals and "
    "blocks with two Linears are refused."
)


def _check_inputs(check, n_features: int) -> np.ndarray:
    """The inputs (B, D) of the check: seeded random ones, or the caller's."""
    if check is None or check is True:
        return np.random.default_rng(0).standard_normal((CHECK_SAMPLES, n_features))
    x = _as_array(check)
    if np.iscomplexobj(x) or not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"`check` must be True, False or real inputs of shape (B, "
                        f"{n_features}); got {x.dtype} values.")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n_features or x.shape[0] < 1:
        raise ValueError(f"`check` inputs must have shape (B, {n_features}) (the network's "
                         f"input width); got shape {np.shape(check)}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("`check` inputs must be finite; got NaN or infinite entries.")
    return x


def _owner_path(weight) -> str | None:
    """The submodule that holds a shared weight named ``"a.b.weight"`` (``"a.b"``), if any."""
    if isinstance(weight, str) and "{t}" not in weight and "." in weight:
        return weight.rsplit(".", 1)[0]
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _check_module(module: torch.nn.Module, net, x: np.ndarray, *, weight, depth) -> None:
    """Run `module` on `x` in float64 and compare with ``dynsys.iterate(net, x, T)``.

    T is the network's own for per-layer weights; for shared weights `depth` if given, else
    the number of times the module calls the submodule that holds `weight`.
    """
    import dynsys

    owner = type(module).__name__
    probe = copy.deepcopy(module).to(device="cpu", dtype=torch.float64).eval()
    calls = [0]
    handle = None
    owner_path = _owner_path(weight)
    if net.shared and depth is None and owner_path is not None:
        try:
            sub = probe.get_submodule(owner_path)
        except AttributeError:
            sub = None
        if sub is not None:
            handle = sub.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        with torch.no_grad():
            out = probe(torch.from_numpy(x))
    except Exception as exc:  # noqa: BLE001 - any failure of foreign code: say what to do
        raise ValueError(
            f"the check could not run the {owner} on inputs of shape {x.shape} "
            f"({type(exc).__name__}: {_first_line(exc)}). Pass inputs it takes as "
            "`check=` (shape (B, D)), name its input projection (`projection=`), or turn the "
            "check off with check=False if you have checked the network yourself."
        ) from None
    finally:
        if handle is not None:
            handle.remove()
    if not torch.is_tensor(out):
        raise ValueError(
            f"the check needs the {owner} to return a tensor (x(T) or logits); it returned "
            f"a {type(out).__name__}. Pass check=False if you have checked the network "
            "yourself."
        )
    out = out.detach().to("cpu", torch.float64).numpy()
    if net.shared:
        T = int(depth) if depth is not None else calls[0]
        if T < 1:
            raise ValueError(
                f"the check cannot tell how many layers the {owner} runs: it never called "
                f"{owner_path!r} through its forward hook. Pass `depth=T` (the number of "
                "layers it runs), or check=False."
            )
        res = dynsys.iterate(net, x, T, record="final")
    else:
        T = int(net.depth)
        res = dynsys.iterate(net, x, record="final")
    final = res.y_final if net.kind == "mlp" else res.x_final
    state = "y(T)" if net.kind == "mlp" else "x(T)"
    candidates = [(state, final)]
    if net.K is not None:
        candidates.append(("the readout K " + state + " + c", net.readout(final)))
    fitting = [(label, ref) for label, ref in candidates if ref.shape == out.shape]
    if not fitting:
        expected = " or ".join(f"{label} {ref.shape}" for label, ref in candidates)
        raise ValueError(
            f"the {owner} returns shape {out.shape} on inputs of shape {x.shape}, but the "
            f"network read from it gives {expected}: it does not compute that network. "
            f"{QUALIFYING} Check the parameter names (and `readout=`), or pass check=False "
            "if the module's output is something else and you have checked the layers yourself."
        )
    deviations = []
    for label, ref in fitting:
        dev = float(np.max(np.abs(out - ref))) if out.size else 0.0
        scale = 1.0 + float(np.max(np.abs(ref))) if ref.size else 1.0
        if not np.isnan(dev) and dev <= CHECK_RTOL * scale:
            return
        deviations.append(f"{label} by {dev:.3g}")
    raise ValueError(
        f"the {owner} does not compute the {net.kind} network read from its parameters with "
        f"activation {net.activation!r}: on "
        f"{x.shape[0]} check inputs, {T} layers, its output differs from dynsys.iterate's "
        f"{' and from '.join(deviations)} (allowed: {CHECK_RTOL:g} of its size). "
        f"{QUALIFYING} Pass check=False only if you know why the outputs differ."
    )


def to_network(obj, *, weight=None, bias=None, readout=None, readout_weight=None,
               readout_bias=None, projection=None, projection_weight=None,
               projection_bias=None, kind=None, first_index: int = 0, depth: int | None = None,
               check=None, activation=None, epoch: int | None = None):
    r"""The :class:`dynsys.Network` of a trained network, from whatever holds its weights.

    A network qualifies when every layer is ``x <- x + f(W(t) x + b(t))`` (ResNet, eq. 1
    of Lagzi 2018, "Residual networks classify inputs based on their neural transient
    dynamics") or ``y <- f(W(t) y + b(t))`` (``kind="mlp"``), f the sigmoid or tanh, with one
    (W, b) shared by every layer or one per layer, optionally after an input projection
    ``x(0) = P u + p`` and before a linear readout ``K x(T) + c``. A torch module is run to
    check this (`check`): one that computes anything else (a tanh module read as logistic,
    among others) is refused, never read as if it qualified.

    Weight convention: rows are outputs, as :attr:`torch.nn.Linear.weight`: a layer computes
    ``z = W x + b``, ``W[i, j]`` being the weight from neuron j into neuron i. A module that
    computes ``x @ A`` has ``W = A.T``: transpose it first.

    Parameters
    ----------
    obj
        One of

        * a nets model (:class:`nets.ResNet` shared or per-layer, :class:`nets.MLP`);
        * an :class:`ExportedWeights`;
        * a training run folder (its ``weights.safetensors``, else its checkpoint), read only
          when it holds one finished run (:func:`nets.check_run`), or, with `epoch`, one of
          the epochs it keeps; or a ``.safetensors`` file written by :func:`save_weights`
          (a kept epoch's file among them);
        * a ``state_dict`` (a mapping of names to tensors or arrays), any ``.safetensors``
          file, or any :class:`torch.nn.Module`: then the parameter names below say where
          the weights are (a nets model's own names, ``layers.0.weight`` ..., are recognised
          without them).
    weight : str, list of str or re.Pattern
        Where the layer weights are:

        * one name (``"lin.weight"``): shared weights, shape (N, N) (or an already stacked
          (T, N, N) tensor);
        * a pattern with ``{t}`` (``"blocks.{t}.weight"``): one name per layer, t counting
          from `first_index` (0 by default, as in :class:`torch.nn.ModuleList` and
          :class:`torch.nn.Sequential`; pass ``first_index=1`` for 1-based names) up to the
          first missing name, or for exactly `depth` layers;
        * a list of names, layer 1 first;
        * a compiled regex with one group, the layer index (``re.compile(r"h(\d+)\.w")``):
          every parameter it matches in full, in the order of the index.
    bias : same forms as `weight`, optional
        Layer biases, shape (N,) or per layer (T, N); default zero.
    readout : str, optional
        The name of the readout Linear (``"fc"`` means ``fc.weight`` and ``fc.bias``); or give
        `readout_weight` (K, shape (C, N)) and `readout_bias` (c, shape (C,)) by name.
    projection : str, optional
        The name of the input projection Linear; or `projection_weight` (P, shape (N, D)) and
        `projection_bias` (p, shape (N,)).
    kind : {"resnet", "mlp"}, optional
        The layer map; default ``"resnet"``, or the nets model's own (a nets MLP is
        ``"mlp"``).
    first_index : int
        Where t starts in a ``{t}`` pattern (default 0).
    depth : int, optional
        T, to check (or, with a pattern, fix) the number of per-layer weights; with shared
        weights, the number of layers the check runs (default: the number of times the
        module calls the submodule that holds `weight`).
    check : None, bool or array_like of shape (B, D)
        Whether to check that a torch module computes the network read from it: the module
        (a float64 copy, in evaluation mode) is run on inputs and its output compared with
        :func:`dynsys.iterate`'s x(T) (MLP: y(T)), or with the readout ``K x(T) + c`` where
        one is named, up to ``CHECK_RTOL`` (1e-6) of its size. Default (None or True): for a
        module, on ``CHECK_SAMPLES`` (8) seeded standard normal inputs of the network's
        input width; an array: on those inputs; False: no check. Other sources (a state_dict,
        a file, a run folder) hold no forward pass to run: `check` other than None is an
        error there.
    activation : {"logistic", "tanh"}, optional
        The unit f of the layers. A nets model, an :class:`ExportedWeights`, a weights file
        of :func:`save_weights` and a run folder carry their own (a file or run written
        before tanh networks existed is logistic): leave `activation` out, or give the same
        value; another is refused, never reinterpreted. For a foreign module, a state_dict
        or a safetensors file read by parameter names it says what the layers compute
        (default ``"logistic"``), and a module's check holds it to that.
    epoch : int, optional
        With a training run folder for `obj`: the network of this epoch (0: as initialised;
        e: after epoch e, as history record e), kept by ``TrainConfig(keep_epochs=True)``
        (``resdyn train --keep-epochs``); :func:`nets.kept_epochs` lists the epochs a run
        keeps. The file is checked against the run's committed checkpoint (its SHA-256, and
        the epoch and run its metadata record), so a file of another run is refused; the run
        may still be training (its committed epochs never change). Default: the run's final
        weights.

    Returns
    -------
    dynsys.Network
        Float64 copies, with the activation; shared weights give a network of any depth, so
        pass the depth to ``dynsys.iterate(net, x0, depth)``. Its W has shape (N, N)
        (shared) or (T, N, N), b (N,) or (T, N), K (C, N), c (C,), P (N, D), p (N,).

    Raises
    ------
    ValueError
        A module that does not compute the network read from it (the message says what
        qualifies), an unknown `activation` or one that contradicts the network's own (the
        message names both), a name `obj` does not have (the message lists the names it has), shapes
        that do not fit, or a file that is not a weights file (a NumPy ``.npy`` file is named
        as such).
        With `epoch`: an `epoch` that is not an integer >= 0 or not kept by the run (the
        message names the epochs it keeps), a file for `obj`, or parameter names.
    nets.CheckpointError
        A run folder whose run is unfinished, or whose weights file belongs to another
        checkpoint (see :func:`nets.check_run`); with `epoch`, an epoch file that is
        missing, belongs to another run or was modified.
    TypeError
        An `obj` of another type, complex weights, `check` given for a source without a
        forward pass, or `epoch` given for an `obj` that is not a path.

    Examples
    --------
    >>> import torch, nets, dynsys
    >>> class MyRes(torch.nn.Module):
    ...     def __init__(self, n, depth):
    ...         super().__init__()
    ...         self.lin, self.depth = torch.nn.Linear(n, n), depth
    ...     def forward(self, x):
    ...         for _ in range(self.depth):
    ...             x = x + torch.sigmoid(self.lin(x))
    ...         return x
    >>> net = nets.to_network(MyRes(4, 10), weight="lin.weight", bias="lin.bias")
    >>> net
    Network(kind='resnet', width=4, shared)

    A module whose layers are ``x + tanh(Linear(x))`` is read with ``activation="tanh"``,
    and refused without it (read as logistic, it does not compute what it says):

    >>> class TanhRes(MyRes):
    ...     def forward(self, x):
    ...         for _ in range(self.depth):
    ...             x = x + torch.tanh(self.lin(x))
    ...         return x
    >>> nets.to_network(TanhRes(4, 10), weight="lin.weight", bias="lin.bias",
    ...                 activation="tanh")
    Network(kind='resnet', activation='tanh', N=4, shared)
    >>> nets.to_network(TanhRes(4, 10), weight="lin.weight", bias="lin.bias")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the TanhRes does not compute the resnet network read from its parameters with activation 'logistic': ...
    """
    if kind is not None and kind not in ("resnet", "mlp"):
        raise ValueError(f"`kind` must be 'resnet' or 'mlp'; got {kind!r}.")
    if activation is not None:
        check_activation(activation, "activation")
    if epoch is not None and not isinstance(obj, (str, Path)):
        raise TypeError(
            f"`epoch` selects a kept epoch of a training run folder; `obj` is a "
            f"{type(obj).__name__}, which holds one set of weights. Pass the run folder: "
            f"nets.to_network(run, epoch={epoch!r})."
        )
    if check is not None and check is not False and not isinstance(obj, torch.nn.Module):
        raise TypeError(
            f"`check` runs a torch.nn.Module and compares it with dynsys.iterate; `obj` is a "
            f"{type(obj).__name__}, which holds no forward pass to run. Leave `check` out."
        )
    readout_weight, readout_bias = _pair(readout, readout_weight, readout_bias, "readout")
    projection_weight, projection_bias = _pair(projection, projection_weight, projection_bias,
                                               "projection")
    named = weight is not None
    names = dict(weight=weight, bias=bias, readout_weight=readout_weight,
                 readout_bias=readout_bias, projection_weight=projection_weight,
                 projection_bias=projection_bias, first_index=int(first_index), depth=depth)
    if not named and any(v is not None for k, v in names.items()
                         if k not in ("first_index", "depth")):
        raise ValueError("`bias`, `readout...` and `projection...` need `weight` as well.")
    if epoch is not None and named:
        raise ValueError("`epoch` reads a kept epoch of a training run folder, which carries "
                         "its own layout: leave out `weight` and the other parameter names.")

    def same_activation(own_activation: str, what: str) -> str:
        if activation is not None and activation != own_activation:
            raise ValueError(
                f"`activation` must match the activation of {what}, {own_activation!r} (or be "
                f"left out); got {activation!r}. A network's activation is what it was "
                "built and trained with, and is never reinterpreted."
            )
        return own_activation

    def own(weights: ExportedWeights, what: str = "the network"):
        same_activation(weights.activation, what)
        if kind is not None and kind != weights.dynsys_kind:
            raise ValueError(f"`kind` {kind!r} contradicts the network's own kind "
                             f"{weights.dynsys_kind!r} ({weights.kind}).")
        if depth is not None and not weights.shared and int(depth) != weights.depth:
            raise ValueError(f"`depth` {depth} differs from the network's depth {weights.depth}.")
        return weights.network

    def checked(module, net, *, weight, depth):
        if check is not False:
            _check_module(module, net, _check_inputs(check, net.n_features), weight=weight,
                          depth=depth)
        return net

    if isinstance(obj, ExportedWeights) and not named:
        return own(obj)
    if isinstance(obj, LayeredNet) and not named:
        return checked(obj, own(export_weights(obj), f"the {type(obj).__name__}"), weight=None,
                       depth=obj.depth)
    # the activation of a network read by parameter names: a nets model's own, else the
    # argument (logistic by default)
    if isinstance(obj, LayeredNet):
        read_activation = same_activation(obj.activation, f"the {type(obj).__name__}")
    else:
        read_activation = activation or "logistic"
    if isinstance(obj, torch.nn.Module):
        if not named:
            raise ValueError(
                f"name the parameters of the {type(obj).__name__}: for example "
                "nets.to_network(module, weight='lin.weight', bias='lin.bias'); its "
                f"parameters are: {_describe_names(obj.state_dict())}."
            )
        net = _network_from_tensors(obj.state_dict(), f"the {type(obj).__name__}", kind=kind,
                                    activation=read_activation, **names)
        return checked(obj, net, weight=weight, depth=depth)
    if isinstance(obj, Mapping):
        return _network_from_tensors(obj, "the state_dict", kind=kind,
                                     activation=read_activation, **names)
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not named:
            return own(_load_weights(path, "`obj`", epoch), f"`obj` {str(path)!r}")
        if not path.is_file():
            raise ValueError(f"`obj` {str(path)!r} is not a file: named parameters are read "
                             "from a .safetensors file (a run folder needs no names).")
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        _weights_metadata(path, "`obj`")  # a .npy or other file: say what it is
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ValueError(f"`obj` {str(path)!r} is not a readable safetensors file: "
                             f"{exc}") from None
        return _network_from_tensors(tensors, f"the file {path.name!r}", kind=kind,
                                     activation=read_activation, **names)
    raise TypeError(
        "`obj` must be a nets model, ExportedWeights, a run folder or weights file, a "
        f"state_dict or a torch.nn.Module; got {type(obj).__name__}."
    )
