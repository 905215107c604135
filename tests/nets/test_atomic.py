"""The one atomic writer: a failed write leaves the old file as it was and no temporary file."""

import json

import numpy as np
import pytest

from nets._atomic import (TEMP_PREFIX, atomic_save, atomic_write_bytes, atomic_write_json,
                          atomic_write_text, remove_partial_files)


class Boom(RuntimeError):
    pass


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_round_trips_and_folder_creation(tmp_path):
    p = atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    atomic_write_text(tmp_path / "t.txt", "h\u00e9llo\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "h\u00e9llo\n"
    atomic_write_json(tmp_path / "j.json", {"x": np.float64(1.5), "a": np.arange(3),
                                            "nan": float("nan"), "p": tmp_path})
    back = json.loads((tmp_path / "j.json").read_text())
    assert back["x"] == 1.5 and back["a"] == [0, 1, 2] and np.isnan(back["nan"])
    assert back["p"] == str(tmp_path)
    assert _listing(tmp_path) == ["a", "j.json", "t.txt"]


def test_replacing_an_existing_file(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and _listing(tmp_path) == ["f.txt"]


@pytest.mark.parametrize("when", ["before writing", "half written"])
def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path, when):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"version": 1})
    before = target.read_bytes()

    def writer(tmp):
        if when == "half written":
            tmp.write_text('{"version": 2, "trunc')
        raise Boom("disk full")

    with pytest.raises(Boom, match="disk full"):
        atomic_save(target, writer)
    assert target.read_bytes() == before
    assert _listing(tmp_path) == ["results.json"]


def test_unserialisable_json_leaves_the_old_file(tmp_path):
    target = tmp_path / "r.json"
    atomic_write_json(target, [1])
    with pytest.raises(TypeError, match="not JSON serialisable"):
        atomic_write_json(target, {"bad": object()})
    assert json.loads(target.read_text()) == [1]
    assert _listing(tmp_path) == ["r.json"]


def test_a_writer_that_writes_nothing_is_an_error(tmp_path):
    target = tmp_path / "x.bin"

    def writer(tmp):
        tmp.unlink()

    with pytest.raises(OSError, match="left no file"):
        atomic_save(target, writer)
    assert _listing(tmp_path) == []


def test_the_temporary_file_keeps_the_suffix_for_suffix_minded_writers(tmp_path):
    """numpy.savez appends .npz to a name without it; the temporary name keeps the suffix."""
    seen = []

    def writer(tmp):
        seen.append(tmp)
        np.savez(tmp, a=np.arange(3))

    target = atomic_save(tmp_path / "arrays.npz", writer)
    assert seen[0].suffix == ".npz" and seen[0].name.startswith(TEMP_PREFIX)
    assert seen[0].parent == tmp_path
    with np.load(target) as z:
        assert z["a"].tolist() == [0, 1, 2]
    assert _listing(tmp_path) == ["arrays.npz"]


def test_remove_partial_files(tmp_path):
    (tmp_path / (TEMP_PREFIX + "checkpoint.json.abc.json")).write_text("{")
    (tmp_path / "keep.json").write_text("{}")
    assert remove_partial_files(tmp_path) == 1
    assert _listing(tmp_path) == ["keep.json"]
