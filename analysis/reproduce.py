"""``reproduce``: train what the papers' analyses need, run them all, write the report.

One call trains (or reloads from ``out_dir/checkpoints``) the three 15-layer networks of the
paper (ResNet with shared weights, ResNet with per-layer weights, MLP), runs every analysis of
:mod:`analysis`, and writes into `out_dir`:

* ``report.md``: the claims table and every figure (PNG files beside it, in ``figures/``);
* ``results.json``: the same numbers, a list under ``claims`` (id, claim, paper, ours,
  verdict, rule), the dataset, the profile and the run time.

Every file is written atomically. A second call with the same settings reuses the
checkpoints and only re-runs the analyses.

The MLP has per-layer weights (what :mod:`nets` trains); to run it to 1000 layers (Fig. 2C,
Fig. 5C-D) its last layer is repeated, y(t) = f(W(15) y(t-1) + b(15)) for t > 15, i.e. the
shared-weight MLP of eq. 6 with the weights of its last layer. The optimizer settings are
those of :class:`nets.TrainConfig` (Adam, lr 3e-3 for the ResNets and 1e-3 for the MLP,
decaying by 0.85 per epoch, batch 64, early stopping after 5 epochs without improvement).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._io import atomic_save_figure, atomic_write_json, atomic_write_text

__all__ = ["Profile", "PROFILES", "ReproduceResult", "reproduce"]


@dataclass(frozen=True)
class Profile:
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
        exact_epochs=40,
    ),
    "tiny": Profile(
        "tiny", epochs=2, n_train=600, n_test=300, per_class=10, long_depth=200,
        long_per_class=5, neuron_per_class=20, noise_amplitudes=(0.01, 0.1, 1.0),
        noise_realizations=2, noise_samples=100, sens_samples=5, embed_method="pca",
        adaptive_epochs=2, sweep_depths=(2, 4, 8), sweep_epochs=1, sweep_n_train=300,
        exact_n=6, exact_classes=3, exact_epochs=15,
    ),
}

#: Initial weight gain of the 15-layer logistic MLP, or ``None`` for :class:`nets.MLP`'s own
#: default (gain 8 with centred biases and lr 1e-3, which trains it on mnist5k; a small gain
#: leaves it at chance level because its gradients vanish through 15 sigmoids).
MLP_INIT_GAIN = None

#: Figure files written by :func:`reproduce`, by analysis.
FIGURES = {
    "fig2_residual_stats": "Fig. 2: residual mean and spread across layers",
    "fig3_classifier_neurons": "Fig. 3: the neuron each class's classifier weighs most",
    "fig4_noise": "Fig. 4: input noise, ResNet against MLP",
    "fig5_class_residuals": "Fig. 5: final-layer residuals class by class",
    "fig6_embedding": "Fig. 6A / 003 Fig. 1D: 2-D embedding",
    "fig6_cosine": "Fig. 6B-C: cosine similarity of final hidden layers",
    "letter_fig1c_distances": "003 Fig. 1C: distances between trajectories",
    "sect6_jacobian": "Sect. 6: Jacobian at the class means of the last layer",
    "appendix_sensitivity": "Appendix A: sensitivity to layer perturbations",
    "sect7_adaptive_depth": "Sect. 7: adaptive depth",
    "perturbation_sweep": "002: perturbation from identity against depth",
    "exact_small_n": "Beyond the seeds: every fixed point of a small trained network",
}


@dataclass(frozen=True)
class ReproduceResult:
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
    analyses : dict
        The result object of every analysis, by figure key.
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
    analyses: dict = field(repr=False, compare=False)


def _per_class_indices(labels, n, seed):
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(labels):
        where = np.nonzero(labels == c)[0]
        idx.append(np.sort(rng.permutation(where)[:n]))
    return np.concatenate(idx)


class _Progress:
    """A tqdm bar over the pipeline's stages (silent when disabled)."""

    def __init__(self, total, enabled):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="reproduce", unit="stage")

    def stage(self, name):
        if self.bar is not None:
            self.bar.set_postfix_str(name)

    def done(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


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
    from nets.data import load_dataset

    from . import (
        adaptive_depth_summary, build_claims, class_cosine_similarity, class_residuals,
        classifier_neurons, exact_picture, jacobian_at_class_means, layer_sensitivity,
        noise_sweep, perturbation_slope, residual_stats, trajectory_distances,
        trajectory_embedding,
    )
    from ._runner import (classifier_weights, final_hidden_forward, layer_weights,
                          long_run_layers, record)
    from ._training import (adaptive_or_load, config_for, sweep_or_load, test_error,
                            train_or_load)
    from .claims import claims_markdown

    t_start = time.perf_counter()
    if profile is None:
        prof = PROFILES["quick" if quick else "full"]
    elif isinstance(profile, Profile):
        prof = profile
    else:
        if profile not in PROFILES:
            raise ValueError(f"`profile` must be one of {', '.join(PROFILES)}; got {profile!r}.")
        prof = PROFILES[profile]
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

    bar = _Progress(14, progress)
    reused = []
    res = {}
    try:
        # 1. the three networks of the paper -----------------------------------------------
        models = {}
        for key, kind in (("resnet_shared", "shared"), ("resnet_variable", "per-layer"),
                          ("mlp", "mlp")):
            bar.stage(f"train {key}")
            extra = {"init_gain": MLP_INIT_GAIN} if kind == "mlp" and MLP_INIT_GAIN else {}
            m, _, was = train_or_load(cfg(kind, **extra), ds, ckpt_dir=ckpt, progress=progress)
            models[key] = m
            if was:
                reused.append(key)
        errors = {k: test_error(m, ds.x_test, ds.y_test) for k, m in models.items()}
        bar.done()

        # 2. trajectories ------------------------------------------------------------------
        bar.stage("record trajectories")
        xt, yt = ds.x_test, ds.y_test
        sel = _per_class_indices(yt, prof.per_class, prof.seed)
        rec = {k: record(m, xt[sel]) for k, m in models.items()}
        lsel = _per_class_indices(yt, prof.long_per_class, prof.seed)
        lay = long_run_layers(prof.long_depth)
        long = {k: record(models[k], xt[lsel], depth=prof.long_depth, layers=lay)
                for k in ("resnet_shared", "mlp")}
        bar.done()

        # 3. Fig. 2 ------------------------------------------------------------------------
        bar.stage("Fig. 2")
        lab_long = yt[lsel]
        # the per-layer net cannot run longer than it was trained: its 15 layers, same samples
        var_long = record(models["resnet_variable"], xt[lsel])
        res["fig2_residual_stats"] = residual_stats(
            {"resnet_shared": long["resnet_shared"]["y"], "resnet_variable": var_long["y"],
             "mlp": long["mlp"]["y"]},
            lab_long,
            layers={"resnet_shared": lay, "mlp": lay},
            steps={"resnet_shared": long["resnet_shared"]["step"], "mlp": long["mlp"]["step"],
                   "resnet_variable": var_long["step"]},
        )
        bar.done()

        # 4. Fig. 3 ------------------------------------------------------------------------
        bar.stage("Fig. 3")
        nsel = _per_class_indices(yt, prof.neuron_per_class, prof.seed)
        r3 = record(models["resnet_shared"], xt[nsel])
        K, c = classifier_weights(models["resnet_shared"])
        res["fig3_classifier_neurons"] = classifier_neurons(K, r3["y"], r3["x0"], yt[nsel])
        bar.done()

        # 5. Fig. 4 ------------------------------------------------------------------------
        bar.stage("Fig. 4 noise")
        zsel = np.random.default_rng(prof.seed).permutation(len(yt))[: prof.noise_samples]
        res["fig4_noise"] = noise_sweep(
            {"resnet_shared": final_hidden_forward(models["resnet_shared"]),
             "mlp": final_hidden_forward(models["mlp"])},
            xt[zsel], yt[zsel], np.asarray(prof.noise_amplitudes, dtype=float),
            n_realizations=prof.noise_realizations, seed=prof.seed)
        bar.done()

        # 6. Fig. 5 ------------------------------------------------------------------------
        bar.stage("Fig. 5")
        res["fig5_class_residuals"] = class_residuals(
            {"resnet_shared": long["resnet_shared"]["y"][:, -1], "mlp": long["mlp"]["y"][:, -1]},
            lab_long)
        bar.done()

        # 7. Fig. 6 and the letter's Fig. 1C-D ---------------------------------------------
        bar.stage("Fig. 6 embedding")
        labs = yt[sel]
        res["fig6_embedding"] = trajectory_embedding(
            {"residual trajectories y(1..T)": rec["resnet_shared"]["y"],
             "cumulative signal x(T)": rec["resnet_shared"]["h"]},
            labs, method=prof.embed_method, seed=prof.seed)
        res["fig6_cosine"] = class_cosine_similarity(
            {"resnet_shared": rec["resnet_shared"]["h"], "mlp": rec["mlp"]["h"]}, labs)
        res["letter_fig1c_distances"] = trajectory_distances(rec["resnet_shared"]["y"], labs)
        bar.done()

        # 8. Sect. 6 -----------------------------------------------------------------------
        bar.stage("Sect. 6 Jacobian")
        W, _b = layer_weights(models["resnet_shared"])
        res["sect6_jacobian"] = jacobian_at_class_means(
            W, long["resnet_shared"]["y"][:, -1], lab_long)
        bar.done()

        # 9. Appendix A --------------------------------------------------------------------
        bar.stage("Appendix A")
        ns = min(prof.sens_samples, len(sel))
        ssel = np.random.default_rng(prof.seed).permutation(len(sel))[:ns]
        s2 = min(10, prof.depth)
        res["appendix_sensitivity"] = layer_sensitivity(
            W, rec["resnet_shared"]["y"][ssel], K, s1=min(4, s2 - 1), s2=s2)
        bar.done()

        # 10. Sect. 7 ----------------------------------------------------------------------
        bar.stage("Sect. 7 adaptive depth")
        runs = []
        for key, kind in (("resnet_shared", "shared"), ("resnet_variable", "per-layer")):
            run, was = adaptive_or_load(cfg(kind, epochs=prof.adaptive_epochs), ds, key=key,
                                        reference_error=errors[key], ckpt_dir=ckpt,
                                        progress=progress)
            runs.append(run)
            if was:
                reused.append(f"adaptive_{key}")
        res["sect7_adaptive_depth"] = adaptive_depth_summary(runs)
        bar.done()

        # 11. perturbation sweep -----------------------------------------------------------
        bar.stage("perturbation sweep")
        sds = load_dataset(dataset, root=data_dir, seed=prof.seed,
                           n_train=prof.sweep_n_train or prof.n_train, n_test=prof.n_test)
        scfg = config_for(sds, "shared", depth=prof.depth, epochs=prof.sweep_epochs,
                          seed=prof.seed, data_root=data_dir,
                          n_train=prof.sweep_n_train or prof.n_train, n_test=prof.n_test)
        sweep, was = sweep_or_load(scfg, sds, depths=prof.sweep_depths, ckpt_dir=ckpt,
                                   progress=progress)
        if was:
            reused.append("perturbation_sweep")
        res["perturbation_sweep"] = perturbation_slope(*sweep)
        bar.done()

        # 12. exact small-N picture --------------------------------------------------------
        bar.stage("exact small N")
        small = load_dataset("blobs", seed=prof.seed, blobs_features=prof.exact_n,
                                  blobs_classes=prof.exact_classes, blobs_samples=1200)
        sm, _, was = train_or_load(
            config_for(small, "shared", depth=prof.depth, epochs=prof.exact_epochs,
                       seed=prof.seed, lr=prof.exact_lr), small, ckpt_dir=ckpt, progress=progress)
        if was:
            reused.append("exact_small_n")
        Ws, bs = layer_weights(sm)
        Ks, cs = classifier_weights(sm)
        x0s = record(sm, small.x_test, depth=1)["x0"]
        res["exact_small_n"] = exact_picture(Ws, bs, Ks, cs, x0s, small.y_test,
                                             trained_depth=sm.depth,
                                             long_depth=prof.long_depth, seed=prof.seed)
        bar.done()

        # 13. claims -----------------------------------------------------------------------
        bar.stage("claims")
        claims = build_claims(
            dataset=ds.name, errors=errors, n_classes=ds.n_classes,
            stats=res["fig2_residual_stats"],
            neurons=res["fig3_classifier_neurons"], noise=res["fig4_noise"],
            class_res=res["fig5_class_residuals"], embedding=res["fig6_embedding"],
            cosine=res["fig6_cosine"], distances=res["letter_fig1c_distances"],
            jacobian=res["sect6_jacobian"], adaptive=res["sect7_adaptive_depth"],
            sensitivity=res["appendix_sensitivity"], perturbation=res["perturbation_sweep"],
            exact=res["exact_small_n"])
        bar.done()

        # 14. files ------------------------------------------------------------------------
        bar.stage("write report")
        figures = {}
        for key in FIGURES:
            figures[key] = atomic_save_figure(res[key].figure, figdir / f"{key}.png")
        run_time = time.perf_counter() - t_start
        summary = {
            "dataset": ds.name,
            "profile": prof.name,
            "settings": {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in asdict(prof).items()},
            "n_train": ds.n_train,
            "n_test": ds.n_test,
            "test_error": errors,
            "run_time_s": round(run_time, 2),
            "reused_checkpoints": reused,
            "figures": {k: str(p.relative_to(out)) for k, p in figures.items()},
            "claims": [r.to_dict() for r in claims],
            "verdict_counts": {v: sum(r.verdict == v for r in claims)
                               for v in ("reproduced", "partly", "not reproduced",
                                         "not applicable")},
        }
        results_json = atomic_write_json(out / "results.json", summary)
        report = atomic_write_text(out / "report.md",
                                   _report_md(ds, prof, errors, claims, figures, out, run_time,
                                              reused, claims_markdown))
        bar.done()
    finally:
        bar.close()
    return ReproduceResult(dataset=ds.name, profile=prof.name, out_dir=out, report=report,
                           results_json=results_json, figures=figures, claims=claims,
                           run_time_s=run_time, reused_checkpoints=tuple(reused), analyses=res)


def _report_md(ds, prof, errors, claims, figures, out, run_time, reused, claims_markdown):
    counts = {v: sum(r.verdict == v for r in claims)
              for v in ("reproduced", "partly", "not reproduced", "not applicable")}
    lines = [
        f"# resdyn reproduction report: {ds.name} ({prof.name} profile)",
        "",
        f"- data: {ds.name}, {ds.n_train} training and {ds.n_test} test samples, "
        f"{ds.n_features} features, {ds.n_classes} classes",
        f"- networks: depth {prof.depth}, width {ds.n_features}, logistic residuals; at most "
        f"{prof.epochs} epochs (nets.TrainConfig defaults otherwise); the MLP runs beyond 15 "
        "layers by repeating its last layer",
        "- test error: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in errors.items()),
        f"- long runs: {prof.long_depth} layers on {prof.long_per_class} test samples per class",
        f"- run time: {run_time:.1f} s"
        + (f" (reused checkpoints: {', '.join(reused)})" if reused else ""),
        "- verdicts: " + ", ".join(f"{n} {k}" for k, n in counts.items()),
        "",
        "## Claims",
        "",
        "Every value in the *ours* column was computed by this run; the verdict follows from it "
        "by the rule listed below the table (module `analysis.claims`).",
        "",
        claims_markdown(claims),
        "### Rules",
        "",
    ]
    lines += [f"- `{r.id}`: {r.rule}" for r in claims]
    lines += ["", "## Figures", ""]
    for key, title in FIGURES.items():
        rel = figures[key].relative_to(out)
        lines += [f"### {title}", "", f"![{title}]({rel.as_posix()})", ""]
    return "\n".join(lines) + "\n"
