"""The one atomic writer: a failed write leaves the old file as it was and no temporary file."""

import json
from pathlib import Path

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


# ---- folder_lock: one writer per folder ---------------------------------------------------


def test_folder_lock_refuses_a_second_holder_and_cleans_up(tmp_path):
    import os

    from nets._atomic import FolderLockedError, folder_lock

    with folder_lock(tmp_path, ".lock", name="`out_dir`") as lock:
        assert lock == tmp_path / ".lock"
        assert lock.read_text() == str(os.getpid())
        with pytest.raises(FolderLockedError) as err:
            with folder_lock(tmp_path, ".lock", name="`out_dir`"):
                pass  # pragma: no cover - never entered
        assert str(err.value).startswith(f"`out_dir` '{tmp_path}' is being written by another "
                                         f"process (process {os.getpid()})")
        assert lock.exists()  # the refused attempt leaves the holder's lock alone
    assert _listing(tmp_path) == []
    with folder_lock(tmp_path, ".lock"):  # free again
        pass


def test_folder_lock_is_released_when_its_holder_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    from nets._atomic import FolderLockedError, folder_lock

    code = ("import sys, time; from nets._atomic import folder_lock\n"
            "with folder_lock(sys.argv[1], '.lock'):\n"
            "    print('held', flush=True); time.sleep(600)\n")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            cwd=root)
    try:
        assert proc.stdout.readline() == b"held\n"  # it holds the lock now
        with pytest.raises(FolderLockedError, match=f"process {proc.pid}"):
            with folder_lock(tmp_path, ".lock"):
                pass  # pragma: no cover - never entered
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert (tmp_path / ".lock").exists()  # a killed holder cannot remove its file ...
    with folder_lock(tmp_path, ".lock"):  # ... but the system has dropped its lock
        pass
    assert _listing(tmp_path) == []


def test_folder_lock_does_not_count_a_removed_file(tmp_path, monkeypatch):
    """A lock on a file that was unlinked between open and lock (its holder was releasing) is
    not a lock on the path: the caller opens the file at the path again."""
    import fcntl
    import os

    from nets._atomic import folder_lock

    real_flock, calls = fcntl.flock, []

    def flock(fd, op):
        calls.append(fd)
        if len(calls) == 1:  # the holder releases: its file disappears under our open fd
            os.unlink(tmp_path / ".lock")
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    with folder_lock(tmp_path, ".lock") as lock:
        assert lock.exists() and len(calls) == 2
        assert os.path.samestat(os.stat(lock), os.fstat(calls[-1]))
