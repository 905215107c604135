"""Checkpoints: tensors in safetensors, everything else in JSON, atomic writes, nothing pickled.

A training folder holds only ``.safetensors`` and ``.json`` files (and, for a run that keeps
its epochs, the folder ``epochs`` of ``.safetensors`` files):

``checkpoint.json``
    The commit point: format, configuration, scalar training state (epoch, depth, early-stopping
    counters, stop reason), the full history, and the name, SHA-256 and tensor shapes of the
    tensor file it belongs to; for a run that keeps its epochs, the SHA-256 of every kept
    epoch's file (``kept_epochs``).
``state-epochNNNN.safetensors``
    Model parameters (``model/<name>``), the optimizer state by parameter name
    (``optim/<name>/<key>``) and the RNG states as uint8 tensors (``rng/torch``, ``rng/cuda``).
``history.json``
    One record per epoch (a copy of the history in ``checkpoint.json``, for readers).
``weights.safetensors``
    The final weights as float64 arrays for :mod:`dynsys` (see :mod:`nets.export`), written
    when training ends. Its metadata name the checkpoint it was exported from (epoch and the
    tensor file's SHA-256), so a weights file never passes for another checkpoint's.
``.train.lock``
    Only while a process trains into the folder: the exclusive lock (see
    :func:`nets.atomic.folder_lock`) that keeps a second writer out.
``epochs/epoch-NNNN.safetensors``
    Only with ``TrainConfig(keep_epochs=True)``: the weights after epoch N (``epoch-0000``:
    the initial weights) as float64 arrays, in the format of ``weights.safetensors``. Their
    metadata name the epoch (``epoch``) and the run (``run``: a SHA-256 of the run's
    configuration without ``epochs``, the fields that resuming holds fixed), so a file of
    another run or another epoch is never read as this one's.

Writes are atomic (:mod:`nets.atomic`): every file is first written under a ``_partial_`` name
and then renamed with :func:`os.replace`. The tensor file of epoch e (and, when epochs are
kept, epoch e's weights file) is written first; replacing ``checkpoint.json`` then commits
it, and only after that are older tensor files removed. A run killed at any moment therefore
leaves a consistent checkpoint (the last committed one) plus perhaps a stray file that the
next save removes. Kept epoch files are never removed once committed: only an epoch file that
no committed checkpoint records (written just before a kill) is stale, and the run that
resumes writes it again, byte for byte the same. On loading, the tensor file's SHA-256, its
key set and every shape are checked against ``checkpoint.json``: a truncated or edited
checkpoint raises :class:`CheckpointError` with a one-line message.

Safetensors files are written byte for byte the same for the same tensors: the library
writes its metadata in hash order, which differs from process to process, so the header is
rewritten with sorted metadata (``_canonical_safetensors``). Identical runs therefore give
identical files and identical checkpoint hashes.

Readers of a run's result (:func:`load_model`, :func:`nets.load_weights`,
:func:`nets.to_network` on a folder, the ``resdyn`` commands that take RUN) go through
:func:`check_run`: an unfinished run, or a weights file that does not belong to the folder's
checkpoint, is refused with a message that says what was found and how to fix it. A kept
epoch (:func:`nets.to_network` and :func:`nets.load_weights` with ``epoch=``) is checked
against the committed record instead (its SHA-256, epoch and run): the run need not be
finished, since a committed epoch's file never changes again.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .atomic import (atomic_write_bytes, atomic_write_json, check_output_folder,
                      remove_partial_files)
from .config import TrainConfig
from .models import model_for_config

__all__ = [
    "CHECKPOINT_FILE",
    "EPOCHS_DIR",
    "HISTORY_FILE",
    "WEIGHTS_FILE",
    "Checkpoint",
    "CheckpointError",
    "LOCK_FILE",
    "check_out_dir",
    "check_run",
    "has_checkpoint",
    "kept_epochs",
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
#: The lock file a training process holds in its run folder.
LOCK_FILE = ".train.lock"
_FORMAT = "resdyn-checkpoint/1"
#: Metadata of a run's weights file: the checkpoint it was exported from.
BOUND_EPOCH = "checkpoint_epoch"
BOUND_SHA256 = "checkpoint_sha256"
#: The folder of a run's kept epochs, and the metadata of each epoch's weights file.
EPOCHS_DIR = "epochs"
KEPT_EPOCH = "epoch"
KEPT_RUN = "run"
_EPOCH_FILE = re.compile(r"epoch-(\d{4,})\.safetensors")
_NPY_MAGIC = b"\x93NUMPY"


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
    sha256 : str
        The SHA-256 of the tensor file, as ``checkpoint.json`` commits it: the checkpoint's
        identity, which a run's weights file records.
    epoch_sha256 : dict of int to str
        The kept epochs (``TrainConfig(keep_epochs=True)``) and the SHA-256 of each one's
        weights file, as ``checkpoint.json`` commits them; empty for a run that keeps none.
    """

    directory: Path
    config: dict
    state: dict
    history: tuple
    tensors: dict
    sha256: str = ""
    epoch_sha256: dict = field(default_factory=dict)

    def model_state(self) -> dict:
        """The model's ``state_dict`` (keys without the ``model/`` prefix)."""
        return {k[len("model/"):]: v for k, v in self.tensors.items() if k.startswith("model/")}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical_safetensors(data: bytes) -> bytes:
    """The bytes of a safetensors file with its header in one fixed order.

    The safetensors library keeps metadata in a hash map, so the same tensors and metadata
    come out with the metadata keys in another order in every process. This rewrites the
    header as compact JSON with the metadata sorted and the tensors in the order of their
    data, padded with spaces to a multiple of 8 bytes as the format asks; the data are
    untouched.

    Parameters
    ----------
    data : bytes
        A safetensors file (``safetensors.torch.save`` / ``safetensors.numpy.save``).

    Returns
    -------
    bytes
        The same file, byte for byte the same for the same tensors and metadata.
    """
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    ordered = {} if meta is None else {"__metadata__": dict(sorted(meta.items()))}
    for key in sorted(header, key=lambda k: (header[k]["data_offsets"][0], k)):
        ordered[key] = header[key]
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


