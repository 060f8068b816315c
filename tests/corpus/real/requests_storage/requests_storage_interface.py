from abc import ABC
from collections.abc import MutableMapping
from typing import Any, TypeVar

KT = TypeVar("KT")
VT = TypeVar("VT")


class RequestsStorageInterface(MutableMapping[KT, VT], ABC):
    """A dict-like storage of cached responses."""

    def __init__(self, serializer: Any = None, **kwargs: Any) -> None:
        self.serializer = serializer

    def bulk_delete(self, keys: list[KT]) -> None:
        for key in keys:
            try:
                del self[key]
            except KeyError:
                pass

    def close(self) -> None:
        """Close any open connections."""
