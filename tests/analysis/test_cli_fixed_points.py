"""The `resdyn fixed-points` subcommand: sources of W, options checked first, listings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.cli import main


@pytest.fixture
def wfile(tmp_path):
    path = tmp_path / "W.npy"
    np.save(path, np.random.default_rng(0).normal(size=(3, 3)))
    return path


def test_summary_table(wfile, capsys):
    assert main(["fixed-points", str(wfile)]) == 0
    out = capsys.readouterr().out
    assert "stable" in out and "3^N - 2^N + 1 = 20" in out


def test_json_and_outputs(wfile, tmp_path, capsys):
    out_npz = tmp_path / "fp.npz"
    assert main(["fixed-points", str(wfile), "--json", "--out", str(out_npz)]) == 0
    text = capsys.readouterr().out
    summary = json.loads(text[: text.rindex("}") + 1])
    assert summary["total"] == 20
    data = np.load(out_npz)
    assert data["points"].shape == (20, 3) and data["eigenvalues"].dtype == np.complex128
    out_json = tmp_path / "fp.json"
    assert main(["fixed-points", str(wfile), "--exact", "--in-box", "--out", str(out_json)]) == 0
    full = json.loads(out_json.read_text())
    assert full["exact"] and all(all(0 <= v <= 1 for v in p) for p in full["points"])
    assert main(["fixed-points", str(wfile), "--count", "--out", str(tmp_path / "c.json")]) == 0
    assert main(["fixed-points", str(wfile), "--stable-only"]) == 0


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["fixed-points", str(tmp_path / "missing.npy")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["fixed-points", str(tmp_path / "missing.npy"), "--count", "--in-box"]) == 2
    assert "--count cannot be combined" in capsys.readouterr().err
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((2, 3)))
    assert main(["fixed-points", str(bad)]) == 2
    assert "square" in capsys.readouterr().err


def test_corrupt_weight_files_give_one_line_errors(tmp_path, capsys):
    from analysis.cli import main

    bad_npy = tmp_path / "W.npy"
    bad_npy.write_bytes(b"not a numpy file")
    bad_txt = tmp_path / "W.txt"
    bad_txt.write_text("1 2\n3 x\n")
    for path, kind in ((bad_npy, "NumPy .npy file"), (bad_txt, "text file of numbers")):
        assert main(["fixed-points", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("resdyn fixed-points: error: `W` file") and kind in err
        assert "\n" not in err


# ----------------------------------------------------------------------------------------
# sources of W
# ----------------------------------------------------------------------------------------


def _weights(kind, n=3, depth=4, seed=0):
    from nets import ExportedWeights

    rng = np.random.default_rng(seed)
    shape = (n, n) if kind == "shared" else (depth, n, n)
    return ExportedWeights(kind=kind, depth=depth, W=rng.normal(size=shape),
                           b=rng.normal(size=shape[:-1]), K=rng.normal(size=(2, n)),
                           c=np.zeros(2))


def _summary(capsys):
    text = capsys.readouterr().out
    return json.loads(text[: text.rindex("}") + 1])


def test_text_matrix_file(tmp_path, capsys):
    W = np.random.default_rng(1).normal(size=(3, 3))
    for name, delim in (("W.txt", " "), ("W.csv", ",")):
        path = tmp_path / name
        np.savetxt(path, W, delimiter=delim)
        assert main(["fixed-points", str(path), "--json"]) == 0
        assert _summary(capsys)["total"] == 20


def test_safetensors_weights_file(tmp_path, capsys):
    import dynsys
    import nets

    weights = _weights("shared")
    path = nets.save_weights(weights, tmp_path / "net.safetensors")
    assert main(["fixed-points", str(path), "--json"]) == 0
    summary = _summary(capsys)
    assert summary["total"] == dynsys.count_fixed_points(weights.W).total
    assert "shared W" in summary["source"]


def test_per_layer_run_folder_uses_its_last_layer(tmp_path, capsys):
    import dynsys
    import nets

    weights = _weights("per-layer", depth=4)
    run = tmp_path / "run"
    run.mkdir()
    nets.save_weights(weights, run / nets.WEIGHTS_FILE)
    assert main(["fixed-points", str(run)]) == 0
    out = capsys.readouterr().out
    assert "per-layer network of depth 4" in out and "last layer W(4)" in out
    assert main(["fixed-points", str(run), "--json"]) == 0
    summary = _summary(capsys)
    assert summary == {**summary, **dynsys.fixed_points(weights.W[-1]).counts().as_dict()}
    assert "last layer" in summary["source"]


def test_misleading_files_say_what_they_are(tmp_path, capsys):
    import nets

    text_npy = tmp_path / "text.npy"
    np.savetxt(text_npy, np.eye(2))
    st_npy = tmp_path / "weights.npy"
    nets.save_weights(_weights("shared"), st_npy.with_suffix(".safetensors"))
    st_npy.write_bytes(st_npy.with_suffix(".safetensors").read_bytes())
    npy_st = tmp_path / "matrix.safetensors"
    np.save(tmp_path / "m.npy", np.eye(2))
    npy_st.write_bytes((tmp_path / "m.npy").read_bytes())
    npy_txt = tmp_path / "matrix.txt"
    npy_txt.write_bytes((tmp_path / "m.npy").read_bytes())
    empty_dir = tmp_path / "folder"
    empty_dir.mkdir()
    cases = [
        (text_npy, "is a text file, not a NumPy .npy file"),
        (st_npy, "is a safetensors file, not a NumPy .npy file"),
        (npy_st, "is a NumPy .npy file, not a safetensors file"),
        (npy_txt, "is a NumPy .npy file, not a text file of numbers"),
        (empty_dir, "is a directory without weights.safetensors"),
    ]
    for path, message in cases:
        assert main(["fixed-points", str(path)]) == 2, path
        err = capsys.readouterr().err.strip()
        assert err.startswith("resdyn fixed-points: error: `W`") and message in err, err
        assert "\n" not in err


def test_foreign_safetensors_file_is_named_as_such(tmp_path, capsys):
    from safetensors.numpy import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"lin.weight": np.eye(2)}, str(path))
    assert main(["fixed-points", str(path)]) == 2
    err = capsys.readouterr().err
    assert "`W` weights file" in err and "not a resdyn weights file" in err
    assert "to_network(" not in err


# ----------------------------------------------------------------------------------------
# options checked before any work, errors in the command's own terms
# ----------------------------------------------------------------------------------------


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the command reads W or enumerates."""
    import analysis.cli_fixed_points as cmd

    def boom(*a, **k):
        raise AssertionError("the command started work before checking its options")

    monkeypatch.setattr(cmd, "load_source", boom)
    return cmd


