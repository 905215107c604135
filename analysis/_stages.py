"""Private: a pipeline of named stages whose finished results are kept on disk and reused.

:func:`analysis.reproduce` is a list of :class:`Stage` values that :class:`StageRunner` runs in
order. A stage is a small function ``compute(ctx, **inputs)``: its inputs are the results of
the earlier stages it names, and the profile settings it reads come from ``ctx.settings``,
which refuses a setting the stage did not declare (so a stage's key cannot miss one).

Every stage has a key: the SHA-256 of a JSON document holding :data:`STAGE_FORMAT`, the
package version, the stage's name and ``version``, the values of the settings it declares,
the keys of the stages it takes, its ``constants`` (module-level values its result depends
on, such as tolerances) and, for a stage that runs every time, its ``identity`` (what it
produced: a dataset's array hash, a checkpoint's SHA-256). A change of any of these changes
the key of the stage and of every stage downstream of it. The code of a stage is not part of
its key: a change of what a stage computes bumps its ``version``.

Modes:

``"stored"``
    When the stage finishes, its result is written atomically to ``<folder>/<name>.npz``
    with a header holding its key and its wall-clock seconds. A later run whose key for the
    stage is the same loads it instead of computing it (and ``verify``, if given, confirms
    the files it stands for are still there); a file that cannot be read is recomputed with
    a :class:`RuntimeWarning`.
``"always"``
    Run every time: stages whose own output is resumable elsewhere (training reloads its
    checkpoints), cheap, or the report itself. Its key is computed after it ran, from its
    ``identity(result)``.
``"on demand"``
    Not stored (large and cheap to recompute, such as recorded trajectories): computed only
    when a stage that takes it has to be computed. A header-only file keeps the seconds of
    the run that computed it.

The files are NumPy ``.npz`` archives read with ``allow_pickle=False``: the result tree as
JSON (tuples, dicts, numbers, strings, and the frozen dataclasses of :mod:`analysis`,
:mod:`dynsys` and :mod:`nets`, rebuilt field by field) plus its arrays. Nothing is
unpickled, so loading a stage file never runs code.

Test hook: the environment variable ``_RESDYN_KILL_AT_STAGE`` set to a stage name makes the
process SIGKILL itself when that stage has started computing; ``<name>@write`` makes it do
so halfway through writing that stage's file (leaving a temporary file of the atomic
writer behind). Tests use it to kill a run at a known point without racing a timer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import json
import os
import re
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ._io import atomic_save, atomic_write_bytes

__all__ = ["ALL_SETTINGS", "MODES", "STAGE_FORMAT", "Stage", "StageContext", "StageRunner",
           "clear_stage_files", "decode_result", "encode_result", "read_stage_file",
           "stage_path"]

#: Format of the stage files; part of every key, so a change of the format recomputes all.
STAGE_FORMAT = "resdyn-stage/1"
MODES = ("stored", "always", "on demand")
#: ``settings=ALL_SETTINGS``: the stage reads (and its key covers) the whole profile.
ALL_SETTINGS = ("*",)
#: Packages whose frozen dataclasses a stage file may hold.
_MODULE_ROOTS = ("analysis", "dynsys", "nets")
_KILL_ENV = "_RESDYN_KILL_AT_STAGE"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Stage:
    """One named step of a pipeline.

    Attributes
    ----------
    name : str
        Identifier and file name (lower case, digits, ``_``).
    label : str
        What the progress bar and ``stage_times_s`` call it; stages may share a label (their
        seconds are summed).
    compute : callable
        ``compute(ctx, **inputs) -> result``; `ctx` is a :class:`StageContext`, `inputs` the
        results of the stages named in `inputs`, by name.
    inputs : tuple of str
        Earlier stages whose results it takes.
    settings : tuple of str
        Profile fields it reads (:data:`ALL_SETTINGS`: all of them).
    mode : {"stored", "always", "on demand"}
    constants : callable, optional
        ``constants() -> JSON`` values outside the profile that the result depends on.
    identity : callable, optional
        ``identity(result) -> JSON``: for an ``"always"`` stage, what its key covers besides
        its settings and inputs (e.g. checkpoint hashes).
    verify : callable, optional
        ``verify(ctx, result) -> bool``: whether a stored result may be reused (e.g. the file
        it wrote is still there, unchanged).
    version : int
        Bumped when what the stage computes changes.
    """

    name: str
    label: str
    compute: object
    inputs: tuple = ()
    settings: tuple = ()
    mode: str = "stored"
    constants: object = None
    identity: object = None
    verify: object = None
    version: int = 1

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError("`name` must be lower-case letters, digits and '_', starting with "
                             f"a letter; got {self.name!r}.")
        if self.mode not in MODES:
            raise ValueError(f"`mode` must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if not callable(self.compute):
            raise TypeError(f"`compute` of stage {self.name!r} must be callable; "
                            f"got {type(self.compute).__name__}.")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "settings", tuple(self.settings))


def stage_path(folder, name) -> Path:
    """The file of stage `name` in `folder`."""
    return Path(folder) / f"{name}.npz"


class _Settings:
    """The profile as one stage may read it: only the fields it declares."""

    __slots__ = ("_profile", "_names", "_stage")

    def __init__(self, profile, names, stage):
        object.__setattr__(self, "_profile", profile)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_stage", stage)

    def __getattr__(self, name):
        if self._names == ALL_SETTINGS or name in self._names:
            return getattr(self._profile, name)
        raise AttributeError(
            f"stage {self._stage!r} reads the profile setting {name!r}, which is not in its "
            f"`settings` {self._names}: declare it, so that the stage's key covers it.")

    def __setattr__(self, name, value):
        raise AttributeError("the settings of a stage are read-only.")


class StageContext:
    """What a stage's ``compute`` sees besides its inputs.

    Attributes
    ----------
    settings
        The profile, restricted to the fields the stage declares (all of them for
        :data:`ALL_SETTINGS`).
    options : mapping
        The run's options (output folder, data folder, progress, ...), the same for every
        stage; none of them may change a result.
    """

    def __init__(self, runner, stage):
        self.settings = (runner.profile if stage.settings == ALL_SETTINGS
                         else _Settings(runner.profile, stage.settings, stage.name))
        self.options = runner.options
        self._runner = runner

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self._runner.t_start

    def account(self) -> dict:
        """The run so far (see :meth:`StageRunner.account`), this stage's time included."""
        return self._runner.account()


