"""The networks: residual networks with shared or per-layer weights, and the MLP.

A residual network of width N and depth T (Lagzi 2018, "Residual networks classify inputs
based on their neural transient dynamics", eq. 1)::

    x(0) = u                    or  x(0) = P u + p   (optional input projection, D -> N)
    z(t) = W(t) x(t-1) + b(t)
    y(t) = f(z(t)),  f logistic or tanh               (the "residuals")
    x(t) = x(t-1) + y(t)
    logits = K x(T) + c,  softmax / cross-entropy     (the classifier)

With shared weights W(t) = W, b(t) = b (one :class:`torch.nn.Linear` applied T times); with
per-layer weights one Linear per layer. The MLP of the same width and depth has no skip:
``y(t) = f(W(t) y(t-1) + b(t))``, ``y(0) = x(0)``, and its classifier reads y(T). The unit f
is the papers' logistic (default) or tanh (``activation="tanh"``); the residuals then lie in
(0, 1)^N or (-1, 1)^N, the box of :mod:`dynsys`'s analysis.

Every forward pass runs the one method :meth:`LayeredNet.step` per layer; ``record=True`` only
keeps what the step returns, so the recorded residuals are exactly those the classifier saw.

Initialisation (ResNet). With logistic residuals each layer adds a vector in (0, 1)^N to x
and x grows with depth. Weights start as ``N(0, (init_gain / sqrt(N))^2)`` with a small gain
(default 0.5) and the biases at ``bias_init`` (default -2, so that y starts near 0.12 and the
network starts near the identity map x(T) ~ x(0) + 0.12 T). This trains reliably with Adam at
depth 15 and keeps the network exactly the map that ``dynsys`` iterates (no hidden residual
scale: the step is x + f(W x + b), step size 1). Tanh residuals are centred on 0 already, so
a tanh ResNet's biases start centred (at 0, so that y starts near tanh(W x)) and x does not
drift with depth.

The defaults, by model and activation (``None`` selects them; ``"centred"`` is
``b = -W m``, m the midpoint of the box: 1/2 for the logistic, 0 for tanh):

======  ==========  =========  =========
model   activation  init_gain  bias_init
======  ==========  =========  =========
ResNet  logistic    0.5        -2
ResNet  tanh        0.5        centred
MLP     logistic    8          centred
MLP     tanh        2          centred
======  ==========  =========  =========

The tanh MLP's gain is the logistic's divided by 4: ``tanh(z) = 2 sigmoid(2z) - 1`` with
``y = 2s - 1`` makes a tanh layer of weights W a logistic layer of weights 4W, so gain 2 starts
the tanh MLP where gain 8 starts the logistic one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .config import KINDS, check_activation

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
    init_gain : float or None
        Layer weights start as ``N(0, (init_gain / sqrt(N))^2)``; ``None``: the default of
        the model and activation (the module docstring's table).
    bias_init : float, "centred" or None
        Layer biases start at this value; ``"centred"`` sets ``b = -W m`` with m the midpoint
        of the box (1/2 logistic, 0 tanh), so that ``z = W (y - m)`` at the start; ``None``:
        the default of the model and activation.
    activation : {"logistic", "tanh"}
        The unit f of every layer: ``x + f(Linear(x))`` (ResNet), ``f(Linear(y))`` (MLP).

    Raises
    ------
    ValueError
        A size below its minimum, a `width` that needs a projection where none is allowed,
        or an unknown `activation` (the error names the argument and the received value).
    """

    residual: bool = True
    #: Defaults of (init_gain, bias_init) by activation (the module docstring's table).
    _init_defaults = {"logistic": (0.5, -2.0), "tanh": (0.5, "centred")}

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        width: int | None = None,
        depth: int = 15,
        shared: bool = True,
        projection: bool | None = None,
        init_gain: float | None = None,
        bias_init: float | str | None = None,
        activation: str = "logistic",
    ):
        super().__init__()
        self.activation = check_activation(activation, "activation")
        default_gain, default_bias = self._init_defaults[self.activation]
        init_gain = default_gain if init_gain is None else init_gain
        bias_init = default_bias if bias_init is None else bias_init
        if isinstance(bias_init, str) and bias_init != "centred":
            raise ValueError(f"`bias_init` must be a number, 'centred' or None; got "
                             f"{bias_init!r}.")
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
        self.bias_init = bias_init if isinstance(bias_init, str) else float(bias_init)
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
                if self.bias_init == "centred" and self.activation == "tanh":
                    layer.bias.zero_()  # the box [-1, 1]'s midpoint is 0
                elif self.bias_init == "centred":  # z = W (y - 1/2) at the start
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
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (
            f"kind={self.kind!r}, {act}n_features={self.n_features}, width={self.width}, "
            f"depth={self._depth}, n_classes={self.n_classes}"
        )

    # -- forward -----------------------------------------------------------------------------

    def embed(self, u: torch.Tensor) -> torch.Tensor:
        """x(0): the input, projected to width N when the model has a projection."""
        return u if self.projection is None else self.projection(u)

    def step(self, t: int, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One layer t (1-based): returns (y(t), next state).

        ResNet: ``y = f(W(t) x + b(t))``, next state ``x + y``. MLP: ``y = f(W(t) y + b(t))``,
        next state ``y``; f is the model's `activation`. This is the only implementation of a
        layer.

        Parameters
        ----------
        t : int
            The layer, 1-based.
        state : Tensor, shape (B, N)
            x(t-1) (ResNet) or y(t-1) (MLP).

        Returns
        -------
        y : Tensor, shape (B, N)
        next_state : Tensor, shape (B, N)
        """
        z = self.layer(t)(state)
        y = torch.tanh(z) if self.activation == "tanh" else torch.sigmoid(z)
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
    """Residual network x(t) = x(t-1) + f(W(t) x(t-1) + b(t)), f logistic or tanh; see
    :class:`LayeredNet`."""

    residual = True


class MLP(LayeredNet):
    """MLP y(t) = f(W(t) y(t-1) + b(t)) of the same width and depth; see :class:`LayeredNet`.

    Per-layer weights by default (``shared=False``). A deep logistic MLP hardly trains from a
    small initialisation (its gradients vanish through 15 sigmoids): it starts with a large
    gain (8) and centred biases ``b = -W 1 / 2`` (the logistic outputs have mean 1/2). With
    Adam at learning rate 1e-3 (the training default for the MLP) this reaches about 89 % on
    mnist5k after 4 epochs at depth 15 and width 784; gains of 2 to 4 and a learning rate of
    3e-3 do not train at all. The right gain depends on the width (6 does better at width 128).
    A tanh MLP starts with gain 2, the same start in the logistic's coordinates (see the
    module docstring).
    """

    residual = False
    _init_defaults = {"logistic": (8.0, "centred"), "tanh": (2.0, "centred")}

    def __init__(self, n_features, n_classes, width=None, depth=15, shared=False,
                 projection=None, init_gain=None, bias_init=None, activation="logistic"):
        super().__init__(n_features, n_classes, width, depth, shared, projection,
                         init_gain, bias_init, activation)


def build_model(kind: str, n_features: int, n_classes: int, width: int | None = None,
                depth: int = 15, **kwargs) -> LayeredNet:
    """A model by kind name: ``"shared"``, ``"per-layer"`` (ResNet) or ``"mlp"``.

    `kwargs` go to the model (``activation=``, ``init_gain=``, ``bias_init=``,
    ``projection=``); see :class:`LayeredNet`.
    """
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
    reached). Initialises from the global torch RNG. The model has the configuration's
    activation.
    """
    kwargs = {"activation": getattr(config, "activation", "logistic")}
    if config.init_gain is not None:
        kwargs["init_gain"] = config.init_gain
    if config.bias_init is not None:
        kwargs["bias_init"] = config.bias_init
    return build_model(config.kind, n_features, n_classes, config.width,
                       config.depth if depth is None else depth, **kwargs)
