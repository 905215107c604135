"""Private bridge to :mod:`nets` training: train-or-reload with checkpoint caching.

Every network is trained by :func:`nets.train` into its own checkpoint folder under
``out_dir/checkpoints``, named by the settings that define it; a later run resumes (and so
reuses) a finished checkpoint instead of training again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

__all__ = ["train_or_load", "adaptive_or_load", "sweep_or_load", "checkpoint_sha256",
           "checkpoint_folder", "adaptive_folder", "sweep_folder", "checkpoints_present"]


#: Configuration fields added after checkpoint folders were first keyed, with their defaults:
#: at its default such a field stays out of the key, so a run keeps its folder (and its
#: finished training) when the configuration gains a field it does not use.
#: ``keep_epochs`` changes only what a run writes, not its weights, yet True is keyed: a
#: finished run that kept no epochs cannot give them afterwards, so it must not be reused
#: where they are asked for (and resuming refuses a checkpoint of the other value anyway).
_LATER_FIELDS = {"depth_criterion": "paper", "activation": "logistic", "keep_epochs": False}


def config_identity(config) -> dict:
    """The configuration as keyed: its dict without the later fields at their defaults.

    The key of a checkpoint folder and the identity of a reproduction stage both use it, so
    neither changes when the configuration gains a field a run leaves at its default.
    """
    d = config.to_dict()
    for name, default in _LATER_FIELDS.items():
        if d.get(name) == default:
            del d[name]
    return d


def _key(config) -> str:
    blob = json.dumps(config_identity(config), sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:10]


def checkpoint_sha256(folder) -> str:
    """The SHA-256 of the tensor file that the checkpoint in `folder` commits.

    :mod:`nets.checkpoint` records it in ``checkpoint.json`` (and checks it on every load), so
    it identifies the trained weights without hashing them again.
    """
    from nets import CHECKPOINT_FILE

    path = Path(folder) / CHECKPOINT_FILE
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["tensors"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"`folder` {str(folder)!r} must hold a committed checkpoint whose "
                         f"{CHECKPOINT_FILE} records its tensor hash; reading {str(path)!r} "
                         f"failed ({exc!r}).") from None


def config_for(ds, kind, *, depth, epochs, seed, data_root=None, n_train=None, n_test=None,
               **extra):
    """The :class:`nets.TrainConfig` of a run on `ds` (nets' defaults for the optimizer)."""
    from nets import TrainConfig

    blobs = {}
    if ds.name == "blobs":
        blobs = dict(blobs_features=ds.n_features, blobs_classes=ds.n_classes,
                     blobs_samples=ds.n_train + ds.n_test)
    return TrainConfig(dataset=ds.name, data_root=None if data_root is None else str(data_root),
                       n_train=n_train, n_test=n_test, kind=kind, depth=depth, epochs=epochs,
                       seed=seed, **blobs, **extra)


def checkpoint_folder(config, ckpt_dir, label=None) -> Path:
    """The folder of `ckpt_dir` that holds the checkpoint of `config`, named by its settings."""
    label = label or f"{config.dataset}-{config.kind}-T{config.depth}"
    return Path(ckpt_dir) / f"{label}-{_key(config)}"


def adaptive_config(config):
    """`config` trained with the Sect. 7 rule."""
    return replace(config, adaptive_depth=True)


def adaptive_folder(config, ckpt_dir) -> Path:
    """The checkpoint folder of ``adaptive_config(config)``."""
    cfg = adaptive_config(config)
    return checkpoint_folder(cfg, ckpt_dir, f"{cfg.dataset}-{cfg.kind}-adaptive")


def sweep_folder(config, ckpt_dir) -> Path:
    """The folder of the depth sweep of `config`; one ``depth-<d>`` folder per depth."""
    return Path(ckpt_dir) / f"{config.dataset}-sweep-{_key(config)}"


def checkpoints_present(ckpt_dir) -> frozenset:
    """The folders below `ckpt_dir` (two levels: a sweep's depths) holding a checkpoint now.

    Taken when a run starts, it tells the networks the run reloads from those it trains,
    however the training is scheduled.
    """
    from nets import has_checkpoint

    root = Path(ckpt_dir)
    if not root.is_dir():
        return frozenset()
    found = set()
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        if has_checkpoint(folder):
            found.add(folder.resolve())
        found.update(sub.resolve() for sub in folder.iterdir()
                     if sub.is_dir() and has_checkpoint(sub))
    return frozenset(found)


def _was_there(folder: Path, present) -> bool:
    from nets import has_checkpoint

    return has_checkpoint(folder) if present is None else folder.resolve() in present


def _train(config, ds, folder, progress, present):
    """Train `config` into `folder`, or reload it; returns (TrainResult, reused)."""
    from nets import train

    reused = _was_there(folder, present)
    result = train(config, out_dir=folder, resume=True, progress=progress, data=ds)
    return result, reused


def train_or_load(config, ds, *, ckpt_dir, progress=True, label=None, present=None):
    """Train (or reload) one network; returns ``(model, TrainResult, reused)``.

    `present` (:func:`checkpoints_present` at the start of the run) decides ``reused``; by
    default, whether the folder holds a checkpoint now.
    """
    result, reused = _train(config, ds, checkpoint_folder(config, ckpt_dir, label), progress,
                            present)
    return result.model, result, reused


def adaptive_or_load(config, ds, *, key, reference_error, ckpt_dir, progress=True,
                     present=None):
    """Train with the Sect. 7 rule (or reload); returns ``(DepthRun, reused, sha256)``, the
    last the checkpoint's hash (:func:`checkpoint_sha256`)."""
    from ._runner import error_rate, network
    from .sect7_adaptive_depth import DepthRun

    cfg = adaptive_config(config)
    result, reused = _train(cfg, ds, adaptive_folder(config, ckpt_dir), progress, present)
    err = error_rate(network(result.model), ds.x_test, ds.y_test, depth=result.model.depth)
    depths = result.depth_history or (cfg.depth,)
    run = DepthRun(key, tuple(int(d) for d in depths), err, float(reference_error),
                   int(cfg.depth))
    return run, reused, checkpoint_sha256(result.out_dir)


def sweep_or_load(config, ds, *, depths, ckpt_dir, progress=True, samples=1000,
                  present=None):
    """Shared ResNets of several depths and their perturbation magnitudes (Hauser 2019).

    :func:`nets.depth_sweep`, with the networks checkpointed into (and reloaded from) one
    folder of `ckpt_dir` named by the settings. Returns ``(DepthSweep, reused, sha256s)``,
    the last the checkpoints' hashes by depth (:func:`checkpoint_sha256`).
    """
    from nets import depth_sweep

    folder = sweep_folder(config, ckpt_dir)
    reused = all(_was_there(folder / f"depth-{int(d)}", present) for d in depths)
    sweep = depth_sweep(config, depths, data=ds, progress=progress, samples=samples,
                        out_dir=folder)
    return sweep, reused, {int(d): checkpoint_sha256(folder / f"depth-{int(d)}") for d in depths}
