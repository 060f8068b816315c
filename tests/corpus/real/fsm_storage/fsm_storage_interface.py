from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

StateType = Optional[Union[str, "State"]]

DEFAULT_DESTINY = "default"


class State(str):
    """A named state of a finite-state machine (a str here)."""


@dataclass(frozen=True)
class StorageKey:
    bot_id: int
    chat_id: int
    user_id: int
    thread_id: Optional[int] = None
    business_connection_id: Optional[str] = None
    destiny: str = DEFAULT_DESTINY


class FsmStorageInterface(ABC):
    """Where a bot keeps each conversation's state and data."""

    @abstractmethod
    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state for a key."""

    @abstractmethod
    async def get_state(self, key: StorageKey) -> Optional[str]:
        """The key's state."""

    @abstractmethod
    async def set_data(self, key: StorageKey, data: Dict[str, Any]) -> None:
        """Replace the key's data."""

    @abstractmethod
    async def get_data(self, key: StorageKey) -> Dict[str, Any]:
        """The key's data."""

    async def update_data(self, key: StorageKey, data: Dict[str, Any]) -> Dict[str, Any]:
        current = await self.get_data(key=key)
        current.update(data)
        await self.set_data(key=key, data=current)
        return current

    @abstractmethod
    async def close(self) -> None:
        """Release the storage's connections."""
