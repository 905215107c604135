"""Fig. 3 of Lagzi (2018): the neuron the classifier weighs most, class by class.

For each class c the neuron ``k_c = argmax_i K[c, i]`` (largest classifier weight) is chosen.
Its residual y_{k_c}(t) and cumulative signal x_{k_c}(t) = x_{k_c}(0) + sum_{s<=t} y_{k_c}(s)
are averaged over the samples of class c. The paper's statement "in all cases but class 8 the
cumulative with the highest final value corresponds to the class most sensitive to that
neuron" is tested as: for the samples of class c, among the chosen neurons
{k_0, ..., k_{C-1}}, the largest mean x(T) is that of k_c (``row_match``). The transposed
reading (neuron k_c is driven hardest by class c) is reported as ``column_match``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_labels, as_trajectories, frozen_copy

__all__ = ["ClassifierNeuronsResult", "compute_classifier_neurons", "plot_classifier_neurons"]


@dataclass(frozen=True, repr=False)
class ClassifierNeuronsResult(ShortRepr):
    """Result of :func:`compute_classifier_neurons`.

    Attributes
    ----------
    classes : tuple of int
    neurons : tuple of int
        k_c for each class c (argmax of row c of K).
    final_cumulative : ndarray, shape (C, C)
        ``[c, d]`` = mean over samples of class c of x_{k_d}(T).
    mean_residual, mean_cumulative : ndarray, shape (C, T) and (C, T + 1)
        Class c's mean of y_{k_c}(t), t = 1..T, and of x_{k_c}(t), t = 0..T (NaN for a class
        without samples).
    row_match, column_match : tuple of bool
        Per class: the paper's reading and its transpose (see the module docstring).
    n_match : int
        Number of classes with ``row_match``.
    """

    classes: tuple
    neurons: tuple
    final_cumulative: np.ndarray = field(repr=False)
    mean_residual: np.ndarray = field(repr=False)
    mean_cumulative: np.ndarray = field(repr=False)
    present: tuple
    row_match: tuple
    column_match: tuple
    n_match: int
    n_column_match: int
    mismatched_classes: tuple


def compute_classifier_neurons(K, Y, x0, labels):
    """The most-weighted neuron of each class: its residual, cumulative and final value.

    Parameters
    ----------
    K : array_like, shape (C, N)
        Classifier weights (softmax layer acting on x(T)).
    Y : array_like, shape (T, B, N)
        Residual trajectories y(1..T).
    x0 : array_like, shape (B, N)
        Inputs x(0) (after any input projection), the start of the cumulative signal.
    labels : array_like of int, shape (B,), values in 0..C-1

    Returns
    -------
    ClassifierNeuronsResult
    """
    K = np.asarray(K, dtype=np.float64)
    Y = as_trajectories(Y)
    T, B, N = Y.shape
    x0 = np.asarray(x0, dtype=np.float64)
    if K.ndim != 2 or K.shape[1] != N:
        raise ValueError(f"`K` must have shape (C, {N}); got {K.shape}.")
    if x0.shape != (B, N):
        raise ValueError(f"`x0` must have shape ({B}, {N}); got {x0.shape}.")
    lab = as_labels(labels, B)
    C = K.shape[0]
    classes = np.arange(C)
    present = np.array([np.any(lab == c) for c in classes])
    neurons = np.argmax(K, axis=1)
    ysel = Y[:, :, neurons]  # (T, B, C)
    xsel = np.concatenate([x0[None, :, neurons], x0[None, :, neurons] + np.cumsum(ysel, axis=0)])
    mean_y = np.full((C, T), np.nan)
    mean_x = np.full((C, T + 1), np.nan)
    final = np.full((C, C), np.nan)
    for c in classes[present]:
        m = lab == c
        mean_y[c] = ysel[:, m, c].mean(axis=1)
        mean_x[c] = xsel[:, m, c].mean(axis=1)
        final[c] = xsel[-1, m, :].mean(axis=0)
    row = tuple(bool(present[c] and np.nanargmax(final[c]) == c) for c in classes)
    col = tuple(bool(present[c] and np.nanargmax(final[:, c]) == c) for c in classes)
    return ClassifierNeuronsResult(
        classes=tuple(int(c) for c in classes),
        neurons=tuple(int(k) for k in neurons),
        final_cumulative=frozen_copy(final),
        mean_residual=frozen_copy(mean_y),
        mean_cumulative=frozen_copy(mean_x),
        present=tuple(bool(p) for p in present),
        row_match=row,
        column_match=col,
        n_match=int(sum(row)),
        n_column_match=int(sum(col)),
        mismatched_classes=tuple(int(c) for c in classes if present[c] and not row[c]),
    )


def plot_classifier_neurons(result: ClassifierNeuronsResult):
    """Fig. 3 from a :class:`ClassifierNeuronsResult`."""
    from ._style import class_color, new_figure

    fig = new_figure(11, 4.4)
    ax1, ax2 = fig.subplots(1, 2)
    T = result.mean_residual.shape[1]
    t = np.arange(1, T + 1)
    for c in result.classes:
        if not result.present[c]:
            continue
        lbl = f"class {c} (neuron {result.neurons[c]})"
        ax1.plot(t, result.mean_residual[c], color=class_color(c), lw=1.5, label=lbl)
        ax2.plot(np.arange(0, T + 1), result.mean_cumulative[c], color=class_color(c), lw=1.5,
                 ls="-" if result.row_match[c] else "--", label=lbl)
    ax1.set_title("A: residual of the most-weighted neuron (class mean)")
    ax1.set_xlabel("layer t")
    ax1.set_ylabel("residual y(t) (logistic output, 0-1)")
    ax1.legend(fontsize="x-small", ncol=2)
    ax2.set_title(f"B: cumulative x(t); dashed = not largest at T "
                  f"({result.n_match}/{sum(result.present)} match)")
    ax2.set_xlabel("layer t")
    ax2.set_ylabel("cumulative signal x(t) (input units)")
    fig.suptitle("Fig. 3: neurons with the largest classifier weight, one per class")
    return fig
