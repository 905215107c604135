"""Stability of a fixed point from its spectrum: the one labelling rule of the project.

Two dynamics share the fixed points of eq. 3 of Lagzi 2018, "Residual networks classify
inputs based on their neural transient dynamics":

* the continuous flow dy/dt = y(1-y)(Wy), classified by the real parts of the Jacobian's
  eigenvalues (:func:`classify_spectrum`);
* the step-1 layer map that the network computes, classified by the moduli of its
  multipliers (:func:`classify_multipliers`).

The labels are the same four strings for both: ``"stable"``, ``"unstable"``, ``"saddle"`` and
``"non-hyperbolic"`` (some eigenvalue on the imaginary axis, or some multiplier on the unit
circle, within `zero_tol`). Every labelling in :mod:`dynsys` goes through :func:`label_index`,
defined once beside the Numba kernels (:mod:`dynsys._kernels._common`, which compile it) and
imported here: the vectorised functions here, the kernels and the exact mode of
:func:`dynsys.fixed_points` (which feeds it exact counts). The functions are vectorised over
leading axes: the last axis holds the N eigenvalues of one point.
"""

from __future__ import annotations

import numpy as np

from ._kernels._common import label_index

__all__ = [
    "STABLE",
    "UNSTABLE",
    "SADDLE",
    "NON_HYPERBOLIC",
    "LABELS",
    "DEFAULT_ZERO_TOL",
    "ZERO_TOL_REL",
    "default_zero_tol",
    "weight_scale",
    "label_index",
    "unstable_dimension",
    "classify_spectrum",
    "classify_multipliers",
    "classify_counts",
]

STABLE = "stable"
UNSTABLE = "unstable"
SADDLE = "saddle"
NON_HYPERBOLIC = "non-hyperbolic"
#: The four labels, in the order used by counts, tables and the integer codes of
#: :func:`label_index`.
LABELS = (STABLE, UNSTABLE, SADDLE, NON_HYPERBOLIC)
#: Default `zero_tol` of the functions here (an absolute bound on a real part or on
#: ``|mu| - 1``).
DEFAULT_ZERO_TOL = 1e-9
#: The default `zero_tol` of an analysis of one W is this times ``max|W|``
#: (:func:`default_zero_tol`).
ZERO_TOL_REL = 1e-9


def default_zero_tol(W) -> float:
    """``1e-9 * max|W|`` (``1e-9`` for W = 0): the default `zero_tol` for the points of W.

    The eigenvalues of eq. 3 at a fixed point scale with W, so the bound under which a real
    part (or ``|mu| - 1``) counts as zero does too. The one definition of the default of
    :func:`dynsys.fixed_points`, :func:`dynsys.count_fixed_points`,
    :func:`dynsys.fixed_point_statistics`, :func:`dynsys.spectrum_at`,
    :func:`dynsys.refine_fixed_point` and :func:`dynsys.attractor_census` (which takes the
    W of the layer it censuses), so a point gets the same label from each.

    Parameters
    ----------
    W : array_like, shape (N, N)

    Returns
    -------
    float
    """
    return ZERO_TOL_REL * weight_scale(W)


def weight_scale(W) -> float:
    """``max|W|``, or 1.0 for W = 0: the scale of the tolerances relative to W."""
    W = np.asarray(W, dtype=np.float64)
    scale = float(np.max(np.abs(W))) if W.size else 0.0
    return scale if scale > 0.0 else 1.0


_label_index_array = np.vectorize(label_index, otypes=[np.int64])
_LABEL_ARRAY = np.array(LABELS, dtype=object)


def _scalar_or_array(result: np.ndarray, one_point: bool):
    return result[()] if one_point else result


def unstable_dimension(eigenvalues, zero_tol: float = DEFAULT_ZERO_TOL):
    """Number of eigenvalues with real part greater than `zero_tol`.

    Parameters
    ----------
    eigenvalues : array_like, shape (..., N)
        Spectra, one per row.
    zero_tol : float
        Real parts within ``[-zero_tol, zero_tol]`` count as zero.

    Returns
    -------
    int or ndarray of int, shape (...)
        The dimension of the unstable manifold (the saddle index).
    """
    ev = np.asarray(eigenvalues)
    return _scalar_or_array(np.sum(ev.real > zero_tol, axis=-1).astype(np.int64), ev.ndim == 1)


def classify_counts(n_positive, n_negative, n_zero, n: int):
    """Label from counts of eigenvalues right of, left of and on the boundary.

    The rule of :func:`label_index`, on scalars or arrays of counts; returns a str or an
    object array of str.
    """
    codes = _label_index_array(np.asarray(n_positive), np.asarray(n_negative),
                               np.asarray(n_zero), n)
    if np.ndim(codes) == 0:
        return LABELS[int(codes)]
    return _LABEL_ARRAY[codes]


def classify_spectrum(eigenvalues, zero_tol: float = DEFAULT_ZERO_TOL):
    """Classify a fixed point of a flow from its Jacobian eigenvalues.

    Parameters
    ----------
    eigenvalues : array_like, shape (..., N)
    zero_tol : float
        Real parts with ``|Re| <= zero_tol`` make the point non-hyperbolic.

    Returns
    -------
    str or ndarray of str (object dtype), shape (...)
        ``"stable"`` (all Re < 0), ``"unstable"`` (all Re > 0), ``"saddle"`` (both signs),
        ``"non-hyperbolic"`` (some Re = 0 within `zero_tol`).
    """
    ev = np.asarray(eigenvalues)
    re = ev.real
    n = ev.shape[-1]
    return classify_counts(
        np.sum(re > zero_tol, axis=-1), np.sum(re < -zero_tol, axis=-1),
        np.sum(np.abs(re) <= zero_tol, axis=-1), n,
    )


def classify_multipliers(multipliers, zero_tol: float = DEFAULT_ZERO_TOL):
    """Classify a fixed point of a map from its multipliers (eigenvalues of the map's Jacobian).

    Parameters
    ----------
    multipliers : array_like, shape (..., N)
    zero_tol : float
        Moduli with ``abs(abs(mu) - 1) <= zero_tol`` make the point non-hyperbolic.

    Returns
    -------
    str or ndarray of str (object dtype), shape (...)
        ``"stable"`` (all moduli < 1), ``"unstable"`` (all > 1), ``"saddle"`` (both),
        ``"non-hyperbolic"`` (some modulus = 1 within `zero_tol`).
    """
    mu = np.abs(np.asarray(multipliers))
    n = mu.shape[-1]
    return classify_counts(
        np.sum(mu > 1 + zero_tol, axis=-1), np.sum(mu < 1 - zero_tol, axis=-1),
        np.sum(np.abs(mu - 1) <= zero_tol, axis=-1), n,
    )
