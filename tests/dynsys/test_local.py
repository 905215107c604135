"""spectrum_at and refine_fixed_point: spectra anywhere, Newton onto listed fixed points."""

import numpy as np
import pytest

import dynsys


def test_spectrum_matches_numpy_eig_of_jacobian():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 5))
    Y = rng.uniform(size=(4, 5))
    spec = dynsys.spectrum_at(W, Y)
    assert spec.eigenvalues.shape == (4, 5) and spec.stability.shape == (4,)
    for i in range(4):
        ev = np.linalg.eigvals(dynsys.jacobian(W, Y[i]))
        np.testing.assert_allclose(np.sort_complex(spec.eigenvalues[i]), np.sort_complex(ev),
                                   atol=1e-12)
        assert spec.max_real[i] == pytest.approx(ev.real.max())
        assert spec.unstable_dim[i] == int(np.sum(ev.real > 1e-9))
    # sorted by decreasing real part
    assert np.all(np.diff(spec.eigenvalues.real, axis=1) <= 0)


def test_spectrum_single_point_is_unbatched():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    spec = dynsys.spectrum_at(W, [0.5, 0.5])
    assert spec.eigenvalues.shape == (2,)
    assert spec.stability == "saddle" and spec.unstable_dim == 1
    np.testing.assert_allclose(spec.eigenvalues, [0.25, -0.75])
    assert dynsys.spectrum_at(W, [1.0, 1.0]).stability == "stable"
    assert dynsys.spectrum_at(W, [0.0, 0.0]).stability == "non-hyperbolic"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spectrum_at_fixed_points_matches_block_formula(seed):
    """At fixed points the full-Jacobian spectrum equals fixed_points' block formula."""
    W = np.random.default_rng(seed).normal(size=(4, 4))
    fps = dynsys.fixed_points(W)
    keep = fps.multiplicity == 1
    spec = dynsys.spectrum_at(W, fps.points[keep])
    for ev_full, ev_block in zip(spec.eigenvalues, fps.eigenvalues[keep]):
        np.testing.assert_allclose(np.sort_complex(ev_full), np.sort_complex(ev_block),
                                   atol=1e-8)
    np.testing.assert_array_equal(spec.stability, fps.stability[keep])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_newton_lands_on_listed_fixed_points(seed):
    """From a small perturbation of every isolated fixed point (in and out of the box),
    refinement converges to that point as listed by dynsys.fixed_points."""
    rng = np.random.default_rng(seed)
    n = 3 + seed % 2
    W = rng.normal(size=(n, n))
    fps = dynsys.fixed_points(W)
    pts = fps.points[fps.multiplicity == 1]  # skip the 2^N-fold origin (J = 0 there)
    assert len(pts) > 5
    for p, lab in zip(pts, fps.stability[fps.multiplicity == 1]):
        start = p + 1e-4 * rng.uniform(-1, 1, n)
        r = dynsys.refine_fixed_point(W, start)
        assert r.converged, (p, r)
        j = np.argmin(np.abs(fps.points - r.point).max(axis=1))
        np.testing.assert_allclose(r.point, fps.points[j], atol=1e-9)
        np.testing.assert_allclose(r.point, p, atol=1e-9)
        assert r.stability == lab
        assert r.distance_moved == pytest.approx(np.linalg.norm(r.point - start))
        assert r.iterations <= 10


def test_refine_end_of_a_long_trajectory():
    """The toolkit's use: integrate far (the mean residual after many layers) and refine."""
    rng = np.random.default_rng(3)  # a W with a stable point that attracts most of the cube
    W = rng.normal(size=(6, 6))
    listed = dynsys.fixed_points(W, only="stable_in_box").points
    assert len(listed) >= 1
    ends = dynsys.integrate(W, rng.uniform(size=(20, 6)), [0.0, 25.0]).y[-1]
    near = [e for e in ends if np.min(np.abs(listed - e).max(axis=1)) < 1e-2]
    assert len(near) >= 5
    for e in near:
        r = dynsys.refine_fixed_point(W, e)
        assert r.converged and r.in_box and r.stability == "stable"
        assert np.min(np.abs(listed - r.point).max(axis=1)) < 1e-9


def test_singular_jacobian_falls_back_to_lstsq():
    """Row 1 of W is zero: F_1 vanishes identically and J is singular everywhere."""
    W = np.array([[0.0, 0.0], [0.5, -1.0]])
    r = dynsys.refine_fixed_point(W, [0.3, 0.2])
    assert r.converged and r.n_lstsq > 0
    assert abs(r.point[1] * (1 - r.point[1]) * (W[1] @ r.point)) < 1e-12


def test_damping_and_no_iterations():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    r = dynsys.refine_fixed_point(W, [0.9, 0.95], damping=0.5, max_iter=200)
    assert r.converged
    np.testing.assert_allclose(r.point, [1.0, 1.0], atol=1e-12)
    r0 = dynsys.refine_fixed_point(W, [0.9, 0.95], max_iter=0)
    assert not r0.converged and r0.iterations == 0 and r0.distance_moved == 0.0


@pytest.mark.slow
def test_refine_n784():
    """N = 784 (MNIST width): a fixed point with 30 interior coordinates, from 1e-6 away."""
    rng = np.random.default_rng(0)
    n, k = 784, 30
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    pattern = rng.integers(0, 2, n).astype(float)  # 0/1 coordinates
    interior = rng.choice(n, k, replace=False)
    ones = np.flatnonzero(pattern == 1)
    ones = np.setdiff1d(ones, interior)
    y = pattern.copy()
    y[interior] = np.linalg.solve(W[np.ix_(interior, interior)],
                                  -W[np.ix_(interior, ones)].sum(axis=1))
    assert np.abs(dynsys.vector_field(W, y)).max() < 1e-10
    start = y + 1e-6 * rng.uniform(-1, 1, n)
    r = dynsys.refine_fixed_point(W, start)
    assert r.converged and r.iterations <= 10
    np.testing.assert_allclose(r.point, y, atol=1e-9)
    assert r.eigenvalues.shape == (n,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y0=[0.1, 0.2, 0.3]), "`y0`"),
        (dict(y0=[[0.1, 0.2]]), "`y0`"),
        (dict(y0=[np.nan, 0.2]), "`y0`"),
        (dict(tol=-1.0), "`tol`"),
        (dict(max_iter=-1), "`max_iter`"),
        (dict(damping=1.5), "`damping`"),
        (dict(damping=0.0), "`damping`"),
        (dict(armijo=0.7), "`armijo`"),
    ],
)
def test_refine_bad_input(kwargs, match):
    args = dict(y0=[0.3, 0.6])
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.refine_fixed_point([[-1.0, 2.0], [2.0, -1.0]], args.pop("y0"), **args)


def test_spectrum_bad_input():
    with pytest.raises(ValueError, match="`y`"):
        dynsys.spectrum_at(np.eye(2), [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="`W`"):
        dynsys.spectrum_at(np.ones((2, 3)), [0.1, 0.2])
