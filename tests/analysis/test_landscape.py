"""analysis.landscape and ``resdyn landscape``: the census tracked over a run's kept epochs."""

import json

import numpy as np
import pytest

import dynsys
import nets
from analysis import cli
from analysis.landscape import (LandscapeResult, TrainingPath, compute_landscape,
                                landscape_events, landscape_from_track, load_training_path,
                                plot_landscape_counts, plot_landscape_river)

_BLOBS = dict(dataset="blobs", blobs_features=6, blobs_classes=3, blobs_samples=240)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "blobs"
    config = nets.TrainConfig(**_BLOBS, kind="shared", depth=4, epochs=3, seed=0, device="cpu",
                              keep_epochs=True)
    nets.train(config, out_dir=out, progress=False)
    return out


@pytest.fixture(scope="module")
def data():
    return nets.load_dataset("blobs", seed=0, blobs_features=6, blobs_classes=3,
                             blobs_samples=240)


@pytest.fixture(scope="module")
def landscape(run_dir, data):
    return compute_landscape(load_training_path(run_dir), data.x_test, data.y_test, depth=300,
                             max_depth=20_000)


def test_training_path_reads_every_kept_epoch_and_the_history(run_dir):
    path = load_training_path(run_dir)
    assert isinstance(path, TrainingPath)
    assert path.epochs.tolist() == [0, 1, 2, 3]
    for e, net in zip(path.epochs, path.networks):
        np.testing.assert_array_equal(net.W, nets.to_network(run_dir, epoch=int(e)).W)
    history = nets.load_checkpoint(run_dir).history
    assert np.isnan(path.train_loss[0]) and np.isnan(path.test_error[0])
    np.testing.assert_allclose(path.train_loss[1:], [r["train_loss"] for r in history])
    np.testing.assert_allclose(path.test_error[1:], [1 - r["test_accuracy"] for r in history])


def test_a_run_without_kept_epochs_is_refused(tmp_path):
    out = tmp_path / "plain"
    nets.train(nets.TrainConfig(**_BLOBS, kind="shared", depth=3, epochs=1, seed=0,
                                device="cpu"), out_dir=out, progress=False)
    with pytest.raises(ValueError, match=r"`run` .* must keep at least two epochs"):
        load_training_path(out)


def test_landscape_agrees_with_independent_censuses(run_dir, data, landscape):
    path = load_training_path(run_dir)
    assert isinstance(landscape, LandscapeResult)
    assert landscape.epochs.tolist() == [0, 1, 2, 3]
    for k, net in enumerate(path.networks):
        c = dynsys.attractor_census(net, data.x_test, 300, labels=data.y_test,
                                    max_depth=20_000)
        counts = c.counts()
        assert landscape.status_counts[k].tolist() == [counts[s] for s in
                                                       dynsys.CENSUS_STATUSES]
        reached = np.unique(c.assignment[c.assignment >= 0])
        # the points reached, by flow index, and the layer-map attractors among them
        assert landscape.index_counts[k].sum() == reached.size
        np.testing.assert_array_equal(
            landscape.index_counts[k],
            np.bincount(c.unstable_dim[reached], minlength=c.points.shape[1] + 1))
        assert landscape.map_attractors[k] == np.count_nonzero(c.map_unstable_dim[reached] == 0)
        assert landscape.endpoint_error[k] == pytest.approx(1 - c.endpoint_accuracy)
        # every input is at a point, on a cycle, or not converged
        cyc = counts["cycle"] / c.n_inputs
        assert landscape.input_share[k].sum() + cyc <= 1 + 1e-12
        at_points = np.count_nonzero(c.assignment >= 0) / c.n_inputs
        assert landscape.input_share[k].sum() == pytest.approx(at_points)


def test_landscape_events_are_the_tracks(run_dir, data, landscape):
    track = dynsys.track_census(load_training_path(run_dir).networks, data.x_test, 300,
                                max_depth=20_000, labels=data.y_test, match_inputs=0.5)
    again = landscape_from_track(track, epochs=[0, 1, 2, 3])
    np.testing.assert_array_equal(again.shares, landscape.shares)
    n_birth = np.count_nonzero(landscape.event_kind == "birth")
    n_death = np.count_nonzero(landscape.event_kind == "death")
    assert (n_birth, n_death) == (len(track.births), len(track.deaths))
    kinds = {"distance": "face change", "inputs": "jump"}
    got = sorted((int(e), int(i), str(k)) for e, i, k in zip(
        landscape.event_epoch, landscape.event_identity, landscape.event_kind)
        if k in ("face change", "jump"))
    assert got == sorted((int(k), int(i), kinds[r]) for k, i, r in zip(
        track.face_changes.checkpoint, track.face_changes.identity, track.face_changes.rule))
    assert np.all(np.diff(landscape.event_epoch) >= 0)
    assert landscape.transition_count.sum() == 3 * data.x_test.shape[0]
    # each identity's majority class is the class with most of its inputs
    if landscape.n_ids:
        per = np.nan_to_num(landscape.shares).sum(axis=0)
        np.testing.assert_array_equal(landscape.id_class, per.argmax(axis=1))


