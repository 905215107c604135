"""Fixed-point statistics over random networks: reproducibility, ensembles, intervals."""

import math

import numpy as np
import pytest

import dynsys
from dynsys import FixedPointStatistics, count_fixed_points, fixed_point_statistics


def test_reproducible_and_independent_of_threads():
    a = fixed_point_statistics(5, 8, gain=2.0, seed=42)
    b = fixed_point_statistics(5, 8, gain=2.0, seed=42, workers=2)
    assert a.as_dict() == b.as_dict()
    c = fixed_point_statistics(5, 8, gain=2.0, seed=43)
    assert a.as_dict()["counts"] != c.as_dict()["counts"]


def test_samples_are_the_documented_draws():
    st = fixed_point_statistics(4, 3, gain=1.5, seed=9)
    seqs = np.random.SeedSequence(9).spawn(3)
    for s, seq in enumerate(seqs):
        W = 1.5 / math.sqrt(4) * np.random.default_rng(seq).standard_normal((4, 4))
        ref = count_fixed_points(W, classify_out_of_box=True)
        assert st.counts["total"][s] == ref.total
        assert st.counts["stable_in_box"][s] == ref.stable_in_box
        assert st.counts["map_stable_in_box"][s] == ref.map_by_stability_in_box["stable"]
        assert st.saddle_index_in_box[s].tolist() == ref.unstable_dim_in_box.tolist()


@pytest.mark.parametrize("ensemble", ["gaussian", "symmetric", "sparse"])
def test_builtin_ensembles(ensemble):
    st = fixed_point_statistics(4, 10, ensemble=ensemble, gain=2.0, density=0.5, seed=1)
    assert isinstance(st, FixedPointStatistics)
    assert st.ensemble == ensemble
    c = st.counts
    np.testing.assert_array_equal(c["total"], c["in_box"] + c["out_of_box"])
    np.testing.assert_array_equal(
        c["in_box"], c["stable_in_box"] + c["unstable_in_box"] + c["saddle_in_box"]
        + c["non_hyperbolic_in_box"])
    # the index histogram covers every in-box point; index 0 with no zero eigenvalue is stable
    np.testing.assert_array_equal(st.saddle_index_in_box.sum(axis=1), c["in_box"])
    assert np.all(st.saddle_index_in_box[:, 0] >= c["stable_in_box"])
    # every W has the 2^N corners in the box
    assert np.all(c["in_box"] >= 2**4)
    for q in st.quantities:
        assert st.ci_low[q] <= st.mean[q] <= st.ci_high[q]
    assert len(repr(st)) < 300


def test_symmetric_draws_are_symmetric():
    seen = []

    def ens(rng, n):
        W = rng.standard_normal((n, n))
        W = (W + W.T) / 2
        seen.append(W)
        return W

    st = fixed_point_statistics(3, 4, ensemble=ens, seed=0)
    assert st.ensemble == "callable" and len(seen) == 4
    assert all(np.array_equal(W, W.T) for W in seen)


def test_callable_ensemble_counts_match():
    def diagonal(rng, n):
        return np.diag(rng.uniform(0.5, 1.5, size=n))

    st = fixed_point_statistics(3, 5, ensemble=diagonal, seed=2)
    # a positive diagonal W: the corners only (an interior y_i needs w_ii y_i = 0); at a
    # coordinate at 0 the eigenvalue (W y)_i is 0, so only the all-ones corner is stable
    assert np.all(st.counts["total"] == 8) and np.all(st.counts["in_box"] == 8)
    assert np.all(st.counts["stable_in_box"] == 1)
    assert np.all(st.counts["non_hyperbolic_in_box"] == 7)


def test_intervals_normal_and_bootstrap():
    a = fixed_point_statistics(4, 30, gain=3.0, seed=5)
    b = fixed_point_statistics(4, 30, gain=3.0, seed=5, ci="bootstrap")
    x = a.counts["stable_in_box"].astype(float)
    from scipy.stats import t

    half = t.ppf(0.975, 29) * x.std(ddof=1) / math.sqrt(30)
    assert a.interval("stable_in_box") == pytest.approx((x.mean() - half, x.mean() + half))
    lo, hi = b.interval("stable_in_box")
    assert lo <= x.mean() <= hi and hi - lo == pytest.approx(2 * half, rel=0.35)
    values, freq = a.distribution("stable_in_box")
    assert freq.sum() == pytest.approx(1.0) and np.all(np.diff(values) > 0)


@pytest.mark.parametrize("classify_out_of_box", [False, True])
def test_tanh_statistics_count_each_draw_as_count_fixed_points(classify_out_of_box):
    """The same draws as the logistic ensemble, each counted as a tanh network."""
    st = fixed_point_statistics(5, 4, gain=1.5, seed=21, activation="tanh",
                                classify_out_of_box=classify_out_of_box)
    assert st.activation == "tanh"
    assert "activation='tanh'" in repr(st) and st.as_dict()["activation"] == "tanh"
    assert "tanh" in st.table()
    for s, seq in enumerate(np.random.SeedSequence(21).spawn(4)):
        W = 1.5 / math.sqrt(5) * np.random.default_rng(seq).standard_normal((5, 5))
        ref = count_fixed_points(W, activation="tanh", classify_out_of_box=classify_out_of_box)
        assert st.counts["total"][s] == ref.total == 3**5
        assert st.counts["in_box"][s] == ref.in_box
        assert st.counts["stable_in_box"][s] == ref.stable_in_box
        assert st.counts["map_stable_in_box"][s] == ref.map_by_stability_in_box["stable"]
        assert st.counts["origin_copies"][s] == ref.n_origin_copies == 0
        assert st.counts["merged"][s] == ref.n_merged
        assert st.saddle_index_in_box[s].tolist() == ref.unstable_dim_in_box.tolist()
        if classify_out_of_box:
            assert st.counts["stable"][s] == ref.by_stability["stable"]
    logistic = fixed_point_statistics(5, 4, gain=1.5, seed=21)
    assert logistic.activation == "logistic" and "activation" not in logistic.as_dict()
    assert "activation" not in repr(logistic)