def _plain(obj):
    """JSON for the values a key document holds (NumPy scalars, arrays, paths)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"a stage key cannot hold a {type(obj).__name__}.")


def _digest(doc) -> str:
    text = json.dumps(doc, sort_keys=True, default=_plain, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("resdyn")
    except Exception:  # a source tree that is not installed
        return "unknown"


# -- result files: a JSON tree plus arrays, nothing pickled ------------------------------------

def _allowed(cls) -> bool:
    return cls.__module__.split(".")[0] in _MODULE_ROOTS


def encode_result(obj, arrays: list):
    """`obj` as a JSON tree; its arrays are appended to `arrays` and referred to by index.

    Raises
    ------
    TypeError
        `obj` holds something other than None, bool, int, float, complex, str, tuple, list,
        dict, a NumPy array or scalar (not of object dtype), or a dataclass of
        :mod:`analysis`, :mod:`dynsys` or :mod:`nets`.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.hasobject:
            raise TypeError("a stage result cannot hold an array of Python objects.")
        arrays.append(arr)
        tag = "__array__" if isinstance(obj, np.ndarray) else "__scalar__"
        return {tag: len(arrays) - 1, "writeable": bool(arr.flags.writeable)}
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, complex):
        return {"__complex__": [obj.real, obj.imag]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_result(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [encode_result(v, arrays) for v in obj]
    if isinstance(obj, dict):
        return {"__dict__": [[encode_result(k, arrays), encode_result(v, arrays)]
                             for k, v in obj.items()]}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and _allowed(type(obj)):
        cls = type(obj)
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode_result(getattr(obj, f.name), arrays)
                           for f in dataclasses.fields(obj)}}
    raise TypeError(f"a stage result cannot hold a {type(obj).__module__}."
                    f"{type(obj).__qualname__}.")


def _dataclass(path: str):
    module, _, qualname = path.partition(":")
    if module.split(".")[0] not in _MODULE_ROOTS:
        raise ValueError(f"a stage file names the class {path!r}, outside "
                         f"{', '.join(_MODULE_ROOTS)}.")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"{path!r} is not a dataclass.")
    return cls


