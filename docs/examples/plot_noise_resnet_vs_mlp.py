"""
Noise through the layers: ResNet against MLP on random weights
==============================================================

Uniform noise of maximum amplitude a is added to the inputs of two untrained networks with the
same random shared weights, a logistic ResNet (x <- x + f(W x + b)) and a logistic MLP
(y <- f(W y + b)), and :func:`dynsys.iterate_noise` follows the noise
xi(t) = y_noisy(t) - y_clean(t) layer by layer (Fig. 4 of Lagzi 2018 does this for trained
networks on MNIST). Left: the size of xi(t) through 30 layers for a = 0.1. Right: the paper's
noise-to-signal ratios (ResNet ||sum_t xi(t)|| / ||x(T)||, MLP ||xi(T)|| / ||y(T)||) against a.

The ResNet's residual noise settles at a level set by the input noise, because its residuals
settle; the MLP squeezes the noise through f' <= 1/4 at every layer and forgets its input, noise
and signal alike. :func:`dynsys.lyapunov` puts a number on both: the largest exponent of each
layer map along the clean runs.
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys

rng = np.random.default_rng(0)
N, B, T = 50, 100, 30
W = rng.normal(0.0, 2.0 / np.sqrt(N), (N, N))
b = rng.normal(0.0, 0.5, N)
x0 = rng.random((B, N))

nets = {kind: dynsys.Network(W, b, kind=kind) for kind in ("resnet", "mlp")}
runs = {kind: dynsys.iterate_noise(nets[kind], x0, T, amplitude=0.1, n_realizations=5, seed=1)
        for kind in ("resnet", "mlp")}

amplitudes = np.logspace(-3, 0, 5)
nsr = {kind: [dynsys.iterate_noise(nets[kind], x0, T, amplitude=a, n_realizations=3,
                                   seed=2).nsr_mean
              for a in amplitudes] for kind in ("resnet", "mlp")}

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
layers = np.arange(1, T + 1)
for kind, style in (("resnet", "C0-"), ("mlp", "C3--")):
    r = runs[kind]
    ax1.semilogy(layers, r.xi_norm_mean, style, label=kind)
    ax2.loglog(amplitudes, nsr[kind], style + "o", label=kind)
ax1.axhline(runs["resnet"].xi0_norm.mean(), color="0.5", lw=0.8, label="input noise ||xi(0)||")
ax1.set_xlabel("layer t")
ax1.set_ylabel("||xi(t)||, mean over inputs")
ax1.set_title("noise in the residuals, a = 0.1")
ax1.legend()
ax2.set_xlabel("maximum noise amplitude a")
ax2.set_ylabel("noise-to-signal ratio")
ax2.set_title("final hidden layer")
ax2.legend()
fig.tight_layout()

for kind in ("resnet", "mlp"):
    lam = dynsys.lyapunov(nets[kind], x0[:20], 300).largest
    r = runs[kind]
    print(f"{kind:6s}: noise-to-signal {r.nsr_mean:.3g}, cosine {r.cosine_mean:.4f}, "
          f"largest Lyapunov exponent {np.median(lam):+.3f} per layer")
