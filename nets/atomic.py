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

Every command and function that writes files checks its output path first, with
:func:`check_output_file` or :func:`check_output_folder`, so that a place where nothing can be
written is refused before any work, not after it. They prove the place writable by creating
and removing a probe file there: :func:`os.access` answers from the mode bits, which root
passes even where the kernel or a server refuses every write (``/sys``, ``/proc``, a network
share that maps root to an unprivileged user).

A folder that one process writes over a long time (a training run, a reproduction) is
claimed with :func:`folder_lock`: an exclusive :func:`fcntl.flock` on a lock file in the
folder, which the operating system releases when the process exits or is killed, so a crash
never leaves a folder locked.

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
    "check_output_file",
    "check_output_folder",
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


# ---------------------------------------------------------------------- output checks


def _dangling_link(path: Path):
    """``(link, what)``: the symbolic link on `path` (`path` itself or a folder on its way)
    whose target cannot be reached, and the words that say so; None if there is none.

    os.path.exists follows links, so a link to a missing target reads as "nothing there":
    the checks would pass it, and then the writer's mkdir fails with a raw error, or its
    rename replaces the link instead of writing where it points. The walk stops at the
    deepest part of `path` that lstat finds: below a dangling link nothing can be found, so
    that part is the only link that can dangle.
    """
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if not os.path.islink(probe) or os.path.exists(probe):
        return None
    try:
        target = os.readlink(probe)
    except OSError:  # removed or replaced since the lstat: nothing to report on
        return None
    # a relative target counts from the link's folder; shown as the path it stands for
    target = os.path.normpath(os.path.join(os.path.dirname(probe), target))
    try:
        os.stat(probe)
    except FileNotFoundError:
        what = f"a symbolic link to a missing target {target!r}"
    except OSError as exc:  # a loop of links, or a target below a folder that refuses search
        what = (f"a symbolic link whose target {target!r} cannot be reached "
                f"({exc.strerror or type(exc).__name__})")
    else:  # the target appeared since the first look
        return None
    return probe, what


def _nearest_existing(path: Path) -> Path:
    """`path`, or the nearest of its parents that exists (a folder or a file)."""
    probe = path
    # os.path.exists, not Path.exists: it answers False where a parent cannot be searched,
    # instead of raising, and the probe then names the nearest folder that refuses
    while not os.path.exists(probe) and probe != probe.parent:
        probe = probe.parent
    return probe


def _probe_writable(folder: Path, name: str, path: Path, where: str) -> None:
    """Create and remove a file in `folder`, or raise a ValueError naming `name` and `path`.

    A real write is the only test that holds for every user and file system: os.access
    answers from the mode bits, and root passes them even on /sys, /proc or an NFS share
    that maps root to nobody, where the write itself fails.
    """
    try:
        # TEMP_PREFIX: a probe left by a process killed right here is cleared like any
        # other temporary file (remove_partial_files)
        fd, probe = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}probe.", dir=folder)
    except OSError as exc:
        # the reason only (strerror): the exception's text names the probe file, which the
        # user never asked for
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{name} must be a writable location; got {str(path)!r}, and {where} "
                         f"is not writable (creating a file there failed: {reason}).") from None
    try:
        os.close(fd)
    finally:
        # removed even if closing fails: the check must leave nothing behind
        with contextlib.suppress(OSError):
            os.unlink(probe)


