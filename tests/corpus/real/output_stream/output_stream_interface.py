from types import TracebackType
from typing import Optional, Protocol, Type


class OutputStreamInterface(Protocol):
    """A stream of bytes to write."""

    def write(self, b: bytes) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> "OutputStreamInterface": ...

    def __exit__(
        self, exctype: Optional[Type[BaseException]], excinst: Optional[BaseException], exctb: Optional[TracebackType]
    ) -> None: ...
