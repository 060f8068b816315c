"""The streaming corpus service's implementation."""

from collections.abc import AsyncIterator, Iterable, Iterator

from streams.streams_interface import Reading, StreamsInterface


class Streams(StreamsInterface):
    def count(self, n: int, step: int = 1) -> Iterator[int]:
        for i in range(n):
            yield i * step

    async def tail(self, sensor: str) -> AsyncIterator[Reading]:
        for i in range(3):
            yield Reading(sensor, float(i))

    def upload(self, readings: Iterator[Reading], *, tag: str = "") -> int:
        return sum(1 for _ in readings) + len(tag)

    async def aupload(self, chunks: AsyncIterator[bytes]) -> int:
        return sum([len(chunk) async for chunk in chunks])

    def scale(self, factor: float, /, *, values: Iterator[float]) -> Iterator[float]:
        for value in values:
            yield value * factor

    def plain(self, xs: Iterable[int]) -> list[int]:
        return sorted(xs)
