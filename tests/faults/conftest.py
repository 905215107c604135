"""Fixtures of the fault suite: replays of observed faults, bad inputs that must stay refused.

* ``resdyn``: run ``resdyn ARGS`` in this process (exit status, stdout, stderr);
* ``hooked_train``: ``resdyn train ARGS`` in a subprocess whose checkpoint writer can pause
  before a save (until the test lets it go) or kill its own process with SIGKILL right after
  the checkpoint of a given epoch is committed. Both are driven by files and exact epochs,
  never by timing, so the kills land at the same point on every run.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from tests._helpers import training_hooks as hooks

#: Small, fast training arguments (blobs: no data files needed).
BLOBS = ["--dataset", "blobs", "--width", "6", "--depth", "3", "--batch-size", "32",
         "--threads", "1", "--no-progress"]


@pytest.fixture()
def hooked_train():
    return types.SimpleNamespace(start=hooks.start, wait_for=hooks.wait_for,
                                 run_killed=hooks.run_killed, BLOBS=BLOBS)


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
    done = hooks.run_killed([*BLOBS, "--epochs", 3, "--seed", 2, "--out", out], kill_at=1)
    assert done.returncode == -9, done.stderr.decode()
    return out


@pytest.fixture(scope="session")
def killed_resume(tmp_path_factory) -> Path:
    """2 epochs finished, then ``--resume --epochs 5`` SIGKILLed after the epoch-3 checkpoint."""
    out = tmp_path_factory.mktemp("C") / "run"
    _train_here("--epochs", 2, "--seed", 3, "--out", out)
    done = hooks.run_killed(["--resume", out, "--epochs", 5, "--no-progress"], kill_at=3)
    assert done.returncode == -9, done.stderr.decode()
    return out
