"""The incremental pattern walk against today's enumeration kernel and a slow readable twin."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsys import count_fixed_points, fixed_points
from dynsys._fixed_points._common import numeric_tolerances, validate_weights
from tests._oracles.incremental_reference import gray_walk, reference_counts

_OUT_FIELDS = ("by_stability", "by_stability_out_of_box", "unstable_dim_out_of_box",
               "out_of_box_classified")


def _box_fields(counts) -> dict:
    d = counts.as_dict()
    for key in _OUT_FIELDS:
        d.pop(key)
    return d


def _matrices():
    rng = np.random.default_rng(7)
    out = []
    for n in (1, 2, 3, 4, 6, 8, 10):
        out.append((f"gauss{n}", rng.standard_normal((n, n)) / np.sqrt(n)))
    X = rng.standard_normal((7, 7))
    out.append(("symmetric7", X + X.T))
    out.append(("integer6", rng.integers(-3, 4, size=(6, 6)).astype(float)))
    out.append(("integer8", rng.integers(-2, 3, size=(8, 8)).astype(float)))
    # rank 2: singular blocks everywhere above 2 x 2, continua and inconsistent patterns
    U = rng.integers(-2, 3, size=(6, 2)).astype(float)
    V = rng.integers(-2, 3, size=(2, 6)).astype(float)
    out.append(("rank2", U @ V))
    # a nearly singular 2 x 2 block (determinant 1e-13): the rank decision at the tolerance
    W = rng.standard_normal((6, 6))
    W[1, :2] = W[0, :2] * (1.0 + 1e-13)
    out.append(("near_singular", W))
    out.append(("zeros", np.zeros((4, 4))))
    out.append(("identity", np.eye(5)))
    return out


MATRICES = _matrices()


@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_full_classification_equals_todays_count(name, W):
    ref = count_fixed_points(W, classify_out_of_box=True)
    got = count_fixed_points(W, engine="incremental", classify_out_of_box=True)
    assert got.as_dict() == ref.as_dict()


@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_in_box_count_equals_todays_count(name, W):
    ref = count_fixed_points(W, classify_out_of_box=True)
    got = count_fixed_points(W, engine="incremental")
    assert _box_fields(got) == _box_fields(ref)
    assert got.total == ref.total and got.out_of_box == ref.out_of_box
    # out-of-box points are counted, not labelled: no zeros that read as labels
    assert got.by_stability_out_of_box is None and got.unstable_dim_out_of_box is None
    assert got.by_stability is None and not got.out_of_box_classified


@pytest.mark.parametrize("seed", range(4))
def test_n12_exact_agreement(seed):
    W = np.random.default_rng(100 + seed).standard_normal((12, 12)) * (0.5 + seed) / np.sqrt(12)
    if seed < 3:
        assert (_box_fields(count_fixed_points(W, engine="incremental"))
                == _box_fields(count_fixed_points(W, classify_out_of_box=True)))
    else:
        assert (count_fixed_points(W, engine="incremental", classify_out_of_box=True).as_dict()
                == count_fixed_points(W, classify_out_of_box=True).as_dict())


@pytest.mark.parametrize("n,seed", [(3, 0), (4, 1), (5, 2), (6, 3)])
def test_matches_slow_twin(n, seed):
    W = np.random.default_rng(seed).standard_normal((n, n)) * 2.0 / np.sqrt(n)
    ref = reference_counts(W)
    got = count_fixed_points(W, engine="incremental")
    assert got.total == ref["total"]
    assert got.in_box == ref["in_box"] and got.out_of_box == ref["out_of_box"]
    assert dict(got.by_stability_in_box) == ref["flow_in"]
    assert dict(got.map_by_stability_in_box) == ref["map_in"]
    assert got.unstable_dim_in_box.tolist() == ref["udim_in"]
    assert got.n_degenerate == ref["n_singular"] == 0
    assert got.n_origin_copies == ref["origin_copies"] == 2**n - 1
    assert got.n_merged == ref["merged"] == 0


@pytest.mark.parametrize("n", [3, 5])
def test_merged_patterns_match_slow_twin(n):
    # pattern (interior, 1, 0, ...) has y_0 = 1e-12, within face_tol of the corner e_1
    W = np.random.default_rng(n).standard_normal((n, n))
    W[0, 0] = 2.0
    W[0, 1] = -2e-12
    ref = reference_counts(W)
    for got in (count_fixed_points(W, engine="incremental"),
                count_fixed_points(W, engine="incremental", classify_out_of_box=True)):
        assert got.total == ref["total"]
        assert got.n_merged == ref["merged"] >= 1
        assert got.n_origin_copies == ref["origin_copies"]
        assert got.total + got.n_origin_copies + got.n_merged == 3**n


@pytest.mark.parametrize("n", [1, 5, 20, 24])
def test_walk_layout_shares_the_enumeration_columns(n):
    from dynsys._kernels._common import count_layout

    lay = count_layout(n)  # the one layout of both kernels' tables
    blocks = {"flow_in": 4, "flow_out": 4, "map_in": 4, "disagree": 1, "kept": 1,
              "no_solution": 1, "continuum": 1, "qr_fallback": 1, "merged": 1,
              "origin_copies": 1, "out_box": 1, "udim_in": n + 1, "udim_out": n + 1}
    assert set(blocks) == set(lay) - {"width"}
    cols = np.zeros(lay["width"], int)
    for name, size in blocks.items():
        cols[lay[name]:lay[name] + size] += 1
    np.testing.assert_array_equal(cols, 1)  # every column belongs to exactly one block


@pytest.mark.parametrize("name,W", [MATRICES[4], MATRICES[8], MATRICES[10]],
                         ids=["gauss6", "integer6", "rank2"])
def test_both_kernels_write_the_same_count_row(name, W):
    from dynsys._fixed_points._enumeration import run_kernel
    from dynsys._fixed_points._incremental import count_table
    from dynsys._kernels._common import COL_QR_FALLBACK, tolerance_array
    from dynsys._kernels.fixed_points_enumeration import MODE_COUNT

    Wc = validate_weights(W).W
    tols = numeric_tolerances(Wc)
    walk = count_table(Wc, tolerance_array(tols), classify_out_of_box=True)
    enum = run_kernel(Wc, tols, MODE_COUNT, 0)[0].sum(axis=0)
    keep = np.arange(walk.size) != COL_QR_FALLBACK  # each kernel falls back on its own terms
    np.testing.assert_array_equal(walk[keep], enum[keep])


def test_twin_walk_matches_direct_solves():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((7, 7))
    interior = np.array([1, 4, 5])
    boundary = np.setdiff1d(np.arange(7), interior)
    seen = set()
    for ones, y_I, rates in gray_walk(W, interior, refresh=8):
        y = np.zeros(7)
        y[boundary[ones]] = 1.0
        A = W[np.ix_(interior, interior)]
        y[interior] = np.linalg.solve(A, -W[np.ix_(interior, boundary[ones])].sum(axis=1))
        np.testing.assert_allclose(y_I, y[interior], rtol=0, atol=1e-12)
        np.testing.assert_allclose(rates, (W @ y)[boundary], rtol=0, atol=1e-12)
        seen.add(tuple(ones))
    assert len(seen) == 2**boundary.size  # every assignment once


@pytest.mark.parametrize("refresh", [1, 4, 2**20])
def test_refresh_period_does_not_change_counts(refresh):
    W = np.random.default_rng(11).standard_normal((9, 9)) / 3.0
    assert (count_fixed_points(W, engine="incremental", refresh=refresh).as_dict()
            == count_fixed_points(W, engine="incremental").as_dict())


@pytest.mark.parametrize("refresh", [1, 4, 64])
def test_refresh_period_does_not_change_tanh_counts(refresh):
    """The walk starts from the drive's offsets and every refresh re-adds them: the period of
    the fresh sums changes no count of a tanh network, nor its stored listing."""
    W = np.random.default_rng(12).standard_normal((9, 9)) / 3.0
    ref = count_fixed_points(W, engine="enumeration", classify_out_of_box=True,
                             activation="tanh")
    got = count_fixed_points(W, engine="incremental", classify_out_of_box=True,
                             refresh=refresh, activation="tanh")
    assert got.as_dict() == ref.as_dict() and got.total == 3**9
    box = count_fixed_points(W, engine="incremental", refresh=refresh, activation="tanh")
    assert (box.total, box.in_box, box.by_stability_in_box) == (
        ref.total, ref.in_box, ref.by_stability_in_box)
    fp = fixed_points(W, engine="incremental", only="in_box", refresh=refresh,
                      activation="tanh")
    want = fixed_points(W, engine="enumeration", only="in_box", activation="tanh")
    for field in ("points", "patterns", "eigenvalues", "stability", "map_stability"):
        np.testing.assert_array_equal(getattr(fp, field), getattr(want, field), err_msg=field)


def test_rounding_of_long_walks_stays_bounded():
    # 2^15 Gray steps on the empty interior set's neighbours: the running sums agree with
    # fresh sums to a few ulps times the walk length between refreshes
    W = np.random.default_rng(5).standard_normal((16, 16))
    interior = np.array([0])
    worst = 0.0
    for ones, y_I, rates in gray_walk(W, interior, refresh=64):
        B = np.arange(1, 16)
        C = -W[0, B[ones]].sum() / W[0, 0]
        worst = max(worst, abs(y_I[0] - C))
    assert worst < 1e-12 * max(1.0, np.abs(W).sum() / abs(W[0, 0]))


@pytest.mark.parametrize("only", [None, "in_box", "stable", "stable_in_box"])
@pytest.mark.parametrize("name,W", [MATRICES[4], MATRICES[7], MATRICES[8], MATRICES[10]],
                         ids=["gauss6", "symmetric7", "integer6", "rank2"])
def test_filtered_listing_equals_fixed_points(only, name, W):
    ref = fixed_points(W, only=only)
    got = fixed_points(W, engine="incremental", only=only)
    for field in ("points", "patterns", "eigenvalues", "stability", "map_stability",
                  "multiplicity", "unstable_dim", "in_box"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field), err_msg=field)
    np.testing.assert_array_equal(got.degenerate.patterns, ref.degenerate.patterns)
    assert got.degenerate.n_continuum == ref.degenerate.n_continuum
    assert got.degenerate.n_no_solution == ref.degenerate.n_no_solution


def test_stable_filter_beyond_the_full_listing_limit():
    W = np.random.default_rng(2).standard_normal((14, 14)) / np.sqrt(14)
    got = fixed_points(W, engine="incremental", only="stable_in_box")
    ref = count_fixed_points(W, engine="incremental")
    assert len(got) == ref.stable_in_box
    assert np.all(got.in_box) and np.all(got.stability == "stable")


def test_tolerances_are_those_of_count_fixed_points():
    W = np.random.default_rng(4).standard_normal((6, 6)) * 3.0
    tols = numeric_tolerances(validate_weights(W).W)
    ref = count_fixed_points(W, classify_out_of_box=True)
    assert tols == ref.tolerances
    got = count_fixed_points(W, engine="incremental")
    assert got.tolerances == ref.tolerances
    # a stored value passed back reproduces the counts; a wide zero band changes them
    assert (count_fixed_points(W, engine="incremental", **got.tolerances).as_dict()
            == got.as_dict())
    wide = count_fixed_points(W, engine="incremental", zero_tol=10.0)
    assert wide.by_stability_in_box["non-hyperbolic"] == wide.in_box
    assert (_box_fields(wide)
            == _box_fields(count_fixed_points(W, zero_tol=10.0, classify_out_of_box=True)))


def test_validation_messages():
    with pytest.raises(ValueError, match="`refresh` must be a power of 2"):
        count_fixed_points(np.eye(2), engine="incremental", refresh=3)
    with pytest.raises(ValueError, match="N <= 24"):
        count_fixed_points(np.zeros((25, 25)), engine="incremental")
    with pytest.raises(ValueError, match="`W`"):
        count_fixed_points(np.ones((2, 3)), engine="incremental")
    with pytest.raises(ValueError, match="filter above N = 13"):
        fixed_points(np.zeros((14, 14)), engine="incremental")
    with pytest.raises(ValueError, match="`only`"):
        fixed_points(np.eye(2), engine="incremental", only="saddle")


# ---------------------------------------------------------------------------------------
# the filtered walks: low-coordinate tables, their scan and the high-assignment bound
# ---------------------------------------------------------------------------------------

def _brute_sums(C, a, nb):
    """Sum of the columns of C at the bits set in `a` (the readable definition)."""
    cols = [t for t in range(nb) if (a >> t) & 1]
    return C[:, cols].sum(axis=1) if cols else np.zeros(C.shape[0])


def _passes(rates, y, a, tol, want_in_box, want_stable, gslack=None, yslack=None):
    """The exact filter: each boundary eigenvalue below -tol, y_I in [0, 1]; with slacks, the
    prefilter's looser version."""
    gs = np.zeros(len(rates)) if gslack is None else gslack
    ys = np.zeros(len(y)) if yslack is None else yslack
    if want_stable:
        for u, r in enumerate(rates):
            if not (r > tol - gs[u] if (a >> u) & 1 else r < gs[u] - tol):
                return False
    return not want_in_box or bool(np.all((y >= -ys) & (y <= 1.0 + ys)))


