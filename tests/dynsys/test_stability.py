"""The stability rules: closed-form cases and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dynsys._stability import (
    NON_HYPERBOLIC,
    SADDLE,
    STABLE,
    UNSTABLE,
    classify_multipliers,
    classify_counts,
    classify_spectrum,
    label_index,
    unstable_dimension,
)


@pytest.mark.parametrize(
    "eigs, label, dim",
    [
        ([-1.0, -2.0], STABLE, 0),
        ([1.0, 0.5], UNSTABLE, 2),
        ([-1.0, 0.5], SADDLE, 1),
        ([0.0, -1.0], NON_HYPERBOLIC, 0),
        ([1e-12, 3.0], NON_HYPERBOLIC, 1),
        ([-1 + 2j, -1 - 2j], STABLE, 0),
        ([0.1 + 5j, 0.1 - 5j, -3], SADDLE, 2),
        ([0 + 1j, 0 - 1j], NON_HYPERBOLIC, 0),
    ],
)
def test_classify_spectrum_cases(eigs, label, dim):
    assert classify_spectrum(np.array(eigs)) == label
    assert unstable_dimension(np.array(eigs)) == dim


@pytest.mark.parametrize(
    "mus, label",
    [
        ([0.5, -0.9], STABLE),
        ([1.5, -2.0], UNSTABLE),
        ([0.5, 1.5], SADDLE),
        ([1.0, 0.5], NON_HYPERBOLIC),
        ([np.exp(1j), 0.2], NON_HYPERBOLIC),
        ([0.6 + 0.6j, 0.6 - 0.6j], STABLE),
    ],
)
def test_classify_multipliers_cases(mus, label):
    assert classify_multipliers(np.array(mus)) == label


def test_vectorised_over_rows():
    eigs = np.array([[-1.0, -2.0], [1.0, 2.0], [-1.0, 1.0]])
    np.testing.assert_array_equal(classify_spectrum(eigs), [STABLE, UNSTABLE, SADDLE])
    np.testing.assert_array_equal(unstable_dimension(eigs), [0, 2, 1])


@given(arrays(np.float64, (6,), elements=st.floats(-10, 10)))
def test_flow_and_map_agree_for_small_exponential_multipliers(re):
    # For the time-h map of a linear flow, multipliers are exp(h * lambda): the two rules
    # must then agree exactly (the layer map's disagreement comes from 1 + lambda instead).
    re = np.where(np.abs(re) < 1e-3, 1e-3, re)
    assert classify_spectrum(re) == classify_multipliers(np.exp(re))
    assert unstable_dimension(re) == np.sum(np.abs(np.exp(re)) > 1)


def test_zero_tol_is_the_boundary_width():
    assert classify_spectrum(np.array([-1e-3, -1.0]), zero_tol=1e-2) == NON_HYPERBOLIC
    assert classify_spectrum(np.array([-1e-3, -1.0]), zero_tol=1e-4) == STABLE
    assert unstable_dimension(np.array([1e-3, 2.0]), zero_tol=1e-2) == 1
    assert classify_multipliers(np.array([1.001, 0.5]), zero_tol=1e-2) == NON_HYPERBOLIC
    assert classify_multipliers(np.array([1.001, 0.5]), zero_tol=1e-4) == SADDLE


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6))
def test_one_rule_for_scalars_and_arrays(pos, neg, zero):
    n = pos + neg + zero
    label = classify_counts(pos, neg, zero, n)
    assert isinstance(label, str)
    assert label == (STABLE, UNSTABLE, SADDLE, NON_HYPERBOLIC)[label_index(pos, neg, zero, n)]
    arr = classify_counts(np.array([pos, pos]), np.array([neg, neg]), np.array([zero, zero]), n)
    assert arr.tolist() == [label, label]


def test_label_rule_is_defined_once_beside_the_kernels():
    from dynsys._kernels import _common

    assert label_index is _common.label_index
    assert _common.N_LABELS == len(__import__("dynsys").LABELS)


@pytest.mark.parametrize("W, scale", [([[0.0]], 1.0), ([[2.0, -3.0], [0.5, 1.0]], 3.0),
                                      ([[-1e-3]], 1e-3), (np.zeros((3, 3)), 1.0)])
def test_default_zero_tol_is_relative_to_max_abs_W(W, scale):
    from dynsys._stability import ZERO_TOL_REL, default_zero_tol, weight_scale

    assert weight_scale(W) == scale
    assert default_zero_tol(W) == ZERO_TOL_REL * scale == 1e-9 * scale


def test_counts_store_the_default_zero_tol():
    import dynsys
    from dynsys._stability import default_zero_tol

    W = np.array([[-1.0, 2.0], [3.0, -4.0]])
    assert dynsys.count_fixed_points(W).zero_tol == default_zero_tol(W) == 4e-9
    assert dynsys.fixed_points(W).zero_tol == default_zero_tol(W)
