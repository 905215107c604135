"""``resdyn fixed-points``: every fixed point of eq. 3 for a weight matrix stored in a file.

    resdyn fixed-points W.npy [--exact] [--in-box] [--stable-only] [--count] [--json]
                              [--out FILE.npz|FILE.json]

Prints a summary table (counts by stability type for the flow, in and out of the box, the
layer-map labels of in-box points and the degenerate patterns); ``--json`` prints the same
as JSON; ``--out`` writes the full result (points, patterns, eigenvalues, labels, degenerate
patterns) to ``.npz`` or ``.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run", "load_matrix"]


def add_parser(subparsers):
    """Register the ``fixed-points`` subcommand."""
    p = subparsers.add_parser(
        "fixed-points",
        help="every fixed point of dy/dt = y(1-y)(Wy) and its stability",
        description=(
            "Enumerate the 3^N patterns of eq. 3 for the weight matrix W and print the "
            "distinct fixed points by stability type (flow and step-1 layer map), in and out "
            "of the unit box, and the degenerate (singular) patterns."
        ),
    )
    p.add_argument("weights", metavar="W.npy",
                   help="square weight matrix: .npy, or text (.txt/.csv, whitespace or comma)")
    p.add_argument("--exact", action="store_true",
                   help="rational arithmetic and exact stability decisions (N <= 6)")
    p.add_argument("--in-box", action="store_true", help="keep only points in [0, 1]^N")
    p.add_argument("--stable-only", action="store_true", help="keep only flow-stable points")
    p.add_argument("--count", action="store_true",
                   help="count by type without storing points (N <= 20, streaming)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--out", metavar="FILE", help="write the full result to FILE.npz or FILE.json")
    p.set_defaults(func=run)
    return p


def load_matrix(path) -> np.ndarray:
    """Read W from ``.npy`` or a text file (whitespace- or comma-separated)."""
    path = Path(path)
    if not path.exists():
        raise OSError(f"weight file not found: {path}")
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        text = path.read_text()
        delim = "," if "," in text else None
        return np.loadtxt(path, delimiter=delim, ndmin=2)
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        # np.load's own messages talk about pickles; say what the command expected instead.
        kind = "a NumPy .npy file" if path.suffix == ".npy" else "a text file of numbers"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"`W` file {path} is not {kind} holding a square numeric matrix ({first})"
        ) from None


def _only(args):
    if args.in_box and args.stable_only:
        return "stable_in_box"
    if args.in_box:
        return "in_box"
    if args.stable_only:
        return "stable"
    return None


def _write_npz(path: Path, fp) -> None:
    arrays = {
        "W": fp.W, "points": fp.points, "patterns": fp.patterns,
        "multiplicity": fp.multiplicity, "eigenvalues": fp.eigenvalues,
        "stability": fp.stability, "unstable_dim": fp.unstable_dim, "in_box": fp.in_box,
        "residual": fp.residual, "map_stability": fp.map_stability,
        "multipliers": fp.multipliers,
        "degenerate_patterns": fp.degenerate.patterns, "degenerate_kind": fp.degenerate.kind,
        "degenerate_dimension": fp.degenerate.dimension,
    }
    if fp.points_exact is not None:
        arrays["points_exact"] = np.array([[str(v) for v in row] for row in fp.points_exact])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args) -> int:
    """Run the subcommand; returns the exit status."""
    import dynsys

    from ._io import atomic_write_json

    W = load_matrix(args.weights)
    only = _only(args)
    if args.count:
        if args.exact or only is not None:
            raise ValueError("--count cannot be combined with --exact, --in-box or --stable-only")
        counts = dynsys.count_fixed_points(W)
        fp = None
    else:
        fp = dynsys.fixed_points(W, exact=args.exact, only=only)
        counts = fp.counts()
    summary = counts.as_dict()
    summary["filter"] = only
    summary["exact"] = bool(args.exact)
    if fp is not None:
        summary["disagreement_indices"] = fp.disagreements().tolist()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        if only is not None:
            print(f"filter: only={only!r} (counts below are of the kept points)")
        print(counts.table(only=None if fp is None else fp.only))
        if fp is not None and fp.disagreements().size:
            print("in-box points where the flow and the layer map disagree:")
            for i in fp.disagreements()[:20]:
                print(f"  y = {np.array2string(fp.points[i], precision=4)}  flow: "
                      f"{fp.stability[i]}, map: {fp.map_stability[i]}")
    if args.out:
        out = Path(args.out)
        if fp is None:
            if out.suffix != ".json":
                raise ValueError("with --count, --out must name a .json file")
            atomic_write_json(out, summary)
        elif out.suffix == ".npz":
            _write_npz(out, fp)
        elif out.suffix == ".json":
            atomic_write_json(out, fp.as_dict())
        else:
            raise ValueError(f"--out must end in .npz or .json; got {out.name!r}")
        print(f"wrote {out}")
    return 0
