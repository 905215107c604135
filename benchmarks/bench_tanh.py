"""Benchmark: tanh networks against logistic ones, through the same kernels.

A tanh network reaches the fixed-point engines and the census as the logistic system with
weights 4W and the drive -2W1 (``docs/theory/tanh.rst``). The goals: its costs are within
1.2x of the logistic's. Prints, in one run on one machine, interleaved (A, B, A, B, ...):

1. ``count_fixed_points(W)`` and ``count_fixed_points(W, activation="tanh")`` of the same
   Gaussian W (default N = 20: 3.5e9 patterns), the median of each and the ratio; the work is
   that of the same walk over the same interior sets, so the ratio measures the drive's cost
   (the counts of the two systems differ: the pruning of the walk may clear more or fewer
   patterns, which the printed pattern counts show);
2. the census of a shared network of width 784 (a trained network's shape, or
   ``--weights FILE.npy``) on the same inputs, logistic and tanh, with its work counters
   (input-layers run densely and by the engine, near-margin coordinate updates, face
   solves). The same W is a different dynamical system under the two activations, so the
   counters tell a difference of dynamics (more work) apart from a difference of cost per
   unit of work (the drive's);
3. the like-for-like census: a logistic and a tanh network of width 784 trained on mnist5k
   with ``bench_census.py``'s configuration (about 30 s of training each), censused on
   ``bench_census.py``'s inputs.

Usage::

    python benchmarks/bench_tanh.py                    # N = 20, census of 2,000 inputs
    python benchmarks/bench_tanh.py --n 16 --inputs 500 --rounds 2   # a quick look
    python benchmarks/bench_tanh.py --only census       # one of the parts
    python benchmarks/bench_tanh.py --only trained --inputs 1000 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dynsys  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_count(n, rounds, seed):
    W = np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)
    # warm the compiled kernels on a small system of each activation
    for act in ("logistic", "tanh"):
        dynsys.count_fixed_points(W[:6, :6], activation=act)
    times = {"logistic": [], "tanh": []}
    counts = {}
    for _ in range(rounds):
        for act in ("logistic", "tanh"):
            dt, c = timed(lambda: dynsys.count_fixed_points(W, activation=act))
            times[act].append(dt)
            counts[act] = c
    print(f"\n1. count_fixed_points, N = {n} ({3**n:.3g} patterns), {rounds} rounds interleaved")
    for act in ("logistic", "tanh"):
        c = counts[act]
        print(f"   {act:9s} median {statistics.median(times[act]):8.2f} s  "
              f"(runs {', '.join(f'{t:.2f}' for t in times[act])})  total {c.total:,}, "
              f"in box {c.in_box:,}, stable in box {c.stable_in_box}")
    ratio = statistics.median(times["tanh"]) / statistics.median(times["logistic"])
    print(f"   tanh / logistic = {ratio:.3f}  (goal <= 1.2)")
    return ratio


def bench_census(width, n_inputs, rounds, seed, weights=None):
    rng = np.random.default_rng(seed)
    if weights is not None:
        W = np.load(weights)
    else:
        # a trained network's shape: weak random coupling and a self-coupling that makes 90 %
        # of the coordinates self-exciting (they saturate) and 10 % self-inhibiting (they stay
        # interior), so that the long-horizon engine, not only the dense phase, does the work
        W = rng.normal(size=(width, width)) * 1.0 / np.sqrt(width)
        self = np.where(rng.random(width) < 0.9, 1.0, -1.0)
        W[np.diag_indices(width)] += self
    b = rng.normal(size=W.shape[0]) * 0.1
    x0 = rng.normal(size=(n_inputs, W.shape[0]))
    nets_ = {act: dynsys.Network(W, b, activation=act) for act in ("logistic", "tanh")}
    return _time_censuses(nets_, x0, rounds,
                          f"2. attractor_census, width {W.shape[0]}, {n_inputs} inputs, depth "
                          f"1000, {rounds} rounds interleaved (the same W)")


def bench_trained_census(n_inputs, rounds):
    """The like-for-like census: a logistic and a tanh 784-wide shared ResNet trained on mnist5k
    with the configuration of ``bench_census.py``, censused on its inputs."""
    import nets
    from bench_census import _inputs

    nets_ = {}
    for act in ("logistic", "tanh"):
        config = nets.TrainConfig(dataset="mnist5k", kind="shared", depth=15, epochs=4,
                                  batch_size=64, seed=0, patience=0, activation=act)
        dt, r = timed(lambda: nets.train(config, progress=False))
        nets_[act] = nets.to_network(r.model)
        print(f"   {act}: trained in {dt:.0f} s, test accuracy {r.test_accuracy:.4f}")
    x0 = _inputs(n_inputs)
    return _time_censuses(nets_, x0, rounds,
                          f"3. attractor_census of the trained pair (mnist5k, width 784), "
                          f"{n_inputs} inputs, depth 1000, {rounds} rounds interleaved")


def _time_censuses(nets_, x0, rounds, title):
    for net in nets_.values():
        dynsys.attractor_census(net, x0[:8], 50)
    times = {act: [] for act in nets_}
    last = {}
    for _ in range(rounds):
        for act, net in nets_.items():
            dt, c = timed(lambda: dynsys.attractor_census(net, x0, 1000))
            times[act].append(dt)
            last[act] = c
    print(f"\n{title}")
    for act, c in last.items():
        print(f"   {act:9s} median {statistics.median(times[act]):8.2f} s  {c.counts()}  "
              f"work: dense {c.work['dense_layers']:,}, engine {c.work['engine_layers']:,} "
              f"input-layers, near-margin updates {c.work['near_updates']:,}, face solves "
              f"{c.work['face_solves']:,}")
    ratio = statistics.median(times["tanh"]) / statistics.median(times["logistic"])
    print(f"   tanh / logistic = {ratio:.3f}  (goal <= 1.2)")
    return ratio


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20, help="N of the count (default 20)")
    p.add_argument("--width", type=int, default=784, help="width of the census network")
    p.add_argument("--inputs", type=int, default=2000, help="census inputs (default 2000)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--weights", default=None, help="a (N, N) .npy file for the census")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=("count", "census", "trained"), default=None,
                   help="run one part (default: all three)")
    args = p.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}")
    if args.only in (None, "count"):
        bench_count(args.n, args.rounds, args.seed)
    if args.only in (None, "census"):
        bench_census(args.width, args.inputs, args.rounds, args.seed, args.weights)
    if args.only in (None, "trained"):
        bench_trained_census(min(args.inputs, 1000) if args.only is None else args.inputs,
                             args.rounds)


if __name__ == "__main__":
    main()