def _epoch_file_name(epoch: int) -> str:
    """The name of epoch `epoch`'s weights file in a run's :data:`EPOCHS_DIR`."""
    return f"epoch-{int(epoch):04d}.safetensors"


def _run_identity(config: dict) -> str:
    """The identity of a run, which its kept epoch files record: the SHA-256 of its resolved
    configuration without ``epochs``.

    Those are the fields a resumed run must share with its checkpoint (``epochs`` may grow),
    so every epoch of a run, before and after a resume, records the same identity; two runs
    that differ in any of them, `keep_epochs` included, record different ones.
    """
    try:
        resolved = TrainConfig.from_dict(dict(config)).resolved().to_dict()
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the checkpoint's configuration is invalid: {exc}") from None
    resolved.pop("epochs")
    blob = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _epoch_binding(config: dict, epoch: int) -> dict:
    """The metadata of epoch `epoch`'s weights file: its epoch and its run."""
    return {KEPT_EPOCH: str(int(epoch)), KEPT_RUN: _run_identity(config)}


def _epoch_files(directory: Path) -> dict:
    """The epoch weights files in the run folder `directory`, by epoch (unverified)."""
    found = {}
    folder = directory / EPOCHS_DIR
    if folder.is_dir():
        for path in folder.iterdir():
            match = _EPOCH_FILE.fullmatch(path.name)
            if match and path.is_file():
                found[int(match.group(1))] = path
    return found


def _kept_in_record(record: dict, where: str) -> dict:
    """The ``kept_epochs`` entry of a ``checkpoint.json`` record as {epoch: SHA-256}."""
    kept = record.get("kept_epochs", {})
    try:
        if not isinstance(kept, dict):
            raise TypeError(type(kept).__name__)
        out = {int(e): str(sha) for e, sha in kept.items()}
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where!r} has an unreadable `kept_epochs` entry ({exc!r}): "
                              "edited?") from None
    if any(e < 0 or not isinstance(sha, str) or len(sha) != 64 for e, sha in out.items()):
        raise CheckpointError(f"{where!r} has an unreadable `kept_epochs` entry: edited?")
    return dict(sorted(out.items()))


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


