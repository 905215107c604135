"""nets.train_many: runs side by side give the weights nets.train gives, and refuse bad runs."""

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nets import (LOCK_FILE, DataError, FolderLockedError, TrainConfig, TrainedRun,
                  available_cpus, has_checkpoint, load_model, train, train_many)
from nets.atomic import folder_lock

ROOT = Path(__file__).resolve().parents[2]

FAST = dict(dataset="digits", width=24, depth=3, epochs=2, batch_size=64, threads=1)


def _states_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two configurations trained by train_many in two worker processes."""
    root = tmp_path_factory.mktemp("many")
    runs = [(TrainConfig(**FAST, kind="per-layer", seed=1), root / "a"),
            (TrainConfig(**FAST, kind="shared", seed=2), root / "b")]
    return runs, train_many(runs, workers=2)


def test_runs_side_by_side_give_the_weights_of_train_in_this_process(two_runs):
    runs, done = two_runs
    assert [r.out_dir for r in done] == [folder for _, folder in runs]
    for (config, folder), run in zip(runs, done):
        assert isinstance(run, TrainedRun)
        assert run.trained and (run.epochs_before, run.epochs_after) == (0, config.epochs)
        assert run.stop_reason == "epochs" and run.depth == config.depth
        assert run.seconds > 0
        here = train(config, progress=False)
        assert _states_equal(load_model(folder), here.model)


def test_a_finished_run_is_not_started_again(two_runs):
    runs, _ = two_runs
    again = train_many(runs, workers=2)
    assert [(r.trained, r.seconds, r.epochs_after) for r in again] == [(False, 0.0, 2)] * 2


def test_more_epochs_resume_the_checkpoint_in_this_process(tmp_path):
    config = TrainConfig(**FAST, kind="shared", seed=5)
    train_many([(config, tmp_path / "r")], workers=1)
    longer = dataclasses.replace(config, epochs=3)
    (run,) = train_many([(longer, tmp_path / "r")], workers=1)
    assert (run.epochs_before, run.epochs_after, run.trained) == (2, 3, True)
    assert _states_equal(load_model(tmp_path / "r"), train(longer, progress=False).model)


def test_the_first_error_of_a_run_is_raised_and_the_other_run_is_stopped(tmp_path):
    bad = TrainConfig(**{**FAST, "dataset": "mnist"}, data_root=str(tmp_path / "no-data"))
    slow = TrainConfig(**{**FAST, "epochs": 200}, kind="shared")
    with pytest.raises(DataError, match="no-data"):
        train_many([(slow, tmp_path / "slow"), (bad, tmp_path / "bad")], workers=2)
    # stopped long before its 200 epochs: the folder holds at most a partial checkpoint
    assert not (tmp_path / "slow" / "weights.safetensors").exists()
    assert not has_checkpoint(tmp_path / "bad")


@pytest.mark.parametrize("runs, match", [
    ([TrainConfig(**FAST)], r"`runs\[0\]` must be a \(TrainConfig, out_dir\) pair"),
    ([({"dataset": "digits"}, "x")], r"`runs\[0\]`'s configuration must be a TrainConfig; "
                                     "got dict"),
])
def test_a_run_that_is_not_a_pair_is_refused(runs, match):
    with pytest.raises(TypeError, match=match):
        train_many(runs)


def test_a_configuration_without_threads_is_refused_before_any_work(tmp_path):
    ok = TrainConfig(**FAST)
    loose = TrainConfig(**{**FAST, "threads": None})
    with pytest.raises(ValueError, match=r"`runs\[1\]`'s TrainConfig.threads must be set.*None"):
        train_many([(ok, tmp_path / "a"), (loose, tmp_path / "b")])
    assert not (tmp_path / "a").exists()


def test_two_runs_in_one_folder_are_refused(tmp_path):
    config = TrainConfig(**FAST)
    with pytest.raises(ValueError, match=r"`runs\[2\]` and `runs\[0\]` share the out_dir"):
        train_many([(config, tmp_path / "a"), (config, tmp_path / "b"),
                    (config, tmp_path / "x" / ".." / "a")])


def test_a_file_in_the_place_of_a_folder_is_refused(tmp_path):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(ValueError, match=r"`runs\[0\]`'s out_dir"):
        train_many([(TrainConfig(**FAST), tmp_path / "f")])


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_integer(tmp_path, workers):
    with pytest.raises(ValueError, match=f"`workers` must be an integer >= 1; got {workers!r}"):
        train_many([(TrainConfig(**FAST), tmp_path / "a")], workers=workers)


def test_no_runs_is_nothing_to_do():
    assert train_many([]) == ()


def test_available_cpus_is_a_positive_count():
    assert 1 <= available_cpus()


_KILLED_PARENT = """
import sys
from pathlib import Path
from nets import TrainConfig, train_many

if __name__ == "__main__":
    root = Path(sys.argv[1])
    slow = TrainConfig(dataset="digits", width=24, depth=3, epochs=1_000_000,
                       patience=1_000_000, threads=1)
    train_many([(slow, root / "a"), (slow, root / "b")], workers=2)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_parent(tmp_path):
    """SIGKILL of the calling process ends its workers: their folder locks are free again
    and a second call resumes the runs from their checkpoints."""
    script = tmp_path / "parent.py"
    script.write_text(_KILLED_PARENT)
    root = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), str(root)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while not all(has_checkpoint(root / f) for f in "ab"):
            assert proc.poll() is None, "the parent ended before its workers checkpointed"
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    for folder in (root / "a", root / "b"):
        while True:
            try:
                with folder_lock(folder, LOCK_FILE, name="`out_dir`"):
                    break
            except FolderLockedError:
                assert time.monotonic() < deadline, f"{folder} is still locked by a worker"
                time.sleep(0.2)
