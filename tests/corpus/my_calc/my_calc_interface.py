"""A snake_case service name: my_calc -> MyCalcInterface."""

from abc import ABC, abstractmethod


class MyCalcInterface(ABC):
    @abstractmethod
    def add(self, a: int, b: int) -> int: ...

    @abstractmethod
    def div(self, a: int, b: int) -> float: ...
