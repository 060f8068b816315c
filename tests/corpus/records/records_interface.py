"""TypedDict and NamedTuple."""

from abc import ABC, abstractmethod
from typing import NamedTuple, TypedDict


class Movie(TypedDict):
    title: str
    year: int


class Pair(NamedTuple):
    left: int
    right: int


class RecordsInterface(ABC):
    @abstractmethod
    def rate(self, movie: Movie) -> Movie: ...

    @abstractmethod
    def swap(self, pair: Pair) -> Pair: ...

    @abstractmethod
    def movies(self, year: int) -> list[Movie]: ...
