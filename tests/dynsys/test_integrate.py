"""dynsys.integrate and dynsys.integrate_noise: accuracy, the noise equations, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.integrate import solve_ivp
from scipy.special import expit

import dynsys
from dynsys._system import logistic

SOLVERS = (
    dict(method="rk4", dt=0.005),
    dict(method="dp5", dt=0.01),
    dict(method="adaptive", rtol=1e-11, atol=1e-13),
)


def _reference(f, u0, t_eval):
    """scipy DOP853 at tight tolerances (rtol 1e-12, atol 1e-14)."""
    sol = solve_ivp(lambda t, u: f(u), (t_eval[0], t_eval[-1]), u0, method="DOP853",
                    t_eval=t_eval, rtol=1e-12, atol=1e-14)
    assert sol.success
    return sol.y.T


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    n = 6
    W = rng.normal(size=(n, n)) * 1.2
    b = rng.normal(size=n) * 0.5
    Y0 = rng.uniform(0.05, 0.95, size=(3, n))
    XI0 = rng.uniform(-0.05, 0.05, size=(3, n))
    return W, b, Y0, XI0


T_EVAL = np.linspace(0.0, 8.0, 17)


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_eq3_against_scipy(opts, problem):
    W, _, Y0, _ = problem
    sol = dynsys.integrate(W, Y0, T_EVAL, **opts)
    assert sol.y.shape == (T_EVAL.size, 3, 6) and sol.success
    for i in range(3):
        ref = _reference(lambda y: y * (1 - y) * (W @ y), Y0[i], T_EVAL)
        np.testing.assert_allclose(sol.y[:, i], ref, rtol=0, atol=2e-9)


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_eq6_against_scipy(opts, problem):
    W, b, Y0, _ = problem
    sol = dynsys.integrate(W, Y0, T_EVAL, kind="mlp", b=b, **opts)
    for i in range(3):
        ref = _reference(lambda y: -y + logistic(W @ y + b), Y0[i], T_EVAL)
        np.testing.assert_allclose(sol.y[:, i], ref, rtol=0, atol=2e-9)


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_eq5_against_scipy(opts, problem):
    W, _, Y0, XI0 = problem
    n = W.shape[0]

    def f(u):
        y, xi = u[:n], u[n:]
        return np.concatenate([y * (1 - y) * (W @ y),
                               y * (1 - y) * (W @ xi) + xi * (1 - 2 * y - xi) * (W @ (y + xi))])

    sol = dynsys.integrate_noise(W, Y0, XI0, T_EVAL, **opts)
    for i in range(3):
        ref = _reference(f, np.concatenate([Y0[i], XI0[i]]), T_EVAL)
        np.testing.assert_allclose(sol.y[:, i], ref[:, :n], atol=2e-9)
        np.testing.assert_allclose(sol.xi[:, i], ref[:, n:], atol=2e-9)


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_mlp_noise_exact_against_scipy(opts, problem):
    W, b, Y0, XI0 = problem
    n = W.shape[0]

    def f(u):
        y, xi = u[:n], u[n:]
        return np.concatenate([-y + logistic(W @ y + b),
                               -xi + logistic(W @ (y + xi) + b) - logistic(W @ y + b)])

    sol = dynsys.integrate_noise(W, Y0, XI0, T_EVAL, kind="mlp", b=b, **opts)
    for i in range(3):
        ref = _reference(f, np.concatenate([Y0[i], XI0[i]]), T_EVAL)
        np.testing.assert_allclose(sol.xi[:, i], ref[:, n:], atol=2e-9)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_exact_noise_is_difference_of_two_trajectories(kind, problem):
    """eq. 5 (and the exact MLP noise) integrated jointly = noisy minus clean trajectory."""
    W, b, Y0, XI0 = problem
    bias = b if kind == "mlp" else None
    kw = dict(rtol=1e-12, atol=1e-14, kind=kind, b=bias)
    joint = dynsys.integrate_noise(W, Y0, XI0, T_EVAL, **kw)
    clean = dynsys.integrate(W, Y0, T_EVAL, **kw)
    noisy = dynsys.integrate(W, Y0 + XI0, T_EVAL, **kw)
    np.testing.assert_allclose(joint.y, clean.y, atol=1e-11)
    np.testing.assert_allclose(joint.xi, noisy.y - clean.y, atol=1e-11)


def _noise_errors(kind, order, W, b, y0, d, amps, t_eval):
    errs = []
    for a in amps:
        kw = dict(kind=kind, b=b, rtol=1e-12, atol=1e-16)
        exact = dynsys.integrate_noise(W, y0, a * d, t_eval, order="exact", **kw).xi
        approx = dynsys.integrate_noise(W, y0, a * d, t_eval, order=order, **kw).xi
        errs.append(np.abs(approx - exact).max())
    return np.array(errs)


AMPS = np.array([1e-1, 3e-2, 1e-2, 3e-3, 1e-3])


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_first_and_second_order_noise_converge(kind):
    """Error of the order-k expansion against the exact noise ~ a^(k+1): slopes 2 and 3, the
    second order shrinking faster than the first."""
    rng = np.random.default_rng(3)
    n = 5
    W = rng.normal(size=(n, n)) * (2.0 if kind == "mlp" else 1.5)
    b = rng.normal(size=n) * 0.5 if kind == "mlp" else None
    y0 = rng.uniform(0.1, 0.9, n)
    d = rng.uniform(-1, 1, n)
    t_eval = np.linspace(0, 5, 11)
    e1 = _noise_errors(kind, 1, W, b, y0, d, AMPS, t_eval)
    e2 = _noise_errors(kind, 2, W, b, y0, d, AMPS, t_eval)
    s1 = np.polyfit(np.log(AMPS), np.log(e1), 1)[0]
    s2 = np.polyfit(np.log(AMPS), np.log(e2), 1)[0]
    assert 1.8 <= s1 <= 2.2
    assert 2.6 <= s2 <= 3.3
    assert np.all(e2 < e1)


def test_paper_eq7_eq8_do_not_converge_for_general_W():
    """The paper's eq. 7 and 8 expand f(Wy + xi), not f(W(y + xi)): for a general W their
    relative error against the exact MLP noise does not shrink with the amplitude."""
    rng = np.random.default_rng(3)
    n = 5
    W = rng.normal(size=(n, n)) * 2.0
    b = rng.normal(size=n) * 0.5
    y0 = rng.uniform(0.1, 0.9, n)
    d = rng.uniform(-1, 1, n)
    t_eval = np.linspace(0, 5, 11)
    for order in ("paper1", "paper2"):
        errs = _noise_errors("mlp", order, W, b, y0, d, AMPS, t_eval)
        slope = np.polyfit(np.log(AMPS), np.log(errs), 1)[0]
        assert 0.8 <= slope <= 1.2  # absolute error ~ a: relative error stays O(1)
        assert errs[-1] / AMPS[-1] > 0.01


def test_paper_eq7_eq8_equal_the_expansions_when_W_is_identity():
    """With W = I the paper's forms are the first- and second-order expansions."""
    n = 4
    W = np.eye(n)
    b = np.array([0.3, -0.2, 0.1, 0.0])
    y0 = np.array([0.2, 0.4, 0.6, 0.8])
    xi0 = np.array([0.01, -0.02, 0.015, 0.005])
    t_eval = np.linspace(0, 3, 7)
    kw = dict(kind="mlp", b=b, rtol=1e-12, atol=1e-15)
    for paper, order in (("paper1", 1), ("paper2", 2)):
        a = dynsys.integrate_noise(W, y0, xi0, t_eval, order=paper, **kw).xi
        c = dynsys.integrate_noise(W, y0, xi0, t_eval, order=order, **kw).xi
        np.testing.assert_allclose(a, c, atol=1e-14)


