"""``resdyn train`` in a subprocess whose checkpoint writer is hooked, driven by exact epochs.

The hook wraps ``nets.train.save_checkpoint`` in the child process:

* ``pause=DIR``: before the first save, create ``DIR/paused`` and wait for ``DIR/go``;
* ``kill_at=E``: SIGKILL the process right after the checkpoint of epoch E is committed.

Both are driven by files and epoch numbers, never by timing, so a kill lands at the same
point on every run and on every machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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


def env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RESDYN_DEBUG", None)
    env["OMP_NUM_THREADS"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args, *, pause=None, kill_at=None) -> subprocess.Popen:
    extra = {}
    if pause is not None:
        extra["RESDYN_TEST_PAUSE"] = pause
    if kill_at is not None:
        extra["RESDYN_TEST_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-c", _HOOK, "train", *map(str, args)],
                            cwd=ROOT, env=env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300.0) -> None:
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


def run_killed(args, kill_at: int) -> subprocess.CompletedProcess:
    """``resdyn train ARGS`` killed by SIGKILL right after its checkpoint of epoch `kill_at`."""
    proc = start(args, kill_at=kill_at)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