def _filter_inputs(seed, k, nb, m):
    from dynsys._kernels.fixed_points_incremental import _low_tables

    rng = np.random.default_rng(seed)
    Cm = rng.standard_normal((k, nb)) * 0.4 + 0.1
    G = rng.standard_normal((nb, nb))
    YL = np.zeros((1 << m, max(k, 1)))
    RL = np.zeros((1 << m, nb))
    _low_tables(k, nb, m, np.ascontiguousarray(Cm.T), np.ascontiguousarray(G.T), YL, RL)
    return Cm, G, YL, RL


@pytest.mark.parametrize("k,nb,m", [(0, 3, 3), (3, 5, 5), (2, 9, 4), (4, 10, 7)])
def test_low_tables_are_the_column_sums(k, nb, m):
    Cm, G, YL, RL = _filter_inputs(k + nb, k, nb, m)
    for s in range(1 << m):
        np.testing.assert_allclose(RL[s], _brute_sums(G, s, nb), rtol=0, atol=1e-12)
        np.testing.assert_allclose(YL[s, :k], _brute_sums(Cm, s, nb), rtol=0, atol=1e-12)


@pytest.mark.parametrize("want_in_box,want_stable", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("seed", range(3))
def test_scan_low_finds_every_passing_pattern_in_gray_order(seed, want_in_box, want_stable):
    from dynsys._kernels.fixed_points_incremental import _scan_low

    k, nb, m, tol = 3, 9, 4, 1e-9
    Cm, G, YL, RL = _filter_inputs(seed, k, nb, m)
    gslack = 2e-9 * np.abs(G).sum(axis=1)
    yslack = 2e-9 * np.abs(Cm).sum(axis=1)
    n_low = 1 << m
    for hi in range(1 << (nb - m)):
        ahi = (hi ^ (hi >> 1)) << m
        flip = (hi & 1) << (m - 1)
        hh = _brute_sums(G, ahi, nb)
        yh = _brute_sums(Cm, ahi, nb)
        found, j = [], 0
        while True:
            j = _scan_low(j, n_low, ahi, flip, k, nb, hh, yh, RL, YL, yslack, gslack, tol,
                          want_in_box, want_stable)
            if j >= n_low:
                break
            found.append(j)
            j += 1
        def keeps(j, *slacks):
            a = ahi | ((j ^ (j >> 1)) ^ flip)
            return _passes(_brute_sums(G, a, nb), _brute_sums(Cm, a, nb), a, tol,
                           want_in_box, want_stable, *slacks)

        # every pattern the exact test keeps, and none beyond the slack
        exact = [j for j in range(n_low) if keeps(j)]
        loose = [j for j in range(n_low) if keeps(j, gslack, yslack)]
        assert set(exact) <= set(found) and found == sorted(found)
        assert set(found) <= set(loose)
        # step j of high step hi is step (hi << m) + j of the Gray walk of all nb coordinates
        for j in range(n_low):
            step = (hi << m) + j
            assert ahi | ((j ^ (j >> 1)) ^ flip) == step ^ (step >> 1)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), m=st.integers(1, 6), k=st.integers(0, 4),
       flags=st.sampled_from([(True, False), (False, True), (True, True)]))
