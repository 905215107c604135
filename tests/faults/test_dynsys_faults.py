"""Fault suite, dynsys: eq. 3's maths never answers for an MLP network; counts account for
every pattern; messages and readouts say what to pass; the census assigns the inputs that
creep to a non-hyperbolic point.

Each ``test_fault_*`` replays a fault that was observed (it failed before the fix); each
``test_refused_*`` pins a bad input that was already refused, so that it stays refused.
"""

import json

import numpy as np
import pytest

import dynsys

N = 3
W = np.array([[0.5, -2.0, 1.0], [1.5, 0.2, -1.0], [-0.7, 1.1, 0.3]])
Y = np.full(N, 0.4)

#: Every public function whose maths is eq. 3 (or the ResNet layer map built on it), with
#: the arguments after the system. The how-to "Analyse your own network" lists the same.
EQ3 = {
    "fixed_points": (dynsys.fixed_points, ()),
    "count_fixed_points": (dynsys.count_fixed_points, ()),
    "refine_fixed_point": (dynsys.refine_fixed_point, (Y,)),
    "spectrum_at": (dynsys.spectrum_at, (Y,)),
    "basins": (lambda net: dynsys.basins(net, n_samples=4), ()),
    "vector_field": (dynsys.vector_field, (Y,)),
    "jacobian": (dynsys.jacobian, (Y,)),
    "layer_map": (dynsys.layer_map, (Y,)),
    "layer_map_jacobian": (dynsys.layer_map_jacobian, (Y,)),
    "residual_map": (dynsys.residual_map, (Y,)),
    "residual_map_jacobian": (dynsys.residual_map_jacobian, (Y,)),
    "as_system": (dynsys.as_system, ()),
    "ResidualSystem.from_matrix": (dynsys.ResidualSystem.from_matrix, ()),
    "symbolic_system": (lambda net: dynsys.symbolic_system(net, n=N), ()),
}


@pytest.mark.parametrize("name", sorted(EQ3))
def test_fault_eq3_functions_refuse_an_mlp_network(name):
    func, args = EQ3[name]
    mlp = dynsys.Network(W, kind="mlp")
    with pytest.raises(ValueError) as err:
        func(mlp, *args)
    message = str(err.value)
    assert message.startswith("`W` must be a ResNet network (kind 'resnet')"), message
    assert "eq. 6" in message and "kind 'mlp'" in message
    func(dynsys.Network(W), *args)  # the same weights as a ResNet, and as a bare array
    func(W, *args)


def test_fault_fixed_points_and_refine_agree_on_an_mlp():
    mlp = dynsys.Network(W, kind="mlp")
    messages = []
    for call in (lambda: dynsys.fixed_points(mlp), lambda: dynsys.refine_fixed_point(mlp, Y)):
        with pytest.raises(ValueError) as err:
            call()
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_mlp_networks_still_run_where_the_maths_is_theirs():
    mlp = dynsys.Network(W, b=np.zeros(N), kind="mlp")
    assert dynsys.iterate(mlp, Y, 5).y.shape == (5, N)
    assert dynsys.integrate(mlp, Y, [0.0, 1.0]).kind == "mlp"


def test_refused_shapes_nan_and_per_layer():
    with pytest.raises(ValueError, match="`W`"):
        dynsys.fixed_points(np.zeros((2, 3)))
    bad = W.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="`W`"):
        dynsys.fixed_points(bad)
    with pytest.raises(ValueError, match="last_layer"):
        dynsys.fixed_points(dynsys.Network(np.stack([W, W])))
    with pytest.raises(ValueError, match="`y`"):
        dynsys.vector_field(W, np.zeros(N + 1))


# ---- count_fixed_points: every point that is not counted is accounted for ----------------


def _gaussian(n, seed):
    return np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)


#: Gaussian W, N = 12, seed 1056: one pattern's point has an interior coordinate 5e-10 from
#: the face, within face_tol (1e-9) of the corner at the neighbouring pattern. The count was
#: one short of 3^N - 2^N + 1 with every degenerate counter 0 (at N = 20, seed 32: twelve).
MERGED = (12, 1056)


def test_fault_count_says_where_the_missing_points_went():
    n = MERGED[0]
    Wg = _gaussian(*MERGED)
    listed = dynsys.fixed_points(Wg)
    for c in (dynsys.count_fixed_points(Wg),
              dynsys.count_fixed_points(Wg, classify_out_of_box=True), listed.counts()):
        assert c.n_degenerate == 0 and c.total < c.generic_total
        assert c.n_merged == c.generic_total - c.total
        assert c.n_origin_copies == 2**n - 1
        assert (c.total + c.n_origin_copies + c.n_merged + c.n_no_solution + c.n_continuum
                == c.n_patterns == 3**n)
    # the merged points are distinct: with a face_tol below their distance they are counted
    fine = dynsys.count_fixed_points(Wg, face_tol=1e-10)
    assert (fine.total, fine.n_merged) == (fine.generic_total, 0)
    # the listing shows each as a multiplicity of the point it was merged into
    assert int(listed.multiplicity.sum()) == len(listed) + 2**n - 1 + listed.n_merged


