"""W4's pieces timed one by one, srpc's against the floor's: ``python -m bench.w4parts``.

A ``records(100)`` call is mostly object work on both ends, not transport.
This times each piece in-process (best of several repeats, per call of 100
rows), using the same code paths as the benchmark: srpc's reply encoding
and result check (``ProcedureCodec.encode_reply``) and its client-side
decode into ``Record`` dataclasses, against the floor's ``msgpack`` of
dicts (the floor's own functions, so its ``msgspec`` fallback too).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable

import msgspec

from bench.gen import SRPC_SERVICE_DIR


def _best(fn: Callable[[], object], number: int) -> float:
    """Microseconds per call, best of 5 repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.w4parts", description=__doc__)
    parser.add_argument("--number", type=int, default=1000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SRPC_SERVICE_DIR))
    from benchsvc.benchsvc import Benchsvc  # type: ignore[import-not-found, unused-ignore]
    from benchsvc.benchsvc_interface import (  # type: ignore[import-not-found, unused-ignore]
        BenchsvcInterface,
        Record,
    )

    from bench.common import RECORDS_N, record_dicts
    from bench.contestants.floor import CODEC, _packb, _unpackb
    from srpc.codec import build_procedure
    from srpc.protocol import Reply

    codec = build_procedure("benchsvc", BenchsvcInterface, "records")
    impl = Benchsvc()
    rows = impl.records(RECORDS_N)
    encoded = codec.encode_reply(1, rows)
    assert isinstance(encoded, bytearray)  # one frame (only large bytes come in parts)
    frame = bytes(encoded)
    reply = msgspec.msgpack.Decoder(Reply).decode(frame[4:])
    dicts = record_dicts(RECORDS_N)
    packed = _packb(dicts)

    def keyword_rows() -> list[Record]:
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

    n = args.number
    pieces = [
        ("server: implementation builds 100 rows", lambda: impl.records(RECORDS_N),
         lambda: record_dicts(RECORDS_N)),
        ("server: encode the reply (+ srpc's result check)", lambda: codec.encode_reply(1, rows),
         lambda: _packb(dicts)),
        ("client: decode the result", lambda: codec.result_decoder.decode(reply.result),
         lambda: _unpackb(packed)),
    ]  # fmt: skip
    print(f"floor codec: {CODEC}")
    print(f"{'piece (us per call of 100 rows)':<50} {'srpc':>8} {'floor':>8}")
    total_srpc = total_floor = 0.0
    for label, srpc_fn, floor_fn in pieces:
        a, b = _best(srpc_fn, n), _best(floor_fn, n)
        total_srpc += a
        total_floor += b
        print(f"{label:<50} {a:>8.1f} {b:>8.1f}")
    print(f"{'total':<50} {total_srpc:>8.1f} {total_floor:>8.1f}")
    print(f"{'(keyword-built dataclasses, for comparison)':<50} {_best(keyword_rows, n):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