def test_high_bound_never_cuts_a_passing_pattern(seed, m, k, flags):
    from dynsys._kernels.fixed_points_incremental import _block_ranges, _high_infeasible

    want_in_box, want_stable = flags
    nb, tol = m + 3, 1e-9
    Cm, G, _, _ = _filter_inputs(seed, k, nb, m)
    n = nb
    yneg, ypos = np.zeros((n, n + 1)), np.zeros((n, n + 1))
    gneg, gpos = np.zeros((n, n + 1)), np.zeros((n, n + 1))
    yabs, gabs = np.zeros(n), np.zeros(n)
    Cm_p = np.zeros((n, n))
    Cm_p[:k] = Cm
    _block_ranges(k, nb, Cm_p, G, yneg, ypos, yabs, gneg, gpos, gabs)
    gslack, yslack = 2e-9 * gabs, 2e-9 * yabs
    for hi in range(1 << (nb - m)):
        ahi = hi << m
        cut = _high_infeasible(ahi, m, k, nb, _brute_sums(G, ahi, nb),
                               np.pad(_brute_sums(Cm, ahi, nb), (0, n - k)), yneg, ypos,
                               yslack, gneg, gpos, gslack, tol, want_in_box, want_stable)
        some = any(_passes(_brute_sums(G, ahi | s, nb), _brute_sums(Cm, ahi | s, nb),
                           ahi | s, tol, want_in_box, want_stable) for s in range(1 << m))
        assert not (cut and some)