def save_checkpoint(directory, *, config: dict, state: dict, history, tensors: dict,
                    kept_epochs=None) -> Path:
    """Write one checkpoint atomically (see the module docstring); returns ``checkpoint.json``.

    `tensors` maps names to tensors (model, optimizer, RNG); `state` holds JSON scalars and
    must contain ``epoch``. `kept_epochs` maps each kept epoch to the SHA-256 of its weights
    file, already written in :data:`EPOCHS_DIR`: this checkpoint commits them (None for a run
    that keeps no epochs).
    """
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    epoch = int(state["epoch"])
    tensor_name = f"state-epoch{epoch:04d}.safetensors"
    tensor_path = directory / tensor_name
    clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    data = _canonical_safetensors(save(clean, metadata={"format": _FORMAT, "epoch": str(epoch)}))
    atomic_write_bytes(tensor_path, data)
    record = {
        "format": _FORMAT,
        "torch_version": torch.__version__,
        "config": dict(config),
        "state": dict(state),
        "history": [dict(h) for h in history],
        "tensors": {
            "file": tensor_name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "shapes": {k: list(v.shape) for k, v in sorted(clean.items())},
            "dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in sorted(clean.items())},
        },
    }
    if kept_epochs is not None:
        record["kept_epochs"] = {str(int(e)): str(sha)
                                 for e, sha in sorted(kept_epochs.items())}
    atomic_write_json(directory / CHECKPOINT_FILE, record, indent=1)  # the commit point
    atomic_write_json(directory / HISTORY_FILE, record["history"], indent=1)
    _remove_stale_files(directory)
    return directory / CHECKPOINT_FILE


