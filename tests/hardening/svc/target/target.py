"""The attack suite service's implementation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from target.target_interface import TargetInterface

_MAX_HOLD = 120.0


class Unprintable(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt


class Target(TargetInterface):
    def probe(self, value: str) -> str:
        time.sleep(0.002)
        return value

    def add(self, a: int, b: int) -> int:
        return a + b

    def describe(self, value: Any) -> str:
        return type(value).__name__

    def count_keys(self, table: dict[str, int]) -> int:
        return len(table)

    def echo_bytes(self, data: bytes) -> bytes:
        return data

    def big_reply(self, size: int) -> bytes:
        return b"r" * max(0, min(size, 64 * 1024 * 1024))

    def hold(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, _MAX_HOLD)))

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, _MAX_HOLD)))

    def unprintable(self) -> None:
        raise Unprintable("never shown")

    def notify(self, times: int, fn: Callable[[int], int]) -> int:
        return sum(fn(i) for i in range(max(0, min(times, 100))))