def test_high_bound_cuts_a_coordinate_that_cannot_reach_its_sign():
    from dynsys._kernels.fixed_points_incremental import _block_ranges, _high_infeasible

    # coordinate 1 (high) at 1 needs (W y)_1 > 0, but G[1] <= 0: cut whatever bit 0 does;
    # at 0 it needs (W y)_1 < 0, reached with bit 0 at 1: kept
    G = np.array([[-1.0, 0.5], [-1.0, -1.0]])
    Cm = np.zeros((2, 2))
    bufs = [np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), np.zeros((2, 3)), np.zeros((2, 3)),
            np.zeros(2)]
    _block_ranges(0, 2, Cm, G, *bufs)
    yneg, ypos, yabs, gneg, gpos, gabs = bufs
    args = (yneg, ypos, 2e-9 * yabs, gneg, gpos, 2e-9 * gabs, 1e-9, False, True)
    assert _high_infeasible(0b10, 1, 0, 2, G[:, 1].copy(), np.zeros(2), *args)
    assert not _high_infeasible(0b00, 1, 0, 2, np.zeros(2), np.zeros(2), *args)


@pytest.mark.parametrize("only", ["in_box", "stable", "stable_in_box"])
@pytest.mark.parametrize("name,W", [
    ("gauss10", np.random.default_rng(21).standard_normal((10, 10)) * 2.0 / np.sqrt(10)),
    ("gauss11", np.random.default_rng(22).standard_normal((11, 11)) / np.sqrt(11)),
    ("integer10", np.random.default_rng(27).integers(-2, 3, size=(10, 10)).astype(float)),
], ids=["gauss10", "gauss11", "integer10"])
def test_filtered_listing_with_high_walk_equals_fixed_points(only, name, W):
    # boundaries of up to 11 coordinates: tables of 2^7 rows and a Gray walk over the rest
    ref = fixed_points(W, only=only)
    got = fixed_points(W, engine="incremental", only=only)
    assert len(ref) > 0
    for field in ("points", "patterns", "eigenvalues", "stability", "map_stability",
                  "multiplicity", "unstable_dim", "in_box"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field), err_msg=field)
    assert got.degenerate.n_continuum == ref.degenerate.n_continuum
    assert got.degenerate.n_no_solution == ref.degenerate.n_no_solution


