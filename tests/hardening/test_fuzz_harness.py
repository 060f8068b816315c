"""The `make fuzz` harness runs: inputs through the server's receive path, both modes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .helpers import REPO


@pytest.mark.parametrize("mode", ["default", "fallback"])
def test_fuzz_harness_runs_without_a_crash(mode: str) -> None:
    env = dict(os.environ)
    if mode == "fallback":
        env["SRPC_FUZZ_FALLBACK"] = "1"
    result = subprocess.run(
        [sys.executable, str(REPO / "fuzz" / "fuzz_receive.py"), "-runs=2000",
         "-max_total_time=20", f"-artifact_prefix={REPO / 'fuzz'}/"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
