"""The server's result check: a wrongly typed result never reaches a caller.

Through generated stubs (sync and async) against a real server: the
implementation returns a dataclass with a wrong field, a list with a wrong
element, a Struct with a wrong field, a value breaking a ``Meta``
constraint; the caller gets ``srpc.InvalidResult`` naming the procedure and
the path of the bad value, and the server's metrics log records the failure.
Then, in-process, the check's fast mirror types accept and reject exactly
what the declared type's own decoder does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

import srpc
from srpc.codec import _mirror, build_procedure, encoder
from srpc.compiler import write_stubs

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# (procedure, argument, the path msgspec names in the message)
BAD_RESULTS = [
    ("rows", "field", "`$[2].name`"),
    ("rows", "element", "`$[1].tags[1]`"),
    ("async_rows", "field", "`$[2].name`"),
    ("async_rows", "element", "`$[1].tags[1]`"),
    ("point", "field", "`$.x`"),
    ("points", "field", "`$[1].label`"),
    ("count", -1, "`$.n`"),
]


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("resultcheck-stubs")
    write_stubs(HERE / "resultcheck" / "resultcheck_interface.py", out)
    sys.path.insert(0, str(out))
    try:
        return (
            importlib.import_module("srpc_resultcheck_client_stub"),
            importlib.import_module("srpc_resultcheck_server_stub"),
        )
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def served(stubs: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """The running server and its metrics log (complete once the server has stopped)."""
    log = tmp_path_factory.mktemp("resultcheck-metrics") / "metrics.log"
    with stubs[1].SrpcResultcheckServerStub(port=0, metrics_log=str(log)) as server:
        yield server, log


def _call_sync(stubs: Any, server: Any, proc: str, arg: Any) -> Any:
    with stubs[0].SrpcResultcheckClientStub(*server.address, timeout=30) as client:
        return getattr(client, proc)(arg)


def _call_async(stubs: Any, server: Any, proc: str, arg: Any) -> Any:
    async def call() -> Any:
        async with stubs[0].SrpcResultcheckAsyncClientStub(*server.address, timeout=30) as client:
            return await getattr(client, proc)(arg)

    return asyncio.run(call())


CALLERS = {"sync": _call_sync, "async": _call_async}


@pytest.mark.parametrize("stub", CALLERS)
@pytest.mark.parametrize(("proc", "arg", "path"), BAD_RESULTS)
def test_a_wrongly_typed_result_is_invalid_result_naming_procedure_and_path(
    stubs: Any, served: tuple[Any, Path], stub: str, proc: str, arg: Any, path: str
) -> None:
    with pytest.raises(srpc.InvalidResult) as info:
        CALLERS[stub](stubs, served[0], proc, arg)
    message = str(info.value)
    assert f"resultcheck.{proc}()" in message, message
    assert path in message, message


@pytest.mark.parametrize("stub", CALLERS)
def test_good_results_arrive_as_the_declared_types(
    stubs: Any, served: tuple[Any, Path], stub: str
) -> None:
    from resultcheck.resultcheck_interface import Count, Point, Row

    call = CALLERS[stub]
    rows = call(stubs, served[0], "rows", "")
    assert rows == [Row(i, f"row-{i}", [i, i + 1]) for i in range(3)]
    assert all(type(r) is Row for r in rows)
    assert call(stubs, served[0], "async_rows", "") == rows
    point = call(stubs, served[0], "point", "")
    assert type(point) is Point and point == Point(1, "p")
    assert call(stubs, served[0], "points", "") == [Point(i, f"p{i}") for i in range(3)]
    assert call(stubs, served[0], "count", 0) == Count(0)


def test_the_server_metrics_record_each_invalid_result(stubs: Any, tmp_path: Path) -> None:
    log = tmp_path / "metrics.log"
    with stubs[1].SrpcResultcheckServerStub(port=0, metrics_log=str(log)) as server:
        for proc, arg, _ in BAD_RESULTS:
            for call in CALLERS.values():
                with pytest.raises(srpc.InvalidResult):
                    call(stubs, server, proc, arg)
        assert len(_call_sync(stubs, server, "rows", "")) == 3
    calls = [line for line in map(json.loads, log.read_text().splitlines()) if "proc" in line]
    failed = [(c["proc"], c["error"]) for c in calls if not c["ok"]]
    expected = [(proc, "InvalidResult") for proc, _, _ in BAD_RESULTS for _ in CALLERS]
    assert sorted(failed) == sorted(expected)
    assert [c["proc"] for c in calls if c["ok"]] == ["rows"]


# -- the check's mirror types accept exactly what the declared types do ------------------


@dataclasses.dataclass
class Item:
    id: int
    tags: list[int]
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Key:
    a: int
    b: str


@dataclasses.dataclass
class Limited:
    n: Annotated[int, msgspec.Meta(ge=0)]
    xs: Annotated[list[int], msgspec.Meta(max_length=2)]


class Plain(msgspec.Struct):
    x: int
    ys: list[float] = []


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    x: int


class Packed(msgspec.Struct, array_like=True):
    x: int
    s: str


class Renamed(msgspec.Struct, rename="camel"):
    long_name: int


class Nested(msgspec.Struct):
    item: Item
    points: list[Plain]


@dataclasses.dataclass
class Tree:
    value: int
    children: list[Tree]


@dataclasses.dataclass
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n > 9:
            raise ValueError("n must be below 10")


# (declared type, values to try): good and bad ones, including wire-compatible look-alikes
CASES: list[tuple[Any, list[Any]]] = [
    (
        list[Item],
        [
            [Item(1, [1, 2])],
            [Item(1, [1, "2"])],  # type: ignore[list-item]
            [Item("1", [])],  # type: ignore[arg-type]
            [{"id": 1, "tags": []}],  # a dict with the right keys is the same MessagePack
            [{"id": 1}],
            [Key(1, "b")],
            [],
            None,
        ],
    ),
    (
        set[Key],
        [{Key(1, "a"), Key(2, "b")}, {Key(1, 2)}, [Key(1, "a")]],  # type: ignore[arg-type]
    ),
    (
        Limited,
        [Limited(0, [1, 2]), Limited(-1, []), Limited(1, [1, 2, 3]), Limited(1, [-1])],
    ),
    (dict[str, list[Item]], [{"a": [Item(1, [])]}, {"a": [Item(1, ["x"])]}, {1: []}]),  # type: ignore[list-item, dict-item]
    (list[int] | None, [None, [1, 2], [1, None], "x"]),
    (tuple[list[int], str], [([1], "a"), ([1.5], "a"), ([1], 2)]),
    (list[Plain], [[Plain(1)], [Plain(1, [1, 2.5])], [Plain("1")], [Plain(1, ["x"])]]),  # type: ignore[arg-type, list-item]
    (Strict, [Strict(1), {"x": 1}, {"x": 1, "y": 2}]),
    (Packed, [Packed(1, "s"), Packed("1", "s"), {"x": 1, "s": "s"}]),  # type: ignore[arg-type]
    (Renamed, [Renamed(1), {"long_name": 1}, {"longName": 1}]),
    (
        Nested,
        [
            Nested(Item(1, []), [Plain(2)]),
            Nested(Item(1, [None]), []),  # type: ignore[list-item]
            Nested(Item(1, []), [Plain(None)]),  # type: ignore[arg-type]
        ],
    ),
    (
        Tree,
        [Tree(1, [Tree(2, [])]), Tree(1, [Tree("2", [])]), Tree(1, [Tree(2, [None])])],  # type: ignore[arg-type, list-item]
    ),
    (list[Checked], [[Checked(1)], [{"n": 10}], [{"n": "1"}]]),  # the same MessagePack
    (list[Key] | None, [[Key(1, "a")], None, [Key(1, 1)]]),  # type: ignore[arg-type]
]


def _codec_for(tp: Any) -> Any:
    def returns() -> Any: ...

    returns.__annotations__["return"] = tp
    iface = type("Iface", (), {"returns": returns})
    return build_procedure("probe", iface, "returns")


@pytest.mark.parametrize(("tp", "values"), CASES, ids=[str(tp) for tp, _ in CASES])
def test_the_check_accepts_exactly_what_the_declared_type_accepts(tp: Any, values: Any) -> None:
    codec = _codec_for(tp)
    real = msgspec.msgpack.Decoder(tp)
    mirror = msgspec.msgpack.Decoder(tuple[int, int, _mirror(tp, {})])  # what encode_reply decodes
    verdicts = []
    for value in values:
        try:
            real.decode(encoder.encode(value))
            accepted = True
        except msgspec.ValidationError:
            accepted = False
        try:
            codec.encode_reply(1, value)
            checked = True
        except srpc.InvalidResult:
            checked = False
        try:
            mirror.decode(encoder.encode((5, 1, value)))
            mirrored = True
        except msgspec.ValidationError:
            mirrored = False
        verdicts.append((value, accepted, checked, mirrored))
    assert all(a == c for _, a, c, _ in verdicts), verdicts
    # the mirror alone decides: no value takes the slow path (a decode with the real type)
    assert all(a == m for _, a, _, m in verdicts), verdicts
    assert any(a for _, a, _, _ in verdicts) and not all(a for _, a, _, _ in verdicts)


def test_mirrors_replace_dataclasses_structs_and_lists_but_not_hashed_types() -> None:
    seen: dict[Any, Any] = {}
    mirrored = _mirror(list[Item], seen)
    assert typing_origin(mirrored) is tuple
    (row,) = {a for a in mirrored.__args__ if a is not Ellipsis}
    assert issubclass(row, msgspec.Struct) and row.__struct_config__.gc is False
    assert _mirror(set[Key], {}) == set[Key]  # hashability is checked by the real type
    assert _mirror(Renamed, {}) is Renamed  # renamed fields: the real type
    assert _mirror(Checked, {}) is Checked  # __post_init__ runs on decode: the real type
    tree = _mirror(Tree, {})
    assert tree is not Tree and msgspec.structs.fields(tree)[1].type == tuple[Tree, ...]
    plain = _mirror(Plain, {})
    assert plain is not Plain and plain.__struct_config__.gc is False


def typing_origin(tp: Any) -> Any:
    import typing

    return typing.get_origin(tp)
