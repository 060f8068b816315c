"""Soak with streams: many threads and tasks streaming both ways against one server process.

    python -m tests.hardening.soak_streams --seconds 60     # part of make soak

Each stream carries values unique to it, so every item is checked against
its own stream, in order: an item missing or out of order is *lost*, an item
of another stream is *crossed*. The mix: server streams read whole, read
part way and cancelled (close, leaving ``with``, a timeout), client streams,
bidirectional streams, and stream calls interleaved with unary calls on the
same connections; one asyncio thread runs many streams at once on one async
stub. It exits non-zero if anything was lost or crossed, or the server's
file descriptors did not settle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import srpc

from .helpers import open_fds, script_server, wait_until

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "tests" / "runtime"

_SERVE = """
import sys
sys.path[:0] = [{runtime!r}, {repo!r}]
from tests.runtime.streams_stubs import SrpcStreamsvcServerStub
server = SrpcStreamsvcServerStub("127.0.0.1", 0, metrics_log=None).start_in_background()
print("PORT", server.address[1], flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass
class StreamStats:
    streams: int = 0
    items: int = 0
    cancelled: int = 0
    unary: int = 0
    lost: int = 0
    crossed: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: StreamStats) -> None:
        for name in ("streams", "items", "cancelled", "unary", "lost", "crossed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems[: 20 - len(self.problems)]

    def check(self, label: str, expected: list[Any], got: list[Any]) -> None:
        self.streams += 1
        self.items += len(got)
        if got == expected:
            return
        if any(item not in expected for item in got):
            self.crossed += 1
        else:
            self.lost += 1
        if len(self.problems) < 20:
            self.problems.append(f"{label}: expected {expected[:5]}..., got {got[:5]}...")


def _stubs() -> Any:
    sys.path[:0] = [str(RUNTIME), str(REPO)]
    from tests.runtime import streams_stubs

    return streams_stubs


def _sync_worker(port: int, seed: int, until: float, stats: StreamStats) -> None:
    stubs = _stubs()
    rng = random.Random(seed)
    client = stubs.SrpcStreamsvcClientStub("127.0.0.1", port, timeout=30)
    n = 0
    try:
        while time.monotonic() < until:
            n += 1
            tag = f"{seed}-{n}"
            roll = rng.random()
            try:
                if roll < 0.3:  # a bidirectional stream of values unique to this stream
                    values = [f"{tag}-{i}" for i in range(rng.randrange(1, 400))]
                    stats.check(tag, [v.upper() for v in values], list(client.echo(values)))
                elif roll < 0.5:  # read part way, then cancel
                    want = rng.randrange(1, 300)
                    with client.forever(tag) as stream:
                        got = [next(stream) for _ in range(want)]
                    stats.check(tag, list(range(want)), got)
                    stats.cancelled += 1
                elif roll < 0.65:  # a client stream
                    count = rng.randrange(0, 2000)
                    total = client.total(range(count))
                    stats.check(tag, [sum(range(count))], [total])
                elif roll < 0.75:  # the whole call's deadline passes mid-stream
                    got: list[int] = []
                    try:
                        for item in srpc.with_timeout(client, 0.05).count(10_000, 0.001):
                            got.append(item)
                    except srpc.CallTimeout:
                        stats.cancelled += 1
                    stats.check(tag, list(range(len(got))), got)
                elif roll < 0.9:
                    count = rng.randrange(0, 3000)
                    stats.check(tag, list(range(count)), list(client.count(count)))
                else:
                    client.deadline()
                    stats.unary += 1
            except srpc.SrpcError as exc:
                stats.lost += 1
                if len(stats.problems) < 20:
                    stats.problems.append(f"{tag}: {exc!r}")
    finally:
        client.close()


def _async_worker(port: int, until: float, stats: StreamStats) -> None:
    stubs = _stubs()

    async def one(stub: Any, tag: str, rng: random.Random) -> None:
        if rng.random() < 0.5:
            count = rng.randrange(0, 500)
            stats.check(tag, list(range(count)), [x async for x in stub.count(count)])
        else:
            values = [f"{tag}-{i}" for i in range(rng.randrange(1, 200))]
            stats.check(tag, [v.upper() for v in values], [x async for x in stub.echo(values)])

    async def main() -> None:
        rng = random.Random(7)
        async with stubs.SrpcStreamsvcAsyncClientStub("127.0.0.1", port, timeout=30) as stub:
            n = 0
            while time.monotonic() < until:
                batch = [one(stub, f"a{n}-{i}", rng) for i in range(50)]
                n += 1
                await asyncio.gather(*batch)

    try:
        asyncio.run(main())
    except srpc.SrpcError as exc:
        stats.lost += 1
        stats.problems.append(f"async: {exc!r}")


@dataclass
class StreamSoakReport:
    seconds: float
    stats: StreamStats
    fds_before: int
    fds_after: int

    def text(self) -> str:
        s = self.stats
        return (
            f"stream soak {self.seconds:.0f} s: {s.streams:,} streams, {s.items:,} items, "
            f"{s.cancelled:,} cancelled, {s.unary:,} unary calls; lost {s.lost}, crossed "
            f"{s.crossed}; server fds {self.fds_before} -> {self.fds_after}"
        )


def soak_streams(seconds: float, threads: int = 6) -> StreamSoakReport:
    with script_server(_SERVE.format(runtime=str(RUNTIME), repo=str(REPO))) as (proc, port):
        fds_before = open_fds(proc.pid)
        until = time.monotonic() + seconds
        results = [StreamStats() for _ in range(threads + 1)]
        workers = [
            threading.Thread(target=_sync_worker, args=(port, i, until, results[i]))
            for i in range(threads)
        ]
        workers.append(threading.Thread(target=_async_worker, args=(port, until, results[-1])))
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(seconds + 60)
        stats = StreamStats()
        for result in results:
            stats.add(result)
        wait_until(lambda: open_fds(proc.pid) <= fds_before, timeout=10)
        return StreamSoakReport(seconds, stats, fds_before, open_fds(proc.pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hardening.soak_streams")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    report = soak_streams(options.seconds, options.threads)
    print(json.dumps(asdict(report)) if options.json else report.text())
    for problem in report.stats.problems:
        print("  problem:", problem)
    bad = report.stats.lost or report.stats.crossed or report.fds_after > report.fds_before
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
