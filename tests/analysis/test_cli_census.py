"""``resdyn census``: a trained run's test inputs, their end states, the output files."""

import json

import numpy as np
import pytest

import dynsys
import nets
from analysis import cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "blobs"
    config = nets.TrainConfig(dataset="blobs", blobs_features=6, blobs_classes=3,
                              blobs_samples=240, kind="shared", depth=4, epochs=2, seed=0,
                              device="cpu")
    nets.train(config, out_dir=out, progress=False)
    return out


def test_census_prints_tables_and_writes_json(run_dir, tmp_path, capsys):
    out = tmp_path / "census.json"
    assert cli.main(["census", str(run_dir), "--depth", "200", "--out", str(out),
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "distinct end states:" in text
    assert "inputs by status and class:" in text
    assert "end-point accuracy:" in text and "fitted on train" in text
    data = json.loads(out.read_text())
    assert data["meta"]["depth"] == 200
    # the file holds exactly what the library computes for the same inputs
    ds = nets.load_dataset("blobs", seed=0, blobs_features=6, blobs_classes=3,
                           blobs_samples=240)
    net = nets.to_network(run_dir)
    ref = dynsys.attractor_census(net, ds.x_test, 200, labels=ds.y_test,
                                  train_x0=ds.x_train, train_labels=ds.y_train)
    assert data["status"] == ref.status.tolist()
    np.testing.assert_allclose(np.asarray(data["points"]).reshape(ref.points.shape), ref.points)
    assert sum(data["status_counts"][0]) + sum(map(sum, data["status_counts"][1:])) == len(
        ds.y_test)
    # the printed tables are the census's own, classes per point included
    assert ref.table(n_classes=3) in text and "classes (count)" in text


def test_census_npz_and_subset(run_dir, tmp_path, capsys):
    out = tmp_path / "census.npz"
    assert cli.main(["census", str(run_dir), "--depth", "50", "--n-test", "7",
                     "--fit-on", "test", "--out", str(out), "--no-progress"]) == 0
    assert "fitted on same inputs" in capsys.readouterr().out
    with np.load(out) as z:  # no pickled objects: loads without allow_pickle
        assert all(z[k].dtype != object for k in z.files)
        assert z["status"].shape == (7,)
        assert z["assignment"].shape == (7,)


def test_n_fit_bounds_the_training_inputs(run_dir, tmp_path, monkeypatch):
    seen = {}
    real = dynsys.attractor_census

    def spy(net, x0, depth, **kw):
        seen["n_fit"] = kw["train_x0"].shape[0]
        return real(net, x0, depth, **kw)

    monkeypatch.setattr(dynsys, "attractor_census", spy)
    out = tmp_path / "census.json"
    assert cli.main(["census", str(run_dir), "--depth", "50", "--n-test", "5", "--n-fit", "9",
                     "--out", str(out), "--no-progress"]) == 0
    assert seen["n_fit"] == 9
    assert json.loads(out.read_text())["meta"]["n_fit"] == 9


@pytest.mark.parametrize("argv, words", [
    (["--n-fit", "0"], "--n-fit must be >= 1"),
    (["--n-fit", "5", "--fit-on", "test"], "--n-fit applies to --fit-on train"),
    (["--out", "census.txt"], "--out must end in .json or .npz"),
    (["--out", "no/such/folder/c.json"], "does not exist"),
    # os.access says yes to root on /sys; the probe write does not
    (["--out", "/sys/c.json"], "--out must be a writable location; got '/sys/c.json'"),
    (["--max-depth", "10", "--depth", "100"], "--max-depth must be >= --depth"),
    (["--depth", "0"], "--depth must be >= 1"),
])
def test_bad_flags_are_refused_before_any_work(run_dir, capsys, argv, words, monkeypatch):
    def boom(*a, **k):  # the census must not start
        raise AssertionError("census ran")

    monkeypatch.setattr(dynsys, "attractor_census", boom)
    assert cli.main(["census", str(run_dir), *argv]) == 2
    assert words in capsys.readouterr().err


def test_missing_run_and_weights_without_dataset(tmp_path, capsys):
    assert cli.main(["census", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    W = np.eye(3) * 0.1
    weights = nets.ExportedWeights(kind="shared", depth=3, W=W, b=np.zeros(3),
                                   K=np.eye(2, 3), c=np.zeros(2))
    path = nets.save_weights(weights, tmp_path / "w.safetensors")
    assert cli.main(["census", str(path)]) == 2
    assert "pass --dataset" in capsys.readouterr().err
