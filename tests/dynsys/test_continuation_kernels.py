"""The compiled passes of continue_fixed_points against their slow twins: the exact pass
(equal events and branches on random paths, both activations), the pruning pass pattern by
pattern, and the kernel's root isolation."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from dynsys._activation import activation as make_activation
from dynsys._fixed_points import _continuation as C
from dynsys._kernels import continuation as KC
from tests._oracles import continuation_exact_reference as R
from tests._oracles.continuation_reference import random_path


def _event_groups(ev) -> dict:
    """(pattern, kind, coordinate, labels, dimensions) -> sorted s. Events that coincide
    (a box event and its neighbour's rate event) may swap places by a rounding of s."""
    groups: dict = {}
    for i in range(len(ev)):
        key = (tuple(ev.pattern[i].tolist()), str(ev.kind[i]), int(ev.coordinate[i]),
               str(ev.before[i]), str(ev.after[i]), int(ev.dim_before[i]),
               int(ev.dim_after[i]))
        groups.setdefault(key, []).append((float(ev.s[i]), complex(ev.value[i])))
    return {k: sorted(v, key=lambda e: e[0]) for k, v in groups.items()}


def assert_same_continuation(fast, slow):
    """The same branches and events, the s of each to 1e-10, the values to 1e-6."""
    for f in ("pattern", "in_box", "degenerate"):
        np.testing.assert_array_equal(getattr(fast.branches, f), getattr(slow.branches, f))
    for f in ("s_start", "s_end"):
        np.testing.assert_allclose(getattr(fast.branches, f), getattr(slow.branches, f),
                                   rtol=0, atol=1e-10)
    a, b = _event_groups(fast.events), _event_groups(slow.events)
    assert a.keys() == b.keys()
    for key in a:
        assert len(a[key]) == len(b[key]), key
        for (s1, v1), (s2, v2) in zip(a[key], b[key]):
            assert abs(s1 - s2) <= 1e-10, (key, s1, s2)
            assert (np.isnan(v1.real) and np.isnan(v2.real)) or abs(v1 - v2) <= 1e-6 * max(
                1.0, abs(v2)), (key, v1, v2)


def _both(monkeypatch, Ws, **kw):
    fast = dynsys.continue_fixed_points(Ws, **kw)
    monkeypatch.setattr(C, "analyse_segment", R.reference_segment)
    slow = dynsys.continue_fixed_points(Ws, **kw)
    return fast, slow


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
@pytest.mark.parametrize("n, seed, step, K", [(3, 11, 0.6, 4), (4, 12, 0.4, 3),
                                             (5, 13, 0.3, 3), (6, 14, 0.2, 3),
                                             (7, 15, 0.15, 2)])
def test_the_compiled_exact_pass_equals_its_python_twin(monkeypatch, activation, n, seed,
                                                        step, K):
    fast, slow = _both(monkeypatch, random_path(n, K, seed, step), activation=activation)
    assert len(slow.events) > 0
    assert_same_continuation(fast, slow)


def test_the_compiled_exact_pass_equals_its_twin_at_n_8(monkeypatch):
    fast, slow = _both(monkeypatch, random_path(8, 2, 16, 0.1))
    assert len(slow.events) > 500
    assert_same_continuation(fast, slow)


@pytest.mark.parametrize("Ws", [
    [[[-1.0, 0.0], [0.5, -1.0]], [[-1.0, 0.0], [1.5, -1.0]]],        # a box event
    [[[-1.0, 2.0], [3.0, -1.0]], [[-1.0, 2.0], [3.0, 3.0]]],         # a singular block
    [[[-1.0, 2.0], [3.0, 0.0]], [[-2.0, 1.0], [1.0, 0.0]]],          # degenerate
], ids=["box", "singular", "degenerate"])
def test_the_closed_form_paths_without_pruning_equal_the_twin(monkeypatch, Ws):
    fast, slow = _both(monkeypatch, np.array(Ws), prune=False)
    assert_same_continuation(fast, slow)


def test_small_chunks_and_patterns_with_more_events_than_room(monkeypatch):
    Ws = random_path(5, 2, 13, 0.3)
    ref = dynsys.continue_fixed_points(Ws, activation="tanh")
    monkeypatch.setattr(C, "_CAP_PIECES", 1)
    monkeypatch.setattr(C, "_CAP_EVENTS", 1)
    monkeypatch.setattr(C, "_CHUNK", 7)
    tight = dynsys.continue_fixed_points(Ws, activation="tanh")
    assert max(np.unique(ref.events.pattern, axis=0, return_counts=True)[1]) > 1
    assert_same_continuation(tight, ref)


# --- the pruning pass ----------------------------------------------------------------------


def _unit_segment(W0, W1, activation):
    act = make_activation(activation)
    (U0, c0), (U1, c1) = act.unit_weights(W0), act.unit_weights(W1)
    n = W0.shape[0]
    c0 = np.zeros(n) if c0 is None else c0
    c1 = np.zeros(n) if c1 is None else c1
    return (np.ascontiguousarray(U0), np.ascontiguousarray(U1 - U0),
            np.ascontiguousarray(c0, np.float64), np.ascontiguousarray(c1 - c0, np.float64))


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
@pytest.mark.parametrize("n, seed", [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)])
def test_the_pruning_pass_equals_its_twin(activation, n, seed):
    Ws = random_path(n, 2, seed, 0.3)
    W0, dW, c0, dc = _unit_segment(Ws[0], Ws[1], activation)
    nodes, to_b = C._TABLES
    rank_tol, face_tol, zero_abs = 1e-10, 1e-9, 1e-12
    states = np.full(3**n, KC.STATE_CANDIDATE, np.int8)
    solves = np.zeros(1 << n, np.int64)
    KC.prefilter_segment(W0, dW, c0, dc, nodes, to_b, rank_tol, face_tol, KC.MARGIN,
                         zero_abs, states, solves)
    want = R.prefilter_reference(W0, dW, c0, dc, rank_tol, face_tol, KC.MARGIN, zero_abs)
    np.testing.assert_array_equal(states, want)
    if n >= 3:
        assert {KC.STATE_OUT, KC.STATE_CANDIDATE} <= set(states.tolist())