def test_tanh_statistics_take_the_tolerance_in_the_network_coordinates():
    st = fixed_point_statistics(3, 3, seed=4, activation="tanh", zero_tol=1e-6)
    for s, seq in enumerate(np.random.SeedSequence(4).spawn(3)):
        W = 1.0 / math.sqrt(3) * np.random.default_rng(seq).standard_normal((3, 3))
        ref = count_fixed_points(W, activation="tanh", zero_tol=1e-6)
        assert st.counts["non_hyperbolic_in_box"][s] == ref.by_stability_in_box[
            dynsys.NON_HYPERBOLIC]


def test_out_of_box_classification_adds_quantities():
    st = fixed_point_statistics(4, 4, gain=2.0, seed=0, classify_out_of_box=True)
    np.testing.assert_array_equal(st.counts["stable"],
                                  st.counts["stable_in_box"] + st.counts["stable_out_of_box"])
    assert "stable" not in fixed_point_statistics(4, 2, seed=0).counts


def test_public_names():
    assert dynsys.fixed_point_statistics is fixed_point_statistics
    assert "FixedPointStatistics" in dynsys.__all__


@pytest.mark.parametrize("kw,err,match", [
    (dict(n=0), ValueError, "`n` must be >= 1"),
    (dict(n=3, n_samples=0), ValueError, "`n_samples` must be >= 1"),
    (dict(n=3, ensemble="uniform"), ValueError, "`ensemble` must be one of"),
    (dict(n=3, ensemble="sparse", density=1.5), ValueError, r"`density` must be in \(0, 1\]"),
    (dict(n=3, confidence=1.0), ValueError, r"`confidence` must be in \(0, 1\)"),
    (dict(n=3, ci="wilson"), ValueError, "`ci` must be one of"),
    (dict(n=3, activation="relu"), ValueError, "`activation` must be one of"),
    (dict(n=3, ensemble=lambda rng, n: np.zeros((n + 1, n + 1))), ValueError,
     r"must return an \(3, 3\) matrix"),
])
def test_validation(kw, err, match):
    kw.setdefault("n_samples", 2)
    with pytest.raises(err, match=match):
        fixed_point_statistics(**kw)


def _near_face(rng, n):
    """Gaussian W whose pattern (interior, 1, 0, ...) has y_0 = 1e-12: one merged point."""
    W = rng.standard_normal((n, n))
    W[0, 0] = abs(W[0, 0]) + 1.0
    W[0, 1] = -1e-12 * W[0, 0]
    return W


def _zero_diagonal(rng, n):
    W = rng.integers(-2, 3, size=(n, n)).astype(float)
    np.fill_diagonal(W, 0.0)
    return W


@pytest.mark.parametrize("ensemble", ["gaussian", "sparse", _near_face, _zero_diagonal])
@pytest.mark.parametrize("classify_out_of_box", [False, True])
def test_every_sample_accounts_for_every_pattern(ensemble, classify_out_of_box):
    n = 5
    st = fixed_point_statistics(n, 6, ensemble=ensemble, gain=2.0, density=0.3, seed=4,
                                classify_out_of_box=classify_out_of_box)
    c = st.counts
    np.testing.assert_array_equal(
        c["total"] + c["origin_copies"] + c["merged"] + c["no_solution"] + c["continuum"],
        3**n)
    # each sample as count_fixed_points counts its W
    for s, seq in enumerate(np.random.SeedSequence(4).spawn(6)):
        rng = np.random.default_rng(seq)
        if callable(ensemble):
            W = ensemble(rng, n)
        elif ensemble == "gaussian":
            W = 2.0 / math.sqrt(n) * rng.standard_normal((n, n))
        else:
            continue
        ref = count_fixed_points(W)
        got = tuple(int(c[q][s]) for q in ("total", "origin_copies", "merged", "no_solution",
                                           "continuum"))
        assert got == (ref.total, ref.n_origin_copies, ref.n_merged, ref.n_no_solution,
                       ref.n_continuum)
    if ensemble is _near_face:
        assert np.all(c["merged"] >= 1)
    if ensemble is _zero_diagonal:
        assert np.all(c["origin_copies"] < 2**n - 1) and np.all(c["continuum"] > 0)
    for q in ("origin_copies", "merged", "no_solution", "continuum"):
        assert q in st.quantities and q in st.table()


def test_exact_copies_are_counted_as_merged():
    st = fixed_point_statistics(3, 3, ensemble=lambda rng, n: np.diag(rng.uniform(0.5, 1.5, n)),
                                seed=2)
    # diagonal W: an interior y_i solves w_ii y_i = 0, so every pattern with an interior
    # coordinate is a corner again: 7 with no coordinate at 1 (the origin), 12 with one
    assert np.all(st.counts["origin_copies"] == 7) and np.all(st.counts["merged"] == 12)
