"""The table of claims: every row of ``shared/REFERENCE.md`` section 4, and a few more.

Each row holds the claim, the paper's own value (the only numbers typed in here), the value
computed by the run, and a verdict in {``reproduced``, ``partly``, ``not reproduced``,
``not applicable``}. Every verdict follows from the computed numbers by the rule stated in the
row's ``rule`` field (and in the docs); none is typed in. The tolerance bands are constants of
this module so that they are visible in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ClaimRow", "VERDICTS", "build_claims", "claims_markdown", "CLAIM_IDS", "TOLERANCES"]

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_APPLICABLE = (
    "reproduced", "partly", "not reproduced", "not applicable")
#: The four verdicts.
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_APPLICABLE)

#: The tolerance bands of the rules (all in the units of the quantity compared).
TOLERANCES = {
    "error_pp_reproduced": 1.0,  # test error at most paper + 1 percentage point
    "error_pp_partly": 5.0,  # ... at most paper + 5 pp
    "settle_layer_slack": 2,  # "after layer 4": settles by layer 4 + 2
    "std_small": 0.05,  # within-class std "small" (residual units)
    "step_converged": 1e-3,  # mean |y(T) - y(T-1)| below this: converged
    "few_states_max": 5,  # "a few" fixed points: 2..5 distinct class-mean states
    "eig_small": 0.1,  # "small" positive eigenvalue (paper: about 0.02)
    "neuron_match_slack": 2,  # classes allowed to miss (paper: 1 of 10 misses)
    "spearman": 0.9,  # monotone trend of a noise curve
    "onset_mlp_max": 0.2,  # MLP misclassifies from about 0.1 (factor 2)
    "onset_resnet_min": 0.5,  # ResNet misclassifies only above 0.5
    "knn_reproduced": 0.85,  # 2-D embedding: 5-NN accuracy for "separate clusters"
    "knn_partly": 0.5,
    "adaptive_error_pp": 0.5,  # "no change" in accuracy: within 0.5 pp of full depth
    "adaptive_error_pp_partly": 2.0,
    "adaptive_depth_slack": 2,  # final depth within paper + 2 layers
    "few_dims_max": 0.2,  # "a few dimensions": at most 20 % of neurons differ
    "few_dims_partly": 0.5,
    "sensitivity_log10": 2.0,  # "orders of magnitude": >= 2 decades
    "slope_band": 0.3,  # perturbation slope within -1 +/- 0.3
    "transient_margin": 0.01,  # transients beat end points by >= 1 pp
    "mlp_above_chance": 0.10,  # the MLP counts as trained if its error is 10 pp below chance
}

#: Data sets on which the paper's absolute MNIST error rates are comparable.
_MNIST_LIKE = ("mnist", "mnist5k")


@dataclass(frozen=True)
class ClaimRow:
    """One row of the claims table."""

    id: str
    claim: str
    source: str
    paper: str
    ours: str
    verdict: str
    rule: str

    def to_dict(self) -> dict:
        """The row as a plain dict (for ``results.json``)."""
        return asdict(self)


def _pct(x):
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.2f} %"


def _spearman(x, y):
    from scipy.stats import spearmanr

    if len(x) < 3 or np.allclose(y, y[0]):
        return 0.0
    r = spearmanr(x, y).statistic
    return float(r) if np.isfinite(r) else 0.0


# --------------------------------------------------------------------------- the rules
def _rule_error(err, paper, dataset):
    rule = (f"on MNIST data: reproduced if error <= paper + {TOLERANCES['error_pp_reproduced']} pp,"
            f" partly if <= paper + {TOLERANCES['error_pp_partly']} pp; other data: not applicable")
    if err is None:
        return "not run", NOT_APPLICABLE, rule
    ours = f"{_pct(err)} ({dataset})"
    if dataset not in _MNIST_LIKE:
        return ours, NOT_APPLICABLE, rule
    d = 100 * err - paper
    v = (REPRODUCED if d <= TOLERANCES["error_pp_reproduced"]
         else PARTLY if d <= TOLERANCES["error_pp_partly"] else NOT_REPRODUCED)
    return ours, v, rule


def build_claims(*, dataset: str, errors: dict, n_classes: int = 10, stats=None, neurons=None,
                 noise=None,
                 class_res=None, embedding=None, cosine=None, distances=None, jacobian=None,
                 adaptive=None, sensitivity=None, perturbation=None, exact=None):
    """Build the claims table from the analyses' results.

    Parameters
    ----------
    dataset : str
        The data set the networks were trained on.
    errors : dict
        Test errors (fractions) keyed ``"resnet_shared"``, ``"resnet_variable"``, ``"mlp"``.
    n_classes : int
        Number of classes; an MLP whose error is not `mlp_above_chance` below the chance
        error 1 - 1/C did not train, and the rows comparing it with the ResNet are then
        "not applicable".
    stats : ResidualStatsResult
        Fig. 2 (keys ``resnet_shared`` at the long depth, ``resnet_variable``, ``mlp``).
    neurons, noise, class_res, embedding, cosine, distances, jacobian, adaptive, sensitivity, perturbation, exact : result objects
        The results of the other analyses (any may be ``None``: its rows then read
        "not run" with verdict "not applicable").

    Returns
    -------
    tuple of ClaimRow
    """
    T = TOLERANCES
    rows = []
    mlp_err = errors.get("mlp")
    chance = 1.0 - 1.0 / n_classes
    mlp_untrained = mlp_err is not None and mlp_err > chance - T["mlp_above_chance"]
    mlp_rows = {"mlp_long_oscillates", "noise_curves", "noise_robustness",
                "class_residual_stats", "cosine_similarity"}

    def add(id_, claim, source, paper, ours, verdict, rule):
        assert verdict in VERDICTS, verdict
        if mlp_untrained and id_ in mlp_rows:
            ours = f"MLP did not train (test error {100 * mlp_err:.1f} %, chance " \
                   f"{100 * chance:.0f} %); " + ours
            verdict = NOT_APPLICABLE
            rule = rule + (f"; not applicable when the MLP's error is within "
                           f"{100 * T['mlp_above_chance']:.0f} pp of chance")
        rows.append(ClaimRow(id_, claim, source, paper, ours, verdict, rule))

    # 1-2: test errors
    ours, v, rule = _rule_error(errors.get("resnet_shared"), 1.4, dataset)
    add("shared_error", "15-layer ResNet, shared weights: test error", "001 Sect. 6", "1.4 %",
        ours, v, rule)
    ours, v, rule = _rule_error(errors.get("resnet_variable"), 1.8, dataset)
    add("variable_error", "15-layer ResNet, variable weights: test error", "001 Sect. 6",
        "about 1.8 %", ours, v, rule)

    nets = stats.networks if stats is not None else {}
    # 3: variable weights settle after layer 4
    rule = (f"reproduced if the std across all samples stays below {stats.tol if stats else 0.01} "
            f"from layer <= 4 + {T['settle_layer_slack']}; partly if it settles later; "
            "not reproduced if it never does")
    st = nets.get("resnet_variable")
    if st is None:
        add("variable_settles", "variable weights: std of residuals across samples ~0 after "
            "layer 4 (one fixed point for all classes)", "001 Fig. 2B", "after layer 4",
            "not run", NOT_APPLICABLE, rule)
    else:
        sl = st.settle_layer
        v = (NOT_REPRODUCED if sl is None else
             REPRODUCED if sl <= 4 + T["settle_layer_slack"] else PARTLY)
        add("variable_settles", "variable weights: std of residuals across samples ~0 after "
            "layer 4 (one fixed point for all classes)", "001 Fig. 2B", "after layer 4",
            f"settles at layer {sl if sl is not None else 'never'} of {st.n_layers}; "
            f"final std {st.final_std_all:.3g}", v, rule)

    # 4: shared weights at 1000 layers: a few fixed points, small within-class std
    rule = (f"reproduced if converged (mean |y(T)-y(T-1)| < {T['step_converged']}), within-class "
            f"std < {T['std_small']} and 2..{T['few_states_max']} distinct class-mean states; "
            "partly if converged with small std but another number of states; else not")
    st = nets.get("resnet_shared")
    cr = class_res.networks.get("resnet_shared") if class_res is not None else None
    if st is None or cr is None:
        add("shared_long_fixed_points", "shared weights run to 1000 layers without retraining: "
            "a few non-zero fixed points, small within-class std", "001 Fig. 2A, 5A-B",
            "a few fixed points, negligible std", "not run", NOT_APPLICABLE, rule)
    else:
        small = cr.within_std < T["std_small"]
        few = 2 <= cr.n_distinct_states <= T["few_states_max"]
        v = (REPRODUCED if st.converged and small and few else
             PARTLY if st.converged and small else NOT_REPRODUCED)
        add("shared_long_fixed_points", "shared weights run to 1000 layers without retraining: "
            "a few non-zero fixed points, small within-class std", "001 Fig. 2A, 5A-B",
            "a few fixed points, negligible std",
            f"T={st.n_layers}: {cr.n_distinct_states} distinct class-mean states, within-class "
            f"std {cr.within_std:.3g}, mean |y(T)-y(T-1)| {st.final_step:.2g}", v, rule)

    # 5: MLP does not converge
    rule = (f"reproduced if the MLP's mean |y(T)-y(T-1)| >= {T['step_converged']} at the long "
            "depth (no convergence); not reproduced otherwise")
    st = nets.get("mlp")
    if st is None:
        add("mlp_long_oscillates", "MLP run to 1000 layers: oscillatory, no convergence",
            "001 Fig. 2C, 5C-D", "no convergence", "not run", NOT_APPLICABLE, rule)
    else:
        v = REPRODUCED if not st.converged else NOT_REPRODUCED
        add("mlp_long_oscillates", "MLP run to 1000 layers: oscillatory, no convergence",
            "001 Fig. 2C, 5C-D", "no convergence",
            f"T={st.n_layers}: mean |y(T)-y(T-1)| {st.final_step:.3g}, within-class std "
            f"{st.final_std_within:.3g}", v, rule)

    # 6: Jacobian at class means
    rule = (f"reproduced if some classes have exactly one positive eigenvalue below "
            f"{T['eig_small']} and all other classes none; partly if any class mean has a "
            "positive eigenvalue (saddle-like); not reproduced if all are stable")
    if jacobian is None:
        add("jacobian_saddles", "layer 1000, Jacobian at each class's mean residual: some "
            "classes have one small positive eigenvalue, the rest negative: saddles",
            "001 Sect. 6", "classes 0, 2, 3; eigenvalue about 0.02", "not run",
            NOT_APPLICABLE, rule)
    else:
        pcs = jacobian.per_class
        idx1 = [cj.cls for cj in pcs if cj.small_positive]
        others_ok = all(cj.n_positive == 0 for cj in pcs if not cj.small_positive)
        anypos = any(cj.n_positive > 0 for cj in pcs)
        v = (REPRODUCED if idx1 and others_ok else PARTLY if anypos else NOT_REPRODUCED)
        maxre = ", ".join(f"{cj.cls}: {cj.max_real:.2g}" for cj in pcs)
        fp = "; ".join(sorted({cj.fp_type_flow for cj in pcs}))
        add("jacobian_saddles", "layer 1000, Jacobian at each class's mean residual: some "
            "classes have one small positive eigenvalue, the rest negative: saddles",
            "001 Sect. 6", "classes 0, 2, 3; eigenvalue about 0.02",
            f"index-1 small: {idx1 or 'none'}; max Re per class {maxre}; refined fixed "
            f"points ({jacobian.n_distinct_fixed_points} distinct): {fp}", v, rule)

    # 7: classifier neurons
    rule = (f"reproduced if at most {T['neuron_match_slack']} classes miss; partly if at least "
            "half match; not reproduced otherwise")
    if neurons is None:
        add("classifier_neuron", "for all classes but 8 the most-weighted neuron has the "
            "largest x(15)", "001 Fig. 3", "9 of 10 classes", "not run", NOT_APPLICABLE, rule)
    else:
        C = len(neurons.classes)
        v = (REPRODUCED if C - neurons.n_match <= T["neuron_match_slack"] else
             PARTLY if neurons.n_match >= C / 2 else NOT_REPRODUCED)
        add("classifier_neuron", "for all classes but 8 the most-weighted neuron has the "
            "largest x(15)", "001 Fig. 3", "9 of 10 classes",
            f"{neurons.n_match} of {C} classes (misses: {list(neurons.mismatched_classes)})",
            v, rule)

    # 8-9: noise
    rule8 = (f"reproduced if, for both nets, the noise-to-signal ratio rises and the cosine "
             f"similarity falls with a (Spearman |rho| >= {T['spearman']}); partly if one does")
    rule9 = (f"reproduced if the MLP's ratio is lower at every a < 0.1, the MLP misclassifies "
             f"from a <= {T['onset_mlp_max']} and the ResNet only from a > "
             f"{T['onset_resnet_min']}; partly if the ratio part or the onset order "
             "(ResNet later than MLP) holds; not reproduced otherwise")
    if noise is None or "mlp" not in noise.curves or "resnet_shared" not in noise.curves:
        add("noise_curves", "noise-to-signal ratio and cosine similarity of final hidden layers "
            "against noise amplitude", "001 Fig. 4", "curves", "not run", NOT_APPLICABLE, rule8)
        add("noise_robustness", "for a < 0.1 the MLP has the lower noise-to-signal ratio; the "
            "MLP misclassifies from a = 0.1, the ResNet only for a > 0.5", "001 Sect. 6",
            "MLP from 0.1, ResNet above 0.5", "not run", NOT_APPLICABLE, rule9)
    else:
        a = noise.amplitudes
        ok = 0
        parts = []
        for name in ("resnet_shared", "mlp"):
            cv = noise.curves[name]
            rn, rc = _spearman(a, cv.nsr), _spearman(a, cv.cosine)
            ok += rn >= T["spearman"] and rc <= -T["spearman"]
            parts.append(f"{name}: ratio {cv.nsr[0]:.2g} -> {cv.nsr[-1]:.2g}, cosine "
                         f"{cv.cosine[0]:.3f} -> {cv.cosine[-1]:.3f}")
        v = REPRODUCED if ok == 2 else PARTLY if ok == 1 else NOT_REPRODUCED
        add("noise_curves", "noise-to-signal ratio and cosine similarity of final hidden layers "
            "against noise amplitude", "001 Fig. 4", "curves",
            f"a = {a[0]:.2g} .. {a[-1]:.2g}, {noise.n_realizations} realizations; "
            + "; ".join(parts), v, rule8)
        om, orr = noise.curves["mlp"].onset, noise.curves["resnet_shared"].onset
        inf = float("inf")
        frac = noise.mlp_lower_nsr_below
        ratio_ok = frac is not None and frac == 1.0
        order_ok = (orr if orr is not None else inf) > (om if om is not None else inf)
        full = (ratio_ok and om is not None and om <= T["onset_mlp_max"]
                and (orr is None or orr > T["onset_resnet_min"]))
        v = REPRODUCED if full else PARTLY if (ratio_ok or order_ok) else NOT_REPRODUCED
        fr = "n/a" if frac is None else f"{100 * frac:.0f} %"
        add("noise_robustness", "for a < 0.1 the MLP has the lower noise-to-signal ratio; the "
            "MLP misclassifies from a = 0.1, the ResNet only for a > 0.5", "001 Sect. 6",
            "MLP from 0.1, ResNet above 0.5",
            f"MLP ratio lower at {fr} of a < 0.1; misclassification onset MLP "
            f"{om if om is not None else 'none'}, ResNet {orr if orr is not None else 'none'}",
            v, rule9)

    # 10: class-by-class statistics of the final hidden layer
    rule = ("reproduced if the ResNet's within-class std of y(T) is below the MLP's (Fig. 5B "
            "vs 5D); not reproduced otherwise")
    if class_res is None or not {"resnet_shared", "mlp"} <= set(class_res.networks):
        add("class_residual_stats", "class-by-class mean and std of residuals in the final "
            "hidden layer", "001 Fig. 5", "ResNet std small, MLP more variable", "not run",
            NOT_APPLICABLE, rule)
    else:
        r, m = class_res.networks["resnet_shared"], class_res.networks["mlp"]
        v = REPRODUCED if r.within_std < m.within_std else NOT_REPRODUCED
        add("class_residual_stats", "class-by-class mean and std of residuals in the final "
            "hidden layer", "001 Fig. 5", "ResNet std small, MLP more variable",
            f"within-class std ResNet {r.within_std:.3g}, MLP {m.within_std:.3g}", v, rule)

    # 11: embedding
    rule = (f"reproduced if the leave-one-out 5-NN accuracy in the 2-D embedding of the "
            f"residual trajectories is >= {T['knn_reproduced']}, partly if >= {T['knn_partly']}")
    if embedding is None:
        add("embedding_clusters", "UMAP (or t-SNE) of residual trajectories: classes form "
            "separate clusters", "001 Fig. 6A; 003 Fig. 1D", "separate clusters", "not run",
            NOT_APPLICABLE, rule)
    else:
        key = next(iter(embedding.knn_accuracy))
        k = embedding.knn_accuracy[key]
        v = (REPRODUCED if k >= T["knn_reproduced"] else
             PARTLY if k >= T["knn_partly"] else NOT_REPRODUCED)
        extra = "; ".join(f"{n}: 5-NN {a:.2f}, silhouette {embedding.silhouette[n]:.2f}"
                          for n, a in embedding.knn_accuracy.items())
        add("embedding_clusters", "UMAP (or t-SNE) of residual trajectories: classes form "
            "separate clusters", "001 Fig. 6A; 003 Fig. 1D", "separate clusters",
            f"{embedding.method}: {extra}", v, rule)

    # 12: cosine similarity
    rule = ("reproduced if the ResNet's diagonal is the largest entry of every row and the "
            "MLP's diagonal contrast exceeds the ResNet's; partly if one of the two holds")
    if cosine is None or not {"resnet_shared", "mlp"} <= set(cosine.matrices):
        add("cosine_similarity", "class-by-class average cosine similarity of final hidden "
            "layers, ResNet vs MLP", "001 Fig. 6B-C", "diagonal largest; MLP sharper",
            "not run", NOT_APPLICABLE, rule)
    else:
        a1 = cosine.diag_is_row_max["resnet_shared"]
        a2 = cosine.contrast["mlp"] > cosine.contrast["resnet_shared"]
        v = REPRODUCED if a1 and a2 else PARTLY if (a1 or a2) else NOT_REPRODUCED
        C = len(cosine.classes)
        add("cosine_similarity", "class-by-class average cosine similarity of final hidden "
            "layers, ResNet vs MLP", "001 Fig. 6B-C", "diagonal largest; MLP sharper",
            f"ResNet: diagonal max in {cosine.n_rows_diag_max['resnet_shared']}/{C} rows, "
            f"contrast {cosine.contrast['resnet_shared']:.3f}; MLP: "
            f"{cosine.n_rows_diag_max['mlp']}/{C} rows, contrast {cosine.contrast['mlp']:.3f}",
            v, rule)

    # 13: trajectory distances
    rule = ("reproduced if within/between < 1 and the diagonal is the smallest entry of "
            "every row; partly if within/between < 1")
    if distances is None:
        add("trajectory_distance", "l2 distance between whole trajectories: smaller within a "
            "class", "003 Fig. 1C", "within < between", "not run", NOT_APPLICABLE, rule)
    else:
        C = len(distances.classes)
        v = (REPRODUCED if distances.ratio < 1 and distances.n_rows_diag_min == C else
             PARTLY if distances.ratio < 1 else NOT_REPRODUCED)
        add("trajectory_distance", "l2 distance between whole trajectories: smaller within a "
            "class", "003 Fig. 1C", "within < between",
            f"within/between {distances.ratio:.3f}; diagonal smallest in "
            f"{distances.n_rows_diag_min}/{C} rows", v, rule)

    # 14-15: adaptive depth
    for key, pdepth, paper, claim, src in (
        ("resnet_variable", 3, "3 layers, 1.7 % (15 layers: similar)",
         "adaptive depth, variable weights: the network shrinks to 3 layers at similar error",
         "001 Sect. 7"),
        ("resnet_shared", 5, "5 layers, no change in accuracy",
         "adaptive depth, shared weights: shrinks to 5 layers with no change in accuracy",
         "001 Sect. 7; 003 Sect. 3"),
    ):
        rid = "adaptive_variable" if key == "resnet_variable" else "adaptive_shared"
        rule = (f"reproduced if the final depth is <= {pdepth} + {T['adaptive_depth_slack']} "
                f"and the error is within {T['adaptive_error_pp']} pp of full depth; partly "
                f"if the net shrinks at all within {T['adaptive_error_pp_partly']} pp")
        r = adaptive.runs.get(key) if adaptive is not None else None
        if r is None:
            add(rid, claim, src, paper, "not run", NOT_APPLICABLE, rule)
            continue
        dpp = 100 * r.error_change
        if r.final_depth <= pdepth + T["adaptive_depth_slack"] and dpp <= T["adaptive_error_pp"]:
            v = REPRODUCED
        elif r.final_depth < r.reference_depth and dpp <= T["adaptive_error_pp_partly"]:
            v = PARTLY
        else:
            v = NOT_REPRODUCED
        add(rid, claim, src, paper,
            f"{r.reference_depth} -> {r.final_depth} layers, error {_pct(r.test_error)} vs "
            f"{_pct(r.reference_error)} at full depth", v, rule)

    # 16: long run, class means differ in few dimensions
    rule = (f"reproduced if the class means of y(1000) differ (span > dim_tol) in a fraction "
            f"of neurons in (0, {T['few_dims_max']}]; partly if in (0, {T['few_dims_partly']}]")
    cr = class_res.networks.get("resnet_shared") if class_res is not None else None
    if cr is None:
        add("long_run_few_dims", "1000-layer residual means differ between classes in a few "
            "dimensions", "001 Fig. 5 (appendix B)", "a few dimensions", "not run",
            NOT_APPLICABLE, rule)
    else:
        f = cr.frac_dims_differ
        v = (REPRODUCED if 0 < f <= T["few_dims_max"] else
             PARTLY if 0 < f <= T["few_dims_partly"] else NOT_REPRODUCED)
        add("long_run_few_dims", "1000-layer residual means differ between classes in a few "
            "dimensions", "001 Fig. 5 (appendix B)", "a few dimensions",
            f"{100 * f:.1f} % of neurons (span > {class_res.dim_tol})", v, rule)

    # beyond section 4: appendix A, 002, and the exact picture
    rule = (f"reproduced if log10(|det M'(4)| / |det M'(10)|) >= {T['sensitivity_log10']}; "
            "partly if > 0; not reproduced otherwise")
    if sensitivity is None:
        add("sensitivity_early_layers", "det M'(4) orders of magnitude larger than det M'(10)",
            "001 appendix A", "orders of magnitude", "not run", NOT_APPLICABLE, rule)
    else:
        r = sensitivity.log10_ratio
        v = (REPRODUCED if r >= T["sensitivity_log10"] else PARTLY if r > 0 else NOT_REPRODUCED)
        add("sensitivity_early_layers", "det M'(4) orders of magnitude larger than det M'(10)",
            "001 appendix A", "orders of magnitude",
            f"log10 ratio {r:.2f} (shared ResNet; larger in "
            f"{100 * sensitivity.frac_samples_larger:.0f} % of samples); output sensitivity "
            f"log10(|S(4)|/|S(10)|) = {sensitivity.log10_frob_ratio:.2f}", v, rule)
    rule = (f"reproduced if the log-log slope of the scaled magnitude against depth is within "
            f"-1 +/- {T['slope_band']}; partly if negative")
    if perturbation is None:
        add("perturbation_slope", "average scaled perturbation magnitude roughly inversely "
            "proportional to depth", "002 abstract", "slope -1", "not run", NOT_APPLICABLE, rule)
    else:
        s = perturbation.slope
        v = (REPRODUCED if abs(s + 1) <= T["slope_band"] else PARTLY if s < 0 else NOT_REPRODUCED)
        add("perturbation_slope", "average scaled perturbation magnitude roughly inversely "
            "proportional to depth", "002 abstract", "slope -1",
            f"slope {s:.2f} (R^2 {perturbation.r2:.2f}) over depths "
            f"{', '.join(str(int(d)) for d in perturbation.depths)}", v, rule)
    rule_fp = ("reproduced if the enumeration finds 3^N distinct fixed points; partly if it "
               "finds 3^N - 2^N + 1 (the 2^N patterns without a 1 all give the origin)")
    rule_tr = (f"reproduced if the trained classifier on x(T) beats the best end-point-only "
               f"classifier by >= {T['transient_margin'] * 100:.0f} pp; not reproduced otherwise")
    if exact is None:
        add("fixed_point_count", "eq. 3 has 3^N fixed points", "001 Sect. 4", "3^N", "not run",
            NOT_APPLICABLE, rule_fp)
        add("transients_classify", "ResNets classify by transients, not by end points",
            "001 abstract, Sect. 8", "transients", "not run", NOT_APPLICABLE, rule_tr)
    else:
        n = exact.n
        nf = exact.n_fixed_points
        v = (REPRODUCED if nf == 3 ** n else PARTLY if nf == 3 ** n - 2 ** n + 1
             else NOT_REPRODUCED)
        add("fixed_point_count", "eq. 3 has 3^N fixed points", "001 Sect. 4", "3^N",
            f"N = {n}: {nf} distinct isolated points (3^N = {3 ** n}, 3^N - 2^N + 1 = "
            f"{3 ** n - 2 ** n + 1}), {exact.n_singular} singular patterns, {exact.n_in_box} "
            f"in the cube, {len(exact.stable_points)} stable for the layer map", v, rule_fp)
        gap = exact.acc_trained - exact.acc_endpoint
        v = REPRODUCED if gap >= T["transient_margin"] else NOT_REPRODUCED
        add("transients_classify", "ResNets classify by transients, not by end points",
            "001 abstract, Sect. 8", "transients",
            f"small net N = {n}: accuracy {_pct(exact.acc_trained)} from x(T) vs "
            f"{_pct(exact.acc_endpoint)} from end points alone ({exact.n_endpoints_used} "
            "end points used)", v, rule_tr)
    return tuple(rows)


#: Ids of the rows :func:`build_claims` always returns, in order.
CLAIM_IDS = (
    "shared_error", "variable_error", "variable_settles", "shared_long_fixed_points",
    "mlp_long_oscillates", "jacobian_saddles", "classifier_neuron", "noise_curves",
    "noise_robustness", "class_residual_stats", "embedding_clusters", "cosine_similarity",
    "trajectory_distance", "adaptive_variable", "adaptive_shared", "long_run_few_dims",
    "sensitivity_early_layers", "perturbation_slope", "fixed_point_count",
    "transients_classify",
)


def claims_markdown(rows) -> str:
    """The claims as a Markdown table (id, claim, source, paper, ours, verdict)."""
    lines = ["| id | claim | source | paper | ours | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [r.id, r.claim, r.source, r.paper, r.ours, f"**{r.verdict}**"]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
