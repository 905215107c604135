"""The scikit-learn baselines: the errors of the two default models, fitted side by side."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from analysis import compute_baselines
from nets import load_dataset


def _reference(xtr, ytr, xte, yte, seed):
    """One model after the other, as written in scikit-learn's documentation."""
    out = {}
    for name, model in (("sklearn MLP", MLPClassifier(random_state=seed, max_iter=30)),
                        ("sklearn SVC", SVC())):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(xtr, ytr)
        out[name] = float(np.mean(model.predict(xte) != yte))
    return out


def test_the_side_by_side_fits_give_the_errors_of_the_plain_fits(monkeypatch):
    import analysis.baselines as B

    ds = load_dataset("digits", seed=0, n_train=400, n_test=150)
    # a short MLP keeps the test fast; the same cap for both computations
    real = MLPClassifier

    def capped(**kw):
        return real(max_iter=30, **kw)

    monkeypatch.setattr("sklearn.neural_network.MLPClassifier", capped)
    res = B.compute_baselines(ds.x_train, ds.y_train, ds.x_test, ds.y_test, seed=3)
    ref = _reference(ds.x_train, ds.y_train, ds.x_test, ds.y_test, 3)
    assert res.as_dict() == ref
    assert 0 < ref["sklearn SVC"] < 0.1 and 0 <= ref["sklearn MLP"] < 0.2
    assert (res.n_train, res.n_test, res.seed) == (len(ds.y_train), len(ds.y_test), 3)


def test_inputs_of_different_widths_are_refused():
    x = np.zeros((10, 4))
    with pytest.raises(ValueError, match=r"`x_train` and `x_test` must be \(B, D\) with the same D"):
        compute_baselines(x, np.arange(10) % 2, np.zeros((5, 3)), np.arange(5) % 2)
