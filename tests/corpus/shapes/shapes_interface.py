"""Dataclasses and enums defined in the interface module."""

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass
class Polygon:
    points: list[Point] = field(default_factory=list)
    color: Color = Color.RED


class ShapesInterface(ABC):
    @abstractmethod
    def centroid(self, polygon: Polygon) -> Point: ...

    @abstractmethod
    def paint(self, polygon: Polygon, color: Color = Color.GREEN) -> Polygon: ...

    @abstractmethod
    def level(self, level: Level) -> list[Level]: ...
