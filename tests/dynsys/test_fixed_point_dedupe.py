"""The near-copy safety net of the fixed-point assembly, `_dedupe`, tested directly."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys._fixed_points._common import _dedupe


def test_distinct_rows_are_all_kept():
    pts = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.5, 0.5 + 1e-6]])
    keep, group = _dedupe(pts)
    np.testing.assert_array_equal(keep, np.arange(4))
    np.testing.assert_array_equal(group, np.arange(4))


def test_exact_and_near_copies_merge_into_the_first_row():
    pts = np.array([[0.25, 0.75], [0.0, 1.0], [0.25, 0.75], [0.25 + 1e-13, 0.75 - 1e-13]])
    keep, group = _dedupe(pts)
    np.testing.assert_array_equal(keep, [0, 1])
    np.testing.assert_array_equal(group, [0, 1, 0, 0])


def test_fewer_than_two_rows():
    for m in (0, 1):
        keep, group = _dedupe(np.zeros((m, 3)))
        assert keep.tolist() == list(range(m)) and group.tolist() == list(range(m))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 8), seed=st.integers(0, 2**31 - 1),
       copies=st.lists(st.integers(0, 7), max_size=6))
def test_property_copies_point_to_their_original(n, m, seed, copies):
    rng = np.random.default_rng(seed)
    base = rng.uniform(-3.0, 3.0, size=(m, n))  # distinct with probability 1, far apart
    src = [c % m for c in copies]
    jitter = rng.uniform(-1e-14, 1e-14, size=(len(src), n))
    pts = np.concatenate([base, base[src] + jitter]) if src else base
    keep, group = _dedupe(pts)
    np.testing.assert_array_equal(keep, np.arange(m))
    np.testing.assert_array_equal(group[:m], np.arange(m))
    np.testing.assert_array_equal(group[m:], src)
