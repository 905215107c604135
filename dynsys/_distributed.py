"""The pattern enumeration of eq. 3 on a Dask ``distributed`` cluster.

Private: the engine behind ``count_fixed_points(W, client=...)`` and
``fixed_points(W, only=..., client=...)``.

The 2^N interior sets are dealt into the strided chunks of the enumeration
(:func:`dynsys._incremental.n_chunks`, 256 for N >= 8); a task walks a contiguous range of
chunks on one worker. Counts merge by summing, stored points by concatenating the tasks'
outputs in chunk order, so the merged result equals the local run exactly (same numbers, same
order). W (at most 24 x 24) travels inside each task; the principal minors of the full count
(2^N numbers) are computed once, by a task on a worker, whose result the other tasks fetch.
Nothing is scattered: a broadcast ``scatter`` of data whose key was just released can hang
in ``distributed``, and two counts of the same W in a row did so here.

``distributed`` is an optional dependency (``pip install resdyn[dask]``).
"""

from __future__ import annotations

import numpy as np

from . import _incremental as inc

__all__ = ["require_distributed", "count_distributed", "fixed_points_distributed",
           "task_ranges", "connect", "tqdm_progress"]

_INSTALL_HINT = ("`client=` needs the optional package `distributed` (Dask); install it with "
                 "`pip install resdyn[dask]` (or `pip install distributed`)")


