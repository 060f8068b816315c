"""The callbacks corpus service's implementation."""

from collections.abc import Awaitable, Callable

from callbacks.callbacks_interface import AsyncProgress, CallbacksInterface, Progress


class Callbacks(CallbacksInterface):
    def run(self, steps: int, progress: Progress) -> int:
        done = 0
        for _ in range(steps):
            if progress.should_stop():
                break
            done += 1
            progress.update(done, steps)
        return done

    def each(self, items: list[int], fn: Callable[[int], int]) -> list[int]:
        return [fn(item) for item in items]

    async def arun(self, steps: int, progress: AsyncProgress) -> int:
        for done in range(1, steps + 1):
            await progress.update(done)
        return steps

    async def amap(self, items: list[int], fn: Callable[[int], Awaitable[int]]) -> list[int]:
        return [await fn(item) for item in items]

    def notify(self, *, label: str, on_done: Callable[[str, int], None], times: int = 1) -> None:
        for i in range(times):
            on_done(label, i)
