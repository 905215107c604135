"""``reproduce`` resumes from its finished stages: reuse, changed inputs, damage, a killed run.

One uninterrupted ``tiny`` run on digits (the baseline) is copied for each test, so that a
test only recomputes what it changes.
"""

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import analysis as A
from analysis import cli
from nets.atomic import TEMP_PREFIX

R = importlib.import_module("analysis.reproduce")
ROOT = Path(__file__).resolve().parents[2]

STORED = [s.name for s in R.STAGES if s.mode == "stored"]
#: Analyses (and their figures) that read the MLP, directly or through its trajectories.
MLP_DEPENDANTS = {"fig2_residual_stats", "fig4_noise", "fig5_class_residuals", "fig6_cosine",
                  "census"}


def _tiny(out, **kw):
    return A.reproduce("digits", profile=kw.pop("profile", "tiny"), out_dir=out,
                       progress=False, **kw)


def _numbers(out):
    """What results.json says about the data and the claims (no timing)."""
    res = json.loads((Path(out) / "results.json").read_text())
    keep = ("dataset", "profile", "settings", "n_train", "n_test", "test_error", "baselines",
            "figures", "claims", "verdict_counts")
    return json.dumps({k: res[k] for k in keep}, sort_keys=True)


def _computed(res):
    return set(STORED) - set(res.reused_stages)


def _figures_of(analyses):
    return {f"figure_{k}" for k, (a, _) in R.FIGURE_PLOTS.items() if a in analyses}


def _refuse(monkeypatch, names):
    """Make the compute of the named stages raise: they must be reused, not computed."""
    def boom(name):
        def compute(ctx, **inputs):
            raise AssertionError(f"stage {name!r} was recomputed")
        return compute

    stages = tuple(replace(s, compute=boom(s.name)) if s.name in names else s
                   for s in R.STAGES)
    monkeypatch.setattr(R, "STAGES", stages)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline")
    res = _tiny(out, jobs=2)
    assert res.reused_stages == () and res.reused_checkpoints == ()
    return out, res


