"""The discrete layer maps: a logistic ResNet (shared or per-layer weights) and an MLP.

Lagzi (2018), "Residual networks classify inputs based on their neural transient dynamics",
eq. 1-2::

    ResNet:  z(t) = W(t) x(t-1) + b(t),  y(t) = f(z(t)),  x(t) = x(t-1) + y(t)
    MLP:     z(t) = W(t) y(t-1) + b(t),  y(t) = f(z(t)),  y(0) = x(0)

for layers t = 1..T, with f the logistic function and x(0) the input (``P u + p`` when the
:class:`dynsys.Network` has an input projection). :func:`iterate` runs either map on a batch of
inputs and records every layer, streaming per-layer statistics, or the final state only, and
can test each input for convergence (the paper's 1000-layer continuation of a 15-layer
network). It records the pre-activations z next to y: near a face of the cube, y = f(z)
rounds to 1 or flushes towards 0 in floating point while z keeps the state exactly.

How it is fast: each layer is one BLAS product ``x @ W.T`` into a preallocated buffer
(multi-threaded), followed by one fused Numba pass (bias, logistic, accumulation and, when
asked, the pre-activations, the change per input and the block moments for the statistics);
see :mod:`dynsys._kernels.layers`. The batch never grows a layer axis outside
``record="all"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._activation import ACTIVATIONS as _ACT_NAMES
from ._activation import activation, activation_box
from ._arrays import readonly as _frozen
from ._kernels import layers as _K
from ._network import Network, _check_supported_activation, layer_index
from ._validation import (
    _describe,
    _to_float_array,
    check_choice,
    check_finite,
    check_int,
    check_labels,
    check_positive_float,
)

__all__ = ["IterateResult", "iterate"]

#: Default cap on the memory of a ``record="all"`` request (bytes).
MAX_RECORD_BYTES = 4 * 2**30
_BLOCK_ROWS = 64  # rows per parallel work unit: 64 x 784 float32 = 200 kB, stays in L2


def _shape(a) -> str:
    return "x".join(str(n) for n in a.shape) or "scalar"


@dataclass(frozen=True, repr=False, eq=False)
class IterateResult:
    """Result of :func:`iterate`. Arrays are read-only; fields not recorded are ``None``.

    Shapes are for a batch ``x0`` of shape (B, D); for a single input of shape (D,) the B axis
    is dropped (also from the per-input `converged_at` and `last_change`). Layers are
    numbered t = 1..T; index ``t - 1`` of a layer axis holds layer t.

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    record : {"all", "stats", "final"}
    depth : int
        T, the number of layers run.
    shared : bool
        Whether one (W, b) was used for every layer.
    y : ndarray (T, B, N) or None
        ``record="all"``: the residuals y(t) = f(z(t)) (ResNet) or activations (MLP).
    z : ndarray (T, B, N) or None
        ``record="all"``: the pre-activations z(t) (ResNet ``W(t) x(t-1) + b(t)``, MLP
        ``W(t) y(t-1) + b(t)``). Near a face y underflows (the logistic kernel floors at
        about 3e-308 in float64, 1e-38 in float32) or rounds to 1; z tells the truth.
    x : ndarray (T+1, B, N) or None
        ``record="all"``, ResNet: the cumulative signal, ``x[0] = x(0)``. ``None`` for the
        MLP, which has no cumulative signal (its state is y, and ``y(0) = x(0)``).
    y_final, z_final, x_final : ndarray (B, N)
        y(T), z(T) and x(T) (``x_final`` is ``None`` for the MLP). With T = 0, y_final and
        z_final are ``None`` for the ResNet; the MLP's y_final is x(0).
    y_mean, y_std, x_mean, x_std : ndarray (T, N) or None
        ``record="stats"``: mean and standard deviation (ddof = 0) over the batch of y(t) and
        x(t), t = 1..T, in float64 (x statistics ``None`` for the MLP).
    n_classes : int or None
        C, with `labels`.
    class_counts : ndarray (C,) or None
        Inputs per class label.
    class_y_mean, class_y_std, class_x_mean, class_x_std : ndarray (T, C, N) or None
        ``record="stats"`` with `labels`: the same statistics per class (NaN for an empty
        class).
    change_tol : float or None
        The convergence threshold the run was tested with.
    converged_at : ndarray (B,) of int64 or None
        With `change_tol`: per input the first layer t from which ``mean_i |y_i(t') -
        y_i(t'-1)| < change_tol`` for every t' = t..T, or -1 if the change at layer T is not
        below it. The change is defined from t = 2 for the ResNet and from t = 1 for the MLP
        (y(0) = x(0)).
    last_change : ndarray (B,) of float64 or None
        With `change_tol`: ``mean_i |y_i(T) - y_i(T-1)|`` (NaN where undefined).
    activation : {"logistic", "tanh"}
        The network's activation f; the residuals lie in its box, [0, 1]^N or [-1, 1]^N.
    """

    kind: str
    record: str
    depth: int
    shared: bool
    y: np.ndarray | None = None
    x: np.ndarray | None = None
    y_final: np.ndarray | None = None
    x_final: np.ndarray | None = None
    y_mean: np.ndarray | None = None
    y_std: np.ndarray | None = None
    x_mean: np.ndarray | None = None
    x_std: np.ndarray | None = None
    n_classes: int | None = None
    class_counts: np.ndarray | None = None
    class_y_mean: np.ndarray | None = None
    class_y_std: np.ndarray | None = None
    class_x_mean: np.ndarray | None = None
    class_x_std: np.ndarray | None = None
    change_tol: float | None = None
    converged_at: np.ndarray | None = None
    last_change: np.ndarray | None = None
    z: np.ndarray | None = None
    z_final: np.ndarray | None = None
    activation: str = "logistic"
    box = property(activation_box, doc="``(lower, upper)``: [0, 1] or [-1, 1] per coordinate.")

    def __repr__(self) -> str:  # shapes and counts only
        parts = [f"kind={self.kind!r}", f"record={self.record!r}", f"depth={self.depth}",
                 "shared" if self.shared else "per-layer"]
        if self.activation != "logistic":
            parts.insert(1, f"activation={self.activation!r}")
        ref = self.x_final if self.x_final is not None else self.y_final
        if ref is not None:
            parts.append(f"state={_shape(ref)} {ref.dtype}")
        if self.y is not None:
            parts.append(f"y,z={_shape(self.y)}")
        if self.n_classes is not None:
            parts.append(f"classes={self.n_classes}")
        if self.change_tol is not None:
            conv = int(np.count_nonzero(np.asarray(self.converged_at) >= 0))
            parts.append(f"change_tol={self.change_tol:g}, converged={conv}/"
                         f"{np.size(self.converged_at)}")
        return f"IterateResult({', '.join(parts)})"


# ---- validation ------------------------------------------------------------------------


def _resolve_dtype(dtype, x0):
    if dtype is None:
        return np.dtype(np.float32) if np.asarray(x0).dtype == np.float32 else np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"`dtype` must be float32, float64 or None; got {dtype!r}.")
    return dt


def _as_real_array(value, name):
    if np.iscomplexobj(value):
        _to_float_array(value, name)  # raises the package's message for complex input
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}.")
    return arr


def _check_finite(arr, name):
    """`check_finite` without its temporary boolean array for large float arrays."""
    if arr.dtype.kind == "f" and arr.size >= (1 << 16) and arr.dtype in (np.float32, np.float64):
        bad = _K.count_nonfinite(np.ravel(arr))
        if bad:
            raise ValueError(
                f"`{name}` must be finite; got {bad} NaN or infinite entr"
                f"{'y' if bad == 1 else 'ies'}."
            )
        return arr
    return check_finite(arr, name)


def _as_network(net, name: str = "net", activations=("logistic", "tanh")) -> Network:
    """`net` if it is a :class:`dynsys.Network`, else a ``TypeError`` saying how to build one.

    A network whose activation is not among `activations` (those the caller's maths is
    written for) is refused.
    """
    if isinstance(net, Network):
        _check_supported_activation(net, name, activations)
        return net
    raise TypeError(
        f"`{name}` must be a dynsys.Network; got {_describe(net)}. Build one with "
        "dynsys.Network(W, b) (W of shape (N, N) shared by every layer or (T, N, N) per layer; "
        "kind='mlp' for the MLP)."
    )


def _prepare(net, x0, depth, dtype):
    """Validate a network call; return its arrays in the working dtype.

    Returns ``(X (B, N) own copy, was_1d, Ws (L, N, N), bs (L, N), T, dt)`` with L = 1 for
    shared weights and L = T per layer.
    """
    net = _as_network(net)
    raw = _as_real_array(x0, "x0")
    dt = _resolve_dtype(dtype, raw)
    N, D = net.width, net.n_features
    if raw.ndim not in (1, 2) or raw.shape[-1] != D or (raw.ndim == 2 and raw.shape[0] < 1):
        what = "with N" if net.P is None else "with D"
        raise ValueError(
            f"`x0` must have shape ({D},) or (B, {D}) for `net` ({what} = {D}, B >= 1); got "
            f"shape {raw.shape}."
        )
    was_1d = raw.ndim == 1
    if net.P is None:
        _check_finite(raw, "x0")
        X = np.array(raw if not was_1d else raw[None, :], dtype=dt, order="C", copy=True)
    else:
        u = net.embed(raw)
        X = np.ascontiguousarray((u if not was_1d else u[None, :]), dtype=dt)
    if net.shared:
        if depth is None:
            raise ValueError(
                "`depth` is required for a shared-weight `net` (W of shape (N, N)): it may be "
                "None only for per-layer weights, whose number of layers sets it."
            )
        T = check_int(depth, "depth", minimum=0)
        Ws, bs = net.W[None], net.b[None]
    else:
        # the depth rule (layer_index): a per-layer network runs its first `depth` layers,
        # and past its own T the last one repeated
        T = net.depth if depth is None else check_int(depth, "depth", minimum=0)
        Ws, bs = net.W, net.b
    Ws = np.ascontiguousarray(Ws, dtype=dt)
    bs = np.array(bs, dtype=dt, order="C", copy=True)
    return X, was_1d, Ws, bs, T, dt


def _labels_and_classes(labels, n_classes, B):
    """``(labels as int64 (B,), C)``, or ``(None, 1)`` without labels: the one check of class
    labels (:func:`check_labels`), then the number of classes."""
    if labels is None:
        if n_classes is not None:
            raise ValueError("`n_classes` was given without `labels`.")
        return None, 1
    lab = check_labels(labels, B)
    top = int(lab.max()) + 1 if lab.size else 0
    if n_classes is None:
        return lab, max(top, 1)
    C = check_int(n_classes, "n_classes", minimum=1)
    if top > C:
        raise ValueError(f"`labels` holds the label {top - 1} but `n_classes` = {C}.")
    return lab, C


def _check_record_size(record, T, B, N, dt, resnet, max_record_bytes):
    """Refuse ``record="all"`` when its arrays would exceed `max_record_bytes`."""
    if record != "all":
        return
    n_arrays = (3 * T + 1) if resnet else 2 * T
    need = n_arrays * B * N * dt.itemsize
    limit = check_int(max_record_bytes, "max_record_bytes", minimum=0)
    if need > limit:
        raise ValueError(
            f"`record`='all' would store {need / 2**30:.2f} GiB ({n_arrays} arrays of shape "
            f"({B}, {N}), {dt}) for depth {T}, above `max_record_bytes` = "
            f"{limit / 2**30:.2f} GiB; use record='stats' (per-layer mean and std, memory "
            f"independent of the depth) or record='final', or raise `max_record_bytes`."
        )


def _pick_engine(engine, record, tol, B, N, T) -> str:
    """The engine that runs: ``"auto"`` takes the fused one where it applies and pays."""
    engine = check_choice(engine, "engine", ("auto", "layerwise", "fused"))
    if engine == "auto":
        big = B * N >= _K.PARALLEL_MIN_ENTRIES and T > 0
        return "fused" if (record == "final" and tol is None and big
                           and _have_threadpoolctl()) else "layerwise"
    if engine == "fused" and (record != "final" or tol is not None):
        raise ValueError(
            f"`engine`='fused' supports record='final' without `change_tol` only; got "
            f"record={record!r}, change_tol={tol!r}. Use engine='layerwise'."
        )
    return engine


class _Moments:
    """The running moments of ``record="stats"``: per block of rows (the kernels write them),
    merged per layer into the whole batch's and, with labels, each class's."""

    def __init__(self, T, C, N, nblk, resnet, labelled):
        f64 = np.float64
        self.resnet, self.labelled = resnet, labelled
        self.bym, self.bym2 = np.empty((nblk, N), f64), np.empty((nblk, N), f64)
        dummy = np.empty((1, 1), f64)
        self.bxm, self.bxm2 = ((np.empty((nblk, N), f64), np.empty((nblk, N), f64)) if resnet
                               else (dummy, dummy))
        # per-class moments (T, C, N) with labels; without, a scratch (1, 1, N) reused per layer
        cT = T if labelled else 1
        self.c_ym, self.c_ym2 = np.empty((cT, C, N), f64), np.empty((cT, C, N), f64)
        self.t_ym, self.t_ym2 = np.empty((T, N), f64), np.empty((T, N), f64)
        if resnet:
            self.c_xm, self.c_xm2 = np.empty((cT, C, N), f64), np.empty((cT, C, N), f64)
            self.t_xm, self.t_xm2 = np.empty((T, N), f64), np.empty((T, N), f64)
        self.ccount = np.zeros(C, np.int64)

    def merge(self, t, merge_blocks, lo, hi, cls, C):
        """Merge layer t's block moments (t >= 1)."""
        ct = t - 1 if self.labelled else 0
        merge_blocks(lo, hi, cls, self.bym, self.bym2, C, self.c_ym[ct], self.c_ym2[ct],
                     self.ccount, self.t_ym[t - 1], self.t_ym2[t - 1])
        if self.resnet:
            merge_blocks(lo, hi, cls, self.bxm, self.bxm2, C, self.c_xm[ct], self.c_xm2[ct],
                         self.ccount, self.t_xm[t - 1], self.t_xm2[t - 1])

    def fields(self, lab, C, B) -> dict:
        """The :class:`IterateResult` fields: means and standard deviations (in place)."""
        kw = {"y_mean": self.t_ym,
              "y_std": np.sqrt(np.divide(self.t_ym2, float(B), out=self.t_ym2), out=self.t_ym2)}
        if self.resnet:
            kw["x_mean"] = self.t_xm
            kw["x_std"] = np.sqrt(np.divide(self.t_xm2, float(B), out=self.t_xm2),
                                  out=self.t_xm2)
        if lab is not None:
            cnt = np.bincount(lab, minlength=C).astype(np.float64)[None, :, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                empty = cnt[0, :, 0] == 0
                pairs = [("y", self.c_ym, self.c_ym2)]
                if self.resnet:
                    pairs.append(("x", self.c_xm, self.c_xm2))
                for v, m, m2 in pairs:
                    m[:, empty] = np.nan
                    kw[f"class_{v}_mean"] = m
                    kw[f"class_{v}_std"] = np.sqrt(np.divide(m2, cnt, out=m2), out=m2)
        return kw


# ---- the driver ------------------------------------------------------------------------


def _layer(Ws, bs, t):
    """(W(t).T view, b(t)) for layer t >= 1, by the depth rule (:func:`layer_index`)."""
    return Ws[layer_index(t, Ws.shape[0])].T, bs[layer_index(t, bs.shape[0])]


def _stream(X, Ws, bs, T, kind, act=0):
    """Yield ``(t, y(t), x(t))`` layer by layer, updating `X` in place (ResNet: X = x(t)).

    The yielded arrays are work buffers, valid until the next step. For the MLP x is None.
    `act` is the kernels' activation code (:attr:`dynsys._activation.Activation.code`).
    """
    B, N = X.shape
    lo, hi, _ = _K.make_blocks([0], [B], _BLOCK_ROWS)
    resnet_layer, mlp_layer, _ = _K.kernels_for(B * N, act)
    dummy = np.empty((1, 1))  # float64, as the statistics buffers of iterate (same builds)
    zdummy = np.empty((1, 1), X.dtype)
    ddiff = np.empty(1)
    buf = np.empty_like(X)
    cur = X
    for t in range(1, T + 1):
        WT, bt = _layer(Ws, bs, t)
        if kind == "resnet":
            np.matmul(X, WT, out=buf)
            resnet_layer(buf, bt, X, buf, lo, hi, True, False, ddiff, False,
                         dummy, dummy, dummy, dummy, False, zdummy)
            yield t, buf, X
        else:
            np.matmul(cur, WT, out=buf)
            mlp_layer(buf, bt, cur, lo, hi, False, ddiff, False, dummy, dummy, False, zdummy)
            if cur is X:
                cur = np.empty_like(X)
            cur, buf = buf, cur
            yield t, cur, None


def _have_threadpoolctl():
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


_FUSED_ROWS = 256  # rows per block of the fused engine (one BLAS call per block and layer)


def _fused(X, was_1d, Ws, bs, T, shared, kind, lab, C, act=0):
    """``record="final"`` through :func:`dynsys._kernels.layers.fused_final`."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        raise ValueError(
            "`engine`='fused' needs the threadpoolctl package; use engine='layerwise'."
        ) from None
    resnet = kind == "resnet"
    WTs = np.ascontiguousarray(np.swapaxes(Ws, 1, 2))
    y_out = z_out = None
    if T > 0:
        import numba

        y_out, z_out = np.empty_like(X), np.empty_like(X)
        with threadpool_limits(1, user_api="blas"), numba.parallel_chunksize(1):
            kernel = _K.fused_final_tanh if act == 1 else _K.fused_final
            kernel(X, WTs, bs, T, resnet, _FUSED_ROWS, y_out, z_out)
    y_final = y_out if T > 0 else (None if resnet else X)
    x_final = X if resnet else None
    if was_1d:
        y_final, x_final, z_out = (None if a is None else a[0] for a in (y_final, x_final, z_out))
    kw = {}
    if lab is not None:
        kw = {"n_classes": C, "class_counts": _frozen(np.bincount(lab, minlength=C))}
    return IterateResult(kind=kind, record="final", depth=T, shared=shared,
                         y_final=_frozen(y_final), x_final=_frozen(x_final),
                         z_final=_frozen(z_out), activation=_ACT_NAMES[act], **kw)


def iterate(net, x0, depth=None, *, record="all", labels=None, n_classes=None,
            change_tol=None, dtype=None, max_record_bytes=MAX_RECORD_BYTES, engine="auto"):
    """Run the ResNet or MLP layer map (eq. 1-2) of `net` on a batch of inputs.

    Parameters
    ----------
    net : Network
        The network: ``net.kind`` picks the ResNet ``x(t) = x(t-1) + f(W(t) x(t-1) + b(t))``
        or the MLP ``y(t) = f(W(t) y(t-1) + b(t))``, with ``f = net.activation`` (logistic
        or tanh); ``net.W`` of shape (N, N) is shared by
        every layer, (T, N, N) gives one matrix per layer.
    x0 : array_like, shape (D,) or (B, D)
        Inputs; x(0) = ``net.embed(x0)`` (``P x0 + p`` with an input projection, else x0
        itself, D = N). For the MLP, y(0) = x(0). A 1-D `x0` gives results without the batch
        axis; a 2-D one keeps it (also for B = 1).
    depth : int, optional
        T, the number of layers (>= 0). Required for shared weights (the network may be run
        far past its training depth this way). Per-layer weights: None runs their own
        ``net.depth`` layers; a depth d runs layers 1..min(d, net.depth) and, past it, the
        last layer repeated (the depth rule, :doc:`/theory/layer_maps`).
    record : {"all", "stats", "final"}
        ``"all"``: every layer (``.y`` and ``.z`` (T, B, N), ``.x`` (T+1, B, N)).
        ``"stats"``: per-layer mean and std over the batch (optionally per class) and the
        final state, in memory independent of T beyond the (T, N) statistics. ``"final"``:
        the final state only.
    labels : array_like of int, shape (B,), optional
        Class label of each input (``record="stats"``: statistics per class as well).
    n_classes : int, optional
        C (default ``max(labels) + 1``).
    change_tol : float, optional
        Convergence test on the mean absolute change of y between layers: ``converged_at``
        and ``last_change`` per input (see :class:`IterateResult`).
    dtype : {None, float32, float64}
        Working precision; default float32 if `x0` is float32, else float64. Statistics
        are accumulated in float64 either way.
    max_record_bytes : int
        Cap on the memory of ``record="all"`` (default 4 GiB).
    engine : {"layerwise", "fused", "auto"}
        ``"layerwise"``: per layer one multi-threaded BLAS product for the whole batch, then
        one fused parallel pass (memory-bound: it streams the batch through memory twice per
        layer). ``"fused"`` (``record="final"`` without `change_tol` only): one parallel
        region in which each thread runs every layer on its own blocks of rows, calling
        single-threaded BLAS (through ``threadpoolctl``), which avoids the interference
        between the BLAS and Numba thread pools (see :doc:`/benchmarks/forward`). ``"auto"``
        (default): "fused" where it applies and the batch has at least 2^20 entries, else
        "layerwise". All give the same numbers up to rounding.

    Returns
    -------
    IterateResult
        Always with ``y_final`` and ``z_final`` (and ``x_final`` for the ResNet).

    Raises
    ------
    TypeError
        `net` is not a :class:`dynsys.Network`; `x0` is complex or not numeric.
    ValueError
        `x0` of the wrong width (naming both shapes), NaN or infinite entries, a missing or
        negative `depth`, `labels` of the wrong length, and ``record="all"`` requests above
        `max_record_bytes` (use ``record="stats"``).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> rng = np.random.default_rng(0)
    >>> net = dynsys.Network(rng.normal(size=(4, 4)) / 2, np.zeros(4))
    >>> res = dynsys.iterate(net, rng.random((3, 4)), 15)
    >>> res.y.shape, res.z.shape, res.x.shape
    ((15, 3, 4), (15, 3, 4), (16, 3, 4))
    """
    net = _as_network(net)
    kind = net.kind
    record = check_choice(record, "record", ("all", "stats", "final"))
    X, was_1d, Ws, bs, T, dt = _prepare(net, x0, depth, dtype)
    shared = net.shared
    B, N = X.shape
    resnet = kind == "resnet"
    tol = None
    if change_tol is not None:
        tol = change_tol = check_positive_float(change_tol, "change_tol")
    lab, C = _labels_and_classes(labels, n_classes, B)
    _check_record_size(record, T, B, N, dt, resnet, max_record_bytes)
    act = activation(net.activation).code
    if _pick_engine(engine, record, tol, B, N, T) == "fused":
        return _fused(X, was_1d, Ws, bs, T, shared, kind, lab, C, act)

    stats = record == "stats"
    # Per-class statistics: sort the batch by label so that each class is a row range.
    order = None
    if stats and lab is not None:
        order = np.argsort(lab, kind="stable")
        X = X[order]
        counts = np.bincount(lab, minlength=C)
    else:
        counts = np.array([B])
    stops = np.cumsum(counts)
    starts = stops - counts
    lo, hi, cls = _K.make_blocks(starts, stops, _BLOCK_ROWS)
    nblk = lo.shape[0]
    resnet_layer, mlp_layer, merge_blocks = _K.kernels_for(B * N, act)

    f64 = np.float64
    dummy2 = np.empty((1, 1), f64)
    mom = _Moments(T, C, N, nblk, resnet, lab is not None) if stats else None
    bym, bym2, bxm, bxm2 = ((mom.bym, mom.bym2, mom.bxm, mom.bxm2) if stats
                            else (dummy2,) * 4)
    diff = np.empty(B, f64) if tol is not None else np.empty(1, f64)
    conv = np.full(B, -1, np.int64) if tol is not None else None
    last = np.full(B, np.nan) if tol is not None else None
    first_diff_layer = 2 if resnet else 1

    Y_all = X_all = Z_all = None
    if record == "all":
        Y_all = np.empty((T, B, N), dt)
        Z_all = np.empty((T, B, N), dt)
        if resnet:
            X_all = np.empty((T + 1, B, N), dt)
            X_all[0] = X
    # streaming buffers
    ybuf = np.empty_like(X) if (record != "all" and T > 0) else None
    yprev = np.empty_like(X) if (record != "all" and tol is not None and T > 0) else None
    z_last = np.empty_like(X) if (record != "all" and T > 0) else None
    zdummy = np.empty((1, 1), dt)
    cur = X  # MLP: y(t-1); ResNet: x(t-1) (streaming)
    y_last = None if resnet else X

    for t in range(1, T + 1):
        WT, bt = _layer(Ws, bs, t)
        want_diff = tol is not None and t >= first_diff_layer
        if record == "all":
            store_z, zout = True, Z_all[t - 1]
        elif t == T:
            store_z, zout = True, z_last
        else:
            store_z, zout = False, zdummy
        if resnet:
            if record == "all":
                xin, out = X_all[t - 1], Y_all[t - 1]
                np.matmul(xin, WT, out=out)
                X_all[t] = xin
                xs = X_all[t]
                prev = Y_all[t - 2] if t >= 2 else out
            else:
                xs, out = X, ybuf
                np.matmul(xs, WT, out=out)
                prev = yprev if yprev is not None else out
            store_y = record == "all" or stats or tol is not None or t == T
            resnet_layer(out, bt, xs, prev, lo, hi, store_y, want_diff, diff, stats,
                         bym, bym2, bxm, bxm2, store_z, zout)
            y_last = out
            if record != "all" and yprev is not None:
                ybuf, yprev = yprev, ybuf  # yprev now holds y(t)
        else:
            if record == "all":
                src = X if t == 1 else Y_all[t - 2]
                out = Y_all[t - 1]
            else:
                src, out = cur, ybuf
            np.matmul(src, WT, out=out)
            mlp_layer(out, bt, src, lo, hi, want_diff, diff, stats, bym, bym2, store_z, zout)
            y_last = out
            if record != "all":
                ybuf, cur = cur, out  # X is our own copy of x0: reuse it as a buffer
        if stats:
            mom.merge(t, merge_blocks, lo, hi, cls, C)
        if want_diff:
            below = diff < tol
            conv = np.where(below, np.where(conv < 0, t, conv), -1)
            if t == T:
                last = diff.copy()

    # ---- assemble --------------------------------------------------------------------
    def unsort(a):
        if a is None or order is None:
            return a
        out = np.empty_like(a)
        out[order] = a
        return out

    def squeeze(a, axis):
        return a if (a is None or not was_1d) else np.take(a, 0, axis=axis)

    if record == "all":
        y_final = Y_all[-1] if T > 0 else (None if resnet else X)
        z_final = Z_all[-1] if T > 0 else None
        x_final = X_all[-1] if resnet else None
    else:
        # y_last is one of our own work buffers (or our copy of x0): no copy needed
        y_final = unsort(y_last) if y_last is not None else None
        z_final = unsort(z_last)
        x_final = unsort(X) if resnet else None
    kw = mom.fields(lab, C, B) if stats else {}
    if lab is not None:
        kw["n_classes"] = C
        kw["class_counts"] = np.bincount(lab, minlength=C)
    if tol is not None:
        kw["converged_at"] = squeeze(unsort(conv), 0)
        kw["last_change"] = squeeze(unsort(last), 0)
        if T < first_diff_layer:
            kw["converged_at"] = squeeze(np.full(B, -1, np.int64), 0)
    kw = {k: (_frozen(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    return IterateResult(
        kind=kind, record=record, depth=T, shared=shared, activation=net.activation,
        y=_frozen(squeeze(Y_all, 1)), x=_frozen(squeeze(X_all, 1)), z=_frozen(squeeze(Z_all, 1)),
        y_final=_frozen(squeeze(y_final, 0)), x_final=_frozen(squeeze(x_final, 0)),
        z_final=_frozen(squeeze(z_final, 0)), change_tol=change_tol, **kw,
    )
