"""The exact pass of :func:`dynsys.continue_fixed_points` in plain Python: the slow,
readable twin of the compiled kernel :mod:`dynsys._kernels.continuation_exact`.

Per candidate pattern (:class:`PatternPath`): the samples of ``q = det W[I,I](t)``, the
point and its boundary rates at the Chebyshev nodes; the roots of ``q``, ``q (y_i - face)``
and ``q (W y + c)_j`` isolated by de Casteljau subdivision of their Bernstein coefficients
(:func:`unit_roots`) and refined by ``scipy.optimize.brentq`` on the exact function (a
determinant at t); inside the box the interior spectrum followed by steps (first-order
perturbation of NumPy's eigenvalues) and bisection on the eigenvalue counts.
:func:`reference_segment` is ``analyse_segment`` with this pass in place of the kernel.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dynsys._fixed_points._continuation import (
    EVENT_KINDS, _BOX_ENTER, _BOX_LEAVE, _FLOW_COMPLEX, _FLOW_REAL, _MAP_COMPLEX, _MAP_MINUS,
    _MAP_PLUS, _SAME_ROOT, _SINGULAR, _TABLES, LABEL_OFFSET, MARGIN, MAX_DEPTH, MAX_STEPS,
    ROOT_XTOL, STEP_FRACTION, STEP_MAX, STEP_MIN, SegmentResult, _rank_deficient, _SegmentData,
    segment_data)
from dynsys._fixed_points._results import decode_patterns
from dynsys._kernels import continuation as KC
from dynsys._kernels.continuation import EVENT_COLUMNS
from dynsys._kernels._common import label_index
from dynsys._stability import LABELS

# ----------------------------------------------------------------------------------------
# Bernstein polynomials: root isolation, refined on the exact function
# ----------------------------------------------------------------------------------------


def de_casteljau(b: np.ndarray):
    """The Bernstein coefficients of the two halves [0, 1/2], [1/2, 1] of ``b``."""
    m = b.size
    left = np.empty(m)
    right = np.empty(m)
    work = b.astype(np.float64).copy()
    for j in range(m):
        left[j] = work[0]
        right[m - 1 - j] = work[m - 1 - j]
        work[:m - 1 - j] = 0.5 * (work[:m - 1 - j] + work[1:m - j])
    return left, right


def isolate(b: np.ndarray, a: float, c: float, tau: float, out: list, depth: int) -> None:
    """Intervals of [a, c] that may hold a root of the polynomial with Bernstein
    coefficients `b` on [a, c]: dropped where every coefficient is beyond `tau` with one
    sign, kept where exactly one sign change certifies one root, subdivided otherwise."""
    if np.all(b > tau) or np.all(b < -tau):
        return
    signed = np.where(np.abs(b) > tau, np.sign(b), 0.0)
    if np.all(signed != 0.0) and np.count_nonzero(np.diff(signed)) == 1:
        out.append((a, c, True))
        return
    if depth >= MAX_DEPTH:
        out.append((a, c, False))
        return
    left, right = de_casteljau(b)
    mid = 0.5 * (a + c)
    isolate(left, a, mid, tau, out, depth + 1)
    isolate(right, mid, c, tau, out, depth + 1)


def unit_roots(b: np.ndarray, f, counter: list) -> list:
    """The sign changes in (0, 1) of the exact function `f` whose interpolant has the
    Bernstein coefficients `b` (degree ``b.size - 1`` on [0, 1]), each refined by
    ``brentq`` on `f` to :data:`ROOT_XTOL`.

    Where the coefficients keep one sign (beyond :data:`MARGIN` of the largest) there is no
    root; an interval with one certified sign change is bracketed at its ends; an interval
    left at the subdivision depth is searched on a grid of `f`. A root of even multiplicity
    (a tangency) has no sign change and is not reported. `counter[0]` counts the roots.
    """
    from scipy.optimize import brentq

    big = float(np.max(np.abs(b))) if b.size else 0.0
    if big == 0.0:
        return []
    cand: list = []
    isolate(np.asarray(b, np.float64), 0.0, 1.0, MARGIN * big, cand, 0)
    roots = []
    for a, c, certified in cand:
        grid = np.array([a, c]) if certified else np.linspace(a, c, 9)
        vals = [f(x) for x in grid]
        for x0, x1, v0, v1 in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]):
            if v0 == 0.0:
                roots.append(float(x0))
            elif v0 * v1 < 0.0:
                counter[0] += 1
                roots.append(float(brentq(f, x0, x1, xtol=ROOT_XTOL, rtol=4 * np.finfo(float).eps)))
        if vals[-1] == 0.0:
            roots.append(float(grid[-1]))
    roots = sorted(r for r in roots if 0.0 < r < 1.0)
    kept = []
    for r in roots:
        if not kept or r - kept[-1] > 10 * ROOT_XTOL:
            kept.append(r)
    return kept


def _strict_counts(values: np.ndarray):
    return (int(np.count_nonzero(values > 0.0)), int(np.count_nonzero(values < 0.0)),
            int(np.count_nonzero(values == 0.0)))


class PatternPath:
    """The exact pass for one pattern on one segment (see the module docstring)."""

    def __init__(self, seg: _SegmentData, codes: np.ndarray):
        self.seg = seg
        self.codes = codes
        n = codes.size
        self.n = n
        self.I = np.flatnonzero(codes == 2)
        self.B = np.flatnonzero(codes != 2)
        self.B1 = np.flatnonzero(codes == 1)
        self.k = self.I.size
        ix = np.ix_(self.I, self.I)
        self.A0 = seg.W0[ix]
        self.A1 = seg.dW[ix]
        self.r0 = -seg.W0[np.ix_(self.I, self.B1)].sum(axis=1) - seg.c0[self.I]
        self.r1 = -seg.dW[np.ix_(self.I, self.B1)].sum(axis=1) - seg.dc[self.I]
        self.y_base = (codes == 1).astype(np.float64)
        self.sign_B = np.where(codes[self.B] == 1, -1.0, 1.0)  # eigenvalue = sign * rate
        self.solves = 0
        self.eigen_solves = 0
        self.roots = [0]
        self._cache: dict = {}

    # -- exact evaluation at t -----------------------------------------------------------
    def solve(self, t: float):
        """(q, y (N,), rate (N,)) at t: ``q = det W[I,I](t)``, the point and ``W y + c``."""
        hit = self._cache.get(t)
        if hit is not None:
            return hit
        from scipy.linalg import lu_factor, lu_solve

        seg = self.seg
        y = self.y_base.copy()
        if self.k:
            A = self.A0 + t * self.A1
            lu, piv = lu_factor(A, check_finite=False)
            q = float(np.prod(np.diag(lu)))
            if np.count_nonzero(piv != np.arange(self.k)) % 2:
                q = -q
            y[self.I] = lu_solve((lu, piv), self.r0 + t * self.r1, check_finite=False)
            self.solves += 1
        else:
            q = 1.0
        rate = (seg.W0 + t * seg.dW) @ y + seg.c0 + t * seg.dc
        out = (q, y, rate)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[t] = out
        return out

    def f_q(self, t):
        """``q(t) = det W[I,I](t)``."""
        return self.solve(t)[0]

    def f_face(self, r: int, face: float):
        """``t -> q (y_i - face)``, i the r-th interior coordinate, as one determinant
        (Cramer: column r of W[I,I] replaced by ``rhs - face W[I,I] e_r``), finite where q
        vanishes."""
        def f(t):
            A = self.A0 + t * self.A1
            M = A.copy()
            M[:, r] = (self.r0 + t * self.r1) - face * A[:, r]
            self.solves += 1
            return float(np.linalg.det(M))
        return f

    def f_rate(self, j: int):
        """``t -> q (W y + c)_j`` for a boundary coordinate j, as the bordered determinant
        ``det [[W[I,I], rhs], [-W[j,I], (W[j,B1] 1 + c_j)]]`` (its Schur complement)."""
        seg = self.seg
        w0, w1 = seg.W0[j, self.I], seg.dW[j, self.I]
        d0 = seg.W0[j, self.B1].sum() + seg.c0[j]
        d1 = seg.dW[j, self.B1].sum() + seg.dc[j]

        def f(t):
            k = self.k
            M = np.empty((k + 1, k + 1))
            M[:k, :k] = self.A0 + t * self.A1
            M[:k, k] = self.r0 + t * self.r1
            M[k, :k] = -(w0 + t * w1)
            M[k, k] = d0 + t * d1
            self.solves += 1
            return float(np.linalg.det(M))
        return f

    # -- spectra ---------------------------------------------------------------------------
    def jacobian_block(self, t: float):
        """(J, dJ/dt) of the interior block ``diag(y_I (1 - y_I)) W[I,I](t)``."""
        q, y, _ = self.solve(t)
        yI = y[self.I]
        A = self.A0 + t * self.A1
        dy = np.linalg.solve(A, self.r1 - self.A1 @ yI)
        self.solves += 1
        d = yI * (1.0 - yI)
        J = d[:, None] * A
        dJ = ((1.0 - 2.0 * yI) * dy)[:, None] * A + d[:, None] * self.A1
        return J, dJ

    def interior_eigs(self, t: float):
        if not self.k:
            return np.zeros(0, np.complex128)
        J, _ = self.jacobian_block(t)
        self.eigen_solves += 1
        return np.linalg.eigvals(J)

    def labels(self, t: float):
        """(flow label, flow dim, map label, map dim) at t, without tolerance."""
        _, _, g = self.solve(t)
        lam_b = self.sign_B * g[self.B]
        lam_i = self.interior_eigs(t)
        re = np.concatenate([lam_b, lam_i.real])
        mod = np.concatenate([np.exp(np.minimum(lam_b, 700.0)), np.abs(1.0 + lam_i)]) - 1.0
        fp, fn, fz = _strict_counts(re)
        mp, mn, mz = _strict_counts(mod)
        return (LABELS[label_index(fp, fn, fz, self.n)], fp,
                LABELS[label_index(mp, mn, mz, self.n)], mp)

    # -- the pass --------------------------------------------------------------------------
    def analyse(self, last: bool):
        """(state, pieces, events): a ``STATE_*`` of the kernels for a segment without
        events, or STATE_CANDIDATE with the pieces ``(t0, t1, in_box)`` (a break between
        consecutive pieces) and the events ``(t, kind, value, coordinate, before, after,
        dim_before, dim_after)``."""

        seg = self.seg
        k = self.k
        d = k + 1
        nodes, to_b = _TABLES
        tn = nodes[d, :d + 1]
        T = to_b[d, :d + 1, :d + 1]
        sols = [self.solve(float(t)) for t in tn]
        q = np.array([s[0] for s in sols])
        Y = np.array([s[1][self.I] for s in sols])          # (m, k)
        G = np.array([s[2][self.B] for s in sols])          # (m, nb)
        if k:
            if all(_rank_deficient(self.A0 + t * self.A1, seg.rank_tol) for t in tn):
                return KC.STATE_DEGENERATE, [], []
            for r in range(k):
                if (np.all(np.abs(Y[:, r]) <= seg.face_tol)
                        or np.all(np.abs(Y[:, r] - 1.0) <= seg.face_tol)):
                    return KC.STATE_COPY, [], []
        events: list = []
        breaks = []  # (t, is_singular, coordinate)
        if k:
            q_roots = unit_roots(T @ q, self.f_q, self.roots)
            breaks.extend((t, True, -1) for t in q_roots)
            for r in range(k):
                for face in (0.0, 1.0):
                    b = T @ (q * (Y[:, r] - face))
                    for t in unit_roots(b, self.f_face(r, face), self.roots):
                        # a root of q y_i shared with q is q's (a point that stays finite
                        # where the block is singular), not a crossing of the face
                        if all(abs(t - tq) > _SAME_ROOT for tq in q_roots):
                            breaks.append((t, False, r))
        breaks.sort()
        edges = [0.0] + [b[0] for b in breaks] + [1.0]
        status = []
        for a, c in zip(edges[:-1], edges[1:]):
            _, y, _ = self.solve(0.5 * (a + c))
            yi = y[self.I]
            status.append(bool(np.all((yi >= 0.0) & (yi <= 1.0))))
        pieces = [[edges[0], edges[1], status[0]]]
        for j, (t, singular, r) in enumerate(breaks):
            before, after = status[j], status[j + 1]
            if singular:
                events.append((t, _SINGULAR, complex(np.nan, 0.0), -1, "", "", -1, -1))
                pieces.append([t, edges[j + 2], after])
                if before and after:
                    # the point stays finite and in the box through the singular block
                    # (a continuum at t): a real interior eigenvalue passes through 0
                    self._zero_eigenvalue_events(t, edges[j], edges[j + 2], events)
                continue
            if before != after:
                q_, y, _ = self.solve(t)
                A = self.A0 + t * self.A1
                dy = np.linalg.solve(A, self.r1 - self.A1 @ y[self.I])
                self.solves += 1
                events.append((t, _BOX_ENTER if after else _BOX_LEAVE,
                               complex(seg.rate_scale * dy[r], 0.0), int(self.I[r]), "", "",
                               -1, -1))
                pieces.append([t, edges[j + 2], after])
            else:
                pieces[-1][1] = edges[j + 2]
        for u, v, inside in pieces:
            if inside:
                self._rate_events(u, v, G, q, T, events)
                if k:
                    self._interior_events(u, v, events)
        if not last:
            events = [e for e in events if e[0] < 1.0]
        events.sort(key=lambda e: (e[0], e[1]))
        if len(pieces) == 1 and not events:
            return (KC.STATE_IN if pieces[0][2] else KC.STATE_OUT), [], []
        return KC.STATE_CANDIDATE, [tuple(p) for p in pieces], events

    def _rate_events(self, u, v, G, q, T, events):
        """Boundary eigenvalues ``+-(W y + c)_j`` through 0 inside the in-box piece [u, v]:
        a flow event and a map event (multiplier ``exp`` through 1) at each root."""
        seg = self.seg
        for col, j in enumerate(self.B):
            vals = q * G[:, col]
            if np.max(np.abs(vals)) <= seg.zero_abs * max(1.0, np.max(np.abs(q))):
                continue  # zero on the whole segment (the origin of eq. 3): no crossing
            for t in unit_roots(T @ vals, self.f_rate(int(j)), self.roots):
                if not (u < t < v):
                    continue
                fb, fdb, mb, mdb = self.labels(max(u, t - LABEL_OFFSET))
                fa, fda, ma, mda = self.labels(min(v, t + LABEL_OFFSET))
                lam = self.sign_B[col] * self.solve(t)[2][j]
                events.append((t, _FLOW_REAL, complex(lam, 0.0), int(j), fb, fa, fdb, fda))
                events.append((t, _MAP_PLUS, complex(math.exp(lam), 0.0), int(j), mb, ma,
                               mdb, mda))

    def _zero_eigenvalue_events(self, t, u, v, events):
        """Flow and map events where an interior eigenvalue passes through 0 at a root t of
        ``det W[I,I]`` that the point crosses inside the box ((u, v) the pieces around)."""
        lo = max(0.5 * (u + t), t - LABEL_OFFSET)
        hi = min(0.5 * (t + v), t + LABEL_OFFSET)
        fb, fdb, mb, mdb = self.labels(lo)
        fa, fda, ma, mda = self.labels(hi)
        if fdb != fda:
            events.append((t, _FLOW_REAL, 0j, -1, fb, fa, fdb, fda))
        if mdb != mda:
            events.append((t, _MAP_PLUS, 1 + 0j, -1, mb, ma, mdb, mda))

    def _counts(self, t):
        """(interior eigenvalues, flow count Re > 0, map count |1 + lambda| > 1) at t."""
        lam = self.interior_eigs(t)
        return lam, int(np.count_nonzero(lam.real > 0.0)), int(
            np.count_nonzero(np.abs(1.0 + lam) > 1.0))

    def _interior_events(self, u, v, events):
        """Complex pairs through the imaginary axis, multipliers through -1 or a complex
        pair through the unit circle, inside the in-box piece [u, v]: steps bounded by the
        eigenvalues' condition numbers (:doc:`/theory/continuation`), bisection on the
        counts where they change."""
        lo = u + LABEL_OFFSET if u > 0.0 else u
        hi = v - LABEL_OFFSET if v < 1.0 else v
        if hi <= lo:
            return
        t = lo
        h, fc, mc = self._step(t)
        steps = 0
        while t < hi:
            t_new = min(hi, t + h)
            h_new, fc_new, mc_new = self._step(t_new)
            if fc_new != fc:
                self._locate(t, t_new, 1, events)
            if mc_new != mc:
                self._locate(t, t_new, 2, events)
            t, h, fc, mc = t_new, h_new, fc_new, mc_new
            steps += 1
            if steps > MAX_STEPS:
                warnings.warn(f"continue_fixed_points: the interior spectrum of pattern "
                              f"{''.join(map(str, self.codes))} needed more than {MAX_STEPS} "
                              "steps on one segment; events beyond were not searched.",
                              RuntimeWarning, stacklevel=2)
                break

    def _step(self, t):
        """(step, flow count, map count) at t.

        The counts: interior eigenvalues with ``Re > 0`` and with ``|1 + lambda| > 1``. The
        step: the derivatives of the eigenvalues at t by first-order perturbation theory,
        ``lambda_i' = (V^{-1} J' V)_ii``, give the rate of each function whose zero can
        change a count (:func:`_critical_functions`); the step keeps each one's linear
        prediction short of zero by the factor :data:`STEP_FRACTION`, so that a function
        that turns back within a step (and a crossing that is undone within it) is the
        only way to miss an event.
        """
        J, dJ = self.jacobian_block(t)
        self.eigen_solves += 1
        lam, V = np.linalg.eig(J)
        fc = int(np.count_nonzero(lam.real > 0.0))
        mc = int(np.count_nonzero(np.abs(1.0 + lam) > 1.0))
        try:
            dlam = np.diag(np.linalg.solve(V, dJ @ V))
        except np.linalg.LinAlgError:
            return STEP_MIN, fc, mc
        phi, dphi = _critical_functions(lam, dlam)
        approaching = phi * dphi < 0.0
        if not np.any(approaching):
            return STEP_MAX, fc, mc
        with np.errstate(divide="ignore", invalid="ignore"):
            h = STEP_FRACTION * float(np.min(np.abs(phi[approaching] / dphi[approaching])))
        if not np.isfinite(h):
            h = STEP_MIN
        return float(min(STEP_MAX, max(STEP_MIN, h))), fc, mc

    def _locate(self, a, b, which, events):
        """Bisect [a, b] on the flow (which = 1) or map (2) count; one event at each change."""
        count = lambda t: self._counts(t)[which]  # noqa: E731
        target = count(b)
        while True:
            c0 = count(a)
            if c0 == target:
                return
            lo, hi = a, b
            while hi - lo > ROOT_XTOL:
                mid = 0.5 * (lo + hi)
                if count(mid) == c0:
                    lo = mid
                else:
                    hi = mid
            self.roots[0] += 1
            t = 0.5 * (lo + hi)
            lam = self.interior_eigs(t)
            fb, fdb, mb, mdb = self.labels(min(lo, t - LABEL_OFFSET))
            fa, fda, ma, mda = self.labels(max(hi, t + LABEL_OFFSET))
            if which == 1:
                e = lam[np.argmin(np.abs(lam.real))]
                kind = _FLOW_COMPLEX if abs(e.imag) > 0.0 else _FLOW_REAL
                events.append((t, kind, complex(e.real, abs(e.imag)), -1, fb, fa, fdb, fda))
            else:
                mu = 1.0 + lam
                e = mu[np.argmin(np.abs(np.abs(mu) - 1.0))]
                kind = (_MAP_COMPLEX if abs(e.imag) > 0.0 else
                        _MAP_MINUS if e.real < 0.0 else _MAP_PLUS)
                events.append((t, kind, complex(e.real, abs(e.imag)), -1, mb, ma, mdb, mda))
            a = hi


def _critical_functions(lam: np.ndarray, dlam: np.ndarray):
    """(values, derivatives) of the functions of the interior spectrum whose zeros are the
    only places inside the box where a flow or map count can change.

    A complex eigenvalue: its real part (the imaginary axis) and ``|1 + lambda| - 1`` (the
    unit circle of the multiplier). A real one cannot pass through 0 inside the box
    (``det J = prod y_i (1 - y_i) det W[I,I]`` is not 0 there): ``lambda + 2`` (a
    multiplier through -1), and its distance to each other real eigenvalue (where the two
    meet and leave the real axis as a pair).
    """
    vals, ders = [], []
    real = np.flatnonzero(lam.imag == 0.0)
    for i, (e, de) in enumerate(zip(lam, dlam)):
        if e.imag != 0.0:
            m = abs(1.0 + e)
            vals += [e.real, m - 1.0]
            ders += [de.real, (np.conj(1.0 + e) * de).real / m]
        else:
            vals.append(e.real + 2.0)
            ders.append(de.real)
    for a_, i in enumerate(real):
        for j in real[a_ + 1:]:
            vals.append(lam[i].real - lam[j].real)
            ders.append(dlam[i].real - dlam[j].real)
    return np.array(vals), np.array(ders)


def reference_segment(W0, W1, c0, c1, tols: dict, *, last: bool, prune: bool = True,
                      rate_scale: float = 1.0) -> SegmentResult:
    """``analyse_segment`` with the exact pass of :class:`PatternPath` (same arguments)."""
    n = W0.shape[0]
    seg = segment_data(W0, W1, c0, c1, tols, rate_scale)
    W0, dW, c0, dc = seg.W0, seg.dW, seg.c0, seg.dc
    n_pat = 3**n
    states = np.full(n_pat, KC.STATE_CANDIDATE, np.int8)
    solves = 0
    if prune:
        nodes, to_b = _TABLES
        kernel_solves = np.zeros(1 << n, np.int64)
        KC.prefilter_segment(W0, dW, c0, dc, nodes, to_b, seg.rank_tol, seg.face_tol,
                             MARGIN, seg.zero_abs, states, kernel_solves)
        solves += int(kernel_solves.sum())
    cand = np.flatnonzero(states == KC.STATE_CANDIDATE)
    return python_exact(seg, states, cand, n, last, n_pat, n_pat - cand.size, solves)


def event_row(e) -> list:
    """A :class:`PatternPath` event tuple ``(t, kind, value, coordinate, before, after,
    dim_before, dim_after)`` as a row of the kernel (kind and labels as codes, -1 none)."""
    t, kind, value, coord, before, after, dim_before, dim_after = e
    return [t, EVENT_KINDS.index(kind), value.real, value.imag, coord,
            LABELS.index(before) if before else -1, LABELS.index(after) if after else -1,
            dim_before, dim_after]


def python_exact(seg, states, cand, n, last, n_pat, pruned, solves):
    """The exact pass over the candidates `cand` by :class:`PatternPath`, as the
    :class:`SegmentResult` of ``analyse_segment``."""
    codes = decode_patterns(cand, n)
    p_code, p_t0, p_t1, p_in, events = [], [], [], [], []
    eig = 0
    roots = 0
    with warnings.catch_warnings():
        # a block that is singular at a sample is expected (the roots of q); its
        # consequences are handled
        warnings.simplefilter("ignore", category=RuntimeWarning)
        try:
            from scipy.linalg import LinAlgWarning
            warnings.simplefilter("ignore", category=LinAlgWarning)
        except ImportError:  # pragma: no cover
            pass
        for idx, pat in zip(cand, codes):
            path = PatternPath(seg, pat)
            state, pieces, evs = path.analyse(last)
            solves += path.solves
            eig += path.eigen_solves
            roots += path.roots[0]
            states[idx] = state
            for t0, t1, inside in pieces:
                p_code.append(idx)
                p_t0.append(t0)
                p_t1.append(t1)
                p_in.append(inside)
            for e in evs:
                events.append((int(idx), event_row(e)))
    return SegmentResult(
        states=states, piece_code=np.array(p_code, np.int64), piece_t0=np.array(p_t0),
        piece_t1=np.array(p_t1), piece_in=np.array(p_in, bool),
        event_code=np.array([e[0] for e in events], np.int64),
        events=np.array([e[1] for e in events], np.float64).reshape(-1, EVENT_COLUMNS),
        work=(n_pat, pruned, int(cand.size), solves, eig, roots))


# ----------------------------------------------------------------------------------------
# the compiled pruning pass, pattern by pattern
# ----------------------------------------------------------------------------------------


def strict_sign(b: np.ndarray, margin: float) -> int:
    """+1 / -1 when every coefficient is beyond ``margin * max|b|`` with that sign, else 0."""
    big = float(np.max(np.abs(b)))
    if big == 0.0:
        return 0
    lim = margin * big
    if np.all(b > lim):
        return 1
    if np.all(b < -lim):
        return -1
    return 0


def complete_pivoting_rank(A: np.ndarray, tol: float) -> int:
    """Pivots of Gaussian elimination with complete pivoting before the largest remaining
    entry is ``<= tol``."""
    A = np.array(A, dtype=np.float64)
    rank = 0
    while A.size:
        i, j = np.unravel_index(np.argmax(np.abs(A)), A.shape)
        if abs(A[i, j]) <= tol:
            break
        A[[0, i]] = A[[i, 0]]
        A[:, [0, j]] = A[:, [j, 0]]
        A = A[1:, 1:] - np.outer(A[1:, 0] / A[0, 0], A[0, 1:])
        rank += 1
    return rank


def prefilter_reference(W0, dW, c0, dc, rank_tol, face_tol, margin, zero_abs) -> np.ndarray:
    """The ``STATE_*`` of every pattern by the rules of ``prefilter_segment``, one pattern at
    a time: a vertex is IN unless a boundary rate (affine in t) may change sign; a pattern
    whose block is singular at every node is DEGENERATE (CANDIDATE if at some); one whose q
    may vanish is a CANDIDATE; one with an interior coordinate on a face at every node is a
    COPY; one with a coordinate outside the box all along (its Bernstein coefficients of one
    sign) is OUT; the rest are CANDIDATEs."""
    n = W0.shape[0]
    nodes, to_b = _TABLES
    states = np.empty(3**n, np.int8)
    for code, pat in enumerate(decode_patterns(np.arange(3**n), n)):
        I = np.flatnonzero(pat == 2)
        B1 = np.flatnonzero(pat == 1)
        k = I.size
        if k == 0:
            quiet = True
            for j in range(n):
                g = np.array([c0[j] + W0[j, B1].sum(),
                              c0[j] + dc[j] + (W0[j, B1] + dW[j, B1]).sum()])
                if np.all(np.abs(g) <= zero_abs):
                    continue
                if strict_sign(g, margin) == 0:
                    quiet = False
            states[code] = KC.STATE_IN if quiet else KC.STATE_CANDIDATE
            continue
        d = k + 1
        tn = nodes[d, :d + 1]
        T = to_b[d, :d + 1, :d + 1]
        blocks = [W0[np.ix_(I, I)] + t * dW[np.ix_(I, I)] for t in tn]
        deficient = [complete_pivoting_rank(A, rank_tol) < k for A in blocks]
        if any(deficient):
            states[code] = KC.STATE_DEGENERATE if all(deficient) else KC.STATE_CANDIDATE
            continue
        q = np.array([np.linalg.det(A) for A in blocks])
        qy = np.array([qm * np.linalg.solve(A, -(W0[np.ix_(I, B1)] + t * dW[np.ix_(I, B1)])
                                            .sum(axis=1) - (c0[I] + t * dc[I]))
                       for qm, A, t in zip(q, blocks, tn)])           # (k + 2, k)
        qsign = strict_sign(T @ q, margin)
        if qsign == 0:
            states[code] = KC.STATE_CANDIDATE
            continue
        on_face = [np.all(np.abs(qy[:, r]) <= face_tol * np.abs(q))
                   or np.all(np.abs(qy[:, r] - q) <= face_tol * np.abs(q)) for r in range(k)]
        outside = [strict_sign(T @ qy[:, r], margin) == -qsign
                   or strict_sign(T @ (qy[:, r] - q), margin) == qsign for r in range(k)]
        states[code] = (KC.STATE_COPY if any(on_face) else
                        KC.STATE_OUT if any(outside) else KC.STATE_CANDIDATE)
    return states
