"""W4's and W4s's pieces timed one by one, srpc's against the floor's: ``python -m bench.w4parts``.

A ``records(100)`` call is mostly object work on both ends, not transport.
This times each piece in-process (best of several repeats, per call of 100
rows), using the same code paths as the benchmark: the implementation
building its rows, srpc's reply encoding alone and its result check (the
two halves of ``ProcedureCodec.encode_reply``, and the whole), and the
client's decode into the declared type (``Record`` dataclasses for W4,
``RecordS`` structs for W4s), against the floor's ``msgpack`` of dicts (the
floor's own functions, so its ``msgspec`` fallback too; the floor serves W4s
the same dicts as W4).

``timeit`` turns the garbage collector off; ``--gc`` leaves it on, as in
the real run, where 100 rows per call trigger a young collection every few
calls on both ends.
"""

from __future__ import annotations

import argparse
import gc
import sys
import timeit
from collections.abc import Callable
from typing import Any

import msgspec

from bench.gen import SRPC_SERVICE_DIR

Piece = tuple[str, Callable[[], object] | None, Callable[[], object] | None]


def _best(fn: Callable[[], object], number: int, with_gc: bool) -> float:
    """Microseconds per call, best of 5 repeats."""
    setup = "gc.enable()" if with_gc else "pass"
    timer = timeit.Timer(fn, setup=setup, globals={"gc": gc})
    return min(timer.repeat(number=number, repeat=5)) / number * 1e6


def _pieces(procedure: str) -> list[Piece]:
    from benchsvc.benchsvc import Benchsvc  # type: ignore[import-not-found, unused-ignore]
    from benchsvc.benchsvc_interface import (  # type: ignore[import-not-found, unused-ignore]
        BenchsvcInterface,
    )

    from bench.common import RECORDS_N, record_dicts
    from bench.contestants.floor import _packb, _unpackb
    from srpc.codec import build_procedure, encoder
    from srpc.framing import FrameBuffers
    from srpc.protocol import Reply

    codec = build_procedure("benchsvc", BenchsvcInterface, procedure)
    build: Callable[[int], Any] = getattr(Benchsvc(), procedure)
    rows = build(RECORDS_N)
    encoded = codec.encode_reply(1, rows)
    assert isinstance(encoded, bytearray)  # one frame (only large bytes come in parts)
    frame = bytes(encoded)
    reply = msgspec.msgpack.Decoder(Reply).decode(frame[4:])
    buffers = FrameBuffers()
    check = _result_check(codec, frame)
    dicts = record_dicts(RECORDS_N)
    packed = _packb(dicts)
    return [
        ("server: implementation builds 100 rows", lambda: build(RECORDS_N),
         lambda: record_dicts(RECORDS_N)),
        ("server: encode alone", lambda: buffers.encode(encoder, (5, 1, rows)), None),
        ("server: the result check alone", check, None),
        ("server: encode the reply (+ srpc's result check)",
         lambda: codec.encode_reply(1, rows), lambda: _packb(dicts)),
        ("client: decode the result", lambda: codec.result_decoder.decode(reply.result),
         lambda: _unpackb(packed)),
    ]  # fmt: skip


def _result_check(codec: Any, frame: bytes) -> Callable[[], object] | None:
    """The check ``encode_reply`` runs after encoding, on its own (None: it runs none)."""
    decoder = codec._reply_checker  # the decode of the reply into the checked (mirror) type
    if decoder is None:
        return None
    view = memoryview(frame)[4:]
    return lambda: decoder.decode(view)


def _print(title: str, pieces: list[Piece], number: int, with_gc: bool) -> None:
    print(f"{title:<52} {'srpc':>8} {'floor':>8}")
    total_srpc = total_floor = 0.0
    for label, srpc_fn, floor_fn in pieces:
        a = None if srpc_fn is None else _best(srpc_fn, number, with_gc)
        b = None if floor_fn is None else _best(floor_fn, number, with_gc)
        if "alone" not in label:  # the halves are in "encode the reply" already
            total_srpc += a or 0.0
            total_floor += b or 0.0
        cells = ["-" if x is None else f"{x:.1f}" for x in (a, b)]
        print(f"  {label:<50} {cells[0]:>8} {cells[1]:>8}")
    print(f"  {'total':<50} {total_srpc:>8.1f} {total_floor:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.w4parts", description=__doc__)
    parser.add_argument("--number", type=int, default=1000)
    parser.add_argument("--gc", action="store_true", help="time with the garbage collector on")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SRPC_SERVICE_DIR))
    from benchsvc.benchsvc_interface import Record

    from bench.common import RECORDS_N
    from bench.contestants.floor import CODEC

    print(f"floor codec: {CODEC}; garbage collector {'on' if args.gc else 'off'}")
    print("us per call of 100 rows")
    _print("W4: records() -> list[Record] (dataclass)", _pieces("records"), args.number, args.gc)
    _print(
        "W4s: records_struct() -> list[RecordS] (Struct)",
        _pieces("records_struct"),
        args.number,
        args.gc,
    )

    def keyword_rows() -> list[Any]:
        return [
            Record(
                id=i,
                score=i * 0.5,
                name=f"record-{i}",
                active=i % 2 == 0,
                tags=[i, i + 1, i + 2, i + 3],
            )
            for i in range(RECORDS_N)
        ]

    keyword = _best(keyword_rows, args.number, args.gc)
    print(f"  {'(keyword-built dataclasses, for comparison)':<50} {keyword:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
