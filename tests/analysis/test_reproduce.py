"""End to end: ``resdyn reproduce --quick`` on digits (about half a minute on 2 cores)."""

import json

import pytest

import analysis as A
from analysis import cli
from analysis.reproduce import FIGURES


def _resdyn(argv, capsys):
    """``resdyn`` in-process, with only the ``reproduce`` subcommand registered."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "_SUBCOMMAND_MODULES", ("cli_reproduce",))
        rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "_SUBCOMMAND_MODULES", ("cli_reproduce",))
        rc = cli.main(["reproduce", "--dataset", "digits", "--quick", "--out", str(out),
                       "--no-progress"])
    assert rc == 0
    return out


def test_report_has_every_claim_and_figure(first_run):
    out = first_run
    report = (out / "report.md").read_text()
    for cid in A.CLAIM_IDS:
        assert f"| {cid} |" in report
    for key in FIGURES:
        png = out / "figures" / f"{key}.png"
        assert png.is_file() and png.stat().st_size > 5000
        assert f"figures/{key}.png" in report
    # no temporary files left behind by the atomic writes
    from nets.atomic import TEMP_PREFIX

    assert not [p for p in out.rglob(f"{TEMP_PREFIX}*") if p.is_file()]
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_results_json_fields(first_run):
    out = first_run
    res = json.loads((out / "results.json").read_text())
    assert res["dataset"] == "digits" and res["profile"] == "quick"
    assert res["run_time_s"] > 0
    # time by stage: every network's training, the analyses, the census; within the run time
    stages = res["stage_times_s"]
    assert {"train resnet_shared", "attractor census", "Fig. 2", "write report"} <= set(stages)
    assert all(t >= 0 for t in stages.values())
    assert sum(stages.values()) <= res["run_time_s"] + 0.05
    assert [c["id"] for c in res["claims"]] == list(A.CLAIM_IDS)
    for c in res["claims"]:
        assert set(c) >= {"id", "claim", "paper", "ours", "verdict", "rule"}
        assert c["verdict"] in A.VERDICTS
    # absolute MNIST error rates are not comparable on digits
    verdicts = {c["id"]: c["verdict"] for c in res["claims"]}
    assert verdicts["shared_error"] == "not applicable"
    assert sum(res["verdict_counts"].values()) == len(A.CLAIM_IDS)
    # the numbers behind every computed value, beside its text
    assert all(isinstance(c["numbers"], dict) for c in res["claims"])
    assert verdicts and res["claims"][0]["numbers"]["test_error"] == res["test_error"][
        "resnet_shared"]
    # the data's own limit beside the networks' errors, and what a quick run is worth
    assert set(res["baselines"]) == {"sklearn MLP", "sklearn SVC"}
    assert all(0 <= e < 0.5 for e in res["baselines"].values())
    assert "quick" in res["banner"]
    report = (out / "report.md").read_text()
    assert report.splitlines()[2].startswith("> This is a **quick** run")
    assert "scikit-learn on the same split" in report
    assert r"mean \|y(T)-y(T-1)\|" in report and "/y(T)-y(T-1)/" not in report


def test_second_run_reuses_checkpoints(first_run):
    out = first_run
    res = A.reproduce("digits", quick=True, out_dir=out, progress=False)
    assert {"resnet_shared", "resnet_variable", "mlp", "exact_small_n",
            "adaptive_resnet_shared", "perturbation_sweep"} <= set(res.reused_checkpoints)
    assert json.loads(res.results_json.read_text())["reused_checkpoints"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    # an empty --data-dir (no IDX files) is a one-line error
    rc, _, err = _resdyn(["reproduce", "--dataset", "mnist", "--data-dir", str(tmp_path),
                          "--out", str(tmp_path / "o"), "--no-progress"], capsys)
    assert rc == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("resdyn reproduce: error:")


def test_mnist_without_data_dir_reads_the_default_copy(tmp_path, capsys, monkeypatch):
    # no --data-dir: the copy `make data` installs; where it is absent, a one-line error says
    # how to get it
    monkeypatch.setenv("RESDYN_DATA_DIR", str(tmp_path / "empty"))
    rc, _, err = _resdyn(["reproduce", "--dataset", "mnist", "--out", str(tmp_path / "o"),
                          "--no-progress"], capsys)
    assert rc == 2
    assert err.strip().count("\n") == 0
    assert str(tmp_path / "empty" / "mnist") in err and "run `make data`" in err


def test_cli_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        _resdyn(["reproduce", "--help"], capsys)
    out = capsys.readouterr().out
    for opt in ("--dataset", "--data-dir", "--quick", "--out"):
        assert opt in out
