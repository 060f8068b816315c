"""Shared by the end-to-end compiler tests: generate many services, then check them in batches.

One mypy run and one ruff run cover every generated file (mypy's start-up dominates), and
one subprocess makes the real round trips (tests/compiler/auto_roundtrip.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from srpc.compiler import StubgenError, generate
from srpc.compiler.model import pascal_case
from tests.compiler.helpers import REPO

AUTO_IMPL = '''"""Served by the test harness with impl=; the name is declared for type checkers."""

from {service}.{service}_interface import {pascal}Interface

{pascal}: type[{pascal}Interface]
'''


def write_packages(root: Path, packages: dict[str, dict[str, str]]) -> None:
    """``{service: {relative path: source}}`` under ``root``; adds ``__init__.py`` and ``N.py``."""
    for service, files in packages.items():
        package = root / service
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        for relative, source in files.items():
            target = root / relative if "/" in relative else package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            head, _, rest = source.partition("\n")
            if head.strip() and not head[0].isspace():  # an unindented header line + a block
                source = head + "\n" + textwrap.dedent(rest)
            target.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        impl = package / f"{service}.py"
        if not impl.exists():
            impl.write_text(AUTO_IMPL.format(service=service, pascal=pascal_case(service)))


def generate_all(root: Path, services: list[str]) -> dict[str, StubgenError | None]:
    """Generate every service's stubs into ``root``; the error of each that failed."""
    out: dict[str, StubgenError | None] = {}
    for service in services:
        try:
            generate(root / service / f"{service}_interface.py").write(root)
        except StubgenError as exc:
            out[service] = exc
        else:
            out[service] = None
    return out


def stub_files(service: str) -> list[str]:
    return [f"srpc_{service}_client_stub.py", f"srpc_{service}_server_stub.py"]


_FINDING = re.compile(r"^(srpc_(\w+?)_(?:client|server)_stub\.py):\d+")


def _by_service(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        match = _FINDING.match(line)
        if match:
            found.setdefault(match.group(2), []).append(line)
    return found


def mypy_findings(root: Path, services: list[str]) -> tuple[dict[str, list[str]], str]:
    """mypy --strict on the stubs of ``services`` (the interfaces are read, not judged)."""
    files = [f for s in services for f in stub_files(s)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-incremental",
            "--cache-dir",
            str(root / ".mypy_cache"),
            "--show-error-codes",
            *files,
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return _with_failure(done, "Success: no issues found"), done.stdout + done.stderr


def _with_failure(done: subprocess.CompletedProcess[str], success: str) -> dict[str, list[str]]:
    """Findings by service; a run that failed without naming a stub counts as a finding too."""
    found = _by_service(done.stdout)
    if not found and (done.returncode != 0 or success not in done.stdout):
        found["<the run itself>"] = [done.stdout + done.stderr]
    return found


def ruff_findings(root: Path, services: list[str]) -> tuple[dict[str, list[str]], str]:
    """ruff check on the stubs of ``services``: with the repo's configuration, and as in a
    user's folder without one (where srpc and the services' packages sort differently)."""
    files = [f for s in services for f in stub_files(s)]
    found: dict[str, list[str]] = {}
    output = ""
    for config in (
        ["--config", str(REPO / "pyproject.toml")],
        ["--isolated", "--extend-select", "I,F,W"],
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "check",
                "--no-cache",
                "--output-format",
                "concise",
                *config,
                *files,
            ],
            cwd=root,
            capture_output=True,
            text=True,
        )
        for service, lines in _with_failure(done, "All checks passed!").items():
            found.setdefault(service, []).extend(lines)
        output += done.stdout + done.stderr
    return found, output


def round_trips(root: Path, services: list[str]) -> tuple[dict[str, str | None], str]:
    """Every procedure of every service called through both client stubs and a real server."""
    script = Path(__file__).with_name("auto_roundtrip.py")
    done = subprocess.run(
        [sys.executable, str(script), *services],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(REPO)])},
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {s: f"harness failed: {done.stderr[-2000:]}" for s in services}, done.stderr
    results: dict[str, str | None] = json.loads(lines[-1])
    return results, done.stderr
