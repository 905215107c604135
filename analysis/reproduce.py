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

The run is the list of named stages :data:`STAGES` (loading the data, training each
network, every analysis, every figure, the claims, the report), each a small function of
the stages before it, run in order by :class:`analysis._stages.StageRunner`. Every file is
written atomically, each finished analysis and figure to ``out_dir/stages/<name>.npz``, so a
killed run resumes on the next call with the same `out_dir` from its last finished stage
(the networks from their checkpoints). One run at a time writes `out_dir`: it is locked for
the whole call, as training locks its folder. A stage is reused while its key, a hash of all it
depends on, is unchanged (see :func:`reproduce`); ``fresh=True`` recomputes every stage.

The MLP has per-layer weights (what :mod:`nets` trains); to run it to 1000 layers (Fig. 2C,
Fig. 5C-D) its last layer is repeated, y(t) = f(W(15) y(t-1) + b(15)) for t > 15, i.e. the
shared-weight MLP of eq. 6 with the weights of its last layer. The optimizer settings are
the defaults of :class:`nets.TrainConfig`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ._common import ShortRepr
from ._io import (atomic_save_figure, atomic_write_json, atomic_write_text,
                  check_output_folder, folder_lock, remove_partial_files)
from ._stages import ALL_SETTINGS, Stage, StageRunner, clear_stage_files
from .claims import TOLERANCES

__all__ = ["LOCK_FILE", "Profile", "PROFILES", "ReproduceResult", "STAGES", "STAGE_DIR",
           "reproduce"]

#: Folder of ``out_dir`` that holds the finished stages (``<name>.npz``).
STAGE_DIR = "stages"

#: The lock file a reproduction holds in ``out_dir`` while it runs (the networks it trains
#: lock their own checkpoint folders, ``out_dir/checkpoints/<run>/.train.lock``).
LOCK_FILE = ".reproduce.lock"


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
    landscape_n_test: int | None = 2000  # test inputs tracked over the shared run's epochs
    seed: int = 0


