"""Every SPEC section 4 type round-trips over a real socket, in its declared type."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import uuid
from typing import Any

import pytest
from kitchen.kitchen_interface import Color, Item, Level, Movie, Point, Record

from srpc import InvalidArguments

from .stubs import SrpcKitchenAsyncClientStub, SrpcKitchenClientStub, SrpcKitchenServerStub

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 23, 10, 55, 1, 123456, tzinfo=UTC)

CASES: list[tuple[str, Any]] = [
    ("none", None),
    ("bool", True),
    ("bool", False),
    ("int", 0),
    ("int", -(2**63)),
    ("int", 2**64 - 1),
    ("float", 1.5),
    ("float", float("inf")),
    ("str", "héllo \u2603 \x00"),
    ("str", ""),
    ("bytes", b"\x00\xff" * 3),
    ("bytearray", bytearray(b"mutable")),
    ("list", [1, 2, 3]),
    ("tuple", (1, "a")),
    ("tuple_var", (1.0, 2.5)),
    ("dict", {"a": 1, "b": 2}),
    ("dict_int_keys", {1: "one", -2: "minus two"}),
    ("set", {1, 2, 3}),
    ("frozenset", frozenset({"a", "b"})),
    ("typing_list", [4, 5]),
    ("typing_dict", {"k": [1, 2]}),
    ("typing_tuple", (1, 2, 3)),
    ("typing_set", {"x"}),
    ("typing_frozenset", frozenset({7})),
    ("optional", None),
    ("optional", 3),
    ("union", 3),
    ("union", "three"),
    ("pipe_union", None),
    ("pipe_union", "s"),
    ("pipe_union", 5),
    ("literal", "green"),
    ("any", {"k": [1, "x", None, 2.5, b"b"]}),
    ("datetime", NOW),
    ("datetime", datetime.datetime(2020, 1, 2, 3, 4, 5)),
    ("date", datetime.date(1999, 12, 31)),
    ("time", datetime.time(23, 59, 58, 999)),
    ("timedelta", datetime.timedelta(days=-1, seconds=5, microseconds=7)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("decimal", decimal.Decimal("3.14159265358979323846264338327950288")),
    ("enum", Color.GREEN),
    ("int_enum", Level.HIGH),
    ("dataclass", Record("r", ["a", "b"], NOW)),
    ("dataclass_list", [Record("a", []), Record("b", ["t"], NOW)]),
    ("typeddict", Movie(title="Brazil", year=1985)),
    ("namedtuple", Point(1, -2)),
    ("struct", Item(id=1, price=decimal.Decimal("9.99"))),
    ("nested", {"path": [Point(0, 0), Point(3, 4)]}),
]


def _check(value: Any, result: Any) -> None:
    assert result == value
    assert type(result) is type(value)
    if isinstance(value, (list, tuple)):
        for a, b in zip(value, result, strict=True):
            assert type(a) is type(b)
    if isinstance(value, datetime.datetime):
        assert (result.tzinfo is None) == (value.tzinfo is None)


@pytest.mark.parametrize(
    ("name", "value"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_sync_round_trip(kitchen: SrpcKitchenClientStub, name: str, value: Any) -> None:
    _check(value, getattr(kitchen, f"echo_{name}")(value))


def test_async_round_trip_of_every_type(kitchen_server: SrpcKitchenServerStub) -> None:
    async def main() -> None:
        async with SrpcKitchenAsyncClientStub(*kitchen_server.address, timeout=30) as k:
            results = await asyncio.gather(*(getattr(k, f"echo_{n}")(v) for n, v in CASES))
        for (_, value), result in zip(CASES, results, strict=True):
            _check(value, result)

    asyncio.run(main())


def test_sets_of_records_and_nested_values_come_back_typed(kitchen: SrpcKitchenClientStub) -> None:
    [first, second] = kitchen.echo_dataclass_list([Record("a", ["x"]), Record("b", [], NOW)])
    assert isinstance(first, Record)
    assert second.when == NOW
    assert isinstance(kitchen.echo_nested({"p": [Point(1, 2)]})["p"][0], Point)


@pytest.mark.parametrize(
    ("name", "value", "path"),
    [
        ("int", "1", "`value`"),
        ("int", True, "`value`"),
        ("literal", "blue", "`value`"),
        ("dataclass", Record("r", [1, 2]), "`value.tags[0]`"),  # type: ignore[list-item]
        ("dict", {"a": "b"}, "`value[...]`"),
        ("enum", "purple", "`value`"),
        ("uuid", "not-a-uuid", "`value`"),
        ("typeddict", {"title": "x"}, "`value`"),
        ("struct", {"id": "x", "price": "1"}, "`value.id`"),
    ],
)
def test_wrong_argument_types_are_invalid_arguments_naming_the_path(
    kitchen: SrpcKitchenClientStub, name: str, value: Any, path: str
) -> None:
    with pytest.raises(InvalidArguments) as info:
        getattr(kitchen, f"echo_{name}")(value)
    assert isinstance(info.value, TypeError)
    text = str(info.value)
    assert f"kitchen.echo_{name}()" in text
    assert path in text
    assert kitchen.echo_int(1) == 1


def test_values_msgspec_cannot_encode_fail_on_the_client(kitchen: SrpcKitchenClientStub) -> None:
    with pytest.raises(InvalidArguments, match="echo_any"):
        kitchen.echo_any(object())
    with pytest.raises(InvalidArguments, match="echo_int"):
        kitchen.echo_int(2**70)
    assert kitchen.echo_int(2) == 2
