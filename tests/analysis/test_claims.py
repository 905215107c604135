"""The claims table: every row of REFERENCE.md section 4, verdicts by stated rules."""

import numpy as np

import analysis as A
from analysis.claims import TOLERANCES, build_claims


def test_every_row_present_and_not_applicable_without_results():
    rows = build_claims(dataset="mnist5k", errors={})
    assert tuple(r.id for r in rows) == A.CLAIM_IDS
    assert len(rows) == 20  # 16 rows of REFERENCE.md section 4 + 4 beyond it
    assert all(r.verdict == "not applicable" and r.rule for r in rows)
    md = A.claims_markdown(rows)
    assert md.count("\n") == len(rows) + 2


def _verdict(rows, id_):
    return next(r for r in rows if r.id == id_).verdict


def test_error_bands():
    band = TOLERANCES["error_pp_reproduced"]
    for err, verdict in ((0.014, "reproduced"), (0.014 + (band + 1) / 100, "partly"),
                         (0.20, "not reproduced")):
        rows = build_claims(dataset="mnist5k", errors={"resnet_shared": err})
        assert _verdict(rows, "shared_error") == verdict
    rows = build_claims(dataset="digits", errors={"resnet_shared": 0.01})
    assert _verdict(rows, "shared_error") == "not applicable"
    assert "1.00 %" in next(r for r in rows if r.id == "shared_error").ours


def test_verdicts_follow_computed_numbers():
    lab = np.repeat(np.arange(3), 5)
    # distances: identical within class -> reproduced
    X = np.eye(3, 6)[lab] * 3
    d = A.trajectory_distances(X, lab)
    cos = A.class_cosine_similarity({"resnet_shared": X, "mlp": X}, lab)
    rows = build_claims(dataset="mnist5k", errors={}, distances=d, cosine=cos)
    assert _verdict(rows, "trajectory_distance") == "reproduced"
    # equal contrasts: the MLP is not sharper, only the diagonal part holds -> partly
    assert _verdict(rows, "cosine_similarity") == "partly"
    # adaptive depth: shrink to 4 layers at equal error -> reproduced for shared (paper 5)
    ad = A.adaptive_depth_summary([A.DepthRun("resnet_shared", (15, 4), 0.02, 0.02, 15),
                                   A.DepthRun("resnet_variable", (15, 15), 0.02, 0.02, 15)])
    rows = build_claims(dataset="mnist5k", errors={}, adaptive=ad)
    assert _verdict(rows, "adaptive_shared") == "reproduced"
    assert _verdict(rows, "adaptive_variable") == "not reproduced"
    p = A.perturbation_slope([2, 4, 8], [1.0, 0.5, 0.25])
    rows = build_claims(dataset="mnist5k", errors={}, perturbation=p)
    assert _verdict(rows, "perturbation_slope") == "reproduced"
    p = A.perturbation_slope([2, 4, 8], [1.0, 0.9, 0.8])
    rows = build_claims(dataset="mnist5k", errors={}, perturbation=p)
    assert _verdict(rows, "perturbation_slope") == "partly"


def test_untrained_mlp_makes_comparisons_not_applicable():
    lab = np.repeat(np.arange(3), 5)
    X = np.eye(3, 6)[lab] * 3
    cos = A.class_cosine_similarity({"resnet_shared": X, "mlp": X}, lab)
    rows = build_claims(dataset="mnist5k", errors={"mlp": 0.9}, n_classes=10, cosine=cos)
    row = next(r for r in rows if r.id == "cosine_similarity")
    assert row.verdict == "not applicable" and "did not train" in row.ours
    rows = build_claims(dataset="mnist5k", errors={"mlp": 0.1}, n_classes=10, cosine=cos)
    assert _verdict(rows, "cosine_similarity") == "partly"
