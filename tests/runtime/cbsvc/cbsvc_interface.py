"""A service whose procedures take callbacks (SPEC 12a): the runtime tests' callback service."""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable


class CallbackFailed(Exception):
    """Raised by a test's callback, to check that it reaches the implementation as itself."""


class Progress(ABC):
    """What a caller passes to follow a job."""

    @abstractmethod
    def update(self, done: int, total: int) -> None:
        """One step of ``total`` is done."""

    @abstractmethod
    def should_stop(self) -> bool:
        """Whether the job should stop now."""


class AsyncProgress(ABC):
    """The same, awaited by an async implementation."""

    @abstractmethod
    async def update(self, done: int) -> str:
        """One step is done; the caller says something back."""


class CbsvcInterface(ABC):
    """Procedures that call back into their caller."""

    @abstractmethod
    def run(self, steps: int, progress: Progress) -> int:
        """Report each of ``steps`` steps; stop early when asked to; return the steps done."""

    @abstractmethod
    def each(self, items: list[int], fn: Callable[[int], int]) -> list[int]:
        """``[fn(x) for x in items]``, each ``fn`` run by the caller."""

    @abstractmethod
    async def arun(self, steps: int, progress: AsyncProgress) -> list[str]:
        """Await ``progress.update`` for each step; return what the caller answered."""

    @abstractmethod
    async def amap(self, items: list[int], fn: Callable[[int], Awaitable[int]]) -> list[int]:
        """``[await fn(x) for x in items]``."""

    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """A plain call, for callbacks that call the server again."""

    @abstractmethod
    def keep(self, fn: Callable[[int], int]) -> int:
        """Call ``fn(1)``, keep the proxy and return; ``use_kept`` calls it later."""

    @abstractmethod
    def use_kept(self) -> str:
        """Call the proxy ``keep`` kept, after its call ended: the error's type and text."""

    @abstractmethod
    def wrong(self, fn: Callable[[int], int]) -> str:
        """Call ``fn`` with a string: what the caller's validation answered."""

    @abstractmethod
    def guarded(self, fn: Callable[[int], int]) -> int:
        """``fn(1)``; what it raises is noted (see ``errors``) and raised again."""

    @abstractmethod
    def errors(self) -> list[str]:
        """The exceptions ``guarded`` saw, by type name, oldest first."""

    @abstractmethod
    def is_proxy(self, progress: Progress) -> bool:
        """Whether the implementation received an instance of the callback's interface."""

    @abstractmethod
    def fan(self, n: int, fn: Callable[[int], int]) -> list[int]:
        """``fn(0) .. fn(n - 1)`` called from ``n`` threads at once."""
