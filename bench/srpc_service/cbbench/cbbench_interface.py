"""The callback bench service (C1): a unary call, and procedures that time their callbacks."""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable


class CbbenchInterface(ABC):
    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """Return a + b: the unary baseline."""

    @abstractmethod
    def add_pooled(self, a: int, b: int) -> int:
        """The same from a plain-def implementation on a worker thread (like time_sync's)."""

    @abstractmethod
    def time_sync(self, n: int, fn: Callable[[int], int]) -> list[int]:
        """Call ``fn`` ``n`` times from a plain-def implementation; each round trip in ns."""

    @abstractmethod
    async def time_async(self, n: int, fn: Callable[[int], Awaitable[int]]) -> list[int]:
        """The same from an async implementation, awaiting an async callback."""
