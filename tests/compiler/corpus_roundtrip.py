"""Run by test_corpus in the folder of generated stubs: real calls through the real runtime.

Not a test module itself: it imports the corpus packages, which only exist in that folder.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

Call = tuple[Callable[[Any], Any], Any]


def _stubs(service: str) -> tuple[Any, Any]:
    pascal = "".join(p[:1].upper() + p[1:] for p in service.split("_"))
    client = importlib.import_module(f"srpc_{service}_client_stub")
    server = importlib.import_module(f"srpc_{service}_server_stub")
    return getattr(server, f"Srpc{pascal}ServerStub"), getattr(client, f"Srpc{pascal}ClientStub")


def _calls() -> dict[str, list[Call]]:
    from futures.futures_interface import Box
    from records.records_interface import Movie, Pair
    from shapes.shapes_interface import Color, Level, Point, Polygon
    from sibling.models import Item
    from streams.streams_interface import Reading
    from structs.structs_interface import Group, User

    return {
        "basic": [
            (lambda c: c.echo("hi"), "hi"),
            (lambda c: c.blob(b"a", bytearray(b"b")), b"ab"),
            (lambda c: c.ping(), None),
        ],
        "kinds": [
            (lambda c: c.everything(1, 2, 3, 4, d=6, z=8), [1, 2, 3, 4, 6, 5, 8]),
            (lambda c: c.mixed(1, "a", flag=True), (1, ("a",), True)),
            (lambda c: c.self_positional_only(key="k"), "k"),
        ],
        "kwonly": [
            (lambda c: c.search("q", limit=2), ["q", "q"]),
            (lambda c: c.label(name="x", upper=True), "X"),
        ],
        "asyncsvc": [(lambda c: c.store("a", 3), None), (lambda c: c.fetch("a"), 3)],
        "optionals": [(lambda c: c.maybe(), None), (lambda c: c.mode("w"), 1)],
        "generics": [(lambda c: c.variadic((1, 2), ("x", 3)), {1, 2, 3})],
        "shapes": [
            (lambda c: c.centroid(Polygon([Point(0, 0), Point(2, 2)])), Point(1, 1)),
            (lambda c: c.level(Level.HIGH), [Level.LOW, Level.HIGH]),
            (lambda c: c.paint(Polygon()).color, Color.GREEN),
        ],
        "records": [
            (lambda c: c.swap(Pair(1, 2)), Pair(2, 1)),
            (lambda c: c.rate(Movie(title="a b", year=1)), {"title": "A B", "year": 1}),
        ],
        "structs": [(lambda c: c.oldest(Group([User("a", 3), User("b", 5)])), User("b", 5))],
        "timeline": [
            (lambda c: c.shift(dt.datetime(2020, 1, 1)), dt.datetime(2020, 1, 1, 1)),
            (lambda c: c.total([Decimal("1"), Decimal("2")]), Decimal("4.5")),
        ],
        "my_calc": [(lambda c: c.add(4, 2), 6), (lambda c: c.div(4, 2), 2.0)],
        "futures": [(lambda c: c.wrap(3), Box(3)), (lambda c: c.unwrap(Box(4)), 4)],
        "sibling": [(lambda c: c.make("x"), Item("x", 0.0))],
        "typing_alias": [(lambda c: c.first([5, 6]), 5)],
        "metaabc": [(lambda c: c.greet(), "hello world")],
        "aliased": [(lambda c: c.twice(4), 8)],
        "streams": [
            (lambda c: list(c.count(3, 2)), [0, 2, 4]),
            (lambda c: [r.value for r in c.tail("t")], [0.0, 1.0, 2.0]),
            (lambda c: c.upload(iter([Reading("a", 1.0)] * 4), tag="xy"), 6),
            (lambda c: c.aupload([b"ab", b"c"]), 3),
            (lambda c: list(c.scale(2.0, values=[1.0, 1.5])), [2.0, 3.0]),
            (lambda c: c.plain((3, 1, 2)), [1, 2, 3]),
        ],
        "callbacks": [
            (lambda c: c.each([1, 2], lambda x: x * 7), [7, 14]),
            (lambda c: c.amap([3], _plus_one), [4]),
            (lambda c: _notified(c), [("done", 0), ("done", 1)]),
            (lambda c: c.run(3, _progress()), 3),
        ],
    }


async def _plus_one(x: int) -> int:
    return x + 1


def _notified(client: Any) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    client.notify(label="done", on_done=lambda label, i: seen.append((label, i)), times=2)
    return seen


def _progress() -> Any:
    from callbacks.callbacks_interface import Progress

    class Counting(Progress):
        def update(self, done: int, total: int) -> None:
            assert 1 <= done <= total

        def should_stop(self) -> bool:
            return False

    return Counting()


def _bank() -> None:
    from bank.bank_interface import InsufficientFunds, UnknownAccount

    server_stub, client_stub = _stubs("bank")
    with server_stub(port=0, metrics_log=None) as server, client_stub(*server.address) as client:
        try:
            client.transfer("alice", "bob", 1000)
        except InsufficientFunds as exc:
            assert exc.args == (1000, 100), exc.args
        else:
            raise AssertionError("InsufficientFunds was not raised on the client")
        try:
            client.balance("carol")
        except UnknownAccount:
            pass
        else:
            raise AssertionError("UnknownAccount was not raised on the client")


def main() -> None:
    for service, calls in _calls().items():
        server_stub, client_stub = _stubs(service)
        with (
            server_stub(port=0, metrics_log=None) as server,
            client_stub(*server.address) as client,
        ):
            for call, expected in calls:
                got = call(client)
                assert got == expected, (service, got, expected)
    _bank()
    print("round trips ok")


if __name__ == "__main__":
    main()
