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
counters. The learning rate of epoch e is ``learning_rate * learning_rate_decay ** e`` and
the data order depends only on (seed, e), so a run resumed from the checkpoint of epoch e
continues exactly as the uninterrupted run did.

Run folders. ``out_dir`` is checked before any work (an existing file, a file on its path or
an unwritable place is an error naming it), then claimed with an exclusive lock for the whole
run (:func:`nets.atomic.folder_lock`, released by the operating system however the process
ends): a second writer gets :class:`nets.FolderLockedError` naming the folder. Temporary and
orphaned tensor files a killed writer left are removed, and a run that trains further first
removes the folder's old ``weights.safetensors``, so the folder never shows weights beside a
newer checkpoint. The weights written when training ends record the checkpoint they come from
(:func:`nets.check_run` checks it on every read).

Kept epochs. With ``keep_epochs=True`` the weights of epoch 0 (as initialised) are written to
``out_dir/epochs/epoch-0000.safetensors`` before the first update, and those after epoch e to
``epoch-NNNN.safetensors`` (N = e) just before the checkpoint of epoch e, which records the
file's SHA-256 and so commits it. A run killed between the two leaves an epoch file that no
checkpoint records; the run that resumes removes it and writes it again, the same bytes, so
every epoch is kept exactly once and a resumed run's files equal the uninterrupted run's.

