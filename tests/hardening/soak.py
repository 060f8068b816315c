"""Soak: many clients for a bounded time against one server process, with faults injected.

    python -m tests.hardening.soak --seconds 120            # make soak
    python -m tests.hardening.soak --seconds 10 --threads 12 --processes 2

Clients are threads in this process (some sharing one stub, one asyncio
thread with many tasks on one async stub) and a few worker processes. Each
call carries a unique value that the server echoes back, so every reply is
checked against its own call. The mix: plain calls, calls that raise,
slow calls, calls that time out on purpose. Faults injected on the side:
stubs closed and reopened, peers that send garbage, oversized frames, or
disconnect mid-call, and one worker process SIGKILLed mid-run and replaced.

At the end it prints the figures and exits non-zero if any reply was lost
or crossed, or the server's file descriptors or memory did not settle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from srpc import CallTimeout, SrpcError
from srpc.codec import encoder
from srpc.protocol import encode_request

from .helpers import REPO, ServerProcess, open_fds, raw_connect, rss_bytes, wait_until
from .stubs import SrpcGuardAsyncClientStub, SrpcGuardClientStub

OK_DEADLINE = 30.0  # a call that should succeed but gets no reply in this time is "lost"
RSS_SLACK = 24 * 1024 * 1024  # allocator noise allowed between two steady states


@dataclass
class Stats:
    calls: int = 0
    ok: int = 0
    raised_as_expected: int = 0
    timed_out_as_expected: int = 0
    faults: int = 0
    lost: int = 0
    crossed: int = 0
    connections: int = 0
    peak_in_flight: int = 0  # summed over processes: an upper bound of the true peak
    problems: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        for name in ("calls", "ok", "raised_as_expected", "timed_out_as_expected", "faults",
                     "lost", "crossed", "connections", "peak_in_flight"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems[:20]

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(text)


class _Gauge:
    """Calls in flight in this process, and the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            self.now -= 1


_IN_FLIGHT = _Gauge()


def _check(stats: Stats, op: str, value: str, outcome: Any, error: BaseException | None) -> None:
    stats.calls += 1
    if op == "timeout":
        if isinstance(error, CallTimeout):
            stats.timed_out_as_expected += 1
        elif error is None and outcome == value:
            stats.ok += 1  # the reply beat the deadline: still its own reply
        else:
            _wrong(stats, op, value, outcome, error)
        return
    if op == "fail":
        if isinstance(error, ValueError) and error.args == (value,):
            stats.raised_as_expected += 1
        else:
            _wrong(stats, op, value, outcome, error)
        return
    if error is None and outcome == value:
        stats.ok += 1
    else:
        _wrong(stats, op, value, outcome, error)


def _wrong(stats: Stats, op: str, value: str, outcome: Any, error: BaseException | None) -> None:
    if error is None or (isinstance(error, ValueError) and error.args != (value,)):
        stats.crossed += 1  # somebody else's reply
    else:
        stats.lost += 1
    stats.problem(f"{op}({value!r}) -> {outcome!r} / {error!r}")


