"""Tests of dynsys.fixed_points / count_fixed_points: closed forms, degenerate patterns,
random matrices against the readable twin, streaming filters, tolerances and the result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import dynsys
from dynsys import count_fixed_points, fixed_points, jacobian, layer_map, vector_field
from tests._oracles.reference_enumeration import reference_fixed_points
from dynsys._fixed_points._incremental import progress_ranges
from dynsys._fixed_points._results import decode_patterns, encode_patterns


def _examples(n):
    """`n` examples under the default profile, proportionally more under ``explore``."""
    return max(n, settings.default.max_examples * n // 40)


SETTINGS = settings(max_examples=_examples(40), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def generic_count(n):
    return 3**n - 2**n + 1


def _sorted_rows(a):
    return a[np.lexsort(a.T[::-1])]


def _same_multiset(a, b, atol):
    """Complex values a and b agree as multisets (greedy nearest matching)."""
    a = list(np.asarray(a).ravel())
    b = list(np.asarray(b).ravel())
    assert len(a) == len(b)
    for v in a:
        d = [abs(v - w) for w in b]
        j = int(np.argmin(d))
        assert d[j] <= atol, (v, b)
        b.pop(j)


def _match(a, b, tol=1e-9):
    """Permutation p with a[i] ~ b[p[i]] (rows matched within tol relative to 1 + |row|)."""
    assert a.shape == b.shape
    p = np.empty(len(a), dtype=np.int64)
    for i, row in enumerate(a):
        d = np.abs(b - row).max(axis=1)
        j = int(np.argmin(d))
        assert d[j] <= tol * (1 + np.abs(row).max()), (row, b[j])
        p[i] = j
    assert np.unique(p).size == len(p)
    return p


# ----------------------------------------------------------------------------------------
# closed forms
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("w", [-2.5, -1.0, 0.7, 3.0])
def test_closed_form_n1(w):
    # dy/dt = w y^2 (1 - y): y = 0 (patterns 0 and 2, Jacobian 0) and y = 1 (eigenvalue -w)
    fp = fixed_points([[w]])
    assert len(fp) == 2 == generic_count(1)
    order = np.argsort(fp.points[:, 0])
    pts = fp.points[order, 0]
    np.testing.assert_array_equal(pts, [0.0, 1.0])
    np.testing.assert_array_equal(fp.multiplicity[order], [2, 1])
    np.testing.assert_allclose(fp.eigenvalues[order, 0], [0.0, -w])
    assert fp.stability[order][0] == "non-hyperbolic"
    assert fp.stability[order][1] == ("stable" if w > 0 else "unstable")
    np.testing.assert_allclose(fp.multipliers[order][1, 0], np.exp(-w))
    assert fp.map_stability[order][1] == fp.stability[order][1]


def test_closed_form_n1_zero_weight_is_a_continuum():
    fp = fixed_points([[0.0]])
    # every y is a fixed point: the interior pattern is singular and consistent
    assert fp.degenerate.n_continuum == 1 and fp.degenerate.n_no_solution == 0
    np.testing.assert_array_equal(fp.degenerate.patterns, [[2]])
    assert fp.degenerate.kind.tolist() == ["continuum"]
    assert fp.degenerate.dimension.tolist() == [1]
    assert sorted(fp.points[:, 0].tolist()) == [0.0, 1.0]
    assert set(fp.stability) == {"non-hyperbolic"}


def test_closed_form_n2():
    a, b, c, d = -1.0, 2.0, 3.0, -1.0
    W = np.array([[a, b], [c, d]])
    fp = fixed_points(W)
    # the six points of a generic 2x2 system, written out
    expected = {
        (0.0, 0.0): ((0.0, 0.0), 4),
        (1.0, 0.0): ((-a, c), 1),
        (0.0, 1.0): ((b, -d), 1),
        (1.0, 1.0): ((-(a + b), -(c + d)), 1),
        (-b / a, 1.0): ((-b / a * (1 + b / a) * a, -(c * (-b / a) + d)), 1),
        (1.0, -c / d): ((-(a + b * (-c / d)), -c / d * (1 + c / d) * d), 1),
    }
    assert len(fp) == 6 == generic_count(2)
    for p, ev, m in zip(fp.points, fp.eigenvalues, fp.multiplicity):
        key = min(expected, key=lambda k: np.abs(np.array(k) - p).max())
        np.testing.assert_allclose(p, key, atol=1e-12)
        np.testing.assert_allclose(ev.real, expected[key][0], atol=1e-12)
        assert m == expected[key][1]
    lab = {tuple(np.round(p, 9)): s for p, s in zip(fp.points, fp.stability)}
    assert lab[(1.0, 1.0)] == "stable"  # eigenvalues -1, -2
    assert lab[(2.0, 1.0)] == "saddle"  # interior 2 * (1 - 2) * (-1) = 2, boundary -5
    assert lab[(0.0, 0.0)] == "non-hyperbolic"
    assert fp.in_box.sum() == 4
    assert set(fp.map_stability[~fp.in_box]) == {"outside"}


def test_flow_and_map_disagree_for_large_weights():
    # (0.5, 1) is flow-stable (eigenvalues -10, -1.5) but its map multiplier 1 - 10 = -9
    W = np.array([[-40.0, 20.0], [1.0, 1.0]])
    fp = fixed_points(W)
    i = int(np.flatnonzero(np.all(np.isclose(fp.points, [0.5, 1.0]), axis=1))[0])
    assert fp.stability[i] == "stable"
    assert fp.map_stability[i] == "saddle"
    assert i in fp.disagreements()
    np.testing.assert_allclose(sorted(fp.multipliers[i].real), [-9.0, np.exp(-1.5)])
    assert count_fixed_points(W).disagreements == fp.disagreements().size


# ----------------------------------------------------------------------------------------
# degenerate patterns
# ----------------------------------------------------------------------------------------


def test_degenerate_no_solution_and_continuum():
    W = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 2.0], [0.5, -1.0, 3.0]])
    fp = fixed_points(W)
    kinds = {tuple(p): k for p, k in zip(fp.degenerate.patterns.tolist(), fp.degenerate.kind)}
    # interior {0, 1}: singular block [[1, 1], [1, 1]]
    assert kinds[(2, 2, 0)] == "continuum"       # rhs 0: the line y0 + y1 = 0, y2 = 0
    assert kinds[(2, 2, 1)] == "no solution"     # rhs -(1, 2): inconsistent
    assert len(fp.degenerate) == fp.degenerate.n_no_solution + fp.degenerate.n_continuum
    assert fp.n_singular == len(fp.degenerate)
    ex = fixed_points(W, exact=True)
    assert ex.degenerate.patterns.tolist() == fp.degenerate.patterns.tolist()
    assert ex.degenerate.kind.tolist() == fp.degenerate.kind.tolist()
    assert ex.degenerate.dimension.tolist() == fp.degenerate.dimension.tolist()


def test_zero_matrix_every_interior_pattern_is_a_continuum():
    fp = fixed_points(np.zeros((3, 3)))
    assert fp.degenerate.n_continuum == 3**3 - 2**3
    assert len(fp) == 8  # the corners
    assert set(fp.stability) == {"non-hyperbolic"}
    c = count_fixed_points(np.zeros((3, 3)))
    assert c.total == 8 and c.n_continuum == 19


def test_degenerate_list_truncation_is_reported():
    with pytest.warns(RuntimeWarning, match="degenerate"):
        fp = fixed_points(np.zeros((3, 3)), max_degenerate=5)
    assert fp.degenerate.truncated and fp.degenerate.patterns.shape == (5, 3)
    assert fp.degenerate.n_continuum == 19


# ----------------------------------------------------------------------------------------
# random matrices: generic, integer, symmetric, sparse, rank-deficient
# ----------------------------------------------------------------------------------------


@st.composite
def weight_matrices(draw, max_n=5):
    n = draw(st.integers(1, max_n))
    kind = draw(st.sampled_from(["normal", "integer", "symmetric", "sparse", "low_rank"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    if kind == "normal":
        W = rng.normal(size=(n, n))
    elif kind == "integer":
        W = rng.integers(-3, 4, size=(n, n)).astype(float)
    elif kind == "symmetric":
        A = rng.normal(size=(n, n))
        W = A + A.T
    elif kind == "sparse":
        W = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.4)
    else:
        r = max(1, n - 2)
        W = rng.normal(size=(n, r)) @ rng.normal(size=(r, n))
    return kind, W * scale


def _rel_residual(fp):
    s = np.max(np.abs(fp.W)) or 1.0
    return fp.residual / (s * np.maximum(1.0, np.abs(fp.points).max(axis=1)) ** 3)


@SETTINGS
@given(weight_matrices())
def test_residual_and_block_spectrum(kw):
    _, W = kw
    fp = fixed_points(W)
    assert np.all(_rel_residual(fp) <= 1e-9)
    # the corners 0 and 1 are always points (no interior block): never a vacuous pass
    assert len(fp) >= 2
    J = jacobian(W, fp.points)
    ev = np.linalg.eigvals(J)
    for a, b, y in zip(ev, fp.eigenvalues, fp.points):
        scale = (np.max(np.abs(W)) or 1.0) * max(1.0, np.abs(y).max()) ** 2
        _same_multiset(a, b, 1e-6 * scale)
    # recomputing the residual independently
    ref = np.abs(vector_field(W, fp.points)).max(axis=1)
    s = np.max(np.abs(W)) or 1.0
    bound = 1e-12 * s * np.maximum(1.0, np.abs(fp.points).max(axis=1)) ** 3
    assert np.all(np.abs(fp.residual - ref) <= bound)


@SETTINGS
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_generic_count_is_3n_minus_2n_plus_1(n, seed):
    W = np.random.default_rng(seed).normal(size=(n, n))
    fp = fixed_points(W)
    assert len(fp) == generic_count(n)
    assert fp.multiplicity.sum() == 3**n  # every pattern accounted for
    origin = np.flatnonzero(np.all(fp.points == 0.0, axis=1))
    assert origin.size == 1 and fp.multiplicity[origin[0]] == 2**n
    assert len(fp.degenerate) == 0
    c = count_fixed_points(W)
    assert c.total == generic_count(n) == c.generic_total


@SETTINGS
@given(weight_matrices())
def test_points_are_distinct(kw):
    _, W = kw
    fp = fixed_points(W)
    assert len(fp) >= 2  # the corners 0 and 1
    d = np.abs(fp.points[:, None, :] - fp.points[None, :, :]).max(axis=2)
    d[np.diag_indices(len(fp))] = np.inf
    assert d.min() > 1e-9


@SETTINGS
@given(weight_matrices())
def test_counts_match_stored_points(kw):
    _, W = kw
    fp = fixed_points(W)
    assert count_fixed_points(W, classify_out_of_box=True).as_dict() == fp.counts().as_dict()


@settings(max_examples=_examples(15), deadline=None)
@given(weight_matrices(max_n=4))
def test_kernel_matches_readable_reference(kw):
    kind, W = kw
    fp = fixed_points(W)
    pts, pats, eig, stab, mstab, n_sing = reference_fixed_points(W)
    assert len(fp) == len(pts)
    assert fp.n_singular == n_sing
    p = _match(fp.points, pts)
    np.testing.assert_array_equal(fp.patterns, pats[p])
    assert fp.stability.tolist() == stab[p].tolist()
    assert fp.map_stability.tolist() == mstab[p].tolist()


def _seeded(n, seed, scale):
    """A random (n, n) W of the given scale and the generator that drew it."""
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, n)) * scale


def test_stable_points_attract_under_eq3():
    attracted = []  # one entry per point checked: the property must not pass by never looping

    @settings(max_examples=_examples(10), deadline=None)
    @given(st.integers(2, 4), st.integers(0, 2**31 - 1))
    def stable_points_attract(n, seed):
        rng, W = _seeded(n, seed, 2.0)
        fp = fixed_points(W, only="stable")
        assert len(fp) == (fixed_points(W).stability == "stable").sum()
        for y, ev in zip(fp.points, fp.eigenvalues):
            rate = np.abs(ev.real).min()
            y0 = y + 1e-4 * rng.uniform(-1, 1, size=n)
            t_end = 25.0 / rate
            sol = solve_ivp(lambda t, v: vector_field(W, v), (0, t_end), y0, method="LSODA",
                            rtol=1e-10, atol=1e-13)
            assert sol.success
            assert np.abs(sol.y[:, -1] - y).max() < 0.05 * np.abs(y0 - y).max()
            attracted.append(n)

    stable_points_attract()
    assert attracted, "no example had a stable point: the property checked nothing"


def test_map_multipliers_match_the_layer_map_jacobian_near_faces():
    # A fixed point with every coordinate inside (0, 1) solves W y = 0, so for an invertible W
    # there is none (the origin is a corner): every point checked here lies on a face, where
    # the layer map, evaluated 1e-8 inside the box, has the multipliers exp(+-(W y)_i).
    checked = []  # the property must not pass by never looping

    @settings(max_examples=_examples(20), deadline=None)
    @given(st.integers(1, 5), st.integers(0, 2**31 - 1))
    def multipliers_match(n, seed):
        _, W = _seeded(n, seed, 3.0)
        fp = fixed_points(W, only="in_box")
        moderate = np.abs(fp.multipliers).max(axis=1) <= 20.0  # keeps the face approximation sharp
        for i in np.flatnonzero(fp.in_box & moderate)[:6]:
            y = fp.points[i].copy()
            eps = 1e-8
            y_in = np.clip(y, eps, 1 - eps)
            Jm = dynsys.residual_map_jacobian(W, y_in)
            mu = np.linalg.eigvals(Jm)  # the face is approached to 1e-8: agreement to ~1e-4
            _same_multiset(mu, fp.multipliers[i], 1e-4 * max(1.0, np.abs(mu).max()))
            checked.append(i)

    multipliers_match()
    assert checked, "no example had a point to check: the property checked nothing"


# ----------------------------------------------------------------------------------------
# streaming filters and counts
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_filters_equal_selection_of_full_result(seed):
    W = np.random.default_rng(seed).normal(size=(8, 8)) * 2
    full = fixed_points(W)
    for only, mask in [("in_box", full.in_box), ("stable", full.stability == "stable"),
                       ("stable_in_box", full.in_box & (full.stability == "stable"))]:
        sub = fixed_points(W, only=only)
        assert sub.only == only
        ref = full.select(mask)
        p = _match(sub.points, ref.points)
        assert sub.stability.tolist() == ref.stability[p].tolist()
    c = count_fixed_points(W, classify_out_of_box=True)
    assert c.as_dict() == full.counts().as_dict()
    assert c.stable == (full.stability == "stable").sum()


def test_default_count_labels_the_box_and_counts_the_rest():
    W = np.random.default_rng(5).normal(size=(8, 8)) / np.sqrt(8) * 2
    fast = count_fixed_points(W)
    full = count_fixed_points(W, classify_out_of_box=True)
    assert not fast.out_of_box_classified and full.out_of_box_classified
    assert fast.by_stability is None and fast.stable is None
    assert fast.by_stability_out_of_box is None and fast.unstable_dim_out_of_box is None
    for name in ("total", "in_box", "out_of_box", "disagreements", "n_no_solution",
                 "n_continuum"):
        assert getattr(fast, name) == getattr(full, name), name
    assert dict(fast.by_stability_in_box) == dict(full.by_stability_in_box)
    assert dict(fast.map_by_stability_in_box) == dict(full.map_by_stability_in_box)
    np.testing.assert_array_equal(fast.unstable_dim_in_box, full.unstable_dim_in_box)
    assert "not classified" in fast.table()
    assert fast.as_dict()["by_stability"] is None
    seen = []  # the incremental walk reports its ranges of chunks; the same counts
    with_progress = count_fixed_points(W, progress=lambda d, t: seen.append((d, t)))
    assert with_progress.as_dict() == fast.as_dict()
    k = len(progress_ranges(8))
    assert seen == [(i, k) for i in range(k + 1)]


def test_count_mode_at_n10_matches_generic_formula():
    W = np.random.default_rng(7).normal(size=(10, 10))
    c = count_fixed_points(W, classify_out_of_box=True)
    assert c.total == generic_count(10)
    assert sum(c.by_stability.values()) == c.total
    assert c.unstable_dim_in_box.sum() + c.unstable_dim_out_of_box.sum() == c.total
    sib = fixed_points(W, only="stable_in_box")
    assert len(sib) == c.stable_in_box
    assert np.all(sib.in_box) and set(sib.stability) <= {"stable"}


# ----------------------------------------------------------------------------------------
# result object, validation, helpers
# ----------------------------------------------------------------------------------------


def test_result_is_frozen_and_read_only():
    fp = fixed_points(np.eye(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fp.points = None
    with pytest.raises(ValueError):
        fp.points[0, 0] = 5.0
    for name in ("points", "patterns", "multiplicity", "eigenvalues", "stability",
                 "unstable_dim", "in_box", "residual", "map_stability", "map_unstable_dim",
                 "multipliers"):
        assert getattr(fp, name).shape[0] == len(fp)
    assert fp.points.dtype == np.float64 and fp.eigenvalues.dtype == np.complex128
    d = fp.as_dict()
    assert d["counts"]["total"] == len(fp)
    assert "stable" in fp.summary()


def test_accepts_residual_system_and_integers():
    W = np.array([[1, -2], [3, 1]])
    a = fixed_points(W)
    b = fixed_points(dynsys.as_system(W))
    np.testing.assert_array_equal(_sorted_rows(a.points), _sorted_rows(b.points))


@pytest.mark.parametrize("bad, match", [
    (np.ones((2, 3)), "square"),
    (np.array([[np.nan]]), "finite"),
    (np.zeros((0, 0)), "N >= 1"),
])
def test_validation_of_w(bad, match):
    with pytest.raises(ValueError, match=match):
        fixed_points(bad)


def test_validation_of_size_and_options():
    with pytest.raises(ValueError, match="count_fixed_points"):
        fixed_points(np.eye(14))
    with pytest.raises(ValueError, match="too many"):
        count_fixed_points(np.eye(21), classify_out_of_box=True)
    with pytest.raises(ValueError, match="N <= 24"):
        count_fixed_points(np.eye(25))
    with pytest.raises(ValueError, match="only"):
        fixed_points(np.eye(2), only="bogus")
    with pytest.raises(ValueError, match="N <= 6"):
        fixed_points(np.eye(7), exact=True)
    with pytest.raises(ValueError, match="tol"):
        fixed_points(np.eye(2), zero_tol=-1.0)
    for name in ("zero_tol", "rank_tol", "residual_tol", "face_tol"):
        with pytest.raises(ValueError, match=name):
            fixed_points(np.eye(2), **{name: 0.0})
        with pytest.raises(ValueError, match=name):
            count_fixed_points(np.eye(2), **{name: -1.0})
    with pytest.raises(ValueError, match="max_degenerate"):
        fixed_points(np.eye(2), max_degenerate=-1)


def test_pattern_codes_round_trip():
    codes = np.array([[0, 1, 2], [2, 2, 2], [1, 0, 0]])
    np.testing.assert_array_equal(decode_patterns(encode_patterns(codes), 3), codes)


def test_decode_patterns_matches_digit_loop():
    # decode_patterns works six base-3 digits at a time: check every block boundary
    rng = np.random.default_rng(3)
    for n in range(1, 14):
        index = np.concatenate([[0, 3**n - 1], rng.integers(0, 3**n, size=500)])
        ref = np.empty((index.size, n), np.int8)
        rest = index.copy()
        for i in range(n):
            ref[:, i] = rest % 3
            rest //= 3
        np.testing.assert_array_equal(decode_patterns(index, n), ref)


def test_stored_points_match_readable_reference_at_n7():
    # the storing path (both kernel phases, labels, residuals) against the slow twin on a
    # size with interior blocks up to 7x7 and several chunks of interior sets
    W = np.random.default_rng(7).normal(size=(7, 7))
    fp = fixed_points(W)
    pts, pats, eig, stab, mstab, n_sing = reference_fixed_points(W)
    assert len(fp) == len(pts) == generic_count(7) and fp.n_singular == n_sing == 0
    p = _match(fp.points, pts)
    np.testing.assert_array_equal(fp.patterns, pats[p])
    assert fp.stability.tolist() == stab[p].tolist()
    assert fp.map_stability.tolist() == mstab[p].tolist()
    ours = np.sort_complex(fp.eigenvalues)
    ref = np.sort_complex(eig[p])
    np.testing.assert_allclose(ours, ref, atol=1e-8 * (1 + np.abs(ref).max()))
    F = fp.points * (1 - fp.points) * (fp.points @ W.T)
    # both are rounding noise of a true 0: compare on the scale of |y|^3 |W|
    scale = (1 + np.abs(fp.points).max(axis=1)) ** 3 * np.abs(W).max()
    assert np.all(np.abs(fp.residual - np.abs(F).max(axis=1)) <= 1e-12 * scale)
    np.testing.assert_array_equal(fp.unstable_dim,
                                  (fp.eigenvalues.real > fp.zero_tol).sum(axis=1))


# ----------------------------------------------------------------------------------------
# the network value, tolerances, map unstable dimension, reprs
# ----------------------------------------------------------------------------------------


def test_accepts_a_shared_network_and_refuses_a_per_layer_one():
    W = np.random.default_rng(4).normal(size=(4, 4))
    a = fixed_points(W)
    b = fixed_points(dynsys.Network(W, b=np.zeros(4)))
    np.testing.assert_array_equal(a.points, b.points)
    assert a.stability.tolist() == b.stability.tolist()
    assert count_fixed_points(dynsys.Network(W)).as_dict() == count_fixed_points(W).as_dict()
    with pytest.raises(ValueError, match="last_layer"):
        fixed_points(dynsys.Network(np.stack([W, W])))


def _assert_same_result(a, b):
    assert len(a) == len(b)
    for name in ("points", "patterns", "multiplicity", "eigenvalues", "stability",
                 "unstable_dim", "map_stability", "map_unstable_dim", "in_box", "residual"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.degenerate.patterns.tolist() == b.degenerate.patterns.tolist()
    assert a.tolerances == b.tolerances
    assert a.counts().as_dict() == b.counts().as_dict()


@SETTINGS
@given(weight_matrices(), st.sampled_from([None, 1e-6, 1e-3, 0.3]))
def test_stored_tolerances_reproduce_the_result(kw, zero_tol):
    _, W = kw
    fp = fixed_points(W, zero_tol=zero_tol)
    s = np.max(np.abs(W)) or 1.0
    # stored values are the absolute ones used: the defaults scale with max|W|
    assert fp.zero_tol == (1e-9 * s if zero_tol is None else zero_tol)
    assert fp.rank_tol == 1e-2 * 1e-9 * s and fp.residual_tol == 1e-9 * s
    assert fp.face_tol == 1e-9
    _assert_same_result(fp, fixed_points(W, **fp.tolerances))
    c = count_fixed_points(W, zero_tol=zero_tol)
    assert c.tolerances == fp.tolerances
    assert count_fixed_points(W, **c.tolerances).as_dict() == c.as_dict()


def test_a_larger_zero_tol_marks_more_points_non_hyperbolic():
    W = np.random.default_rng(11).normal(size=(5, 5))
    base = fixed_points(W)
    rates = np.abs(base.eigenvalues.real)
    cut = float(np.median(rates[rates > 0]))
    wide = fixed_points(W, zero_tol=cut)
    assert wide.zero_tol == cut
    nh = lambda fp: int(np.count_nonzero(fp.stability == "non-hyperbolic"))  # noqa: E731
    assert nh(wide) > nh(base)
    _assert_same_result(wide, fixed_points(W, zero_tol=wide.zero_tol))
    sub = fixed_points(W, only="stable", **wide.tolerances)
    assert len(sub) == int(np.count_nonzero(wide.stability == "stable"))


@SETTINGS
@given(weight_matrices())
def test_map_unstable_dimension(kw):
    _, W = kw
    fp = fixed_points(W)
    mod = np.abs(fp.multipliers)
    ref = np.where(fp.in_box, (mod > 1 + fp.zero_tol).sum(axis=1), -1)
    np.testing.assert_array_equal(fp.map_unstable_dim, ref)
    assert np.all((fp.map_stability == "stable") <= (fp.map_unstable_dim == 0))
    assert np.all((fp.map_stability == "outside") == (fp.map_unstable_dim == -1))


def test_reprs_are_short():
    W = np.random.default_rng(0).normal(size=(6, 6))
    fp = fixed_points(W)
    for obj in (fp, fp.counts(), count_fixed_points(W), fp.degenerate,
                fixed_points(np.zeros((3, 3))).degenerate, fixed_points(W, only="in_box")):
        text = repr(obj)
        assert len(text) < 300, text
        assert "array" not in text and "\n" not in text
    assert repr(fp).startswith("FixedPoints(N=6, points=666")


# every pattern is a counted point, a copy or degenerate, in every engine
# ----------------------------------------------------------------------------------------


def _balance(c):
    """Patterns left unaccounted for: 0 when points, copies and degenerate make 3^N."""
    return (c.n_patterns - c.total - c.n_origin_copies - c.n_merged - c.n_no_solution
            - c.n_continuum)


def _accounting(c):
    return (c.total, c.n_origin_copies, c.n_merged, c.n_no_solution, c.n_continuum)


def _local_engines(W, *, exact=False, **tols):
    """The FixedPointCounts of W from every local engine, by engine name."""
    out = {
        "count (incremental walk)": count_fixed_points(W, **tols),
        "count (enumeration kernel)": count_fixed_points(W, classify_out_of_box=True, **tols),
        "count (incremental walk, all classified)": count_fixed_points(
            W, engine="incremental", classify_out_of_box=True, **tols),
        "listing (enumeration kernel)": fixed_points(W, **tols).counts(),
        "listing (incremental walk)": fixed_points(W, engine="incremental", **tols).counts(),
    }
    if exact:
        out["listing (exact)"] = fixed_points(W, exact=True).counts()
    return out


def merge_matrix(n, seed):
    """A Gaussian W whose pattern (interior, 1, 0, ..., 0) has y_0 = 1e-12: the point lies
    within the default face_tol of its neighbour's, the corner (0, 1, 0, ..., 0)."""
    W = np.random.default_rng(seed).normal(size=(n, n))
    W[0, 0] = abs(W[0, 0]) + 1.0
    W[0, 1] = -1e-12 * W[0, 0]
    return W


