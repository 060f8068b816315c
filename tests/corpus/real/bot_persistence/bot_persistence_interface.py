from abc import ABC, abstractmethod
from typing import Dict, Generic, Optional, TypeVar

UD = TypeVar("UD")
CD = TypeVar("CD")
BD = TypeVar("BD")


class BotPersistenceInterface(Generic[UD, CD, BD], ABC):
    """Keeps a bot's user, chat and bot data between runs."""

    @abstractmethod
    async def get_user_data(self) -> Dict[int, UD]:
        """Every user's data."""

    @abstractmethod
    async def get_chat_data(self) -> Dict[int, CD]:
        """Every chat's data."""

    @abstractmethod
    async def get_bot_data(self) -> BD:
        """The bot's data."""

    @abstractmethod
    async def update_user_data(self, user_id: int, data: UD) -> None:
        pass

    @abstractmethod
    async def update_chat_data(self, chat_id: int, data: CD) -> None:
        pass

    @abstractmethod
    async def update_bot_data(self, data: BD) -> None:
        pass

    @abstractmethod
    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    @abstractmethod
    async def refresh_bot_data(self, bot_data: BD) -> None:
        pass

    @abstractmethod
    async def get_conversations(self, name: str) -> Dict[str, Optional[object]]:
        pass

    @abstractmethod
    async def flush(self) -> None:
        pass