def _small_weights(n):
    return hnp.arrays(np.float64, (n, n), elements=st.floats(-4, 4))


@st.composite
def _residual_problems(draw):
    n = draw(st.integers(1, 5))
    W = draw(_small_weights(n))
    y0 = draw(hnp.arrays(np.float64, (3, n), elements=st.floats(1e-6, 1 - 1e-6)))
    return W, y0


def _distance_to_faces_lower_bound(W, y0, t):
    """A closed-form lower bound on the exact distance of y(t) to the faces of the cube.

    Along eq. 3, d logit(y_i)/dt = (W y)_i and |(W y)_i| <= r_i = sum_j |W_ij| inside the cube,
    so logit y_i(t) stays within logit y_i(0) -+ r_i t. Shape (len(t), B, N)."""
    r = np.abs(W).sum(axis=1)
    z0 = np.log(y0) - np.log1p(-y0)
    spread = np.asarray(t)[:, None, None] * r
    lo = expit(z0 - spread)  # smallest reachable y_i(t)
    hi_gap = expit(-(z0 + spread))  # smallest reachable 1 - y_i(t)
    return np.minimum(lo, hi_gap)


@given(_residual_problems(), st.sampled_from(["adaptive", "rk4"]))
def test_trajectories_stay_in_unit_cube(prob, method):
    """Exact trajectories of eq. 3 stay in (0, 1)^N. Numerically: strictly inside wherever the
    exact distance to a face (bounded below in closed form) exceeds the integration error, and
    outside the closed cube (whose faces are invariant) by no more than that error: rounding
    for RK4 at a small step, about the tolerance (rtol = 1e-8 near y = 1) for the adaptive
    method, whose large steps near an attractor on a face may overshoot it.

    The allowance for the adaptive method is 1e-6, a hundred times rtol, since the global error
    can exceed the local tolerance: for W = 4 (3 x 3), y0 = 0.5 the exact 1 - y(2) is about
    1e-11 and the adaptive solution rounds to 1 (pinned in the next test)."""
    W, y0 = prob
    t_eval = np.linspace(0, 40, 81)
    opts = dict(dt=0.01) if method == "rk4" else {}
    slack = 1e-12 if method == "rk4" else 1e-7
    allowance = 1e-12 if method == "rk4" else 1e-6
    sol = dynsys.integrate(W, y0, t_eval, method=method, **opts)
    assert sol.success
    far = _distance_to_faces_lower_bound(W, y0, t_eval) > allowance
    assert np.all(sol.y[far] > 0) and np.all(sol.y[far] < 1)
    assert np.all(sol.y >= -slack) and np.all(sol.y <= 1 + slack)


