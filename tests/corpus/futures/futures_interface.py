"""`from __future__ import annotations` with forward references."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class FuturesInterface(ABC):
    @abstractmethod
    def wrap(self, value: int) -> Box: ...

    @abstractmethod
    def unwrap(self, box: Box | None = None) -> int | None: ...


@dataclass
class Box:
    value: int
