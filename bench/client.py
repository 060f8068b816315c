"""One client workload as its own process: ``python -m bench.client CONTESTANT W --port P``.

Connects, checks the replies are right, warms up, measures and prints
``BENCH_RESULT <json>``. With ``--wait-go`` (W2) it prints ``BENCH_READY``
after warm-up and starts measuring at the time the driver sends as
``GO <unix time>`` on stdin. With ``--slices`` (interleaved runs) it prints
``BENCH_READY`` and measures one slice per ``SLICE <seconds>`` line
(``BENCH_SLICE <json>`` after each) until ``END``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
from typing import Any

from bench.common import (
    ECHO_SIZE,
    RECORDS_N,
    AsyncOps,
    LoopConfig,
    SyncOps,
    check_records,
    run_async_loop,
    run_sync_loop,
)
from bench.contestants import CONTESTANTS
from bench.profiling import ThreadProfiler
from bench.streams import (
    CHUNK,
    S1_BATCH,
    S1_ITEMS,
    S2_BATCH,
    S2_ITEMS,
    S3_UPLOAD,
    STREAM_WORKLOADS,
    AsyncPuller,
    AsyncStreamOps,
    Puller,
    StreamOps,
    chunks,
    units,
)

_PAYLOAD = os.urandom(ECHO_SIZE)


def _wait_for_go() -> None:
    print("BENCH_READY", flush=True)
    line = sys.stdin.readline().split()
    if len(line) != 2 or line[0] != "GO":
        raise SystemExit(f"expected 'GO <time>' on stdin, got {line!r}")
    delay = float(line[1]) - time.time()
    if delay > 0:
        time.sleep(delay)


def _next_slice() -> float | None:
    """Interleaved runs (``--slices``): wait for ``SLICE <seconds>``; ``END`` (or EOF) ends."""
    print("BENCH_READY", flush=True)
    line = sys.stdin.readline().split()
    if len(line) == 2 and line[0] == "SLICE":
        return float(line[1])
    if not line or line[0] == "END":
        return None
    raise SystemExit(f"expected 'SLICE <seconds>' or 'END' on stdin, got {line!r}")


def _report_slice(result: dict[str, float]) -> None:
    print("BENCH_SLICE " + json.dumps(result), flush=True)


ARRAY_BYTES = 8 * 1024 * 1024
"""W6: an 8 MiB float32 array each way."""


def _array() -> Any:
    import numpy as np

    return np.arange(ARRAY_BYTES // 4, dtype=np.float32)


def _check_array(echoed: Any) -> None:
    import numpy as np

    sent = _array()
    assert echoed.dtype == sent.dtype and echoed.shape == sent.shape, "echo_array changed it"
    assert np.array_equal(echoed, sent), "echo_array changed the data"


def _check_sync(ops: SyncOps, workload: str) -> None:
    assert ops.add(20, 22) == 42, "add(20, 22) != 42"
    assert ops.echo(_PAYLOAD) == _PAYLOAD, "echo(1 MiB) changed the data"
    check_records(ops.records(RECORDS_N), RECORDS_N)
    if workload == "W4s":  # only the contestants that serve it run W4s
        check_records(ops.records_struct(RECORDS_N), RECORDS_N)
    if workload == "W6":
        _check_array(ops.echo_array(_array()))


async def _check_async(ops: AsyncOps, workload: str) -> None:
    assert await ops.add(20, 22) == 42, "add(20, 22) != 42"
    assert await ops.echo(_PAYLOAD) == _PAYLOAD, "echo(1 MiB) changed the data"
    check_records(await ops.records(RECORDS_N), RECORDS_N)
    if workload == "W4s":
        check_records(await ops.records_struct(RECORDS_N), RECORDS_N)
    if workload == "W6":
        _check_array(await ops.echo_array(_array()))


def _run_sync(module: Any, workload: str, port: int, cfg: LoopConfig) -> dict[str, Any]:
    ops: SyncOps = module.connect(port)
    try:
        _check_sync(ops, workload)
        if workload == "W3":
            payload = _PAYLOAD
            return run_sync_loop(lambda: ops.echo(payload), cfg, payload=ECHO_SIZE)
        if workload == "W4":
            return run_sync_loop(lambda: ops.records(RECORDS_N), cfg)
        if workload == "W4s":
            return run_sync_loop(lambda: ops.records_struct(RECORDS_N), cfg)
        if workload == "W6":
            array = _array()
            return run_sync_loop(lambda: ops.echo_array(array), cfg, payload=ARRAY_BYTES)
        add = ops.add
        return run_sync_loop(lambda: add(1, 2), cfg)
    finally:
        ops.close()


async def _run_async(module: Any, workload: str, port: int, cfg: LoopConfig) -> dict[str, Any]:
    ops: AsyncOps = await module.connect_async(port)
    try:
        await _check_async(ops, workload)
        if workload == "W3":
            payload = _PAYLOAD
            return await run_async_loop(lambda: ops.echo(payload), cfg, payload=ECHO_SIZE)
        if workload == "W4":
            return await run_async_loop(lambda: ops.records(RECORDS_N), cfg)
        if workload == "W4s":
            return await run_async_loop(lambda: ops.records_struct(RECORDS_N), cfg)
        if workload == "W6":
            array = _array()
            return await run_async_loop(lambda: ops.echo_array(array), cfg, payload=ARRAY_BYTES)
        add = ops.add
        return await run_async_loop(lambda: add(1, 2), cfg)
    finally:
        await ops.close()


def _check_streams_sync(ops: StreamOps) -> None:
    assert list(ops.count(10)) == list(range(10)), "count(10) != 0..9"
    blobs = list(ops.blobs(3, CHUNK))
    assert len(blobs) == 3 and all(len(b) == CHUNK for b in blobs), "blobs(3, 64 KiB) wrong"
    assert ops.upload(chunks(3 * CHUNK)) == 3 * CHUNK, "upload(3 chunks) wrong total"


async def _check_streams_async(ops: AsyncStreamOps) -> None:
    assert [i async for i in ops.count(10)] == list(range(10)), "count(10) != 0..9"
    blobs = [b async for b in ops.blobs(3, CHUNK)]
    assert len(blobs) == 3 and all(len(b) == CHUNK for b in blobs), "blobs(3, 64 KiB) wrong"
    assert await ops.upload(chunks(3 * CHUNK)) == 3 * CHUNK, "upload(3 chunks) wrong total"


def _stream_result(result: dict[str, Any], workload: str, s3_bytes: int) -> dict[str, Any]:
    """Add the stream units: items/s and MB/s (10**6 bytes) from the loop's calls/s."""
    items, nbytes = units(workload, s3_bytes)
    rate = result["calls_per_s"]
    result["items_per_call"] = items
    result["bytes_per_call"] = nbytes
    result["items_per_s"] = rate * items
    result["mb_per_s"] = rate * nbytes / 1e6
    result["bytes_total"] = result["calls"] * nbytes
    return result


