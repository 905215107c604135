"""Fig. 5 of Lagzi (2018): class-by-class mean and std of the final-layer residuals.

Inputs are the residuals y(T) of the final hidden layer (ResNet run to T = 1000 layers, MLP)
for the same samples. Numbers:

* ``within_std``: the within-class standard deviation, averaged over neurons and classes;
* ``frac_dims_differ``: fraction of neurons whose class means span more than `span_tol`
  (max minus min over classes): the paper says the ResNet's class means "differ in a few
  dimensions", a large number being identical;
* ``n_distinct_states``: number of distinct class-mean states (classes whose mean vectors lie
  within `distance_tol` in max-norm are merged): "a few non-zero fixed points".

:func:`compute_class_residuals` returns the numbers, :func:`plot_class_residuals` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_labels, class_mean, class_std, frozen_copy

__all__ = ["ClassResiduals", "ClassResidualsResult", "compute_class_residuals",
           "plot_class_residuals", "count_distinct_states"]


def count_distinct_states(points, distance_tol: float) -> tuple[int, tuple]:
    """Group rows of `points` (C, N) whose max-norm distance is <= `distance_tol` (single
    linkage).

    Returns the number of groups and the group index of each row.

    Examples
    --------
    >>> count_distinct_states([[0, 0], [0, 0.001], [1, 1]], 0.01)[0]
    2
    """
    P = np.asarray(points, dtype=float)
    n = P.shape[0]
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if np.max(np.abs(P[i] - P[j])) <= distance_tol:
                parent[find(i)] = find(j)
    roots = [find(i) for i in range(n)]
    uniq = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return len(uniq), tuple(uniq[r] for r in roots)


@dataclass(frozen=True, repr=False)
class ClassResiduals(ShortRepr):
    """Final-layer statistics of one network."""

    name: str
    mean: np.ndarray = field(repr=False)  # (C, N)
    std: np.ndarray = field(repr=False)  # (C, N)
    within_std: float
    frac_dims_differ: float
    n_distinct_states: int
    state_of_class: tuple
    frac_nonzero_state: float


@dataclass(frozen=True, repr=False)
class ClassResidualsResult(ShortRepr):
    """Result of :func:`compute_class_residuals`."""

    networks: dict
    classes: tuple
    span_tol: float
    distance_tol: float


def compute_class_residuals(final_residuals, labels, *, span_tol: float = 0.05,
                            distance_tol: float = 0.05):
    """Class means and standard deviations of final-layer residuals (Fig. 5).

    Parameters
    ----------
    final_residuals : dict of str -> array_like, shape (B, N)
        y(T) per network for the same samples.
    labels : array_like of int, shape (B,)
    span_tol : float
        A neuron's class means "differ" when their span (max minus min over classes)
        exceeds this (residual units).
    distance_tol : float
        Class-mean states within this max-norm distance are merged (residual units).

    Returns
    -------
    ClassResidualsResult
    """
    out = {}
    classes = None
    for name, Y in final_residuals.items():
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim != 2:
            raise ValueError(f"`final_residuals[{name!r}]` must have shape (B, N); got {Y.shape}.")
        lab = as_labels(labels, Y.shape[0])
        classes = np.unique(lab)
        mu = class_mean(Y, lab, classes)
        sd = class_std(Y, lab, classes)
        span = mu.max(axis=0) - mu.min(axis=0)
        n_states, state_of = count_distinct_states(mu, distance_tol)
        out[name] = ClassResiduals(
            name=name, mean=frozen_copy(mu), std=frozen_copy(sd), within_std=float(sd.mean()),
            frac_dims_differ=float(np.mean(span > span_tol)),
            n_distinct_states=n_states, state_of_class=state_of,
            frac_nonzero_state=float(np.mean(mu.max(axis=1) > distance_tol)),
        )
    return ClassResidualsResult(networks=out, classes=tuple(int(c) for c in classes),
                                span_tol=span_tol, distance_tol=distance_tol)


def plot_class_residuals(result: ClassResidualsResult):
    """Fig. 5 from a :class:`ClassResidualsResult`: class means and stds of y(T)."""
    from ._style import new_figure

    out, classes = result.networks, result.classes
    fig = new_figure(12, 3.0 * len(out) + 0.6)
    axes = fig.subplots(len(out), 2, squeeze=False)
    for i, (name, cr) in enumerate(out.items()):
        for j, (arr, what) in enumerate(((cr.mean, "mean"), (cr.std, "std"))):
            ax = axes[i, j]
            im = ax.imshow(arr, aspect="auto", interpolation="nearest", cmap="viridis",
                           vmin=0, vmax=1 if what == "mean" else max(float(arr.max()), 1e-6))
            ax.set_yticks(range(len(classes)), [str(c) for c in classes])
            ax.set_xlabel("neuron index")
            ax.set_ylabel("class")
            ax.set_title(f"{name}: {what} of y(T) per class "
                         + (f"({cr.n_distinct_states} distinct states)" if what == "mean"
                            else f"(avg {cr.within_std:.3g})"))
            fig.colorbar(im, ax=ax, label=f"{what} (residual units)")
    fig.suptitle("Fig. 5: final-layer residuals, class by class")
    return fig
