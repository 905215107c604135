"""The end-point classifier of the census (dynsys/_census/_classify.py): the algebraic-rate test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("t", [(1000, 4000, 16000), (100, 200, 400), (10, 300, 9000)])
def test_algebraic_rate_of_a_power_law(p, t):
    from dynsys._census._classify import _algebraic_rate

    t = np.array(t, dtype=float)[:, None]
    d = 3.0 * t ** -p
    rate, ok = _algebraic_rate(t, d)
    assert ok.tolist() == [True]
    np.testing.assert_allclose(rate, p, rtol=1e-12)


@pytest.mark.parametrize("lam", [1e-5, 1e-3, 1e-2])
@pytest.mark.parametrize("t", [(1000, 4000, 16000), (100, 200, 400), (10, 300, 9000)])
def test_algebraic_rate_of_an_exponential_is_not_algebraic(lam, t):
    from dynsys._census._classify import _algebraic_rate

    t = np.array(t, dtype=float)[:, None]
    rate, ok = _algebraic_rate(t, 0.3 * np.exp(-lam * t))
    assert ok.tolist() == [False] and np.isnan(rate[0])


def test_algebraic_rate_needs_a_falling_distance_and_spread_layers():
    from dynsys._census._classify import _algebraic_rate

    t = np.array([[1000.0] * 5, [4000.0] * 5, [16000.0] * 5])
    d = np.array([
        [1e-3, 1e-3, 1e-3],          # constant
        [1e-3, 2e-3, 4e-3],          # growing
        [1e-3, 2.5e-4, 4e-4],        # falls, then grows
        [1e-3, 2.5e-4, 0.0],         # reaches the point exactly
        [1e-3, 2.5e-4, np.nan],
    ]).T
    rate, ok = _algebraic_rate(t, d)
    assert not ok.any() and np.all(np.isnan(rate))
    # layers closer than _APPROACH_STEP apart
    t = np.array([[1000.0], [1500.0], [16000.0]])
    assert not _algebraic_rate(t, 1.0 / t)[1].any()


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.05, 5.0), C=st.floats(1e-3, 1e3), t1=st.floats(1.0, 1e5),
       r1=st.floats(2.0, 100.0), r2=st.floats(2.0, 100.0), lam_t3=st.floats(1e-4, 600.0))
def test_property_algebraic_rate_tells_power_laws_from_exponentials(p, C, t1, r1, r2, lam_t3):
    from dynsys._census._classify import _algebraic_rate

    t = np.array([t1, t1 * r1, t1 * r1 * r2])[:, None]
    rate, ok = _algebraic_rate(t, C * t ** -p)
    assert ok[0]
    np.testing.assert_allclose(rate, p, rtol=1e-6)
    # an exponential over the same layers, from a fall of 1e-4 to 600 e-foldings by t3 (no
    # underflow): its slope ratio is the factor G of the notes, never within sqrt(G) of 1
    d = C * np.exp(-(lam_t3 / t[2]) * t)
    rate, ok = _algebraic_rate(t, d)
    assert not ok[0] and np.isnan(rate[0])
