"""``resdyn fixed-points``: every fixed point of eq. 3 for a network's shared weights.

    resdyn fixed-points W [--activation logistic|tanh] [--exact] [--in-box] [--stable-only]
                          [--count] [--list] [--json] [--out FILE.npz|FILE.json]

``W`` is a weight matrix file (``.npy``; text ``.txt``/``.csv``, whitespace- or
comma-separated), a training run folder (its ``weights.safetensors`` or checkpoint) or a
``.safetensors`` weights file. A per-layer network contributes its last layer W(T), and the
output says so. The flow is ``dy/dt = y(1-y)(W y)`` on [0, 1]^N for the logistic and
``dy/dt = (1-y^2)(W y)`` on [-1, 1]^N for tanh: a run folder or weights file carries its
activation (``--activation`` may repeat it, never contradict it); for a bare matrix
``--activation`` says which (default logistic). Prints a summary table (counts by stability type for the flow, in and out of
the box, the layer-map labels of in-box points and the degenerate patterns); ``--list`` adds
one line per kept point (pattern, y, flow and map labels, leading eigenvalue); ``--json``
prints the same as JSON; ``--out`` writes the full result (points, patterns, eigenvalues,
labels, degenerate patterns) to ``.npz`` or ``.json``. Every option is checked before the
enumeration starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._progress import ProgressBar

__all__ = ["add_parser", "run", "load_matrix", "load_source"]

_NPY_MAGIC = b"\x93NUMPY"
# nets.ACTIVATIONS, written out: importing nets imports torch, which building the parser must
# not (tests/analysis/test_cli_activation.py checks they agree)
_ACTIVATIONS = ("logistic", "tanh")
_OUT_SUFFIXES = (".npz", ".json")
_TEXT_SUFFIXES = (".txt", ".csv")


def add_parser(subparsers):
    """Register the ``fixed-points`` subcommand."""
    p = subparsers.add_parser(
        "fixed-points",
        help="every fixed point of dy/dt = y(1-y)(Wy) (or (1-y^2)(Wy), tanh) and its stability",
        description=(
            "Enumerate the 3^N patterns of eq. 3 for the shared weight matrix W and print the "
            "distinct fixed points by stability type (flow and step-1 layer map), in and out "
            "of the box ([0, 1]^N, or [-1, 1]^N for tanh), and the degenerate (singular) "
            "patterns."
        ),
    )
    p.add_argument("weights", metavar="W",
                   help="a square weight matrix (.npy, or text .txt/.csv, whitespace or "
                        "comma), a training run folder, or a .safetensors weights file "
                        "(a per-layer network gives its last layer)")
    p.add_argument("--activation", choices=_ACTIVATIONS, default=None,
                   help="the residual unit: logistic (the flow y(1-y)(Wy) on [0, 1]^N) or "
                        "tanh ((1-y^2)(Wy) on [-1, 1]^N). A run folder or weights file "
                        "carries its own, which this may only repeat; for a bare matrix it "
                        "sets it (default logistic)")
    p.add_argument("--exact", action="store_true",
                   help="rational arithmetic and exact stability decisions (N <= 6)")
    p.add_argument("--in-box", action="store_true",
                   help="keep only points in the box ([0, 1]^N; tanh: [-1, 1]^N)")
    p.add_argument("--stable-only", action="store_true", help="keep only flow-stable points")
    p.add_argument("--count", action="store_true",
                   help="count by type without storing points (N <= 24, the incremental walk; "
                        "out-of-box points are counted, not labelled)")
    p.add_argument("--classify-out-of-box", action="store_true",
                   help="with --count: also label the out-of-box points (N <= 20, slower)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask scheduler at ADDRESS (tcp://host:8786), with a "
                        "progress bar; needs pip install 'resdyn[dask]'")
    p.add_argument("--list", action="store_true",
                   help="print every kept point: pattern, y, flow and map labels, leading "
                        "eigenvalue")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--out", metavar="FILE", help="write the full result to FILE.npz or FILE.json")
    p.set_defaults(func=run)
    return p


# ----------------------------------------------------------------------------------------
# reading W
# ----------------------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    """What the file holds, from its first bytes: "npy", "safetensors", "text" or "binary"."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if len(head) >= 9:
        header_len = int.from_bytes(head[:8], "little")
        if 0 < header_len < 100_000_000 and head[8:9] == b"{":
            return "safetensors"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text"


_WHAT = {"npy": "a NumPy .npy file", "safetensors": "a safetensors file",
         "text": "a text file", "binary": "a binary file of unknown format"}


