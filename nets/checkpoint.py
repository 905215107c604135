"""Checkpoints: tensors in safetensors, everything else in JSON, atomic writes, nothing pickled.

A training folder holds only ``.safetensors`` and ``.json`` files:

``checkpoint.json``
    The commit point: format, configuration, scalar training state (epoch, depth, early-stopping
    counters, stop reason), the full history, and the name, SHA-256 and tensor shapes of the
    tensor file it belongs to.
``state-epochNNNN.safetensors``
    Model parameters (``model/<name>``), the optimizer state by parameter name
    (``optim/<name>/<key>``) and the RNG states as uint8 tensors (``rng/torch``, ``rng/cuda``).
``history.json``
    One record per epoch (a copy of the history in ``checkpoint.json``, for readers).
``weights.safetensors``
    The final weights as float64 arrays for :mod:`dynsys` (see :mod:`nets.export`), written
    when training ends.

Writes are atomic (:mod:`nets._atomic`): every file is first written under a ``_partial_`` name
and then renamed with :func:`os.replace`. The tensor file of epoch e is written first;
replacing ``checkpoint.json`` then commits it, and only after that are older tensor files
removed. A run killed at any moment therefore leaves a consistent checkpoint (the last
committed one) plus perhaps a stray file that the next save removes. On loading, the tensor
file's SHA-256, its key set and every shape are checked against ``checkpoint.json``: a
truncated or edited checkpoint raises :class:`CheckpointError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ._atomic import atomic_save, atomic_write_json, remove_partial_files
from .config import TrainConfig
from .models import model_for_config

__all__ = [
    "CHECKPOINT_FILE",
    "HISTORY_FILE",
    "WEIGHTS_FILE",
    "Checkpoint",
    "CheckpointError",
    "has_checkpoint",
    "load_checkpoint",
    "load_model",
    "optimizer_tensors",
    "restore_model",
    "restore_optimizer",
    "save_checkpoint",
]

CHECKPOINT_FILE = "checkpoint.json"
HISTORY_FILE = "history.json"
WEIGHTS_FILE = "weights.safetensors"
_FORMAT = "resdyn-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, edited or does not fit the model."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes
    ----------
    directory : Path
    config : dict
        The training configuration (see :class:`nets.TrainConfig`).
    state : dict
        Scalar training state: ``epoch`` (epochs completed), ``depth``, ``best_loss``,
        ``bad_epochs``, ``finished``, ``stop_reason``.
    history : tuple of dict
        One record per completed epoch.
    tensors : dict of str to Tensor
        Model (``model/...``), optimizer (``optim/...``) and RNG (``rng/...``) tensors.
    """

    directory: Path
    config: dict
    state: dict
    history: tuple
    tensors: dict

    def model_state(self) -> dict:
        """The model's ``state_dict`` (keys without the ``model/`` prefix)."""
        return {k[len("model/"):]: v for k, v in self.tensors.items() if k.startswith("model/")}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def has_checkpoint(directory) -> bool:
    """Whether `directory` holds a committed checkpoint (``checkpoint.json``)."""
    return (Path(directory) / CHECKPOINT_FILE).is_file()


