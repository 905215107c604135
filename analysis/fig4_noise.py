"""Fig. 4 and Sect. 6 of Lagzi (2018): robustness to input noise, ResNet against MLP.

Uniform noise xi(0) ~ U(-a, a) (independently per pixel, "maximum amplitude a") is added to
the inputs x(0), with `n_realizations` independent draws per amplitude. For each network the
final hidden representation h is compared with its noise-free value h0:

* ResNet: h = x(T), and ``x_noisy(T) - x(T) = sum_{t=0..T} xi(t)``, so the paper's
  noise-to-signal ratio sum_t xi(t) / x(T) is measured as ``||h - h0|| / ||h0||``;
* MLP: h = y(T), and the ratio xi(T) / y(T) is ``||h - h0|| / ||h0||``.

(The paper divides vectors; we use Euclidean norms per sample, then average over samples and
realizations.) Also measured: cosine similarity of h and h0, test accuracy on the noisy
inputs, and the *misclassification onset*: the smallest amplitude of the grid at which the
accuracy has fallen more than `drop` below the noise-free accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import ShortRepr, frozen_copy

__all__ = ["NoiseCurve", "NoiseSweepResult", "compute_noise_sweep", "plot_noise_sweep",
           "misclassification_onset"]


def misclassification_onset(amplitudes, accuracy, clean_accuracy: float, drop: float = 0.01):
    """Smallest amplitude whose accuracy is below ``clean_accuracy - drop``; ``None`` if none.

    Examples
    --------
    >>> misclassification_onset([0.01, 0.1, 1.0], [0.95, 0.94, 0.5], 0.95)
    1.0
    """
    a = np.asarray(amplitudes, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    bad = np.nonzero(acc < clean_accuracy - drop)[0]
    return None if bad.size == 0 else float(a[bad[0]])


@dataclass(frozen=True, repr=False)
class NoiseCurve(ShortRepr):
    """Noise sweep of one network; read-only arrays with one entry per amplitude."""

    name: str
    clean_accuracy: float
    nsr: np.ndarray
    cosine: np.ndarray
    accuracy: np.ndarray
    flip_rate: np.ndarray
    onset: float | None


@dataclass(frozen=True, repr=False)
class NoiseSweepResult(ShortRepr):
    """Result of :func:`compute_noise_sweep`.

    ``mlp_lower_nsr_below`` is the fraction of amplitudes a < `small_a` at which the MLP's
    noise-to-signal ratio is below the ResNet's (the paper: 1, i.e. all of them).
    """

    amplitudes: np.ndarray
    n_realizations: int
    curves: dict
    small_a: float
    mlp_lower_nsr_below: float | None


def _sweep(forward, X, labels, amplitudes, n_real, rng, batch):
    def run(inp):
        hs, ps = [], []
        for i in range(0, inp.shape[0], batch):
            h, logits = forward(inp[i:i + batch])
            hs.append(np.asarray(h, dtype=np.float64))
            ps.append(np.argmax(np.asarray(logits), axis=1))
        return np.concatenate(hs), np.concatenate(ps)

    h0, p0 = run(X)
    n0 = np.linalg.norm(h0, axis=1)
    clean_acc = float(np.mean(p0 == labels))
    A = len(amplitudes)
    nsr, cos, acc, flip = (np.zeros(A) for _ in range(4))
    for i, a in enumerate(amplitudes):
        r_nsr, r_cos, r_acc, r_flip = [], [], [], []
        for _ in range(n_real):
            xi = rng.uniform(-a, a, size=X.shape)
            h, p = run(X + xi)
            d = np.linalg.norm(h - h0, axis=1)
            r_nsr.append(np.mean(d / np.maximum(n0, 1e-300)))
            den = np.maximum(np.linalg.norm(h, axis=1) * n0, 1e-300)
            r_cos.append(np.mean(np.sum(h * h0, axis=1) / den))
            r_acc.append(np.mean(p == labels))
            r_flip.append(np.mean(p != p0))
        nsr[i], cos[i], acc[i], flip[i] = (np.mean(v) for v in (r_nsr, r_cos, r_acc, r_flip))
    return clean_acc, nsr, cos, acc, flip


def compute_noise_sweep(forwards, X, labels, amplitudes=None, *, n_realizations: int = 10,
                        seed: int = 0, drop: float = 0.01, small_a: float = 0.1, batch: int = 2048):
    """Sweep the maximum noise amplitude for several networks (Fig. 4).

    Parameters
    ----------
    forwards : dict of str -> callable
        ``forward(X) -> (h, logits)``: the final hidden representation (x(T) for a ResNet,
        y(T) for an MLP) of shape (B, N) and the classifier's logits (B, C). Names
        ``"resnet_shared"`` and ``"mlp"`` are compared for ``mlp_lower_nsr_below``. In
        :func:`analysis.reproduce` each forward runs :func:`dynsys.iterate` on the network.
    X : array_like, shape (B, D)
        Noise-free inputs x(0) in the units the networks were trained on.
    labels : array_like of int, shape (B,)
    amplitudes : array_like, optional
        Maximum noise amplitudes a (default: 13 values log-spaced from 1e-3 to 10).
    n_realizations : int
        Independent noise draws per amplitude (the paper: 10).
    seed : int
        Seed of the noise generator (the same draws for every network).
    drop : float
        Accuracy drop (fraction) that counts as "starts to misclassify".
    small_a : float
        Amplitudes below this are "small" for ``mlp_lower_nsr_below`` (the paper: 0.1).

    Returns
    -------
    NoiseSweepResult
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    amps = np.logspace(-3, 1, 13) if amplitudes is None else np.asarray(amplitudes, float)
    if amps.ndim != 1 or amps.size == 0 or np.any(amps <= 0):
        raise ValueError("`amplitudes` must be a non-empty 1-D array of positive numbers.")
    curves = {}
    for name, fwd in forwards.items():
        rng = np.random.default_rng(seed)
        clean, nsr, cos, acc, flip = _sweep(fwd, X, labels, amps, n_realizations, rng, batch)
        curves[name] = NoiseCurve(name, clean, frozen_copy(nsr), frozen_copy(cos),
                                  frozen_copy(acc), frozen_copy(flip),
                                  misclassification_onset(amps, acc, clean, drop))
    frac = None
    if "mlp" in curves and "resnet_shared" in curves:
        small = amps < small_a
        if small.any():
            frac = float(np.mean(curves["mlp"].nsr[small] < curves["resnet_shared"].nsr[small]))
    return NoiseSweepResult(amplitudes=frozen_copy(amps), n_realizations=int(n_realizations),
                            curves=curves, small_a=float(small_a), mlp_lower_nsr_below=frac)