def decode_result(tree, arrays):
    """The object :func:`encode_result` encoded; ``arrays[i]`` gives array i.

    Raises
    ------
    ValueError
        A node of the tree is malformed, or names a class that no longer has the stored
        fields (the code changed since the file was written).
    """
    if isinstance(tree, list):
        return [decode_result(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree or "__scalar__" in tree:
        scalar = "__scalar__" in tree
        arr = arrays[int(tree["__scalar__" if scalar else "__array__"])]
        if scalar:
            return arr[()]
        if not tree.get("writeable", True):
            arr.setflags(write=False)
        return arr
    if "__complex__" in tree:
        re_, im = tree["__complex__"]
        return complex(re_, im)
    if "__tuple__" in tree:
        return tuple(decode_result(v, arrays) for v in tree["__tuple__"])
    if "__dict__" in tree:
        return {decode_result(k, arrays): decode_result(v, arrays) for k, v in tree["__dict__"]}
    if "__dataclass__" in tree:
        cls = _dataclass(tree["__dataclass__"])
        stored = tree["fields"]
        names = [f.name for f in dataclasses.fields(cls)]
        if sorted(names) != sorted(stored):
            raise ValueError(f"the stored {cls.__qualname__} has fields {sorted(stored)}, the "
                             f"class now has {sorted(names)}.")
        obj = object.__new__(cls)
        for name in names:
            object.__setattr__(obj, name, decode_result(stored[name], arrays))
        return obj
    raise ValueError(f"unknown node in a stage file: keys {sorted(tree)[:4]}.")


def _text_array(obj) -> np.ndarray:
    text = json.dumps(obj, allow_nan=True, default=_plain)
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _read_text(npz, member):
    return json.loads(bytes(np.asarray(npz[member], dtype=np.uint8)).decode())


def read_stage_file(path, *, key=None):
    """``(header, result)`` of a stage file.

    ``result`` is ``None`` when the file holds none (an on-demand stage's record) or when
    `key` is given and differs from the file's (its result is then not read).

    Raises
    ------
    OSError, ValueError, KeyError, zipfile.BadZipFile, ...
        The file is missing, truncated, edited or of another format.
    """
    with np.load(path, allow_pickle=False) as npz:
        header = _read_text(npz, "header")
        if not isinstance(header, dict) or header.get("format") != STAGE_FORMAT:
            raise ValueError(f"not a {STAGE_FORMAT} file (format "
                             f"{header.get('format') if isinstance(header, dict) else None!r}).")
        for field in ("stage", "key", "seconds", "stored"):
            if field not in header:
                raise ValueError(f"its header lacks {field!r}.")
        if not header["stored"] or (key is not None and header["key"] != key):
            return header, None
        tree = _read_text(npz, "tree")
        arrays = _LazyArrays(npz)
        return header, decode_result(tree, arrays)


class _LazyArrays:
    """``arrays[i]``: member ``a<i>`` of an open npz file."""

    def __init__(self, npz):
        self._npz = npz

    def __getitem__(self, i):
        return self._npz[f"a{int(i)}"]


def _kill_if(point: str) -> None:
    """The test hook: SIGKILL this process if ``_RESDYN_KILL_AT_STAGE`` names `point`."""
    if os.environ.get(_KILL_ENV) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


# -- the runner --------------------------------------------------------------------------------

class StageRunner:
    """Run `stages` in order, reusing the stored results whose key is unchanged.

    Parameters
    ----------
    stages : sequence of Stage
        In an order where every stage comes after the stages it takes.
    folder : path
        Where stored results go (created when the first is written).
    profile : dataclass
        The settings the stages read.
    options : dict
        Run options handed to every stage (``ctx.options``).
    bar : tqdm bar, optional
        Advanced by one per stage.
    t_start : float, optional
        :func:`time.perf_counter` at the start of the run (default: now).
    """

    def __init__(self, stages, folder, profile, options, *, bar=None, t_start=None):
        self.stages = tuple(stages)
        seen = set()
        for st in self.stages:
            if not isinstance(st, Stage):
                raise TypeError(f"`stages` must hold Stage values; got {type(st).__name__}.")
            if st.name in seen:
                raise ValueError(f"two stages are named {st.name!r}.")
            missing = [n for n in st.inputs if n not in seen]
            if missing:
                raise ValueError(f"stage {st.name!r} takes {missing}, which no earlier stage "
                                 "produces.")
            seen.add(st.name)
        self._by_name = {st.name: st for st in self.stages}
        self.folder = Path(folder)
        self.profile = profile
        self.options = MappingProxyType(dict(options))
        self.bar = bar
        self.t_start = time.perf_counter() if t_start is None else float(t_start)
        self.values, self.keys, self.status, self.seconds = {}, {}, {}, {}
        self._current = None

    # public ------------------------------------------------------------------------------

    def run(self) -> dict:
        """Run every stage; returns the results by stage name (on-demand ones if computed)."""
        for st in self.stages:
            if self.bar is not None:
                self.bar.set_postfix_str(st.label)
            if st.mode == "always":
                self._compute(st)
            else:
                key = self._key(st)
                self.keys[st.name] = key
                if st.mode == "stored":
                    if not self._reuse(st, key):
                        self._compute(st)
                elif st.name not in self.values:
                    self._note_deferred(st, key)
            if self.bar is not None:
                self.bar.update(1)
        return dict(self.values)

    def account(self) -> dict:
        """The run so far: ``times`` (label -> seconds, summed over stages sharing a label;
        a reused stage counts the seconds of the run that computed it), ``reused`` (names of
        the stored stages loaded from their files), ``stages`` (one record per stage:
        name, label, mode, status, seconds, key)."""
        seconds = dict(self.seconds)
        if self._current is not None:
            name, t0 = self._current
            seconds[name] = round(time.perf_counter() - t0, 2)
        status = dict(self.status)
        if self._current is not None:
            status[self._current[0]] = "computed"
        times, table = {}, []
        for st in self.stages:
            if st.name not in status:
                continue
            s = seconds.get(st.name)
            if s is not None:
                times[st.label] = round(times.get(st.label, 0.0) + s, 2)
            table.append({"name": st.name, "label": st.label, "mode": st.mode,
                          "status": status[st.name], "seconds": s,
                          "key": self.keys.get(st.name)})
        reused = tuple(st.name for st in self.stages if self.status.get(st.name) == "reused")
        return {"times": times, "reused": reused, "stages": table}

    # private -----------------------------------------------------------------------------

    def _key(self, st, identity=None) -> str:
        if st.settings == ALL_SETTINGS:
            settings = dataclasses.asdict(self.profile)
        else:
            settings = {k: getattr(self.profile, k) for k in st.settings}
        return _digest({
            "format": STAGE_FORMAT, "package": _package_version(), "stage": st.name,
            "version": st.version, "settings": settings,
            "inputs": {n: self.keys[n] for n in st.inputs},
            "constants": st.constants() if st.constants is not None else None,
            "identity": identity,
        })

    def _path(self, st) -> Path:
        return stage_path(self.folder, st.name)

    def _read(self, st, key, *, warn=True):
        """The stage file's ``(header, result)`` (see :func:`read_stage_file`), or ``None``
        when there is none or it is unreadable (with a warning if `warn`)."""
        path = self._path(st)
        if not path.is_file():
            return None
        try:
            header, result = read_stage_file(path, key=key)
            if header["stage"] != st.name:
                raise ValueError(f"it holds stage {header['stage']!r}")
        except Exception as exc:  # any damage: the stage is recomputed, never trusted
            if not warn:
                return None
            warnings.warn(f"stage file {str(path)!r} is unreadable ({type(exc).__name__}: "
                          f"{exc}); recomputing stage {st.name!r}.", RuntimeWarning,
                          stacklevel=3)
            return None
        return header, result

    def _reuse(self, st, key) -> bool:
        got = self._read(st, key)
        if got is None or got[0]["key"] != key or not got[0]["stored"]:
            return False
        header, result = got
        if st.verify is not None and not st.verify(StageContext(self, st), result):
            return False
        self.values[st.name] = result
        self.status[st.name] = "reused"
        self.seconds[st.name] = header["seconds"]
        return True

    def _note_deferred(self, st, key) -> None:
        # an on-demand stage's file records only its time: a damaged one is rewritten when
        # the stage is next computed, and meanwhile its time is unknown
        got = self._read(st, key, warn=False)
        same = got is not None and got[0]["key"] == key
        self.status[st.name] = "not needed"
        self.seconds[st.name] = got[0]["seconds"] if same else None

    def _value(self, name):
        if name not in self.values:
            st = self._by_name[name]
            if st.mode != "on demand":
                raise RuntimeError(f"stage {name!r} has not run yet.")
            self._compute(st)
        return self.values[name]

    def _compute(self, st) -> None:
        inputs = {n: self._value(n) for n in st.inputs}
        ctx = StageContext(self, st)
        t0 = time.perf_counter()
        self._current = (st.name, t0)
        _kill_if(st.name)
        result = st.compute(ctx, **inputs)
        seconds = round(time.perf_counter() - t0, 2)
        self._current = None
        if st.mode == "always":
            ident = st.identity(result) if st.identity is not None else None
            self.keys[st.name] = self._key(st, ident)
        self.values[st.name] = result
        self.status[st.name] = "computed"
        self.seconds[st.name] = seconds
        if st.mode != "always":
            self._write(st, result if st.mode == "stored" else None, seconds)

    def _write(self, st, result, seconds) -> None:
        stored = st.mode == "stored"
        header = {"format": STAGE_FORMAT, "stage": st.name, "label": st.label,
                  "key": self.keys[st.name], "seconds": seconds, "stored": stored,
                  "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        members = {"header": _text_array(header)}
        if stored:
            arrays = []
            members["tree"] = _text_array(encode_result(result, arrays))
            members.update({f"a{i}": a for i, a in enumerate(arrays)})
        buf = io.BytesIO()
        np.savez(buf, **members)
        data = buf.getvalue()
        if os.environ.get(_KILL_ENV) == f"{st.name}@write":
            def half_then_kill(tmp):
                with open(tmp, "wb") as fh:
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    os.fsync(fh.fileno())
                _kill_if(f"{st.name}@write")
            atomic_save(self._path(st), half_then_kill)
        atomic_write_bytes(self._path(st), data)


def clear_stage_files(folder) -> int:
    """Remove every stage file in `folder` (``--fresh``); returns how many."""
    count = 0
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.glob("*.npz"):
            path.unlink(missing_ok=True)
            count += 1
    return count

