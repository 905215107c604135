"""The MLP engine of the census: the layer map y -> f(W y + b) iterated densely, its fixed points
by Newton, its cycles by a period search and its stability from the map's Jacobian."""

from __future__ import annotations

import numpy as np

from .._network import Network
from .._stability import STABLE, classify_multipliers
from .._activation import Activation, activation
from ._results import ATTRACTOR, CYCLE, NOT_CONVERGED, SADDLE_PASSAGE, _STATUS_DTYPE
from ._common import CensusOptions, _Progress, _map_label, _points_table, _unique_rows


_LOGISTIC = activation("logistic")


def _mlp_fixed_point(W, b, y0, residual_tol, max_iter=50, act: Activation = _LOGISTIC):
    """Newton on F(y) = f(W y + b) - y from y0; returns (y, residual, converged)."""
    y = np.array(y0, dtype=np.float64)
    n = y.size
    eye = np.eye(n)
    for _ in range(max_iter):
        z = W @ y + b
        s = act.f(z)
        F = s - y
        res = float(np.max(np.abs(F)))
        if res <= residual_tol * 1e-3:
            break
        J = act.slope(s)[:, None] * W - eye
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            break
        y = y + step
        if not np.all(np.isfinite(y)):
            return y, np.inf, False
    z = W @ y + b
    res = float(np.max(np.abs(act.f(z) - y)))
    return y, res, res <= residual_tol


def _mlp_spectra(W, b, y, act: Activation = _LOGISTIC):
    z = W @ y + b
    mu = np.linalg.eigvals(act.slope(act.f(z))[:, None] * W).astype(np.complex128)
    return z, mu, mu - 1.0


def _mlp_initial(net, x, layer):
    """y at the first layer of the repeated map, layer `layer` (see :class:`CensusOptions`):
    layers 1..L-1 with their own weights, then y(L) = f(W(L) y(L-1) + b(L))."""
    f = activation(net.activation).f
    y = x
    for t in range(1, layer):
        Wt, bt = net.layer(t)
        y = f(y @ Wt.T + bt)
    Wt, bt = net.layer(layer)
    return f(y @ Wt.T + bt)


class _Workers:
    """Independent blocks of MLP rows run side by side: one thread per block, BLAS on one thread.

    A layer of the MLP is a matrix product, which BLAS spreads over the cores, then the bias
    and the logistic's elementwise passes, which NumPy runs on one core: about half of the
    layer with the other cores idle. Blocks of rows that never meet (the chunks of the census, the
    slices of the Lyapunov run) keep every core busy instead when each thread runs its block's
    layers whole with a single-threaded BLAS. The numbers are those of the same products and
    ufuncs; only a BLAS's split of one product over its threads can round the last rows of an
    odd-sized block differently.
    """

    def __init__(self):
        from threadpoolctl import threadpool_info

        blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        self.n = max(1, min(blas)) if blas else 1

    def map(self, fn, items):
        """``fn(item)`` for every item, in order of the items (a generator of the results)."""
        items = list(items)
        if self.n == 1 or len(items) < 2:
            for item in items:
                yield fn(item)
            return
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(min(self.n, len(items))) as pool:
            yield from pool.map(fn, items)


def _mlp_layer(Y, WT, b, out, act: Activation = _LOGISTIC):
    """``out = f(Y W^T + b)`` into `out` (not `Y`): the activation in place, so the numbers of
    the expression without its temporary (B, N) arrays."""
    np.matmul(Y, WT, out=out)
    out += b
    return act.f_into(out, out)


