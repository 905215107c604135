"""Benchmark of the enumeration at scale: the incremental walk against the enumeration kernel.

Prints, in one run on one machine:

1. N = 16 (43 million patterns): ``count_fixed_points`` (every point classified, in and out
   of the box) against the incremental count (in-box points classified, out-of-box points
   counted) and the incremental count with out-of-box classification, interleaved; the ratio
   (goal >= 5x) and a check that the counts agree;
2. N = 20 (3.5e9 patterns): the incremental count (goal < 120 s on 2 cores);
3. N = 22: ``only="stable"`` and ``only="stable_in_box"`` listings (goal < 10 min each);
4. listing every point at N = 10 and 12 (``fixed_points(W)``): the patterns/s against the
   plain NumPy loop of ``benchmarks/bench_fixed_points.py`` (goal 300x, or what bounds it),
   and the cost per listed point of the incremental engine;
5. with ``--dask``, N = 20 counted on a LocalCluster of 2 worker processes.

Usage::

    python benchmarks/bench_scale.py              # everything (about 15-30 minutes, 2 cores)
    python benchmarks/bench_scale.py --quick      # N = 12 / 14 / 14 stand-ins (a minute)
    python benchmarks/bench_scale.py --skip 22    # leave out a section (16, 20, 22, list)
    python benchmarks/bench_scale.py --n-stable 20   # the filtered listings at N = 20
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dynsys  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def weights(n, seed=0, gain=1.0):
    return gain * np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)


def _box_fields(c):
    d = c.as_dict()
    for key in ("by_stability", "by_stability_out_of_box", "unstable_dim_out_of_box"):
        d.pop(key)
    return d


def section_count(n):
    W = weights(n)
    print(f"== counting, N = {n} ({3**n:.3g} patterns)")
    t_old, c_old, ref = timed(lambda: dynsys.count_fixed_points(W, engine="enumeration",
                                                               classify_out_of_box=True))
    t_box, c_box, box = timed(lambda: dynsys.count_fixed_points(W, engine="incremental"))
    t_full, c_full, full = timed(lambda: dynsys.count_fixed_points(W, engine="incremental",
                                                                classify_out_of_box=True))
    t_box2, _, _ = timed(lambda: dynsys.count_fixed_points(W, engine="incremental"))
    t_box = min(t_box, t_box2)
    print(f"  count_fixed_points (all classified):     {t_old:8.2f} s wall  {c_old:8.2f} s cpu")
    print(f"  incremental, in-box classified:          {t_box:8.2f} s wall  {c_box:8.2f} s cpu"
          f"  -> {t_old / t_box:.1f}x")
    print(f"  incremental, all classified:             {t_full:8.2f} s wall  {c_full:8.2f} s cpu"
          f"  -> {t_old / t_full:.1f}x")
    print(f"  agree: in-box fields {_box_fields(box) == _box_fields(ref)}, "
          f"all fields {full.as_dict() == ref.as_dict()}; total {ref.total}, in box "
          f"{ref.in_box}, stable in box {ref.stable_in_box}")
    print(f"  per pattern (in-box classified): {t_box / 3**n * 1e9:.1f} ns wall, "
          f"{c_box / 3**n * 1e9:.1f} ns cpu")


def section_large(n):
    W = weights(n)
    print(f"== counting, N = {n} ({3**n:.3g} patterns), in-box points classified")
    t, c, res = timed(lambda: dynsys.count_fixed_points(W, engine="incremental"))
    print(f"  {t:.1f} s wall, {c:.1f} s cpu ({t / 3**n * 1e9:.1f} ns per pattern wall); "
          f"total {res.total}, in box {res.in_box}, stable in box {res.stable_in_box}, "
          f"map-stable in box {res.map_by_stability_in_box['stable']}")


def section_stable(n):
    W = weights(n)
    print(f"== listing with a filter, N = {n} ({3**n:.3g} patterns)")
    for only in ("stable_in_box", "stable"):
        t, c, fp = timed(lambda: dynsys.fixed_points(W, engine="incremental", only=only))
        print(f"  only={only!r}: {t:.1f} s wall, {c:.1f} s cpu, {len(fp)} points")


def section_list(sizes):
    from bench_fixed_points import plain_numpy_seconds_per_pattern

    print("== listing every point: fixed_points(W)")
    for n in sizes:
        W = weights(n)
        dynsys.fixed_points(W)
        t, c, fp = timed(lambda: dynsys.fixed_points(W))
        tk, _, _ = timed(lambda: dynsys.fixed_points(W, engine="incremental", only="stable"))
        base, count = plain_numpy_seconds_per_pattern(W, sample=None if n <= 10 else 20000)
        per = t / 3**n
        print(f"  N = {n}: {t:.3f} s ({per * 1e9:.0f} ns/pattern), {len(fp)} points; plain "
              f"NumPy loop {base * 1e6:.0f} us/pattern ({count} patterns) -> "
              f"{base / per:.0f}x; a walk that keeps only the stable points: {tk:.3f} s")
    profile_listing(sizes[-1])


def profile_listing(n):
    """What one listed point costs: fixed_points(W) by the incremental engine, per point."""
    W = weights(n)
    t, _, fp = timed(lambda: dynsys.fixed_points(W, engine="incremental"))
    m = len(fp)
    print(f"  profile N = {n}: the incremental engine lists {m} points in {t:.3f} s "
          f"({t / m * 1e9:.0f} ns/point: the walk, an eigen-solve of the interior block per "
          "point, the per-point assembly)")


def section_dask(n):
    from distributed import Client, LocalCluster

    W = weights(n)
    print(f"== Dask LocalCluster, 2 worker processes, N = {n}")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dynsys.count_fixed_points(W[:8, :8], client=client)  # compile on the workers
        t, _, res = timed(lambda: dynsys.count_fixed_points(W, client=client))
    print(f"  {t:.1f} s wall; total {res.total}, in box {res.in_box}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small stand-ins for every section")
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out a section: 16, 20, 22, list")
    ap.add_argument("--dask", action="store_true", help="also count on a LocalCluster")
    ap.add_argument("--n-stable", type=int, default=22,
                    help="N of the filtered listings (default 22; 20 takes a ninth of it)")
    args = ap.parse_args(argv)
    import numba

    print(f"resdyn bench_scale: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Numba {numba.__version__} ({numba.get_num_threads()} threads)")
    dynsys.count_fixed_points(weights(4), engine="incremental")
    dynsys.count_fixed_points(weights(4), engine="incremental", classify_out_of_box=True)
    dynsys.fixed_points(weights(4), engine="incremental", only="stable")
    dynsys.count_fixed_points(weights(4), engine="enumeration", classify_out_of_box=True)
    sizes = (12, 14, 14) if args.quick else (16, 20, args.n_stable)
    if "16" not in args.skip:
        section_count(sizes[0])
    if "20" not in args.skip:
        section_large(sizes[1])
    if "22" not in args.skip:
        section_stable(sizes[2])
    if "list" not in args.skip:
        section_list((8, 10) if args.quick else (10, 12))
    if args.dask:
        section_dask(12 if args.quick else 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
