"""Serve a test service in its own process, for the command-line tests.

    python -m tests.tools.serve calc|kitchen|streamsvc [--token T] [--no-reflection]

Prints ``PORT <n>`` once listening on 127.0.0.1 (port 0: any free port), then
serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

RUNTIME = Path(__file__).resolve().parents[1] / "runtime"


def server_class(name: str) -> Any:
    if str(RUNTIME) not in sys.path:
        sys.path.insert(0, str(RUNTIME))
    if name == "streamsvc":
        from tests.runtime.streams_stubs import SrpcStreamsvcServerStub

        return SrpcStreamsvcServerStub
    from tests.runtime import stubs

    return stubs.SrpcCalcServerStub if name == "calc" else stubs.SrpcKitchenServerStub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("service", choices=["calc", "kitchen", "streamsvc"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None)
    parser.add_argument("--no-reflection", action="store_true")
    options = parser.parse_args(argv)
    server = server_class(options.service)(
        "127.0.0.1",
        options.port,
        metrics_log=None,
        token=options.token,
        reflection=not options.no_reflection,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with server:
        print(f"PORT {server.address[1]}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
