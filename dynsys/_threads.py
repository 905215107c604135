"""Numba's thread count for one block of work, restored afterwards.

One helper for every place in :mod:`dynsys` that runs a parallel kernel on fewer threads than
the default: small enumerations (a thread pool costs more than the work), a task on a Dask
worker (the workers are the parallelism), and the samples of an ensemble counted side by side.
Numba's thread count is a setting of the calling thread, so a block changes it for its own
thread only.
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["SERIAL_BELOW", "numba_threads", "threads_for"]

#: Below this many patterns the fixed-point kernels run on the calling thread only: waking a
#: thread pool costs more than the whole enumeration (measured: ~20 ms per parallel region on
#: a busy 2-vCPU host with the OpenMP layer, against 0.3 ms for all of N = 5 on one thread).
SERIAL_BELOW = 200_000


@contextmanager
def numba_threads(n):
    """Run the block on `n` Numba threads, then restore the previous count.

    `n` None leaves the count as it is; other values are clipped to ``1 ..
    NUMBA_NUM_THREADS`` (Numba refuses more threads than it started with).
    """
    if n is None:
        yield
        return
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(min(max(1, int(n)), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(saved)


def threads_for(work: int):
    """:func:`numba_threads` with one thread below :data:`SERIAL_BELOW` units of work, else
    the default."""
    return numba_threads(1 if work < SERIAL_BELOW else None)
