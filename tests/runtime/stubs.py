# ruff: noqa: UP006, UP007, UP035, UP045 (typing generics are deliberate: SPEC section 4)
"""Hand-written stubs, exactly as srpc-stubgen generates them (docs/ARCHITECTURE.md).

Kept in this one module so the fixtures can switch to generated stubs later.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import (
    Any,
    Dict,
    FrozenSet,
    List,
    Literal,
    Optional,
    Set,
    Tuple,
    Union,
)

from srpc import AsyncClient, Server, ServiceDescriptor, SyncClient

from .kitchen_interface import (
    Color,
    Item,
    KitchenInterface,
    Level,
    Movie,
    Point,
    Record,
)

__all__ = [
    "CALC_SERVICE",
    "KITCHEN_SERVICE",
    "SrpcCalcAsyncClientStub",
    "SrpcCalcClientStub",
    "SrpcCalcServerStub",
    "SrpcKitchenAsyncClientStub",
    "SrpcKitchenClientStub",
    "SrpcKitchenServerStub",
]

KITCHEN_SERVICE = ServiceDescriptor(
    name="kitchen",
    interface=KitchenInterface,
    fingerprint="hand-written-kitchen-v1",
    procedures=(
        "echo_none",
        "echo_bool",
        "echo_int",
        "echo_float",
        "echo_str",
        "echo_bytes",
        "echo_bytearray",
        "echo_list",
        "echo_tuple",
        "echo_tuple_var",
        "echo_dict",
        "echo_dict_int_keys",
        "echo_set",
        "echo_frozenset",
        "echo_typing_list",
        "echo_typing_dict",
        "echo_typing_tuple",
        "echo_typing_set",
        "echo_typing_frozenset",
        "echo_optional",
        "echo_union",
        "echo_pipe_union",
        "echo_literal",
        "echo_any",
        "echo_datetime",
        "echo_date",
        "echo_time",
        "echo_timedelta",
        "echo_uuid",
        "echo_decimal",
        "echo_enum",
        "echo_int_enum",
        "echo_dataclass",
        "echo_dataclass_list",
        "echo_typeddict",
        "echo_namedtuple",
        "echo_struct",
        "echo_nested",
        "params",
        "defaults",
        "raise_error",
        "bad_result",
        "sleep",
        "async_add",
        "async_sleep",
        "async_raise",
        "blob",
    ),
)


class SrpcKitchenClientStub(SyncClient, KitchenInterface):
    """Everything the runtime must carry."""

    _srpc_service = KITCHEN_SERVICE

    def echo_none(self, value: None) -> None:
        """Return ``value``."""
        self._srpc_call("echo_none", (value,), {})

    def echo_bool(self, value: bool) -> bool:
        """Return ``value``."""
        result: bool = self._srpc_call("echo_bool", (value,), {})
        return result

    def echo_int(self, value: int) -> int:
        """Return ``value``."""
        result: int = self._srpc_call("echo_int", (value,), {})
        return result

    def echo_float(self, value: float) -> float:
        """Return ``value``."""
        result: float = self._srpc_call("echo_float", (value,), {})
        return result

    def echo_str(self, value: str) -> str:
        """Return ``value``."""
        result: str = self._srpc_call("echo_str", (value,), {})
        return result

    def echo_bytes(self, value: bytes) -> bytes:
        """Return ``value``."""
        result: bytes = self._srpc_call("echo_bytes", (value,), {})
        return result

    def echo_bytearray(self, value: bytearray) -> bytearray:
        """Return ``value``."""
        result: bytearray = self._srpc_call("echo_bytearray", (value,), {})
        return result

    def echo_list(self, value: list[int]) -> list[int]:
        """Return ``value``."""
        result: list[int] = self._srpc_call("echo_list", (value,), {})
        return result

    def echo_tuple(self, value: tuple[int, str]) -> tuple[int, str]:
        """Return ``value``."""
        result: tuple[int, str] = self._srpc_call("echo_tuple", (value,), {})
        return result

    def echo_tuple_var(self, value: tuple[float, ...]) -> tuple[float, ...]:
        """Return ``value``."""
        result: tuple[float, ...] = self._srpc_call("echo_tuple_var", (value,), {})
        return result

    def echo_dict(self, value: dict[str, int]) -> dict[str, int]:
        """Return ``value``."""
        result: dict[str, int] = self._srpc_call("echo_dict", (value,), {})
        return result

    def echo_dict_int_keys(self, value: dict[int, str]) -> dict[int, str]:
        """Return ``value``."""
        result: dict[int, str] = self._srpc_call("echo_dict_int_keys", (value,), {})
        return result

    def echo_set(self, value: set[int]) -> set[int]:
        """Return ``value``."""
        result: set[int] = self._srpc_call("echo_set", (value,), {})
        return result

    def echo_frozenset(self, value: frozenset[str]) -> frozenset[str]:
        """Return ``value``."""
        result: frozenset[str] = self._srpc_call("echo_frozenset", (value,), {})
        return result

    def echo_typing_list(self, value: List[int]) -> List[int]:
        """Return ``value``."""
        result: List[int] = self._srpc_call("echo_typing_list", (value,), {})
        return result

    def echo_typing_dict(self, value: Dict[str, List[int]]) -> Dict[str, List[int]]:
        """Return ``value``."""
        result: Dict[str, List[int]] = self._srpc_call("echo_typing_dict", (value,), {})
        return result

    def echo_typing_tuple(self, value: Tuple[int, ...]) -> Tuple[int, ...]:
        """Return ``value``."""
        result: Tuple[int, ...] = self._srpc_call("echo_typing_tuple", (value,), {})
        return result

    def echo_typing_set(self, value: Set[str]) -> Set[str]:
        """Return ``value``."""
        result: Set[str] = self._srpc_call("echo_typing_set", (value,), {})
        return result

    def echo_typing_frozenset(self, value: FrozenSet[int]) -> FrozenSet[int]:
        """Return ``value``."""
        result: FrozenSet[int] = self._srpc_call("echo_typing_frozenset", (value,), {})
        return result

    def echo_optional(self, value: Optional[int]) -> Optional[int]:
        """Return ``value``."""
        result: Optional[int] = self._srpc_call("echo_optional", (value,), {})
        return result

    def echo_union(self, value: Union[int, str]) -> Union[int, str]:
        """Return ``value``."""
        result: Union[int, str] = self._srpc_call("echo_union", (value,), {})
        return result

    def echo_pipe_union(self, value: int | str | None) -> int | str | None:
        """Return ``value``."""
        result: int | str | None = self._srpc_call("echo_pipe_union", (value,), {})
        return result

    def echo_literal(self, value: Literal["red", "green"]) -> Literal["red", "green"]:
        """Return ``value``."""
        result: Literal["red", "green"] = self._srpc_call("echo_literal", (value,), {})
        return result

    def echo_any(self, value: Any) -> Any:
        """Return ``value``."""
        result: Any = self._srpc_call("echo_any", (value,), {})
        return result

    def echo_datetime(self, value: datetime.datetime) -> datetime.datetime:
        """Return ``value``."""
        result: datetime.datetime = self._srpc_call("echo_datetime", (value,), {})
        return result

    def echo_date(self, value: datetime.date) -> datetime.date:
        """Return ``value``."""
        result: datetime.date = self._srpc_call("echo_date", (value,), {})
        return result

    def echo_time(self, value: datetime.time) -> datetime.time:
        """Return ``value``."""
        result: datetime.time = self._srpc_call("echo_time", (value,), {})
        return result

    def echo_timedelta(self, value: datetime.timedelta) -> datetime.timedelta:
        """Return ``value``."""
        result: datetime.timedelta = self._srpc_call("echo_timedelta", (value,), {})
        return result

    def echo_uuid(self, value: uuid.UUID) -> uuid.UUID:
        """Return ``value``."""
        result: uuid.UUID = self._srpc_call("echo_uuid", (value,), {})
        return result

    def echo_decimal(self, value: decimal.Decimal) -> decimal.Decimal:
        """Return ``value``."""
        result: decimal.Decimal = self._srpc_call("echo_decimal", (value,), {})
        return result

    def echo_enum(self, value: Color) -> Color:
        """Return ``value``."""
        result: Color = self._srpc_call("echo_enum", (value,), {})
        return result

    def echo_int_enum(self, value: Level) -> Level:
        """Return ``value``."""
        result: Level = self._srpc_call("echo_int_enum", (value,), {})
        return result

    def echo_dataclass(self, value: Record) -> Record:
        """Return ``value``."""
        result: Record = self._srpc_call("echo_dataclass", (value,), {})
        return result

    def echo_dataclass_list(self, value: list[Record]) -> list[Record]:
        """Return ``value``."""
        result: list[Record] = self._srpc_call("echo_dataclass_list", (value,), {})
        return result

    def echo_typeddict(self, value: Movie) -> Movie:
        """Return ``value``."""
        result: Movie = self._srpc_call("echo_typeddict", (value,), {})
        return result

    def echo_namedtuple(self, value: Point) -> Point:
        """Return ``value``."""
        result: Point = self._srpc_call("echo_namedtuple", (value,), {})
        return result

    def echo_struct(self, value: Item) -> Item:
        """Return ``value``."""
        result: Item = self._srpc_call("echo_struct", (value,), {})
        return result

    def echo_nested(self, value: dict[str, list[Point]]) -> dict[str, list[Point]]:
        """Return ``value``."""
        result: dict[str, list[Point]] = self._srpc_call("echo_nested", (value,), {})
        return result

    def params(
        self, a: int, /, b: str, *args: float, c: bool, d: int = 4, **kwargs: str
    ) -> dict[str, Any]:
        """Report how every parameter kind arrived."""
        result: dict[str, Any] = self._srpc_call(
            "params", (a, b, *args), {"c": c, "d": d, **kwargs}
        )
        return result

    def defaults(self, a: int, b: int = 10, *, c: int = 100) -> int:
        """Return a + b + c."""
        result: int = self._srpc_call("defaults", (a, b), {"c": c})
        return result

    def raise_error(self, kind: str) -> None:
        """Raise the exception named by ``kind``."""
        self._srpc_call("raise_error", (kind,), {})

    def bad_result(self, kind: str) -> int:
        """Return a value that does not match ``int``."""
        result: int = self._srpc_call("bad_result", (kind,), {})
        return result

    def sleep(self, seconds: float) -> float:
        """Block the calling thread for ``seconds``; return them."""
        result: float = self._srpc_call("sleep", (seconds,), {})
        return result

    def async_add(self, a: int, b: int) -> int:  # type: ignore[override]
        """Return a + b, from a coroutine."""
        result: int = self._srpc_call("async_add", (a, b), {})
        return result

    def async_sleep(self, seconds: float, value: str) -> str:  # type: ignore[override]
        """Sleep on the event loop, then return ``value``."""
        result: str = self._srpc_call("async_sleep", (seconds, value), {})
        return result

    def async_raise(self, kind: str) -> None:  # type: ignore[override]
        """Raise the exception named by ``kind``, from a coroutine."""
        self._srpc_call("async_raise", (kind,), {})

    def blob(self, data: bytes) -> bytes:
        """Return ``data`` reversed."""
        result: bytes = self._srpc_call("blob", (data,), {})
        return result


class SrpcKitchenAsyncClientStub(AsyncClient):
    """Everything the runtime must carry."""

    _srpc_service = KITCHEN_SERVICE

    async def echo_none(self, value: None) -> None:
        """Return ``value``."""
        await self._srpc_call("echo_none", (value,), {})

    async def echo_bool(self, value: bool) -> bool:
        """Return ``value``."""
        result: bool = await self._srpc_call("echo_bool", (value,), {})
        return result

    async def echo_int(self, value: int) -> int:
        """Return ``value``."""
        result: int = await self._srpc_call("echo_int", (value,), {})
        return result

    async def echo_float(self, value: float) -> float:
        """Return ``value``."""
        result: float = await self._srpc_call("echo_float", (value,), {})
        return result

    async def echo_str(self, value: str) -> str:
        """Return ``value``."""
        result: str = await self._srpc_call("echo_str", (value,), {})
        return result

    async def echo_bytes(self, value: bytes) -> bytes:
        """Return ``value``."""
        result: bytes = await self._srpc_call("echo_bytes", (value,), {})
        return result

    async def echo_bytearray(self, value: bytearray) -> bytearray:
        """Return ``value``."""
        result: bytearray = await self._srpc_call("echo_bytearray", (value,), {})
        return result

    async def echo_list(self, value: list[int]) -> list[int]:
        """Return ``value``."""
        result: list[int] = await self._srpc_call("echo_list", (value,), {})
        return result

    async def echo_tuple(self, value: tuple[int, str]) -> tuple[int, str]:
        """Return ``value``."""
        result: tuple[int, str] = await self._srpc_call("echo_tuple", (value,), {})
        return result

    async def echo_tuple_var(self, value: tuple[float, ...]) -> tuple[float, ...]:
        """Return ``value``."""
        result: tuple[float, ...] = await self._srpc_call("echo_tuple_var", (value,), {})
        return result

    async def echo_dict(self, value: dict[str, int]) -> dict[str, int]:
        """Return ``value``."""
        result: dict[str, int] = await self._srpc_call("echo_dict", (value,), {})
        return result

    async def echo_dict_int_keys(self, value: dict[int, str]) -> dict[int, str]:
        """Return ``value``."""
        result: dict[int, str] = await self._srpc_call("echo_dict_int_keys", (value,), {})
        return result

    async def echo_set(self, value: set[int]) -> set[int]:
        """Return ``value``."""
        result: set[int] = await self._srpc_call("echo_set", (value,), {})
        return result

    async def echo_frozenset(self, value: frozenset[str]) -> frozenset[str]:
        """Return ``value``."""
        result: frozenset[str] = await self._srpc_call("echo_frozenset", (value,), {})
        return result

    async def echo_typing_list(self, value: List[int]) -> List[int]:
        """Return ``value``."""
        result: List[int] = await self._srpc_call("echo_typing_list", (value,), {})
        return result

    async def echo_typing_dict(self, value: Dict[str, List[int]]) -> Dict[str, List[int]]:
        """Return ``value``."""
        result: Dict[str, List[int]] = await self._srpc_call("echo_typing_dict", (value,), {})
        return result

    async def echo_typing_tuple(self, value: Tuple[int, ...]) -> Tuple[int, ...]:
        """Return ``value``."""
        result: Tuple[int, ...] = await self._srpc_call("echo_typing_tuple", (value,), {})
        return result

    async def echo_typing_set(self, value: Set[str]) -> Set[str]:
        """Return ``value``."""
        result: Set[str] = await self._srpc_call("echo_typing_set", (value,), {})
        return result

    async def echo_typing_frozenset(self, value: FrozenSet[int]) -> FrozenSet[int]:
        """Return ``value``."""
        result: FrozenSet[int] = await self._srpc_call("echo_typing_frozenset", (value,), {})
        return result

    async def echo_optional(self, value: Optional[int]) -> Optional[int]:
        """Return ``value``."""
        result: Optional[int] = await self._srpc_call("echo_optional", (value,), {})
        return result

    async def echo_union(self, value: Union[int, str]) -> Union[int, str]:
        """Return ``value``."""
        result: Union[int, str] = await self._srpc_call("echo_union", (value,), {})
        return result

    async def echo_pipe_union(self, value: int | str | None) -> int | str | None:
        """Return ``value``."""
        result: int | str | None = await self._srpc_call("echo_pipe_union", (value,), {})
        return result

    async def echo_literal(self, value: Literal["red", "green"]) -> Literal["red", "green"]:
        """Return ``value``."""
        result: Literal["red", "green"] = await self._srpc_call("echo_literal", (value,), {})
        return result

    async def echo_any(self, value: Any) -> Any:
        """Return ``value``."""
        result: Any = await self._srpc_call("echo_any", (value,), {})
        return result

    async def echo_datetime(self, value: datetime.datetime) -> datetime.datetime:
        """Return ``value``."""
        result: datetime.datetime = await self._srpc_call("echo_datetime", (value,), {})
        return result

    async def echo_date(self, value: datetime.date) -> datetime.date:
        """Return ``value``."""
        result: datetime.date = await self._srpc_call("echo_date", (value,), {})
        return result

    async def echo_time(self, value: datetime.time) -> datetime.time:
        """Return ``value``."""
        result: datetime.time = await self._srpc_call("echo_time", (value,), {})
        return result

    async def echo_timedelta(self, value: datetime.timedelta) -> datetime.timedelta:
        """Return ``value``."""
        result: datetime.timedelta = await self._srpc_call("echo_timedelta", (value,), {})
        return result

    async def echo_uuid(self, value: uuid.UUID) -> uuid.UUID:
        """Return ``value``."""
        result: uuid.UUID = await self._srpc_call("echo_uuid", (value,), {})
        return result

    async def echo_decimal(self, value: decimal.Decimal) -> decimal.Decimal:
        """Return ``value``."""
        result: decimal.Decimal = await self._srpc_call("echo_decimal", (value,), {})
        return result

    async def echo_enum(self, value: Color) -> Color:
        """Return ``value``."""
        result: Color = await self._srpc_call("echo_enum", (value,), {})
        return result

    async def echo_int_enum(self, value: Level) -> Level:
        """Return ``value``."""
        result: Level = await self._srpc_call("echo_int_enum", (value,), {})
        return result

    async def echo_dataclass(self, value: Record) -> Record:
        """Return ``value``."""
        result: Record = await self._srpc_call("echo_dataclass", (value,), {})
        return result

    async def echo_dataclass_list(self, value: list[Record]) -> list[Record]:
        """Return ``value``."""
        result: list[Record] = await self._srpc_call("echo_dataclass_list", (value,), {})
        return result

    async def echo_typeddict(self, value: Movie) -> Movie:
        """Return ``value``."""
        result: Movie = await self._srpc_call("echo_typeddict", (value,), {})
        return result

    async def echo_namedtuple(self, value: Point) -> Point:
        """Return ``value``."""
        result: Point = await self._srpc_call("echo_namedtuple", (value,), {})
        return result

    async def echo_struct(self, value: Item) -> Item:
        """Return ``value``."""
        result: Item = await self._srpc_call("echo_struct", (value,), {})
        return result

    async def echo_nested(self, value: dict[str, list[Point]]) -> dict[str, list[Point]]:
        """Return ``value``."""
        result: dict[str, list[Point]] = await self._srpc_call("echo_nested", (value,), {})
        return result

    async def params(
        self, a: int, /, b: str, *args: float, c: bool, d: int = 4, **kwargs: str
    ) -> dict[str, Any]:
        """Report how every parameter kind arrived."""
        result: dict[str, Any] = await self._srpc_call(
            "params", (a, b, *args), {"c": c, "d": d, **kwargs}
        )
        return result

    async def defaults(self, a: int, b: int = 10, *, c: int = 100) -> int:
        """Return a + b + c."""
        result: int = await self._srpc_call("defaults", (a, b), {"c": c})
        return result

    async def raise_error(self, kind: str) -> None:
        """Raise the exception named by ``kind``."""
        await self._srpc_call("raise_error", (kind,), {})

    async def bad_result(self, kind: str) -> int:
        """Return a value that does not match ``int``."""
        result: int = await self._srpc_call("bad_result", (kind,), {})
        return result

    async def sleep(self, seconds: float) -> float:
        """Block the calling thread for ``seconds``; return them."""
        result: float = await self._srpc_call("sleep", (seconds,), {})
        return result

    async def async_add(self, a: int, b: int) -> int:
        """Return a + b, from a coroutine."""
        result: int = await self._srpc_call("async_add", (a, b), {})
        return result

    async def async_sleep(self, seconds: float, value: str) -> str:
        """Sleep on the event loop, then return ``value``."""
        result: str = await self._srpc_call("async_sleep", (seconds, value), {})
        return result

    async def async_raise(self, kind: str) -> None:
        """Raise the exception named by ``kind``, from a coroutine."""
        await self._srpc_call("async_raise", (kind,), {})

    async def blob(self, data: bytes) -> bytes:
        """Return ``data`` reversed."""
        result: bytes = await self._srpc_call("blob", (data,), {})
        return result


class SrpcKitchenServerStub(Server):
    _srpc_service = KITCHEN_SERVICE

    def _srpc_default_impl(self) -> KitchenInterface:
        from .kitchen import Kitchen

        return Kitchen()


# -- calc (the SPEC section 2 example; interface from examples/calc/server/calc) --

from calc.calc_interface import CalcInterface  # noqa: E402

CALC_SERVICE = ServiceDescriptor(
    name="calc",
    interface=CalcInterface,
    fingerprint="hand-written-calc-v1",
    procedures=("add", "sub", "mult", "div"),
)


class SrpcCalcClientStub(SyncClient, CalcInterface):
    """A calculator served over srpc."""

    _srpc_service = CALC_SERVICE

    def add(self, a: int, b: int) -> int:
        """Return a + b."""
        result: int = self._srpc_call("add", (a, b), {})
        return result

    def sub(self, a: int, b: int) -> int:
        """Return a - b."""
        result: int = self._srpc_call("sub", (a, b), {})
        return result

    def mult(self, a: int, b: int) -> int:
        """Return a * b."""
        result: int = self._srpc_call("mult", (a, b), {})
        return result

    def div(self, a: int, b: int) -> float:
        """Return a / b; raises ZeroDivisionError when b is 0."""
        result: float = self._srpc_call("div", (a, b), {})
        return result


class SrpcCalcAsyncClientStub(AsyncClient):
    """A calculator served over srpc."""

    _srpc_service = CALC_SERVICE

    async def add(self, a: int, b: int) -> int:
        """Return a + b."""
        result: int = await self._srpc_call("add", (a, b), {})
        return result

    async def sub(self, a: int, b: int) -> int:
        """Return a - b."""
        result: int = await self._srpc_call("sub", (a, b), {})
        return result

    async def mult(self, a: int, b: int) -> int:
        """Return a * b."""
        result: int = await self._srpc_call("mult", (a, b), {})
        return result

    async def div(self, a: int, b: int) -> float:
        """Return a / b; raises ZeroDivisionError when b is 0."""
        result: float = await self._srpc_call("div", (a, b), {})
        return result


class SrpcCalcServerStub(Server):
    _srpc_service = CALC_SERVICE

    def _srpc_default_impl(self) -> CalcInterface:
        from calc.calc import Calc

        return Calc()
