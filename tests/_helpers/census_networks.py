"""Networks shared by the census tests."""

from __future__ import annotations

import numpy as np

import dynsys


def creeping_network(n_inputs=300, inhibition=-3.0):
    """A small network of the trained kind: two self-exciting coordinates that inhibit each
    other (two winner-take-all corners), six with negative self-coupling, each group
    inhibiting the other. Inputs whose winner does not emerge creep to the origin."""
    N = 8
    rng = np.random.default_rng(0)
    W = 0.15 * rng.normal(size=(N, N))
    np.fill_diagonal(W, -rng.uniform(0.5, 2.0, N))
    W[0, 0] = W[1, 1] = 2.0
    W[0, 1] = W[1, 0] = -3.0
    W[2:, :2] = -1.0
    W[:2, 2:] = inhibition
    x0 = rng.normal(size=(n_inputs, N)) * 2
    labels = np.where(x0[:, :2].max(axis=1) > 1.0, np.argmax(x0[:, :2], axis=1), 2)
    return dynsys.Network(W), x0, labels
