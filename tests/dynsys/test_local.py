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
        (dict(residual_tol=-1.0), "`residual_tol`"),
        (dict(zero_tol=-1.0), "`zero_tol`"),
        (dict(rank_tol=-1.0), "`rank_tol`"),
        (dict(y0=[0.3 + 0.1j, 0.6]), "`y0`"),
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
    with pytest.raises(TypeError, match="`W`"):
        dynsys.spectrum_at(np.eye(2) * 1j, [0.1, 0.2])
    with pytest.raises(TypeError, match="`y`"):
        dynsys.spectrum_at(np.eye(2), [0.1j, 0.2])
    with pytest.raises(ValueError, match="`zero_tol`"):
        dynsys.spectrum_at(np.eye(2), [0.1, 0.2], zero_tol=-1.0)
    with pytest.raises(ValueError, match="`W`.*kind"):
        dynsys.spectrum_at(dynsys.Network(np.eye(2), kind="mlp"), [0.1, 0.2])


def _same_multiset(a, b, atol):
    """Whether the complex values a and b agree as multisets (greedy nearest matching)."""
    b = list(b)
    for x in a:
        k = int(np.argmin([abs(x - v) for v in b]))
        if abs(x - b[k]) > atol * max(1.0, abs(x)):
            return False
        b.pop(k)
    return True


