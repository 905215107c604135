"""Unit tests of the private Numba helpers of the fixed-point kernels (linear algebra, the
per-point pass, the count-table layout and the label rule)."""

from __future__ import annotations

import numpy as np
import pytest

from dynsys._kernels import _common as C
from dynsys._kernels import _linalg as L
from dynsys._kernels import fixed_points_assembly as A


@pytest.mark.parametrize("k", range(1, 9))
def test_small_eigvals_match_numpy(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        M = rng.normal(size=(k, k)) * rng.choice([1e-3, 1.0, 1e3])
        wr = np.empty(k)
        wi = np.empty(k)
        L.small_eigvals(M.copy(), k, wr, wi, np.empty((k, k)))
        ours = np.sort_complex(wr + 1j * wi)
        ref = np.sort_complex(np.linalg.eigvals(M))
        np.testing.assert_allclose(ours, ref, atol=1e-9 * np.abs(M).max() * k)


def test_small_eigvals_on_structured_matrices():
    for M in (np.zeros((4, 4)), np.eye(5), np.diag([1.0, 1.0, -2.0]), np.triu(np.ones((6, 6))),
              np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], float)):
        k = M.shape[0]
        wr, wi = np.empty(k), np.empty(k)
        L.small_eigvals(M, k, wr, wi, np.empty((k, k)))
        ref = np.linalg.eigvals(M)
        for v in ref:
            assert np.min(np.abs(wr + 1j * wi - v)) < 1e-6


