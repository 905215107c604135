"""Unit tests of the shared kernel vocabulary (dynsys._kernels._common) against plain NumPy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dynsys
from dynsys._fixed_points._common import ONLY_CHOICES
from dynsys._fixed_points._results import decode_counts
from dynsys._kernels import _common as C
from dynsys._kernels import _linalg as L


def test_tolerance_array_follows_the_slots():
    tols = {"zero_tol": 4.0, "rank_tol": 1.0, "residual_tol": 2.0, "face_tol": 3.0}
    arr = C.tolerance_array(tols)
    assert arr.dtype == np.float64 and arr.shape == (4,)
    assert arr[C.TOL_RANK] == 1.0 and arr[C.TOL_RESIDUAL] == 2.0
    assert arr[C.TOL_FACE] == 3.0 and arr[C.TOL_ZERO] == 4.0
    assert [arr[i] for i in range(4)] == [tols[name] for name in C.TOLERANCE_NAMES]


def test_filter_codes_are_the_choices_of_only():
    assert tuple(C.FILTER_CODES) == ONLY_CHOICES == (None, "in_box", "stable", "stable_in_box")
    for only, code in C.FILTER_CODES.items():
        want_in_box, want_stable = C.filter_flags(code)
        assert want_in_box == (only in ("in_box", "stable_in_box"))
        assert want_stable == (only in ("stable", "stable_in_box"))


@given(st.floats(-1e308, 1e308, allow_nan=False))
def test_logistic_is_the_closed_form(z):
    with np.errstate(over="ignore"):
        ref = 1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))
    got = C.logistic(z)
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(ref, rel=1e-15, abs=1e-300)


def test_logistic_at_the_extremes():
    assert C.logistic(0.0) == 0.5
    assert C.logistic(800.0) == 1.0 and C.logistic(-800.0) == 0.0
    assert C.logistic(-740.0) > 0.0  # subnormal, not flushed to 0
    assert C.logistic(-30.0) == pytest.approx(np.exp(-30.0) / (1.0 + np.exp(-30.0)), rel=1e-15)


@pytest.mark.parametrize("n", [0, 1, 5, 24])
def test_pow3_table(n):
    np.testing.assert_array_equal(C.pow3_table(n), 3 ** np.arange(n, dtype=np.int64))


@pytest.mark.parametrize("offset", [0.0, -0.75])
def test_masked_row_sums_take_the_bits_in_order(offset):
    rng = np.random.default_rng(0)
    Cm = rng.standard_normal((3, 6))
    off = offset * np.arange(1, 4)
    for a in range(1 << 6):
        bits = [(a >> t) & 1 for t in range(6)]
        for lo in (0, 2):
            ref = off[1]  # the drive's offset first
            for t in range(lo, 6):
                if bits[t]:
                    ref += Cm[1, t]  # increasing t: the bits of the sum
            assert C.masked_row_sum(Cm, 1, a, lo, 6, off[1]) == ref
        out = np.empty(3)
        C.exact_sums(a, 3, 6, Cm, off, out)
        np.testing.assert_array_equal(out, [C.masked_row_sum(Cm, r, a, 0, 6, off[r])
                                            for r in range(3)])


def test_a_zero_offset_leaves_every_sum_bit_for_bit():
    """Without a drive the offsets are +0.0, and +0.0 + x is x for every float x (also -0.0,
    which a start at 0.0 turned into +0.0 before as well)."""
    rng = np.random.default_rng(1)
    Cm = rng.standard_normal((2, 8)) * 10.0 ** rng.integers(-300, 300, size=(2, 8))
    Cm[0, 3] = -0.0
    for a in range(1 << 8):
        for r in range(2):
            ref = 0.0
            for t in range(8):
                if (a >> t) & 1:
                    ref += Cm[r, t]
            got = C.masked_row_sum(Cm, r, a, 0, 8, 0.0)
            assert np.float64(got).tobytes() == np.float64(ref).tobytes()


def test_has_drive():
    assert not C.has_drive(np.zeros(4)) and not C.has_drive(np.zeros(0))
    assert not C.has_drive(np.array([0.0, -0.0]))
    assert C.has_drive(np.array([0.0, 1e-300]))


@pytest.mark.parametrize("k, nb", [(0, 4), (1, 3), (3, 2), (4, 0)])
def test_solve_offsets_are_the_pattern_without_ones(k, nb):
    """y0 solves W[I,I] y0 = -c_I and g0 = (W y + c)_B there: the fixed point of the
    assignment with no coordinate at 1, against numpy.linalg.solve."""
    rng = np.random.default_rng(10 * k + nb)
    n = k + nb
    W = rng.standard_normal((n, n))
    c = rng.standard_normal(n)
    I = sum(1 << i for i in rng.permutation(n)[:k])
    ii, bb = np.empty(n, np.int64), np.empty(n, np.int64)
    C.split_interior(I, n, ii, bb)
    A, WII = np.empty((n, n)), np.empty((n, n))
    pr, pc = np.empty(n, np.int64), np.empty(n, np.int64)
    assert L.factor_block(W, ii, k, 1e-12, A, WII, pr, pc) == k
    y0, g0 = np.full(n, np.nan), np.full(n, np.nan)
    L.solve_offsets(W, c, ii, bb, k, nb, A, pr, pc, y0, g0)
    Ii, Bi = ii[:k], bb[:nb]
    y = np.zeros(n)
    y[Ii] = np.linalg.solve(W[np.ix_(Ii, Ii)], -c[Ii]) if k else []
    np.testing.assert_allclose(y0[:k], y[Ii], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g0[:nb], (W @ y + c)[Bi], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((W @ y + c)[Ii], 0.0, atol=1e-12)


def test_split_interior():
    ii, bb = np.empty(5, np.int64), np.empty(5, np.int64)
    k, nb = C.split_interior(0b10110, 5, ii, bb)
    assert (k, nb) == (3, 2)
    assert ii[:k].tolist() == [1, 2, 4] and bb[:nb].tolist() == [0, 3]


@pytest.mark.parametrize("yI, canonical, in_box", [
    ([0.5, 0.25], True, True),
    ([0.5, 1.5], True, False),
    ([-0.1, 0.5], True, False),
    ([0.5, 1e-12], False, True),
    ([1.0 - 1e-12, 2.0], False, True),  # stops at the face: the box test is not finished
    ([], True, True),
])
def test_face_test(yI, canonical, in_box):
    y = np.array(yI, dtype=np.float64)
    assert C.face_test(y, y.size, 1e-9) == (canonical, in_box)


def test_boundary_rates_take_the_sign_of_the_face():
    wyB = np.array([2.0, -1.0, 1e-12, 0.5])
    lamB = np.empty(4)
    # coordinates 1 and 3 at 1: their eigenvalue is -(W y)_i
    assert C.boundary_rates(wyB, 0b1010, 4, 1e-9, lamB) == (2, 1, 1)
    np.testing.assert_array_equal(lamB, [2.0, 1.0, 1e-12, -0.5])


def test_tally_labels_fills_the_one_layout():
    n = 3
    local = np.zeros(C.table_width(n), np.int64)
    # in the box: flow stable (3 negative), map saddle (1 multiplier outside the circle)
    C.tally_labels(local, n, True, 0, 1, 0, 0, 2, 0, 1, 1, 0)
    # out of the box: flow saddle with unstable dimension 2
    C.tally_labels(local, n, False, 1, 0, 0, 1, 1, 0, 0, 0, 0)
    c = decode_counts(local, n)
    assert c["flow_in"].tolist() == [1, 0, 0, 0] and c["map_in"].tolist() == [0, 0, 1, 0]
    assert c["flow_out"].tolist() == [0, 0, 1, 0] and int(c["out_box"]) == 1
    assert int(c["disagree"]) == 1
    assert c["udim_in"].tolist() == [1, 0, 0, 0] and c["udim_out"].tolist() == [0, 0, 1, 0]


def test_label_code_is_the_label_rule():
    for n in range(1, 5):
        for pos, neg in itertools.product(range(n + 1), repeat=2):
            if pos + neg <= n:
                zero = n - pos - neg
                assert C.label_code(pos, neg, zero, n) == C.label_index(pos, neg, zero, n)
                assert dynsys.LABELS[C.label_index(pos, neg, zero, n)] == (
                    dynsys.NON_HYPERBOLIC if zero else dynsys.STABLE if neg == n
                    else dynsys.UNSTABLE if pos == n else dynsys.SADDLE)


def test_real_part_and_multiplier_counts():
    wr = np.array([-1.0, 0.5, 1e-12, -2.5])
    wi = np.array([0.0, 0.0, 0.0, 0.0])
    assert L.real_part_counts(wr, 4, 1e-9) == (1, 2, 1)
    # multipliers 1 + lambda: 0, 1.5, 1 + 1e-12, -1.5 -> inside, outside, on, outside
    assert L.multiplier_counts(wr, wi, 4, 1e-9) == (2, 1, 1)
    mu = np.abs(1.0 + wr + 1j * wi)
    assert L.multiplier_counts(wr, wi, 4, 1e-9) == (
        int(np.sum(mu > 1 + 1e-9)), int(np.sum(mu < 1 - 1e-9)),
        int(np.sum(np.abs(mu - 1) <= 1e-9)))


# ---- the steps of a stored point, shared by both fixed-point kernels ---------------------


def test_lowest_bit_is_the_coordinate_a_gray_step_flips():
    for x in list(range(1, 1 << 12)) + [1 << 40, (1 << 40) | (1 << 50), (1 << 62) + 8]:
        assert C.lowest_bit(x) == (x & -x).bit_length() - 1
    for step in range(1, 1 << 8):
        # Gray codes of consecutive steps differ in exactly that bit
        assert (step ^ (step >> 1)) ^ ((step - 1) ^ ((step - 1) >> 1)) == 1 << C.lowest_bit(step)


def test_interior_code_is_the_pattern_index_of_the_interior():
    pow3 = C.pow3_table(6)
    ii, bb = np.empty(6, np.int64), np.empty(6, np.int64)
    for I in range(1 << 6):
        k, _ = C.split_interior(I, 6, ii, bb)
        assert C.interior_code(ii, k, pow3) == sum(2 * 3**i for i in range(6) if (I >> i) & 1)


def test_resum_exact_is_the_masked_row_sum_to_the_bit():
    rng = np.random.default_rng(3)
    k, nb = 3, 7
    Cm = rng.standard_normal((k, nb)) / 3.0
    G = rng.standard_normal((nb, nb)) * 1e3  # large terms: an order change would show
    ones = np.empty(nb, np.int64)
    yI, d, wyB, lamB = np.empty(k), np.empty(k), np.empty(nb), np.empty(nb)
    y0, g0 = rng.standard_normal(k), rng.standard_normal(nb) * 1e3
    for a in range(1 << nb):
        C.resum_exact(a, k, nb, Cm, G, y0, g0, ones, yI, d, wyB, lamB)
        y_ref = [C.masked_row_sum(Cm, r, a, 0, nb, y0[r]) for r in range(k)]
        w_ref = [C.masked_row_sum(G, u, a, 0, nb, g0[u]) for u in range(nb)]
        np.testing.assert_array_equal(yI, y_ref)
        np.testing.assert_array_equal(d, [y * (1.0 - y) for y in y_ref])
        np.testing.assert_array_equal(wyB, w_ref)
        np.testing.assert_array_equal(lamB, [-w if (a >> u) & 1 else w
                                             for u, w in enumerate(w_ref)])
        assert ones[:bin(a).count("1")].tolist() == [t for t in range(nb) if (a >> t) & 1]


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_interior_eigs_are_those_of_the_scaled_block(k):
    rng = np.random.default_rng(k)
    n = k + 2
    WII = rng.standard_normal((n, n))
    d = rng.uniform(0.0, 0.25, n)
    wr, wi = np.empty(n), np.empty(n)
    C.interior_eigs(d, WII, k, np.empty((n, n)), wr, wi, np.empty((n, n)))
    ref = np.linalg.eigvals(np.diag(d[:k]) @ WII[:k, :k])
    got = wr[:k] + 1j * wi[:k]
    np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(ref), atol=1e-12)


def test_store_point_writes_the_point_its_eigenvalues_and_its_pattern_index():
    n = 5
    pow3 = C.pow3_table(n)
    ii, bb = np.empty(n, np.int64), np.empty(n, np.int64)
    k, nb = C.split_interior(0b01010, n, ii, bb)  # interior 1, 3; boundary 0, 2, 4
    a = 0b101                                       # boundary 0 and 4 at 1, 2 at 0
    yI = np.array([0.25, 0.75])
    lamB = np.array([-1.0, 2.0, -3.0])
    wr, wi = np.array([-0.5, -0.5]), np.array([0.1, -0.1])
    out_y = np.full((3, n), np.nan)
    out_eig = np.full((3, n), np.nan, complex)
    out_code = np.full(3, -1, np.int64)
    C.store_point(out_y, out_eig, out_code, 1, a, k, nb, ii, bb, yI, lamB, wr, wi,
                  C.interior_code(ii, k, pow3), pow3)
    assert out_y[1].tolist() == [1.0, 0.25, 0.0, 0.75, 1.0]
    assert out_eig[1].tolist() == [-1.0, -0.5 + 0.1j, 2.0, -0.5 - 0.1j, -3.0]
    codes = [1, 2, 0, 2, 1]
    assert out_code[1] == sum(c * 3**i for i, c in enumerate(codes))
    assert np.isnan(out_y[[0, 2]]).all() and out_code[[0, 2]].tolist() == [-1, -1]
