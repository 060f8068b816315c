"""What the sync stub's hand-over to its background event loop costs over NATS.

The sync client stub over NATS runs its NATS connection on an event loop in
a daemon thread; each call hands its request to that loop
(``call_soon_threadsafe``) and waits on a condition for the answer. This
measures sequential ``add`` calls through the sync stub and through the
async stub, both on uvloop, against one calc instance (its own process)
and one nats-server, in interleaved rounds; the difference of the medians
is the hand-over's cost per call.

    .venv/bin/python -m bench.nats_sync_handoff [--calls 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_SERVER = """
import sys
sys.path.insert(0, {repo!r})
from tests.runtime.stubs import SrpcCalcServerStub
SrpcCalcServerStub(sys.argv[1], metrics_log=None, sync_mode="inline").start()
"""


def main() -> None:
    import uvloop

    from tests.over_nats.natsd import nats_server
    from tests.runtime.stubs import SrpcCalcAsyncClientStub, SrpcCalcClientStub

    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    calls = options.calls

    def sync_round(stub: SrpcCalcClientStub) -> list[float]:
        times = []
        for i in range(calls):
            start = time.perf_counter()
            stub.add(i, 1)
            times.append(time.perf_counter() - start)
        return times

    async def async_round(stub: SrpcCalcAsyncClientStub) -> list[float]:
        times = []
        for i in range(calls):
            start = time.perf_counter()
            await stub.add(i, 1)
            times.append(time.perf_counter() - start)
        return times

    with nats_server() as natsd:
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER.format(repo=str(REPO)), natsd.url],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            sync_stub = SrpcCalcClientStub(natsd.url)
            loop = uvloop.new_event_loop()
            async_stub = SrpcCalcAsyncClientStub(natsd.url)
            sync_round(sync_stub)
            loop.run_until_complete(async_round(async_stub))  # warm up both
            sync_p50, async_p50 = [], []
            for _ in range(options.rounds):
                sync_p50.append(statistics.median(sync_round(sync_stub)))
                async_p50.append(statistics.median(loop.run_until_complete(async_round(async_stub))))
            sync_us = statistics.median(sync_p50) * 1e6
            async_us = statistics.median(async_p50) * 1e6
            print(f"sync stub  p50 {sync_us:6.0f} us/call")
            print(f"async stub p50 {async_us:6.0f} us/call")
            print(f"hand-over  {sync_us - async_us:+6.0f} us/call (median of {options.rounds} "
                  f"interleaved rounds of {calls} calls)")
            sync_stub.close()
            loop.run_until_complete(async_stub.close())
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
