"""Exact mode of dynsys.fixed_points against the numeric mode, and the exact root counters."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy

import dynsys
from dynsys import fixed_points
from dynsys._fixed_points._exact import halfplane_counts, unit_disk_counts


def _rational_matrix(rng, n, den=4, lo=-5, hi=5):
    return [[Fraction(int(rng.integers(lo, hi + 1)), int(rng.integers(1, den + 1)))
             for _ in range(n)] for _ in range(n)]


def _as_float(Wq):
    return np.array([[float(v) for v in row] for row in Wq])


def _match(a, b, tol=1e-9):
    p = np.empty(len(a), dtype=np.int64)
    for i, row in enumerate(a):
        d = np.abs(b - row).max(axis=1)
        p[i] = int(np.argmin(d))
        assert d[p[i]] <= tol * (1 + np.abs(row).max())
    assert np.unique(p).size == len(p)
    return p


@pytest.mark.parametrize("n, seed", [(1, 0), (2, 1), (2, 2), (3, 3), (3, 4), (3, 5), (4, 6),
                                     (4, 7), (5, 8)])
def test_exact_matches_numeric_on_random_rational_w(n, seed):
    rng = np.random.default_rng(seed)
    Wq = _rational_matrix(rng, n)
    ex = fixed_points(Wq, exact=True)
    nu = fixed_points(_as_float(Wq))
    assert ex.exact and not nu.exact
    assert len(ex) == len(nu)
    p = _match(ex.points, nu.points)
    assert ex.stability.tolist() == nu.stability[p].tolist()
    assert ex.map_stability.tolist() == nu.map_stability[p].tolist()
    np.testing.assert_array_equal(ex.multiplicity, nu.multiplicity[p])
    np.testing.assert_array_equal(ex.patterns, nu.patterns[p])
    np.testing.assert_array_equal(ex.unstable_dim, nu.unstable_dim[p])
    assert ex.degenerate.patterns.tolist() == nu.degenerate.patterns.tolist()
    assert ex.degenerate.kind.tolist() == nu.degenerate.kind.tolist()
    # every pattern a point, a copy or degenerate, and the same copies as the numeric mode
    # (rational W with small denominators: interior coordinates exactly at 0 or 1 occur)
    accounting = [(c.total, c.n_origin_copies, c.n_merged, c.n_no_solution, c.n_continuum)
                  for c in (ex.counts(), nu.counts())]
    assert accounting[0] == accounting[1] and sum(accounting[0]) == 3**n
    assert (ex.n_merged, ex.n_origin_copies) == (nu.n_merged, nu.n_origin_copies)
    # exact points are exact fixed points
    Wm = sympy.Matrix(Wq)
    for y in ex.points_exact:
        yv = sympy.Matrix(y)
        F = [y[i] * (1 - y[i]) * (Wm * yv)[i] for i in range(n)]
        assert all(f == 0 for f in F)


def test_exact_mode_counts_exact_copies_as_merged():
    # W = [[1, -1], [0, 2]]: pattern (interior, 1) solves y_0 = 1, exactly the corner (1, 1);
    # pattern (1, interior) solves 2 y_1 = 0, the corner (1, 0); with no coordinate at 1 the
    # interior patterns give the origin
    ex = fixed_points([[Fraction(1), Fraction(-1)], [Fraction(0), Fraction(2)]], exact=True)
    assert (len(ex), ex.n_origin_copies, ex.n_merged, len(ex.degenerate)) == (4, 3, 2, 0)
    corners = {tuple(map(int, y)): m for y, m in zip(ex.points_exact, ex.multiplicity)}
    assert corners == {(0, 0): 4, (1, 1): 2, (1, 0): 2, (0, 1): 1}
    assert fixed_points([[1, -1], [0, 2]], exact=True, only="in_box").n_merged is None


def test_exact_mode_generic_count_and_origin():
    Wq = [[Fraction(-7), Fraction(3, 2), Fraction(2, 5)], [Fraction(4), Fraction(1, 3),
          Fraction(-2, 7)], [Fraction(5, 2), Fraction(-1), Fraction(3)]]
    ex = fixed_points(Wq, exact=True)
    assert len(ex) == 3**3 - 2**3 + 1
    origin = [i for i, y in enumerate(ex.points_exact) if all(v == 0 for v in y)]
    assert ex.multiplicity[origin[0]] == 8


def test_exact_mode_detects_an_imaginary_axis_pair():
    # interior block of (y0, y1) = (1/2, 1/2) pattern: d = 1/4, W_II = [[0, 4], [-4, 0]]
    # -> eigenvalues +-i exactly: non-hyperbolic, which floating point can only guess
    W = [[0, 4, -2], [-4, 0, 2], [0, 0, -1]]
    ex = fixed_points(W, exact=True)
    i = [k for k, y in enumerate(ex.points_exact) if tuple(y) == (sympy.Rational(1, 2),
                                                                sympy.Rational(1, 2), 1)]
    assert i and ex.stability[i[0]] == "non-hyperbolic"


def test_exact_mode_filters():
    Wq = _rational_matrix(np.random.default_rng(3), 3)
    full = fixed_points(Wq, exact=True)
    st = fixed_points(Wq, exact=True, only="stable_in_box")
    assert len(st) == int(np.sum((full.stability == "stable") & full.in_box))


@pytest.mark.parametrize("roots", [
    [-1, -2, -3], [1, -2, 3], [sympy.I, -sympy.I, -1], [0, 2, -5], [1 + 2 * sympy.I,
                                                                    1 - 2 * sympy.I, -1, 0],
    [2, -2, 3 * sympy.I, -3 * sympy.I], [1, 1, -1],
])
def test_halfplane_counts(roots):
    x = sympy.Symbol("x")
    p = sympy.Poly(sympy.expand(sympy.prod([x - r for r in roots])), x)
    coef = [Fraction(str(sympy.re(sympy.expand(c)))) for c in p.all_coeffs()]
    pos = sum(1 for r in roots if sympy.re(r) > 0)
    zero = sum(1 for r in roots if sympy.re(r) == 0)
    assert halfplane_counts(coef) == (pos, zero, len(roots) - pos - zero)


@pytest.mark.parametrize("roots", [[sympy.Rational(1, 2), -3], [-1, sympy.Rational(1, 3)],
                                   [sympy.I, -sympy.I, 2, sympy.Rational(-1, 4)]])
def test_unit_disk_counts(roots):
    x = sympy.Symbol("x")
    p = sympy.Poly(sympy.expand(sympy.prod([x - r for r in roots])), x)
    coef = [Fraction(str(sympy.re(sympy.expand(c)))) for c in p.all_coeffs()]
    out = sum(1 for r in roots if abs(r) > 1)
    on = sum(1 for r in roots if abs(r) == 1)
    assert unit_disk_counts(coef) == (out, on, len(roots) - out - on)


def test_exact_in_box_and_map_labels_come_from_rationals():
    # pattern (2, 1): -y0 + (1 + 2^-60) = 0 gives y0 = 1 + 2^-60, just outside the box; its
    # float64 coordinate rounds to 1.0, inside. Exact mode keeps the exact answer.
    eps = Fraction(1, 2**60)
    Wq = [[Fraction(-1), 1 + eps], [Fraction(1, 2), Fraction(-3)]]
    ex = fixed_points(Wq, exact=True)
    target = (1 + sympy.Rational(1, 2**60), 1)
    i = [k for k, y in enumerate(ex.points_exact) if tuple(y) == target]
    assert len(i) == 1
    i = i[0]
    assert ex.points[i].tolist() == [1.0, 1.0]  # the float display rounds into the box
    assert not ex.in_box[i]
    assert ex.map_stability[i] == "outside" and ex.map_unstable_dim[i] == -1
    assert ex.patterns[i].tolist() == [2, 1]
    # the corner (1, 1) itself is a separate exact point, in the box
    j = [k for k, y in enumerate(ex.points_exact) if tuple(y) == (1, 1)]
    assert len(j) == 1 and ex.in_box[j[0]] and ex.map_stability[j[0]] != "outside"
    assert len(fixed_points(Wq, exact=True, only="in_box")) == int(ex.in_box.sum())


def test_exact_mode_has_no_tolerances_and_reproduces():
    Wq = _rational_matrix(np.random.default_rng(9), 3)
    ex = fixed_points(Wq, exact=True)
    assert ex.tolerances == {"rank_tol": 0.0, "residual_tol": 0.0, "face_tol": 0.0,
                             "zero_tol": 0.0}
    again = fixed_points(Wq, exact=True, **ex.tolerances)
    assert again.points_exact == ex.points_exact
    assert again.stability.tolist() == ex.stability.tolist()
    assert again.map_stability.tolist() == ex.map_stability.tolist()
    for name in ("zero_tol", "rank_tol", "residual_tol", "face_tol"):
        with pytest.raises(ValueError, match=f"`{name}` must be None or 0 with `exact=True`"):
            fixed_points(Wq, exact=True, **{name: 1e-9})


def test_exact_mode_caps_the_stored_degenerate_patterns():
    with pytest.warns(RuntimeWarning, match="degenerate"):
        ex = fixed_points(np.zeros((3, 3)), exact=True, max_degenerate=5)
    assert ex.degenerate.truncated and ex.degenerate.patterns.shape == (5, 3)
    assert ex.degenerate.n_continuum == 19
    full = fixed_points(np.zeros((3, 3)), exact=True)
    assert not full.degenerate.truncated
    assert full.degenerate.patterns[:5].tolist() == ex.degenerate.patterns.tolist()


def test_exact_map_unstable_dim_matches_numeric():
    Wq = _rational_matrix(np.random.default_rng(12), 4)
    ex = fixed_points(Wq, exact=True)
    nu = fixed_points(_as_float(Wq))
    p = _match(ex.points, nu.points)
    np.testing.assert_array_equal(ex.map_unstable_dim, nu.map_unstable_dim[p])
    np.testing.assert_array_equal(ex.in_box, nu.in_box[p])


def test_exact_and_numeric_modes_do_not_import_each_other():
    import ast
    import inspect

    import dynsys._fixed_points._exact as exact_module

    tree = ast.parse(inspect.getsource(exact_module))
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    numeric = {"_enumeration", "_incremental", "_distributed"}
    assert not imported & numeric and not any("_kernels" in m for m in imported)


# ---- tanh: closed forms, exactly ---------------------------------------------------------


@pytest.mark.parametrize("w", [-3, -1, 2, 5])
def test_tanh_n1_closed_form(w):
    # dy/dt = w (1 - y^2) y: the points -1, 0, +1, eigenvalues -2w, w, -2w (3 = 3^1 points)
    fp = dynsys.fixed_points([[Fraction(w)]], activation="tanh", engine="exact")
    assert fp.activation == "tanh" and len(fp) == 3
    got = {tuple(int(v) for v in p): (ev, lab) for p, ev, lab in
           zip(fp.points_exact, fp.eigenvalues[:, 0].real, fp.stability)}
    assert set(got) == {(-1,), (0,), (1,)}
    assert got[(-1,)][0] == got[(1,)][0] == -2 * w and got[(0,)][0] == w
    assert got[(1,)][1] == ("stable" if w > 0 else "unstable")
    assert fp.counts().generic_total == 3


def test_tanh_n2_closed_form_every_pattern():
    # W = [[-1, 2], [3, -1]]: on the faces y_B = +-1 the interior coordinate solves
    # (W y)_i = 0; all 9 = 3^2 patterns give distinct points (no origin copies)
    W = [[-1, 2], [3, -1]]
    fp = dynsys.fixed_points(W, activation="tanh", engine="exact")
    assert len(fp) == 9 and fp.n_origin_copies == 0 and fp.n_merged == 0
    pts = {tuple(int(v) for v in p) for p in fp.points_exact}
    # by hand: pattern (2, 0) has y1 = -1 and -y0 + 2 y1 = 0, so y0 = -2; and so on
    assert pts == {(-1, -1), (1, -1), (-2, -1), (-1, 1), (1, 1), (2, 1), (-1, -3), (1, 3),
                   (0, 0)}
    by = dict(zip((tuple(int(v) for v in p) for p in fp.points_exact), range(len(fp))))
    # the corner (1, -1): rates (W y) = (-3, 4), eigenvalues -2(-3) = 6 and 2(4) = 8
    i = by[(1, -1)]
    assert sorted(fp.eigenvalues[i].real.tolist()) == [6.0, 8.0]
    assert fp.stability[i] == "unstable" and fp.map_stability[i] == "unstable"
    # the interior point (0, 0): J = W, eigenvalues -1 +- sqrt(6)
    i = by[(0, 0)]
    np.testing.assert_allclose(np.sort(fp.eigenvalues[i].real),
                               [-1 - np.sqrt(6), -1 + np.sqrt(6)], rtol=1e-14)
    assert fp.in_box.sum() == 5
