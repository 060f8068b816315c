from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from .messages import BaseMessage


class ChatHistoryInterface(ABC):
    """The messages of one conversation."""

    messages: list[BaseMessage]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        for message in messages:
            self.messages.append(message)

    async def aget_messages(self) -> list[BaseMessage]:
        return self.messages

    @abstractmethod
    def clear(self) -> None:
        """Remove every message."""

    async def aclear(self) -> None:
        self.clear()
