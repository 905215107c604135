"""The sweep behind the MNIST training defaults, and the three-seed runs that check them.

Trains the paper's 15-layer, 784-wide logistic networks on the full MNIST with every
combination of the given settings and prints, per combination, the error after the last epoch
(mean over seeds, with the range), the best epoch's error and the final training loss.

Two splits:

* ``--split validation`` (the default, for choosing settings): train on the first 50,000
  training images and measure the error on the last 10,000. The test images are never looked
  at, so the defaults are not fitted to the test set;
* ``--split test`` (for the reported numbers): the published 60,000 / 10,000 split, which is
  what ``resdyn train --dataset mnist`` and ``resdyn reproduce --dataset mnist`` use.

Every run checkpoints into ``--out`` (one folder per run, named by its settings) and a second
call resumes or reuses it, so a sweep that outlasts a session continues where it stopped. The
summary is written to ``--out/summary.json`` (atomically) after every finished run.

Usage (hours on 2 cores: one shared-network epoch on 50,000 images is about 40 s on two free
cores, about 70 s on one)::

    python benchmarks/sweep_mnist.py --kind shared --weight-decay 0,1e-5,1e-4 --jobs 2
    python benchmarks/sweep_mnist.py --kind per-layer --weight-decay 0,1e-5 --jobs 2
    python benchmarks/sweep_mnist.py --kind shared --split test --seeds 0,1,2 --jobs 2
    python benchmarks/sweep_mnist.py --kind per-layer --adaptive --split test --seeds 0,1,2
    python benchmarks/sweep_mnist.py --kind per-layer --adaptive --depth-criterion centred \
        --threshold 0.01,0.03,0.06 --epochs 12

Settings left out take :class:`nets.TrainConfig`'s defaults for MNIST, so the last two lines
measure the defaults themselves.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import itertools
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

#: The validation split: the last this many training images are held out.
N_VALIDATION = 10_000


def _data(split):
    from nets import load_dataset
    from nets.data import Dataset

    full = load_dataset("mnist")
    if split == "test":
        return full
    n = full.n_train - N_VALIDATION
    return Dataset("mnist", full.x_train[:n], full.y_train[:n], full.x_train[n:],
                   full.y_train[n:], full.n_classes, full.image_shape)


def _run_name(settings):
    blob = json.dumps(settings, sort_keys=True).encode()
    short = "-".join(f"{k}{v}" for k, v in sorted(settings.items()) if k != "split")
    return f"{settings['split']}-{short}-{hashlib.sha1(blob).hexdigest()[:6]}"


def run_one(settings, out_dir, threads):
    """Train one configuration (resuming its checkpoint); returns its summary row."""
    import torch

    from nets import TrainConfig, train

    torch.set_num_threads(threads)
    cfg_kw = {k: v for k, v in settings.items() if k not in ("split",)}
    data = _data(settings["split"])
    config = TrainConfig(dataset="mnist", depth=15, threads=threads, **cfg_kw)
    folder = os.path.join(out_dir, _run_name(settings))
    t0 = time.perf_counter()
    result = train(config, out_dir=folder, resume=True, progress=False, data=data)
    errors = [1.0 - h["test_accuracy"] for h in result.history]
    return {
        "settings": settings,
        "folder": folder,
        "error": errors[-1],
        "best_error": min(errors),
        "best_epoch": int(errors.index(min(errors))) + 1,
        "errors_by_epoch": errors,
        "train_loss": result.history[-1]["train_loss"],
        "epochs": len(result.history),
        "final_depth": int(result.model.depth),
        "seconds_this_call": round(time.perf_counter() - t0, 1),
        "seconds_trained": round(sum(h["seconds"] for h in result.history), 1),
    }


def _floats(text):
    return None if text is None else [float(v) for v in text.split(",")]


def _grid(args):
    axes = {"lr": _floats(args.lr), "lr_decay": _floats(args.lr_decay),
            "weight_decay": _floats(args.weight_decay),
            "shift": None if args.shift is None else [int(v) for v in args.shift.split(",")],
            "depth_threshold": _floats(args.threshold) if args.adaptive else None,
            "batch_size": None if args.batch_size is None else
            [int(v) for v in args.batch_size.split(",")]}
    axes = {k: v for k, v in axes.items() if v is not None}
    seeds = [int(v) for v in args.seeds.split(",")]
    base = {"kind": args.kind, "epochs": args.epochs, "split": args.split}
    if args.adaptive:
        base["adaptive_depth"] = True
        if args.depth_criterion != "paper":
            base["depth_criterion"] = args.depth_criterion
    if args.patience is not None:
        base["patience"] = args.patience
    combos = []
    for values in itertools.product(*axes.values()):
        combo = dict(base, **dict(zip(axes, values)))
        combos.append([dict(combo, seed=s) for s in seeds])
    return combos


def _summarise(rows):
    errs = [r["error"] for r in rows]
    best = [r["best_error"] for r in rows]
    return {"settings": {k: v for k, v in rows[0]["settings"].items() if k != "seed"},
            "seeds": [r["settings"]["seed"] for r in rows],
            "error_mean": statistics.mean(errs), "error_min": min(errs), "error_max": max(errs),
            "error_sd": statistics.stdev(errs) if len(errs) > 1 else 0.0,
            "best_error_mean": statistics.mean(best),
            "train_loss_mean": statistics.mean(r["train_loss"] for r in rows),
            "final_depths": [r["final_depth"] for r in rows],
            "runs": rows}


def _line(s):
    st = s["settings"]
    what = ", ".join(f"{k} {v}" for k, v in st.items() if k not in ("kind", "split", "epochs"))
    depths = sorted(set(s["final_depths"]))
    return (f"{st['kind']:9s} {what:40s} {st['split']:10s} error "
            f"{100 * s['error_mean']:.2f} % ({100 * s['error_min']:.2f}-"
            f"{100 * s['error_max']:.2f}, sd {100 * s['error_sd']:.2f}) best epoch "
            f"{100 * s['best_error_mean']:.2f} %  train loss {s['train_loss_mean']:.4f}"
            + (f"  depth {depths}" if depths != [15] else ""))


def main(argv=None):
    from analysis._io import atomic_write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="shared", choices=("shared", "per-layer", "mlp"))
    p.add_argument("--lr", default=None, help="comma-separated learning rates")
    p.add_argument("--lr-decay", default=None, help="comma-separated per-epoch decays")
    p.add_argument("--weight-decay", default=None, help="comma-separated L2 weight decays")
    p.add_argument("--batch-size", default=None, help="comma-separated batch sizes")
    p.add_argument("--shift", default=None,
                   help="comma-separated random-translation ranges in pixels (0: none)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=None,
                   help="early-stopping patience (default: TrainConfig's)")
    p.add_argument("--adaptive", action="store_true", help="train with the Sect. 7 depth rule")
    p.add_argument("--threshold", default=None,
                   help="with --adaptive: comma-separated depth thresholds (default 0.01)")
    p.add_argument("--depth-criterion", default="paper", choices=("paper", "centred"),
                   help="with --adaptive: how the change is measured (TrainConfig)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--split", default="validation", choices=("validation", "test"))
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel, one thread each")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (default: 1 with --jobs > 1, else 2)")
    p.add_argument("--out", default="results/sweep_mnist")
    args = p.parse_args(argv)
    threads = args.threads or (1 if args.jobs > 1 else 2)
    os.makedirs(args.out, exist_ok=True)
    combos = _grid(args)
    jobs = [s for combo in combos for s in combo]
    print(f"{len(jobs)} runs ({len(combos)} settings x {len(combos[0])} seeds), "
          f"{args.jobs} at a time, {threads} thread(s) each; checkpoints in {args.out}",
          flush=True)
    rows = {}
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, s, args.out, threads): i for i, s in enumerate(jobs)}
        for fut in cf.as_completed(futures):
            row = fut.result()
            rows[futures[fut]] = row
            print(f"  done: {row['folder']}: error {100 * row['error']:.2f} % after "
                  f"{row['epochs']} epochs ({row['seconds_trained']:.0f} s of training)",
                  flush=True)
            done = [[rows[i] for i in range(len(jobs)) if jobs[i] in c and i in rows]
                    for c in combos]
            atomic_write_json(os.path.join(args.out, "summary.json"),
                              [_summarise(r) for r in done if r])
    print(f"\n{len(jobs)} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    for c in combos:
        print(_line(_summarise([rows[jobs.index(s)] for s in c])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
