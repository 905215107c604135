"""``resdyn train`` in a subprocess: outputs, resume, one-line errors."""

import json
import pytest

from nets import TrainConfig



class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture()
def run(capsys, monkeypatch, train_cli):
    monkeypatch.delenv("RESDYN_DEBUG", raising=False)

    def _run(args):
        capsys.readouterr()
        rc = train_cli.main(args)
        out = capsys.readouterr()
        return _Result(rc, out.out, out.err)

    return _run


def test_train_then_resume_with_more_epochs(tmp_path, run):
    out = tmp_path / "run"
    r = run(["--dataset", "blobs", "--width", "8", "--depth", "3", "--per-layer", "--epochs", "2",
             "--seed", "1", "--out", out, "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert "per-layer blobs: 2 epochs" in r.stdout
    assert {p.suffix for p in out.iterdir()} == {".json", ".safetensors"}
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    for key in ("epoch", "train_loss", "train_accuracy", "test_accuracy", "depth"):
        assert key in history[0]
    r = run(["--resume", out, "--epochs", "3", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert len(json.loads((out / "history.json").read_text())) == 3
    assert (out / "weights.safetensors").is_file()


def test_adaptive_depth_flag_and_mlp(tmp_path, run):
    r = run(["--dataset", "blobs", "--width", "8", "--depth", "4", "--epochs", "1",
             "--adaptive-depth", "--threshold", "10", "--out", tmp_path / "a", "--no-progress"])
    assert r.returncode == 0, r.stderr
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    assert history[0]["depth"] == 4 and history[0]["depth_after"] == 3
    r = run(["--dataset", "blobs", "--width", "8", "--depth", "4", "--epochs", "1",
             "--adaptive-depth", "--depth-criterion", "centred", "--out", tmp_path / "c",
             "--no-progress"])
    assert r.returncode == 0, r.stderr
    config = json.loads((tmp_path / "c" / "checkpoint.json").read_text())["config"]
    assert config["depth_criterion"] == "centred"
    r = run(["--dataset", "blobs", "--mlp", "--depth", "2", "--epochs", "1",
             "--out", tmp_path / "m", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("mlp blobs")


@pytest.mark.parametrize("args,message", [
    (["--dataset", "mnist", "--data-dir", "{tmp}/none", "--out", "{tmp}/x"], "does not exist"),
    (["--resume", "{tmp}/none"], "no checkpoint"),
    (["--dataset", "blobs"], "--out DIR is required"),
    (["--dataset", "blobs", "--depth", "0", "--out", "{tmp}/x"], "depth"),
    (["--dataset", "blobs", "--mlp", "--adaptive-depth", "--out", "{tmp}/x"], "MLP"),
])
def test_errors_are_one_line(tmp_path, run, args, message):
    r = run([a.format(tmp=tmp_path) for a in args])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert message in lines[0]


def test_mnist_without_data_dir_says_how_to_get_the_default_copy(tmp_path, run, monkeypatch):
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path / "empty"))
    r = run(["--dataset", "mnist", "--out", tmp_path / "x"])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "does not exist; run `make data`" in lines[0] and "--data-dir" in lines[0]


def test_mnist_without_data_dir_trains_on_the_default_copy(tmp_path, run, real_mnist):
    out = tmp_path / "run"
    r = run(["--dataset", "mnist", "--width", "784", "--depth", "15", "--shared", "--epochs", "1",
             "--n-train", "64", "--n-test", "32", "--out", out, "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("shared mnist: 1 epoch, depth 15")
    config = json.loads((out / "checkpoint.json").read_text())["config"]
    assert config["dataset"] == "mnist" and config["data_root"] is None
    assert config["width"] == 784
    # with no other flag, the measured MNIST defaults: decay 0.85 and shifts of 2 pixels
    cfg = TrainConfig.from_dict(config)
    assert (cfg.learning_rate, cfg.learning_rate_decay, cfg.image_shift) == (3e-3, 0.85, 2)
    history = json.loads((out / "history.json").read_text())
    assert history[0]["lr"] == 3e-3


def test_shift_and_weight_decay_flags(tmp_path, run):
    out = tmp_path / "run"
    r = run(["--dataset", "digits", "--depth", "2", "--epochs", "1", "--shift", "1",
             "--weight-decay", "1e-4", "--lr-decay", "0.5", "--out", out, "--no-progress"])
    assert r.returncode == 0, r.stderr
    config = json.loads((out / "checkpoint.json").read_text())["config"]
    assert (config["shift"], config["weight_decay"], config["lr_decay"]) == (1, 1e-4, 0.5)
    r = run(["--dataset", "blobs", "--shift", "1", "--out", tmp_path / "b", "--no-progress"])
    assert r.returncode != 0 and "`shift` = 1 translates images" in r.stderr


def test_mnist_from_a_data_dir_of_your_own(tmp_path, run, write_idx_folder, monkeypatch):
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path / "empty"))  # the default is not used
    write_idx_folder(tmp_path / "idx", gz=True)
    out = tmp_path / "run"
    r = run(["--dataset", "mnist", "--data-dir", tmp_path / "idx", "--depth", "2", "--epochs", "1",
             "--out", out, "--no-progress"])
    assert r.returncode == 0, r.stderr
    config = json.loads((out / "checkpoint.json").read_text())["config"]
    assert config["data_root"] == str(tmp_path / "idx")


def test_existing_run_and_corrupt_checkpoint(tmp_path, run):
    out = tmp_path / "run"
    assert run(["--dataset", "blobs", "--depth", "2", "--epochs", "1", "--out", out,
                "--no-progress"]).returncode == 0
    r = run(["--dataset", "blobs", "--depth", "2", "--epochs", "1", "--out", out])
    assert r.returncode != 0 and "already holds a checkpoint" in r.stderr
    tensor = next(out.glob("state-epoch*.safetensors"))
    tensor.write_bytes(tensor.read_bytes()[:-10])
    r = run(["--resume", out, "--epochs", "2"])
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "truncated or was modified" in r.stderr


def test_summary_line_says_how_many_epochs_ran_and_why(tmp_path, run):
    r = run(["--dataset", "blobs", "--depth", "2", "--epochs", "4", "--out", tmp_path / "a",
             "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert "shared blobs: 4 epochs, depth 2," in r.stdout
    assert "(epochs)" not in r.stdout


def test_summary_line_of_an_early_stop():
    from analysis.cli_train import _summary
    from nets import TrainConfig, train

    cfg = TrainConfig(dataset="blobs", width=8, depth=2, epochs=20, patience=2, min_delta=10.0,
                      threads=1)
    result = train(cfg, progress=False)
    line = _summary(result)
    assert line.startswith("shared blobs: 3 of 20 epochs (stopped early: no training-loss "
                           "improvement for 2 epochs), depth 2,"), line
    assert "(early-stopping)" not in line


def test_the_parser_choices_are_those_of_nets():
    import nets
    from analysis import cli_train

    assert cli_train._DATASETS == nets.DATASETS
    assert cli_train._DEPTH_CRITERIA == nets.DEPTH_CRITERIA
