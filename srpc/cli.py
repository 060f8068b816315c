"""The ``srpc`` command line: wires the subcommands; each lives beside the code it drives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from srpc._cli_common import CONTEXT_SETTINGS, VersionOption
from srpc.compiler.command import stubgen
from srpc.dashboard.command import metrics

__all__ = ["SHORT_HELP", "app", "main", "metrics_main", "stubgen_main"]

app = typer.Typer(
    name="srpc",
    help=(
        "srpc: Python RPC whose interface language is Python.\n\n"
        "Example:\n\n"
        "  srpc stubgen calc/calc_interface.py\n\n"
        "  srpc metrics srpc_server_metrics.log"
    ),
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(version: VersionOption = False) -> None:
    """srpc: Python RPC whose interface language is Python."""


# explicit one-line summaries: the listing would otherwise cut the docstrings' first lines short
SHORT_HELP = {
    "stubgen": "Generate typed client and server stubs from an interface file.",
    "metrics": "Show a server's metrics log: a live dashboard, or one snapshot.",
}

app.command("stubgen", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["stubgen"])(stubgen)
app.command("metrics", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["metrics"])(metrics)


def _single_command_app(command: Callable[..., Any]) -> typer.Typer:
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command(context_settings=CONTEXT_SETTINGS)(command)
    return single


def main() -> None:
    """Entry point of ``srpc`` and ``python -m srpc``."""
    app()


def stubgen_main() -> None:
    """Entry point of ``srpc-stubgen`` (the same command as ``srpc stubgen``)."""
    _single_command_app(stubgen)(prog_name="srpc-stubgen")


def metrics_main() -> None:
    """Entry point of ``srpc-metrics`` (the same command as ``srpc metrics``)."""
    _single_command_app(metrics)(prog_name="srpc-metrics")