def _mismatch(path: Path, found: str, expected: str, hint: str) -> ValueError:
    return ValueError(f"`W` file {path} is {_WHAT[found]}, not {expected}; {hint}")


def load_matrix(path) -> np.ndarray:
    """Read W from ``.npy`` or a text file (whitespace- or comma-separated).

    The file's content decides how it is read when the suffix is not ``.npy``, ``.txt`` or
    ``.csv``; a content that contradicts the suffix is an error that says what the file is.
    """
    path = Path(path)
    if not path.exists():
        raise OSError(f"`W` file {path} not found")
    if path.is_dir():
        raise ValueError(f"`W` {path} is a directory; expected a matrix file here")
    found = _sniff(path)
    suffix = path.suffix.lower()
    if suffix == ".npy" and found != "npy":
        hint = ("rename it to .txt or .csv to read it as text" if found == "text" else
                "rename it to .safetensors to read it as weights" if found == "safetensors"
                else "write W with numpy.save")
        raise _mismatch(path, found, "a NumPy .npy file (as numpy.save writes)", hint)
    if suffix in _TEXT_SUFFIXES and found != "text":
        hint = {"npy": "rename it to .npy", "safetensors": "rename it to .safetensors"}.get(
            found, "write W as rows of numbers")
        raise _mismatch(path, found, "a text file of numbers", hint)
    try:
        if found == "npy":
            arr = np.load(path, allow_pickle=False)
        elif found == "text":
            text = path.read_text()
            delim = "," if "," in text else None
            arr = np.loadtxt(path, delimiter=delim, ndmin=2)
        else:
            raise _mismatch(path, found, "a .npy or text matrix file",
                            "name a .safetensors file with that suffix")
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        if str(exc).startswith("`W`"):
            raise
        # np.load's own messages talk about pickles; say what the command expected instead.
        kind = "a NumPy .npy file" if found == "npy" else "a text file of numbers"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"`W` file {path} is not {kind} holding a square numeric matrix ({first})"
        ) from None
    return arr


def _network_note(net, origin: str):
    """(W, note) from a dynsys.Network; a per-layer network gives its last layer."""
    if net.kind != "resnet":
        raise ValueError(
            f"`W` {origin} holds a network of kind {net.kind!r}; eq. 3 is the flow of a "
            "ResNet (kind 'resnet')"
        )
    if net.shared:
        return np.asarray(net.W, dtype=np.float64), f"shared W of {origin}"
    return (np.asarray(net.W[-1], dtype=np.float64),
            f"per-layer network of depth {net.depth} in {origin}: its last layer W({net.depth})")


def _from_nets(path: Path, origin: str):
    try:
        import nets
    except ImportError as exc:  # pragma: no cover - nets ships with the project
        raise RuntimeError(f"reading {origin} needs the nets package ({exc})") from None
    nets.check_run(path, "`W`")  # a finished run whose files belong together, said as such
    try:
        net = nets.to_network(path)
    except (ValueError, TypeError, OSError) as exc:
        # the first clause only: nets' hints are Python calls, not this command's options
        first = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).split(";")[0]
        raise ValueError(
            f"`W` {origin} could not be read as a resdyn network ({first}); expected the "
            "weights.safetensors or checkpoint of a resdyn training run"
        ) from None
    return (*_network_note(net, origin), net.activation)


def _same_activation(own: str, flag, origin: str) -> str:
    """The network's own activation; a contradicting ``--activation`` is refused."""
    if flag is not None and flag != own:
        raise ValueError(
            f"--activation {flag} contradicts the activation of {origin}, {own!r}: a "
            "network's activation is the one it was trained with; leave --activation out, "
            f"or give --activation {own}"
        )
    return own


def load_source(path, activation=None):
    """``(W, note, activation)`` for the ``W`` argument: a matrix file, a run folder or a
    weights file.

    Parameters
    ----------
    path : str or Path
    activation : {"logistic", "tanh"} or None
        ``--activation``: for a bare matrix the activation (None: logistic); a run folder or
        weights file carries its own, which this may repeat but not contradict.

    Returns
    -------
    W : ndarray, shape (N, N) (a matrix file may hold another shape: the caller checks it)
    note : str or None
        Where W came from (the last layer of a per-layer network, for example).
    activation : {"logistic", "tanh"}

    Raises
    ------
    ValueError
        An unreadable source, or an `activation` that contradicts the network's own.
    """
    W, note, own = _load_source(path)
    if own is None:
        return W, note, activation or "logistic"
    return W, note, _same_activation(own, activation, str(path))