@pytest.mark.parametrize("scale", [1.0, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_multipliers_match_the_enumeration(seed, scale):
    """At every in-box fixed point (faces included) spectrum_at reports the enumeration's
    layer-map multipliers and map label; with W scaled 10x flow and map disagree somewhere,
    and spectrum_at reproduces both labels there."""
    W = np.random.default_rng(seed).normal(size=(5, 5)) * scale
    fps = dynsys.fixed_points(W, only="in_box")
    spec = dynsys.spectrum_at(W, fps.points)
    assert np.all(spec.in_box)
    for mu, ref in zip(spec.multipliers, fps.multipliers):
        assert _same_multiset(mu, ref, 1e-9), (mu, ref)
    np.testing.assert_array_equal(spec.map_stability, fps.map_stability)
    np.testing.assert_array_equal(spec.stability, fps.stability)
    udim = (np.abs(fps.multipliers) > 1 + 1e-9).sum(axis=1)
    np.testing.assert_array_equal(spec.map_unstable_dim, udim)
    # sorted by decreasing modulus
    assert np.all(np.diff(np.abs(spec.multipliers), axis=1) <= 1e-12)
    if scale == 10.0 and seed in (1, 2):  # seeds with a flow/map disagreement in the box
        assert np.any(spec.stability != spec.map_stability)
        assert np.any(spec.unstable_dim != spec.map_unstable_dim)


@pytest.mark.parametrize("seed", [4, 7])
def test_refined_points_carry_the_map_multipliers(seed):
    """refine_fixed_point from near each in-box fixed point: its multipliers and map label
    are the enumeration's (10x-scaled W, where flow and map labels differ)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(4, 4)) * 10.0
    fps = dynsys.fixed_points(W, only="in_box")
    assert len(fps.disagreements()) > 0
    keep = np.flatnonzero(fps.multiplicity == 1)
    for i in keep:
        p = fps.points[i]
        start = np.clip(p + 1e-6 * rng.uniform(-1, 1, p.size), 0.0, 1.0)
        r = dynsys.refine_fixed_point(W, start)
        assert r.converged and r.in_box
        np.testing.assert_allclose(r.point, p, atol=1e-9)
        assert r.map_stability == fps.map_stability[i]
        assert r.stability == fps.stability[i]
        assert _same_multiset(r.multipliers, fps.multipliers[i], 1e-7)
        assert r.map_unstable_dim == int(np.sum(np.abs(fps.multipliers[i]) > 1 + 1e-9))


def test_face_multipliers_are_exponentials():
    """On a face the multiplier is exp((W y)_i) at y_i = 0 and exp(-(W y)_i) at y_i = 1;
    continuously so: a coordinate 1e-300 off the face gives the same number."""
    W = np.array([[-1.0, 2.0, 0.5], [0.3, -2.0, 1.0], [1.0, 1.0, -4.0]])
    y = np.array([0.0, 1.0, 0.5])
    y[2] = -W[2, 1] / W[2, 2]  # interior coordinate: (W y)_2 = 0 with y_0 = 0, y_1 = 1
    wy = W @ y
    s = dynsys.spectrum_at(W, y)
    interior = 1.0 + y[2] * (1 - y[2]) * W[2, 2]
    assert _same_multiset(s.multipliers, [np.exp(wy[0]), np.exp(-wy[1]), interior], 1e-12)
    near = dynsys.spectrum_at(W, [1e-300, 1.0, y[2]])
    np.testing.assert_allclose(near.multipliers, s.multipliers, rtol=1e-12)
    assert s.map_stability == dynsys.classify_multipliers(s.multipliers)


def test_outside_the_box_has_no_map_label():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    s = dynsys.spectrum_at(W, [[1.5, 0.5], [0.5, 0.5]])
    assert s.in_box.tolist() == [False, True]
    assert s.map_stability[0] == "outside" and s.map_unstable_dim[0] == -1
    assert np.all(np.isnan(s.multipliers[0]))
    assert s.map_stability[1] in dynsys.LABELS


def test_spectrum_and_refine_take_a_network_and_store_tolerances():
    W = np.array([[-1.0, 2.0], [2.0, -1.0]])
    net = dynsys.Network(W, b=[0.3, -0.1])
    a, b = dynsys.spectrum_at(net, [0.4, 0.7]), dynsys.spectrum_at(W, [0.4, 0.7])
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.multipliers, b.multipliers)
    r = dynsys.refine_fixed_point(net, [0.9, 0.95], residual_tol=1e-11, zero_tol=1e-8)
    assert r.residual_tol == 1e-11 and r.zero_tol == 1e-8
    again = dynsys.refine_fixed_point(W, [0.9, 0.95], residual_tol=r.residual_tol,
                                      zero_tol=r.zero_tol)
    np.testing.assert_array_equal(again.point, r.point)
    assert dynsys.spectrum_at(W, [0.4, 0.7], zero_tol=a.zero_tol).stability == a.stability


def test_short_reprs():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(50, 50))
    s = dynsys.spectrum_at(W, rng.uniform(size=(200, 50)))
    one = dynsys.spectrum_at(W, rng.uniform(size=50))
    r = dynsys.refine_fixed_point(W, rng.uniform(size=50), max_iter=3)
    for obj in (s, one, r):
        assert len(repr(obj)) < 300


def test_face_rows_are_deflated_exactly():
    """Coordinates at exactly 0 or 1 (or within 1e-40 of them) give diagonal rows of J: the
    deflated eigenvalues equal a full eigensolve's, and the labels of spectrum_at do not change."""
    from dynsys._fixed_points._local import _negligible_rows, _sorted_eigvals

    rng = np.random.default_rng(11)
    n = 40
    W = rng.normal(0.0, 1.0, (n, n))
    Y = rng.uniform(0.05, 0.95, (6, n))
    Y[1:, :25] = rng.integers(0, 2, (5, 25)).astype(float)  # 25 face coordinates, rows 1..5
    Y[5, :] = rng.integers(0, 2, n).astype(float)  # a vertex: every row deflated
    Y[4, 25:30] = 1e-40  # near a face, as after a few hundred layers
    J = dynsys.jacobian(W, Y)
    assert [int(_negligible_rows(M).sum()) for M in J] == [0, 25, 25, 25, 30, 40]
    full = np.linalg.eigvals(J)
    deflated = _sorted_eigvals(J)
    assert np.allclose(np.sort_complex(full), np.sort_complex(deflated), rtol=1e-9, atol=1e-9)
    # face rows give their diagonal entries exactly: (W y)_i at y_i = 0, -(W y)_i at y_i = 1
    wy = W @ Y[5]
    assert np.allclose(np.sort(deflated[5].real), np.sort(np.where(Y[5] == 0, wy, -wy)),
                       rtol=1e-13, atol=0.0)
    assert np.all(deflated[5].imag == 0.0)
    s = dynsys.spectrum_at(W, Y)
    labels = dynsys.classify_spectrum(full, s.zero_tol)
    assert list(s.stability) == list(np.asarray(labels).reshape(-1))


def test_newton_solve_deflates_rows_at_faces():
    from dynsys._fixed_points._local import _solve_deflated

    rng = np.random.default_rng(12)
    n = 30
    W = rng.normal(0.0, 1.0, (n, n))
    y = rng.uniform(0.05, 0.95, n)
    y[:12] = 1e-40
    y[12:20] = 1.0
    J = dynsys.jacobian(W, y)
    F = rng.normal(size=n)
    d = _solve_deflated(J, F)
    assert np.allclose(d, np.linalg.solve(J, -F), rtol=1e-10, atol=1e-12)
    # a zero row (a face coordinate whose rate vanishes) is left to the full solve, which fails
    y[0], W[0] = 1e-300, 0.0
    with pytest.raises(np.linalg.LinAlgError):
        _solve_deflated(dynsys.jacobian(W, y), F)


@pytest.mark.parametrize("scale", [1e-10, 1e-4, 1.0, 1e4])
def test_one_label_per_point_whatever_the_scale_of_W(scale):
    """The default `zero_tol` is 1e-9 * max|W| in fixed_points, spectrum_at and
    refine_fixed_point alike, so every point gets one flow label and one map label from all
    three. At scale 1e-10 every eigenvalue is below 1e-9: an absolute default would call
    every point non-hyperbolic."""
    W = scale * np.random.default_rng(3).normal(size=(4, 4))
    fp = dynsys.fixed_points(W)
    assert len(fp) > 2
    spec = dynsys.spectrum_at(W, fp.points)
    assert spec.zero_tol == fp.zero_tol == dynsys.default_zero_tol(W)
    assert spec.stability.tolist() == fp.stability.tolist()
    box = fp.in_box
    assert spec.map_stability[box].tolist() == fp.map_stability[box].tolist()
    assert set(fp.stability.tolist()) != {"non-hyperbolic"}
    for i in range(len(fp)):
        r = dynsys.refine_fixed_point(W, fp.points[i])
        assert r.zero_tol == fp.zero_tol
        assert r.stability == fp.stability[i], i
        if box[i]:
            assert r.map_stability == fp.map_stability[i], i


# ---- tanh: closed forms on [-1, 1]^N ------------------------------------------------------


@pytest.mark.parametrize("w", [-1.5, -0.25, 0.5, 2.0])
def test_tanh_spectrum_at_n1_closed_forms(w):
    # dy/dt = w (1 - y^2) y: fixed points -1, 0, 1 with eigenvalues -2w, w, -2w and layer-map
    # multipliers exp(-2w), 1 + w, exp(-2w)
    net = dynsys.Network(np.array([[w]]), activation="tanh")
    s = dynsys.spectrum_at(net, [[-1.0], [0.0], [1.0]])
    np.testing.assert_allclose(s.eigenvalues[:, 0].real, [-2 * w, w, -2 * w], rtol=1e-15)
    np.testing.assert_allclose(s.multipliers[:, 0].real,
                               [np.exp(-2 * w), 1 + w, np.exp(-2 * w)], rtol=1e-14)
    assert s.activation == "tanh" and s.in_box.all()
    faces = "stable" if w > 0 else "unstable"
    assert s.stability[0] == s.stability[2] == faces
    assert s.map_stability[0] == faces
    # -0.5 is a point of the box for tanh, not for the logistic
    assert dynsys.spectrum_at(net, [-0.5]).in_box
    assert not dynsys.spectrum_at(np.array([[w]]), [-0.5]).in_box


def test_tanh_spectrum_at_n2_closed_form_and_faces():
    # W = [[a, b], [b, a]]: at the corner (1, -1) the rates are (W y) = (a - b, b - a), so the
    # eigenvalues are -2(a - b) at +1 and 2(b - a) at -1, the multipliers their exponentials
    a, b = -0.5, 1.5
    W = np.array([[a, b], [b, a]])
    s = dynsys.spectrum_at(W, [1.0, -1.0], activation="tanh")
    np.testing.assert_allclose(np.sort(s.eigenvalues.real),
                               np.sort([-2 * (a - b), 2 * (b - a)]), rtol=1e-15)
    np.testing.assert_allclose(np.sort(np.abs(s.multipliers)),
                               np.sort(np.exp([-2 * (a - b), 2 * (b - a)])), rtol=1e-14)
    # the interior point (0, 0): J = W, the multipliers those of I + W
    s0 = dynsys.spectrum_at(W, [0.0, 0.0], activation="tanh")
    np.testing.assert_allclose(np.sort(s0.eigenvalues.real), np.sort(np.linalg.eigvals(W).real))
    np.testing.assert_allclose(np.sort(np.abs(s0.multipliers)),
                               np.sort(np.abs(np.linalg.eigvals(np.eye(2) + W))), rtol=1e-14)


def test_tanh_refine_fixed_point_finds_the_interior_point():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 3))
    # the face pattern (-1, 1, interior): y_2 solves (W y)_2 = 0
    y2 = -(W[2, 0] * -1 + W[2, 1] * 1) / W[2, 2]
    truth = np.array([-1.0, 1.0, y2])
    r = dynsys.refine_fixed_point(W, truth + [0, 0, 0.05], activation="tanh")
    assert r.converged and r.activation == "tanh"
    np.testing.assert_allclose(r.point, truth, atol=1e-12)
    assert r.in_box == (abs(y2) <= 1)
    np.testing.assert_allclose(np.sort(r.eigenvalues.real),
                               np.sort(dynsys.spectrum_at(W, truth, activation="tanh")
                                       .eigenvalues.real), atol=1e-10)
