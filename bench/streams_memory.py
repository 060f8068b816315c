"""A slow consumer of an endless stream keeps both processes' memory flat.

``python -m bench.streams_memory [--seconds 60] [--rate 1] [--size 65536] [--client sync]``

Starts srpc's stream bench server in its own process, opens
``forever(tag, size)`` (a generator that never ends) and takes ``--rate``
items a second for ``--seconds`` seconds. The server's generator makes
items as fast as it can, but only within the credit the consumer grants (a
window of 256 items or 4 MiB), so neither side should hold more than a window.
Prints both processes' RSS before the stream, once the window is full (the
start), every ``--every`` seconds, and at the end; the target (issue 12) is
growth from start to end under +10 MiB on both sides. Exit status 1 only if
the measurement itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

from bench.streams import ServerProcess, rss_mib

LIMIT_MIB = 10.0


def _row(label: str, t: float, items: int, server: ServerProcess) -> dict[str, Any]:
    row = {"at": label, "t_s": t, "items": items, "client": rss_mib(), "server": server.rss_mib()}
    print(
        f"{label:<10} {t:7.1f} {items:7d} {row['client']:11.1f} {row['server']:11.1f}", flush=True
    )
    return row


def _header() -> None:
    print(f"{'at':<10} {'t s':>7} {'items':>7} {'client MiB':>11} {'server MiB':>11}", flush=True)


def run_sync(args: argparse.Namespace, server: ServerProcess) -> list[dict[str, Any]]:
    from bench.streams_stub import SrpcStreambenchClientStub

    rows = []
    client = SrpcStreambenchClientStub("127.0.0.1", server.port)
    try:
        assert client.closed_at("warm-up", 0.0) == -1.0  # connected, the codecs built
        _header()
        rows.append(_row("connected", 0.0, 0, server))
        stream = client.forever("memory", args.size)
        with stream:
            next(stream)
            time.sleep(args.settle)  # the server fills the window and parks
            t0 = time.monotonic()
            items = 1
            rows.append(_row("start", 0.0, items, server))
            next_report = args.every
            while (elapsed := time.monotonic() - t0) < args.seconds:
                time.sleep(max(0.0, items / args.rate - elapsed))
                if len(next(stream)) != args.size:
                    raise AssertionError("an item of the wrong size")
                items += 1
                if time.monotonic() - t0 >= next_report:
                    rows.append(_row(f"{next_report:g} s", time.monotonic() - t0, items, server))
                    next_report += args.every
            rows.append(_row("end", time.monotonic() - t0, items, server))
        if client.closed_at("memory", 5.0) < 0:
            raise AssertionError("the server's generator was not closed after the stream")
    finally:
        client.close()
    return rows


async def run_async(args: argparse.Namespace, server: ServerProcess) -> list[dict[str, Any]]:
    from bench.streams_stub import SrpcStreambenchAsyncClientStub

    rows = []
    client = SrpcStreambenchAsyncClientStub("127.0.0.1", server.port)
    try:
        assert await client.closed_at("warm-up", 0.0) == -1.0
        _header()
        rows.append(_row("connected", 0.0, 0, server))
        async with client.forever("memory", args.size) as stream:
            await anext(stream)
            await asyncio.sleep(args.settle)
            t0 = time.monotonic()
            items = 1
            rows.append(_row("start", 0.0, items, server))
            next_report = args.every
            while (elapsed := time.monotonic() - t0) < args.seconds:
                await asyncio.sleep(max(0.0, items / args.rate - elapsed))
                if len(await anext(stream)) != args.size:
                    raise AssertionError("an item of the wrong size")
                items += 1
                if time.monotonic() - t0 >= next_report:
                    rows.append(_row(f"{next_report:g} s", time.monotonic() - t0, items, server))
                    next_report += args.every
            rows.append(_row("end", time.monotonic() - t0, items, server))
        if await client.closed_at("memory", 5.0) < 0:
            raise AssertionError("the server's generator was not closed after the stream")
    finally:
        await client.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams_memory", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to consume")
    parser.add_argument("--rate", type=float, default=1.0, help="items taken per second")
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per item")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between RSS rows")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before the start row")
    parser.add_argument("--client", choices=["sync", "async"], default="sync")
    parser.add_argument("--cpu", type=int, default=None, help="pin both processes to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    print(
        f"streams_memory: {args.client} client takes {args.rate:g} item/s of {args.size} bytes "
        f"from an endless stream for {args.seconds:g} s; server in its own process",
        flush=True,
    )
    server = ServerProcess(args.cpu)
    try:
        if args.client == "sync":
            rows = run_sync(args, server)
        else:
            rows = asyncio.run(run_async(args, server))
    finally:
        server.stop()
    start = next(r for r in rows if r["at"] == "start")
    end = rows[-1]
    verdicts = []
    for side in ("client", "server"):
        growth = end[side] - start[side]
        ok = growth < LIMIT_MIB
        verdicts.append(ok)
        print(
            f"{side}: RSS {start[side]:.1f} MiB at start, {end[side]:.1f} MiB at end "
            f"({growth:+.1f} MiB; target under +{LIMIT_MIB:g} MiB: {'met' if ok else 'MISSED'})"
        )
    print(f"items taken: {end['items']}; RESULT {'flat' if all(verdicts) else 'GREW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
