"""From ``close()`` on the client to the server's generator closed, over many cancels.

``python -m bench.cancel_latency [--cancels 200] [--client sync,async] [--items 3]``

Starts srpc's stream bench server in its own process. Each round opens
``forever(tag, size)`` (a generator that never ends; its ``finally`` notes
``time.monotonic()``), takes ``--items`` items, waits ``--pause`` seconds (by
then the server has filled the credit window and its generator is parked
at a ``yield``), notes ``time.monotonic()`` and calls ``close()`` (async:
``aclose()``), then asks the server (``closed_at(tag)``, a unary call that
waits for it) when the ``finally`` ran. CLOCK_MONOTONIC is one clock for every
process on Linux, so the difference is the cancel latency across the two
processes. Prints p50, p99 and max per client kind; the target (issue 12)
is p99 under 10 ms on loopback. Exit status 1 only if a generator was never closed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from bench.streams import ServerProcess

TARGET_MS = 10.0
_WAIT = 5.0  # seconds closed_at waits for a generator's finally


def run_sync(args: argparse.Namespace, port: int) -> list[float]:
    from bench.streams_stub import SrpcStreambenchClientStub

    out = []
    client = SrpcStreambenchClientStub("127.0.0.1", port)
    try:
        for i in range(args.cancels):
            tag = f"sync-{i}"
            stream = client.forever(tag, args.size)
            for _ in range(args.items):
                next(stream)
            if args.pause:
                time.sleep(args.pause)
            t0 = time.monotonic()
            stream.close()
            closed = client.closed_at(tag, _WAIT)
            if closed < 0:
                raise RuntimeError(f"{tag}: the generator was not closed within {_WAIT} s")
            out.append((closed - t0) * 1000)
    finally:
        client.close()
    return out


async def run_async(args: argparse.Namespace, port: int) -> list[float]:
    from bench.streams_stub import SrpcStreambenchAsyncClientStub

    out = []
    client = SrpcStreambenchAsyncClientStub("127.0.0.1", port)
    try:
        for i in range(args.cancels):
            tag = f"async-{i}"
            stream = client.forever(tag, args.size)
            for _ in range(args.items):
                await anext(stream)
            if args.pause:
                await asyncio.sleep(args.pause)
            t0 = time.monotonic()
            await stream.aclose()
            closed = await client.closed_at(tag, _WAIT)
            if closed < 0:
                raise RuntimeError(f"{tag}: the generator was not closed within {_WAIT} s")
            out.append((closed - t0) * 1000)
    finally:
        await client.close()
    return out


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cancel_latency", description=__doc__)
    parser.add_argument("--cancels", type=int, default=200, help="streams cancelled per client")
    parser.add_argument("--client", default="sync,async", help="sync, async or both (a,b)")
    parser.add_argument("--items", type=int, default=3, help="items taken before close()")
    parser.add_argument("--size", type=int, default=16, help="bytes per item")
    parser.add_argument(
        "--pause", type=float, default=0.002, help="seconds between the last item and close()"
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin both processes to this CPU")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.client.split(",") if k.strip()]
    if not kinds or any(k not in ("sync", "async") for k in kinds):
        parser.error("--client takes sync, async or sync,async")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    print(
        f"cancel_latency: {args.cancels} cancels per client of an endless stream "
        f"({args.items} items of {args.size} bytes taken, {args.pause * 1000:g} ms pause); "
        f"server in its own process",
        flush=True,
    )
    server = ServerProcess(args.cpu)
    failed = False
    rows = []
    try:
        for kind in kinds:
            try:
                if kind == "sync":
                    lat = run_sync(args, server.port)
                else:
                    lat = asyncio.run(run_async(args, server.port))
            except RuntimeError as exc:
                print(f"{kind}: FAILED: {exc}")
                failed = True
                continue
            p99 = _pct(lat, 0.99)
            rows.append(
                f"{kind:<6} {len(lat):>7} {_pct(lat, 0.5):>8.2f} {p99:>8.2f} {max(lat):>8.2f}  "
                f"{'met' if p99 < TARGET_MS else 'MISSED'}"
            )
    finally:
        server.stop()
    print(f"{'client':<6} {'cancels':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  p99 < 10 ms")
    for row in rows:
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
