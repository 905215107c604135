"""Numba kernels for the discrete layer maps (ResNet and MLP), one layer at a time.

Private, array-only, no validation: :func:`dynsys.iterate` validates and drives them. The
matrix product of a layer is not here: the driver computes ``buf = x @ W.T`` with BLAS
(``np.matmul(..., out=buf)``, multi-threaded); these kernels do everything elementwise that
follows, fused into one pass over the batch:

* bias, logistic, and (ResNet) the accumulation ``x += y``;
* optionally, the pre-activations ``z = x @ W.T + b`` into their own array (every layer for a
  full recording, the last layer otherwise);
* optionally, per input, the mean absolute change ``mean_i |y_i(t) - y_i(t-1)|``;
* optionally, per block of rows, the first and second moments of ``y`` (and ``x``) over the
  rows of the block, in float64 and by two passes over rows that are still in cache.

The batch is cut into blocks of consecutive rows (``lo[k] <= row < hi[k]``), the unit of the
parallel loop. Blocks never straddle two class labels (the driver sorts the batch by label), so
per-class statistics are merges of block statistics (:func:`merge_blocks`, the pairwise update
of Chan, Golub & LeVeque 1979), numerically stable whatever the batch size or the depth.

The logistic function uses its own exponential (:func:`expneg`), a polynomial with an exact
power-of-two scaling that LLVM vectorizes: NumPy's ``exp`` runs on one thread and libm's
``exp`` does not vectorize, and either would cost more than the matrix product it follows.
The logistic's relative error is below 3e-16 in float64 and 3e-7 in float32 (tested).
"""

from __future__ import annotations

import types as pytypes

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload

# FMA contraction only (and no-signed-zeros, reciprocal): no 'reassoc', which would let LLVM
# fold the two-step Cody-Waite reduction of the exponential into one inexact step, and no
# 'nnan'/'ninf', so the kernels stay IEEE-safe.
_FASTMATH = {"contract", "nsz", "arcp"}

__all__ = [
    "expneg",
    "logistic_array",
    "resnet_layer",
    "mlp_layer",
    "merge_blocks",
    "make_blocks",
    "count_nonfinite",
    "fused_final",
    "fused_final_tanh",
]


@intrinsic
def _pow2(typingctx, kf):
    """``2 ** kf`` for an integral-valued float `kf` in the normal exponent range.

    Builds the IEEE bit pattern directly (exponent field ``kf + bias``): one integer add, one
    shift and a bitcast, all of which vectorize.
    """
    if kf == types.float32:
        ity, fty, bias, shift = ir.IntType(32), ir.FloatType(), 127, 23
    elif kf == types.float64:
        ity, fty, bias, shift = ir.IntType(64), ir.DoubleType(), 1023, 52
    else:
        return None

    def codegen(context, builder, sig, args):
        # through int32 (k is within +-1100): AVX2 has no vector double -> int64 conversion
        i = builder.fptosi(args[0], ir.IntType(32))
        if ity.width != 32:
            i = builder.sext(i, ity)
        i = builder.add(i, ir.Constant(ity, bias))
        i = builder.shl(i, ir.Constant(ity, shift))
        return builder.bitcast(i, fty)

    return kf(kf), codegen


def expneg(z):  # pragma: no cover - replaced by the overload inside jitted code
    """``exp(z)`` for ``z <= 0`` (float32 or float64), vectorizable; jitted code only."""
    raise NotImplementedError


@njit
def _expneg32(z):
    # Clamp: exp(-87) ~ 1.6e-38 is the smallest normal float32; below it the logistic is 0
    # to within 1e-38 anyway.
    z = max(z, np.float32(-87.0))
    k = np.floor(z * np.float32(1.4426950408889634) + np.float32(0.5))
    # Cody-Waite reduction, ln 2 split so that k * LN2_HI is exact.
    r = z - k * np.float32(0.693145751953125)
    r = r - k * np.float32(1.428606765330187e-06)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    return p * _pow2(k)


@njit
def _expneg64(z):
    z = max(z, -708.0)  # exp(-708) ~ 3.3e-308, the smallest normal float64 region
    k = np.floor(z * 1.4426950408889634 + 0.5)
    r = z - k * 0.6931471803691238
    r = r - k * 1.9082149292705877e-10
    # Taylor polynomial of degree 13 on |r| <= ln(2)/2: truncation error < 2e-17.
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _pow2(k)


@overload(expneg)
def _expneg_overload(z):
    if z == types.float32:
        return lambda z: _expneg32(z)
    if z == types.float64:
        return lambda z: _expneg64(z)
    return None