#: Named profiles: ``full`` (the paper's settings), ``quick`` (``make demo``, minutes on two
#: cores) and ``tiny`` (a smoke run of seconds on digits; its numbers mean nothing).
PROFILES = {
    "full": Profile("full"),
    "quick": Profile(
        "quick", epochs=4, n_train=None, per_class=50, long_per_class=20,
        neuron_per_class=100, noise_amplitudes=(0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 3.0),
        noise_realizations=5, noise_samples=200, sens_samples=20, embed_method="tsne",
        adaptive_epochs=8, sweep_depths=(2, 4, 8, 16), sweep_epochs=3, sweep_n_train=1000,
        exact_epochs=40, census_max_depth=10_000, census_n_test=300, census_n_fit=2000,
        landscape_n_test=300,
    ),
    "tiny": Profile(
        "tiny", epochs=2, n_train=600, n_test=300, per_class=10, long_depth=200,
        long_per_class=5, neuron_per_class=20, noise_amplitudes=(0.01, 0.1, 1.0),
        noise_realizations=2, noise_samples=100, sens_samples=5, embed_method="pca",
        adaptive_epochs=2, sweep_depths=(2, 4, 8), sweep_epochs=1, sweep_n_train=300,
        exact_n=6, exact_classes=3, exact_epochs=15, census_depth=200,
        census_max_depth=2000, census_n_test=100, census_n_fit=300,
        landscape_n_test=100,
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
    "landscape_river": "How the attractors form during training: where the inputs end, epoch "
                       "by epoch",
    "landscape_counts": "How the attractors form during training: attractors and saddles "
                        "reached",
    "landscape_bifurcation": "How the attractors form during training: every fixed point of "
                             "the small network along its training path",
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
    "landscape_river": ("landscape", "plot_landscape_river"),
    "landscape_counts": ("landscape", "plot_landscape_counts"),
    "landscape_bifurcation": ("landscape_exact", "plot_bifurcation_diagram"),
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
        Wall-clock seconds of this call.
    reused_checkpoints : tuple of str
        Networks loaded from ``out_dir/checkpoints`` instead of trained.
    stage_times_s : dict of str -> float
        Wall-clock seconds of each stage by its label (training of each network, each
        analysis, the attractor census, writing the report; stages that share a label are
        summed). A stage reused from ``out_dir/stages`` (and recorded trajectories this run
        did not need) count the seconds of the run that computed them, so after a resumed
        run the sum may exceed `run_time_s`.
    test_errors : dict of str -> float
        The three networks' test errors.
    baselines : dict of str -> float
        Test errors of the scikit-learn MLP and SVC on the same split.
    analyses : dict
        The result object of every analysis, by analysis key (see :data:`FIGURE_PLOTS`).
    reused_stages : tuple of str
        Names of the stages of :data:`STAGES` loaded from ``out_dir/stages`` instead of
        computed.
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
    reused_stages: tuple = field(default=(), repr=False)


def _per_class_indices(labels, n, seed):
    rng = np.random.default_rng(seed)
    idx = []
    for c in np.unique(labels):
        where = np.nonzero(labels == c)[0]
        idx.append(np.sort(rng.permutation(where)[:n]))
    return np.concatenate(idx)


def _profile(profile, quick):
    if profile is None:
        return PROFILES["quick" if quick else "full"]
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {', '.join(PROFILES)}; got {profile!r}.")
    return PROFILES[profile]


# -- the stages -----------------------------------------------------------------------------
# Each stage is a small function ``compute(ctx, **inputs)``; ``ctx.settings`` is the profile
# restricted to the fields the stage declares and ``ctx.options`` the run's options (dataset,
# data_dir, out, checkpoints, progress). See :mod:`analysis._stages` for the runner.

#: Analysis key -> the three networks of the paper: (key, nets kind).
_NETS = (("resnet_shared", "shared"), ("resnet_variable", "per-layer"), ("mlp", "mlp"))
_TRAIN_SETTINGS = ("depth", "epochs", "seed", "n_train", "n_test")


@dataclass(frozen=True)
class _Net:
    """A trained (or reloaded) network of the paper, as the stages downstream read it."""

    net: object  # dynsys.Network
    depth: int
    error: float  # test error
    identity: dict  # configuration and checkpoint SHA-256: what the stage's key covers
    reused: tuple  # labels of the networks reloaded from their checkpoints
    folder: str = ""  # the run folder (its kept epochs, for the shared ResNet)


@dataclass(frozen=True)
class _Adaptive:
    runs: tuple  # DepthRun per network
    identity: dict
    reused: tuple


@dataclass(frozen=True)
class _Sweep:
    sweep: object  # nets.DepthSweep
    identity: dict
    reused: tuple


@dataclass(frozen=True)
class _Exact:
    net: object
    depth: int
    data: object  # the blobs it was trained on
    identity: dict
    reused: tuple
    folder: str = ""  # the run folder (its kept epochs: the training path of its weights)


@dataclass(frozen=True)
class _Recordings:
    """Recorded trajectories of one network (:func:`analysis._runner.record`)."""

    short: object  # every trained layer, `per_class` test inputs per class (None: not needed)
    labels: object  # (B,) their labels
    long: object  # `long_depth` layers at long_run_layers (per-layer net: its T layers)
    long_labels: object  # labels of the `long_per_class` inputs per class of the long run


def _identity(value):
    return value.identity


def _dataset_identity(ds) -> dict:
    """Name, sizes and the SHA-256 of a data set's arrays: what a stage's key covers of it."""
    h = hashlib.sha256()
    for arr in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(memoryview(arr).cast("B"))
    return {"name": ds.name, "n_train": ds.n_train, "n_test": ds.n_test,
            "n_classes": ds.n_classes, "sha256": h.hexdigest()}


def _file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tolerances(*names):
    """``constants`` of a stage: the tolerances of :mod:`analysis.claims` it computes with."""
    return lambda: {k: TOLERANCES[k] for k in names}


def _load_data(ctx):
    from nets.data import load_dataset

    s = ctx.settings
    return load_dataset(ctx.options["dataset"], root=ctx.options["data_dir"], seed=s.seed,
                        n_train=s.n_train, n_test=s.n_test)


def _threads(ctx):
    """Torch threads of each network: one when networks train side by side (the checkpoint
    records it, so such a run has its own folders), else nets' default for the width."""
    return 1 if ctx.options["jobs"] > 1 else None


def _main_config(ctx, data, kind):
    from ._training import config_for

    s = ctx.settings
    extra = {"init_gain": MLP_INIT_GAIN} if kind == "mlp" and MLP_INIT_GAIN else {}
    if kind == "shared":
        # the landscape section follows the shared ResNet's census over its epochs
        extra["keep_epochs"] = True
    return config_for(data, kind, depth=s.depth, epochs=s.epochs, seed=s.seed,
                      data_root=ctx.options["data_dir"], n_train=s.n_train, n_test=s.n_test,
                      threads=_threads(ctx), **extra)


def _adaptive_base(ctx, data, kind):
    """The configuration whose Sect. 7 run is trained (:func:`_training.adaptive_config`)."""
    from ._training import config_for

    s = ctx.settings
    return config_for(data, kind, depth=s.depth, epochs=s.adaptive_epochs, seed=s.seed,
                      data_root=ctx.options["data_dir"], n_train=s.n_train, n_test=s.n_test,
                      threads=_threads(ctx))


def _sweep_data_and_config(ctx):
    from nets.data import load_dataset

    from ._training import config_for

    s = ctx.settings
    sn = s.sweep_n_train or s.n_train
    sds = load_dataset(ctx.options["dataset"], root=ctx.options["data_dir"], seed=s.seed,
                       n_train=sn, n_test=s.n_test)
    scfg = config_for(sds, "shared", depth=s.depth, epochs=s.sweep_epochs, seed=s.seed,
                      data_root=ctx.options["data_dir"], n_train=sn, n_test=s.n_test,
                      threads=_threads(ctx))
    return sds, scfg


def _exact_data_and_config(ctx):
    from nets.data import load_dataset

    from ._training import config_for

    s = ctx.settings
    small = load_dataset("blobs", seed=s.seed, blobs_features=s.exact_n,
                         blobs_classes=s.exact_classes, blobs_samples=1200)
    # its epochs are kept: the landscape section continues its fixed points along them
    cfg = config_for(small, "shared", depth=s.depth, epochs=s.exact_epochs, seed=s.seed,
                     lr=s.exact_lr, threads=_threads(ctx), keep_epochs=True)
    return small, cfg


def _train_stage(key, kind):
    def train(ctx, data):
        from ._runner import error_rate, network
        from ._training import checkpoint_sha256, config_identity, train_or_load

        cfg = _main_config(ctx, data, kind)
        model, result, was = train_or_load(cfg, data, ckpt_dir=ctx.options["checkpoints"],
                                           progress=ctx.options["progress"],
                                           present=ctx.options["present"])
        net = network(model)
        return _Net(net, model.depth,
                    error_rate(net, data.x_test, data.y_test, depth=model.depth),
                    {"config": config_identity(cfg), "sha256": checkpoint_sha256(result.out_dir)},
                    (key,) if was else (), str(result.out_dir))

    return Stage(f"train_{key}", f"train {key}", train, inputs=("data",),
                 settings=_TRAIN_SETTINGS, mode="always", identity=_identity)


#: What the training stages read: the side-by-side stage declares all of it.
_ALL_TRAINING_SETTINGS = tuple(dict.fromkeys(
    _TRAIN_SETTINGS + ("adaptive_epochs", "sweep_n_train", "sweep_epochs", "sweep_depths",
                       "exact_n", "exact_classes", "exact_epochs", "exact_lr")))


def _training_runs(ctx, data) -> list:
    """Every network the run trains, as ``(TrainConfig, folder)``: the configurations and
    folders the training stages below use, longest first (epochs x depth x width^2, the
    count of multiply-adds per sample), so that the side-by-side schedule does not end on
    one long run."""
    from nets import sweep_runs

    from ._training import adaptive_config, adaptive_folder, checkpoint_folder, sweep_folder

    ckpt = ctx.options["checkpoints"]
    runs = []  # (width, config, folder)
    # per-layer and MLP before shared: among equal counts, the slowest per epoch (their Adam
    # updates cover 15 matrices) start first
    for _, kind in (_NETS[1], _NETS[2], _NETS[0]):
        cfg = _main_config(ctx, data, kind)
        runs.append((data.n_features, cfg, checkpoint_folder(cfg, ckpt)))
    for kind in ("per-layer", "shared"):
        base = _adaptive_base(ctx, data, kind)
        runs.append((data.n_features, adaptive_config(base), adaptive_folder(base, ckpt)))
    sds, scfg = _sweep_data_and_config(ctx)
    runs.extend((sds.n_features, c, f) for c, f in
                sweep_runs(scfg, ctx.settings.sweep_depths, sweep_folder(scfg, ckpt)))
    small, ecfg = _exact_data_and_config(ctx)
    runs.append((small.n_features, ecfg, checkpoint_folder(ecfg, ckpt)))
    runs.sort(key=lambda r: -r[1].epochs * r[1].depth * r[0] ** 2)
    return [(cfg, folder) for _, cfg, folder in runs]


@dataclass(frozen=True)
class _SideBySide:
    workers: int  # networks trained at a time (1: none here, each by its own stage)


def _train_side_by_side(ctx, data):
    """With ``jobs > 1``, train every network of the run side by side (:func:`nets.train_many`),
    each on one thread; the training stages then reload them from their checkpoints."""
    from nets import train_many

    jobs = ctx.options["jobs"]
    if jobs == 1:
        return _SideBySide(1)
    train_many(_training_runs(ctx, data), workers=jobs, progress=ctx.options["progress"])
    return _SideBySide(jobs)


def _record_stage(key, *, short, long_run):
    """Trajectories of one net, computed when an analysis that reads them is computed."""

    def rec(ctx, data, **trained):
        from ._runner import long_run_layers, record

        s = ctx.settings
        n = trained[f"train_{key}"]
        xt, yt = data.x_test, data.y_test
        lsel = _per_class_indices(yt, s.long_per_class, s.seed)
        if long_run:
            long = record(n.net, xt[lsel], depth=s.long_depth,
                          layers=long_run_layers(s.long_depth))
        else:  # the per-layer net's long run is its own T layers (its trained network)
            long = record(n.net, xt[lsel], depth=n.depth)
        rec_short, labels = None, None
        if short:
            sel = _per_class_indices(yt, s.per_class, s.seed)
            rec_short, labels = record(n.net, xt[sel], depth=n.depth), yt[sel]
        return _Recordings(rec_short, labels, long, yt[lsel])

    settings = (("per_class",) if short else ()) + ("long_per_class", "seed")
    settings += ("long_depth",) if long_run else ()
    return Stage(f"record_{key}", "record trajectories", rec, inputs=("data", f"train_{key}"),
                 settings=settings, mode="on demand")


def _baselines(ctx, data):
    import analysis as A

    return A.compute_baselines(data.x_train, data.y_train, data.x_test, data.y_test,
                               seed=ctx.settings.seed).as_dict()


def _fig2(ctx, record_resnet_shared, record_resnet_variable, record_mlp):
    import analysis as A

    S, V, M = record_resnet_shared.long, record_resnet_variable.long, record_mlp.long
    return A.compute_residual_stats(
        {"resnet_shared": S.y, "resnet_variable": V.y, "mlp": M.y},
        record_resnet_shared.long_labels,
        layers={"resnet_shared": S.layers, "mlp": M.layers},
        steps={"resnet_shared": S.step, "mlp": M.step, "resnet_variable": V.step},
        spread_tol=TOLERANCES["spread_tol"], change_tol=TOLERANCES["step_converged"])


def _fig3(ctx, data, train_resnet_shared):
    import analysis as A

    from ._runner import record

    s, sh = ctx.settings, train_resnet_shared
    nsel = _per_class_indices(data.y_test, s.neuron_per_class, s.seed)
    r3 = record(sh.net, data.x_test[nsel], depth=sh.depth)
    return A.compute_classifier_neurons(sh.net.K, r3.y, r3.x0, data.y_test[nsel])


def _fig4(ctx, data, train_resnet_shared, train_mlp):
    import analysis as A

    from ._runner import final_hidden_forward

    s, sh, mlp = ctx.settings, train_resnet_shared, train_mlp
    xt, yt = data.x_test, data.y_test
    zsel = np.random.default_rng(s.seed).permutation(len(yt))[: s.noise_samples]
    return A.compute_noise_sweep(
        {"resnet_shared": final_hidden_forward(sh.net, sh.depth),
         "mlp": final_hidden_forward(mlp.net, mlp.depth)},
        xt[zsel], yt[zsel], np.asarray(s.noise_amplitudes, dtype=float),
        n_realizations=s.noise_realizations, seed=s.seed)


def _fig5(ctx, record_resnet_shared, record_mlp):
    import analysis as A

    return A.compute_class_residuals(
        {"resnet_shared": record_resnet_shared.long.y[-1], "mlp": record_mlp.long.y[-1]},
        record_resnet_shared.long_labels, span_tol=TOLERANCES["span_tol"])


def _fig6_embedding(ctx, record_resnet_shared):
    import analysis as A

    r = record_resnet_shared
    return A.compute_trajectory_embedding(
        {"residual trajectories y(1..T)": r.short.y, "cumulative signal x(T)": r.short.h},
        r.labels, method=ctx.settings.embed_method, seed=ctx.settings.seed)


def _fig6_cosine(ctx, record_resnet_shared, record_mlp):
    import analysis as A

    return A.compute_class_cosine_similarity(
        {"resnet_shared": record_resnet_shared.short.h, "mlp": record_mlp.short.h},
        record_resnet_shared.labels)


def _distances(ctx, record_resnet_shared):
    import analysis as A

    return A.compute_trajectory_distances(record_resnet_shared.short.y,
                                          record_resnet_shared.labels)


def _sect6(ctx, train_resnet_shared, record_resnet_shared):
    import analysis as A

    return A.compute_jacobian_at_class_means(train_resnet_shared.net,
                                             record_resnet_shared.long.y[-1],
                                             record_resnet_shared.long_labels)


def _appendix(ctx, train_resnet_shared, record_resnet_shared):
    import analysis as A

    s, r = ctx.settings, record_resnet_shared
    n = len(r.labels)
    ssel = np.random.default_rng(s.seed).permutation(n)[: min(s.sens_samples, n)]
    s2 = min(10, s.depth)
    return A.compute_layer_sensitivity(train_resnet_shared.net, r.short.y[:, ssel],
                                       s1=min(4, s2 - 1), s2=s2)


def _train_adaptive(ctx, data, train_resnet_shared, train_resnet_variable):
    from ._training import adaptive_or_load, config_identity

    runs, identity, reused = [], {}, []
    for key, kind, ref in (("resnet_shared", "shared", train_resnet_shared.error),
                           ("resnet_variable", "per-layer", train_resnet_variable.error)):
        cfg = _adaptive_base(ctx, data, kind)
        run, was, sha = adaptive_or_load(cfg, data, key=key, reference_error=ref,
                                         ckpt_dir=ctx.options["checkpoints"],
                                         progress=ctx.options["progress"],
                                         present=ctx.options["present"])
        runs.append(run)
        identity[key] = {"config": config_identity(cfg), "sha256": sha}
        if was:
            reused.append(f"adaptive_{key}")
    return _Adaptive(tuple(runs), identity, tuple(reused))


def _sect7(ctx, train_adaptive):
    import analysis as A

    return A.compute_adaptive_depth(list(train_adaptive.runs))


def _train_sweep(ctx):
    from ._training import config_identity, sweep_or_load

    s = ctx.settings
    sds, scfg = _sweep_data_and_config(ctx)
    sweep, was, shas = sweep_or_load(scfg, sds, depths=s.sweep_depths,
                                     ckpt_dir=ctx.options["checkpoints"],
                                     progress=ctx.options["progress"],
                                     present=ctx.options["present"])
    identity = {"config": config_identity(scfg), "sha256": {str(d): h for d, h in shas.items()},
                "data": _dataset_identity(sds)}
    return _Sweep(sweep, identity, ("perturbation_sweep",) if was else ())


def _perturbation(ctx, train_sweep):
    import analysis as A

    sweep = train_sweep.sweep
    return A.compute_perturbation_slope(sweep.depths, sweep.mean_scaled, sweep.mean_absolute)


def _train_exact(ctx):
    from ._runner import network
    from ._training import checkpoint_sha256, config_identity, train_or_load

    small, cfg = _exact_data_and_config(ctx)
    model, result, was = train_or_load(cfg, small, ckpt_dir=ctx.options["checkpoints"],
                                       progress=ctx.options["progress"],
                                       present=ctx.options["present"])
    identity = {"config": config_identity(cfg), "sha256": checkpoint_sha256(result.out_dir),
                "data": _dataset_identity(small)}
    return _Exact(network(model), model.depth, small, identity,
                  ("exact_small_n",) if was else (), str(result.out_dir))


def _exact(ctx, train_exact):
    import analysis as A

    e = train_exact
    return A.compute_exact_picture(e.net, e.data.x_test, e.data.y_test, trained_depth=e.depth,
                                   long_depth=ctx.settings.long_depth, seed=ctx.settings.seed)


def _census(ctx, data, train_resnet_shared, train_resnet_variable, train_mlp):
    import analysis as A

    s = ctx.settings
    nets_ = {"resnet_shared": train_resnet_shared.net,
             "resnet_variable": train_resnet_variable.net, "mlp": train_mlp.net}
    yt = data.y_test
    cn = len(yt) if s.census_n_test is None else min(s.census_n_test, len(yt))
    fn = data.n_train if s.census_n_fit is None else min(s.census_n_fit, data.n_train)
    return A.compute_census_section(
        nets_, data.x_test[:cn], yt[:cn], depth=s.census_depth,
        max_depth=s.census_max_depth, x_train=data.x_train[:fn], y_train=data.y_train[:fn],
        trained_depth=train_resnet_shared.depth, n_classes=data.n_classes,
        progress=ctx.options["progress"])


def _landscape(ctx, data, train_resnet_shared):
    import analysis as A

    from ._progress import ProgressBar

    s = ctx.settings
    path = A.load_training_path(train_resnet_shared.folder)
    yt = data.y_test
    n = len(yt) if s.landscape_n_test is None else min(s.landscape_n_test, len(yt))
    bar = ProgressBar("landscape", unit="epoch") if ctx.options["progress"] else None
    try:
        return A.compute_landscape(path, data.x_test[:n], yt[:n], depth=s.census_depth,
                                   max_depth=s.census_max_depth, progress=bar)
    finally:
        if bar is not None:
            bar.close()


def _landscape_exact(ctx, train_exact):
    """Every fixed point of the small network continued along its training path."""
    import dynsys

    import analysis as A

    path = A.load_training_path(train_exact.folder)
    return dynsys.continue_fixed_points(np.stack([net.W for net in path.networks]))


def _figure_stage(key):
    """Draw one figure of :data:`FIGURES` into ``figures/<key>.png``; stored as its hash."""
    analysis_key, plot_name = FIGURE_PLOTS[key]

    def draw(ctx, **inputs):
        import analysis as A

        rel = f"figures/{key}.png"
        fig = getattr(A, plot_name)(inputs[analysis_key])
        path = atomic_save_figure(fig, Path(ctx.options["out"]) / rel)
        return {"path": rel, "sha256": _file_sha256(path)}

    return Stage(f"figure_{key}", "write report", draw, inputs=(analysis_key,),
                 verify=_figure_intact)


def _figure_intact(ctx, value):
    """A stored figure is reused only while its PNG is there, unchanged."""
    path = Path(ctx.options["out"]) / value["path"]
    return path.is_file() and _file_sha256(path) == value["sha256"]


def _errors(res):
    return {k: res[f"train_{k}"].error for k, _ in _NETS}


def _claims(ctx, data, baselines, **res):
    import analysis as A

    return A.build_claims(dataset=data.name, errors=_errors(res), n_classes=data.n_classes,
                          baselines=baselines,
                          **{k: res[a] for k, a in CLAIM_INPUTS.items()})


@dataclass(frozen=True)
class _Report:
    report: Path
    results_json: Path
    figures: dict
    run_time: float
    reused_checkpoints: tuple
    account: dict


#: The stages that train (or reload) networks, in order: their ``reused`` labels make
#: ``reused_checkpoints``.
_TRAINING = ("train_resnet_shared", "train_resnet_variable", "train_mlp", "train_adaptive",
             "train_sweep", "train_exact")


def _report(ctx, data, baselines, claims, **res):
    prof = ctx.settings
    out = Path(ctx.options["out"])
    errors = _errors(res)
    figures = {key: out / res[f"figure_{key}"]["path"] for key in FIGURES}
    reused = [label for name in _TRAINING for label in res[name].reused]
    account = ctx.account()
    run_time = ctx.elapsed()
    summary = {
        "dataset": data.name,
        "profile": prof.name,
        "banner": BANNERS.get(prof.name),
        "settings": {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in asdict(prof).items()},
        "n_train": data.n_train,
        "n_test": data.n_test,
        "test_error": errors,
        "baselines": baselines,
        "run_time_s": round(run_time, 2),
        "training_workers": res["train_side_by_side"].workers,
        "stage_times_s": account["times"],
        "reused_checkpoints": reused,
        "reused_stages": list(account["reused"]),
        "stages": account["stages"],
        "figures": {k: str(p.relative_to(out)) for k, p in figures.items()},
        "claims": [r.to_dict() for r in claims],
        "verdict_counts": _verdict_counts(claims),
    }
    results_json = atomic_write_json(out / "results.json", summary)
    report = atomic_write_text(out / "report.md",
                               _report_md(data, prof, errors, baselines, claims, figures, out,
                                          run_time, reused, account["reused"],
                                          res["train_side_by_side"].workers,
                                          landscape=res["landscape"]))
    return _Report(report, results_json, figures, run_time, tuple(reused), account)


def _analysis_stage(key, label, compute, inputs, settings=(), constants=None):
    return Stage(key, label, compute, inputs=inputs, settings=settings, constants=constants)


def _build_stages():
    rec = ("record_resnet_shared",)
    stages = [
        Stage("data", "load data", _load_data, settings=("seed", "n_train", "n_test"),
              mode="always", identity=_dataset_identity),
        Stage("train_side_by_side", "train networks side by side", _train_side_by_side,
              inputs=("data",), settings=_ALL_TRAINING_SETTINGS, mode="always"),
        *(_train_stage(key, kind) for key, kind in _NETS),
        Stage("baselines", "scikit-learn baselines", _baselines, inputs=("data",),
              settings=("seed",)),
        _record_stage("resnet_shared", short=True, long_run=True),
        _record_stage("resnet_variable", short=False, long_run=False),
        _record_stage("mlp", short=True, long_run=True),
        _analysis_stage("fig2_residual_stats", "Fig. 2", _fig2,
                        rec + ("record_resnet_variable", "record_mlp"),
                        constants=_tolerances("spread_tol", "step_converged")),
        _analysis_stage("fig3_classifier_neurons", "Fig. 3", _fig3,
                        ("data", "train_resnet_shared"), ("neuron_per_class", "seed")),
        _analysis_stage("fig4_noise", "Fig. 4 noise", _fig4,
                        ("data", "train_resnet_shared", "train_mlp"),
                        ("noise_samples", "noise_amplitudes", "noise_realizations", "seed")),
        _analysis_stage("fig5_class_residuals", "Fig. 5", _fig5, rec + ("record_mlp",),
                        constants=_tolerances("span_tol")),
        _analysis_stage("fig6_embedding", "Fig. 6 embedding", _fig6_embedding, rec,
                        ("embed_method", "seed")),
        _analysis_stage("fig6_cosine", "Fig. 6 embedding", _fig6_cosine, rec + ("record_mlp",)),
        _analysis_stage("letter_fig1c_distances", "Fig. 6 embedding", _distances, rec),
        _analysis_stage("sect6_jacobian", "Sect. 6 Jacobian", _sect6,
                        ("train_resnet_shared",) + rec),
        _analysis_stage("appendix_sensitivity", "Appendix A", _appendix,
                        ("train_resnet_shared",) + rec, ("sens_samples", "seed", "depth")),
        Stage("train_adaptive", "Sect. 7 adaptive depth", _train_adaptive,
              inputs=("data", "train_resnet_shared", "train_resnet_variable"),
              settings=("depth", "adaptive_epochs", "seed", "n_train", "n_test"),
              mode="always", identity=_identity),
        _analysis_stage("sect7_adaptive_depth", "Sect. 7 adaptive depth", _sect7,
                        ("train_adaptive",)),
        Stage("train_sweep", "perturbation sweep", _train_sweep,
              settings=("sweep_n_train", "n_train", "n_test", "seed", "depth", "sweep_epochs",
                        "sweep_depths"), mode="always", identity=_identity),
        _analysis_stage("perturbation_sweep", "perturbation sweep", _perturbation,
                        ("train_sweep",)),
        Stage("train_exact", "exact small N", _train_exact,
              settings=("seed", "exact_n", "exact_classes", "depth", "exact_epochs",
                        "exact_lr"), mode="always", identity=_identity),
        _analysis_stage("exact_small_n", "exact small N", _exact, ("train_exact",),
                        ("long_depth", "seed")),
        _analysis_stage("census", "attractor census", _census,
                        ("data",) + tuple(f"train_{k}" for k, _ in _NETS),
                        ("census_n_test", "census_n_fit", "census_depth", "census_max_depth")),
        _analysis_stage("landscape", "how the attractors form", _landscape,
                        ("data", "train_resnet_shared"),
                        ("landscape_n_test", "census_depth", "census_max_depth")),
        _analysis_stage("landscape_exact", "how the attractors form", _landscape_exact,
                        ("train_exact",)),
        # Further sections add their stages here, their figures to FIGURES / FIGURE_PLOTS and
        # the keys their rules read to CLAIM_INPUTS.
    ]
    stages += [_figure_stage(key) for key in FIGURES]
    analyses = tuple(dict.fromkeys(CLAIM_INPUTS.values()))
    stages += [
        Stage("claims", "claims", _claims,
              inputs=("data", "baselines") + tuple(f"train_{k}" for k, _ in _NETS) + analyses,
              mode="always"),
        Stage("report", "write report", _report,
              inputs=("data", "baselines", "claims", "train_side_by_side", "landscape")
              + _TRAINING + tuple(f"figure_{key}" for key in FIGURES),
              settings=ALL_SETTINGS, mode="always"),
    ]
    return tuple(stages)


#: The stages of :func:`reproduce`, in the order they run (see :mod:`analysis._stages`):
#: ``"always"`` stages run every time (loading the data, training or reloading networks
#: from their checkpoints, the claims, the report), ``"stored"`` ones (every analysis and
#: figure) are written to ``out_dir/stages/<name>.npz`` and reused while their key holds,
#: ``"on demand"`` ones (the recorded trajectories) are computed only for a stage that needs
#: them. An analysis's stage is named by its analysis key.
STAGES = _build_stages()

#: Names of the stages whose results are analyses (``ReproduceResult.analyses``).
_ANALYSES = tuple(dict.fromkeys([a for a, _ in FIGURE_PLOTS.values()]
                                + list(CLAIM_INPUTS.values())))


def _remove_leftovers(out: Path) -> int:
    """Remove the temporary files of atomic writes a killed run left under `out`.

    A checkpoint folder that a training run holds (its ``nets.LOCK_FILE``, e.g. a
    ``resdyn train --out out/checkpoints/x`` started by hand) is left alone: its temporary
    files are that run's writes in progress, not leftovers.
    """
    folders = [out, out / STAGE_DIR, out / "figures"]
    ckpt = out / "checkpoints"
    removed = sum(remove_partial_files(f) for f in folders if f.is_dir())
    if ckpt.is_dir():
        for folder in [ckpt] + sorted(p for p in ckpt.rglob("*") if p.is_dir()):
            removed += _remove_unless_training(folder)
    return removed


def _remove_unless_training(folder: Path) -> int:
    from nets import LOCK_FILE as TRAIN_LOCK
    from nets import FolderLockedError

    try:
        with folder_lock(folder, TRAIN_LOCK, name="checkpoint folder"):
            return remove_partial_files(folder)
    except FolderLockedError:
        return 0


def reproduce(dataset: str = "mnist5k", *, quick: bool = False, out_dir="results/reproduce",
              progress: bool = True, data_dir=None, profile: str | Profile | None = None,
              fresh: bool = False, jobs: int | None = None):
    """Train (or reload), run every analysis, write ``report.md`` and ``results.json``.

    The work is the list of stages :data:`STAGES`. Each analysis and figure is written to
    ``out_dir/stages/<name>.npz`` when it finishes, so a run that was killed resumes on the
    next call with the same `out_dir` from its last finished stage: a stage is reused when
    its key is unchanged, and recomputed otherwise. The key of a stage is a SHA-256 of
    everything its result depends on: the data set (name, sizes and a hash of its arrays),
    the profile settings the stage reads, the SHA-256 of the checkpoints of the networks it
    uses (recorded by :mod:`nets.checkpoint`), the tolerances it uses, the keys of the
    stages it takes and a format version. The networks themselves resume from their
    checkpoints in ``out_dir/checkpoints``. A stage file that cannot be read is recomputed
    with a :class:`RuntimeWarning`; temporary files left by a killed run are removed. The
    folder is locked for the whole call (``out_dir/.reproduce.lock``, see
    :func:`nets.atomic.folder_lock`), before those files are removed: a second call on the
    same folder, in this process or another, is refused instead of deleting the temporary
    files of the run in progress and writing the same stage files. A killed run's lock ends
    with its process.
    The code is not part of a key: after changing what an analysis computes, pass
    ``fresh=True`` (or delete its file in ``out_dir/stages``).

    Parameters
    ----------
    dataset : {"mnist5k", "digits", "fashion-mnist", "mnist"}
    quick : bool
        Use the ``quick`` profile (fewer epochs, samples, amplitudes; minutes on two cores).
    out_dir : path
        Output folder (created if it does not exist); checkpoints are cached in
        ``out_dir/checkpoints``, finished stages in ``out_dir/stages``. It is checked before
        any work: an existing file, a file on its path, or a place where no file can be
        created raises a ``ValueError`` naming `out_dir`, and so does a symbolic link to a
        missing target.
    progress : bool
        Show tqdm progress bars.
    data_dir : path, optional
        Folder with IDX files (``mnist`` defaults to the copy ``make data`` installs,
        ``fashion-mnist`` to Debian's package).
    profile : str or Profile, optional
        A named profile of :data:`PROFILES` or a :class:`Profile`; overrides `quick`.
    fresh : bool
        Recompute every stage: the stage files in ``out_dir/stages`` are deleted first (the
        checkpoints are kept; delete ``out_dir/checkpoints`` to train again).
    jobs : int, optional
        Networks trained at a time (default: :func:`nets.available_cpus`). Above 1, every
        network of the run is trained first by :func:`nets.train_many`, side by side on one
        torch thread each, and the later stages reload them; their configurations record
        ``threads=1``, so they have checkpoint folders of their own. With 1 each training
        stage trains its networks in turn on nets' default threads.

    Returns
    -------
    ReproduceResult
        ``reused_stages`` names the stages loaded from ``out_dir/stages``;
        ``stage_times_s`` gives a reused stage the seconds of the run that computed it.

    Raises
    ------
    ValueError
        `out_dir` is unusable, or a setting is invalid (before any work).
    nets.FolderLockedError
        Another run is writing `out_dir` (the message names `out_dir`, the folder and the
        holder's process id).
    """
    t_start = time.perf_counter()
    # before the profile, the data and the training: a place where the report cannot be
    # written is refused now, not after hours of work
    out = check_output_folder(out_dir, "`out_dir`")
    prof = _profile(profile, quick)
    jobs = _check_jobs(jobs)
    out.mkdir(parents=True, exist_ok=True)
    # held before the clean-up below: a second run would otherwise delete the temporary
    # files of the run in progress and both would write the same stage files. The trainings
    # inside lock their own folders below checkpoints/, never this one.
    with folder_lock(out, LOCK_FILE, name="`out_dir`"):
        return _reproduce_locked(out, prof, dataset, data_dir, progress, fresh, jobs, t_start)


def _check_jobs(jobs) -> int:
    from nets import available_cpus

    if jobs is None:
        return available_cpus()
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1 (networks trained at a time); "
                         f"got {jobs!r}.")
    return int(jobs)


def _reproduce_locked(out: Path, prof, dataset, data_dir, progress, fresh, jobs, t_start):
    """:func:`reproduce` once `out` is checked and locked."""
    ckpt = out / "checkpoints"
    (out / "figures").mkdir(parents=True, exist_ok=True)
    ckpt.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    if fresh:
        clear_stage_files(out / STAGE_DIR)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(STAGES), desc="reproduce", unit="stage")
    from ._training import checkpoints_present

    # taken before anything trains: a network is "reused" when its checkpoint was there when
    # the run began, whichever stage trained the rest
    options = {"dataset": dataset, "data_dir": data_dir, "out": out, "checkpoints": ckpt,
               "progress": progress, "jobs": jobs, "present": checkpoints_present(ckpt)}
    runner = StageRunner(STAGES, out / STAGE_DIR, prof, options, bar=bar, t_start=t_start)
    try:
        values = runner.run()
    finally:
        if bar is not None:
            bar.close()
    rep, data = values["report"], values["data"]
    return ReproduceResult(dataset=data.name, profile=prof.name, out_dir=out,
                           report=rep.report, results_json=rep.results_json,
                           figures=rep.figures, claims=values["claims"],
                           run_time_s=rep.run_time, reused_checkpoints=rep.reused_checkpoints,
                           test_errors=_errors(values), baselines=dict(values["baselines"]),
                           analyses={a: values[a] for a in _ANALYSES},
                           stage_times_s=dict(rep.account["times"]),
                           reused_stages=tuple(rep.account["reused"]))


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


