"""Several trainings side by side: one worker process per run, each on its own threads.

A 784-wide network trained with mini-batches of 64 spends its time in products of a 64-row
batch with a 784 x 784 matrix, which two threads share less well than two processes share two
cores. Measured on a 2-vCPU machine (``benchmarks/bench_train_parallel.py``, the shared
MNIST network, per 60,000-image epoch): 41 s on two threads, 68 s on one, and 57 s each for
two one-thread runs side by side, so two runs at a time train about 1.4 times as many epochs
per hour as one run on both threads. :func:`train_many` runs a list of trainings that way.

Each run is :func:`nets.train` with ``resume=True`` into its own folder, in a worker process
started with the ``spawn`` method (a fork of a process whose torch thread pool is running can
deadlock). A run therefore gives the weights :func:`nets.train` gives in this process for the
same configuration, bit for bit, and a finished run is reloaded instead of trained again.
Because the number of threads can change the last bits of the weights, every configuration
names its own (``TrainConfig.threads``): the checkpoint records it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import _committed, check_out_dir
from .config import TrainConfig
from .train import train

__all__ = ["TrainedRun", "available_cpus", "train_many"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one).

    Returns
    -------
    int
        At least 1; the default count of :func:`train_many`'s workers and of
        ``resdyn reproduce --jobs``.
    """
    with contextlib.suppress(AttributeError, OSError):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class TrainedRun:
    """One run of :func:`train_many`.

    Attributes
    ----------
    out_dir : Path
        Its checkpoint folder.
    epochs_before, epochs_after : int
        Epochs its checkpoint held before and after the call (equal: it was reloaded).
    seconds : float
        Wall-clock seconds the worker spent on it (loading the data included).
    stop_reason : str
        ``"epochs"`` or ``"early-stopping"`` (:attr:`nets.TrainResult.stop_reason`).
    depth : int
        Its final depth.
    """

    out_dir: Path
    epochs_before: int
    epochs_after: int
    seconds: float
    stop_reason: str
    depth: int

    @property
    def trained(self) -> bool:
        """Whether this call trained at least one epoch."""
        return self.epochs_after > self.epochs_before


def _epochs_done(folder: Path) -> int:
    """Epochs of the committed checkpoint in `folder` (0 without a readable one)."""
    record = _committed(folder)
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(record["state"]["epoch"])
    return 0


def _finished(config: TrainConfig, folder: Path) -> TrainedRun | None:
    """The summary of a run whose checkpoint already ends it, read without training.

    :func:`nets.train` would train no epoch there: the committed configuration is `config`
    and its state is finished. Anything else (no checkpoint, another configuration, an
    unreadable file) is left to :func:`nets.train`, which resumes, refuses or reports it.
    """
    record = _committed(folder)
    try:
        state = record["state"]
        if not state["finished"] or TrainConfig.from_dict(record["config"]) != config:
            return None
        epoch = int(state["epoch"])
        return TrainedRun(folder, epoch, epoch, 0.0, str(state["stop_reason"]),
                          int(state["depth"]))
    except (ValueError, KeyError, TypeError):
        return None


def _run_one(config: TrainConfig, out_dir: str) -> TrainedRun:
    """Worker: train (or reload) one run; the parent gets a small summary, not the model."""
    folder = Path(out_dir)
    before = _epochs_done(folder)
    t0 = time.perf_counter()
    result = train(config, out_dir=folder, resume=True, progress=False)
    return TrainedRun(folder, before, len(result.history), time.perf_counter() - t0,
                      result.stop_reason, int(result.depth))


