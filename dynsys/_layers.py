"""The discrete layer maps: a logistic ResNet (shared or per-layer weights) and an MLP.

Lagzi (2018), ``seeds/001``, eq. 1-2 (see ``../shared/REFERENCE.md`` section 1)::

    ResNet:  z(t) = W(t) x(t-1) + b(t),  y(t) = f(z(t)),  x(t) = x(t-1) + y(t)
    MLP:     y(t) = f(W(t) y(t-1) + b(t)),  y(0) = x0

for layers t = 1..T, with f the logistic function. :func:`iterate` runs either map on a batch
of inputs and records every layer, streaming per-layer statistics, or the final state only,
and can test each input for convergence (the paper's 1000-layer continuation of a 15-layer
network).

How it is fast: each layer is one BLAS product ``x @ W.T`` into a preallocated buffer
(multi-threaded), followed by one fused Numba pass (bias, logistic, accumulation and, when
asked, the change per input and the block moments for the statistics); see
:mod:`dynsys._kernels.layers`. The batch never grows a layer axis outside ``record="all"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import layers as _K
from ._validation import check_choice, check_finite, check_int, check_positive_float
from ._arrays import readonly as _frozen

__all__ = ["IterateResult", "iterate"]

#: Default cap on the memory of a ``record="all"`` request (bytes).
MAX_RECORD_BYTES = 4 * 2**30
_BLOCK_ROWS = 64  # rows per parallel work unit: 64 x 784 float32 = 200 kB, stays in L2




@dataclass(frozen=True)
class IterateResult:
    """Result of :func:`iterate`. Arrays are read-only; fields not recorded are ``None``.

    Shapes are for a batch ``x0`` of shape (B, N); for a single input of shape (N,) the B axis
    is dropped. Layers are numbered t = 1..T; index ``t - 1`` of a layer axis holds layer t.

    Attributes
    ----------
    kind : {"resnet", "mlp"}
    record : {"all", "stats", "final"}
    depth : int
        T, the number of layers run.
    shared : bool
        Whether one (W, b) was used for every layer.
    y : ndarray (T, B, N) or None
        ``record="all"``: the residuals y(t) (ResNet) or activations y(t) (MLP).
    x : ndarray (T+1, B, N) or None
        ``record="all"``, ResNet: the cumulative signal, ``x[0] = x0``. ``None`` for the MLP,
        which has no cumulative signal (its state is y, and ``y(0) = x0``).
    y_final, x_final : ndarray (B, N)
        y(T) and x(T) (``x_final`` is ``None`` for the MLP). With T = 0, y_final is
        ``None`` for the ResNet and x0 for the MLP.
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
    tol : float or None
    converged_at : ndarray (B,) of int64 or None
        With `tol`: per input the first layer t from which ``mean_i |y_i(t') - y_i(t'-1)| <
        tol`` for every t' = t..T, or -1 if the change at layer T is not below `tol`. The
        change is defined from t = 2 for the ResNet and from t = 1 for the MLP (y(0) = x0).
    last_change : ndarray (B,) of float64 or None
        With `tol`: ``mean_i |y_i(T) - y_i(T-1)|`` (NaN where undefined).
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
    tol: float | None = None
    converged_at: np.ndarray | None = None
    last_change: np.ndarray | None = None

    def __repr__(self) -> str:  # arrays summarised by shape
        fields = []
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if v is None:
                continue
            fields.append(f"{name}=<{v.dtype} {v.shape}>" if isinstance(v, np.ndarray)
                          else f"{name}={v!r}")
        return f"IterateResult({', '.join(fields)})"


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