def _report_md(ds, prof, errors, baselines, claims, figures, out, run_time, reused,
               reused_stages=(), workers=1, landscape=None):
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
        + (f" (reused checkpoints: {', '.join(reused)})" if reused else "")
        + (f"; {len(reused_stages)} finished stages reused from `{STAGE_DIR}/`"
           if reused_stages else "")
        + (f"; networks trained {workers} at a time, one torch thread each" if workers > 1
           else "; networks trained one after the other"),
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
    if landscape is not None:
        from .landscape import landscape_events

        lines += [
            "", "## How the attractors form during training", "",
            "An observation, not one of the papers' claims: the attractor census of "
            f"{landscape.n_inputs} test inputs of the shared ResNet at every epoch it kept "
            "(epoch 0: its initial weights), each end point followed from epoch to epoch "
            "(`dynsys.track_census`); and every fixed point of the small network of *Every "
            "fixed point of a small trained network*, continued exactly along the path of its "
            "kept epochs (`dynsys.continue_fixed_points`). Figures: *How the attractors form "
            "during training* below.", "", "```", landscape_events(landscape, max_events=40),
            "```"]
    lines += ["", "## Figures", ""]
    for key, title in FIGURES.items():
        rel = figures[key].relative_to(out)
        lines += [f"### {title}", "", f"![{title}]({rel.as_posix()})", ""]
    return "\n".join(lines) + "\n"