def _one_like(z):  # pragma: no cover - replaced by the overload inside jitted code
    """The constant 1 in the precision of `z`; jitted code only."""
    raise NotImplementedError


@overload(_one_like)
def _one_like_overload(z):
    if z == types.float32:
        return lambda z: np.float32(1.0)
    if z == types.float64:
        return lambda z: 1.0
    return None


# Inlined at the Numba IR level: as a separate function, LLVM left the kernels' loops scalar.
@njit(inline="always")
def _logistic(z):
    """Numerically safe logistic: exp of -|z| only, so nothing overflows."""
    one = _one_like(z)
    e = expneg(-abs(z))
    r = one / (one + e)
    return r if z >= 0 else e * r


@njit(inline="always")
def _tanh(z):
    """``tanh(z)`` in the precision of `z` (the C library's, accurate to an ulp or two)."""
    return np.tanh(z)


# The activation of the layer kernels below. Each kernel is also built with ``_act`` bound to
# :func:`_tanh` (:func:`_with_activation`), so the activation costs no branch in the inner loops
# and the logistic builds are the same code as without a choice.
_act = _logistic


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def logistic_array(z, out):
    """``out = logistic(z)`` elementwise for 2-D C-contiguous arrays (test hook)."""
    B, N = z.shape
    for i in prange(B):
        zi = z[i]
        oi = out[i]
        for j in range(N):
            oi[j] = _logistic(zi[j])


@njit
def _moments(a, r0, r1, mean_out, m2_out, k):
    """Mean and sum of squared deviations over rows r0..r1-1 of `a`, by two passes (float64)."""
    N = a.shape[1]
    n = r1 - r0
    m = mean_out[k]
    s = m2_out[k]
    for j in range(N):
        m[j] = 0.0
        s[j] = 0.0
    if n == 0:
        return
    for i in range(r0, r1):
        ai = a[i]
        for j in range(N):
            m[j] += ai[j]
    inv = 1.0 / n
    for j in range(N):
        m[j] *= inv
    for i in range(r0, r1):
        ai = a[i]
        for j in range(N):
            d = ai[j] - m[j]
            s[j] += d * d


@njit
def _mean_abs_diff(u, v):
    # four partial sums: independent dependency chains (no reassociation flag needed)
    n = u.shape[0]
    a0 = a1 = a2 = a3 = 0.0
    j = 0
    while j + 4 <= n:
        a0 += abs(np.float64(u[j]) - np.float64(v[j]))
        a1 += abs(np.float64(u[j + 1]) - np.float64(v[j + 1]))
        a2 += abs(np.float64(u[j + 2]) - np.float64(v[j + 2]))
        a3 += abs(np.float64(u[j + 3]) - np.float64(v[j + 3]))
        j += 4
    while j < n:
        a0 += abs(np.float64(u[j]) - np.float64(v[j]))
        j += 1
    return ((a0 + a1) + (a2 + a3)) / n


def resnet_layer(buf, b, x, prev, lo, hi, store_y, want_diff, diff, want_stats,
                 ym, ym2, xm, xm2, store_z, zout):
    """One residual layer after the GEMM ``buf = x(t-1) @ W(t).T``.

    In place: ``y = f(buf + b)``; ``x += y``; ``buf = y`` if `store_y` (required when
    `want_diff` or `want_stats`). With `store_z` (which needs `store_y`), the pre-activation
    ``z = buf + b`` goes to `zout` (B, N). With `want_diff`, ``diff[i] = mean_j |y_ij -
    prev_ij|``. With `want_stats`, block k's moments of y go to ``ym[k], ym2[k]`` and of the
    updated x to ``xm[k], xm2[k]`` (mean and sum of squared deviations).
    """
    N = buf.shape[1]
    for k in prange(lo.shape[0]):
        r0 = lo[k]
        r1 = hi[k]
        for i in range(r0, r1):
            bi = buf[i]
            xi = x[i]
            if store_z:
                zi = zout[i]
                for j in range(N):
                    z = bi[j] + b[j]
                    zi[j] = z
                    y = _act(z)
                    bi[j] = y
                    xi[j] += y
            elif store_y:
                for j in range(N):
                    y = _act(bi[j] + b[j])
                    bi[j] = y
                    xi[j] += y
            else:
                for j in range(N):
                    xi[j] += _act(bi[j] + b[j])
            if want_diff:
                diff[i] = _mean_abs_diff(bi, prev[i])
        if want_stats:
            _moments(buf, r0, r1, ym, ym2, k)
            _moments(x, r0, r1, xm, xm2, k)


