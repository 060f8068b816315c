"""The implementation the generated srpc server stub serves."""

import numpy as np
from numpy.typing import NDArray

import srpc
from benchsvc.benchsvc_interface import BenchsvcInterface, Record, RecordS


class Benchsvc(BenchsvcInterface):
    # add, records and records_struct never block and take microseconds: they run on the
    # event loop (@srpc.inline) and save two thread hops per call; echo (1 MiB) runs on a
    # worker thread.
    @srpc.inline
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo(self, data: bytes) -> bytes:
        return data

    @srpc.inline
    def records(self, n: int = 100) -> list[Record]:
        # Positional, like the floor's dict literals and the other peers' Record(*fields):
        # keyword construction of a dataclass costs about 50 % more.
        return [
            Record(i, i * 0.5, f"record-{i}", i % 2 == 0, [i, i + 1, i + 2, i + 3])
            for i in range(n)
        ]

    def echo_array(self, a: NDArray[np.float32]) -> NDArray[np.float32]:
        return a  # on a worker thread, like echo (W3)

    @srpc.inline
    def records_struct(self, n: int = 100) -> list[RecordS]:
        return [
            RecordS(i, i * 0.5, f"record-{i}", i % 2 == 0, [i, i + 1, i + 2, i + 3])
            for i in range(n)
        ]
