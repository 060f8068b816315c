"""Async procedures next to sync ones."""

import abc


class AsyncsvcInterface(abc.ABC):
    @abc.abstractmethod
    async def fetch(self, key: str) -> int:
        """Awaited on the server."""

    @abc.abstractmethod
    async def store(self, key: str, value: int) -> None: ...

    @abc.abstractmethod
    def size(self) -> int: ...
