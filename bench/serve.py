"""One contestant's server as its own process: ``python -m bench.serve CONTESTANT``.

Prints ``BENCH_PORT <port>`` once it listens on 127.0.0.1, then serves until
its stdin closes or it gets SIGTERM/SIGINT, stops the server and exits. A
``CPU`` line on stdin prints ``BENCH_CPU <seconds>``, the process's CPU time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import time
from types import FrameType

from bench.contestants import CONTESTANTS
from bench.profiling import ThreadProfiler


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("contestant", choices=sorted(CONTESTANTS))
    parser.add_argument("--metrics-log", default=None, help="srpc: metrics log path (default off)")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--profile", metavar="OUT", help="write cProfile stats of all threads")
    parser.add_argument(
        "--streams", action="store_true", help="serve the stream service (S1-S3) instead"
    )
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    profiler = ThreadProfiler(args.profile) if args.profile else None
    if profiler is not None:
        profiler.start()

    module = importlib.import_module(CONTESTANTS[args.contestant].module)
    server = module.start_stream_server() if args.streams else module.start_server(args.metrics_log)
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGINT, _raise_exit)
    print(f"BENCH_PORT {server.port}", flush=True)
    try:
        while line := sys.stdin.readline():
            if line.strip() == "CPU":  # the driver samples this process's CPU time
                print(f"BENCH_CPU {time.process_time():.6f}", flush=True)
    except SystemExit:
        pass
    finally:
        cpu = -1.0
        try:
            server.stop()
            cpu = time.process_time()
            if profiler is not None:
                profiler.dump()
        finally:
            with contextlib.suppress(OSError):  # the driver may be gone already
                print(f"BENCH_STOPPED cpu_s={cpu:.3f}", flush=True)
            os._exit(0)  # peers leave non-daemon threads behind


if __name__ == "__main__":
    main()
