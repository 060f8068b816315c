"""The implementation the generated srpc server stub serves."""

from benchsvc.benchsvc_interface import BenchsvcInterface, Record


class Benchsvc(BenchsvcInterface):
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo(self, data: bytes) -> bytes:
        return data

    def records(self, n: int = 100) -> list[Record]:
        return [
            Record(
                id=i,
                score=i * 0.5,
                name=f"record-{i}",
                active=i % 2 == 0,
                tags=[i, i + 1, i + 2, i + 3],
            )
            for i in range(n)
        ]
