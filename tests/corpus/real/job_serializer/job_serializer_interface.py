from __future__ import annotations

from abc import ABCMeta, abstractmethod
from base64 import b64decode, b64encode
from typing import Any


class JobSerializerInterface(metaclass=ABCMeta):
    """Turns objects into bytes and back."""

    __slots__ = ()

    @abstractmethod
    def serialize(self, obj: object) -> bytes:
        pass

    def serialize_to_unicode(self, obj: object) -> str:
        return b64encode(self.serialize(obj)).decode("ascii")

    @abstractmethod
    def deserialize(self, serialized: bytes) -> Any:
        pass

    def deserialize_from_unicode(self, serialized: str) -> Any:
        return self.deserialize(b64decode(serialized))
