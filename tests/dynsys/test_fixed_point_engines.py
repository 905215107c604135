"""Every engine of dynsys.FIXED_POINT_ENGINES against the readable oracle, and the registry.

The tests run over the registry, so an engine added to it is tested here without a new line:
its listing and its counts must match ``tests/_oracles/reference_enumeration.py`` (one solve
per pattern in plain NumPy) and every other engine. An engine that needs a resource says so in
its entry (``needs_client``); the ``"distributed"`` engine runs on an in-process Dask cluster.
"""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from dynsys import FIXED_POINT_ENGINES, count_fixed_points, fixed_points
from tests._oracles.reference_enumeration import reference_fixed_points

ENGINES = tuple(FIXED_POINT_ENGINES)


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


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engine_lists_the_oracle_points(engine, name, W, request):
    fp = fixed_points(W, engine=engine, **_resources(engine, request))
    ref_points, ref_patterns, _, ref_flow, ref_map, ref_singular = reference_fixed_points(W)
    assert (len(fp), fp.n_singular) == (len(ref_points), ref_singular)
    order = _match(fp.points, ref_points)
    np.testing.assert_array_equal(fp.patterns, ref_patterns[order])
    assert list(zip(fp.stability, fp.map_stability)) == list(zip(ref_flow[order],
                                                                  ref_map[order]))
    assert fp.exact == (engine == "exact")
    assert len(fp) + fp.n_origin_copies + fp.n_merged + fp.n_singular == 3 ** W.shape[0]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engine_counts_the_oracle_points(engine, name, W, request):
    pts, _, _, stab, mstab, n_sing = reference_fixed_points(W)
    in_box = np.all((pts >= 0.0) & (pts <= 1.0), axis=1)
    full = count_fixed_points(W, engine=engine, classify_out_of_box=True,
                              **_resources(engine, request))
    assert full.total == len(pts) and full.in_box == int(in_box.sum())
    assert full.n_degenerate == n_sing
    for lab in dynsys.LABELS:
        assert full.by_stability[lab] == int(np.sum(stab == lab))
        assert full.by_stability_in_box[lab] == int(np.sum(in_box & (stab == lab)))
        assert full.map_by_stability_in_box[lab] == int(np.sum(in_box & (mstab == lab)))
    box = count_fixed_points(W, engine=engine, **_resources(engine, request))
    assert not box.out_of_box_classified and box.by_stability is None
    assert box.by_stability_in_box == full.by_stability_in_box
    assert (box.total, box.out_of_box) == (full.total, full.out_of_box)


@pytest.mark.parametrize("name,W", MATRICES, ids=[m[0] for m in MATRICES])
def test_engines_agree_field_by_field(name, W, request):
    """Same counts from every engine, and the same listing from every numeric engine."""
    def plain(c):
        d = c.as_dict()
        for key in ("zero_tol", "rank_tol", "residual_tol", "face_tol"):
            d.pop(key)  # the exact engine stores 0.0: it has no tolerances
        return d

    counts = {e: count_fixed_points(W, engine=e, classify_out_of_box=True,
                                    **_resources(e, request)) for e in ENGINES}
    ref = plain(counts["enumeration"])
    for engine, c in counts.items():
        assert plain(c) == ref, engine
    listing = fixed_points(W, engine="enumeration")
    for engine in ENGINES:
        if engine == "exact":
            continue
        got = fixed_points(W, engine=engine, **_resources(engine, request))
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
