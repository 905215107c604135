"""Fault suite, the ``resdyn`` commands: one writer per run folder, ``--out`` checked first, RUN
read only when it holds one finished run.

Each ``test_fault_*`` replays a fault that was observed (it failed before the fix); each
``test_refused_*`` pins a bad input that was already refused, so that it stays refused.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nets
from nets.atomic import TEMP_PREFIX


def _one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_fault_two_trainings_on_one_out(tmp_path, resdyn, hooked_train):
    out, gate = tmp_path / "run", tmp_path / "gate"
    gate.mkdir()
    first = hooked_train.start([*hooked_train.BLOBS, "--epochs", 2, "--seed", 1, "--out", out],
                               pause=gate)
    try:
        # the first run holds the folder and waits before its first checkpoint
        hooked_train.wait_for(gate / "paused", first)
        second = resdyn("train", *hooked_train.BLOBS, "--epochs", 1, "--seed", 2, "--out", out)
        line = _one_line(second)
        assert f"--out '{out}' is being written by another process (process {first.pid})" in line
    finally:
        (gate / "go").touch()
        stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr.decode()
    assert json.loads((out / "checkpoint.json").read_text())["config"]["seed"] == 1
    nets.check_run(out)
    assert not (out / nets.LOCK_FILE).exists()


def test_fault_census_of_another_runs_weights_beside_a_killed_run(finished_run, killed_run,
                                                                  tmp_path, resdyn):
    run = tmp_path / "B"
    shutil.copytree(killed_run, run)
    shutil.copy(finished_run / nets.WEIGHTS_FILE, run / nets.WEIGHTS_FILE)
    line = _one_line(resdyn("census", run, "--depth", 50, "--no-progress"))
    assert line.startswith(f"resdyn census: error: RUN '{run}' is an unfinished training run")
    assert "exported from a checkpoint of epoch 2" in line
    assert f"resdyn train --resume {run}" in line and "pass a weights file explicitly" in line


def test_fault_readers_of_a_killed_resume(killed_resume, resdyn):
    line = _one_line(resdyn("census", killed_resume, "--depth", 50, "--no-progress"))
    assert "unfinished training run: its checkpoint is at epoch 3 of 5" in line
    line = _one_line(resdyn("fixed-points", killed_resume, "--count"))
    assert "unfinished training run" in line and f"--resume {killed_resume}" in line


def test_fault_out_is_an_existing_file(tmp_path, resdyn):
    path = tmp_path / "run.txt"
    path.write_text("notes")
    # the data set is missing too: --out is checked before any work
    line = _one_line(resdyn("train", "--dataset", "mnist", "--data-dir", tmp_path / "none",
                            "--out", path))
    assert line == (f"resdyn train: error: --out must be a folder (created if it does not "
                    f"exist); got '{path}', which is an existing file.")
    assert path.read_text() == "notes"


def test_fault_out_below_a_file(tmp_path, resdyn):
    (tmp_path / "f").write_text("")
    line = _one_line(resdyn("train", "--dataset", "blobs", "--out", tmp_path / "f" / "run"))
    assert "--out must be a folder path" in line
    assert f"'{tmp_path / 'f'}' on that path is a file" in line
    assert "Errno" not in line


def test_fault_out_unwritable(tmp_path, resdyn):
    """/sys takes no new file from anyone, though os.access says yes to root: the probe write
    finds out, before any work (the data set is missing: it would be the error otherwise)."""
    missing = ["--dataset", "mnist", "--data-dir", tmp_path / "none"]
    line = _one_line(resdyn("train", *missing, "--out", "/sys/run"))
    assert line.startswith("resdyn train: error: --out must be a writable location; got "
                           "'/sys/run', and its nearest existing folder '/sys' is not writable "
                           "(creating a file there failed: ")
    line = _one_line(resdyn("train", *missing, "--out", "/sys"))
    assert "got '/sys', and that folder is not writable" in line
    assert "Errno" not in line and TEMP_PREFIX not in line


@pytest.fixture
def no_census(monkeypatch):
    """Fail the test if ``resdyn census`` reads its run or starts the census."""
    import dynsys

    def boom(*a, **k):
        raise AssertionError("the census started before --out was checked")

    monkeypatch.setattr(dynsys, "attractor_census", boom)
    monkeypatch.setattr(nets, "to_network", boom)


def test_fault_census_out_unwritable(finished_run, resdyn, no_census):
    """Before: the whole census ran, then the write failed with a raw [Errno 13] naming the
    temporary file."""
    line = _one_line(resdyn("census", finished_run, "--depth", 50, "--no-progress",
                            "--out", "/sys/c.json"))
    assert line.startswith("resdyn census: error: --out must be a writable location; got "
                           "'/sys/c.json', and its folder '/sys' is not writable (creating a "
                           "file there failed: ")
    assert "Errno" not in line and TEMP_PREFIX not in line


def test_fault_fixed_points_out_unwritable(tmp_path, resdyn, monkeypatch):
    import analysis.cli_fixed_points as cmd

    def boom(*a, **k):
        raise AssertionError("the command read W before --out was checked")

    monkeypatch.setattr(cmd, "load_source", boom)
    path = tmp_path / "W.npy"
    np.save(path, np.eye(3))
    line = _one_line(resdyn("fixed-points", path, "--out", "/sys/x.json"))
    assert line.startswith("resdyn fixed-points: error: --out must be a writable location; got "
                           "'/sys/x.json', and its folder '/sys' is not writable")
    assert "Errno" not in line and TEMP_PREFIX not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["W.npy"]


@pytest.fixture
def no_stages(monkeypatch):
    """``analysis.reproduce`` whose stage runner fails the test: no data, no training."""
    reproduce_module = importlib.import_module("analysis.reproduce")

    def boom(*a, **k):
        raise AssertionError("reproduce started its stages before its output was checked")

    monkeypatch.setattr(reproduce_module, "StageRunner", boom)
    return reproduce_module


def test_fault_reproduce_out_is_a_file(tmp_path, resdyn, no_stages):
    """Before: [Errno 17] (an existing file) or [Errno 20] (a file on the path), naming no
    flag."""
    path = tmp_path / "existing.json"
    path.write_text("{}")
    tiny = ["--dataset", "digits", "--profile", "tiny", "--no-progress"]
    line = _one_line(resdyn("reproduce", *tiny, "--out", path))
    assert line == (f"resdyn reproduce: error: --out must be a folder (created if it does not "
                    f"exist); got '{path}', which is an existing file.")
    line = _one_line(resdyn("reproduce", *tiny, "--out", path / "below"))
    assert line == (f"resdyn reproduce: error: --out must be a folder path; got "
                    f"'{path / 'below'}', but '{path}' on that path is a file, so no folder "
                    "can be made there.")
    line = _one_line(resdyn("reproduce", *tiny, "--out", "/sys/reproduce"))
    assert line.startswith("resdyn reproduce: error: --out must be a writable location; got "
                           "'/sys/reproduce', and its nearest existing folder '/sys'")
    assert path.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"]


def test_fault_reproduce_out_dir_is_a_file(tmp_path, no_stages):
    import analysis

    path = tmp_path / "existing.json"
    path.write_text("{}")
    with pytest.raises(ValueError) as info:
        analysis.reproduce("digits", profile="tiny", out_dir=path, progress=False)
    assert str(info.value) == (f"`out_dir` must be a folder (created if it does not exist); "
                               f"got '{path}', which is an existing file.")
    with pytest.raises(ValueError, match=r"^`out_dir` must be a folder path; got "
                                         r"'.*existing\.json/a/b', but '.*existing\.json' on "
                                         r"that path is a file"):
        analysis.reproduce("digits", profile="tiny", out_dir=path / "a" / "b", progress=False)
    with pytest.raises(ValueError, match=r"^`out_dir` must be a writable location; got "
                                         r"'/sys/reproduce'"):
        analysis.reproduce("digits", profile="tiny", out_dir="/sys/reproduce", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"]


def test_fault_rerun_of_a_killed_reproduce_removes_its_partial_files(tmp_path, resdyn,
                                                                     monkeypatch):
    """A killed reproduce leaves the temporary files of the atomic writes it was in; the next
    run of the same --out removes them before its first stage."""
    R = importlib.import_module("analysis.reproduce")
    out = tmp_path / "results"
    run = out / "checkpoints" / "digits-shared-T15-x"
    keep = [out / R.STAGE_DIR / "baselines.npz", run / "checkpoint.json"]
    strays = [out / f"{TEMP_PREFIX}results.json.a1b2.json",
              out / R.STAGE_DIR / f"{TEMP_PREFIX}census.npz.c3d4.npz",
              out / "figures" / f"{TEMP_PREFIX}fig2_residual_stats.png.e5f6.png",
              run / f"{TEMP_PREFIX}state-epoch0003.safetensors.g7h8.safetensors"]
    for p in keep + strays:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"as a killed writer left it")
    seen = {}

    class Runner:  # the rerun's stages: see what the folder holds when they start, then stop
        def __init__(self, stages, folder, *args, **kwargs):
            seen["partial"] = sorted(str(p.relative_to(out))
                                     for p in out.rglob(f"{TEMP_PREFIX}*"))
            raise RuntimeError("stopped before the first stage")

    monkeypatch.setattr(R, "StageRunner", Runner)
    line = _one_line(resdyn("reproduce", "--dataset", "digits", "--profile", "tiny",
                            "--no-progress", "--out", out))
    assert line == "resdyn reproduce: error: stopped before the first stage"
    assert seen["partial"] == []
    assert [p for p in keep if p.is_file()] == keep
def test_fault_reproduce_leaves_the_writes_of_a_training_run_in_its_checkpoints(tmp_path, resdyn,
                                                                                 monkeypatch):
    """``resdyn train --out R/checkpoints/x`` running while ``resdyn reproduce --out R``
    starts: the reproduce's clean-up must not delete the training run's writes in progress
    (its folder is locked); an unlocked sibling's leftovers are still removed."""
    from nets.atomic import folder_lock

    R = importlib.import_module("analysis.reproduce")
    out = tmp_path / "results"
    busy, idle = out / "checkpoints" / "by-hand", out / "checkpoints" / "killed"
    in_progress = busy / f"{TEMP_PREFIX}state-epoch0002.safetensors.a1.safetensors"
    leftover = idle / f"{TEMP_PREFIX}state-epoch0001.safetensors.b2.safetensors"
    for p in (in_progress, leftover):
        p.parent.mkdir(parents=True)
        p.write_bytes(b"being written")

    class Runner:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("stopped before the first stage")

    monkeypatch.setattr(R, "StageRunner", Runner)
    with folder_lock(busy, nets.LOCK_FILE, name="`--out`"):  # the training run's lock
        line = _one_line(resdyn("reproduce", *_TINY, "--out", out))
        assert line == "resdyn reproduce: error: stopped before the first stage"
        assert in_progress.is_file()
    assert not leftover.exists()


