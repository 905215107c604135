"""analysis.census: the per-class census summary against the census it is built from."""

import numpy as np
import pytest

import dynsys
from analysis.census import (
    CensusSectionResult,
    compute_census_section,
    plot_census_end_states,
    plot_census_status,
    plot_saddle_eigenvalues,
    plot_settled_fraction,
    section_from_census,
    settled_fraction,
)

STATUSES = ("attractor", "saddle", "cycle", "not converged")


@pytest.fixture(scope="module")
def section():
    rng = np.random.default_rng(3)
    N, C, B = 6, 3, 90
    W = rng.normal(size=(N, N)) * 3.0 / np.sqrt(N)
    K = rng.normal(size=(C, N))
    nets_ = {
        "resnet_shared": dynsys.Network(W, rng.normal(size=N) * 0.1, K=K),
        "resnet_variable": dynsys.Network(rng.normal(size=(3, N, N)) * 2 / np.sqrt(N), K=K),
        "mlp": dynsys.Network(np.stack([W, -W]), kind="mlp", K=K),
    }
    x = rng.random((B, N))
    labels = rng.integers(0, C, B)
    return compute_census_section(nets_, x, labels, depth=300, max_depth=3000,
                                  trained_depth=5), nets_, x, labels


def test_summaries_match_the_census(section):
    res, nets_, x, labels = section
    assert set(res.networks) == set(nets_)
    for name, nc in res.networks.items():
        cen = nc.census
        follow = None if nets_[name].kind == "mlp" else 3000  # the MLP stops at `depth`
        ref = dynsys.attractor_census(nets_[name], x, 300, labels=labels, max_depth=follow)
        assert cen.max_depth == follow
        assert cen.status.tolist() == ref.status.tolist()
        # per-class status fractions sum to one for every class present
        present = np.bincount(labels, minlength=res.n_classes) > 0
        np.testing.assert_allclose(nc.status_fraction[:, present].sum(axis=0), 1.0)
        # the saddle arrays hold one entry per saddle-status input with a point
        n_sad = int(np.sum((cen.status == "saddle") & (cen.assignment >= 0)))
        assert nc.saddle_index.shape == nc.saddle_leading.shape == (n_sad,)
        assert np.all(nc.saddle_index >= 1) if n_sad else True
        # distinct end states per class, counted directly
        for k in range(res.n_classes):
            a = cen.assignment[(labels == k) & (cen.assignment >= 0)]
            assert nc.end_states_per_class[k] == np.unique(a).size
        assert 0.0 <= nc.readout_accuracy <= 1.0
        assert nc.settled[-1] == pytest.approx(
            np.mean(np.isin(cen.status, ("attractor", "cycle"))))
        assert np.all(np.diff(nc.settled) >= 0)
    assert len(repr(res)) < 300


def test_settled_fraction_closed_form():
    class C:  # the two fields settled_fraction reads
        status = np.array(["attractor", "saddle", "cycle", "attractor"])
        layers = np.array([10, 1000, 50, 500])

    np.testing.assert_allclose(settled_fraction(C, [1, 10, 50, 499, 500, 10_000]),
                               [0, 0.25, 0.5, 0.5, 0.75, 0.75])


def test_plots_draw(section):
    res = section[0]
    for plot in (plot_census_status, plot_census_end_states, plot_saddle_eigenvalues,
                 plot_settled_fraction):
        fig = plot(res)
        assert fig.axes


# ---- the plots of one dynsys.AttractorCensus ---------------------------------------------


@pytest.fixture(scope="module")
def census():
    """One census with labels, run directly by dynsys: 3 classes, 90 inputs, at layer 300 a
    mix of attractors, saddles and unsettled inputs at several distinct points."""
    rng = np.random.default_rng(5)
    N = 6
    net = dynsys.Network(rng.normal(size=(N, N)) * 3.0 / np.sqrt(N), rng.normal(size=N))
    x = rng.normal(size=(90, N)) * 3
    labels = rng.integers(0, 3, 90)
    cen = dynsys.attractor_census(net, x, 300, labels=labels)
    # the plots below are checked on a census that has something to show
    assert np.count_nonzero(cen.status_counts.sum(axis=1)) >= 3 and len(cen.points) >= 3
    assert np.all(np.bincount(labels, minlength=3) > 0)
    return cen, labels


