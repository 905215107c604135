"""Benchmark of :func:`dynsys.continue_fixed_points` on random paths.

The path: ``W_0`` with entries N(0, 1/N), then a random walk, ``W_{k+1} = W_k + step G_k``
with ``G_k`` of entries N(0, 1/N). Prints, per case, the wall time, the branches and events,
and the work per segment: patterns examined, the fraction the compiled Bernstein pass
decided alone (no eigenvalue), linear solves and eigenvalue problems per pattern.

Goals (2 cores): N = 10 through 50 checkpoints in under 60 s; N = 12 through 20 checkpoints
in under 5 minutes.

Usage::

    python benchmarks/bench_continuation.py --n 10 --k 50           # one case
    python benchmarks/bench_continuation.py --n 12 --k 20 --step 0.1
    python benchmarks/bench_continuation.py --quick                  # smoke run (seconds)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dynsys  # noqa: E402


def random_path(n: int, k: int, step: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    out = [W]
    for _ in range(k - 1):
        W = W + step * rng.normal(size=(n, n)) / np.sqrt(n)
        out.append(W)
    return np.array(out)


def run(n: int, k: int, step: float, seed: int, activation: str) -> None:
    Ws = random_path(n, k, step, seed)
    dynsys.continue_fixed_points(Ws[:2, :2, :2], activation=activation)  # compile
    t0 = time.perf_counter()
    cont = dynsys.continue_fixed_points(Ws, activation=activation)
    elapsed = time.perf_counter() - t0
    w = cont.work
    per = w.per_pattern
    print(f"N = {n}, K = {k}, step = {step}, {activation}, seed {seed}: {elapsed:.1f} s "
          f"({elapsed / (k - 1):.2f} s per segment); branches {len(cont.branches)}, "
          f"events {len(cont.events)}")
    print(f"  per segment: {int(w.patterns[0])} patterns, pruned {per['pruned_fraction']:.3f}, "
          f"candidates {w.candidates.mean():.0f} (max {w.candidates.max()}), eigenvalue "
          f"problems {w.eigen_solves.mean():.0f}; per pattern: {per['solves']:.2f} solves, "
          f"{per['eigen_solves']:.3f} eigenvalue problems")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--step", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--activation", default="logistic")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    if args.quick:
        run(6, 3, 0.1, 0, "logistic")
        return
    run(args.n, args.k, args.step, args.seed, args.activation)


if __name__ == "__main__":
    main()
