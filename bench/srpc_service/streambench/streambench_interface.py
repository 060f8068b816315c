"""The stream benchmark service (S1-S3, the memory and cancel-latency scripts).

A service of its own, next to ``benchsvc``: the W1-W5 service, its
fingerprint and its generated stubs stay as they were.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator


class StreambenchInterface(ABC):
    """Server streams of small and large items, a client-streaming upload, endless streams."""

    @abstractmethod
    def count(self, n: int) -> Iterator[int]:
        """Yield 0 .. n-1 (S1)."""

    @abstractmethod
    def blobs(self, n: int, size: int) -> Iterator[bytes]:
        """Yield ``n`` items of ``size`` bytes (S2)."""

    @abstractmethod
    def upload(self, chunks: Iterator[bytes]) -> int:
        """Read a streamed argument to its end; return the number of bytes (S3)."""

    @abstractmethod
    def forever(self, tag: str, size: int) -> Iterator[bytes]:
        """Yield items of ``size`` bytes for ever; its ``finally`` records when it ran."""

    @abstractmethod
    def closed_at(self, tag: str, timeout: float) -> float:
        """``time.monotonic()`` when ``forever(tag)``'s ``finally`` ran (waits up to
        ``timeout`` seconds for it; -1.0 if it did not run by then)."""