def test_trajectory_near_a_face_example():
    """A counterexample of the strict check, pinned: the bound says y(2) is within 1e-6 of the face,
    so it is exempt from the strict check, while y(0.5) is far from it and must be inside."""
    W = np.full((3, 3), 4.0)
    y0 = np.full((3, 3), 0.5)
    t_eval = np.array([0.0, 0.5, 2.0])
    bound = _distance_to_faces_lower_bound(W, y0, t_eval)
    assert bound[1].min() > 1e-6 and bound[2].max() < 1e-6
    sol = dynsys.integrate(W, y0, t_eval)
    assert np.all(sol.y[:2] < 1) and np.all(sol.y <= 1 + 1e-7)
    # y' = 12 y^2 (1 - y) on the diagonal: logit y grows at least 6 per unit time from 0.
    assert np.all(1 - sol.y[1] < 1.0 / (1.0 + np.exp(3.0)))


def test_result_is_frozen_and_shapes(problem):
    W, _, Y0, _ = problem
    sol = dynsys.integrate(W, Y0[0], [0.0, 1.0])
    assert sol.y.shape == (2, 6) and sol.t.shape == (2,)
    np.testing.assert_array_equal(sol.y[0], Y0[0])
    with pytest.raises(ValueError):
        sol.y[0, 0] = 1.0
    with pytest.raises(AttributeError):
        sol.method = "rk4"
    assert isinstance(sol.n_steps, int) and sol.message == "success"
    assert len(repr(sol)) < 300 and "6" in repr(sol)


def test_t0_before_first_output(problem):
    W, _, Y0, _ = problem
    a = dynsys.integrate(W, Y0, [2.0, 3.0], t0=0.0, rtol=1e-12, atol=1e-14)
    b = dynsys.integrate(W, Y0, [0.0, 2.0, 3.0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.y, b.y[1:], atol=1e-11)


def test_system_object_accepted(problem):
    W, _, Y0, _ = problem
    a = dynsys.integrate(dynsys.as_system(W), Y0, [0.0, 1.0])
    b = dynsys.integrate(W, Y0, [0.0, 1.0])
    np.testing.assert_array_equal(a.y, b.y)


def test_failure_is_reported_not_raised():
    W = np.array([[50.0]])
    with pytest.warns(RuntimeWarning, match="stopped early"):
        sol = dynsys.integrate(W, [0.5], [0.0, 10.0], method="adaptive", max_steps=3)
    assert not sol.success and sol.status == 1 and np.isnan(sol.y[-1, 0])
    assert "max_steps" in sol.message


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y0=np.zeros(3)), "`y0`"),
        (dict(y0=[0.5, np.nan]), "`y0`"),
        (dict(W=np.ones((2, 3))), "`W`"),
        (dict(W=[[np.inf, 0], [0, 1]]), "`W`"),
        (dict(t_eval=[0.0, 2.0, 1.0]), "`t_eval`"),
        (dict(t_eval=[0.0, 0.0]), "`t_eval`"),
        (dict(t_eval=[0.0, np.nan]), "`t_eval`"),
        (dict(t_eval=[[0.0, 1.0]]), "`t_eval`"),
        (dict(t_eval=[]), "`t_eval`"),
        (dict(method="rk4", dt=-0.1), "`dt`"),
        (dict(method="rk4", dt=0.0), "`dt`"),
        (dict(method="adaptive", dt=0.1), "`dt`"),
        (dict(method="euler"), "`method`"),
        (dict(kind="hopfield"), "`kind`"),
        (dict(kind="residual"), "`kind`"),
        (dict(W=[[1.0j, 0], [0, 1]]), "`W`"),
        (dict(y0=[0.3 + 1e-3j, 0.6]), "`y0`"),
        (dict(rtol=-1.0), "`rtol`"),
        (dict(rtol=1e-20), "`rtol`"),
        (dict(atol=-1.0), "`atol`"),
        (dict(b=[0.1, 0.2]), "`b`"),
        (dict(kind="mlp", b=[0.1]), "`b`"),
        (dict(kind="mlp", b=[0.1j, 0.0]), "`b`"),
        (dict(t0=5.0), "`t0`"),
        (dict(max_steps=0), "`max_steps`"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(W=[[-1.0, 2.0], [2.0, -1.0]], y0=[0.3, 0.6], t_eval=[0.0, 1.0])
    args.update(kwargs)
    W, y0, t_eval = args.pop("W"), args.pop("y0"), args.pop("t_eval")
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.integrate(W, y0, t_eval, **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(xi0=np.zeros(3)), "`xi0`"),
        (dict(xi0=np.zeros((3, 2)), y0=np.full((2, 2), 0.5)), "`xi0`"),
        (dict(order=3), "`order`"),
        (dict(order="paper1"), "`order`"),
        (dict(xi0=[np.nan, 0.0]), "`xi0`"),
    ],
)
def test_noise_bad_input_names_the_argument(kwargs, match):
    args = dict(y0=[0.3, 0.6], xi0=[0.01, 0.0])
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        dynsys.integrate_noise([[-1.0, 2.0], [2.0, -1.0]], args.pop("y0"), args.pop("xi0"),
                               [0.0, 1.0], **args)


