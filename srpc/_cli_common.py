"""What every srpc command shares: the --version option and how errors are reported."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

from srpc._version import __version__

__all__ = ["CONTEXT_SETTINGS", "VersionOption", "fail", "stderr"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"srpc {__version__}")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option(
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the srpc version and exit.",
    ),
]


def fail(message: str) -> NoReturn:
    """Print a domain error on stderr and exit with status 1 (usage errors are typer's, 2)."""
    stderr.print(message, markup=False)
    raise typer.Exit(1)
