"""The networks: residual networks with shared or per-layer weights, and the MLP.

A residual network of width N and depth T (Lagzi 2018, "Residual networks classify inputs
based on their neural transient dynamics", eq. 1)::

    x(0) = u                    or  x(0) = P u + p   (optional input projection, D -> N)
    z(t) = W(t) x(t-1) + b(t)
    y(t) = f(z(t)),  f logistic                       (the "residuals")
    x(t) = x(t-1) + y(t)
    logits = K x(T) + c,  softmax / cross-entropy     (the classifier)

With shared weights W(t) = W, b(t) = b (one :class:`torch.nn.Linear` applied T times); with
per-layer weights one Linear per layer. The MLP of the same width and depth has no skip:
``y(t) = f(W(t) y(t-1) + b(t))``, ``y(0) = x(0)``, and its classifier reads y(T).

Every forward pass runs the one method :meth:`LayeredNet.step` per layer; ``record=True`` only
keeps what the step returns, so the recorded residuals are exactly those the classifier saw.

Initialisation (ResNet). The residuals are logistic, so each layer adds a vector in (0, 1)^N to x and x
grows with depth. Weights start as ``N(0, (init_gain / sqrt(N))^2)`` with a small gain
(default 0.5) and the biases at ``bias_init`` (default -2, so that y starts near 0.12 and the
network starts near the identity map x(T) ~ x(0) + 0.12 T). This trains reliably with Adam at
depth 15 and keeps the network exactly the map that ``dynsys`` iterates (no hidden residual
scale: the step is x + f(W x + b), step size 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .config import KINDS

__all__ = ["KINDS", "LayeredNet", "ResNet", "MLP", "Recording", "build_model",
           "model_for_config"]


class Recording(NamedTuple):
    """What ``forward(x, record=True)`` returns (it unpacks as ``logits, y, x``).

    Attributes
    ----------
    logits : Tensor, shape (B, C)
    y : Tensor, shape (T, B, N)
        Residuals y(1) .. y(T) (for the MLP: the hidden activations y(1) .. y(T)).
    x : Tensor, shape (T + 1, B, N)
        Cumulative signals x(0) .. x(T) (x(0) the projected input). For the MLP the layer
        inputs: x(0) the projected input and x(t) = y(t).
    """

    logits: torch.Tensor
    y: torch.Tensor
    x: torch.Tensor


class LayeredNet(nn.Module):
    """Common base of :class:`ResNet` and :class:`MLP` (see the module docstring).

    Parameters
    ----------
    n_features : int
        Input dimension D.
    n_classes : int
        Number of classes C.
    width : int, optional
        Width N. ``None`` (default) means N = D without projection; any other value adds the
        input projection ``x(0) = P u + p`` (also when N = D if ``projection=True``).
    depth : int
        Number of layers T >= 1.
    shared : bool
        One (W, b) for all layers (``True``) or one per layer.
    projection : bool, optional
        Force (``True``) or forbid (``False``) the input projection; ``None``: only when
        `width` differs from `n_features`.
    init_gain : float
        Layer weights start as ``N(0, (init_gain / sqrt(N))^2)``.
    bias_init : float or None
        Layer biases start at this value; ``None`` centres them, ``b = -W 1 / 2``, so that
        ``z = W (y - 1/2)`` at the start (the MLP's default).
    """

    residual: bool = True

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        width: int | None = None,
        depth: int = 15,
        shared: bool = True,
        projection: bool | None = None,
        init_gain: float = 0.5,
        bias_init: float = -2.0,
    ):
        super().__init__()
        n_features, n_classes, depth = int(n_features), int(n_classes), int(depth)
        if n_features < 1:
            raise ValueError(f"`n_features` must be >= 1; got {n_features}.")
        if n_classes < 2:
            raise ValueError(f"`n_classes` must be >= 2; got {n_classes}.")
        if depth < 1:
            raise ValueError(f"`depth` must be >= 1; got {depth}.")
        width = n_features if width is None else int(width)
        if width < 1:
            raise ValueError(f"`width` must be >= 1; got {width}.")
        if projection is None:
            projection = width != n_features
        if not projection and width != n_features:
            raise ValueError(
                f"`width` {width} differs from `n_features` {n_features}: an input projection "
                "is needed (projection=True or None)."
            )
        self.n_features = n_features
        self.n_classes = n_classes
        self.width = width
        self.shared = bool(shared)
        self.init_gain = float(init_gain)
        self.bias_init = None if bias_init is None else float(bias_init)
        self._depth = depth
        self.projection = nn.Linear(n_features, width) if projection else None
        n_blocks = 1 if self.shared else depth
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(n_blocks))
        self.classifier = nn.Linear(width, n_classes)
        self.reset_parameters()

    # -- structure ---------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``"shared"``, ``"per-layer"`` or ``"mlp"``."""
        if not self.residual:
            return "mlp"
        return "shared" if self.shared else "per-layer"

    @property
    def depth(self) -> int:
        """The number of layers T."""
        return self._depth

    def reset_parameters(self) -> None:
        """Initialise as described in the module docstring (uses the global torch RNG)."""
        std = self.init_gain / math.sqrt(self.width)
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.normal_(0.0, std)
                if self.bias_init is None:  # centred: z = W (y - 1/2) at the start
                    layer.bias.copy_(-0.5 * layer.weight.sum(dim=1))
                else:
                    layer.bias.fill_(self.bias_init)
            if self.projection is not None:
                nn.init.normal_(self.projection.weight, 0.0, 1.0 / math.sqrt(self.n_features))
                self.projection.bias.zero_()
            nn.init.normal_(self.classifier.weight, 0.0, 1.0 / math.sqrt(self.width))
            self.classifier.bias.zero_()

    def layer(self, t: int) -> nn.Linear:
        """The Linear of layer t (1-based; 1 <= t <= T, any t >= 1 with shared weights)."""
        if t < 1 or (not self.shared and t > self._depth):
            raise IndexError(f"layer {t} out of range 1..{self._depth}.")
        return self.layers[0] if self.shared else self.layers[t - 1]

    def remove_last_layer(self) -> list[nn.Parameter]:
        """Remove layer T (depth T -> T - 1) and return the parameters that left the model.

        Shared weights: only the depth changes (nothing is returned). Per-layer weights: layer
        T's W and b are dropped and returned, so an optimizer can forget their state (see
        :func:`nets.depth.remove_last_layer`).
        """
        if self._depth <= 1:
            raise ValueError("cannot remove the last layer of a network of depth 1.")
        removed: list[nn.Parameter] = []
        if not self.shared:
            last = self.layers[-1]
            removed = list(last.parameters())
            del self.layers[len(self.layers) - 1]
        self._depth -= 1
        return removed

    def set_depth(self, depth: int) -> None:
        """Set the depth (shared weights: any T >= 1; per-layer: only T <= current depth)."""
        depth = int(depth)
        if depth < 1:
            raise ValueError(f"`depth` must be >= 1; got {depth}.")
        if self.shared:
            self._depth = depth
            return
        if depth > self._depth:
            raise ValueError(
                f"a per-layer network of depth {self._depth} cannot be deepened to {depth}."
            )
        while self._depth > depth:
            self.remove_last_layer()

    def extra_repr(self) -> str:
        return (
            f"kind={self.kind!r}, n_features={self.n_features}, width={self.width}, "
            f"depth={self._depth}, n_classes={self.n_classes}"
        )

    # -- forward -----------------------------------------------------------------------------

    def embed(self, u: torch.Tensor) -> torch.Tensor:
        """x(0): the input, projected to width N when the model has a projection."""
        return u if self.projection is None else self.projection(u)

    def step(self, t: int, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One layer t (1-based): returns (y(t), next state).

        ResNet: ``y = f(W(t) x + b(t))``, next state ``x + y``. MLP: ``y = f(W(t) y + b(t))``,
        next state ``y``. This is the only implementation of a layer.
        """
        y = torch.sigmoid(self.layer(t)(state))
        return y, (state + y if self.residual else y)

    def forward(self, u: torch.Tensor, record: bool = False, depth: int | None = None):
        """Logits for inputs `u` of shape (B, D); with ``record=True`` a :class:`Recording`.

        `depth` runs a shared-weight network for another number of layers than it has
        (for example 1000 layers of a network trained with 15, Fig. 2A of the paper).
        """
        T = self._depth if depth is None else int(depth)
        if depth is not None and not self.shared and T > self._depth:
            raise ValueError(f"a per-layer network of depth {self._depth} cannot run {T} layers.")
        if T < 1:
            raise ValueError(f"`depth` must be >= 1; got {T}.")
        state = self.embed(u)
        if record:
            ys, xs = [], [state]
        for t in range(1, T + 1):
            y, state = self.step(t, state)
            if record:
                ys.append(y)
                xs.append(state)
        logits = self.classifier(state)
        if not record:
            return logits
        return Recording(logits, torch.stack(ys), torch.stack(xs))


class ResNet(LayeredNet):
    """Residual network x(t) = x(t-1) + f(W(t) x(t-1) + b(t)); see :class:`LayeredNet`."""

    residual = True


class MLP(LayeredNet):
    """MLP y(t) = f(W(t) y(t-1) + b(t)) of the same width and depth; see :class:`LayeredNet`.

    Per-layer weights by default (``shared=False``). A deep logistic MLP hardly trains from a
    small initialisation (its gradients vanish through 15 sigmoids): it starts with a large
    gain (8) and centred biases ``b = -W 1 / 2`` (the logistic outputs have mean 1/2). With
    Adam at learning rate 1e-3 (the training default for the MLP) this reaches about 89 % on
    mnist5k after 4 epochs at depth 15 and width 784; gains of 2 to 4 and a learning rate of
    3e-3 do not train at all. The right gain depends on the width (6 does better at width 128).
    """

    residual = False

    def __init__(self, n_features, n_classes, width=None, depth=15, shared=False,
                 projection=None, init_gain=8.0, bias_init=None):
        super().__init__(n_features, n_classes, width, depth, shared, projection,
                         init_gain, bias_init)


def build_model(kind: str, n_features: int, n_classes: int, width: int | None = None,
                depth: int = 15, **kwargs) -> LayeredNet:
    """A model by kind name: ``"shared"``, ``"per-layer"`` (ResNet) or ``"mlp"``."""
    if kind == "shared":
        return ResNet(n_features, n_classes, width, depth, shared=True, **kwargs)
    if kind == "per-layer":
        return ResNet(n_features, n_classes, width, depth, shared=False, **kwargs)
    if kind == "mlp":
        return MLP(n_features, n_classes, width, depth, shared=False, **kwargs)
    raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {kind!r}.")


def model_for_config(config, n_features: int, n_classes: int,
                     depth: int | None = None) -> LayeredNet:
    """The freshly initialised model a :class:`nets.TrainConfig` describes.

    `depth` overrides ``config.depth`` (a checkpoint records the depth the adaptive-depth rule
    reached). Initialises from the global torch RNG.
    """
    kwargs = {}
    if config.init_gain is not None:
        kwargs["init_gain"] = config.init_gain
    if config.bias_init is not None:
        kwargs["bias_init"] = config.bias_init
    return build_model(config.kind, n_features, n_classes, config.width,
                       config.depth if depth is None else depth, **kwargs)
