"""A small service for the hardening tests: fast, slow, failing and echoing calls.

Every procedure takes a ``value`` and echoes it back, so a test can check
that each reply belongs to its own call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class GuardInterface(ABC):
    """Echo, slow and failing procedures for fault and load tests."""

    @abstractmethod
    def echo(self, value: str) -> str:
        """Return ``value``."""

    @abstractmethod
    async def slow(self, seconds: float, value: str) -> str:
        """Sleep ``seconds`` (without holding a thread), then return ``value``."""

    @abstractmethod
    def fail(self, value: str) -> None:
        """Raise ``ValueError(value)``."""
