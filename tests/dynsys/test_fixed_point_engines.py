"""Every engine of dynsys.FIXED_POINT_ENGINES against the readable oracle, and the registry.

The tests run over the registry, so an engine added to it is tested here without a new line:
its listing and its counts must match ``tests/_oracles/reference_enumeration.py`` (one solve
per pattern in plain NumPy) and every other engine, for the logistic and for tanh networks
(the oracle solves tanh in its own coordinates, the engines as the driven logistic system:
an independent check of the conjugacy). An engine that needs a resource says so in
its entry (``needs_client``); the ``"distributed"`` engine runs on an in-process Dask cluster.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dynsys
from dynsys import FIXED_POINT_ENGINES, count_fixed_points, fixed_points
from tests._oracles.reference_enumeration import reference_fixed_points

ENGINES = tuple(FIXED_POINT_ENGINES)
ACTIVATIONS = ("logistic", "tanh")


def _matrices():
    rng = np.random.default_rng(2024)
    out = [("closed form n=2", np.array([[-1.0, 2.0], [3.0, -1.0]])),
           ("n=1", np.array([[-0.7]]))]
    for n in (3, 4, 5):
        out.append((f"gaussian n={n}", rng.standard_normal((n, n)) * 1.5 / np.sqrt(n)))
    low_rank = rng.integers(-2, 3, size=(4, 2)) @ rng.integers(-2, 3, size=(2, 4))
    out.append(("integer rank 2", low_rank.astype(float)))
    return out


MATRICES = _matrices()


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    # one in-process worker: the engine's tasks, without the start-up of worker processes
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _resources(engine, request):
    """The keyword arguments an engine needs besides W (its registry entry says which)."""
    if FIXED_POINT_ENGINES[engine].needs_client:
        return {"client": request.getfixturevalue("dask_client")}
    return {}


def _match(a, b, tol=1e-9):
    """Permutation p with a[i] ~ b[p[i]] (rows within tol relative to 1 + |row|)."""
    assert a.shape == b.shape
    p = np.array([int(np.argmin(np.abs(b - row).max(axis=1))) for row in a], dtype=np.int64)
    for row, j in zip(a, p):
        assert np.abs(b[j] - row).max() <= tol * (1 + np.abs(row).max()), (row, b[j])
    assert np.unique(p).size == len(p)
    return p


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engine_lists_the_oracle_points(engine, name, W, activation, request):
    fp = fixed_points(W, engine=engine, activation=activation, **_resources(engine, request))
    ref_points, ref_patterns, _, ref_flow, ref_map, ref_singular = reference_fixed_points(
        W, activation=activation)
    assert (len(fp), fp.n_singular) == (len(ref_points), ref_singular)
    order = _match(fp.points, ref_points)
    np.testing.assert_array_equal(fp.patterns, ref_patterns[order])
    assert list(zip(fp.stability, fp.map_stability)) == list(zip(ref_flow[order],
                                                                  ref_map[order]))
    assert fp.exact == (engine == "exact") and fp.activation == activation
    assert len(fp) + fp.n_origin_copies + fp.n_merged + fp.n_singular == 3 ** W.shape[0]
    if activation == "tanh":
        # a face coordinate adds +-W_Ij, never 0: no pattern is a copy of the origin, and a
        # generic W has all 3^N points
        assert fp.n_origin_copies == 0
        if fp.n_singular == 0:
            assert len(fp) == 3 ** W.shape[0]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engine_counts_the_oracle_points(engine, name, W, activation, request):
    pts, _, _, stab, mstab, n_sing = reference_fixed_points(W, activation=activation)
    lo = -1.0 if activation == "tanh" else 0.0
    in_box = np.all((pts >= lo) & (pts <= 1.0), axis=1)
    full = count_fixed_points(W, engine=engine, classify_out_of_box=True,
                              activation=activation, **_resources(engine, request))
    assert full.total == len(pts) and full.in_box == int(in_box.sum())
    assert full.n_degenerate == n_sing
    for lab in dynsys.LABELS:
        assert full.by_stability[lab] == int(np.sum(stab == lab))
        assert full.by_stability_in_box[lab] == int(np.sum(in_box & (stab == lab)))
        assert full.map_by_stability_in_box[lab] == int(np.sum(in_box & (mstab == lab)))
    box = count_fixed_points(W, engine=engine, activation=activation,
                             **_resources(engine, request))
    assert not box.out_of_box_classified and box.by_stability is None
    assert box.by_stability_in_box == full.by_stability_in_box
    assert (box.total, box.out_of_box) == (full.total, full.out_of_box)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engines_agree_field_by_field(name, W, activation, request):
    """Same counts from every engine, and the same listing from every numeric engine."""
    def plain(c):
        d = c.as_dict()
        for key in ("zero_tol", "rank_tol", "residual_tol", "face_tol"):
            d.pop(key)  # the exact engine stores 0.0: it has no tolerances
        return d

    counts = {e: count_fixed_points(W, engine=e, classify_out_of_box=True,
                                    activation=activation, **_resources(e, request))
              for e in ENGINES}
    ref = plain(counts["enumeration"])
    for engine, c in counts.items():
        assert plain(c) == ref, engine
    listing = fixed_points(W, engine="enumeration", activation=activation)
    for engine in ENGINES:
        if engine == "exact":
            continue
        got = fixed_points(W, engine=engine, activation=activation,
                           **_resources(engine, request))
        for field in ("points", "patterns", "eigenvalues", "stability", "map_stability",
                      "multiplicity"):
            np.testing.assert_array_equal(getattr(got, field), getattr(listing, field),
                                          err_msg=f"{engine}: {field}")


def test_registry_entries():
    for name, entry in FIXED_POINT_ENGINES.items():
        assert entry.name == name
        assert entry.description and "\n" not in entry.description
        assert 1 <= entry.max_n_listing <= entry.max_n
        assert isinstance(entry.options, tuple)
    assert set(ENGINES) >= {"enumeration", "incremental", "exact", "distributed"}
    with pytest.raises(TypeError):
        FIXED_POINT_ENGINES["new"] = FIXED_POINT_ENGINES["exact"]  # read-only


@pytest.mark.parametrize("call", [fixed_points, count_fixed_points])
def test_unknown_engine_names_engine_the_choices_and_the_value(call):
    with pytest.raises(ValueError) as err:
        call(np.eye(2), engine="newton")
    msg = str(err.value)
    assert "`engine`" in msg and "'newton'" in msg
    for name in ("auto",) + ENGINES:
        assert repr(name) in msg


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_beyond_its_size_says_so(engine, request):
    entry = FIXED_POINT_ENGINES[engine]
    kw = _resources(engine, request)
    with pytest.raises(ValueError, match=f"N <= {entry.max_n}"):
        count_fixed_points(np.zeros((entry.max_n + 1, entry.max_n + 1)), engine=engine, **kw)
    n = entry.max_n_listing + 1
    with pytest.raises(ValueError, match="N = " + str(n)):
        fixed_points(np.zeros((n, n)), engine=engine, **kw)


def test_requests_an_engine_cannot_take():
    W = np.eye(2)
    with pytest.raises(ValueError, match="engine='distributed' runs on a Dask cluster"):
        count_fixed_points(W, engine="distributed")
    with pytest.raises(ValueError, match="`client` runs the 'distributed' engine"):
        fixed_points(W, engine="incremental", client=object())
    with pytest.raises(ValueError, match="`exact=True` is the 'exact' engine"):
        fixed_points(W, engine="enumeration", exact=True)
    with pytest.raises(ValueError, match="`zero_tol` must be None or 0"):
        count_fixed_points(W, engine="exact", zero_tol=1e-6)
    with pytest.raises(TypeError, match="engine='enumeration' takes no option 'refresh'"):
        fixed_points(W, engine="enumeration", refresh=8)
    with pytest.raises(TypeError, match="takes no option 'n_tasks'"):
        count_fixed_points(W, n_tasks=3)  # auto: the incremental walk, not the cluster
    with pytest.raises(TypeError, match="`progress` must be a callable"):
        count_fixed_points(W, progress=True)


@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "distributed"])
def test_every_local_engine_reports_progress_to_a_callable(engine):
    W = np.array([[-1.0, 2.0], [3.0, -1.0]])
    for call in (fixed_points, count_fixed_points):
        calls = []
        call(W, engine=engine, progress=lambda done, total: calls.append((done, total)))
        assert calls == [(0, 1), (1, 1)], (call.__name__, calls)


def test_incremental_progress_reports_ranges_of_chunks_and_changes_no_number():
    """N = 8 on one Numba thread: 256 chunks in 16 ranges, each reported as it ends; the
    counts and the listing are those of the run without `progress`."""
    from dynsys._fixed_points._incremental import PROGRESS_STEPS, progress_ranges
    from dynsys._threads import numba_threads

    W = np.random.default_rng(11).normal(size=(8, 8)) / np.sqrt(8) * 2
    with numba_threads(1):
        ranges = progress_ranges(8)
        assert len(ranges) == PROGRESS_STEPS == 16
        assert [c for lo, hi in ranges for c in range(lo, hi)] == list(range(256))
        seen = []
        c = count_fixed_points(W, engine="incremental", classify_out_of_box=True,
                               progress=lambda d, t: seen.append((d, t)))
        assert seen == [(i, 16) for i in range(17)]
        assert c.as_dict() == count_fixed_points(W, classify_out_of_box=True).as_dict()
        seen.clear()
        fp = fixed_points(W, engine="incremental", only="in_box",
                          progress=lambda d, t: seen.append((d, t)))
        assert seen == [(i, 16) for i in range(17)]
    ref = fixed_points(W, engine="incremental", only="in_box")
    assert len(fp) == len(ref) > 1
    for name in ("points", "patterns", "stability", "map_stability", "eigenvalues"):
        np.testing.assert_array_equal(getattr(fp, name), getattr(ref, name), err_msg=name)
    assert fp.counts().as_dict() == ref.counts().as_dict()


def test_auto_picks_todays_engine(monkeypatch):
    """The rule of engine="auto", by the engine each call reaches."""
    import dynsys._fixed_points as F

    seen = []
    for name, module in F._MODULES.items():
        for kind in ("fixed_points", "count"):
            def spy(*args, _name=name, _kind=kind, **kwargs):
                seen.append((_kind, _name))
            monkeypatch.setattr(module, kind, spy)
    W3, W21 = np.eye(3), np.eye(21)
    fixed_points(W3)
    fixed_points(W3, exact=True)
    fixed_points(W3, only="stable")
    fixed_points(W21, only="stable")
    fixed_points(W3, client=object())
    count_fixed_points(W3)
    count_fixed_points(W3, classify_out_of_box=True)
    count_fixed_points(W3, client=object())
    assert seen == [("fixed_points", "enumeration"), ("fixed_points", "exact"),
                    ("fixed_points", "enumeration"), ("fixed_points", "incremental"),
                    ("fixed_points", "distributed"), ("count", "incremental"),
                    ("count", "enumeration"), ("count", "distributed")]


LOCAL_ENGINES = [e for e in ENGINES if not FIXED_POINT_ENGINES[e].needs_client]


@pytest.mark.parametrize("engine", LOCAL_ENGINES)
def test_weights_are_validated_once(engine, monkeypatch):
    import dynsys._fixed_points._common as common

    calls = []
    real = common.resnet_weights

    def counted(W, name="W"):
        calls.append(name)
        return real(W, name)

    monkeypatch.setattr(common, "resnet_weights", counted)
    W = np.array([[-1.0, 2.0], [3.0, -1.0]])
    fixed_points(W, engine=engine, only="stable")
    count_fixed_points(W, engine=engine)
    assert calls == ["W", "W"]


def test_api_page_lists_every_engine():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "api" / "dynsys.rst").read_text()
    for name, entry in FIXED_POINT_ENGINES.items():
        assert f'``"{name}"``' in page, name
        assert f"N <= {entry.max_n}" in page, name


# ---- tanh networks: the driven system in every numeric engine ----------------------------


def _fields(fp, sel=slice(None)):
    return {f: getattr(fp, f)[sel] for f in ("points", "patterns", "eigenvalues", "stability",
                                             "map_stability", "multiplicity", "in_box")}


def _assert_same(got, want):
    for field, value in want.items():
        np.testing.assert_array_equal(got[field], value, err_msg=field)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(6, 9), seed=st.integers(0, 2**32 - 1),
       gain=st.sampled_from([0.5, 1.0, 2.5]))
def test_tanh_filters_and_counts_are_the_unfiltered_listing(n, seed, gain):
    """Every filter of both numeric engines keeps exactly the unfiltered listing's points of
    its kind, in its order and bit for bit; both counts are the listing's counts."""
    W = np.random.default_rng(seed).standard_normal((n, n)) * gain / np.sqrt(n)
    full = fixed_points(W, activation="tanh")
    assert len(full) + full.n_merged + full.n_singular == 3**n
    assert full.n_origin_copies == 0
    stable = full.stability == dynsys.STABLE
    keep = {"in_box": full.in_box, "stable": stable, "stable_in_box": stable & full.in_box}
    for engine in ("enumeration", "incremental"):
        for only, sel in keep.items():
            got = fixed_points(W, activation="tanh", engine=engine, only=only)
            assert got.activation == "tanh"
            _assert_same(_fields(got), _fields(full, sel))
    want = full.counts().as_dict()
    got_full = count_fixed_points(W, activation="tanh", classify_out_of_box=True)
    assert got_full.as_dict() == want
    got_box = count_fixed_points(W, activation="tanh")
    assert got_box.by_stability_in_box == got_full.by_stability_in_box
    assert got_box.map_by_stability_in_box == got_full.map_by_stability_in_box
    assert (got_box.total, got_box.in_box, got_box.out_of_box, got_box.n_merged,
            got_box.n_origin_copies, got_box.n_degenerate) == (
        got_full.total, got_full.in_box, got_full.out_of_box, got_full.n_merged,
        got_full.n_origin_copies, got_full.n_degenerate)


