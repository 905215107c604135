"""Around a point: the Jacobian spectrum of eq. 3 anywhere, and Newton refinement to a fixed point.

For trained networks with N = 784 the 3^N fixed-point patterns cannot be enumerated. The way
in is local (the FixedPointFinder approach of Golub & Sussillo 2018, after Sussillo & Barak
2013): start from a point where the dynamics slows down -- for instance a class's mean
residual after 1000 layers -- and solve F(y) = y (1 - y) (W y) = 0 nearby. FixedPointFinder
minimizes ``|F|^2`` by gradient descent because a generic recurrent map has no cheap Jacobian
solve; eq. 3 has an explicit Jacobian, so :func:`refine_fixed_point` runs damped Newton with
a backtracking line search on ``|F|^2``, which converges quadratically near a regular root.

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

from ._validation import as_points, as_square_matrix, check_int, check_positive_float
from ._stability import classify_spectrum, unstable_dimension
from ._system import ResidualSystem, jacobian
from ._arrays import readonly as _frozen

__all__ = ["LocalSpectrum", "RefinedFixedPoint", "spectrum_at", "refine_fixed_point"]




def _weights(W):
    return W.W if isinstance(W, ResidualSystem) else as_square_matrix(W, "W")


@dataclass(frozen=True)
class LocalSpectrum:
    """Spectrum of the Jacobian of eq. 3 at one point or a batch of points (immutable).

    For a 1-D point the fields are unbatched; for a batch of B points every field has a
    leading axis of length B.

    Attributes
    ----------
    point : ndarray, shape (N,) or (B, N)
    eigenvalues : ndarray of complex, shape (N,) or (B, N)
        Sorted by decreasing real part.
    stability : str or ndarray of str, shape (B,)
        The label of :func:`dynsys.classify_spectrum` ("stable", "unstable", "saddle",
        "non-hyperbolic"). Away from a fixed point it describes the linearized flow only.
    unstable_dim : int or ndarray of int, shape (B,)
        Number of eigenvalues with real part > `tol`.
    max_real : float or ndarray, shape (B,)
        The largest real part.
    """

    point: np.ndarray
    eigenvalues: np.ndarray
    stability: object
    unstable_dim: object
    max_real: object


def _sorted_eigvals(J):
    ev = np.linalg.eigvals(J)
    order = np.argsort(-ev.real, axis=-1, kind="stable")
    return np.take_along_axis(ev, order, axis=-1).astype(np.complex128)


def spectrum_at(W, y, *, tol: float = 1e-9) -> LocalSpectrum:
    """Eigenvalues and stability label of the Jacobian of eq. 3 at any point(s).

    J(y) = diag((1 - 2y)(W y)) + diag(y (1 - y)) W, evaluated with the full matrix (no
    block structure is assumed, so `y` need not be a fixed point).

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y : array_like, shape (N,) or (B, N)
    tol : float
        Real parts within [-tol, tol] count as zero.

    Returns
    -------
    LocalSpectrum

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> dynsys.spectrum_at(W, [1.0, 1.0]).stability
    'stable'
    """
    Wm = _weights(W)
    pts, was_1d = as_points(y, Wm.shape[0], "y")
    tol = check_positive_float(tol, "tol", allow_zero=True)
    ev = _sorted_eigvals(jacobian(Wm, pts))
    stab = classify_spectrum(ev, tol)
    udim = unstable_dimension(ev, tol)
    mre = ev.real.max(axis=-1)
    if was_1d:
        return LocalSpectrum(point=_frozen(pts[0].copy()), eigenvalues=_frozen(ev[0]),
                             stability=str(stab[0]), unstable_dim=int(udim[0]),
                             max_real=float(mre[0]))
    return LocalSpectrum(point=_frozen(pts.copy()), eigenvalues=_frozen(ev),
                         stability=_frozen(stab), unstable_dim=_frozen(udim),
                         max_real=_frozen(mre))


@dataclass(frozen=True)
class RefinedFixedPoint:
    """Result of :func:`refine_fixed_point` (immutable).

    Attributes
    ----------
    point : ndarray, shape (N,)
        The refined point (the last iterate if not converged).
    start : ndarray, shape (N,)
        The starting point.
    converged : bool
        True if the scaled residual reached `tol` (see :func:`refine_fixed_point`).
    iterations : int
        Newton iterations taken.
    distance_moved : float
        Euclidean distance ``norm(point - start)``.
    residual : float
        ``max(abs(F(point)))``, F(y) = y (1 - y)(W y).
    eigenvalues : ndarray of complex, shape (N,)
        Jacobian spectrum at `point`, by decreasing real part.
    stability : str
        Label of the spectrum (see :func:`dynsys.classify_spectrum`).
    unstable_dim : int
        Eigenvalues with real part > `eig_tol`.
    in_box : bool
        True if `point` lies in the closed unit cube (up to 1e-9), i.e. is reachable by
        logistic residuals.
    n_lstsq : int
        Iterations that fell back to least-squares steps (singular Jacobian).
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
    n_lstsq: int


