"""Results of every kind the server checks: dataclasses, Structs, lists of them, constraints."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Annotated

import msgspec


@dataclass
class Row:
    """A dataclass row."""

    id: int
    name: str
    tags: list[int]


class Point(msgspec.Struct):
    """A Struct row."""

    x: int
    label: str


@dataclass
class Count:
    """A dataclass with a constrained field."""

    n: Annotated[int, msgspec.Meta(ge=0)]


class ResultcheckInterface(ABC):
    """Each procedure returns a good value, or the bad one ``fault`` names."""

    @abstractmethod
    def rows(self, fault: str) -> list[Row]:
        """Three rows; ``field``: row 2's name is an int; ``element``: a tag of row 1 is a str."""

    @abstractmethod
    async def async_rows(self, fault: str) -> list[Row]:
        """The same as ``rows``, from an async implementation."""

    @abstractmethod
    def point(self, fault: str) -> Point:
        """A Point; ``field``: its x is a str."""

    @abstractmethod
    def points(self, fault: str) -> list[Point]:
        """Three Points; ``field``: point 1's label is an int."""

    @abstractmethod
    def count(self, n: int) -> Count:
        """A Count of ``n``, which may break the constraint n >= 0."""
