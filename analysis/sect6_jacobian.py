"""Sect. 6 of Lagzi (2018): the Jacobian at each class's mean residual after many layers.

For each class c the residuals of its samples at the last layer (the paper: layer 1000 of the
shared-weight ResNet) are averaged to ybar_c, and the Jacobian of eq. 3,
J = diag((1 - 2y)(W y)) + diag(y(1 - y)) W, is evaluated there. The paper reports, for
classes 0, 2 and 3, one small positive eigenvalue (about 0.02) and all others negative: a
saddle, passed slowly.

Since ybar_c need not be a fixed point, the analysis also refines it by Newton's method to a
nearby fixed point y*_c (:func:`dynsys.refine_fixed_point`) and classifies y*_c both as a
fixed point of the flow (real parts of the spectrum) and of the step-1 layer map that the
network computes (moduli of the multipliers), both as :func:`dynsys.refine_fixed_point`
reports them. :func:`compute_jacobian_at_class_means` returns the numbers,
:func:`plot_jacobian_at_class_means` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_labels, class_mean, frozen_copy

__all__ = ["ClassJacobian", "JacobianResult", "compute_jacobian_at_class_means",
           "plot_jacobian_at_class_means", "describe_type"]


def describe_type(label: str, n_unstable: int) -> str:
    """Name a fixed point type, with the saddle index: ``"saddle (index 1)"``."""
    return f"saddle (index {int(n_unstable)})" if label == "saddle" else str(label)


@dataclass(frozen=True, repr=False)
class ClassJacobian(ShortRepr):
    """Spectrum at one class's mean residual and at the refined fixed point nearby."""

    cls: int
    max_real: float
    n_positive: int
    small_positive: bool
    type_at_mean: str
    fixed_point: np.ndarray = field(repr=False)
    residual_norm: float
    converged: bool
    in_box: bool
    distance: float
    fp_max_real: float
    fp_type_flow: str
    fp_type_map: str
    eigenvalues: np.ndarray = field(repr=False)


@dataclass(frozen=True, repr=False)
class JacobianResult(ShortRepr):
    """Result of :func:`compute_jacobian_at_class_means`; ``per_class`` is a tuple of
    ClassJacobian. The tolerances it was computed with are stored under their names."""

    per_class: tuple
    saddle_classes: tuple
    index1_small_classes: tuple
    n_distinct_fixed_points: int
    small: float
    zero_tol: float
    residual_tol: float
    refined: bool


def compute_jacobian_at_class_means(W, final_residuals, labels, *, small: float = 0.1,
                                    zero_tol: float = 1e-6, residual_tol: float = 1e-10,
                                    refine: bool = True):
    """Spectrum of eq. 3's Jacobian at each class's mean final residual (Sect. 6).

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        The shared-weight network (or its weight matrix).
    final_residuals : array_like, shape (B, N)
        y(T) of the samples (T = 1000 in the paper).
    labels : array_like of int, shape (B,)
    small : float
        A positive eigenvalue is "small" when its real part is below this (the paper: 0.02).
    zero_tol : float
        Real parts within ``[-zero_tol, zero_tol]`` (and multiplier moduli within `zero_tol`
        of 1) count as zero: the point is non-hyperbolic.
    residual_tol : float
        Newton's acceptance threshold on the residual of the refined fixed point.
    refine : bool
        Also refine each class mean to a fixed point and classify it.

    Returns
    -------
    JacobianResult
    """
    from dynsys import refine_fixed_point, spectrum_at

    Y = np.asarray(final_residuals, dtype=np.float64)
    lab = as_labels(labels, Y.shape[0])
    classes = np.unique(lab)
    means = class_mean(Y, lab, classes)
    out = []
    fps = []
    for c, ybar in zip(classes, means):
        sp = spectrum_at(W, ybar, zero_tol=zero_tol)
        ev = np.asarray(sp.eigenvalues)
        npos, maxre = int(sp.unstable_dim), float(sp.max_real)
        kind = describe_type(sp.stability, npos)
        if refine:
            rf = refine_fixed_point(W, ybar, residual_tol=residual_tol, zero_tol=zero_tol)
            ystar = np.asarray(rf.point)
            flow = describe_type(rf.stability, rf.unstable_dim)
            mp = (describe_type(rf.map_stability, rf.map_unstable_dim) if rf.in_box
                  else "outside the unit cube")
            fp_max = float(np.max(np.real(rf.eigenvalues)))
            rn, conv, inbox = float(rf.residual), bool(rf.converged), bool(rf.in_box)
            fps.append(ystar)
        else:
            ystar, rn, conv, flow, mp, fp_max, inbox = ybar, np.nan, False, "", "", np.nan, False
        out.append(ClassJacobian(
            cls=int(c), max_real=maxre, n_positive=npos,
            small_positive=bool(npos == 1 and 0 < maxre < small), type_at_mean=kind,
            fixed_point=frozen_copy(ystar), residual_norm=float(rn), converged=bool(conv),
            in_box=inbox, distance=float(np.linalg.norm(ystar - ybar)), fp_max_real=fp_max,
            fp_type_flow=flow, fp_type_map=mp, eigenvalues=frozen_copy(ev),
        ))
    n_fp = 0
    if fps:
        from .fig5_class_residuals import count_distinct_states

        n_fp = count_distinct_states(np.array(fps), 1e-4)[0]
    return JacobianResult(
        per_class=tuple(out),
        saddle_classes=tuple(cj.cls for cj in out if cj.type_at_mean.startswith("saddle")),
        index1_small_classes=tuple(cj.cls for cj in out if cj.small_positive),
        n_distinct_fixed_points=int(n_fp), small=float(small), zero_tol=float(zero_tol),
        residual_tol=float(residual_tol), refined=bool(refine),
    )


def plot_jacobian_at_class_means(result: JacobianResult):
    """Sect. 6's figure from a :class:`JacobianResult`: spectra and largest real parts."""
    from ._style import class_color, new_figure

    out, refine = result.per_class, result.refined
    fig = new_figure(12, 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    for cj in out:
        ax1.scatter(cj.eigenvalues.real, cj.eigenvalues.imag, s=8, color=class_color(cj.cls),
                    label=f"{cj.cls}: {cj.type_at_mean}", alpha=0.7)
    ax1.axvline(0, color="k", lw=0.8)
    ax1.set_xscale("symlog", linthresh=1e-3)
    ax1.set_xlabel("Re(eigenvalue) (1/layer)")
    ax1.set_ylabel("Im(eigenvalue) (1/layer)")
    ax1.set_title("A: spectrum of J at each class's mean residual")
    ax1.legend(fontsize="x-small", ncol=2, title="class: type")
    x = np.arange(len(out))
    ax2.bar(x - 0.2, [cj.max_real for cj in out], width=0.4,
            color=[class_color(cj.cls) for cj in out], label="at class mean")
    if refine:
        ax2.bar(x + 0.2, [cj.fp_max_real for cj in out], width=0.4, color="0.6",
                label="at refined fixed point")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set_yscale("symlog", linthresh=1e-3)
    ax2.set_xticks(x, [str(cj.cls) for cj in out])
    ax2.set_xlabel("class")
    ax2.set_ylabel("largest real part (1/layer)")
    ax2.set_title("B: largest real part per class")
    ax2.legend(fontsize="small")
    fig.suptitle("Sect. 6: Jacobian of eq. 3 at the class means of the last layer")
    return fig
