"""The table of claims: the papers' statements, each judged from the numbers of this run.

A claim is one entry of the registry :data:`CLAIMS`: its id, the statement, its source, the
paper's own value (the only numbers typed in here) and the rule, all written once where the
claim is registered, and a small *rule function* that takes the computed results and returns
a :class:`Judgement`: the value computed by the run (``ours``, as text), a verdict in
{``reproduced``, ``partly``, ``not reproduced``, ``not applicable``} and the numbers behind it
(``numbers``, a dict that ``results.json`` stores beside the text). No verdict is typed in.
The tolerance bands of the rules are the constants :data:`TOLERANCES`, visible in one place.

The papers are cited as Lagzi 2018 ("Residual networks classify inputs based on their neural
transient dynamics"), the NIPS 2018 submission ("Compact representations and pruning in
residual networks") and Hauser 2019 ("On residual networks learning a perturbation from
identity", arXiv 1902.04106).

Adding a claim
--------------
Register a rule function with :func:`claim`; it receives the mapping of results that
:func:`build_claims` was given (keys such as ``"stats"``, ``"jacobian"``; a new analysis adds
its own key) and returns ``None`` when what it needs was not run. A rule may consult several
results, preferring the most exact one available (for instance an attractor census over the
class-mean Jacobian).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._common import ShortRepr

__all__ = ["Claim", "ClaimRow", "Judgement", "CLAIMS", "CLAIM_IDS", "VERDICTS", "TOLERANCES",
           "claim", "build_claims", "claims_markdown"]

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_APPLICABLE = (
    "reproduced", "partly", "not reproduced", "not applicable")
#: The four verdicts.
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_APPLICABLE)

#: The tolerance bands of the rules (all in the units of the quantity compared).
TOLERANCES = {
    "error_pp_reproduced": 1.0,  # mnist5k: test error at most paper + 1 percentage point
    "error_pp_partly": 5.0,  # ... at most paper + 5 pp
    "mnist_error_pp_reproduced": 0.3,  # the paper's own data: at most paper + 0.3 pp
    "mnist_error_pp_partly": 1.0,  # ... at most paper + 1 pp
    "spread_tol": 0.01,  # Fig. 2: std across samples below this counts as settled
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
    "span_tol": 0.05,  # Fig. 5: class means of a neuron "differ" when they span more
    "few_dims_max": 0.2,  # "a few dimensions": at most 20 % of neurons differ
    "few_dims_partly": 0.5,
    "sensitivity_log10": 2.0,  # "orders of magnitude": >= 2 decades
    "slope_band": 0.3,  # perturbation slope within -1 +/- 0.3
    "transient_margin": 0.01,  # transients beat end points by >= 1 pp
    "census_settled": 0.9,  # census: "converge to fixed points" = this fraction at attractors
    "census_majority": 0.5,  # census: a class "sits at" a status held by this fraction
    "census_few_max": 20,  # census: "a few" distinct attractors reached
    "mlp_above_chance": 0.10,  # the MLP counts as trained if its error is 10 pp below chance
}
_T = TOLERANCES

L18 = "Lagzi 2018"
SUB = "NIPS 2018 submission"
H19 = "Hauser 2019"


@dataclass(frozen=True, repr=False)
class Judgement(ShortRepr):
    """What a rule function returns: the computed value as text, the verdict, the numbers."""

    ours: str
    verdict: str
    numbers: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"`verdict` must be one of {VERDICTS}; got {self.verdict!r}.")


@dataclass(frozen=True, repr=False)
class Claim(ShortRepr):
    """One registered claim: everything about it that is written once.

    Attributes
    ----------
    id : str
        Stable identifier (tests, scripts and ``results.json`` use it).
    claim, source, paper : str
        The statement, where it is made, and the paper's value.
    rule : str
        How the verdict follows from the numbers (shown in the report).
    judge : callable
        ``judge(results) -> Judgement or None`` (``None``: not run).
    compares_mlp : bool
        The claim compares the ResNet with the MLP: it is not applicable when the MLP did not
        train.
    """

    id: str
    claim: str
    source: str
    paper: str
    rule: str
    judge: Callable = field(repr=False, compare=False)
    compares_mlp: bool = False


@dataclass(frozen=True, repr=False)
class ClaimRow(ShortRepr):
    """One row of the claims table: a :class:`Claim` judged on one run."""

    id: str
    claim: str
    source: str
    paper: str
    ours: str
    verdict: str
    rule: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The row as a plain dict (for ``results.json``)."""
        return {"id": self.id, "claim": self.claim, "source": self.source,
                "paper": self.paper, "ours": self.ours, "verdict": self.verdict,
                "rule": self.rule, "numbers": _plain(self.numbers)}


