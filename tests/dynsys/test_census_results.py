"""The census result (dynsys/_census/_results.py): AttractorCensus, its table, ==, hash and repr."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from dynsys import CENSUS_STATUSES as STATUSES
from tests._helpers.census_networks import creeping_network


def test_one_input_drops_the_batch_axis_and_result_is_frozen():
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    census = dynsys.attractor_census(dynsys.Network(W), [1.0, 0.0], 200)
    assert census.status == "attractor" and np.ndim(census.status) == 0
    assert np.ndim(census.layers) == 0
    with pytest.raises(ValueError):
        census.points[0, 0] = 3.0
    with pytest.raises(AttributeError):
        census.depth = 3
    text = repr(census)
    assert len(text) < 300 and "points=1" in text
    assert "attractor" in census.table()


def _table_rows(text):
    """The point rows of AttractorCensus.table(): {point: whitespace-split fields}."""
    lines = text.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("point"))) + 1
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        fields = line.split()
        rows[int(fields[0])] = fields
    return rows


def test_table_has_a_class_column_with_labels():
    net, x0, labels = creeping_network(n_inputs=120)
    census = dynsys.attractor_census(net, x0, 1000, labels=labels, max_depth=10**4)
    text = census.table()
    header = next(x for x in text.splitlines() if x.startswith("point"))
    assert header.split("  ")[-1].strip() == "classes (count)"
    assert header.split()[:11] == ["point", "inputs", "flow", "map", "index", "leading",
                                   "eig", "box", "attractor", "saddle", "algebraic"]
    rows = _table_rows(text)
    assert sorted(rows) == list(range(len(census)))
    n_in = np.bincount(census.assignment[census.assignment >= 0], minlength=len(census))
    assert [int(r[1]) for r in rows.values()] == sorted(n_in.tolist(), reverse=True)
    for m, fields in rows.items():
        sel = census.assignment == m
        assert int(fields[1]) == sel.sum()
        assert int(fields[7]) == np.sum(sel & (census.status == "attractor"))
        assert int(fields[9]) == np.sum(sel & census.algebraic)
        cc = census.class_counts[m]
        shown = dict(tuple(map(int, f.split(":"))) for f in fields[10:])
        top = np.argsort(-cc, kind="stable")[:4]
        assert shown == {int(k): int(cc[k]) for k in top if cc[k] > 0}
    assert f"algebraic approaches: {int(census.algebraic.sum())}" in text
    assert int(census.algebraic.sum()) > 0
    # the inputs by status and class: status_counts, with its row sums
    lines = text.splitlines()
    i = lines.index("inputs by status and class:")
    assert lines[i + 1].split() == ["status", "0", "1", "2", "all"]
    for s_i, s in enumerate(STATUSES):
        row = census.status_counts[s_i]
        assert lines[i + 2 + s_i].split()[-4:] == [*map(str, row.tolist()), str(row.sum())]
    wide = census.table(n_classes=5)
    assert wide.splitlines()[i + 1].split() == ["status", "0", "1", "2", "3", "4", "all"]
    assert "end-point accuracy:" in text


def test_table_without_labels_has_no_class_column():
    net, x0, _ = creeping_network(n_inputs=40)
    census = dynsys.attractor_census(net, x0, 1000)
    text = census.table()
    assert "classes (count)" not in text and "inputs by status and class" not in text
    assert "end-point accuracy" not in text
    assert all(len(f) == 10 for f in _table_rows(text).values())
    c = census.counts()
    assert (f"attractor: {c['attractor']}, saddle: {c['saddle']}, cycle: {c['cycle']}, "
            f"not converged: {c['not converged']}; algebraic approaches: "
            f"{int(census.algebraic.sum())}") in text


def test_equality_and_hash_never_raise_and_repr_names_its_fields():
    # arrays as fields: a generated __eq__ would raise on `==` of two results (an array's
    # truth value is ambiguous) and a frozen eq=True dataclass would refuse `hash`
    W = np.array([[2.0, -3.0], [-3.0, 2.0]])
    net = dynsys.Network(W)
    a = dynsys.attractor_census(net, [[1.0, 0.0], [0.0, 1.0]], 200)
    b = dynsys.attractor_census(net, [[1.0, 0.0], [0.0, 1.0]], 200)
    assert a == a and a != b and (a == b) is False
    assert hash(a) == hash(a) and len({a, b}) == 2
    text = repr(a)
    assert text.startswith("AttractorCensus(kind='resnet', ") and "N=2" in text
    assert "inputs=2" in text and "points=" in text and "\n" not in text
