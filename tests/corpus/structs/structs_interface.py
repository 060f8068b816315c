"""msgspec.Struct types, one from `import msgspec`, one from `from msgspec import Struct`."""

from abc import ABC, abstractmethod

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
