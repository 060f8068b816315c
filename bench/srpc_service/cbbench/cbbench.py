"""The callback bench service's implementation: each callback timed where it is made."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import srpc
from cbbench.cbbench_interface import CbbenchInterface


class Cbbench(CbbenchInterface):
    @srpc.inline
    def add(self, a: int, b: int) -> int:
        return a + b

    def add_pooled(self, a: int, b: int) -> int:
        return a + b

    def time_sync(self, n: int, fn: Callable[[int], int]) -> list[int]:
        clock = time.perf_counter_ns
        out = []
        for i in range(n):
            begun = clock()
            fn(i)
            out.append(clock() - begun)
        return out

    async def time_async(self, n: int, fn: Callable[[int], Awaitable[int]]) -> list[int]:
        clock = time.perf_counter_ns
        out = []
        for i in range(n):
            begun = clock()
            await fn(i)
            out.append(clock() - begun)
        return out
