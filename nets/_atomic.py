"""Atomic file writes: the one helper every file written by resdyn goes through.

A file is written under a temporary name in its own folder (``_partial_<name>.<random><suffix>``,
so it is on the same file system and keeps the suffix that writers such as
``numpy.savez`` or ``Figure.savefig`` look at), flushed to disk, and then renamed over the
target with :func:`os.replace`, which is atomic on POSIX and Windows. A reader therefore sees
either the old file or the complete new one, never a partial one; if the writer raises (or
the process is interrupted by an exception), the temporary file is removed and the old file is
left as it was. A process killed outright can leave a temporary file behind: its name starts
with :data:`TEMP_PREFIX`, so the next writer of the folder can clear it (see
:func:`remove_partial_files`).

A folder that one process writes over a long time (a training run) is claimed with
:func:`folder_lock`: an exclusive :func:`fcntl.flock` on a lock file in the folder, which the
operating system releases when the process exits or is killed, so a crash never leaves a
folder locked.

This module imports nothing from the rest of the project, so that both :mod:`nets` and
:mod:`analysis` use it without import cycles.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = [
    "FolderLockedError",
    "TEMP_PREFIX",
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "folder_lock",
    "remove_partial_files",
]

#: Every temporary file starts with this prefix.
TEMP_PREFIX = "_partial_"


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_save(path, writer, *, fsync: bool = True) -> Path:
    """Write `path` atomically by calling ``writer(tmp)`` on a temporary path beside it.

    Parameters
    ----------
    path : str or Path
        The target; its folder is created if needed.
    writer : callable
        ``writer(tmp)`` writes the complete file at `tmp` (a :class:`pathlib.Path` in the same
        folder, with the same suffix as `path`); its return value is ignored.
    fsync : bool
        Flush the temporary file to disk before the rename (default), so that a power loss
        cannot leave a renamed but empty file.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    Exception
        Whatever `writer` raises, after the temporary file is removed; the old `path`, if
        any, is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=path.suffix,
                                dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        writer(tmp)
        if not tmp.is_file():
            raise OSError(f"the writer of {str(path)!r} left no file at {str(tmp)!r}.")
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path, data: bytes, *, fsync: bool = True) -> Path:
    """Write `data` to `path` atomically (see :func:`atomic_save`)."""
    data = bytes(data)
    return atomic_save(path, lambda tmp: tmp.write_bytes(data), fsync=fsync)


def atomic_write_text(path, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write `text` to `path` atomically (see :func:`atomic_save`)."""
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    return atomic_write_bytes(path, text.encode(encoding), fsync=fsync)


def _json_default(obj):
    """JSON for NumPy scalars and arrays and for paths (imported lazily: no NumPy needed)."""
    if isinstance(obj, Path):
        return str(obj)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        np = None
    if np is not None:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write_json(path, obj, *, indent: int = 2, fsync: bool = True) -> Path:
    """Write `obj` as JSON (indented, ending in a newline) to `path` atomically.

    NumPy scalars and arrays become numbers and lists, paths strings; NaN and infinities are
    written as JavaScript's ``NaN`` / ``Infinity``, which :func:`json.loads` reads back.
    """
    text = json.dumps(obj, indent=indent, default=_json_default, allow_nan=True)
    return atomic_write_text(path, text + "\n", fsync=fsync)


def remove_partial_files(folder) -> int:
    """Remove the temporary files that a killed writer left in `folder`; returns how many."""
    count = 0
    for stray in Path(folder).glob(TEMP_PREFIX + "*"):
        if stray.is_file():
            stray.unlink(missing_ok=True)
            count += 1
    return count



class FolderLockedError(RuntimeError):
    """Another process holds the lock of a folder (see :func:`folder_lock`)."""


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


@contextlib.contextmanager
def folder_lock(folder, lock_name: str, *, name: str = "folder"):
    """Hold an exclusive lock on `folder` for the duration of the ``with`` block.

    The lock is :func:`fcntl.flock` on ``folder / lock_name`` (created if needed, holding the
    owner's process id). The operating system drops it when the process ends, however it
    ends, so a killed writer never leaves its folder locked; the file itself is removed when
    the block exits. A second writer, in this process or another, gets
    :class:`FolderLockedError` at once instead of waiting.

    Parameters
    ----------
    folder : str or Path
        An existing folder.
    lock_name : str
        The lock file's name inside `folder`.
    name : str
        How errors name the folder (the caller's argument or option).

    Raises
    ------
    FolderLockedError
        Another open lock holds the folder; the message names the folder and the holder.
    """
    import fcntl

    folder = Path(folder)
    lock_path = folder / lock_name
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderLockedError(
                f"{name} {str(folder)!r} is being written by another process"
                f"{_holder(lock_path)}: one folder takes one writer at a time. Wait for it to "
                "end, or choose another folder."
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # A holder that was releasing may have removed the file between our open and our
        # lock: then we locked an orphan inode, and a third process could lock a new file at
        # the same path. Only a lock on the file that is at the path now counts.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield lock_path
    finally:
        # unlink while still holding the lock, so no other process can hold this inode's lock
        # while the file is still reachable at the path
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        os.close(fd)
