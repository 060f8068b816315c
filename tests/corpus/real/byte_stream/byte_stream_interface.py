from __future__ import annotations

from abc import ABCMeta, abstractmethod
from types import TracebackType
from typing import Any, TypeVar

T_Attr = TypeVar("T_Attr")


class AsyncResource(metaclass=ABCMeta):
    """Something that must be closed after use."""

    async def __aenter__(self) -> AsyncResource:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abstractmethod
    async def aclose(self) -> None:
        """Close the resource."""


class TypedAttributeProvider:
    """Attributes looked up by key."""

    @property
    def extra_attributes(self) -> dict[Any, Any]:
        return {}


class ByteReceiveStream(AsyncResource, TypedAttributeProvider):
    @abstractmethod
    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Receive at most max_bytes bytes."""


class ByteSendStream(AsyncResource, TypedAttributeProvider):
    @abstractmethod
    async def send(self, item: bytes) -> None:
        """Send the given bytes."""


class ByteStreamInterface(ByteReceiveStream, ByteSendStream):
    """A bidirectional byte stream."""

    @abstractmethod
    async def send_eof(self) -> None:
        """Send an end-of-file indication."""