# ---- the phases of the walk against their definitions ----------------------------------------


def test_transposed_maps_are_the_transposes_of_the_used_blocks():
    from dynsys._kernels.fixed_points_incremental import _transposed_maps

    rng = np.random.default_rng(0)
    n, k, nb = 7, 3, 4
    Cm, G = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    CmT, GT = np.full((n, n), np.nan), np.full((n, n), np.nan)
    _transposed_maps(Cm, G, k, nb, CmT, GT)
    np.testing.assert_array_equal(CmT[:nb, :k], Cm[:k, :nb].T)
    np.testing.assert_array_equal(GT[:nb, :nb], G[:nb, :nb].T)


@pytest.mark.parametrize("seed", range(30))
def test_rates_all_stable_is_every_boundary_eigenvalue_below_minus_tol(seed):
    from dynsys._kernels.fixed_points_incremental import _rates_all_stable

    rng = np.random.default_rng(seed)
    nb, tol = 6, 1e-9
    a = int(rng.integers(0, 1 << nb))
    lam = -rng.uniform(0.1, 2.0, nb)          # stable, then possibly one spoiled
    if seed % 3:
        lam[rng.integers(nb)] = [tol / 2, -tol / 2, 0.3, -tol][seed % 4]
    wyB = np.array([-v if (a >> u) & 1 else v for u, v in enumerate(lam)])
    assert _rates_all_stable(wyB, a, nb, tol) == bool(np.all(lam < -tol))


