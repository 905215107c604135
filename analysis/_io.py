"""Atomic file output: every file is written to a temporary name and renamed into place."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_json", "atomic_save_figure"]


def _tmp_in(path: Path, suffix: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    return fd, Path(tmp)


def atomic_write_text(path, text: str) -> Path:
    """Write `text` to `path` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = _tmp_in(path, ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, obj) -> Path:
    """Write `obj` as indented JSON to `path` atomically."""
    text = json.dumps(obj, indent=2, default=_default)
    return atomic_write_text(path, text + "\n")


def _default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def atomic_save_figure(fig, path, dpi: int = 110) -> Path:
    """Save a matplotlib Figure as PNG to `path` atomically."""
    path = Path(path)
    fd, tmp = _tmp_in(path, ".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