def require_distributed():
    """Import and return :mod:`distributed`, or raise an ImportError that says how to get it."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised where the extra is absent
        raise ImportError(_INSTALL_HINT + ".") from exc
    return distributed


def _check_client(client):
    distributed = require_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(
            f"`client` must be a distributed.Client (e.g. Client('tcp://host:8786')); got "
            f"{type(client).__name__}."
        )
    return distributed


def task_ranges(n_chunks: int, n_tasks: int) -> list[tuple[int, int]]:
    """Split ``0 .. n_chunks`` into `n_tasks` contiguous ranges of near-equal length."""
    n_tasks = max(1, min(int(n_tasks), n_chunks))
    edges = np.linspace(0, n_chunks, n_tasks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _default_tasks(client, n: int) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a client without workers yet: one task per chunk group
        threads = 1
    # several tasks per worker thread evens out the uneven chunk costs; small N, one task
    return 1 if n <= 8 else max(1, 4 * threads)


def _with_threads(numba_threads: int):
    import numba

    return min(max(1, int(numba_threads)), numba.config.NUMBA_NUM_THREADS)


def _count_task(W, tols, classify_out_of_box, lo, hi, refresh, minors, numba_threads):
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(_with_threads(numba_threads))
    try:
        return inc.count_table(W, tols, classify_out_of_box=classify_out_of_box,
                               chunk_lo=lo, chunk_hi=hi, refresh=refresh, minors=minors)
    finally:
        numba.set_num_threads(saved)


def _store_task(W, tols, only, lo, hi, dg_cap, refresh, numba_threads):
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(_with_threads(numba_threads))
    try:
        return inc.store_chunks(W, tols, only, chunk_lo=lo, chunk_hi=hi, dg_cap=dg_cap,
                                refresh=refresh)
    finally:
        numba.set_num_threads(saved)


def _gather(distributed, client, futures, progress):
    """Results of `futures` in submission order; `progress(done, total)` as each finishes."""
    total = len(futures)
    if progress is not None:
        progress(0, total)
        for done, _ in enumerate(distributed.as_completed(futures), start=1):
            progress(done, total)
    return client.gather(futures)


def count_distributed(W, client, *, zero_tol=None, rank_tol=None, residual_tol=None,
                      face_tol=None, classify_out_of_box: bool = False, n_tasks: int | None = None,
                      numba_threads: int = 1, refresh: int = inc.DEFAULT_REFRESH,
                      progress=None):
    """:func:`dynsys._incremental.count_incremental` split into tasks on a Dask cluster.

    Parameters
    ----------
    W : array_like, shape (N, N), or a shared-weight Network
    client : distributed.Client
    zero_tol, rank_tol, residual_tol, face_tol, classify_out_of_box, refresh
        As in :func:`dynsys._incremental.count_incremental`.
    n_tasks : int, optional
        Number of tasks (contiguous ranges of the 256 chunks); default four per worker thread.
    numba_threads : int
        Numba threads inside each task (1: the workers are the parallelism).
    progress : callable(done, total), optional
        Called as tasks finish (the command line's progress bar).

    Returns
    -------
    FixedPointCounts
        Equal to the local count.
    """
    distributed = _check_client(client)
    W_c, tols, tarr = inc.prepare(W, zero_tol=zero_tol, rank_tol=rank_tol,
                                  residual_tol=residual_tol, face_tol=face_tol)
    refresh = inc._check_refresh(refresh)
    n = W_c.shape[0]
    ranges = task_ranges(inc.n_chunks(n), n_tasks or _default_tasks(client, n))
    m_f = client.submit(inc._minors, W_c, "full" if classify_out_of_box else "box",
                        pure=False)
    futures = [client.submit(_count_task, W_c, tarr, bool(classify_out_of_box), lo, hi,
                             refresh, m_f, numba_threads, pure=False)
               for lo, hi in ranges]
    rows = _gather(distributed, client, futures, progress)
    return inc.counts_from_table(np.sum(rows, axis=0), n, tols,
                                 classify_out_of_box=classify_out_of_box)


def fixed_points_distributed(W, client, *, only=None, zero_tol=None, rank_tol=None,
                             residual_tol=None, face_tol=None,
                             max_degenerate: int = 1_000_000, n_tasks: int | None = None,
                             numba_threads: int = 1, refresh: int = inc.DEFAULT_REFRESH,
                             progress=None):
    """:func:`dynsys._incremental.fixed_points_incremental` split into tasks on a cluster.

    Parameters as in :func:`count_distributed`; `only` and `max_degenerate` as in
    :func:`dynsys.fixed_points`. Returns a :class:`~dynsys.FixedPoints` equal to the local
    result (same points in the same order).
    """
    from ._validation import check_choice

    distributed = _check_client(client)
    check_choice(only, "only", tuple(inc._FILTER_CODES))
    W_c, tols, tarr = inc.prepare(W, zero_tol=zero_tol, rank_tol=rank_tol,
                                  residual_tol=residual_tol, face_tol=face_tol)
    refresh = inc._check_refresh(refresh)
    n = W_c.shape[0]
    inc._check_listing(n, only)
    ranges = task_ranges(inc.n_chunks(n), n_tasks or _default_tasks(client, n))
    futures = [client.submit(_store_task, W_c, tarr, only, lo, hi, int(max_degenerate),
                             refresh, numba_threads, pure=False)
               for lo, hi in ranges]
    parts = _gather(distributed, client, futures, progress)
    stored = inc.merge_stored(parts, int(max_degenerate))
    return inc.assemble(W_c, tols, stored, only, max_degenerate)


def connect(address: str):
    """A ``distributed.Client`` connected to the scheduler at `address` (``tcp://host:8786``)."""
    distributed = require_distributed()
    if not isinstance(address, str) or not address:
        raise ValueError(f"`address` must be a scheduler address such as 'tcp://host:8786'; "
                         f"got {address!r}.")
    return distributed.Client(address)


class tqdm_progress:
    """Context manager giving a ``progress(done, total)`` callable that drives a tqdm bar.

    For the command line: ``with tqdm_progress("patterns") as progress:
    count_distributed(W, client, progress=progress)``. The bar writes to stderr.
    """

    def __init__(self, desc: str = "tasks"):
        self.desc = desc
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.desc, unit="task")
        self.bar.n = done
        self.bar.refresh()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
