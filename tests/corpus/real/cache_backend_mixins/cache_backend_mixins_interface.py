from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

Key = str
Value = Any


class _BackendInterface(metaclass=ABCMeta):
    @property
    def is_init(self) -> bool:
        return True

    @abstractmethod
    async def set(self, key: Key, value: Value, expire: float | None = None, exist: bool | None = None) -> bool:
        """Set a value, optionally only if it exists (or not)."""

    @abstractmethod
    async def set_many(self, pairs: Mapping[Key, Value], expire: float | None = None) -> None:
        """Set many values."""

    @abstractmethod
    async def get(self, key: Key, default: Value | None = None) -> Value:
        """The value, or default."""

    @abstractmethod
    async def get_many(self, *keys: Key, default: Value | None = None) -> tuple[Value | None, ...]:
        """Many values."""

    @abstractmethod
    async def exists(self, key: Key) -> bool:
        pass

    @abstractmethod
    def scan(self, pattern: str, batch_size: int = 100) -> AsyncIterator[Key]:
        """Every key matching pattern."""

    @abstractmethod
    async def incr(self, key: Key, value: int = 1, expire: float | None = None) -> int:
        pass

    @abstractmethod
    async def delete(self, key: Key) -> bool:
        pass

    @abstractmethod
    async def delete_many(self, *keys: Key) -> None:
        pass


class _SetMixin(metaclass=ABCMeta):
    @abstractmethod
    async def set_add(self, key: Key, *values: str, expire: float | None = None) -> None:
        pass

    @abstractmethod
    async def set_pop(self, key: Key, count: int = 100) -> Iterable[str]:
        pass


class CacheBackendMixinsInterface(_SetMixin, _BackendInterface, metaclass=ABCMeta):
    """A cache backend assembled from mixins."""

    @abstractmethod
    async def ping(self, message: bytes | None = None) -> bytes:
        pass

    @abstractmethod
    async def clear(self) -> None:
        pass
