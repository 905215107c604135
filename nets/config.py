"""The training configuration: one frozen value that defines a run (a leaf: imports no nets module).

:class:`TrainConfig` is what :func:`nets.train` takes, what a checkpoint stores (as JSON, via
:meth:`TrainConfig.to_dict`) and what :func:`nets.load_model` rebuilds a model from. The names
of the architectures (:data:`KINDS`) and data sets (:data:`DATASETS`) live here too, so that
every other module of :mod:`nets` can import them without importing each other.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "DATASETS", "DEPTH_CRITERIA", "ACTIVATIONS", "TrainConfig",
           "check_activation"]

#: The three architectures: shared-weight ResNet, per-layer ResNet, MLP.
KINDS = ("shared", "per-layer", "mlp")

#: Names accepted by :func:`nets.load_dataset`.
DATASETS = ("digits", "mnist5k", "fashion-mnist", "mnist", "blobs")

#: How the adaptive-depth rule measures the change between the last two residuals
#: (:func:`nets.residual_change`): the paper's mean absolute change, or that change with each
#: neuron's mean over the inputs removed.
DEPTH_CRITERIA = ("paper", "centred")

#: The residual units a network may have: the papers' logistic, or tanh. The same names as
#: ``dynsys._activation.ACTIVATIONS``, written out so that importing nets does not import
#: dynsys (tests/nets/test_models.py checks they agree).
ACTIVATIONS = ("logistic", "tanh")


def check_activation(value, name: str = "activation") -> str:
    """Return `value` if it names an activation of :data:`ACTIVATIONS`, else raise.

    Parameters
    ----------
    value : object
        The received value.
    name : str
        How the error names the argument (``"--activation"`` on the command line).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Any other value, with the argument, the choices and the received value named. No
        alias is guessed: ``"sigmoid"`` is refused, not read as the logistic.
    """
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise ValueError(
            f"`{name}` must be one of {', '.join(repr(a) for a in ACTIVATIONS)}; got {value!r}."
        )
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (frozen; JSON round trip via to_dict/from_dict).

    Attributes
    ----------
    dataset : str
        One of ``digits``, ``mnist5k``, ``fashion-mnist``, ``mnist``, ``blobs``.
    data_root : str or None
        Folder of IDX files (fashion-mnist: defaults to the Debian package; mnist: defaults to
        the checksummed copy ``make data`` installs, see :func:`nets.load_mnist`).
    n_train, n_test : int or None
        Keep only the first samples of each part.
    blobs_features, blobs_classes, blobs_samples : int
        Shape of the ``blobs`` data.
    kind : {"shared", "per-layer", "mlp"}
    activation : {"logistic", "tanh"}
        The residual unit f: ``x + f(W x + b)`` (ResNets), ``f(W y + b)`` (MLP). Default the
        papers' logistic; a configuration stored without this field (written before tanh
        networks existed) reads as logistic.
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
    lr_decay : float or None
        The learning rate of epoch e (0-based) is ``learning_rate * lr_decay ** e``; ``None``:
        see :attr:`learning_rate_decay` (0.85 for the ResNets on the full MNIST, 0.95 for the
        ResNets on the other data sets, 1.0, a constant rate, for the MLP). These defaults
        and `lr`'s come from measured sweeps (the training benchmark page of the
        documentation): on digits a decay of 0.85 shrinks the rate to a tenth by epoch 15 and
        stalls the 64-wide ResNet; on the full MNIST, whose 60,000 images give 940 steps per
        epoch, the same decay with `shift` = 2 gives the lowest validation error; any decay
        slows the MLP.
    weight_decay : float
        L2 weight decay.
    shift : int or None
        Data augmentation: every training image of every epoch is translated by a random
        whole number of pixels in ``-shift .. shift`` along each axis (the pixels moved in are
        0, the background), drawn from the epoch's seeded generator; 0 trains on the images
        as they are. ``None``: see :attr:`image_shift` (2 for the ResNets on the full MNIST,
        0 otherwise). Image data sets only (not ``blobs``). The test images are never
        shifted.
    seed : int
    patience : int
        Early stopping: stop after `patience` epochs without a training-loss improvement of
        more than `min_delta` (0 disables early stopping).
    min_delta : float
    adaptive_depth : bool
        Apply the Sect. 7 rule after every epoch (see :mod:`nets.depth`).
    depth_threshold : float
        Its threshold on the change between the last two residuals (default 0.01).
    depth_criterion : {"paper", "centred"}
        How that change is measured (:func:`nets.residual_change`). ``"paper"`` (default):
        ``mean |y(T) - y(T-1)|`` over samples and neurons, the paper's rule. ``"centred"``:
        the same after removing each neuron's mean over the samples from both residuals, so
        a change that is the same for every input (a layer whose saturated units flip the
        same way for all inputs, which the classifier's bias absorbs) does not count.
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
    keep_epochs : bool
        Keep the weights of every epoch, not only the last: training writes
        ``out_dir/epochs/epoch-0000.safetensors`` (the initial weights, before any update)
        and ``epoch-NNNN.safetensors`` after each epoch N (1-based, as the history records),
        float64 weights files of :func:`nets.save_weights`'s format whose metadata name the
        epoch and the run. Read them with :func:`nets.to_network` ``(run, epoch=k)``,
        :func:`nets.load_weights` ``(run, epoch=k)`` and :func:`nets.kept_epochs`. It changes
        what is written, never the weights trained; it needs ``out_dir``. Default False (a
        configuration stored without this field reads as False). Resuming holds it fixed,
        like every field but `epochs`: epochs trained without it cannot be kept afterwards.
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
    lr_decay: float | None = None
    weight_decay: float = 0.0
    shift: int | None = None
    seed: int = 0
    patience: int = 5
    min_delta: float = 1e-4
    adaptive_depth: bool = False
    depth_threshold: float = 0.01
    depth_criterion: str = "paper"
    min_depth: int = 1
    depth_check_samples: int | None = 1024
    device: str = "auto"
    threads: int | None = None
    # the later fields last, so that the positions of the fields before them stay those of
    # earlier versions
    activation: str = "logistic"
    keep_epochs: bool = False

    def __post_init__(self):
        key = str(self.dataset).lower().replace("_", "-")
        object.__setattr__(self, "dataset", "fashion-mnist" if key == "fashion" else key)
        if self.dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {', '.join(DATASETS)}; got {self.dataset!r}.")
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        check_activation(self.activation, "activation")
        if not isinstance(self.keep_epochs, (bool, np.bool_)):
            raise ValueError(f"`keep_epochs` must be True or False; got {self.keep_epochs!r}.")
        object.__setattr__(self, "keep_epochs", bool(self.keep_epochs))
        for name, low in (("depth", 1), ("epochs", 1), ("batch_size", 1), ("min_depth", 1),
                          ("patience", 0), ("blobs_features", 2), ("blobs_classes", 2),
                          ("blobs_samples", 8)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}.")
        if self.shift is not None and (isinstance(self.shift, bool) or not isinstance(self.shift, (int, np.integer))
                                       or self.shift < 0):
            raise ValueError(f"`shift` must be an integer >= 0 or None; got {self.shift!r}.")
        for name in ("width", "n_train", "n_test", "depth_check_samples", "threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"`{name}` must be a positive integer or None; got {value!r}.")
        for name in ("lr", "lr_decay", "depth_threshold"):
            value = getattr(self, name)
            if name in ("lr", "lr_decay") and value is None:
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"`{name}` must be a positive number; got {value!r}.")
        if not 0 <= self.weight_decay < math.inf or not 0 <= self.min_delta < math.inf:
            raise ValueError("`weight_decay` and `min_delta` must be finite and >= 0.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"`device` must be 'auto', 'cpu' or 'cuda'; got {self.device!r}.")
        if self.shift and self.dataset == "blobs":
            raise ValueError(f"`shift` = {self.shift} translates images, and `dataset` 'blobs' "
                             "has none; use shift = 0.")
        if self.depth_criterion not in DEPTH_CRITERIA:
            raise ValueError(f"`depth_criterion` must be one of {', '.join(DEPTH_CRITERIA)}; "
                             f"got {self.depth_criterion!r}.")
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

    @property
    def learning_rate_decay(self) -> float:
        """The per-epoch factor: `lr_decay`, or, when it is None, 0.85 for the ResNets on the
        full MNIST, 0.95 for the ResNets on the other data sets and 1.0 for the MLP."""
        if self.lr_decay is not None:
            return float(self.lr_decay)
        if self.kind == "mlp":
            return 1.0
        return 0.85 if self.dataset == "mnist" else 0.95

    @property
    def image_shift(self) -> int:
        """The augmentation range in pixels: `shift`, or, when it is None, 2 for the ResNets on
        the full MNIST and 0 (no augmentation) otherwise."""
        if self.shift is not None:
            return int(self.shift)
        return 2 if self.dataset == "mnist" and self.kind != "mlp" else 0

    def resolved(self) -> "TrainConfig":
        """A copy with `lr`, `lr_decay` and `shift` replaced by the values they stand for, so
        that two configurations that train alike compare equal."""
        return dataclasses.replace(self, lr=self.learning_rate, lr_decay=self.learning_rate_decay,
                                   shift=self.image_shift)

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