_TINY = ["--dataset", "digits", "--profile", "tiny", "--no-progress"]


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_fault_reproduce_jobs_below_one(tmp_path, resdyn, jobs):
    """A count of networks trained at a time below 1 is refused naming --jobs, before the
    output folder is made."""
    line = _one_line(resdyn("reproduce", *_TINY, "--jobs", jobs, "--out", tmp_path / "o"))
    assert line == ("resdyn reproduce: error: --jobs must be an integer >= 1 (networks "
                    f"trained at a time); got {jobs}.")
    assert not (tmp_path / "o").exists()

#: Temporary files of the atomic writes a reproduce run is in, relative to its --out.
_IN_PROGRESS = (f"{TEMP_PREFIX}results.json.r1.json",
                f"stages/{TEMP_PREFIX}census.npz.r2.npz",
                f"checkpoints/digits-shared-T15-x/{TEMP_PREFIX}state-epoch0001.safetensors.r3"
                ".safetensors")

# `resdyn reproduce ARGS` whose stage runner does no work: inside the run (after the lock and
# the clean-up of temporary files) it writes the temporary files of atomic writes in
# progress, creates GATE/paused and waits for GATE/go, then stops with an error.
_PAUSED_REPRODUCE = r"""
import importlib, sys, time
from pathlib import Path
R = importlib.import_module("analysis.reproduce")  # the module: analysis.reproduce is a function
gate, in_progress = Path(sys.argv[1]), sys.argv[2].split(",")
class Runner:
    def __init__(self, stages, folder, settings, options, **kwargs):
        for rel in in_progress:
            path = Path(options["out"], rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("being written")
        (gate / "paused").touch()
        while not (gate / "go").exists():
            time.sleep(0.01)
        raise RuntimeError("the first run stopped")
R.StageRunner = Runner
from analysis.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _start_paused_reproduce(out, gate) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("RESDYN_DEBUG", None)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-c", _PAUSED_REPRODUCE, str(gate),
                             ",".join(_IN_PROGRESS), "reproduce", *_TINY, "--out", str(out)],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_fault_two_reproduce_runs_on_one_out(tmp_path, resdyn, hooked_train, no_stages):
    """Before: a second run on the same --out took no lock, removed every temporary file under
    it (those of the atomic writes the first run was in) and wrote the same stage files."""
    import analysis

    out, gate = tmp_path / "results", tmp_path / "gate"
    gate.mkdir()
    first = _start_paused_reproduce(out, gate)
    try:
        hooked_train.wait_for(gate / "paused", first)  # the first run is inside its stages
        line = _one_line(resdyn("reproduce", *_TINY, "--out", out))
        assert line == (f"resdyn reproduce: error: --out '{out}' is being written by another "
                        f"process (process {first.pid}): one folder takes one writer at a "
                        "time. Wait for it to end, or choose another folder.")
        with pytest.raises(nets.FolderLockedError) as info:  # the error training raises
            analysis.reproduce("digits", profile="tiny", out_dir=out, progress=False)
        assert str(info.value).startswith(f"`out_dir` '{out}' is being written by another "
                                          f"process (process {first.pid}): ")
        assert [(out / rel).read_text() for rel in _IN_PROGRESS] == ["being written"] * 3
    finally:
        (gate / "go").touch()
        stdout, stderr = first.communicate(timeout=600)
    # the first run went on undisturbed to its end, and released the folder
    assert stderr.decode().strip() == "resdyn reproduce: error: the first run stopped"
    assert not (out / no_stages.LOCK_FILE).exists()


def test_fault_rerun_after_a_killed_reproduce_is_not_locked(tmp_path, resdyn, hooked_train,
                                                            monkeypatch):
    """A run killed outright leaves its lock file behind, but its lock ended with its process:
    the next run of the same --out takes the folder, clears the temporary files and starts."""
    R = importlib.import_module("analysis.reproduce")
    out, gate = tmp_path / "results", tmp_path / "gate"
    gate.mkdir()
    first = _start_paused_reproduce(out, gate)
    try:
        hooked_train.wait_for(gate / "paused", first)
    finally:
        first.kill()
        first.communicate(timeout=60)
    assert (out / R.LOCK_FILE).read_text() == str(first.pid)  # left by the killed run
    seen = {}

    class Runner:  # the rerun's stages: see what the folder holds when they start, then stop
        def __init__(self, *args, **kwargs):
            seen["lock"] = (out / R.LOCK_FILE).read_text()
            seen["partial"] = sorted(str(p.relative_to(out))
                                     for p in out.rglob(f"{TEMP_PREFIX}*"))
            raise RuntimeError("stopped before the first stage")

    monkeypatch.setattr(R, "StageRunner", Runner)
    line = _one_line(resdyn("reproduce", *_TINY, "--out", out))
    assert line == "resdyn reproduce: error: stopped before the first stage"
    assert seen == {"lock": str(os.getpid()), "partial": []}
    assert not (out / R.LOCK_FILE).exists()


def test_fault_out_is_a_dangling_link(tmp_path, resdyn, no_stages):
    """Before: the check passed (os.path.exists is False for a link to a missing target) and
    making the folder failed with [Errno 17] File exists, naming no flag."""
    link, target = tmp_path / "results", tmp_path / "gone"
    link.symlink_to(target)
    expected = (f"--out must be a folder (created if it does not exist), or a link to one; got "
                f"'{link}', which is a symbolic link to a missing target '{target}'.")
    line = _one_line(resdyn("reproduce", *_TINY, "--out", link))
    assert line == f"resdyn reproduce: error: {expected}"
    line = _one_line(resdyn("train", "--dataset", "blobs", "--out", link))
    assert line == f"resdyn train: error: {expected}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"] and link.is_symlink()


def test_fault_census_of_a_npy(tmp_path, resdyn):
    path = tmp_path / "W.npy"
    np.save(path, np.eye(4))
    line = _one_line(resdyn("census", path, "--dataset", "blobs"))
    assert line.startswith(f"resdyn census: error: RUN '{path}' is a NumPy .npy file, but a "
                           "training run folder or a .safetensors weights file")
    assert "header too large" not in line


def test_refused_missing_and_corrupt_runs(finished_run, tmp_path, resdyn):
    assert "does not exist" in _one_line(resdyn("census", tmp_path / "absent"))
    assert "no checkpoint" in _one_line(resdyn("train", "--resume", tmp_path / "absent"))
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    tensor = next(run.glob("state-epoch*.safetensors"))
    tensor.write_bytes(tensor.read_bytes()[:-64])
    assert "truncated or was modified" in _one_line(resdyn("census", run, "--no-progress"))
    r = resdyn("train", *["--dataset", "blobs", "--epochs", 1, "--out", finished_run])
    assert "already holds a checkpoint" in _one_line(r)
