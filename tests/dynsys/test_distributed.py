"""The enumeration on a Dask LocalCluster (2 worker processes, loopback, no dashboard)."""

import sys

import numpy as np
import pytest

distributed = pytest.importorskip(
    "distributed", reason="the `dask` extra (pip install resdyn[dask]) runs these tests")

from dynsys import count_fixed_points, fixed_point_statistics, fixed_points  # noqa: E402
from dynsys._fixed_points._common import task_ranges  # noqa: E402
from dynsys._fixed_points._distributed import require_distributed  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    cl = distributed.Client(cluster)
    try:
        yield cl
    finally:
        cl.close()
        cluster.close()


def _fields(fp):
    return {f: getattr(fp, f) for f in ("points", "patterns", "eigenvalues", "stability",
                                         "map_stability", "multiplicity", "in_box")}


def test_task_ranges_cover_every_chunk_once():
    for n_chunks, n_tasks in [(256, 8), (256, 7), (4, 10), (1, 1)]:
        ranges = task_ranges(n_chunks, n_tasks)
        covered = [c for lo, hi in ranges for c in range(lo, hi)]
        assert covered == list(range(n_chunks))


def test_counts_identical_to_local(client):
    W = np.random.default_rng(0).standard_normal((9, 9)) / 3.0
    seen = []
    got = count_fixed_points(W, client=client, n_tasks=5,
                             progress=lambda d, t: seen.append((d, t)))
    assert got.as_dict() == count_fixed_points(W, engine="incremental").as_dict()
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    full = count_fixed_points(W, client=client, classify_out_of_box=True, n_tasks=3)
    assert full.as_dict() == count_fixed_points(W, classify_out_of_box=True).as_dict()


def test_degenerate_counts_identical_to_local(client):
    rng = np.random.default_rng(1)
    W = rng.integers(-2, 3, size=(7, 2)).astype(float) @ rng.integers(-2, 3, size=(2, 7))
    got = count_fixed_points(W, client=client, classify_out_of_box=True, n_tasks=4)
    assert got.as_dict() == count_fixed_points(W, classify_out_of_box=True).as_dict()
    assert got.n_degenerate > 0


@pytest.mark.parametrize("only,n", [(None, 6), ("in_box", 8), ("stable", 9),
                                    ("stable_in_box", 9)])
def test_listing_identical_to_local(client, only, n):
    W = np.random.default_rng(n).standard_normal((n, n)) * 1.5 / np.sqrt(n)
    got = fixed_points(W, client=client, only=only, n_tasks=6)
    ref = fixed_points(W, only=only)
    for name, value in _fields(ref).items():
        np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)


def test_public_functions_take_the_client(client):
    W = np.random.default_rng(11).standard_normal((8, 8)) * 1.5 / np.sqrt(8)
    seen = []
    got = count_fixed_points(W, client=client, progress=lambda d, t: seen.append(d))
    assert got.as_dict() == count_fixed_points(W).as_dict()
    assert seen and seen[-1] == max(seen)
    full = count_fixed_points(W, client=client, classify_out_of_box=True)
    assert full.as_dict() == count_fixed_points(W, classify_out_of_box=True).as_dict()
    fp = fixed_points(W, only="stable", client=client)
    ref = fixed_points(W, only="stable")
    for name, value in _fields(ref).items():
        np.testing.assert_array_equal(getattr(fp, name), value, err_msg=name)
    with pytest.raises(ValueError, match="numeric"):
        fixed_points(W, exact=True, client=client)


@pytest.mark.parametrize("only", [None, "in_box", "stable_in_box"])
def test_tanh_identical_to_local(client, only):
    """The drive travels with W: a tanh network's counts and listing on the cluster are the
    local ones."""
    n = 6 if only is None else 8
    W = np.random.default_rng(30 + n).standard_normal((n, n)) * 1.5 / np.sqrt(n)
    got = fixed_points(W, client=client, only=only, n_tasks=5, activation="tanh")
    ref = fixed_points(W, only=only, activation="tanh")
    assert got.activation == "tanh" and len(got) > 0
    for name, value in _fields(ref).items():
        np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)
    for oob in (False, True):
        c = count_fixed_points(W, client=client, classify_out_of_box=oob, n_tasks=3,
                               activation="tanh")
        assert c.as_dict() == count_fixed_points(W, classify_out_of_box=oob,
                                                 activation="tanh").as_dict()
    st = fixed_point_statistics(4, 4, seed=2, client=client, activation="tanh")
    assert st.as_dict() == fixed_point_statistics(4, 4, seed=2, activation="tanh").as_dict()


def test_statistics_on_the_cluster_equal_local(client):
    a = fixed_point_statistics(5, 6, gain=2.0, seed=3, client=client)
    b = fixed_point_statistics(5, 6, gain=2.0, seed=3)
    assert a.as_dict() == b.as_dict()


def test_client_must_be_a_client():
    with pytest.raises(TypeError, match="`client` must be a distributed.Client"):
        count_fixed_points(np.eye(2), client="tcp://127.0.0.1:8786")


def test_missing_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install resdyn\[dask\]"):
        require_distributed()
    with pytest.raises(ImportError, match=r"pip install resdyn\[dask\]"):
        count_fixed_points(np.eye(2), client=object())


def _near_face(rng, n):
    """Gaussian W whose pattern (interior, 1, 0, ...) has y_0 = 1e-12: one merged point."""
    W = rng.standard_normal((n, n))
    W[0, 0] = abs(W[0, 0]) + 1.0
    W[0, 1] = -1e-12 * W[0, 0]
    return W


def _zero_diagonal(rng, n):
    W = rng.integers(-2, 3, size=(n, n)).astype(float)
    np.fill_diagonal(W, 0.0)
    return W


def _accounting(c):
    return (c.total, c.n_origin_copies, c.n_merged, c.n_no_solution, c.n_continuum)


@pytest.mark.parametrize("make", [lambda rng, n: rng.standard_normal((n, n)) / np.sqrt(n),
                                  _near_face, _zero_diagonal],
                         ids=["gaussian", "near face", "zero diagonal"])
def test_patterns_add_up_on_the_cluster(client, make):
    n = 8
    W = make(np.random.default_rng(12), n)
    ref = _accounting(count_fixed_points(W))
    for c in (count_fixed_points(W, client=client, n_tasks=5),
              count_fixed_points(W, client=client, classify_out_of_box=True, n_tasks=3),
              fixed_points(W, client=client, n_tasks=4).counts()):
        assert sum(_accounting(c)) == c.n_patterns == 3**n
        assert _accounting(c) == ref
    assert fixed_points(W, client=client, only="stable", n_tasks=4).n_merged is None
    st = fixed_point_statistics(4, 5, ensemble=make, seed=1, client=client)
    total = sum(st.counts[q] for q in ("total", "origin_copies", "merged", "no_solution",
                                       "continuum"))
    np.testing.assert_array_equal(total, 3**4)
    if make is _near_face:
        assert ref[2] >= 1 and np.all(st.counts["merged"] >= 1)
