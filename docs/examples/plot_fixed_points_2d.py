"""
Every fixed point of a 2-D system on its phase portrait
=======================================================

For N = 2, eq. 3 reads dy_i/dt = y_i (1 - y_i) (W y)_i. :func:`dynsys.fixed_points` finds all
3^2 - 2^2 + 1 = 6 distinct fixed points (the origin is given by the 4 patterns without a 1,
so the paper's 3^N overcounts). Inside the unit square, where residuals live, the flow is drawn
as streamlines; the points outside the square are fixed points of the polynomial system
that no sigmoid output can reach. Colours give the flow's verdict; a black ring marks in-box
points where the step-1 layer map of the real network disagrees.
"""

import matplotlib.pyplot as plt
import numpy as np

import dynsys

W = np.array([[-1.0, 2.0], [3.0, -1.0]])
fp = dynsys.fixed_points(W)
print(fp.summary())

colours = {"stable": "tab:blue", "unstable": "tab:red", "saddle": "tab:orange",
           "non-hyperbolic": "tab:gray"}

lo = min(-0.5, fp.points.min() - 0.3)
hi = max(1.5, fp.points.max() + 0.3)
g = np.linspace(lo, hi, 60)
Y1, Y2 = np.meshgrid(g, g)
F = dynsys.vector_field(W, np.stack([Y1.ravel(), Y2.ravel()], axis=1))
U, V = F[:, 0].reshape(Y1.shape), F[:, 1].reshape(Y1.shape)
speed = np.log1p(np.hypot(U, V))

fig, ax = plt.subplots(figsize=(6.4, 5.6))
ax.streamplot(Y1, Y2, U, V, color=speed, cmap="Greys", density=1.3, linewidth=0.7,
              arrowsize=0.8)
ax.add_patch(plt.Rectangle((0, 0), 1, 1, fill=False, lw=1.5, ls="--", color="k"))
for y, lab, mult, mlab in zip(fp.points, fp.stability, fp.multiplicity, fp.map_stability):
    ax.scatter(*y, s=90, color=colours[lab], zorder=3, edgecolor="k" if mlab not in
               (lab, "outside") else "none", linewidth=2)
    note = f"  x{mult}" if mult > 1 else ""
    ax.annotate(f"{lab}{note}", y, textcoords="offset points", xytext=(6, 6), fontsize=8)
for lab, c in colours.items():
    ax.scatter([], [], color=c, label=lab)
ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="$y_1$", ylabel="$y_2$",
       title=f"dy/dt = y(1-y)(Wy): {len(fp)} fixed points (3^N - 2^N + 1)")
ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
plt.show()
