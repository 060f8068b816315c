"""A service whose calls stream: results, arguments, both, sync and async."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass


@dataclass
class Reading:
    sensor: str
    value: float


class StreamsInterface(ABC):
    """Readings, streamed every way."""

    @abstractmethod
    def count(self, n: int, step: int = 1) -> Iterator[int]:
        """0, step, 2 * step, ...: n items."""

    @abstractmethod
    def tail(self, sensor: str) -> AsyncIterator[Reading]:
        """Readings of one sensor, from an async generator."""

    @abstractmethod
    def upload(self, readings: Iterator[Reading], *, tag: str = "") -> int:
        """How many readings arrived (client streaming)."""

    @abstractmethod
    async def aupload(self, chunks: AsyncIterator[bytes]) -> int:
        """The bytes that arrived, counted by an async implementation."""

    @abstractmethod
    def scale(self, factor: float, /, *, values: Iterator[float]) -> Iterator[float]:
        """Each value times factor, as it arrives (bidirectional)."""

    @abstractmethod
    def plain(self, xs: Iterable[int]) -> list[int]:
        """An Iterable is a collection: it travels whole."""
