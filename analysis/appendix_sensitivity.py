"""Appendix A of Lagzi (2018): how much a perturbation of layer s is amplified at the output.

With M(t) = diag(y(t)(1 - y(t))) W(t) (eq. 10), the perturbation of the residuals of layer s
reaches the final hidden layer through M'(s) = [I + M(T)] ... [I + M(s)], and the output
through S(s) = K M'(s). Products of determinants overflow, so the analysis works with

    log|det M'(s)| = sum_{t=s..T} log|det(I + M(t))|        (one slogdet per layer)

and reports, per sample and then averaged, log10|det M'(s)| for every s, the Frobenius norm
of S(s), and the paper's comparison: log10(|det M'(s1)| / |det M'(s2)|) for s1 = 4, s2 = 10
(positive and >= 2 is "orders of magnitude larger"). Note the identity behind it:
log|det M'(s1)| - log|det M'(s2)| = sum_{t=s1..s2-1} log|det(I + M(t))|, so the comparison
says whether the layers s1 .. s2-1 expand volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import as_trajectories
from ._style import new_figure

__all__ = ["SensitivityResult", "layer_sensitivity"]


@dataclass(frozen=True)
class SensitivityResult:
    """Result of :func:`layer_sensitivity` (arrays indexed by s - 1, s = 1..T)."""

    n_layers: int
    log10_det: np.ndarray = field(repr=False)  # (B, T): log10|det M'(s)| per sample
    mean_log10_det: np.ndarray = field(repr=False)  # (T,)
    frob_S: np.ndarray = field(repr=False)  # (T,) mean over samples of ||K M'(s)||_F
    s1: int
    s2: int
    log10_ratio: float  # mean over samples of log10(|det M'(s1)| / |det M'(s2)|)
    frac_samples_larger: float
    log10_frob_ratio: float  # log10(||S(s1)||_F / ||S(s2)||_F), NaN without K
    figure: object = field(repr=False, compare=False)


def layer_sensitivity(W, Y, K=None, *, s1: int = 4, s2: int = 10):
    """``log|det M'(s)|`` against s, and the s1 / s2 comparison of appendix A.

    Parameters
    ----------
    W : array_like, shape (N, N) (shared) or (T, N, N) (one matrix per layer)
    Y : array_like, shape (B, T, N)
        Residuals y(1..T) of B samples.
    K : array_like, shape (C, N), optional
        Classifier weights, for ``||S(s)||_F = ||K M'(s)||_F``.
    s1, s2 : int
        Layers compared (1-based, s1 < s2 <= T); the paper uses 4 and 10.

    Returns
    -------
    SensitivityResult
    """
    Y = as_trajectories(Y)
    B, T, N = Y.shape
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        Ws = None
        if W.shape != (N, N):
            raise ValueError(f"`W` must have shape ({N}, {N}) or ({T}, {N}, {N}); got {W.shape}.")
    elif W.shape == (T, N, N):
        Ws = W
    else:
        raise ValueError(f"`W` must have shape ({N}, {N}) or ({T}, {N}, {N}); got {W.shape}.")
    if not (1 <= s1 < s2 <= T):
        raise ValueError(f"need 1 <= `s1` < `s2` <= T = {T}; got s1={s1}, s2={s2}.")
    eye = np.eye(N)
    logdet = np.zeros((B, T))
    frob = np.full(T, np.nan)
    S = None
    if K is not None:
        K = np.asarray(K, dtype=np.float64)
        S = np.broadcast_to(K, (B,) + K.shape).copy()
    for t in range(T - 1, -1, -1):
        Wt = W if Ws is None else Ws[t]
        d = Y[:, t, :] * (1.0 - Y[:, t, :])
        A = eye[None] + d[:, :, None] * Wt[None]
        sign, ld = np.linalg.slogdet(A)
        logdet[:, t] = np.where(sign == 0, -np.inf, ld)
        if S is not None:
            S = S @ A
            frob[t] = float(np.mean(np.linalg.norm(S, axis=(1, 2))))
    cum = np.cumsum(logdet[:, ::-1], axis=1)[:, ::-1] / np.log(10.0)  # log10|det M'(s)|
    diff = cum[:, s1 - 1] - cum[:, s2 - 1]
    fig = new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    s = np.arange(1, T + 1)
    m, sd = cum.mean(axis=0), cum.std(axis=0)
    ax1.plot(s, m, "o-", color="#1b9e77", label=f"mean over {B} samples")
    ax1.fill_between(s, m - sd, m + sd, color="#1b9e77", alpha=0.25, label="+/- 1 std")
    for si in (s1, s2):
        ax1.axvline(si, color="0.5", ls=":", lw=1)
    ax1.set_xlabel("perturbed layer s")
    ax1.set_ylabel("log10 |det M'(s)|")
    ax1.set_title(f"A: volume amplification; s={s1} vs s={s2}: 10^{diff.mean():.2f}")
    ax1.legend(fontsize="small")
    if K is not None:
        ax2.semilogy(s, frob, "o-", color="#d95f02")
        ax2.set_ylabel("||K M'(s)||_F (output per unit residual)")
    ax2.set_xlabel("perturbed layer s")
    ax2.set_title("B: size of the sensitivity matrix S(s)")
    fig.suptitle("Appendix A: sensitivity of the output to a perturbation of layer s")
    return SensitivityResult(
        n_layers=T, log10_det=cum, mean_log10_det=m, frob_S=frob, s1=int(s1), s2=int(s2),
        log10_ratio=float(diff.mean()), frac_samples_larger=float(np.mean(diff > 0)),
        log10_frob_ratio=float(np.log10(frob[s1 - 1] / frob[s2 - 1])), figure=fig,
    )