def test_landscape_table_lists_epochs_and_events(landscape):
    text = landscape_events(landscape)
    assert text.startswith("landscape: 4 epochs")
    for e in range(4):
        assert f"\n    {e} " in text or f"\n{e} " in text
    if landscape.event_kind.size > 2:
        short = landscape_events(landscape, max_events=2)
        assert f"(2 of {landscape.event_kind.size}" in short


def test_landscape_from_track_checks_its_series():
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    nets_ = [dynsys.Network(W, np.zeros(2)), dynsys.Network(1.1 * W, np.zeros(2))]
    track = dynsys.track_census(nets_, np.random.default_rng(0).normal(size=(20, 2)), 200)
    with pytest.raises(ValueError, match="`train_loss` must have shape"):
        landscape_from_track(track, train_loss=[1.0])
    with pytest.raises(ValueError, match="`epochs` must be 2 integers"):
        landscape_from_track(track, epochs=[0.5, 1.0])
    res = landscape_from_track(track)
    # a self-exciting diagonal W sends every input to a corner of the square
    assert res.index_counts[:, 0].sum() >= 1 and np.all(res.id_class == -1)


def test_plots_draw_every_band_and_index(landscape):
    fig = plot_landscape_river(landscape, top=3)
    ax = fig.axes[0]
    n_bands = min(3, landscape.n_ids) + 3  # top identities, other points, cycle, not converged
    assert len(ax.collections) == n_bands
    fig2 = plot_landscape_counts(landscape)
    present = np.count_nonzero(landscape.index_counts.sum(axis=0))
    assert len(fig2.axes[0].get_lines()) == present + 1


def test_cli_landscape_prints_and_writes(run_dir, tmp_path, capsys):
    out = tmp_path / "landscape.json"
    figs = tmp_path / "figs"
    figs.mkdir()
    assert cli.main(["landscape", str(run_dir), "--depth", "300", "--max-depth", "20000",
                     "--out", str(out), "--figures", str(figs), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "landscape: 4 epochs" in text
    data = json.loads(out.read_text())
    assert data["meta"]["depth"] == 300 and data["epochs"] == [0, 1, 2, 3]
    assert (figs / "landscape_river.png").stat().st_size > 0
    assert (figs / "landscape_counts.png").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["--depth", "0"], "--depth must be >= 1; got 0"),
    (["--depth", "10", "--max-depth", "5"], "--max-depth must be >= --depth"),
    (["--match-tol", "-1"], "--match-tol must be a finite number > 0; got -1.0"),
    (["--n-test", "0"], "--n-test must be >= 1; got 0"),
    (["--out", "x.txt"], "--out"),
    (["--match-inputs", "1.5"], "--match-inputs must be a share in [0, 1)"),
])
def test_cli_landscape_refuses_bad_flags_before_any_work(run_dir, argv, message, capsys,
                                                         monkeypatch):
    import analysis.landscape as L

    monkeypatch.setattr(L, "load_training_path", lambda *_: pytest.fail("work started"))
    assert cli.main(["landscape", str(run_dir), *argv, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_cli_landscape_refuses_a_run_without_kept_epochs(tmp_path, capsys):
    out = tmp_path / "plain"
    nets.train(nets.TrainConfig(**_BLOBS, kind="shared", depth=3, epochs=1, seed=0,
                                device="cpu"), out_dir=out, progress=False)
    assert cli.main(["landscape", str(out), "--no-progress"]) == 2
    assert "must keep at least two epochs" in capsys.readouterr().err


def test_a_tanh_run_has_its_landscape(tmp_path, capsys):
    out = tmp_path / "tanh"
    nets.train(nets.TrainConfig(**_BLOBS, kind="shared", depth=3, epochs=2, seed=0,
                                device="cpu", keep_epochs=True, activation="tanh"),
               out_dir=out, progress=False)
    path = load_training_path(out)
    assert all(net.activation == "tanh" for net in path.networks)
    assert cli.main(["landscape", str(out), "--depth", "200", "--no-progress"]) == 0
    assert "landscape: 3 epochs" in capsys.readouterr().out
    data = nets.load_dataset("blobs", seed=0, blobs_features=6, blobs_classes=3,
                             blobs_samples=240)
    land = compute_landscape(path, data.x_test, data.y_test, depth=200)
    assert land.activation == "tanh"
    # every point reached lies in the tanh box [-1, 1]^N
    track = dynsys.track_census(path.networks, data.x_test, 200, match_inputs=0.5)
    assert all(np.all(np.abs(c.points) <= 1.0) for c in track.censuses)
