"""The one count-row decoder and the one constructor of FixedPointCounts."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from dynsys import FixedPointCounts
from dynsys._fixed_points._common import numeric_tolerances
from dynsys._fixed_points._enumeration import run_kernel
from dynsys._fixed_points._results import decode_counts
from dynsys._kernels._common import COL_KEPT, COL_QR_FALLBACK, count_layout, table_width
from dynsys._kernels.fixed_points_enumeration import MODE_COUNT


def _row(n, rng):
    return rng.integers(0, 1000, size=table_width(n)).astype(np.int64)


@pytest.mark.parametrize("n", [1, 4, 13])
def test_decode_counts_reads_every_block_of_the_layout(n):
    rng = np.random.default_rng(n)
    rows = np.stack([_row(n, rng) for _ in range(3)])
    lay = count_layout(n)
    for row_or_rows in (rows[0], rows):
        c = decode_counts(row_or_rows, n)
        for name in ("flow_in", "flow_out", "map_in"):
            np.testing.assert_array_equal(c[name], row_or_rows[..., lay[name]:lay[name] + 4])
        for name in ("udim_in", "udim_out"):
            np.testing.assert_array_equal(c[name],
                                          row_or_rows[..., lay[name]:lay[name] + n + 1])
        for name in ("disagree", "kept", "no_solution", "continuum", "qr_fallback", "merged",
                     "origin_copies", "out_box"):
            np.testing.assert_array_equal(c[name], row_or_rows[..., lay[name]])


def test_from_table_fields():
    n = 3
    row = _row(n, np.random.default_rng(7))
    c = decode_counts(row, n)
    tols = {"zero_tol": 1.0, "rank_tol": 2.0, "residual_tol": 3.0, "face_tol": 4.0}
    got = FixedPointCounts.from_table(row, n, tolerances=tols)
    assert got.in_box == c["flow_in"].sum() and got.out_of_box == c["out_box"]
    assert got.total == got.in_box + got.out_of_box and got.n_patterns == 27
    assert list(got.by_stability.values()) == (c["flow_in"] + c["flow_out"]).tolist()
    assert list(got.map_by_stability_in_box.values()) == c["map_in"].tolist()
    assert got.unstable_dim_out_of_box.tolist() == c["udim_out"].tolist()
    assert (got.n_merged, got.n_origin_copies) == (c["merged"], c["origin_copies"])
    assert got.tolerances == tols and got.out_of_box_classified
    bare = FixedPointCounts.from_table(row, n, tolerances=tols, out_of_box_classified=False,
                                       copies_counted=False)
    assert bare.by_stability is None and bare.by_stability_out_of_box is None
    assert bare.unstable_dim_out_of_box is None and not bare.out_of_box_classified
    assert bare.n_merged is None and bare.n_origin_copies is None
    assert bare.by_stability_in_box == got.by_stability_in_box and bare.total == got.total


@pytest.mark.parametrize("n", [2, 5, 7])
def test_a_listing_tallies_the_row_the_counting_kernel_writes(n):
    W = np.random.default_rng(n).standard_normal((n, n)) * 1.5 / np.sqrt(n)
    fp = dynsys.fixed_points(W)
    counts, _ = run_kernel(np.ascontiguousarray(W), numeric_tolerances(W), MODE_COUNT, 0)
    kernel_row = counts.sum(axis=0)
    keep = ~np.isin(np.arange(kernel_row.size), [COL_KEPT, COL_QR_FALLBACK])
    np.testing.assert_array_equal(fp.count_row()[keep], kernel_row[keep])
    assert fp.counts().as_dict() == dynsys.count_fixed_points(
        W, classify_out_of_box=True).as_dict()
