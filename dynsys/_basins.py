"""Basins of attraction of the stable fixed points of eq. 3 in the unit cube (small N).

Monte Carlo: sample initial residuals uniformly in the open cube (0, 1)^N, integrate
dy/dt = y(1-y)(Wy) (eq. 3) to a time `t_max` with the batched adaptive kernel, and assign each
sample to the stable fixed point in [0, 1]^N that its end state lies within `tol` of (max
norm). Samples that end near no stable point (slow convergence, a saddle's stable manifold,
a continuum of fixed points, a limit cycle) are "unassigned". A basin's fraction p of the
cube's volume is estimated by the fraction of samples, with the binomial standard error
sqrt(p (1 - p) / n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_square_matrix, check_int, check_positive_float
from ._fixed_points import fixed_points
from ._integrate import integrate
from ._system import ResidualSystem
from ._arrays import readonly as _frozen

__all__ = ["Basins", "basins"]

#: Largest N accepted by :func:`basins` without `points` (the enumeration of 3^N patterns).
MAX_N = 10


@dataclass(frozen=True)
class Basins:
    """Basin fractions of the stable fixed points of eq. 3 (immutable).

    Attributes
    ----------
    points : ndarray, shape (M, N)
        The stable fixed points in the closed unit cube, one per basin.
    counts : ndarray of int64, shape (M,)
        Samples assigned to each point.
    fractions : ndarray, shape (M,)
        ``counts / n_samples``: the estimated volume fraction of each basin.
    stderr : ndarray, shape (M,)
        Binomial standard errors sqrt(p (1 - p) / n_samples).
    n_unassigned : int
        Samples whose end state is within `tol` of no stable point.
    unassigned_fraction, unassigned_stderr : float
        Their fraction and its standard error.
    n_samples : int
    labels : ndarray of int64, shape (n_samples,)
        Index into `points` per sample, -1 for unassigned.
    initial : ndarray, shape (n_samples, N)
        The sampled initial conditions.
    final : ndarray, shape (n_samples, N)
        The states at `t_max`.
    t_max, tol : float
    seed : int or None
    """

    points: np.ndarray
    counts: np.ndarray
    fractions: np.ndarray
    stderr: np.ndarray
    n_unassigned: int
    unassigned_fraction: float
    unassigned_stderr: float
    n_samples: int
    labels: np.ndarray
    initial: np.ndarray
    final: np.ndarray
    t_max: float
    tol: float
    seed: object




def _stable_points_in_box(W) -> np.ndarray:
    """Stable fixed points in [0, 1]^N from :func:`dynsys.fixed_points`."""
    return np.array(fixed_points(W, only="stable_in_box").points, dtype=np.float64)


def _assign(final, points, tol):
    """Index of the point within `tol` (max norm) of each end state, else -1 (nearest wins)."""
    if points.shape[0] == 0:
        return np.full(final.shape[0], -1, dtype=np.int64)
    dist = np.max(np.abs(final[:, None, :] - points[None, :, :]), axis=2)
    nearest = np.argmin(dist, axis=1)
    ok = dist[np.arange(final.shape[0]), nearest] <= tol
    return np.where(ok, nearest, -1).astype(np.int64)


def basins(W, *, n_samples: int = 10_000, seed=0, t_max: float = 200.0, tol: float = 1e-3,
           points=None, rtol: float = 1e-8, atol: float = 1e-10) -> Basins:
    """Estimate the basins of attraction of the stable fixed points of eq. 3 in the unit cube.

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
        Weights; N <= 10 unless `points` is given.
    n_samples : int
        Initial conditions drawn uniformly in the open cube (0, 1)^N.
    seed : int, numpy.random.Generator or None
        Seed of the sampler (``numpy.random.default_rng(seed)``).
    t_max : float
        Integration time of eq. 3 (adaptive Dormand-Prince 5(4), tolerances `rtol`, `atol`).
    tol : float
        A sample belongs to a stable point if its state at `t_max` is within `tol` of it in
        the max norm.
    points : array_like, shape (M, N), optional
        The attractors to assign to. Default: ``dynsys.fixed_points(W, only="stable_in_box")``.
    rtol, atol : float
        Integration tolerances.

    Returns
    -------
    Basins
        Fractions with binomial standard errors, per-sample labels and end states.

    Notes
    -----
    Fractions of all basins plus the unassigned fraction sum to 1. A large unassigned
    fraction means `t_max` is too short for the slowest approach, or that trajectories end
    elsewhere (non-hyperbolic or non-isolated fixed points, cycles).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> bas = dynsys.basins(W, n_samples=200, points=[[1.0, 1.0]])
    >>> float(bas.fractions[0])
    1.0
    """
    Wm = W.W if isinstance(W, ResidualSystem) else as_square_matrix(W, "W")
    n = Wm.shape[0]
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    t_max = check_positive_float(t_max, "t_max")
    tol = check_positive_float(tol, "tol")
    if points is None:
        if n > MAX_N:
            raise ValueError(
                f"`W` has N = {n} > {MAX_N}: enumerating the 3^N fixed-point patterns is too "
                "costly; pass the attractors as `points`."
            )
        pts = _stable_points_in_box(Wm)
    else:
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 1 and pts.size == n:
            pts = pts[None, :]
        if pts.ndim != 2 or pts.shape[1] != n:
            raise ValueError(f"`points` must have shape (M, {n}); got shape {pts.shape}.")
        if not np.all(np.isfinite(pts)):
            raise ValueError("`points` must be finite.")
    rng = np.random.default_rng(seed)
    # uniform on [tiny, 1): the open cube up to the (zero-probability) value 1 - 2^-53
    y0 = rng.uniform(np.nextafter(0.0, 1.0), 1.0, size=(n_samples, n))
    sol = integrate(Wm, y0, np.array([0.0, t_max]), method="adaptive", rtol=rtol, atol=atol)
    final = sol.y[-1]
    labels = _assign(final, pts, tol)
    counts = np.bincount(labels[labels >= 0], minlength=pts.shape[0]).astype(np.int64)
    frac = counts / n_samples
    n_un = int(np.count_nonzero(labels < 0))
    p_un = n_un / n_samples
    return Basins(
        points=_frozen(pts.copy()), counts=_frozen(counts), fractions=_frozen(frac),
        stderr=_frozen(np.sqrt(frac * (1.0 - frac) / n_samples)), n_unassigned=n_un,
        unassigned_fraction=float(p_un),
        unassigned_stderr=float(np.sqrt(p_un * (1.0 - p_un) / n_samples)),
        n_samples=n_samples, labels=_frozen(labels), initial=_frozen(y0),
        final=_frozen(np.array(final)), t_max=t_max, tol=tol,
        seed=seed if isinstance(seed, (int, type(None))) else None,
    )
