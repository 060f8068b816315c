"""A service that streams results and arguments, for the stream tests."""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator


class StreamsvcInterface(ABC):
    """Every stream shape: server, client and bidirectional; sync and async."""

    @abstractmethod
    def count(self, n: int, delay: float = 0.0) -> Iterator[int]:
        """Yield 0 .. n-1, sleeping ``delay`` before each."""

    @abstractmethod
    def tail(self, n: int) -> AsyncIterator[int]:
        """The same from an async generator."""

    @abstractmethod
    def total(self, values: Iterator[int]) -> int:
        """The sum of a streamed argument (sync implementation)."""

    @abstractmethod
    async def atotal(self, values: AsyncIterator[int]) -> int:
        """The sum of a streamed argument (async implementation)."""

    @abstractmethod
    def echo(self, values: Iterator[str]) -> Iterator[str]:
        """Each item back, upper-cased, as it arrives (bidirectional)."""

    @abstractmethod
    def fail_after(self, n: int) -> Iterator[int]:
        """Yield n items, then raise ValueError."""

    @abstractmethod
    def wrong_item(self) -> Iterator[int]:
        """Yield 1, then a str."""

    @abstractmethod
    def forever(self, tag: str) -> Iterator[int]:
        """Yield for ever; its finally records ``tag``."""

    @abstractmethod
    def aforever(self, tag: str) -> AsyncIterator[int]:
        """Yield for ever from an async generator; its finally records ``tag``."""

    @abstractmethod
    def deadline(self) -> float:
        """What current_call().time_remaining() says, or -1.0 without a deadline."""

    @abstractmethod
    def wait_cancelled(self, tag: str, seconds: float) -> bool:
        """Poll current_call().cancelled for up to ``seconds``; record ``tag`` if it was."""

    @abstractmethod
    async def await_cancelled(self, tag: str, seconds: float) -> bool:
        """Sleep; record ``tag`` if the sleep was cancelled."""

    @abstractmethod
    def events(self) -> list[str]:
        """What the finally blocks and cancellations recorded so far."""