def test_interior_stable_passes_nan_and_reads_only_k_entries():
    from dynsys._kernels.fixed_points_incremental import _interior_stable

    assert _interior_stable(np.array([-1.0, -2.0, 5.0]), 2, 1e-9)
    assert not _interior_stable(np.array([-1.0, -1e-12]), 2, 1e-9)
    assert _interior_stable(np.array([np.nan, -1.0]), 2, 1e-9)
    assert _interior_stable(np.array([3.0]), 0, 1e-9)


def _inertia_case(seed, k):
    from dynsys._kernels._linalg import minor_tables, principal_minors

    rng = np.random.default_rng(seed)
    n = k + 2
    W = rng.standard_normal((n, n))
    ii = np.sort(rng.choice(n, k, replace=False)).astype(np.int64)
    n_sub = 1 << k
    mloc, lowb, pcnt = np.empty(n_sub), np.empty(n_sub, np.int64), np.empty(n_sub, np.int64)
    minor_tables(principal_minors(W), ii, n_sub, mloc, lowb, pcnt)
    d = rng.uniform(0.01, 0.25, k)
    return W[np.ix_(ii, ii)], d, (n_sub, np.empty(n_sub), lowb, pcnt, mloc)


@pytest.mark.parametrize("in_box", [False, True])
@pytest.mark.parametrize("k", [3, 4, 6])
def test_routh_inertia_counts_the_unstable_eigenvalues_and_multipliers(k, in_box):
    from dynsys._kernels.fixed_points_incremental import _routh_inertia

    conclusive = 0
    for seed in range(25):
        WII, d, tables = _inertia_case(seed, k)
        bufs = [np.empty(k + 1) for _ in range(2)] + [np.empty(k // 2 + 2) for _ in range(3)]
        coef, mcoef, rw0, rw1, rw2 = bufs
        nr, map_pos = _routh_inertia(d, k, *tables, coef, in_box, 1e-9, mcoef, rw0, rw1, rw2)
        lam = np.linalg.eigvals(np.diag(d) @ WII)
        if nr < 0:
            continue
        conclusive += 1
        assert nr == int(np.sum(lam.real > 0))
        assert map_pos == (int(np.sum(np.abs(1.0 + lam) > 1.0)) if in_box else 0)
    assert conclusive >= 20


@pytest.mark.parametrize("nr", [-1, 0, 2])
@pytest.mark.parametrize("in_box", [False, True])
def test_tally_point_uses_the_routh_counts_or_the_eigenvalues(nr, in_box):
    from dynsys._kernels import _common as C
    from dynsys._kernels.fixed_points_incremental import _tally_point

    k, n, tol = 3, 5, 1e-9
    WII, d, _ = _inertia_case(4, k)
    lam = np.linalg.eigvals(np.diag(d) @ WII)
    if nr < 0:  # from the eigenvalues
        ipos, ineg = int(np.sum(lam.real > tol)), int(np.sum(lam.real < -tol))
        mpos = int(np.sum(np.abs(1 + lam) > 1 + tol))
        mneg = int(np.sum(np.abs(1 + lam) < 1 - tol))
    else:       # from the Routh counts, here with map_pos = 1
        ipos, ineg, mpos, mneg = nr, k - nr, 1, k - 1
    want = np.zeros(C.table_width(n), np.int64)
    C.tally_labels(want, n, in_box, 1, 1, 0, ipos, ineg, k - ipos - ineg,
                   *((mpos, mneg, k - mpos - mneg) if in_box else (0, 0, 0)))
    got = np.zeros(C.table_width(n), np.int64)
    M, work, wr, wi = np.empty((k, k)), np.empty((k, k)), np.empty(k), np.empty(k)
    _tally_point(got, n, in_box, nr, 1, d, WII.copy(), k, M, wr, wi, work, 1, 1, 0, tol)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("driven", [False, True])
@pytest.mark.parametrize("refresh", [2, 64])
@pytest.mark.parametrize("want_in_box,want_stable", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("seed", range(3))
def test_next_survivor_walks_every_passing_pattern_in_gray_order(seed, want_in_box,
                                                                  want_stable, refresh, driven):
    """With a drive every pattern's sums start from the offsets y0, g0 (zeros without)."""
    from dynsys._kernels.fixed_points_incremental import (
        LOW_BITS, _next_survivor, _prune_buffers, _prune_tables, _transposed_maps)

    k, nb, tol = 3, LOW_BITS + 3, 1e-9
    n = k + nb
    rng = np.random.default_rng(seed)
    Cm = np.zeros((n, n))
    Cm[:k, :nb] = rng.standard_normal((k, nb)) * 0.3 + 0.1
    G = np.zeros((n, n))
    # winner-take-all-like rates: many patterns have every rate of the right sign
    G[:nb, :nb] = 1.5 * np.eye(nb) - 0.5 + 0.2 * rng.standard_normal((nb, nb))
    y0, g0 = np.zeros(n), np.zeros(n)
    if driven:
        y0[:k] = rng.uniform(-0.3, 0.3, k)
        g0[:nb] = rng.uniform(-0.4, 0.4, nb)
    CmT, GT = np.empty((n, n)), np.empty((n, n))
    _transposed_maps(Cm, G, k, nb, CmT, GT)
    yneg, ypos, yabs, gneg, gpos, gabs, RL, YL, hh, yh, gslack, yslack = _prune_buffers(n)
    m = _prune_tables(k, nb, Cm, G, CmT, GT, y0, g0, yneg, ypos, yabs, gneg, gpos, gabs,
                      gslack, yslack, YL, RL)
    assert m == LOW_BITS
    found, state = [], (1 << m, -1, 0)
    while True:
        a, *state = _next_survivor(*state, m, k, nb, refresh - 1, Cm, G, CmT, GT, y0, g0, hh,
                                   yh, RL, YL, yneg, ypos, yslack, gneg, gpos, gslack, tol,
                                   want_in_box, want_stable)
        if a < 0:
            break
        found.append(a)
    gray = [s ^ (s >> 1) for s in range(1 << nb)]

    def keeps(a, *slacks):
        return _passes(g0[:nb] + _brute_sums(G[:nb, :nb], a, nb),
                       y0[:k] + _brute_sums(Cm[:k, :nb], a, nb), a,
                       tol, want_in_box, want_stable, *slacks)

    exact = [a for a in gray if keeps(a)]
    loose = [a for a in gray if keeps(a, gslack[:nb], yslack[:k])]
    assert 0 < len(exact) and len(found) < len(gray)  # the walk both keeps and prunes
    assert set(exact) <= set(found) <= set(loose)
    assert found == [a for a in gray if a in set(found)]  # in Gray order, each once