def _validate_network(x0, W, b, depth, dtype):
    """Shapes, finiteness and depth of a network call; returns arrays in the working dtype.

    Returns ``(X (B, N) copy, was_1d, Ws (T|1, N, N), bs (T|1, N), T, shared, dt)``.
    """
    x0 = _as_real_array(x0, "x0")
    dt = _resolve_dtype(dtype, x0)
    if x0.ndim not in (1, 2) or x0.shape[-1] < 1 or (x0.ndim == 2 and x0.shape[0] < 1):
        raise ValueError(f"`x0` must have shape (N,) or (B, N) with B, N >= 1; got {x0.shape}.")
    was_1d = x0.ndim == 1
    n = x0.shape[-1]
    W = _as_real_array(W, "W")
    if W.ndim == 2:
        w_layers = None
    elif W.ndim == 3:
        w_layers = W.shape[0]
    else:
        raise ValueError(
            f"`W` must have shape (N, N) for shared weights or (T, N, N) for one matrix per "
            f"layer; got shape {W.shape}."
        )
    if W.shape[-2:] != (n, n):
        raise ValueError(
            f"`W` has shape {W.shape} but `x0` has shape {x0.shape}: `W` must be (N, N) or "
            f"(T, N, N) with N = {n}, the last axis of `x0`."
        )
    if b is None:
        b = np.zeros(n, dt)
    b = _as_real_array(b, "b")
    if b.ndim == 1:
        b_layers = None
    elif b.ndim == 2:
        b_layers = b.shape[0]
    else:
        raise ValueError(f"`b` must have shape (N,) or (T, N); got shape {b.shape}.")
    if b.shape[-1] != n:
        raise ValueError(
            f"`b` has shape {b.shape} but `x0` has shape {x0.shape}: `b` must be (N,) or "
            f"(T, N) with N = {n}."
        )
    if w_layers is not None and b_layers is not None and w_layers != b_layers:
        raise ValueError(
            f"`W` has shape {W.shape} and `b` has shape {b.shape}: per-layer weights and biases "
            f"must have the same number of layers T."
        )
    stack_T = w_layers if w_layers is not None else b_layers
    if depth is None:
        if stack_T is None:
            raise ValueError(
                "`depth` is required with shared weights (`W` of shape (N, N) and `b` of shape "
                "(N,)); it may be None only for per-layer stacks, whose length sets it."
            )
        T = stack_T
    else:
        T = check_int(depth, "depth", minimum=0)
        if stack_T is not None and T != stack_T:
            raise ValueError(
                f"`depth` = {T} but the per-layer stack has T = {stack_T} layers (`W` shape "
                f"{W.shape}, `b` shape {b.shape}); pass depth=None or depth={stack_T}."
            )
    _check_finite(x0, "x0")
    _check_finite(W, "W")
    _check_finite(b, "b")
    X = np.array(x0 if not was_1d else x0[None, :], dtype=dt, order="C", copy=True)
    Ws = np.ascontiguousarray(W if W.ndim == 3 else W[None], dtype=dt)
    bs = np.ascontiguousarray(b if b.ndim == 2 else b[None], dtype=dt)
    shared = Ws.shape[0] == 1 and bs.shape[0] == 1
    return X, was_1d, Ws, bs, T, shared, dt


def _validate_labels(labels, n_classes, B):
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != B:
        raise ValueError(
            f"`labels` must have shape ({B},), one label per input of `x0`; got shape "
            f"{lab.shape}."
        )
    if lab.dtype.kind not in "iub":
        if lab.dtype.kind == "f" and np.all(np.isfinite(lab)) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise TypeError(f"`labels` must be integers 0..C-1; got dtype {lab.dtype}.")
    lab = lab.astype(np.int64)
    if lab.size and lab.min() < 0:
        raise ValueError(f"`labels` must be >= 0; got the label {int(lab.min())}.")
    top = int(lab.max()) + 1 if lab.size else 0
    if n_classes is None:
        C = max(top, 1)
    else:
        C = check_int(n_classes, "n_classes", minimum=1)
        if top > C:
            raise ValueError(f"`labels` holds the label {top - 1} but `n_classes` = {C}.")
    return lab, C


# ---- the driver ------------------------------------------------------------------------


def _layer(Ws, bs, t):
    """(W(t).T view, b(t)) for layer t = 1..T."""
    i = 0 if Ws.shape[0] == 1 else t - 1
    j = 0 if bs.shape[0] == 1 else t - 1
    return Ws[i].T, bs[j]


