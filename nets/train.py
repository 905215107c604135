"""Training: a seeded, deterministic, resumable loop with early stopping and adaptive depth.

>>> from nets import TrainConfig, train
>>> result = train(TrainConfig(dataset="digits", depth=15, width=128, epochs=10),
...                out_dir="runs/digits15")                      # doctest: +SKIP
>>> result.history[-1]["test_accuracy"]                           # doctest: +SKIP
0.97

Determinism. The initial weights come from ``torch.manual_seed(seed)`` (a fresh run seeds the
global torch RNG); the data order of
epoch e from a ``torch.Generator`` seeded with ``(seed, e)``; deterministic algorithms are
switched on for the duration of training. The same configuration on the same machine (and
number of threads) gives the same weights bit for bit.

Resume. A checkpoint is written after every epoch (see :mod:`nets.checkpoint`): model,
optimizer state by parameter name, the global RNG state, the history and the early-stopping
counters. The learning rate of epoch e is ``learning_rate * lr_decay ** e`` and the data order depends only
on (seed, e), so a run resumed from the checkpoint of epoch e continues exactly as the
uninterrupted run did.

History. One record per epoch: ``epoch`` (1-based), ``train_loss`` and ``train_accuracy``
(averaged over the epoch's mini-batches, as they were trained), ``test_loss``,
``test_accuracy`` (after the epoch), ``depth`` (the depth the epoch trained with),
``depth_after`` (after the adaptive-depth check), ``residual_change`` (``mean |y(T) - y(T-1)|``
on the training data, ``None`` (JSON null) without adaptive depth), ``lr`` and ``seconds``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import (
    WEIGHTS_FILE,
    CheckpointError,
    has_checkpoint,
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
)
from .data import DATASETS, Dataset, load_dataset
from .depth import adaptive_depth_step
from .export import ExportedWeights, export_weights, save_weights
from .models import KINDS, LayeredNet, build_model

__all__ = ["TrainConfig", "TrainResult", "train", "resume", "model_for_config", "resolve_device"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (frozen; JSON round trip via to_dict/from_dict).

    Attributes
    ----------
    dataset : str
        One of ``digits``, ``mnist5k``, ``fashion-mnist``, ``mnist``, ``blobs``.
    data_root : str or None
        Folder of IDX files (fashion-mnist: defaults to the Debian package; mnist: required).
    n_train, n_test : int or None
        Keep only the first samples of each part.
    blobs_features, blobs_classes, blobs_samples : int
        Shape of the ``blobs`` data.
    kind : {"shared", "per-layer", "mlp"}
    width : int or None
        N; ``None`` means N = D (no input projection).
    depth : int
        T, the initial depth.
    init_gain, bias_init : float or None
        Initialisation (``None``: the model's default, see :mod:`nets.models`).
    epochs, batch_size : int
    lr : float or None
        Adam's initial learning rate; ``None``: 3e-3 for the ResNets, 1e-3 for the MLP (see
        :attr:`learning_rate`).
    lr_decay, weight_decay : float
        The learning rate of epoch e is ``learning_rate * lr_decay ** e``; L2 weight decay.
    seed : int
    patience : int
        Early stopping: stop after `patience` epochs without a training-loss improvement of
        more than `min_delta` (0 disables early stopping).
    min_delta : float
    adaptive_depth : bool
        Apply the Sect. 7 rule after every epoch (see :mod:`nets.depth`).
    depth_threshold : float
        Its threshold on ``mean |y(T) - y(T-1)|`` (default 0.01).
    min_depth : int
        The rule never goes below this depth.
    depth_check_samples : int or None
        Number of training samples (a fixed seeded subset, default 1,024) the rule is
        measured on; ``None``: all training samples. The mean over 1,024 samples and N neurons
        estimates the mean over the whole training set to far better than the threshold, at
        a cost below 1 % of an epoch on 60,000 images.
    device : {"auto", "cpu", "cuda"}
        ``auto``: CUDA when present, else the CPU.
    threads : int or None
        CPU threads torch uses while training (restored afterwards). ``None``: one thread
        for widths up to 256, whose small matrix products gain nothing from more threads and
        lose badly when the cores are shared with other processes; torch's default otherwise.
        Bit-for-bit reproducibility assumes the same number of threads.
    """

    dataset: str = "digits"
    data_root: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    blobs_features: int = 4
    blobs_classes: int = 3
    blobs_samples: int = 1200
    kind: str = "shared"
    width: int | None = None
    depth: int = 15
    init_gain: float | None = None
    bias_init: float | None = None
    epochs: int = 20
    batch_size: int = 64
    lr: float | None = None
    lr_decay: float = 0.85
    weight_decay: float = 0.0
    seed: int = 0
    patience: int = 5
    min_delta: float = 1e-4
    adaptive_depth: bool = False
    depth_threshold: float = 0.01
    min_depth: int = 1
    depth_check_samples: int | None = 1024
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self):
        key = str(self.dataset).lower().replace("_", "-")
        object.__setattr__(self, "dataset", "fashion-mnist" if key == "fashion" else key)
        if self.dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {', '.join(DATASETS)}; got {self.dataset!r}.")
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        for name, low in (("depth", 1), ("epochs", 1), ("batch_size", 1), ("min_depth", 1),
                          ("patience", 0), ("blobs_features", 2), ("blobs_classes", 2),
                          ("blobs_samples", 8)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}.")
        for name in ("width", "n_train", "n_test", "depth_check_samples", "threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"`{name}` must be a positive integer or None; got {value!r}.")
        for name in ("lr", "lr_decay", "depth_threshold"):
            value = getattr(self, name)
            if name == "lr" and value is None:
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"`{name}` must be a positive number; got {value!r}.")
        if not 0 <= self.weight_decay < math.inf or not 0 <= self.min_delta < math.inf:
            raise ValueError("`weight_decay` and `min_delta` must be finite and >= 0.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"`device` must be 'auto', 'cpu' or 'cuda'; got {self.device!r}.")
        if self.adaptive_depth and self.kind == "mlp":
            raise ValueError("adaptive depth applies to residual networks, not to the MLP.")
        if self.data_root is not None:
            object.__setattr__(self, "data_root", str(self.data_root))

    @property
    def learning_rate(self) -> float:
        """The initial learning rate: `lr`, or 3e-3 (ResNets) / 1e-3 (MLP) when it is None."""
        if self.lr is not None:
            return float(self.lr)
        return 1e-3 if self.kind == "mlp" else 3e-3

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training configuration keys: {', '.join(unknown)}.")
        return cls(**d)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    config : TrainConfig
    model : LayeredNet
        The trained model (evaluation mode).
    history : tuple of dict
        One record per epoch (see the module docstring).
    weights : ExportedWeights
        The trained weights as float64 arrays for ``dynsys``.
    stop_reason : str
        ``"epochs"`` (all epochs run) or ``"early-stopping"``.
    out_dir : Path or None
        The checkpoint folder, if any.
    """

    config: TrainConfig
    model: LayeredNet
    history: tuple
    weights: ExportedWeights
    stop_reason: str
    out_dir: Path | None = None

    @property
    def depth(self) -> int:
        """The final depth."""
        return self.model.depth

    @property
    def test_accuracy(self) -> float:
        """Test accuracy after the last epoch."""
        return float(self.history[-1]["test_accuracy"]) if self.history else math.nan

    @property
    def depth_history(self) -> tuple:
        """Depth after each epoch."""
        return tuple(int(h["depth_after"]) for h in self.history)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else the CPU; ``cuda`` without CUDA raises."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device` 'cuda' was requested but CUDA is not available.")
    return torch.device(device)


def model_for_config(config: TrainConfig, n_features: int, n_classes: int,
                     depth: int | None = None) -> LayeredNet:
    """The (freshly initialised) model a configuration describes."""
    kwargs = {}
    if config.init_gain is not None:
        kwargs["init_gain"] = config.init_gain
    if config.bias_init is not None:
        kwargs["bias_init"] = config.bias_init
    return build_model(config.kind, n_features, n_classes, config.width,
                       config.depth if depth is None else depth, **kwargs)


def _load_data(config: TrainConfig) -> Dataset:
    return load_dataset(config.dataset, root=config.data_root, seed=config.seed,
                        n_train=config.n_train, n_test=config.n_test,
                        blobs_features=config.blobs_features, blobs_classes=config.blobs_classes,
                        blobs_samples=config.blobs_samples)


def _threads_for(config: TrainConfig, width: int) -> int | None:
    if config.threads is not None:
        return int(config.threads)
    return 1 if width <= 256 else None


@contextlib.contextmanager
def _deterministic(device, threads=None):
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)
        if threads is not None:
            torch.set_num_threads(previous_threads)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The data-order generator of epoch `epoch` (0-based): a function of (seed, epoch) only."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch) * 7919) % (2**63 - 1))


@torch.no_grad()
def _evaluate(model, x, y, batch_size=4096):
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        target = y[start:start + batch_size]
        loss += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(1) == target).sum())
    model.train()
    n = max(len(x), 1)
    return loss / n, correct / n


def _make_optimizer(model, config):
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)


def _rng_tensors(device) -> dict:
    out = {"rng/torch": torch.get_rng_state()}
    if device.type == "cuda":
        out["rng/cuda"] = torch.cuda.get_rng_state(device)
    return out


def _train_epoch(model, optimizer, x, y, batch_size, generator):
    """One pass over (x, y) in the generator's order; returns (mean loss, accuracy)."""
    model.train()
    n = len(x)
    perm = torch.randperm(n, generator=generator).to(x.device)
    loss_sum, correct, batches = 0.0, 0, 0
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach())
        correct += int((logits.detach().argmax(1) == yb).sum())
        batches += 1
    return loss_sum / max(batches, 1), correct / max(n, 1)


