"""The four census-judged claims on constructed networks whose end states are known."""

import numpy as np
import pytest

import dynsys
from analysis import build_claims, compute_census_section


def _rows(**results):
    rows = build_claims(dataset="blobs", errors={}, n_classes=2, **results)
    return {r.id: r for r in rows}


@pytest.fixture(scope="module")
def winner_take_all():
    # two attractors (1, 0) and (0, 1); each class starts on its own side
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    K = np.array([[1.0, -1.0], [-1.0, 1.0]])
    rng = np.random.default_rng(0)
    u = rng.random((20, 2)) * [0.5, 0.2] + [0.5, 0.0]  # z_1 = W x > 0 > z_2 from the first layer
    x = np.concatenate([u, u[:, ::-1]])
    labels = np.repeat([0, 1], 20)
    return compute_census_section({"resnet_shared": dynsys.Network(W, K=K)}, x, labels,
                                  depth=500, trained_depth=5)


def test_few_attractors_reproduce_the_long_run_claim(winner_take_all):
    row = _rows(census=winner_take_all)["shared_long_fixed_points"]
    assert row.verdict == "reproduced"
    assert row.numbers["fraction_attractor"] == 1.0
    assert row.numbers["n_attractors"] == 2
    assert "2 attractors" in row.ours


def test_end_points_classify_as_well_as_the_readout(winner_take_all):
    # the end point determines the class here, so transients do not beat it
    row = _rows(census=winner_take_all)["transients_classify"]
    nc = winner_take_all.networks["resnet_shared"]
    assert row.numbers["accuracy_endpoint"] == pytest.approx(nc.endpoint_accuracy)
    assert row.numbers["accuracy_endpoint"] == 1.0
    assert row.verdict == "not reproduced"


def test_no_saddles_means_the_saddle_claim_fails(winner_take_all):
    row = _rows(census=winner_take_all)["jacobian_saddles"]
    assert row.verdict == "not reproduced"
    assert row.numbers["classes_at_attractors"] == [0, 1]
    assert row.numbers["classes_at_saddles"] == []


def test_mlp_two_cycle_reproduces_oscillation():
    # y -> f(-8 y + 4): the fixed point 1/2 has slope -2, so orbits settle on a 2-cycle
    net = dynsys.Network(np.array([[-8.0]]), np.array([4.0]), kind="mlp", K=np.eye(2, 1))
    x = np.linspace(0.05, 0.95, 10)[:, None]
    x = x[np.abs(x[:, 0] - 0.5) > 1e-3]
    res = compute_census_section({"mlp": net}, x, np.arange(len(x)) % 2, depth=400,
                                 trained_depth=1)
    row = _rows(census=res)["mlp_long_oscillates"]
    assert row.verdict == "reproduced"
    assert row.numbers["fraction_cycle"] == 1.0
    assert row.numbers["periods"] == [2]
