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

__all__ = ["train_or_load", "adaptive_or_load", "sweep_or_load", "checkpoint_sha256"]


#: Configuration fields added after checkpoint folders were first keyed, with their defaults:
#: at its default such a field stays out of the key, so a run keeps its folder (and its
#: finished training) when the configuration gains a field it does not use.
_LATER_FIELDS = {"depth_criterion": "paper"}


def _key(config) -> str:
    d = config.to_dict()
    for name, default in _LATER_FIELDS.items():
        if d.get(name) == default:
            del d[name]
    blob = json.dumps(d, sort_keys=True, default=str).encode()
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


def _train(config, ds, ckpt_dir, progress, label):
    """Train `config` into its checkpoint folder, or reload it; returns (TrainResult, reused)."""
    from nets import has_checkpoint, train

    folder = Path(ckpt_dir) / f"{label}-{_key(config)}"
    reused = has_checkpoint(folder)
    result = train(config, out_dir=folder, resume=True, progress=progress, data=ds)
    return result, reused


def train_or_load(config, ds, *, ckpt_dir, progress=True, label=None):
    """Train (or reload) one network; returns ``(model, TrainResult, reused)``."""
    label = label or f"{config.dataset}-{config.kind}-T{config.depth}"
    result, reused = _train(config, ds, ckpt_dir, progress, label)
    return result.model, result, reused


def adaptive_or_load(config, ds, *, key, reference_error, ckpt_dir, progress=True):
    """Train with the Sect. 7 rule (or reload); returns ``(DepthRun, reused, sha256)``, the
    last the checkpoint's hash (:func:`checkpoint_sha256`)."""
    from ._runner import error_rate, network
    from .sect7_adaptive_depth import DepthRun

    cfg = replace(config, adaptive_depth=True)
    result, reused = _train(cfg, ds, ckpt_dir, progress,
                            f"{cfg.dataset}-{cfg.kind}-adaptive")
    err = error_rate(network(result.model), ds.x_test, ds.y_test, depth=result.model.depth)
    depths = result.depth_history or (cfg.depth,)
    run = DepthRun(key, tuple(int(d) for d in depths), err, float(reference_error),
                   int(cfg.depth))
    return run, reused, checkpoint_sha256(result.out_dir)


def sweep_or_load(config, ds, *, depths, ckpt_dir, progress=True, samples=1000):
    """Shared ResNets of several depths and their perturbation magnitudes (Hauser 2019).

    :func:`nets.depth_sweep`, with the networks checkpointed into (and reloaded from) one
    folder of `ckpt_dir` named by the settings. Returns ``(DepthSweep, reused, sha256s)``,
    the last the checkpoints' hashes by depth (:func:`checkpoint_sha256`).
    """
    from nets import depth_sweep, has_checkpoint

    folder = Path(ckpt_dir) / f"{config.dataset}-sweep-{_key(config)}"
    reused = all(has_checkpoint(folder / f"depth-{int(d)}") for d in depths)
    sweep = depth_sweep(config, depths, data=ds, progress=progress, samples=samples,
                        out_dir=folder)
    return sweep, reused, {int(d): checkpoint_sha256(folder / f"depth-{int(d)}") for d in depths}
