"""The server survives anything a client sends; each case is followed by a good call."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import msgspec
import pytest

import srpc
from srpc.codec import encoder
from srpc.framing import encode_frame
from srpc.protocol import (
    PROTOCOL_VERSION,
    ErrorReply,
    Hello,
    Message,
    MessageReader,
    Reply,
    Welcome,
    encode_message,
    encode_request,
)

from .stubs import (
    KITCHEN_SERVICE,
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)


@pytest.fixture(scope="module")
def server() -> Iterator[SrpcKitchenServerStub]:
    with SrpcKitchenServerStub(
        port=0, metrics_log=None, handshake_timeout=0.5, max_frame=1024 * 1024
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def good_call_after(server: SrpcKitchenServerStub) -> Iterator[None]:
    yield
    with SrpcKitchenClientStub(*server.address, timeout=10) as kitchen:
        assert kitchen.defaults(1, 2, c=3) == 6


def _connect(server: SrpcKitchenServerStub, hello: bool = True) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=10)
    if hello:
        sock.sendall(
            encode_message(Hello(PROTOCOL_VERSION, "kitchen", KITCHEN_SERVICE.fingerprint))
        )
        assert isinstance(_read(sock), Welcome)
    return sock


def _read(sock: socket.socket) -> Message:
    reader = MessageReader()
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        messages = reader.feed(data)
        if messages:
            return messages[0][0]


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


@pytest.mark.parametrize(
    "payload",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\xff\xff\xff\xff",
        encode_frame(b"\xc1\xc1"),
        encode_frame(msgspec.msgpack.encode([1, "wrong", "shape"])),
        encode_frame(msgspec.msgpack.encode([4, 1, "echo_int", [1], {}])),  # a request before Hello
    ],
    ids=["http", "huge-length", "invalid-msgpack", "wrong-shape", "request-before-hello"],
)
def test_bad_first_bytes_close_the_connection(
    server: SrpcKitchenServerStub, payload: bytes
) -> None:
    sock = _connect(server, hello=False)
    sock.sendall(payload)
    assert _closed_by_server(sock)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x00\x00\x02\xc1\xc1",
        b"\x7f\xff\xff\xff",
        encode_frame(b"\x95\x04\x01\xa2\xff\xfe\x90\x80"),  # invalid UTF-8 in proc
        encode_frame(msgspec.msgpack.encode([4, "id", "echo_int", [1], {}])),
        encode_frame(msgspec.msgpack.encode([5, 1, 2])),  # a Reply from the client
        encode_frame(msgspec.msgpack.encode({"proc": "echo_int"})),
        encode_frame(msgspec.msgpack.encode([10, 1, "f", [], {}])),  # a reserved tag
    ],
    ids=[
        "invalid-msgpack",
        "huge-length",
        "bad-utf8",
        "wrong-shape",
        "reply",
        "map",
        "reserved-tag",
    ],
)
def test_bad_frames_after_the_handshake_close_the_connection(
    server: SrpcKitchenServerStub, payload: bytes
) -> None:
    sock = _connect(server)
    sock.sendall(payload)
    assert _closed_by_server(sock)


def _call_raw(sock: socket.socket, proc: str, args: object, kwargs: object) -> Message:
    sock.sendall(encode_request(encoder, 1, proc, args, kwargs))  # type: ignore[arg-type]
    return _read(sock)


@pytest.mark.parametrize(
    ("proc", "args", "kwargs", "qualname", "text"),
    [
        ("nope", [1], {}, "ProtocolError", "no procedure 'nope'"),
        ("__init__", [], {}, "ProtocolError", "no procedure"),
        ("echo_int", ["1"], {}, "InvalidArguments", "Expected `int`, got `str`"),
        ("echo_int", [1, 2], {}, "InvalidArguments", "1 positional argument but 2"),
        ("echo_int", [], {}, "InvalidArguments", "missing a required argument"),
        ("echo_int", [], {"valu": 1}, "InvalidArguments", "unexpected keyword"),
        ("echo_int", {"a": 1}, {}, "InvalidArguments", "must be an array"),
        ("echo_int", [1], [1], "InvalidArguments", "keyword arguments must be a map"),
        ("echo_dataclass", [{"name": 1}], {}, "InvalidArguments", "`value.name`"),
    ],
)
def test_bad_requests_get_error_replies_and_the_connection_stays(
    server: SrpcKitchenServerStub, proc: str, args: object, kwargs: object, qualname: str, text: str
) -> None:
    sock = _connect(server)
    reply = _call_raw(sock, proc, args, kwargs)
    assert isinstance(reply, ErrorReply)
    assert reply.qualname == qualname
    assert text in reply.message
    good = _call_raw(sock, "echo_int", [7], {})
    assert isinstance(good, Reply)
    assert msgspec.msgpack.decode(good.result) == 7
    sock.close()


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        (b"\x91\xa2\xff\xfe", "InvalidArguments"),  # invalid UTF-8 in a str argument
        (b"\xdd\xff\xff\xff\xff\x01", "closed"),  # a huge array count: invalid envelope
        (b"\x92\x01", "closed"),  # truncated
    ],
    ids=["bad-utf8", "huge-array-count", "truncated"],
)
def test_malformed_argument_bytes(server: SrpcKitchenServerStub, args: bytes, outcome: str) -> None:
    sock = _connect(server)
    sock.sendall(encode_frame(b"\x95\x04\x01\xa8echo_str" + args + b"\x80"))
    if outcome == "closed":
        assert _closed_by_server(sock)
        return
    reply = _read(sock)
    assert isinstance(reply, ErrorReply)
    assert reply.qualname == outcome
    sock.close()


def test_half_a_frame_then_vanish(server: SrpcKitchenServerStub) -> None:
    sock = _connect(server)
    frame = encode_request(encoder, 1, "echo_int", (1,), {})
    sock.sendall(frame[: len(frame) // 2])
    sock.close()


def test_half_a_frame_then_silence_is_closed_by_the_handshake_timeout(
    server: SrpcKitchenServerStub,
) -> None:
    sock = _connect(server, hello=False)
    sock.sendall(encode_message(Hello(PROTOCOL_VERSION, "kitchen", "x"))[:5])
    assert _closed_by_server(sock)


def test_client_disconnects_with_calls_in_flight(server: SrpcKitchenServerStub) -> None:
    sock = _connect(server)
    for i in range(20):
        sock.sendall(encode_request(encoder, i, "async_sleep", (0.05, "x"), {}))
        sock.sendall(encode_request(encoder, 100 + i, "sleep", (0.01,), {}))
    sock.close()


def test_oversized_request_is_refused_by_the_client_before_sending(
    server: SrpcKitchenServerStub,
) -> None:
    with SrpcKitchenClientStub(*server.address) as kitchen:
        with pytest.raises(srpc.ProtocolError, match="over the server's limit"):
            kitchen.blob(b"x" * (2 * 1024 * 1024))
        assert kitchen.echo_int(1) == 1


def test_oversized_reply_fails_the_call_with_connection_lost(
    server: SrpcKitchenServerStub,
) -> None:
    with SrpcKitchenClientStub(*server.address, max_frame=1000) as kitchen:
        with pytest.raises(srpc.ConnectionLost, match="exceeds the limit"):
            kitchen.blob(b"x" * 2000)
        assert kitchen.echo_int(1) == 1


def test_max_in_flight_applies_backpressure_without_losing_calls() -> None:
    with SrpcKitchenServerStub(port=0, metrics_log=None, max_in_flight=2) as server:

        async def main() -> list[str]:
            async with SrpcKitchenAsyncClientStub(*server.address) as k:
                return await asyncio.gather(*(k.async_sleep(0.001, str(i)) for i in range(100)))

        assert asyncio.run(main()) == [str(i) for i in range(100)]


def test_idle_connections_are_closed_and_the_next_call_reconnects() -> None:
    with (
        SrpcKitchenServerStub(port=0, metrics_log=None, idle_timeout=0.05) as server,
        SrpcKitchenClientStub(*server.address) as kitchen,
    ):
        assert kitchen.echo_int(1) == 1
        connection = kitchen._srpc_shared.connection
        assert connection is not None
        while server._core.connections:
            time.sleep(0.02)
        assert kitchen.echo_int(2) == 2
        assert kitchen._srpc_shared.connection is not connection