def test_fault_count_command_shows_the_merged_points(resdyn, tmp_path):
    path = tmp_path / "W.npy"
    np.save(path, _gaussian(*MERGED))
    c = dynsys.count_fixed_points(_gaussian(*MERGED))
    done = resdyn("fixed-points", path, "--count")
    assert done.returncode == 0, done.stderr
    assert f"merged patterns: {c.n_merged}." in done.stdout
    assert f"+ {c.n_merged} merged +" in done.stdout
    done = resdyn("fixed-points", path, "--count", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert summary["n_merged"] == c.n_merged >= 1
    assert summary["n_origin_copies"] == c.n_origin_copies


# ---- lyapunov: one rule for depth, one message ---------------------------------------------


def test_fault_lyapunov_depth_messages_agree():
    net = dynsys.Network(np.array([[-2.0, 1.0], [3.0, 0.5]]))
    x0 = np.array([0.1, 0.2])
    # before: ">= 0" for -1, ">= 1" for 0 and "use depth >= 2" for 1
    for depth in (-1, 0, 1):
        with pytest.raises(ValueError) as err:
            dynsys.lyapunov(net, x0, depth)
        assert str(err.value) == (
            "`depth` must be >= 2 for kind='resnet' with variable='y' (the exponents average "
            f"over T - 1 map steps, at least one); got {depth}.")
    assert dynsys.lyapunov(net, x0, 2).n_steps == 1


# ---- Network.readout of an MLP result ------------------------------------------------------


def test_fault_readout_of_an_mlp_result_names_y_final():
    rng = np.random.default_rng(0)
    mlp = dynsys.Network(rng.normal(size=(N, N)), kind="mlp", K=rng.normal(size=(2, N)))
    res = dynsys.iterate(mlp, rng.random((4, N)), 5)
    assert res.x_final is None
    with pytest.raises(ValueError, match=r"pass `res\.y_final`"):  # before: IndexError
        mlp.readout(res.x_final)
    np.testing.assert_allclose(mlp.readout(res.y_final), res.y_final @ mlp.K.T + mlp.c)


# ---- attractor_census: inputs that creep to a non-hyperbolic point -------------------------


def _creeping_network(n_inputs):
    """Two self-exciting, mutually inhibiting coordinates (the winner-take-all corners of a
    trained classifier) and six with negative self-coupling, the groups inhibiting each other:
    inputs whose winner does not emerge creep to the origin, as y ~ v / t."""
    rng = np.random.default_rng(0)
    Wc = 0.15 * rng.normal(size=(8, 8))
    np.fill_diagonal(Wc, -rng.uniform(0.5, 2.0, 8))
    Wc[0, 0] = Wc[1, 1] = 2.0
    Wc[0, 1] = Wc[1, 0] = -3.0
    Wc[2:, :2] = -1.0
    Wc[:2, 2:] = -3.0
    x0 = rng.normal(size=(n_inputs, 8)) * 2
    labels = np.where(x0[:, :2].max(axis=1) > 1.0, np.argmax(x0[:, :2], axis=1), 2)
    return dynsys.Network(Wc), x0, labels


def test_fault_census_inputs_creeping_to_the_origin_are_assigned():
    # before: two thirds of the inputs (201 of 300 in the report, at max_depth=10**6) were
    # "not converged" and unassigned: the origin's flow Jacobian is 0, so they approach it as
    # 1 / t and no per-layer test at a non-hyperbolic point ever passes, at any depth
    net, x0, labels = _creeping_network(120)
    census = dynsys.attractor_census(net, x0, 1000, labels=labels, max_depth=10**5)
    origin = np.flatnonzero(np.all(census.points == 0.0, axis=1))
    assert origin.size == 1 and census.map_stability[origin[0]] == "non-hyperbolic"
    creep = census.assignment == origin[0]
    assert creep.sum() > 60
    assert census.counts()["not converged"] == 0
    np.testing.assert_array_equal(census.algebraic, creep)
    assert np.all(census.status[creep] == "attractor")
    assert np.all(census.distance[creep] > census.distance_tol)  # never within tolerance
    rate = census.approach_rate[creep]
    assert np.all((rate > 0.5) & (rate < 1.1)) and abs(np.median(rate) - 1.0) < 0.02
    assert np.all(np.isnan(census.approach_rate[~creep]))
    np.testing.assert_array_equal(census.status_counts.sum(axis=0), np.bincount(labels))


def test_fault_census_string_labels_name_the_argument():
    net, x0, labels = _creeping_network(3)
    names = np.array(["cat", "dog", "cat"])
    # before: numpy's UFuncTypeError "did not contain a loop with signature matching types"
    with pytest.raises(ValueError) as err:
        dynsys.attractor_census(net, x0, 10, labels=names)
    assert str(err.value).startswith("`labels` must hold integer class labels 0..C-1, one "
                                     "per input (shape (3,)); got dtype <U3."), str(err.value)
    assert "np.unique(labels, return_inverse=True)[1]" in str(err.value)
    with pytest.raises(ValueError, match="^`train_labels` must hold integer class labels"):
        dynsys.attractor_census(net, x0, 10, labels=labels, train_x0=x0, train_labels=names)


def test_fault_census_table_has_a_class_column():
    # before: the classes per point were only in `resdyn census`'s own copy of the table
    from analysis.cli_census import census_tables

    net, x0, labels = _creeping_network(40)
    census = dynsys.attractor_census(net, x0, 1000, labels=labels, max_depth=10**4)
    text = census.table()
    header = next(line for line in text.splitlines() if line.startswith("point"))
    assert header.endswith("algebraic  classes (count)")
    assert "inputs by status and class:" in text
    assert f"algebraic approaches: {int(census.algebraic.sum())}" in text
    assert "classes (count)" not in dynsys.attractor_census(net, x0, 1000).table()
    assert census_tables(census, 5) == census.table(n_classes=5)  # one definition
