"""
How a network's attractors form during training
===============================================

A shared-weight ResNet of width 6 and depth 10 is trained for 8 epochs on scikit-learn's 8x8
digits, keeping the weights of every epoch (``keep_epochs=True``; epoch 0 is the initial
weights). Three views of the same training path:

1. the attractor census of the test inputs at every epoch, each end point followed from epoch
   to epoch (:func:`dynsys.track_census` through :func:`analysis.compute_landscape`): a river
   plot of where the inputs end, beside the loss and the test error;
2. the points the inputs reach, by flow index, against the epoch;
3. every fixed point of the flow along the path of weights, continued exactly between the
   checkpoints (:func:`dynsys.continue_fixed_points`), with its events.
"""

import tempfile

import numpy as np

import analysis
import dynsys
import nets

data = nets.load_dataset("digits", seed=0)
run = tempfile.mkdtemp(prefix="landscape-")
config = nets.TrainConfig(dataset="digits", kind="shared", depth=10, width=6, epochs=8,
                          batch_size=32, seed=0, keep_epochs=True)
result = nets.train(config, out_dir=run, progress=False, data=data)
print(f"test accuracy {result.test_accuracy:.3f}; kept epochs {nets.kept_epochs(run)}")

# %%
# The census of the 449 test inputs at layer 1000 (followed to 50,000 if still moving), at
# every kept epoch. At initialisation nearly every input runs to one corner of the cube; as
# training proceeds new corners are born and take over classes, while the test error at the
# trained depth falls. All of them are attractors of the flow and of the layer map here.
path = analysis.load_training_path(run)
land = analysis.compute_landscape(path, data.x_test, data.y_test, depth=1000,
                                  max_depth=50_000)
print(analysis.landscape_events(land, max_events=12))

# %%
# The river plot: the share of inputs at each end point (the ten with most inputs over the
# run, labelled with their majority class), above the training loss, the test error at the
# trained depth and the error of the end-point classifier (the majority class of each end
# point). The end-point error stays far above the test error: this network classifies with
# its transient, not with its end states, as Lagzi (2018) describes.
fig = analysis.plot_landscape_river(land)

# %%
# The points reached, by the number of unstable directions of their flow.
fig = analysis.plot_landscape_counts(land)

# %%
# Every fixed point of eq. 3 along the path: the weights move linearly between consecutive
# checkpoints, each face pattern's point is a rational function of the path parameter s, and
# the events (a point reaching the boundary of the cube, a change of flow or layer-map
# stability) are roots of explicit functions of s, located to 1e-10.
Ws = np.stack([net.W for net in path.networks])
cont = dynsys.continue_fixed_points(Ws)
print(cont)
print(cont.events)
print(cont.events.of_kind("flow:complex").table())

# %%
# The fixed points in the box along the path (their mean coordinate), coloured by flow label,
# and the events below. ``cont.points_at(s)`` is the full set at any s, equal to a fresh
# :func:`dynsys.fixed_points` of ``W(s)``.
fig = analysis.plot_bifurcation_diagram(cont, samples=160)
