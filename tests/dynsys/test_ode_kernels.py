"""The Numba ODE kernels against slow, readable twins and against scipy's RK45.

The kernels are private (:mod:`dynsys._kernels.ode`); these tests call them through
:func:`dynsys.integrate` / :func:`dynsys.integrate_noise` and compare with plain Python, and
hold the lane kernel to the one-trajectory twin in ``tests/_oracles/ode_reference.py``.
"""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import expit

import dynsys
from dynsys._kernels import ode
from dynsys._system import logistic
from tests._oracles import ode_reference as ref_ode

# ---- readable twins of every right-hand side --------------------------------------------


def f_residual(W, y):
    return y * (1 - y) * (W @ y)


def f_mlp(W, b, y):
    return -y + logistic(W @ y + b)


def f_tanh_residual(W, y):
    return (1 - y**2) * (W @ y)


def f_tanh_mlp(W, b, y):
    return -y + np.tanh(W @ y + b)


def twin_tanh_rhs(name, W, b, u):
    """The tanh right-hand sides, written from their definitions (f = tanh, f' = 1 - s^2,
    f''/2 = -s (1 - s^2)), with nothing shared with the kernel's formulas."""
    n = W.shape[0]
    if name == "resnet":
        return f_tanh_residual(W, u)
    if name == "mlp":
        return f_tanh_mlp(W, b, u)
    y, xi = u[:n], u[n:]
    if name.startswith("resnet"):
        F = lambda v: f_tanh_residual(W, v)  # noqa: E731
        J = np.diag(-2 * y * (W @ y)) + np.diag(1 - y**2) @ W
        lin = J @ xi
        # the term of degree 2 in xi of F(y + xi) - F(y)
        quad = -2 * y * xi * (W @ xi) - xi**2 * (W @ y)
        dxi = {"resnet_noise": F(y + xi) - F(y), "resnet_noise1": lin,
               "resnet_noise2": lin + quad}[name]
        return np.concatenate([F(y), dxi])
    z = W @ y + b
    s = np.tanh(z)
    wx = W @ xi
    dxi = {
        "mlp_noise": -xi + np.tanh(W @ (y + xi) + b) - s,
        "mlp_noise1": -xi + (1 - s**2) * wx,
        "mlp_noise2": -xi + (1 - s**2) * wx - s * (1 - s**2) * wx**2,
    }[name]
    return np.concatenate([-y + s, dxi])


def twin_rhs(name, W, b, u):
    if name.startswith("tanh_"):
        return twin_tanh_rhs(name[len("tanh_"):], W, b, u)
    n = W.shape[0]
    if name == "resnet":
        return f_residual(W, u)
    if name == "mlp":
        return f_mlp(W, b, u)
    y, xi = u[:n], u[n:]
    if name.startswith("resnet"):
        dy = f_residual(W, y)
        lin = y * (1 - y) * (W @ xi) + xi * (1 - 2 * y) * (W @ y)
        dxi = {
            "resnet_noise": y * (1 - y) * (W @ xi) + xi * (1 - 2 * y - xi) * (W @ (y + xi)),
            "resnet_noise1": lin,
            "resnet_noise2": lin + xi * (1 - 2 * y) * (W @ xi) - xi**2 * (W @ y),
        }[name]
        return np.concatenate([dy, dxi])
    s = logistic(W @ y + b)
    dy = -y + s
    wx = W @ xi
    dxi = {
        "mlp_noise": -xi + logistic(W @ (y + xi) + b) - s,
        "mlp_noise1": -xi + s * (1 - s) * wx,
        "mlp_noise2": -xi + s * (1 - s) * wx * (1 + 0.5 * (1 - 2 * s) * wx),
        "mlp_paper1": xi * (s - s**2 - 1),  # eq. 7 with dy/dt + y = s
        "mlp_paper2": -xi + xi * s * (1 - s) * (1 + xi / 2 * (1 - 2 * s)),  # eq. 8
    }[name]
    return np.concatenate([dy, dxi])


