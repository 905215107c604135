"""The one helper that sets Numba's thread count for a block and restores it."""

import numba
import pytest

from dynsys._threads import SERIAL_BELOW, numba_threads, threads_for


def test_block_runs_on_the_asked_threads_and_restores_the_count():
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_none_leaves_the_count_alone():
    before = numba.get_num_threads()
    with numba_threads(None):
        assert numba.get_num_threads() == before
    assert numba.get_num_threads() == before


def test_counts_are_clipped_to_what_numba_started_with():
    with numba_threads(10**6):
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    with numba_threads(0):
        assert numba.get_num_threads() == 1


def test_count_is_restored_after_an_error():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with numba_threads(1):
            raise RuntimeError("inside the block")
    assert numba.get_num_threads() == before


def test_small_work_runs_on_one_thread():
    before = numba.get_num_threads()
    with threads_for(SERIAL_BELOW - 1):
        assert numba.get_num_threads() == 1
    with threads_for(SERIAL_BELOW):
        assert numba.get_num_threads() == before
    assert numba.get_num_threads() == before
