"""PLACEHOLDER for the runtime issue: the API shape only (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from srpc.descriptor import ServiceDescriptor

__all__ = ["Server"]


class Server:
    _srpc_service: ClassVar[ServiceDescriptor]

    def _srpc_default_impl(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError
