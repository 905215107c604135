"""The attractor census: what every input of a network converges to, exactly, at any width.

A trajectory of the shared-weight ResNet ends near a face of the cube [0, 1]^N: most logits
z_i = (W x + b)_i run off to -inf or +inf at the constant rate ``(W y)_i`` and only a few stay
finite. The fixed point of eq. 3 of Lagzi (2018) on that face solves a small linear system on
the unsaturated coordinates, and its flow spectrum and layer-map multipliers follow from the
block structure of the Jacobian. :func:`attractor_census` runs every input, decides its face
from the logits and the rates, solves, verifies and deduplicates the face points and reports per
input whether it sits at an attractor, passes a saddle (and for how many more layers), cycles,
or has not converged. See the theory page "The attractor census" for the maths and the error
bound of the long-horizon engine (:mod:`dynsys._kernels.census`), and for the inputs that approach
a non-hyperbolic point at an algebraic rate, which no per-layer test recognises.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._arrays import readonly
from .._stability import default_zero_tol
from .._validation import check_int, check_labels
from . import _mlp, _resnet, _track
from ._common import CensusOptions, _check_net, _resolve_tolerances
from ._results import STATUSES, AttractorCensus, _majority, _point_keys
from ._track import (
    DEFAULT_MATCH_TOL, PSEUDO_IDS, CensusEvents, CensusFaceChanges, CensusTrack,
    CensusTransitions,
)

__all__ = ["AttractorCensus", "attractor_census", "STATUSES", "CENSUS_ENGINES",
           "track_census", "CensusTrack", "CensusTransitions", "CensusEvents",
           "CensusFaceChanges", "PSEUDO_IDS"]


#: The census engines by network kind, all with one signature (:class:`CensusOptions`):
#: ``census(net, x, options, progress) -> (table, per_input, work)``.
CENSUS_ENGINES = MappingProxyType({"resnet": _resnet.census, "mlp": _mlp.census})


def _engine_layers(net, depth, max_depth):
    """(layer, depth, max_depth) as the engine runs them, by the depth rule.

    Layer t uses the weights of layer min(t, T) (:func:`dynsys._network.layer_index`), so the
    map repeats from layer L = min(last, T) on, `last` being the deepest layer any input may
    run (`max_depth` when inputs are followed, else `depth`). A run that ends at or before T
    has no repeated layer: its last layer's map classifies the state that layer produced.
    Below T nothing has settled, since the next layer's map is another one: followed inputs
    are first classified at layer T.
    """
    T = 1 if net.shared else net.depth
    follow = max_depth is not None and max_depth > depth
    last = max_depth if follow else depth
    layer = min(last, T)
    run_depth = max(depth, layer)
    run_max = max_depth if follow and max_depth > run_depth else None
    return layer, run_depth, run_max


def attractor_census(net, x0, depth: int | None = 1000, *, labels=None, max_depth=None,
                     margin: float = 25.0, distance_tol: float = 1e-6,
                     residual_tol: float = 1e-9, zero_tol: float | None = None,
                     max_period: int = 64, max_interior=None, batch_size: int = 2048,
                     train_x0=None, train_labels=None, progress=None) -> AttractorCensus:
    """Census of the end states: which fixed point, saddle or cycle each input converges to.

    Shared-weight ResNet (eq. 1-2 of Lagzi 2018) in logit coordinates,
    ``z(t+1) = z(t) + W f(z(t))`` with ``z(1) = W x(0) + b``. At the end of a run a coordinate
    whose residual y_i is within `distance_tol` of 0 (``z_i < -mu``,
    ``mu = log(1 / distance_tol - 1)``) is at 0, symmetrically at 1, the others are interior.
    The fixed point of eq. 3 on that face solves ``W[I,I] y_I = -W[I,B1] 1`` exactly; it is
    verified by its residual and shared by every input on the face. A saturated coordinate
    whose rate ``(W y)_i`` points off its face (positive at 0, negative at 1) will leave it:
    the input passes a saddle, and ``(|z_i| - mu) / |(W y)_i|`` further layers take it off
    the face. Inputs that settle (attractor or cycle) drop out of the run; the long-horizon
    engine follows the others in O(N k) work per block of layers for k unsaturated
    coordinates (see the theory page "The attractor census" for its error bound). Inputs that
    approach a non-hyperbolic point with no unstable direction, such as the origin (whose flow
    Jacobian is 0 for every W) as 1/t, never pass a per-layer test; a log-log slope test over
    three layers assigns them (`AttractorCensus.algebraic`, `AttractorCensus.approach_rate`;
    theory page, section "Non-hyperbolic points: the algebraic approach").

    Parameters
    ----------
    net : dynsys.Network
        Shared or per-layer weights, run by the one depth rule of :mod:`dynsys`:
        ``depth=None`` runs a per-layer network's own T layers; an explicit depth d runs
        layers 1..min(d, T) and, past T, the last layer repeated (`Network.last_layer`), the
        papers' way of running a trained network past its depth. Past T the census is that
        of ``net.last_layer()`` from the state the first T - 1 layers reach; a run that ends
        at a layer d <= T is classified by the map of layer d, the last one run (nothing
        repeats). ``kind="mlp"``: the map ``y -> f(W y + b)``.
    x0 : array_like, shape (D,) or (B, D)
        Inputs; x(0) = ``net.embed(x0)``. A 1-D input drops the B axis of per-input fields.
    depth : int or None
        The layer at which unsettled inputs are classified (layers counted from the input,
        a per-layer network's own layers included). None: a per-layer network's T (a
        shared-weight network has no depth of its own and needs one).
    labels : array_like of int, shape (B,), optional
        Classes, for `class_counts`, `status_counts` and `endpoint_accuracy`.
    max_depth : int, optional
        Follow inputs that have not settled at `depth` (saddle passages, slow transients) up
        to this layer, by the same depth rule. The long-horizon engine makes
        ``max_depth=10**6`` affordable. At ``4 * depth`` or more, an algebraic approach is
        judged from the layers `depth`, ``sqrt(depth * max_depth)`` and the last one;
        otherwise such inputs run on to four times their last layer
        (``work["approach_layers"]``). A per-layer network followed past its T layers from a
        `depth` below T is first classified at layer T, where its map starts to repeat (no
        input settles at a layer whose successor has other weights).
    margin : float
        Logit beyond which the long-horizon engine treats a coordinate as exactly saturated
        (its y_i within exp(-margin) of 0 or 1; the error per layer is below
        ``max_i sum_j |W_ij| exp(-margin)``). For a tanh network it is a margin on the
        logistic's logits ``u = 2z`` of :doc:`/theory/tanh`: a coordinate counts as saturated
        from ``|z| > margin / 2``, where its slope is that of a logistic coordinate at
        `margin`, so that both activations are followed to the same accuracy.
    distance_tol : float
        An input is at a point when ``max_i |y_i - point_i| <= distance_tol``; also the
        tolerance of the cycle test.
    residual_tol : float
        A face point (MLP: a Newton point) is accepted when its residual is below this.
    zero_tol : float, optional
        Eigenvalue real parts (flow) and ``|mu| - 1`` (map) within this count as zero; saturated
        rates within it neither stay nor leave. Default ``1e-9 * max|W|``, as in
        :func:`dynsys.fixed_points`.
    max_period : int
        Longest cycle period looked for.
    max_interior : int, optional
        ResNet: with at most this many interior coordinates an input runs in the long-horizon
        engine, with more in dense matrix products (default: N up to N = 128, i.e. always the
        engine, and max(64, N // 8) above).
    batch_size : int
        Inputs per dense matrix product (memory: about ``3 * batch_size * N * 8`` bytes).
    train_x0, train_labels : array_like, optional
        Training inputs and classes: the majority class per end point is fitted on their census
        and scored on `x0` / `labels`. Without them it is fitted and scored on `x0` itself.
    progress : callable, optional
        Called as ``progress(inputs_done, total)`` as inputs are decided. :mod:`dynsys` draws
        no bars: ``resdyn census`` draws one, and ``analysis`` passes its own.

    Returns
    -------
    AttractorCensus

    Raises
    ------
    TypeError
        `net` is not a :class:`dynsys.Network`, a tolerance is not a number, or `progress`
        is not a callable.
    ValueError
        Shapes that do not fit, non-finite inputs, `depth` below 1 (or None for shared
        weights), `max_depth` below `depth`, labels that are not integers 0..C-1 one per
        input.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[2.0, -3.0], [-3.0, 2.0]])       # winner-take-all
    >>> census = dynsys.attractor_census(dynsys.Network(W), [[1.0, 0.0], [0.0, 1.0]], 200)
    >>> census.status.tolist(), census.points.tolist()
    (['attractor', 'attractor'], [[0.0, 1.0], [1.0, 0.0]])
    """
    net = _check_net(net)
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be a callable progress(done, total) or None; got "
                        f"{progress!r}. dynsys draws no progress bars: the command line "
                        "(resdyn census) draws one.")
    x = net.embed(x0)
    one = np.ndim(x0) == 1 or (np.ndim(x) == 1)
    x = np.atleast_2d(x)
    B = x.shape[0]
    if depth is None:
        if net.shared:
            raise ValueError("`depth` must be a number of layers >= 1 for a shared-weight "
                             "network, which has no depth of its own; got None.")
        depth = net.depth
    depth = check_int(depth, "depth", minimum=1)
    if max_depth is not None:
        max_depth = check_int(max_depth, "max_depth", minimum=depth)
    layer, run_depth, run_max = _engine_layers(net, depth, max_depth)
    if zero_tol is None:
        zero_tol = default_zero_tol(net.layer(layer)[0])
    margin, distance_tol, residual_tol, zero_tol = _resolve_tolerances(
        margin, distance_tol, residual_tol, zero_tol)
    max_period = check_int(max_period, "max_period", minimum=1, maximum=4096)
    if max_interior is not None:
        max_interior = check_int(max_interior, "max_interior", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if labels is not None:
        labels = check_labels(labels, B, "labels")
    if (train_x0 is None) != (train_labels is None):
        raise ValueError("`train_x0` and `train_labels` go together; got only "
                         f"`{'train_x0' if train_labels is None else 'train_labels'}`.")
    if train_x0 is not None and labels is None:
        raise ValueError("`train_x0` fits the end-point classifier scored on `labels`; pass "
                         "`labels` too.")
    if train_x0 is not None:
        # checked before any layer is run
        train_x = np.atleast_2d(net.embed(train_x0))
        train_labels = check_labels(train_labels, train_x.shape[0], "train_labels")
    options = CensusOptions(layer=layer, depth=run_depth, max_depth=run_max, margin=margin,
                            distance_tol=distance_tol, residual_tol=residual_tol,
                            zero_tol=zero_tol, max_period=max_period,
                            max_interior=max_interior, batch_size=batch_size)
    engine = CENSUS_ENGINES[net.kind]
    table, per, work = engine(net, x, options, progress)
    extra = {}
    if labels is not None:
        C = int(labels.max()) + 1 if labels.size else 0
        if net.n_classes is not None:
            C = max(C, net.n_classes)
        M = table["points"].shape[0]
        cc = np.zeros((M, C), np.int64)
        asg = per["assignment"]
        ok = asg >= 0
        np.add.at(cc, (asg[ok], labels[ok]), 1)
        sc = np.zeros((len(STATUSES), C), np.int64)
        for s_i, s in enumerate(STATUSES):
            np.add.at(sc[s_i], labels[per["status"] == s], 1)
        keys = _point_keys(table, asg)
        if train_x0 is not None:
            tx, tl = train_x, train_labels
            C = max(C, int(tl.max()) + 1 if tl.size else 0)
            t_table, t_per, _ = engine(net, tx, options, None)
            fit_keys, fit_labels, fit = _point_keys(t_table, t_per["assignment"]), tl, "train"
        else:
            fit_keys, fit_labels, fit = keys, labels, "same inputs"
        vote = _majority(fit_keys, fit_labels, C)
        fallback = int(np.argmax(np.bincount(fit_labels, minlength=C))) if fit_labels.size else 0
        pred = np.array([vote.get(k, fallback) if k is not None else fallback for k in keys],
                        dtype=np.int64)
        extra = dict(labels=labels, class_counts=cc, status_counts=sc,
                     endpoint_accuracy=float(np.mean(pred == labels)) if B else float("nan"),
                     endpoint_fit=fit, endpoint_prediction=pred)
    if one:
        per = {k: v[0] for k, v in per.items()}
        if extra:
            extra["labels"] = extra["labels"][0]
            extra["endpoint_prediction"] = extra["endpoint_prediction"][0]
    fields = {k: readonly(np.asarray(v)) for k, v in {**table, **per}.items()}
    for k in ("labels", "class_counts", "status_counts", "endpoint_prediction"):
        if k in extra:
            extra[k] = readonly(np.asarray(extra[k]))
    return AttractorCensus(kind=net.kind, activation=net.activation, depth=depth,
                           max_depth=max_depth, margin=margin,
                           distance_tol=distance_tol, residual_tol=residual_tol,
                           zero_tol=zero_tol, work=work, **fields, **extra)


def track_census(networks, x0, depth: int | None = 1000, *, max_depth=None, labels=None,
                 match_tol: float = DEFAULT_MATCH_TOL, match_inputs: float | None = None,
                 client=None, progress=None, **census_options) -> CensusTrack:
    """The attractor census at every checkpoint of a training run, its points followed across.

    Runs :func:`attractor_census` of the same inputs on each network (e.g. the checkpoints of
    one run) and gives every fixed point a global identity, carried from checkpoint k to k+1 by
    the identity rule below; the inputs' identities then give the flows of inputs between
    points, the births and deaths of points, and each point's share of every class.

    **The censuses are independent.** ``track.censuses[k]`` equals
    ``attractor_census(networks[k], x0, depth, labels=labels, max_depth=max_depth,
    **census_options)`` exactly. A census depends on each input's whole trajectory through the
    layers (which face it reaches decides its point), so checkpoint k's end states are no sound
    start for checkpoint k+1's: only a network identical to an earlier one (every array equal)
    reuses that census (`CensusTrack.reused_from`). The tracking itself is cheap next to the
    censuses: points are matched by hashing their patterns, then by distance among the few
    left over.

    **The identity rule.** The points of checkpoint 0 get identities 0, 1, ... in the order of
    ``censuses[0].points``. A point of checkpoint k+1 inherits the identity of a point of
    checkpoint k when

    1. both have the same face pattern and ``max_i |y_i - y'_i| <= match_tol``; or, among the
       points left unmatched by the first pass,
    2. ``max_i |y_i - y'_i| <= match_tol`` with different patterns: they differ only in
       coordinates where the two points lie within `match_tol` of each other (an interior
       ``y_i = 0.999`` against the face ``y_i = 1``). Such a match is a *face change*
       (`CensusTrack.face_changes`); and, with `match_inputs`, among the points still
       unmatched,
    3. more than `match_inputs` of the inputs at the point of k go to the point of k+1, and
       more than `match_inputs` of the inputs at the point of k+1 come from the point of k:
       the point's basin, as the inputs sample it, persists while the point itself jumped
       (typically a corner of the cube whose saturated coordinates flipped). This is the
       basin-overlap matching of attractor continuation (Datseris, Rossi and Wagemakers 2023,
       "Framework for global stability analysis of dynamical systems", Chaos 33, 073151; its
       ``MatchByBasinOverlap``), here on the inputs. Such a match is recorded as a face change
       with ``rule == "inputs"``.

    In each pass the candidate pairs are accepted greedily in order of distance, ties by the
    index of the point at k, then at k+1, each point at most once: the result is
    deterministic. Points of k+1 left unmatched are *births* (new identities, numbered on in
    point order), identities of k left unmatched are *deaths* (a point that returns later is
    a new birth). Points are matched between consecutive checkpoints only.

    Inputs at no point get negative pseudo-identities, by status (:data:`CENSUS_PSEUDO_IDS`):
    -1 on a cycle, -2 not converged at no point. Every input whose status is "attractor" or
    "saddle" has a point (both engines assign one), so it carries its point's identity, as
    does a not-converged input that sits at a point (its status is in ``censuses[k].status``).

    Parameters
    ----------
    networks : sequence of dynsys.Network
        K >= 1 networks (K >= 2 for transitions) of one width, kind, activation and input
        dimension, e.g. :func:`nets.to_network` of the checkpoints of one run.
    x0 : array_like, shape (B, D)
        The inputs, the same at every checkpoint.
    depth : int or None
        As in :func:`attractor_census` (None: each per-layer network's own T).
    max_depth : int, optional
        As in :func:`attractor_census`.
    labels : array_like of int, shape (B,), optional
        Classes 0..C-1: each census's class counts, and `CensusTrack.shares` per class.
    match_tol : float
        The largest max-norm distance, in the network's coordinates, between two points of
        consecutive checkpoints that are one point that moved (default 0.05). The saturated
        coordinates of a face point are exactly 0 or 1 (-1 or 1 for tanh) and its interior ones
        solve a linear system in W, so they move continuously, by about the relative change
        of W, while the point stays hyperbolic: a few thousandths between checkpoints of a
        training run. 0.05 is well above that and above any ``distance_tol``, and far below the
        distance 1 between two faces of a saturated coordinate, so that a point that moved
        farther is counted as a new one.
    match_inputs : float, optional
        A share strictly between 0 and 1 turns on the third pass (None, the default: points
        are matched by pattern and distance only). 0.5 asks for a majority both ways, so that
        each point has at most one partner. The weights of a training run change between
        epochs by more than its points' `match_tol`: at width 784 most corner attractors flip
        some of their saturated coordinates from one epoch to the next, and only this pass
        follows them.
    client : distributed.Client, optional
        Run each distinct checkpoint's census as a task on this Dask cluster (the inputs travel
        once); the matching runs here afterwards. The result equals the local one.
    progress : callable, optional
        Called as ``progress(checkpoints_done, K)``, first with 0.
    **census_options
        ``margin``, ``distance_tol``, ``residual_tol``, ``zero_tol``, ``max_period``,
        ``max_interior``, ``batch_size``: passed to every :func:`attractor_census`.

    Returns
    -------
    CensusTrack

    Raises
    ------
    TypeError
        `networks` not a sequence of :class:`Network`, an unknown census option, `progress`
        not a callable, `client` not a ``distributed.Client``.
    ValueError
        Networks that differ in width, kind, activation or input dimension (the index and
        what differs are named), no networks, `x0` not of shape (B, D), labels that are not
        one class 0..C-1 per input, `match_tol` not finite and > 0, `match_inputs` neither
        None nor in (0, 1), and whatever
        :func:`attractor_census` refuses; every argument is checked on every network before
        any census runs.

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> W = np.array([[2.0, -3.0], [-3.0, 2.0]])   # winner-take-all: (0, 1) and (1, 0)
    >>> V = np.array([[2.0, 1.0], [-3.0, 2.0]])    # (0, 1) turned into a saddle
    >>> track = dynsys.track_census([dynsys.Network(W), dynsys.Network(V)],
    ...                             [[1.0, 0.0], [0.0, 1.0]], 200)
    >>> track.censuses[0].points.tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> track.input_ids.tolist()                   # identity per checkpoint and input
    [[1, 0], [1, 1]]
    >>> track.deaths.identity.tolist(), track.deaths.checkpoint.tolist()
    ([0], [1])
    """
    return _track.track(attractor_census, networks, x0, depth, max_depth=max_depth,
                        labels=labels, match_tol=match_tol, match_inputs=match_inputs,
                        client=client, progress=progress,
                        census_options=census_options)