@pytest.mark.parametrize("k", range(1, 9))
def test_routh_count_matches_roots(k):
    rng = np.random.default_rng(100 + k)
    for _ in range(30):
        roots = rng.normal(size=k) + 1j * rng.normal(size=k) * (rng.random(k) < 0.5)
        # make the polynomial real: pair complex roots with their conjugates
        roots = np.concatenate([roots.real[: k // 2], roots[k // 2:][:((k + 1) // 2) // 2],
                                np.conj(roots[k // 2:][:((k + 1) // 2) // 2])])
        roots = np.resize(roots, k) if roots.size < k else roots[:k]
        coef = np.real(np.poly(roots))
        ref = int(np.sum(np.roots(coef).real > 0))
        w = [np.empty(k // 2 + 2) for _ in range(3)]
        got = L.routh_unstable(coef.astype(np.float64), k, 1e-12, *w)
        assert got in (-1, ref)  # -1: inconclusive (the caller then uses QR)


def test_principal_minors_match_numpy():
    W = np.random.default_rng(0).normal(size=(5, 5))
    minors = L.principal_minors(W)
    for S in range(1 << 5):
        idx = [i for i in range(5) if S >> i & 1]
        ref = np.linalg.det(W[np.ix_(idx, idx)]) if idx else 1.0
        assert abs(minors[S] - ref) <= 1e-12 * max(1.0, abs(ref))


def test_lu_rank_and_solve():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    b = rng.normal(size=4)
    Af = A.copy()
    pr = np.empty(4, np.int64)
    pc = np.empty(4, np.int64)
    assert L.lu_complete(Af, 4, 1e-12, pr, pc) == 4
    x = b.copy()
    L.lu_solve(Af, 4, pr, pc, x)
    np.testing.assert_allclose(A @ x, b, atol=1e-12)
    S = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])
    assert L.lu_complete(S.copy(), 3, 1e-12, np.empty(3, np.int64), np.empty(3, np.int64)) == 1


def test_classify_points_matches_numpy():
    # arbitrary (not fixed-point) rows: boundary coordinates exactly 0 or 1, some rows out
    # of the box, some eigenvalues inside the tolerances
    rng = np.random.default_rng(5)
    m, n, tol, tol_near = 400, 6, 1e-3, 1e-1
    W = rng.normal(size=(n, n))
    pats = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    pts = np.where(pats == 2, rng.uniform(-0.3, 1.3, size=(m, n)), pats).astype(np.float64)
    eig = rng.normal(size=(m, n)) * rng.choice([1e-4, 0.05, 1.0], size=(m, n)) \
        + 1j * (pats == 2) * rng.normal(size=(m, n))
    res, box, flow, udim, mapc, mudim, flex, near = A.classify_points(W, np.zeros(n), pts, pats,
                                                                     eig, tol, tol_near)
    np.testing.assert_allclose(res, np.abs(pts * (1 - pts) * (pts @ W.T)).max(axis=1),
                               rtol=1e-12, atol=1e-15)
    # the drive c enters the rate W y + c of the residual only
    c = rng.normal(size=n)
    res_c = A.classify_points(W, c, pts, pats, eig, tol, tol_near)[0]
    np.testing.assert_allclose(res_c, np.abs(pts * (1 - pts) * (pts @ W.T + c)).max(axis=1),
                               rtol=1e-12, atol=1e-15)
    ref_box = ((pts >= 0) & (pts <= 1)).all(axis=1)
    np.testing.assert_array_equal(box, ref_box)
    np.testing.assert_array_equal(udim, (eig.real > tol).sum(axis=1))
    bnd = pats != 2
    np.testing.assert_array_equal(flex, bnd & (np.abs(eig.real) <= tol))
    near_ref = (bnd & (np.abs(eig.real) <= tol_near)).any(axis=1) | (
        ~bnd & ((np.abs(pts) <= tol_near) | (np.abs(pts - 1) <= tol_near))).any(axis=1)
    np.testing.assert_array_equal(near, near_ref)

    def label(v, ref):  # 0 stable, 1 unstable, 2 saddle, 3 non-hyperbolic
        pos, neg = v > ref + tol, v < ref - tol
        return np.where((~(pos | neg)).any(axis=1), 3,
                        np.where(neg.all(axis=1), 0, np.where(pos.all(axis=1), 1, 2)))

    np.testing.assert_array_equal(flow, label(eig.real, 0.0))
    mod = np.where(bnd, np.exp(eig.real), np.abs(1 + eig))
    np.testing.assert_array_equal(mapc, np.where(ref_box, label(mod, 1.0), -1))
    np.testing.assert_array_equal(mudim, np.where(ref_box, (mod > 1 + tol).sum(axis=1), -1))


@pytest.mark.parametrize("n", [1, 2, 5, 13, 20])
def test_count_layout_is_the_kernel_layout(n):
    lay = C.count_layout(n)
    assert lay["width"] == C.table_width(n)
    assert lay["udim_out"] == C.udim_out_column(n) == lay["udim_in"] + n + 1
    blocks = {"flow_in": 4, "flow_out": 4, "map_in": 4, "disagree": 1, "kept": 1,
              "no_solution": 1, "continuum": 1, "qr_fallback": 1, "merged": 1,
              "origin_copies": 1, "out_box": 1, "udim_in": n + 1, "udim_out": n + 1}
    assert set(blocks) == set(lay) - {"width"}
    cols = np.zeros(lay["width"], int)
    for name, size in blocks.items():
        cols[lay[name]:lay[name] + size] += 1
    np.testing.assert_array_equal(cols, 1)  # every column belongs to exactly one block


def test_kernel_label_rule_is_the_stability_rule():
    from dynsys._stability import LABELS, classify_counts, label_index

    for n in range(1, 5):
        for pos in range(n + 1):
            for neg in range(n + 1 - pos):
                zero = n - pos - neg
                code = C.label_code(pos, neg, zero, n)
                assert code == label_index(pos, neg, zero, n)
                assert LABELS[code] == classify_counts(pos, neg, zero, n)


@pytest.mark.parametrize("seed", range(5))
def test_lu_partial_gives_the_determinant_and_solves(seed):
    rng = np.random.default_rng(seed)
    k = 1 + seed
    A = rng.normal(size=(k + 2, k + 2))  # only the leading k x k block is factored
    b = rng.normal(size=k + 2)
    F, piv, x = A.copy(), np.empty(k, np.int64), b.copy()
    det = L.lu_partial(F, k, piv)
    np.testing.assert_allclose(det, np.linalg.det(A[:k, :k]), rtol=1e-12)
    L.lu_partial_solve(F, k, piv, x)
    np.testing.assert_allclose(A[:k, :k] @ x[:k], b[:k], atol=1e-12)
    np.testing.assert_array_equal(x[k:], b[k:])