@pytest.fixture
def copy(baseline, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(baseline[0], out)
    return out


def test_every_stage_is_listed_once_and_the_bar_counts_them():
    names = [s.name for s in R.STAGES]
    assert len(names) == len(set(names))
    # every analysis a figure or a claim reads is a stage of its own name
    analyses = {a for a, _ in R.FIGURE_PLOTS.values()} | set(R.CLAIM_INPUTS.values())
    assert analyses <= set(STORED)
    assert {f"figure_{k}" for k in R.FIGURES} <= set(STORED)


def test_a_resumed_run_reuses_every_finished_stage(baseline, copy, monkeypatch):
    out0, res0 = baseline
    _refuse(monkeypatch, set(STORED) | {s.name for s in R.STAGES if s.mode == "on demand"})
    res = _tiny(copy)
    assert res.reused_stages == tuple(STORED)
    assert res.reused_checkpoints == ("resnet_shared", "resnet_variable", "mlp",
                                      "adaptive_resnet_shared", "adaptive_resnet_variable",
                                      "perturbation_sweep", "exact_small_n")
    assert _numbers(copy) == _numbers(out0)
    assert [c.to_dict() for c in res.claims] == [c.to_dict() for c in res0.claims]
    assert res.test_errors == res0.test_errors
    # a reused stage keeps the seconds of the run that computed it
    assert res.stage_times_s["attractor census"] == res0.stage_times_s["attractor census"]
    record = json.loads(res.results_json.read_text())
    assert record["reused_stages"] == list(STORED)
    status = {s["name"]: s["status"] for s in record["stages"]}
    assert status["census"] == "reused" and status["record_mlp"] == "not needed"
    assert status["train_mlp"] == "computed"
    assert "finished stages reused" in res.report.read_text()
    for key in R.FIGURES:  # the figures are the baseline's, untouched
        assert (copy / "figures" / f"{key}.png").read_bytes() == (
            out0 / "figures" / f"{key}.png").read_bytes()


def _trained_tensors(out):
    """Each checkpoint's tensor hash, by its configuration without the thread count."""
    found = {}
    for path in sorted(Path(out, "checkpoints").glob("**/checkpoint.json")):
        doc = json.loads(path.read_text())
        config = {k: v for k, v in doc["config"].items() if k != "threads"}
        found[json.dumps(config, sort_keys=True)] = (doc["config"]["threads"],
                                                      doc["tensors"]["sha256"])
    return found


def test_networks_trained_side_by_side_are_those_trained_in_turn(baseline, tmp_path):
    """jobs=2 trains every network first, two at a time on one thread each; jobs=1 trains
    them in their stages. The digits networks are narrow enough that nets' default is one
    thread too, so the weights, and every number after them, agree bit for bit."""
    out0, res0 = baseline
    res = _tiny(tmp_path / "in-turn", jobs=1)
    assert res.reused_checkpoints == ()
    assert _numbers(tmp_path / "in-turn") == _numbers(out0)
    side, turn = _trained_tensors(out0), _trained_tensors(tmp_path / "in-turn")
    # the three networks, two adaptive runs, the sweep's depths and the exact small network
    assert side.keys() == turn.keys()
    assert len(side) == 6 + len(R.PROFILES["tiny"].sweep_depths)
    assert {t for t, _ in side.values()} == {1} and {t for t, _ in turn.values()} == {None}
    assert {k: h for k, (_, h) in side.items()} == {k: h for k, (_, h) in turn.items()}
    assert res0.stage_times_s["train networks side by side"] > 0
    assert json.loads(res0.results_json.read_text())["training_workers"] == 2
    assert json.loads(res.results_json.read_text())["training_workers"] == 1
    assert "networks trained 2 at a time, one torch thread each" in res0.report.read_text()
    assert "networks trained one after the other" in res.report.read_text()
    stages = {s["name"]: s for s in json.loads(res.results_json.read_text())["stages"]}
    assert stages["train_side_by_side"]["status"] == "computed"


@pytest.mark.parametrize("jobs", [0, -2, 1.5, True, "2"])
def test_jobs_must_be_a_positive_integer(tmp_path, jobs):
    with pytest.raises(ValueError, match=r"`jobs` must be an integer >= 1 \(networks trained "
                                         rf"at a time\); got {re.escape(repr(jobs))}"):
        _tiny(tmp_path / "run", jobs=jobs)
    assert not (tmp_path / "run").exists()


def test_a_changed_setting_recomputes_exactly_its_stages(baseline, copy):
    res = _tiny(copy, profile=replace(R.PROFILES["tiny"], noise_realizations=3))
    assert _computed(res) == {"fig4_noise", "figure_fig4_noise"}
    assert res.analyses["fig4_noise"].n_realizations == 3
    assert baseline[1].analyses["fig4_noise"].n_realizations == 2


def test_a_replaced_checkpoint_recomputes_exactly_the_stages_that_use_it(baseline, copy):
    import torch

    import nets

    (folder,) = (copy / "checkpoints").glob("digits-mlp-T15-*")
    ck = nets.load_checkpoint(folder)
    tensors = dict(ck.tensors)
    rng = np.random.default_rng(1)
    for name, t in tensors.items():
        if name.startswith("model/"):
            tensors[name] = t + 0.05 * torch.from_numpy(
                rng.standard_normal(tuple(t.shape))).to(t.dtype)
    nets.save_checkpoint(folder, config=ck.config, state=ck.state, history=ck.history,
                         tensors=tensors)
    res = _tiny(copy)
    assert _computed(res) == MLP_DEPENDANTS | _figures_of(MLP_DEPENDANTS)
    assert res.test_errors["resnet_shared"] == baseline[1].test_errors["resnet_shared"]


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_stage_file_is_recomputed(baseline, copy, damage):
    path = copy / R.STAGE_DIR / "fig3_classifier_neurons.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\x01" * len(data))
    with pytest.warns(RuntimeWarning, match="fig3_classifier_neurons.npz.* is unreadable"):
        res = _tiny(copy)
    # its figure's key is unchanged (same inputs, same result): it is reused
    assert _computed(res) == {"fig3_classifier_neurons"}
    assert _numbers(copy) == _numbers(baseline[0])


