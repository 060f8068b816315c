"""C1: the round trip of a callback, next to a unary call's, measured in the same run.

    python -m bench.callbacks                 # part of make bench
    python -m bench.callbacks --quick         # a smoke run of a second or two

One server process serves ``bench/srpc_service/cbbench`` on 127.0.0.1. The
client alternates slices of

- unary: sequential ``add(1, 2)`` calls, each timed by the client
  (``perf_counter_ns`` around the call: the W1 measure);
- callbacks: one ``time_sync(n, fn)`` call whose plain-def implementation
  calls the caller's ``fn`` ``n`` times, each round trip timed by the
  implementation around the proxy call (server -> client -> server);

and ``time_async`` (an async implementation awaiting an async callback)
from the sync stub (``sync-async``: the callback runs on the calling thread's
own loop) and from the async stub (``async``: a task on the caller's loop).
C1 is the callback's p50 over the unary call's p50; the target is <= 1.5x.
The bench's unary ``add`` is ``@srpc.inline`` (run on the loop, the fastest
kind); ``add_pooled``, a plain def on a worker thread like ``time_sync``, is
shown too, as the like-for-like baseline of a plain-def implementation.
Slices alternate so that a slow spell of this shared machine falls on both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
SERVICE_DIR = BENCH_DIR / "srpc_service"
RESULTS = BENCH_DIR / "results"

_SERVE = """
import os, sys
if {cpu} >= 0:
    os.sched_setaffinity(0, {{{cpu}}})
