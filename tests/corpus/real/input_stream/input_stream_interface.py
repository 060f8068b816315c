from io import SEEK_SET
from types import TracebackType
from typing import Optional, Protocol, Type


class InputStreamInterface(Protocol):
    """A seekable stream of bytes to read."""

    def read(self, size: int = 0) -> bytes: ...

    def seek(self, offset: int, whence: int = SEEK_SET) -> int: ...

    def tell(self) -> int: ...

    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> "InputStreamInterface": ...

    def __exit__(
        self, exctype: Optional[Type[BaseException]], excinst: Optional[BaseException], exctb: Optional[TracebackType]
    ) -> None: ...