def _pick(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.60:
        return "echo"
    if roll < 0.75:
        return "fail"
    if roll < 0.87:
        return "slow"
    if roll < 0.96:
        return "timeout"
    return "fault"


def _sync_call(client: SrpcGuardClientStub, op: str, value: str,
               rng: random.Random) -> tuple[Any, BaseException | None]:
    try:
        if op == "echo":
            return client.echo(value), None
        if op == "fail":
            client.fail(value)
            return None, None
        if op == "slow":
            return client.slow(rng.random() * 0.05, value), None
        return client.with_timeout(0.03).slow(0.25, value), None
    except (SrpcError, ValueError) as exc:
        return None, exc


def _fault(port: int, rng: random.Random, stats: Stats) -> None:
    """A misbehaving peer next to the real clients; the server must shrug it off."""
    stats.faults += 1
    stats.connections += 1
    kind = rng.randrange(4)
    try:
        if kind == 0:  # garbage bytes
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(rng.randbytes(rng.randrange(1, 200)))
        elif kind == 1:  # a frame claiming far more than the limit
            with raw_connect(port, handshake=True) as sock:
                sock.sendall((2**32 - 1).to_bytes(4, "big") + b"\x00" * 64)
        elif kind == 2:  # a call, then gone before the reply
            with raw_connect(port, handshake=True) as sock:
                sock.sendall(encode_request(encoder, 1, "slow", (0.05, "abandoned"), {}))
        else:  # a half frame, then gone
            with raw_connect(port, handshake=True) as sock:
                sock.sendall(b"\x00\x00\x01")
    except OSError:
        pass


def _sync_worker(port: int, deadline: float, seed: str, shared: SrpcGuardClientStub | None,
                 stats: Stats) -> None:
    rng = random.Random(seed)
    own = shared is None
    client = shared or SrpcGuardClientStub("127.0.0.1", port, timeout=OK_DEADLINE)
    stats.connections += 1 if own else 0
    seq = 0
    try:
        while time.monotonic() < deadline:
            op = _pick(rng)
            if op == "fault":
                if own and rng.random() < 0.5:
                    client.close()  # reconnects on its next call
                    stats.faults += 1
                    stats.connections += 1
                else:
                    _fault(port, rng, stats)
                continue
            seq += 1
            value = f"{seed}:{seq}:{rng.random()}"
            with _IN_FLIGHT:
                outcome, error = _sync_call(client, op, value, rng)
            _check(stats, op, value, outcome, error)
    finally:
        if own:
            client.close()


def _async_worker(port: int, deadline: float, seed: str, tasks: int, stats: Stats) -> None:
    async def task(client: SrpcGuardAsyncClientStub, name: str) -> None:
        rng = random.Random(name)
        seq = 0
        while time.monotonic() < deadline:
            op = _pick(rng)
            if op == "fault":
                op = "echo"
            seq += 1
            value = f"{name}:{seq}"
            outcome: Any = None
            error: BaseException | None = None
            _IN_FLIGHT.__enter__()
            try:
                if op == "echo":
                    outcome = await client.echo(value)
                elif op == "fail":
                    await client.fail(value)
                elif op == "slow":
                    outcome = await client.slow(rng.random() * 0.05, value)
                else:
                    outcome = await client.with_timeout(0.03).slow(0.25, value)
            except (SrpcError, ValueError) as exc:
                error = exc
            finally:
                _IN_FLIGHT.__exit__()
            _check(stats, op, value, outcome, error)

    async def main() -> None:
        async with SrpcGuardAsyncClientStub("127.0.0.1", port, timeout=OK_DEADLINE) as client:
            stats.connections += 1
            await asyncio.gather(*(task(client, f"{seed}-t{i}") for i in range(tasks)))

    asyncio.run(main())


def run_clients(port: int, seconds: float, threads: int, seed: str) -> Stats:
    """Run ``threads`` client threads (+1 asyncio thread) for ``seconds``; merged stats."""
    deadline = time.monotonic() + seconds
    _IN_FLIGHT.peak = 0
    shared = SrpcGuardClientStub("127.0.0.1", port, timeout=OK_DEADLINE)
    per_thread = [Stats() for _ in range(threads + 1)]
    workers = []
    for i in range(threads):
        use_shared = shared if i % 3 == 0 else None  # a third multiplex one stub
        workers.append(threading.Thread(
            target=_sync_worker, args=(port, deadline, f"{seed}-{i}", use_shared, per_thread[i])))
    workers.append(threading.Thread(
        target=_async_worker, args=(port, deadline, f"{seed}-async", 8, per_thread[-1])))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    shared.close()
    total = Stats(connections=1, peak_in_flight=_IN_FLIGHT.peak)
    for stats in per_thread:
        total.add(stats)
    return total


def _spawn_worker(port: int, seconds: float, threads: int, seed: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.soak", "--worker", "--port", str(port),
         "--seconds", str(seconds), "--threads", str(threads), "--seed", seed],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )


