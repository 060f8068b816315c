from __future__ import annotations

from futures.futures_interface import Box, FuturesInterface


class Futures(FuturesInterface):
    def wrap(self, value: int) -> Box:
        return Box(value)

    def unwrap(self, box: Box | None = None) -> int | None:
        return None if box is None else box.value
