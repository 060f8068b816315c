"""Writes a realistic metrics log of N call lines, for timing ``srpc-metrics --once`` on it.

Usage: python bench/make_metrics_log.py OUT [--lines 1000000] [--seconds 3600] [--seed 1]

The lines look like the server's: four procedures with different weights,
log-normal latencies (a slow tail on ``mult``), ~2% ``ZeroDivisionError`` on
``div``, a few dozen client peers, timestamps spread over the last
``--seconds`` and ending now, a ``start`` event first.
"""

from __future__ import annotations

import argparse
import random
import time

import msgspec

PROCS = [("add", 0.4, -3.2), ("sub", 0.3, -3.1), ("mult", 0.2, -2.5), ("div", 0.1, -3.0)]


class CallLine(msgspec.Struct):
    ts: float
    service: str
    proc: str
    ok: bool
    latency_ms: float
    error: str | None
    peer: str
    req_bytes: int
    resp_bytes: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    encoder = msgspec.json.Encoder()
    now = time.time()
    t0 = now - args.seconds
    step = args.seconds / args.lines
    peers = [
        f"10.0.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(30000, 60000)}"
        for _ in range(40)
    ]
    names = [p[0] for p in PROCS]
    weights = [p[1] for p in PROCS]
    mus = {p[0]: p[2] for p in PROCS}
    with open(args.out, "wb") as f:
        start = {
            "ts": t0,
            "service": "calc",
            "event": "start",
            "address": "0.0.0.0:5000",
            "pid": 4242,
        }
        f.write(encoder.encode(start) + b"\n")
        batch: list[CallLine] = []
        for i in range(args.lines):
            proc = rng.choices(names, weights)[0]
            latency = rng.lognormvariate(mus[proc], 0.6)
            if proc == "mult" and rng.random() < 0.01:
                latency *= 50
            failed = proc == "div" and rng.random() < 0.02
            batch.append(
                CallLine(
                    ts=t0 + i * step,
                    service="calc",
                    proc=proc,
                    ok=not failed,
                    latency_ms=round(latency, 6),
                    error="ZeroDivisionError" if failed else None,
                    peer=rng.choice(peers),
                    req_bytes=rng.randrange(18, 30),
                    resp_bytes=12 if not failed else rng.randrange(60, 90),
                )
            )
            if len(batch) == 10_000:
                f.write(encoder.encode_lines(batch))
                batch.clear()
        f.write(encoder.encode_lines(batch))


if __name__ == "__main__":
    main()