def test_noise_broadcasts_batch():
    W = [[-1.0, 2.0], [2.0, -1.0]]
    xi0 = np.array([[0.01, 0.0], [0.0, 0.01], [0.01, 0.01]])
    sol = dynsys.integrate_noise(W, [0.3, 0.6], xi0, [0.0, 1.0])
    assert sol.y.shape == (2, 3, 2) and sol.xi.shape == (2, 3, 2)
    np.testing.assert_array_equal(sol.xi[0], xi0)


def test_noise_equations_symbolically():
    """SymPy: eq. 5 is exactly F(y + xi) - F(y) for eq. 3; the order-1/2 MLP forms are the
    Taylor polynomials of f(W(y + xi) + b) - f(W y + b) in the noise; the paper's eq. 7 and
    eq. 8 are those of f(W y + b + xi) instead (noise on the pre-activation)."""
    import sympy as sp

    n = 2
    y = sp.Matrix(sp.symbols("y1:3"))
    xi = sp.Matrix(sp.symbols("xi1:3"))
    W = sp.Matrix(n, n, sp.symbols("w11 w12 w21 w22"))

    def F(v):
        return sp.Matrix([v[i] * (1 - v[i]) * (W * v)[i] for i in range(n)])

    eq5 = sp.Matrix([y[i] * (1 - y[i]) * (W * xi)[i]
                     + xi[i] * (1 - 2 * y[i] - xi[i]) * (W * (y + xi))[i] for i in range(n)])
    assert sp.expand(eq5 - (F(y + xi) - F(y))) == sp.zeros(n, 1)

    # Taylor: f(z + d) - f(z) = f'(z) d + f''(z) d^2 / 2 + O(d^3) with f' = s(1-s) and
    # f'' = s(1-s)(1-2s), s = f(z); for the MLP d = (W xi)_i, for the paper's forms d = xi_i
    z, d, s = sp.symbols("z d s")
    f = 1 / (1 + sp.exp(-z))
    assert sp.simplify(sp.diff(f, z) - f * (1 - f)) == 0
    assert sp.simplify(sp.diff(f, z, 2) - f * (1 - f) * (1 - 2 * f)) == 0
    taylor2 = s * (1 - s) * d + s * (1 - s) * (1 - 2 * s) * d**2 / 2
    ours2 = s * (1 - s) * d * (1 + (1 - 2 * s) * d / 2)  # order=2 with d = (W xi)_i
    assert sp.expand(taylor2 - ours2) == 0
    # eq. 8 as printed, with dy/dt + y = s and d = xi_i: the same polynomial in xi_i
    x_i, ydot, y_i = sp.symbols("x_i ydot y_i")
    paper2 = x_i * (ydot + y_i) * (1 - ydot - y_i) * (1 + x_i / 2 * (1 - 2 * y_i - 2 * ydot))
    assert sp.expand(paper2.subs(ydot, s - y_i) - taylor2.subs(d, x_i)) == 0
    # eq. 7 as printed: xi (s - s^2 - 1) = -xi + f'(z) xi, the first-order term with d = xi_i
    paper1 = x_i * ((ydot + y_i) - (ydot + y_i) ** 2 - 1)
    assert sp.expand(paper1.subs(ydot, s - y_i) - (-x_i + s * (1 - s) * x_i)) == 0


def test_batch_rule_one_state_drops_the_batch_axis(problem):
    """(N,) in: no batch axis out, scalar statistics; (B, N) in, also B = 1: batch axis kept."""
    W, _, Y0, XI0 = problem
    t = [0.0, 0.5, 1.0]
    one = dynsys.integrate(W, Y0[0], t)
    b1 = dynsys.integrate(W, Y0[:1], t)
    full = dynsys.integrate(W, Y0, t)
    assert one.y.shape == (3, 6) and b1.y.shape == (3, 1, 6) and full.y.shape == (3, 3, 6)
    assert isinstance(one.status, int) and b1.status.shape == (1,)
    np.testing.assert_array_equal(one.y, b1.y[:, 0])
    np.testing.assert_array_equal(one.y, full.y[:, 0])
    assert one.n_steps == b1.n_steps[0] == full.n_steps[0]
    noise1 = dynsys.integrate_noise(W, Y0[0], XI0[0], t)
    noise_b = dynsys.integrate_noise(W, Y0[:1], XI0[:1], t)
    assert noise1.y.shape == noise1.xi.shape == (3, 6) and isinstance(noise1.n_rhs, int)
    assert noise_b.xi.shape == (3, 1, 6)
    np.testing.assert_array_equal(noise1.xi, noise_b.xi[:, 0])
    assert dynsys.integrate_noise(W, Y0[0], XI0, t).xi.shape == (3, 3, 6)
    assert len(repr(noise1)) < 300


