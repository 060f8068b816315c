from abc import ABC, abstractmethod
from typing import Dict, List


class BotStorageInterface(ABC):
    """Reads and writes a bot's state objects by key."""

    @abstractmethod
    async def read(self, keys: List[str]) -> Dict[str, object]:
        """Loads store items from storage."""
        raise NotImplementedError()

    @abstractmethod
    async def write(self, changes: Dict[str, object]):
        """Saves store items to storage."""
        raise NotImplementedError()

    @abstractmethod
    async def delete(self, keys: List[str]):
        """Removes store items from storage."""
        raise NotImplementedError()
