"""The ``stubgen`` command: a thin shell over :func:`srpc.compiler.generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srpc._cli_common import VersionOption, fail, stderr
from srpc.compiler.errors import StubgenError
from srpc.compiler.pipeline import generate

__all__ = ["stubgen"]


def stubgen(
    path: Annotated[
        Path,
        typer.Argument(
            help="The interface file, N/N_interface.py (e.g. calc/calc_interface.py).",
            metavar="INTERFACE",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Write the stubs here instead of the current directory."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if the stubs on disk differ."),
    ] = False,
    version: VersionOption = False,
) -> None:
    """Generate the client and server stubs of a service from its interface file.

    Reads N/N_interface.py without importing it and writes srpc_N_client_stub.py
    and srpc_N_server_stub.py into the current directory (or --out-dir).

    Example, in the server folder:

        srpc-stubgen calc/calc_interface.py
    """
    try:
        generated = generate(path)
    except StubgenError as exc:
        fail(str(exc))
    for warning in generated.warnings:
        stderr.print(warning.format("warning"), markup=False)
    directory = out_dir if out_dir is not None else Path.cwd()
    if check:
        stale = generated.stale(directory)
        if stale:
            fail(
                "\n".join(
                    f"{target}: out of date with {path}; regenerate with `srpc-stubgen {path}`"
                    for target in stale
                )
            )
        typer.echo(f"stubs up to date: {', '.join(name for name, _ in generated.files)}")
        return
    for written in generated.write(directory):
        shown = written if out_dir is not None else Path(written.name)
        typer.echo(f"wrote {shown}")
