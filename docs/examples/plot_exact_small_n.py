"""
The exact picture of a small network
====================================

Sampling the trajectories of a 784-dimensional network can only guess at its fixed points. For a
small width every fixed point of eq. 3 can be enumerated (3^N patterns), so the picture is
exact: which fixed points lie in the unit cube, which of them are stable for the layer map the
network computes, how large their basins are, where each class's trajectories end, and whether
the classifier reads the end points or the transients.

Here N = 6 residual units excite themselves and inhibit each other (``w_ii = 2``,
``w_ij = -2.5``): a winner-take-all network, whose stable corners have a single unit at 1.
Three classes of inputs: class 0 starts with unit 0 ahead, classes 1 and 2 both with unit 1
ahead (so they end at the same corner), class 2 with unit 2 a close second. A linear readout
of the cumulative signal x(T) = x(0) + y(1) + ... + y(T) after T = 5 layers tells all three
apart; the end points alone cannot separate classes 1 and 2.
"""

import numpy as np

import dynsys
from analysis import compute_exact_picture, plot_exact_picture

N = 6
W = 2.0 * np.eye(N) - 2.5 * (1 - np.eye(N))
b = np.zeros(N)

rng = np.random.default_rng(0)
labels = np.repeat(np.arange(3), 40)
centers = np.full((3, N), -1.0)
centers[0, 0] = 1.0
centers[1, 1] = 1.0
centers[2, 1], centers[2, 2] = 1.5, 0.8
X = centers[labels] + 0.2 * rng.normal(size=(len(labels), N))


# a least-squares linear readout of x(5) (one-hot targets)
x5 = dynsys.iterate(dynsys.Network(W, b), X, 5, record="final").x_final
H = np.c_[x5, np.ones(len(X))]
coef = np.linalg.lstsq(H, np.eye(3)[labels], rcond=None)[0]
net = dynsys.Network(W, b, K=coef[:-1].T, c=coef[-1])

res = compute_exact_picture(net, X, labels, trained_depth=5, long_depth=300, n_basin=1000)
print(f"{res.n_fixed_points} fixed points ({res.n_in_box} in the cube), "
      f"{len(res.stable_points)} stable for the layer map")
print("basin fractions:", np.round(res.basin_fraction, 3))
print(f"accuracy from x(5): {res.acc_trained:.2f}, from end points alone: {res.acc_endpoint:.2f}")
plot_exact_picture(res)
