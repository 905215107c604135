"""The one atomic writer: a failed write leaves the old file as it was and no temporary file;
the one check of an output path: refused before any work, proved writable by a real write."""

import json
from pathlib import Path

import numpy as np
import pytest

from nets.atomic import (TEMP_PREFIX, atomic_save, atomic_write_bytes, atomic_write_json,
                          atomic_write_text, check_output_file, check_output_folder,
                          remove_partial_files)


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

    from nets.atomic import FolderLockedError, folder_lock

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

    from nets.atomic import FolderLockedError, folder_lock

    code = ("import sys, time; from nets.atomic import folder_lock\n"
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

    from nets.atomic import folder_lock

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


# ---- check_output_file / check_output_folder ---------------------------------------------


def _clean(message: str) -> bool:
    """An output error names the user's path, never the probe file or a raw errno."""
    return TEMP_PREFIX not in message and "Errno" not in message and "\n" not in message


def test_output_checks_accept_writable_places_and_leave_nothing(tmp_path):
    (tmp_path / "old.json").write_text("{}")
    assert check_output_file(tmp_path / "new.npz", "--out", (".json", ".npz")) == \
        tmp_path / "new.npz"
    assert check_output_file(tmp_path / "OLD.JSON".lower(), "--out", (".JSON",)) == \
        tmp_path / "old.json"  # an existing file is replaced later; suffixes ignore case
    assert check_output_folder(tmp_path, "--out") == tmp_path
    assert check_output_folder(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert _listing(tmp_path) == ["old.json"]  # the probes are gone; nothing was created


def test_output_checks_refuse_a_folder_for_a_file_and_a_file_for_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError) as info:
        check_output_file(tmp_path, "--out")
    assert str(info.value) == (f"--out must be a file to write; got '{tmp_path}', which is an "
                               "existing folder (name a file in it).")
    with pytest.raises(ValueError) as info:
        check_output_folder(tmp_path / "f", "`out_dir`")
    assert str(info.value) == (f"`out_dir` must be a folder (created if it does not exist); "
                               f"got '{tmp_path / 'f'}', which is an existing file.")
    with pytest.raises(ValueError, match=r"^--out must be a folder path; got '.*f/a/b', but "
                                         r"'.*f' on that path is a file"):
        check_output_folder(tmp_path / "f" / "a" / "b", "--out")
    with pytest.raises(ValueError, match=r"^--out must be a file in a folder; got '.*f/a/c"
                                         r"\.json', but '.*f' on that path is a file"):
        check_output_file(tmp_path / "f" / "a" / "c.json", "--out")
    assert (tmp_path / "f").read_text() == "x"


def test_output_file_refuses_a_missing_folder_and_a_wrong_suffix(tmp_path):
    with pytest.raises(ValueError) as info:
        check_output_file(tmp_path / "none" / "c.json", "--out")
    assert str(info.value) == (f"--out must be a file in an existing folder; got "
                               f"'{tmp_path / 'none' / 'c.json'}', but the folder "
                               f"'{tmp_path / 'none'}' does not exist.")
    with pytest.raises(ValueError, match=r"^--out must end in \.json or \.npz; got '.*c\.txt'"):
        check_output_file(tmp_path / "c.txt", "--out", (".json", ".npz"))
    assert _listing(tmp_path) == []


def test_output_checks_refuse_a_symbolic_link_to_a_missing_target(tmp_path):
    """os.path.exists is False for a dangling link: the checks passed it, and the writer's
    mkdir then failed with [Errno 17] (a folder) or the rename replaced the link (a file)."""
    link, target = tmp_path / "out", tmp_path / "gone"
    link.symlink_to(target)
    with pytest.raises(ValueError) as info:
        check_output_folder(link, "--out")
    assert str(info.value) == (f"--out must be a folder (created if it does not exist), or a "
                               f"link to one; got '{link}', which is a symbolic link to a "
                               f"missing target '{target}'.")
    with pytest.raises(ValueError) as info:
        check_output_folder(link / "run" / "deeper", "`out_dir`")
    assert str(info.value) == (f"`out_dir` must be a folder path; got "
                               f"'{link / 'run' / 'deeper'}', but '{link}' on that path is a "
                               f"symbolic link to a missing target '{target}', so no folder "
                               "can be made there.")
    with pytest.raises(ValueError) as info:
        check_output_file(link, "--out")
    assert str(info.value) == (f"--out must be a file to write, or a link to one; got "
                               f"'{link}', which is a symbolic link to a missing target "
                               f"'{target}'.")
    with pytest.raises(ValueError) as info:
        check_output_file(link / "c.json", "--out", (".json",))
    assert str(info.value) == (f"--out must be a file in an existing folder; got "
                               f"'{link / 'c.json'}', but '{link}' on that path is a symbolic "
                               f"link to a missing target '{target}'.")
    assert _listing(tmp_path) == ["out"] and link.is_symlink()


def test_output_checks_name_a_relative_link_target_and_a_loop(tmp_path):
    (tmp_path / "sub").mkdir()
    relative = tmp_path / "sub" / "rel"
    relative.symlink_to(Path("..") / "gone")  # counts from the link's folder
    with pytest.raises(ValueError, match=f"a symbolic link to a missing target "
                                         f"'{tmp_path / 'gone'}'"):
        check_output_folder(relative, "--out")
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ValueError) as info:
        check_output_file(loop / "c.json", "--out")
    assert str(info.value).startswith(f"--out must be a file in an existing folder; got "
                                      f"'{loop / 'c.json'}', but '{loop}' on that path is a "
                                      f"symbolic link whose target '{loop}' cannot be reached (")
    assert _clean(str(info.value))


