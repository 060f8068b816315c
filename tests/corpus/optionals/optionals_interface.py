"""Optional, Union, X | Y, Literal and Any."""

from abc import ABC, abstractmethod
from typing import Any, Literal, Optional, Union


class OptionalsInterface(ABC):
    @abstractmethod
    def maybe(self, value: Optional[int] = None) -> Optional[str]: ...

    @abstractmethod
    def either(self, value: Union[int, str]) -> Union[int, str, None]: ...

    @abstractmethod
    def pipe(self, value: int | str | None) -> float | None: ...

    @abstractmethod
    def mode(self, mode: Literal["r", "w"] = "r") -> Literal[0, 1]: ...

    @abstractmethod
    def anything(self, value: Any) -> Any: ...
