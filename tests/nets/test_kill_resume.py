"""A run killed with a signal mid-training resumes and ends bit-identical to an uninterrupted run."""

import json
import signal
import subprocess
import time

import pytest

from nets import load_checkpoint, load_weights


ARGS = ["--dataset", "digits", "--width", "96", "--depth", "8", "--per-layer", "--epochs", "8",
        "--batch-size", "16", "--seed", "7", "--adaptive-depth", "--threshold", "0.2",
        "--threads", "1", "--no-progress"]


def _final_state(folder):
    ck = load_checkpoint(folder)
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in ck.history]
    return ck.tensors, history, ck.state


@pytest.mark.slow
def test_kill_mid_training_then_resume_is_bit_identical(tmp_path, train_cli):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_cli.train_command() + ARGS + ["--out", str(killed)],
                            cwd=train_cli.ROOT, env=train_cli.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not (killed / "checkpoint.json").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    epochs_at_kill = json.loads((killed / "checkpoint.json").read_text())["state"]["epoch"]
    assert 1 <= epochs_at_kill < 8, "the run finished before it could be killed"

    # resume and the uninterrupted run in this process (same thread count, same code)
    assert train_cli.main(["--resume", killed, "--no-progress"]) == 0
    straight = tmp_path / "straight"
    assert train_cli.main(ARGS + ["--out", straight]) == 0

    t_killed, h_killed, s_killed = _final_state(killed)
    t_straight, h_straight, s_straight = _final_state(straight)
    assert h_killed == h_straight and s_killed == s_straight
    assert t_killed.keys() == t_straight.keys()
    for key in t_straight:
        assert t_killed[key].dtype == t_straight[key].dtype
        assert t_killed[key].equal(t_straight[key]), key
    w_killed, w_straight = load_weights(killed), load_weights(straight)
    for name in ("W", "b", "K", "c"):
        assert (getattr(w_killed, name) == getattr(w_straight, name)).all(), name
    assert {p.suffix for p in killed.iterdir()} == {".json", ".safetensors"}