def mlp_layer(buf, b, prev, lo, hi, want_diff, diff, want_stats, ym, ym2, store_z, zout):
    """One MLP layer after the GEMM ``buf = y(t-1) @ W(t).T``: ``buf = f(buf + b)`` in place.

    `prev` is y(t-1) (for the change per input, `want_diff`); with `store_z` the
    pre-activation ``buf + b`` goes to `zout`; block moments as in :func:`resnet_layer`.
    """
    N = buf.shape[1]
    for k in prange(lo.shape[0]):
        r0 = lo[k]
        r1 = hi[k]
        for i in range(r0, r1):
            bi = buf[i]
            if store_z:
                zi = zout[i]
                for j in range(N):
                    z = bi[j] + b[j]
                    zi[j] = z
                    bi[j] = _act(z)
            else:
                for j in range(N):
                    bi[j] = _act(bi[j] + b[j])
            if want_diff:
                diff[i] = _mean_abs_diff(bi, prev[i])
        if want_stats:
            _moments(buf, r0, r1, ym, ym2, k)


def merge_blocks(lo, hi, cls, bmean, bm2, n_classes, cmean, cm2, ccount, tmean, tm2):
    """Merge block moments into per-class and overall moments (Chan et al.'s pairwise rule).

    Blocks are in class order. Writes ``cmean[c], cm2[c]`` (C, N), ``ccount[c]`` and the
    overall ``tmean, tm2`` (N,). Parallel over neurons.
    """
    nblk = lo.shape[0]
    N = bmean.shape[1]
    for c in range(n_classes):
        ccount[c] = 0
    for k in range(nblk):
        ccount[cls[k]] += hi[k] - lo[k]
    for j in prange(N):
        for c in range(n_classes):
            cmean[c, j] = 0.0
            cm2[c, j] = 0.0
        na = np.zeros(n_classes, np.float64)
        for k in range(nblk):
            nb_ = np.float64(hi[k] - lo[k])
            if nb_ == 0.0:
                continue
            c = cls[k]
            n = na[c] + nb_
            delta = bmean[k, j] - cmean[c, j]
            cmean[c, j] += delta * (nb_ / n)
            cm2[c, j] += bm2[k, j] + delta * delta * (na[c] * nb_ / n)
            na[c] = n
        # the classes merged into the total, with the same rule
        tn = 0.0
        m = 0.0
        s = 0.0
        for c in range(n_classes):
            nb_ = na[c]
            if nb_ == 0.0:
                continue
            n = tn + nb_
            delta = cmean[c, j] - m
            m += delta * (nb_ / n)
            s += cm2[c, j] + delta * delta * (tn * nb_ / n)
            tn = n
        tmean[j] = m
        tm2[j] = s


# Each layer kernel in two builds: threaded (prange) for large batches, serial for small ones,
# where starting the thread team would cost more than the work (and, on a loaded machine,
# far more: a team waits for its slowest thread).
# (The serial build gets its own name so that Numba's on-disk cache keeps the two apart.)
def _renamed(fn, name):
    g = pytypes.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    g.__qualname__ = name
    g.__doc__ = fn.__doc__
    return g


def _with_activation(fn, name, act):
    """`fn` renamed, with its global ``_act`` bound to `act` (a tanh build of a logistic kernel)."""
    g = _renamed(fn, name)
    scope = dict(fn.__globals__)
    scope["_act"] = act
    g = pytypes.FunctionType(g.__code__, scope, name, g.__defaults__, g.__closure__)
    g.__qualname__ = name
    g.__doc__ = fn.__doc__
    return g


_resnet_layer_py, _mlp_layer_py = resnet_layer, mlp_layer
resnet_layer_serial = njit(cache=True, fastmath=_FASTMATH)(
    _renamed(resnet_layer, "resnet_layer_serial"))
resnet_layer = njit(parallel=True, cache=True, fastmath=_FASTMATH)(resnet_layer)
mlp_layer_serial = njit(cache=True, fastmath=_FASTMATH)(_renamed(mlp_layer, "mlp_layer_serial"))
mlp_layer = njit(parallel=True, cache=True, fastmath=_FASTMATH)(mlp_layer)
merge_blocks_serial = njit(cache=True)(_renamed(merge_blocks, "merge_blocks_serial"))
merge_blocks = njit(parallel=True, cache=True)(merge_blocks)
resnet_layer_tanh_serial = njit(cache=True, fastmath=_FASTMATH)(
    _with_activation(_resnet_layer_py, "resnet_layer_tanh_serial", _tanh))
resnet_layer_tanh = njit(parallel=True, cache=True, fastmath=_FASTMATH)(
    _with_activation(_resnet_layer_py, "resnet_layer_tanh", _tanh))
