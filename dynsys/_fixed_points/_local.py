"""Around a point: the spectra of eq. 3 and of the layer map anywhere, and Newton refinement.

Private: the local member of the fixed-point family (:func:`dynsys.spectrum_at`,
:func:`dynsys.refine_fixed_point`), for networks too wide to enumerate.

For trained networks with N = 784 the 3^N fixed-point patterns cannot be enumerated. The way
in is local (the FixedPointFinder approach of Golub & Sussillo 2018, after Sussillo & Barak
2013): start from a point where the dynamics slows down -- for instance a class's mean
residual after 1000 layers -- and solve F(y) = y (1 - y) (W y) = 0 nearby. FixedPointFinder
minimizes ``|F|^2`` by gradient descent because a generic recurrent map has no cheap Jacobian
solve; eq. 3 has an explicit Jacobian, so :func:`refine_fixed_point` runs damped Newton with
a backtracking line search on ``|F|^2``, which converges quadratically near a regular root.

Every result reports two dynamics at its point (Lagzi 2018, "Residual networks classify
inputs based on their neural transient dynamics", eq. 3 and eq. 1-2):

* the flow dy/dt = F(y): eigenvalues of J(y) = diag((1 - 2y)(W y)) + diag(y (1 - y)) W,
  labelled by :func:`dynsys.classify_spectrum`;
* the step-1 layer map that a shared-weight ResNet computes, in residual coordinates
  ``g(y) = f(f^{-1}(y) + W y)``: multipliers (eigenvalues of Dg(y)), labelled by
  :func:`dynsys.classify_multipliers`.

The multipliers are the eigenvalues of ``Dg(y) = diag(g (1 - g)) (diag(1 / (y (1 - y))) + W)``
(:func:`dynsys.residual_map_jacobian`), continuous up to the faces of the cube, where a
coordinate at 0 has the multiplier ``exp((W y)_i)`` and one at 1 ``exp(-(W y)_i)``. At a fixed
point they are those faces' exponentials and the eigenvalues of
``I + diag(y_I (1 - y_I)) W[I, I]`` on the interior coordinates I: exactly the multipliers
that :func:`dynsys.fixed_points` lists. (The logit-coordinate Jacobian
:func:`dynsys.layer_map_jacobian`, ``I + W diag(y (1 - y))``, has the same interior
multipliers but 1 on every face: a face sits at z = -+ infinity there. Away from a fixed
point the two Jacobians are not similar and their eigenvalues differ; the residual-coordinate
ones are reported because they are continuous up to the faces.)

References
----------
M. D. Golub and D. Sussillo, "FixedPointFinder: A Tensorflow toolbox for identifying and
characterizing fixed points in recurrent neural networks", JOSS 3(31), 1003 (2018).
D. Sussillo and O. Barak, "Opening the black box: low-dimensional dynamics in high-dimensional
recurrent neural networks", Neural Computation 25(3), 626-649 (2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arrays import readonly as _frozen
from .._network import resnet_weights as _network_resnet_weights
from .._stability import (NON_HYPERBOLIC, classify_multipliers, classify_spectrum,
                          default_zero_tol, unstable_dimension)
from .._activation import ACTIVATIONS, activation_box, resolve_activation
from .._system import ResidualSystem, check_logistic_system, jacobian, residual_map_jacobian
from .._validation import as_points, check_int, check_positive_float
from ._results import OUTSIDE

__all__ = ["LocalSpectrum", "RefinedFixedPoint", "spectrum_at", "refine_fixed_point",
           "BOX_SLACK"]

#: A point counts as in the closed unit cube, where the layer map is defined, when no
#: coordinate lies more than this outside [0, 1] (Newton may land 1e-17 beyond a face); such
#: coordinates are clipped onto the face for the multipliers.
BOX_SLACK = 1e-9


def resnet_weights(W, name: str = "W") -> np.ndarray:
    """W (N, N) for the ResNet dynamics of eq. 3 from a Network, a ResidualSystem or an array.

    The rule (an MLP network is refused) is :func:`dynsys._network.resnet_weights`; this only
    unwraps a :class:`ResidualSystem` first. Logistic systems only: the functions of either
    activation use :func:`weights_and_activation`.
    """
    if isinstance(W, ResidualSystem):
        check_logistic_system(W, name)
        return W.W
    return _network_resnet_weights(W, name)


def weights_and_activation(W, activation=None, name: str = "W"):
    """``(W (N, N), Activation)`` for the residual flow of either activation.

    The activation is the system's own (a Network or ResidualSystem) or, for a bare array,
    `activation` (default logistic); a contradiction is refused.
    """
    act = resolve_activation(W, activation)
    if isinstance(W, ResidualSystem):
        return W.W, act
    return _network_resnet_weights(W, name, ACTIVATIONS), act


def _count_text(labels) -> str:
    values, counts = np.unique(np.asarray(labels, dtype=str), return_counts=True)
    return ", ".join(f"{c} {v}" for v, c in zip(values, counts))


@dataclass(frozen=True, repr=False, eq=False)
class LocalSpectrum:
    """Flow spectrum and layer-map multipliers at one point or a batch of points (immutable).

    For a 1-D point the fields are unbatched; for a batch of B points every field has a
    leading axis of length B.

    Attributes
    ----------
    point : ndarray, shape (N,) or (B, N)
    eigenvalues : ndarray of complex, shape (N,) or (B, N)
        Eigenvalues of the Jacobian of eq. 3, sorted by decreasing real part.
    stability : str or ndarray of str, shape (B,)
        Flow label of :func:`dynsys.classify_spectrum` ("stable", "unstable", "saddle",
        "non-hyperbolic"). Away from a fixed point it describes the linearized flow only.
    unstable_dim : int or ndarray of int, shape (B,)
        Number of eigenvalues with real part > `zero_tol`.
    max_real : float or ndarray, shape (B,)
        The largest real part.
    in_box : bool or ndarray of bool, shape (B,)
        Whether the point lies in the box, [0, 1]^N or [-1, 1]^N for tanh (up to
        :data:`BOX_SLACK`), where the layer map is defined.
    multipliers : ndarray of complex, shape (N,) or (B, N)
        Eigenvalues of the step-1 layer map's Jacobian Dg(y) in residual coordinates (see
        the module notes), sorted by decreasing modulus; NaN outside the box.
    map_stability : str or ndarray of str, shape (B,)
        Label of :func:`dynsys.classify_multipliers`, ``"outside"`` outside the box.
    map_unstable_dim : int or ndarray of int, shape (B,)
        Number of multipliers with ``|mu| - 1 > zero_tol``; -1 outside the box.
    zero_tol : float
        Real parts (flow) and ``|mu| - 1`` (map) within this count as zero.
    activation : {"logistic", "tanh"}
        The activation; the box is [0, 1]^N or [-1, 1]^N.
    """

    point: np.ndarray
    eigenvalues: np.ndarray
    stability: object
    unstable_dim: object
    max_real: object
    in_box: object
    multipliers: np.ndarray
    map_stability: object
    map_unstable_dim: object
    zero_tol: float
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        if self.point.ndim == 1:
            return (f"LocalSpectrum(N={self.point.shape[0]}, stability={self.stability!r}, "
                    f"unstable_dim={self.unstable_dim}, map_stability={self.map_stability!r}, "
                    f"map_unstable_dim={self.map_unstable_dim})")
        B, N = self.point.shape
        return (f"LocalSpectrum(B={B}, N={N}, flow: {_count_text(self.stability)}; "
                f"map: {_count_text(self.map_stability)})")[:299]


def _negligible_rows(M):
    """Rows of the square matrix M whose off-diagonal part is below the eigensolver's own error.

    LAPACK's eigenvalues of M are the exact ones of some M + E with ``|E|_F`` of order
    ``eps |M|_F``. Setting to zero the off-diagonal entries of rows whose off-diagonal norm is at
    most ``eps |M|_F / sqrt(N)`` is a perturbation no larger than that, so the eigenvalues of the
    matrix so cleaned are as accurate as those of M itself. Rows at a face of the cube
    (``y (1 - y)`` exactly 0, or 1e-40 after a few hundred layers) are of this kind. A non-finite
    M deflates nothing (the eigensolver then reports it as before).
    """
    off = np.abs(M)
    np.fill_diagonal(off, 0.0)
    rows = np.sqrt(np.einsum("ij,ij->i", off, off))
    bound = np.finfo(np.float64).eps * np.linalg.norm(M) / np.sqrt(max(M.shape[0], 1))
    return rows <= bound if np.isfinite(bound) else np.zeros(M.shape[0], dtype=bool)


def _deflated_eigvals(M, face):
    """Eigenvalues of one matrix M (N, N) whose rows at `face` are taken as diagonal.

    A diagonal row i gives e_i^T M = M_ii e_i^T, so M_ii is an eigenvalue and the others are
    those of M with row and column i removed (a symmetric permutation makes M block
    triangular). It turns an N x N eigenproblem into one of the unsaturated coordinates, which
    after many layers of a trained network are a small minority.
    """
    inner = np.flatnonzero(~face)
    ev = np.empty(M.shape[0], dtype=np.complex128)
    ev[face] = np.diagonal(M)[face]
    if inner.size:
        ev[~face] = np.linalg.eigvals(M[np.ix_(inner, inner)])
    return ev


def _eigvals(M):
    """Eigenvalues of one square matrix, its negligible rows (:func:`_negligible_rows`) deflated."""
    face = _negligible_rows(M)
    if not face.any():
        return np.linalg.eigvals(M).astype(np.complex128)
    return _deflated_eigvals(M, face)


def _sorted_eigvals(J):
    """Eigenvalues of each J (B, N, N), by decreasing real part.

    Matrices with negligible rows (:func:`_negligible_rows`) are deflated one by one; the rest
    go through one batched eigensolve, which for many small matrices is far cheaper than a loop.
    """
    ev = np.empty(J.shape[:-1], dtype=np.complex128)
    flat_J, flat_ev = J.reshape((-1,) + J.shape[-2:]), ev.reshape((-1, J.shape[-1]))
    faces = [_negligible_rows(M) for M in flat_J]
    plain = np.array([not f.any() for f in faces], dtype=bool)
    if plain.any():
        flat_ev[plain] = np.linalg.eigvals(flat_J[plain])
    for k in np.flatnonzero(~plain):
        flat_ev[k] = _deflated_eigvals(flat_J[k], faces[k])
    order = np.argsort(-ev.real, axis=-1, kind="stable")
    return np.take_along_axis(ev, order, axis=-1).astype(np.complex128)


def _map_multipliers(D, y, act):
    """Multipliers of the layer map at one point y in the box, by decreasing modulus.

    `D` is the residual map's Jacobian at y (:func:`dynsys.residual_map_jacobian`). Its rows
    at face coordinates (y_i at either end of the box) hold only the diagonal entry
    exp(+-k (W y)_i) (k = :attr:`~dynsys._activation.Activation.face_gain`), so D is
    block triangular: those multipliers are read off exactly and the others are the
    eigenvalues of the remaining block (an overflowing face entry never enters the
    eigensolver).
    """
    face = (y == act.lower) | (y == act.upper)
    mu = np.empty(y.shape[0], dtype=np.complex128)
    mu[face] = np.diagonal(D)[face]
    inner = np.flatnonzero(~face)
    if inner.size:
        mu[~face] = _eigvals(D[np.ix_(inner, inner)])
    order = np.argsort(-np.abs(mu), kind="stable")
    return mu[order]


def _flow_and_map(W, act, pts, zero_tol):
    """All fields of a :class:`LocalSpectrum` for a batch of points (B, N), batched."""
    B, n = pts.shape
    ev = _sorted_eigvals(jacobian(W, pts, activation=act.name))
    stab = np.asarray(classify_spectrum(ev, zero_tol), dtype=object).reshape(B)
    udim = np.asarray(unstable_dimension(ev, zero_tol), dtype=np.int64).reshape(B)
    in_box = np.all((pts >= act.lower - BOX_SLACK) & (pts <= act.upper + BOX_SLACK), axis=1)
    mu = np.full((B, n), np.nan + 0j)
    mstab = np.full(B, OUTSIDE, dtype=object)
    mdim = np.full(B, -1, dtype=np.int64)
    if np.any(in_box):
        boxed = np.clip(pts[in_box], act.lower, act.upper)
        with np.errstate(over="ignore"):
            D = residual_map_jacobian(W, boxed, activation=act.name)
        mu[in_box] = [_map_multipliers(Dk, yk, act) for Dk, yk in zip(D, boxed)]
        with np.errstate(invalid="ignore"):
            dev = np.abs(mu[in_box]) - 1.0
        mstab[in_box] = np.asarray(classify_multipliers(mu[in_box], zero_tol),
                                   dtype=object).reshape(-1)
        mdim[in_box] = np.asarray(unstable_dimension(dev, zero_tol)).reshape(-1)
    return dict(eigenvalues=ev, stability=stab, unstable_dim=udim, max_real=ev.real.max(axis=1),
                in_box=in_box, multipliers=mu, map_stability=mstab, map_unstable_dim=mdim)


def _zero_tol(W, zero_tol) -> float:
    """The absolute `zero_tol` for W: the value given, or the one relative default."""
    if zero_tol is None:
        return default_zero_tol(W)
    return check_positive_float(zero_tol, "zero_tol", allow_zero=True)


def spectrum_at(W, y, *, zero_tol: float | None = None, activation=None) -> LocalSpectrum:
    """Flow eigenvalues (eq. 3) and layer-map multipliers, with their labels, at any point(s).

    Flow: J(y) = diag((1 - 2y)(W y)) + diag(y (1 - y)) W, evaluated with the full matrix (no
    block structure is assumed, so `y` need not be a fixed point). Map: the eigenvalues of
    the step-1 layer map's Jacobian Dg(y) in residual coordinates (module notes); at a fixed
    point they are the multipliers listed by :func:`dynsys.fixed_points`, also on the faces of
    the cube.

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        A ResNet with shared weights, or its weight matrix.
    y : array_like, shape (N,) or (B, N)
        Residuals; shape (N,) gives unbatched fields.
    zero_tol : float, optional
        Real parts within [-zero_tol, zero_tol] and moduli with ``abs(abs(mu) - 1) <=
        zero_tol`` count as zero (non-hyperbolic). Default ``1e-9 * max|W|``
        (:func:`dynsys.default_zero_tol`), as in :func:`dynsys.fixed_points` and the census,
        so that a point gets the same label from each; the result stores the value used.
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a network's own activation is used otherwise. For
        tanh the flow is ``dy/dt = (1 - y^2)(W y)`` on [-1, 1]^N and the face multipliers
        are ``exp(+-2 (W y)_i)``.

    Returns
    -------
    LocalSpectrum
        ``eigenvalues``, ``stability``, ``unstable_dim`` (flow) and ``multipliers``,
        ``map_stability``, ``map_unstable_dim`` (map), ``in_box``, ``max_real``.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> s = dynsys.spectrum_at(W, [1.0, 1.0])
    >>> s.stability, s.map_stability
    ('stable', 'stable')
    >>> np.round(s.multipliers.real, 4).tolist()  # exp(-(W y)_i) on the face y = 1
    [0.3679, 0.3679]
    """
    Wm, act = weights_and_activation(W, activation)
    pts, was_1d = as_points(y, Wm.shape[0], "y")
    zero_tol = _zero_tol(Wm, zero_tol)
    f = _flow_and_map(Wm, act, pts, zero_tol)
    if was_1d:
        return LocalSpectrum(
            point=_frozen(pts[0].copy()), eigenvalues=_frozen(f["eigenvalues"][0]),
            stability=str(f["stability"][0]), unstable_dim=int(f["unstable_dim"][0]),
            max_real=float(f["max_real"][0]), in_box=bool(f["in_box"][0]),
            multipliers=_frozen(f["multipliers"][0]), map_stability=str(f["map_stability"][0]),
            map_unstable_dim=int(f["map_unstable_dim"][0]), zero_tol=zero_tol,
            activation=act.name)
    return LocalSpectrum(
        point=_frozen(pts.copy()), eigenvalues=_frozen(f["eigenvalues"]),
        stability=_frozen(f["stability"]), unstable_dim=_frozen(f["unstable_dim"]),
        max_real=_frozen(f["max_real"]), in_box=_frozen(f["in_box"]),
        multipliers=_frozen(f["multipliers"]), map_stability=_frozen(f["map_stability"]),
        map_unstable_dim=_frozen(f["map_unstable_dim"]), zero_tol=zero_tol,
        activation=act.name)


@dataclass(frozen=True, repr=False, eq=False)
class RefinedFixedPoint:
    """Result of :func:`refine_fixed_point` (immutable).

    Attributes
    ----------
    point : ndarray, shape (N,)
        The refined point (the last iterate if not converged).
    start : ndarray, shape (N,)
        The starting point.
    converged : bool
        True if the scaled residual reached `residual_tol` (see :func:`refine_fixed_point`).
    iterations : int
        Newton iterations taken.
    distance_moved : float
        Euclidean distance ``norm(point - start)``.
    residual : float
        ``max(abs(F(point)))``, F(y) = y (1 - y)(W y).
    eigenvalues : ndarray of complex, shape (N,)
        Jacobian spectrum of eq. 3 at `point`, by decreasing real part.
    stability : str
        Flow label of the spectrum (see :func:`dynsys.classify_spectrum`).
    unstable_dim : int
        Eigenvalues with real part > `zero_tol`.
    in_box : bool
        True if `point` lies in the closed unit cube (up to 1e-9, :data:`BOX_SLACK`), i.e. is
        reachable by logistic residuals.
    multipliers : ndarray of complex, shape (N,)
        Multipliers of the step-1 layer map at `point` (as in :class:`LocalSpectrum`: at a
        fixed point ``exp((W y)_i)`` on coordinates at 0, ``exp(-(W y)_i)`` at 1, the
        eigenvalues of ``I + diag(y_I (1 - y_I)) W[I, I]`` on the interior ones), by
        decreasing modulus; NaN outside the box.
    map_stability : str
        Label of :func:`dynsys.classify_multipliers`; ``"outside"`` outside the box.
    map_unstable_dim : int
        Multipliers with ``|mu| - 1 > zero_tol``; -1 outside the box.
    n_lstsq : int
        Iterations that fell back to least-squares steps (singular Jacobian).
    residual_tol, zero_tol : float
        The tolerances used (passing them back reproduces this result).
    activation : {"logistic", "tanh"}
        The activation; F(y) = (1 - y^2)(W y) and the box [-1, 1]^N for tanh.
    """

    point: np.ndarray
    start: np.ndarray
    converged: bool
    iterations: int
    distance_moved: float
    residual: float
    eigenvalues: np.ndarray
    stability: str
    unstable_dim: int
    in_box: bool
    multipliers: np.ndarray
    map_stability: str
    map_unstable_dim: int
    n_lstsq: int
    residual_tol: float
    zero_tol: float
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:
        return (f"RefinedFixedPoint(N={self.point.shape[0]}, converged={self.converged}, "
                f"iterations={self.iterations}, residual={self.residual:.3g}, "
                f"in_box={self.in_box}, stability={self.stability!r}, "
                f"map_stability={self.map_stability!r})")


def _F(W, y, act):
    """The flow without validation: the line search may try non-finite points."""
    return act.slope(y) * (W @ y)


def _scaled_residual(W, y, F, act):
    """max_i |F_i| / (max(1,|y_i - lo|) max(1,|hi - y_i|) max(1, sum_j |w_ij y_j|)), [lo, hi]
    the box: the size of F relative to the size of its factors, so that far-out fixed points
    (outside the cube, where |F|'s rounding error grows like |y|^3) can be declared converged
    too."""
    scale = (np.maximum(1.0, np.abs(y - act.lower)) * np.maximum(1.0, np.abs(act.upper - y))
             * np.maximum(1.0, np.abs(W) @ np.abs(y)))
    return float(np.max(np.abs(F) / scale))


def _solve_deflated(J, F):
    """Solve J d = -F, its negligible rows (:func:`_negligible_rows`) taken as diagonal.

    Those coordinates decouple, d_i = -F_i / J_ii, and the others solve the remaining block with
    them substituted: an N x N solve becomes one of the unsaturated coordinates. Falls back to the
    full solve where a deflated diagonal entry is 0 (the row is then zero: J is singular).
    """
    face = _negligible_rows(J)
    diag = np.diagonal(J)
    if not face.any() or np.any(diag[face] == 0.0):
        return np.linalg.solve(J, -F)
    d = np.empty_like(F)
    d[face] = -F[face] / diag[face]
    inner = np.flatnonzero(~face)
    if inner.size:
        rhs = -F[inner] - J[np.ix_(inner, np.flatnonzero(face))] @ d[face]
        d[inner] = np.linalg.solve(J[np.ix_(inner, inner)], rhs)
    return d


def _newton_direction(J, F, rank_tol):
    """Solve J d = -F; least squares (minimum norm) if J is singular or ill-conditioned."""
    try:
        d = _solve_deflated(J, F)
        if np.all(np.isfinite(d)):
            # reject numerically singular solves (huge steps from a near-singular J)
            if np.linalg.norm(J @ d + F) <= 1e-6 * max(np.linalg.norm(F), 1e-300) + 1e-300:
                return d, False
    except np.linalg.LinAlgError:
        pass
    d = np.linalg.lstsq(J, -F, rcond=rank_tol)[0]
    return d, True


def refine_fixed_point(W, y0, *, residual_tol: float = 1e-12, max_iter: int = 100,
                       damping: float = 1.0, min_step: float = 1e-10, armijo: float = 1e-4,
                       rank_tol: float | None = None,
                       zero_tol: float | None = None, activation=None) -> RefinedFixedPoint:
    """Refine a point to a nearby fixed point of eq. 3 by damped Newton with a line search.

    Algorithm (for F(y) = y (1 - y)(W y), merit ``phi(y) = |F(y)|^2 / 2``):

    1. Stop if the scaled residual
       ``max_i |F_i| / (max(1, |y_i|) max(1, |1 - y_i|) max(1, sum_j |w_ij y_j|))`` is
       <= `residual_tol` (for points in the unit cube with ``sum_j |w_ij y_j| <= 1`` this is
       ``max |F|``; the scaling lets far-out fixed points, where rounding in F grows like
       ``|y|^3``, converge too).
    2. Newton direction: solve J(y) d = -F(y); if J is singular (the solve fails or does
       not reproduce -F), take the minimum-norm least-squares step ``lstsq(J, -F)``.
    3. Backtracking: alpha = `damping`, halved until phi(y + alpha d) <= (1 - 2 `armijo`
       alpha) phi(y) (Armijo's condition for the Gauss-Newton merit) or alpha < `min_step`;
       then y <- y + alpha d.
    4. Repeat up to `max_iter` times.

    Newton finds fixed points anywhere in R^N, including the ones outside the unit cube that
    eq. 3 has as a polynomial system; check ``in_box``. This is the FixedPointFinder idea
    (Golub & Sussillo 2018) with the exact Jacobian of eq. 3 in place of gradient descent on
    ``|F|^2``. Each iteration costs one N x N solve: N = 784 takes milliseconds per iteration.
    The result carries the flow's spectrum and the layer map's multipliers at the point (as
    :func:`spectrum_at`), so both stabilities come without further work.

    Parameters
    ----------
    W : dynsys.Network or array_like, shape (N, N)
        A ResNet with shared weights, or its weight matrix.
    y0 : array_like, shape (N,)
        Starting point, e.g. a class's mean residual after many layers.
    residual_tol : float
        Convergence threshold on the scaled residual (step 1).
    max_iter : int
        Most Newton iterations.
    damping : float in (0, 1]
        The first step length tried by the line search (1: full Newton steps).
    min_step : float
        Smallest step length of the line search; below it the step is taken anyway (the
        iteration may then stall and report ``converged=False``).
    armijo : float
        Sufficient-decrease constant of the line search.
    rank_tol : float, optional
        Relative cut-off on singular values of the least-squares fallback steps (``rcond`` of
        ``numpy.linalg.lstsq``; default: machine precision times N).
    zero_tol : float, optional
        Real parts (flow) and ``|mu| - 1`` (map) within this count as zero at the result.
        Default ``1e-9 * max|W|`` (:func:`dynsys.default_zero_tol`), as in
        :func:`dynsys.fixed_points`; the result stores the value used.
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a network's own activation is used otherwise. For
        tanh, ``F(y) = (1 - y^2)(W y)`` and the scaled residual's factors are ``1 + y`` and
        ``1 - y``.

    Returns
    -------
    RefinedFixedPoint

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> r = dynsys.refine_fixed_point(W, [0.9, 0.95])
    >>> r.converged, np.round(r.point, 12).tolist(), r.stability, r.map_stability
    (True, [1.0, 1.0], 'stable', 'stable')
    """
    Wm, act = weights_and_activation(W, activation)
    n = Wm.shape[0]
    pts, was_1d = as_points(y0, n, "y0")
    if not was_1d:
        raise ValueError(f"`y0` must be one point of shape ({n},); got shape {np.shape(y0)}. "
                         "Refine a batch point by point.")
    residual_tol = check_positive_float(residual_tol, "residual_tol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    damping = check_positive_float(damping, "damping")
    if damping > 1.0:
        raise ValueError(f"`damping` must lie in (0, 1]; got {damping:g}.")
    min_step = check_positive_float(min_step, "min_step")
    armijo = check_positive_float(armijo, "armijo")
    if armijo >= 0.5:
        raise ValueError(f"`armijo` must lie in (0, 0.5); got {armijo:g}.")
    if rank_tol is not None:
        rank_tol = check_positive_float(rank_tol, "rank_tol", allow_zero=True)
    zero_tol = _zero_tol(Wm, zero_tol)

    start = pts[0].copy()
    y = start.copy()
    F = _F(Wm, y, act)
    phi = 0.5 * float(F @ F)
    it = 0
    n_lstsq = 0
    while it < max_iter and _scaled_residual(Wm, y, F, act) > residual_tol:
        d, used_lstsq = _newton_direction(jacobian(Wm, y, activation=act.name), F, rank_tol)
        n_lstsq += used_lstsq
        alpha = damping
        while True:
            y_try = y + alpha * d
            F_try = _F(Wm, y_try, act)
            phi_try = 0.5 * float(F_try @ F_try)
            if phi_try <= (1.0 - 2.0 * armijo * alpha) * phi or alpha < min_step:
                break
            alpha *= 0.5
        y, F, phi = y_try, F_try, phi_try
        it += 1
        if not np.all(np.isfinite(y)):
            break
    finite = bool(np.all(np.isfinite(F)) and np.all(np.isfinite(y)))
    res = float(np.max(np.abs(F))) if finite else float("inf")
    converged = finite and _scaled_residual(Wm, y, F, act) <= residual_tol
    if np.all(np.isfinite(y)):
        f = _flow_and_map(Wm, act, y[None, :], zero_tol)
        ev, mu = f["eigenvalues"][0], f["multipliers"][0]
        stab, udim = str(f["stability"][0]), int(f["unstable_dim"][0])
        in_box = bool(f["in_box"][0])
        mstab, mdim = str(f["map_stability"][0]), int(f["map_unstable_dim"][0])
    else:
        ev = mu = np.full(n, np.nan + 0j)
        stab, udim, in_box, mstab, mdim = NON_HYPERBOLIC, 0, False, OUTSIDE, -1
    return RefinedFixedPoint(
        point=_frozen(y), start=_frozen(start), converged=bool(converged), iterations=it,
        distance_moved=float(np.linalg.norm(y - start)), residual=res,
        eigenvalues=_frozen(ev), stability=stab, unstable_dim=udim, in_box=in_box,
        multipliers=_frozen(mu), map_stability=mstab, map_unstable_dim=mdim,
        n_lstsq=int(n_lstsq), residual_tol=residual_tol, zero_tol=zero_tol,
        activation=act.name,
    )
