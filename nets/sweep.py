"""The depth sweep of Hauser 2019: one residual network trained per depth, then measured.

"On residual networks learning a perturbation from identity", arXiv 1902.04106: the average
scaled perturbation magnitude of a trained residual network falls roughly as 1 / depth. The
sweep trains (:func:`nets.train`) and measures (:mod:`nets.depth`), so it sits above both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .data import load_dataset
from .depth import DepthSweep, loglog_slope, perturbation_magnitudes
from .train import train

__all__ = ["depth_sweep", "sweep_runs"]


def sweep_runs(config, depths, out_dir) -> tuple:
    """The trainings of a depth sweep: ``(config, folder)`` per depth, as :func:`depth_sweep`
    trains them (`config` at that depth without adaptive depth, in ``out_dir / "depth-<d>"``).

    :func:`nets.train_many` takes this list, so a sweep can be trained side by side and then
    measured by :func:`depth_sweep`, which reloads the finished checkpoints.

    Parameters
    ----------
    config : TrainConfig
        Everything but the depth.
    depths : sequence of int
    out_dir : path
        The sweep's folder.

    Returns
    -------
    tuple of (TrainConfig, Path)
        One pair per depth, in the order of `depths`.
    """
    return tuple((dataclasses.replace(config, depth=int(d), adaptive_depth=False),
                  Path(out_dir) / f"depth-{int(d)}") for d in depths)


def depth_sweep(config, depths, data=None, progress: bool = False, samples: int = 2000,
                out_dir=None) -> DepthSweep:
    """Train one residual network per depth (`config` with its depth replaced) and measure.

    Parameters
    ----------
    config : TrainConfig
        Everything but the depth (adaptive depth is switched off for the sweep).
    depths : sequence of int
    data : Dataset, optional
        Preloaded data (else loaded from `config`).
    samples : int
        Number of test samples the magnitudes are averaged over.
    out_dir : path, optional
        Checkpoint each depth's network into ``out_dir / f"depth-{d}"`` and resume from
        there, so that a second sweep with the same settings reloads instead of training.
    """
    depths = tuple(int(d) for d in depths)
    if len(depths) < 2 or min(depths) < 1:
        raise ValueError(f"`depths` needs at least two depths >= 1; got {depths}.")
    if config.kind == "mlp":
        raise ValueError("a depth sweep of perturbation magnitudes needs a residual network.")
    if data is None:
        data = load_dataset(config.dataset, root=config.data_root, seed=config.seed,
                            n_train=config.n_train, n_test=config.n_test)
    mags, accs = [], []
    x_eval = data.x_test[: int(samples)]
    for cfg, folder in sweep_runs(config, depths, "." if out_dir is None else out_dir):
        folder = None if out_dir is None else folder
        result = train(cfg, out_dir=folder, resume=folder is not None, progress=progress,
                       data=data)
        mags.append(perturbation_magnitudes(result.model, x_eval))
        accs.append(result.history[-1]["test_accuracy"])
    mean_scaled = tuple(m.mean_scaled for m in mags)
    slope, intercept = loglog_slope(depths, mean_scaled)
    return DepthSweep(depths, tuple(m.mean_absolute for m in mags), mean_scaled, tuple(accs),
                      slope, intercept, tuple(mags))
