"""``resdyn census``: what every test input of a trained network converges to.

    resdyn census RUN [--dataset NAME] [--data-dir DIR] [--depth 1000] [--max-depth N]
                  [--fit-on train|test] [--n-test N] [--n-fit N] [--activation logistic|tanh]
                  [--out FILE.json|FILE.npz]

RUN is a training run folder (``resdyn train --out RUN``), a weights folder or a
``.safetensors`` file written by :func:`nets.save_weights`. Each carries the network's
activation (a run or file without one is logistic); ``--activation`` may repeat it, and one
that contradicts it is refused before any work. The inputs are the test split of the
run's data set (or of ``--dataset``). Prints the distinct end states with their flow and
layer-map labels, leading eigenvalues and class counts, and the status of the inputs per class
(see :func:`dynsys.attractor_census`).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np

from ._progress import ProgressBar

__all__ = ["add_parser", "run", "census_tables"]

_SUFFIXES = (".json", ".npz")
# nets.ACTIVATIONS, written out: importing nets imports torch, which building the parser must
# not (tests/analysis/test_cli_activation.py checks they agree)
_ACTIVATIONS = ("logistic", "tanh")


def add_parser(subparsers):
    """Register ``census`` on `subparsers` (sets ``func=run``)."""
    p = subparsers.add_parser(
        "census",
        help="the exact end state (attractor, saddle, cycle) of every test input of a run",
        description=(
            "Run a trained network on its test inputs in logit coordinates and report what "
            "each input converges to: the distinct fixed points reached, with their flow and "
            "layer-map stability, and the status of the inputs per class."
        ),
    )
    p.add_argument("run", metavar="RUN",
                   help="training run folder, weights folder or .safetensors file")
    p.add_argument("--dataset", default=None,
                   help="data set whose test split is censused (default: the run's own)")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder with IDX files (mnist defaults to the copy `make data` installs; "
                        "fashion-mnist to Debian's)")
    p.add_argument("--depth", type=int, default=1000,
                   help="layer at which unsettled inputs are classified (default 1000)")
    p.add_argument("--max-depth", type=int, default=None, metavar="N",
                   help="follow unsettled inputs up to layer N (default: stop at --depth)")
    p.add_argument("--fit-on", choices=("train", "test"), default="train",
                   help="inputs whose majority class per end point defines the end-point "
                        "classifier (default: train, scored on test)")
    p.add_argument("--n-test", type=int, default=None, metavar="N",
                   help="census only the first N test inputs")
    p.add_argument("--n-fit", type=int, default=None, metavar="N",
                   help="fit the end-point classifier on the first N training inputs "
                        "(default: all; with --fit-on train)")
    p.add_argument("--activation", choices=_ACTIVATIONS, default=None,
                   help="the run's activation, checked: RUN carries its own (logistic or "
                        "tanh), and a contradicting value is refused")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also write the census to FILE (.json or .npz)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _check_out(out) -> Path | None:
    """Refuse an unusable ``--out`` before any work is done (a probe file proves the folder
    writable; see :func:`analysis._io.check_output_file`)."""
    if out is None:
        return None
    from ._io import check_output_file

    return check_output_file(out, "--out", _SUFFIXES)


def _run_dataset(run: Path, dataset, data_dir):
    """The data set to census: ``--dataset``, else the one the run was trained on."""
    import nets

    seed = 0
    kw = {}
    if dataset is None:
        if not (run.is_dir() and nets.has_checkpoint(run)):
            raise ValueError(
                f"RUN {str(run)!r} is not a training run folder, so it names no data set; "
                "pass --dataset."
            )
        cfg = nets.load_checkpoint(run).config
        dataset, seed = cfg["dataset"], int(cfg.get("seed", 0))
        data_dir = data_dir if data_dir is not None else cfg.get("data_root")
        kw = {"n_train": cfg.get("n_train"), "n_test": cfg.get("n_test")}
        if dataset == "blobs":
            kw.update(blobs_features=cfg["blobs_features"], blobs_classes=cfg["blobs_classes"],
                      blobs_samples=cfg["blobs_samples"])
    return nets.load_dataset(dataset, root=data_dir, seed=seed, **kw)


def census_tables(census, n_classes: int | None = None) -> str:
    """The census's own tables, :meth:`dynsys.AttractorCensus.table`: the end states with
    their classes, and the inputs by status and class (at least `n_classes` columns)."""
    return census.table(n_classes=n_classes)


def _arrays(census, *, for_npz: bool = False) -> dict:
    """The fields of a result dataclass (a census, a landscape) as JSON- or npz-ready values:
    None left out, complex arrays split into ``_real`` / ``_imag``, string arrays as str."""
    import json

    out = {}
    for name in census.__dataclass_fields__:
        v = getattr(census, name)
        if v is None:
            continue
        if isinstance(v, dict):
            # npz holds arrays only: a dict is stored as its JSON text, never pickled
            out[name] = json.dumps(v, default=float) if for_npz else v
            continue
        if isinstance(v, np.ndarray) and v.dtype.kind == "c":
            out[name + "_real"], out[name + "_imag"] = v.real, v.imag
        elif isinstance(v, np.ndarray) and v.dtype.kind in "UO":
            out[name] = v.astype(str)
        else:
            out[name] = v
    return out


def _write(path: Path, census, meta: dict) -> None:
    import io

    from nets.atomic import atomic_write_bytes, atomic_write_json

    if path.suffix.lower() == ".json":
        # one line: the indented form goes through json's pure-Python encoder, minutes for
        # the millions of numbers of a full-width census
        atomic_write_json(path, {"meta": meta, **_arrays(census)}, indent=None)
    else:
        data = _arrays(census, for_npz=True)
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v) for k, v in data.items()},
                            meta=np.asarray(str(meta)))
        atomic_write_bytes(path, buf.getvalue())


def run(args) -> int:
    """Run ``resdyn census`` with parsed `args`."""
    import dynsys
    import nets

    out = _check_out(args.out)
    if args.depth < 1:
        raise ValueError(f"--depth must be >= 1; got {args.depth}.")
    if args.max_depth is not None and args.max_depth < args.depth:
        raise ValueError(f"--max-depth must be >= --depth ({args.depth}); got {args.max_depth}.")
    if args.n_test is not None and args.n_test < 1:
        raise ValueError(f"--n-test must be >= 1; got {args.n_test}.")
    if args.n_fit is not None:
        if args.n_fit < 1:
            raise ValueError(f"--n-fit must be >= 1; got {args.n_fit}.")
        if args.fit_on != "train":
            raise ValueError("--n-fit applies to --fit-on train; got --fit-on test.")
    path = Path(args.run)
    if not path.exists():
        raise ValueError(f"RUN {str(path)!r} does not exist.")
    nets.check_run(path, "RUN")  # a finished run, one run's files, not a .npy
    net = nets.to_network(path)
    if args.activation is not None and args.activation != net.activation:
        raise ValueError(
            f"--activation {args.activation} contradicts the activation of RUN "
            f"{str(path)!r}, {net.activation!r}: a network's activation is the one it was "
            f"trained with; leave --activation out, or give --activation {net.activation}."
        )
    ds = _run_dataset(path, args.dataset, args.data_dir)
    if ds.n_features != net.n_features:
        raise ValueError(
            f"--dataset {ds.name!r} has {ds.n_features} features, but the network in RUN takes "
            f"{net.n_features}."
        )
    x, y = ds.x_test, ds.y_test
    if args.n_test is not None:
        x, y = x[:args.n_test], y[:args.n_test]
    fit = {}
    if args.fit_on == "train":
        nf = ds.n_train if args.n_fit is None else min(args.n_fit, ds.n_train)
        fit = {"train_x0": ds.x_train[:nf], "train_labels": ds.y_train[:nf]}
    if not net.shared:
        print(f"per-layer network of depth {net.depth}: its trained layers, then its last layer "
              "repeated")
    with ProgressBar("census", unit="input") if not args.no_progress else nullcontext() as bar:
        census = dynsys.attractor_census(net, x, args.depth, labels=y,
                                         max_depth=args.max_depth, progress=bar, **fit)
    print(f"{net!r}: {x.shape[0]} test inputs of {ds.name}, depth {args.depth}"
          + (f", followed to at most {args.max_depth}" if args.max_depth else ""))
    print(census_tables(census, ds.n_classes))
    if out is not None:
        meta = {"run": str(path), "activation": net.activation, "dataset": ds.name,
                "depth": args.depth,
                "max_depth": args.max_depth, "fit_on": args.fit_on, "n_inputs": int(x.shape[0]),
                "n_fit": int(fit["train_x0"].shape[0]) if fit else None}
        _write(out, census, meta)
        print(f"census: {out}")
    return 0
