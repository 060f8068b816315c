"""The stream test service's implementation."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

from streamsvc.streamsvc_interface import StreamsvcInterface

import srpc


class Streamsvc(StreamsvcInterface):
    def __init__(self) -> None:
        self.recorded: list[str] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def record(self, event: str) -> None:
        with self.changed:
            self.recorded.append(event)
            self.changed.notify_all()

    def wait_for(self, event: str, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: event in self.recorded, timeout)

    def count(self, n: int, delay: float = 0.0) -> Iterator[int]:
        for i in range(n):
            if delay:
                time.sleep(delay)
            yield i

    async def tail(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    def total(self, values: Iterator[int]) -> int:
        return sum(values)

    async def atotal(self, values: AsyncIterator[int]) -> int:
        return sum([v async for v in values])

    def echo(self, values: Iterator[str]) -> Iterator[str]:
        for value in values:
            yield value.upper()

    def fail_after(self, n: int) -> Iterator[int]:
        yield from range(n)
        raise ValueError(f"failed after {n}")

    def wrong_item(self) -> Iterator[int]:
        yield 1
        yield "x"  # type: ignore[misc]

    def forever(self, tag: str) -> Iterator[int]:
        i = 0
        try:
            while True:
                yield i
                i += 1
        finally:
            self.record(f"closed {tag}")

    async def aforever(self, tag: str) -> AsyncIterator[int]:
        i = 0
        try:
            while True:
                yield i
                i += 1
                await asyncio.sleep(0)
        finally:
            self.record(f"aclosed {tag}")

    def deadline(self) -> float:
        remaining = srpc.current_call().time_remaining()
        return -1.0 if remaining is None else remaining

    def wait_cancelled(self, tag: str, seconds: float) -> bool:
        call = srpc.current_call()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if call.cancelled:
                self.record(f"cancelled {tag}")
                return True
            time.sleep(0.005)
        return False

    async def await_cancelled(self, tag: str, seconds: float) -> bool:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.record(f"cancelled {tag}")
            raise
        return False

    def events(self) -> list[str]:
        with self.lock:
            return list(self.recorded)
