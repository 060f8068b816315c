"""`make demo-nats`'s script end to end: nats-server, three calc servers, a client, the spread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CALC = Path(__file__).resolve().parents[2] / "examples" / "calc"


@pytest.mark.slow
def test_demo_nats_spreads_the_calls_over_three_instances() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRPC_")}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "demo_nats.py"],
        cwd=CALC,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "calc.add(4, 2) = 6" in out and "calc.div(1, 0) raised ZeroDivisionError" in out
    assert "how NATS spread the calls over the three instances:" in out
    assert "3 of 3 instances served calls" in out  # 300+ calls: each gets some
    assert "calc: 3 instances, 1 fingerprint" in out  # srpc services
    assert "servers 3 running" in out  # srpc-metrics nats://.../calc --once
    assert "servers 0 running, 3 stopped" in out  # the shared log, after the stop
    assert "stopped: the three servers and nats-server" in out