def _degenerate_tanh_matrices():
    rng = np.random.default_rng(77)
    low_rank = (rng.integers(-2, 3, size=(5, 2)) @ rng.integers(-2, 3, size=(2, 5))).astype(float)
    zero_diag = rng.integers(-3, 4, size=(4, 4)).astype(float)
    np.fill_diagonal(zero_diag, [0.0, 1.0, 0.0, -2.0])
    return [("integer rank 2, n=5", low_rank), ("zero diagonal, n=4", zero_diag),
            ("all ones, n=3", np.ones((3, 3)))]


@pytest.mark.parametrize("name,W", _degenerate_tanh_matrices(),
                         ids=[m[0] for m in _degenerate_tanh_matrices()])
def test_degenerate_tanh_patterns_are_the_exact_engines(name, W):
    """A singular interior block with a drive: the numeric engines decide consistency on the
    eliminated drive as well, as the exact engine does in rationals."""
    exact = fixed_points(W, activation="tanh", engine="exact")
    assert exact.n_singular > 0
    want = {(tuple(p), k, d) for p, k, d in zip(exact.degenerate.patterns.tolist(),
                                                exact.degenerate.kind, exact.degenerate.dimension)}
    for engine in ("enumeration", "incremental"):
        fp = fixed_points(W, activation="tanh", engine=engine)
        got = {(tuple(p), k, d) for p, k, d in zip(fp.degenerate.patterns.tolist(),
                                                   fp.degenerate.kind, fp.degenerate.dimension)}
        assert got == want, engine
        assert (fp.degenerate.n_continuum, fp.degenerate.n_no_solution) == (
            exact.degenerate.n_continuum, exact.degenerate.n_no_solution)
        assert len(fp) == len(exact)
        order = _match(fp.points, exact.points)
        np.testing.assert_array_equal(fp.patterns, exact.patterns[order])
        c = count_fixed_points(W, activation="tanh", engine=engine)
        assert (c.total, c.n_degenerate) == (len(exact), exact.n_singular)


def test_numeric_engines_take_the_drive():
    """Every engine of the registry takes tanh networks; "auto" picks as for the logistic."""
    import dynsys._fixed_points as F

    assert all(module.TAKES_DRIVE for module in F._MODULES.values())
    W = np.random.default_rng(3).standard_normal((5, 5))
    assert len(fixed_points(W, activation="tanh")) == 3**5
    assert count_fixed_points(W, activation="tanh").total == 3**5
