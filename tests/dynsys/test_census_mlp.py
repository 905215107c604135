"""The MLP engine of the census (dynsys/_census/_mlp.py): its end states against Newton and
plain iteration, and its fast paths against the computations they replace."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from dynsys._stability import classify_multipliers
from tests._oracles.census_reference import sigmoid


def test_mlp_two_cycle():
    # y -> f(10 - 20 y): the fixed point 1/2 has multiplier -5; the orbit flips between
    # f(10) and f(10 - 20 f(10))
    net = dynsys.Network([[-20.0]], [10.0], kind="mlp")
    census = dynsys.attractor_census(net, [[0.3], [0.9]], 1000)
    assert census.status.tolist() == ["cycle", "cycle"]
    assert census.period.tolist() == [2, 2]
    assert np.all(census.assignment == -1)
    assert np.all(np.isnan(census.lyapunov))


def test_mlp_fixed_points_against_newton_from_many_starts():
    from scipy.optimize import fsolve

    n = 6
    W = 8.0 * np.eye(n) - 3.0 * (1 - np.eye(n))
    b = np.full(n, -2.0)
    net = dynsys.Network(W, b, kind="mlp")
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0, 1, size=(200, n))
    census = dynsys.attractor_census(net, x0, 500)
    assert len(census) >= 2
    assert census.counts()["attractor"] == 200

    def F(y):
        return sigmoid(W @ y + b) - y

    roots = []
    for y0 in rng.uniform(0, 1, size=(300, n)):
        y, info, ier, _ = fsolve(F, y0, full_output=True, xtol=1e-13)
        if ier == 1 and np.max(np.abs(F(y))) < 1e-12:
            roots.append(y)
    roots = np.array(roots)
    for m in range(len(census)):
        p = census.points[m]
        assert np.max(np.abs(F(p))) <= 1e-9
        assert np.min(np.max(np.abs(roots - p), axis=1)) <= 1e-8
        s = sigmoid(W @ p + b)
        mu = np.linalg.eigvals(np.diag(s * (1 - s)) @ W)
        assert census.map_stability[m] == classify_multipliers(mu, census.zero_tol)
        np.testing.assert_allclose(np.sort_complex(census.multipliers[m]), np.sort_complex(mu),
                                   atol=1e-10)
        np.testing.assert_allclose(census.eigenvalues[m], census.multipliers[m] - 1)
    # every input ends within tolerance of its Newton point under plain iteration
    y = x0
    for _ in range(500):
        y = sigmoid(y @ W.T + b)
    assert np.all(np.max(np.abs(y - census.points[census.assignment]), axis=1) <= 1e-6)


def test_mlp_not_converged_has_a_lyapunov_exponent():
    rng = np.random.default_rng(3)
    n = 30
    # a random MLP of gain 8 about y = 1/2 is chaotic: positive largest exponent
    W = rng.normal(size=(n, n)) * 8 / np.sqrt(n)
    net = dynsys.Network(W, -0.5 * W.sum(axis=1), kind="mlp")
    census = dynsys.attractor_census(net, rng.uniform(size=(10, n)), 600, max_period=16)
    nc = census.status == "not converged"
    assert nc.all()
    assert np.all(census.lyapunov[nc] > 0.05)
    assert np.all(np.isnan(census.lyapunov[~nc]))


def test_mlp_layer_in_place_equals_the_expression():
    from dynsys._census._mlp import _mlp_layer

    rng = np.random.default_rng(1)
    W, b, Y = rng.normal(size=(50, 50)) * 3, rng.normal(size=50), rng.random((70, 50))
    out = np.empty_like(Y)
    _mlp_layer(Y, W.T, b, out)
    np.testing.assert_array_equal(out, dynsys.logistic(Y @ W.T + b))


def _old_find_periods(H, tol, pmax):
    """The MLP period search as it was written, with the full (L - 1, B, N) difference."""
    L, B, _ = H.shape
    out = np.zeros(B, np.int64)
    fixed = np.max(np.abs(H[-1] - H[-2]), axis=1) <= tol
    out[fixed] = 1
    undecided = ~fixed
    steps = np.max(np.abs(np.diff(H, axis=0)), axis=2)
    for p in range(2, min(pmax, L // 2) + 1):
        idx = np.flatnonzero(undecided)
        if idx.size == 0:
            break
        amp = steps[-p:, idx].max(axis=0)
        ctol = np.minimum(tol, 1e-3 * amp)
        cand = (amp > tol) & (np.max(np.abs(H[-1, idx] - H[-1 - p, idx]), axis=1) <= ctol)
        if not cand.any():
            continue
        j = idx[cand]
        ok = np.max(np.abs(H[p:, j] - H[:-p, j]), axis=(0, 2)) <= ctol[cand]
        out[j[ok]] = p
        undecided[j[ok]] = False
    return out


def test_find_periods_equals_the_full_difference_version():
    from dynsys._census._mlp import _find_periods

    rng = np.random.default_rng(2)
    L, N = 33, 5
    H = rng.random((L, 60, N))
    t = np.arange(L)[:, None]
    for j in range(60):
        kind = j % 4
        if kind == 1:  # a cycle of period 2..8, to rounding
            p = 2 + j % 7
            H[:, j] = rng.random((p, N))[t[:, 0] % p] + 1e-13 * rng.random((L, N))
        elif kind == 2:  # a fixed point approached
            H[:, j] = 0.3 + 0.5 ** t * rng.random(N)
        elif kind == 3:  # a slow oscillating approach, no cycle
            H[:, j] = 0.5 + (-0.99) ** t * 1e-4
    np.testing.assert_array_equal(_find_periods(H, 1e-6, 16), _old_find_periods(H, 1e-6, 16))
    assert set(_find_periods(H, 1e-6, 16).tolist()) >= {0, 1, 2, 5}


def _contracting_mlp(n=40, seed=0, gain=0.6):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) * gain * 4 / np.sqrt(n)
    return W, rng.normal(size=n)


def _direct_verdict(W, b, y, zero_tol):
    """The stability check as written before: the multipliers at y, labelled."""
    from dynsys._census._mlp import _mlp_spectra

    _, mu, _ = _mlp_spectra(W, b, y)
    return classify_multipliers(mu, zero_tol) == "stable"


def test_mlp_map_stability_equals_the_eigenvalues_at_every_state():
    from dynsys._census._mlp import _MlpMapStability

    zero_tol = 1e-9
    W, b = _contracting_mlp()
    y = np.full(W.shape[0], 0.5)
    for _ in range(400):
        y = sigmoid(W @ y + b)
    # states a few units of rounding from the attractor, all different bytes
    rng = np.random.default_rng(3)
    states = [y]
    for _ in range(30):
        steps = rng.integers(-3, 4, y.size)
        states.append(np.array([np.nextafter(v, v + np.sign(s)) if s else v
                                for v, s in zip(y, steps)]))
    check = _MlpMapStability(W, b, zero_tol)
    verdicts = [check(s) for s in states]
    assert verdicts == [_direct_verdict(W, b, s, zero_tol) for s in states]
    assert all(verdicts)
    # the first state and the certificate: two eigen-decompositions for 31 distinct states
    assert check.n_eig == 2
    # a map whose attractor is barely stable: the certificate cannot decide, the multipliers do
    for gain in (1.2, 2.0):
        W2, b2 = _contracting_mlp(seed=1, gain=gain)
        y2 = np.full(W2.shape[0], 0.5)
        for _ in range(400):
            y2 = sigmoid(W2 @ y2 + b2)
        check2 = _MlpMapStability(W2, b2, zero_tol)
        near = [y2, y2 + 1e-12, y2 - 1e-12]
        assert [check2(s) for s in near] == [_direct_verdict(W2, b2, s, zero_tol) for s in near]


def test_mlp_census_equals_the_census_with_one_eigen_check_per_input(monkeypatch):
    import dynsys._census._mlp as C

    W, b = _contracting_mlp(n=30, seed=4, gain=0.5)
    net = dynsys.Network(np.stack([W, W]), np.stack([b, b]), kind="mlp")
    x0 = np.random.default_rng(5).random((150, 30))
    fast = dynsys.attractor_census(net, x0, 600)
    assert fast.counts()["attractor"] == 150

    class PerInput:  # the check as it was: the multipliers of every input's own state
        def __init__(self, W, b, zero_tol, act=None):
            self.args = (W, b, zero_tol)

        def __call__(self, y):
            return _direct_verdict(self.args[0], self.args[1], y, self.args[2])

    monkeypatch.setattr(C, "_MlpMapStability", PerInput)
    slow = dynsys.attractor_census(net, x0, 600)
    for name in fast.__dataclass_fields__:
        a, b_ = getattr(fast, name), getattr(slow, name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b_, err_msg=name)
        else:
            assert a == b_ or (a != a and b_ != b_), name


def test_mlp_census_has_no_algebraic_approach():
    # a two-cycle, a contracting map (fixed points) and a chaotic one (not converged)
    rng = np.random.default_rng(3)
    chaotic = rng.normal(size=(30, 30)) * 8 / np.sqrt(30)
    for net, x0 in ((dynsys.Network([[-20.0]], [10.0], kind="mlp"), [[0.3], [0.9]]),
                    (dynsys.Network(*_contracting_mlp(), kind="mlp"),
                     rng.uniform(size=(20, 40))),
                    (dynsys.Network(chaotic, -0.5 * chaotic.sum(axis=1), kind="mlp"),
                     rng.uniform(size=(5, 30)))):
        census = dynsys.attractor_census(net, x0, 500, max_period=16)
        assert census.counts()[{1: "cycle", 40: "attractor", 30: "not converged"}[
            net.width]] == len(x0)
        assert census.algebraic.dtype == bool and not census.algebraic.any()
        assert census.approach_rate.shape == (len(x0),)
        assert np.all(np.isnan(census.approach_rate))


# ---- tanh MLP: a discrete tanh RNN -------------------------------------------------------


def test_tanh_mlp_census_against_plain_iteration():
    rng = np.random.default_rng(3)
    N = 6
    W, b = rng.normal(size=(N, N)) * 0.4, rng.normal(size=N) * 0.2
    net = dynsys.Network(W, b, kind="mlp", activation="tanh")
    x = rng.normal(size=(40, N))
    c = dynsys.attractor_census(net, x, 500)
    assert c.activation == "tanh" and "tanh" in repr(c)
    assert (c.status == "attractor").all() and len(c) == 1
    # the end state of 20,000 plain layers is the census's point
    far = dynsys.iterate(net, x, 20_000, record="final").y_final
    np.testing.assert_allclose(far, c.points[c.assignment], atol=1e-12)
    y = c.points[0]
    np.testing.assert_allclose(np.tanh(W @ y + b), y, atol=1e-12)
    # multipliers: the eigenvalues of diag(1 - y^2) W; the box is [-1, 1]
    mu = np.linalg.eigvals((1 - y * y)[:, None] * W)
    np.testing.assert_allclose(np.sort(np.abs(c.multipliers[0])), np.sort(np.abs(mu)),
                               rtol=1e-10)
    assert c.in_box[0] and np.any(y < 0)


def test_tanh_mlp_census_finds_the_period_two_cycle():
    # y <- tanh(w y) with w < -1: the origin is unstable (multiplier w) and every other
    # start falls on the 2-cycle (+-a) with a = tanh(-w a) ... solved below by iteration
    w = -2.0
    net = dynsys.Network(np.array([[w]]), kind="mlp", activation="tanh")
    c = dynsys.attractor_census(net, np.array([[0.3], [-0.7], [1.2]]), 2000)
    assert (c.status == "cycle").all() and (c.period == 2).all()


def test_tanh_mlp_fixed_point_closed_form_n1():
    # y = tanh(0.5 y + 0.4): a contraction, one attractor with multiplier 0.5 (1 - y^2)
    net = dynsys.Network(np.array([[0.5]]), np.array([0.4]), kind="mlp", activation="tanh")
    c = dynsys.attractor_census(net, np.array([[-3.0], [0.0], [3.0]]), 400)
    y = c.points[0, 0]
    assert y == pytest.approx(np.tanh(0.5 * y + 0.4), abs=1e-14)
    assert c.multipliers[0, 0].real == pytest.approx(0.5 * (1 - y * y), rel=1e-10)
    assert (c.status == "attractor").all()
