"""``resdyn train``: train a network with :mod:`nets`, checkpointed after every epoch.

    resdyn train [--dataset digits|mnist5k|fashion-mnist|mnist|blobs] [--data-dir DIR]
                 [--width N] [--depth T] [--shared | --per-layer | --mlp]
                 [--activation logistic|tanh] [--epochs E]
                 [--batch-size B] [--lr LR] [--seed S] [--patience P]
                 [--adaptive-depth [--threshold 0.01] [--depth-criterion paper|centred]]
                 [--keep-epochs] --out DIR
    resdyn train --resume DIR [--epochs E]

``--activation tanh`` trains layers ``x + tanh(W x + b)`` (MLP: ``tanh(W y + b)``) instead of
the papers' logistic; the checkpoint records it, and ``--resume`` with an ``--activation``
other than the run's is refused.

DIR then holds only ``.safetensors`` and ``.json`` files: the checkpoint
(``checkpoint.json`` + ``state-epochNNNN.safetensors``), ``history.json`` (one record per
epoch: epoch, train_loss, train_accuracy, test_loss, test_accuracy, depth, ...) and, once
training ends, ``weights.safetensors`` (float64 arrays for ``dynsys``, recording the
checkpoint they come from). A run killed at any moment continues with ``--resume DIR`` and
ends as the uninterrupted run would have.

``--keep-epochs`` also keeps the weights of every epoch: ``DIR/epochs/epoch-0000.safetensors``
(as initialised) and ``epoch-NNNN.safetensors`` after each epoch N, in the format of
``weights.safetensors`` (``nets.to_network(DIR, epoch=N)`` reads one, ``nets.kept_epochs(DIR)``
lists them). A run continues with its own choice: ``--resume`` with ``--keep-epochs`` for a
run trained without it is refused, since its past epochs are gone.

``--out`` is checked before any work (an existing file, a file on its path or an unwritable
place is an error naming ``--out``), and the folder is locked while the run writes to it: a
second ``resdyn train`` on the same folder stops at once with an error naming it.
"""

from __future__ import annotations


__all__ = ["add_parser", "run"]

# nets.DATASETS, nets.DEPTH_CRITERIA and nets.ACTIVATIONS, written out: importing nets imports torch, which
# building the parser must not (tests/nets/test_cli_train.py checks they agree)
_DATASETS = ("digits", "mnist5k", "fashion-mnist", "mnist", "blobs")
_DEPTH_CRITERIA = ("paper", "centred")
_ACTIVATIONS = ("logistic", "tanh")


def add_parser(subparsers):
    """Register ``train`` on `subparsers` (sets ``func=run``)."""
    p = subparsers.add_parser(
        "train",
        help="train a ResNet (shared or per-layer weights) or an MLP; resumable",
        description=(
            "Train a residual network with logistic (default) or tanh residual units (shared "
            "or per-layer weights) or an MLP of the same width and depth, seeded and deterministic on the "
            "CPU, with a checkpoint after every epoch. --resume DIR continues a run."
        ),
    )
    p.add_argument("--dataset", default="digits", choices=_DATASETS,
                   help="training data (default: digits, scikit-learn's bundled 8x8 digits)")
    p.add_argument("--data-dir", "--data-root", dest="data_dir", default=None, metavar="DIR",
                   help="folder with IDX files (mnist defaults to the copy `make data` installs; "
                        "fashion-mnist to Debian's dataset-fashion-mnist)")
    p.add_argument("--n-train", type=int, default=None, metavar="N",
                   help="use only the first N training samples")
    p.add_argument("--n-test", type=int, default=None, metavar="N",
                   help="use only the first N test samples")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--shared", dest="kind", action="store_const", const="shared",
                      help="ResNet with one W, b shared by all layers (default)")
    kind.add_argument("--per-layer", dest="kind", action="store_const", const="per-layer",
                      help="ResNet with its own W(t), b(t) per layer")
    kind.add_argument("--mlp", dest="kind", action="store_const", const="mlp",
                      help="MLP of the same width and depth (no skip connections)")
    p.add_argument("--activation", default=None, choices=_ACTIVATIONS,
                   help="the unit of every layer: logistic (default, the papers'), x + "
                        "sigmoid(Wx + b), or tanh, x + tanh(Wx + b) (MLP: tanh(Wy + b)); with "
                        "--resume it must be the run's own")
    p.add_argument("--width", type=int, default=None, metavar="N",
                   help="width N (default: the input dimension, no projection; another value "
                        "adds a linear input projection)")
    p.add_argument("--depth", type=int, default=15, metavar="T", help="depth T (default 15)")
    p.add_argument("--epochs", type=int, default=None, metavar="E",
                   help="number of epochs (default 20; with --resume: raise the limit)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default 3e-3 for ResNets, 1e-3 for the MLP)")
    p.add_argument("--lr-decay", type=float, default=None,
                   help="learning rate factor per epoch (default: 0.85 for ResNets on mnist, "
                        "0.95 for ResNets on the other data sets, 1.0 for the MLP)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 weight decay (default 0)")
    p.add_argument("--shift", type=int, default=None, metavar="PIXELS",
                   help="augment by random translations of up to PIXELS along each axis "
                        "(default: 2 for ResNets on mnist, 0 otherwise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=5,
                   help="early stopping: epochs without training-loss improvement (0: off)")
    p.add_argument("--adaptive-depth", action="store_true",
                   help="remove the last layer when mean |y(T) - y(T-1)| < --threshold "
                        "(Sect. 7 of the paper)")
    p.add_argument("--threshold", type=float, default=0.01,
                   help="adaptive-depth threshold (default 0.01)")
    p.add_argument("--depth-criterion", default="paper", choices=_DEPTH_CRITERIA,
                   help="how adaptive depth measures the change: paper (default), mean "
                        "|y(T) - y(T-1)|; centred, the same with each neuron's mean over the "
                        "inputs removed")
    p.add_argument("--min-depth", type=int, default=1, help="adaptive depth never goes below")
    p.add_argument("--keep-epochs", action="store_true",
                   help="also keep the weights of every epoch, DIR/epochs/epoch-NNNN.safetensors "
                        "(0000: as initialised); with --resume the run must have been "
                        "trained with it")
    p.add_argument("--blobs-features", type=int, default=4, metavar="N",
                   help="blobs: number of features (2..12)")
    p.add_argument("--blobs-classes", type=int, default=3, metavar="K",
                   help="blobs: number of classes")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (default): CUDA when present, else the CPU")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: 1 for widths <= 256, else torch's default)")
    p.add_argument("--out", default=None, metavar="DIR", help="checkpoint folder (required)")
    p.add_argument("--resume", default=None, metavar="DIR",
                   help="continue the run whose checkpoint is in DIR (other options ignored "
                        "except --epochs)")
    p.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                   help="no progress bar")
    p.set_defaults(func=run, kind=None)
    return p


