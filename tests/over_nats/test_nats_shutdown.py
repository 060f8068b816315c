"""SIGTERM over NATS: no new requests, calls in flight finish within the grace period, the
rest end with ConnectionLost; the process exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import srpc
from tests.runtime.stubs import SrpcKitchenAsyncClientStub

from .natsd import NatsServer

REPO = Path(__file__).resolve().parents[2]


def _start(url: str, log: Path, grace: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.over_nats.instance", url, str(log), str(grace)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    assert "srpc: serving kitchen" in process.stdout.readline()
    return process


@pytest.mark.slow
def test_sigterm_lets_calls_finish_within_the_grace_period(
    natsd: NatsServer, tmp_path: Path
) -> None:
    process = _start(natsd.url, tmp_path / "calls.log", grace=1.5)
    try:

        async def main() -> dict[str, Any]:
            async with SrpcKitchenAsyncClientStub(natsd.url, timeout=30) as kitchen:
                await kitchen.echo_str("warm")
                short = asyncio.create_task(kitchen.async_sleep(0.5, "short"))
                long = asyncio.create_task(kitchen.async_sleep(20, "long"))
                await asyncio.sleep(0.2)
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.1)
                # The instance left its queue group: nobody takes new calls.
                with pytest.raises(srpc.ConnectError, match="'kitchen'"):
                    await kitchen.echo_str("after")
                started = time.monotonic()
                short_result = await short
                with pytest.raises(srpc.ConnectionLost):
                    await long
                return {"short": short_result, "long_after": time.monotonic() - started}

        outcome = asyncio.run(main())
        assert outcome["short"] == "short"
        assert outcome["long_after"] < 5.0  # the grace period (1.5 s), not the call's 20 s
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