def optimizer_tensors(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's per-parameter state as ``optim/<param name>/<key>`` tensors."""
    out = {}
    for name, param in model.named_parameters():
        for key, value in optimizer.state.get(param, {}).items():
            if not torch.is_tensor(value):
                value = torch.tensor(value)
            out[f"optim/{name}/{key}"] = value.detach().cpu().contiguous()
    return out


def restore_optimizer(model: torch.nn.Module, optimizer: torch.optim.Optimizer, tensors: dict) -> None:
    """Load per-parameter optimizer state saved by :func:`optimizer_tensors`."""
    names = dict(model.named_parameters())
    per_param: dict[str, dict] = {}
    for key, value in tensors.items():
        if not key.startswith("optim/"):
            continue
        name, _, skey = key[len("optim/"):].rpartition("/")
        if name not in names:
            raise CheckpointError(f"checkpoint has optimizer state for unknown parameter {name!r}.")
        per_param.setdefault(name, {})[skey] = value
    optimizer.state.clear()
    for name, state in per_param.items():
        param = names[name]
        optimizer.state[param] = {
            k: (v.to(param.device) if k != "step" else v.clone()) for k, v in state.items()
        }


def save_checkpoint(directory, *, config: dict, state: dict, history, tensors: dict) -> Path:
    """Write one checkpoint atomically (see the module docstring); returns ``checkpoint.json``.

    `tensors` maps names to tensors (model, optimizer, RNG); `state` holds JSON scalars and
    must contain ``epoch``.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    epoch = int(state["epoch"])
    tensor_name = f"state-epoch{epoch:04d}.safetensors"
    tensor_path = directory / tensor_name
    clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    atomic_save(tensor_path, lambda tmp: save_file(
        clean, str(tmp), metadata={"format": _FORMAT, "epoch": str(epoch)}))
    record = {
        "format": _FORMAT,
        "torch_version": torch.__version__,
        "config": dict(config),
        "state": dict(state),
        "history": [dict(h) for h in history],
        "tensors": {
            "file": tensor_name,
            "sha256": _sha256(tensor_path),
            "shapes": {k: list(v.shape) for k, v in sorted(clean.items())},
            "dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in sorted(clean.items())},
        },
    }
    atomic_write_json(directory / CHECKPOINT_FILE, record, indent=1)  # the commit point
    atomic_write_json(directory / HISTORY_FILE, record["history"], indent=1)
    for old in directory.glob("state-epoch*.safetensors"):
        if old.name != tensor_name:
            old.unlink(missing_ok=True)
    remove_partial_files(directory)
    return directory / CHECKPOINT_FILE


def load_checkpoint(directory) -> Checkpoint:
    """Read and verify the checkpoint in `directory`.

    Raises
    ------
    CheckpointError
        If there is no checkpoint, or ``checkpoint.json`` is not valid JSON of the expected
        format, or the tensor file is missing, has another SHA-256 (truncated or edited), or its
        keys or shapes differ from those recorded.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint folder {str(directory)!r} does not exist.")
    meta_path = directory / CHECKPOINT_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"no checkpoint in {str(directory)!r} (no {CHECKPOINT_FILE}).")
    try:
        record = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{str(meta_path)!r} is not valid JSON (truncated or edited?): {exc}.") from None
    try:
        if record.get("format") != _FORMAT:
            raise CheckpointError(f"{str(meta_path)!r} is not a resdyn checkpoint "
                                  f"(format {record.get('format')!r}).")
        config, state, history = record["config"], record["state"], record["history"]
        info = record["tensors"]
        tensor_path = directory / info["file"]
        sha, shapes = info["sha256"], info["shapes"]
        int(state["epoch"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{str(meta_path)!r} lacks an expected entry ({exc!r}): edited?") from None
    if Path(info["file"]).name != info["file"] or not tensor_path.is_file():
        raise CheckpointError(f"checkpoint tensor file {str(tensor_path)!r} is missing.")
    actual = _sha256(tensor_path)
    if actual != sha:
        raise CheckpointError(
            f"checkpoint tensor file {str(tensor_path)!r} has SHA-256 {actual[:12]}..., "
            f"not the recorded {str(sha)[:12]}...: it is truncated or was modified."
        )
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint tensor file {str(tensor_path)!r} is unreadable: {exc}.") from None
    if set(tensors) != set(shapes):
        extra = sorted(set(tensors) - set(shapes))
        missing = sorted(set(shapes) - set(tensors))
        raise CheckpointError(
            f"checkpoint tensors differ from {CHECKPOINT_FILE}: missing {missing[:3]}, "
            f"unexpected {extra[:3]}."
        )
    for key, shape in shapes.items():
        if list(tensors[key].shape) != list(shape):
            raise CheckpointError(
                f"checkpoint tensor {key!r} has shape {list(tensors[key].shape)}, "
                f"recorded {list(shape)}."
            )
    return Checkpoint(directory, dict(config), dict(state), tuple(dict(h) for h in history),
                      tensors)


def restore_model(ck: Checkpoint, config: TrainConfig | None = None):
    """The model a loaded checkpoint holds, on the CPU, in training mode.

    The one way a model comes back from a checkpoint: :func:`load_model` and resuming a run
    (:func:`nets.train`) both go through it. `config` defaults to the checkpoint's own
    configuration (a resumed run passes its configuration, which equals the stored one up to
    ``epochs``); the depth is the one the checkpoint recorded.

    Raises
    ------
    CheckpointError
        The stored configuration is invalid, or the model parameters do not fit it.
    """
    if config is None:
        try:
            config = TrainConfig.from_dict(ck.config)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the checkpoint's configuration is invalid: {exc}") from None
    try:
        n_features, n_classes = int(ck.state["n_features"]), int(ck.state["n_classes"])
        depth = int(ck.state["depth"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the checkpoint's state lacks an expected entry ({exc!r}).") from None
    model = model_for_config(config, n_features, n_classes, depth=depth)
    try:
        model.load_state_dict(ck.model_state(), strict=True)
    except RuntimeError as exc:
        raise CheckpointError("checkpoint model does not fit its configuration: "
                              + " ".join(str(exc).split())[:300]) from None
    return model


def load_model(directory):
    """The model stored in the checkpoint in `directory` (in evaluation mode, on the CPU)."""
    return restore_model(load_checkpoint(directory)).eval()
