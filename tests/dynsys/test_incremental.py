"""The incremental pattern walk against today's enumeration kernel and a slow readable twin."""

import numpy as np
import pytest

from dynsys import count_fixed_points, fixed_points
from dynsys._incremental import count_incremental, fixed_points_incremental, prepare
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
    got = count_incremental(W, classify_out_of_box=True)
    assert got.as_dict() == ref.as_dict()


@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_in_box_count_equals_todays_count(name, W):
    ref = count_fixed_points(W, classify_out_of_box=True)
    got = count_incremental(W)
    assert _box_fields(got) == _box_fields(ref)
    assert got.total == ref.total and got.out_of_box == ref.out_of_box
    # out-of-box points are counted, not labelled: no zeros that read as labels
    assert got.by_stability_out_of_box is None and got.unstable_dim_out_of_box is None
    assert got.by_stability is None and not got.out_of_box_classified


@pytest.mark.parametrize("seed", range(4))
def test_n12_exact_agreement(seed):
    W = np.random.default_rng(100 + seed).standard_normal((12, 12)) * (0.5 + seed) / np.sqrt(12)
    if seed < 3:
        assert (_box_fields(count_incremental(W))
                == _box_fields(count_fixed_points(W, classify_out_of_box=True)))
    else:
        assert (count_incremental(W, classify_out_of_box=True).as_dict()
                == count_fixed_points(W, classify_out_of_box=True).as_dict())


@pytest.mark.parametrize("n,seed", [(3, 0), (4, 1), (5, 2), (6, 3)])
def test_matches_slow_twin(n, seed):
    W = np.random.default_rng(seed).standard_normal((n, n)) * 2.0 / np.sqrt(n)
    ref = reference_counts(W)
    got = count_incremental(W)
    assert got.total == ref["total"]
    assert got.in_box == ref["in_box"] and got.out_of_box == ref["out_of_box"]
    assert dict(got.by_stability_in_box) == ref["flow_in"]
    assert dict(got.map_by_stability_in_box) == ref["map_in"]
    assert got.unstable_dim_in_box.tolist() == ref["udim_in"]
    assert got.n_degenerate == ref["n_singular"] == 0


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
    assert (count_incremental(W, refresh=refresh).as_dict()
            == count_incremental(W).as_dict())


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
    got = fixed_points_incremental(W, only=only)
    for field in ("points", "patterns", "eigenvalues", "stability", "map_stability",
                  "multiplicity", "unstable_dim", "in_box"):
        np.testing.assert_array_equal(getattr(got, field), getattr(ref, field), err_msg=field)
    np.testing.assert_array_equal(got.degenerate.patterns, ref.degenerate.patterns)
    assert got.degenerate.n_continuum == ref.degenerate.n_continuum
    assert got.degenerate.n_no_solution == ref.degenerate.n_no_solution


def test_stable_filter_beyond_the_full_listing_limit():
    W = np.random.default_rng(2).standard_normal((14, 14)) / np.sqrt(14)
    got = fixed_points_incremental(W, only="stable_in_box")
    ref = count_incremental(W)
    assert len(got) == ref.stable_in_box
    assert np.all(got.in_box) and np.all(got.stability == "stable")


def test_tolerances_are_those_of_count_fixed_points():
    W = np.random.default_rng(4).standard_normal((6, 6)) * 3.0
    _, tols, _ = prepare(W)
    ref = count_fixed_points(W, classify_out_of_box=True)
    assert tols == ref.tolerances
    got = count_incremental(W)
    assert got.tolerances == ref.tolerances
    # a stored value passed back reproduces the counts; a wide zero band changes them
    assert count_incremental(W, **got.tolerances).as_dict() == got.as_dict()
    wide = count_incremental(W, zero_tol=10.0)
    assert wide.by_stability_in_box["non-hyperbolic"] == wide.in_box
    assert (_box_fields(wide)
            == _box_fields(count_fixed_points(W, zero_tol=10.0, classify_out_of_box=True)))


def test_validation_messages():
    with pytest.raises(ValueError, match="`refresh` must be a power of 2"):
        count_incremental(np.eye(2), refresh=3)
    with pytest.raises(ValueError, match="N <= 24"):
        prepare(np.zeros((25, 25)))
    with pytest.raises(ValueError, match="`W`"):
        count_incremental(np.ones((2, 3)))
    with pytest.raises(ValueError, match="filter above N = 13"):
        fixed_points_incremental(np.zeros((14, 14)))
    with pytest.raises(ValueError, match="`only`"):
        fixed_points_incremental(np.eye(2), only="saddle")
