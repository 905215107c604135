"""nets: the torch side of resdyn, training the networks the analysis needs.

Residual networks with shared or per-layer weights and MLPs (:mod:`nets.models`), trained on
offline data (:mod:`nets.data`) by a seeded, deterministic, resumable loop
(:mod:`nets.train`, :mod:`nets.checkpoint`), with the adaptive-depth and perturbation rules
(:mod:`nets.depth`), and exported to float64 arrays that :mod:`dynsys` takes directly
(:mod:`nets.export`). CPU by default; CUDA is used when present, never required.
"""

from .checkpoint import (
    CHECKPOINT_FILE,
    HISTORY_FILE,
    WEIGHTS_FILE,
    Checkpoint,
    CheckpointError,
    has_checkpoint,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from .data import (
    DATASETS,
    FASHION_MNIST_DIR,
    DataError,
    Dataset,
    IDXError,
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
    depth_sweep,
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
)
from .models import KINDS, MLP, LayeredNet, Recording, ResNet, build_model
from .train import TrainConfig, TrainResult, model_for_config, resolve_device, resume, train

__all__ = [
    # data
    "DATASETS", "FASHION_MNIST_DIR", "DataError", "Dataset", "IDXError", "load_dataset",
    "load_digits", "load_fashion_mnist", "load_mnist", "load_mnist5k", "make_blobs", "read_idx",
    # models
    "KINDS", "MLP", "LayeredNet", "Recording", "ResNet", "build_model",
    # training and checkpoints
    "TrainConfig", "TrainResult", "train", "resume", "model_for_config", "resolve_device",
    "CHECKPOINT_FILE", "HISTORY_FILE", "WEIGHTS_FILE", "Checkpoint", "CheckpointError",
    "has_checkpoint", "load_checkpoint", "load_model", "save_checkpoint",
    # depth rules
    "DepthSweep", "PerturbationMagnitudes", "adaptive_depth_step", "depth_sweep",
    "loglog_slope", "perturbation_magnitudes", "remove_last_layer", "residual_change",
    "stopping_depth",
    # export
    "ExportedWeights", "export_weights", "load_weights", "model_from_weights", "save_weights",
]
