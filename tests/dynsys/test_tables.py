"""The one text table of dynsys (dynsys/_tables.py) and the tables built with it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dynsys
from dynsys._tables import text_table


def test_labels_pad_right_numbers_pad_left_and_no_line_ends_in_spaces():
    text = text_table([["type", "count", "note"], ["stable", 3, "x"], ["saddle", 12, "long note"]],
                      "lrl")
    assert text.splitlines() == [
        "type    count  note",
        "stable      3  x",
        "saddle     12  long note",
    ]


def test_a_header_only_table_and_empty_cells():
    assert text_table([["a", "bb"]], "lr") == "a  bb"
    assert text_table([["a", "b"], ["", ""]], "rl").split("\n") == ["a  b", ""]


@pytest.mark.parametrize("rows,align,match", [
    ([["a", "b"], ["c"]], "ll", r"^`rows` must have 2 cells per row.*row 1 has 1"),
    ([["a", "b"]], "l", r"^`rows` must have 1 cells per row.*row 0 has 2"),
    ([["a"]], "c", r"^`align` must hold one letter 'l' or 'r' per column; got 'c'"),
])
def test_bad_rows_and_alignments_name_the_argument(rows, align, match):
    with pytest.raises(ValueError, match=match):
        text_table(rows, align)


_cell = st.text(alphabet="abcxyz0123456789.-:", min_size=1, max_size=8)


@given(st.integers(1, 5).flatmap(lambda c: st.tuples(
    st.lists(st.lists(_cell, min_size=c, max_size=c), min_size=1, max_size=6),
    st.text(alphabet="lr", min_size=c, max_size=c))))
def test_property_columns_line_up_and_split_back_into_the_cells(case):
    rows, align = case
    lines = text_table(rows, align).splitlines()
    assert [line.split() for line in lines] == rows
    assert all(line == line.rstrip() for line in lines)
    # every column starts (label) or ends (number) at one offset on every line
    widths = [max(len(r[c]) for r in rows) for c in range(len(align))]
    start = 0
    for c, (w, a) in enumerate(zip(widths, align)):
        for row, line in zip(rows, lines):
            if a == "l":
                assert line[start:start + len(row[c])] == row[c]
            else:
                assert line[start + w - len(row[c]):start + w] == row[c]
        start += w + 2


def test_result_tables_end_no_line_in_spaces():
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    stats = dynsys.fixed_point_statistics(3, n_samples=3, seed=0)
    census = dynsys.attractor_census(dynsys.Network(W), np.eye(2), 200, labels=[0, 1])
    for text in (stats.table(), dynsys.count_fixed_points(W).table(),
                 dynsys.fixed_points(W).table(), census.table()):
        assert all(line == line.rstrip() for line in text.splitlines()), text


def test_fixed_points_table_lists_every_point():
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    fp = dynsys.fixed_points(W)
    lines = fp.table().splitlines()
    assert lines[0].split() == ["pattern", "y", "flow", "map", "leading", "eigenvalue"]
    assert len(lines) == 1 + len(fp)
    for i, line in enumerate(lines[1:]):
        pattern = "".join(str(int(c)) for c in fp.patterns[i])
        assert line.startswith(pattern + " ")
        assert f" {fp.stability[i]} " in line and f" {fp.map_stability[i]} " in line
        lead = fp.eigenvalues[i][np.argmax(fp.eigenvalues[i].real)]
        assert line.split()[-1] == (f"{lead.real:.6g}" if lead.imag == 0 else
                                    f"{lead.real:.6g}{lead.imag:+.6g}j")
    # the y column holds the point to 4 decimals
    assert "[0.0000 1.0000]" in fp.table()
