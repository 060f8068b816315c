"""The fuzz target: a real server connection fed bytes in memory (see fuzz_receive.py).

Each input is fed to ``srpc.server._Connection`` (the asyncio protocol object
a socket drives) through an in-memory transport, so the exact code that
handles a peer's bytes runs, without sockets. The first byte picks the
server: the calc example; a service whose procedures use every parameter
kind (``*args``, keyword-only, ``**kwargs``), nested types and ``async def``;
or that service behind a token with two calls in flight at most (so requests
wait in the backlog). The rest is the byte stream, fed whole and then in two
pieces.

The server must survive every input: nothing but the connection closing may
happen, no connection may stay held, and everything it writes back must be
whole srpc frames.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "examples" / "calc" / "server")]  # this checkout's srpc

import msgspec  # noqa: E402
from calc.calc import Calc  # noqa: E402
from srpc_calc_server_stub import SrpcCalcServerStub  # noqa: E402

from srpc import ServiceDescriptor  # noqa: E402
from srpc.codec import encoder  # noqa: E402
from srpc.protocol import (  # noqa: E402
    PROTOCOL_VERSION,
    Cancel,
    Credit,
    Hello,
    MessageReader,
    Ping,
    ServerErrorReply,
    ServerReply,
    StreamEnd,
    StreamItem,
    encode_message,
    encode_request,
)
from srpc.server import Server, _Connection, _Core  # noqa: E402

MAX_FRAME = 1 << 16
logging.getLogger("srpc").disabled = True  # refusals are expected here by the thousand
logging.getLogger("srpc.server").disabled = True


class ShapesInterface(ABC):
    @abstractmethod
    def total(self, *values: int) -> int: ...

    @abstractmethod
    def mixed(self, a: int, /, b: str = "", *, flag: bool = False, **extra: list[int]) -> str: ...

    @abstractmethod
    def nested(self, items: list[tuple[int, str]], lookup: dict[str, float | None]) -> int: ...

    @abstractmethod
    async def later(self, value: bytes) -> bytes: ...

    @abstractmethod
    def count(self, n: int) -> Iterator[int]: ...

    @abstractmethod
    def summed(self, values: Iterator[int]) -> int: ...

    @abstractmethod
    def upper(self, values: Iterator[str]) -> AsyncIterator[str]: ...

    @abstractmethod
    async def visit(self, n: int, fn: Callable[[int], Awaitable[int]]) -> int: ...


class Shapes(ShapesInterface):
    def total(self, *values: int) -> int:
        return sum(values)

    def mixed(self, a: int, /, b: str = "", *, flag: bool = False, **extra: list[int]) -> str:
        return f"{a}{b}{flag}{sorted(extra)}"

    def nested(self, items: list[tuple[int, str]], lookup: dict[str, float | None]) -> int:
        return len(items) + len(lookup)

    async def later(self, value: bytes) -> bytes:
        return value

    def count(self, n: int) -> Iterator[int]:
        yield from range(min(n, 1000))

    def summed(self, values: Iterator[int]) -> int:
        return sum(values)

    async def upper(self, values: Iterator[str]) -> AsyncIterator[str]:  # type: ignore[override]
        async for value in values:  # type: ignore[attr-defined]
            yield value.upper()

    async def visit(self, n: int, fn: Callable[[int], Awaitable[int]]) -> int:
        return sum([await fn(i) for i in range(min(n, 3))])


SHAPES = ServiceDescriptor("shapes", ShapesInterface, "shapes-fuzz",
                           ("total", "mixed", "nested", "later", "count", "summed", "upper",
                            "visit"))


class ShapesServer(Server):
    _srpc_service = SHAPES


class MemoryTransport(asyncio.Transport):
    """Collects what the server writes; records close/abort and read pausing."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False
        self.paused = False

    def write(self, data: Any) -> None:
        self.written += data

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 4242) if name == "peername" else default