def _check_runs(runs) -> list:
    checked, seen = [], {}
    for i, run in enumerate(runs):
        try:
            config, out_dir = run
        except (TypeError, ValueError):
            raise TypeError(f"`runs[{i}]` must be a (TrainConfig, out_dir) pair; "
                            f"got {type(run).__name__}.") from None
        if not isinstance(config, TrainConfig):
            raise TypeError(f"`runs[{i}]`'s configuration must be a TrainConfig; "
                            f"got {type(config).__name__}.")
        if config.threads is None:
            raise ValueError(f"`runs[{i}]`'s TrainConfig.threads must be set (1 for runs side "
                             "by side on a few cores); got None, which leaves the thread "
                             "count to the width and every worker on every core.")
        folder = Path(out_dir)
        check_out_dir(folder, f"`runs[{i}]`'s out_dir")
        key = os.path.abspath(folder)
        if key in seen:
            raise ValueError(f"`runs[{i}]` and `runs[{seen[key]}]` share the out_dir "
                             f"{str(folder)!r}; every run needs its own folder.")
        seen[key] = i
        checked.append((config, folder))
    return checked


def train_many(runs, *, workers: int | None = None, progress: bool = False) -> tuple:
    """Train several networks side by side, each into its own checkpoint folder.

    Parameters
    ----------
    runs : sequence of (TrainConfig, path)
        The configurations and their folders, started in this order as workers come free:
        give the longest first. Every configuration must set ``threads``.
    workers : int, optional
        Runs at a time (default: :func:`available_cpus` divided by the largest ``threads``,
        at most ``len(runs)``). With one worker the runs are trained one after the other in
        this process.
    progress : bool
        A tqdm bar counting finished runs on stderr.

    Returns
    -------
    tuple of TrainedRun
        One per run, in the order of `runs`. A run whose folder holds the finished
        checkpoint of its configuration is not started (``seconds`` 0).

    Raises
    ------
    TypeError, ValueError
        A run that is not a (TrainConfig, folder) pair, a configuration without ``threads``,
        two runs with one folder, an unusable folder, or `workers` below 1; all before any
        training.
    Exception
        The first error of a run (the others are stopped; their checkpoints of finished
        epochs are kept, so calling again resumes them).
    """
    checked = _check_runs(runs)
    done = [_finished(config, folder) for config, folder in checked]
    todo = [run for run, d in zip(checked, done) if d is None]
    if not todo:
        return tuple(done)
    if workers is None:
        per_run = max(int(c.threads) for c, _ in checked)
        workers = max(1, available_cpus() // per_run)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1; got {workers!r}.")
    workers = min(workers, len(todo))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"train, {workers} at a time", unit="network")
    try:
        if workers == 1:
            trained = []
            for config, folder in todo:
                trained.append(_run_one(config, str(folder)))
                if bar is not None:
                    bar.update(1)
        else:
            trained = _in_pool(todo, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    it = iter(trained)
    return tuple(d if d is not None else next(it) for d in done)


def _die_with_parent(parent: int) -> None:
    """Pool initializer: a worker whose parent is killed is killed too (Linux).

    A parent stopped by SIGKILL cannot stop its workers, which would otherwise train on,
    holding their folders' locks, until their current run ends. Training writes every
    checkpoint atomically, so a worker killed at any point leaves a resumable folder.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the call above
        os._exit(1)


def _in_pool(checked, workers, bar) -> tuple:
    ctx = multiprocessing.get_context("spawn")
    # a worker trains several runs in turn: nets.train seeds, sets and restores the torch
    # state it uses (threads, deterministic mode) for each, as it does in one process
    pool = ctx.Pool(processes=workers, initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        pending = [pool.apply_async(_run_one, (config, str(folder)))
                   for config, folder in checked]
        out = [None] * len(pending)
        while any(r is None for r in out):
            for i, res in enumerate(pending):
                if out[i] is None and res.ready():
                    out[i] = res.get()  # re-raises the run's error here
                    if bar is not None:
                        bar.update(1)
            if any(r is None for r in out):
                time.sleep(0.2)
        pool.close()
        return tuple(out)
    finally:
        # on an error (or an interrupt) the other runs are stopped at once; each keeps the
        # checkpoints of the epochs it finished
        pool.terminate()
        pool.join()