def _load_source(path):
    """``(W, note, activation)``, activation None for a bare matrix (it carries none)."""
    path = Path(path)
    if not path.exists():
        raise OSError(f"`W` file {path} not found")
    if path.is_dir():
        from nets import CHECKPOINT_FILE, WEIGHTS_FILE

        if not ((path / WEIGHTS_FILE).is_file() or (path / CHECKPOINT_FILE).exists()):
            raise ValueError(
                f"`W` {path} is a directory without {WEIGHTS_FILE} or {CHECKPOINT_FILE}; "
                "expected a training run folder, a .safetensors weights file or a matrix "
                "file (.npy, .txt, .csv)"
            )
        return _from_nets(path, f"run folder {path}")
    found = _sniff(path)
    if path.suffix.lower() == ".safetensors" or (found == "safetensors"
                                                 and path.suffix.lower() not in
                                                 (".npy",) + _TEXT_SUFFIXES):
        if found != "safetensors":
            raise _mismatch(path, found, "a safetensors file",
                            "rename it to .npy or .txt if it holds a matrix"
                            if found in ("npy", "text") else "write it with nets.save_weights")
        return _from_nets(path, f"weights file {path}")
    W = load_matrix(path)
    if W.ndim == 3:
        return (np.asarray(W[-1]),
                f"per-layer stack of {W.shape[0]} matrices in {path}: its last layer", None)
    return W, None, None


# ----------------------------------------------------------------------------------------
# checks before any work
# ----------------------------------------------------------------------------------------


def _only(args):
    if args.in_box and args.stable_only:
        return "stable_in_box"
    if args.in_box:
        return "in_box"
    if args.stable_only:
        return "stable"
    return None


def _check_options(args) -> None:
    if args.classify_out_of_box and not args.count:
        raise ValueError("--classify-out-of-box goes with --count (a listing labels every "
                         "point anyway)")
    if args.scheduler and args.exact:
        raise ValueError("--scheduler runs the numeric enumeration: drop --exact")
    if args.count and (args.exact or args.in_box or args.stable_only):
        raise ValueError("--count cannot be combined with --exact, --in-box or --stable-only")
    if args.count and args.list:
        raise ValueError("--list prints the points, which --count does not store: drop one")


def _client(address):
    """A Dask client for ``--scheduler`` and a progress bar over its tasks, or (None, None)."""
    if not address:
        return None, None
    try:
        import distributed
    except ImportError:
        raise ValueError("--scheduler needs the optional package `distributed`: "
                         "pip install 'resdyn[dask]'") from None
    return distributed.Client(address), ProgressBar("tasks", unit="task")


def _check_out(args) -> Path | None:
    """The ``--out`` path, validated (suffix, folder, a probe write) before any work."""
    if not args.out:
        return None
    from ._io import check_output_file

    out = Path(args.out)
    if out.is_dir():
        # before the suffix: a folder given for a file is the first thing to say
        return check_output_file(out, "--out")
    suffixes = (".json",) if args.count else _OUT_SUFFIXES
    if out.suffix.lower() not in suffixes:
        want = " or ".join(suffixes)
        extra = " (with --count only the JSON summary is written)" if args.count else ""
        raise ValueError(f"--out must end in {want}{extra}; got {str(out)!r}")
    return check_output_file(out, "--out")


def _check_size(n: int, args, only) -> None:
    from dynsys import FIXED_POINT_ENGINES as engines

    max_n = engines["incremental"].max_n
    if n > max_n:
        raise ValueError(f"W has N = {n}: 3^N patterns are too many to enumerate (N <= "
                         f"{max_n})")
    # --classify-out-of-box counts with the enumeration engine, --exact with the exact one
    max_n = engines["enumeration"].max_n
    if args.count and args.classify_out_of_box and n > max_n:
        raise ValueError(f"--classify-out-of-box supports N <= {max_n}; W has N = {n}: "
                         "drop it (the in-box points are labelled either way)")
    max_n = engines["exact"].max_n
    if args.exact and n > max_n:
        raise ValueError(f"--exact supports N <= {max_n}; W has N = {n}: drop --exact")
    max_n = engines["enumeration"].max_n_listing
    if not args.count and only is None and n > max_n:
        raise ValueError(
            f"W has N = {n}: listing every point needs N <= {max_n}; use --count for the "
            "counts by type, or --in-box and/or --stable-only to keep a subset"
        )


# ----------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------


