"""
Train a tiny ResNet on digits and look at its residuals
=======================================================

:mod:`nets` trains a 15-layer residual network with one shared weight matrix on
scikit-learn's 8x8 digits (projected to width 128) in seconds of CPU; the recording forward
pass then gives every layer's residuals y(t) = f(W x(t-1) + b). The exported float64 weights go straight to
``dynsys.iterate``, which reproduces the same residuals from the weights alone, and the
shared-weight network can be run far past its training depth.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import dynsys
from nets import TrainConfig, export_weights, load_dataset, train

data = load_dataset("digits", seed=0)
config = TrainConfig(dataset="digits", kind="shared", depth=15, width=128, epochs=8,
                     batch_size=32, seed=0)
result = train(config, progress=False, data=data)
print(f"test accuracy after {len(result.history)} epochs: {result.test_accuracy:.3f}")

# %%
# The recording forward pass: y has shape (T, B, N), x has shape (T + 1, B, N).
model = result.model
x_test = torch.from_numpy(np.array(data.x_test[:300]))
labels = data.y_test[:300]
with torch.no_grad():
    rec = model(x_test, record=True, depth=60)  # shared weights: run 60 layers
y = rec.y.numpy()
print("recorded residuals:", y.shape)

# %%
# The same residuals from the exported weights alone, with ``dynsys``.
w = export_weights(model)
res = dynsys.iterate(w.network, data.x_test[:300], 60)
print("max |torch - dynsys| over 60 layers:", float(np.abs(res.y - y).max()))

# %%
# Mean residual of three neurons per class, and the within-class spread, over the layers.
# The dashed line marks the training depth (15).
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), constrained_layout=True)
layers = np.arange(1, y.shape[0] + 1)
neurons = np.argsort(-y[-1].std(axis=0))[:3]
for c, color in zip(range(3), ("C0", "C1", "C2")):
    for n, style in zip(neurons, ("-", "--", ":")):
        axes[0].plot(layers, y[:, labels == c, n].mean(axis=1), style, color=color,
                     label=f"class {c}" if n == neurons[0] else None)
axes[0].set_title(f"neurons {neurons[0]} (solid), {neurons[1]} (dashed), {neurons[2]} (dotted)",
                  fontsize=9)
axes[0].set_xlabel("layer t")
axes[0].set_ylabel("mean residual y(t)")
axes[0].legend(fontsize=7)
spread = np.mean([y[:, labels == c].std(axis=1).mean(axis=1) for c in range(10)], axis=0)
axes[1].semilogy(layers, spread)
axes[1].set_xlabel("layer t")
axes[1].set_ylabel("within-class std of y(t)")
for ax in axes:
    ax.axvline(15, color="grey", ls="--", lw=0.8)
plt.show()
