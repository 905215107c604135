"""The census tracked over the checkpoints of a training run: its cost against independent censuses.

Times, on the same inputs and checkpoints:

1. ``dynsys.attractor_census(net_k, X, depth, labels=y)`` for every checkpoint k, one after
   the other: the sum of the independent censuses;
2. ``dynsys.track_census(nets, X, depth, labels=y)``: the same censuses plus the identities
   matched from checkpoint to checkpoint, the flows, shares, births, deaths and face changes
   (goal: at most 1.2x the sum of (1)).

It checks that every census of (2) equals the one of (1) (points, patterns, assignments,
statuses), prints the track's table and a timing table, then a JSON summary.

The checkpoints: by default a synthetic path of weights that looks like training,
``W_k = W_0 + k / (K - 1) (W_1 - W_0)`` (and the same for the biases), k = 0..K-1, from the
initial weights W_0 of the shared-weight ResNet of width 784 that ``bench_census.py`` trains
(mnist5k, 4 epochs, seed 0) to its trained weights W_1. With ``--run RUN``, the kept epochs of a
training run folder (``resdyn train --keep-epochs``) instead, K of them evenly spaced. The
inputs and labels: the 5,000 mnist5k images (training and test) and the same images with
Gaussian pixel noise (sd 0.1, clipped to [0, 1]), as in ``bench_census.py``.

Usage::

    python benchmarks/bench_track_census.py                    # 10,000 inputs, 20 checkpoints
    python benchmarks/bench_track_census.py --inputs 500 --checkpoints 3 --epochs 1  # quick
    python benchmarks/bench_track_census.py --weights w.npz    # W_0 and W_1 saved before
    python benchmarks/bench_track_census.py --save-weights w.npz   # train, save, run
    python benchmarks/bench_track_census.py --run RUN          # the kept epochs of a run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

GOAL_RATIO = 1.2


def _config(epochs):
    import nets

    # the network of bench_census.py
    return nets.TrainConfig(dataset="mnist5k", kind="shared", depth=15, epochs=epochs,
                            batch_size=64, seed=0, patience=0)


def _endpoints(epochs, save=None):
    """(W0, b0, W1, b1): the initial and the trained weights of the shared ResNet."""
    import torch

    import nets

    config = _config(epochs)
    torch.manual_seed(config.seed)  # the initialisation nets.train starts from
    initial = nets.to_network(nets.model_for_config(config, 784, 10))
    trained = nets.to_network(nets.train(config, progress=False).model)
    W0, b0, W1, b1 = initial.W, initial.b, trained.W, trained.b
    if save:
        np.savez(save, W0=W0, b0=b0, W1=W1, b1=b1)
    return W0, b0, W1, b1


def synthetic_checkpoints(W0, b0, W1, b1, K):
    """K networks on the straight path from (W0, b0) to (W1, b1)."""
    import dynsys

    s = np.linspace(0.0, 1.0, K) if K > 1 else np.ones(1)
    return [dynsys.Network(W0 + t * (W1 - W0), b0 + t * (b1 - b0)) for t in s]


def run_checkpoints(run, K):
    """K networks of the kept epochs of a run folder, evenly spaced from first to last."""
    import nets

    epochs = nets.kept_epochs(run)
    if not epochs:
        raise SystemExit(f"--run {run}: the run keeps no epochs (train it with --keep-epochs).")
    pick = sorted({epochs[int(round(i))] for i in np.linspace(0, len(epochs) - 1, K)})
    return [nets.to_network(run, epoch=e) for e in pick], pick


def inputs_and_labels(B, seed=0):
    """The mnist5k images and their noisy copies (as bench_census.py), B of them, and labels."""
    import nets

    data = nets.load_mnist5k()
    X = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_test)]).astype(np.float64)
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_test)]).astype(np.int64)
    rng = np.random.default_rng(seed)
    xs, ys = [X], [y]
    while sum(len(c) for c in xs) < B:
        xs.append(np.clip(X + 0.1 * rng.standard_normal(X.shape), 0.0, 1.0))
        ys.append(y)
    return np.concatenate(xs)[:B], np.concatenate(ys)[:B]


def _same(a, b):
    return (np.array_equal(a.points, b.points) and np.array_equal(a.patterns, b.patterns)
            and np.array_equal(a.assignment, b.assignment)
            and np.array_equal(a.status, b.status))


def bench(nets_, X, y, depth, max_depth):
    import dynsys

    dynsys.attractor_census(nets_[0], X[:4], 50)  # compiled kernels loaded from the cache
    per = []
    refs = []
    for net in nets_:
        t0 = time.perf_counter()
        refs.append(dynsys.attractor_census(net, X, depth, labels=y, max_depth=max_depth))
        per.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    track = dynsys.track_census(nets_, X, depth, labels=y, max_depth=max_depth)
    t_track = time.perf_counter() - t0
    equal = all(_same(a, b) for a, b in zip(track.censuses, refs))
    return track, per, t_track, equal


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000, help="B (default 10,000)")
    ap.add_argument("--checkpoints", type=int, default=20, help="K (default 20)")
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--max-depth", type=int, default=None,
                    help="follow unsettled inputs to this layer (default: not followed)")
    ap.add_argument("--epochs", type=int, default=4,
                    help="training epochs of the trained end point W_1 (default 4)")
    ap.add_argument("--weights", help=".npz with W0, b0, W1, b1 (else train on mnist5k)")
    ap.add_argument("--save-weights", help="write W0, b0, W1, b1 here")
    ap.add_argument("--run", help="a run folder trained with --keep-epochs: its kept epochs are "
                                  "the checkpoints")
    args = ap.parse_args(argv)
    if args.inputs < 1 or args.checkpoints < 1:
        raise SystemExit("--inputs and --checkpoints must be at least 1.")
    picked = None
    if args.run:
        nets_, picked = run_checkpoints(args.run, args.checkpoints)
        source = f"kept epochs {picked} of {os.path.basename(os.path.normpath(args.run))}"
    else:
        if args.weights:
            d = np.load(args.weights)
            W0, b0, W1, b1 = d["W0"], d["b0"], d["W1"], d["b1"]
            source = f"straight path between the weights of {os.path.basename(args.weights)}"
        else:
            W0, b0, W1, b1 = _endpoints(args.epochs, args.save_weights)
            source = (f"straight path from the initial to the trained ({args.epochs} epochs) "
                      "784-wide shared ResNet on mnist5k")
        nets_ = synthetic_checkpoints(W0, b0, W1, b1, args.checkpoints)
    X, y = inputs_and_labels(args.inputs)
    track, per, t_track, equal = bench(nets_, X, y, args.depth, args.max_depth)
    total = float(sum(per))
    ratio = t_track / total if total > 0 else float("nan")
    print(track.table())
    print()
    print(f"{'checkpoint':>10}  {'census (s)':>10}  {'points':>6}")
    for k, (t, c) in enumerate(zip(per, track.censuses)):
        print(f"{k:>10}  {t:>10.2f}  {len(c):>6}")
    print()
    print(f"independent censuses, sum: {total:.2f} s")
    print(f"track_census:              {t_track:.2f} s, ratio {ratio:.3f} "
          f"(goal <= {GOAL_RATIO}); censuses equal to the independent ones: {equal}")
    summary = dict(platform=platform.platform(), cpus=os.cpu_count(), B=len(X),
                   K=len(nets_), depth=args.depth, max_depth=args.max_depth,
                   checkpoints=source, census_s=per, census_sum_s=total, track_s=t_track,
                   ratio=ratio, ratio_ok=bool(ratio <= GOAL_RATIO), censuses_equal=equal,
                   identities=track.n_ids, births=len(track.births), deaths=len(track.deaths),
                   face_changes=len(track.face_changes), load_avg=os.getloadavg()[0])
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
