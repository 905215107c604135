"""Forward pass of the layer maps: speed against bare GEMMs and streaming memory.

Prints, in one run:

1. a 15-layer shared-weight residual forward, B = 10,000, N = 784, float32
   (``dynsys.iterate(net, x0, 15, record="final")``, validation of x0 included; the
   ``dynsys.Network`` is built once, outside the timing) against 15 bare matrix
   products of the same shapes (``np.matmul(x, W.T, out=buf)``), interleaved, with the
   ratio of medians and of minima (goal: <= 1.25), for both engines (the default "auto" picks "fused" here;
   ``engine="layerwise"`` and ``engine="fused"``);
2. the peak memory of a streaming 1000-layer run (``record="stats"`` with class labels and the
   convergence test), B = 10,000, N = 784, measured in a fresh subprocess: the process's peak
   resident set size (``resource.getrusage``), its size before the run, and the peak of the
   allocations traced during the call (``tracemalloc``; NumPy reports its buffers to it)
   (goal: < 2 GB).

Usage::

    python benchmarks/bench_forward.py            # B = 10,000 and 1000 layers (minutes)
    python benchmarks/bench_forward.py --quick    # B = 2,000 and 100 layers (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

GOAL_RATIO = 1.25
GOAL_BYTES = 2 * 10**9


def _net(B, N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.random((B, N)).astype(dtype)
    W = (rng.standard_normal((N, N)) * (2.0 / np.sqrt(N))).astype(dtype)
    b = (0.1 * rng.standard_normal(N)).astype(dtype)
    return x0, W, b


def bench_speed(B, N, T, reps):
    import dynsys

    x0, W, b = _net(B, N, np.float32)
    net = dynsys.Network(W, b)
    buf = np.empty_like(x0)
    x = x0.copy()

    def gemms():
        for _ in range(T):
            np.matmul(x, W.T, out=buf)

    def forward():
        dynsys.iterate(net, x0, T, record="final", engine="layerwise")

    def fused():
        dynsys.iterate(net, x0, T, record="final", engine="fused")

    for engine in ("layerwise", "fused"):  # compile / load the kernels
        dynsys.iterate(net, x0[:2000], 2, record="final", engine=engine)
    gemms()
    forward()
    fused()
    tg, tf, tz = [], [], []
    for _ in range(reps):  # interleaved, so that a slow spell of the host hits all three
        for fn, acc in ((gemms, tg), (forward, tf), (fused, tz)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    flops = 2.0 * B * N * N * T
    return {
        "B": B, "N": N, "T": T, "reps": reps,
        "gemm_median_s": statistics.median(tg), "gemm_min_s": min(tg),
        "forward_median_s": statistics.median(tf), "forward_min_s": min(tf),
        "ratio_median": statistics.median(tf) / statistics.median(tg),
        "ratio_min": min(tf) / min(tg),
        "fused_median_s": statistics.median(tz), "fused_min_s": min(tz),
        "fused_ratio_median": statistics.median(tz) / statistics.median(tg),
        "fused_ratio_min": min(tz) / min(tg),
        "gemm_gflops": flops / min(tg) / 1e9,
    }


_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, {root!r})
import dynsys
B, N, T = {B}, {N}, {T}
rng = np.random.default_rng(0)
x0 = rng.random((B, N)).astype(np.float32)
W = (rng.standard_normal((N, N)) * (2.0 / np.sqrt(N))).astype(np.float32)
b = (0.1 * rng.standard_normal(N)).astype(np.float32)
labels = rng.integers(0, 10, B)
net = dynsys.Network(W, b)
dynsys.iterate(net, x0[:2000], 2, record="stats", labels=labels[:2000], n_classes=10,
               change_tol=1e-6)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
t0 = time.perf_counter()
r = dynsys.iterate(net, x0, T, record="stats", labels=labels, n_classes=10, change_tol=1e-6)
wall = time.perf_counter() - t0
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(B=B, N=N, T=T, rss_before=before, rss_peak=peak, traced_peak=traced,
                      wall_s=wall, converged=int((r.converged_at >= 0).sum()))))
"""


def bench_memory(B, N, T):
    code = _CHILD.format(root=os.path.dirname(HERE), B=B, N=N, T=T)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    p.add_argument("--reps", type=int, default=None, help="timing repetitions")
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        sB, sT, reps, mB, mT = 2000, 15, args.reps or 5, 2000, 100
    else:
        sB, sT, reps, mB, mT = 10_000, 15, args.reps or 7, 10_000, 1000
    N = 784
    import numba

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba threads {numba.get_num_threads()}, numpy {np.__version__}")
    s = bench_speed(sB, N, sT, reps)
    ok = s["ratio_median"] <= GOAL_RATIO
    print(f"forward, {sT} shared-weight ResNet layers, B={sB}, N={N}, float32 "
          f"({reps} interleaved repetitions)")
    print(f"  bare GEMMs                  : median {s['gemm_median_s'] * 1e3:8.1f} ms   min "
          f"{s['gemm_min_s'] * 1e3:8.1f} ms   ({s['gemm_gflops']:.0f} GFLOP/s at best)")
    print(f"  iterate, engine='layerwise' : median {s['forward_median_s'] * 1e3:8.1f} ms   min "
          f"{s['forward_min_s'] * 1e3:8.1f} ms")
    print(f"  iterate, engine='fused'     : median {s['fused_median_s'] * 1e3:8.1f} ms   min "
          f"{s['fused_min_s'] * 1e3:8.1f} ms")
    okf = s["fused_ratio_median"] <= GOAL_RATIO
    print(f"  ratio, layerwise            : median {s['ratio_median']:.3f}   min "
          f"{s['ratio_min']:.3f}   (goal <= {GOAL_RATIO}) {'PASS' if ok else 'FAIL'}")
    print(f"  ratio, fused                : median {s['fused_ratio_median']:.3f}   min "
          f"{s['fused_ratio_min']:.3f}   (goal <= {GOAL_RATIO}) {'PASS' if okf else 'FAIL'}")
    if not args.skip_memory:
        m = bench_memory(mB, N, mT)
        okm = m["rss_peak"] < GOAL_BYTES
        print(f"streaming run, record='stats' with 10 class labels and change_tol, {mT} layers, "
              f"B={mB}, N={N}, float32 ({m['wall_s']:.1f} s)")
        print(f"  peak RSS {m['rss_peak'] / 2**20:.0f} MiB (process before the run "
              f"{m['rss_before'] / 2**20:.0f} MiB); peak traced allocations during the run "
              f"{m['traced_peak'] / 2**20:.0f} MiB (goal < {GOAL_BYTES / 1e9:.0f} GB) "
              f"{'PASS' if okm else 'FAIL'}")


if __name__ == "__main__":
    main()
