"""`ruff` and `mypy --strict` are clean on the package and on the example's generated stubs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    result = _run(str(BIN / "ruff"), "check", "srpc", "examples", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_package() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "--no-incremental", "srpc")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_example_and_its_generated_stubs() -> None:
    server = REPO / "examples" / "calc" / "server"
    result = _run(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "server.py",
        "srpc_calc_server_stub.py",
        "srpc_calc_client_stub.py",
        "calc",
        cwd=server,
    )
    assert result.returncode == 0, result.stdout + result.stderr