def test_network_argument_supplies_kind_and_bias(problem):
    W, b, Y0, XI0 = problem
    t = [0.0, 1.0, 2.0]
    net = dynsys.Network(W, b=b, kind="mlp")
    a = dynsys.integrate(net, Y0, t)
    c = dynsys.integrate(W, Y0, t, kind="mlp", b=b)
    assert a.kind == "mlp"
    np.testing.assert_array_equal(a.y, c.y)
    np.testing.assert_array_equal(dynsys.integrate(net, Y0, t, kind="mlp").y, c.y)
    res = dynsys.Network(W, b=b)  # the bias drops out of eq. 3
    np.testing.assert_array_equal(dynsys.integrate(res, Y0, t).y, dynsys.integrate(W, Y0, t).y)
    na = dynsys.integrate_noise(net, Y0, XI0, t, order=1)
    nc = dynsys.integrate_noise(W, Y0, XI0, t, kind="mlp", b=b, order=1)
    np.testing.assert_array_equal(na.xi, nc.xi)
    assert na.kind == "mlp"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="resnet"), "`kind`"),
        (dict(b=[0.1, 0.2]), "`b`"),
    ],
)
def test_network_conflicting_arguments_are_refused(kwargs, match):
    net = dynsys.Network([[-1.0, 2.0], [2.0, -1.0]], b=[0.1, 0.2], kind="mlp")
    with pytest.raises(ValueError, match=match):
        dynsys.integrate(net, [0.3, 0.6], [0.0, 1.0], **kwargs)
    with pytest.raises(ValueError, match=match):
        dynsys.integrate_noise(net, [0.3, 0.6], [0.01, 0.0], [0.0, 1.0], **kwargs)


def test_per_layer_network_is_refused():
    net = dynsys.Network(np.stack([np.eye(2)] * 3))
    with pytest.raises(ValueError, match="`W`.*last_layer"):
        dynsys.integrate(net, [0.3, 0.6], [0.0, 1.0])


# ---- tanh networks: dy/dt = (1 - y^2)(W y) on [-1, 1]^N, and the MLP -y + tanh(W y + b) ----


def _tanh_flow(W):
    return lambda y: (1 - y**2) * (W @ y)


@pytest.fixture(scope="module")
def tanh_problem(problem):
    W, b, Y0, XI0 = problem
    return W, b, 2 * Y0 - 1, XI0


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_tanh_flow_and_mlp_against_scipy(opts, tanh_problem):
    W, b, Y0, _ = tanh_problem
    flow = dynsys.integrate(W, Y0, T_EVAL, activation="tanh", **opts)
    mlp = dynsys.integrate(W, Y0, T_EVAL, kind="mlp", b=b, activation="tanh", **opts)
    assert flow.success and flow.activation == "tanh" and flow.box == (-1.0, 1.0)
    for i in range(3):
        np.testing.assert_allclose(flow.y[:, i], _reference(_tanh_flow(W), Y0[i], T_EVAL),
                                   rtol=0, atol=2e-9)
        ref = _reference(lambda y: -y + np.tanh(W @ y + b), Y0[i], T_EVAL)
        np.testing.assert_allclose(mlp.y[:, i], ref, rtol=0, atol=2e-9)


@pytest.mark.parametrize("opts", SOLVERS, ids=lambda o: o["method"])
def test_tanh_noise_against_scipy(opts, tanh_problem):
    """The exact noise of both kinds against scipy on the joint system written as the
    difference of two trajectories, F(y + xi) - F(y) (no closed form shared with the kernel)."""
    W, b, Y0, XI0 = tanh_problem
    n = W.shape[0]
    for kind, F in (("resnet", _tanh_flow(W)), ("mlp", lambda y: -y + np.tanh(W @ y + b))):
        def f(u):
            y, xi = u[:n], u[n:]
            return np.concatenate([F(y), F(y + xi) - F(y)])

        sol = dynsys.integrate_noise(W, Y0, XI0, T_EVAL, kind=kind, activation="tanh",
                                     b=b if kind == "mlp" else None, **opts)
        assert sol.activation == "tanh"
        for i in range(3):
            ref = _reference(f, np.concatenate([Y0[i], XI0[i]]), T_EVAL)
            np.testing.assert_allclose(sol.y[:, i], ref[:, :n], atol=2e-9)
            np.testing.assert_allclose(sol.xi[:, i], ref[:, n:], atol=2e-9)


