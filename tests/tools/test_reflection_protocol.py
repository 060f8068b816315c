"""The wire side of reflection and of the dynamic client: the bytes PROTOCOL.md gives, the
handshake rule, the session's answer, and the description's contents."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import pydantic
import pytest

from srpc.descriptor import ServiceDescriptor
from srpc.dynamic import DynamicClient, prepare_arguments
from srpc.errors import AuthenticationFailed, ConnectError, ProtocolError
from srpc.protocol import (
    MAX_DESCRIBES,
    PROTOCOL_VERSION,
    REFLECTION_OFF,
    Describe,
    Description,
    ErrorReply,
    Hello,
    MessageReader,
    Refuse,
    RefuseCode,
    Welcome,
    answer_describe,
    answer_hello,
    encode_message,
)
from srpc.reflection import describe_service, encode_description, type_schema
from srpc.session import ServerSession
from tests.runtime.stubs import CALC_SERVICE, SrpcCalcClientStub, SrpcCalcServerStub

PROTOCOL_MD = (Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md").read_text()


def hex_of(data: bytes | bytearray) -> str:
    return " ".join(f"{b:02x}" for b in data)


def doc_hex(data: bytes | bytearray) -> str:
    """How PROTOCOL.md writes a frame: the prefix, two spaces, the payload."""
    return f"{hex_of(data[:4])}  {hex_of(data[4:])}"


def test_the_documented_bytes() -> None:
    assert doc_hex(encode_message(Hello(2, "", "", None))) in PROTOCOL_MD
    assert doc_hex(encode_message(Describe(1))) in PROTOCOL_MD
    off = answer_describe(Describe(1), None)
    assert hex_of(off[:12]) == "00 00 00 73 99 06 01 03 ab 73 72 70"
    assert '`00 00 00 73  99 06 01 03 ab "srpc.errors" ad "ProtocolError"' in PROTOCOL_MD
    frame = answer_describe(Describe(1), encode_description(CALC_SERVICE))
    assert len(frame) - 4 == int(re.search(r"a (\d+)-byte payload", PROTOCOL_MD)[1])  # type: ignore[index]
    assert doc_hex(frame[:8]) + " a7" in PROTOCOL_MD


def answer(hello: Hello, token: bytes | None = None) -> Welcome | Refuse:
    return answer_hello(
        hello, service="calc", fingerprint="f", token=token, max_frame=1024, max_in_flight=8
    )


def test_a_dynamic_hello_is_welcomed_with_the_real_service() -> None:
    welcome = answer(Hello(PROTOCOL_VERSION, "", "", None))
    assert isinstance(welcome, Welcome)
    assert (welcome.service, welcome.fingerprint) == ("calc", "f")


def test_a_dynamic_hello_needs_the_token() -> None:
    for token in (None, "wrong"):
        refused = answer(Hello(PROTOCOL_VERSION, "", "", token), b"t")
        assert isinstance(refused, Refuse) and refused.code == RefuseCode.AUTH
    assert isinstance(answer(Hello(PROTOCOL_VERSION, "", "", "t"), b"t"), Welcome)
    old = answer(Hello(PROTOCOL_VERSION + 1, "", "", None))
    assert isinstance(old, Refuse) and old.code == RefuseCode.INCOMPATIBLE


@pytest.mark.parametrize(("service", "fingerprint"), [("calc", ""), ("", "f"), ("", "g")])
def test_stub_clients_keep_the_strict_check(service: str, fingerprint: str) -> None:
    refused = answer(Hello(PROTOCOL_VERSION, service, fingerprint, None))
    assert isinstance(refused, Refuse) and refused.code == RefuseCode.INCOMPATIBLE


def session_after_hello(reflection: bytes | None) -> tuple[ServerSession, MessageReader]:
    session = ServerSession(CALC_SERVICE, "peer")
    session.reflection = reflection
    session.receive(Hello(PROTOCOL_VERSION, "", "", None), 10, 0.0)
    reader = MessageReader()
    assert isinstance(reader.feed(session.take_outgoing()[0])[0][0], Welcome)
    return session, reader


def test_the_session_answers_describe() -> None:
    description = encode_description(CALC_SERVICE)
    session, reader = session_after_hello(description)
    assert session.receive(Describe(7), 3, 0.0) is None
    ((message, _),) = reader.feed(session.take_outgoing()[0])
    assert isinstance(message, Description) and message.id == 7
    assert bytes(message.description) == description
    assert not session.close_after_send


def test_with_reflection_off_the_session_answers_an_error() -> None:
    session, reader = session_after_hello(None)
    session.receive(Describe(3), 3, 0.0)
    ((message, _),) = reader.feed(session.take_outgoing()[0])
    assert isinstance(message, ErrorReply)
    assert (message.id, message.kind, message.qualname, message.message) == (
        3, 3, "ProtocolError", REFLECTION_OFF
    )  # fmt: skip
    assert not session.close_after_send


def test_describe_before_the_handshake_is_refused() -> None:
    session = ServerSession(CALC_SERVICE, "peer")
    session.receive(Describe(1), 3, 0.0)
    ((message, _),) = MessageReader().feed(session.take_outgoing()[0])
    assert isinstance(message, Refuse) and message.code == RefuseCode.BAD_HELLO
    assert session.close_after_send


def test_the_calc_description() -> None:
    description = describe_service(CALC_SERVICE)
    assert msgspec.msgpack.decode(encode_description(CALC_SERVICE)) == description
    assert description["service"] == "calc"
    assert description["doc"] == "A calculator served over srpc."
    assert [p["name"] for p in description["procedures"]] == ["add", "sub", "mult", "div"]
    div = description["procedures"][3]
    assert div["signature"] == "div(a: int, b: int) -> float"
    assert div["doc"] == "Return a / b; raises ZeroDivisionError when b is 0."


class _Opaque:
    """A type msgspec has no schema for."""


def test_a_type_msgspec_cannot_describe_gets_an_empty_schema_and_a_note() -> None:
    schema, note = type_schema(_Opaque)
    assert schema == {}
    assert note is not None and "msgspec cannot describe" in note and "_Opaque" in note
    assert type_schema(Path) == ({"type": "string", "description": "a file system path"}, None)


class Model(pydantic.BaseModel):
    x: int


class NumpyInterface(ABC):
    @abstractmethod
    def scale(self, values: npt.NDArray[np.float64], model: Model) -> int: ...


def test_numpy_and_pydantic_parameters_are_described() -> None:
    descriptor = ServiceDescriptor("np", NumpyInterface, "f", ("scale",))
    (procedure,) = describe_service(descriptor)["procedures"]
    values, model = procedure["parameters"]
    assert values["schema"] == {} and "note" in values
    assert procedure["result"]["schema"] == {"type": "integer"}
    assert isinstance(model["schema"], dict)  # described or noted, never a failure
    assert model["schema"] or "note" in model


def test_a_stub_client_and_a_dynamic_client_on_one_server() -> None:
    with SrpcCalcServerStub("127.0.0.1", 0, metrics_log=None, token="t") as server:
        host, port = server.address
        with SrpcCalcClientStub(host, port, token="t") as stub:
            assert stub.add(1, 2) == 3
        with DynamicClient(f"{host}:{port}", token="t", timeout=5) as client:
            client.connect()
            assert (client.service, client.fingerprint) == ("calc", CALC_SERVICE.fingerprint)
            procedure: Any = client.describe()["procedures"][0]
            args, kwargs, items = prepare_arguments(procedure, [2], {"b": 5})
            assert client.call("add", args, kwargs) == 7 and items is None
            assert client.ping() >= 0
        with pytest.raises(AuthenticationFailed):
            DynamicClient(f"{host}:{port}", token="nope").connect()


def test_a_server_that_refuses_dynamic_clients_is_named() -> None:
    import socket
    import threading

    with socket.socket() as listener:  # an old server: a Refuse(1) to any unknown Hello
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def refuse() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(100)
                conn.sendall(
                    encode_message(
                        Refuse(1, "service or interface fingerprint differs", 2, "calc", "f")
                    )
                )

        thread = threading.Thread(target=refuse)
        thread.start()
        with pytest.raises(ConnectError, match="does not take clients without a stub"):
            DynamicClient(f"127.0.0.1:{listener.getsockname()[1]}").connect()
        thread.join()


def test_a_connection_gets_a_few_descriptions_then_is_closed() -> None:
    session, _ = session_after_hello(b"\x80")
    for id in range(MAX_DESCRIBES):
        session.receive(Describe(id), 3, 0.0)
    assert len(session.take_outgoing()) == MAX_DESCRIBES
    with pytest.raises(ProtocolError, match="more than 8 Describe requests"):
        session.receive(Describe(99), 3, 0.0)


def test_pipelined_describes_close_the_connection() -> None:
    import contextlib
    import socket

    from srpc.framing import RECV_SIZE

    with SrpcCalcServerStub("127.0.0.1", 0, metrics_log=None) as server:
        with socket.create_connection(server.address, timeout=10) as sock:
            sock.sendall(encode_message(Hello(PROTOCOL_VERSION, "", "", None)))
            sock.sendall(b"".join(encode_message(Describe(i)) for i in range(10_000)))
            received = 0
            with contextlib.suppress(ConnectionResetError):  # closed with requests unread
                while data := sock.recv(RECV_SIZE):
                    received += len(data)
        assert received < (MAX_DESCRIBES + 1) * len(encode_description(CALC_SERVICE)) + 100
