"""Each analysis on a small case with a known answer."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import analysis as A
import dynsys


def _labels(C, per):
    return np.repeat(np.arange(C), per)


# ---------------------------------------------------------------- Fig. 2
def test_settling_layer_rules():
    assert A.settling_layer([0.5, 0.2, 0.001, 0.0005], 0.01) == 3
    assert A.settling_layer([0.001, 0.001], 0.01) == 1
    assert A.settling_layer([0.001, 0.5], 0.01) is None


def test_residual_stats_geometric_convergence_is_exact():
    # y_b(t) = y* + (y0_b - y*) 2^-t: the spread across samples halves every layer,
    # so std_all(t) = std_all(0) 2^-t and the settling layer is known in closed form.
    rng = np.random.default_rng(0)
    B, T, N = 60, 30, 5
    ystar = np.full(N, 0.3)
    y0 = rng.uniform(0, 1, (B, N))
    t = np.arange(1, T + 1)
    Y = ystar + (y0 - ystar)[None, :, :] * 0.5 ** t[:, None, None]
    res = A.compute_residual_stats({"resnet_shared": Y}, _labels(3, 20), spread_tol=0.01)
    st = res.networks["resnet_shared"]
    s0 = y0.std(axis=0).mean()
    np.testing.assert_allclose(st.std_all, s0 * 0.5 ** t, rtol=1e-8)
    expected = int(np.argmax(s0 * 0.5 ** t < 0.01)) + 1
    assert st.settle_layer == expected
    assert st.converged
    np.testing.assert_allclose(st.step[1:], np.abs(y0 - ystar).mean() * 0.5 ** t[1:], rtol=1e-8)
    assert isinstance(A.plot_residual_stats(res), Figure)


def test_residual_stats_oscillation_is_not_converged_and_layers_subset():
    B, T, N = 20, 10, 3
    Y = np.empty((T, B, N))
    Y[0::2] = 0.2
    Y[1::2] = 0.8
    lab = _labels(2, 10)
    res = A.compute_residual_stats({"mlp": Y}, lab)
    assert not res.networks["mlp"].converged
    assert res.networks["mlp"].final_step == pytest.approx(0.6)
    # recording only some layers of a longer run: layer numbers are carried through
    lay = np.array([1, 2, 5, 50, 99, 100])
    Z = np.zeros((6, B, N))
    Z[:2] = np.linspace(0, 1, B)[None, :, None]
    res = A.compute_residual_stats({"resnet_shared": Z}, lab, layers={"resnet_shared": lay})
    st = res.networks["resnet_shared"]
    assert st.n_layers == 100 and st.settle_layer == 5
    assert st.converged  # the last two recorded layers are consecutive and equal


# ---------------------------------------------------------------- Fig. 3
def test_classifier_neurons_known_winner():
    C, per, T, N = 4, 5, 6, 8
    K = np.zeros((C, N))
    K[np.arange(C), np.arange(C) + 2] = 1.0  # class c weighs neuron c + 2
    lab = _labels(C, per)
    Y = np.full((T, per * C, N), 0.1)
    for c in range(C):
        Y[:, lab == c, c + 2] = 0.9
    res = A.compute_classifier_neurons(K, Y, np.zeros((per * C, N)), lab)
    assert res.neurons == (2, 3, 4, 5)
    assert res.n_match == C and res.mismatched_classes == ()
    np.testing.assert_allclose(np.diag(res.final_cumulative), 0.9 * T)
    # make class 1 drive neuron 2 hardest instead: exactly one miss
    Y[:, lab == 1, 2] = 0.95
    res = A.compute_classifier_neurons(K, Y, np.zeros((per * C, N)), lab)
    assert res.mismatched_classes == (1,)


# ---------------------------------------------------------------- Fig. 4
def test_noise_sweep_known_ratio_and_onset():
    # identity "network": h = x, so the ratio is |xi| / |x| with E|xi|^2 = D a^2 / 3.
    D = 400
    X = np.ones((50, D))
    lab = np.zeros(50, dtype=int)
    margin = 0.5

    def identity(x):
        logits = np.stack([np.full(len(x), margin), x[:, 0] - 1.0], axis=1)
        return x, logits  # class 1 wins once the noise on x_0 exceeds the margin

    res = A.compute_noise_sweep({"mlp": identity, "resnet_shared": identity}, X, lab,
                        [0.01, 0.1, 0.4, 1.0], n_realizations=4, seed=1)
    cv = res.curves["mlp"]
    np.testing.assert_allclose(cv.nsr, np.array([0.01, 0.1, 0.4, 1.0]) / np.sqrt(3), rtol=0.05)
    assert cv.clean_accuracy == 1.0
    assert cv.accuracy[0] == 1.0 and cv.accuracy[-1] < 0.9
    assert cv.onset == 1.0
    assert np.all(np.diff(cv.cosine) < 0)
    assert res.mlp_lower_nsr_below == 0.0  # equal curves: never strictly lower
    assert A.misclassification_onset([0.1, 1], [0.99, 0.99], 0.99) is None


# ---------------------------------------------------------------- Fig. 5
def test_class_residuals_known_means():
    lab = _labels(3, 4)
    Y = np.zeros((12, 10))
    Y[lab == 1, 0] = 1.0  # class 1 differs from the others in one neuron
    res = A.compute_class_residuals({"resnet_shared": Y}, lab)
    cr = res.networks["resnet_shared"]
    assert cr.within_std == 0.0
    assert cr.frac_dims_differ == pytest.approx(0.1)
    assert cr.n_distinct_states == 2 and cr.state_of_class == (0, 1, 0)
    assert A.count_distinct_states([[0, 0], [0, 0.001], [1, 1]], 0.01) == (2, (0, 0, 1))


# ---------------------------------------------------------------- Fig. 6
def _clustered(C=3, per=8, D=12, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.eye(C, D) * 5
    lab = _labels(C, per)
    return centers[lab] + jitter * rng.normal(size=(C * per, D)), lab


def test_identical_inputs_cosine_one_distance_zero():
    X, lab = _clustered()
    cos = A.compute_class_cosine_similarity({"a": X}, lab)
    np.testing.assert_allclose(cos.matrices["a"], np.eye(3), atol=1e-12)
    assert cos.diag_is_row_max["a"] and cos.contrast["a"] == pytest.approx(1.0)
    d = A.compute_trajectory_distances(X.reshape(len(X), 3, 4).transpose(1, 0, 2), lab)
    np.testing.assert_allclose(np.diag(d.class_distance), 0.0, atol=1e-6)
    np.testing.assert_allclose(d.class_distance[0, 1], 5 * np.sqrt(2))
    assert d.ratio == pytest.approx(0.0, abs=1e-6) and d.n_rows_diag_min == 3


def test_embedding_separates_clusters():
    X, lab = _clustered(jitter=0.1)
    emb = A.compute_trajectory_embedding({"traj": X}, lab, method="pca")
    assert emb.knn_accuracy["traj"] == 1.0
    assert emb.silhouette["traj"] > 0.8
    with pytest.raises(ValueError):
        A.compute_trajectory_embedding({"traj": X}, lab, method="nope")


# ---------------------------------------------------------------- Sect. 6
def test_jacobian_small_positive_eigenvalue_is_index1_saddle():
    # at y = 1/2 the first term of J vanishes: J = W / 4, eigenvalues w_ii / 4.
    W = np.diag([-1.0, -2.0, 0.08])
    Y = np.full((4, 3), 0.5)
    res = A.compute_jacobian_at_class_means(W, Y, [0, 0, 1, 1])
    for cj in res.per_class:
        np.testing.assert_allclose(np.sort(cj.eigenvalues.real), [-0.5, -0.25, 0.02])
        assert cj.type_at_mean == "saddle (index 1)" and cj.small_positive
        assert cj.converged and cj.residual_norm < 1e-9
    assert res.index1_small_classes == (0, 1)


# ---------------------------------------------------------------- appendix A
def test_sensitivity_diagonal_closed_form():
    rng = np.random.default_rng(0)
    N, T, B = 4, 12, 3
    w = rng.uniform(-2, 3, N)
    Y = rng.uniform(0.05, 0.95, (T, B, N))
    K = rng.normal(size=(2, N))
    net = dynsys.Network(np.diag(w), K=K)
    res = A.compute_layer_sensitivity(net, Y, s1=4, s2=10)
    per_layer = np.log10(np.abs(1 + Y * (1 - Y) * w)).sum(axis=2)  # (T, B)
    expected = np.cumsum(per_layer[::-1], axis=0)[::-1]
    np.testing.assert_allclose(res.log10_det, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.log10_ratio, (expected[3] - expected[9]).mean())
    # ||K M'(1)||_F from the explicit diagonal product
    M1 = np.prod(1 + Y * (1 - Y) * w, axis=0)  # (B, N)
    fro = np.mean([np.linalg.norm(K * M1[b]) for b in range(B)])
    assert res.frob_S[0] == pytest.approx(fro)
    # per-layer weights equal to the shared one give the same answer
    res2 = A.compute_layer_sensitivity(
        dynsys.Network(np.broadcast_to(np.diag(w), (T, N, N)), K=K), Y)
    np.testing.assert_allclose(res2.log10_det, res.log10_det)
    with pytest.raises(ValueError):
        A.compute_layer_sensitivity(net, Y, s1=10, s2=4)
    assert isinstance(A.plot_layer_sensitivity(res), Figure)


# ---------------------------------------------------------------- Sect. 7, 002
def test_adaptive_depth_summary_and_perturbation_slope():
    runs = [A.DepthRun("resnet_shared", (15, 12, 8, 5), 0.02, 0.021, 15),
            A.DepthRun("resnet_variable", (15, 9, 3), 0.03, 0.02, 15)]
    res = A.compute_adaptive_depth(runs)
    assert res.runs["resnet_shared"].final_depth == 5
    assert res.runs["resnet_variable"].error_change == pytest.approx(0.01)
    d = np.array([2, 4, 8, 16, 32])
    p = A.compute_perturbation_slope(d, 3.0 / d, 0.5 * np.ones(5))
    assert p.slope == pytest.approx(-1.0) and p.r2 == pytest.approx(1.0)
    with pytest.raises(ValueError):
        A.compute_perturbation_slope([1], [1])


# ---------------------------------------------------------------- exact picture
def test_exact_picture_positive_weights_single_attractor():
    # All entries of W positive: (W y)_i > 0 in the open cube, every residual rises to 1.
    # The only stable in-box fixed point is the corner (1, ..., 1); it attracts everything.
    rng = np.random.default_rng(0)
    n = 5
    W = 2 * np.eye(n) + rng.uniform(0.01, 0.1, (n, n))
    X = rng.uniform(0, 1, (30, n))
    lab = _labels(3, 10)
    K = rng.normal(size=(3, n))
    net = dynsys.Network(W, np.zeros(n), K=K, c=np.zeros(3))
    res = A.compute_exact_picture(net, X, lab, trained_depth=5, long_depth=200, n_basin=200)
    assert res.n_fixed_points == 3 ** n - 2 ** n + 1
    np.testing.assert_allclose(res.stable_points, np.ones((1, n)))
    assert res.stable_flow == (True,)
    assert res.basin_fraction[0] == pytest.approx(1.0)
    assert res.n_endpoints_used == 1
    assert res.acc_endpoint == pytest.approx(1 / 3)
    np.testing.assert_array_equal(res.class_endpoint_counts[:, 0], [10, 10, 10])
    assert isinstance(A.plot_exact_picture(res), Figure)


# ---------------------------------------------------------------- compute / plot
def test_every_plot_draws_its_compute_result():
    lab = _labels(3, 6)
    rng = np.random.default_rng(3)
    Y = rng.uniform(0.1, 0.9, (5, 18, 4))
    K = rng.normal(size=(3, 4))
    results = {
        "plot_classifier_neurons": A.compute_classifier_neurons(K, Y, np.zeros((18, 4)), lab),
        "plot_class_residuals": A.compute_class_residuals({"resnet_shared": Y[-1]}, lab),
        "plot_trajectory_embedding": A.compute_trajectory_embedding({"y": Y}, lab),
        "plot_class_cosine_similarity": A.compute_class_cosine_similarity({"a": Y[-1]}, lab),
        "plot_trajectory_distances": A.compute_trajectory_distances(Y, lab),
        "plot_jacobian_at_class_means": A.compute_jacobian_at_class_means(
            np.diag([-1.0, -2.0, 0.08, -0.5]), Y[-1], lab),
        "plot_noise_sweep": A.compute_noise_sweep(
            {"mlp": lambda x: (x, x[:, :3])}, Y[-1], lab, [0.1, 1.0], n_realizations=1),
        "plot_adaptive_depth": A.compute_adaptive_depth(
            [A.DepthRun("resnet_shared", (15, 5), 0.02, 0.02, 15)]),
        "plot_perturbation_slope": A.compute_perturbation_slope([2, 4, 8], [1.0, 0.5, 0.3]),
    }
    for name, res in results.items():
        assert isinstance(getattr(A, name)(res), Figure), name


def test_compute_path_imports_no_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, analysis as A\n"
        "lab = np.repeat(np.arange(2), 4)\n"
        "Y = np.random.default_rng(0).uniform(0.1, 0.9, (3, 8, 5))\n"
        "A.compute_residual_stats({'mlp': Y}, lab)\n"
        "A.compute_class_residuals({'mlp': Y[-1]}, lab)\n"
        "A.compute_trajectory_distances(Y, lab)\n"
        "A.compute_jacobian_at_class_means(np.eye(5) * -1.0, Y[-1], lab)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_results_are_frozen_with_read_only_arrays():
    lab = _labels(2, 5)
    Y = np.random.default_rng(1).uniform(0.1, 0.9, (4, 10, 3))
    res = A.compute_residual_stats({"mlp": Y}, lab)
    with pytest.raises(Exception):
        res.spread_tol = 1.0
    with pytest.raises(ValueError):
        res.networks["mlp"].std_all[0] = 1.0
    assert len(repr(res)) < 300


def test_reprs_are_short_for_ten_classes():
    lab = _labels(10, 4)
    Y = np.random.default_rng(2).uniform(0.1, 0.9, (15, 40, 8))
    results = [
        A.compute_jacobian_at_class_means(np.diag(-np.arange(1.0, 9)), Y[-1], lab),
        A.compute_classifier_neurons(np.eye(10, 8), Y, np.zeros((40, 8)), lab),
        A.compute_noise_sweep({"mlp": lambda x: (x, x[:, :3])}, Y[-1], lab,
                              np.logspace(-3, 1, 13), n_realizations=1),
        A.compute_class_residuals({"resnet_shared": Y[-1], "mlp": Y[-1]}, lab),
        A.PROFILES["full"],
        A.build_claims(dataset="digits", errors={})[0],
    ]
    for res in results:
        assert len(repr(res)) < 300, type(res).__name__
