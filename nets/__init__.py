"""nets: the torch side of resdyn, training the networks the analysis needs.

Residual networks with shared or per-layer weights and MLPs (:mod:`nets.models`), trained on
offline data (:mod:`nets.data`) by a seeded, deterministic, resumable loop
(:mod:`nets.train`, :mod:`nets.checkpoint`), with the adaptive-depth and perturbation rules
(:mod:`nets.depth`, :mod:`nets.sweep`), and handed to :mod:`dynsys` as a
:class:`dynsys.Network` (:func:`nets.to_network`, :mod:`nets.export`), from a nets model, a
run folder, a weights file, a state_dict or any module whose layers are x + sigmoid(W x + b)
or x + tanh(W x + b). Every model has an activation (:data:`nets.ACTIVATIONS`: the papers'
logistic, or tanh), which training, checkpoints, weights files and the exported network carry.
CPU by default; CUDA is used when present, never required.

Module layers, each importing only those above it: :mod:`nets.config` and :mod:`nets.atomic`
(leaves); :mod:`nets.models`, :mod:`nets.data`; :mod:`nets.checkpoint`, :mod:`nets.depth`;
:mod:`nets.export`; :mod:`nets.train`; :mod:`nets.sweep` and :mod:`nets.parallel`.
"""

from .atomic import FolderLockedError
from .checkpoint import (
    CHECKPOINT_FILE,
    EPOCHS_DIR,
    HISTORY_FILE,
    LOCK_FILE,
    WEIGHTS_FILE,
    Checkpoint,
    CheckpointError,
    check_out_dir,
    check_run,
    has_checkpoint,
    kept_epochs,
    load_checkpoint,
    load_model,
    restore_model,
    save_checkpoint,
)
from .config import ACTIVATIONS, DEPTH_CRITERIA, TrainConfig, check_activation
from .data import (
    DATASETS,
    FASHION_MNIST_DIR,
    DataError,
    Dataset,
    IDXError,
    MNIST_SHA256,
    default_mnist_dir,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_mnist5k,
    make_blobs,
    read_idx,
)
from .depth import (
    DepthSweep,
    PerturbationMagnitudes,
    adaptive_depth_step,
    loglog_slope,
    perturbation_magnitudes,
    remove_last_layer,
    residual_change,
    stopping_depth,
)
from .export import (
    ExportedWeights,
    export_weights,
    load_weights,
    model_from_weights,
    save_weights,
    to_network,
)
from .models import KINDS, MLP, LayeredNet, Recording, ResNet, build_model, model_for_config
from .parallel import TrainedRun, available_cpus, train_many
from .sweep import depth_sweep, sweep_runs
from .train import TrainResult, resolve_device, resume, train

__all__ = [
    # data
    "DATASETS", "FASHION_MNIST_DIR", "DataError", "Dataset", "IDXError", "MNIST_SHA256",
    "default_mnist_dir", "load_dataset",
    "load_digits", "load_fashion_mnist", "load_mnist", "load_mnist5k", "make_blobs", "read_idx",
    # models
    "ACTIVATIONS", "check_activation", "KINDS", "MLP", "LayeredNet", "Recording", "ResNet", "build_model",
    # training and checkpoints
    "TrainConfig", "TrainResult", "train", "resume", "model_for_config", "resolve_device",
    "TrainedRun", "available_cpus", "train_many",
    "CHECKPOINT_FILE", "HISTORY_FILE", "WEIGHTS_FILE", "EPOCHS_DIR", "Checkpoint",
    "CheckpointError", "has_checkpoint", "kept_epochs", "load_checkpoint", "load_model",
    "restore_model", "save_checkpoint",
    "LOCK_FILE", "FolderLockedError", "check_out_dir", "check_run",
    # depth rules
    "DEPTH_CRITERIA", "DepthSweep", "PerturbationMagnitudes", "adaptive_depth_step", "depth_sweep",
    "sweep_runs",
    "loglog_slope", "perturbation_magnitudes", "remove_last_layer", "residual_change",
    "stopping_depth",
    # export
    "ExportedWeights", "export_weights", "load_weights", "model_from_weights", "save_weights",
    "to_network",
]
