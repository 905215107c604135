"""Two depth rules: adaptive depth (Lagzi 2018, Sect. 7) and perturbation from identity (Hauser 2019).

Adaptive depth (Lagzi 2018, "Residual networks classify inputs based on their neural transient
dynamics", Sect. 7)
    After each training epoch take r1 = y(T) and r2 = y(T-1), the residuals of the last and
    second-to-last layers on training data. If ``mean |r1 - r2|``, the mean absolute difference
    per neuron, averaged over neurons and over the training samples, is below a threshold
    (0.01, the paper's "0.01 for each neuron on average"), remove the last layer: a
    shared-weight network simply runs one layer fewer (depth T - 1); a per-layer network drops
    layer T's W and b together with their optimizer state. Converged residuals are a sufficient
    condition, not a necessary one: shallower networks may still classify as well.

Perturbation from identity (Hauser 2019, "On residual networks learning a perturbation from
identity", arXiv 1902.04106)
    Each residual block is x -> x + F(x) with F(x(t-1)) = y(t). The absolute perturbation
    magnitude of block t is ``|F(x)|_2`` and the scaled one ``|F(x)|_2 / |x|_2`` (x the block's
    input x(t-1)), each averaged over samples; the overall magnitude is their mean over
    blocks. The stopping rule takes the shallowest depth whose average magnitude is below a
    chosen epsilon; the depth sweep (:func:`nets.depth_sweep`, in :mod:`nets.sweep`) trains at
    several depths and fits the log-log slope of the average scaled magnitude against depth
    (the paper reports it roughly inversely proportional to depth, a slope near -1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .config import DEPTH_CRITERIA
from .models import LayeredNet

__all__ = [
    "residual_change",
    "remove_last_layer",
    "adaptive_depth_step",
    "PerturbationMagnitudes",
    "perturbation_magnitudes",
    "stopping_depth",
    "DepthSweep",
    "loglog_slope",
]


def _as_tensor(model, x):
    p = next(model.parameters())
    if not torch.is_tensor(x):
        x = torch.from_numpy(np.array(x, dtype=np.float32))
    return x.to(p.device, p.dtype)


def _last_two_residuals(model: LayeredNet, x: torch.Tensor):
    """y(T-1), y(T) for a batch `x`, running the model's own layer step (no full record)."""
    state = model.embed(x)
    prev = last = None
    for t in range(1, model.depth + 1):
        y, state = model.step(t, state)
        prev, last = last, y
    return prev, last


@torch.no_grad()
def residual_change(model: LayeredNet, x, batch_size: int = 4096, *,
                    centred: bool = False) -> float:
    """The change between the last two residuals for inputs `x` (B, D): Sect. 7's measure.

    ``centred=False`` (the paper's): ``mean |y(T) - y(T-1)|`` over the B samples and N neurons.
    ``centred=True``: ``mean |d - mean_B d|`` with ``d = y(T) - y(T-1)``, the same after each
    neuron's mean over the samples is removed from both residuals. A change that is the same
    for every input does not count: in a layer whose units are saturated whatever the input
    (they get no gradient and keep their random weights), units that flip from 0 to 1 between
    the last two layers contribute 1 each to the paper's measure for every input, although
    the layer only shifts x(T) by a constant vector that the classifier's bias absorbs.

    Runs the model's own layer step (:meth:`LayeredNet.step`) and keeps only the last two
    residuals, so memory does not grow with depth; the centred form keeps the differences of
    every batch (B x N numbers, the size of `x`) until their means are known, in one forward
    pass.

    Parameters
    ----------
    model : LayeredNet
        A ResNet or MLP of :mod:`nets` (evaluated in eval mode, then restored).
    x : array_like or Tensor, shape (B, D)
        Inputs, for example the fixed training subset of ``TrainConfig.depth_check_samples``.
    batch_size : int
        Rows per forward pass.
    centred : bool
        The centred measure (``depth_criterion="centred"``) instead of the paper's.

    Returns
    -------
    float
        The mean over the B x N entries; NaN for a network of depth 1.
    """
    if model.depth < 2:
        return math.nan
    was_training = model.training
    model.eval()
    x = _as_tensor(model, x)
    step = int(batch_size)
    total, count, diffs = 0.0, 0, []
    for start in range(0, len(x), step):
        prev, last = _last_two_residuals(model, x[start:start + step])
        d = last - prev
        if centred:
            diffs.append(d)
        else:
            total += float(d.abs().sum(dtype=torch.float64))
            count += d.numel()
    if diffs:  # centred
        d = torch.cat(diffs).to(torch.float64)
        total, count = float((d - d.mean(dim=0)).abs().sum()), d.numel()
    model.train(was_training)
    return total / max(count, 1)