def _zero_diagonal(n, seed):
    W = np.random.default_rng(seed).integers(-2, 3, size=(n, n)).astype(float)
    np.fill_diagonal(W, 0.0)
    return W


def _low_rank(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(-2, 3, size=(n, 2)).astype(float) @ rng.integers(-2, 3, size=(2, n))


ACCOUNTING_CASES = {
    **{f"gaussian N={n}": (lambda n=n: np.random.default_rng(40 + n).normal(size=(n, n))
                           / np.sqrt(n), {}) for n in range(2, 9)},
    **{f"merge N={n}": (lambda n=n: merge_matrix(n, n), {}) for n in range(2, 9)},
    # singular principal blocks: fewer origin copies, degenerate patterns
    **{f"zero diagonal N={n}": (lambda n=n: _zero_diagonal(n, n), {}) for n in (3, 5, 7)},
    **{f"rank 2 N={n}": (lambda n=n: _low_rank(n, n), {}) for n in (4, 6)},
    # a wide face_tol merges many distinct points
    **{f"face_tol 0.05 N={n}": (lambda n=n: np.random.default_rng(n).normal(size=(n, n)),
                                {"face_tol": 0.05}) for n in (4, 6, 8)},
}


@pytest.mark.parametrize("name", list(ACCOUNTING_CASES))
def test_every_pattern_is_a_point_a_copy_or_degenerate_in_every_engine(name):
    make, tols = ACCOUNTING_CASES[name]
    W = make()
    n = W.shape[0]
    got = _local_engines(W, exact=not tols and n <= 4, **tols)
    for engine, c in got.items():
        assert c.n_patterns == 3**n
        assert _balance(c) == 0, (engine, _accounting(c))
    numeric = {_accounting(c) for engine, c in got.items() if engine != "listing (exact)"}
    assert len(numeric) == 1, numeric
    c = got["count (incremental walk)"]
    # the origin's copies: one per invertible principal block W[I,I], I not empty
    invertible = sum(np.linalg.matrix_rank(W[np.ix_(I, I)]) == len(I)
                     for k in range(1, n + 1) for I in map(list, _subsets(n, k)))
    assert c.n_origin_copies == invertible
    if name.startswith(("merge", "face_tol")):
        assert c.n_merged >= 1


def _subsets(n, k):
    from itertools import combinations

    return combinations(range(n), k)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_a_merged_point_is_distinct_exactly_and_a_multiplicity_numerically(n):
    W = merge_matrix(n, n)
    c = count_fixed_points(W)
    exact = fixed_points(W, exact=True).counts()
    # exactly y_0 = 1e-12 is not 0: the exact count lists the point the tolerance merges
    assert c.n_merged >= 1 and exact.n_merged == 0
    assert c.total + c.n_merged == exact.total
    # below the point's distance from the face nothing is merged
    fine = count_fixed_points(W, face_tol=1e-14)
    assert (fine.total, fine.n_merged) == (exact.total, 0)
    # the listing gives the corner it was merged into the multiplicity 2
    fp = fixed_points(W)
    corner = np.zeros(n)
    corner[1] = 1.0
    row = np.flatnonzero(np.all(fp.points == corner, axis=1))
    assert row.size == 1 and fp.multiplicity[row[0]] == 2
    assert fp.n_merged == c.n_merged and fp.counts().n_merged == c.n_merged


@SETTINGS
@given(weight_matrices())
def test_patterns_add_up_on_random_matrices(kw):
    _, W = kw
    c = count_fixed_points(W)
    fp = fixed_points(W)
    assert _balance(c) == 0 and _balance(fp.counts()) == 0
    assert _accounting(fp.counts()) == _accounting(c)
    assert len(fp) + fp.n_origin_copies + fp.n_merged + len(fp.degenerate) == 3 ** W.shape[0]


@pytest.mark.parametrize("only", ["in_box", "stable", "stable_in_box"])
def test_a_filtered_listing_does_not_count_copies(only):
    W = merge_matrix(5, 1)
    fp = fixed_points(W, only=only)
    assert fp.n_merged is None and fp.n_origin_copies is None
    c = fp.counts()
    assert c.n_merged is None and c.as_dict()["n_merged"] is None
    assert "merged patterns: not counted in a filtered listing" in c.table(only=only)
    assert fp.select(np.arange(len(fp)) < 1).n_merged is None


def test_merged_patterns_are_shown():
    W = merge_matrix(3, 0)
    c = count_fixed_points(W)
    assert c.n_merged == 1
    assert "merged=1" in repr(c) and "merged=1" in repr(fixed_points(W).counts())
    d = c.as_dict()
    assert d["n_merged"] == 1 and d["n_origin_copies"] == 2**3 - 1
    table = c.table()
    assert "merged patterns: 1." in table
    assert (f"Patterns: 27 = {c.total} points + 7 origin copies + 1 merged + 0 degenerate"
            in table)
    assert fixed_points(W).as_dict()["n_merged"] == 1


def test_leading_eigenvalue_is_the_eigenvalue_of_largest_real_part():
    # the leading eigenvalue is the row's eigenvalue of largest real part, also for a listing
    # the filter leaves empty
    fp = fixed_points(np.array([[-1.0, 2.0], [3.0, -1.0]]))
    lead = fp.leading_eigenvalue
    assert lead.shape == (len(fp),) and lead.dtype == np.complex128
    for i, row in enumerate(fp.eigenvalues):
        assert lead[i] == row[np.argmax(row.real)]
        assert lead[i].real == max(row.real)
    none = fixed_points(-np.eye(2), only="stable")  # W = -I has no stable point
    assert len(none) == 0 and none.leading_eigenvalue.shape == (0,)
