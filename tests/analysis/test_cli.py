"""The `resdyn` command: help, version, dispatch and one-line errors."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli

RESDYN = [str(Path(sys.executable).with_name("resdyn"))]


def test_help_lists_every_subcommand():
    out = subprocess.run(RESDYN + ["--help"], capture_output=True, text=True, check=True).stdout
    for name in ("fixed-points", "train", "reproduce"):
        assert name in out


def test_version():
    out = subprocess.run(RESDYN + ["--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("resdyn ")


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "usage: resdyn" in capsys.readouterr().err


def test_errors_are_one_line_without_traceback(monkeypatch, capsys):
    def add_parser(subparsers):
        p = subparsers.add_parser("boom")
        p.set_defaults(func=lambda args: (_ for _ in ()).throw(ValueError("`W` must be square\nmore")))

    real = cli.build_parser

    def build():
        parser = real()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        add_parser(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "resdyn boom: error: `W` must be square"
    monkeypatch.setenv("RESDYN_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["boom"])
