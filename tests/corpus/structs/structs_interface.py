"""msgspec.Struct types, one from `import msgspec`, one from `from msgspec import Struct`."""

from abc import ABC, abstractmethod
from typing import Annotated

import msgspec
from msgspec import Struct


class User(msgspec.Struct):
    name: str
    age: int = 0


class Group(Struct, frozen=True):
    members: list[User]


class StructsInterface(ABC):
    @abstractmethod
    def oldest(self, group: Group) -> User | None: ...

    @abstractmethod
    def group(self, *users: User) -> Group: ...

    @abstractmethod
    def older_than(self, group: Group, age: Annotated[int, msgspec.Meta(ge=0)] = 0) -> list[User]: ...
