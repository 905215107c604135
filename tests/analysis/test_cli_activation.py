"""``--activation`` of ``resdyn train``, ``fixed-points`` and ``census``: parsing, where the
activation comes from (the run or file, else the flag) and the refusal of a contradiction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.cli import build_parser, main


def _train(out, activation=None, epochs=1):
    argv = ["train", "--dataset", "blobs", "--width", "4", "--depth", "2", "--epochs",
            str(epochs), "--out", str(out), "--no-progress"]
    if activation is not None:
        argv += ["--activation", activation]
    return main(argv)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished blobs runs of width 4: one tanh, one logistic (the default)."""
    root = tmp_path_factory.mktemp("runs")
    assert _train(root / "tanh", "tanh") == 0
    assert _train(root / "logistic") == 0
    return root


def test_the_written_out_choices_are_nets_activations():
    import analysis.cli_census as census
    import analysis.cli_fixed_points as fixed_points
    import analysis.cli_train as train
    import nets

    for module in (census, fixed_points, train):
        assert module._ACTIVATIONS == nets.ACTIVATIONS


@pytest.mark.parametrize("command", ["train", "fixed-points", "census"])
def test_flag_parsing(command, capsys):
    parser = build_parser()
    args = parser.parse_args([command, "x", "--activation", "tanh"] if command != "train"
                             else [command, "--activation", "tanh"])
    assert args.activation == "tanh"
    args = parser.parse_args([command, "x"] if command != "train" else [command])
    assert args.activation is None  # not given: the source's own, or the default
    with pytest.raises(SystemExit):
        parser.parse_args(([command, "x"] if command != "train" else [command])
                          + ["--activation", "sigmoid"])
    err = capsys.readouterr().err
    assert "--activation" in err and "'sigmoid'" in err and "logistic" in err and "tanh" in err


# ---- train --------------------------------------------------------------------------------------


def test_train_records_the_activation(runs, capsys):
    config = json.loads((runs / "tanh" / "checkpoint.json").read_text())["config"]
    assert config["activation"] == "tanh"
    config = json.loads((runs / "logistic" / "checkpoint.json").read_text())["config"]
    assert config["activation"] == "logistic"
    import nets

    assert nets.load_model(runs / "tanh").activation == "tanh"


def test_train_summary_names_a_tanh_run(tmp_path, capsys):
    assert _train(tmp_path / "t", "tanh") == 0
    assert capsys.readouterr().out.startswith("shared tanh blobs: 1 epoch")


def test_resume_refuses_another_activation(tmp_path, capsys):
    out = tmp_path / "r"
    assert _train(out, "tanh") == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--activation", "logistic",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("--activation logistic contradicts the run in --resume" in err
            and "trained with activation 'tanh'" in err)
    assert len(json.loads((out / "history.json").read_text())) == 1  # nothing trained
    assert main(["train", "--resume", str(out), "--epochs", "2", "--activation", "tanh",
                 "--no-progress"]) == 0
    assert len(json.loads((out / "history.json").read_text())) == 2


# ---- fixed-points -------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch):
    """Record the system the command hands to dynsys, and answer with a stub result."""
    import dynsys

    seen = {}

    class Counts:
        def __init__(self, activation):
            self.activation = activation

        def as_dict(self):
            return {"total": 0}

        def table(self, only=None):
            return "(stub)"

    def count_fixed_points(system, **kw):
        seen["system"] = system
        return Counts(getattr(system, "activation", "logistic"))

    monkeypatch.setattr(dynsys, "count_fixed_points", count_fixed_points)
    return seen


def test_fixed_points_flag_sets_a_bare_matrix(tmp_path, captured, capsys):
    import dynsys

    W = np.random.default_rng(0).normal(size=(3, 3))
    path = tmp_path / "W.npy"
    np.save(path, W)
    assert main(["fixed-points", str(path), "--count", "--json"]) == 0
    assert isinstance(captured["system"], np.ndarray)  # the logistic path as before
    assert json.loads(capsys.readouterr().out)["activation"] == "logistic"
    assert main(["fixed-points", str(path), "--count", "--json", "--activation", "tanh"]) == 0
    system = captured["system"]
    assert isinstance(system, dynsys.Network) and system.activation == "tanh"
    np.testing.assert_array_equal(system.W, W)
    assert json.loads(capsys.readouterr().out)["activation"] == "tanh"


def test_fixed_points_reads_the_runs_activation(runs, captured, capsys):
    import nets

    assert main(["fixed-points", str(runs / "tanh"), "--count"]) == 0
    system = captured["system"]
    assert system.activation == "tanh"
    np.testing.assert_array_equal(system.W, nets.load_weights(runs / "tanh").W)
    assert "activation: tanh" in capsys.readouterr().out
    assert main(["fixed-points", str(runs / "tanh" / "weights.safetensors"), "--count",
                 "--activation", "tanh"]) == 0  # repeating it is fine
    assert captured["system"].activation == "tanh"


@pytest.mark.parametrize("run,flag", [("tanh", "logistic"), ("logistic", "tanh")])
def test_fixed_points_refuses_a_contradicting_flag(runs, captured, capsys, run, flag):
    for source in (runs / run, runs / run / "weights.safetensors"):
        captured.clear()
        assert main(["fixed-points", str(source), "--count", "--activation", flag]) == 2
        err = capsys.readouterr().err
        assert (f"--activation {flag} contradicts the activation of {source}, '{run}'" in err
                and f"give --activation {run}" in err)
        assert "system" not in captured  # refused before any enumeration


def test_fixed_points_reports_nothing_computed_for_another_activation(tmp_path, monkeypatch,
                                                                     capsys):
    import dynsys

    class Counts:
        activation = "logistic"

        def as_dict(self):
            return {"total": 6}

    monkeypatch.setattr(dynsys, "count_fixed_points", lambda system, **kw: Counts())
    path = tmp_path / "W.npy"
    np.save(path, np.eye(2))
    out = tmp_path / "c.json"
    assert main(["fixed-points", str(path), "--count", "--activation", "tanh",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "computed 'logistic' fixed points for a network with activation 'tanh'" in err
    assert not out.exists()


# ---- census -------------------------------------------------------------------------------------


@pytest.fixture
def census_spy(monkeypatch):
    import dynsys

    seen = {}

    def attractor_census(net, x0, depth, **kw):
        seen["net"] = net
        raise RuntimeError("stop after the network was built")

    monkeypatch.setattr(dynsys, "attractor_census", attractor_census)
    return seen


@pytest.mark.parametrize("run", ["tanh", "logistic"])
def test_census_runs_the_runs_activation(runs, census_spy, capsys, run):
    assert main(["census", str(runs / run), "--no-progress", "--depth", "5"]) == 2
    assert census_spy["net"].activation == run
    census_spy.clear()
    assert main(["census", str(runs / run), "--no-progress", "--depth", "5",
                 "--activation", run]) == 2
    assert census_spy["net"].activation == run


@pytest.mark.parametrize("run,flag", [("tanh", "logistic"), ("logistic", "tanh")])
def test_census_refuses_a_contradicting_flag(runs, census_spy, capsys, run, flag):
    assert main(["census", str(runs / run), "--no-progress", "--activation", flag]) == 2
    err = capsys.readouterr().err
    assert (f"--activation {flag} contradicts the activation of RUN" in err
            and f"'{run}'" in err and f"give --activation {run}" in err)
    assert "net" not in census_spy