def _F(W, y):
    """eq. 3 without validation: the line search may try non-finite points."""
    return y * (1.0 - y) * (W @ y)


def _scaled_residual(W, y, F):
    """max_i |F_i| / (max(1,|y_i|) max(1,|1-y_i|) max(1, sum_j |w_ij y_j|)): the size of F
    relative to the size of its factors, so that far-out fixed points (outside the cube, where
    |F|'s rounding error grows like |y|^3) can be declared converged too."""
    scale = (np.maximum(1.0, np.abs(y)) * np.maximum(1.0, np.abs(1.0 - y))
             * np.maximum(1.0, np.abs(W) @ np.abs(y)))
    return float(np.max(np.abs(F) / scale))


def _newton_direction(J, F, rcond):
    """Solve J d = -F; least squares (minimum norm) if J is singular or ill-conditioned."""
    try:
        d = np.linalg.solve(J, -F)
        if np.all(np.isfinite(d)):
            # reject numerically singular solves (huge steps from a near-singular J)
            if np.linalg.norm(J @ d + F) <= 1e-6 * max(np.linalg.norm(F), 1e-300) + 1e-300:
                return d, False
    except np.linalg.LinAlgError:
        pass
    d = np.linalg.lstsq(J, -F, rcond=rcond)[0]
    return d, True


def refine_fixed_point(W, y0, *, tol: float = 1e-12, max_iter: int = 100,
                       damping: float = 1.0, min_step: float = 1e-10, armijo: float = 1e-4,
                       rcond: float | None = None, eig_tol: float = 1e-9) -> RefinedFixedPoint:
    """Refine a point to a nearby fixed point of eq. 3 by damped Newton with a line search.

    Algorithm (for F(y) = y (1 - y)(W y), merit ``phi(y) = |F(y)|^2 / 2``):

    1. Stop if the scaled residual
       ``max_i |F_i| / (max(1, |y_i|) max(1, |1 - y_i|) max(1, sum_j |w_ij y_j|))`` is
       <= `tol` (for points in the unit cube with ``sum_j |w_ij y_j| <= 1`` this is
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

    Parameters
    ----------
    W : array_like, shape (N, N), or ResidualSystem
    y0 : array_like, shape (N,)
        Starting point, e.g. a class's mean residual after many layers.
    tol : float
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
    rcond : float, optional
        Cut-off of ``numpy.linalg.lstsq`` for the fallback steps.
    eig_tol : float
        Tolerance of the stability label at the result.

    Returns
    -------
    RefinedFixedPoint

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    >>> r = dynsys.refine_fixed_point(W, [0.9, 0.95])
    >>> r.converged, np.round(r.point, 12).tolist(), r.stability
    (True, [1.0, 1.0], 'stable')
    """
    Wm = _weights(W)
    n = Wm.shape[0]
    pts, was_1d = as_points(y0, n, "y0")
    if not was_1d:
        raise ValueError(f"`y0` must be one point of shape ({n},); got shape {np.shape(y0)}. "
                         "Refine a batch point by point.")
    tol = check_positive_float(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    damping = check_positive_float(damping, "damping")
    if damping > 1.0:
        raise ValueError(f"`damping` must lie in (0, 1]; got {damping:g}.")
    min_step = check_positive_float(min_step, "min_step")
    armijo = check_positive_float(armijo, "armijo")
    if armijo >= 0.5:
        raise ValueError(f"`armijo` must lie in (0, 0.5); got {armijo:g}.")

    start = pts[0].copy()
    y = start.copy()
    F = _F(Wm, y)
    phi = 0.5 * float(F @ F)
    it = 0
    n_lstsq = 0
    while it < max_iter and _scaled_residual(Wm, y, F) > tol:
        d, used_lstsq = _newton_direction(jacobian(Wm, y), F, rcond)
        n_lstsq += used_lstsq
        alpha = damping
        while True:
            y_try = y + alpha * d
            F_try = _F(Wm, y_try)
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
    converged = finite and _scaled_residual(Wm, y, F) <= tol
    if np.all(np.isfinite(y)):
        ev = _sorted_eigvals(jacobian(Wm, y))
        stab = str(classify_spectrum(ev, eig_tol))
        udim = int(unstable_dimension(ev, eig_tol))
    else:
        ev = np.full(n, np.nan + 0j)
        stab, udim = "non-hyperbolic", 0
    return RefinedFixedPoint(
        point=_frozen(y), start=_frozen(start), converged=bool(converged), iterations=it,
        distance_moved=float(np.linalg.norm(y - start)), residual=res,
        eigenvalues=_frozen(ev), stability=stab, unstable_dim=udim,
        in_box=bool(np.all(y >= -1e-9) and np.all(y <= 1 + 1e-9)), n_lstsq=int(n_lstsq),
    )