def test_section_from_census_is_the_sections_summary(section):
    """A census made into a section gives the numbers compute_census_section gives it."""
    res = section[0]
    for name, nc in res.networks.items():
        one = section_from_census(nc.census, name=name)
        assert isinstance(one, CensusSectionResult) and list(one.networks) == [name]
        got = one.networks[name]
        assert one.n_classes == res.n_classes and one.depth == 300
        assert one.max_depth == nc.census.max_depth
        np.testing.assert_array_equal(got.status_fraction, nc.status_fraction)
        np.testing.assert_array_equal(got.end_states_per_class, nc.end_states_per_class)
        assert (got.n_attractors, got.n_saddles) == (nc.n_attractors, nc.n_saddles)
        np.testing.assert_array_equal(got.saddle_leading, nc.saddle_leading)
        np.testing.assert_array_equal(got.saddle_class, nc.saddle_class)
        assert np.isnan(got.readout_accuracy)  # no network, no readout
    assert list(section_from_census(res.networks["mlp"].census).networks) == ["mlp"]


def test_plot_census_status_of_a_census(census):
    cen, labels = census
    fig = plot_census_status(cen)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.containers) == len(STATUSES)
    for s, bars in zip(STATUSES, ax.containers):
        # the fraction of class k's inputs with status s, counted from the census directly
        want = [np.mean(cen.status[labels == k] == s) for k in range(3)]
        np.testing.assert_allclose([b.get_height() for b in bars], want)
        np.testing.assert_allclose([b.get_height() for b in bars],
                                   cen.status_counts[STATUSES.index(s)]
                                   / np.bincount(labels, minlength=3))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(STATUSES)
    assert ax.get_ylabel() == "fraction of inputs at layer 300"


def test_plot_census_end_states_of_a_census(census):
    cen, labels = census
    ax = plot_census_end_states(cen).axes[0]
    (bars,) = ax.containers
    want = [np.unique(cen.assignment[(labels == k) & (cen.assignment >= 0)]).size
            for k in range(3)]
    assert [b.get_height() for b in bars] == want


def test_plot_settled_fraction_and_saddles_of_a_census(census):
    cen, _ = census
    (line,) = plot_settled_fraction(cen).axes[0].get_lines()[:1]
    t = line.get_xdata()
    settled = np.isin(cen.status, ("attractor", "cycle"))
    np.testing.assert_allclose(line.get_ydata(),
                               [np.mean(settled & (cen.layers <= d)) for d in t])
    ax = plot_saddle_eigenvalues(cen).axes[0]
    sad = (cen.status == "saddle") & (cen.assignment >= 0)
    assert sad.any()
    (dots,) = ax.collections
    np.testing.assert_array_equal(np.sort(dots.get_offsets()[:, 0]),
                                  np.sort(cen.leading_eigenvalue[cen.assignment[sad]]))


def test_a_census_without_labels_is_refused(section):
    _, nets_, x, _ = section
    bare = dynsys.attractor_census(nets_["resnet_shared"], x[:10], 50)
    for plot in (plot_census_status, plot_census_end_states, plot_saddle_eigenvalues,
                 plot_settled_fraction):
        with pytest.raises(ValueError, match=r"^`result` must be a census with labels .*"
                                             r"labels=y\)"):
            plot(bare)
    with pytest.raises(ValueError, match="^`census` must be a census with labels"):
        section_from_census(bare)
    with pytest.raises(TypeError, match=r"^`result` must be a CensusSectionResult .* or a "
                                        r"dynsys.AttractorCensus .*; got dict"):
        plot_census_status({"resnet_shared": bare})
    with pytest.raises(TypeError, match="^`census` must be a dynsys.AttractorCensus; got "
                                        "CensusSectionResult"):
        section_from_census(section[0])