def check_output_file(path, name: str, suffixes=None) -> Path:
    """Refuse, before any work, a file path that cannot be written.

    Checks, in this order: the suffix (when `suffixes` is given), that `path` is not an
    existing folder, that neither `path` nor a folder on its way is a symbolic link to a
    missing target, that its folder exists and is a folder, and that a file can be created
    there (a probe file is created and removed; :func:`os.access` is not asked, since it
    says yes to root where the kernel refuses the write). An existing file at `path` is
    fine: it is replaced atomically when the result is written.

    Parameters
    ----------
    path : str or Path
        The file to be written.
    name : str
        How errors name it: the argument or command-line flag (``"--out"``).
    suffixes : sequence of str, optional
        Accepted suffixes, lower case with the dot (``(".json", ".npz")``); the check ignores
        case.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ValueError
        Naming `name`, what was expected and `path`: a wrong suffix, an existing folder, a
        symbolic link to a missing target, a missing folder, a file where its folder should
        be, or a folder that takes no files.
    """
    path = Path(path)
    if suffixes is not None:
        suffixes = tuple(s.lower() for s in suffixes)
        if path.suffix.lower() not in suffixes:
            raise ValueError(f"{name} must end in {' or '.join(suffixes)}; got {str(path)!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{name} must be a file to write; got {str(path)!r}, which is an "
                         "existing folder (name a file in it).")
    dangling = _dangling_link(path)
    if dangling is not None:
        # the rename of the finished file would replace the link, not write its target
        link, what = dangling
        if link == path:
            raise ValueError(f"{name} must be a file to write, or a link to one; got "
                             f"{str(path)!r}, which is {what}.")
        raise ValueError(f"{name} must be a file in an existing folder; got {str(path)!r}, "
                         f"but {str(link)!r} on that path is {what}.")
    parent = path.parent  # Path("c.json").parent is Path("."), the working folder
    if not os.path.isdir(parent):
        found = _nearest_existing(parent)
        if os.path.exists(found) and not os.path.isdir(found):
            raise ValueError(f"{name} must be a file in a folder; got {str(path)!r}, but "
                             f"{str(found)!r} on that path is a file.")
        raise ValueError(f"{name} must be a file in an existing folder; got {str(path)!r}, "
                         f"but the folder {str(parent)!r} does not exist.")
    _probe_writable(parent, name, path, f"its folder {str(parent)!r}")
    return path


def check_output_folder(path, name: str) -> Path:
    """Refuse, before any work, a folder path where no folder can be made or written.

    Checks that `path` is not an existing file, that neither `path` nor a folder on its way
    is a symbolic link to a missing target (:func:`os.path.exists` calls such a link
    missing, and no folder can be made there), that no file lies on its way (no folder can
    be made below a file), and that a file can be created in it or, when it does not exist
    yet, in its nearest existing parent (a probe file is created and removed;
    :func:`os.access` is not asked, since it says yes to root where the kernel refuses the
    write). Nothing is created: a missing folder is made by the writer.

    Parameters
    ----------
    path : str or Path
        The folder to be written (created if it does not exist).
    name : str
        How errors name it: the argument or command-line flag (``"--out"``).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ValueError
        Naming `name`, what was expected and `path`: an existing file, a symbolic link to a
        missing target, a file on the way, or a place that takes no files.
    """
    path = Path(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{name} must be a folder (created if it does not exist); got "
                         f"{str(path)!r}, which is an existing file.")
    dangling = _dangling_link(path)
    if dangling is not None:
        # no folder can be made where a link already stands, and none through it
        link, what = dangling
        if link == path:
            raise ValueError(f"{name} must be a folder (created if it does not exist), or a "
                             f"link to one; got {str(path)!r}, which is {what}.")
        raise ValueError(f"{name} must be a folder path; got {str(path)!r}, but "
                         f"{str(link)!r} on that path is {what}, so no folder can be made "
                         "there.")
    found = _nearest_existing(path)
    if not os.path.isdir(found):
        raise ValueError(f"{name} must be a folder path; got {str(path)!r}, but "
                         f"{str(found)!r} on that path is a file, so no folder can be made "
                         "there.")
    where = "that folder" if found == path else f"its nearest existing folder {str(found)!r}"
    _probe_writable(found, name, path, where)
    return path


# ---------------------------------------------------------------------- folder locks


class FolderLockedError(RuntimeError):
    """Another process holds the lock of a folder (see :func:`folder_lock`).

    Attributes
    ----------
    folder : Path or None
        The locked folder, so that a caller that names it differently (a command-line flag
        for a function's argument) can tell its own folder from one locked deeper down.
    """

    def __init__(self, message: str, folder=None):
        super().__init__(message)
        self.folder = None if folder is None else Path(folder)


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
                "end, or choose another folder.",
                folder,
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
