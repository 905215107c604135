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
