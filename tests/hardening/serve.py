"""Serve the hardening test service in its own process (for kill and restart tests).

    python -m tests.hardening.serve [--port N] [--token T] [--max-connections N] ...

Prints ``PORT <n>`` once listening, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .stubs import SrpcGuardServerStub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None)
    parser.add_argument("--max-connections", type=int, default=1024)
    parser.add_argument("--max-in-flight", type=int, default=128)
    parser.add_argument("--metrics-log", default=None)
    options = parser.parse_args(argv)
    server = SrpcGuardServerStub(
        "127.0.0.1",
        options.port,
        metrics_log=options.metrics_log,
        token=options.token,
        max_connections=options.max_connections,
        max_in_flight=options.max_in_flight,
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
