"""Training speed of :mod:`nets`, and the sweep behind the training defaults.

Prints, in one run:

1. the overhead of ``nets.train``: wall time per epoch of a run with everything on (the
   recording-capable forward, per-batch loss and accuracy, test evaluation, the adaptive-depth
   check on 1,024 training samples, an atomic safetensors + JSON checkpoint after the epoch)
   against a bare torch loop over the same model, optimizer and data (randperm, forward,
   cross-entropy, backward, Adam step; nothing else). The two sides alternate, and the ratio
   of medians is reported (goal: <= 1.10). The adaptive-depth threshold is set so low that
   no layer is removed (both sides then train the same depth);
2. the epoch time of a 15-layer, 784-wide shared-weight ResNet on Fashion-MNIST's 60,000
   training images with 2 CPU threads (taken from the runs of 1; with ``--quick`` measured on
   a subset and scaled to 60,000);
3. the cost of recording: ``model(x, record=True)`` against ``model(x)`` on 2,000 images.

Usage::

    python benchmarks/bench_training.py            # Fashion-MNIST 60,000 images (minutes)
    python benchmarks/bench_training.py --quick    # 6,000 images (well under a minute)
    python benchmarks/bench_training.py --sweep    # learning rate x decay on digits (minutes)

``--sweep`` trains the 64-wide 15-layer networks on digits (one CPU thread, 20 epochs, the
default early stopping) for every learning rate and per-epoch decay of the grid and prints
the test accuracy and final training loss, averaged over seeds: the measurement the defaults
of :class:`nets.TrainConfig` are chosen from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

GOAL_RATIO = 1.10


def bare_loop(config, data, epochs):
    """The baseline: the same model, optimizer, data order and batches; nothing else."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from nets.train import _epoch_generator, model_for_config

    torch.manual_seed(config.seed)
    x = torch.from_numpy(np.array(data.x_train, dtype=np.float32))
    y = torch.from_numpy(np.array(data.y_train, dtype=np.int64))
    model = model_for_config(config, data.n_features, data.n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=_epoch_generator(config.seed, epoch))
        for start in range(0, len(x), config.batch_size):
            idx = perm[start:start + config.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


def nets_loop(config, data, epochs):
    """``nets.train`` with checkpoints, evaluation and the adaptive-depth check."""
    from nets import train

    with tempfile.TemporaryDirectory() as tmp:
        result = train(dataclasses.replace(config, epochs=epochs), out_dir=tmp, progress=False,
                       data=data)
    assert result.model.depth == config.depth
    return result


def bench_recording(data, repeats=3):
    """Ratio of medians: the recording forward pass against the plain one, same model."""
    import numpy as np
    import torch

    from nets import build_model

    torch.manual_seed(0)
    model = build_model("shared", data.n_features, data.n_classes, None, 15).eval()
    x = torch.from_numpy(np.array(data.x_test[:2000], dtype=np.float32))
    plain, rec = [], []
    with torch.no_grad():
        model(x, record=True)
        for _ in range(repeats):
            for record, sink in ((False, plain), (True, rec)):
                t0 = time.perf_counter()
                model(x, record=record)
                sink.append(time.perf_counter() - t0)
    return statistics.median(rec) / statistics.median(plain)


SWEEP_GRID = {
    "shared": {"lr": (1e-3, 3e-3, 1e-2), "lr_decay": (1.0, 0.97, 0.95, 0.9, 0.85)},
    "per-layer": {"lr": (3e-3,), "lr_decay": (1.0, 0.95, 0.85)},
    "mlp": {"lr": (1e-3, 3e-3), "lr_decay": (1.0, 0.95, 0.85)},
}


def sweep(seeds=(0, 1, 2), epochs=20, grid=None, width=None, batch_size=64, out=sys.stdout):
    """Learning rate x decay on digits; one row per (kind, lr, lr_decay), means over seeds.

    `width` None trains at N = D = 64; another width adds the input projection.
    """
    import torch

    from nets import TrainConfig, load_dataset, train

    torch.set_num_threads(1)
    data = load_dataset("digits")
    rows = []
    t_start = time.perf_counter()
    for kind, axes in (grid or SWEEP_GRID).items():
        for lr in axes["lr"]:
            for decay in axes["lr_decay"]:
                accs, losses, n_epochs = [], [], []
                for seed in seeds:
                    cfg = TrainConfig(dataset="digits", kind=kind, depth=15, epochs=epochs,
                                      lr=lr, lr_decay=decay, seed=seed, threads=1,
                                      width=width, batch_size=batch_size)
                    result = train(cfg, progress=False, data=data)
                    accs.append(result.test_accuracy)
                    losses.append(result.history[-1]["train_loss"])
                    n_epochs.append(len(result.history))
                row = {"kind": kind, "width": width or data.n_features, "lr": lr,
                       "lr_decay": decay, "seeds": list(seeds), "epochs_max": epochs,
                       "batch_size": batch_size,
                       "test_accuracy": statistics.mean(accs),
                       "test_accuracy_min": min(accs), "test_accuracy_max": max(accs),
                       "train_loss": statistics.mean(losses),
                       "epochs": statistics.mean(n_epochs)}
                rows.append(row)
                print(f"{kind:9s} N {row['width']:<4d} lr {lr:<6g} decay {decay:<5g} test acc "
                      f"{100 * row['test_accuracy']:5.1f} % ({100 * min(accs):.1f}-"
                      f"{100 * max(accs):.1f})  train loss {row['train_loss']:.4f}  "
                      f"epochs {row['epochs']:.1f}", file=out, flush=True)
    print(f"sweep: {len(rows) * len(seeds)} runs in {time.perf_counter() - t_start:.0f} s "
          f"(seeds {', '.join(map(str, seeds))}, {epochs} epochs, 1 thread)", file=out)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 images instead of 60,000")
    parser.add_argument("--repeats", type=int, default=None, help="alternations (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--sweep", action="store_true",
                        help="only the learning-rate x decay sweep on digits (one thread)")
    parser.add_argument("--sweep-kind", default=None, choices=tuple(SWEEP_GRID),
                        help="sweep one architecture (with --sweep-lr / --sweep-decay)")
    parser.add_argument("--sweep-lr", default=None, help="comma-separated learning rates")
    parser.add_argument("--sweep-decay", default=None, help="comma-separated decays")
    parser.add_argument("--sweep-seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--sweep-epochs", type=int, default=20)
    parser.add_argument("--sweep-width", type=int, default=None,
                        help="width N (default 64 = D, no projection)")
    parser.add_argument("--sweep-batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    if args.sweep:
        grid = None
        if args.sweep_kind is not None:
            base = SWEEP_GRID[args.sweep_kind]
            floats = lambda text, key: (tuple(float(v) for v in text.split(","))  # noqa: E731
                                        if text else base[key])
            grid = {args.sweep_kind: {"lr": floats(args.sweep_lr, "lr"),
                                      "lr_decay": floats(args.sweep_decay, "lr_decay")}}
        seeds = tuple(int(v) for v in args.sweep_seeds.split(","))
        rows = sweep(seeds=seeds, epochs=args.sweep_epochs, grid=grid, width=args.sweep_width,
                     batch_size=args.sweep_batch_size)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh, indent=1)
        return 0

    import torch

    from nets import TrainConfig, load_dataset

    torch.set_num_threads(args.threads)
    n_train = 6000 if args.quick else None
    n_test = 1000 if args.quick else None
    repeats = args.repeats or 3
    data = load_dataset("fashion-mnist", n_train=n_train, n_test=n_test)
    config = TrainConfig(dataset="fashion-mnist", kind="shared", depth=15, width=None,
                         epochs=1, batch_size=64, seed=0, adaptive_depth=True,
                         depth_threshold=1e-12, threads=args.threads, patience=0)
    print(f"data: fashion-mnist, {data.n_train} train / {data.n_test} test images, "
          f"N = {data.n_features}, T = 15, shared weights, batch 64, {args.threads} threads")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}")

    # warm-up (allocations, first-call costs), not timed
    bare_loop(config, load_dataset("fashion-mnist", n_train=512, n_test=64), 1)

    bare, ours, bare_cpu, ours_cpu = [], [], [], []
    for r in range(repeats):
        for name, fn, sink, sink_cpu in (("bare", bare_loop, bare, bare_cpu),
                                         ("nets", nets_loop, ours, ours_cpu)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn(config, data, 1)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            sink.append(dt)
            sink_cpu.append(dc)
            print(f"  repeat {r + 1}: {name:4s} {dt:8.2f} s wall, {dc:8.2f} s CPU / epoch",
                  flush=True)
    med_bare, med_ours = statistics.median(bare), statistics.median(ours)
    ratio = med_ours / med_bare
    ratio_min = min(ours) / min(bare)
    ratio_cpu = statistics.median(ours_cpu) / statistics.median(bare_cpu)
    pairs = [o / b for o, b in zip(ours, bare)]
    scale = 60000 / data.n_train
    print()
    print("1. nets.train epoch (eval + adaptive check + checkpoint) vs bare torch loop:")
    print(f"   wall: median {med_ours:.2f} s vs {med_bare:.2f} s: ratio {ratio:.3f}; ratio of "
          f"minima {ratio_min:.3f} (per repeat: {', '.join(f'{p:.3f}' for p in pairs)})")
    print(f"   CPU time: ratio of medians {ratio_cpu:.3f}   "
          f"(goal <= {GOAL_RATIO:.2f}: {'met' if min(ratio, ratio_min) <= GOAL_RATIO else 'NOT met'}"
          " on wall time)")
    est = med_ours * scale
    what = "measured" if scale == 1 else f"scaled from {data.n_train} images"
    print(f"2. epoch of the 15-layer 784-wide shared ResNet on 60,000 Fashion-MNIST images, "
          f"{args.threads} threads: {est:.1f} s ({what}; bare loop {med_bare * scale:.1f} s)")
    rec_ratio = bench_recording(data, repeats=max(repeats, 3))
    print(f"3. forward pass of 2,000 images, record=True vs record=False (no grad): "
          f"ratio {rec_ratio:.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"bare_s": bare, "nets_s": ours, "ratio": ratio, "ratio_min": ratio_min,
                       "bare_cpu_s": bare_cpu, "nets_cpu_s": ours_cpu, "ratio_cpu": ratio_cpu,
                       "epoch_60k_s": est, "n_train": data.n_train,
                       "threads": args.threads, "record_ratio": rec_ratio}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
