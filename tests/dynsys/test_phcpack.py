"""An independent solver: PHCpack's blackbox homotopy solver on the same polynomial system."""

from __future__ import annotations

import numpy as np
import pytest

from dynsys import fixed_points
from tests._oracles.phcpack import PHC_MISSING, match_solution_sets, phc_available, phc_solve

pytestmark = pytest.mark.skipif(not phc_available(), reason=PHC_MISSING)


@pytest.mark.parametrize("n, seed", [(2, 0), (3, 1), (3, 2), (4, 3), (5, 4)])
def test_phcpack_finds_the_same_solution_set(n, seed):
    W = np.random.default_rng(seed).normal(size=(n, n))
    sols, mult, _ = phc_solve(W, seed=seed)
    fp = fixed_points(W)
    # every PHCpack solution is one of our (real) points; the origin comes as 2^N copies
    ok, details = match_solution_sets(fp.points, sols, mult, multiplicity=fp.multiplicity)
    assert ok, details
    assert len(sols) >= len(fp)


def test_phcpack_on_an_integer_matrix():
    W = np.array([[2.0, -1.0, 3.0], [1.0, -2.0, 1.0], [-3.0, 1.0, 1.0]])
    fp = fixed_points(W)
    assert len(fp.degenerate) == 0
    sols, mult, _ = phc_solve(W, seed=7)
    ok, details = match_solution_sets(fp.points, sols, mult, multiplicity=fp.multiplicity)
    assert ok, details


@pytest.mark.parametrize("n, seed", [(3, 11), (4, 12), (5, 13), (6, 14)])
def test_phcpack_finds_the_tanh_solution_set(n, seed):
    # (1 - y_i^2)(W y)_i = 0 has 3^N isolated solutions for generic W, all real and simple:
    # PHCpack's homotopy must find exactly our points, the same number, no more
    W = np.random.default_rng(seed).normal(size=(n, n))
    sols, mult, _ = phc_solve(W, seed=seed, activation="tanh")
    fp = fixed_points(W, activation="tanh", engine="exact" if n <= 4 else "auto")
    assert len(fp) == 3**n and fp.activation == "tanh"
    assert np.all(fp.multiplicity == 1)
    ok, details = match_solution_sets(fp.points, sols, mult, multiplicity=fp.multiplicity)
    assert ok, details
    assert len(sols) == 3**n
