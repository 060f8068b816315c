"""A service that calls back into its caller: interfaces and callables as parameters."""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable


class Progress(ABC):
    """What the server reports while a run goes on."""

    @abstractmethod
    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps are done."""

    @abstractmethod
    def should_stop(self) -> bool:
        """Whether the caller wants the run to stop early."""


class AsyncProgress(ABC):
    @abstractmethod
    async def update(self, done: int) -> None: ...


class CallbacksInterface(ABC):
    """Runs that report back, and maps whose function the caller supplies."""

    @abstractmethod
    def run(self, steps: int, progress: Progress) -> int:
        """Run ``steps`` steps, reporting each; the number of steps done."""

    @abstractmethod
    def each(self, items: list[int], fn: Callable[[int], int]) -> list[int]:
        """``fn`` of each item, called back in the caller."""

    @abstractmethod
    async def arun(self, steps: int, progress: AsyncProgress) -> int: ...

    @abstractmethod
    async def amap(self, items: list[int], fn: Callable[[int], Awaitable[int]]) -> list[int]: ...

    @abstractmethod
    def notify(self, *, label: str, on_done: Callable[[str, int], None], times: int = 1) -> None:
        """A keyword-only callback."""
