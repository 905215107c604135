"""The network as a dynamical system: one frozen value that every dynsys function takes first.

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics",
eq. 1-2: a dense logistic ResNet of width N,

    z(t) = W(t) x(t-1) + b(t),   y(t) = f(z(t)),   x(t) = x(t-1) + y(t),

or the MLP ``y(t) = f(W(t) y(t-1) + b(t))``, with an optional input projection
``x(0) = P u + p`` and a softmax readout ``K x(T) + c``. Shared weights versus one matrix per
layer is the shape of `W`, never a separate flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._activation import activation_box, check_activation
from ._arrays import readonly
from ._validation import _describe, _to_float_array, check_choice, check_finite

__all__ = ["Network", "KINDS", "as_weights", "resnet_weights"]

#: The two layer maps: ``"resnet"`` (x <- x + f(W x + b)) and ``"mlp"`` (y <- f(W y + b)).
KINDS = ("resnet", "mlp")


def _field(value, name: str, shapes: str) -> np.ndarray:
    arr = _to_float_array(value, name)
    arr = np.array(check_finite(arr, name), dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, repr=False, eq=False)
class Network:
    """A residual network (or MLP) as a dynamical system, validated once.

    Parameters
    ----------
    W : array_like, shape (N, N) or (T, N, N)
        Layer weights, rows are outputs (as ``torch.nn.Linear.weight``): ``z = W x + b``.
        A 2-D `W` is shared by every layer (the network can then be run to any depth); a
        3-D `W` holds one matrix per layer t = 1..T.
    b : array_like, shape (N,) or (T, N), optional
        Biases; default zero. A 2-D `b` needs a 3-D `W` of the same T.
    kind : {"resnet", "mlp"}
        The layer map: ResNet ``x(t) = x(t-1) + f(W(t) x(t-1) + b(t))`` (eq. 1) or MLP
        ``y(t) = f(W(t) y(t-1) + b(t))``.
    K : array_like, shape (C, N), optional
        Readout weights: logits ``K x(T) + c`` (MLP: ``K y(T) + c``).
    c : array_like, shape (C,), optional
        Readout bias (default zero when `K` is given).
    P : array_like, shape (N, D), optional
        Input projection ``x(0) = P u + p``; without it the inputs are the states (D = N).
    p : array_like, shape (N,), optional
        Projection bias (default zero when `P` is given).
    activation : {"logistic", "tanh"}
        The activation f (default the papers' logistic). A tanh ResNet's residuals live in
        [-1, 1]^N and follow dy/dt = (1 - y^2)(W y); see :mod:`dynsys._activation`.

    Raises
    ------
    TypeError
        A complex or non-numeric array (the argument is named; imaginary parts are never
        dropped silently).
    ValueError
        Shapes that do not fit together (both shapes are named), NaN or infinite entries, an
        unknown `kind` or `activation`.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> net = dynsys.Network(np.eye(3) * 0.5)
    >>> net
    Network(kind='resnet', N=3, shared)
    >>> net.width, net.depth, net.shared
    (3, None, True)
    >>> dynsys.Network(np.eye(3) * 0.5, activation="tanh")
    Network(kind='resnet', activation='tanh', N=3, shared)
    """

    W: np.ndarray
    b: np.ndarray | None = None
    kind: str = "resnet"
    K: np.ndarray | None = None
    c: np.ndarray | None = None
    P: np.ndarray | None = None
    p: np.ndarray | None = None
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __post_init__(self):
        check_choice(self.kind, "kind", KINDS)
        check_activation(self.activation, "activation")
        W = _field(self.W, "W", "(N, N) or (T, N, N)")
        if W.ndim not in (2, 3) or W.shape[-1] != W.shape[-2] or W.shape[-1] < 1 or (
                W.ndim == 3 and W.shape[0] < 1):
            raise ValueError(
                "`W` must have shape (N, N) (shared weights) or (T, N, N) (one matrix per "
                f"layer) with N, T >= 1; got shape {W.shape}."
            )
        N = W.shape[-1]
        shared = W.ndim == 2
        if self.b is None:
            b = readonly(np.zeros((N,) if shared else (W.shape[0], N)))
        else:
            b = _field(self.b, "b", "(N,) or (T, N)")
            ok = b.shape == (N,) or (not shared and b.shape == (W.shape[0], N))
            if not ok:
                want = f"({N},)" if shared else f"({N},) or ({W.shape[0]}, {N})"
                raise ValueError(
                    f"`b` must have shape {want} to fit `W` of shape {W.shape}; got shape "
                    f"{b.shape}."
                )
            if not shared and b.ndim == 1:
                b = readonly(np.broadcast_to(b, (W.shape[0], N)).copy())
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)
        K = c = None
        if self.K is not None:
            K = _field(self.K, "K", "(C, N)")
            if K.ndim != 2 or K.shape[1] != N or K.shape[0] < 1:
                raise ValueError(
                    f"`K` must have shape (C, {N}) to read out width {N}; got shape {K.shape}."
                )
            c = readonly(np.zeros(K.shape[0])) if self.c is None else _field(self.c, "c", "(C,)")
            if c.shape != (K.shape[0],):
                raise ValueError(
                    f"`c` must have shape ({K.shape[0]},) to fit `K` of shape {K.shape}; got "
                    f"shape {c.shape}."
                )
        elif self.c is not None:
            raise ValueError("`c` was given without `K`; pass the readout weights `K` too.")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "c", c)
        P = p = None
        if self.P is not None:
            P = _field(self.P, "P", "(N, D)")
            if P.ndim != 2 or P.shape[0] != N or P.shape[1] < 1:
                raise ValueError(
                    f"`P` must have shape ({N}, D) to project inputs to width {N}; got shape "
                    f"{P.shape}."
                )
            p = readonly(np.zeros(N)) if self.p is None else _field(self.p, "p", "(N,)")
            if p.shape != (N,):
                raise ValueError(f"`p` must have shape ({N},); got shape {p.shape}.")
        elif self.p is not None:
            raise ValueError("`p` was given without `P`; pass the projection weights `P` too.")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "p", p)

    # ---- shape facts ----------------------------------------------------------------
    @property
    def width(self) -> int:
        """N, the number of neurons per layer."""
        return int(self.W.shape[-1])

    @property
    def shared(self) -> bool:
        """Whether one (W, b) serves every layer (W of shape (N, N))."""
        return self.W.ndim == 2

    @property
    def depth(self) -> int | None:
        """T for per-layer weights; ``None`` for shared weights (any depth can be run)."""
        return None if self.shared else int(self.W.shape[0])

    @property
    def n_features(self) -> int:
        """D, the input dimension (N without a projection)."""
        return self.width if self.P is None else int(self.P.shape[1])

    @property
    def n_classes(self) -> int | None:
        """C, the number of readout classes (``None`` without `K`)."""
        return None if self.K is None else int(self.K.shape[0])

    # ---- derived values ---------------------------------------------------------------
    def layer(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(W(t), b(t)) for layer t = 1..T (any t >= 1 for shared weights)."""
        t = int(t)
        if t < 1 or (not self.shared and t > self.W.shape[0]):
            top = "any t >= 1" if self.shared else f"1..{self.W.shape[0]}"
            raise ValueError(f"`t` must be a layer number in {top}; got {t}.")
        if self.shared:
            return self.W, self.b
        return self.W[t - 1], self.b[t - 1]

    def last_layer(self) -> "Network":
        """The network whose every layer is this one's last layer (shared weights).

        For per-layer weights this is how the papers run a trained network past its depth:
        W(T) and b(T) repeated. A shared network is returned unchanged.
        """
        if self.shared:
            return self
        return Network(self.W[-1], self.b[-1], kind=self.kind, K=self.K, c=self.c,
                       P=self.P, p=self.p, activation=self.activation)

    def embed(self, u) -> np.ndarray:
        """The state x(0) = P u + p (or u itself without projection), float64.

        Parameters
        ----------
        u : array_like, shape (D,) or (B, D)
        """
        arr = _to_float_array(u, "x0")
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_features:
            raise ValueError(
                f"`x0` must have shape ({self.n_features},) or (B, {self.n_features}) for this "
                f"network (D = {self.n_features}); got shape {arr.shape}."
            )
        check_finite(arr, "x0")
        if self.P is None:
            return np.array(arr, dtype=np.float64, copy=True)
        return arr @ self.P.T + self.p

    def readout(self, state) -> np.ndarray:
        """Logits ``K x(T) + c`` (MLP: ``K y(T) + c``) for states of shape (N,) or (B, N).

        The state of a :func:`dynsys.iterate` result is ``res.x_final`` for a ResNet and
        ``res.y_final`` for an MLP, whose classifier reads y(T) (its ``x_final`` is None).
        """
        if self.K is None:
            raise ValueError("this network has no readout: build it with `K` (and `c`).")
        final = "y_final" if self.kind == "mlp" else "x_final"
        if state is None:
            raise ValueError(
                f"`state` must be an array of shape ({self.width},) or (B, {self.width}); got "
                f"None. This {self.kind} network's classifier reads "
                f"{'y(T)' if self.kind == 'mlp' else 'x(T)'}: pass `res.{final}` of "
                "dynsys.iterate" + (" (an MLP result has no x(T): its `x_final` is None)."
                                    if self.kind == "mlp" else ".")
            )
        arr = np.asarray(state, dtype=np.float64)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.width:
            raise ValueError(
                f"`state` must have shape ({self.width},) or (B, {self.width}) (for a "
                f"dynsys.iterate result, `res.{final}`); got shape {arr.shape}."
            )
        return arr @ self.K.T + self.c

    def __repr__(self) -> str:
        parts = [f"kind={self.kind!r}", f"N={self.width}",
                 "shared" if self.shared else f"depth={self.depth}"]
        if self.activation != "logistic":
            parts.insert(1, f"activation={self.activation!r}")
        if self.K is not None:
            parts.append(f"classes={self.n_classes}")
        if self.P is not None:
            parts.append(f"features={self.n_features}")
        return f"Network({', '.join(parts)})"


def layer_index(t: int, n_layers: int) -> int:
    """The index of the weights of layer t (t >= 1) among `n_layers` stored layers.

    The one depth rule of :mod:`dynsys`: layer t uses ``W[min(t, L) - 1]``. Shared weights
    (L = 1) serve every layer; a per-layer network of T layers run to depth d runs its
    layers 1..min(d, T) and, past T, its last layer repeated (:meth:`Network.last_layer`),
    the papers' way of running a trained network past its depth. The kernels spell the same
    rule with 0-based layers.
    """
    return min(t, n_layers) - 1


def _check_supported_activation(system, name: str, activations) -> None:
    """Refuse a network whose activation the calling function does not analyse."""
    if isinstance(system, Network) and system.activation not in activations:
        raise ValueError(
            f"`{name}` must be a network with activation "
            f"{' or '.join(repr(a) for a in activations)} for this function; got a "
            f"{system.activation} network. Its maths is written for those activations only, "
            "and reading the weights alone would answer another network's question."
        )


def as_weights(system, name: str = "W", activations=("logistic",)) -> np.ndarray:
    """W of shape (N, N) from a shared-weight :class:`Network` of either kind or a bare array.

    Only for maths that reads the network's kind itself (:func:`dynsys.integrate` runs eq. 3
    or, for an MLP, eq. 6); everything that is eq. 3 goes through :func:`resnet_weights`. A
    per-layer network is refused with a pointer to :meth:`Network.last_layer`, and a network
    whose activation is not among `activations` is refused.
    """
    _check_supported_activation(system, name, activations)
    if isinstance(system, Network):
        if not system.shared:
            raise ValueError(
                f"`{name}` must be a shared-weight network (W of shape (N, N)); got a per-layer "
                f"network of depth {system.depth}. Use `net.last_layer()` for its last layer "
                "repeated."
            )
        return system.W
    from ._validation import as_square_matrix

    if isinstance(system, (str, bytes)) or system is None:
        raise TypeError(f"`{name}` must be a dynsys.Network or an (N, N) array; got "
                        f"{_describe(system)}.")
    return as_square_matrix(system, name)


def resnet_weights(system, name: str = "W", activations=("logistic",)) -> np.ndarray:
    """W of shape (N, N) for eq. 3, from a shared-weight ResNet :class:`Network` or a bare array.

    The one gate of every function whose maths is eq. 3, dy/dt = y (1 - y) (W y), or the
    ResNet layer map built on it (fixed points, spectra, the vector field, basins, the
    symbolic system). An MLP network is refused: its layers are y <- f(W y + b), whose
    continuous form is eq. 6, dy/dt = -y + f(W y + b), so reading only its W would answer
    another network's question without saying so. A bare array carries no kind and is taken
    as a ResNet's W.
    """
    if isinstance(system, Network) and system.kind != "resnet":
        raise ValueError(
            f"`{name}` must be a ResNet network (kind 'resnet') or an (N, N) array: this "
            "function analyses eq. 3, dy/dt = y(1-y)(Wy), the flow of a residual network's "
            f"residuals, and got a network of kind {system.kind!r}. An MLP's layers "
            "y <- f(W y + b) follow eq. 6, dy/dt = -y + f(W y + b), not eq. 3: analyse it with "
            "dynsys.iterate, dynsys.attractor_census, dynsys.lyapunov or "
            "dynsys.integrate(net, ...)."
        )
    return as_weights(system, name, activations)