def test_tanh_flow_closed_form_n1_and_n2():
    """dy/dt = w (1 - y^2) y separates: y / sqrt(1 - y^2) = C e^{wt}, so
    y(t) = y0 e^{wt} / sqrt(1 - y0^2 + y0^2 e^{2wt}). A diagonal W at N = 2 is two such."""
    def closed(w, y0, t):
        e = np.exp(w * t)
        return y0 * e / np.sqrt(1 - y0**2 + y0**2 * e**2)

    t = np.linspace(0, 6, 13)
    for w, y0 in ((1.3, 0.2), (-0.7, -0.9), (2.0, -0.05), (0.5, 0.999)):
        for opts in SOLVERS:
            sol = dynsys.integrate([[w]], [y0], t, activation="tanh", **opts)
            np.testing.assert_allclose(sol.y[:, 0], closed(w, y0, t), rtol=0, atol=2e-9)
    W = np.diag([1.1, -0.6])
    y0 = np.array([-0.3, 0.8])
    sol = dynsys.integrate(W, y0, t, activation="tanh", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sol.y, np.stack([closed(1.1, -0.3, t), closed(-0.6, 0.8, t)], 1),
                               atol=1e-11)
    # the faces -1 and 1 and the origin are fixed
    for y0 in ([-1.0, 1.0], [0.0, 0.0], [1.0, -1.0]):
        np.testing.assert_array_equal(dynsys.integrate(W, y0, t, activation="tanh").y[-1], y0)
    # the MLP with W = 0: dy/dt = -y + tanh(b), y(t) = tanh(b) + (y0 - tanh(b)) e^{-t}
    b = np.array([0.4, -1.5])
    sol = dynsys.integrate(np.zeros((2, 2)), y0, t, kind="mlp", b=b, activation="tanh",
                           rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sol.y, np.tanh(b) + (y0 - np.tanh(b)) * np.exp(-t)[:, None],
                               atol=1e-11)


def test_tanh_variational_noise_at_a_face_fixed_point_is_a_matrix_exponential():
    """At a fixed point y* the order-1 noise is xi(t) = expm(J t) xi0 with
    J = diag(-2y (W y)) + diag(1 - y^2) W. For W = [[0.5, 1], [1, -2]], y* = (1, 1/2) has
    (W y*)_2 = 0, and J = [[-2 (W y*)_1, 0], [(3/4) w21, (3/4) w22]] = [[-2, 0], [3/4, -3/2]]."""
    from scipy.linalg import expm

    W = np.array([[0.5, 1.0], [1.0, -2.0]])
    y_star = np.array([1.0, 0.5])
    J = np.array([[-2.0, 0.0], [0.75, -1.5]])
    np.testing.assert_allclose(np.diag(-2 * y_star * (W @ y_star)) + np.diag(1 - y_star**2) @ W,
                               J)
    xi0 = np.array([-0.02, 0.01])
    t = np.linspace(0, 4, 9)
    sol = dynsys.integrate_noise(W, y_star, xi0, t, order=1, activation="tanh", rtol=1e-12,
                                 atol=1e-15)
    np.testing.assert_array_equal(sol.y, np.broadcast_to(y_star, sol.y.shape))
    np.testing.assert_allclose(sol.xi, np.stack([expm(J * s) @ xi0 for s in t]), atol=1e-13)


def test_tanh_is_the_driven_logistic_flow_conjugate():
    """s = (y + 1) / 2 turns the tanh flow into ds/dt = s (1 - s)(4W s - 2W1): the tanh
    trajectory is 2s - 1 of that driven logistic flow, solved here by plain scipy."""
    rng = np.random.default_rng(21)
    t = np.linspace(0, 5, 11)
    for n in (1, 2, 3):
        W = rng.normal(size=(n, n)) * 1.5
        y0 = rng.uniform(-0.95, 0.95, n)
        c = -2 * W.sum(axis=1)
        s = _reference(lambda s: s * (1 - s) * (4 * W @ s + c), (y0 + 1) / 2, t)
        sol = dynsys.integrate(W, y0, t, activation="tanh", rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sol.y, 2 * s - 1, atol=1e-10)
        np.testing.assert_allclose(sol.y, _reference(_tanh_flow(W), y0, t), atol=1e-10)


@pytest.mark.parametrize("order", ["exact", 1, 2])
def test_tanh_mlp_is_the_logistic_mlp_conjugate_to_rounding(order, tanh_problem):
    """s = (y + 1) / 2 turns dy/dt = -y + tanh(W y + b) into the logistic MLP
    ds/dt = -s + f(4W s + 2b - 2W1), and the noise xi into 2 eta (every order: f' and f''/2
    map to (1 - s^2)/4 and -s(1 - s^2)/8 times the factors 2 of the arguments). A Runge-Kutta
    method commutes with the affine change, so fixed steps agree to rounding."""
    W, b, Y0, XI0 = tanh_problem
    t = np.linspace(0, 4, 5)
    kw = dict(kind="mlp", method="rk4", dt=0.05, order=order)
    tanh = dynsys.integrate_noise(W, Y0, XI0, t, b=b, activation="tanh", **kw)
    logi = dynsys.integrate_noise(4 * W, (Y0 + 1) / 2, XI0 / 2, t,
                                  b=2 * b - 2 * W.sum(axis=1), **kw)
    np.testing.assert_allclose(tanh.y, 2 * logi.y - 1, atol=1e-13)
    np.testing.assert_allclose(tanh.xi, 2 * logi.xi, atol=1e-13)
    assert logi.activation == "logistic"