sys.path[:0] = [{service!r}, {stubs!r}]
from srpc_cbbench_server_stub import SrpcCbbenchServerStub
server = SrpcCbbenchServerStub("127.0.0.1", 0, metrics_log=None).start_in_background()
print("PORT", server.address[1], flush=True)
sys.stdin.read()
server.stop()
"""


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _summary(samples: list[int]) -> dict[str, float]:
    return {
        "p50_us": _percentile(samples, 0.50) / 1000,
        "p99_us": _percentile(samples, 0.99) / 1000,
        "mean_us": statistics.fmean(samples) / 1000,
        "n": len(samples),
    }


def _sync_slices(port: int, rounds: int, calls: int) -> tuple[list[int], list[int], list[int]]:
    from srpc_cbbench_client_stub import SrpcCbbenchClientStub

    unary: list[int] = []
    pooled: list[int] = []
    callbacks: list[int] = []
    clock = time.perf_counter_ns
    with SrpcCbbenchClientStub("127.0.0.1", port, timeout=60) as client:
        client.time_sync(200, lambda x: x)  # warm-up
        for _ in range(200):
            client.add(1, 2)
            client.add_pooled(1, 2)
        for _ in range(rounds):
            for _ in range(calls):
                begun = clock()
                client.add(1, 2)
                unary.append(clock() - begun)
            for _ in range(calls):
                begun = clock()
                client.add_pooled(1, 2)
                pooled.append(clock() - begun)
            callbacks += client.time_sync(calls, lambda x: x)
    return unary, callbacks, pooled


def _sync_stub_async_slices(port: int, rounds: int, calls: int) -> tuple[list[int], list[int]]:
    from srpc_cbbench_client_stub import SrpcCbbenchClientStub

    async def same(x: int) -> int:
        return x

    unary: list[int] = []
    callbacks: list[int] = []
    clock = time.perf_counter_ns
    with SrpcCbbenchClientStub("127.0.0.1", port, timeout=60) as client:
        client.time_async(200, same)
        for _ in range(200):
            client.add(1, 2)
        for _ in range(rounds):
            for _ in range(calls):
                begun = clock()
                client.add(1, 2)
                unary.append(clock() - begun)
            callbacks += client.time_async(calls, same)
    return unary, callbacks


def _async_slices(port: int, rounds: int, calls: int) -> tuple[list[int], list[int]]:
    from srpc_cbbench_client_stub import SrpcCbbenchAsyncClientStub

    async def same(x: int) -> int:
        return x

    async def main() -> tuple[list[int], list[int]]:
        unary: list[int] = []
        callbacks: list[int] = []
        clock = time.perf_counter_ns
        async with SrpcCbbenchAsyncClientStub("127.0.0.1", port, timeout=60) as client:
            await client.time_async(200, same)
            for _ in range(200):
                await client.add(1, 2)
            for _ in range(rounds):
                for _ in range(calls):
                    begun = clock()
                    await client.add(1, 2)
                    unary.append(clock() - begun)
                callbacks += await client.time_async(calls, same)
        return unary, callbacks

    return asyncio.run(main())


def measure(rounds: int = 10, calls: int = 2000, pin: str = "same") -> dict[str, Any]:
    """``pin``: ``same`` puts the client and the server on one CPU, as W1 does (``make bench``'s
    default: unpinned, an idle 2-core VM wakes a sleeping CPU for each hop, tens of us that
    swamp what is measured), ``split`` on two, ``none`` leaves them to the scheduler."""
    from srpc.compiler import write_stubs

    cpu_server = cpu_client = -1
    if pin != "none" and hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        cpu_server = cpu_client = cpus[-1]
        if pin == "split" and len(cpus) >= 2:
            cpu_server = cpus[-2]
        os.sched_setaffinity(0, {cpu_client})

    stubs = Path(tempfile.mkdtemp(prefix="srpc-cbbench-"))
    write_stubs(SERVICE_DIR / "cbbench" / "cbbench_interface.py", stubs)
    sys.path[:0] = [str(SERVICE_DIR), str(stubs)]
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SERVE.format(service=str(SERVICE_DIR), stubs=str(stubs), cpu=cpu_server),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        result: dict[str, Any] = {"rounds": rounds, "calls_per_slice": calls, "pin": pin}
        for name, run in (
            ("sync", _sync_slices),
            ("sync-async", _sync_stub_async_slices),
            ("async", _async_slices),
        ):
            unary, callbacks, *pooled = run(port, rounds, calls)
            u, c = _summary(unary), _summary(callbacks)
            result[name] = {"unary": u, "callback": c, "C1": c["p50_us"] / u["p50_us"]}
            if pooled:
                p = _summary(pooled[0])
                result[name]["unary_pooled"] = p
                result[name]["C1_pooled"] = c["p50_us"] / p["p50_us"]
        return result
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def render(result: dict[str, Any]) -> str:
    lines = [
        "C1: callback round trip vs unary call, same server, alternating slices "
        f"({result['rounds']} x {result['calls_per_slice']} each, --pin {result['pin']})",
        f"{'stub':10} {'unary p50':>10} {'p99':>8} {'callback p50':>13} {'p99':>8} "
        f"{'C1':>6}  target <= 1.5x",
    ]
    for name in ("sync", "sync-async", "async"):
        r = result[name]
        u, c = r["unary"], r["callback"]
        lines.append(
            f"{name:10} {u['p50_us']:>8.1f}us {u['p99_us']:>6.1f}us {c['p50_us']:>11.1f}us "
            f"{c['p99_us']:>6.1f}us {r['C1']:>5.2f}x  {'met' if r['C1'] <= 1.5 else 'NOT met'}"
        )
        if "unary_pooled" in r:
            p = r["unary_pooled"]
            lines.append(
                f"{'':10} unary into a plain-def implementation (a worker thread, as time_sync "
                f"runs): p50 {p['p50_us']:.1f}us p99 {p['p99_us']:.1f}us; callback / that: "
                f"{r['C1_pooled']:.2f}x"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.callbacks")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 200 calls")
    parser.add_argument(
        "--pin", choices=("same", "split", "none"), default="same", help="as bench.run's --pin"
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if options.quick:
        options.rounds, options.calls = 2, 200
    result = measure(options.rounds, options.calls, options.pin)
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if not options.quick:
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        (RESULTS / f"callbacks-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result) if options.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
