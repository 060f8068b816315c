"""Docstrings of every shape are carried into the stubs."""

from abc import ABC, abstractmethod


class DocsInterface(ABC):
    '''Single-quoted "docstring" with a backslash \\ and """ quotes.

    A second paragraph.
    '''

    @abstractmethod
    def multi(self, text: str) -> str:
        """First line.

        Indented continuation:
            - a bullet with "quotes"
        """

    @abstractmethod
    def raw(self, pattern: str) -> bool:
        r"""A raw docstring: \d+ stays as written."""

    @abstractmethod
    def plain(self) -> int:  # a comment the stub does not need
        return 0