def _committed(directory: Path) -> dict | None:
    """The record of ``checkpoint.json`` (unverified), or None where there is none or it is
    unreadable (:func:`load_checkpoint` reports that)."""
    try:
        record = json.loads((directory / CHECKPOINT_FILE).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _remove_stale_files(directory, run: str | None = None) -> int:
    """Remove what a killed writer left in a run folder: temporary files, tensor files that
    the committed checkpoint does not name, and epoch weights files of this run that it does
    not record. Returns how many files were removed.

    Only its writer (the holder of the folder's lock) may call this. Without a readable
    commit point nothing but temporary files is removed. An epoch file is stale only when its
    run keeps epochs and the committed checkpoint does not record it: a kept epoch is never
    removed. Before the first commit, the epoch files that record the run `run` (the
    identity of the run the writer trains) are stale; files of another run are left alone.
    """
    directory = Path(directory)
    count = remove_partial_files(directory)
    if (directory / EPOCHS_DIR).is_dir():
        count += remove_partial_files(directory / EPOCHS_DIR)
    record = _committed(directory)
    if record is None and has_checkpoint(directory):
        return count
    keep = None
    if record is not None:
        try:
            keep = record["tensors"]["file"]
        except (KeyError, TypeError):
            return count
    for old in directory.glob("state-epoch*.safetensors"):
        if old.name != keep:
            old.unlink(missing_ok=True)
            count += 1
    return count + _remove_stale_epochs(directory, record, run)


def _remove_stale_epochs(directory: Path, record: dict | None, run: str | None) -> int:
    """:func:`_remove_stale_files` for the epoch weights files (see there)."""
    files = _epoch_files(directory)
    if not files:
        return 0
    if record is not None:
        try:
            if not TrainConfig.from_dict(dict(record["config"])).keep_epochs:
                return 0
            kept = _kept_in_record(record, CHECKPOINT_FILE)
        except (KeyError, TypeError, ValueError):
            return 0
        stale = [path for epoch, path in files.items() if epoch not in kept]
    elif run is not None:
        stale = [path for path in files.values() if _epoch_file_run(path) == run]
    else:
        return 0
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _epoch_file_run(path: Path) -> str | None:
    """The run an epoch weights file records, or None if it records none or is unreadable."""
    try:
        return _weights_metadata(path, "epoch file").get(KEPT_RUN)
    except ValueError:
        return None


def _foreign_epoch_files(directory: Path, run: str) -> list:
    """The epoch weights files in `directory` that do not record the run `run`."""
    return [path for _, path in sorted(_epoch_files(directory).items())
            if _epoch_file_run(path) != run]


def _commit_identity(directory) -> dict:
    """The weights-file metadata that binds an export to the committed checkpoint."""
    record = _committed(Path(directory))
    if record is None:
        raise CheckpointError(f"no readable {CHECKPOINT_FILE} in {str(directory)!r}.")
    return {BOUND_EPOCH: str(int(record["state"]["epoch"])),
            BOUND_SHA256: str(record["tensors"]["sha256"])}


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
    kept = _kept_in_record(record, str(meta_path))
    return Checkpoint(directory, dict(config), dict(state), tuple(dict(h) for h in history),
                      tensors, str(sha), kept)


def check_out_dir(path, name: str = "`out_dir`") -> Path:
    """Refuse, before any work, a place where no run folder can be written.

    The check of every output folder of the project, :func:`nets.atomic.check_output_folder`:
    writability is proved by creating and removing a probe file, not by :func:`os.access`
    (which says yes to root where the kernel refuses writes, e.g. under ``/sys``).

    Parameters
    ----------
    path : str or Path
        The run folder to be (created if it does not exist).
    name : str
        How errors name it (``"--out"`` on the command line).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        `path` is an existing file, it or a folder on its way is a symbolic link to a missing
        target, a file lies on its way (no folder can be made there), or no file can be
        created in the folder (or its nearest existing parent).
    """
    return check_output_folder(path, name)


def _weights_metadata(path: Path, name: str) -> dict:
    """The metadata of a safetensors file, or a ValueError naming `name` and what it is."""
    from safetensors import SafetensorError, safe_open

    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise ValueError(f"{name} {str(path)!r} cannot be read ({exc}).") from None
    if head == _NPY_MAGIC:
        raise ValueError(
            f"{name} {str(path)!r} is a NumPy .npy file, but a training run folder or a "
            ".safetensors weights file (nets.save_weights) was expected. A bare W (.npy) is "
            "taken only where W alone is asked for: np.load it for dynsys.fixed_points and "
            "the other eq. 3 functions, or give it to `resdyn fixed-points`."
        )
    try:
        with safe_open(str(path), framework="numpy") as fh:
            return dict(fh.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{name} {str(path)!r} is not a readable safetensors file ({exc}); "
                         "expected a training run folder or a .safetensors weights file "
                         "(nets.save_weights).") from None


def check_run(path, name: str = "`run`") -> Checkpoint | None:
    """Check that `path` holds one finished run's result before anything reads it.

    A run folder qualifies when its checkpoint is finished and its ``weights.safetensors``,
    if present, was exported from that very checkpoint (its metadata record the epoch and
    the checkpoint's SHA-256). A folder with only ``weights.safetensors`` (no checkpoint) and
    a safetensors file pass as they are: passing a weights file explicitly is how to read one
    that the folder check refuses.

    Parameters
    ----------
    path : str or Path
        A run folder or a ``.safetensors`` file.
    name : str
        How errors name it (``"RUN"`` on the command line).

    Returns
    -------
    Checkpoint or None
        The verified checkpoint of a run folder; None for a file or a folder without one.

    Raises
    ------
    FileNotFoundError
        `path` does not exist.
    CheckpointError
        An unfinished run, a weights file that belongs to another checkpoint (or records
        none), or a damaged checkpoint: the message says what was found and how to fix it.
    ValueError
        A file that is not safetensors (a NumPy ``.npy`` file is named as such), or a
        folder with neither ``checkpoint.json`` nor ``weights.safetensors``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name} {str(path)!r} does not exist; expected a training run "
                                "folder or a .safetensors weights file.")
    if not path.is_dir():
        _weights_metadata(path, name)
        return None
    weights = path / WEIGHTS_FILE
    if not has_checkpoint(path):
        if not weights.is_file():
            raise ValueError(f"{name} {str(path)!r} is a folder without {CHECKPOINT_FILE} or "
                             f"{WEIGHTS_FILE}; expected a training run folder or a .safetensors "
                             "weights file.")
        _weights_metadata(weights, name)
        return None
    ck = load_checkpoint(path)
    epoch = int(ck.state["epoch"])
    problem = None
    if weights.is_file():
        meta = _weights_metadata(weights, f"{name}'s {WEIGHTS_FILE}")
        bound_epoch, bound_sha = meta.get(BOUND_EPOCH), meta.get(BOUND_SHA256)
        if bound_sha is None:
            problem = (f"its {WEIGHTS_FILE} records no checkpoint (written by hand or by an "
                       "older resdyn), so nothing shows it belongs to this run")
        elif bound_sha != ck.sha256 or bound_epoch != str(epoch):
            problem = (f"its {WEIGHTS_FILE} was exported from a checkpoint of epoch "
                       f"{bound_epoch} (SHA-256 {bound_sha[:12]}...), not from the folder's "
                       f"checkpoint of epoch {epoch} (SHA-256 {ck.sha256[:12]}...)")
    if not ck.state.get("finished"):
        total = ck.config.get("epochs", "?")
        raise CheckpointError(
            f"{name} {str(path)!r} is an unfinished training run: its checkpoint is at epoch "
            f"{epoch} of {total} and training has not ended"
            + (f", and {problem}" if problem else "")
            + f". Finish it with `resdyn train --resume {path}` (nets.resume), or pass a "
            "weights file explicitly (nets.restore_model(nets.load_checkpoint(folder)) gives "
            "the model as it stands)."
        )
    if problem:
        raise CheckpointError(
            f"{name} {str(path)!r} does not hold one consistent run: {problem}. Export the "
            f"checkpoint's weights again with `resdyn train --resume {path}` (nets.resume), "
            "or pass a weights file explicitly."
        )
    return ck


def _run_folder(run, name: str) -> Path:
    """`run` as the path of an existing folder, or the error that says what it is."""
    path = Path(run)
    if not path.exists():
        raise FileNotFoundError(f"{name} {str(path)!r} does not exist; expected a training run "
                                "folder.")
    if not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a file, but kept epochs are read from a "
                         "training run folder (a weights file is read as it is, without "
                         "`epoch`: nets.load_weights(path)).")
    return path


def _committed_kept(directory: Path) -> tuple:
    """``(record, kept)``: the committed record of a run folder and its kept epochs
    ({epoch: SHA-256}); a missing or damaged ``checkpoint.json`` raises CheckpointError."""
    record = _committed(directory)
    if record is None or record.get("format") != _FORMAT:
        load_checkpoint(directory)  # raises with the reason
        raise CheckpointError(f"{str(directory / CHECKPOINT_FILE)!r} changed while it was "
                              "read; try again.")
    return record, _kept_in_record(record, str(directory / CHECKPOINT_FILE))


def _describe_epochs(epochs) -> str:
    """Epoch numbers in words: ``0 to 20`` when they run without a gap, else a list."""
    epochs = sorted(epochs)
    if len(epochs) > 2 and epochs == list(range(epochs[0], epochs[-1] + 1)):
        return f"{epochs[0]} to {epochs[-1]}"
    return ", ".join(str(e) for e in epochs)


def kept_epochs(run) -> tuple:
    """The epochs whose weights the training run folder `run` keeps, in increasing order.

    A run trained with ``TrainConfig(keep_epochs=True)`` (``resdyn train --keep-epochs``)
    keeps epoch 0 (the initial weights) and every epoch it has completed, each in
    ``run/epochs/epoch-NNNN.safetensors``; :func:`nets.to_network` ``(run, epoch=k)`` and
    :func:`nets.load_weights` ``(run, epoch=k)`` read one.

    Parameters
    ----------
    run : str or Path
        A training run folder, finished or not: the epochs of an unfinished run are those its
        last committed checkpoint records, whose files never change again.

    Returns
    -------
    tuple of int
        The epochs the committed ``checkpoint.json`` records as kept: ``(0, 1, ..., E)`` for a
        run at epoch E; ``()`` for a run that keeps none. Each file is checked when it is
        read (its SHA-256 against the record, its epoch and run against its metadata).

    Raises
    ------
    FileNotFoundError
        `run` does not exist.
    ValueError
        `run` is a file.
    CheckpointError
        `run` holds no checkpoint, or a damaged ``checkpoint.json``.
    """
    _, kept = _committed_kept(_run_folder(run, "`run`"))
    return tuple(kept)


def _kept_epoch_file(run, epoch, name: str = "`run`") -> Path:
    """The weights file of kept epoch `epoch` of the run folder `run`, checked.

    The file must be one the committed checkpoint records (its SHA-256) and must record
    this epoch and this run in its metadata. `name` is how errors name `run`.

    Raises
    ------
    ValueError
        `epoch` is not an integer >= 0, or not an epoch the run keeps (the message names the
        epochs it keeps); `run` is a file.
    FileNotFoundError
        `run` does not exist.
    CheckpointError
        No readable checkpoint; the epoch's file is missing, belongs to another run or epoch,
        or is truncated or modified.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        raise ValueError(f"`epoch` must be an integer >= 0, an epoch the run keeps; got "
                         f"{epoch!r}.")
    epoch = int(epoch)
    directory = _run_folder(run, name)
    record, kept = _committed_kept(directory)
    if epoch not in kept:
        if kept:
            state = record.get("state") if isinstance(record.get("state"), dict) else {}
            unfinished = "" if state.get("finished") else (
                f" (an unfinished run: its checkpoint is at epoch {state.get('epoch', '?')})")
            have = f"it keeps epochs {_describe_epochs(kept)}{unfinished}"
        else:
            have = ("it keeps none (it was trained without TrainConfig(keep_epochs=True), "
                    "resdyn train --keep-epochs)")
        raise ValueError(f"`epoch` {epoch} is not kept in {name} {str(directory)!r}: {have}.")
    path = directory / EPOCHS_DIR / _epoch_file_name(epoch)
    if not path.is_file():
        raise CheckpointError(f"the weights file of kept epoch {epoch} of {name} "
                              f"{str(directory)!r}, {str(path)!r}, is missing (removed by "
                              "hand?).")
    meta = _weights_metadata(path, f"the weights file of epoch {epoch}")
    config = record.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{str(directory / CHECKPOINT_FILE)!r} lacks the configuration: "
                              "edited?")
    own = _run_identity(config)
    found_epoch, found_run = meta.get(KEPT_EPOCH), meta.get(KEPT_RUN)
    if found_run != own or found_epoch != str(epoch):
        found = ("records no run" if found_run is None
                 else f"records epoch {found_epoch} of run {str(found_run)[:12]}...")
        raise CheckpointError(f"{str(path)!r} is not epoch {epoch} of the run in "
                              f"{str(directory)!r} (run {own[:12]}...): it {found}. Was it "
                              "copied from another run?")
    actual = _sha256(path)
    if actual != kept[epoch]:
        raise CheckpointError(f"{str(path)!r} has SHA-256 {actual[:12]}..., not the "
                              f"{kept[epoch][:12]}... that {CHECKPOINT_FILE} records: it is "
                              "truncated or was modified.")
    return path


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
    """The model of the finished run in `directory` (in evaluation mode, on the CPU).

    Raises
    ------
    CheckpointError
        No checkpoint, a damaged one, an unfinished run or a weights file that belongs to
        another checkpoint (see :func:`check_run`; the model of an unfinished run as it
        stands is ``restore_model(load_checkpoint(directory))``).
    """
    if not Path(directory).is_dir() or not has_checkpoint(directory):
        load_checkpoint(directory)  # raises with the reason
    return restore_model(check_run(directory, "`directory`")).eval()
