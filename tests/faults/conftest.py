"""Fixtures of the fault suite: replays of observed faults, bad inputs that must stay refused.

* ``resdyn``: run ``resdyn ARGS`` in this process (exit status, stdout, stderr);
* ``hooked_train``: ``resdyn train ARGS`` in a subprocess whose checkpoint writer can pause
  before a save (until the test lets it go) or kill its own process with SIGKILL right after
  the checkpoint of a given epoch is committed. Both are driven by files and exact epochs,
  never by timing, so the kills land at the same point on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Small, fast training arguments (blobs: no data files needed).
BLOBS = ["--dataset", "blobs", "--width", "6", "--depth", "3", "--batch-size", "32",
         "--threads", "1", "--no-progress"]

# Runs `resdyn train` with nets.train's checkpoint writer wrapped:
#   RESDYN_TEST_PAUSE=DIR   before the first save, create DIR/paused and wait for DIR/go;
#   RESDYN_TEST_KILL_AT=E   SIGKILL this process right after the checkpoint of epoch E.
_HOOK = r"""
import os, signal, sys, time
from pathlib import Path
import nets.train
module = sys.modules["nets.train"]
real = module.save_checkpoint
pause = os.environ.get("RESDYN_TEST_PAUSE")
kill_at = int(os.environ.get("RESDYN_TEST_KILL_AT", "0"))
def hooked(directory, **kw):
    global pause
    if pause:
        Path(pause, "paused").touch()
        while not Path(pause, "go").exists():
            time.sleep(0.01)
        pause = None
    path = real(directory, **kw)
    if kill_at and int(kw["state"]["epoch"]) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return path
module.save_checkpoint = hooked
from analysis.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RESDYN_DEBUG", None)
    env["OMP_NUM_THREADS"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _start(args, *, pause=None, kill_at=None) -> subprocess.Popen:
    extra = {}
    if pause is not None:
        extra["RESDYN_TEST_PAUSE"] = pause
    if kill_at is not None:
        extra["RESDYN_TEST_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-c", _HOOK, "train", *map(str, args)],
                            cwd=ROOT, env=_env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    """Wait until `path` exists (the subprocess made it); fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the training process ended ({proc.returncode}) before "
                                 f"{path.name}: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.01)


def _run_killed(args, kill_at: int) -> subprocess.CompletedProcess:
    """``resdyn train ARGS`` killed by SIGKILL right after its checkpoint of epoch `kill_at`."""
    proc = _start(args, kill_at=kill_at)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture()
def hooked_train():
    return types.SimpleNamespace(start=_start, wait_for=_wait_for, run_killed=_run_killed,
                                 BLOBS=BLOBS)


@pytest.fixture()
def resdyn(capsys, monkeypatch):
    """``resdyn ARGS`` in this process: (exit status, stdout, stderr)."""
    monkeypatch.delenv("RESDYN_DEBUG", raising=False)

    def run(*args):
        from analysis.cli import main

        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        return types.SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)

    return run


# ---- run folders shared by the tests (built once; copy one before changing it) -------------


def _train_here(*args) -> None:
    from analysis.cli import main

    assert main(["train", *BLOBS, *map(str, args)]) == 0


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """Run A: 2 epochs, seed 1, finished."""
    out = tmp_path_factory.mktemp("A") / "run"
    _train_here("--epochs", 2, "--seed", 1, "--out", out)
    return out


@pytest.fixture(scope="session")
def killed_run(tmp_path_factory) -> Path:
    """Run B: 3 epochs asked, seed 2, SIGKILLed right after the checkpoint of epoch 1."""
    out = tmp_path_factory.mktemp("B") / "run"
    done = _run_killed([*BLOBS, "--epochs", 3, "--seed", 2, "--out", out], kill_at=1)
    assert done.returncode == -9, done.stderr.decode()
    return out


@pytest.fixture(scope="session")
def killed_resume(tmp_path_factory) -> Path:
    """2 epochs finished, then ``--resume --epochs 5`` SIGKILLed after the epoch-3 checkpoint."""
    out = tmp_path_factory.mktemp("C") / "run"
    _train_here("--epochs", 2, "--seed", 3, "--out", out)
    done = _run_killed(["--resume", out, "--epochs", 5, "--no-progress"], kill_at=3)
    assert done.returncode == -9, done.stderr.decode()
    return out