def test_tanh_exact_noise_is_difference_of_two_trajectories(tanh_problem):
    W, b, Y0, XI0 = tanh_problem
    for kind in ("resnet", "mlp"):
        kw = dict(rtol=1e-12, atol=1e-14, kind=kind, b=b if kind == "mlp" else None,
                  activation="tanh")
        joint = dynsys.integrate_noise(W, Y0, XI0, T_EVAL, **kw)
        clean = dynsys.integrate(W, Y0, T_EVAL, **kw)
        noisy = dynsys.integrate(W, Y0 + XI0, T_EVAL, **kw)
        np.testing.assert_allclose(joint.y, clean.y, atol=1e-11)
        np.testing.assert_allclose(joint.xi, noisy.y - clean.y, atol=1e-11)


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_tanh_first_and_second_order_noise_converge(kind):
    """As for the logistic: errors of orders 1 and 2 against the exact noise ~ a^2 and a^3."""
    rng = np.random.default_rng(3)
    n = 5
    W = rng.normal(size=(n, n)) * (1.0 if kind == "mlp" else 0.75)
    b = rng.normal(size=n) * 0.5 if kind == "mlp" else None
    y0 = rng.uniform(-0.8, 0.8, n)
    d = rng.uniform(-1, 1, n)
    t_eval = np.linspace(0, 5, 11)
    errs = []
    for order in (1, 2):
        e = []
        for a in AMPS:
            kw = dict(kind=kind, b=b, rtol=1e-12, atol=1e-16, activation="tanh")
            exact = dynsys.integrate_noise(W, y0, a * d, t_eval, order="exact", **kw).xi
            approx = dynsys.integrate_noise(W, y0, a * d, t_eval, order=order, **kw).xi
            e.append(np.abs(approx - exact).max())
        errs.append(np.array(e))
    s1 = np.polyfit(np.log(AMPS), np.log(errs[0]), 1)[0]
    s2 = np.polyfit(np.log(AMPS), np.log(errs[1]), 1)[0]
    assert 1.8 <= s1 <= 2.2
    assert 2.6 <= s2 <= 3.3
    assert np.all(errs[1] < errs[0])


def test_tanh_noise_equations_symbolically():
    """SymPy: the tanh exact noise is F(y + xi) - F(y) for F = (1 - y^2)(W y), orders 1 and 2
    its terms of degree 1 and 2 in xi; the MLP's order 2 is the Taylor polynomial of
    tanh(z + d) - tanh(z) (f' = 1 - s^2, f'' = -2 s (1 - s^2))."""
    import sympy as sp

    n = 2
    y = sp.Matrix(sp.symbols("y1:3"))
    xi = sp.Matrix(sp.symbols("xi1:3"))
    e = sp.Symbol("e")
    W = sp.Matrix(n, n, sp.symbols("w11 w12 w21 w22"))

    def F(v):
        return sp.Matrix([(1 - v[i] ** 2) * (W * v)[i] for i in range(n)])

    wy, wx = W * y, W * xi
    exact = sp.Matrix([(1 - y[i] ** 2) * wx[i] - xi[i] * (2 * y[i] + xi[i]) * (wy[i] + wx[i])
                       for i in range(n)])
    order1 = sp.Matrix([(1 - y[i] ** 2) * wx[i] - 2 * y[i] * xi[i] * wy[i] for i in range(n)])
    order2 = order1 + sp.Matrix([-2 * y[i] * xi[i] * wx[i] - xi[i] ** 2 * wy[i]
                                 for i in range(n)])
    diff = (F(y + xi) - F(y)).applyfunc(sp.expand)
    assert (exact.applyfunc(sp.expand) - diff).is_zero_matrix
    scaled = diff.subs({xi[i]: e * xi[i] for i in range(n)}, simultaneous=True)
    for k, approx in ((1, order1), (2, order2)):
        taylor = scaled.applyfunc(lambda x: sp.expand(x).series(e, 0, k + 1).removeO())
        assert (taylor.subs(e, 1).applyfunc(sp.expand)
                - approx.applyfunc(sp.expand)).is_zero_matrix
    assert (F(y).jacobian(y) * xi - order1).applyfunc(sp.expand).is_zero_matrix
    z, d, s = sp.symbols("z d s")
    taylor2 = sp.series(sp.tanh(z + d) - sp.tanh(z), d, 0, 3).removeO()
    ours2 = (1 - s**2) * d * (1 - s * d)  # order=2 with d = (W xi)_i
    assert sp.simplify(sp.expand(taylor2 - ours2.subs(s, sp.tanh(z)))) == 0


