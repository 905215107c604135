"""Attractor census of a 784-wide shared-weight ResNet: speed against a bare torch loop, memory.

Prints, in one run (JSON at the end):

1. a bare torch loop of the same layers in float32, ``x = x + sigmoid(addmm(b, x, W^T))``,
   B = 10,000 inputs, 1000 layers (the cost of merely running the network);
2. ``dynsys.attractor_census(net, X, 1000)`` on the same inputs, in a fresh subprocess: its
   wall time, the ratio to (1) (goal: <= 1.5) and the process's peak resident set size
   (goal: < 2 GB), with the engine's work counts;
3. the same census with ``max_depth=10**6``, every input followed until it settles (goal:
   under 5 minutes on 2 cores), in a fresh subprocess.

The network: a shared-weight ResNet of width 784 (no input projection) trained by
:mod:`nets` on mnist5k (4 epochs, about 92 % test accuracy), or the weights of ``--weights``
(an ``.npz`` with ``W`` and ``b``, as ``--save-weights`` writes). The inputs: the 5,000 mnist5k
images (training and test) and the same images again with Gaussian pixel noise (sd 0.1,
clipped to [0, 1]), 10,000 in all.

Usage::

    python benchmarks/bench_census.py --weights net.npz          # full run (about 15 min)
    python benchmarks/bench_census.py --quick --weights net.npz  # B = 1,000 (about 2 min)
    python benchmarks/bench_census.py --save-weights net.npz     # train, save, run

``--stage`` times instead the census stage of ``resdyn reproduce --dataset mnist`` (full
profile) on three trained run folders, as the reproduction runs it:
:func:`analysis.compute_census_section` on the first ``--n-test`` MNIST test images (default
all 10,000), depth 1000, the ResNets followed to ``--max-depth`` (default 100,000) with the
end-point classifier fitted on the first ``--n-fit`` training images (default 10,000), the MLP
censused at depth 1000. It prints the wall clock and CPU time of each network and of the stage
(goal: at most 10 minutes on 2 cores) and the load average, since other jobs on the machine
change the wall clock::

    python benchmarks/bench_census.py --stage --data-dir data/mnist \
        --shared RUN_SHARED --per-layer RUN_PER_LAYER --mlp RUN_MLP
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

GOAL_RATIO = 1.5
GOAL_BYTES = 2 * 10**9
GOAL_LONG_S = 300.0
GOAL_STAGE_S = 600.0


def _train(save=None):
    import nets

    config = nets.TrainConfig(dataset="mnist5k", kind="shared", depth=15, epochs=4,
                              batch_size=64, seed=0, patience=0)
    result = nets.train(config, progress=False)
    net = nets.to_network(result.model)
    if save:
        np.savez(save, W=net.W, b=net.b)
    return net.W, net.b, float(result.test_accuracy)


def _inputs(B, seed=0):
    import nets

    data = nets.load_mnist5k()
    X = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_test)]).astype(np.float64)
    rng = np.random.default_rng(seed)
    copies = [X]
    while sum(len(c) for c in copies) < B:
        copies.append(np.clip(X + 0.1 * rng.standard_normal(X.shape), 0.0, 1.0))
    return np.concatenate(copies)[:B]


def bench_torch(W, b, X, depth):
    import torch

    Wt = torch.from_numpy(np.ascontiguousarray(W.T, dtype=np.float32))
    bt = torch.from_numpy(b.astype(np.float32))
    x = torch.from_numpy(X.astype(np.float32))
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(depth):
            x = x + torch.sigmoid(torch.addmm(bt, x, Wt))
        return time.perf_counter() - t0


_CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
import dynsys
d = np.load({weights!r})
X = np.load({inputs!r})
net = dynsys.Network(d["W"], d["b"])
dynsys.attractor_census(net, X[:4], 50)            # compiled kernels loaded from the cache
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
c = dynsys.attractor_census(net, X, {depth}, max_depth={max_depth})
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
settled = np.isin(c.status, ("attractor", "cycle"))
print(json.dumps(dict(wall_s=wall, peak_rss_bytes=peak, rss_before_bytes=before,
                      counts=c.counts(), points=len(c), work=c.work,
                      settled=float(settled.mean()),
                      median_interior=float(np.median(c.n_interior)),
                      leaving=float(np.mean(c.leaving)),
                      median_layers=float(np.median(c.layers)),
                      max_layers=int(np.max(c.layers)))))
"""


def bench_census(weights, inputs, depth, max_depth):
    code = _CHILD.format(root=ROOT, weights=weights, inputs=inputs, depth=depth,
                         max_depth=max_depth)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_stage(runs, data_dir, n_test, n_fit, depth, max_depth, trained_depth=15):
    """The reproduction's census stage, network by network: times and what the census found."""
    import analysis
    import dynsys
    import nets

    ds = nets.load_dataset("mnist", root=data_dir, seed=0)
    x, y = np.asarray(ds.x_test[:n_test]), np.asarray(ds.y_test[:n_test])
    fx, fy = np.asarray(ds.x_train[:n_fit]), np.asarray(ds.y_train[:n_fit])
    out = {}
    for name, run in runs.items():
        net = nets.to_network(run)
        # load the compiled kernels from Numba's cache, as earlier stages of a reproduction have
        dynsys.attractor_census(net, x[:4], 50)
        dynsys.iterate(net, x[:4], 2 if net.shared else None, record="final")
        load0 = os.getloadavg()[0]
        w0, c0 = time.perf_counter(), time.process_time()
        res = analysis.compute_census_section(
            {name: net}, x, y, depth=depth, max_depth=max_depth, x_train=fx, y_train=fy,
            trained_depth=trained_depth, n_classes=ds.n_classes)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        nc = res.networks[name]
        out[name] = dict(wall_s=wall, cpu_s=cpu, load_before=load0,
                         load_after=os.getloadavg()[0], counts=nc.census.counts(),
                         points=len(nc.census), attractors=nc.n_attractors,
                         saddles=nc.n_saddles, work=nc.census.work,
                         endpoint_accuracy=nc.endpoint_accuracy)
        print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU (load {load0:.1f} -> "
              f"{out[name]['load_after']:.1f}); {nc.census.counts()}, {len(nc.census)} points, "
              f"{nc.n_attractors} attractors, {nc.n_saddles} saddles", flush=True)
    return out


