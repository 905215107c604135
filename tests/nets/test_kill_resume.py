"""A run killed with SIGKILL after a checkpoint resumes and ends bit-identical to an uninterrupted run."""

import json
import signal

import pytest

from nets import load_checkpoint, load_weights
from tests._helpers import training_hooks as hooks


ARGS = ["--dataset", "digits", "--width", "96", "--depth", "8", "--per-layer", "--epochs", "8",
        "--batch-size", "16", "--seed", "7", "--adaptive-depth", "--threshold", "0.2",
        "--threads", "1", "--no-progress"]


def _final_state(folder):
    ck = load_checkpoint(folder)
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in ck.history]
    return ck.tensors, history, ck.state


#: The epoch whose committed checkpoint the run is killed after (of 8).
KILL_AT = 3


@pytest.mark.slow
def test_kill_mid_training_then_resume_is_bit_identical(tmp_path, train_cli):
    """SIGKILL right after the epoch-3 checkpoint is committed (a hook in the child's
    checkpoint writer, not a timer), so the run is cut at the same point on every machine."""
    killed = tmp_path / "killed"
    done = hooks.run_killed(ARGS + ["--out", killed], kill_at=KILL_AT)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    state = json.loads((killed / "checkpoint.json").read_text())["state"]
    assert state["epoch"] == KILL_AT
    assert len(json.loads((killed / "history.json").read_text())) == KILL_AT

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
