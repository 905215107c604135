"""``resdyn landscape``: how a run's attractors formed, epoch by epoch.

    resdyn landscape RUN [--depth 1000] [--max-depth N] [--n-test N] [--match-tol TOL]
                     [--match-inputs SHARE] [--dataset NAME] [--data-dir DIR]
                     [--out FILE.json|FILE.npz] [--figures DIR]

RUN is a training run folder trained with ``--keep-epochs`` (``resdyn train --keep-epochs``).
The census of the run's test inputs is tracked over every kept epoch
(:func:`dynsys.track_census`): the end points keep an identity while they persist, inputs move
between them, points are born and die. Prints one row per epoch (loss, test error, the points
reached by index, the inputs by status, births and deaths) and every event; ``--out`` writes
the numbers (:class:`analysis.landscape.LandscapeResult`), ``--figures`` the river plot and the
counts by index.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from ._progress import ProgressBar

__all__ = ["add_parser", "run"]

_SUFFIXES = (".json", ".npz")


def add_parser(subparsers):
    """Register ``landscape`` on `subparsers` (sets ``func=run``)."""
    p = subparsers.add_parser(
        "landscape",
        help="the attractor census tracked over the kept epochs of a training run",
        description=(
            "Track the end states of a run's test inputs over every epoch it kept "
            "(resdyn train --keep-epochs): which attractors carry the classes, when they "
            "appear, which inputs move between them."
        ),
    )
    p.add_argument("run", metavar="RUN", help="training run folder with kept epochs")
    p.add_argument("--depth", type=int, default=1000,
                   help="layer at which unsettled inputs are classified (default 1000)")
    p.add_argument("--max-depth", type=int, default=None, metavar="N",
                   help="follow unsettled inputs up to layer N (default: stop at --depth)")
    p.add_argument("--n-test", type=int, default=None, metavar="N",
                   help="track only the first N test inputs")
    p.add_argument("--match-tol", type=float, default=None, metavar="TOL",
                   help="distance within which points of consecutive epochs keep one identity "
                        "(default: dynsys.track_census's)")
    p.add_argument("--match-inputs", type=float, default=0.5, metavar="SHARE",
                   help="a point that jumps keeps its identity when it keeps more than SHARE of "
                        "its inputs and they are more than SHARE of its new ones (default 0.5; "
                        "0: match by pattern and distance only)")
    p.add_argument("--dataset", default=None,
                   help="data set whose test split is tracked (default: the run's own)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with IDX files (default: the run's, else the installed copy)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also write the landscape to FILE (.json or .npz)")
    p.add_argument("--figures", default=None, metavar="DIR",
                   help="write landscape_river.png and landscape_counts.png into DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _check_args(args):
    """Every flag checked, and every output proven writable, before any work."""
    from ._io import check_output_file, check_output_folder

    if args.depth < 1:
        raise ValueError(f"--depth must be >= 1; got {args.depth}.")
    if args.max_depth is not None and args.max_depth < args.depth:
        raise ValueError(f"--max-depth must be >= --depth ({args.depth}); got {args.max_depth}.")
    if args.n_test is not None and args.n_test < 1:
        raise ValueError(f"--n-test must be >= 1; got {args.n_test}.")
    if args.match_tol is not None and not (np.isfinite(args.match_tol) and args.match_tol > 0):
        raise ValueError(f"--match-tol must be a finite number > 0; got {args.match_tol}.")
    if not (0.0 <= args.match_inputs < 1.0):
        raise ValueError(f"--match-inputs must be a share in [0, 1) (0: off); got "
                         f"{args.match_inputs}.")
    figures = None if args.figures is None else check_output_folder(args.figures, "--figures")
    out = None if args.out is None else check_output_file(args.out, "--out", _SUFFIXES)
    return out, figures


def run(args) -> int:
    """Run ``resdyn landscape`` with parsed `args`."""
    import nets

    from .cli_census import _run_dataset, _write
    from .landscape import (compute_landscape, landscape_events, load_training_path,
                            plot_landscape_counts, plot_landscape_river)

    out, figures = _check_args(args)
    path = Path(args.run)
    if not path.is_dir():
        raise ValueError(f"RUN {str(path)!r} must be a training run folder with kept epochs "
                         "(resdyn train --keep-epochs --out RUN).")
    if not nets.has_checkpoint(path):
        raise ValueError(f"RUN {str(path)!r} holds no training checkpoint.")
    train_path = load_training_path(path)
    ds = _run_dataset(path, args.dataset, args.data_dir)
    net0 = train_path.networks[0]
    if ds.n_features != net0.n_features:
        raise ValueError(f"--dataset {ds.name!r} has {ds.n_features} features, but the network "
                         f"in RUN takes {net0.n_features}.")
    x, y = ds.x_test, ds.y_test
    if args.n_test is not None:
        x, y = x[:args.n_test], y[:args.n_test]
    bar = ProgressBar("landscape", unit="epoch") if not args.no_progress else nullcontext()
    with bar as b:
        result = compute_landscape(train_path, x, y, depth=args.depth,
                                   max_depth=args.max_depth, match_tol=args.match_tol,
                                   match_inputs=args.match_inputs or None, progress=b)
    print(f"{net0!r}: {x.shape[0]} test inputs of {ds.name}, epochs "
          f"{int(train_path.epochs[0])} to {int(train_path.epochs[-1])}")
    print(landscape_events(result))
    if out is not None:
        meta = {"run": str(path), "dataset": ds.name, "depth": args.depth,
                "max_depth": args.max_depth, "n_inputs": int(x.shape[0]),
                "match_tol": args.match_tol, "match_inputs": args.match_inputs}
        _write(out, result, meta)
        print(f"landscape: {out}")
    if figures is not None:
        from ._io import atomic_save_figure

        for name, plot in (("landscape_river", plot_landscape_river),
                           ("landscape_counts", plot_landscape_counts)):
            p = atomic_save_figure(plot(result), Path(figures) / f"{name}.png")
            print(f"figure: {p}")
    return 0