class Target:
    """One server (not listening) whose connections are driven in memory."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.core = _Core(server, self.loop)
        server._core = self.core

    def feed(self, pieces: list[bytes]) -> None:
        transport = MemoryTransport()
        connection = _Connection(self.core)
        connection.connection_made(transport)
        for piece in pieces:
            if transport.closing:
                break
            _deliver(connection, piece)
        # Let async procedures and timers run, then drop the connection.
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.run_until_complete(asyncio.sleep(0))
        connection.connection_lost(None)
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(asyncio.sleep(0))
        assert connection not in self.core.connections, "a closed connection is still held"
        # Everything the server wrote must be valid srpc frames.
        reader = MessageReader(max_frame=1 << 26)
        reader.feed(bytes(transport.written))
        assert reader.buffered == 0, "the server wrote a partial frame"


def _deliver(connection: asyncio.BaseProtocol, data: bytes) -> None:
    """Hand ``data`` to the protocol the way the event loop does."""
    if isinstance(connection, asyncio.BufferedProtocol):
        view = memoryview(data)
        while view:
            buffer = memoryview(connection.get_buffer(len(view)))
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            connection.buffer_updated(n)
            view = view[n:]
    else:
        assert isinstance(connection, asyncio.Protocol)
        connection.data_received(data)


def _targets() -> list[Target]:
    return [
        Target(SrpcCalcServerStub(port=0, impl=Calc(), metrics_log=None, sync_mode="inline",
                                  max_frame=MAX_FRAME)),
        Target(ShapesServer(port=0, impl=Shapes(), metrics_log=None, sync_mode="inline",
                            max_frame=MAX_FRAME)),
        # A token, and few calls in flight so that requests wait in the backlog.
        Target(ShapesServer(port=0, impl=Shapes(), metrics_log=None, sync_mode="inline",
                            max_frame=MAX_FRAME, max_in_flight=2, token=TOKEN)),
    ]


TOKEN = "fuzz-token"
TARGETS: list[Target] = []
RUNS = 0


def test_one_input(data: bytes) -> None:
    """The fuzz entry point (atheris' ``TestOneInput``)."""
    global RUNS
    RUNS += 1
    if not TARGETS:
        TARGETS.extend(_targets())
    if not data:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    stream = data[1:]
    target.feed([stream])
    if len(stream) > 2:
        cut = data[0] % len(stream)
        target.feed([stream[:cut], stream[cut:]])


TestOneInput = test_one_input


# --- seeds: valid conversations the mutator starts from ----------------------------------


def _hello(descriptor: ServiceDescriptor, token: str | None = None) -> bytes:
    return bytes(encode_message(Hello(PROTOCOL_VERSION, descriptor.name,
                                      descriptor.fingerprint, token)))


def _call(id: int, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    return bytes(encode_request(encoder, id, proc, args, kwargs))


def seeds() -> list[bytes]:
    calc = SrpcCalcServerStub._srpc_service
    out = [
        b"\x00" + _hello(calc) + _call(1, "add", (1, 2), {}) + _call(2, "div", (1, 0), {}),
        b"\x00" + _hello(calc) + _call(7, "mult", (), {"a": 3, "b": 4}),
        b"\x00" + _hello(calc) + _call(3, "nope", (1,), {}),
        b"\x00" + _hello(calc, "tok") + _call(1, "sub", ("x", 2), {}),
        b"\x00" + _call(1, "add", (1, 2), {}),
        b"\x01" + _hello(SHAPES) + _call(1, "total", (1, 2, 3), {}),
        b"\x01" + _hello(SHAPES) + _call(2, "mixed", (1, "b"), {"flag": True, "x": [1]}),
        b"\x01" + _hello(SHAPES) + _call(3, "nested", ([[1, "a"]], {"k": None}), {}),
        b"\x01" + _hello(SHAPES) + _call(4, "later", (b"abc",), {}),
        b"\x01" + _hello(SHAPES) + bytes(encode_message(Hello(1, "x", "y", None))),
        b"\x01" + msgspec.msgpack.encode([1, 2, 3]),
        b"\x02" + _hello(SHAPES, TOKEN)
        + b"".join(_call(i, "later", (b"x" * i,), {}) for i in range(5))
        + _call(9, "total", (1, 2), {}),
        b"\x02" + _hello(SHAPES, "wrong") + _call(1, "total", (1, 2), {}),
        b"\x02" + _hello(SHAPES) + _call(1, "total", (1, 2), {}),
        # Protocol version 2: streams each way, credit, cancel, ping, deadlines.
        b"\x01" + _hello(SHAPES) + _call(1, "count", (5,), {}) + _msg(Credit(1, 10, 100))
        + _msg(Cancel(1)) + _msg(Ping(3)),
        b"\x01" + _hello(SHAPES) + _call(2, "summed", (None,), {}) + _item(2, 1) + _item(2, 2)
        + _msg(StreamEnd(2)),
        b"\x01" + _hello(SHAPES) + _call(3, "upper", (None,), {}) + _item(3, "a")
        + _msg(Credit(3, 1, 1)) + _msg(StreamEnd(3)) + _msg(Cancel(3)),
        b"\x01" + _hello(SHAPES) + bytes(encode_request(encoder, 4, "count", (3,), {}, 0.001)),
        b"\x02" + _hello(SHAPES, TOKEN)
        + b"".join(_call(i, "summed", (None,), {}) for i in range(4))
        + b"".join(_item(i, i) for i in range(4)) + _msg(Cancel(2)),
        b"\x00" + _hello(calc) + _call(1, "add", (1, 2), {}) + _msg(Credit(1, 1, 1))
        + _item(1, 5),
        # Callbacks: the client's answers to the server's callback requests, right and wrong.
        b"\x01" + _hello(SHAPES) + _call(1, "visit", (2, 0), {})
        + _msg(ServerReply(1, 1, msgspec.Raw(b"\x05")))
        + _msg(ServerReply(1, 2, msgspec.Raw(b"\xa1x")))
        + _msg(ServerReply(1, 9, msgspec.Raw(b"\x01"))),
        b"\x01" + _hello(SHAPES) + _call(2, "visit", (3, 0), {})
        + _msg(ServerErrorReply(2, 1, 0, "builtins", "KeyError", "k", msgspec.Raw(b"\x91\x01"), "",
                                msgspec.Raw(b"\x80"))) + _msg(Cancel(2)),
        b"\x01" + _hello(SHAPES) + _call(3, "visit", (1, 7), {}) + _call(4, "total", (1,), {})
        + _msg(ServerReply(4, 1, msgspec.Raw(b"\x01"))),
    ]
    return out


def _msg(message: Any) -> bytes:
    return bytes(encode_message(message))


def _item(id: int, value: Any) -> bytes:
    return _msg(StreamItem(id, msgspec.Raw(encoder.encode(value))))
