"""The calc service: four arithmetic procedures."""

from abc import ABC, abstractmethod


class CalcInterface(ABC):
    """A calculator served over srpc."""

    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """Return a + b."""

    @abstractmethod
    def sub(self, a: int, b: int) -> int:
        """Return a - b."""

    @abstractmethod
    def mult(self, a: int, b: int) -> int:
        """Return a * b."""

    @abstractmethod
    def div(self, a: int, b: int) -> float:
        """Return a / b; raises ZeroDivisionError when b is 0."""
