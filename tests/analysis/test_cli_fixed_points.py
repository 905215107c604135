"""The `resdyn fixed-points` subcommand."""

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
