"""Export to float64 arrays for dynsys, and back."""

import dataclasses

import numpy as np
import pytest
import torch

from nets import (KINDS, ExportedWeights, build_model, export_weights, load_weights,
                  model_from_weights, save_weights)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("width", [None, 10])
def test_round_trip_through_file(tmp_path, kind, width):
    torch.manual_seed(0)
    model = build_model(kind, 6, 4, width, 5)
    w = export_weights(model)
    N = width or 6
    assert w.W.dtype == np.float64 and w.kind == kind and w.depth == 5
    assert w.W.shape == ((N, N) if kind == "shared" else (5, N, N))
    assert w.K.shape == (4, N) and w.c.shape == (4,)
    assert (w.projection is None) == (width is None)
    assert w.n_features == 6 and w.width == N and w.n_classes == 4
    path = save_weights(w, tmp_path / "w.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    back = load_weights(path)
    for name in ("W", "b", "K", "c"):
        np.testing.assert_array_equal(getattr(back, name), getattr(w, name))
    m2 = model_from_weights(back)
    u = torch.rand(5, 6)
    torch.testing.assert_close(m2(u), model(u), rtol=0, atol=0)
    assert m2.depth == model.depth and m2.kind == model.kind


def test_exported_arrays_are_read_only_and_frozen():
    w = export_weights(build_model("shared", 3, 2, None, 2))
    with pytest.raises(ValueError):
        w.W[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.depth = 3


def test_export_validates_shapes():
    with pytest.raises(ValueError, match="do not fit"):
        ExportedWeights("shared", 2, np.zeros((3, 3)), np.zeros(4), np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="kind"):
        ExportedWeights("cnn", 2, np.zeros((3, 3)), np.zeros(3), np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(TypeError):
        export_weights(torch.nn.Linear(2, 2))


def test_load_weights_rejects_other_files(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="safetensors"):
        load_weights(bad)
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "absent.safetensors")


def test_repr_is_short_and_shows_shapes():
    torch.manual_seed(0)
    for kind in KINDS:
        w = export_weights(build_model(kind, 12, 3, 7, 5))
        text = repr(w)
        assert "\n" not in text and len(text) < 200, text
        assert text.startswith(f"ExportedWeights(kind={kind!r}, depth=5, W=")
        assert "K=3x7, c=3, projection=7x12)" in text


def test_saved_bytes_do_not_depend_on_the_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    w = export_weights(build_model("per-layer", 3, 2, None, 2))
    path = save_weights(w, tmp_path / "here.safetensors")
    code = ("import sys, nets; nets.save_weights(nets.load_weights(sys.argv[1]), sys.argv[2])")
    root = Path(__file__).resolve().parents[2]
    for i in range(3):  # new hash seeds in every process
        subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / f"{i}.st")],
                       cwd=root, check=True)
        assert (tmp_path / f"{i}.st").read_bytes() == path.read_bytes()