def test_out_is_checked_before_any_work(wfile, tmp_path, capsys, no_work):
    cases = [
        (["--out", str(tmp_path / "res.txt")], "--out must end in .npz or .json"),
        (["--count", "--out", str(tmp_path / "res.npz")], "--out must end in .json"),
        (["--out", str(tmp_path / "nowhere" / "res.json")], "does not exist"),
        (["--out", str(tmp_path)], "which is an existing folder"),
        # /sys takes no new file, even from root: only a probe write finds out
        (["--out", "/sys/res.json"], "--out must be a writable location; got '/sys/res.json'"),
        (["--count", "--list"], "--list"),
    ]
    for extra, message in cases:
        assert main(["fixed-points", str(wfile), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [wfile.name]  # no probe left


def test_size_errors_name_the_flags(tmp_path, capsys):
    big = tmp_path / "big.npy"
    np.save(big, np.eye(14))
    assert main(["fixed-points", str(big)]) == 2
    err = capsys.readouterr().err
    assert "--count" in err and "--in-box" in err and "dynsys." not in err
    seven = tmp_path / "seven.npy"
    np.save(seven, np.eye(7))
    assert main(["fixed-points", str(seven), "--exact"]) == 2
    err = capsys.readouterr().err
    assert "--exact" in err and "exact=True" not in err


# ----------------------------------------------------------------------------------------
# --list
# ----------------------------------------------------------------------------------------


def test_list_prints_every_kept_point(wfile, capsys):
    import dynsys

    W = np.load(wfile)
    fp = dynsys.fixed_points(W, only="in_box")
    assert main(["fixed-points", str(wfile), "--in-box", "--list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(fp)} points" in out
    lines = out[out.index("leading eigenvalue"):].splitlines()[1:]
    rows = [ln for ln in lines if ln.strip()]
    assert len(rows) == len(fp)
    for i in range(len(fp)):
        pattern = "".join(str(c) for c in fp.patterns[i])
        row = next(r for r in rows if r.startswith(pattern + " "))
        assert fp.stability[i] in row and fp.map_stability[i] in row
        lead = fp.eigenvalues[i][np.argmax(fp.eigenvalues[i].real)]
        assert f"{lead.real:.6g}" in row
    assert main(["fixed-points", str(wfile), "--list", "--json"]) == 0
    summary = _summary(capsys)
    assert len(summary["points"]) == 20
    assert {"pattern", "y", "stability", "map_stability", "leading_eigenvalue"} == set(
        summary["points"][0])


def test_count_labels_out_of_box_only_when_asked(wfile, capsys):
    import dynsys

    assert main(["fixed-points", str(wfile), "--count", "--json"]) == 0
    fast = json.loads(capsys.readouterr().out)
    assert fast["out_of_box_classified"] is False and fast["by_stability"] is None
    assert main(["fixed-points", str(wfile), "--count", "--classify-out-of-box", "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    W = np.load(wfile)
    assert full["by_stability"] == dict(
        dynsys.count_fixed_points(W, classify_out_of_box=True).by_stability)
    assert main(["fixed-points", str(wfile), "--classify-out-of-box"]) == 2
    assert "--classify-out-of-box goes with --count" in capsys.readouterr().err


def test_scheduler_runs_on_a_cluster(tmp_path, capsys):
    distributed = pytest.importorskip(
        "distributed", reason="the `dask` extra (pip install resdyn[dask]) runs this test")
    import dynsys

    W = np.random.default_rng(4).normal(size=(7, 7)) / np.sqrt(7) * 2
    path = tmp_path / "W7.npy"
    np.save(path, W)
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        addr = cluster.scheduler_address
        assert main(["fixed-points", str(path), "--count", "--json", "--scheduler", addr]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["total"] == dynsys.count_fixed_points(W).total
        assert got["by_stability_in_box"] == dict(dynsys.count_fixed_points(W).by_stability_in_box)
        assert main(["fixed-points", str(path), "--stable-only", "--json", "--scheduler",
                     addr]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["total"] == len(dynsys.fixed_points(W, only="stable"))
    finally:
        cluster.close()
    assert main(["fixed-points", str(path), "--exact", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler runs the numeric enumeration" in capsys.readouterr().err
