"""Basins of attraction of the stable fixed points in the unit cube (small N), flow or map.

Monte Carlo: sample initial residuals y uniformly in the open cube (0, 1)^N, run them, and
assign each sample to the stable fixed point in [0, 1]^N that its end state lies within
`distance_tol` of (max norm). Two dynamics share the fixed points of eq. 3 (Lagzi 2018,
"Residual networks classify inputs based on their neural transient dynamics") but not their
stability:

* ``dynamics="flow"``: integrate dy/dt = y(1-y)(Wy) (eq. 3) to a time `t_max` with the
  batched adaptive kernel; the attractors are the flow-stable fixed points in the box;
* ``dynamics="map"``: iterate the step-1 layer map that a shared-weight ResNet computes,
  in logit coordinates ``z <- z + W f(z)`` from ``z = f^{-1}(y)``, for `depth` layers; the
  attractors are the map-stable fixed points in the box (all multipliers inside the unit
  circle). Logit coordinates keep saturated coordinates exact (a residual that rounds to 0.0
  or 1.0 still has a finite z).

Samples that end near no attractor (slow convergence, a saddle's stable manifold, a
continuum of fixed points, a cycle or chaos of the map) are "unassigned". A basin's fraction p
of the cube's volume is estimated by the fraction of samples, with the binomial standard error
sqrt(p (1 - p) / n). The same `seed` draws the same samples for both dynamics, so their
labels can be compared sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._activation import activation_box
from ._validation import _to_float_array, as_points, check_choice, check_int, check_positive_float
from ._fixed_points import fixed_points
from ._integrate import integrate
from ._fixed_points._local import weights_and_activation
from ._stability import STABLE
from ._arrays import readonly as _frozen

__all__ = ["Basins", "basins", "DYNAMICS"]

#: Largest N accepted by :func:`basins` without `points` (the enumeration of 3^N patterns).
MAX_N = 10
#: The two dynamics whose basins :func:`basins` estimates.
DYNAMICS = ("flow", "map")

_DEFAULT_T_MAX = 200.0
_DEFAULT_DEPTH = 1000


@dataclass(frozen=True, repr=False, eq=False)
class Basins:
    """Basin fractions of the stable fixed points of the flow or the layer map (immutable).

    Attributes
    ----------
    dynamics : str
        ``"flow"`` (eq. 3) or ``"map"`` (the step-1 layer map).
    points : ndarray, shape (M, N)
        The attractors, one per basin: the fixed points in the closed unit cube that are
        stable for `dynamics` (or the given `points`).
    counts : ndarray of int64, shape (M,)
        Samples assigned to each point.
    fractions : ndarray, shape (M,)
        ``counts / n_samples``: the estimated volume fraction of each basin.
    stderr : ndarray, shape (M,)
        Binomial standard errors sqrt(p (1 - p) / n_samples).
    n_unassigned : int
        Samples whose end state is within `distance_tol` of no attractor.
    unassigned_fraction, unassigned_stderr : float
        Their fraction and its standard error.
    n_samples : int
    labels : ndarray of int64, shape (n_samples,)
        Index into `points` per sample, -1 for unassigned.
    initial : ndarray, shape (n_samples, N)
        The initial residuals y.
    final : ndarray, shape (n_samples, N)
        The residuals at `t_max` (flow) or after `depth` layers (map).
    t_max : float or None
        Flow: the integration time (None for the map).
    depth : int or None
        Map: the number of layers (None for the flow).
    distance_tol : float
        Max-norm distance under which an end state belongs to an attractor.
    rtol, atol : float or None
        Flow: the integration tolerances (None for the map).
    seed : int or None
        The sampler's seed (None if a Generator or explicit `initial` was given).
    activation : {"logistic", "tanh"}
        The activation; samples and attractors lie in its box, (0, 1)^N or (-1, 1)^N.
    """

    dynamics: str
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
    t_max: float | None
    depth: int | None
    distance_tol: float
    rtol: float | None
    atol: float | None
    seed: object
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        run = f"t_max={self.t_max:g}" if self.dynamics == "flow" else f"depth={self.depth}"
        fr = ", ".join(f"{p:.3f}" for p in self.fractions[:6])
        more = ", ..." if self.fractions.size > 6 else ""
        act = "" if self.activation == "logistic" else f"activation={self.activation!r}, "
        return (f"Basins(dynamics={self.dynamics!r}, {act}N={self.initial.shape[1]}, "
                f"n_samples={self.n_samples}, {run}, attractors={self.points.shape[0]}, "
                f"fractions=[{fr}{more}], unassigned={self.unassigned_fraction:.3f})")


def _stable_points_in_box(W, dynamics, act) -> np.ndarray:
    """Attractors in the box from :func:`dynsys.fixed_points`, stable for `dynamics`."""
    if dynamics == "flow":
        return np.array(fixed_points(W, only="stable_in_box", activation=act.name).points,
                        dtype=np.float64)
    fp = fixed_points(W, only="in_box", activation=act.name)
    keep = np.asarray(fp.map_stability) == STABLE
    return np.array(fp.points, dtype=np.float64)[keep].reshape(-1, W.shape[0])


def _assign(final, points, distance_tol):
    """Index of the point within `distance_tol` (max norm) of each end state, else -1
    (nearest wins)."""
    if points.shape[0] == 0:
        return np.full(final.shape[0], -1, dtype=np.int64)
    dist = np.max(np.abs(final[:, None, :] - points[None, :, :]), axis=2)
    nearest = np.argmin(dist, axis=1)
    ok = dist[np.arange(final.shape[0]), nearest] <= distance_tol
    return np.where(ok, nearest, -1).astype(np.int64)


def _iterate_layer_map(W, y0, depth, act):
    """Residuals after `depth` steps of z <- z + W f(z) from z = f^{-1}(y0), batched."""
    z = act.inverse(y0)
    WT = np.ascontiguousarray(W.T)
    for _ in range(depth):
        z = z + act.f(z) @ WT
    return act.f(z)


def basins(W, *, dynamics: str = "flow", n_samples: int = 10_000, seed=0,
           initial=None, t_max: float | None = None, depth: int | None = None,
           distance_tol: float = 1e-3, points=None, rtol: float = 1e-8,
           atol: float = 1e-10, activation=None) -> Basins:
    """Estimate the basins of attraction of the stable fixed points in the unit cube.

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        A ResNet with shared weights, or its weight matrix; N <= 10 unless `points` is given.
    dynamics : {"flow", "map"}
        ``"flow"``: eq. 3 integrated to `t_max`; the attractors are the flow-stable fixed
        points in the box. ``"map"``: the step-1 layer map iterated `depth` times (what the
        network computes); the attractors are the map-stable fixed points in the box.
    n_samples : int
        Initial residuals drawn uniformly in the open cube (0, 1)^N.
    seed : int, numpy.random.Generator or None
        Seed of the sampler (``numpy.random.default_rng(seed)``); the same seed draws the
        same samples for both dynamics.
    initial : array_like, shape (S, N), optional
        Explicit initial residuals in the open cube instead of the sampler (then `n_samples`
        and `seed` are not used).
    t_max : float, optional
        Flow only: the integration time of eq. 3 (adaptive Dormand-Prince 5(4), tolerances
        `rtol`, `atol`); default 200.
    depth : int, optional
        Map only: the number of layers; default 1000.
    distance_tol : float
        A sample belongs to an attractor if its end state is within `distance_tol` of it in
        the max norm.
    points : array_like, shape (M, N), optional
        The attractors to assign to. Default: the fixed points in [0, 1]^N of
        :func:`dynsys.fixed_points` that are stable for `dynamics` (``stability`` or
        ``map_stability`` ``"stable"``).
    rtol, atol : float
        Flow only: integration tolerances.
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a network's own activation is used otherwise. For
        tanh the samples are drawn in (-1, 1)^N and the flow is ``(1 - y^2)(W y)``.

    Returns
    -------
    Basins
        Fractions with binomial standard errors, per-sample labels and end states.

    Notes
    -----
    Fractions of all basins plus the unassigned fraction sum to 1. A large unassigned
    fraction means `t_max` (or `depth`) is too short for the slowest approach, or that
    trajectories end elsewhere (non-hyperbolic or non-isolated fixed points, cycles).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> bas = dynsys.basins(W, n_samples=200, points=[[1.0, 1.0]])
    >>> float(bas.fractions[0])
    1.0
    >>> float(dynsys.basins(W, dynamics="map", n_samples=200).fractions[0])
    1.0
    """
    Wm, act = weights_and_activation(W, activation)
    n = Wm.shape[0]
    check_choice(dynamics, "dynamics", DYNAMICS)
    if dynamics == "flow":
        if depth is not None:
            raise ValueError("`depth` applies to dynamics='map'; the flow runs for `t_max`.")
        t_max = check_positive_float(_DEFAULT_T_MAX if t_max is None else t_max, "t_max")
        rtol = check_positive_float(rtol, "rtol")
        atol = check_positive_float(atol, "atol", allow_zero=True)
    else:
        if t_max is not None:
            raise ValueError("`t_max` applies to dynamics='flow'; the map runs for `depth` "
                             "layers.")
        depth = check_int(_DEFAULT_DEPTH if depth is None else depth, "depth", minimum=1)
        rtol = atol = None
    distance_tol = check_positive_float(distance_tol, "distance_tol")
    if points is None:
        if n > MAX_N:
            raise ValueError(
                f"`W` has N = {n} > {MAX_N}: enumerating the 3^N fixed-point patterns is too "
                "costly; pass the attractors as `points`."
            )
        pts = _stable_points_in_box(Wm, dynamics, act)
    else:
        pts = _to_float_array(points, "points")
        if pts.ndim == 1 and pts.size == n:
            pts = pts[None, :]
        if pts.ndim != 2 or pts.shape[1] != n:
            raise ValueError(f"`points` must have shape (M, {n}); got shape {pts.shape}.")
        if not np.all(np.isfinite(pts)):
            raise ValueError("`points` must be finite.")
    if initial is None:
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        rng = np.random.default_rng(seed)
        # uniform on [tiny, 1): the open cube up to the (zero-probability) value 1 - 2^-53
        y0 = rng.uniform(np.nextafter(0.0, 1.0), 1.0, size=(n_samples, n))
        if act.name != "logistic":
            y0 = act.from_unit(y0)  # the same draws, mapped onto the open box
        seed_used = seed if isinstance(seed, (int, type(None))) else None
    else:
        y0, was_1d = as_points(initial, n, "initial")
        if was_1d:
            raise ValueError(f"`initial` must have shape (S, {n}); got shape "
                             f"{np.shape(initial)}.")
        if np.any(y0 <= act.lower) or np.any(y0 >= act.upper):
            raise ValueError(f"`initial` must lie in the open box ({act.lower:g}, "
                             f"{act.upper:g})^N (residuals are {act.name} outputs); got values "
                             f"in [{y0.min():g}, {y0.max():g}].")
        y0 = np.array(y0)
        n_samples = y0.shape[0]
        seed_used = None
    if dynamics == "flow":
        sol = integrate(Wm, y0, np.array([0.0, t_max]), method="adaptive", rtol=rtol,
                        atol=atol, activation=act.name)
        final = np.array(sol.y[-1])
    else:
        final = _iterate_layer_map(Wm, y0, depth, act)
    labels = _assign(final, pts, distance_tol)
    counts = np.bincount(labels[labels >= 0], minlength=pts.shape[0]).astype(np.int64)
    frac = counts / n_samples
    n_un = int(np.count_nonzero(labels < 0))
    p_un = n_un / n_samples
    return Basins(
        dynamics=dynamics, points=_frozen(pts.copy()), counts=_frozen(counts),
        fractions=_frozen(frac), stderr=_frozen(np.sqrt(frac * (1.0 - frac) / n_samples)),
        n_unassigned=n_un, unassigned_fraction=float(p_un),
        unassigned_stderr=float(np.sqrt(p_un * (1.0 - p_un) / n_samples)),
        n_samples=n_samples, labels=_frozen(labels), initial=_frozen(y0),
        final=_frozen(final), t_max=t_max, depth=depth, distance_tol=distance_tol,
        rtol=rtol, atol=atol, seed=seed_used, activation=act.name,
    )
