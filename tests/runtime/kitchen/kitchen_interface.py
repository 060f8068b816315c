# ruff: noqa: UP006, UP007, UP035, UP045 (typing generics are deliberate: SPEC section 4)
"""The kitchen service: one echo procedure per SPEC section 4 type, every parameter kind,
exceptions, slow and async procedures. Used by the runtime tests only."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from abc import ABC, abstractmethod
from json import JSONDecodeError  # an exception the interface imports: rebuilt as itself
from typing import (
    Any,
    Dict,
    FrozenSet,
    List,
    Literal,
    NamedTuple,
    Optional,
    Set,
    Tuple,
    TypedDict,
    Union,
)

import msgspec

__all__ = [
    "Color",
    "DetailedError",
    "Item",
    "JSONDecodeError",
    "KitchenError",
    "KitchenInterface",
    "Level",
    "Movie",
    "Point",
    "Record",
]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Record:
    name: str
    tags: list[str]
    when: datetime.datetime | None = None


class Point(NamedTuple):
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


class Item(msgspec.Struct):
    id: int
    price: decimal.Decimal


class KitchenError(Exception):
    """Defined in the interface module: the client rebuilds it as itself."""


class DetailedError(Exception):
    """An interface exception with its own constructor and attributes."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class KitchenInterface(ABC):
    """Everything the runtime must carry."""

    @abstractmethod
    def echo_none(self, value: None) -> None:
        """Return ``value``."""

    @abstractmethod
    def echo_bool(self, value: bool) -> bool:
        """Return ``value``."""

    @abstractmethod
    def echo_int(self, value: int) -> int:
        """Return ``value``."""

    @abstractmethod
    def echo_float(self, value: float) -> float:
        """Return ``value``."""

    @abstractmethod
    def echo_str(self, value: str) -> str:
        """Return ``value``."""

    @abstractmethod
    def echo_bytes(self, value: bytes) -> bytes:
        """Return ``value``."""

    @abstractmethod
    def echo_bytearray(self, value: bytearray) -> bytearray:
        """Return ``value``."""

    @abstractmethod
    def echo_list(self, value: list[int]) -> list[int]:
        """Return ``value``."""

    @abstractmethod
    def echo_tuple(self, value: tuple[int, str]) -> tuple[int, str]:
        """Return ``value``."""

    @abstractmethod
    def echo_tuple_var(self, value: tuple[float, ...]) -> tuple[float, ...]:
        """Return ``value``."""

    @abstractmethod
    def echo_dict(self, value: dict[str, int]) -> dict[str, int]:
        """Return ``value``."""

    @abstractmethod
    def echo_dict_int_keys(self, value: dict[int, str]) -> dict[int, str]:
        """Return ``value``."""

    @abstractmethod
    def echo_set(self, value: set[int]) -> set[int]:
        """Return ``value``."""

    @abstractmethod
    def echo_frozenset(self, value: frozenset[str]) -> frozenset[str]:
        """Return ``value``."""

    @abstractmethod
    def echo_typing_list(self, value: List[int]) -> List[int]:
        """Return ``value``."""

    @abstractmethod
    def echo_typing_dict(self, value: Dict[str, List[int]]) -> Dict[str, List[int]]:
        """Return ``value``."""

    @abstractmethod
    def echo_typing_tuple(self, value: Tuple[int, ...]) -> Tuple[int, ...]:
        """Return ``value``."""

    @abstractmethod
    def echo_typing_set(self, value: Set[str]) -> Set[str]:
        """Return ``value``."""

    @abstractmethod
    def echo_typing_frozenset(self, value: FrozenSet[int]) -> FrozenSet[int]:
        """Return ``value``."""

    @abstractmethod
    def echo_optional(self, value: Optional[int]) -> Optional[int]:
        """Return ``value``."""

    @abstractmethod
    def echo_union(self, value: Union[int, str]) -> Union[int, str]:
        """Return ``value``."""

    @abstractmethod
    def echo_pipe_union(self, value: int | str | None) -> int | str | None:
        """Return ``value``."""

    @abstractmethod
    def echo_literal(self, value: Literal["red", "green"]) -> Literal["red", "green"]:
        """Return ``value``."""

    @abstractmethod
    def echo_any(self, value: Any) -> Any:
        """Return ``value``."""

    @abstractmethod
    def echo_datetime(self, value: datetime.datetime) -> datetime.datetime:
        """Return ``value``."""

    @abstractmethod
    def echo_date(self, value: datetime.date) -> datetime.date:
        """Return ``value``."""

    @abstractmethod
    def echo_time(self, value: datetime.time) -> datetime.time:
        """Return ``value``."""

    @abstractmethod
    def echo_timedelta(self, value: datetime.timedelta) -> datetime.timedelta:
        """Return ``value``."""

    @abstractmethod
    def echo_uuid(self, value: uuid.UUID) -> uuid.UUID:
        """Return ``value``."""

    @abstractmethod
    def echo_decimal(self, value: decimal.Decimal) -> decimal.Decimal:
        """Return ``value``."""

    @abstractmethod
    def echo_enum(self, value: Color) -> Color:
        """Return ``value``."""

    @abstractmethod
    def echo_int_enum(self, value: Level) -> Level:
        """Return ``value``."""

    @abstractmethod
    def echo_dataclass(self, value: Record) -> Record:
        """Return ``value``."""

    @abstractmethod
    def echo_dataclass_list(self, value: list[Record]) -> list[Record]:
        """Return ``value``."""

    @abstractmethod
    def echo_typeddict(self, value: Movie) -> Movie:
        """Return ``value``."""

    @abstractmethod
    def echo_namedtuple(self, value: Point) -> Point:
        """Return ``value``."""

    @abstractmethod
    def echo_struct(self, value: Item) -> Item:
        """Return ``value``."""

    @abstractmethod
    def echo_nested(self, value: dict[str, list[Point]]) -> dict[str, list[Point]]:
        """Return ``value``."""

    @abstractmethod
    def params(
        self, a: int, /, b: str, *args: float, c: bool, d: int = 4, **kwargs: str
    ) -> dict[str, Any]:
        """Report how every parameter kind arrived."""

    @abstractmethod
    def defaults(self, a: int, b: int = 10, *, c: int = 100) -> int:
        """Return a + b + c."""

    @abstractmethod
    def raise_error(self, kind: str) -> None:
        """Raise the exception named by ``kind``."""

    @abstractmethod
    def bad_result(self, kind: str) -> int:
        """Return a value that does not match ``int``."""

    @abstractmethod
    def sleep(self, seconds: float) -> float:
        """Block the calling thread for ``seconds``; return them."""

    @abstractmethod
    async def async_add(self, a: int, b: int) -> int:
        """Return a + b, from a coroutine."""

    @abstractmethod
    async def async_sleep(self, seconds: float, value: str) -> str:
        """Sleep on the event loop, then return ``value``."""

    @abstractmethod
    async def async_raise(self, kind: str) -> None:
        """Raise the exception named by ``kind``, from a coroutine."""

    @abstractmethod
    def blob(self, data: bytes) -> bytes:
        """Return ``data`` reversed."""
