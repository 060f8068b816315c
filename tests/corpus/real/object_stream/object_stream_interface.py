from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Generic, TypeVar

T_Item = TypeVar("T_Item")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)


class AsyncResource(metaclass=ABCMeta):
    @abstractmethod
    async def aclose(self) -> None:
        """Close the resource."""


class ObjectReceiveStream(AsyncResource, Generic[T_co]):
    @abstractmethod
    async def receive(self) -> T_co:
        """Receive the next item."""


class ObjectSendStream(AsyncResource, Generic[T_contra]):
    @abstractmethod
    async def send(self, item: T_contra) -> None:
        """Send an item."""


class ObjectStreamInterface(ObjectReceiveStream[T_Item], ObjectSendStream[T_Item]):
    """A bidirectional object stream."""

    @abstractmethod
    async def send_eof(self) -> None:
        """Send an end-of-file indication."""
