from typing import Optional


class ReadableSpan:
    """A finished span; its attributes are read through properties."""

    def __init__(self, name: str, context: Optional[object] = None) -> None:
        self._name = name
        self._context = context

    @property
    def name(self) -> str:
        return self._name
