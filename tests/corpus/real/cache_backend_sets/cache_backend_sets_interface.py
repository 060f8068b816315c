from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

Key = str
Value = Any


class _BackendInterface(metaclass=ABCMeta):
    @abstractmethod
    async def set(self, key: Key, value: Value, expire: float | None = None, exist: bool | None = None) -> bool:
        """Set a value, optionally only if it exists (or not)."""

    @abstractmethod
    async def set_many(self, pairs: Mapping[Key, Value], expire: float | None = None) -> None:
        """Set many values."""

    @abstractmethod
    async def get_many(self, *keys: Key, default: Value | None = None) -> tuple[Value | None, ...]:
        """Many values."""

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


class CacheBackendSetsInterface(_SetMixin, _BackendInterface, metaclass=ABCMeta):
    """A cache backend assembled from mixins (the set part)."""