def _stopped(result) -> str:
    """How many epochs ran and why training stopped, in words."""
    config, n = result.config, len(result.history)
    if result.stop_reason == "early-stopping":
        return (f"{n} of {config.epochs} epochs (stopped early: no training-loss improvement "
                f"for {config.patience} epochs)")
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _summary(result) -> str:
    from nets import EPOCHS_DIR

    last = result.history[-1] if result.history else {}
    n = len(result.history)
    act = "" if result.config.activation == "logistic" else f" {result.config.activation}"
    return (
        f"{result.config.kind}{act} {result.config.dataset}: {_stopped(result)}, "
        f"depth {result.depth}, "
        f"train loss {last.get('train_loss', float('nan')):.4f}, "
        f"test accuracy {last.get('test_accuracy', float('nan')):.4f}; "
        f"checkpoint in {result.out_dir}"
        + (f", epochs 0 to {n} kept in {result.out_dir / EPOCHS_DIR}"
           if result.config.keep_epochs else "")
    )


def _check_resumed_activation(folder, flag: str) -> None:
    """Refuse ``--resume`` with an ``--activation`` other than the checkpoint's."""
    from nets import load_checkpoint

    # a checkpoint written before tanh networks existed records none: it is logistic
    own = load_checkpoint(folder).config.get("activation", "logistic")
    if flag != own:
        raise ValueError(
            f"--activation {flag} contradicts the run in --resume {folder!r}, which was "
            f"trained with activation {own!r}: a run continues with its own; leave "
            f"--activation out, or start a new run with --out."
        )


def _check_resumed_keep_epochs(folder) -> None:
    """Refuse ``--resume --keep-epochs`` for a run that keeps no epochs."""
    from nets import load_checkpoint

    if not load_checkpoint(folder).config.get("keep_epochs", False):
        raise ValueError(
            f"--keep-epochs asks to keep every epoch, but the run in --resume {folder!r} was "
            "trained without it: its past epochs were not kept and cannot be recovered. Leave "
            "--keep-epochs out to continue it, or start a new run with --out and --keep-epochs."
        )


def _run(args) -> int:
    from nets import FolderLockedError

    flag = "--resume" if args.resume is not None else "--out"
    try:
        return _train_or_resume(args)
    except FolderLockedError as exc:
        # the library names its argument; the command line names its flag
        raise FolderLockedError(str(exc).replace("`out_dir`", flag, 1)) from None


def _train_or_resume(args) -> int:
    from nets import CheckpointError, TrainConfig, check_out_dir, resume, train

    progress = not args.no_progress
    if args.resume is not None:
        if args.out is not None and args.out != args.resume:
            raise ValueError("give either --out DIR (a new run) or --resume DIR, not both.")
        from pathlib import Path

        if not (Path(args.resume) / "checkpoint.json").is_file():
            raise CheckpointError(f"no checkpoint to resume in {args.resume!r}.")
        check_out_dir(args.resume, "--resume")
        if args.activation is not None:
            _check_resumed_activation(args.resume, args.activation)
        if args.keep_epochs:
            _check_resumed_keep_epochs(args.resume)
        result = resume(args.resume, progress=progress, epochs=args.epochs)
    else:
        if args.out is None:
            raise ValueError("--out DIR is required (the checkpoint folder), or --resume DIR.")
        check_out_dir(args.out, "--out")
        config = TrainConfig(
            dataset=args.dataset, data_root=args.data_dir, n_train=args.n_train,
            n_test=args.n_test, blobs_features=args.blobs_features,
            blobs_classes=args.blobs_classes, kind=args.kind or "shared",
            activation=args.activation or "logistic", width=args.width,
            depth=args.depth, epochs=20 if args.epochs is None else args.epochs,
            batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay, weight_decay=args.weight_decay,
            shift=args.shift, seed=args.seed,
            patience=args.patience, adaptive_depth=args.adaptive_depth,
            depth_threshold=args.threshold, depth_criterion=args.depth_criterion,
            min_depth=args.min_depth, device=args.device,
            threads=args.threads, keep_epochs=args.keep_epochs,
        )
        result = train(config, out_dir=args.out, resume=False, progress=progress)
    print(_summary(result))
    return 0


def run(args) -> int:
    """Run ``resdyn train`` with parsed `args`; returns the exit status.

    Errors propagate to :func:`analysis.cli.main`, which prints them as one line and exits 2.
    """
    return _run(args)
