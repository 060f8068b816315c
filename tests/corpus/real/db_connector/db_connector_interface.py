from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from typing_extensions import LiteralString

Notify = Callable[[str, str], Awaitable[None]]


class BaseConnector:
    def get_sync_connector(self) -> "BaseConnector":
        return self


class DbConnectorInterface(BaseConnector, ABC):
    """Runs the queries of a task queue on a database, asynchronously."""

    @abstractmethod
    async def open_async(self, pool: Any = None) -> None: ...

    @abstractmethod
    async def close_async(self) -> None: ...

    @abstractmethod
    async def execute_query_async(self, query: LiteralString, **arguments: Any) -> None: ...

    @abstractmethod
    async def execute_query_one_async(self, query: LiteralString, **arguments: Any) -> dict[str, Any]: ...

    @abstractmethod
    async def execute_query_all_async(self, query: LiteralString, **arguments: Any) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def listen_notify(self, on_notification: Notify, channels: Iterable[str]) -> None: ...
