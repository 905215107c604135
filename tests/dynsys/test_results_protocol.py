"""Every public result class of dynsys: ``==`` and ``hash`` never raise, reprs in one style.

One instance of each class is built by the public function that returns it; the set of
classes checked is the set of public dataclasses of :mod:`dynsys`, so a new result class
is checked here or fails the coverage test.
"""

import dataclasses
import re

import numpy as np
import pytest

import dynsys


def _public_result_classes():
    return {name for name in dynsys.__all__
            if isinstance(getattr(dynsys, name), type)
            and dataclasses.is_dataclass(getattr(dynsys, name))}


@pytest.fixture(scope="module")
def instances():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 3))
    net = dynsys.Network(W)
    per_layer = dynsys.Network(rng.normal(size=(4, 3, 3)))
    x0 = rng.normal(size=(5, 3))
    fp = dynsys.fixed_points(W)
    cont = dynsys.continue_fixed_points([W, 1.1 * W])
    run = dynsys.iterate(per_layer, x0)
    track = dynsys.track_census([net, dynsys.Network(1.1 * W)], x0, 50)
    return {
        "Network": net,
        "SymbolicSystem": dynsys.symbolic_system(n=2),
        "Derivation": dynsys.derive_eq3(),
        "ResidualSystem": dynsys.as_system(W),
        "DegeneratePatterns": fp.degenerate,
        "FixedPointCounts": dynsys.count_fixed_points(W),
        "FixedPoints": fp,
        "FixedPointEngine": dynsys.FIXED_POINT_ENGINES["enumeration"],
        "IterateResult": run,
        "LyapunovResult": dynsys.lyapunov(net, x0, 50),
        "NoiseResult": dynsys.iterate_noise(net, x0, 10, amplitude=0.1),
        "SensitivityResult": dynsys.sensitivity(per_layer, run.y),
        "Basins": dynsys.basins(W, n_samples=20, seed=0),
        "Trajectory": dynsys.integrate(W, rng.uniform(size=3), np.linspace(0.0, 1.0, 5)),
        "NoiseTrajectory": dynsys.integrate_noise(W, rng.uniform(size=3),
                                                  0.01 * rng.normal(size=3),
                                                  np.linspace(0.0, 1.0, 5)),
        "LocalSpectrum": dynsys.spectrum_at(W, fp.points),
        "RefinedFixedPoint": dynsys.refine_fixed_point(W, fp.points[0]),
        "AttractorCensus": dynsys.attractor_census(net, x0, 50),
        "CensusTrack": track,
        "CensusTransitions": track.transitions,
        "CensusEvents": track.births,
        "CensusFaceChanges": track.face_changes,
        "FixedPointStatistics": dynsys.fixed_point_statistics(3, n_samples=3, seed=0),
        "FixedPointContinuation": cont,
        "FixedPointBranches": cont.branches,
        "FixedPointEvents": cont.events,
        "ContinuationWork": cont.work,
    }


def test_every_public_result_class_is_checked(instances):
    public = _public_result_classes()
    assert len(public) >= 19  # the guard itself must see the classes
    assert public == set(instances)
    for name, obj in instances.items():
        assert type(obj) is getattr(dynsys, name)


def test_equality_and_hash_never_raise(instances):
    other = object()
    for name, obj in instances.items():
        assert (obj == obj) is True, name
        assert (obj != other) is True, name
        assert (obj == other) is False, name
        hash(obj)


def test_counts_compare_by_value():
    W = np.random.default_rng(1).normal(size=(4, 4))
    a, b = dynsys.count_fixed_points(W), dynsys.count_fixed_points(W)
    assert a is not b and a == b and hash(a) == hash(b)
    assert a != dynsys.count_fixed_points(2.0 * W + 1.0)


def test_reprs_in_one_style(instances):
    for name, obj in instances.items():
        text = repr(obj)
        assert re.fullmatch(rf"{name}\(.+\)", text), text
        assert "\n" not in text and len(text) < 250, name
        # the width is N everywhere (never n= or width=)
        assert not re.search(r"\b(n|width)=", text), text


def test_the_private_validated_weights_follow_the_same_rules():
    from dynsys._fixed_points._common import validate_weights

    a, b = validate_weights([[1.0, 2.0], [3.0, 4.0]]), validate_weights([[1.0, 2.0], [3.0, 4.0]])
    assert a == a and a != b and len({a, b}) == 2  # identity: == and hash never raise
    assert repr(a) == "Weights(N=2, exact=False)"