def _stream(X, Ws, bs, T, kind):
    """Yield ``(t, y(t), x(t))`` layer by layer, updating `X` in place (ResNet: X = x(t)).

    The yielded arrays are work buffers, valid until the next step. For the MLP x is None.
    """
    B, N = X.shape
    lo, hi, _ = _K.make_blocks([0], [B], _BLOCK_ROWS)
    resnet_layer, mlp_layer, _ = _K.kernels_for(B * N)
    dummy = np.empty((1, 1))
    ddiff = np.empty(1)
    buf = np.empty_like(X)
    cur = X
    for t in range(1, T + 1):
        WT, bt = _layer(Ws, bs, t)
        if kind == "resnet":
            np.matmul(X, WT, out=buf)
            resnet_layer(buf, bt, X, buf, lo, hi, True, False, ddiff, False,
                         dummy, dummy, dummy, dummy)
            yield t, buf, X
        else:
            np.matmul(cur, WT, out=buf)
            mlp_layer(buf, bt, cur, lo, hi, False, ddiff, False, dummy, dummy)
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


def _fused(X, was_1d, Ws, bs, T, shared, kind, lab, C):
    """``record="final"`` through :func:`dynsys._kernels.layers.fused_final`."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        raise ValueError(
            "`engine`='fused' needs the threadpoolctl package; use engine='layerwise'."
        ) from None
    resnet = kind == "resnet"
    WTs = np.ascontiguousarray(np.swapaxes(Ws, 1, 2))
    y_out = np.empty_like(X) if T > 0 else None
    if T > 0:
        import numba

        with threadpool_limits(1, user_api="blas"), numba.parallel_chunksize(1):
            _K.fused_final(X, WTs, bs, T, resnet, _FUSED_ROWS, y_out)
    y_final = y_out if T > 0 else (None if resnet else X)
    x_final = X if resnet else None
    if was_1d:
        y_final = None if y_final is None else y_final[0]
        x_final = None if x_final is None else x_final[0]
    kw = {}
    if lab is not None:
        kw = {"n_classes": C, "class_counts": _frozen(np.bincount(lab, minlength=C))}
    return IterateResult(kind=kind, record="final", depth=T, shared=shared,
                         y_final=_frozen(y_final), x_final=_frozen(x_final), **kw)


def iterate(x0, W, b=None, depth=None, *, kind="resnet", record="all", labels=None,
            n_classes=None, tol=None, dtype=None, max_record_bytes=MAX_RECORD_BYTES,
            engine="auto"):
    """Run the ResNet or MLP layer map on a batch of inputs.

    Parameters
    ----------
    x0 : array_like, shape (N,) or (B, N)
        Inputs x(0) (for the MLP, y(0)).
    W : array_like, shape (N, N) or (T, N, N)
        Shared weights, or one matrix per layer (then `depth` is T or None).
    b : array_like, shape (N,) or (T, N), optional
        Biases (shared or per layer); default zero.
    depth : int, optional
        T, the number of layers (>= 0). Required when both W and b are shared; the network may
        be run far past its training depth this way.
    kind : {"resnet", "mlp"}
        ResNet ``x(t) = x(t-1) + f(W(t) x(t-1) + b(t))`` or MLP ``y(t) = f(W(t) y(t-1) + b(t))``.
    record : {"all", "stats", "final"}
        ``"all"``: every layer (``.y`` (T, B, N), ``.x`` (T+1, B, N)). ``"stats"``: per-layer
        mean and std over the batch (optionally per class) and the final state, in memory
        independent of T beyond the (T, N) statistics. ``"final"``: the final state only.
    labels : array_like of int, shape (B,), optional
        Class label of each input (``record="stats"``: statistics per class as well).
    n_classes : int, optional
        C (default ``max(labels) + 1``).
    tol : float, optional
        Convergence test: ``converged_at`` and ``last_change`` per input (see
        :class:`IterateResult`).
    dtype : {None, float32, float64}
        Working precision; default float32 if `x0` is float32, else float64. Statistics
        are accumulated in float64 either way.
    max_record_bytes : int
        Cap on the memory of ``record="all"`` (default 4 GiB).
    engine : {"layerwise", "fused", "auto"}
        ``"layerwise"``: per layer one multi-threaded BLAS product for the whole batch, then
        one fused parallel pass (memory-bound: it streams the batch through memory twice per
        layer). ``"fused"`` (``record="final"`` without `tol`
        only): one parallel region in which each thread runs every layer on its own blocks of
        rows, calling single-threaded BLAS (through ``threadpoolctl``), which avoids the
        interference between the BLAS and Numba thread pools (see
        :doc:`/benchmarks/forward`). ``"auto"`` (default): "fused" where it applies and the
        batch has at least 2^20 entries, else "layerwise". All give the same numbers up to rounding.

    Returns
    -------
    IterateResult

    Raises
    ------
    ValueError
        Shape mismatches between `W`, `b` and `x0` (naming both shapes), NaN or infinite
        entries, negative `depth`, `labels` of the wrong length, and ``record="all"``
        requests above `max_record_bytes` (use ``record="stats"``).

    Examples
    --------
    >>> import numpy as np, dynsys
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(4, 4)) / 2
    >>> res = dynsys.iterate(rng.random((3, 4)), W, np.zeros(4), 15)
    >>> res.y.shape, res.x.shape
    ((15, 3, 4), (16, 3, 4))
    """
    kind = check_choice(kind, "kind", ("resnet", "mlp"))
    record = check_choice(record, "record", ("all", "stats", "final"))
    X, was_1d, Ws, bs, T, shared, dt = _validate_network(x0, W, b, depth, dtype)
    B, N = X.shape
    resnet = kind == "resnet"
    if tol is not None:
        tol = check_positive_float(tol, "tol")
    lab = None
    C = 1
    if labels is not None:
        lab, C = _validate_labels(labels, n_classes, B)
    elif n_classes is not None:
        raise ValueError("`n_classes` was given without `labels`.")
    if record == "all":
        n_arrays = (2 * T + 1) if resnet else T
        need = n_arrays * B * N * dt.itemsize
        limit = check_int(max_record_bytes, "max_record_bytes", minimum=0)
        if need > limit:
            raise ValueError(
                f"`record`='all' would store {need / 2**30:.2f} GiB ({n_arrays} arrays of shape "
                f"({B}, {N}), {dt}) for depth {T}, above `max_record_bytes` = "
                f"{limit / 2**30:.2f} GiB; use record='stats' (per-layer mean and std, memory "
                f"independent of the depth) or record='final', or raise `max_record_bytes`."
            )

    engine = check_choice(engine, "engine", ("auto", "layerwise", "fused"))
    if engine == "auto":
        big = B * N >= _K.PARALLEL_MIN_ENTRIES and T > 0
        engine = "fused" if (record == "final" and tol is None and big
                             and _have_threadpoolctl()) else "layerwise"
    if engine == "fused":
        if record != "final" or tol is not None:
            raise ValueError(
                f"`engine`='fused' supports record='final' without `tol` only; got "
                f"record={record!r}, tol={tol!r}. Use engine='layerwise'."
            )
        return _fused(X, was_1d, Ws, bs, T, shared, kind, lab, C)

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
    resnet_layer, mlp_layer, merge_blocks = _K.kernels_for(B * N)

    f64 = np.float64
    dummy2 = np.empty((1, 1), f64)
    if stats:
        bym, bym2 = np.empty((nblk, N), f64), np.empty((nblk, N), f64)
        bxm, bxm2 = (np.empty((nblk, N), f64), np.empty((nblk, N), f64)) if resnet else (
            dummy2, dummy2)
        # per-class moments (T, C, N) with labels; without, a scratch (1, 1, N) reused per layer
        cT = T if lab is not None else 1
        c_ym, c_ym2 = np.empty((cT, C, N), f64), np.empty((cT, C, N), f64)
        t_ym, t_ym2 = np.empty((T, N), f64), np.empty((T, N), f64)
        if resnet:
            c_xm, c_xm2 = np.empty((cT, C, N), f64), np.empty((cT, C, N), f64)
            t_xm, t_xm2 = np.empty((T, N), f64), np.empty((T, N), f64)
        ccount = np.zeros(C, np.int64)
    else:
        bym = bym2 = bxm = bxm2 = dummy2
    diff = np.empty(B, f64) if tol is not None else np.empty(1, f64)
    conv = np.full(B, -1, np.int64) if tol is not None else None
    last = np.full(B, np.nan) if tol is not None else None
    first_diff_layer = 2 if resnet else 1

    Y_all = X_all = None
    if record == "all":
        Y_all = np.empty((T, B, N), dt)
        if resnet:
            X_all = np.empty((T + 1, B, N), dt)
            X_all[0] = X
    # streaming buffers
    ybuf = np.empty_like(X) if (record != "all" and T > 0) else None
    yprev = np.empty_like(X) if (record != "all" and tol is not None and T > 0) else None
    cur = X  # MLP: y(t-1); ResNet: x(t-1) (streaming)
    y_last = None if resnet else X

    for t in range(1, T + 1):
        WT, bt = _layer(Ws, bs, t)
        want_diff = tol is not None and t >= first_diff_layer
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
            store_y = record == "all" or stats or want_diff or tol is not None or t == T
            resnet_layer(out, bt, xs, prev, lo, hi, store_y, want_diff, diff, stats,
                         bym, bym2, bxm, bxm2)
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
            mlp_layer(out, bt, src, lo, hi, want_diff, diff, stats, bym, bym2)
            y_last = out
            if record != "all":
                ybuf, cur = cur, out  # X is our own copy of x0: reuse it as a buffer
        if stats:
            ct = t - 1 if lab is not None else 0
            merge_blocks(lo, hi, cls, bym, bym2, C, c_ym[ct], c_ym2[ct], ccount,
                         t_ym[t - 1], t_ym2[t - 1])
            if resnet:
                merge_blocks(lo, hi, cls, bxm, bxm2, C, c_xm[ct], c_xm2[ct], ccount,
                             t_xm[t - 1], t_xm2[t - 1])
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
        x_final = X_all[-1] if resnet else None
    else:
        # y_last is one of our own work buffers (or our copy of x0): no copy needed
        y_final = unsort(y_last) if y_last is not None else None
        x_final = unsort(X) if resnet else None
    kw = {}
    if stats:
        n_all = float(B)
        kw["y_mean"] = t_ym
        kw["y_std"] = np.sqrt(np.divide(t_ym2, n_all, out=t_ym2), out=t_ym2)  # in place
        if resnet:
            kw["x_mean"] = t_xm
            kw["x_std"] = np.sqrt(np.divide(t_xm2, n_all, out=t_xm2), out=t_xm2)
        if lab is not None:
            cnt = np.bincount(lab, minlength=C).astype(f64)[None, :, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                empty = cnt[0, :, 0] == 0
                c_ym[:, empty] = np.nan
                kw["class_y_mean"] = c_ym
                kw["class_y_std"] = np.sqrt(np.divide(c_ym2, cnt, out=c_ym2), out=c_ym2)
                if resnet:
                    c_xm[:, empty] = np.nan
                    kw["class_x_mean"] = c_xm
                    kw["class_x_std"] = np.sqrt(np.divide(c_xm2, cnt, out=c_xm2), out=c_xm2)
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
        kind=kind, record=record, depth=T, shared=shared,
        y=_frozen(squeeze(Y_all, 1)), x=_frozen(squeeze(X_all, 1)),
        y_final=_frozen(squeeze(y_final, 0)), x_final=_frozen(squeeze(x_final, 0)),
        tol=tol, **kw,
    )
