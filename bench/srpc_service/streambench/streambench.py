"""The implementation of the stream benchmark service."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from streambench.streambench_interface import StreambenchInterface


class Streambench(StreambenchInterface):
    def __init__(self) -> None:
        self._closed: dict[str, float] = {}
        self._changed = threading.Condition()

    def count(self, n: int) -> Iterator[int]:
        yield from range(n)

    def blobs(self, n: int, size: int) -> Iterator[bytes]:
        item = b"x" * size  # the same object every time: the bench measures the transport
        for _ in range(n):
            yield item

    def upload(self, chunks: Iterator[bytes]) -> int:
        total = 0
        for chunk in chunks:
            total += len(chunk)
        return total

    def forever(self, tag: str, size: int) -> Iterator[bytes]:
        item = b"x" * size
        try:
            while True:
                yield item
        finally:
            now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on Linux
            with self._changed:
                self._closed[tag] = now
                self._changed.notify_all()

    def closed_at(self, tag: str, timeout: float) -> float:
        with self._changed:
            self._changed.wait_for(lambda: tag in self._closed, timeout)
            return self._closed.pop(tag, -1.0)
