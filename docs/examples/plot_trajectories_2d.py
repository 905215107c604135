"""
Residual trajectories of a 2-D system over its phase portrait
=============================================================

The residuals of a shared-weight ResNet follow, in the continuous limit, eq. 3 of the paper:
``dy/dt = y (1 - y) (W y)``. For N = 2 the whole picture fits on a page: the vector field on
the unit square, the fixed points (from :func:`dynsys.fixed_points`, coloured by stability),
and trajectories from a grid of starting residuals integrated in one batched call of
:func:`dynsys.integrate`, each coloured by the stable fixed point it reaches
(:func:`dynsys.basins` does the same assignment by Monte Carlo); grey trajectories reach
none.

Left: mutual inhibition, ``W = [[1, -2], [-2, 1]]``: two stable corners (1, 0) and (0, 1);
their basins are split by the diagonal y1 = y2, which is invariant and flows into the
(non-hyperbolic) origin. Right: ``W = [[-2, 1], [1, 1]]``, where every trajectory ends on the
edge point (1/2, 1): its interior coordinate solves ``w11 y1 + w12 = 0``. For a generic W
eq. 3 has no fixed point strictly inside the square (that would need ``W y = 0``); attractors
sit on faces, edges and corners.
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys

STYLE = {
    "stable": dict(marker="o", color="k", s=60, zorder=5),
    "unstable": dict(marker="o", facecolor="w", edgecolor="k", s=60, zorder=5),
    "saddle": dict(marker="X", color="tab:red", s=70, zorder=5),
    "non-hyperbolic": dict(marker="s", color="tab:gray", s=40, zorder=5),
}

systems = {
    "mutual inhibition": np.array([[1.0, -2.0], [-2.0, 1.0]]),
    "an attracting edge point": np.array([[-2.0, 1.0], [1.0, 1.0]]),
}

g = np.linspace(0.05, 0.95, 7)
y0 = np.array([[a, b] for a in g for b in g])  # 49 starting residuals
t_eval = np.linspace(0.0, 60.0, 601)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), constrained_layout=True)
for ax, (title, W) in zip(axes, systems.items()):
    # vector field of eq. 3 on the unit square
    u = np.linspace(0, 1, 25)
    U, V = np.meshgrid(u, u)
    F = dynsys.vector_field(W, np.column_stack([U.ravel(), V.ravel()]))
    ax.streamplot(U, V, F[:, 0].reshape(U.shape), F[:, 1].reshape(U.shape),
                  color="0.8", density=1.0, linewidth=0.7)

    # all trajectories in one batched, compiled call
    sol = dynsys.integrate(W, y0, t_eval)
    stable = dynsys.fixed_points(W, only="stable_in_box").points
    end = sol.y[-1]
    dist = np.abs(end[:, None, :] - stable[None]).max(axis=2)
    label = np.argmin(dist, axis=1)
    colors = plt.cm.tab10(label)
    colors[dist.min(axis=1) > 1e-3] = (0.4, 0.4, 0.4, 1.0)  # reached no stable point
    for b in range(y0.shape[0]):
        ax.plot(sol.y[:, b, 0], sol.y[:, b, 1], color=colors[b], lw=1.0, alpha=0.8)
        ax.plot(*y0[b], ".", color=colors[b], ms=4)

    # fixed points in the closed square, by stability of the flow
    fps = dynsys.fixed_points(W, only="in_box")
    for p, lab in zip(fps.points, fps.stability):
        ax.scatter(p[0], p[1], **STYLE[lab])

    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal", xlabel="$y_1$",
           ylabel="$y_2$", title=f"{title}: W = {W.tolist()}")
for lab, st in STYLE.items():
    axes[0].scatter([], [], label=lab, **st)
fig.legend(loc="outside lower center", ncol=4, fontsize=9)
plt.show()
