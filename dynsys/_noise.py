"""Input noise through the layers (Lagzi 2018, Fig. 4 and Sect. 6).

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics".
Uniform noise of maximum amplitude a, ``xi(0) ~ U(-a, a)`` independently per input and entry,
is added to the inputs x0 (before the network's input projection, if it has one); the clean
and the noisy network run side by side and the noise in the residuals is followed layer by
layer,

    xi(t) = y_noisy(t) - y_clean(t),   t = 1..T.

The paper's noise-to-signal ratios, as Euclidean norms per input:

* ResNet: ``||sum_t xi(t)|| / ||x(T)||`` (the noise that reaches the classifier's input
  x(T) = x0 + sum_t y(t), relative to the clean x(T));
* MLP: ``||xi(T)|| / ||y(T)||`` (y(T) feeds the classifier).

and the cosine similarity of the clean and noisy final hidden layers (x(T) for the ResNet,
y(T) for the MLP). For the ResNet, sum_t xi(t) is accumulated layer by layer (not taken as the
difference of the two x(T), which would lose digits to cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import readonly as _frozen
from ._activation import activation, activation_box
from ._layers import _as_network, _prepare, _stream
from ._validation import check_int, check_positive_float

__all__ = ["NoiseResult", "iterate_noise"]


@dataclass(frozen=True, repr=False, eq=False)
class NoiseResult:
    """Result of :func:`iterate_noise`. Arrays are read-only.

    R is the number of noise realizations, T the depth, B the batch size.

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    amplitude : float
        The maximum amplitude a of the uniform input noise U(-a, a).
    n_realizations : int
    seed : int or None
    depth : int
    xi0_norm : ndarray (R,)
        ``||xi(0)||`` (the input noise, in the space of `x0`), mean over the batch.
    xi_norm : ndarray (R, T)
        ``||xi(t)||`` for t = 1..T (index t - 1), mean over the batch.
    nsr : ndarray (R, B) ((R,) for a single input x0 of shape (N,))
        Noise-to-signal ratio per input: ResNet ``||sum_t xi(t)|| / ||x(T)||``, MLP
        ``||xi(T)|| / ||y(T)||`` (clean signal in the denominator).
    cosine : ndarray (R, B) ((R,) for a single input)
        Cosine similarity of the clean and noisy final hidden layers (x(T) for the ResNet,
        y(T) for the MLP).
    activation : {"logistic", "tanh"}
        The network's activation.
    """

    kind: str
    amplitude: float
    n_realizations: int
    seed: int | None
    depth: int
    xi0_norm: np.ndarray
    xi_norm: np.ndarray
    nsr: np.ndarray
    cosine: np.ndarray
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"NoiseResult(kind={self.kind!r}, {act}amplitude={self.amplitude:g}, "
                f"n_realizations={self.n_realizations}, depth={self.depth}, "
                f"nsr={'x'.join(map(str, self.nsr.shape))}, nsr_mean={self.nsr_mean:.4g}, "
                f"cosine_mean={self.cosine_mean:.4g})")

    @property
    def nsr_mean(self) -> float:
        """Noise-to-signal ratio averaged over inputs and realizations."""
        return float(self.nsr.mean())

    @property
    def cosine_mean(self) -> float:
        """Cosine similarity averaged over inputs and realizations."""
        return float(self.cosine.mean())

    @property
    def xi_norm_mean(self) -> np.ndarray:
        """``||xi(t)||`` averaged over the batch and the realizations, shape (T,)."""
        return self.xi_norm.mean(axis=0)


def _cosine(u, v):
    nu = np.linalg.norm(u, axis=1)
    nv = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ij,ij->i", u, v) / (nu * nv)


def iterate_noise(net, x0, depth=None, *, amplitude, n_realizations=10, seed=0, dtype=None):
    """Run a network on clean and on noisy inputs and follow the noise through the layers.

    System, state, depth, as everywhere in :mod:`dynsys`; the noise is given by keyword:
    ``iterate_noise(net, x0, T, amplitude=0.1)``.

    Parameters
    ----------
    net : Network
        The network (``net.kind``: "resnet" or "mlp"; logistic or tanh), as in
        :func:`dynsys.iterate`.
    x0 : array_like, shape (D,) or (B, D)
        Clean inputs. A 1-D `x0` drops the batch axis of `nsr` and `cosine`.
    depth : int, optional
        T; required for shared weights. Per-layer weights: None runs their own layers, a
        depth d the first min(d, T) and then the last repeated, as in :func:`dynsys.iterate`.
    amplitude : float
        Maximum amplitude a >= 0 of the uniform noise U(-a, a) added to every entry of x0
        (before ``net.embed``). Keyword only.
    n_realizations : int
        R, the number of independent noise draws (the paper: 10).
    seed : int or None
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same draws.
    dtype : {None, float32, float64}
        Working precision, as in :func:`dynsys.iterate`.

    Returns
    -------
    NoiseResult

    Notes
    -----
    With ``amplitude = 0`` every xi(t) is exactly 0, the ratios are 0 and the cosines 1 (the
    clean and noisy runs are the same computation).
    """
    net = _as_network(net)
    act = activation(net.activation)
    kind = net.kind
    a = check_positive_float(amplitude, "amplitude", allow_zero=True)
    R = check_int(n_realizations, "n_realizations", minimum=1)
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0)
    X, was_1d, Ws, bs, T, dt = _prepare(net, x0, depth, dtype)
    # the noise is drawn in input space (D): the raw inputs, embedded with the noisy copies
    U = X if net.P is None else np.asarray(x0, dtype=np.float64).reshape(X.shape[0], -1)
    B, N = X.shape
    D = U.shape[1]
    rng = np.random.default_rng(seed)

    def embed(u):
        if net.P is None:
            return u
        return np.ascontiguousarray(u @ net.P.T + net.p, dtype=dt)

    Xc = X.copy()
    # Run the clean and all noisy copies in one batch (R + 1) * B, so each layer is a single
    # GEMM; chunk the realizations if that batch would be large.
    per_chunk = max(1, min(R, (2**27) // max(1, B * N)))  # ~128 M entries per chunk
    xi0_norm = np.empty(R)
    xi_norm = np.zeros((R, T))
    nsr = np.empty((R, B))
    cos = np.empty((R, B))
    if a == 0:
        # No noise: the noisy runs are the clean run itself, so xi(t) = 0 exactly (running
        # copies through a larger GEMM could differ in the last bit).
        per_chunk = 1
    r0 = 0
    while r0 < R:
        r1 = min(R, r0 + per_chunk)
        k = r1 - r0
        if a > 0:
            noise = rng.uniform(-a, a, size=(k, B, D))
            big = np.empty(((k + 1) * B, N), dt)
            big[:B] = Xc
            big[B:] = embed((U[None] + noise).reshape(k * B, D))
        else:
            big = Xc.copy()

        def noisy_part(arr):
            if a > 0:
                return arr[B:].reshape(k, B, N)
            return np.broadcast_to(arr[None], (k, B, N))

        if a > 0 and net.P is not None:
            xi0_norm[r0:r1] = np.linalg.norm(noise, axis=2).mean(axis=1)
        else:
            xi0 = noisy_part(big) - big[:B].astype(np.float64)[None]
            xi0_norm[r0:r1] = np.linalg.norm(xi0, axis=2).mean(axis=1)
        sum_xi = np.zeros((k, B, N)) if kind == "resnet" else None
        y_fin = None
        for t, y, _ in _stream(big, Ws, bs, T, kind, act.code):
            yc = y[:B].astype(np.float64)
            xi = noisy_part(y) - yc[None]
            xi_norm[r0:r1, t - 1] = np.linalg.norm(xi, axis=2).mean(axis=1)
            if sum_xi is not None:
                sum_xi += xi
            if t == T:
                y_fin = y.astype(np.float64)
        if kind == "resnet":
            xT = big.astype(np.float64)  # big holds x(T) after the ResNet stream
            clean = xT[:B]
            noisy = noisy_part(xT)
            num = np.linalg.norm(sum_xi, axis=2)
        else:
            fin = y_fin if y_fin is not None else big.astype(np.float64)
            clean = fin[:B]
            noisy = noisy_part(fin)
            num = np.linalg.norm(noisy - clean[None], axis=2)
        den = np.linalg.norm(clean, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            nsr[r0:r1] = num / den[None]
        for i in range(k):
            cos[r0 + i] = _cosine(clean, noisy[i])
        r0 = r1
    if a == 0:  # identical computations: make the documented identities exact
        cos[:] = np.where(np.isfinite(cos), 1.0, cos)
    if was_1d:
        nsr, cos = nsr[:, 0], cos[:, 0]
    return NoiseResult(
        kind=kind, amplitude=a, n_realizations=R, seed=seed, depth=T,
        xi0_norm=_frozen(xi0_norm), xi_norm=_frozen(xi_norm), nsr=_frozen(nsr),
        cosine=_frozen(cos), activation=act.name,
    )