def test_a_deleted_figure_is_drawn_again(baseline, copy):
    (copy / "figures" / "fig5_class_residuals.png").unlink()
    res = _tiny(copy)
    assert _computed(res) == {"figure_fig5_class_residuals"}
    assert (copy / "figures" / "fig5_class_residuals.png").is_file()


@pytest.mark.parametrize("point", ["census", "census@write"])
def test_a_run_killed_in_a_stage_resumes_from_its_last_finished_stage(baseline, copy, point,
                                                                      monkeypatch):
    """SIGKILL in the census (when it starts / halfway through writing its file), rerun."""
    out0, res0 = baseline
    stages = copy / R.STAGE_DIR
    # a run that had finished every stage before the census: the census and its figures
    # are still to do
    todo = {"census"} | _figures_of({"census"})
    for name in todo:
        (stages / f"{name}.npz").unlink()
    (copy / "results.json").unlink()
    env = dict(os.environ, _RESDYN_KILL_AT_STAGE=point, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "reproduce", "--dataset", "digits",
         "--profile", "tiny", "--out", str(copy), "--no-progress"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (stages / "census.npz").exists() and not (copy / "results.json").exists()
    partial = [p for p in stages.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert len(partial) == (1 if point.endswith("@write") else 0)
    # the rerun: every finished stage is reused, the killed one computed
    _refuse(monkeypatch, set(STORED) - todo)
    res = _tiny(copy)
    assert _computed(res) == todo
    assert not [p for p in copy.rglob(f"{TEMP_PREFIX}*")]
    assert _numbers(copy) == _numbers(out0)
    assert [c.to_dict() for c in res.claims] == [c.to_dict() for c in res0.claims]


def test_fresh_deletes_the_stage_files_first(copy, monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    class Runner:
        def __init__(self, stages, folder, *args, **kwargs):
            seen["files"] = sorted(p.name for p in Path(folder).glob("*.npz"))
            raise Stop

    monkeypatch.setattr(R, "StageRunner", Runner)
    with pytest.raises(Stop):
        _tiny(copy)
    assert len(seen["files"]) > len(STORED)  # the stored ones and the on-demand records
    with pytest.raises(Stop):
        _tiny(copy, fresh=True)
    assert seen["files"] == []
    assert list((copy / "checkpoints").iterdir())  # the checkpoints stay


def test_leftover_partial_files_are_removed(copy, monkeypatch):
    (ckpt,) = (copy / "checkpoints").glob("digits-shared-T15-*")
    strays = [copy / f"{TEMP_PREFIX}results.json.x1.json",
              copy / R.STAGE_DIR / f"{TEMP_PREFIX}census.npz.x2.npz",
              copy / "figures" / f"{TEMP_PREFIX}fig2.png.x3.png",
              ckpt / f"{TEMP_PREFIX}weights.safetensors.x4.safetensors"]
    for p in strays:
        p.write_bytes(b"partial")

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(R, "StageRunner", stop)
    with pytest.raises(Stop):
        _tiny(copy)
    assert not [p for p in strays if p.exists()]


def test_cli_fresh_is_passed_on(monkeypatch, tmp_path, capsys):
    got = {}

    def fake(dataset, **kwargs):
        got.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(R, "reproduce", fake)
    monkeypatch.setattr(cli, "_SUBCOMMAND_MODULES", ("cli_reproduce",))
    for argv, fresh, jobs in ((["--fresh"], True, None), (["--jobs", "3"], False, 3)):
        rc = cli.main(["reproduce", "--dataset", "digits", "--profile", "tiny", "--out",
                       str(tmp_path), "--no-progress", *argv])
        assert rc == 2 and got["fresh"] is fresh and got["jobs"] == jobs
    assert "stop here" in capsys.readouterr().err
