"""The attractor census of the trained networks on the test set (the exact end states).

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics",
Sect. 6 and Fig. 2, 5: run to 1000 layers, the residuals of the shared-weight ResNet "converge
to a few fixed points", and the Jacobian at some class means has one small positive
eigenvalue. The paper judges this from class means, which are not fixed points.
:func:`dynsys.attractor_census` answers it exactly, input by input: the fixed point on the face
each input ends on, whether it is an attractor of the layer map or a saddle being passed, and
how many layers the passage still takes. This module runs the census for the three networks
of the reproduction (shared, per-layer with its last layer repeated, MLP with its last layer
repeated) and summarises it per class; :func:`compute_census_section` returns the numbers, the
``plot_*`` functions draw them. The plots also take one :class:`dynsys.AttractorCensus` with
labels, of any network (:func:`section_from_census`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from ._common import as_labels, frozen_copy
from ._progress import ProgressBar
from ._style import NET_COLORS, class_colors, new_figure

__all__ = ["NetworkCensus", "CensusSectionResult", "compute_census_section",
           "section_from_census", "plot_census_status", "plot_census_end_states",
           "plot_saddle_eigenvalues", "plot_settled_fraction", "settled_fraction"]

_STATUS_COLORS = {"attractor": "#1b9e77", "saddle": "#e6ab02", "cycle": "#7570b3",
                  "not converged": "#d95f02"}
_LABELS = {"resnet_shared": "ResNet, shared",
           "resnet_variable": "ResNet, per-layer (last repeated)",
           "mlp": "MLP (last layer repeated)"}


def settled_fraction(census, depths) -> np.ndarray:
    """Fraction of the inputs settled (at an attractor or on a cycle) by each depth.

    Parameters
    ----------
    census : dynsys.AttractorCensus
    depths : array_like of int, shape (L,)

    Returns
    -------
    ndarray, shape (L,)
    """
    status = np.atleast_1d(census.status)
    layers = np.atleast_1d(census.layers)
    settled = np.isin(status, ("attractor", "cycle"))
    d = np.asarray(depths, dtype=np.int64)
    return np.array([np.mean(settled & (layers <= t)) for t in d]) if status.size else \
        np.zeros(d.shape)


@dataclass(frozen=True)
class NetworkCensus:
    """The census of one network on the test inputs, with per-class summaries.

    Attributes
    ----------
    name : str
        ``"resnet_shared"``, ``"resnet_variable"`` or ``"mlp"`` (:func:`compute_census_section`);
        any name for :func:`section_from_census`.
    census : dynsys.AttractorCensus
        The full census (per input and per distinct fixed point).
    status_fraction : ndarray, shape (4, C)
        Fraction of each class's inputs per status, in the order of ``dynsys`` ``STATUSES``
        (attractor, saddle, cycle, not converged).
    end_states_per_class : ndarray of int, shape (C,)
        Distinct fixed points reached by the inputs of each class.
    n_attractors, n_saddles : int
        Distinct map-stable fixed points reached, and distinct points with unstable directions
        at which inputs sit.
    saddle_index : ndarray of int, shape (S,)
        Unstable dimension (flow) of the point of each input with status "saddle".
    saddle_leading : ndarray, shape (S,)
        Leading flow eigenvalue of that point.
    saddle_class : ndarray of int, shape (S,)
        The class of each of those inputs.
    readout_accuracy : float
        The trained readout on the trained-depth state (what the network computes); NaN
        without a readout, or for a section made from a census alone
        (:func:`section_from_census`).
    depths, settled : ndarray, shape (L,)
        Fraction of inputs settled by each depth (:func:`settled_fraction`).
    """

    name: str
    census: object = field(repr=False)
    status_fraction: np.ndarray = field(repr=False)
    end_states_per_class: np.ndarray = field(repr=False)
    n_attractors: int
    n_saddles: int
    saddle_index: np.ndarray = field(repr=False)
    saddle_leading: np.ndarray = field(repr=False)
    saddle_class: np.ndarray = field(repr=False)
    readout_accuracy: float
    depths: np.ndarray = field(repr=False)
    settled: np.ndarray = field(repr=False)

    @property
    def endpoint_accuracy(self) -> float:
        """Accuracy of the class predicted from the end point alone."""
        return float(self.census.endpoint_accuracy)

    def fractions(self) -> dict:
        """Fraction of all inputs per status."""
        from dynsys import CENSUS_STATUSES as STATUSES

        st = np.atleast_1d(self.census.status)
        return {s: float(np.mean(st == s)) if st.size else 0.0 for s in STATUSES}


@dataclass(frozen=True)
class CensusSectionResult:
    """Result of :func:`compute_census_section`.

    Attributes
    ----------
    networks : dict of str -> NetworkCensus
    n_classes : int
    depth : int
        The layer at which unsettled inputs were classified.
    max_depth : int or None
        The layer to which unsettled inputs were followed.
    """

    networks: dict = field(repr=False)
    n_classes: int
    depth: int
    max_depth: int | None

    def __repr__(self) -> str:
        names = ", ".join(self.networks)
        return (f"CensusSectionResult(networks=[{names}], n_classes={self.n_classes}, "
                f"depth={self.depth}, max_depth={self.max_depth})")


def _readout_accuracy(net, x, labels, trained_depth) -> float:
    import dynsys

    if net.K is None:
        return float("nan")
    T = net.depth if not net.shared else trained_depth
    res = dynsys.iterate(net, x, T, record="final")
    state = res.y_final if net.kind == "mlp" else res.x_final
    return float(np.mean(np.argmax(net.readout(state), axis=1) == labels))


def _one(name, net, x, labels, C, depth, max_depth, x_train, y_train, trained_depth,
         progress, depths):
    import dynsys

    # The MLP has no faces to saturate onto, so the long-horizon engine cannot shortcut it:
    # each of its inputs costs a dense product per layer. It is censused at `depth` (the
    # paper's claim is about layer 1000) and its end points are scored in sample; the
    # ResNets are followed to `max_depth` with the end-point classifier fitted on training
    # inputs.
    mlp = net.kind == "mlp"
    fit = {} if (x_train is None or mlp) else {"train_x0": x_train, "train_labels": y_train}
    with ProgressBar(f"census {name}", unit="input") if progress else nullcontext() as bar:
        cen = dynsys.attractor_census(net, x, depth, labels=labels,
                                      max_depth=None if mlp else max_depth,
                                      progress=bar, **fit)
    return _summarise(name, cen, labels, C, _readout_accuracy(net, x, labels, trained_depth),
                      depths)


def _summarise(name, cen, labels, C, readout_accuracy, depths) -> NetworkCensus:
    """The per-class summary of one census (`labels` (B,) of int, `C` classes)."""
    counts = cen.status_counts[:, :C].astype(float)
    per_class = np.bincount(labels, minlength=C)[:C].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(per_class > 0, counts / np.maximum(per_class, 1), np.nan)
    asg = np.atleast_1d(cen.assignment)
    status = np.atleast_1d(cen.status)
    eps = np.array([np.unique(asg[(labels == k) & (asg >= 0)]).size for k in range(C)])
    reached = np.unique(asg[asg >= 0])
    stable_pts = set(np.flatnonzero(cen.map_stability == "stable").tolist())
    n_att = sum(1 for m in reached if m in stable_pts)
    sad = status == "saddle"
    sad_pts = asg[sad & (asg >= 0)]
    return NetworkCensus(
        name=name, census=cen, status_fraction=frozen_copy(frac),
        end_states_per_class=frozen_copy(eps), n_attractors=int(n_att),
        n_saddles=int(np.unique(sad_pts).size),
        saddle_index=frozen_copy(cen.unstable_dim[sad_pts]),
        saddle_leading=frozen_copy(cen.leading_eigenvalue[sad_pts]),
        saddle_class=frozen_copy(labels[sad & (asg >= 0)]),
        readout_accuracy=float(readout_accuracy),
        depths=frozen_copy(depths), settled=frozen_copy(settled_fraction(cen, depths)))


def _settling_depths(depth, max_depth) -> np.ndarray:
    """The depths at which a section reports the settled fraction (40, log-spaced)."""
    top = int(max_depth) if max_depth is not None else int(depth)
    return np.unique(np.geomspace(1, max(top, 2), 40).astype(np.int64))


def compute_census_section(networks, x_test, labels, *, depth: int = 1000, max_depth=None,
                           x_train=None, y_train=None, trained_depth: int = 15,
                           n_classes=None, progress=False) -> CensusSectionResult:
    """The attractor census of each network on the test inputs.

    Parameters
    ----------
    networks : dict of str -> dynsys.Network
        Keyed ``"resnet_shared"``, ``"resnet_variable"``, ``"mlp"`` (any subset). A per-layer
        network runs its trained layers and then repeats its last one; the MLP repeats its
        last layer (the map y -> f(W(T) y + b(T))), as in the long runs of the reproduction.
    x_test : array_like, shape (B, D)
    labels : array_like of int, shape (B,)
    depth : int
        Layer at which unsettled inputs are classified (the paper's 1000).
    max_depth : int, optional
        Follow the ResNets' unsettled inputs up to this layer.
    x_train, y_train : array_like, optional
        Training inputs whose majority class per end point defines the ResNets' end-point
        classifier, scored on the test inputs (without them, and for the MLP: fitted and
        scored on the test inputs).
    trained_depth : int
        T of the shared networks as trained (their readout is scored at this depth).
    n_classes : int, optional
        C (default ``max(labels) + 1``).
    progress : bool
        A progress bar per census.

    Returns
    -------
    CensusSectionResult
    """
    x = np.asarray(x_test, dtype=np.float64)
    lab = as_labels(labels, x.shape[0], "labels")
    C = int(n_classes) if n_classes is not None else int(lab.max()) + 1
    depths = _settling_depths(depth, max_depth)
    out = {}
    for name, net in networks.items():
        out[name] = _one(name, net, x, lab, C, int(depth), max_depth, x_train, y_train,
                         trained_depth, progress, depths)
    return CensusSectionResult(networks=out, n_classes=C, depth=int(depth),
                               max_depth=None if max_depth is None else int(max_depth))


def section_from_census(census, *, name: str | None = None,
                        argument: str = "census") -> CensusSectionResult:
    """One census as a one-network :class:`CensusSectionResult`, for the ``plot_*`` functions.

    The per-class summaries are those :func:`compute_census_section` makes of each of its
    censuses, read from the census itself: its labels, status counts, end points and
    settling layers. Nothing is run again; the readout accuracy, which needs the network,
    is NaN.

    Parameters
    ----------
    census : dynsys.AttractorCensus
        A census with labels: ``dynsys.attractor_census(net, x, depth, labels=y)``.
    name : str, optional
        The network's name in the section and in the plots (default: ``census.kind``).
    argument : str
        How errors name `census` (the caller's argument).

    Returns
    -------
    CensusSectionResult
        ``networks`` holds one :class:`NetworkCensus`; ``n_classes`` is C of the census's
        ``status_counts`` (4, C); ``depth`` and ``max_depth`` are the census's.

    Raises
    ------
    TypeError
        `census` is not a :class:`dynsys.AttractorCensus`.
    ValueError
        The census has no labels (per-class summaries need the class of each input).
    """
    from dynsys import AttractorCensus

    if not isinstance(census, AttractorCensus):
        raise TypeError(f"`{argument}` must be a dynsys.AttractorCensus; got "
                        f"{type(census).__name__}.")
    if census.labels is None or census.status_counts is None:
        raise ValueError(
            f"`{argument}` must be a census with labels (the plots are per class); got a "
            "dynsys.AttractorCensus without labels. Run it with the class of each input: "
            "dynsys.attractor_census(net, x, depth, labels=y)."
        )
    labels = np.atleast_1d(np.asarray(census.labels)).astype(np.int64)
    C = int(census.status_counts.shape[1])
    depths = _settling_depths(census.depth, census.max_depth)
    label = census.kind if name is None else str(name)
    nc = _summarise(label, census, labels, C, float("nan"), depths)
    return CensusSectionResult(networks={label: nc}, n_classes=C, depth=int(census.depth),
                               max_depth=None if census.max_depth is None
                               else int(census.max_depth))


def _section(result) -> CensusSectionResult:
    """`result` of a ``plot_*`` function as a section: a census becomes a one-network one."""
    if isinstance(result, CensusSectionResult):
        return result
    from dynsys import AttractorCensus

    if isinstance(result, AttractorCensus):
        return section_from_census(result, argument="result")
    raise TypeError("`result` must be a CensusSectionResult (compute_census_section) or a "
                    f"dynsys.AttractorCensus (dynsys.attractor_census); got "
                    f"{type(result).__name__}.")


# ---------------------------------------------------------------------------------- plots
def _axes_row(n, width_each=4.2, height=3.6):
    fig = new_figure(width_each * n, height)
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, axes


def plot_census_status(result):
    """Stacked bars: the fraction of each class's inputs per end-state status, per network.

    One panel per network; the bar of class k stacks the fractions of its inputs at an
    attractor, at a saddle, on a cycle and not converged (``NetworkCensus.status_fraction``).

    Parameters
    ----------
    result : CensusSectionResult or dynsys.AttractorCensus
        The result of :func:`compute_census_section`, or one census with labels
        (``dynsys.attractor_census(net, x, depth, labels=y)``), drawn as a one-network
        section (:func:`section_from_census`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        A census without labels.
    """
    result = _section(result)
    from dynsys import CENSUS_STATUSES as STATUSES

    nets_ = list(result.networks.values())
    fig, axes = _axes_row(len(nets_))
    classes = np.arange(result.n_classes)
    for ax, nc in zip(axes, nets_):
        bottom = np.zeros(result.n_classes)
        for s_i, s in enumerate(STATUSES):
            v = np.nan_to_num(nc.status_fraction[s_i])
            ax.bar(classes, v, bottom=bottom, color=_STATUS_COLORS[s], label=s)
            bottom += v
        ax.set_title(_LABELS.get(nc.name, nc.name), fontsize="medium")
        ax.set_xlabel("class")
        ax.set_xticks(classes)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel(f"fraction of inputs at layer {result.depth}"
                       + (f" (followed to {result.max_depth})" if result.max_depth else ""))
    axes[-1].legend(fontsize="small", loc="lower right")
    fig.suptitle("End-state status per class (attractor census)")
    return fig


def plot_census_end_states(result):
    """Grouped bars: the number of distinct fixed points the inputs of each class reach.

    One bar per class and network (``NetworkCensus.end_states_per_class``).

    Parameters
    ----------
    result : CensusSectionResult or dynsys.AttractorCensus
        The result of :func:`compute_census_section`, or one census with labels
        (``dynsys.attractor_census(net, x, depth, labels=y)``), drawn as a one-network
        section (:func:`section_from_census`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        A census without labels.
    """
    result = _section(result)
    fig = new_figure(8.0, 4.0)
    ax = fig.add_subplot()
    classes = np.arange(result.n_classes)
    k = len(result.networks)
    w = 0.8 / max(k, 1)
    for i, nc in enumerate(result.networks.values()):
        ax.bar(classes + (i - (k - 1) / 2) * w, nc.end_states_per_class, width=w,
               color=NET_COLORS.get(nc.name), label=_LABELS.get(nc.name, nc.name))
    ax.set_xticks(classes)
    ax.set_xlabel("class")
    ax.set_ylabel("distinct end states reached")
    ax.set_yscale("symlog", linthresh=10)
    ax.legend(fontsize="small")
    ax.set_title("Distinct end states per class")
    return fig


def plot_saddle_eigenvalues(result):
    """The leading flow eigenvalue of the saddle each saddle-status input sits at, by class.

    One row per network, one dot per input with status "saddle", coloured by class; the
    dashed line is the paper's 0.02 (Lagzi 2018, Sect. 6).

    Parameters
    ----------
    result : CensusSectionResult or dynsys.AttractorCensus
        The result of :func:`compute_census_section`, or one census with labels
        (``dynsys.attractor_census(net, x, depth, labels=y)``), drawn as a one-network
        section (:func:`section_from_census`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        A census without labels.
    """
    result = _section(result)
    fig = new_figure(8.0, 4.0)
    ax = fig.add_subplot()
    colors = class_colors(result.n_classes)
    any_ = False
    for i, nc in enumerate(result.networks.values()):
        if nc.saddle_leading.size == 0:
            continue
        any_ = True
        jitter = (np.random.default_rng(i).random(nc.saddle_leading.size) - 0.5) * 0.5
        ax.scatter(nc.saddle_leading, i + jitter, s=6,
                   c=[colors[c] for c in nc.saddle_class], alpha=0.6)
    ax.set_yticks(range(len(result.networks)))
    ax.set_yticklabels([_LABELS.get(n, n) for n in result.networks], fontsize="small")
    ax.set_xlabel("leading eigenvalue of the saddle reached (flow, eq. 3)")
    if any_:
        ax.set_xscale("symlog", linthresh=1e-3)
    else:
        ax.text(0.5, 0.5, "no input sits at a saddle", transform=ax.transAxes, ha="center")
    ax.axvline(0.02, color="grey", lw=0.8, ls="--")
    ax.set_title("Saddles reached (dashed: the paper's 0.02)")
    return fig


def plot_settled_fraction(result):
    """The fraction of inputs settled (attractor or cycle) against depth, per network.

    One curve per network (``NetworkCensus.settled``); the dashed line is the census depth.

    Parameters
    ----------
    result : CensusSectionResult or dynsys.AttractorCensus
        The result of :func:`compute_census_section`, or one census with labels
        (``dynsys.attractor_census(net, x, depth, labels=y)``), drawn as a one-network
        section (:func:`section_from_census`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        A census without labels.
    """
    result = _section(result)
    fig = new_figure(7.0, 4.0)
    ax = fig.add_subplot()
    for nc in result.networks.values():
        ax.plot(nc.depths, nc.settled, color=NET_COLORS.get(nc.name),
                label=_LABELS.get(nc.name, nc.name))
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("layer t")
    ax.set_ylabel("fraction of inputs settled")
    ax.axvline(result.depth, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize="small")
    ax.set_title("Inputs settled at an attractor or a cycle")
    return fig
