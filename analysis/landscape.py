"""How the attractors form during training: the census tracked over a run's epochs.

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics",
Sect. 7, asks how a network's fixed points relate to what it learns; the attractor census
(:func:`dynsys.attractor_census`) answers it for one set of weights. Over a training run that
keeps its epochs (``nets.TrainConfig(keep_epochs=True)``, ``resdyn train --keep-epochs``),
:func:`dynsys.track_census` follows the census of the same test inputs from epoch to epoch:
each end point keeps an identity while it persists, and the inputs flow between identities.
:func:`compute_landscape` turns that track into numbers (shares of inputs per identity and
class, counts of the points reached by their index, the events: births, deaths, face
changes), beside the training loss and the test error of each epoch; the ``plot_*``
functions draw them. :func:`plot_bifurcation_diagram` draws the whole fixed-point set of a
small network along the path of its weights (:func:`dynsys.continue_fixed_points`).

This is an observation about the training path, not one of the paper's claims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import ShortRepr, frozen_copy
from ._style import new_figure

__all__ = ["LandscapeResult", "load_training_path", "TrainingPath", "compute_landscape",
           "landscape_from_track", "landscape_events", "plot_landscape_river", "plot_landscape_counts",
           "plot_bifurcation_diagram"]

_PSEUDO_NAMES = ("cycle", "not converged")
_PSEUDO_COLORS = ("#7570b3", "#bdbdbd")


@dataclass(frozen=True, repr=False)
class TrainingPath(ShortRepr):
    """The kept epochs of one training run, read by :func:`load_training_path`.

    Attributes
    ----------
    epochs : ndarray of int, shape (K,)
        The kept epochs, ascending (0: the weights before training).
    networks : tuple of dynsys.Network
        ``networks[k]``: the network of epoch ``epochs[k]``.
    train_loss, test_error : ndarray, shape (K,)
        The run's history at each epoch (mean training loss over the epoch, and the test
        error after it); NaN at epoch 0, before any training.
    """

    epochs: np.ndarray
    networks: tuple
    train_loss: np.ndarray
    test_error: np.ndarray


def load_training_path(run) -> TrainingPath:
    """The networks of every kept epoch of a training run folder, with its history.

    Parameters
    ----------
    run : str or path
        A run folder trained with ``keep_epochs=True`` (``resdyn train --keep-epochs``); its
        committed epochs are read (a run still training gives those written so far).

    Returns
    -------
    TrainingPath

    Raises
    ------
    ValueError
        The run keeps fewer than two epochs (there is no path to follow).
    """
    import nets

    epochs = nets.kept_epochs(run)
    if len(epochs) < 2:
        raise ValueError(
            f"`run` {str(run)!r} must keep at least two epochs to follow its landscape; it "
            f"keeps {len(epochs)} ({'none' if not epochs else epochs[0]}). Train it with "
            "nets.TrainConfig(keep_epochs=True) or `resdyn train --keep-epochs`.")
    networks = tuple(nets.to_network(run, epoch=e) for e in epochs)
    history = {int(r["epoch"]): r for r in nets.load_checkpoint(run).history}
    loss = np.array([float(history[e]["train_loss"]) if e in history else np.nan
                     for e in epochs])
    err = np.array([1.0 - float(history[e]["test_accuracy"]) if e in history else np.nan
                    for e in epochs])
    return TrainingPath(frozen_copy(np.asarray(epochs, dtype=np.int64)), networks,
                        frozen_copy(loss), frozen_copy(err))


@dataclass(frozen=True, repr=False)
class LandscapeResult(ShortRepr):
    """The census of one set of inputs tracked over the epochs of a training run.

    K epochs, B inputs, M point identities over the run, C classes, N neurons; identities
    and their matching rule are those of :func:`dynsys.track_census`.

    Attributes
    ----------
    epochs : ndarray of int, shape (K,)
    train_loss, test_error : ndarray, shape (K,)
        From the run's history (NaN where it has none, e.g. epoch 0).
    endpoint_error : ndarray, shape (K,)
        The error of the end-point classifier of each epoch's census (the majority class of
        each end point, :attr:`dynsys.AttractorCensus.endpoint_accuracy`).
    shares : ndarray, shape (K, M, C)
        The fraction of the inputs of class c at identity m at each epoch.
    pseudo_shares : ndarray, shape (K, 2, C)
        The same for the inputs on a cycle and those not converged.
    input_share : ndarray, shape (K, M)
        The fraction of all inputs at each identity.
    id_patterns : ndarray of int8, shape (M, N)
        Each identity's face pattern when it first appears.
    id_first, id_last : ndarray of int, shape (M,)
        Index (into `epochs`) of the first and last epoch each identity is present.
    id_class : ndarray of int, shape (M,)
        The class with the most inputs at the identity, over all epochs (-1 without labels).
    index_counts : ndarray of int, shape (K, N + 1)
        The points the inputs reach at each epoch, by the number of unstable directions of
        their flow (0: an attractor of eq. 3; i >= 1: a saddle of index i).
    map_attractors : ndarray of int, shape (K,)
        Of those, the attractors of the layer map (what the network computes).
    status_counts : ndarray of int, shape (K, 4)
        Inputs by status at each epoch, in the order of :data:`dynsys.CENSUS_STATUSES`.
    event_epoch, event_identity : ndarray of int, shape (E,)
    event_kind : ndarray of str, shape (E,)
        The events of the track, in epoch order: "birth", "death", "face change" (carried
        within ``match_tol`` to another face) and "jump" (carried by its inputs to a point
        farther away, ``match_inputs``).
    transition_step, transition_source, transition_target, transition_count : ndarray of int
        The inputs that move from identity `source` at epoch index `step` to `target` at
        ``step + 1`` (pseudo-identities -1 cycle, -2 not converged), shape (F,).
    depth : int
    max_depth : int or None
    n_inputs : int
    activation : str
    """

    epochs: np.ndarray
    train_loss: np.ndarray
    test_error: np.ndarray
    endpoint_error: np.ndarray
    shares: np.ndarray
    pseudo_shares: np.ndarray
    input_share: np.ndarray
    id_patterns: np.ndarray
    id_first: np.ndarray
    id_last: np.ndarray
    id_class: np.ndarray
    index_counts: np.ndarray
    map_attractors: np.ndarray
    status_counts: np.ndarray
    event_epoch: np.ndarray
    event_identity: np.ndarray
    event_kind: np.ndarray
    transition_step: np.ndarray
    transition_source: np.ndarray
    transition_target: np.ndarray
    transition_count: np.ndarray
    depth: int
    max_depth: int | None
    n_inputs: int
    activation: str

    @property
    def n_ids(self) -> int:
        """M, the number of point identities."""
        return int(self.id_first.size)


def _check_series(value, name, K):
    if value is None:
        return np.full(K, np.nan)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (K,):
        raise ValueError(f"`{name}` must have shape ({K},), one value per network; got shape "
                         f"{arr.shape}.")
    return arr


def compute_landscape(networks, x, labels=None, *, epochs=None, train_loss=None,
                      test_error=None, depth: int = 1000, max_depth=None, match_tol=None,
                      match_inputs=0.5, client=None, progress=None,
                      **census_options) -> LandscapeResult:
    """Track the census of the inputs `x` over a sequence of networks (a run's epochs).

    Parameters
    ----------
    networks : TrainingPath or sequence of dynsys.Network
        The networks of the path, in order (:func:`load_training_path` reads a run's). A
        :class:`TrainingPath` brings its epochs, loss and test error.
    x : array_like, shape (B, D)
        The inputs, the same at every epoch.
    labels : array_like of int, shape (B,), optional
    epochs : array_like of int, shape (K,), optional
        The epoch of each network (default 0 .. K - 1).
    train_loss, test_error : array_like, shape (K,), optional
        Drawn beside the river plot.
    depth, max_depth : int
        As :func:`dynsys.attractor_census`.
    match_tol : float, optional
        As :func:`dynsys.track_census` (its default when None).
    match_inputs : float or None
        As :func:`dynsys.track_census`; here 0.5 by default: an end point that jumps between
        epochs (a corner whose saturated coordinates flipped) keeps its identity when it keeps
        the majority of its inputs and they are the majority of its new ones, so that a band
        of the river plot follows an attractor through training. None: points are matched by
        pattern and distance only.
    client : dask.distributed.Client, optional
        Run the censuses as Dask tasks.
    progress : callable, optional
        ``progress(done, total)`` over the epochs.
    **census_options
        Passed to :func:`dynsys.attractor_census` (margin, distance_tol, ...).

    Returns
    -------
    LandscapeResult
    """
    import dynsys

    if isinstance(networks, TrainingPath):
        path = networks
        networks = path.networks
        epochs = path.epochs if epochs is None else epochs
        train_loss = path.train_loss if train_loss is None else train_loss
        test_error = path.test_error if test_error is None else test_error
    kw = dict(census_options)
    if match_tol is not None:
        kw["match_tol"] = match_tol
    track = dynsys.track_census(networks, x, depth, max_depth=max_depth, labels=labels,
                                match_inputs=match_inputs, client=client, progress=progress,
                                **kw)
    return landscape_from_track(track, epochs=epochs, train_loss=train_loss,
                                test_error=test_error)


def landscape_from_track(track, *, epochs=None, train_loss=None,
                         test_error=None) -> LandscapeResult:
    """The numbers of :class:`LandscapeResult` from a :class:`dynsys.CensusTrack`.

    Parameters
    ----------
    track : dynsys.CensusTrack
        K checkpoints (:func:`dynsys.track_census`).
    epochs : array_like of int, shape (K,), optional
        The epoch of each checkpoint (default 0 .. K - 1).
    train_loss, test_error : array_like, shape (K,), optional
        The run's history at each checkpoint (NaN where absent).

    Returns
    -------
    LandscapeResult

    Raises
    ------
    ValueError
        `epochs`, `train_loss` or `test_error` not of K values.
    """
    import dynsys

    K = track.n_checkpoints
    epochs = np.arange(K) if epochs is None else np.asarray(epochs)
    if epochs.shape != (K,) or epochs.dtype.kind not in "iu":
        raise ValueError(f"`epochs` must be {K} integers, one per network; got "
                         f"{np.asarray(epochs)!r}.")
    loss = _check_series(train_loss, "train_loss", K)
    err = _check_series(test_error, "test_error", K)
    censuses = track.censuses
    first = censuses[0]
    N = first.points.shape[1] if first.points.ndim == 2 else track.id_patterns.shape[1]
    index_counts = np.zeros((K, N + 1), dtype=np.int64)
    map_attr = np.zeros(K, dtype=np.int64)
    status = np.zeros((K, len(dynsys.CENSUS_STATUSES)), dtype=np.int64)
    endpoint_error = np.full(K, np.nan)
    for k, c in enumerate(censuses):
        reached = np.unique(np.atleast_1d(c.assignment))
        reached = reached[reached >= 0]
        if reached.size:
            index_counts[k] = np.bincount(np.asarray(c.unstable_dim)[reached],
                                          minlength=N + 1)[:N + 1]
            map_attr[k] = int(np.count_nonzero(np.asarray(c.map_unstable_dim)[reached] == 0))
        counts = c.counts()
        status[k] = [counts[s] for s in dynsys.CENSUS_STATUSES]
        if c.endpoint_accuracy is not None:
            endpoint_error[k] = 1.0 - float(c.endpoint_accuracy)
    B = track.n_inputs
    M = track.n_ids
    input_share = np.zeros((K, M))
    for k in range(K):
        ids = track.input_ids[k]
        input_share[k] = np.bincount(ids[ids >= 0], minlength=M)[:M] / max(B, 1)
    if track.labels is not None and M:
        per_class = np.nan_to_num(track.shares).sum(axis=0)  # (M, C)
        id_class = np.argmax(per_class, axis=1).astype(np.int64)
    else:
        id_class = np.full(M, -1, dtype=np.int64)
    ev = []
    for kind, table in (("birth", track.births), ("death", track.deaths)):
        ev += [(int(k), int(i), kind) for k, i in zip(table.checkpoint, table.identity)]
    fc = track.face_changes
    ev += [(int(k), int(i), "face change" if r == "distance" else "jump")
           for k, i, r in zip(fc.checkpoint, fc.identity, fc.rule)]
    ev.sort(key=lambda e: (e[0], e[1], e[2]))
    t = track.transitions
    return LandscapeResult(
        epochs=frozen_copy(epochs.astype(np.int64)), train_loss=frozen_copy(loss),
        test_error=frozen_copy(err), endpoint_error=frozen_copy(endpoint_error),
        shares=frozen_copy(np.asarray(track.shares, dtype=float)),
        pseudo_shares=frozen_copy(np.asarray(track.pseudo_shares, dtype=float)),
        input_share=frozen_copy(input_share),
        id_patterns=frozen_copy(np.asarray(track.id_patterns, dtype=np.int8)),
        id_first=frozen_copy(np.asarray(track.id_first, dtype=np.int64)),
        id_last=frozen_copy(np.asarray(track.id_last, dtype=np.int64)),
        id_class=frozen_copy(id_class), index_counts=frozen_copy(index_counts),
        map_attractors=frozen_copy(map_attr), status_counts=frozen_copy(status),
        event_epoch=frozen_copy(np.array([epochs[e[0]] for e in ev], dtype=np.int64)),
        event_identity=frozen_copy(np.array([e[1] for e in ev], dtype=np.int64)),
        event_kind=frozen_copy(np.array([e[2] for e in ev], dtype="<U11")),
        transition_step=frozen_copy(np.asarray(t.step, dtype=np.int64)),
        transition_source=frozen_copy(np.asarray(t.source, dtype=np.int64)),
        transition_target=frozen_copy(np.asarray(t.target, dtype=np.int64)),
        transition_count=frozen_copy(np.asarray(t.count, dtype=np.int64)),
        depth=int(first.depth), max_depth=first.max_depth, n_inputs=int(B),
        activation=str(first.activation))


def landscape_events(result: LandscapeResult, max_events: int | None = None) -> str:
    """A plain-text table of the landscape, epoch by epoch, and of its events.

    One row per epoch: loss, test error, the points reached (attractors of the flow, saddles,
    layer-map attractors), the inputs by status and the identities born, dead and carried by
    their inputs (jumps); then the events (birth, death, face change, jump) with their identity, the identity's interior size and
    its largest share of the inputs: all of them, or the `max_events` of the identities with
    the largest shares (in epoch order).
    """
    import dynsys

    from dynsys import text_table

    K = result.epochs.size
    births = np.bincount(np.searchsorted(result.epochs, result.event_epoch[
        result.event_kind == "birth"]), minlength=K)
    deaths = np.bincount(np.searchsorted(result.epochs, result.event_epoch[
        result.event_kind == "death"]), minlength=K)
    jumps = np.bincount(np.searchsorted(result.epochs, result.event_epoch[
        result.event_kind == "jump"]), minlength=K)
    head = ["epoch", "loss", "test err", "points", "flow attr.", "saddles", "map attr.",
            *dynsys.CENSUS_STATUSES, "births", "deaths", "jumps"]
    rows = [head]
    for k in range(K):
        ic = result.index_counts[k]
        rows.append([int(result.epochs[k]), _fmt(result.train_loss[k]),
                     _fmt(result.test_error[k]), int(ic.sum()), int(ic[0]),
                     int(ic[1:].sum()), int(result.map_attractors[k]),
                     *(int(v) for v in result.status_counts[k]), int(births[k]),
                     int(deaths[k]), int(jumps[k])])
    lines = [f"landscape: {K} epochs, {result.n_inputs} inputs, {result.n_ids} point "
             f"identities, depth {result.depth}", text_table(rows, "r" * len(head))]
    if result.event_kind.size:
        peak = result.input_share.max(axis=0) if result.n_ids else np.zeros(0)
        sel = np.arange(result.event_kind.size)
        if max_events is not None and sel.size > max_events:
            order = np.argsort(-peak[result.event_identity], kind="stable")
            sel = np.sort(order[:max(int(max_events), 0)])
        rows2 = [["epoch", "event", "identity", "interior", "largest share"]]
        for j in sel:
            e, i, kind = result.event_epoch[j], result.event_identity[j], result.event_kind[j]
            rows2.append([int(e), str(kind), int(i),
                          int(np.count_nonzero(result.id_patterns[i] == 2)),
                          f"{peak[i]:.3f}"])
        shown = "" if sel.size == result.event_kind.size else \
            f" ({sel.size} of {result.event_kind.size}, those of the largest identities)"
        lines += ["", f"events{shown}:", text_table(rows2, "rlrrr")]
    return "\n".join(lines)


def _fmt(v) -> str:
    return "-" if not np.isfinite(v) else f"{v:.4f}"


# ---------------------------------------------------------------------------------- plots
def _top_identities(result, top):
    if not result.n_ids:
        return np.zeros(0, dtype=np.int64)
    total = result.input_share.sum(axis=0)
    return np.argsort(-total, kind="stable")[:top]


def plot_landscape_river(result: LandscapeResult, top: int = 10):
    """The share of inputs at each attractor against the epoch, a stacked "river" plot,
    above the training loss and the test error.

    The `top` identities with the most inputs (summed over the epochs) get a band each,
    labelled with their majority class; the rest of the points share one grey band, and the
    inputs on a cycle or not converged one band each.

    Parameters
    ----------
    result : LandscapeResult
    top : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(8.0, 6.0)
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    x = result.epochs
    ids = _top_identities(result, int(top))
    bands, colors, names = [], [], []
    import matplotlib as mpl

    palette = mpl.colormaps["tab20"]
    for r, i in enumerate(ids):
        bands.append(result.input_share[:, i])
        c = int(result.id_class[i])
        colors.append(palette((r % 20) / 20.0))
        names.append(f"point {i}" + (f", mostly class {c}" if c >= 0 else ""))
    rest = result.input_share.sum(axis=1) - (result.input_share[:, ids].sum(axis=1)
                                             if ids.size else 0.0)
    bands.append(np.clip(rest, 0.0, None))
    colors.append("#d9d9d9")
    names.append("other points")
    # cycles and non-convergence over all inputs, from the status counts (the pseudo shares
    # are per class); what no point and no cycle holds is not converged
    cyc = result.status_counts[:, 2] / max(result.n_inputs, 1)
    nc = np.clip(1.0 - result.input_share.sum(axis=1) - cyc, 0.0, None)
    for share, name, color in ((cyc, _PSEUDO_NAMES[0], _PSEUDO_COLORS[0]),
                               (nc, _PSEUDO_NAMES[1], _PSEUDO_COLORS[1])):
        bands.append(share)
        colors.append(color)
        names.append(name)
    ax.stackplot(x, np.vstack(bands), colors=colors, labels=names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of inputs")
    ax.set_title(f"Where the inputs end, epoch by epoch (census at layer {result.depth})",
                 fontsize="medium")
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax2.plot(x, result.train_loss, "o-", color="#333333", label="training loss")
    ax2.set_ylabel("training loss")
    ax2.set_xlabel("epoch")
    ax3 = ax2.twinx()
    ax3.plot(x, result.test_error, "s--", color="#d62728", label="test error")
    ax3.plot(x, result.endpoint_error, "^:", color="#1b9e77", label="end-point error")
    ax3.set_ylabel("error")
    lines = ax2.get_lines() + ax3.get_lines()
    ax2.legend(lines, [ln.get_label() for ln in lines], fontsize="x-small", loc="upper right")
    return fig


def plot_landscape_counts(result: LandscapeResult):
    """The points the inputs reach, by flow index, against the epoch.

    One line per index present (0: attractors of eq. 3, i: saddles with i unstable
    directions), and the attractors of the layer map.

    Parameters
    ----------
    result : LandscapeResult

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(6.5, 4.0)
    ax = fig.subplots()
    x = result.epochs
    present = np.flatnonzero(result.index_counts.sum(axis=0))
    for i in present:
        label = "attractors (flow)" if i == 0 else f"saddles of index {i}"
        ax.plot(x, result.index_counts[:, i], "o-", label=label)
    ax.plot(x, result.map_attractors, "k--", label="attractors of the layer map")
    ax.set_xlabel("epoch")
    ax.set_ylabel("points reached by the inputs")
    ax.set_title("Attractors and saddles during training", fontsize="medium")
    ax.legend(fontsize="small")
    return fig


_FLOW_COLORS = {"stable": "#1b9e77", "unstable": "#d95f02", "saddle": "#7570b3",
                "non-hyperbolic": "#000000"}


def plot_bifurcation_diagram(continuation, *, coordinate=None, samples: int = 200):
    """The whole fixed-point set of a small network along a path of weights, with its events.

    Top: every point in the box at each of `samples` values of s (:meth:`points_at` of a
    :func:`dynsys.continue_fixed_points` result), drawn at (s, its coordinate `coordinate`,
    or its mean over the coordinates when None) and coloured by its flow label. Bottom: the
    events as ticks on three rows: a point reaching the boundary of the box ("box"), a change
    of a flow label ("flow") and of a layer-map label ("map"), each row with its count.
    Singular events are not drawn: where a face system turns singular its point goes to
    infinity, so it is outside the box near the event.

    Parameters
    ----------
    continuation : dynsys.FixedPointContinuation
    coordinate : int, optional
    samples : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    if int(samples) < 2:
        raise ValueError(f"`samples` must be >= 2; got {samples}.")
    Ws = np.asarray(continuation.Ws)
    K, N = Ws.shape[0], Ws.shape[1]
    if coordinate is not None and not 0 <= int(coordinate) < N:
        raise ValueError(f"`coordinate` must be in 0..{N - 1}; got {coordinate}.")
    fig = new_figure(8.0, 5.5)
    ax, rug = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    grid = np.linspace(0.0, K - 1, int(samples))
    by_label = {}
    for s in grid:
        fp = continuation.points_at(s)
        inside = np.asarray(fp.in_box, dtype=bool)
        P = np.asarray(fp.points)[inside]
        if not P.size:
            continue
        v = P[:, int(coordinate)] if coordinate is not None else P.mean(axis=1)
        for lab, y in zip(np.asarray(fp.stability)[inside].astype(str), v):
            by_label.setdefault(lab, ([], []))
            by_label[lab][0].append(s)
            by_label[lab][1].append(y)
    # the many saddles first, the few attractors last, on top
    order = {"saddle": 0, "unstable": 1, "non-hyperbolic": 2, "stable": 3}
    for lab, (xs, ys) in sorted(by_label.items(), key=lambda kv: order.get(kv[0], -1)):
        ax.scatter(xs, ys, s=6 if lab == "stable" else 3, linewidths=0,
                   color=_FLOW_COLORS.get(lab, "#999999"), label=f"{lab} (flow)")
    for k in range(K):
        ax.axvline(k, color="#cccccc", linewidth=0.5, zorder=0)
    ax.set_ylabel(f"y_{coordinate}" if coordinate is not None else "mean of y")
    ax.set_title(f"Fixed points in the box along the path of weights (N = {N}, "
                 f"{K} checkpoints)", fontsize="medium")
    if by_label:
        ax.legend(fontsize="x-small", loc="upper right", markerscale=3)
    ev = continuation.events
    kinds = np.asarray(ev.kind).astype(str)
    s_ev = np.asarray(ev.s, dtype=float)
    rows = (("box", "#555555"), ("flow", "#d62728"), ("map", "#1f77b4"))
    for r, (key, color) in enumerate(rows):
        sel = np.char.startswith(kinds, key)
        rug.vlines(s_ev[sel], r + 0.1, r + 0.9, colors=color, linewidth=0.5)
    rug.set_yticks(np.arange(len(rows)) + 0.5)
    rug.set_yticklabels([f"{key} ({int(np.count_nonzero(np.char.startswith(kinds, key)))})"
                         for key, _ in rows], fontsize="small")
    rug.set_ylim(0, len(rows))
    rug.set_xlabel("s (checkpoint index along the path)")
    return fig