def _write_npz(path: Path, fp) -> None:
    arrays = {
        "W": fp.W, "points": fp.points, "patterns": fp.patterns,
        "multiplicity": fp.multiplicity, "eigenvalues": fp.eigenvalues,
        "stability": fp.stability, "unstable_dim": fp.unstable_dim, "in_box": fp.in_box,
        "residual": fp.residual, "map_stability": fp.map_stability,
        "map_unstable_dim": fp.map_unstable_dim, "multipliers": fp.multipliers,
        "degenerate_patterns": fp.degenerate.patterns, "degenerate_kind": fp.degenerate.kind,
        "degenerate_dimension": fp.degenerate.dimension,
        **{name: np.float64(value) for name, value in fp.tolerances.items()},
    }
    if fp.points_exact is not None:
        arrays["points_exact"] = np.array([[str(v) for v in row] for row in fp.points_exact])
    from ._io import atomic_save

    # the temporary file keeps the .npz suffix, so savez_compressed writes it as named
    atomic_save(path, lambda tmp: np.savez_compressed(tmp, **arrays))


def _point_rows(fp) -> list[dict]:
    lead = fp.leading_eigenvalue
    return [{"pattern": "".join(str(int(c)) for c in fp.patterns[i]),
             "y": fp.points[i].tolist(),
             "stability": str(fp.stability[i]),
             "map_stability": str(fp.map_stability[i]),
             "leading_eigenvalue": [float(lead[i].real), float(lead[i].imag)]}
            for i in range(len(fp))]


def _check_recorded_activation(result, activation: str) -> None:
    """Refuse to report a result computed for another activation than the network's.

    dynsys results record their activation (absent: logistic); a dynsys that reads a tanh
    network's W as logistic would otherwise print another network's fixed points.
    """
    recorded = getattr(result, "activation", "logistic")
    recorded = getattr(recorded, "name", recorded)
    if recorded != activation:
        raise RuntimeError(
            f"dynsys computed {recorded!r} fixed points for a network with activation "
            f"{activation!r}: this dynsys does not analyse {activation} networks here; "
            "nothing is reported"
        )


def run(args) -> int:
    """Run the subcommand; returns the exit status."""
    import dynsys

    from ._io import atomic_write_json

    _check_options(args)
    out = _check_out(args)
    only = _only(args)
    W, note, activation = load_source(args.weights, args.activation)
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"`W` {args.weights} must hold a square matrix (N, N); got shape "
                         f"{W.shape}")
    _check_size(W.shape[0], args, only)
    # the logistic keeps its bare W; a tanh W travels as a Network, which carries the
    # activation to every engine
    system = W if activation == "logistic" else dynsys.Network(W, activation=activation)
    client, bar = _client(args.scheduler)
    try:
        kw = {} if client is None else {"client": client, "progress": bar}
        if args.count:
            counts = dynsys.count_fixed_points(
                system, classify_out_of_box=args.classify_out_of_box, **kw)
            fp = None
        else:
            fp = dynsys.fixed_points(system, exact=args.exact, only=only, **kw)
            counts = fp.counts()
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
    _check_recorded_activation(counts if fp is None else fp, activation)
    summary = counts.as_dict()
    summary["filter"] = only
    summary["exact"] = bool(args.exact)
    summary["source"] = note or str(args.weights)
    summary["activation"] = activation
    if fp is not None:
        summary["disagreement_indices"] = fp.disagreements().tolist()
        if args.list:
            summary["points"] = _point_rows(fp)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        if note:
            print(f"W: {note}")
        if activation != "logistic":
            print(f"activation: {activation} (dy/dt = (1-y^2)(W y), box [-1, 1]^N)")
        if only is not None:
            print(f"filter: only={only!r} (counts below are of the kept points)")
        print(counts.table(only=None if fp is None else fp.only))
        if fp is not None and args.list:
            low = "-1" if activation == "tanh" else "0"
            print(f"{len(fp)} points (pattern: 0 y_i = {low}, 1 y_i = 1, 2 interior):")
            print(fp.table())
        elif fp is not None and fp.disagreements().size:
            print("in-box points where the flow and the layer map disagree:")
            for i in fp.disagreements()[:20]:
                print(f"  y = {np.array2string(fp.points[i], precision=4)}  flow: "
                      f"{fp.stability[i]}, map: {fp.map_stability[i]}")
    if out is not None:
        if fp is None:
            atomic_write_json(out, summary)
        elif out.suffix.lower() == ".npz":
            _write_npz(out, fp)
        else:
            atomic_write_json(out, fp.as_dict())
        print(f"wrote {out}")
    return 0
