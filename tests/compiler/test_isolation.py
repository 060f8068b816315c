"""The runtime never imports the compiler's dependencies."""

from __future__ import annotations

import subprocess
import sys


def test_import_srpc_does_not_import_the_compiler_numpy_pydantic_or_nats() -> None:
    code = (
        "import sys, srpc, srpc.client, srpc.server\n"
        "leaked = sorted(m for m in ('libcst', 'jinja2', 'typer', 'rich', 'numpy', 'pydantic', "
        "'nats', 'srpc.compiler') "
        "if m in sys.modules)\n"
        "assert not leaked, leaked\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
