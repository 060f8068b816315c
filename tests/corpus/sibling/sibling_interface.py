"""A relative import of a sibling module's types."""

from abc import ABC, abstractmethod

from . import models
from .models import Item


class SiblingInterface(ABC):
    @abstractmethod
    def cheapest(self, items: list[Item]) -> Item | None: ...

    @abstractmethod
    def make(self, name: str) -> models.Item: ...
