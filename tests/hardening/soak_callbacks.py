"""Soak with callbacks: threads and tasks whose calls call back into them, against one server
process, at a steady rate of callbacks per second.

    python -m tests.hardening.soak_callbacks --seconds 60 --rate 1000    # part of make soak

Every call passes callbacks that see values unique to that call: a value a
callback receives that belongs to another call is *crossed*; a callback
missing, out of order, or a call that fails without being cancelled on
purpose is *lost*. The mix: progress objects (``run``), functions
(``each``), callbacks that call the server again, callbacks that raise,
calls whose deadline passes while a callback sleeps, and async callbacks on
an async stub. It exits non-zero if anything was lost or crossed, or the
server's file descriptors did not settle.
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
from tests.runtime.callbacks_stubs import SrpcCbsvcServerStub
server = SrpcCbsvcServerStub("127.0.0.1", 0, metrics_log=None).start_in_background()
print("PORT", server.address[1], flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass
class CallbackStats:
    calls: int = 0
    callbacks: int = 0
    nested: int = 0
    raised: int = 0
    cancelled: int = 0
    lost: int = 0
    crossed: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: CallbackStats) -> None:
        for name in ("calls", "callbacks", "nested", "raised", "cancelled", "lost", "crossed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems[: 20 - len(self.problems)]

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)

    def check(
        self, label: str, expected: list[Any], seen: list[Any], result: Any, want: Any
    ) -> None:
        self.calls += 1
        self.callbacks += len(seen)
        if seen == expected and result == want:
            return
        if any(value not in expected for value in seen):
            self.crossed += 1
        else:
            self.lost += 1
        self.problem(
            f"{label}: expected {expected[:4]}... -> {want!r:.40}, "
            f"got {seen[:4]}... -> {result!r:.40}"
        )


def _stubs() -> Any:
    sys.path[:0] = [str(RUNTIME), str(REPO)]
    from tests.runtime import callbacks_stubs

    return callbacks_stubs


def _sync_worker(
    port: int, seed: int, until: float, per_second: float, stats: CallbackStats
) -> None:
    stubs = _stubs()
    rng = random.Random(seed)
    client = stubs.SrpcCbsvcClientStub("127.0.0.1", port, timeout=30)
    n = 0
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() < until:
            n += 1
            base = (seed * 1_000_000 + n) * 1000  # this call's values, unique to it
            count = rng.randrange(1, 20)
            roll = rng.random()
            label = f"{seed}-{n}"
            try:
                if roll < 0.35:
                    seen: list[int] = []

                    def triple(x: int) -> int:
                        seen.append(x)  # noqa: B023 - called before the loop moves on
                        return x * 3

                    items = [base + i for i in range(count)]
                    result = client.each(items, triple)
                    stats.check(label, items, seen, result, [x * 3 for x in items])
                elif roll < 0.6:
                    progress = stubs.Recorder()
                    done = client.run(count, progress)
                    expected = [(i, count) for i in range(1, count + 1)]
                    stats.check(label, expected, progress.seen, done, count)
                    stats.callbacks += progress.asked  # should_stop() before each update
                    count += progress.asked
                elif roll < 0.75:  # each callback calls the server again
                    seen = []

                    def nested(x: int) -> int:
                        seen.append(x)  # noqa: B023 - called before the loop moves on
                        stats.nested += 1
                        return int(client.add(x, 1))

                    count = min(count, 5)
                    items = [base + i for i in range(count)]
                    result = client.each(items, nested)
                    stats.check(label, items, seen, result, [x + 1 for x in items])
                elif roll < 0.85:  # the callback raises: the same error comes back
                    seen = []

                    def fails(x: int) -> int:
                        seen.append(x)  # noqa: B023 - called before the loop moves on
                        raise KeyError(x)

                    count = 1
                    try:
                        client.guarded(fails)
                        stats.lost += 1
                        stats.problem(f"{label}: the callback's KeyError did not come back")
                    except KeyError as exc:
                        stats.raised += 1
                        stats.check(label, [1], seen, exc.args, (1,))
                else:  # the deadline passes while a callback sleeps: cancelled, not lost

                    def slow(x: int) -> int:
                        time.sleep(0.05)
                        return x

                    try:
                        srpc.with_timeout(client, 0.02).each([base], slow)
                        stats.lost += 1
                        stats.problem(f"{label}: a call past its deadline returned")
                    except srpc.CallTimeout:
                        stats.cancelled += 1
                    count = 1
            except srpc.SrpcError as exc:
                stats.lost += 1
                stats.problem(f"{label}: {exc!r}")
            sent += count
            ahead = sent / per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        client.close()


def _async_worker(port: int, until: float, per_second: float, stats: CallbackStats) -> None:
    stubs = _stubs()

    async def one(stub: Any, base: int, count: int) -> None:
        seen: list[int] = []

        async def negate(x: int) -> int:
            seen.append(x)
            await asyncio.sleep(0)
            return -x

        items = [base + i for i in range(count)]
        result = await stub.amap(items, negate)
        stats.check(f"async {base}", items, seen, result, [-x for x in items])

    async def main() -> None:
        rng = random.Random(11)
        started = time.monotonic()
        sent = 0
        async with stubs.SrpcCbsvcAsyncClientStub("127.0.0.1", port, timeout=30) as stub:
            n = 0
            while time.monotonic() < until:
                n += 1
                counts = [rng.randrange(1, 10) for _ in range(10)]
                await asyncio.gather(
                    *(one(stub, (9_000_000 + n * 10 + i) * 1000, c) for i, c in enumerate(counts))
                )
                sent += sum(counts)
                ahead = sent / per_second - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)

    try:
        asyncio.run(main())
    except srpc.SrpcError as exc:
        stats.lost += 1
        stats.problem(f"async: {exc!r}")


@dataclass
class CallbackSoakReport:
    seconds: float
    rate: float
    stats: CallbackStats
    fds_before: int
    fds_after: int

    @property
    def achieved(self) -> float:
        return self.stats.callbacks / self.seconds

    def text(self) -> str:
        s = self.stats
        return (
            f"callback soak {self.seconds:.0f} s at {self.rate:.0f}/s asked: {s.calls:,} calls, "
            f"{s.callbacks:,} callbacks ({self.achieved:,.0f}/s), {s.nested:,} nested calls, "
            f"{s.raised:,} raised, {s.cancelled:,} cancelled; lost {s.lost}, crossed "
            f"{s.crossed}; server fds {self.fds_before} -> {self.fds_after}"
        )


def soak_callbacks(seconds: float, rate: float = 1000.0, threads: int = 4) -> CallbackSoakReport:
    with script_server(_SERVE.format(runtime=str(RUNTIME), repo=str(REPO))) as (proc, port):
        fds_before = open_fds(proc.pid)
        until = time.monotonic() + seconds
        share = rate / (threads + 1)
        results = [CallbackStats() for _ in range(threads + 1)]
        workers = [
            threading.Thread(target=_sync_worker, args=(port, i + 1, until, share, results[i]))
            for i in range(threads)
        ]
        workers.append(
            threading.Thread(target=_async_worker, args=(port, until, share, results[-1]))
        )
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(seconds + 60)
        stats = CallbackStats()
        for result in results:
            stats.add(result)
        wait_until(lambda: open_fds(proc.pid) <= fds_before, timeout=10)
        return CallbackSoakReport(seconds, rate, stats, fds_before, open_fds(proc.pid))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hardening.soak_callbacks")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000, help="callbacks per second asked")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    report = soak_callbacks(options.seconds, options.rate, options.threads)
    print(json.dumps(asdict(report)) if options.json else report.text())
    for problem in report.stats.problems:
        print("  problem:", problem)
    s = report.stats
    slow = report.achieved < 0.9 * options.rate
    if slow:
        print(
            f"  problem: {report.achieved:.0f} callbacks/s, under 90 % of the "
            f"{options.rate:.0f}/s asked"
        )
    bad = s.lost or s.crossed or report.fds_after > report.fds_before or slow
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
