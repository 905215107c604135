"""Stability of a fixed point from its spectrum: one small pure function per rule.

Two dynamics share the fixed points of eq. 3 of Lagzi (2018) (``seeds/001``):

* the continuous flow dy/dt = y(1-y)(Wy), classified by the real parts of the Jacobian's
  eigenvalues (:func:`classify_spectrum`);
* the step-1 layer map that the network really computes, classified by the moduli of its
  multipliers (:func:`classify_multipliers`).

The labels are the same four strings for both: ``"stable"``, ``"unstable"``, ``"saddle"`` and
``"non-hyperbolic"`` (some eigenvalue on the imaginary axis, or some multiplier on the unit
circle, within `tol`). The functions are vectorised over leading axes: the last axis holds
the N eigenvalues of one point.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STABLE",
    "UNSTABLE",
    "SADDLE",
    "NON_HYPERBOLIC",
    "LABELS",
    "unstable_dimension",
    "classify_spectrum",
    "classify_multipliers",
    "classify_counts",
]

STABLE = "stable"
UNSTABLE = "unstable"
SADDLE = "saddle"
NON_HYPERBOLIC = "non-hyperbolic"
#: The four labels, in the order used by counts and tables.
LABELS = (STABLE, UNSTABLE, SADDLE, NON_HYPERBOLIC)


def _scalar_or_array(result: np.ndarray, one_point: bool):
    return result[()] if one_point else result


def unstable_dimension(eigenvalues, tol: float = 1e-9):
    """Number of eigenvalues with real part greater than `tol`.

    Parameters
    ----------
    eigenvalues : array_like, shape (..., N)
        Spectra, one per row.
    tol : float
        Real parts within ``[-tol, tol]`` count as zero.

    Returns
    -------
    int or ndarray of int, shape (...)
        The dimension of the unstable manifold (the saddle index).
    """
    ev = np.asarray(eigenvalues)
    return _scalar_or_array(np.sum(ev.real > tol, axis=-1).astype(np.int64), ev.ndim == 1)


def classify_counts(n_positive, n_negative, n_zero, n: int):
    """Label from counts of eigenvalues right of, left of and on the boundary (pure rule).

    ``n_zero > 0`` gives ``"non-hyperbolic"``; otherwise all negative is ``"stable"``, all
    positive ``"unstable"``, and a mix ``"saddle"``. Works on scalars or arrays of counts.
    """
    n_positive = np.asarray(n_positive)
    n_negative = np.asarray(n_negative)
    n_zero = np.asarray(n_zero)
    out = np.where(
        n_zero > 0,
        NON_HYPERBOLIC,
        np.where(n_negative == n, STABLE, np.where(n_positive == n, UNSTABLE, SADDLE)),
    ).astype(object)
    return out[()] if out.ndim == 0 else out


def classify_spectrum(eigenvalues, tol: float = 1e-9):
    """Classify a fixed point of a flow from its Jacobian eigenvalues.

    Parameters
    ----------
    eigenvalues : array_like, shape (..., N)
    tol : float
        Real parts with ``|Re| <= tol`` make the point non-hyperbolic.

    Returns
    -------
    str or ndarray of str (object dtype), shape (...)
        ``"stable"`` (all Re < 0), ``"unstable"`` (all Re > 0), ``"saddle"`` (both signs),
        ``"non-hyperbolic"`` (some Re = 0 within `tol`).
    """
    ev = np.asarray(eigenvalues)
    re = ev.real
    n = ev.shape[-1]
    return classify_counts(
        np.sum(re > tol, axis=-1), np.sum(re < -tol, axis=-1), np.sum(np.abs(re) <= tol, axis=-1), n
    )


def classify_multipliers(multipliers, tol: float = 1e-9):
    """Classify a fixed point of a map from its multipliers (eigenvalues of the map's Jacobian).

    Parameters
    ----------
    multipliers : array_like, shape (..., N)
    tol : float
        Moduli with ``abs(abs(mu) - 1) <= tol`` make the point non-hyperbolic.

    Returns
    -------
    str or ndarray of str (object dtype), shape (...)
        ``"stable"`` (all moduli < 1), ``"unstable"`` (all > 1), ``"saddle"`` (both),
        ``"non-hyperbolic"`` (some modulus = 1 within `tol`).
    """
    mu = np.abs(np.asarray(multipliers))
    n = mu.shape[-1]
    return classify_counts(
        np.sum(mu > 1 + tol, axis=-1), np.sum(mu < 1 - tol, axis=-1),
        np.sum(np.abs(mu - 1) <= tol, axis=-1), n,
    )
