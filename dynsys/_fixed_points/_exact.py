"""The exact engine: rational arithmetic, no floating point (``fixed_points(W, exact=True)``).

Private: the engine ``"exact"`` of :data:`dynsys.FIXED_POINT_ENGINES`.

For N <= 6 (at most 729 patterns) every pattern is solved with :class:`fractions.Fraction`
Gaussian elimination, so rank decisions, the points, the grouping of patterns into distinct
points and the stability labels are exact:

1. Each pattern's interior system ``W[I,I] y_I = -W[I,B1] 1`` is eliminated exactly; a
   singular block is a "continuum" when the system is consistent, else "no solution".
2. Points are grouped exactly (a dict keyed by the rational coordinates); the multiplicity is
   the number of patterns with an invertible block that give the point. A point is listed
   when its canonical pattern (code 0/1 wherever ``y_i`` is 0/1) is invertible, the same rule
   as the numeric mode; its other patterns are counted as copies of the origin or as merged
   (``n_origin_copies``, ``n_merged``), so that points, copies and degenerate patterns add up
   to 3^N.
3. Flow stability: the boundary eigenvalues ``+-(W y)_i`` are rationals (exact signs); the
   interior block ``diag(y_I (1 - y_I)) W[I,I]`` has a rational characteristic polynomial
   (Berkowitz, SymPy), whose roots right of, on and left of the imaginary axis are counted
   exactly: an exact Routh array when no first-column entry vanishes, otherwise zero roots
   from the trailing coefficients, imaginary-axis roots ``i w`` from the real roots of
   ``gcd(Re p(i w), Im p(i w))`` (Sturm counts) and the rest by exact complex root isolation.
4. Layer-map stability: multipliers ``exp(+-(W y)_i)`` (inside the unit circle iff the
   eigenvalue is negative) and the roots of ``q(mu) = p(mu - 1)``, counted inside / on /
   outside the unit circle through the Cayley map ``mu = (1 + s) / (1 - s)`` (the disk becomes
   the left half plane; a dropped degree is a root at ``mu = -1``, on the circle).

5. The in-box test, the canonical pattern and the filters of ``only`` use the exact
   coordinates.

Float eigenvalues (for display) come from NumPy on the float block, and the residual is that
of the float64 points; every decision and label is exact. Exact mode therefore has no
tolerance: :func:`dynsys.fixed_points` accepts each tolerance only as None or 0 and stores
0.0. ``max_degenerate`` caps the stored degenerate patterns as in the numeric mode (the counts
are always complete). The raw fields go to the same result assembly as the numeric engines'
(:func:`dynsys._fixed_points._common.assemble`); this module shares nothing else with them.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from .._stability import label_index
from ._common import MAX_N_EXACT, Weights, assemble
from ._results import FixedPointCounts, FixedPoints

__all__ = ["OPTIONS", "REPORTS_PROGRESS", "check_size", "exact_enumeration",
           "halfplane_counts", "unit_disk_counts", "charpoly_exact", "fixed_points", "count"]

#: Options of this engine beyond the common arguments (none).
OPTIONS = ()
#: It cannot report progress from inside its loops (the entry point reports one unit of
#: work).
REPORTS_PROGRESS = False
#: Whether it solves the driven system ``ds/dt = s (1 - s)(W s + c)`` (tanh networks).
TAKES_DRIVE = True


# ----------------------------------------------------------------------------------------
# exact linear algebra on Fractions
# ----------------------------------------------------------------------------------------


def _solve_exact(A, b):
    """Solve ``A x = b`` exactly. Returns ``(x, rank, consistent)``; x is None if singular."""
    k = len(A)
    M = [list(row) + [bi] for row, bi in zip(A, b)]
    rank = 0
    piv_cols = []
    for col in range(k):
        pivot = next((r for r in range(rank, k) if M[r][col] != 0), None)
        if pivot is None:
            continue
        M[rank], M[pivot] = M[pivot], M[rank]
        pv = M[rank][col]
        for r in range(k):
            if r != rank and M[r][col] != 0:
                f = M[r][col] / pv
                M[r] = [a - f * c for a, c in zip(M[r], M[rank])]
        piv_cols.append(col)
        rank += 1
    consistent = all(M[r][k] == 0 for r in range(rank, k))
    if rank < k:
        return None, rank, consistent
    x = [Fraction(0)] * k
    for r, col in enumerate(piv_cols):
        x[col] = M[r][k] / M[r][col]
    return x, rank, consistent


def charpoly_exact(M):
    """Coefficients ``[1, c1, ..., ck]`` (Fractions) of ``det(lambda I - M)``, M rational."""
    import sympy

    k = len(M)
    if k == 0:
        return [Fraction(1)]
    S = sympy.Matrix(k, k, [sympy.Rational(v.numerator, v.denominator) for row in M for v in row])
    coeffs = S.charpoly().all_coeffs()
    return [Fraction(int(c.p), int(c.q)) for c in coeffs]


# ----------------------------------------------------------------------------------------
# exact root location
# ----------------------------------------------------------------------------------------


def _routh_exact(coef):
    """Exact Routh count of roots with Re > 0, or None if a first-column entry vanishes."""
    k = len(coef) - 1
    if k == 0:
        return 0
    r0 = [coef[j] for j in range(0, k + 1, 2)]
    r1 = [coef[j] for j in range(1, k + 1, 2)]
    width = k // 2 + 2
    r0 += [Fraction(0)] * (width - len(r0))
    r1 += [Fraction(0)] * (width - len(r1))
    first = [r0[0]]
    for _ in range(k):
        if r1[0] == 0:
            return None
        first.append(r1[0])
        r2 = [(r1[0] * r0[j + 1] - r0[0] * r1[j + 1]) / r1[0] for j in range(width - 1)]
        r2.append(Fraction(0))
        r0, r1 = r1, r2
    return sum(1 for a, b in zip(first, first[1:]) if (a > 0) != (b > 0))


def _poly_from(coef, x):
    import sympy

    return sympy.Poly([sympy.Rational(c.numerator, c.denominator) for c in coef], x)


def _isolate_counts(p):
    """(n_pos, n_zero, n_neg) of a SymPy Poly over QQ by exact root isolation."""
    import sympy

    w = sympy.Symbol("w", real=True)
    n_pos = n_zero = n_neg = 0
    _, factors = p.sqf_list()
    for f, mult in factors:
        if f.degree() == 0:
            continue
        x = f.gen
        # roots on the imaginary axis: real roots w of gcd(Re f(i w), Im f(i w))
        expr = sympy.expand(f.as_expr().subs(x, sympy.I * w))
        re_p = sympy.Poly(sympy.re(expr), w) if expr != 0 else sympy.Poly(0, w)
        im_p = sympy.Poly(sympy.im(expr), w)
        g = sympy.gcd(re_p, im_p)
        n_axis = int(g.count_roots()) if g.degree() > 0 else 0
        real_iv, cplx_iv = f.intervals(all=True)
        eps = sympy.Rational(1, 16)
        for _ in range(200):
            pos = neg = touch = 0
            for (a, b), m in real_iv:
                if a > 0:
                    pos += m
                elif b < 0:
                    neg += m
                else:
                    touch += m
            for (lo, hi), m in cplx_iv:
                xl, xh = sympy.re(lo), sympy.re(hi)
                if xl > 0:
                    pos += m
                elif xh < 0:
                    neg += m
                else:
                    touch += m
            if touch == n_axis:
                break
            eps = eps / 16
            real_iv, cplx_iv = f.intervals(all=True, eps=eps)
        else:  # pragma: no cover - isolation always separates distinct roots eventually
            raise RuntimeError("exact root isolation did not converge")
        n_pos += mult * pos
        n_neg += mult * neg
        n_zero += mult * touch
    return n_pos, n_zero, n_neg


def halfplane_counts(coef):
    """Roots of ``sum coef[j] x^(k-j)`` right of, on and left of the imaginary axis (exact).

    `coef` holds Fractions, ``coef[0] != 0``. Returns ``(n_pos, n_zero, n_neg)``.
    """
    coef = [Fraction(c) for c in coef]
    k = len(coef) - 1
    if coef[0] < 0:
        coef = [-c for c in coef]
    if k == 0:
        return 0, 0, 0
    monic = [c / coef[0] for c in coef]
    n_pos = _routh_exact(monic)
    if n_pos is not None:
        return n_pos, 0, k - n_pos
    import sympy

    x = sympy.Symbol("x")
    return _isolate_counts(_poly_from(monic, x))


def unit_disk_counts(coef):
    """Roots of ``sum coef[j] x^(k-j)`` outside, on and inside the unit circle (exact).

    Cayley map ``x = (1 + s) / (1 - s)``: ``r(s) = (1 - s)^k q((1 + s)/(1 - s))``; roots inside
    the disk become roots with Re s < 0, the circle the imaginary axis, and ``x = -1`` is sent
    to infinity (a drop in the degree of r). Returns ``(n_out, n_on, n_in)``.
    """
    import sympy

    coef = [Fraction(c) for c in coef]
    k = len(coef) - 1
    if k == 0:
        return 0, 0, 0
    s = sympy.Symbol("s")
    q = sum(sympy.Rational(c.numerator, c.denominator) * (1 + s) ** (k - j) * (1 - s) ** j
            for j, c in enumerate(coef))
    r = sympy.Poly(sympy.expand(q), s)
    if r.is_zero:
        return 0, k, 0
    deg = r.degree()
    at_minus_one = k - deg
    rc = [Fraction(int(c.p), int(c.q)) for c in r.all_coeffs()]
    n_pos, n_zero, n_neg = halfplane_counts(rc)
    return n_pos, n_zero + at_minus_one, n_neg


# ----------------------------------------------------------------------------------------
# the enumeration
# ----------------------------------------------------------------------------------------


def _fraction_matrix(E):
    """Nested lists of Fractions from a SymPy matrix of Rationals."""
    n = E.shape[0]
    return [[Fraction(int(E[i, j].p), int(E[i, j].q)) for j in range(n)] for i in range(n)]


def _pattern_index(pattern) -> int:
    return sum(c * 3**i for i, c in enumerate(pattern))


def _solve_patterns(Wf, cf=None):
    """Solve phase: every pattern's interior system, exactly.

    `cf` is the drive c of the rate ``W y + c`` (Fractions; None for c = 0): the interior
    system is then ``W[I,I] y_I = -W[I,B1] 1 - c_I``.

    Returns ``(points, degenerate)``: a dict from each exact point (tuple of Fractions) to the
    invertible patterns that give it, and a list of ``(pattern, kind, dimension)`` for the
    singular ones (kind 0 no solution, 1 continuum).
    """
    n = len(Wf)
    one, zero = Fraction(1), Fraction(0)
    points = {}
    degenerate = []
    for pat in itertools.product((0, 1, 2), repeat=n):
        I = [i for i in range(n) if pat[i] == 2]
        B1 = [i for i in range(n) if pat[i] == 1]
        A = [[Wf[r][c] for c in I] for r in I]
        b = [-sum((Wf[r][j] for j in B1), zero if cf is None else cf[r]) for r in I]
        x, rank, consistent = _solve_exact(A, b)
        if x is None:
            degenerate.append((pat, 1 if consistent else 0, len(I) - rank if consistent else 0))
            continue
        y = [one if c == 1 else zero for c in pat]
        for i, v in zip(I, x):
            y[i] = v
        points.setdefault(tuple(y), []).append(pat)
    return points, degenerate


def _classify_point(Wf, y, canon, cf=None):
    """Classify phase of one point, exactly (`cf`: the drive, as in :func:`_solve_patterns`).

    Returns ``(eigenvalues, flow_code, unstable_dim, map_code, map_unstable_dim, in_box)``;
    the eigenvalues are floats for display, every other field comes from exact signs.
    """
    import sympy

    n = len(Wf)
    zero, one = Fraction(0), Fraction(1)
    eig = np.zeros(n, np.complex128)
    Wy = [sum((Wf[i][j] * y[j] for j in range(n)), zero if cf is None else cf[i])
          for i in range(n)]
    I = [i for i in range(n) if canon[i] == 2]
    # boundary rates: the eigenvalues +-(W y)_i are rationals with exact signs
    bpos = bneg = bzero = 0
    for i in range(n):
        if canon[i] == 2:
            continue
        lam = Wy[i] if canon[i] == 0 else -Wy[i]
        eig[i] = float(lam)
        bpos += lam > 0
        bneg += lam < 0
        bzero += lam == 0
    if I:
        Mq = [[y[i] * (1 - y[i]) * Wf[i][j] for j in I] for i in I]
        ev = np.linalg.eigvals(np.array([[float(v) for v in row] for row in Mq]))
        for i, e in zip(I, ev):
            eig[i] = e
        cp = charpoly_exact(Mq)
        ipos, izero, ineg = halfplane_counts(cp)
        # q(mu) = p(mu - 1): the multipliers 1 + lambda of the interior block
        mu = sympy.Symbol("mu")
        q = sympy.Poly(_poly_from(cp, mu).as_expr().subs(mu, mu - 1), mu)
        mout, mon, min_ = unit_disk_counts([Fraction(int(c.p), int(c.q)) for c in q.all_coeffs()])
    else:
        ipos = izero = ineg = 0
        mout = mon = min_ = 0
    in_box = all(zero <= v <= one for v in y)
    flow = label_index(bpos + ipos, bneg + ineg, bzero + izero, n)
    if in_box:
        # |exp(lam)| > 1 iff lam > 0: the boundary multipliers share the eigenvalues' signs
        mcode = label_index(bpos + mout, bneg + min_, bzero + mon, n)
        mdim = bpos + mout
    else:
        mcode, mdim = -1, -1
    return eig, flow, bpos + ipos, mcode, mdim, in_box


def exact_enumeration(E, *, only=None, drive=False) -> dict:
    """The raw fields of :func:`dynsys._fixed_points._common.assemble`, exactly.

    Parameters
    ----------
    E : sympy.Matrix, shape (N, N)
        Rational weights.
    only : {None, "in_box", "stable", "stable_in_box"}
        Applied to the exact in-box test and the exact flow label.
    drive : bool
        Solve the driven system of a tanh network, ``ds/dt = s (1 - s)(E s + c)`` with
        ``c = -E 1 / 2`` (E is 4 times the tanh weights, so c is ``-2 W 1``), exactly.
    """
    import sympy

    Wf = _fraction_matrix(E)
    n = len(Wf)
    cf = [-sum(row, Fraction(0)) / 2 for row in Wf] if drive else None
    points, degenerate = _solve_patterns(Wf, cf)

    rows = []
    # every invertible pattern other than a listed point's canonical one is a copy: of the
    # origin (no coordinate at 1), or merged into the point at its canonical pattern (an
    # interior coordinate exactly 0 or 1), as the numeric kernels count them
    n_origin_copies = n_merged = 0
    for y, pats in points.items():
        canon = tuple(0 if v == 0 else 1 if v == 1 else 2 for v in y)
        listed = canon in pats
        copies = len(pats) - listed
        if not any(y):
            n_origin_copies += copies
        else:
            n_merged += copies
        if not listed:
            continue  # lies on the continuum of its (singular) canonical pattern
        rows.append((canon, y, len(pats)))
    rows.sort(key=lambda r: _pattern_index(r[0]))

    Wfloat = np.array([[float(v) for v in row] for row in Wf], dtype=np.float64)
    cfloat = np.zeros(n) if cf is None else np.array([float(v) for v in cf])
    kept = {name: [] for name in ("points", "patterns", "eigenvalues", "flow_code",
                                  "unstable_dim", "map_code", "map_unstable_dim", "in_box",
                                  "multiplicity")}
    exact_rows = []
    for canon, y, mlt in rows:
        eig, flow, udim, mcode, mdim, in_box = _classify_point(Wf, y, canon, cf)
        if only in ("in_box", "stable_in_box") and not in_box:
            continue
        if only in ("stable", "stable_in_box") and flow != 0:
            continue
        for name, value in (("points", [float(v) for v in y]), ("patterns", canon),
                            ("eigenvalues", eig), ("flow_code", flow), ("unstable_dim", udim),
                            ("map_code", mcode), ("map_unstable_dim", mdim),
                            ("in_box", in_box), ("multiplicity", mlt)):
            kept[name].append(value)
        exact_rows.append(tuple(sympy.Rational(v.numerator, v.denominator) for v in y))

    m = len(exact_rows)
    pts = np.array(kept["points"], np.float64).reshape(m, n)
    # the float residual of the rounded points (the exact points have residual 0)
    with np.errstate(all="ignore"):
        rate = pts @ Wfloat.T if cf is None else pts @ Wfloat.T + cfloat
        residual = (np.abs(pts * (1.0 - pts) * rate).max(axis=1) if m else np.zeros(0))
    degenerate.sort(key=lambda d: _pattern_index(d[0]))
    return dict(
        points=pts,
        patterns=np.array(kept["patterns"], np.int8).reshape(m, n),
        eigenvalues=np.array(kept["eigenvalues"], np.complex128).reshape(m, n),
        flow_code=np.array(kept["flow_code"], np.int64),
        unstable_dim=np.array(kept["unstable_dim"], np.int64),
        map_code=np.array(kept["map_code"], np.int64),
        map_unstable_dim=np.array(kept["map_unstable_dim"], np.int64),
        in_box=np.array(kept["in_box"], np.bool_),
        residual=residual,
        multiplicity=np.array(kept["multiplicity"], np.int64),
        points_exact=tuple(exact_rows),
        dg_code=np.array([_pattern_index(d[0]) for d in degenerate], np.int64),
        dg_kind=np.array([d[1] for d in degenerate], np.int8),
        dg_dim=np.array([d[2] for d in degenerate], np.int64),
        n_no_solution=sum(1 for d in degenerate if d[1] == 0),
        n_continuum=sum(1 for d in degenerate if d[1] == 1),
        n_merged=None if only is not None else n_merged,
        n_origin_copies=None if only is not None else n_origin_copies,
    )


def check_size(n: int) -> None:
    """A ValueError saying what to use instead when N is beyond exact mode."""
    if n > MAX_N_EXACT:
        raise ValueError(
            f"`exact=True` (the 'exact' engine) supports N <= {MAX_N_EXACT} (3^N rational "
            f"solves with exact stability tests); got N = {n}. Use a numeric engine "
            "(exact=False), which handles N <= 13 in full and N <= 24 with `only=` or "
            "count_fixed_points."
        )


def fixed_points(weights: Weights, *, only, tols: dict, max_degenerate: int) -> FixedPoints:
    """Every point kept by `only`, with exact decisions and labels; `tols` are the zeros of
    :func:`~dynsys._fixed_points._common.exact_tolerances`."""
    check_size(weights.n)
    raw = exact_enumeration(weights.exact_system().exact_W(), only=only,
                            drive=weights.drive is not None)
    return assemble(weights.W, raw, only=only, exact=True, tols=tols,
                    max_degenerate=max_degenerate)


def count(weights: Weights, *, tols: dict, classify_out_of_box: bool) -> FixedPointCounts:
    """The counts of the exact listing (every point is labelled; the out-of-box labels are
    kept when `classify_out_of_box`)."""
    fp = fixed_points(weights, only=None, tols=tols, max_degenerate=3**weights.n)
    return FixedPointCounts.from_table(fp.count_row(), weights.n, tolerances=tols,
                                       out_of_box_classified=classify_out_of_box)
