"""Every parameter kind."""

from abc import ABC, abstractmethod


class KindsInterface(ABC):
    @abstractmethod
    def everything(
        self, a: int, b: int = 2, /, c: int = 3, *args: int, d: int, e: int = 5, **kwargs: int
    ) -> list[int]:
        """Return every argument in order: a, b, c, *args, d, e, then kwargs values."""

    @abstractmethod
    def positional_only(self, x: str, y: str = "y", /) -> str: ...

    @abstractmethod
    def star_only(self, *values: float) -> float: ...

    @abstractmethod
    def kwargs_only(self, **options: str) -> dict[str, str]: ...

    @abstractmethod
    def mixed(self, head: int, *rest: str, flag: bool = False) -> tuple[int, tuple[str, ...], bool]: ...

    @abstractmethod
    def self_positional_only(self, /, *, key: str) -> str: ...
