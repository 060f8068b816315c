"""metaclass=ABCMeta and abstractmethod under another name."""

from abc import ABCMeta
from abc import abstractmethod as am


class MetaabcInterface(metaclass=ABCMeta):
    @am
    def greet(self, name: str = "world") -> str: ...