def main_stage(args):
    runs = {name: path for name, path in (("resnet_shared", args.shared),
                                          ("resnet_variable", args.per_layer),
                                          ("mlp", args.mlp)) if path}
    if not runs:
        raise SystemExit("--stage needs at least one of --shared, --per-layer, --mlp (run "
                         "folders of `resdyn train`).")
    per = bench_stage(runs, args.data_dir, args.n_test, args.n_fit, args.depth,
                      args.max_depth, args.trained_depth)
    wall = sum(v["wall_s"] for v in per.values())
    cpu = sum(v["cpu_s"] for v in per.values())
    print(f"census stage: {wall:.1f} s wall ({wall / 60:.1f} min; goal <= "
          f"{GOAL_STAGE_S / 60:.0f} min on 2 cores), {cpu:.1f} s CPU")
    summary = dict(platform=platform.platform(), cpus=os.cpu_count(), n_test=args.n_test,
                   n_fit=args.n_fit, depth=args.depth, max_depth=args.max_depth,
                   networks=per, wall_s=wall, cpu_s=cpu, stage_ok=wall <= GOAL_STAGE_S)
    print(json.dumps(summary, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="B = 1,000, max_depth 10**5")
    ap.add_argument("--weights", help=".npz with W and b (else train on mnist5k)")
    ap.add_argument("--save-weights", help="write the trained weights here")
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--stage", action="store_true",
                    help="time the reproduction's census stage on MNIST (three run folders)")
    ap.add_argument("--shared", metavar="RUN", help="--stage: shared-weight ResNet run folder")
    ap.add_argument("--per-layer", metavar="RUN", help="--stage: per-layer ResNet run folder")
    ap.add_argument("--mlp", metavar="RUN", help="--stage: MLP run folder")
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "data", "mnist"),
                    help="--stage: folder of the MNIST IDX files")
    ap.add_argument("--n-test", type=int, default=10_000, help="--stage: test images")
    ap.add_argument("--n-fit", type=int, default=10_000,
                    help="--stage: training images fitting the end-point classifier")
    ap.add_argument("--max-depth", type=int, default=100_000,
                    help="--stage: layer to which the ResNets' unsettled inputs are followed")
    ap.add_argument("--trained-depth", type=int, default=15,
                    help="--stage: trained depth T of the shared ResNet (its readout layer)")
    args = ap.parse_args(argv)
    if args.stage:
        return main_stage(args)
    B = 1000 if args.quick else 10_000
    long_depth = 10**5 if args.quick else 10**6
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench_census_")
    acc = None
    if args.weights:
        d = np.load(args.weights)
        W, b = d["W"], d["b"]
        weights = args.weights
    else:
        W, b, acc = _train(args.save_weights)
        weights = args.save_weights or os.path.join(tmp, "net.npz")
        if not args.save_weights:
            np.savez(weights, W=W, b=b)
    X = _inputs(B)
    inputs = os.path.join(tmp, "inputs.npy")
    np.save(inputs, X)
    t_torch = bench_torch(W, b, X, args.depth)
    print(f"torch float32 addmm+sigmoid, B={B}, {args.depth} layers: {t_torch:.1f} s")
    c1 = bench_census(weights, inputs, args.depth, None)
    ratio = c1["wall_s"] / t_torch
    print(f"census depth {args.depth}: {c1['wall_s']:.1f} s, ratio {ratio:.2f} "
          f"(goal <= {GOAL_RATIO}), peak RSS {c1['peak_rss_bytes'] / 1e9:.2f} GB "
          f"(goal < {GOAL_BYTES / 1e9:.0f} GB); {c1['counts']}, {c1['points']} points; "
          f"median interior {c1['median_interior']}, leaving {c1['leaving']:.2f}")
    c2 = bench_census(weights, inputs, args.depth, long_depth)
    print(f"census max_depth {long_depth}: {c2['wall_s']:.1f} s (goal < {GOAL_LONG_S:.0f} s "
          f"for 10**6); {c2['counts']}, {c2['points']} points, settled {c2['settled']:.3f}, "
          f"median layers {c2['median_layers']:.0f}")
    summary = dict(
        platform=platform.platform(), cpus=os.cpu_count(), B=B, depth=args.depth,
        network="784-wide shared ResNet trained on mnist5k" if not args.weights
        else f"weights from {os.path.basename(args.weights)}",
        trained_test_accuracy=acc, torch_s=t_torch, census=c1, ratio=ratio,
        ratio_ok=ratio <= GOAL_RATIO, memory_ok=c1["peak_rss_bytes"] < GOAL_BYTES,
        long=dict(max_depth=long_depth, **c2), long_ok=c2["wall_s"] < GOAL_LONG_S)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
