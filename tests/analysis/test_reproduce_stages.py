"""The stage runner behind ``reproduce``: keys, stored results, reuse, damage, on-demand stages.

Small synthetic pipelines (no training, no data): each test runs in milliseconds.
"""

import math
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pytest

from analysis import DepthRun
from analysis._stages import (ALL_SETTINGS, Stage, StageRunner, clear_stage_files,
                              decode_result, encode_result, read_stage_file, stage_path)


@dataclass(frozen=True)
class Prof:
    a: int = 1
    b: float = 0.5
    c: tuple = (1, 2)


class Calls:
    """Counts the calls of each stage's compute."""

    def __init__(self):
        self.n = {}

    def hit(self, name):
        self.n[name] = self.n.get(name, 0) + 1


def pipeline(calls):
    """x (a), y (x, b), z on demand (x), w (z, y), always (w): the shapes reproduce uses."""

    def x(ctx):
        calls.hit("x")
        time.sleep(0.03)  # a measurable time, kept by the runs that reuse x
        return {"x": np.arange(3.0) * ctx.settings.a}

    def y(ctx, x):
        calls.hit("y")
        return (x["x"] + ctx.settings.b, "label")

    def z(ctx, x):
        calls.hit("z")
        return x["x"] * 10

    def w(ctx, z, y):
        calls.hit("w")
        return float(z.sum() + y[0].sum())

    def always(ctx, w):
        calls.hit("always")
        return {"w": w, "elapsed": ctx.elapsed() >= 0}

    return (
        Stage("x", "X", x, settings=("a",)),
        Stage("y", "Y", y, inputs=("x",), settings=("b",)),
        Stage("z", "Z", z, inputs=("x",), mode="on demand"),
        Stage("w", "W", w, inputs=("z", "y")),
        Stage("always", "A", always, inputs=("w",), mode="always"),
    )


def run(tmp_path, calls, prof=Prof(), stages=None):
    runner = StageRunner(stages or pipeline(calls), tmp_path / "stages", prof, {})
    values = runner.run()
    return runner, values


def test_second_run_reuses_every_stored_stage_and_gives_the_same_values(tmp_path):
    first = Calls()
    r1, v1 = run(tmp_path, first)
    assert first.n == {"x": 1, "y": 1, "z": 1, "w": 1, "always": 1}
    assert sorted(p.name for p in (tmp_path / "stages").iterdir()) == [
        "w.npz", "x.npz", "y.npz", "z.npz"]
    again = Calls()
    r2, v2 = run(tmp_path, again)
    # only the always-stage ran; the on-demand stage was not needed
    assert again.n == {"always": 1}
    assert r2.account()["reused"] == ("x", "y", "w")
    assert r2.status["z"] == "not needed" and "z" not in v2
    assert r2.keys == r1.keys
    np.testing.assert_array_equal(v2["x"]["x"], v1["x"]["x"])
    assert v2["y"][1] == "label" and v2["w"] == v1["w"] and v2["always"] == v1["always"]
    # a reused stage keeps the seconds of the run that computed it
    assert r1.seconds["x"] >= 0.03
    assert r2.seconds["x"] == r1.seconds["x"] and r2.seconds["z"] == r1.seconds["z"]


def test_a_changed_setting_recomputes_exactly_the_stages_downstream(tmp_path):
    run(tmp_path, Calls())
    calls = Calls()
    r, v = run(tmp_path, calls, prof=Prof(b=0.75))  # read by y only
    # w is recomputed, so the on-demand z it takes is computed again; x is reused
    assert calls.n == {"y": 1, "z": 1, "w": 1, "always": 1}
    assert r.account()["reused"] == ("x",)
    calls = Calls()
    r, _ = run(tmp_path, calls, prof=Prof(b=0.75, c=(3,)))  # read by no stage
    assert calls.n == {"always": 1}
    calls = Calls()
    r, v = run(tmp_path, calls, prof=Prof(a=2, b=0.75))  # x, then everything after it
    assert calls.n == {"x": 1, "y": 1, "z": 1, "w": 1, "always": 1}
    assert v["w"] == pytest.approx(10 * (0 + 2 + 4) + (0.75 * 3 + 6))


