"""Test oracle: solve the fixed-point equations of eq. 3 with PHCpack (an independent check).

PHCpack (Debian package ``phcpack``, blackbox solver ``phc -b``) tracks homotopy paths to all
isolated complex solutions of a polynomial system. PHC 2.4.86 crashes on the plain system
because of the 2^N-fold root at the origin, so the system is written in shifted variables
``y = u + s`` with a generic shift ``s`` in (0.2, 0.8)^N. The tanh system
``(1 - y_i)(1 + y_i)(W y)_i = 0`` (``activation="tanh"``) is written the same way. Used by the tests and
``benchmarks/bench_fixed_points.py`` only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["phc_available", "phc_solve", "match_solution_sets", "PHC_MISSING"]

PHC_MISSING = "install Debian package phcpack (apt-get install phcpack)"


def phc_available() -> bool:
    """Whether the ``phc`` executable is on PATH."""
    return shutil.which("phc") is not None


def _num(v: float) -> str:
    return f"{abs(float(v)):.17E}"


def _system_text(W: np.ndarray, shift: np.ndarray, activation: str = "logistic") -> str:
    n = W.shape[0]
    lines = [str(n)]
    for i in range(n):
        terms = []
        for j in range(n):
            w = W[i, j]
            if w == 0.0:
                continue
            sign = "-" if w < 0 else "+"
            terms.append(f" {sign} {_num(w)}*(u{j + 1} + {_num(shift[j])})")
        lin = "".join(terms) if terms else " 0"
        yi = f"(u{i + 1} + {_num(shift[i])})"
        if activation == "tanh":
            lines.append(f"(1 - {yi})*(1 + {yi})*({lin});")
        else:
            lines.append(f"{yi}*(1 - {yi})*({lin});")
    return "\n".join(lines) + "\n"


_SOL_LINE = re.compile(r"^\s*u(\d+)\s*:\s*(\S+)\s+(\S+)\s*$")
_MULT_LINE = re.compile(r"^m\s*:\s*(\d+)")


def _parse(text: str, n: int):
    start = text.rfind("THE SOLUTIONS")
    if start < 0:
        raise RuntimeError("PHCpack output has no solution section")
    sols, mults = [], []
    cur = None
    mult = 1
    for line in text[start:].splitlines():
        mm = _MULT_LINE.match(line)
        if mm:
            mult = int(mm.group(1))
            cur = np.full(n, np.nan + 0j)
            continue
        ms = _SOL_LINE.match(line)
        if ms and cur is not None:
            cur[int(ms.group(1)) - 1] = complex(float(ms.group(2)), float(ms.group(3)))
            if not np.isnan(cur.real).any():
                sols.append(cur)
                mults.append(mult)
                cur = None
    return np.array(sols, dtype=np.complex128).reshape(-1, n), np.array(mults, dtype=np.int64)


def phc_solve(W, shift=None, *, seed: int = 0, timeout: float = 600.0,
              activation: str = "logistic"):
    """All solutions of y (1 - y) (W y) = 0 (tanh: (1 - y^2)(W y) = 0) from ``phc -b``.

    Returns ``(solutions (K, N) complex in the original y coordinates, multiplicity (K,),
    seconds)``. Raises ``RuntimeError`` if ``phc`` is missing or fails.
    """
    if not phc_available():
        raise RuntimeError(f"`phc` not found: {PHC_MISSING}")
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    if shift is None:
        shift = np.random.default_rng(seed).uniform(0.2, 0.8, size=n)
    shift = np.asarray(shift, dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix="resdyn_phc_") as tmp:
        inp = Path(tmp) / "system.txt"
        out = Path(tmp) / "solutions.txt"
        inp.write_text(_system_text(W, shift, activation))
        t0 = time.perf_counter()
        proc = subprocess.run(["phc", "-b", str(inp), str(out)], cwd=tmp, capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - t0
        if not out.exists():
            raise RuntimeError(f"phc -b failed (status {proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-300:]}")
        sols, mults = _parse(out.read_text(errors="replace"), n)
    return sols + shift[None, :], mults, elapsed


def match_solution_sets(points, phc_solutions, phc_mult=None, *, multiplicity=None,
                        tol: float = 1e-6, multiple_tol: float = 1e-4):
    """Compare our points with PHCpack's solutions.

    Each PHCpack solution (complex) is assigned to our nearest point and must lie within
    ``tol * (1 + |p|)`` of it, or ``multiple_tol * (1 + |p|)`` when the point is a multiple
    root (``multiplicity > 1``, e.g. the origin): PHCpack reports such a root as a cluster of
    copies whose accuracy is limited by the multiplicity. Every point of ours must receive at
    least one solution. ``phc_mult`` is accepted for reference and not needed. Returns
    ``(ok, details)`` with the unmatched points of either side.
    """
    pts = np.asarray(points, dtype=np.float64)
    sol = np.asarray(phc_solutions, dtype=np.complex128).reshape(-1, pts.shape[1])
    mult = (np.ones(len(pts), np.int64) if multiplicity is None
            else np.asarray(multiplicity, np.int64))
    hit = np.zeros(len(pts), dtype=bool)
    extra = []
    for s_row in sol:
        if len(pts) == 0:
            extra.append(s_row)
            continue
        d = np.abs(pts - s_row[None, :]).max(axis=1)
        j = int(np.argmin(d))
        lim = (multiple_tol if mult[j] > 1 else tol) * (1.0 + np.abs(pts[j]).max())
        if d[j] <= lim:
            hit[j] = True
        else:
            extra.append(s_row)
    extra = np.array(extra, dtype=np.complex128).reshape(-1, pts.shape[1])
    n_complex = int(np.sum(np.abs(extra.imag).max(axis=1, initial=0.0) > tol)) if len(extra) else 0
    details = {"missing_from_phc": np.flatnonzero(~hit).tolist(),
               "extra_in_phc": extra.tolist(), "n_complex": n_complex}
    return bool(hit.all() and len(extra) == 0), details
