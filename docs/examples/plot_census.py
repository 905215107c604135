"""
The attractor census of a small trained network
===============================================

Where does every test input of a trained shared-weight ResNet end? :mod:`nets` trains a
32-wide, 15-layer network on scikit-learn's 8x8 digits in a few seconds;
:func:`dynsys.attractor_census` then runs each test input far past the training depth, finds
the face of the cube it ends on, solves the fixed point of that face exactly and labels it
for the flow and for the layer map. Inputs passing a saddle at layer 1000 are followed up to
layer 100,000 (``max_depth``).
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys
from nets import TrainConfig, load_dataset, to_network, train

data = load_dataset("digits", seed=0)
config = TrainConfig(dataset="digits", kind="shared", depth=15, width=32, epochs=8,
                     batch_size=32, seed=0)
result = train(config, progress=False, data=data)
net = to_network(result.model)
print(net, f"test accuracy {result.test_accuracy:.3f}")

# %%
# The census at layer 1000, and the same inputs followed until they settle. The end-point
# classifier (majority class per fixed point) is fitted on the training inputs.
kw = dict(labels=data.y_test, train_x0=data.x_train, train_labels=data.y_train)
at_1000 = dynsys.attractor_census(net, data.x_test, 1000, **kw)
final = dynsys.attractor_census(net, data.x_test, 1000, max_depth=100_000, **kw)
print(at_1000)
print(final)
print(final.table())

# %%
# Left: the status of each test input at layer 1000, per class. Middle: the fixed points
# reached in the end, by their leading flow eigenvalue and the number of inputs that end there
# (stable points have a negative one; the saddles' small positive one is the slow passage).
# Right: the fraction of inputs settled at an attractor (or on a cycle) against depth.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
C = at_1000.status_counts.shape[1]
bottom = np.zeros(C)
for s, counts in zip(("attractor", "saddle", "cycle", "not converged"),
                     at_1000.status_counts):
    axes[0].bar(np.arange(C), counts, bottom=bottom, label=s)
    bottom += counts
axes[0].set_xlabel("class")
axes[0].set_ylabel("test inputs")
axes[0].set_title("status at layer 1000")
axes[0].legend(fontsize=7)

n_in = np.bincount(final.assignment[final.assignment >= 0], minlength=len(final))
stable = final.map_stability == "stable"
axes[1].scatter(final.leading_eigenvalue[stable], n_in[stable], label="map-stable")
axes[1].scatter(final.leading_eigenvalue[~stable], n_in[~stable], marker="x",
                label="saddle")
axes[1].axvline(0.0, color="gray", lw=0.5)
axes[1].set_yscale("log")
axes[1].set_xlabel("leading flow eigenvalue")
axes[1].set_ylabel("inputs ending there")
axes[1].set_title(f"{len(final)} fixed points reached")
axes[1].legend(fontsize=7)

depths = np.unique(np.geomspace(1, 100_000, 60).astype(int))
axes[2].semilogx(depths, final.fraction_settled(depths))
axes[2].set_xlabel("layer")
axes[2].set_ylabel("fraction settled")
axes[2].set_ylim(0, 1.02)
axes[2].set_title(f"end-point accuracy {final.endpoint_accuracy:.2f} "
                  f"(readout {result.test_accuracy:.2f})", fontsize=9)
plt.show()
