"""``reproduce``: train what the papers' analyses need, run them all, write the report.

One call trains (or reloads from ``out_dir/checkpoints``) the three 15-layer networks of the
paper (ResNet with shared weights, ResNet with per-layer weights, MLP), runs every analysis of
:mod:`analysis`, and writes into `out_dir`:

* ``report.md``: the claims table and every figure (PNG files beside it, in ``figures/``);
* ``results.json``: the same numbers, a list under ``claims`` (id, claim, source, paper,
  ours, verdict, rule, and ``numbers``: the values behind the text), the test errors and the
  scikit-learn baselines on the same split, the dataset, the profile and the run time.

Every trajectory comes from :func:`dynsys.iterate` (float64) on the trained networks'
:class:`dynsys.Network` (:func:`nets.to_network`).

Every file is written atomically. A second call with the same settings reuses the
checkpoints and only re-runs the analyses.

The MLP has per-layer weights (what :mod:`nets` trains); to run it to 1000 layers (Fig. 2C,
Fig. 5C-D) its last layer is repeated, y(t) = f(W(15) y(t-1) + b(15)) for t > 15, i.e. the
shared-weight MLP of eq. 6 with the weights of its last layer. The optimizer settings are
the defaults of :class:`nets.TrainConfig`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._common import ShortRepr
from ._io import atomic_save_figure, atomic_write_json, atomic_write_text
from .claims import TOLERANCES

__all__ = ["Profile", "PROFILES", "ReproduceResult", "reproduce"]


@dataclass(frozen=True, repr=False)
class Profile(ShortRepr):
    """Settings of one reproduction run (the paper's where the data allow)."""

    name: str
    depth: int = 15
    epochs: int = 20
    n_train: int | None = None  # keep only the first n training samples (None: all)
    n_test: int | None = None
    per_class: int = 200  # samples per class for Fig. 2, 5, 6 and the distances
    long_depth: int = 1000
    long_per_class: int = 200  # samples per class run to long_depth
    neuron_per_class: int = 1000  # Fig. 3 (as many as the test set has)
    noise_amplitudes: tuple = tuple(np.round(np.logspace(-3, 1, 13), 6))
    noise_realizations: int = 10
    noise_samples: int = 2000
    sens_samples: int = 100
    embed_method: str = "tsne"
    adaptive_epochs: int = 20
    sweep_depths: tuple = (2, 4, 8, 16, 32)
    sweep_epochs: int = 5
    sweep_n_train: int | None = None
    exact_n: int = 8
    exact_classes: int = 4
    exact_epochs: int = 40
    exact_lr: float = 1e-2
    census_depth: int = 1000  # the attractor census classifies at this layer ...
    census_max_depth: int | None = 100_000  # ... and follows unsettled inputs to this one
    census_n_test: int | None = None  # test inputs censused (None: all)
    census_n_fit: int | None = 10_000  # training inputs that fit the end-point classifier
    seed: int = 0


#: Named profiles: ``full`` (the paper's settings), ``quick`` (``make demo``, minutes on two
#: cores) and ``tiny`` (a smoke run of seconds on digits; its numbers mean nothing).
PROFILES = {
    "full": Profile("full"),
    "quick": Profile(
        "quick", epochs=10, n_train=None, per_class=100, long_per_class=20,
        neuron_per_class=100, noise_amplitudes=(0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 3.0),
        noise_realizations=5, noise_samples=500, sens_samples=20, embed_method="tsne",
        adaptive_epochs=10, sweep_depths=(2, 4, 8, 16), sweep_epochs=3, sweep_n_train=1000,
        exact_epochs=40, census_max_depth=10_000, census_n_test=1000, census_n_fit=2000,
    ),
    "tiny": Profile(
        "tiny", epochs=2, n_train=600, n_test=300, per_class=10, long_depth=200,
        long_per_class=5, neuron_per_class=20, noise_amplitudes=(0.01, 0.1, 1.0),
        noise_realizations=2, noise_samples=100, sens_samples=5, embed_method="pca",
        adaptive_epochs=2, sweep_depths=(2, 4, 8), sweep_epochs=1, sweep_n_train=300,
        exact_n=6, exact_classes=3, exact_epochs=15, census_depth=200,
        census_max_depth=2000, census_n_test=100, census_n_fit=300,
    ),
}

#: Initial weight gain of the 15-layer logistic MLP, or ``None`` for :class:`nets.MLP`'s own
#: default (gain 8 with centred biases and lr 1e-3, which trains it on mnist5k; a small gain
#: leaves it at chance level because its gradients vanish through 15 sigmoids).
MLP_INIT_GAIN = None

#: Figure files written by :func:`reproduce`: figure key -> title. Each figure is drawn by
#: the plot function of :data:`FIGURE_PLOTS` from one result of ``ReproduceResult.analyses``.
FIGURES = {
    "fig2_residual_stats": "Fig. 2: residual mean and spread across layers",
    "fig3_classifier_neurons": "Fig. 3: the neuron each class's classifier weighs most",
    "fig4_noise": "Fig. 4: input noise, ResNet against MLP",
    "fig5_class_residuals": "Fig. 5: final-layer residuals class by class",
    "fig6_embedding": "Fig. 6A / NIPS 2018 submission Fig. 1D: 2-D embedding",
    "fig6_cosine": "Fig. 6B-C: cosine similarity of final hidden layers",
    "letter_fig1c_distances": "NIPS 2018 submission Fig. 1C: distances between trajectories",
    "sect6_jacobian": "Sect. 6: Jacobian at the class means of the last layer",
    "appendix_sensitivity": "Appendix A: sensitivity to layer perturbations",
    "sect7_adaptive_depth": "Sect. 7: adaptive depth",
    "perturbation_sweep": "Hauser 2019: perturbation from identity against depth",
    "exact_small_n": "Every fixed point of a small trained network",
    "census_status": "Attractor census: end-state status per class",
    "census_end_states": "Attractor census: distinct end states per class",
    "census_saddles": "Attractor census: leading eigenvalues of the saddles reached",
    "census_settled": "Attractor census: fraction of inputs settled against depth",
}

#: Figure key -> (analysis key in ``ReproduceResult.analyses``, name of its plot function in
#: :mod:`analysis`). A new section adds its analyses here and its titles to :data:`FIGURES`.
FIGURE_PLOTS = {
    "fig2_residual_stats": ("fig2_residual_stats", "plot_residual_stats"),
    "fig3_classifier_neurons": ("fig3_classifier_neurons", "plot_classifier_neurons"),
    "fig4_noise": ("fig4_noise", "plot_noise_sweep"),
    "fig5_class_residuals": ("fig5_class_residuals", "plot_class_residuals"),
    "fig6_embedding": ("fig6_embedding", "plot_trajectory_embedding"),
    "fig6_cosine": ("fig6_cosine", "plot_class_cosine_similarity"),
    "letter_fig1c_distances": ("letter_fig1c_distances", "plot_trajectory_distances"),
    "sect6_jacobian": ("sect6_jacobian", "plot_jacobian_at_class_means"),
    "appendix_sensitivity": ("appendix_sensitivity", "plot_layer_sensitivity"),
    "sect7_adaptive_depth": ("sect7_adaptive_depth", "plot_adaptive_depth"),
    "perturbation_sweep": ("perturbation_sweep", "plot_perturbation_slope"),
    "exact_small_n": ("exact_small_n", "plot_exact_picture"),
    "census_status": ("census", "plot_census_status"),
    "census_end_states": ("census", "plot_census_end_states"),
    "census_saddles": ("census", "plot_saddle_eigenvalues"),
    "census_settled": ("census", "plot_settled_fraction"),
}

#: Result key of :func:`analysis.build_claims` -> analysis key: what the claims' rules read.
CLAIM_INPUTS = {
    "stats": "fig2_residual_stats", "neurons": "fig3_classifier_neurons",
    "noise": "fig4_noise", "class_res": "fig5_class_residuals",
    "embedding": "fig6_embedding", "cosine": "fig6_cosine",
    "distances": "letter_fig1c_distances", "jacobian": "sect6_jacobian",
    "adaptive": "sect7_adaptive_depth", "sensitivity": "appendix_sensitivity",
    "perturbation": "perturbation_sweep", "exact": "exact_small_n",
    "census": "census",
}

#: What the verdicts of a reduced profile are worth (a banner at the top of its report).
BANNERS = {
    "quick": ("This is a **quick** run: fewer epochs, samples, noise amplitudes and sweep "
              "depths than the papers used. It shows that every analysis runs and which way "
              "the numbers point; its verdicts neither confirm nor refute the papers' claims. "
              "Judge the claims by a run of the full profile."),
    "tiny": ("This is a **tiny** smoke run of seconds (two epochs, a few samples per class): "
             "its numbers and verdicts mean nothing beyond \"the pipeline runs end to end\"."),
}


@dataclass(frozen=True, repr=False)
class ReproduceResult(ShortRepr):
    """What :func:`reproduce` wrote and computed.

    Attributes
    ----------
    dataset : str
    profile : str
    out_dir : Path
    report : Path
        ``report.md``.
    results_json : Path
    figures : dict of str -> Path
    claims : tuple of ClaimRow
    run_time_s : float
    reused_checkpoints : tuple of str
        Networks loaded from ``out_dir/checkpoints`` instead of trained.
    stage_times_s : dict of str -> float
        Wall-clock seconds of each stage (training of each network, each analysis, the
        attractor census, writing the report).
    test_errors : dict of str -> float
        The three networks' test errors.
    baselines : dict of str -> float
        Test errors of the scikit-learn MLP and SVC on the same split.
    analyses : dict
        The result object of every analysis, by analysis key (see :data:`FIGURE_PLOTS`).
    """

    dataset: str
    profile: str
    out_dir: Path
    report: Path
    results_json: Path
    figures: dict
    claims: tuple
    run_time_s: float
    reused_checkpoints: tuple
    test_errors: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    analyses: dict = field(default_factory=dict, repr=False, compare=False)
    stage_times_s: dict = field(default_factory=dict, repr=False)


def _per_class_indices(labels, n, seed):
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(labels):
        where = np.nonzero(labels == c)[0]
        idx.append(np.sort(rng.permutation(where)[:n]))
    return np.concatenate(idx)


class _Progress:
    """A tqdm bar over the pipeline's stages (silent when disabled), and the wall-clock
    seconds of each stage (``times``: name -> seconds, summed over repeats of a name)."""

    def __init__(self, total, enabled):
        self.bar = None
        self.times = {}
        self._current = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="reproduce", unit="stage")

    def _lap(self):
        now = time.perf_counter()
        if self._current is not None:
            name, t0 = self._current
            self.times[name] = round(self.times.get(name, 0.0) + now - t0, 2)
        return now

    def stage(self, name):
        self._current = (name, self._lap())
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def stop(self):
        """End the running stage's timer."""
        self._lap()
        self._current = None

    def done(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _profile(profile, quick):
    if profile is None:
        return PROFILES["quick" if quick else "full"]
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {', '.join(PROFILES)}; got {profile!r}.")
    return PROFILES[profile]


def reproduce(dataset: str = "mnist5k", *, quick: bool = False, out_dir="results/reproduce",
              progress: bool = True, data_dir=None, profile: str | Profile | None = None):
    """Train (or reload), run every analysis, write ``report.md`` and ``results.json``.

    Parameters
    ----------
    dataset : {"mnist5k", "digits", "fashion-mnist", "mnist"}
    quick : bool
        Use the ``quick`` profile (fewer epochs, samples, amplitudes; minutes on two cores).
    out_dir : path
        Output folder; checkpoints are cached in ``out_dir/checkpoints``.
    progress : bool
        Show tqdm progress bars.
    data_dir : path, optional
        Folder with IDX files (``mnist``; ``fashion-mnist`` defaults to Debian's package).
    profile : str or Profile, optional
        A named profile of :data:`PROFILES` or a :class:`Profile`; overrides `quick`.

    Returns
    -------
    ReproduceResult
    """
    import analysis as A
    from nets.data import load_dataset

    from ._runner import error_rate, final_hidden_forward, long_run_layers, network, record
    from ._training import adaptive_or_load, config_for, sweep_or_load, train_or_load

    t_start = time.perf_counter()
    prof = _profile(profile, quick)
    out = Path(out_dir)
    figdir = out / "figures"
    ckpt = out / "checkpoints"
    figdir.mkdir(parents=True, exist_ok=True)
    ckpt.mkdir(parents=True, exist_ok=True)

    ds = load_dataset(dataset, root=data_dir, seed=prof.seed, n_train=prof.n_train,
                      n_test=prof.n_test)

    def cfg(kind, **kw):
        base = dict(depth=prof.depth, epochs=prof.epochs, seed=prof.seed, data_root=data_dir,
                    n_train=prof.n_train, n_test=prof.n_test)
        base.update(kw)
        return config_for(ds, kind, **base)

    bar = _Progress(16, progress)
    reused = []
    res = {}
    try:
        # the three networks of the paper, as dynsys Networks -----------------------------
        nets_, depth = {}, {}
        for key, kind in (("resnet_shared", "shared"), ("resnet_variable", "per-layer"),
                          ("mlp", "mlp")):
            bar.stage(f"train {key}")
            extra = {"init_gain": MLP_INIT_GAIN} if kind == "mlp" and MLP_INIT_GAIN else {}
            m, _, was = train_or_load(cfg(kind, **extra), ds, ckpt_dir=ckpt, progress=progress)
            nets_[key], depth[key] = network(m), m.depth
            if was:
                reused.append(key)
        errors = {k: error_rate(n, ds.x_test, ds.y_test, depth=depth[k])
                  for k, n in nets_.items()}
        shared = nets_["resnet_shared"]
        bar.done()

        bar.stage("scikit-learn baselines")
        baselines = A.compute_baselines(ds.x_train, ds.y_train, ds.x_test, ds.y_test,
                                        seed=prof.seed).as_dict()
        bar.done()

        # trajectories: dynsys.iterate, (T, B, N) ----------------------------------------
        bar.stage("record trajectories")
        xt, yt = ds.x_test, ds.y_test
        sel = _per_class_indices(yt, prof.per_class, prof.seed)
        rec = {k: record(n, xt[sel], depth=depth[k]) for k, n in nets_.items()}
        lsel = _per_class_indices(yt, prof.long_per_class, prof.seed)
        lay = long_run_layers(prof.long_depth)
        long = {k: record(nets_[k], xt[lsel], depth=prof.long_depth, layers=lay)
                for k in ("resnet_shared", "mlp")}
        # the per-layer net has no layer past its training depth: its 15 layers, same samples
        var_long = record(nets_["resnet_variable"], xt[lsel], depth=depth["resnet_variable"])
        lab_long = yt[lsel]
        bar.done()

        bar.stage("Fig. 2")
        res["fig2_residual_stats"] = A.compute_residual_stats(
            {"resnet_shared": long["resnet_shared"].y, "resnet_variable": var_long.y,
             "mlp": long["mlp"].y},
            lab_long,
            layers={"resnet_shared": lay, "mlp": lay},
            steps={"resnet_shared": long["resnet_shared"].step, "mlp": long["mlp"].step,
                   "resnet_variable": var_long.step},
            spread_tol=TOLERANCES["spread_tol"], change_tol=TOLERANCES["step_converged"],
        )
        bar.done()

        bar.stage("Fig. 3")
        nsel = _per_class_indices(yt, prof.neuron_per_class, prof.seed)
        r3 = record(shared, xt[nsel], depth=depth["resnet_shared"])
        res["fig3_classifier_neurons"] = A.compute_classifier_neurons(shared.K, r3.y, r3.x0,
                                                                      yt[nsel])
        bar.done()

        bar.stage("Fig. 4 noise")
        zsel = np.random.default_rng(prof.seed).permutation(len(yt))[: prof.noise_samples]
        res["fig4_noise"] = A.compute_noise_sweep(
            {"resnet_shared": final_hidden_forward(shared, depth["resnet_shared"]),
             "mlp": final_hidden_forward(nets_["mlp"], depth["mlp"])},
            xt[zsel], yt[zsel], np.asarray(prof.noise_amplitudes, dtype=float),
            n_realizations=prof.noise_realizations, seed=prof.seed)
        bar.done()

        bar.stage("Fig. 5")
        res["fig5_class_residuals"] = A.compute_class_residuals(
            {"resnet_shared": long["resnet_shared"].y[-1], "mlp": long["mlp"].y[-1]},
            lab_long, span_tol=TOLERANCES["span_tol"])
        bar.done()

        bar.stage("Fig. 6 embedding")
        labs = yt[sel]
        res["fig6_embedding"] = A.compute_trajectory_embedding(
            {"residual trajectories y(1..T)": rec["resnet_shared"].y,
             "cumulative signal x(T)": rec["resnet_shared"].h},
            labs, method=prof.embed_method, seed=prof.seed)
        res["fig6_cosine"] = A.compute_class_cosine_similarity(
            {"resnet_shared": rec["resnet_shared"].h, "mlp": rec["mlp"].h}, labs)
        res["letter_fig1c_distances"] = A.compute_trajectory_distances(
            rec["resnet_shared"].y, labs)
        bar.done()

        bar.stage("Sect. 6 Jacobian")
        res["sect6_jacobian"] = A.compute_jacobian_at_class_means(
            shared, long["resnet_shared"].y[-1], lab_long)
        bar.done()

        bar.stage("Appendix A")
        ns = min(prof.sens_samples, len(sel))
        ssel = np.random.default_rng(prof.seed).permutation(len(sel))[:ns]
        s2 = min(10, prof.depth)
        res["appendix_sensitivity"] = A.compute_layer_sensitivity(
            shared, rec["resnet_shared"].y[:, ssel], s1=min(4, s2 - 1), s2=s2)
        bar.done()

        bar.stage("Sect. 7 adaptive depth")
        runs = []
        for key, kind in (("resnet_shared", "shared"), ("resnet_variable", "per-layer")):
            run, was = adaptive_or_load(cfg(kind, epochs=prof.adaptive_epochs), ds, key=key,
                                        reference_error=errors[key], ckpt_dir=ckpt,
                                        progress=progress)
            runs.append(run)
            if was:
                reused.append(f"adaptive_{key}")
        res["sect7_adaptive_depth"] = A.compute_adaptive_depth(runs)
        bar.done()

        bar.stage("perturbation sweep")
        sn = prof.sweep_n_train or prof.n_train
        sds = load_dataset(dataset, root=data_dir, seed=prof.seed, n_train=sn,
                           n_test=prof.n_test)
        scfg = config_for(sds, "shared", depth=prof.depth, epochs=prof.sweep_epochs,
                          seed=prof.seed, data_root=data_dir, n_train=sn, n_test=prof.n_test)
        sweep, was = sweep_or_load(scfg, sds, depths=prof.sweep_depths, ckpt_dir=ckpt,
                                   progress=progress)
        if was:
            reused.append("perturbation_sweep")
        res["perturbation_sweep"] = A.compute_perturbation_slope(
            sweep.depths, sweep.mean_scaled, sweep.mean_absolute)
        bar.done()

        bar.stage("exact small N")
        small = load_dataset("blobs", seed=prof.seed, blobs_features=prof.exact_n,
                             blobs_classes=prof.exact_classes, blobs_samples=1200)
        sm, _, was = train_or_load(
            config_for(small, "shared", depth=prof.depth, epochs=prof.exact_epochs,
                       seed=prof.seed, lr=prof.exact_lr), small, ckpt_dir=ckpt, progress=progress)
        if was:
            reused.append("exact_small_n")
        res["exact_small_n"] = A.compute_exact_picture(
            network(sm), small.x_test, small.y_test, trained_depth=sm.depth,
            long_depth=prof.long_depth, seed=prof.seed)
        bar.done()

        bar.stage("attractor census")
        cn = len(yt) if prof.census_n_test is None else min(prof.census_n_test, len(yt))
        fn = ds.n_train if prof.census_n_fit is None else min(prof.census_n_fit, ds.n_train)
        res["census"] = A.compute_census_section(
            nets_, xt[:cn], yt[:cn], depth=prof.census_depth,
            max_depth=prof.census_max_depth, x_train=ds.x_train[:fn], y_train=ds.y_train[:fn],
            trained_depth=depth["resnet_shared"], n_classes=ds.n_classes, progress=progress)
        bar.done()

        # Further sections add their results to `res` here, their figures to FIGURES /
        # FIGURE_PLOTS and the keys their rules read to CLAIM_INPUTS.

        bar.stage("claims")
        claims = A.build_claims(
            dataset=ds.name, errors=errors, n_classes=ds.n_classes, baselines=baselines,
            **{k: res.get(a) for k, a in CLAIM_INPUTS.items()})
        bar.done()

        bar.stage("write report")
        figures = {}
        for key in FIGURES:
            a_key, plot_name = FIGURE_PLOTS[key]
            fig = getattr(A, plot_name)(res[a_key])
            figures[key] = atomic_save_figure(fig, figdir / f"{key}.png")
        bar.stop()
        run_time = time.perf_counter() - t_start
        counts = _verdict_counts(claims)
        summary = {
            "dataset": ds.name,
            "profile": prof.name,
            "banner": BANNERS.get(prof.name),
            "settings": {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in asdict(prof).items()},
            "n_train": ds.n_train,
            "n_test": ds.n_test,
            "test_error": errors,
            "baselines": baselines,
            "run_time_s": round(run_time, 2),
            "stage_times_s": dict(bar.times),
            "reused_checkpoints": reused,
            "figures": {k: str(p.relative_to(out)) for k, p in figures.items()},
            "claims": [r.to_dict() for r in claims],
            "verdict_counts": counts,
        }
        results_json = atomic_write_json(out / "results.json", summary)
        report = atomic_write_text(out / "report.md",
                                   _report_md(ds, prof, errors, baselines, claims, figures,
                                              out, run_time, reused))
        bar.done()
    finally:
        bar.close()
    return ReproduceResult(dataset=ds.name, profile=prof.name, out_dir=out, report=report,
                           results_json=results_json, figures=figures, claims=claims,
                           run_time_s=run_time, reused_checkpoints=tuple(reused),
                           test_errors=dict(errors), baselines=dict(baselines), analyses=res,
                           stage_times_s=dict(bar.times))


def _verdict_counts(claims):
    from .claims import VERDICTS

    return {v: sum(r.verdict == v for r in claims) for v in VERDICTS}


def _numbers_text(numbers) -> str:
    """The numbers of a claim as one short line: ``key = value`` pairs."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)) and len(v) > 8:
            return f"[{len(v)} values]"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if hasattr(v, "shape"):
            return f"[{v.size} values]"
        return str(v)

    return ", ".join(f"{k} = {fmt(v)}" for k, v in numbers.items())


def _report_md(ds, prof, errors, baselines, claims, figures, out, run_time, reused):
    from .claims import claims_markdown

    counts = _verdict_counts(claims)
    lines = [f"# resdyn reproduction report: {ds.name} ({prof.name} profile)", ""]
    if prof.name in BANNERS:
        lines += [f"> {BANNERS[prof.name]}", ""]
    lines += [
        f"- data: {ds.name}, {ds.n_train} training and {ds.n_test} test samples, "
        f"{ds.n_features} features, {ds.n_classes} classes",
        f"- networks: depth {prof.depth}, width {ds.n_features}, logistic residuals; at most "
        f"{prof.epochs} epochs (nets.TrainConfig defaults otherwise); the MLP runs beyond 15 "
        "layers by repeating its last layer",
        "- test error: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in errors.items()),
        "- scikit-learn on the same split (default settings): "
        + ", ".join(f"{k} {100 * v:.2f} %" for k, v in baselines.items()),
        f"- long runs: {prof.long_depth} layers on {prof.long_per_class} test samples per class",
        f"- run time: {run_time:.1f} s"
        + (f" (reused checkpoints: {', '.join(reused)})" if reused else ""),
        "- verdicts: " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        "",
        "## Claims",
        "",
        "Every value in the *ours* column was computed by this run; the verdict follows from it "
        "by the rule listed below the table (module `analysis.claims`). The numbers behind "
        "each value are listed with its rule and stored under `claims[].numbers` in "
        "`results.json`.",
        "",
        claims_markdown(claims),
        "### Rules and numbers",
        "",
    ]
    for r in claims:
        lines.append(f"- `{r.id}`: {r.rule}")
        if r.numbers:
            lines.append(f"  - numbers: {_numbers_text(r.numbers)}")
    lines += ["", "## Figures", ""]
    for key, title in FIGURES.items():
        rel = figures[key].relative_to(out)
        lines += [f"### {title}", "", f"![{title}]({rel.as_posix()})", ""]
    return "\n".join(lines) + "\n"
