"""The kitchen implementation (see kitchen/kitchen_interface.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from kitchen.kitchen_interface import DetailedError, JSONDecodeError, KitchenError, KitchenInterface


class PrivateError(Exception):
    """Defined only on the server side: the client gets srpc.RemoteError."""


class FatalSignal(BaseException):
    """Not an Exception: must reach the client as srpc.RemoteError."""


def _echo(self: object, value: Any) -> Any:
    return value


class Kitchen(KitchenInterface):
    def __init__(self) -> None:
        self.calls = 0
        self.sleeping = threading.Event()

    def params(
        self, a: int, /, b: str, *args: float, c: bool, d: int = 4, **kwargs: str
    ) -> dict[str, Any]:
        return {"a": a, "b": b, "args": list(args), "c": c, "d": d, "kwargs": kwargs}

    def defaults(self, a: int, b: int = 10, *, c: int = 100) -> int:
        return a + b + c

    def raise_error(self, kind: str) -> None:
        errors: dict[str, BaseException] = {
            "zero": ZeroDivisionError("division by zero"),
            "key": KeyError("missing"),
            "value": ValueError("bad value", 3),
            "oserror": FileNotFoundError(2, "No such file or directory", "/nope"),
            "kitchen": KitchenError("boom"),
            "detailed": DetailedError(7, "the detail"),
            "imported": JSONDecodeError("Expecting value", "{x", 1),
            "private": PrivateError("secret"),
            "systemexit": SystemExit(3),
            "keyboard": KeyboardInterrupt(),
            "base": FatalSignal("fatal"),
            "unencodable": ValueError(object()),
        }
        raise errors[kind]

    def bad_result(self, kind: str) -> int:
        values: dict[str, Any] = {
            "str": "not an int",
            "none": None,
            "object": object(),
            "bool": True,
        }
        return values[kind]  # type: ignore[no-any-return]

    def sleep(self, seconds: float) -> float:
        self.sleeping.set()
        time.sleep(seconds)
        return seconds

    async def async_add(self, a: int, b: int) -> int:
        return a + b

    async def async_sleep(self, seconds: float, value: str) -> str:
        await asyncio.sleep(seconds)
        return value

    async def async_raise(self, kind: str) -> None:
        await asyncio.sleep(0)
        self.raise_error(kind)

    def blob(self, data: bytes) -> bytes:
        return data[::-1]


# Every echo_* procedure returns its argument unchanged.
for _name in KitchenInterface.__abstractmethods__:
    if _name.startswith("echo_"):
        setattr(Kitchen, _name, _echo)
Kitchen.__abstractmethods__ = frozenset()
