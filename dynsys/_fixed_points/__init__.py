"""The fixed points of eq. 3, dy/dt = y (1 - y) (W y): one entry point, several engines.

Algorithm (Lagzi 2018, "Residual networks classify inputs based on their neural transient
dynamics", eq. 3):

1. At a fixed point every coordinate has a vanishing factor: ``y_i = 0``, ``y_i = 1`` or
   ``(W y)_i = 0``. A *pattern* picks one per coordinate, coded 0, 1, 2 (interior).
2. With ``B1`` the coordinates at 1 and ``I`` the interior ones, the interior coordinates solve
   the linear system ``W[I,I] y_I = -W[I,B1] 1``. An invertible ``W[I,I]`` gives one point; a
   singular one gives no point ("no solution") or an affine set of fixed points
   ("continuum"), reported in :attr:`FixedPoints.degenerate`, never dropped.
3. Several patterns can give the same point: a point ``y`` is given by every pattern that
   agrees with it, i.e. ``2^m`` patterns with ``m = #{i : y_i in {0, 1}, (W y)_i = 0}`` (those
   with an invertible block). The origin gets ``2^N``, so a generic W has ``3^N - 2^N + 1``
   distinct points, not the paper's ``3^N``. Each point is counted once, at its *canonical*
   pattern (code 0/1 wherever ``y_i`` is 0/1), which also makes streaming counts exact.
4. At a fixed point the Jacobian is block-triangular: eigenvalues ``(W y)_i`` at coordinates at
   0, ``-(W y)_i`` at coordinates at 1, and those of ``diag(y_I (1 - y_I)) W[I,I]``. The step-1
   layer map (in logit coordinates ``z(t+1) = z(t) + W sigmoid(z(t))``) has the multipliers
   ``exp`` of the boundary eigenvalues and ``1 + lambda`` for the interior ones.

The family, one file per part (no file imports another around a circle):

``__init__`` (this module)
    :func:`fixed_points` and :func:`count_fixed_points`: validate W and the arguments once,
    pick the engine (:data:`FIXED_POINT_ENGINES`, ``engine="auto"``), call it.
``_enumeration``, ``_incremental``, ``_exact``, ``_distributed``
    the engines; each takes the validated input and says when it cannot take a request.
    ``_distributed`` runs ``_incremental``'s walk as tasks.
``_ensembles``, ``_local``
    statistics over random W (counts by the incremental walk), and the local analysis at any
    point (spectra, Newton refinement) for networks too wide to enumerate.
``_continuation``
    :func:`continue_fixed_points`: the branches and events of the points along a
    piecewise-linear path of weights (its compiled pass in ``_kernels.continuation``).
``_common``
    the validated input, tolerances, size limits, the one result assembly.
``_results``
    the frozen results and the one decoder of the kernels' count rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .._validation import check_choice, check_int
from . import _distributed, _enumeration, _exact, _incremental
from ._common import (
    MAX_N_EXACT,
    MAX_N_FULL,
    MAX_N_INCREMENTAL,
    MAX_N_STREAMING,
    ONLY_CHOICES,
    exact_tolerances,
    from_unit,
    numeric_tolerances,
    unit_tolerances,
    validate_weights,
)
from ._continuation import (
    ContinuationWork,
    FixedPointBranches,
    FixedPointContinuation,
    FixedPointEvents,
    continue_fixed_points,
)
from ._ensembles import FixedPointStatistics, fixed_point_statistics
from ._local import LocalSpectrum, RefinedFixedPoint, refine_fixed_point, spectrum_at
from ._results import DegeneratePatterns, FixedPointCounts, FixedPoints

__all__ = [
    "FIXED_POINT_ENGINES",
    "FixedPointEngine",
    "fixed_points",
    "count_fixed_points",
    "FixedPoints",
    "FixedPointCounts",
    "DegeneratePatterns",
    "FixedPointStatistics",
    "fixed_point_statistics",
    "LocalSpectrum",
    "RefinedFixedPoint",
    "refine_fixed_point",
    "spectrum_at",
    "continue_fixed_points",
    "FixedPointContinuation",
    "FixedPointBranches",
    "FixedPointEvents",
    "ContinuationWork",
]


@dataclass(frozen=True)
class FixedPointEngine:
    """One engine of :func:`fixed_points` and :func:`count_fixed_points`.

    Attributes
    ----------
    name : str
        The value of ``engine=``.
    description : str
        What it does, in one line.
    max_n : int
        Largest N it counts, or lists with a filter (``only=``).
    max_n_listing : int
        Largest N of which it lists every point (no filter).
    options : tuple of str
        Its own keyword options, beyond the arguments every engine takes.
    needs_client : bool
        Whether it runs on a Dask cluster (``client=`` a ``distributed.Client``).
    """

    name: str
    description: str
    max_n: int
    max_n_listing: int
    options: tuple = ()
    needs_client: bool = False

    def __repr__(self) -> str:
        return (f"FixedPointEngine(name={self.name!r}, max_n={self.max_n}, "
                f"needs_client={self.needs_client})")


#: The engines of :func:`fixed_points` and :func:`count_fixed_points`, by name (the values
#: of ``engine=`` besides ``"auto"``); every engine returns the same result for the same W
#: and tolerances, where it runs.
FIXED_POINT_ENGINES = MappingProxyType({
    "enumeration": FixedPointEngine(
        "enumeration", "a linear solve per pattern in floating point; every point labelled "
        "(Numba)", MAX_N_STREAMING, MAX_N_FULL, _enumeration.OPTIONS),
    "incremental": FixedPointEngine(
        "incremental", "a Gray-code walk, one column update per pattern; out-of-box points "
        "labelled on request (Numba)", MAX_N_INCREMENTAL, MAX_N_FULL, _incremental.OPTIONS),
    "exact": FixedPointEngine(
        "exact", "rational arithmetic, exact decisions and labels, no tolerances (SymPy)",
        MAX_N_EXACT, MAX_N_EXACT, _exact.OPTIONS),
    "distributed": FixedPointEngine(
        "distributed", "the incremental walk split into tasks on a Dask cluster (`client=`)",
        MAX_N_INCREMENTAL, MAX_N_FULL, _distributed.OPTIONS, needs_client=True),
})

_MODULES = {"enumeration": _enumeration, "incremental": _incremental, "exact": _exact,
            "distributed": _distributed}
_ENGINE_CHOICES = ("auto",) + tuple(FIXED_POINT_ENGINES)


def _engine_for_listing(engine: str, *, exact: bool, only, n: int, client) -> str:
    """The engine of :func:`fixed_points` (the rule of ``engine="auto"``) after the checks
    that a request and an engine agree."""
    check_choice(engine, "engine", _ENGINE_CHOICES)
    if exact and engine not in ("auto", "exact"):
        raise ValueError(f"`exact=True` is the 'exact' engine; got engine={engine!r}. Drop "
                         "one of them.")
    if engine == "auto":
        if exact:
            engine = "exact"
        elif client is not None:
            engine = "distributed"
        elif only is not None and n > MAX_N_STREAMING:
            engine = "incremental"
        else:
            engine = "enumeration"
    return engine


def _engine_for_counts(engine: str, *, classify_out_of_box: bool, client) -> str:
    """The engine of :func:`count_fixed_points` (the rule of ``engine="auto"``)."""
    check_choice(engine, "engine", _ENGINE_CHOICES)
    if engine == "auto":
        if client is not None:
            engine = "distributed"
        elif classify_out_of_box:
            engine = "enumeration"
        else:
            engine = "incremental"
    return engine


def _engine_arguments(engine: str, client, progress, options: dict) -> dict:
    """The engine's own keyword arguments, after checking `client`, `progress` and the
    options against what the engine takes."""
    info = FIXED_POINT_ENGINES[engine]
    if info.needs_client:
        if client is None:
            raise ValueError(f"engine={engine!r} runs on a Dask cluster: pass `client=` (a "
                             "distributed.Client, e.g. Client('tcp://host:8786')); got "
                             "client=None.")
        extra = {"client": client}
    else:
        if client is not None:
            raise ValueError(f"`client` runs the 'distributed' engine (the numeric walk on a "
                             f"Dask cluster); got engine={engine!r}. Pass engine='distributed' "
                             "or 'auto', or drop `client`.")
        extra = {}
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be a callable progress(done, total) or None; got "
                        f"{progress!r}. dynsys draws no progress bars: the command line does.")
    if progress is not None and _MODULES[engine].REPORTS_PROGRESS:
        extra["progress"] = progress  # the engine reports its own steps
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        takes = ", ".join(repr(o) for o in info.options) or "none"
        raise TypeError(f"engine={engine!r} takes no option {unknown[0]!r} (its options: "
                        f"{takes}).")
    return {**extra, **options}


def _tolerances(engine: str, weights, *tol_args):
    """The tolerances of a request in the network's coordinates: exact decisions for "exact",
    the numeric defaults (relative to the network's own W) otherwise."""
    if engine == "exact":
        return exact_tolerances(*tol_args)
    return numeric_tolerances(weights.network_W, *tol_args)


def _check_drive(engine: str, weights) -> None:
    """Refuse a tanh request where the engine cannot solve the driven system."""
    if weights.drive is not None and not _MODULES[engine].TAKES_DRIVE:
        takes = ", ".join(repr(name) for name, mod in _MODULES.items() if mod.TAKES_DRIVE)
        raise ValueError(
            f"`engine`={engine!r} does not analyse {weights.activation} networks; the engines "
            f"that do: {takes} (or engine='auto')."
        )


def _reporting(progress, kw: dict, run):
    """Run an engine; one that does not report itself reports (0, 1) before and (1, 1) after:
    the enumeration and exact engines run as one compiled call, with no point in between to
    report from."""
    if progress is None or "progress" in kw:
        return run()
    progress(0, 1)
    result = run()
    progress(1, 1)
    return result


def fixed_points(W, *, engine: str = "auto", exact: bool = False, only=None,
                 zero_tol: float | None = None, rank_tol: float | None = None,
                 residual_tol: float | None = None, face_tol: float | None = None,
                 max_degenerate: int = 1_000_000, client=None, progress=None,
                 activation=None, **options) -> FixedPoints:
    """All distinct fixed points of eq. 3, dy/dt = y (1 - y) (W y), with their stability.

    For a tanh network (``activation="tanh"``) the flow is ``dy/dt = (1 - y^2)(W y)`` on
    [-1, 1]^N: pattern code 0 is the face -1, 1 the face +1, and a generic W has 3^N distinct
    points. The engines solve it as the logistic system ``ds/dt = s (1 - s)(4W s - 2W 1)``,
    ``s = (y + 1) / 2`` (:doc:`/theory/tanh`), and the result is returned in y.

    Parameters
    ----------
    W : Network, array_like of shape (N, N), or ResidualSystem
        The shared weights: a shared-weight :class:`dynsys.Network` or a bare matrix of
        float, integer, Fraction or SymPy Rational entries.
    engine : {"auto", "enumeration", "incremental", "exact", "distributed"}
        The algorithm (:data:`FIXED_POINT_ENGINES`). ``"auto"``: ``"exact"`` with
        ``exact=True``, ``"distributed"`` with a `client`, ``"incremental"`` with a filter
        (`only`) beyond N = 20, ``"enumeration"`` otherwise. Every engine gives the same
        points, labels and counts where it runs (the exact engine: exact decisions, no
        tolerances).
    exact : bool
        Rational arithmetic throughout (points, rank decisions, in-box test, flow and map
        labels), for N <= 6: the ``"exact"`` engine. Float entries are converted exactly.
        Exact mode has no tolerances: each must be None or 0, and the result stores 0.0 for
        each.
    only : {None, "in_box", "stable", "stable_in_box"}
        Keep only points in [0, 1]^N, flow-stable points, or both. The filter is applied
        inside the enumeration, so memory grows with the number of kept points only
        (N <= 24; beyond N = 20 by the incremental walk); without a filter N <= 13.
    zero_tol : float, optional
        An eigenvalue real part (flow) or ``|mu| - 1`` (map) within this counts as zero:
        the point is non-hyperbolic. Default ``1e-9 * max|W|``.
    rank_tol : float, optional
        An interior block ``W[I,I]`` is singular when its LU with complete pivoting meets a
        pivot of at most this size. Default ``1e-11 * max|W|``.
    residual_tol : float, optional
        A singular pattern's system is consistent (a continuum of fixed points) when its
        eliminated residual is at most this per boundary coordinate at 1, else it has no
        solution. Default ``1e-9 * max|W|``.
    face_tol : float, optional
        An interior coordinate within this of 0 or 1 lies on the face: the point is listed
        at the pattern with code 0 / 1 there instead. Default ``1e-9``.
    max_degenerate : int
        Store at most this many degenerate patterns (their counts are always exact and
        ``degenerate.truncated`` says when the list is incomplete). Every engine.
    client : distributed.Client, optional
        Split the pattern space into tasks on this Dask cluster (the ``"distributed"``
        engine; ``pip install 'resdyn[dask]'``). The points, in the same order, are those of
        the local run.
    progress : callable, optional
        ``progress(done, total)``, called with ``done = 0`` first and ``done = total`` last.
        The ``"distributed"`` engine reports its tasks as they finish; ``"incremental"``
        walks its chunks of interior sets in up to 16 ranges and reports each (a small N,
        or one with few chunks per Numba thread, is one range); ``"enumeration"`` and
        ``"exact"`` cannot report from inside their loops and run as one unit of work,
        ``progress(0, 1)`` and ``progress(1, 1)``. The numbers do not depend on it.
    **options
        The engine's own options (:attr:`FixedPointEngine.options`): ``refresh`` (incremental
        and distributed: recompute the walk's running sums every `refresh` Gray steps, a
        power of 2, default 64); ``n_tasks`` (distributed: contiguous ranges of the 256
        chunks, default four per worker thread) and ``numba_threads`` (distributed: Numba
        threads inside each task, default 1). An option the engine does not take is a
        ``TypeError``.
    activation : {"logistic", "tanh"}, optional
        For a bare W (default logistic); a network's own activation is used otherwise (a
        contradiction is refused). The tolerances are in the network's coordinates y.

    Returns
    -------
    FixedPoints
        It stores the four tolerances it used (absolute values);
        ``fixed_points(W, only=fp.only, **fp.tolerances)`` reproduces it.

    Raises
    ------
    ValueError
        If `W` is not a finite square matrix with N >= 1, `engine` is not a known engine, a
        tolerance is not positive, the engine cannot take the request (N too large, no
        `client` for ``"distributed"``; the message says what to use instead).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> fp = dynsys.fixed_points(np.array([[-1.0, 2.0], [3.0, -1.0]]))
    >>> len(fp)   # 3^2 - 2^2 + 1
    6
    >>> len(dynsys.fixed_points(np.array([[-1, 2], [3, -1]]), engine="exact"))
    6
    """
    weights = validate_weights(W, activation)
    check_choice(only, "only", ONLY_CHOICES)
    max_degenerate = check_int(max_degenerate, "max_degenerate", minimum=0)
    engine = _engine_for_listing(engine, exact=bool(exact), only=only, n=weights.n,
                                 client=client)
    _check_drive(engine, weights)
    kw = _engine_arguments(engine, client, progress, options)
    tols = _tolerances(engine, weights, zero_tol, rank_tol, residual_tol, face_tol)
    result = _reporting(progress, kw, lambda: _MODULES[engine].fixed_points(
        weights, only=only, tols=unit_tolerances(tols, weights),
        max_degenerate=max_degenerate, **kw))
    return from_unit(result, weights, tols)


def count_fixed_points(W, *, engine: str = "auto", zero_tol: float | None = None,
                       rank_tol: float | None = None, residual_tol: float | None = None,
                       face_tol: float | None = None, classify_out_of_box: bool = False,
                       client=None, progress=None, activation=None,
                       **options) -> FixedPointCounts:
    """Count the distinct isolated fixed points of eq. 3 by type, without storing them.

    Every point is counted once, at its canonical pattern. In-box points get both the flow
    and the layer-map label. By default the patterns of each interior set I are walked in
    Gray-code order, so that one boundary coordinate changes per step and the point and its
    boundary rates move by one column of ``-W[I,I]^{-1} W[I,B]`` and of the Schur complement:
    O(N) work per pattern, N <= 24 (see :doc:`/theory/fixed_points`; measured run times are
    on :doc:`/benchmarks/fixed_points`). Out-of-box points are then counted, not labelled.

    Parameters
    ----------
    W : Network, array_like of shape (N, N), or ResidualSystem
    engine : {"auto", "enumeration", "incremental", "exact", "distributed"}
        The algorithm (:data:`FIXED_POINT_ENGINES`). ``"auto"``: ``"distributed"`` with a
        `client`, ``"enumeration"`` with `classify_out_of_box`, ``"incremental"`` otherwise.
        Every engine gives the same counts where it runs (``"exact"``: exact decisions, the
        tolerances must be None or 0).
    zero_tol, rank_tol, residual_tol, face_tol : float, optional
        As in :func:`fixed_points`; the counts store the values used.
    classify_out_of_box : bool
        Also give every out-of-box point its flow label and unstable dimension (a solve per
        pattern with a Routh-Hurwitz count of the characteristic polynomial, QR where that is
        inconclusive; O(N^3) per pattern, N <= 20). Without it the
        out-of-box labels are None, whichever engine counts.
    client : distributed.Client, optional
        Split the pattern space into tasks on this Dask cluster (the ``"distributed"``
        engine; ``pip install 'resdyn[dask]'``); the counts are identical to the local run.
    progress : callable, optional
        ``progress(done, total)``, as in :func:`fixed_points` (tasks of the ``"distributed"``
        engine, ranges of chunks of ``"incremental"``, one unit of work for the others).
    activation : {"logistic", "tanh"}, optional
        As in :func:`fixed_points`.
    **options
        The engine's own options, as in :func:`fixed_points`.

    Returns
    -------
    FixedPointCounts

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> c = dynsys.count_fixed_points(np.array([[-1.0, 2.0], [3.0, -1.0]]))
    >>> c.total, c.in_box
    (6, 4)
    """
    weights = validate_weights(W, activation)
    engine = _engine_for_counts(engine, classify_out_of_box=bool(classify_out_of_box),
                                client=client)
    _check_drive(engine, weights)
    kw = _engine_arguments(engine, client, progress, options)
    tols = _tolerances(engine, weights, zero_tol, rank_tol, residual_tol, face_tol)
    result = _reporting(progress, kw, lambda: _MODULES[engine].count(
        weights, tols=unit_tolerances(tols, weights),
        classify_out_of_box=bool(classify_out_of_box), **kw))
    return from_unit(result, weights, tols)
