"""Shared by the compiler tests: writing an interface package into a temporary folder."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"
CALC = REPO / "examples" / "calc" / "server" / "calc" / "calc_interface.py"
BIN = Path(sys.executable).parent


def write_interface(root: Path, source: str, service: str = "calc") -> Path:
    """Write ``source`` as ``root/service/service_interface.py`` (a package) and return its path."""
    package = root / service
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    path = package / f"{service}_interface.py"
    path.write_text(textwrap.dedent(source).lstrip())
    return path
