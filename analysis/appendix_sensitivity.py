"""Appendix A of Lagzi (2018): how much a perturbation of layer s is amplified at the output.

With M(t) = diag(y(t)(1 - y(t))) W(t) (eq. 9), the perturbation of the residuals of layer s
reaches the final hidden layer through M'(s) = [I + M(T)] ... [I + M(s)], and the output
through S(s) = K M'(s) (eq. 10). :func:`dynsys.sensitivity` computes ``log|det M'(s)|`` (a
suffix sum of per-layer log-determinants, never the overflowing product) and ``||S(s)||_F``;
this module summarises them over a batch: per sample and on average log10|det M'(s)| for every
s, the mean Frobenius norm of S(s), and the paper's comparison
log10(|det M'(s1)| / |det M'(s2)|) for s1 = 4, s2 = 10 (positive and >= 2 is "orders of
magnitude larger"). The identity behind it:
log|det M'(s1)| - log|det M'(s2)| = sum_{t=s1..s2-1} log|det(I + M(t))|, so the comparison
says whether the layers s1 .. s2-1 expand volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_trajectories, frozen_copy

__all__ = ["LayerSensitivitySummary", "compute_layer_sensitivity", "plot_layer_sensitivity"]


@dataclass(frozen=True, repr=False)
class LayerSensitivitySummary(ShortRepr):
    """Result of :func:`compute_layer_sensitivity` (layer axes indexed by s - 1, s = 1..T).

    Attributes
    ----------
    n_layers : int
    log10_det : ndarray, shape (T, B)
        log10|det M'(s)| per layer s and sample.
    mean_log10_det, std_log10_det : ndarray, shape (T,)
        Their mean and standard deviation over samples.
    frob_S : ndarray, shape (T,)
        Mean over samples of ``||K M'(s)||_F`` (NaN without a readout K).
    s1, s2 : int
    log10_ratio : float
        Mean over samples of ``log10(|det M'(s1)| / |det M'(s2)|)``.
    frac_samples_larger : float
        Fraction of samples with ``|det M'(s1)| > |det M'(s2)|``.
    log10_frob_ratio : float
        log10(||S(s1)||_F / ||S(s2)||_F) of the sample means; NaN without K.
    """

    n_layers: int
    log10_det: np.ndarray = field(repr=False)
    mean_log10_det: np.ndarray = field(repr=False)
    std_log10_det: np.ndarray = field(repr=False)
    frob_S: np.ndarray = field(repr=False)
    s1: int
    s2: int
    log10_ratio: float
    frac_samples_larger: float
    log10_frob_ratio: float


def compute_layer_sensitivity(net, Y, *, s1: int = 4, s2: int = 10):
    """``log|det M'(s)|`` against s, and the s1 / s2 comparison of appendix A.

    Parameters
    ----------
    net : dynsys.Network
        The ResNet (shared W (N, N) or per-layer W (T, N, N)); with a readout K, the norms
        ``||S(s)||_F = ||K M'(s)||_F`` are reported too.
    Y : array_like, shape (T, B, N)
        Residuals y(1..T) of B samples, as ``dynsys.iterate(net, x0).y`` records them.
    s1, s2 : int
        Layers compared (1-based, s1 < s2 <= T); the paper uses 4 and 10.

    Returns
    -------
    LayerSensitivitySummary
    """
    from dynsys import sensitivity

    Y = as_trajectories(Y)
    T = Y.shape[0]
    if not (1 <= s1 < s2 <= T):
        raise ValueError(f"need 1 <= `s1` < `s2` <= T = {T}; got s1={s1}, s2={s2}.")
    res = sensitivity(net, Y)
    cum = np.asarray(res.logabsdet, dtype=np.float64) / np.log(10.0)  # (T, B)
    if net.K is not None:
        frob = np.asarray(res.S_norm, dtype=np.float64).mean(axis=1)
        frob_ratio = float(np.log10(frob[s1 - 1] / frob[s2 - 1]))
    else:
        frob = np.full(T, np.nan)
        frob_ratio = float("nan")
    diff = cum[s1 - 1] - cum[s2 - 1]
    return LayerSensitivitySummary(
        n_layers=T, log10_det=frozen_copy(cum), mean_log10_det=frozen_copy(cum.mean(axis=1)),
        std_log10_det=frozen_copy(cum.std(axis=1)), frob_S=frozen_copy(frob), s1=int(s1),
        s2=int(s2), log10_ratio=float(diff.mean()), frac_samples_larger=float(np.mean(diff > 0)),
        log10_frob_ratio=frob_ratio,
    )


def plot_layer_sensitivity(result: LayerSensitivitySummary):
    """Appendix A's figure from a :class:`LayerSensitivitySummary`."""
    from ._style import new_figure

    T, s1, s2 = result.n_layers, result.s1, result.s2
    B = result.log10_det.shape[1]
    fig = new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    s = np.arange(1, T + 1)
    m, sd = result.mean_log10_det, result.std_log10_det
    ax1.plot(s, m, "o-", color="#1b9e77", label=f"mean over {B} samples")
    ax1.fill_between(s, m - sd, m + sd, color="#1b9e77", alpha=0.25, label="+/- 1 std")
    for si in (s1, s2):
        ax1.axvline(si, color="0.5", ls=":", lw=1)
    ax1.set_xlabel("perturbed layer s")
    ax1.set_ylabel("log10 |det M'(s)|")
    ax1.set_title(f"A: volume amplification; s={s1} vs s={s2}: 10^{result.log10_ratio:.2f}")
    ax1.legend(fontsize="small")
    if np.any(np.isfinite(result.frob_S)):
        ax2.semilogy(s, result.frob_S, "o-", color="#d95f02")
        ax2.set_ylabel("||K M'(s)||_F (output per unit residual)")
    ax2.set_xlabel("perturbed layer s")
    ax2.set_title("B: size of the sensitivity matrix S(s)")
    fig.suptitle("Appendix A: sensitivity of the output to a perturbation of layer s")
    return fig