def train(config: TrainConfig, out_dir=None, resume: bool = False, progress: bool = True,
          data: Dataset | None = None) -> TrainResult:
    """Train a network as `config` describes; checkpoint to `out_dir` after every epoch.

    Parameters
    ----------
    config : TrainConfig
    out_dir : path, optional
        Checkpoint folder (created if needed). Without it nothing is written.
    resume : bool
        Continue from the checkpoint in `out_dir` if there is one (its configuration must
        equal `config` except for ``epochs``, which may grow). Without `resume`, a folder
        that already holds a checkpoint is refused.
    progress : bool
        A tqdm bar per epoch (epoch, loss, accuracy, depth) on stderr.
    data : Dataset, optional
        Preloaded data matching `config` (else loaded from it).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError, nets.DataError, nets.CheckpointError
        Bad configuration, missing data, or an unusable checkpoint.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig; got {type(config).__name__}.")
    out_dir = None if out_dir is None else Path(out_dir)
    if resume and out_dir is None:
        raise ValueError("`resume` needs `out_dir`, the folder of the checkpoint.")
    device = resolve_device(config.device)
    ck = None
    if out_dir is not None and has_checkpoint(out_dir):
        if not resume:
            raise CheckpointError(
                f"{str(out_dir)!r} already holds a checkpoint; resume it or choose another folder."
            )
        ck = load_checkpoint(out_dir)
        stored = dict(ck.config)
        stored.pop("epochs", None)
        mine = config.to_dict()
        mine.pop("epochs")
        if stored != mine:
            diff = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
            raise CheckpointError(
                f"the checkpoint in {str(out_dir)!r} was made with another configuration "
                f"(differs in {', '.join(diff)})."
            )
    if data is None:
        data = _load_data(config)

    x_train = torch.from_numpy(np.array(data.x_train, dtype=np.float32)).to(device)
    y_train = torch.from_numpy(np.array(data.y_train, dtype=np.int64)).to(device)
    x_test = torch.from_numpy(np.array(data.x_test, dtype=np.float32)).to(device)
    y_test = torch.from_numpy(np.array(data.y_test, dtype=np.int64)).to(device)
    if config.depth_check_samples is not None and config.depth_check_samples < len(x_train):
        sub = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(config.seed))
        x_check = x_train[sub[: config.depth_check_samples].to(device)]
    else:
        x_check = x_train

    width = config.width if config.width is not None else data.n_features
    with _deterministic(device, _threads_for(config, width)):
        if ck is None:
            torch.manual_seed(config.seed)
            model = model_for_config(config, data.n_features, data.n_classes).to(device)
            optimizer = _make_optimizer(model, config)
            history: list[dict] = []
            state = {"epoch": 0, "depth": model.depth, "best_loss": None, "bad_epochs": 0,
                     "finished": False, "stop_reason": None,
                     "n_features": data.n_features, "n_classes": data.n_classes}
        else:
            state = dict(ck.state)
            if (state.get("n_features"), state.get("n_classes")) != (data.n_features, data.n_classes):
                raise CheckpointError("the checkpoint's data shape differs from the data loaded.")
            model = model_for_config(config, data.n_features, data.n_classes,
                                     depth=int(state["depth"])).to(device)
            try:
                model.load_state_dict(ck.model_state(), strict=True)
            except RuntimeError as exc:
                raise CheckpointError("checkpoint model does not fit its configuration: "
                                      + " ".join(str(exc).split())[:300]) from None
            optimizer = _make_optimizer(model, config)
            restore_optimizer(model, optimizer, ck.tensors)
            torch.set_rng_state(ck.tensors["rng/torch"])
            if "rng/cuda" in ck.tensors and device.type == "cuda":
                torch.cuda.set_rng_state(ck.tensors["rng/cuda"], device)
            history = [dict(h) for h in ck.history]
            if state.get("stop_reason") == "epochs" and config.epochs > int(state["epoch"]):
                state["finished"], state["stop_reason"] = False, None

        start_epoch = int(state["epoch"])
        bar = None
        if progress and not state["finished"]:
            from tqdm.auto import tqdm

            bar = tqdm(total=config.epochs, initial=start_epoch, desc=f"train {config.kind}",
                       unit="epoch", file=sys.stderr, leave=True, dynamic_ncols=True)
        try:
            epoch = start_epoch
            while not state["finished"] and epoch < config.epochs:
                t0 = time.perf_counter()
                lr = config.learning_rate * config.lr_decay ** epoch
                for group in optimizer.param_groups:
                    group["lr"] = lr
                depth = model.depth
                train_loss, train_acc = _train_epoch(
                    model, optimizer, x_train, y_train, config.batch_size,
                    _epoch_generator(config.seed, epoch))
                test_loss, test_acc = _evaluate(model, x_test, y_test)
                change = math.nan
                if config.adaptive_depth:
                    _, change = adaptive_depth_step(model, x_check, optimizer,
                                                    config.depth_threshold, config.min_depth)
                epoch += 1
                best = state["best_loss"]
                if best is None or train_loss < best - config.min_delta:
                    state["best_loss"], state["bad_epochs"] = train_loss, 0
                else:
                    state["bad_epochs"] += 1
                if config.patience and state["bad_epochs"] >= config.patience:
                    state["finished"], state["stop_reason"] = True, "early-stopping"
                elif epoch >= config.epochs:
                    state["finished"], state["stop_reason"] = True, "epochs"
                state["epoch"], state["depth"] = epoch, model.depth
                record = {
                    "epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                    "test_loss": test_loss, "test_accuracy": test_acc, "depth": depth,
                    "depth_after": model.depth,
                    "residual_change": None if math.isnan(change) else change,
                    "lr": lr, "seconds": round(time.perf_counter() - t0, 4),
                }
                history.append(record)
                if out_dir is not None:
                    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
                    tensors.update(optimizer_tensors(model, optimizer))
                    tensors.update(_rng_tensors(device))
                    save_checkpoint(out_dir, config=config.to_dict(), state=state,
                                    history=history, tensors=tensors)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{train_acc:.3f}",
                                    test=f"{test_acc:.3f}", depth=model.depth)
        finally:
            if bar is not None:
                bar.close()

    model.eval()
    weights = export_weights(model)
    if out_dir is not None:
        save_weights(weights, out_dir / WEIGHTS_FILE)
    return TrainResult(config, model, tuple(history), weights,
                       state["stop_reason"] or "epochs", out_dir)


def resume(out_dir, progress: bool = True, epochs: int | None = None,
           data: Dataset | None = None) -> TrainResult:
    """Resume (or finish) the run whose checkpoint is in `out_dir`, with its own configuration.

    `epochs` may raise the number of epochs of a run that ended by reaching its epoch limit.
    """
    ck = load_checkpoint(out_dir)
    try:
        config = TrainConfig.from_dict(ck.config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {exc}") from None
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    return train(config, out_dir=out_dir, resume=True, progress=progress, data=data)
