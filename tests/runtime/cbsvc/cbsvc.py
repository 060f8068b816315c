"""The callback service's implementation."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any

from cbsvc.cbsvc_interface import AsyncProgress, CbsvcInterface, Progress


class Cbsvc(CbsvcInterface):
    def __init__(self) -> None:
        self.kept: Callable[[int], int] | None = None
        self.seen: list[str] = []

    def run(self, steps: int, progress: Progress) -> int:
        done = 0
        for step in range(1, steps + 1):
            if progress.should_stop():
                break
            progress.update(step, steps)
            done = step
        return done

    def each(self, items: list[int], fn: Callable[[int], int]) -> list[int]:
        return [fn(x) for x in items]

    async def arun(self, steps: int, progress: AsyncProgress) -> list[str]:
        return [await progress.update(step) for step in range(1, steps + 1)]

    async def amap(self, items: list[int], fn: Callable[[int], Awaitable[int]]) -> list[int]:
        return [await fn(x) for x in items]

    def add(self, a: int, b: int) -> int:
        return a + b

    def keep(self, fn: Callable[[int], int]) -> int:
        self.kept = fn
        return fn(1)

    def use_kept(self) -> str:
        assert self.kept is not None
        try:
            self.kept(2)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "no error"

    def wrong(self, fn: Callable[[int], int]) -> str:
        bad: Any = "not an int"
        try:
            fn(bad)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return "no error"

    def guarded(self, fn: Callable[[int], int]) -> int:
        try:
            return fn(1)
        except BaseException as exc:
            self.seen.append(type(exc).__name__)
            raise

    def errors(self) -> list[str]:
        return list(self.seen)

    def is_proxy(self, progress: Progress) -> bool:
        return isinstance(progress, Progress)

    def fan(self, n: int, fn: Callable[[int], int]) -> list[int]:
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            return list(pool.map(fn, range(n)))
