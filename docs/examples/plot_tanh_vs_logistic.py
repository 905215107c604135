"""
A tanh network beside a logistic one
====================================

Two shared-weight ResNets of width 10 and depth 15 are trained on scikit-learn's 8x8 digits,
one with logistic units, one with tanh units, from the same seed. For each, every fixed point
of its flow is listed exactly (:func:`dynsys.fixed_points`: the logistic's cube
:math:`[0, 1]^{10}` holds at most :math:`3^{10} - 2^{10} + 1` of them, the tanh's
:math:`[-1, 1]^{10}` up to :math:`3^{10}`), and the attractor census says where each test
input ends when the network is run far past its training depth.
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys
from nets import TrainConfig, load_dataset, to_network, train

data = load_dataset("digits", seed=0)
nets_, results = {}, {}
for act in ("logistic", "tanh"):
    config = TrainConfig(dataset="digits", kind="shared", depth=15, width=10, epochs=10,
                         batch_size=32, seed=0, activation=act)
    results[act] = train(config, progress=False, data=data)
    nets_[act] = to_network(results[act].model)
    print(nets_[act], f"test accuracy {results[act].test_accuracy:.3f}")

# %%
# Every fixed point of each network's flow, with its flow and layer-map labels, and the
# census of the test inputs at layer 2000 (followed to layer 50,000 if they are still moving).
fps, censuses = {}, {}
for act, net in nets_.items():
    fps[act] = dynsys.fixed_points(net)
    censuses[act] = dynsys.attractor_census(net, data.x_test, 2000, max_depth=50_000,
                                            labels=data.y_test)
    print(fps[act])
    print(fps[act].summary())
    print(censuses[act])

# %%
# Left: the fixed points in each network's box by flow label. Every one of the 3^10 tanh
# patterns gives its own point (the logistic's 2^10 patterns without a coordinate at 1 all give
# the origin), and both networks have a few thousand points in their box, nearly all saddles.
# Right: where the test inputs end, by status. Trained from the same seed, the tanh network
# leaves many inputs still moving at layer 50,000: they oscillate in three unsaturated
# coordinates, far from every fixed point, with no period of up to ``max_period`` (64)
# layers, which the census reports as "not converged" rather than forcing a verdict.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
labels = list(dynsys.LABELS)
width = 0.38
for j, act in enumerate(("logistic", "tanh")):
    fp = fps[act]
    counts = [int(np.count_nonzero(fp.in_box & (fp.stability == lab))) for lab in labels]
    axes[0].bar(np.arange(len(labels)) + (j - 0.5) * width, counts, width, label=act)
    c = censuses[act].counts()
    statuses = list(dynsys.CENSUS_STATUSES)
    axes[1].bar(np.arange(len(statuses)) + (j - 0.5) * width, [c[s] for s in statuses], width,
                label=act)
axes[0].set_xticks(np.arange(len(labels)), labels, fontsize=8)
axes[0].set_yscale("log")
axes[0].set_ylabel("fixed points in the box")
axes[0].set_title("the flow's fixed points (width 10)")
axes[0].legend(fontsize=8)
axes[1].set_xticks(np.arange(len(statuses)), statuses, fontsize=8)
axes[1].set_ylabel("test inputs")
axes[1].set_title("where the test inputs end")
axes[1].legend(fontsize=8)
plt.show()

# %%
# Every census point is one of the listed fixed points (to rounding), for both activations.
for act in ("logistic", "tanh"):
    pts, listed = censuses[act].points, fps[act].points
    gap = max((np.abs(listed - p).max(axis=1).min() for p in pts), default=0.0)
    print(f"{act}: {len(pts)} census points, farthest from a listed point by {gap:.1e}")