History. One record per epoch: ``epoch`` (1-based), ``train_loss`` and ``train_accuracy``
(averaged over the epoch's mini-batches, as they were trained), ``test_loss``,
``test_accuracy`` (after the epoch), ``depth`` (the depth the epoch trained with),
``depth_after`` (after the adaptive-depth check), ``residual_change`` (``mean |y(T) - y(T-1)|``
on the training data, centred when ``depth_criterion="centred"``; ``None`` (JSON null) without adaptive depth), ``lr`` and ``seconds``.
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

from .atomic import folder_lock
from .checkpoint import (
    EPOCHS_DIR,
    LOCK_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    _commit_identity,
    _epoch_binding,
    _epoch_file_name,
    _foreign_epoch_files,
    _remove_stale_files,
    _run_identity,
    _sha256,
    check_out_dir,
    has_checkpoint,
    load_checkpoint,
    optimizer_tensors,
    restore_model,
    restore_optimizer,
    save_checkpoint,
)
from .config import TrainConfig
from .data import Dataset, load_dataset
from .depth import adaptive_depth_step
from .export import ExportedWeights, _save_weights, export_weights
from .models import LayeredNet, model_for_config

__all__ = ["TrainConfig", "TrainResult", "train", "resume", "model_for_config", "resolve_device"]

# TrainConfig (nets.config) and model_for_config (nets.models) are imported above and stay
# importable from here, where a training script looks for them.


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


def _postfix(record: dict) -> dict:
    """The progress bar's values for one history record (the epoch just finished)."""
    return {"loss": f"{record['train_loss']:.4f}", "acc": f"{record['train_accuracy']:.3f}",
            "test": f"{record['test_accuracy']:.3f}", "depth": record["depth_after"]}


def _shift_images(xb, dy, dx, image_shape, shift):
    """Translate each flat image of `xb` (B, H*W) by (dy[b], dx[b]) pixels, zero fill.

    One gather from the zero-padded batch: output pixel (r, c) of image b reads padded pixel
    (r + shift - dy[b], c + shift - dx[b]), so a positive dy moves the content down.
    """
    H, W = image_shape
    B = xb.shape[0]
    padded = F.pad(xb.view(B, H, W), (shift, shift, shift, shift))
    rows = torch.arange(H, device=xb.device) + shift - dy[:, None]  # (B, H)
    cols = torch.arange(W, device=xb.device) + shift - dx[:, None]  # (B, W)
    b = torch.arange(B, device=xb.device)[:, None, None]
    return padded[b, rows[:, :, None], cols[:, None, :]].reshape(B, H * W)


def _train_epoch(model, optimizer, x, y, batch_size, generator, shift=0, image_shape=None):
    """One pass over (x, y) in the generator's order; returns (mean loss, accuracy).

    With `shift` > 0 every image is translated by offsets drawn from the same generator after
    the permutation, so an epoch is still a function of (seed, epoch) alone and a resumed run
    repeats it exactly.
    """
    model.train()
    n = len(x)
    perm = torch.randperm(n, generator=generator).to(x.device)
    if shift:
        offsets = torch.randint(-shift, shift + 1, (2, n), generator=generator).to(x.device)
    loss_sum, correct, batches = 0.0, 0, 0
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        if shift:
            xb = _shift_images(xb, offsets[0, start:start + batch_size],
                               offsets[1, start:start + batch_size], image_shape, shift)
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
        Checkpoint folder (created if needed), locked against other writers while training
        runs. Without it nothing is written (and ``config.keep_epochs`` is refused).
    resume : bool
        Continue from the checkpoint in `out_dir` if there is one (its configuration must
        equal `config` except for ``epochs``, which may grow: another `activation`, kind or
        any other field is refused, with the checkpoint's and the run's values named).
        Without `resume`, a folder that already holds a checkpoint or a weights file is
        refused.
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
        Bad configuration, missing data, an unusable `out_dir` or checkpoint.
    nets.FolderLockedError
        Another process is training into `out_dir`.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig; got {type(config).__name__}.")
    out_dir = None if out_dir is None else Path(out_dir)
    if resume and out_dir is None:
        raise ValueError("`resume` needs `out_dir`, the folder of the checkpoint.")
    if config.keep_epochs and out_dir is None:
        raise ValueError("`config.keep_epochs` writes every epoch's weights into `out_dir`; "
                         "give `out_dir`, or leave keep_epochs False.")
    if out_dir is None:
        return _train(config, None, resume, progress, data)
    check_out_dir(out_dir, "`out_dir`")
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(out_dir, LOCK_FILE, name="`out_dir`"):
            return _train(config, out_dir, resume, progress, data)
    except BaseException:
        if created:  # a run that failed before writing anything leaves no empty folder
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise


def _train(config: TrainConfig, out_dir: Path | None, resume: bool, progress: bool,
           data: Dataset | None) -> TrainResult:
    """:func:`train` once `out_dir` is checked and locked: the phases in order."""
    device = resolve_device(config.device)
    ck = _checkpoint_to_resume(config, out_dir, resume)
    if data is None:
        data = _load_data(config)
    _check_data(config, data)
    tensors = _Tensors.on(device, data, config)
    width = config.width if config.width is not None else data.n_features
    with _deterministic(device, _threads_for(config, width)):
        run = _new_run(config, data, device) if ck is None else _restored_run(ck, config, data,
                                                                               device)
        kept = None
        if out_dir is not None:
            _remove_stale_files(out_dir, _run_identity(config.to_dict()))
            if not run.state["finished"]:
                # the weights of an earlier end would sit beside newer checkpoints
                (out_dir / WEIGHTS_FILE).unlink(missing_ok=True)
            if config.keep_epochs:
                kept = dict(ck.epoch_sha256) if ck is not None else {}
                if ck is None:  # the start, before any update
                    kept[0] = _keep_epoch(out_dir, run, config)
        bar = _progress_bar(config, run.state) if progress else None
        try:
            while not run.state["finished"] and int(run.state["epoch"]) < config.epochs:
                record = _train_one_epoch(run, config, data, tensors)
                if out_dir is not None:
                    if kept is not None:  # written before the checkpoint that commits it
                        kept[int(run.state["epoch"])] = _keep_epoch(out_dir, run, config)
                    _save_checkpoint(out_dir, run, config, device, kept)
                if bar is not None:
                    # the values first, then the count: a frame drawn by update() never
                    # pairs epoch e's count with the values of epoch e - 1
                    bar.set_postfix(_postfix(record), refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    run.model.eval()
    weights = export_weights(run.model)
    if out_dir is not None:
        _save_weights(weights, out_dir / WEIGHTS_FILE, _commit_identity(out_dir))
    return TrainResult(config, run.model, tuple(run.history), weights,
                       run.state["stop_reason"] or "epochs", out_dir)


def _checkpoint_to_resume(config: TrainConfig, out_dir: Path | None, resume: bool):
    """The checkpoint a run continues from (None for a new run), refused if it cannot be."""
    if out_dir is None:
        return None
    if not has_checkpoint(out_dir) and (out_dir / WEIGHTS_FILE).exists():
        raise CheckpointError(
            f"`out_dir` {str(out_dir)!r} holds a {WEIGHTS_FILE} but no checkpoint: a new run "
            "would mix with it. Choose another folder, or move the file away."
        )
    if not has_checkpoint(out_dir):
        foreign = _foreign_epoch_files(out_dir, _run_identity(config.to_dict()))
        if foreign:
            raise CheckpointError(
                f"`out_dir` {str(out_dir)!r} holds epoch weights files of another run in "
                f"{EPOCHS_DIR}/ ({foreign[0].name}, ...) but no checkpoint: a new run would mix "
                f"with them. Choose another folder, or move {EPOCHS_DIR}/ away."
            )
        return None
    if not resume:
        raise CheckpointError(
            f"{str(out_dir)!r} already holds a checkpoint; resume it or choose another folder."
        )
    ck = load_checkpoint(out_dir)
    # Compared resolved, so that a stored ``None`` and the value it stood for agree.
    stored = TrainConfig.from_dict(dict(ck.config)).resolved().to_dict()
    stored.pop("epochs", None)
    mine = config.resolved().to_dict()
    mine.pop("epochs")
    if stored != mine:
        diff = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
        values = "; ".join(f"`{k}`: the checkpoint has {stored.get(k)!r}, the run asks "
                           f"{mine.get(k)!r}" for k in diff)
        raise CheckpointError(
            f"the checkpoint in {str(out_dir)!r} was made with another configuration "
            f"(differs in {', '.join(diff)}: {values})."
        )
    return ck


def _check_data(config: TrainConfig, data: Dataset) -> None:
    if config.image_shift and (data.image_shape is None
                               or int(np.prod(data.image_shape)) != data.n_features):
        raise ValueError(f"`shift` = {config.image_shift} needs image data; dataset {data.name!r} "
                         f"has image shape {data.image_shape} for {data.n_features} features.")


@dataclass(frozen=True, eq=False)
class _Tensors:
    """The data as tensors on the training device; `x_check` feeds the adaptive-depth rule."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_check: torch.Tensor

    @classmethod
    def on(cls, device, data: Dataset, config: TrainConfig) -> "_Tensors":
        x_train = torch.from_numpy(np.array(data.x_train, dtype=np.float32)).to(device)
        y_train = torch.from_numpy(np.array(data.y_train, dtype=np.int64)).to(device)
        x_test = torch.from_numpy(np.array(data.x_test, dtype=np.float32)).to(device)
        y_test = torch.from_numpy(np.array(data.y_test, dtype=np.int64)).to(device)
        x_check = x_train
        if config.depth_check_samples is not None and config.depth_check_samples < len(x_train):
            # its own generator: the subset never moves the global RNG the weights come from
            sub = torch.randperm(len(x_train),
                                 generator=torch.Generator().manual_seed(config.seed))
            x_check = x_train[sub[: config.depth_check_samples].to(device)]
        return cls(x_train, y_train, x_test, y_test, x_check)


@dataclass(eq=False)
class _Run:
    """The mutable state of one training run: what a checkpoint holds."""

    model: LayeredNet
    optimizer: torch.optim.Optimizer
    history: list
    state: dict


def _new_run(config: TrainConfig, data: Dataset, device) -> _Run:
    torch.manual_seed(config.seed)
    model = model_for_config(config, data.n_features, data.n_classes).to(device)
    state = {"epoch": 0, "depth": model.depth, "best_loss": None, "bad_epochs": 0,
             "finished": False, "stop_reason": None,
             "n_features": data.n_features, "n_classes": data.n_classes}
    return _Run(model, _make_optimizer(model, config), [], state)


def _restored_run(ck, config: TrainConfig, data: Dataset, device) -> _Run:
    state = dict(ck.state)
    if (state.get("n_features"), state.get("n_classes")) != (data.n_features, data.n_classes):
        raise CheckpointError("the checkpoint's data shape differs from the data loaded.")
    model = restore_model(ck, config).to(device)
    optimizer = _make_optimizer(model, config)
    restore_optimizer(model, optimizer, ck.tensors)
    torch.set_rng_state(ck.tensors["rng/torch"])
    if "rng/cuda" in ck.tensors and device.type == "cuda":
        torch.cuda.set_rng_state(ck.tensors["rng/cuda"], device)
    if state.get("stop_reason") == "epochs" and config.epochs > int(state["epoch"]):
        state["finished"], state["stop_reason"] = False, None
    return _Run(model, optimizer, [dict(h) for h in ck.history], state)


def _progress_bar(config: TrainConfig, state: dict):
    if state["finished"]:
        return None
    from tqdm.auto import tqdm

    # mininterval=0: an epoch is a long event, and every frame should be drawn
    return tqdm(total=config.epochs, initial=int(state["epoch"]), desc=f"train {config.kind}",
                unit="epoch", file=sys.stderr, leave=True, dynamic_ncols=True, mininterval=0)


def _train_one_epoch(run: _Run, config: TrainConfig, data: Dataset, tensors: _Tensors) -> dict:
    """Epoch e + 1 (e = the epochs done): train, evaluate, adapt the depth, update the
    stopping state; append and return the epoch's history record."""
    t0 = time.perf_counter()
    epoch = int(run.state["epoch"])
    lr = config.learning_rate * config.learning_rate_decay ** epoch
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    depth = run.model.depth
    train_loss, train_acc = _train_epoch(
        run.model, run.optimizer, tensors.x_train, tensors.y_train, config.batch_size,
        _epoch_generator(config.seed, epoch), config.image_shift, data.image_shape)
    test_loss, test_acc = _evaluate(run.model, tensors.x_test, tensors.y_test)
    change = math.nan
    if config.adaptive_depth:
        _, change = adaptive_depth_step(run.model, tensors.x_check, run.optimizer,
                                        config.depth_threshold, config.min_depth,
                                        criterion=config.depth_criterion)
    _update_stopping(run.state, config, epoch + 1, train_loss)
    run.state["epoch"], run.state["depth"] = epoch + 1, run.model.depth
    record = {
        "epoch": epoch + 1, "train_loss": train_loss, "train_accuracy": train_acc,
        "test_loss": test_loss, "test_accuracy": test_acc, "depth": depth,
        "depth_after": run.model.depth,
        "residual_change": None if math.isnan(change) else change,
        "lr": lr, "seconds": round(time.perf_counter() - t0, 4),
    }
    run.history.append(record)
    return record


def _update_stopping(state: dict, config: TrainConfig, epochs_done: int,
                     train_loss: float) -> None:
    """Early stopping on the training loss (`patience`, `min_delta`), then the epoch limit."""
    best = state["best_loss"]
    if best is None or train_loss < best - config.min_delta:
        state["best_loss"], state["bad_epochs"] = train_loss, 0
    else:
        state["bad_epochs"] += 1
    if config.patience and state["bad_epochs"] >= config.patience:
        state["finished"], state["stop_reason"] = True, "early-stopping"
    elif epochs_done >= config.epochs:
        state["finished"], state["stop_reason"] = True, "epochs"


def _save_checkpoint(out_dir: Path, run: _Run, config: TrainConfig, device,
                     kept: dict | None = None) -> None:
    tensors = {f"model/{k}": v for k, v in run.model.state_dict().items()}
    tensors.update(optimizer_tensors(run.model, run.optimizer))
    tensors.update(_rng_tensors(device))
    save_checkpoint(out_dir, config=config.to_dict(), state=run.state, history=run.history,
                    tensors=tensors, kept_epochs=kept)


def _keep_epoch(out_dir: Path, run: _Run, config: TrainConfig) -> str:
    """Write the weights of the epoch `run` is at (``run.state["epoch"]``, 0 before any
    update) to the run's epochs folder, atomically; returns the file's SHA-256."""
    epoch = int(run.state["epoch"])
    path = out_dir / EPOCHS_DIR / _epoch_file_name(epoch)
    _save_weights(export_weights(run.model), path, _epoch_binding(config.to_dict(), epoch))
    return _sha256(path)


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