class _MlpMapStability:
    """Whether the MLP's layer map is stable at a state y: all multipliers inside the circle.

    The verdict of :func:`_mlp_spectra` and :func:`_map_label` at y (one eigen-decomposition of
    an (N, N) matrix, as much work as hundreds of layers), computed once per state. The inputs
    that reach one attractor sit at states a few units of rounding apart (never the same bytes),
    so a verdict "stable" is also carried over, with a certificate, to states near one already
    decided (the representative, found by its coordinates rounded to `_REP_DECIMALS`):

    with ``A = diag(s(1-s)) W`` at the representative, its computed eigen-decomposition
    ``A V = V diag(lam) + R`` and ``E = A' - A`` for the new state (``||E||_F`` bounded from the
    change of ``s(1-s)`` and the row norms of W), the Bauer-Fike theorem puts every eigenvalue
    of ``A'`` (and of ``A'`` plus LAPACK's backward error, ``_BACKWARD n eps ||A||_F``) within
    ``cond(V) (||R||_F / sigma_min(V) + ||E||_F + _BACKWARD n eps ||A||_F)`` of an eigenvalue of
    A. When that radius plus ``max |lam|`` stays below ``1 - zero_tol`` the new state is
    stable; otherwise its own multipliers decide, as for a first state.
    """

    _REP_DECIMALS = 9
    _BACKWARD = 10.0

    def __init__(self, W, b, zero_tol, act: Activation = _LOGISTIC):
        self.W, self.b, self.zero_tol, self.act = W, b, zero_tol, act
        self.row_norm = np.linalg.norm(W, axis=1)
        self.verdicts = {}  # state bytes -> verdict
        self.reps = {}  # rounded state bytes -> [f'(z) at the representative, certificate]
        self.n_eig = 0  # eigen-decompositions computed (verdicts and certificates)

    def _certificate(self, d):
        """(max |lam|, cond(V), the radius independent of the new state) at f'(z) = d, or None."""
        A = d[:, None] * self.W
        self.n_eig += 1
        try:
            lam, V = np.linalg.eig(A)
            sv = np.linalg.svd(V, compute_uv=False)
        except np.linalg.LinAlgError:
            return None
        if not (np.all(np.isfinite(lam)) and sv[-1] > 0.0):
            return None
        R = A @ V - V * lam
        n = A.shape[0]
        base = (np.linalg.norm(R) / sv[-1]
                + self._BACKWARD * n * np.finfo(float).eps * np.linalg.norm(A))
        return float(np.max(np.abs(lam))), float(sv[0] / sv[-1]), float(base)

    def __call__(self, y):
        key = y.tobytes()
        verdict = self.verdicts.get(key)
        if verdict is not None:
            return verdict
        d = self.act.slope(self.act.f(self.W @ y + self.b))
        rkey = np.round(y, self._REP_DECIMALS).tobytes()
        rep = self.reps.get(rkey)
        if rep is not None:
            if rep[1] is None:
                rep[1] = self._certificate(rep[0]) or False
            if rep[1]:
                lead, cond, base = rep[1]
                dE = float(np.linalg.norm((d - rep[0]) * self.row_norm))
                if lead + cond * (base + dE) < 1.0 - self.zero_tol:
                    self.verdicts[key] = True
                    return True
        _, mu, _ = _mlp_spectra(self.W, self.b, y, self.act)
        self.n_eig += 1
        verdict = _map_label(mu, self.zero_tol)[0] == STABLE
        self.verdicts[key] = verdict
        if rep is None and verdict:
            # only a stable verdict is carried over; the certificate is built on a second visit
            self.reps[rkey] = [d, None]
        return verdict