mlp_layer_tanh_serial = njit(cache=True, fastmath=_FASTMATH)(
    _with_activation(_mlp_layer_py, "mlp_layer_tanh_serial", _tanh))
mlp_layer_tanh = njit(parallel=True, cache=True, fastmath=_FASTMATH)(
    _with_activation(_mlp_layer_py, "mlp_layer_tanh", _tanh))

#: Below this many entries (B * N) per layer the serial builds are used: about a millisecond
#: of work, the order of a scheduler time slice, which a thread team can lose on a busy host.
PARALLEL_MIN_ENTRIES = 1 << 20


def kernels_for(entries, activation=0):
    """``(resnet_layer, mlp_layer, merge_blocks)`` builds suited to a batch of `entries`.

    `activation` is the kernels' activation code (0 logistic, 1 tanh).
    """
    if entries >= PARALLEL_MIN_ENTRIES:
        if activation == 1:
            return resnet_layer_tanh, mlp_layer_tanh, merge_blocks
        return resnet_layer, mlp_layer, merge_blocks
    if activation == 1:
        return resnet_layer_tanh_serial, mlp_layer_tanh_serial, merge_blocks_serial
    return resnet_layer_serial, mlp_layer_serial, merge_blocks_serial


def fused_final(x, WTs, bs, T, resnet, blk, y_out, z_out):
    """All T layers for blocks of `blk` rows, one parallel region, BLAS called per block.

    The alternative engine of :func:`dynsys.iterate` (``engine="fused"``, ``record="final"``):
    each block of rows runs every layer while it stays in cache, ``np.dot`` (single-threaded
    BLAS: the caller limits BLAS to one thread) then the fused elementwise pass, so that one
    thread team does all the work and no layer ends with a barrier. `WTs` (L, N, N) holds the
    *contiguous transposes* W(t).T (L = 1: shared), `bs` (L', N) the biases. ResNet: `x` is
    updated to x(T); MLP: `x` holds y(0) and is overwritten by y(T). y(T) goes to `y_out`
    and the last pre-activation z(T) to `z_out` (both (B, N)).
    """
    B, N = x.shape
    nblk = (B + blk - 1) // blk
    for k in prange(nblk):
        r0 = k * blk
        r1 = min(B, r0 + blk)
        n = r1 - r0
        xs = x[r0:r1]
        tmp = np.empty((n, N), x.dtype)
        for t in range(T):
            # the depth rule of dynsys._network.layer_index: layer t + 1 uses weights
            # min(t, L - 1), so shared weights (L = 1) and a per-layer tail both repeat the last
            WT = WTs[min(t, WTs.shape[0] - 1)]
            b = bs[min(t, bs.shape[0] - 1)]
            np.dot(xs, WT, tmp)
            last = t == T - 1
            for i in range(n):
                ti = tmp[i]
                xi = xs[i]
                if last:
                    yo = y_out[r0 + i]
                    zo = z_out[r0 + i]
                    for j in range(N):
                        z = ti[j] + b[j]
                        zo[j] = z
                        y = _act(z)
                        yo[j] = y
                        if resnet:
                            xi[j] += y
                        else:
                            xi[j] = y
                elif resnet:
                    for j in range(N):
                        xi[j] += _act(ti[j] + b[j])
                else:
                    for j in range(N):
                        xi[j] = _act(ti[j] + b[j])


_fused_final_py = fused_final
fused_final = njit(parallel=True, cache=True, fastmath=_FASTMATH)(_fused_final_py)
fused_final_tanh = njit(parallel=True, cache=True, fastmath=_FASTMATH)(
    _with_activation(_fused_final_py, "fused_final_tanh", _tanh))


@njit(parallel=True, cache=True)
def count_nonfinite(a):
    """Number of NaN or infinite entries of a 1-D array (one parallel pass, no temporaries)."""
    n = 0
    for i in prange(a.shape[0]):
        v = a[i]
        if not (v - v == 0):  # false exactly for NaN and +-inf
            n += 1
    return n


def make_blocks(starts, stops, block_rows):
    """Cut each row range ``[starts[c], stops[c])`` into blocks of at most `block_rows` rows.

    Returns int64 arrays ``lo, hi, cls`` (class index of each block), in class order.
    """
    lo, hi, cls = [], [], []
    for c, (s0, s1) in enumerate(zip(starts, stops)):
        r = int(s0)
        while r < s1:
            e = min(int(s1), r + block_rows)
            lo.append(r)
            hi.append(e)
            cls.append(c)
            r = e
    if not lo:
        lo, hi, cls = [0], [0], [0]
    return (np.asarray(lo, np.int64), np.asarray(hi, np.int64), np.asarray(cls, np.int64))
