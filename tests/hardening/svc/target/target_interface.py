"""The service the attack suite (tests/hardening/attack) aims at.

It has what an attacker looks for: untyped (``Any``) and ``dict`` arguments,
``bytes`` in and out, sync procedures that hold a worker thread, an async
one, and one whose exception cannot even be printed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any


class TargetInterface(ABC):
    """Procedures for the attacks of issue 11 and the health probe."""

    @abstractmethod
    def probe(self, value: str) -> str:
        """Return ``value`` after ~2 ms of work: slow enough to stay on the worker threads."""

    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """Return ``a + b`` (int-only: no untyped argument)."""

    @abstractmethod
    def describe(self, value: Any) -> str:
        """Return the type name of an untyped ``value``."""

    @abstractmethod
    def count_keys(self, table: dict[str, int]) -> int:
        """Return how many keys ``table`` has."""

    @abstractmethod
    def echo_bytes(self, data: bytes) -> bytes:
        """Return ``data``."""

    @abstractmethod
    def big_reply(self, size: int) -> bytes:
        """Return ``size`` bytes."""

    @abstractmethod
    def hold(self, seconds: float) -> None:
        """Block a worker thread for ``seconds`` (at most 120)."""

    @abstractmethod
    async def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` on the event loop, holding no thread (at most 120)."""

    @abstractmethod
    def unprintable(self) -> None:
        """Raise an exception whose ``__str__`` raises ``KeyboardInterrupt``."""

    @abstractmethod
    def notify(self, times: int, fn: Callable[[int], int]) -> int:
        """Call the caller's ``fn`` ``times`` times (at most 100) from a worker thread."""
