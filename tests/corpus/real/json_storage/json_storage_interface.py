from abc import ABC, abstractmethod
from typing import Any, Dict, Optional


class JsonStorageInterface(ABC):
    """The interface of a storage backend of a document database."""

    @abstractmethod
    def read(self) -> Optional[Dict[str, Dict[str, Any]]]:
        """Read the current state (None when the storage is empty)."""
        raise NotImplementedError('To be overridden!')

    @abstractmethod
    def write(self, data: Dict[str, Dict[str, Any]]) -> None:
        """Write the current state of the database to the storage."""
        raise NotImplementedError('To be overridden!')

    def close(self) -> None:
        """Optional: close open file handles, etc."""
        pass
