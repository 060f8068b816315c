"""Keyword-only parameters whose defaults are expressions of the module."""

from abc import ABC, abstractmethod

DEFAULT_LIMIT = 10
SEPARATORS = (",", ";")


class KwonlyInterface(ABC):
    @abstractmethod
    def search(
        self,
        query: str,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = -1 + 1,
        separators: tuple[str, ...] = SEPARATORS,
        scale: float = 1e3,
    ) -> list[str]: ...

    @abstractmethod
    def label(self, *, name: str, upper: bool = False) -> str: ...
