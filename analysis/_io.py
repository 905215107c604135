"""Atomic file output for the analyses, through the project's one helper, :mod:`nets.atomic`.

The helper is imported when a file is written or an output path checked, not when
:mod:`analysis` is imported: importing :mod:`nets` imports torch, which ``import analysis``
and the command line's start do not need.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_json", "atomic_write_bytes", "atomic_save",
           "atomic_save_figure", "check_output_file", "check_output_folder", "folder_lock",
           "remove_partial_files"]


def check_output_file(path, name: str, suffixes=None) -> Path:
    """Refuse an unusable output file before any work (``nets.atomic.check_output_file``)."""
    from nets.atomic import check_output_file as _check

    return _check(path, name, suffixes)


def check_output_folder(path, name: str) -> Path:
    """Refuse an unusable output folder before any work (``nets.atomic.check_output_folder``)."""
    from nets.atomic import check_output_folder as _check

    return _check(path, name)


def folder_lock(folder, lock_name: str, *, name: str = "folder"):
    """Hold `folder` against other writers in a ``with`` block (:func:`nets.atomic.folder_lock`).

    The lock of every folder the project writes over a long time: a second holder gets
    :class:`nets.FolderLockedError`, and the lock ends with its process however it ends.
    """
    from nets.atomic import folder_lock as _lock

    return _lock(folder, lock_name, name=name)


def atomic_save(path, writer) -> Path:
    """``writer(tmp)`` writes the file, which then replaces `path` (:func:`nets.atomic.atomic_save`)."""
    from nets.atomic import atomic_save as _save

    return _save(path, writer)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` atomically (:func:`nets.atomic.atomic_write_bytes`)."""
    from nets.atomic import atomic_write_bytes as _write

    return _write(path, data)


def atomic_write_text(path, text: str) -> Path:
    """Write `text` to `path` atomically (temporary file in the same folder, then rename)."""
    from nets.atomic import atomic_write_text as _write

    return _write(path, text)


def atomic_write_json(path, obj) -> Path:
    """Write `obj` as indented JSON to `path` atomically (NumPy values and paths allowed)."""
    from nets.atomic import atomic_write_json as _write

    return _write(path, obj)


def atomic_save_figure(fig, path, dpi: int = 110) -> Path:
    """Save a matplotlib Figure as PNG to `path` atomically."""
    return atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))


def remove_partial_files(folder) -> int:
    """Remove the temporary files a killed writer left in `folder`; returns how many."""
    from nets.atomic import remove_partial_files as _remove

    return _remove(folder)