def test_a_constant_and_a_stage_version_are_part_of_the_key(tmp_path):
    tol = {"t": 0.1}

    def with_constants(stages):
        return (replace(stages[0], constants=lambda: dict(tol)),) + stages[1:]

    calls = Calls()
    run(tmp_path, calls, stages=with_constants(pipeline(calls)))
    tol["t"] = 0.2
    calls = Calls()
    run(tmp_path, calls, stages=with_constants(pipeline(calls)))
    assert calls.n == {"x": 1, "y": 1, "z": 1, "w": 1, "always": 1}
    calls = Calls()
    stages = with_constants(pipeline(calls))
    stages = stages[:3] + (replace(stages[3], version=2),) + stages[4:]
    run(tmp_path, calls, stages=stages)
    assert calls.n == {"z": 1, "w": 1, "always": 1}


def test_an_always_stage_identity_keys_the_stages_downstream(tmp_path):
    ident = {"sha256": "aaa"}

    def source(ctx):
        return {"weights": np.ones(2)}

    def downstream(ctx, source):
        calls.hit("downstream")
        return source["weights"].sum()

    def stages():
        return (Stage("source", "S", source, mode="always", identity=lambda v: dict(ident)),
                Stage("downstream", "D", downstream, inputs=("source",)))

    calls = Calls()
    run(tmp_path, calls, stages=stages())
    run(tmp_path, calls, stages=stages())
    assert calls.n == {"downstream": 1}
    ident["sha256"] = "bbb"  # e.g. a checkpoint replaced
    run(tmp_path, calls, stages=stages())
    assert calls.n == {"downstream": 2}


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_stage_file_is_recomputed_with_a_warning(tmp_path, damage):
    r1, v1 = run(tmp_path, Calls())
    path = stage_path(tmp_path / "stages", "y")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00junk" * 50,
                      "empty": b""}[damage])
    calls = Calls()
    with pytest.warns(RuntimeWarning, match=r"stage file .*y\.npz.* is unreadable"):
        r2, v2 = run(tmp_path, calls)
    assert calls.n == {"y": 1, "always": 1}  # w's key did not change: it is reused
    assert v2["w"] == v1["w"]
    # the file is whole again: no warning on the next run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r3, _ = run(tmp_path, Calls())
    assert r3.account()["reused"] == ("x", "y", "w")


def test_an_edited_result_tree_is_recomputed(tmp_path):
    """A file whose result names a class outside the packages is refused, not loaded."""
    def make(ctx):
        return DepthRun("net", (15, 14), 0.1, 0.1, 15)

    stages = (Stage("s", "S", make),)
    run(tmp_path, Calls(), stages=stages)
    path = stage_path(tmp_path / "stages", "s")
    with np.load(path) as npz:
        members = {k: npz[k] for k in npz.files}
    tree = bytes(members["tree"]).decode().replace("analysis.sect7_adaptive_depth:DepthRun",
                                                   "os:system")
    members["tree"] = np.frombuffer(tree.encode(), dtype=np.uint8)
    np.savez(path, **members)
    with pytest.warns(RuntimeWarning, match="outside analysis, dynsys, nets"):
        r, v = run(tmp_path, Calls(), stages=stages)
    assert r.status["s"] == "computed" and v["s"] == make(None)


