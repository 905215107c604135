"""analysis.census: the per-class census summary against the census it is built from."""

import numpy as np
import pytest

import dynsys
from analysis.census import (
    compute_census_section,
    plot_census_end_states,
    plot_census_status,
    plot_saddle_eigenvalues,
    plot_settled_fraction,
    settled_fraction,
)


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
