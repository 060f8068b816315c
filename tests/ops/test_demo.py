"""`make demo`'s script, run as a real process on a copy of the example: labelled, plain text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "calc"


def test_demo_labels_each_value_and_prints_no_ansi_codes_off_a_terminal(tmp_path: Path) -> None:
    copy = tmp_path / "calc"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("*.log*", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("SRPC_HOST", "SRPC_PORT", "NO_COLOR")}
    result = subprocess.run(
        [sys.executable, "demo.py"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    lines = out.splitlines()
    for labelled in (
        "calc.add(4, 2) = 6",
        "calc.mult(4, 2) = 8",
        "calc.sub(4, 2) = 2",
        "calc.div(4, 2) = 2.0",
    ):
        assert labelled in lines
    assert "calc.div(1, 0) raised ZeroDivisionError('division by zero')" in lines
    assert "\x1b[" not in out and "\x1b[" not in result.stderr
    assert any(line.startswith("uptime") and "calls 5" in line for line in lines), out
