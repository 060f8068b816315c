"""The command line's shared behaviour: one program, three names, --version and --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from srpc import __version__
from srpc.cli import app

BIN = Path(sys.executable).parent
runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"srpc {__version__}"


def test_help_lists_the_subcommands_with_an_example() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "stubgen" in result.output and "metrics" in result.output
    assert "srpc stubgen calc/calc_interface.py" in result.output


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2


def test_every_entry_point_answers_version() -> None:
    for argv in (
        [str(BIN / "srpc"), "--version"],
        [str(BIN / "srpc-stubgen"), "--version"],
        [str(BIN / "srpc-metrics"), "--version"],
        [sys.executable, "-m", "srpc", "--version"],
    ):
        result = subprocess.run(argv, capture_output=True, text=True)
        assert result.returncode == 0, (argv, result.stderr)
        assert result.stdout.strip() == f"srpc {__version__}"
