from __future__ import annotations

import threading
from abc import ABCMeta, abstractmethod
from typing import Any, Optional

SCHEMES: dict[str, type] = {}


class StorageRegistry(ABCMeta):
    def __new__(mcs, name: str, bases: tuple[type, ...], dct: dict[str, Any]) -> StorageRegistry:
        storage_scheme = dct.get("STORAGE_SCHEME", None)
        cls = super().__new__(mcs, name, bases, dct)
        for scheme in storage_scheme or []:
            SCHEMES[scheme] = cls
        return cls


class RateStorageInterface(metaclass=StorageRegistry):
    """Counters for rate limits, each expiring after its window."""

    STORAGE_SCHEME: Optional[list[str]] = None

    def __init__(self, uri: Optional[str] = None, **options: Any) -> None:
        self.lock = threading.RLock()

    @abstractmethod
    def incr(self, key: str, expiry: int, elastic_expiry: bool = False, amount: int = 1) -> int:
        """Add to a key's counter."""
        raise NotImplementedError

    @abstractmethod
    def get(self, key: str) -> int:
        raise NotImplementedError

    @abstractmethod
    def get_expiry(self, key: str) -> float:
        raise NotImplementedError

    @abstractmethod
    def check(self) -> bool:
        """Whether the storage is healthy."""
        raise NotImplementedError

    @abstractmethod
    def reset(self) -> Optional[int]:
        raise NotImplementedError

    @abstractmethod
    def clear(self, key: str) -> None:
        raise NotImplementedError