def test_tanh_network_records_its_activation_and_refuses_contradictions(tanh_problem):
    W, b, Y0, XI0 = tanh_problem
    t = [0.0, 1.0]
    net = dynsys.Network(W, b=b, kind="mlp", activation="tanh")
    a = dynsys.integrate(net, Y0, t)
    c = dynsys.integrate(W, Y0, t, kind="mlp", b=b, activation="tanh")
    np.testing.assert_array_equal(a.y, c.y)
    assert a.activation == "tanh" and "activation='tanh'" in repr(a)
    np.testing.assert_array_equal(dynsys.integrate(net, Y0, t, activation="tanh").y, c.y)
    na = dynsys.integrate_noise(net, Y0, XI0, t, order=2)
    assert na.activation == "tanh" and "activation='tanh'" in repr(na) and na.box == (-1, 1)
    with pytest.raises(ValueError, match="`activation`.*'tanh'"):
        dynsys.integrate(net, Y0, t, activation="logistic")
    with pytest.raises(ValueError, match="`activation`"):
        dynsys.integrate_noise(net, Y0, XI0, t, activation="logistic")
    # the logistic results read as before: no activation in the repr
    lo = dynsys.integrate(W, (Y0 + 1) / 2, t)
    assert lo.activation == "logistic" and "activation" not in repr(lo) and lo.box == (0, 1)
    # and a tanh network differs from the logistic one on the same W
    assert not np.allclose(dynsys.integrate(dynsys.Network(W), (Y0 + 1) / 2, t).y[-1],
                           (a.y[-1] + 1) / 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y0=[0.3, 1.2]), r"`y0` must lie in the tanh box \[-1, 1\]\^N.*\[0.3, 1.2\]"),
        (dict(y0=[-1.01, 0.0]), r"`y0`.*\[-1, 1\].*\[-1.01, 0\]"),
        (dict(activation="sigmoid"), "`activation`.*'sigmoid'"),
        (dict(activation="tanh", y0=[0.3, -0.2], logistic=True), r"`y0`.*\[0, 1\]"),
    ],
)
def test_tanh_bad_input_names_the_argument(kwargs, match):
    args = dict(W=[[-1.0, 2.0], [2.0, -1.0]], y0=[0.3, -0.6], t_eval=[0.0, 1.0],
                activation="tanh")
    args.update(kwargs)
    if args.pop("logistic", False):
        args["activation"] = "logistic"
    W, y0, t_eval = args.pop("W"), args.pop("y0"), args.pop("t_eval")
    with pytest.raises(ValueError, match=match):
        dynsys.integrate(W, y0, t_eval, **args)
    with pytest.raises(ValueError, match=match):
        dynsys.integrate_noise(W, y0, np.zeros(2), t_eval, **args)


def test_noise_refusals_for_tanh_and_the_noisy_start():
    W = [[-1.0, 2.0], [2.0, -1.0]]
    for order in ("paper1", "paper2"):
        with pytest.raises(ValueError, match=f"`order`='{order}'.*logistic only"):
            dynsys.integrate_noise(W, [0.3, -0.6], [0.01, 0.0], [0.0, 1.0], kind="mlp",
                                   b=[0.0, 0.0], order=order, activation="tanh")
    with pytest.raises(ValueError, match=r"`xi0`.*y0 \+ xi0.*\[-1, 1\].*1.1"):
        dynsys.integrate_noise(W, [0.9, -0.6], [0.2, 0.0], [0.0, 1.0], activation="tanh")
    with pytest.raises(ValueError, match=r"`xi0`.*\[0, 1\]"):
        dynsys.integrate_noise(W, [0.3, 0.6], [-0.5, 0.0], [0.0, 1.0])
    # orders 1 and 2 linearise: the noise is a tangent vector, not a second state
    sol = dynsys.integrate_noise(W, [0.9, -0.6], [0.2, 0.0], [0.0, 1.0], order=1,
                                 activation="tanh")
    assert sol.success


@given(_residual_problems(), st.sampled_from(["adaptive", "rk4"]))
def test_tanh_trajectories_stay_in_the_box(prob, method):
    """The faces -1 and 1 are invariant: numerically the tanh flow stays in [-1, 1]^N up to
    the integration error (rounding for RK4, about the tolerance for the adaptive method)."""
    W, y0 = prob
    y0 = 2 * y0 - 1
    opts = dict(dt=0.01) if method == "rk4" else {}
    slack = 1e-12 if method == "rk4" else 2e-7
    sol = dynsys.integrate(W, y0, np.linspace(0, 20, 41), method=method, activation="tanh",
                           **opts)
    assert sol.success
    assert np.all(sol.y >= -1 - slack) and np.all(sol.y <= 1 + slack)