def test_the_pruning_pass_finds_degenerate_blocks_and_copies():
    # W_11 = 0 all along: the blocks with coordinate 1 interior are singular; the logistic
    # origin's copies (an interior coordinate at 0 at every node) are copies
    W0 = np.array([[-1.0, 2.0], [3.0, 0.0]])
    W1 = np.array([[-2.0, 1.0], [1.0, 0.0]])
    U0, dU, c0, dc = _unit_segment(W0, W1, "logistic")
    nodes, to_b = C._TABLES
    states = np.full(9, KC.STATE_CANDIDATE, np.int8)
    KC.prefilter_segment(U0, dU, c0, dc, nodes, to_b, 1e-10, 1e-9, KC.MARGIN, 1e-12,
                         states, np.zeros(4, np.int64))
    want = R.prefilter_reference(U0, dU, c0, dc, 1e-10, 1e-9, KC.MARGIN, 1e-12)
    np.testing.assert_array_equal(states, want)
    assert KC.STATE_DEGENERATE in set(states.tolist())
    assert KC.STATE_COPY in set(states.tolist())


# --- root isolation ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_the_kernels_isolation_equals_the_twins(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(3, 12))
    # Bernstein coefficients of a polynomial with roots in [0, 1], one of them double
    roots = np.concatenate([rng.uniform(0, 1, size=m - 3), [0.37, 0.37]])
    nodes, to_b = C._TABLES
    d = roots.size
    vals = np.prod(nodes[d, :d + 1, None] - roots[None, :], axis=1)
    b = to_b[d, :d + 1, :d + 1] @ vals
    tau = KC.MARGIN * np.max(np.abs(b))
    want: list = []
    R.isolate(b, 0.0, 1.0, tau, want, 0)
    got = KC.isolate(b, b.size, tau, KC.MAX_DEPTH)
    assert sorted(got) == sorted(want)
    left, right = np.empty(b.size), np.empty(b.size)
    KC.de_casteljau(b, b.size, left, right)
    ref_left, ref_right = R.de_casteljau(b)
    np.testing.assert_array_equal(left, ref_left)
    np.testing.assert_array_equal(right, ref_right)


def test_a_pattern_that_runs_out_of_steps_is_reported(monkeypatch):
    # the rotation path's in-box pattern (1, 2, 2) needs more than one step per piece
    a = np.array([[0.0, -1.0], [1.0, 0.0]])
    W = np.zeros((2, 3, 3))
    for i, shift in enumerate((-0.5, 0.5)):
        A = a + shift * np.eye(2)
        W[i, 0, 0] = 2.0
        W[i, 1:, 1:] = A
        W[i, 1:, 0] = -A @ np.array([0.5, 0.5])
    monkeypatch.setattr(C, "MAX_STEPS", 1)
    with pytest.warns(RuntimeWarning, match="more than 1 steps"):
        dynsys.continue_fixed_points(W)
