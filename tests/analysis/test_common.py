"""The small shared helpers of analysis (analysis/_common.py)."""

from __future__ import annotations

import numpy as np
import pytest

import dynsys
from analysis._common import as_labels


def test_labels_are_checked_by_the_one_check_of_dynsys():
    assert as_labels is dynsys.check_labels
    assert as_labels(np.array([1, 0], dtype=np.int32), 2).dtype == np.int64
    # before: whole-numbered floats passed, and negative labels went on to index class arrays
    for bad, received in ((np.array([1.0, 0.0]), "got dtype float64"),
                          (np.array([1, -1]), "got minimum -1")):
        with pytest.raises(ValueError, match=rf"^`labels` must hold integer class labels.*"
                                             rf"{received}"):
            as_labels(bad, 2)