def test_output_checks_follow_a_link_to_an_existing_place(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert check_output_folder(tmp_path / "link", "--out") == tmp_path / "link"
    assert check_output_folder(tmp_path / "link" / "new", "--out") == tmp_path / "link" / "new"
    assert check_output_file(tmp_path / "link" / "c.json", "--out") == \
        tmp_path / "link" / "c.json"
    assert _listing(tmp_path / "real") == []


@pytest.fixture
def root_view(monkeypatch):
    """os.access as root sees it (everything writable), and file creation that obeys the mode
    bits as it does for any other user: a check that asks os.access passes a read-only
    folder, one that tries a write refuses it."""
    import os
    import stat
    import tempfile

    monkeypatch.setattr(os, "access", lambda *a, **k: True)
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kw):
        if dir is not None and not os.stat(dir).st_mode & stat.S_IWUSR:
            raise PermissionError(13, "Permission denied", os.path.join(dir, TEMP_PREFIX + "x"))
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_output_checks_refuse_a_read_only_folder(tmp_path, root_view):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError) as info:
            check_output_file(locked / "c.json", "--out")
        assert str(info.value) == (f"--out must be a writable location; got "
                                   f"'{locked / 'c.json'}', and its folder '{locked}' is not "
                                   "writable (creating a file there failed: Permission denied).")
        with pytest.raises(ValueError) as info:
            check_output_folder(locked / "run" / "deeper", "--out")
        assert f"its nearest existing folder '{locked}' is not writable" in str(info.value)
        with pytest.raises(ValueError, match=r"^--out must be a writable location; got '.*ro', "
                                             r"and that folder is not writable"):
            check_output_folder(locked, "--out")
        assert _clean(str(info.value))
    finally:
        locked.chmod(0o755)
    assert _listing(locked) == []


@pytest.mark.parametrize("check, path, where", [
    (check_output_file, "/sys/c.json", "its folder '/sys'"),
    (check_output_folder, "/sys/run", "its nearest existing folder '/sys'"),
    (check_output_folder, "/sys", "that folder"),
    (check_output_file, "/proc/c.npz", "its folder '/proc'"),
    (check_output_folder, "/proc/run/deeper", "its nearest existing folder '/proc'"),
])
def test_output_checks_refuse_what_the_kernel_refuses_even_root(check, path, where):
    """/sys and /proc take no new files from anyone, root included, though os.access says
    yes to root: only a real write finds out."""
    with pytest.raises(ValueError) as info:
        check(path, "--out")
    message = str(info.value)
    assert message.startswith(f"--out must be a writable location; got '{path}', and {where} "
                              "is not writable (creating a file there failed: ")
    assert _clean(message)
