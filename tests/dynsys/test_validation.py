"""Error messages name the argument, the expectation and what was received."""

import numpy as np
import pytest

from dynsys._validation import (
    as_points,
    as_square_matrix,
    as_weight_stack,
    check_choice,
    check_int,
    check_positive_float,
)


def test_square_matrix():
    assert as_square_matrix([[1, 2], [3, 4]]).dtype == np.float64
    with pytest.raises(ValueError, match=r"`A` must be a square matrix of shape \(N, N\); got shape \(2, 3\)"):
        as_square_matrix(np.ones((2, 3)), "A")
    with pytest.raises(ValueError, match="1 NaN or infinite entry"):
        as_square_matrix([[np.inf]])


def test_weight_stack():
    assert as_weight_stack(np.ones((4, 3, 3))).shape == (4, 3, 3)
    with pytest.raises(ValueError, match=r"\(T, N, N\)"):
        as_weight_stack(np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match="T >= 1"):
        as_weight_stack(np.ones((0, 3, 3)))


def test_points():
    pts, was_1d = as_points([0.1, 0.2], 2)
    assert pts.shape == (1, 2) and was_1d
    with pytest.raises(ValueError, match=r"`y0` must have shape \(3,\) or \(B, 3\); got shape \(2, 2\)"):
        as_points(np.ones((2, 2)), 3, "y0")


def test_scalars():
    assert check_int(np.int64(3), "depth") == 3
    with pytest.raises(ValueError, match="`depth` must be >= 0; got -1"):
        check_int(-1, "depth")
    with pytest.raises(TypeError, match="`depth` must be an integer"):
        check_int(2.5, "depth")
    with pytest.raises(TypeError):
        check_int(True, "depth")
    with pytest.raises(ValueError, match="`dt` must be finite and > 0"):
        check_positive_float(0.0, "dt")
    assert check_positive_float(0.0, "a", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="`kind` must be one of 'resnet', 'mlp'; got 'cnn'"):
        check_choice("cnn", "kind", ("resnet", "mlp"))


def test_complex_is_refused_with_the_argument_named():
    with pytest.raises(TypeError, match=r"`W` must be real; got complex values"):
        as_square_matrix(np.eye(2) * (1 + 1j))
    with pytest.raises(TypeError, match=r"`y` must be real"):
        as_points([0.5 + 0j, 0.5], 2)


def test_network_argument_is_checked_by_name():
    from dynsys._layers import _as_network

    import dynsys

    net = dynsys.Network(np.eye(2))
    assert _as_network(net) is net
    with pytest.raises(TypeError, match=r"`net` must be a dynsys.Network; got array of shape "
                                        r"\(2, 2\).*dynsys.Network\(W, b\)"):
        _as_network(np.eye(2))


def test_labels_of_any_integer_dtype_come_back_as_int64():
    from dynsys import check_labels

    for dtype in (np.int8, np.int32, np.uint8, np.int64):
        lab = check_labels(np.array([2, 0, 1], dtype=dtype), 3)
        assert lab.dtype == np.int64 and lab.tolist() == [2, 0, 1]
    assert check_labels([], 0).shape == (0,)


_EXPECTED = "must hold integer class labels 0..C-1, one per input (shape (3,)); got "


@pytest.mark.parametrize("bad,received", [
    (np.array(["a", "b", "a"]), "dtype <U1"),
    (np.array([0.0, 1.0, 0.0]), "dtype float64"),  # whole-numbered floats too
    (np.array([0.5, 1.0, 0.0]), "dtype float64"),
    (np.array([0, 1, 0], dtype=object), "dtype object"),
    (np.array([True, False, True]), "dtype bool"),
    (np.array([0, 1]), "shape (2,)"),
    (np.array([[0, 1, 0]]), "shape (1, 3)"),
    (np.array(1), "shape ()"),
    (np.array([0, -2, 1]), "minimum -2"),
])
def test_every_bad_label_names_the_argument_the_expectation_and_what_came(bad, received):
    from dynsys import check_labels

    with pytest.raises(ValueError) as err:
        check_labels(bad, 3, "train_labels")
    assert str(err.value).startswith(f"`train_labels` {_EXPECTED}{received}"), str(err.value)
