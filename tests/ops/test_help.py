"""Every command's --help, narrow and wide: whole descriptions, one metavar style, an example."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from srpc.cli import SHORT_HELP, _single_command_app, app
from srpc.compiler.command import stubgen
from srpc.dashboard.command import metrics

runner = CliRunner()
WIDTHS = [40, 200]
COMMANDS = [
    (app, ["stubgen"], "srpc"),
    (app, ["metrics"], "srpc"),
    (_single_command_app(stubgen), [], "srpc-stubgen"),
    (_single_command_app(metrics), [], "srpc-metrics"),
]


def help_text(typer_app: typer.Typer, args: list[str], prog: str, width: int) -> str:
    result = runner.invoke(
        typer_app, [*args, "--help"], prog_name=prog, env={"COLUMNS": str(width)}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(text: str) -> str:
    return " ".join(text.split())


def param_helps(typer_app: typer.Typer, args: list[str]) -> list[tuple[str, str]]:
    command: Any = get_command(typer_app)
    if args:
        command = command.commands[args[0]]
    return [(p.name, p.help) for p in command.params if getattr(p, "help", None)]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_command_list_shows_whole_summaries(width: int) -> None:
    text = help_text(app, [], "srpc", width)
    assert "..." not in text.split("Commands:")[1]
    for name, summary in SHORT_HELP.items():
        assert re.search(rf"^  {name}\b", text, re.MULTILINE)
        assert summary in flat(text), (name, text)
    assert "Example" in text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("typer_app", "args", "prog"), COMMANDS, ids=lambda x: str(x))
def test_command_help_is_whole_and_consistent(
    typer_app: typer.Typer, args: list[str], prog: str, width: int
) -> None:
    text = help_text(typer_app, args, prog, width)
    body = flat(text)
    assert "Example" in text
    helps = param_helps(typer_app, args)
    assert len(helps) >= 3
    for name, description in helps:
        assert flat(description) in body, (name, text)
    usage = flat(text.split("\n\n")[0])
    assert usage.startswith(f"Usage: {prog} ")
    # positional arguments: upper case, {REQUIRED} or [OPTIONAL], in the usage line
    for metavar in re.findall(r"[{\[]([^\]}]+)[}\]]", usage):
        assert metavar == "OPTIONS" or re.fullmatch(r"[A-Z][A-Z_]*", metavar), usage
    # value types and option values: <lower case>, the same style everywhere
    for shown in re.findall(r"(?:^|\s)(--[a-z-]+|[A-Z][A-Z_]+) (\S+)", text, re.MULTILINE):
        flag, value = shown
        if value.startswith("<") or value.isupper():
            assert re.fullmatch(r"<[a-z]+>", value), (flag, value)