def twin_rk4(f, y0, t_eval, dt):
    """Classical RK4; each interval between outputs split into equal steps <= dt."""
    y = np.array(y0, dtype=float)
    out = [y.copy()]
    for t_a, t_b in zip(t_eval[:-1], t_eval[1:]):
        n_sub = max(1, int(np.ceil((t_b - t_a) / dt - 1e-9)))
        h = (t_b - t_a) / n_sub
        for _ in range(n_sub):
            k1 = f(y)
            k2 = f(y + h / 2 * k1)
            k3 = f(y + h / 2 * k2)
            k4 = f(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(y.copy())
    return np.array(out)


@pytest.fixture
def system():
    rng = np.random.default_rng(11)
    n = 4
    return rng.normal(size=(n, n)) * 1.5, rng.normal(size=n) * 0.5, rng.uniform(0.1, 0.9, n)


def test_every_activation_has_its_codes():
    """Each logistic system has a tanh twin at the offset TANH, except the paper's eq. 7-8."""
    tanh = {k[len("tanh_"):]: v for k, v in ode.RHS_CODES.items() if k.startswith("tanh_")}
    logistic_names = {k: v for k, v in ode.RHS_CODES.items() if not k.startswith("tanh_")}
    assert set(tanh) == set(logistic_names) - {"mlp_paper1", "mlp_paper2"}
    for k, v in tanh.items():
        assert v == logistic_names[k] + ode.TANH
    assert len(set(ode.RHS_CODES.values())) == len(ode.RHS_CODES)
    assert [k for k in ode.RHS_CODES if ode.state_size(ode.RHS_CODES[k], 3) == 3] == [
        "resnet", "mlp", "tanh_resnet", "tanh_mlp"]


def _in_box(name, y):
    """A state of the fixture moved into the box of the system `name` ([-1, 1] for tanh)."""
    return 2 * y - 1 if name.startswith("tanh_") else y


@pytest.mark.parametrize("name", list(ode.RHS_CODES))
def test_rhs_kernel_matches_twin(name, system):
    W, b, y = system
    n = W.shape[0]
    y = _in_box(name, y)
    rng = np.random.default_rng(5)
    u = y if ode.state_size(ode.RHS_CODES[name], n) == n else np.concatenate(
        [y, rng.uniform(-0.05, 0.05, n)])
    out = np.empty_like(u)
    ode.rhs(ode.RHS_CODES[name], np.ascontiguousarray(W.T), b, n, u, out)
    np.testing.assert_allclose(out, twin_rhs(name, W, b, u), rtol=1e-13, atol=1e-15)


def test_mlp_noise_difference_is_cancellation_free():
    """f(z + d) - f(z) for d ~ 1e-12 keeps full relative accuracy (no cancellation)."""
    W = np.array([[2.0, -1.0], [0.5, 1.0]])
    b = np.array([0.1, -0.3])
    y = np.array([0.3, 0.7])
    xi = np.array([1e-12, 3e-12])
    out = np.empty(4)
    ode.rhs(ode.RHS_CODES["mlp_noise"], np.ascontiguousarray(W.T), b, 2,
            np.concatenate([y, xi]), out)
    s = logistic(W @ y + b)
    first_order = -xi + s * (1 - s) * (W @ xi)
    np.testing.assert_allclose(out[2:], first_order, rtol=1e-9)


def test_tanh_mlp_noise_is_cancellation_free_and_finite_far_out():
    """tanh(z + d) - tanh(z) for d ~ 1e-12 keeps full relative accuracy, also where tanh(z)
    rounds to +-1 (there 1 - tanh(z)^2 would be 0 while the true slope is ~1e-26 or less)."""
    W = np.array([[2.0, -1.0], [0.5, 1.0]])
    b = np.array([0.1, -0.3])
    y = np.array([0.3, -0.7])
    xi = np.array([1e-12, 3e-12])
    out = np.empty(4)
    ode.rhs(ode.RHS_CODES["tanh_mlp_noise"], np.ascontiguousarray(W.T), b, 2,
            np.concatenate([y, xi]), out)
    z = W @ y + b
    first_order = -xi + (W @ xi) / np.cosh(z) ** 2
    np.testing.assert_allclose(out[2:], first_order, rtol=1e-9)
    for z in (0.3, -2.0, 30.0, -300.0):
        for d in (1e-12, -3e-12, 0.5, 900.0):
            # sinh(d) / (cosh(z + d) cosh(z)): the difference with nothing cancelling; for
            # d beyond cosh's range, 1 - tanh(u) = 2 expit(-2u) (both terms of one sign)
            exact = np.sinh(d) / (np.cosh(z + d) * np.cosh(z)) if abs(d) < 700 else \
                2 * (expit(-2 * z) - expit(-2 * (z + d)))
            np.testing.assert_allclose(ode._tanh_diff(z, d), exact, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ode._tanh_slope(z), 1.0 / np.cosh(z) ** 2, rtol=1e-13)
    assert ode._tanh_slope(30.0) > 0.0 and 1.0 - np.tanh(30.0) ** 2 == 0.0


ACTS = ["logistic", "tanh"]


def _field(activation, kind, W, b):
    if activation == "tanh":
        return (lambda y: f_tanh_residual(W, y)) if kind == "resnet" else (
            lambda y: f_tanh_mlp(W, b, y))
    return (lambda y: f_residual(W, y)) if kind == "resnet" else (lambda y: f_mlp(W, b, y))


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_tanh_rk4_kernel_matches_python_twin(kind, system):
    W, b, y0 = system
    y0 = 2 * y0 - 1
    bias = b if kind == "mlp" else None
    t_eval = np.array([0.0, 0.3, 1.0, 2.5, 4.0])
    sol = dynsys.integrate(W, y0, t_eval, method="rk4", dt=0.05, kind=kind, b=bias,
                           activation="tanh")
    ref = twin_rk4(_field("tanh", kind, W, b), y0, t_eval, 0.05)
    np.testing.assert_allclose(sol.y, ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
@pytest.mark.parametrize("order", ["exact", 1, 2])
def test_tanh_rk4_noise_kernel_matches_python_twin(kind, order, system):
    W, b, y0 = system
    y0 = 2 * y0 - 1
    bias = b if kind == "mlp" else None
    xi0 = np.full_like(y0, 0.01)
    t_eval = np.linspace(0, 3, 4)
    sol = dynsys.integrate_noise(W, y0, xi0, t_eval, order=order, method="rk4", dt=0.1,
                                 kind=kind, b=bias, activation="tanh")
    name = f"tanh_{kind}_" + {"exact": "noise", 1: "noise1", 2: "noise2"}[order]
    ref = twin_rk4(lambda u: twin_rhs(name, W, b, u), np.concatenate([y0, xi0]), t_eval, 0.1)
    np.testing.assert_allclose(sol.y, ref[:, :4], atol=1e-14)
    np.testing.assert_allclose(sol.xi, ref[:, 4:], atol=1e-14)


@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_rk4_kernel_matches_python_twin(kind, system):
    W, b, y0 = system
    bias = b if kind == "mlp" else None
    t_eval = np.array([0.0, 0.3, 1.0, 2.5, 4.0])
    sol = dynsys.integrate(W, y0, t_eval, method="rk4", dt=0.05, kind=kind, b=bias)
    f = (lambda y: f_residual(W, y)) if kind == "resnet" else (
        lambda y: f_mlp(W, b, y))
    np.testing.assert_allclose(sol.y, twin_rk4(f, y0, t_eval, 0.05), rtol=0, atol=1e-14)


@pytest.mark.parametrize("order", ["exact", 1, 2])
def test_rk4_noise_kernel_matches_python_twin(order, system):
    W, _, y0 = system
    xi0 = np.full_like(y0, 0.01)
    t_eval = np.linspace(0, 3, 4)
    sol = dynsys.integrate_noise(W, y0, xi0, t_eval, order=order, method="rk4", dt=0.1)
    name = {"exact": "resnet_noise", 1: "resnet_noise1", 2: "resnet_noise2"}[order]
    ref = twin_rk4(lambda u: twin_rhs(name, W, None, u), np.concatenate([y0, xi0]), t_eval,
                   0.1)
    np.testing.assert_allclose(sol.y, ref[:, :4], atol=1e-14)
    np.testing.assert_allclose(sol.xi, ref[:, 4:], atol=1e-14)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("kind", ["resnet", "mlp"])
def test_adaptive_kernel_is_scipy_rk45_step_for_step(kind, activation, system):
    """Same tableau, starting step, controller and dense output as scipy's RK45: the two
    must take the same steps and agree to rounding."""
    W, b, y0 = system
    y0 = 2 * y0 - 1 if activation == "tanh" else y0
    bias = b if kind == "mlp" else None
    t_eval = np.linspace(0, 10, 41)
    sol = dynsys.integrate(W, y0, t_eval, method="adaptive", rtol=1e-6, atol=1e-9,
                           kind=kind, b=bias, activation=activation)
    field = _field(activation, kind, W, b)
    f = lambda t, y: field(y)  # noqa: E731
    ref = solve_ivp(f, (0, 10), y0, method="RK45", t_eval=t_eval, rtol=1e-6, atol=1e-9)
    assert sol.n_rhs == ref.nfev
    np.testing.assert_allclose(sol.y, ref.y.T, rtol=0, atol=1e-12)


def test_batch_equals_single_runs(system):
    """Each trajectory of a batch is integrated independently (own steps)."""
    W, _, _ = system
    rng = np.random.default_rng(2)
    Y0 = rng.uniform(size=(37, 4))
    t_eval = np.linspace(0, 5, 6)
    batch = dynsys.integrate(W, Y0, t_eval)
    for i in (0, 17, 36):
        one = dynsys.integrate(W, Y0[i], t_eval)
        np.testing.assert_array_equal(batch.y[:, i], one.y)
        assert batch.n_steps[i] == one.n_steps


def _fitted_order(method, dts, W, y0, T, kind="resnet", b=None, activation="logistic"):
    if activation == "tanh":
        y0 = 2 * y0 - 1  # the same point of the box [-1, 1]^N
    field = _field(activation, kind, W, b)
    f = lambda t, y: field(y)  # noqa: E731
    ref = solve_ivp(f, (0, T), y0, method="DOP853", rtol=3e-14, atol=1e-16).y[:, -1]
    errs = [np.abs(dynsys.integrate(W, y0, [0.0, T], method=method, dt=dt, kind=kind,
                                    b=b, activation=activation).y[-1] - ref).max()
            for dt in dts]
    return np.polyfit(np.log(dts), np.log(errs), 1)[0]


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_rk4_convergence_order_is_four(seed, activation):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(5, 5)) * 1.5
    y0 = rng.uniform(0.1, 0.9, 5)
    if activation == "tanh":
        # tanh with W is the logistic flow with 4W (and a drive): W / 4 keeps the same
        # stiffness, so these steps are in the asymptotic range as for the logistic
        W = W / 4
    slope = _fitted_order("rk4", [0.2, 0.1, 0.05, 0.025], W, y0, 5.0, activation=activation)
    assert 3.7 <= slope <= 4.3


def test_tanh_dp5_convergence_order_is_five():
    """As the logistic test below: slope ~5 on a weakly nonlinear MLP, >= 4.6 on the flow."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(5, 5)) * 2
    b = rng.normal(size=5)
    y0 = rng.uniform(0.1, 0.9, 5)
    slope = _fitted_order("dp5", [0.4, 0.2, 0.1, 0.05], W, y0, 5.0, "mlp", b, "tanh")
    assert 4.6 <= slope <= 5.6
    W3 = rng.normal(size=(5, 5)) * 1.5 / 4  # the logistic test's stiffness (see the RK4 test)
    slope3 = _fitted_order("dp5", [0.2, 0.1, 0.05, 0.025], W3, y0, 5.0, activation="tanh")
    assert 4.6 <= slope3 <= 6.6


def test_dp5_convergence_order_is_five():
    """Fixed-step DP5 on a weakly nonlinear MLP (eq. 6, small W): slope ~5.

    On strongly nonlinear eq.-3 problems the observed slope over practical steps is 5.6-6.3:
    Dormand and Prince chose the tableau to make the fifth-order error constants small, so
    sixth-order terms dominate until the error reaches rounding (checked below as >= 4.6).
    """
    rng = np.random.default_rng(3)
    W = rng.normal(size=(5, 5)) * 2
    b = rng.normal(size=5)
    y0 = rng.uniform(0.1, 0.9, 5)
    slope = _fitted_order("dp5", [0.4, 0.2, 0.1, 0.05], W, y0, 5.0, "mlp", b)
    assert 4.6 <= slope <= 5.6
    W3 = rng.normal(size=(5, 5)) * 1.5
    slope3 = _fitted_order("dp5", [0.2, 0.1, 0.05, 0.025], W3, y0, 5.0)
    assert 4.6 <= slope3 <= 6.6


def _run_both(code, W, b, Y0, t0, t_eval, rtol=1e-7, atol=1e-10, max_steps=100_000,
              lanes=8, n_chunks=3):
    n = W.shape[0]
    WT = np.ascontiguousarray(W.T)
    B, m = Y0.shape
    out1 = np.empty((t_eval.size, B, m))
    st1 = np.zeros((B, 4), np.int64)
    ref_ode.integrate_adaptive(code, WT, b, n, Y0, t0, t_eval, rtol, atol, 0.0, np.inf,
                               max_steps, out1, st1, n_chunks)
    out2 = np.empty_like(out1)
    st2 = np.zeros_like(st1)
    ode.integrate_adaptive_lanes(code, W, WT, b, n, Y0, t0, t_eval, rtol, atol, 0.0,
                                 np.inf, max_steps, out2, st2, n_chunks, lanes)
    return out1, st1, out2, st2


@pytest.mark.parametrize("name", list(ode.RHS_CODES))
def test_lanes_kernel_is_bitwise_the_one_trajectory_kernel(name, system):
    """The vectorized side-by-side kernel does each trajectory's arithmetic in the same order
    as the plain one-trajectory kernel: same steps, same outputs, bit for bit."""
    W, b, _ = system
    n = W.shape[0]
    code = ode.RHS_CODES[name]
    rng = np.random.default_rng(8)
    Y0 = rng.uniform(0.05, 0.95, size=(29, ode.state_size(code, n)))
    Y0[:, :n] = _in_box(name, Y0[:, :n])
    if ode.state_size(code, n) == 2 * n:
        Y0[:, n:] = rng.uniform(-0.05, 0.05, size=(29, n))
    t_eval = np.array([0.0, 0.5, 1.7, 4.0, 9.0])
    out1, st1, out2, st2 = _run_both(code, W, b, Y0, 0.0, t_eval)
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(st1, st2)


def test_lanes_kernel_failures_and_t0(system):
    W, b, _ = system
    rng = np.random.default_rng(9)
    Y0 = rng.uniform(0.05, 0.95, size=(11, 4))
    t_eval = np.array([1.0, 3.0, 40.0])
    # stopping at max_steps in some trajectories only, starting before the first output
    out1, st1, out2, st2 = _run_both(0, W * 5, b, Y0, 0.5, t_eval, max_steps=40, lanes=4)
    assert np.any(st1[:, 3] == ode.STATUS_MAX_STEPS)
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(st1, st2)
    # a single output time equal to t0: nothing to integrate
    out1, st1, out2, st2 = _run_both(0, W, b, Y0, 1.0, np.array([1.0]))
    np.testing.assert_array_equal(out1, out2)
    np.testing.assert_array_equal(out2[0], Y0)