def remove_last_layer(model: LayeredNet, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Remove layer T of `model`; per-layer weights also leave `optimizer` (state included)."""
    removed = model.remove_last_layer()
    if optimizer is None or not removed:
        return
    ids = {id(p) for p in removed}
    for group in optimizer.param_groups:
        group["params"] = [p for p in group["params"] if id(p) not in ids]
    for p in removed:
        optimizer.state.pop(p, None)


def adaptive_depth_step(model: LayeredNet, x, optimizer=None, threshold: float = 0.01,
                        min_depth: int = 1, batch_size: int = 4096, *,
                        criterion: str = "paper") -> tuple[bool, float]:
    """One check of the Sect. 7 rule; returns ``(removed, change)``.

    `change` is :func:`residual_change` on `x` (``centred=True`` for ``criterion="centred"``,
    see :data:`nets.DEPTH_CRITERIA`); the last layer is removed (see
    :func:`remove_last_layer`) when ``change < threshold`` and the depth exceeds `min_depth`.

    Parameters
    ----------
    model : LayeredNet
        A residual network of :mod:`nets`, changed in place when a layer goes.
    x : array_like or Tensor, shape (B, D)
        The inputs the change is measured on (training data).
    optimizer : torch.optim.Optimizer, optional
        Loses the removed layer's parameters and their state (per-layer weights).
    threshold : float
        Remove the last layer when the change is below it (the paper: 0.01).
    min_depth : int
        Never go below this depth.
    batch_size : int
        Rows per forward pass.
    criterion : {"paper", "centred"}
        How the change is measured (:func:`residual_change`).

    Returns
    -------
    removed : bool
    change : float
        The measured change (NaN at depth 1).

    Raises
    ------
    ValueError
        An unknown `criterion`.
    """
    if criterion not in DEPTH_CRITERIA:
        raise ValueError(f"`criterion` must be one of {', '.join(DEPTH_CRITERIA)}; "
                         f"got {criterion!r}.")
    centred = criterion == "centred"
    if model.depth < 2 or model.depth <= int(min_depth):
        return False, (residual_change(model, x, batch_size, centred=centred)
                       if model.depth >= 2 else math.nan)
    change = residual_change(model, x, batch_size, centred=centred)
    if change < float(threshold):
        remove_last_layer(model, optimizer)
        return True, change
    return False, change


# ---------------------------------------------------------------------------------------------
# perturbation from identity


@dataclass(frozen=True)
class PerturbationMagnitudes:
    """Perturbation magnitudes of every block of a residual network (read-only arrays).

    Attributes
    ----------
    absolute : ndarray, shape (T,)
        Block t: the sample mean of ``|F(x(t-1))|_2 = |y(t)|_2``.
    scaled : ndarray, shape (T,)
        Block t: the sample mean of ``|y(t)|_2 / |x(t-1)|_2``.
    mean_absolute, mean_scaled : float
        The means over blocks (the "average perturbation magnitude" of Hauser 2019).
    """

    absolute: np.ndarray
    scaled: np.ndarray
    mean_absolute: float
    mean_scaled: float

    @property
    def depth(self) -> int:
        return int(self.absolute.shape[0])


@torch.no_grad()
def perturbation_magnitudes(model: LayeredNet, x, batch_size: int = 4096,
                            eps: float = 1e-12) -> PerturbationMagnitudes:
    """Absolute and scaled perturbation magnitudes per block (see the module docstring).

    `x` are network inputs (B, D). Blocks whose input has norm 0 contribute
    ``|F| / max(|x|, eps)``.
    """
    if not model.residual:
        raise ValueError("perturbation magnitudes need a residual network; the MLP has no "
                         "identity path x -> x + F(x).")
    was_training = model.training
    model.eval()
    x = _as_tensor(model, x)
    T = model.depth
    abs_sum = torch.zeros(T, dtype=torch.float64)
    rel_sum = torch.zeros(T, dtype=torch.float64)
    n = 0
    for start in range(0, len(x), int(batch_size)):
        state = model.embed(x[start:start + int(batch_size)])
        for t in range(1, T + 1):
            norm_in = state.double().norm(dim=1)
            y, state = model.step(t, state)
            norm_f = y.double().norm(dim=1)
            abs_sum[t - 1] += norm_f.sum().cpu()
            rel_sum[t - 1] += (norm_f / norm_in.clamp_min(eps)).sum().cpu()
        n += state.shape[0]
    model.train(was_training)
    absolute = (abs_sum / max(n, 1)).numpy()
    scaled = (rel_sum / max(n, 1)).numpy()
    absolute.setflags(write=False)
    scaled.setflags(write=False)
    return PerturbationMagnitudes(absolute, scaled, float(absolute.mean()), float(scaled.mean()))


def loglog_slope(depths, values) -> tuple[float, float]:
    """Least-squares fit ``log(value) = slope * log(depth) + intercept``; returns both."""
    d = np.asarray(depths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if d.shape != v.shape or d.ndim != 1 or len(d) < 2:
        raise ValueError("`depths` and `values` must be 1-D of the same length >= 2.")
    if np.any(d <= 0) or np.any(v <= 0):
        raise ValueError("`depths` and `values` must be positive for a log-log fit.")
    slope, intercept = np.polyfit(np.log(d), np.log(v), 1)
    return float(slope), float(intercept)


def stopping_depth(depths, magnitudes, epsilon: float):
    """The stopping rule of Hauser 2019: the shallowest depth whose magnitude < `epsilon`.

    `depths` and `magnitudes` are paired (for example a :class:`DepthSweep`'s ``depths`` and
    ``mean_scaled``, or ``mean_absolute``). Returns ``None`` when no depth qualifies.
    """
    pairs = sorted(zip((int(d) for d in depths), (float(m) for m in magnitudes)))
    for d, m in pairs:
        if m < float(epsilon):
            return d
    return None


@dataclass(frozen=True)
class DepthSweep:
    """Result of :func:`nets.depth_sweep`.

    Attributes
    ----------
    depths : tuple of int
    mean_absolute, mean_scaled : tuple of float
        The average (over blocks and samples) absolute and scaled magnitudes per depth.
    test_accuracy : tuple of float
    slope, intercept : float
        The log-log fit of `mean_scaled` against depth (Hauser 2019 reports about -1).
    magnitudes : tuple of PerturbationMagnitudes
        Per depth, the per-block values.
    """

    depths: tuple
    mean_absolute: tuple
    mean_scaled: tuple
    test_accuracy: tuple
    slope: float
    intercept: float
    magnitudes: tuple

    def stopping_depth(self, epsilon: float, scaled: bool = True):
        """Shallowest depth whose average (scaled or absolute) magnitude is below `epsilon`."""
        values = self.mean_scaled if scaled else self.mean_absolute
        return stopping_depth(self.depths, values, epsilon)