def _run_streams_sync(
    module: Any, workload: str, port: int, cfg: LoopConfig, s3_bytes: int
) -> dict[str, Any]:
    ops: StreamOps = module.connect_streams(port)
    try:
        _check_streams_sync(ops)
        if workload == "S3":

            def upload() -> None:
                if ops.upload(chunks(s3_bytes)) != s3_bytes:
                    raise AssertionError("upload: the server read a different number of bytes")

            return _stream_result(run_sync_loop(upload, cfg), workload, s3_bytes)
        if workload == "S1":
            puller = Puller(lambda: ops.count(S1_ITEMS), S1_ITEMS, S1_BATCH)
        else:
            puller = Puller(lambda: ops.blobs(S2_ITEMS, CHUNK), S2_ITEMS, S2_BATCH)
        try:
            result = run_sync_loop(puller, cfg)
        finally:
            puller.close()
        result["streams"] = puller.streams
        return _stream_result(result, workload, s3_bytes)
    finally:
        ops.close()


async def _run_streams_async(
    module: Any, workload: str, port: int, cfg: LoopConfig, s3_bytes: int
) -> dict[str, Any]:
    ops: AsyncStreamOps = await module.connect_streams_async(port)
    try:
        await _check_streams_async(ops)
        if workload == "S3":

            async def upload() -> None:
                if await ops.upload(chunks(s3_bytes)) != s3_bytes:
                    raise AssertionError("upload: the server read a different number of bytes")

            return _stream_result(await run_async_loop(upload, cfg), workload, s3_bytes)
        if workload == "S1":
            puller = AsyncPuller(lambda: ops.count(S1_ITEMS), S1_ITEMS, S1_BATCH)
        else:
            puller = AsyncPuller(lambda: ops.blobs(S2_ITEMS, CHUNK), S2_ITEMS, S2_BATCH)
        try:
            result = await run_async_loop(puller, cfg)
        finally:
            await puller.close()
        result["streams"] = puller.streams
        return _stream_result(result, workload, s3_bytes)
    finally:
        await ops.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client")
    parser.add_argument("contestant", choices=sorted(CONTESTANTS))
    parser.add_argument(
        "workload", choices=["W1", "W2", "W3", "W4", "W4s", "W5", "W6", *STREAM_WORKLOADS]
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--warmup-s", type=float, default=0.3)
    parser.add_argument("--warmup-calls", type=int, default=1_000_000)
    parser.add_argument("--duration-s", type=float, default=1.5)
    parser.add_argument("--max-calls", type=int, default=10**9)
    parser.add_argument("--wait-go", action="store_true")
    parser.add_argument(
        "--slices", action="store_true", help="measure in slices the driver asks for on stdin"
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--profile", metavar="OUT", help="write cProfile stats of all threads")
    parser.add_argument(
        "--s3-mib", type=int, default=S3_UPLOAD // 2**20, help="S3: MiB per upload (default 64)"
    )
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    profiler = ThreadProfiler(args.profile) if args.profile else None
    if profiler is not None:
        profiler.start()

    contestant = CONTESTANTS[args.contestant]
    module = importlib.import_module(contestant.module)
    cfg = LoopConfig(
        warmup_s=args.warmup_s,
        warmup_max_calls=args.warmup_calls,
        duration_s=args.duration_s,
        max_calls=args.max_calls,
        barrier=_wait_for_go if args.wait_go else None,
        next_slice=_next_slice if args.slices else None,
        report=_report_slice if args.slices else None,
    )
    s3 = args.s3_mib * 2**20
    streams = args.workload in STREAM_WORKLOADS
    if contestant.is_async:
        main_async = (
            _run_streams_async(module, args.workload, args.port, cfg, s3)
            if streams
            else _run_async(module, args.workload, args.port, cfg)
        )
        if contestant.uvloop:
            import uvloop

            result = uvloop.run(main_async)
        else:
            result = asyncio.run(main_async)
    elif streams:
        result = _run_streams_sync(module, args.workload, args.port, cfg, s3)
    else:
        result = _run_sync(module, args.workload, args.port, cfg)
    if profiler is not None:
        profiler.dump()
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