def _find_periods(H, tol, pmax):
    """Smallest period p in 1..pmax of each trajectory in H (L, B, N) (0 if none).

    p = 1 (a fixed point): the last two states agree within `tol`. p >= 2: every state of
    the window repeats the one p layers before it within `tol` and within 1e-3 of the
    amplitude (the largest change over the last p layers), so that a slow drift or a slow
    oscillating approach to a fixed point is not taken for a cycle.
    """
    L, B, _ = H.shape
    out = np.zeros(B, np.int64)
    fixed = np.max(np.abs(H[-1] - H[-2]), axis=1) <= tol
    out[fixed] = 1
    undecided = ~fixed
    # the largest change of each state per layer, one layer at a time (no (L, B, N) temporary)
    steps = np.empty((L - 1, B))
    buf = np.empty(H.shape[1:])
    for j in range(L - 1):
        np.subtract(H[j + 1], H[j], out=buf)
        np.abs(buf, out=buf)
        np.max(buf, axis=1, out=steps[j])
    for p in range(2, min(pmax, L // 2) + 1):
        idx = np.flatnonzero(undecided)
        if idx.size == 0:
            break
        amp = steps[-p:, idx].max(axis=0)
        ctol = np.minimum(tol, 1e-3 * amp)
        cand = (amp > tol) & (np.max(np.abs(H[-1, idx] - H[-1 - p, idx]), axis=1) <= ctol)
        if not cand.any():
            continue
        j = idx[cand]
        ok = np.max(np.abs(H[p:, j] - H[:-p, j]), axis=(0, 2)) <= ctol[cand]
        out[j[ok]] = p
        undecided[j[ok]] = False
    return out


def _mlp_lyapunov(W, b, Y, n_layers=256, discard=32, seed=0, workers=None,
                  act: Activation = _LOGISTIC):
    """Largest Lyapunov exponent of y -> f(W y + b) from the rows of Y (B, N)."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(Y.shape)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    acc = np.zeros(Y.shape[0])
    WT = W.T
    Y = np.array(Y, dtype=np.float64)
    tanh = act.name == "tanh"

    def run(rows):
        # s = f(Y W^T + b), V <- (V W^T) * f'(z) (s (1 - s), or 1 - s^2 for tanh), then V
        # normalised row by row, in preallocated arrays swapped each layer
        y, v = Y[rows], V[rows]
        s, d, v_next = np.empty_like(y), np.empty_like(y), np.empty_like(v)
        for step in range(n_layers):
            _mlp_layer(y, WT, b, s, act)
            np.matmul(v, WT, out=v_next)
            if tanh:
                np.multiply(s, s, out=d)
                np.subtract(1.0, d, out=d)
            else:
                np.subtract(1.0, s, out=d)
                d *= s
            v_next *= d
            v, v_next = v_next, v
            nv = np.linalg.norm(v, axis=1)
            nv = np.where(nv > 0, nv, 1e-300)
            if step >= discard:
                acc[rows] += np.log(nv)
            v /= nv[:, None]
            y, s = s, y

    workers = workers or _Workers()
    # slices that start at multiples of 8 rows: BLAS kernels work on blocks of 4 or 8 rows, so
    # each row is then rounded as in the one product over all the rows
    edges = np.minimum(8 * np.ceil(np.linspace(0, Y.shape[0], workers.n + 1) / 8),
                       Y.shape[0]).astype(int)
    for _ in workers.map(run, [slice(a, z) for a, z in zip(edges[:-1], edges[1:]) if z > a]):
        pass
    return acc / (n_layers - discard)


def census(net: Network, x: np.ndarray, options: CensusOptions, progress):
    """The MLP engine: (table, per_input, work) of the inputs `x` (B, N); see
    :class:`CensusOptions`."""
    depth, max_depth = options.depth, options.max_depth
    margin, distance_tol = options.margin, options.distance_tol
    residual_tol, zero_tol = options.residual_tol, options.zero_tol
    max_period, batch_size = options.max_period, options.batch_size
    t1 = options.layer
    W, b = (np.ascontiguousarray(a) for a in net.layer(t1))
    act = activation(net.activation)
    n = W.shape[0]
    Y = _mlp_initial(net, x, t1)
    B = Y.shape[0]
    stop = depth if max_depth is None else max(depth, max_depth)
    window = 2 * max_period + 1
    # history windows of `window` states: keep one window below about 256 MB (one per worker)
    chunk = int(max(1, min(batch_size, 256e6 // (window * n * 8))))
    workers = _Workers()
    t_end = np.full(B, t1, np.int64)
    period = np.zeros(B, np.int64)
    check_every = 512
    WT = W.T
    map_stable = _MlpMapStability(W, b, zero_tol, act)
    prog = _Progress(progress, B) if progress is not None else None

    def run_chunk(lo):
        rows = np.arange(lo, min(B, lo + chunk))
        Yc = Y[rows].copy()
        t = t1
        alive = np.ones(rows.size, bool)
        while alive.any():
            # run plainly to the start of the next window, then record the window
            nxt = min(stop, t + check_every)
            if t >= depth and max_depth is None:
                nxt = t
            w0 = max(t, nxt - window + 1)
            if w0 > t:
                # all rows alive (the usual case): no gather and scatter per layer
                Ya = Yc if alive.all() else Yc[alive]
                buf = np.empty_like(Ya)
                for _ in range(w0 - t):
                    _mlp_layer(Ya, WT, b, buf, act)
                    Ya, buf = buf, Ya
                Yc[alive] = Ya
            t = w0
            idx = np.flatnonzero(alive)
            H = np.empty((nxt - t + 1, idx.size, n))
            H[0] = Yc[idx]
            for j in range(1, nxt - t + 1):
                _mlp_layer(H[j - 1], WT, b, H[j], act)
            t = nxt
            Yc[idx] = H[-1]
            p = _find_periods(H, distance_tol, max_period) if H.shape[0] >= 3 else \
                np.zeros(idx.size, np.int64)
            settled = p > 0
            if settled.any():
                # a fixed point only settles when it is map-stable (a saddle is passed)
                fix = np.flatnonzero(settled & (p == 1))
                for j in fix:
                    if not map_stable(H[-1, j]):
                        settled[j] = False
            period[rows[idx[settled]]] = p[settled]
            t_end[rows[idx[settled]]] = t
            alive[idx[settled]] = False
            if t >= stop or (t >= depth and max_depth is None):
                period[rows[idx[~settled]]] = p[~settled]
                t_end[rows[idx[~settled]]] = t
                break
        Y[rows] = Yc
        return rows.size

    for done in workers.map(run_chunk, range(0, B, chunk)):
        if prog is not None:
            prog.add(done)
    status = np.full(B, NOT_CONVERGED, dtype=_STATUS_DTYPE)
    cyc = period >= 2
    status[cyc] = CYCLE
    # fixed points: Newton from one representative per rounded end state, then dedupe
    fixed = np.flatnonzero(period == 1)
    assignment = np.full(B, -1, np.int64)
    distance = np.full(B, np.nan)
    point_rows = []
    if fixed.size:
        keys = np.round(Y[fixed], 6)
        _, first, inv = _unique_rows(keys)
        refined = []
        for g, j in enumerate(first):
            yr, res, ok = _mlp_fixed_point(W, b, Y[fixed[j]], residual_tol, act=act)
            refined.append((yr, res, ok))
        for g, (yr, res, ok) in enumerate(refined):
            members = fixed[inv == g]
            if not ok:
                continue
            d = np.max(np.abs(Y[members] - yr), axis=1)
            near = d <= distance_tol
            if not near.any():
                continue
            # the same point from two rounding groups: reuse its row
            m = next((i for i, r in enumerate(point_rows)
                      if np.max(np.abs(r[1] - yr)) <= distance_tol), None)
            if m is None:
                z, mu, ev = _mlp_spectra(W, b, yr, act)
                pat = np.where(z < -margin, 0, np.where(z > margin, 1, 2)).astype(np.int8)
                m = len(point_rows)
                point_rows.append((pat, yr, ev, mu, res))
            mem = members[near]
            assignment[mem] = m
            distance[mem] = d[near]
            mu = point_rows[m][3]
            label = classify_multipliers(mu, zero_tol)
            if label == STABLE:
                status[mem] = ATTRACTOR
            elif np.any(np.abs(mu) > 1.0 + zero_tol):
                status[mem] = SADDLE_PASSAGE
    lyap = np.full(B, np.nan)
    nc = np.flatnonzero(status == NOT_CONVERGED)
    if nc.size:
        lyap[nc] = _mlp_lyapunov(W, b, Y[nc], workers=workers, act=act)
    table = _points_table(point_rows, n, zero_tol, act.box)
    Zf = Y @ WT + b
    n_int = np.sum(np.abs(Zf) <= margin, axis=1).astype(np.int64)
    per_input = dict(assignment=assignment, status=status, distance=distance, layers=t_end,
                     layers_to_leave=np.full(B, -1, np.int64), period=np.where(cyc, period, 0),
                     n_interior=n_int, leaving=np.zeros(B, bool), lyapunov=lyap,
                     algebraic=np.zeros(B, bool), approach_rate=np.full(B, np.nan))
    return table, per_input, {"dense_layers": int(np.sum(t_end - t1))}