def _plain(obj):
    """Numbers as JSON-ready Python values (NaN and infinities become None)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_plain(v) for v in np.asarray(obj, dtype=object).tolist()] \
            if isinstance(obj, np.ndarray) else [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


#: The registry: claim id -> :class:`Claim`, in table order.
CLAIMS: dict = {}


def claim(id: str, claim: str, source: str, paper: str, rule: str, *,
          compares_mlp: bool = False):
    """Register the decorated rule function as the judge of a new claim."""
    def register(judge):
        if id in CLAIMS:
            raise ValueError(f"claim id {id!r} is registered already.")
        CLAIMS[id] = Claim(id, claim, source, paper, rule, judge, compares_mlp)
        return judge

    return register


def _pct(x):
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.2f} %"


def _spearman(x, y):
    from scipy.stats import spearmanr

    if len(x) < 3 or np.allclose(y, y[0]):
        return 0.0
    r = spearmanr(x, y).statistic
    return float(r) if np.isfinite(r) else 0.0


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


# --------------------------------------------------------------------------- test errors
_ERROR_RULE = (f"on the full MNIST (the paper's data): reproduced if error <= paper + "
               f"{_T['mnist_error_pp_reproduced']} pp, partly if <= paper + "
               f"{_T['mnist_error_pp_partly']} pp; on mnist5k (4,000 training images): "
               f"reproduced if <= paper + {_T['error_pp_reproduced']} pp, partly if <= paper + "
               f"{_T['error_pp_partly']} pp; other data: not applicable")

#: Data set -> (reproduced, partly) bands in percentage points above the paper's test error.
#: The full MNIST is the paper's own data, so its bands are tight; mnist5k trains on a fifteenth
#: of it and keeps wider ones.
_ERROR_BANDS = {
    "mnist": (_T["mnist_error_pp_reproduced"], _T["mnist_error_pp_partly"]),
    "mnist5k": (_T["error_pp_reproduced"], _T["error_pp_partly"]),
}


def _judge_error(r, key, paper_pct):
    err = r.get("errors", {}).get(key)
    if err is None:
        return None
    dataset = r.get("dataset")
    base = r.get("baselines") or {}
    ours = f"{_pct(err)} ({dataset})"
    if base:
        ours += "; scikit-learn on the same split: " + ", ".join(
            f"{name} {_pct(e)}" for name, e in base.items())
    numbers = {"test_error": err, "paper_error": paper_pct / 100}
    if base:
        numbers["baseline_errors"] = dict(base)
    if dataset not in _ERROR_BANDS:
        return Judgement(ours, NOT_APPLICABLE, numbers)
    reproduced_pp, partly_pp = _ERROR_BANDS[dataset]
    d = 100 * err - paper_pct
    v = (REPRODUCED if d <= reproduced_pp
         else PARTLY if d <= partly_pp else NOT_REPRODUCED)
    return Judgement(ours, v, numbers)


@claim("shared_error", "15-layer ResNet, shared weights: test error", f"{L18}, Sect. 6",
       "1.4 %", _ERROR_RULE)
def _shared_error(r):
    return _judge_error(r, "resnet_shared", 1.4)


@claim("variable_error", "15-layer ResNet, variable weights: test error", f"{L18}, Sect. 6",
       "about 1.8 %", _ERROR_RULE)
def _variable_error(r):
    return _judge_error(r, "resnet_variable", 1.8)


# --------------------------------------------------------------------------- Fig. 2, 5
@claim("variable_settles", "variable weights: std of residuals across samples ~0 after layer 4 "
       "(one fixed point for all classes)", f"{L18}, Fig. 2B", "after layer 4",
       f"reproduced if the std across all samples stays below {_T['spread_tol']} from layer "
       f"<= 4 + {_T['settle_layer_slack']}; partly if it settles later; not reproduced if it "
       "never does")
def _variable_settles(r):
    st = _net(r.get("stats"), "resnet_variable")
    if st is None:
        return None
    sl = st.settle_layer
    v = (NOT_REPRODUCED if sl is None else
         REPRODUCED if sl <= 4 + _T["settle_layer_slack"] else PARTLY)
    where = (f"settles at layer {sl} of {st.n_layers}" if sl is not None
             else f"does not settle within {st.n_layers} layers")
    return Judgement(f"{where}; final std {st.final_std_all:.3g}", v,
                     {"settle_layer": sl, "n_layers": st.n_layers,
                      "final_std_all": st.final_std_all})


def _net(stats, name):
    return None if stats is None else stats.networks.get(name)


def _census(r, name):
    """The :class:`analysis.census.NetworkCensus` of network `name`, or None."""
    return _net(r.get("census"), name)


@claim("shared_long_fixed_points", "shared weights run to 1000 layers without retraining: a few "
       "non-zero fixed points, small within-class std", f"{L18}, Fig. 2A, 5A-B",
       "a few fixed points, negligible std",
       f"from the attractor census of the test inputs: reproduced if at least "
       f"{_T['census_settled']:.0%} of them sit at attractors of the layer map and they reach "
       f"2..{_T['census_few_max']} distinct attractors; partly if at least "
       f"{_T['census_settled']:.0%} sit at fixed points (attractors or saddles, i.e. slow "
       f"passages) or at least {_T['census_majority']:.0%} at attractors; else not. Without a "
       f"census: the class means (mean |y(T)-y(T-1)| < {_T['step_converged']}, within-class std "
       f"< {_T['std_small']}, 2..{_T['few_states_max']} distinct class-mean states)")
def _shared_long_fixed_points(r):
    cen = _census(r, "resnet_shared")
    st = _net(r.get("stats"), "resnet_shared")
    cr = _net(r.get("class_res"), "resnet_shared")
    if cen is not None:
        f = cen.fractions()
        att, sad = f["attractor"], f["saddle"]
        n_att = cen.n_attractors
        v = (REPRODUCED if att >= _T["census_settled"] and 2 <= n_att <= _T["census_few_max"]
             else PARTLY if att + sad >= _T["census_settled"] or att >= _T["census_majority"]
             else NOT_REPRODUCED)
        nums = {"fraction_attractor": att, "fraction_saddle": sad,
                "fraction_not_converged": f["not converged"], "fraction_cycle": f["cycle"],
                "n_attractors": n_att, "n_saddles": cen.n_saddles,
                "n_end_states": int(cen.census.points.shape[0]),
                "depth": cen.census.depth, "max_depth": cen.census.max_depth}
        text = (f"census to layer {cen.census.max_depth or cen.census.depth}: {_pct(att)} at "
                f"{_plural(n_att, 'attractor')}, {_pct(sad)} at saddles "
                f"({_plural(cen.n_saddles, 'distinct saddle')}), {_pct(f['not converged'])} not "
                "converged")
        if cr is not None:
            text += f"; class means: {cr.n_distinct_states} distinct states"
            nums["n_distinct_class_mean_states"] = cr.n_distinct_states
            if st is not None:
                text += (f", within-class std {cr.within_std:.3g}, mean |y(T)-y(T-1)| "
                         f"{st.final_step:.2g} at T={st.n_layers}")
                nums.update(within_std=cr.within_std, final_step=st.final_step)
        return Judgement(text, v, nums)
    if st is None or cr is None:
        return None
    small = cr.within_std < _T["std_small"]
    few = 2 <= cr.n_distinct_states <= _T["few_states_max"]
    v = (REPRODUCED if st.converged and small and few else
         PARTLY if st.converged and small else NOT_REPRODUCED)
    return Judgement(
        f"T={st.n_layers}: {cr.n_distinct_states} distinct class-mean states, within-class std "
        f"{cr.within_std:.3g}, mean |y(T)-y(T-1)| {st.final_step:.2g}", v,
        {"n_layers": st.n_layers, "n_distinct_states": cr.n_distinct_states,
         "within_std": cr.within_std, "final_step": st.final_step, "converged": st.converged})


@claim("mlp_long_oscillates", "MLP run to 1000 layers: oscillatory, no convergence",
       f"{L18}, Fig. 2C, 5C-D", "no convergence",
       f"from the census of the MLP with its last layer repeated: reproduced if at least "
       f"{_T['census_majority']:.0%} of the test inputs end on a cycle or do not converge; "
       f"partly if some (at least 10 %) do; not reproduced if nearly all reach fixed points. "
       f"Without a census: reproduced if the MLP's mean |y(T)-y(T-1)| >= "
       f"{_T['step_converged']} at the long depth", compares_mlp=True)
def _mlp_long_oscillates(r):
    cen = _census(r, "mlp")
    if cen is not None:
        f = cen.fractions()
        moving = f["cycle"] + f["not converged"]
        v = (REPRODUCED if moving >= _T["census_majority"] else PARTLY if moving >= 0.1
             else NOT_REPRODUCED)
        c = cen.census
        per = np.atleast_1d(c.period)[np.atleast_1d(c.status) == "cycle"]
        lyap = np.atleast_1d(c.lyapunov)[np.atleast_1d(c.status) == "not converged"]
        periods = sorted({int(p) for p in per.tolist()})
        text = (f"census to layer {c.max_depth or c.depth}: {_pct(f['attractor'] + f['saddle'])} "
                f"at fixed points, {_pct(f['cycle'])} on cycles"
                + (f" (periods {', '.join(map(str, periods[:6]))})" if periods else "")
                + f", {_pct(f['not converged'])} not converged"
                + (f" (largest Lyapunov exponent median {np.median(lyap):.3g})"
                   if lyap.size and np.isfinite(lyap).any() else ""))
        return Judgement(text, v, {
            "fraction_fixed_point": f["attractor"] + f["saddle"], "fraction_cycle": f["cycle"],
            "fraction_not_converged": f["not converged"], "periods": periods,
            "lyapunov_median": float(np.nanmedian(lyap)) if lyap.size else None})
    st = _net(r.get("stats"), "mlp")
    if st is None:
        return None
    v = REPRODUCED if not st.converged else NOT_REPRODUCED
    return Judgement(
        f"T={st.n_layers}: mean |y(T)-y(T-1)| {st.final_step:.3g}, within-class std "
        f"{st.final_std_within:.3g}", v,
        {"n_layers": st.n_layers, "final_step": st.final_step,
         "final_std_within": st.final_std_within, "converged": st.converged})


# --------------------------------------------------------------------------- Sect. 6
@claim("jacobian_saddles", "layer 1000, Jacobian at each class's mean residual: some classes "
       "have one small positive eigenvalue, the rest negative: saddles", f"{L18}, Sect. 6",
       "classes 0, 2, 3; eigenvalue about 0.02",
       f"the class-mean Jacobian (the paper's method) and, beside it, the exact census. From "
       f"the census: reproduced if some classes have at least {_T['census_majority']:.0%} of "
       f"their inputs at index-1 saddles with leading eigenvalue below {_T['eig_small']} and "
       f"every other class that share at attractors; partly if any class has that share at "
       f"saddles; not reproduced if none has. Without a census: reproduced if some class means "
       f"have exactly one positive eigenvalue below {_T['eig_small']} and all others none; "
       f"partly if any class mean has a positive eigenvalue; not reproduced if all are stable")
def _jacobian_saddles(r):
    jac = r.get("jacobian")
    cen = _census(r, "resnet_shared")
    if jac is None and cen is None:
        return None
    text, nums, v = [], {}, None
    if jac is not None:
        pcs = jac.per_class
        idx1 = [cj.cls for cj in pcs if cj.small_positive]
        others_ok = all(cj.n_positive == 0 for cj in pcs if not cj.small_positive)
        anypos = any(cj.n_positive > 0 for cj in pcs)
        v = REPRODUCED if idx1 and others_ok else PARTLY if anypos else NOT_REPRODUCED
        maxre = ", ".join(f"{cj.cls}: {cj.max_real:.2g}" for cj in pcs)
        fp = "; ".join(sorted({cj.fp_type_flow for cj in pcs}))
        text.append(f"class means: index-1 small {idx1 or 'none'}; max Re per class {maxre}; "
                    f"refined fixed points ({jac.n_distinct_fixed_points} distinct): {fp}")
        nums.update({"index1_small_classes": idx1,
                     "max_real": {str(cj.cls): cj.max_real for cj in pcs},
                     "n_positive": {str(cj.cls): cj.n_positive for cj in pcs},
                     "n_distinct_fixed_points": jac.n_distinct_fixed_points,
                     "verdict_class_means": v})
    if cen is not None:
        C = cen.status_fraction.shape[1]
        per_class, small1, at_att, at_sad = {}, [], [], []
        for k in range(C):
            fr = cen.status_fraction[:, k]
            if not np.isfinite(fr).all():
                continue
            sel = cen.saddle_class == k
            idx = cen.saddle_index[sel]
            leading_eig = cen.saddle_leading[sel]
            n1 = int(np.sum((idx == 1) & (leading_eig < _T["eig_small"])))
            n_k = max(int(np.sum(np.atleast_1d(cen.census.labels) == k)), 1)
            per_class[str(k)] = {
                "attractor": float(fr[0]), "saddle": float(fr[1]), "cycle": float(fr[2]),
                "not_converged": float(fr[3]),
                "saddle_index": sorted({int(i) for i in idx.tolist()}),
                "saddle_leading_median": (float(np.median(leading_eig)) if leading_eig.size
                                          else None),
                "fraction_index1_small": n1 / n_k}
            if n1 / n_k >= _T["census_majority"]:
                small1.append(k)
            if fr[0] >= _T["census_majority"]:
                at_att.append(k)
            if fr[1] >= _T["census_majority"]:
                at_sad.append(k)
        rest_ok = all(k in at_att for k in map(int, per_class) if k not in small1)
        v = (REPRODUCED if small1 and rest_ok else PARTLY if at_sad else NOT_REPRODUCED)
        lead_all = cen.saddle_leading
        text.append(
            f"census: classes mostly at small index-1 saddles {small1 or 'none'}, mostly at "
            f"saddles {at_sad or 'none'}, mostly at attractors {at_att or 'none'}"
            + (f"; saddle leading eigenvalue median {np.median(lead_all):.2g}"
               if lead_all.size else ""))
        nums.update({"census_per_class": per_class, "classes_index1_small": small1,
                     "classes_at_saddles": at_sad, "classes_at_attractors": at_att})
    return Judgement("; ".join(text), v, nums)


# --------------------------------------------------------------------------- Fig. 3
@claim("classifier_neuron", "for all classes but 8 the most-weighted neuron has the largest "
       "x(15)", f"{L18}, Fig. 3", "9 of 10 classes",
       f"reproduced if at most {_T['neuron_match_slack']} classes miss; partly if at least half "
       "match; not reproduced otherwise")
def _classifier_neuron(r):
    nr = r.get("neurons")
    if nr is None:
        return None
    C = len(nr.classes)
    v = (REPRODUCED if C - nr.n_match <= _T["neuron_match_slack"] else
         PARTLY if nr.n_match >= C / 2 else NOT_REPRODUCED)
    return Judgement(f"{nr.n_match} of {C} classes (misses: {list(nr.mismatched_classes)})", v,
                     {"n_match": nr.n_match, "n_classes": C,
                      "mismatched_classes": list(nr.mismatched_classes)})


# --------------------------------------------------------------------------- Fig. 4
def _noise(r):
    noise = r.get("noise")
    if noise is None or "mlp" not in noise.curves or "resnet_shared" not in noise.curves:
        return None
    return noise


@claim("noise_curves", "noise-to-signal ratio and cosine similarity of final hidden layers "
       "against noise amplitude", f"{L18}, Fig. 4", "curves",
       f"reproduced if, for both nets, the noise-to-signal ratio rises and the cosine "
       f"similarity falls with a (Spearman |rho| >= {_T['spearman']}); partly if one does",
       compares_mlp=True)
def _noise_curves(r):
    noise = _noise(r)
    if noise is None:
        return None
    a = noise.amplitudes
    ok = 0
    parts, numbers = [], {}
    for name in ("resnet_shared", "mlp"):
        cv = noise.curves[name]
        rn, rc = _spearman(a, cv.nsr), _spearman(a, cv.cosine)
        ok += rn >= _T["spearman"] and rc <= -_T["spearman"]
        parts.append(f"{name}: ratio {cv.nsr[0]:.2g} -> {cv.nsr[-1]:.2g}, cosine "
                     f"{cv.cosine[0]:.3f} -> {cv.cosine[-1]:.3f}")
        numbers[name] = {"spearman_ratio": rn, "spearman_cosine": rc, "nsr": cv.nsr,
                         "cosine": cv.cosine}
    v = REPRODUCED if ok == 2 else PARTLY if ok == 1 else NOT_REPRODUCED
    numbers["amplitudes"] = a
    return Judgement(f"a = {a[0]:.2g} .. {a[-1]:.2g}, {noise.n_realizations} realizations; "
                     + "; ".join(parts), v, numbers)


@claim("noise_robustness", "for a < 0.1 the MLP has the lower noise-to-signal ratio; the MLP "
       "misclassifies from a = 0.1, the ResNet only for a > 0.5", f"{L18}, Sect. 6",
       "MLP from 0.1, ResNet above 0.5",
       f"reproduced if the MLP's ratio is lower at every a < 0.1, the MLP misclassifies from a "
       f"<= {_T['onset_mlp_max']} and the ResNet only from a > {_T['onset_resnet_min']}; partly "
       "if the ratio part or the onset order (ResNet later than MLP) holds; not reproduced "
       "otherwise", compares_mlp=True)
def _noise_robustness(r):
    noise = _noise(r)
    if noise is None:
        return None
    om, orr = noise.curves["mlp"].onset, noise.curves["resnet_shared"].onset
    inf = float("inf")
    frac = noise.mlp_lower_nsr_below
    ratio_ok = frac is not None and frac == 1.0
    order_ok = (orr if orr is not None else inf) > (om if om is not None else inf)
    full = (ratio_ok and om is not None and om <= _T["onset_mlp_max"]
            and (orr is None or orr > _T["onset_resnet_min"]))
    v = REPRODUCED if full else PARTLY if (ratio_ok or order_ok) else NOT_REPRODUCED
    fr = "n/a" if frac is None else f"{100 * frac:.0f} %"
    return Judgement(
        f"MLP ratio lower at {fr} of a < 0.1; misclassification onset MLP "
        f"{om if om is not None else 'none'}, ResNet {orr if orr is not None else 'none'}", v,
        {"mlp_lower_nsr_fraction": frac, "onset_mlp": om, "onset_resnet": orr})


# --------------------------------------------------------------------------- Fig. 5
@claim("class_residual_stats", "class-by-class mean and std of residuals in the final hidden "
       "layer", f"{L18}, Fig. 5", "ResNet std small, MLP more variable",
       "reproduced if the ResNet's within-class std of y(T) is below the MLP's (Fig. 5B vs "
       "5D); not reproduced otherwise", compares_mlp=True)
def _class_residual_stats(r):
    cres = r.get("class_res")
    if cres is None or not {"resnet_shared", "mlp"} <= set(cres.networks):
        return None
    rs, m = cres.networks["resnet_shared"], cres.networks["mlp"]
    v = REPRODUCED if rs.within_std < m.within_std else NOT_REPRODUCED
    return Judgement(f"within-class std ResNet {rs.within_std:.3g}, MLP {m.within_std:.3g}", v,
                     {"within_std_resnet": rs.within_std, "within_std_mlp": m.within_std})


# --------------------------------------------------------------------------- Fig. 6
@claim("embedding_clusters", "UMAP (or t-SNE) of residual trajectories: classes form separate "
       "clusters", f"{L18}, Fig. 6A; {SUB}, Fig. 1D", "separate clusters",
       f"reproduced if the leave-one-out 5-NN accuracy in the 2-D embedding of the residual "
       f"trajectories is >= {_T['knn_reproduced']}, partly if >= {_T['knn_partly']}")
def _embedding_clusters(r):
    emb = r.get("embedding")
    if emb is None:
        return None
    key = next(iter(emb.knn_accuracy))
    k = emb.knn_accuracy[key]
    v = (REPRODUCED if k >= _T["knn_reproduced"] else
         PARTLY if k >= _T["knn_partly"] else NOT_REPRODUCED)
    extra = "; ".join(f"{n}: 5-NN {a:.2f}, silhouette {emb.silhouette[n]:.2f}"
                      for n, a in emb.knn_accuracy.items())
    return Judgement(f"{emb.method}: {extra}", v,
                     {"method": emb.method, "knn_accuracy": dict(emb.knn_accuracy),
                      "silhouette": dict(emb.silhouette)})


@claim("cosine_similarity", "class-by-class average cosine similarity of final hidden layers, "
       "ResNet vs MLP", f"{L18}, Fig. 6B-C", "diagonal largest; MLP sharper",
       "reproduced if the ResNet's diagonal is the largest entry of every row and the MLP's "
       "diagonal contrast exceeds the ResNet's; partly if one of the two holds",
       compares_mlp=True)
def _cosine_similarity(r):
    cos = r.get("cosine")
    if cos is None or not {"resnet_shared", "mlp"} <= set(cos.matrices):
        return None
    a1 = cos.diag_is_row_max["resnet_shared"]
    a2 = cos.contrast["mlp"] > cos.contrast["resnet_shared"]
    v = REPRODUCED if a1 and a2 else PARTLY if (a1 or a2) else NOT_REPRODUCED
    C = len(cos.classes)
    return Judgement(
        f"ResNet: diagonal max in {cos.n_rows_diag_max['resnet_shared']}/{C} rows, contrast "
        f"{cos.contrast['resnet_shared']:.3f}; MLP: {cos.n_rows_diag_max['mlp']}/{C} rows, "
        f"contrast {cos.contrast['mlp']:.3f}", v,
        {"n_rows_diag_max": dict(cos.n_rows_diag_max), "contrast": dict(cos.contrast),
         "n_classes": C})


@claim("trajectory_distance", "l2 distance between whole trajectories: smaller within a class",
       f"{SUB}, Fig. 1C", "within < between",
       "reproduced if within/between < 1 and the diagonal is the smallest entry of every row; "
       "partly if within/between < 1")
def _trajectory_distance(r):
    d = r.get("distances")
    if d is None:
        return None
    C = len(d.classes)
    v = (REPRODUCED if d.ratio < 1 and d.n_rows_diag_min == C else
         PARTLY if d.ratio < 1 else NOT_REPRODUCED)
    return Judgement(f"within/between {d.ratio:.3f}; diagonal smallest in "
                     f"{d.n_rows_diag_min}/{C} rows", v,
                     {"ratio": d.ratio, "within": d.within, "between": d.between,
                      "n_rows_diag_min": d.n_rows_diag_min, "n_classes": C})


# --------------------------------------------------------------------------- Sect. 7
def _adaptive_rule(paper_depth):
    return (f"reproduced if the final depth is <= {paper_depth} + {_T['adaptive_depth_slack']} "
            f"and the error is within {_T['adaptive_error_pp']} pp of full depth; partly if the "
            f"net shrinks at all within {_T['adaptive_error_pp_partly']} pp")


def _judge_adaptive(r, key, paper_depth):
    ad = r.get("adaptive")
    run = ad.runs.get(key) if ad is not None else None
    if run is None:
        return None
    dpp = 100 * run.error_change
    shallow = run.final_depth <= paper_depth + _T["adaptive_depth_slack"]
    if shallow and dpp <= _T["adaptive_error_pp"]:
        v = REPRODUCED
    elif run.final_depth < run.reference_depth and dpp <= _T["adaptive_error_pp_partly"]:
        v = PARTLY
    else:
        v = NOT_REPRODUCED
    return Judgement(
        f"{run.reference_depth} -> {run.final_depth} layers, error {_pct(run.test_error)} vs "
        f"{_pct(run.reference_error)} at full depth", v,
        {"reference_depth": run.reference_depth, "final_depth": run.final_depth,
         "test_error": run.test_error, "reference_error": run.reference_error})


@claim("adaptive_variable", "adaptive depth, variable weights: the network shrinks to 3 layers "
       "at similar error", f"{L18}, Sect. 7", "3 layers, 1.7 % (15 layers: similar)",
       _adaptive_rule(3))
def _adaptive_variable(r):
    return _judge_adaptive(r, "resnet_variable", 3)


@claim("adaptive_shared", "adaptive depth, shared weights: shrinks to 5 layers with no change "
       "in accuracy", f"{L18}, Sect. 7; {SUB}, Sect. 3", "5 layers, no change in accuracy",
       _adaptive_rule(5))
def _adaptive_shared(r):
    return _judge_adaptive(r, "resnet_shared", 5)


# --------------------------------------------------------------------------- appendix B
@claim("long_run_few_dims", "1000-layer residual means differ between classes in a few "
       "dimensions", f"{L18}, Fig. 5 (appendix B)", "a few dimensions",
       f"reproduced if the class means of y(1000) differ (span > {_T['span_tol']}) in a fraction "
       f"of neurons in (0, {_T['few_dims_max']}]; partly if in (0, {_T['few_dims_partly']}]")
def _long_run_few_dims(r):
    cr = _net(r.get("class_res"), "resnet_shared")
    if cr is None:
        return None
    f = cr.frac_dims_differ
    v = (REPRODUCED if 0 < f <= _T["few_dims_max"] else
         PARTLY if 0 < f <= _T["few_dims_partly"] else NOT_REPRODUCED)
    return Judgement(f"{100 * f:.1f} % of neurons (span > {r['class_res'].span_tol})", v,
                     {"frac_dims_differ": f, "span_tol": r["class_res"].span_tol})


# --------------------------------------------------------------------------- appendix A
@claim("sensitivity_early_layers", "det M'(4) orders of magnitude larger than det M'(10)",
       f"{L18}, appendix A", "orders of magnitude",
       f"reproduced if log10(|det M'(4)| / |det M'(10)|) >= {_T['sensitivity_log10']}; partly "
       "if > 0; not reproduced otherwise")
def _sensitivity_early_layers(r):
    s = r.get("sensitivity")
    if s is None:
        return None
    x = s.log10_ratio
    v = REPRODUCED if x >= _T["sensitivity_log10"] else PARTLY if x > 0 else NOT_REPRODUCED
    return Judgement(
        f"log10 ratio {x:.2f} (shared ResNet; larger in {100 * s.frac_samples_larger:.0f} % of "
        f"samples); output sensitivity log10(|S({s.s1})|/|S({s.s2})|) = "
        f"{s.log10_frob_ratio:.2f}", v,
        {"log10_det_ratio": x, "frac_samples_larger": s.frac_samples_larger,
         "log10_frob_ratio": s.log10_frob_ratio, "s1": s.s1, "s2": s.s2})


# --------------------------------------------------------------------------- Hauser 2019
@claim("perturbation_slope", "average scaled perturbation magnitude roughly inversely "
       "proportional to depth", f"{H19}, abstract", "slope -1",
       f"reproduced if the log-log slope of the scaled magnitude against depth is within -1 "
       f"+/- {_T['slope_band']}; partly if negative")
def _perturbation_slope(r):
    p = r.get("perturbation")
    if p is None:
        return None
    s = p.slope
    v = REPRODUCED if abs(s + 1) <= _T["slope_band"] else PARTLY if s < 0 else NOT_REPRODUCED
    return Judgement(f"slope {s:.2f} (R^2 {p.r2:.2f}) over depths "
                     f"{', '.join(str(int(d)) for d in p.depths)}", v,
                     {"slope": s, "r2": p.r2, "depths": [int(d) for d in p.depths]})


# --------------------------------------------------------------------------- exact, small N
@claim("fixed_point_count", "eq. 3 has 3^N fixed points", f"{L18}, Sect. 4", "3^N",
       "reproduced if the enumeration finds 3^N distinct fixed points; partly if it finds "
       "3^N - 2^N + 1 (the 2^N patterns without a 1 all give the origin)")
def _fixed_point_count(r):
    ex = r.get("exact")
    if ex is None:
        return None
    n, nf = ex.n, ex.n_fixed_points
    v = REPRODUCED if nf == 3 ** n else PARTLY if nf == 3 ** n - 2 ** n + 1 else NOT_REPRODUCED
    n_stable = len(ex.stable_points)
    return Judgement(
        f"N = {n}: {nf} distinct isolated points (3^N = {3 ** n}, 3^N - 2^N + 1 = "
        f"{3 ** n - 2 ** n + 1}), {_plural(ex.n_singular, 'singular pattern')}, {ex.n_in_box} "
        f"in the cube, {n_stable} stable for the layer map", v,
        {"n": n, "n_fixed_points": nf, "n_singular": ex.n_singular, "n_in_box": ex.n_in_box,
         "n_map_stable": n_stable})


@claim("transients_classify", "ResNets classify by transients, not by end points",
       f"{L18}, abstract, Sect. 8", "transients",
       f"at full width, from the census: reproduced if the trained readout on x(T) beats the "
       f"class predicted from the end point alone (majority class per end point, fitted on "
       f"training inputs) by >= {_T['transient_margin'] * 100:.0f} pp; not reproduced "
       f"otherwise. Without a census: the same comparison on the small exact network")
def _transients_classify(r):
    cen = _census(r, "resnet_shared")
    ex = r.get("exact")
    if cen is not None:
        gap = cen.readout_accuracy - cen.endpoint_accuracy
        v = REPRODUCED if gap >= _T["transient_margin"] else NOT_REPRODUCED
        n_pts = int(cen.census.points.shape[0])
        nums = {"accuracy_transients": cen.readout_accuracy,
                "accuracy_endpoint": cen.endpoint_accuracy,
                "endpoint_fit": cen.census.endpoint_fit, "n_end_states": n_pts,
                "width": int(cen.census.points.shape[1]) if n_pts else None}
        text = (f"full width: accuracy {_pct(cen.readout_accuracy)} from x(T) vs "
                f"{_pct(cen.endpoint_accuracy)} from end points alone "
                f"({_plural(n_pts, 'end point')}, fitted on {cen.census.endpoint_fit})")
        if ex is not None:
            nums.update({"small_n": ex.n, "small_accuracy_transients": ex.acc_trained,
                         "small_accuracy_endpoint": ex.acc_endpoint})
            text += (f"; small net N = {ex.n}: {_pct(ex.acc_trained)} vs "
                     f"{_pct(ex.acc_endpoint)}")
        return Judgement(text, v, nums)
    if ex is None:
        return None
    gap = ex.acc_trained - ex.acc_endpoint
    v = REPRODUCED if gap >= _T["transient_margin"] else NOT_REPRODUCED
    return Judgement(
        f"small net N = {ex.n}: accuracy {_pct(ex.acc_trained)} from x(T) vs "
        f"{_pct(ex.acc_endpoint)} from end points alone "
        f"({_plural(ex.n_endpoints_used, 'end point')} used)", v,
        {"n": ex.n, "accuracy_transients": ex.acc_trained, "accuracy_endpoint": ex.acc_endpoint,
         "n_endpoints_used": ex.n_endpoints_used})


#: Ids of the rows :func:`build_claims` returns, in order.
CLAIM_IDS = tuple(CLAIMS)


# --------------------------------------------------------------------------- the table
def build_claims(*, dataset: str, errors: dict, n_classes: int = 10, baselines=None,
                 **results):
    """Judge every registered claim on the results of one run.

    Parameters
    ----------
    dataset : str
        The data set the networks were trained on.
    errors : dict
        Test errors (fractions) keyed ``"resnet_shared"``, ``"resnet_variable"``, ``"mlp"``.
    n_classes : int
        Number of classes; an MLP whose error is not `mlp_above_chance` below the chance
        error 1 - 1/C did not train, and the claims comparing it with the ResNet are then
        "not applicable".
    baselines : dict of str -> float, optional
        Test errors of reference classifiers on the same split (shown beside the ResNets').
    **results : result objects
        The analyses' results by key: ``stats`` (:class:`ResidualStatsResult`), ``neurons``,
        ``noise``, ``class_res``, ``embedding``, ``cosine``, ``distances``, ``jacobian``,
        ``adaptive``, ``sensitivity``, ``perturbation``, ``exact``, and any key a registered
        rule reads. A missing (or ``None``) result makes its claims read "not run" with
        verdict "not applicable".

    Returns
    -------
    tuple of ClaimRow
        One row per entry of :data:`CLAIMS`, in :data:`CLAIM_IDS` order.
    """
    r = {k: v for k, v in results.items() if v is not None}
    r.update(dataset=dataset, errors=dict(errors), n_classes=int(n_classes),
             baselines=dict(baselines or {}))
    mlp_err = errors.get("mlp")
    chance = 1.0 - 1.0 / n_classes
    mlp_untrained = mlp_err is not None and mlp_err > chance - _T["mlp_above_chance"]
    rows = []
    for c in CLAIMS.values():
        j = c.judge(r)
        if j is None:
            j = Judgement("not run", NOT_APPLICABLE)
        ours, verdict, rule = j.ours, j.verdict, c.rule
        if mlp_untrained and c.compares_mlp:
            ours = (f"MLP did not train (test error {100 * mlp_err:.1f} %, chance "
                    f"{100 * chance:.0f} %); " + ours)
            verdict = NOT_APPLICABLE
            rule = rule + (f"; not applicable when the MLP's error is within "
                           f"{100 * _T['mlp_above_chance']:.0f} pp of chance")
        rows.append(ClaimRow(c.id, c.claim, c.source, c.paper, ours, verdict, rule,
                             dict(j.numbers)))
    return tuple(rows)


def _cell(text) -> str:
    """A Markdown table cell: a literal "|" is escaped so it does not end the cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(rows) -> str:
    """The claims as a Markdown table (id, claim, source, paper, ours, verdict)."""
    lines = ["| id | claim | source | paper | ours | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [r.id, r.claim, r.source, r.paper, r.ours, f"**{r.verdict}**"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
