"""The benchmark service: the same three procedures every contestant serves."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray


@dataclass
class Record:
    """One row of the ``records`` workload."""

    id: int
    score: float
    name: str
    active: bool
    tags: list[int]


class RecordS(msgspec.Struct):
    """The same row as a ``msgspec.Struct`` (W4s)."""

    id: int
    score: float
    name: str
    active: bool
    tags: list[int]


class BenchsvcInterface(ABC):
    """What the benchmark calls: a tiny call, a big payload and structured data."""

    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """Return a + b (W1, W2, W5)."""

    @abstractmethod
    def echo(self, data: bytes) -> bytes:
        """Return ``data`` unchanged (W3)."""

    @abstractmethod
    def records(self, n: int = 100) -> list[Record]:
        """Return ``n`` records built fresh for every call (W4)."""

    @abstractmethod
    def records_struct(self, n: int = 100) -> list[RecordS]:
        """The same ``n`` records as ``msgspec.Struct`` rows (W4s)."""

    @abstractmethod
    def echo_array(self, a: NDArray[np.float32]) -> NDArray[np.float32]:
        """Return the array unchanged (W6)."""
