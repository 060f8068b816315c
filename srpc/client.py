"""PLACEHOLDER for the runtime issue: the API shape only (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from srpc.descriptor import ServiceDescriptor

__all__ = ["AsyncClient", "SyncClient"]


class SyncClient:
    _srpc_service: ClassVar[ServiceDescriptor]

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        raise NotImplementedError

    def _srpc_call(self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class AsyncClient:
    _srpc_service: ClassVar[ServiceDescriptor]

    async def _srpc_call(self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError
