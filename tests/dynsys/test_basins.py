"""dynsys.basins: Monte Carlo basin fractions of the stable fixed points of eq. 3."""

import numpy as np
import pytest

import dynsys


def test_single_attractor_takes_everything():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    bas = dynsys.basins(W, n_samples=500, seed=1)
    np.testing.assert_allclose(bas.points, [[1.0, 1.0]])
    assert bas.counts.tolist() == [500] and bas.n_unassigned == 0
    assert bas.stderr[0] == 0.0


def test_symmetric_bistable_system_splits_in_half():
    """W = [[1, -2], [-2, 1]]: stable points (1, 0) and (0, 1), basins split by the diagonal
    y1 = y2 by symmetry, so each fraction is 1/2 up to sampling error."""
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    bas = dynsys.basins(W, n_samples=4000, seed=2)
    assert bas.points.shape == (2, 2)
    assert bas.n_unassigned == 0
    assert np.all(np.abs(bas.fractions - 0.5) < 4 * bas.stderr)
    # the diagonal decides: y1 > y2 ends at (1, 0)
    to_10 = np.argmin(np.abs(bas.points - [1.0, 0.0]).max(axis=1))
    np.testing.assert_array_equal(bas.labels == to_10, bas.initial[:, 0] > bas.initial[:, 1])
    assert bas.fractions.sum() + bas.unassigned_fraction == pytest.approx(1.0)


def test_stderr_is_binomial_and_seeded():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    a = dynsys.basins(W, n_samples=300, seed=5)
    b = dynsys.basins(W, n_samples=300, seed=5)
    np.testing.assert_array_equal(a.labels, b.labels)
    p = a.fractions
    np.testing.assert_allclose(a.stderr, np.sqrt(p * (1 - p) / 300))
    assert np.all((a.initial > 0) & (a.initial < 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_assignments_agree_with_integration_and_fixed_points(seed):
    """N = 4 random W: every assigned sample ends within tol of its stable point, and
    refining the end state lands on the same listed point."""
    W = np.random.default_rng(seed).normal(size=(4, 4)) * 2
    bas = dynsys.basins(W, n_samples=400, seed=seed)
    listed = dynsys.fixed_points(W, only="stable_in_box").points
    np.testing.assert_allclose(np.sort(bas.points, axis=0), np.sort(listed, axis=0))
    ok = bas.labels >= 0
    assert ok.mean() > 0.9
    d = np.abs(bas.final[ok] - bas.points[bas.labels[ok]]).max(axis=1)
    assert np.all(d <= bas.tol)
    for i in np.flatnonzero(ok)[:5]:
        r = dynsys.refine_fixed_point(W, bas.final[i])
        np.testing.assert_allclose(r.point, bas.points[bas.labels[i]], atol=1e-8)


def test_unassigned_when_no_attractor_given():
    W = np.array([[1.0, -2.0], [-2.0, 1.0]])
    bas = dynsys.basins(W, n_samples=100, points=[[1.0, 0.0]])
    assert 0 < bas.n_unassigned < 100
    assert bas.unassigned_fraction == pytest.approx(bas.n_unassigned / 100)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "`n_samples`"),
        (dict(t_max=-1.0), "`t_max`"),
        (dict(tol=0.0), "`tol`"),
        (dict(points=[[1.0, 0.0, 0.0]]), "`points`"),
    ],
)
def test_basins_bad_input(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.basins([[1.0, -2.0], [-2.0, 1.0]], **kwargs)


def test_basins_refuses_large_n_without_points():
    with pytest.raises(ValueError, match="`points`"):
        dynsys.basins(np.eye(11), n_samples=10)
