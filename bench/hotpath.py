"""Profile one contestant's workload on both sides: ``python -m bench.hotpath``.

Runs the server and one client as in the benchmark (own processes, pinned
to the same CPU), each under cProfile in per-thread CPU time, then prints
the top functions of each side by own time and keeps the ``.pstats`` files
(open them with ``python -m pstats FILE`` or snakeviz).

    python -m bench.hotpath                       # srpc, W1
    python -m bench.hotpath --contestant srpc --workload W3 --top 15
    python -m bench.hotpath --workload S1   # a "call" is 1000 items of the stream (bench.streams)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench.contestants import CONTESTANTS
from bench.gen import REPO_ROOT, SRPC_SERVICE_DIR, generate_grpc, generate_srpc
from bench.run import RESULTS_DIR, Child
from bench.streams import STREAM_WORKLOADS


def _top(path: Path, top: int, calls: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    head = (
        f"{path.name}: {total:.3f}s CPU under the profiler, "
        f"{stats.total_calls / calls:.0f} function calls per RPC"  # type: ignore[attr-defined]
    )
    body = out.getvalue()
    return head + "\n" + body[body.index("   ncalls") :].rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hotpath",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--contestant", default="srpc", choices=sorted(CONTESTANTS))
    parser.add_argument(
        "--workload", default="W1", choices=["W1", "W3", "W4", "W4s", *STREAM_WORKLOADS]
    )
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    contestant = CONTESTANTS[args.contestant]
    missing = contestant.missing()
    if missing:
        print(f"{args.contestant}: {', '.join(missing)} not installed", file=sys.stderr)
        return 1
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    prefix = out_dir / f"profile-{args.contestant}-{args.workload}-{stamp}"
    server_stats = Path(f"{prefix}-server.pstats")
    client_stats = Path(f"{prefix}-client.pstats")
    cpu = str(max(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else None
    pin = ["--cpu", cpu] if cpu is not None else []

    with tempfile.TemporaryDirectory(prefix="srpc-hotpath-") as tmp:
        work = Path(tmp)
        if contestant.needs == "srpc":
            generate_srpc(work / "srpc_gen")
        elif contestant.needs == "grpc":
            generate_grpc(work / "grpc_gen")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), str(work / "srpc_gen"), str(SRPC_SERVICE_DIR), str(work / "grpc_gen")]
        )
        server = Child(
            [sys.executable, "-m", "bench.serve", args.contestant, *pin,
             "--profile", str(server_stats),
             *(["--streams"] if args.workload in STREAM_WORKLOADS else [])],
            env,
            work,
        )  # fmt: skip
        try:
            port = server.expect("BENCH_PORT", 60)
            client = Child(
                [sys.executable, "-m", "bench.client", args.contestant, args.workload,
                 "--port", port, "--duration-s", str(args.duration), *pin,
                 "--profile", str(client_stats)],
                env,
                work,
            )  # fmt: skip
            try:
                result = json.loads(client.expect("BENCH_RESULT", 60 + args.duration))
                client.proc.wait(timeout=60)
            finally:
                client.stop()
            server.send("")
        finally:
            server.stop(grace=30)

    calls = int(result["calls"])
    print(
        f"{args.contestant} {args.workload} under the profiler: {result['calls_per_s']:,.0f} "
        f"calls/s, p50 {result['p50_us']:.1f} us ({calls} calls measured)"
    )
    if "items_per_call" in result:
        print(
            f"streams: one call is {result['items_per_call']} items, "
            f"{result['bytes_per_call']:,} bytes; {result['items_per_s']:,.0f} items/s, "
            f"{result['mb_per_s']:,.0f} MB/s under the profiler"
        )
    print()
    print("CLIENT " + _top(client_stats, args.top, calls))
    print()
    print("SERVER " + _top(server_stats, args.top, calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
