"""
Input noise: ResNet against MLP
===============================

Fig. 4 of Lagzi (2018) adds uniform noise of maximum amplitude a to the inputs and follows it
to the final hidden layer. This example runs the same sweep on two untrained "reservoir"
networks of width 64 on the 8x8 digits, 15 layers each: a shared-weight ResNet
(x <- x + f(W x + b)) and a shared-weight MLP (y <- f(V y)), each with a logistic-regression
readout fitted to its final hidden layer (a random MLP needs a larger gain to keep the input's
information across 15 layers). Both run through :func:`dynsys.iterate`. The noise-to-signal
ratio, the cosine similarity of the final hidden layers and the test accuracy are drawn
against a on a log axis.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import dynsys
from analysis import compute_noise_sweep, plot_noise_sweep

digits = load_digits()
X = digits.data / 16.0
y = digits.target
rng = np.random.default_rng(0)
perm = rng.permutation(len(y))
train, test = perm[:1200], perm[1200:]

N, T = X.shape[1], 15
W = rng.normal(0, 1.0 / np.sqrt(N), (N, N))
b = np.full(N, -2.0)
V = rng.normal(0, 3.0 / np.sqrt(N), (N, N))
resnet = dynsys.Network(W, b)
mlp = dynsys.Network(V, kind="mlp")


def resnet_hidden(x):
    return dynsys.iterate(resnet, x, T, record="final").x_final


def mlp_hidden(x):
    return dynsys.iterate(mlp, x, T, record="final").y_final


forwards = {}
for name, hidden in (("resnet_shared", resnet_hidden), ("mlp", mlp_hidden)):
    H = hidden(X[train])
    mu, sd = H.mean(axis=0), H.std(axis=0) + 1e-12
    clf = LogisticRegression(max_iter=2000).fit((H - mu) / sd, y[train])

    def forward(x, hidden=hidden, clf=clf, mu=mu, sd=sd):
        h = hidden(x)
        return h, clf.decision_function((h - mu) / sd)

    forwards[name] = forward

res = compute_noise_sweep(forwards, X[test], y[test], np.logspace(-2, 1, 10), n_realizations=3)
for name, cv in res.curves.items():
    print(f"{name}: clean accuracy {cv.clean_accuracy:.3f}, misclassifies from a = {cv.onset}")
plot_noise_sweep(res)
