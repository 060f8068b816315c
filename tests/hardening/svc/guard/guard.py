"""The hardening service's implementation."""

from __future__ import annotations

import asyncio

from guard.guard_interface import GuardInterface


class Guard(GuardInterface):
    def echo(self, value: str) -> str:
        return value

    async def slow(self, seconds: float, value: str) -> str:
        await asyncio.sleep(seconds)
        return value

    def fail(self, value: str) -> None:
        raise ValueError(value)