def plot_noise_sweep(result: NoiseSweepResult):
    """Fig. 4 from a :class:`NoiseSweepResult`: ratio, cosine similarity and accuracy."""
    from ._style import NET_COLORS, new_figure

    amps, curves, small_a = result.amplitudes, result.curves, result.small_a
    n_realizations = result.n_realizations
    fig = new_figure(13, 4.2)
    axes = fig.subplots(1, 3)
    for name, cv in curves.items():
        col = NET_COLORS.get(name, None)
        axes[0].plot(amps, cv.nsr, "o-", color=col, label=name)
        axes[1].plot(amps, cv.cosine, "o-", color=col, label=name)
        axes[2].plot(amps, 100 * cv.accuracy, "o-", color=col, label=name)
        if cv.onset is not None:
            axes[2].axvline(cv.onset, color=col, ls=":", lw=1)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("maximum noise amplitude a (input units)")
        ax.axvline(small_a, color="0.7", lw=0.8)
        ax.legend(fontsize="small")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("noise-to-signal ratio ||h - h0|| / ||h0||")
    axes[0].set_title("A: noise-to-signal ratio, final hidden layer")
    axes[1].set_ylabel("cosine similarity (noisy vs clean)")
    axes[1].set_title("B: cosine similarity, final hidden layer")
    axes[2].set_ylabel("test accuracy (%)")
    axes[2].set_title("C: accuracy (dotted: misclassification onset)")
    fig.suptitle(f"Fig. 4: uniform input noise U(-a, a), {n_realizations} realizations per a")
    return fig
