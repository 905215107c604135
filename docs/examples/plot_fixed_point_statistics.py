"""
Fixed points of random networks
===============================

How many stable fixed points does a random residual network of width N have in the unit cube,
for the flow of eq. 3 and for the layer map the network computes? Each sample is counted
exactly (all 3^N patterns); the error bars are 95 % confidence intervals of the ensemble mean
(Student t). Entries of W are Gaussian with variance g^2 / N.

The docs build runs N = 4..10 with 12 samples per point to stay within seconds; the same call
with ``range(4, 19)`` and more samples (or ``client=`` a Dask cluster) gives N up to 18.
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys

sizes = list(range(4, 11))
gains = [0.5, 1.0, 2.0]
n_samples = 12

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
for g, color in zip(gains, ["tab:blue", "tab:orange", "tab:green"]):
    for ax, quantity in zip(axes, ["stable_in_box", "map_stable_in_box"]):
        mean, lo, hi = [], [], []
        for n in sizes:
            st = dynsys.fixed_point_statistics(n, n_samples, gain=g, seed=n)
            mean.append(st.mean[quantity])
            low, high = st.interval(quantity)
            lo.append(mean[-1] - max(low, 0.0))
            hi.append(high - mean[-1])
        ax.errorbar(sizes, mean, yerr=[lo, hi], marker="o", ms=3, capsize=2, color=color,
                    label=f"g = {g:g}")
axes[0].set_title("flow-stable, in the box")
axes[1].set_title("layer-map stable, in the box")
for ax in axes:
    ax.set_xlabel("N")
    ax.set_yscale("log")
axes[0].set_ylabel("mean number of points")
axes[0].legend()
fig.tight_layout()

# %%
# One ensemble in full: the distribution of the number of stable in-box points at N = 8.
st = dynsys.fixed_point_statistics(8, 40, gain=2.0, seed=1)
print(st.table())
values, freq = st.distribution("stable_in_box")
print(dict(zip(values.tolist(), np.round(freq, 3).tolist())))
