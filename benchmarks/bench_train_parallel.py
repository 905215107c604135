"""Training throughput: one run on all threads against runs side by side on one thread each.

The question behind :func:`nets.train_many` and ``resdyn reproduce --jobs``: on a machine
with few cores, does a 784-wide, 15-layer network trained in mini-batches of 64 (the MNIST
defaults) use a second thread well, or do two one-thread runs side by side train more?

Each measurement times ``--steps`` training steps (forward, cross-entropy, backward, Adam) of
``nets.build_model(kind, 784, 10, depth=15)`` on random inputs in a fresh process, after 20
warm-up steps:

* ``all threads``: one process on ``--threads`` threads (default: the CPUs available);
* ``one thread``: one process on one thread, alone;
* ``side by side``: as many one-thread processes as CPUs, started together.

The three alternate ``--repeats`` times; the medians are reported, with the throughput of
the side-by-side runs (steps per second of all of them together) over that of one run on all
threads. The host of a small virtual machine sometimes gives its CPUs less time, so compare
the ratio, taken inside one run, rather than absolute seconds.

Usage::

    python benchmarks/bench_train_parallel.py                  # shared network, 300 steps
    python benchmarks/bench_train_parallel.py --kind per-layer --steps 200
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_WORKER = r"""
import sys, time, torch
from nets import build_model
kind, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = build_model(kind, 784, 10, depth=15)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
X = torch.rand(64 * 50, 784)
y = torch.randint(0, 10, (64 * 50,))

def step(i):
    j = (i % 50) * 64
    loss = torch.nn.functional.cross_entropy(model(X[j:j + 64]), y[j:j + 64])
    opt.zero_grad()
    loss.backward()
    opt.step()

for i in range(20):
    step(i)
t0 = time.perf_counter()
for i in range(steps):
    step(i)
print((time.perf_counter() - t0) / steps)
"""


def _run(kind, threads, steps, copies):
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, kind, str(threads), str(steps)],
                              stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    out = []
    for p in procs:
        text, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed with exit status {p.returncode}")
        out.append(float(text.strip()))
    return out


def main(argv=None):
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", default="shared", choices=("shared", "per-layer", "mlp"))
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=cpus)
    args = p.parse_args(argv)

    alone, single, side = [], [], []
    for r in range(args.repeats):
        alone += _run(args.kind, args.threads, args.steps, 1)
        single += _run(args.kind, 1, args.steps, 1)
        side += _run(args.kind, 1, args.steps, cpus)
        print(f"repeat {r + 1}: {1e3 * alone[-1]:.1f} ms/step on {args.threads} threads, "
              f"{1e3 * single[-1]:.1f} alone on one, "
              f"{', '.join(f'{1e3 * s:.1f}' for s in side[-cpus:])} side by side", flush=True)
    a, s1, sb = (statistics.median(v) for v in (alone, single, side))
    epoch = 60_000 / 64
    print(f"\n{args.kind}, 784 wide, 15 layers, batch 64, {cpus} CPUs (medians):")
    print(f"  all {args.threads} threads : {1e3 * a:6.1f} ms/step  ({a * epoch:5.1f} s per "
          f"60,000-image epoch)")
    print(f"  one thread alone : {1e3 * s1:6.1f} ms/step  ({s1 * epoch:5.1f} s)")
    print(f"  {cpus} side by side   : {1e3 * sb:6.1f} ms/step each ({sb * epoch:5.1f} s)")
    print(f"  throughput side by side / all threads: {cpus * a / sb:.2f}")


if __name__ == "__main__":
    main()
