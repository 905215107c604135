"""Fault suite, the ``resdyn`` commands: one writer per run folder, ``--out`` checked first, RUN
read only when it holds one finished run.

Each ``test_fault_*`` replays a fault that was observed (it failed before the fix); each
``test_refused_*`` pins a bad input that was already refused, so that it stays refused.
"""

import json
import os
import shutil

import numpy as np

import nets


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


def test_fault_out_unwritable(tmp_path, resdyn, monkeypatch):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access
    # root writes anywhere whatever the mode bits say: let the mode bits speak
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked)
                        else real_access(p, mode))
    try:
        line = _one_line(resdyn("train", "--dataset", "blobs", "--out", locked / "run"))
        assert "--out must be a writable location" in line
        assert f"its nearest existing folder '{locked}' is not writable" in line
        line = _one_line(resdyn("train", "--dataset", "blobs", "--out", locked))
        assert "that folder is not writable" in line
    finally:
        locked.chmod(0o755)
    assert not (locked / "run").exists()


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
