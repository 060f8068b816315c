"""Scalars in and out."""

from abc import ABC, abstractmethod


class BasicInterface(ABC):
    @abstractmethod
    def echo(self, text: str) -> str: ...

    @abstractmethod
    def add(self, a: int, b: float) -> float: ...

    @abstractmethod
    def flip(self, flag: bool) -> bool: ...

    @abstractmethod
    def blob(self, data: bytes, extra: bytearray) -> bytes: ...

    @abstractmethod
    def ping(self) -> None: ...
