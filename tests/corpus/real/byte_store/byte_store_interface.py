from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Generic, Optional, TypeVar, Union

K = TypeVar("K")
V = TypeVar("V")


class BaseStore(Generic[K, V], ABC):
    """A key/value store with batch operations."""

    @abstractmethod
    def mget(self, keys: Sequence[K]) -> list[Optional[V]]:
        """The values of keys (None where missing)."""

    @abstractmethod
    def mset(self, key_value_pairs: Sequence[tuple[K, V]]) -> None:
        """Set many values."""

    @abstractmethod
    def mdelete(self, keys: Sequence[K]) -> None:
        """Delete many keys."""

    @abstractmethod
    def yield_keys(self, *, prefix: Optional[str] = None) -> Union[Iterator[K], Iterator[str]]:
        """Every key, optionally under a prefix."""


class ByteStoreInterface(BaseStore[str, bytes]):
    """A BaseStore of bytes."""
