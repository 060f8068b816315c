from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

_DI = TypeVar("_DI")
_DO = TypeVar("_DO")


class DatasetIoInterface(abc.ABC, Generic[_DI, _DO]):
    """Loads and saves one dataset."""

    def load(self) -> _DO:
        return self._load()

    def save(self, data: _DI) -> None:
        self._save(data)

    @abc.abstractmethod
    def _load(self) -> _DO:
        raise NotImplementedError

    @abc.abstractmethod
    def _save(self, data: _DI) -> None:
        raise NotImplementedError

    @abc.abstractmethod
    def _describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _exists(self) -> bool:
        return False
