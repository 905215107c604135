"""Data loaders: shapes, scaling, seeded stratified splits, IDX errors, never a download."""

import gzip

import numpy as np
import pytest

from nets import (DATASETS, FASHION_MNIST_DIR, DataError, Dataset, IDXError, load_dataset,
                  load_digits, load_fashion_mnist, load_mnist, load_mnist5k, make_blobs, read_idx)


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


def test_missing_folder_and_file_say_how_to_get_them(tmp_path, write_idx_folder):
    with pytest.raises(DataError, match="does not exist.*IDX files"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(DataError, match="needs a data folder"):
        load_mnist(None)
    write_idx_folder(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing file t10k-labels-idx1-ubyte"):
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
    with pytest.raises(IDXError, match="bad magic number"):
        read_idx(bad_magic)

    short = tmp_path / "short"
    short.write_bytes(idx_bytes(arr)[:-5])
    with pytest.raises(IDXError, match="wrong length"):
        read_idx(short)

    long = tmp_path / "long"
    long.write_bytes(idx_bytes(arr) + b"\x00")
    with pytest.raises(IDXError, match="wrong length"):
        read_idx(long)

    truncated_header = tmp_path / "hdr"
    truncated_header.write_bytes(idx_bytes(arr)[:7])
    with pytest.raises(IDXError, match="header"):
        read_idx(truncated_header)

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


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_debian_package():
    ds = load_fashion_mnist()
    _check(ds, 784, 10)
    assert (ds.n_train, ds.n_test) == (60000, 10000)
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    assert load_dataset("fashion-mnist", n_train=100, n_test=10).n_train == 100