@dataclass
class Report:
    seconds: float
    client_threads: int
    client_processes: int
    stats: Stats
    peak_connections: int
    rss_before: int
    rss_after: int
    fds_before: int
    fds_after: int

    @property
    def settled(self) -> bool:
        return self.fds_after == self.fds_before and self.rss_after - self.rss_before < RSS_SLACK

    def text(self) -> str:
        s = self.stats
        mib = 1024 * 1024
        lines = [
            f"soak: {self.seconds:.0f} s, {self.client_threads} client threads + 1 asyncio "
            f"thread (8 tasks) here, {self.client_processes} client processes",
            f"  connections opened      {s.connections} (peak held at once: "
            f"{self.peak_connections})",
            f"  peak calls in flight    {s.peak_in_flight} (sum of each client process's peak)",
            f"  calls                   {s.calls} ({s.calls / self.seconds:.0f}/s): ok {s.ok}, "
            f"raised as expected {s.raised_as_expected}, timed out as expected "
            f"{s.timed_out_as_expected}",
            f"  faults injected         {s.faults}",
            f"  replies lost            {s.lost}",
            f"  replies crossed         {s.crossed}",
            f"  server RSS before/after {self.rss_before / mib:.1f} MiB / "
            f"{self.rss_after / mib:.1f} MiB",
            f"  server fds before/after {self.fds_before} / {self.fds_after}",
        ]
        lines += [f"  problem: {p}" for p in s.problems]
        return "\n".join(lines)


def soak(seconds: float, threads: int, processes: int, worker_threads: int = 6) -> Report:
    with ServerProcess() as server:
        port, pid = server.port, server.pid
        # Warm up at full concurrency so "before" is a steady state, not a cold start.
        run_clients(port, min(2.0, seconds / 4), threads, "warmup")
        _settle(pid)
        fds_before, rss_before = open_fds(pid), rss_bytes(pid)

        stats = Stats()
        peak = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], open_fds(pid) - fds_before)
                stop.wait(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        children = [_spawn_worker(port, seconds, worker_threads, f"p{i}")
                    for i in range(processes)]
        killed = 0
        here = threading.Thread(target=lambda: stats.add(run_clients(port, seconds, threads, "m")))
        here.start()
        if processes:
            time.sleep(seconds / 2)
            victim = children.pop(0)  # a client process killed mid-call, then replaced
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            if victim.stdout is not None:
                victim.stdout.close()
            killed = 1
            remaining = max(seconds - (time.monotonic() - started), 1.0)
            children.append(_spawn_worker(port, remaining, worker_threads, "p-replacement"))
        here.join()
        for child in children:
            out, _ = child.communicate(timeout=OK_DEADLINE + seconds)
            stats.add(Stats(**json.loads(out.strip().splitlines()[-1])))
        stats.faults += killed
        stats.connections += killed * (worker_threads + 2)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        wait_until(lambda: open_fds(pid) <= fds_before, timeout=15)
        _settle(pid)
        fds_after, rss_after = open_fds(pid), rss_bytes(pid)
    return Report(elapsed, threads, processes, stats, peak[0], rss_before, rss_after,
                  fds_before, fds_after)


def _settle(pid: int, timeout: float = 15.0) -> None:
    """Wait until the server's fd count holds still (closing connections drain)."""
    end = time.monotonic() + timeout
    last, steady = -1, 0
    while time.monotonic() < end and steady < 5:
        now = open_fds(pid)
        steady = steady + 1 if now == last else 0
        last = now
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=24)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", default="w", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        stats = run_clients(options.port, options.seconds, options.threads, options.seed)
        print(json.dumps(asdict(stats)), flush=True)
        return 0
    report = soak(options.seconds, options.threads, options.processes)
    print(report.text(), flush=True)
    ok = report.stats.lost == 0 and report.stats.crossed == 0 and report.settled
    print("soak: PASS" if ok else "soak: FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