def test_verify_false_recomputes_without_a_warning(tmp_path):
    ok = {"value": True}

    def make(ctx):
        calls.hit("s")
        return 1

    stages = (Stage("s", "S", make, verify=lambda ctx, v: ok["value"]),)
    calls = Calls()
    run(tmp_path, calls, stages=stages)
    run(tmp_path, calls, stages=stages)
    assert calls.n == {"s": 1}
    ok["value"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(tmp_path, calls, stages=stages)
    assert calls.n == {"s": 2}


def test_a_stage_reading_an_undeclared_setting_fails(tmp_path):
    def sneaky(ctx):
        return ctx.settings.b

    with pytest.raises(AttributeError, match="reads the profile setting 'b'.*declare it"):
        run(tmp_path, Calls(), stages=(Stage("s", "S", sneaky, settings=("a",)),))
    whole = Stage("t", "T", lambda ctx: ctx.settings.c, settings=ALL_SETTINGS)
    r, v = run(tmp_path, Calls(), stages=(whole,))
    assert v["t"] == (1, 2)


def test_the_list_is_validated():
    f = lambda ctx: None  # noqa: E731
    with pytest.raises(ValueError, match="takes \\['later'\\]"):
        StageRunner((Stage("a", "A", f, inputs=("later",)), Stage("later", "L", f)), ".",
                    Prof(), {})
    with pytest.raises(ValueError, match="two stages are named 'a'"):
        StageRunner((Stage("a", "A", f), Stage("a", "A", f)), ".", Prof(), {})
    with pytest.raises(ValueError, match="`mode` must be one of"):
        Stage("a", "A", f, mode="sometimes")
    with pytest.raises(ValueError, match="`name` must be"):
        Stage("A b", "A", f)


def test_account_sums_labels_and_lists_every_stage(tmp_path):
    stages = pipeline(Calls())
    stages = (stages[0], replace(stages[1], label="X")) + stages[2:]
    r, _ = run(tmp_path, Calls(), stages=stages)
    acc = r.account()
    assert acc["times"]["X"] == pytest.approx(r.seconds["x"] + r.seconds["y"], abs=0.011)
    assert [s["name"] for s in acc["stages"]] == ["x", "y", "z", "w", "always"]
    assert {s["status"] for s in acc["stages"]} == {"computed"}
    assert all(len(s["key"]) == 64 for s in acc["stages"])


def test_clear_stage_files(tmp_path):
    run(tmp_path, Calls())
    (tmp_path / "stages" / "notes.txt").write_text("kept")
    assert clear_stage_files(tmp_path / "stages") == 4
    assert [p.name for p in (tmp_path / "stages").iterdir()] == ["notes.txt"]
    assert clear_stage_files(tmp_path / "absent") == 0


# -- the result files ------------------------------------------------------------------------

def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.flags.writeable == b.flags.writeable
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_results_round_trip_exactly():
    ro = np.linspace(0, 1, 6).reshape(2, 3)
    ro.setflags(write=False)
    obj = {
        "ints": (1, -2, 10**20), "floats": [0.1, float("nan"), float("inf"), -0.0],
        "complex": 1 + 2j, "text": "ä", "none": None, "flags": (True, False),
        "arrays": (ro, np.array([1 + 1j, 2j]), np.array(["ab", "c"]), np.zeros(0, np.int8),
                   np.array([True])),
        "scalars": (np.float64(0.25), np.int64(7), np.bool_(True)),
        3: "an int key", ("t", 1): "a tuple key",
        "runs": (DepthRun("a", (15, 12), 0.05, 0.04, 15),),
    }
    arrays = []
    tree = encode_result(obj, arrays)
    back = decode_result(tree, [a.copy() for a in arrays])
    _same(obj, back)


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError, match="cannot hold a builtins.set"):
        encode_result({"s": {1, 2}}, [])
    with pytest.raises(TypeError, match="array of Python objects"):
        encode_result(np.array([{}], dtype=object), [])

    @dataclass(frozen=True)
    class Local:  # a dataclass outside analysis, dynsys, nets
        x: int = 1

    with pytest.raises(TypeError, match="cannot hold a"):
        encode_result(Local(), [])


def test_a_changed_dataclass_is_refused():
    tree = encode_result(DepthRun("a", (15,), 0.1, 0.1, 15), arrays := [])
    tree["fields"]["gone"] = 1
    with pytest.raises(ValueError, match="the class now has"):
        decode_result(tree, arrays)


def test_read_stage_file_skips_the_result_of_another_key(tmp_path):
    r, _ = run(tmp_path, Calls())
    path = stage_path(tmp_path / "stages", "x")
    header, result = read_stage_file(path)
    assert header["key"] == r.keys["x"] and header["stage"] == "x" and result is not None
    assert read_stage_file(path, key="other")[1] is None
    assert read_stage_file(stage_path(tmp_path / "stages", "z"))[1] is None  # on demand
