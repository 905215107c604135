"""The ``resdyn`` command.

Subcommands live in their own modules, each with ``add_parser(subparsers)`` (which sets
``func=run`` on its parser) and ``run(args) -> int``:

* ``resdyn fixed-points`` (:mod:`analysis.cli_fixed_points`): every fixed point of eq. 3;
* ``resdyn train`` (:mod:`analysis.cli_train`): train a network, resumable;
* ``resdyn census`` (:mod:`analysis.cli_census`): the end state of every test input of a run;
* ``resdyn landscape`` (:mod:`analysis.cli_landscape`): the census tracked over a run's epochs;
* ``resdyn reproduce`` (:mod:`analysis.cli_reproduce`): the papers' figures and claims.

Errors end the command with a one-line message on stderr and a non-zero exit status, never
a traceback (set ``RESDYN_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["build_parser", "main"]

_SUBCOMMAND_MODULES = ("cli_fixed_points", "cli_train", "cli_census", "cli_landscape",
                       "cli_reproduce")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("resdyn")
    except Exception:  # not installed (e.g. running from a source tree)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="resdyn",
        description=(
            "Residual networks as dynamical systems: exact fixed points of "
            "dy/dt = y(1-y)(Wy), trained networks and the papers' figures."
        ),
    )
    parser.add_argument("--version", action="version", version=f"resdyn {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        module = importlib.import_module(f"analysis.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``resdyn`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("resdyn: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        if os.environ.get("RESDYN_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"resdyn {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
