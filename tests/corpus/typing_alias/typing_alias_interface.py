"""typing under an alias, and a module-level type alias."""

import typing as t
from abc import ABC, abstractmethod

Vector = list[float]


class TypingAliasInterface(ABC):
    @abstractmethod
    def norm(self, v: Vector) -> float: ...

    @abstractmethod
    def first(self, values: t.Sequence[int], default: t.Optional[int] = None) -> t.Optional[int]: ...

    @abstractmethod
    def tags(self) -> t.Dict[str, t.Any]: ...
