"""Trained weights <-> plain float64 arrays that :mod:`dynsys` takes directly.

>>> w = export_weights(model)                       # doctest: +SKIP
>>> x0 = w.embed(inputs)                            # the projected input x(0), float64
>>> res = dynsys.iterate(x0, w.W, w.b, w.depth, kind=w.dynsys_kind)   # doctest: +SKIP

``res.y`` then equals the residuals that ``model(inputs, record=True)`` recorded (up to the
float32 rounding of the torch model). :func:`save_weights` / :func:`load_weights` store them in
one ``.safetensors`` file (float64 tensors, the kind and depth in its metadata; nothing
pickled), and :func:`model_from_weights` builds the torch model back.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .models import KINDS, LayeredNet, build_model

__all__ = ["ExportedWeights", "export_weights", "model_from_weights", "save_weights",
           "load_weights"]

_FORMAT = "resdyn-weights/1"


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
    """

    kind: str
    depth: int
    W: np.ndarray
    b: np.ndarray
    K: np.ndarray
    c: np.ndarray
    projection: tuple | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}.")
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
        """The `kind` argument of ``dynsys.iterate``: ``"resnet"`` or ``"mlp"``."""
        return "mlp" if self.kind == "mlp" else "resnet"

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
    """The trained weights of `model` as an :class:`ExportedWeights` (float64 copies)."""
    if not isinstance(model, LayeredNet):
        raise TypeError(f"`model` must be a nets ResNet or MLP; got {type(model).__name__}.")

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
    )


def model_from_weights(weights: ExportedWeights, dtype=torch.float32) -> LayeredNet:
    """A torch model (default float32) holding `weights`; the inverse of :func:`export_weights`."""
    if not isinstance(weights, ExportedWeights):
        raise TypeError(f"`weights` must be ExportedWeights; got {type(weights).__name__}.")
    model = build_model(
        weights.kind, weights.n_features, weights.n_classes, weights.width, weights.depth,
        projection=weights.projection is not None,
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


def save_weights(weights: ExportedWeights, path) -> Path:
    """Write `weights` to one ``.safetensors`` file (atomically: temporary file, then rename)."""
    from safetensors.numpy import save_file

    if isinstance(weights, LayeredNet):
        weights = export_weights(weights)
    path = Path(path)
    tensors = {"W": weights.W, "b": weights.b, "K": weights.K, "c": weights.c}
    if weights.projection is not None:
        tensors["P"], tensors["p"] = weights.projection
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    meta = {"format": _FORMAT, "kind": weights.kind, "depth": str(weights.depth)}
    tmp = path.with_name(f"_partial_{path.name}")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path


def load_weights(path) -> ExportedWeights:
    """Read weights written by :func:`save_weights` (or a training checkpoint folder).

    `path` may be a ``.safetensors`` file from :func:`save_weights`, or a training output
    folder (then its ``weights.safetensors``, else the model in its checkpoint).
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir():
        if (path / "weights.safetensors").is_file():
            path = path / "weights.safetensors"
        else:
            from .checkpoint import load_model

            return export_weights(load_model(path))
    if not path.is_file():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist.")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"weights file {str(path)!r} is not a readable safetensors file: {exc}") from None
    if meta.get("format") != _FORMAT:
        raise ValueError(f"weights file {str(path)!r} is not a resdyn weights file "
                         f"(format {meta.get('format')!r}).")
    missing = [k for k in ("W", "b", "K", "c") if k not in tensors]
    if missing:
        raise ValueError(f"weights file {str(path)!r} lacks the tensors {missing}.")
    projection = (tensors["P"], tensors["p"]) if "P" in tensors else None
    return ExportedWeights(kind=meta.get("kind"), depth=int(meta.get("depth", 0)),
                           W=tensors["W"], b=tensors["b"], K=tensors["K"], c=tensors["c"],
                           projection=projection)
