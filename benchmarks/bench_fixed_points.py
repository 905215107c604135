"""Benchmark of the fixed-point enumeration of eq. 3.

Prints, in one run on one machine:

1. numeric enumeration with full classification, N = 8..16:
   ``count_fixed_points(W, classify_out_of_box=True)`` (every point classified by flow type,
   in-box points also for the layer map) and, for N <= 12,
   ``fixed_points`` (every point stored with its eigenvalues and labels), in patterns/s;
2. the same against a plain NumPy loop over patterns (cond + solve + eigvals + labels per
   pattern) at N = 10 and 12: the ratios of count_fixed_points (goal >= 300x) and of
   fixed_points with every eigenvalue stored. The loop runs on every pattern at
   N = 10 and on a random sample of 20,000 patterns at N = 12 (``--full-baseline`` for all);
3. against PHCpack (``phc -b``) at N = 6 and 7: the ratio (goal >= 10,000x at N = 7) and a
   check that the two solution sets are identical;
4. N = 16 (43 million patterns): counted by type, and its stable points listed (goal < 60 s
   each on 2 cores).

Usage::

    python benchmarks/bench_fixed_points.py            # the full run (a few minutes)
    python benchmarks/bench_fixed_points.py --quick    # smoke run (seconds)
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dynsys  # noqa: E402
from tests._oracles.phcpack import match_solution_sets, phc_available, phc_solve  # noqa: E402
from dynsys import classify_multipliers, classify_spectrum  # noqa: E402


def count_all(W):
    """The counts with every point classified, in and out of the box: the solve per pattern
    of the enumeration engine, which is what ``engine="auto"`` picks for
    ``classify_out_of_box=True`` (the default count walks incrementally and leaves the
    out-of-box points unlabelled)."""
    return dynsys.count_fixed_points(W, classify_out_of_box=True)


def best_time(fn, repeats=3):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def plain_numpy_pattern(W, code, rel_tol=1e-9):
    """What one pattern costs in a plain NumPy loop: cond, solve, eigvals, labels."""
    interior = np.flatnonzero(code == 2)
    ones = np.flatnonzero(code == 1)
    y = (code == 1).astype(np.float64)
    if interior.size:
        A = W[np.ix_(interior, interior)]
        if np.linalg.cond(A) > 1e11:
            return None
        y[interior] = np.linalg.solve(A, -W[np.ix_(interior, ones)].sum(axis=1))
        if np.any(np.abs(y[interior]) <= rel_tol) or np.any(np.abs(y[interior] - 1) <= rel_tol):
            return None
    wy = W @ y
    J = np.diag((1.0 - 2.0 * y) * wy) + np.diag(y * (1.0 - y)) @ W
    ev = np.linalg.eigvals(J)
    zero_tol = rel_tol * (np.max(np.abs(W)) or 1.0)
    label = classify_spectrum(ev, zero_tol)
    if np.all((y >= 0) & (y <= 1)):
        mult = np.exp(np.where(code == 0, wy, -wy)) + 0j
        if interior.size:
            d = y[interior] * (1 - y[interior])
            mult[interior] = np.linalg.eigvals(np.eye(interior.size)
                                               + d[:, None] * W[np.ix_(interior, interior)])
        classify_multipliers(mult, zero_tol)
    return y, label


def plain_numpy_seconds_per_pattern(W, sample=None, seed=0):
    n = W.shape[0]
    if sample is None or sample >= 3**n:
        codes = (np.array(p) for p in itertools.product((0, 1, 2), repeat=n))
        count = 3**n
    else:
        rng = np.random.default_rng(seed)
        codes = (rng.integers(0, 3, size=n) for _ in range(sample))
        count = sample
    t0 = time.perf_counter()
    for code in codes:
        plain_numpy_pattern(W, code)
    return (time.perf_counter() - t0) / count, count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--full-baseline", action="store_true",
                    help="run the plain NumPy loop over every pattern at N = 12 too")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    import numba

    print(f"# bench_fixed_points  python {platform.python_version()}  numpy {np.__version__}"
          f"  numba {numba.__version__}  threads {numba.get_num_threads()}  "
          f"cpus {os.cpu_count()}  {platform.processor() or platform.machine()}")
    # compile / load the cached kernels outside the timings
    W3 = rng.normal(size=(3, 3))
    dynsys.fixed_points(W3)
    dynsys.fixed_points(W3, only="stable")
    count_all(W3)

    ns_count = range(8, 11) if args.quick else range(8, 17)
    print("\n## 1. full classification, patterns per second")
    print(f"{'N':>3} {'patterns':>12} {'count s':>9} {'count pat/s':>12} "
          f"{'store s':>9} {'store pat/s':>12} {'points':>10} {'stable':>7} {'in box':>8}")
    mats = {n: rng.normal(size=(n, n)) for n in range(2, 17)}
    store_times = {}
    for n in ns_count:
        W = mats[n]
        reps = 3 if n <= 12 else 1
        tc, c = best_time(lambda: count_all(W), reps)
        if n <= 12:
            ts, fp = best_time(lambda: dynsys.fixed_points(W), reps)
            store_times[n] = ts
            assert fp.counts().as_dict() == c.as_dict()
            s_txt = f"{ts:9.3f} {3**n / ts:12.3g}"
        else:
            s_txt = f"{'-':>9} {'-':>12}"
        assert c.total == 3**n - 2**n + 1
        print(f"{n:3d} {3**n:12d} {tc:9.3f} {3**n / tc:12.3g} {s_txt} {c.total:10d} "
              f"{c.stable:7d} {c.in_box:8d}", flush=True)

    print("\n## 2. against a plain NumPy loop over patterns (same work per pattern)")
    for n in ((8,) if args.quick else (10, 12)):
        W = mats[n]
        sample = None if (n <= 10 or args.full_baseline) else 20000
        if args.quick:
            sample = 3000
        per, count = plain_numpy_seconds_per_pattern(W, sample)
        loop_total = per * 3**n
        ts = store_times.get(n) or best_time(lambda: dynsys.fixed_points(W), 3)[0]
        tc = best_time(lambda: count_all(W), 3)[0]
        how = "all patterns" if count == 3**n else f"{count} sampled patterns, extrapolated"
        print(f"N = {n}: plain loop {per * 1e6:.1f} us/pattern -> {loop_total:.2f} s ({how}); "
              f"count_fixed_points (every point classified) {tc:.4f} s, ratio "
              f"{loop_total / tc:.0f}x; fixed_points (every point stored with its "
              f"eigenvalues) {ts:.4f} s, ratio {loop_total / ts:.0f}x", flush=True)

    print("\n## 3. against PHCpack (phc -b, shifted variables y = u + s)")
    if not phc_available():
        print("phc not found: install Debian package phcpack (apt-get install phcpack)")
    else:
        for n in ((4, 5) if args.quick else (6, 7)):
            W = mats[n]
            sols, mult, t_phc = phc_solve(W, seed=n)
            t_ours, fp = best_time(lambda: dynsys.fixed_points(W), 20)
            ok, det = match_solution_sets(fp.points, sols, mult, multiplicity=fp.multiplicity)
            print(f"N = {n}: PHCpack {t_phc:.2f} s ({len(sols)} solutions, "
                  f"{det['n_complex']} complex extras), fixed_points {t_ours * 1e3:.2f} ms, "
                  f"ratio {t_phc / t_ours:.0f}x, identical solution sets: {ok}"
                  + ("" if ok else f" {det}"), flush=True)

    print("\n## 4. N = 16" if not args.quick else "\n## 4. N = 11 (quick)")
    n = 11 if args.quick else 16
    W = mats[n]
    t1, c = best_time(lambda: count_all(W), 1)
    print(f"count_fixed_points: {t1:.2f} s for {3**n:,} patterns; {c.total:,} points; "
          f"stable {c.stable}, stable in box {c.stable_in_box}, in box {c.in_box:,}, "
          f"flow/map disagreements {c.disagreements}", flush=True)
    t2, fs = best_time(lambda: dynsys.fixed_points(W, only="stable"), 1)
    t3, fsb = best_time(lambda: dynsys.fixed_points(W, only="stable_in_box"), 1)
    assert len(fs) == c.stable and len(fsb) == c.stable_in_box
    print(f"fixed_points(only='stable'): {t2:.2f} s ({len(fs)} points); "
          f"only='stable_in_box': {t3:.2f} s ({len(fsb)} points)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
