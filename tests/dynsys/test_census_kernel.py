"""The phases of the census kernel (dynsys._kernels.census) against readable twins.

Each helper is compared with a plain-Python loop that spells out the formula of the module
docstring, in the same order of operations where the kernel promises bit-equal sums.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dynsys
from dynsys._kernels import census as K


def _logistic(z):
    """The kernels' logistic as documented: r = 1 / (1 + e), e = exp(-|z|); r or e r."""
    e = math.exp(-abs(z))
    r = 1.0 / (1.0 + e)
    return r if z >= 0 else e * r


def _face_state(seed, n=9, margin=5.0, n_interior=3):
    """Random logits with `n_interior` interior coordinates, the rest saturated at either
    face, and the kernel's c = W[:, B1] 1."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    z = rng.uniform(margin + 0.5, margin + 400.0, n) * rng.choice([-1.0, 1.0], n)
    interior = rng.choice(n, n_interior, replace=False)
    z[interior] = rng.uniform(-margin, margin, n_interior)
    sgn = K.faces(z[None, :], margin)[0]
    c = W[:, sgn == 1].sum(axis=1)
    return W, z, sgn, c


@pytest.mark.parametrize("kcap", [0, 2, 3, 9])
def test_interior_indices_lists_the_interior_or_refuses_beyond_kcap(kcap):
    _, _, sgn, _ = _face_state(0)
    idx = np.full(sgn.size, -7, np.int64)
    k = K._interior_indices(sgn, idx, kcap)
    interior = np.flatnonzero(sgn == 2)
    assert interior.size == 3
    if interior.size > kcap:
        assert k == -1
    else:
        assert k == interior.size and idx[:k].tolist() == interior.tolist()


def _corner_reference(z, c, sgn, margin, zero_tol):
    settled, L = True, K._BIG
    for i in range(z.size):
        r = c[i] if sgn[i] == 0 else -c[i]
        if r > zero_tol:
            settled = False
            L = min(L, max(1, math.ceil((abs(z[i]) - margin) / r)))
        elif r >= -zero_tol:
            settled = False
    return settled, L


def test_corner_settles_when_every_rate_points_in_and_else_times_the_first_exit():
    margin, tol = 5.0, 1e-9
    z = np.array([-8.0, 9.0, -30.0])
    sgn = np.array([0, 1, 0], np.int8)
    # rates toward the margin: c_0 at 0, -c_1 at 1
    assert K._corner(z, np.array([-1.0, 2.0, -0.5]), sgn, margin, tol) == (True, K._BIG)
    # coordinate 0 reaches -5 after ceil(3 / 0.7) = 5 layers, coordinate 2 after 50
    assert K._corner(z, np.array([0.7, 2.0, 0.5]), sgn, margin, tol) == (False, 5)
    # a rate within zero_tol of 0 is not settled, and never arrives
    assert K._corner(z, np.array([-1.0, 1e-12, -0.5]), sgn, margin, tol) == (False, K._BIG)
    for seed in range(20):
        W, z, sgn, c = _face_state(seed, n_interior=0)
        assert K._corner(z, c, sgn, margin, tol) == _corner_reference(z, c, sgn, margin, tol)


def test_gather_interior_copies_the_interior_block():
    W, z, sgn, c = _face_state(1)
    idx = np.flatnonzero(sgn == 2)
    k = idx.size
    cI, zI = np.empty(k + 1), np.empty(k + 1)
    WII, WIIT = np.empty((k + 1, k + 1)), np.empty((k + 1, k + 1))
    K._gather_interior(z, c, W, idx, k, cI, zI, WII, WIIT)
    np.testing.assert_array_equal(cI[:k], c[idx])
    np.testing.assert_array_equal(zI[:k], z[idx])
    np.testing.assert_array_equal(WII[:k, :k], W[np.ix_(idx, idx)])
    np.testing.assert_array_equal(WIIT[:k, :k], W[np.ix_(idx, idx)].T)


def _horizon_reference(z, c, W, sgn, idx, margin):
    """Speed bound toward each saturated coordinate's margin, the layers it cannot reach it
    within, and the split into near (< _NEAR layers) and far."""
    near, Lfar = [], K._BIG
    for i in range(z.size):
        if sgn[i] == 2:
            continue
        pos, neg = 0.0, 0.0
        for j in idx:
            pos += max(W[i, j], 0.0)
            neg += min(W[i, j], 0.0)
        v = c[i] + pos if sgn[i] == 0 else -(c[i] + neg)
        if v > 0.0:
            Li = math.floor((abs(z[i]) - margin) / v * (1.0 - 1e-12))
            if Li < K._NEAR:
                near.append(i)
            else:
                Lfar = min(Lfar, Li)
    return near, Lfar


@pytest.mark.parametrize("seed", range(12))
def test_horizon_splits_the_saturated_coordinates_by_their_speed_bound(seed):
    margin = 5.0
    W, z, sgn, c = _face_state(seed, n=12, margin=margin, n_interior=4)
    z[sgn != 2] *= np.random.default_rng(seed).uniform(1.0, 200.0, np.sum(sgn != 2))
    sgn = K.faces(z[None, :], margin)[0]
    c = W[:, sgn == 1].sum(axis=1)
    WT = np.ascontiguousarray(W.T)
    idx = np.flatnonzero(sgn == 2)
    n, k = z.size, idx.size
    posI, negI = np.empty(n), np.empty(n)
    K._recompute_bounds(WT, sgn, posI, negI)
    isnear, near_idx = np.ones(n, np.bool_), np.empty(n, np.int64)
    WnearT = np.empty((k, n))
    n_near, Lfar = K._horizon(z, c, posI, negI, WT, sgn, idx, k, margin, isnear, near_idx,
                              WnearT, np.empty(n))
    near, Lfar_ref = _horizon_reference(z, c, W, sgn, idx, margin)
    assert near_idx[:n_near].tolist() == near and Lfar == Lfar_ref
    assert np.flatnonzero(isnear).tolist() == near
    np.testing.assert_array_equal(WnearT[:k, :n_near], W[np.ix_(near, idx)].T)


def test_recompute_bounds_sums_the_interior_columns_by_sign():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(11, 11))
    sgn = rng.integers(0, 3, 11).astype(np.int8)
    posI, negI = np.full(11, np.nan), np.full(11, np.nan)
    K._recompute_bounds(np.ascontiguousarray(W.T), sgn, posI, negI)
    interior = W[:, sgn == 2]
    np.testing.assert_allclose(posI, np.clip(interior, 0.0, None).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(negI, np.clip(interior, None, 0.0).sum(axis=1), rtol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_update_faces_keeps_c_and_the_bounds_in_step_with_the_faces(seed):
    # a long random walk of the codes, through the periodic refresh and between refreshes
    rng = np.random.default_rng(seed)
    n, margin = 10, 5.0
    W = rng.normal(size=(n, n))
    WT = np.ascontiguousarray(W.T)
    drive = rng.normal(size=n)
    z = rng.uniform(-20.0, 20.0, n)
    sgn = K.faces(z[None, :], margin)[0]
    c, posI, negI = np.empty(n), np.empty(n), np.empty(n)
    K._recompute_c(WT, sgn, drive, c)
    K._recompute_bounds(WT, sgn, posI, negI)
    n_updates, refreshed = 0, False
    for _ in range(200):
        z[rng.integers(0, n, 3)] = rng.uniform(-20.0, 20.0, 3)
        before = n_updates
        changed, n_updates = K._update_faces(z, WT, sgn, drive, c, posI, negI, margin,
                                             n_updates)
        refreshed |= n_updates < before
        np.testing.assert_array_equal(sgn, K.faces(z[None, :], margin)[0])
        assert changed == (n_updates != before)
        interior = W[:, sgn == 2]
        np.testing.assert_allclose(c, drive + W[:, sgn == 1].sum(axis=1), atol=1e-12)
        np.testing.assert_allclose(posI, np.clip(interior, 0.0, None).sum(axis=1), atol=1e-12)
        np.testing.assert_allclose(negI, np.clip(interior, None, 0.0).sum(axis=1), atol=1e-12)
    assert refreshed


def test_horizon_runs_over_near_and_far_coordinates():
    # the property above is not vacuous: its seeds meet both kinds
    kinds = set()
    for seed in range(12):
        W, z, sgn, c = _face_state(seed, n=12, n_interior=4)
        z[sgn != 2] *= np.random.default_rng(seed).uniform(1.0, 200.0, np.sum(sgn != 2))
        sgn = K.faces(z[None, :], 5.0)[0]
        c = W[:, sgn == 1].sum(axis=1)
        near, Lfar = _horizon_reference(z, c, W, sgn, np.flatnonzero(sgn == 2), 5.0)
        kinds |= {"near"} if near else set()
        kinds |= {"far"} if Lfar < K._BIG else set()
    assert kinds == {"near", "far"}


@pytest.mark.parametrize("seed", range(6))
def test_interior_layer_is_one_layer_of_the_face_map(seed):
    margin = 5.0
    W, z, sgn, c = _face_state(seed, n=10, margin=margin, n_interior=4)
    idx = np.flatnonzero(sgn == 2)
    near = [i for i in range(z.size) if sgn[i] != 2][:3]
    k, n_near = idx.size, len(near)
    zI = z[idx].copy()
    cI = c[idx].copy()
    WIIT = np.ascontiguousarray(W[np.ix_(idx, idx)].T)
    WnearT = np.ascontiguousarray(W[np.ix_(near, idx)].T)
    Y = np.full(k, 0.25)
    yI, rI, snear = np.empty(k), np.empty(k), np.empty(z.size)
    zz = z.copy()
    rmax, exit_face = K._interior_layer(zz, zI, yI, Y, rI, cI, WIIT, c,
                                        np.array(near, np.int64), n_near, WnearT, snear, k,
                                        margin)
    # z_I + c_I + W[I,I] f(z_I) and z_near + c_near + W[near,I] f(z_I), summed in index order
    y = [_logistic(v) for v in z[idx]]
    want = z.copy()
    r = []
    for i in list(idx) + near:
        s = c[i]
        for b, j in enumerate(idx):
            s += W[i, j] * y[b]
        want[i] += s
        if i in idx:
            r.append(s)
    np.testing.assert_array_equal(yI, y)
    np.testing.assert_array_equal(Y, 0.25 + np.array(y))
    np.testing.assert_array_equal(zI, want[idx])
    saturated = sgn != 2  # the interior lives in z_I until the block is materialised
    np.testing.assert_array_equal(zz[saturated], want[saturated])
    np.testing.assert_array_equal(zz[idx], z[idx])
    assert rmax == max(abs(v) for v in r)
    assert exit_face == bool(np.any(np.abs(want[idx]) > margin)
                             or np.any(np.abs(want[near]) <= margin))


def test_interior_layer_reports_a_coordinate_leaving_its_face():
    # one interior coordinate pushed beyond the margin, one near coordinate pulled inside it
    z = np.array([4.5, -5.2])
    c = np.array([1.0, 0.5])
    args = (np.empty(1), np.zeros(1), np.empty(1), c[:1].copy(), np.zeros((1, 1)), c,
            np.array([1], np.int64))
    zI = z[:1].copy()
    rmax, exit_face = K._interior_layer(z, zI, *args, 1, np.zeros((1, 2)), np.empty(2), 1, 5.0)
    assert zI[0] == 5.5 and z[1] == -4.7 and rmax == 1.0 and exit_face


def test_record_is_a_ring_buffer_of_the_last_layers():
    pmax = 3
    hist = np.full((2 * pmax, 2), np.nan)
    hpos, hlen = 0, 0
    for t in range(10):
        hpos, hlen = K._record(hist, hpos, hlen, np.array([t, -t], float), 2)
        assert hlen == min(t + 1, 2 * pmax) and hpos == (t + 1) % (2 * pmax)
        assert hist[(hpos - 1) % (2 * pmax)].tolist() == [t, -t]
    assert sorted(hist[:, 0].tolist()) == [4, 5, 6, 7, 8, 9]


def _history(states, pmax):
    """The ring buffer after the kernel recorded `states` (the last 2 pmax are kept)."""
    k = states.shape[1]
    hist = np.empty((2 * pmax, k))
    hpos, hlen = 0, 0
    for s in states:
        hpos, hlen = K._record(hist, hpos, hlen, s, k)
    assert hlen == 2 * pmax
    return hist, hpos


@pytest.mark.parametrize("p", [2, 3, 5, 8])
def test_period_of_an_exact_cycle_is_its_least_period(p):
    pmax = 8
    rng = np.random.default_rng(p)
    orbit = rng.uniform(0.1, 0.9, size=(p, 3))
    states = np.array([orbit[t % p] for t in range(37)])
    hist, hpos = _history(states, pmax)
    assert K._period(hist, hpos, pmax, 3, 1e-6) == p


def test_period_refuses_a_resting_state_a_drift_and_a_damped_oscillation():
    pmax = 6
    t = np.arange(40, dtype=float)[:, None]
    resting = np.full((40, 2), 0.3)
    drift = 0.3 + 1e-4 * t * np.ones((1, 2))
    damped = 0.5 + 0.1 * (-0.99) ** t * np.ones((1, 2))
    for states in (resting, drift, damped):
        hist, hpos = _history(states, pmax)
        assert K._period(hist, hpos, pmax, 2, 1e-6) == 0
    # a cycle whose states repeat only to within distance_tol of each other is not one
    noisy = np.array([[0.2 if s % 2 else 0.8] for s in range(40)])
    noisy[-1] += 1e-5
    hist, hpos = _history(noisy, pmax)
    assert K._period(hist, hpos, pmax, 1, 1e-6) == 0
    assert K._period(hist, hpos, pmax, 1, 1e-4) == 2


def test_cycle_points_into_reads_the_rates_at_the_orbit_mean():
    # coordinate 0 interior, 1 at the 0-face, 2 at the 1-face
    W = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    WT = np.ascontiguousarray(W.T)
    sgn = np.array([2, 0, 1], np.int8)
    idx = np.array([0, 1, 2], np.int64)
    pmax = 2
    hist, hpos = _history(np.array([[0.2], [0.6], [0.2], [0.6], [0.2], [0.6]]), pmax)
    ym, rnow = np.empty(1), np.empty(3)
    # mean y = 0.4: rate of 1 is c_1 + 2 * 0.4, of 2 is c_2 - 0.4
    assert K._cycle_points_into(hist, hpos, 2, WT, idx, 1, np.array([0.0, -1.0, 1.0]), sgn,
                                1e-9, ym, rnow)
    assert ym[0] == pytest.approx(0.4, abs=1e-15)
    np.testing.assert_allclose(rnow[1:], [-1.0 + 0.8, 1.0 - 0.4], atol=1e-15)
    # coordinate 1 pushed out of its face at the mean: -0.5 + 0.8 > 0
    assert not K._cycle_points_into(hist, hpos, 2, WT, idx, 1, np.array([0.0, -0.5, 1.0]),
                                    sgn, 1e-9, ym, rnow)


def _one_face(w10):
    """Coordinate 0 interior, coordinate 1 on the 1-face: c = W[:, 1]; the face point is
    y_0 = -c_0 / W[0, 0] = 0.5 and the interior multiplier 1 + 0.25 W[0, 0] = 0."""
    W = np.array([[-4.0, 2.0], [w10, 1.0]])
    return W, np.ascontiguousarray(W.T), np.array([2, 1], np.int8), W[:, 1].copy()


@pytest.mark.parametrize("w10, z0, action", [
    (1.0, 0.0, 1),      # at the face point, coordinate 1's rate 1 + 0.5 > 0 into its face
    (-4.0, 0.0, 3),     # at the face point, rate 1 - 2 < 0: leaving, and a jump
    (1.0, 0.1, 0),      # y_0 = f(0.1), 0.025 from the face point: not yet
    (-4.0, 1e-7, 0),    # within distance_tol but beyond jump_tol: no jump yet
])
def test_settled_decides_attractor_jump_or_neither(w10, z0, action):
    W, WT, sgn, c = _one_face(w10)
    idx = np.array([0], np.int64)
    ystar, rstar, rnow, ym = np.empty(1), np.empty(2), np.empty(2), np.empty(1)
    got = K._settled(np.array([z0]), W[:1, :1].copy(), c[:1].copy(), WT, idx, 1, c, sgn, ystar,
                     np.empty((1, 1)), ym, rstar, rnow, 1e-6, 1e-9, 1e-12)
    assert got == action
    if action:
        assert ystar[0] == 0.5 and rstar[1] == pytest.approx(1.0 + 0.5 * w10)


def test_settled_refuses_an_unstable_face_point():
    W, WT, sgn, c = _one_face(1.0)
    W[0, 0], W[0, 1] = 4.0, -2.0  # face point 0.5 again, multiplier 1 + 0.25 * 4 = 2
    WT, c = np.ascontiguousarray(W.T), W[:, 1].copy()
    out = [np.empty(1), np.empty((1, 1)), np.empty(1), np.empty(2), np.empty(2)]
    assert K._settled(np.zeros(1), W[:1, :1].copy(), c[:1].copy(), WT, np.array([0]), 1, c,
                      sgn, *out, 1e-6, 1e-9, 1e-12) == 0


def test_materialise_adds_the_block_sums_to_the_far_coordinates():
    W, z, sgn, c = _face_state(3)
    WT = np.ascontiguousarray(W.T)
    idx = np.flatnonzero(sgn == 2)
    k = idx.size
    saturated = np.flatnonzero(sgn != 2)
    isnear = np.zeros(z.size, np.bool_)
    isnear[saturated[0]] = True
    Y = np.array([0.5, 1.25, 2.0])
    zI = np.array([0.1, 0.2, 0.3])
    zz = z.copy()
    K._materialise(zz, WT, idx, k, c, sgn, isnear, 7, Y, zI, np.empty(z.size))
    want = z.copy()
    for i in saturated[1:]:
        want[i] += 7 * c[i] + W[i, idx] @ Y
    want[idx] = zI
    np.testing.assert_allclose(zz, want, rtol=1e-15, atol=1e-12)
    assert zz[saturated[0]] == z[saturated[0]]  # a near coordinate was followed already


def test_jump_moves_to_the_first_exit_along_the_constant_rates():
    margin = 5.0
    z = np.array([0.3, -20.0, 12.0, -9.0])
    sgn = np.array([2, 0, 1, 0], np.int8)
    ystar = np.array([0.25])
    # rates toward the margin: 0.4 for 1 (15 / 0.4 = 37.5 -> 38), 7 / 0.5 = 14 for 2,
    # coordinate 3 moving away
    rstar = np.array([0.0, 0.4, -0.5, -1.0])
    zz = z.copy()
    L = K._jump(zz, np.array([0], np.int64), 1, sgn, ystar, rstar, margin, 1e-9, 1000)
    assert L == 14
    assert zz[0] == pytest.approx(math.log(0.25 / 0.75), rel=1e-15)
    np.testing.assert_array_equal(zz[1:], z[1:] + 14 * rstar[1:])
    assert abs(zz[2]) <= margin + 0.5  # arrived at its margin within one layer's rate
    assert K._jump(z.copy(), np.array([0], np.int64), 1, sgn, ystar, rstar, margin, 1e-9,
                   9) == 9


def test_add_drive_and_sigmoid_is_the_driven_layer_in_one_pass():
    # Z += D + c, Y = f(Z): the plain formula to rounding; with c = 0, add_and_sigmoid's floats
    rng = np.random.default_rng(3)
    Z, D = rng.normal(size=(7, 5)) * 20, rng.normal(size=(7, 5)) * 3
    c = rng.normal(size=5)
    Z1, Y1 = Z.copy(), np.empty_like(Z)
    K.add_drive_and_sigmoid(Z1, D, c, Y1)
    np.testing.assert_allclose(Z1, Z + D + c, rtol=1e-15, atol=1e-13)
    np.testing.assert_allclose(Y1, dynsys.logistic(Z1), rtol=1e-15, atol=0)
    Z2, Y2, Z3, Y3 = Z.copy(), np.empty_like(Z), Z.copy(), np.empty_like(Z)
    K.add_drive_and_sigmoid(Z2, D, np.zeros(5), Y2)
    K.add_and_sigmoid(Z3, D, Y3)
    np.testing.assert_array_equal(Z2, Z3)
    np.testing.assert_array_equal(Y2, Y3)
