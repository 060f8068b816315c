"""Builtin and typing generics, nested."""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Dict, FrozenSet, List, Set, Tuple


class GenericsInterface(ABC):
    @abstractmethod
    def nested(self, table: dict[str, list[float]]) -> dict[str, float]: ...

    @abstractmethod
    def variadic(self, values: tuple[int, ...], pair: tuple[str, int]) -> set[int]: ...

    @abstractmethod
    def frozen(self, items: frozenset[str]) -> list[str]: ...

    @abstractmethod
    def legacy(
        self, a: List[int], b: Dict[str, int], c: Tuple[int, str], d: Set[int], e: FrozenSet[int]
    ) -> List[Tuple[str, int]]: ...

    @abstractmethod
    def abstract(self, seq: Sequence[int], mapping: Mapping[str, int]) -> int: ...
