"""What the census engines share (dynsys/_census/_common.py): unique rows and the map labels."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys._stability import classify_multipliers


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 200), N=st.integers(1, 9), groups=st.integers(1, 30),
       seed=st.integers(0, 10_000))
def test_unique_rows_is_numpys_unique_along_rows(B, N, groups, seed):
    from dynsys._census._common import _unique_rows

    rng = np.random.default_rng(seed)
    patterns = rng.integers(0, 3, size=(groups, N)).astype(np.int8)[rng.integers(0, groups, B)]
    values = np.round(rng.normal(size=(groups, N)), 1)[rng.integers(0, groups, B)]
    values[rng.random(values.shape) < 0.2] = -0.0  # -0.0 and 0.0 are one value
    values[rng.random(values.shape) < 0.2] = 0.0
    for A in (patterns, values):
        uniq, first, inverse = _unique_rows(A)
        ref_uniq, ref_first, ref_inverse = np.unique(A, axis=0, return_index=True,
                                                     return_inverse=True)
        np.testing.assert_array_equal(uniq, ref_uniq)
        np.testing.assert_array_equal(first, ref_first)
        np.testing.assert_array_equal(inverse, ref_inverse.reshape(-1))


def test_map_label_is_classify_multipliers():
    from dynsys._census._common import _map_label

    rng = np.random.default_rng(0)
    zero_tol = 1e-9
    for _ in range(300):
        n = int(rng.integers(1, 8))
        mu = rng.normal(size=n) * 1.2 + 1j * rng.normal(size=n) * rng.integers(0, 2)
        # some moduli on the unit circle, just inside or just outside the tolerance
        on = rng.random(n) < 0.3
        mu[on] = np.exp(1j * rng.uniform(0, 2 * np.pi, on.sum())) * (
            1 + rng.choice([0.0, 0.5e-9, -0.5e-9, 2e-9, -2e-9], on.sum()))
        label, n_out = _map_label(mu, zero_tol)
        assert label == classify_multipliers(mu, zero_tol)
        assert n_out == int(np.sum(np.abs(mu) > 1 + zero_tol))
