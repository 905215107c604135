"""The distributed engine: the incremental walk split into tasks on a Dask cluster.

Private: the engine ``"distributed"`` of :data:`dynsys.FIXED_POINT_ENGINES`, chosen by
``client=`` of :func:`dynsys.fixed_points` and :func:`dynsys.count_fixed_points`.

The 2^N interior sets are dealt into the strided chunks of the enumeration
(:func:`~dynsys._fixed_points._common.n_chunks`, 256 for N >= 8); a task walks a contiguous
range of chunks on one worker. Counts merge by summing, stored points by concatenating the
tasks' outputs in chunk order, so the merged result equals the local run exactly (same
numbers, same order). W (at most 24 x 24) and the drive of a tanh network (N numbers) travel
inside each task; the principal minors of the count (2^N numbers) are computed once, by a
task on a worker, whose result the other tasks fetch. Nothing is scattered: a broadcast
``scatter`` of data whose key was just released can hang in ``distributed``, and two counts
of the same W in a row did so here.

``distributed`` is an optional dependency (``pip install resdyn[dask]``).
"""

from __future__ import annotations

import numpy as np

from .._kernels._common import tolerance_array
from .._threads import numba_threads as _numba_threads
from ._incremental import (
    DEFAULT_REFRESH,
    check_refresh,
    count_minors,
    count_table,
    merge_stored,
    store_chunks,
    stored_fields,
)
from ._common import (MAX_N_INCREMENTAL, Weights, assemble, check_size, n_chunks,
                      task_ranges)
from ._results import FixedPointCounts, FixedPoints

__all__ = ["OPTIONS", "REPORTS_PROGRESS", "require_distributed", "check_client",
           "fixed_points", "count"]

#: Options of this engine beyond the common arguments: the walk's `refresh`, the number of
#: tasks and the Numba threads inside each task.
OPTIONS = ("refresh", "n_tasks", "numba_threads")
#: It calls `progress(done, total)` itself, as its tasks finish.
REPORTS_PROGRESS = True
#: Whether it solves the driven system ``ds/dt = s (1 - s)(W s + c)`` (tanh networks).
TAKES_DRIVE = True

_INSTALL_HINT = ("`client=` needs the optional package `distributed` (Dask); install it with "
                 "`pip install resdyn[dask]` (or `pip install distributed`)")


def require_distributed():
    """Import and return :mod:`distributed`, or raise an ImportError that says how to get it."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised where the extra is absent
        raise ImportError(_INSTALL_HINT + ".") from exc
    return distributed


def check_client(client):
    """:mod:`distributed`, after checking that `client` is a ``distributed.Client``."""
    distributed = require_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(
            f"`client` must be a distributed.Client (e.g. Client('tcp://host:8786')); got "
            f"{type(client).__name__}."
        )
    return distributed


def _default_tasks(client, n: int) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a client without workers yet: one task per chunk group
        threads = 1
    # several tasks per worker thread evens out the uneven chunk costs; small N, one task
    return 1 if n <= 8 else max(1, 4 * threads)


def _count_task(W, drive, tols, classify_out_of_box, lo, hi, refresh, minors,
                numba_threads_):
    with _numba_threads(numba_threads_):
        return count_table(W, tols, classify_out_of_box=classify_out_of_box,
                           chunk_lo=lo, chunk_hi=hi, refresh=refresh, minors=minors,
                           drive=drive)


def _store_task(W, drive, tols, only, lo, hi, dg_cap, refresh, numba_threads_):
    with _numba_threads(numba_threads_):
        return store_chunks(W, tols, only, chunk_lo=lo, chunk_hi=hi, dg_cap=dg_cap,
                            refresh=refresh, drive=drive)


def _gather(distributed, client, futures, progress):
    """Results of `futures` in submission order; `progress(done, total)` as each finishes."""
    total = len(futures)
    if progress is not None:
        progress(0, total)
        for done, _ in enumerate(distributed.as_completed(futures), start=1):
            progress(done, total)
    return client.gather(futures)


def _ranges(client, n: int, n_tasks) -> list[tuple[int, int]]:
    return task_ranges(n_chunks(n), n_tasks or _default_tasks(client, n))


def count(weights: Weights, *, tols: dict, classify_out_of_box: bool, client,
          progress=None, refresh: int = DEFAULT_REFRESH, n_tasks: int | None = None,
          numba_threads: int = 1) -> FixedPointCounts:
    """The incremental count split into tasks on `client`; equal to the local count.

    `n_tasks`: contiguous ranges of the 256 chunks (default four per worker thread);
    `numba_threads`: Numba threads inside each task (1: the workers are the parallelism);
    `progress(done, total)`: called as tasks finish.
    """
    distributed = check_client(client)
    n = weights.n
    check_size(n, None, counting=True, engine="distributed", max_n=MAX_N_INCREMENTAL)
    refresh = check_refresh(refresh)
    tarr = tolerance_array(tols)
    m_f = client.submit(count_minors, weights.W, pure=False)
    futures = [client.submit(_count_task, weights.W, weights.drive, tarr,
                             bool(classify_out_of_box), lo, hi, refresh, m_f, numba_threads,
                             pure=False)
               for lo, hi in _ranges(client, n, n_tasks)]
    rows = _gather(distributed, client, futures, progress)
    return FixedPointCounts.from_table(np.sum(rows, axis=0), n, tolerances=tols,
                                       out_of_box_classified=classify_out_of_box)


def fixed_points(weights: Weights, *, only, tols: dict, max_degenerate: int, client,
                 progress=None, refresh: int = DEFAULT_REFRESH,
                 n_tasks: int | None = None, numba_threads: int = 1) -> FixedPoints:
    """The incremental listing split into tasks on `client`; equal to the local result
    (same points in the same order). Options as in :func:`count`."""
    distributed = check_client(client)
    n = weights.n
    check_size(n, only, counting=False, engine="distributed", max_n=MAX_N_INCREMENTAL)
    refresh = check_refresh(refresh)
    tarr = tolerance_array(tols)
    futures = [client.submit(_store_task, weights.W, weights.drive, tarr, only, lo, hi,
                             int(max_degenerate), refresh, numba_threads, pure=False)
               for lo, hi in _ranges(client, n, n_tasks)]
    parts = _gather(distributed, client, futures, progress)
    stored = merge_stored(parts, int(max_degenerate))
    return assemble(weights.W, stored_fields(weights.W, tols, stored, only,
                                             drive=weights.drive),
                    only=only, exact=False, tols=tols, max_degenerate=int(max_degenerate))
