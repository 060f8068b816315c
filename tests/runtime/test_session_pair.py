"""A client session and a server session talking with no sockets (h11's ConnectionPair).

Bytes move between the two sans-IO sessions by hand: whole, one byte at a
time, and with the head of the next frame trailing. The server side runs
the real dispatcher (inline, so no event loop is needed) and answers
through a responder that collects the frames it would write.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from kitchen.kitchen import Kitchen

from srpc import ConnectionLost, InvalidArguments, ProtocolError
from srpc.codec import encoder, service_codec
from srpc.dispatch import Dispatcher
from srpc.framing import encode_frame
from srpc.metrics import MetricsWriter
from srpc.protocol import (
    PROTOCOL_VERSION,
    Cancel,
    ErrorReply,
    Hello,
    Message,
    Refuse,
    Reply,
    Request,
    ServerReply,
    ServerRequest,
    StreamItem,
    encode_message,
    encode_request,
)
from srpc.remote_errors import interface_exceptions, rebuild_exception
from srpc.security import HELLO_MAX_FRAME
from srpc.session import BACKLOG_CALLS, MAX_BACKLOG_BYTES, ClientSession, ServerSession

from .stubs import KITCHEN_SERVICE

MODES = ["whole", "one byte at a time", "trailing bytes"]


class SessionPair:
    """Both ends of one connection; ``pump`` moves the bytes each end sent to the other."""

    peer = "pair"

    def __init__(self, mode: str, *, token: bytes | None = None, client_token: str | None = None):
        self.mode = mode
        self.client: ClientSession[list[Message]] = ClientSession(
            KITCHEN_SERVICE, "server", token=client_token
        )
        self.server = ServerSession(
            KITCHEN_SERVICE, "client", token=token, max_frame=1 << 20, max_in_flight=8
        )
        self.dispatcher = Dispatcher(
            KITCHEN_SERVICE,
            Kitchen(),
            metrics=MetricsWriter(None, service="kitchen"),
            inline_all=True,
        )
        self.to_server = bytearray(self.client.hello())
        self.to_client = bytearray()
        self.handshake_answer: Message | None = None
        self.stray: list[Message] = []

    # The dispatcher's Responder.
    def send_answer(self, id: int, frame: bytes | bytearray | list[bytes | bytearray]) -> None:
        self.to_client += b"".join(frame) if isinstance(frame, list) else frame
        self.server.finished(id)

    def _chunks(self, data: bytes) -> list[bytes]:
        if self.mode == "whole":
            return [data]
        if self.mode == "one byte at a time":
            return [data[i : i + 1] for i in range(len(data))]
        # The tail of every chunk is the head of the next frame: it must wait, buffered.
        return [data[: len(data) - 3], data[len(data) - 3 :]] if len(data) > 3 else [data]

    def pump(self) -> None:
        data, self.to_server = bytes(self.to_server), bytearray()
        for chunk in self._chunks(data):
            for message, size in self.server.reader.feed(chunk):
                request = self.server.receive(message, size, 0.0)
                if request is not None:
                    self.dispatcher.dispatch(self, request, size, 0.0)
        for frame in self.server.take_outgoing():
            self.to_client += frame
        data, self.to_client = bytes(self.to_client), bytearray()
        for chunk in self._chunks(data):
            for message, _ in self.client.reader.feed(chunk):
                if self.handshake_answer is None:
                    self.handshake_answer = message
                    self.client.handshake(message)
                    continue
                waiting = self.client.route(message)
                if waiting is None:
                    self.stray.append(message)
                else:
                    waiting.append(message)

    def call(self, id: int, proc: str, *args: Any, **kwargs: Any) -> list[Message]:
        answer: list[Message] = []
        self.client.calls[id] = answer
        self.to_server += encode_request(encoder, id, proc, args, kwargs)
        return answer


def _result(proc: str, answer: list[Message]) -> Any:
    (message,) = answer
    if isinstance(message, Reply):
        return service_codec(KITCHEN_SERVICE).procedures[proc].decode_result(message.result)
    assert isinstance(message, ErrorReply)
    raise rebuild_exception(message, interface_exceptions(KITCHEN_SERVICE.interface))


@pytest.mark.parametrize("mode", MODES)
def test_handshake_calls_answers_and_errors(mode: str) -> None:
    pair = SessionPair(mode)
    pair.pump()
    assert pair.server.welcomed
    assert pair.client.server_max_frame == 1 << 20 and pair.client.server_max_in_flight == 8
    defaults = pair.call(1, "defaults", 1, c=5)
    boom = pair.call(2, "raise_error", "zero")
    bad = pair.call(3, "echo_int", "not an int")
    blob = pair.call(4, "blob", b"abc" * 30000)  # a frame that spans many reads bytewise
    pair.pump()
    assert _result("defaults", defaults) == 16
    with pytest.raises(ZeroDivisionError):
        _result("raise_error", boom)
    with pytest.raises(InvalidArguments, match=r"echo_int\(\): argument 'value'"):
        _result("echo_int", bad)
    assert _result("blob", blob) == (b"abc" * 30000)[::-1]
    assert not pair.client.calls and not pair.server.serving and not pair.stray
    assert pair.client.reader.buffered == 0 and pair.server.reader.buffered == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_token_is_refused_before_any_call(mode: str) -> None:
    pair = SessionPair(mode, token=b"right", client_token="wrong")
    with pytest.raises(Exception, match="missing or wrong token") as info:
        pair.pump()
    assert type(info.value).__name__ == "AuthenticationFailed"
    assert isinstance(pair.handshake_answer, Refuse)
    assert pair.server.close_after_send and not pair.server.welcomed


def test_an_answer_nobody_waits_for_is_dropped_and_a_non_answer_fails_the_connection() -> None:
    pair = SessionPair("whole")
    pair.pump()
    waiting = pair.call(7, "echo_int", 1)
    assert pair.client.route(Reply(99, msgspec.Raw(b"\x01"))) is None  # a call that gave up
    with pytest.raises(ProtocolError, match="unexpected Request message"):
        pair.client.route(Request(7, "echo_int", msgspec.Raw(b"\x91\x01"), msgspec.Raw(b"\x80")))
    lost, calls = pair.client.fail(ProtocolError("bad peer"))
    assert calls == [waiting] and isinstance(lost, ConnectionLost)
    assert "bad peer" in str(lost) and not pair.client.calls


def test_the_server_refuses_what_a_client_may_not_send() -> None:
    pair = SessionPair("whole")
    pair.pump()
    request = Request(1, "echo_int", msgspec.Raw(b"\x91\x01"), msgspec.Raw(b"\x80"))
    assert pair.server.receive(request, 10, 0.0) is request
    with pytest.raises(ProtocolError, match="already in flight"):
        pair.server.receive(request, 10, 0.0)
    with pytest.raises(ProtocolError, match="unexpected Reply message"):
        pair.server.receive(Reply(1, msgspec.Raw(b"\x01")), 10, 0.0)
    with pytest.raises(ProtocolError, match="unexpected Hello message"):
        pair.server.receive(Hello(PROTOCOL_VERSION, "kitchen", "f"), 10, 0.0)


def test_requests_past_max_in_flight_wait_in_the_backlog_in_order() -> None:
    session = ServerSession(KITCHEN_SERVICE, "client", max_in_flight=2)
    session.receive(Hello(PROTOCOL_VERSION, "kitchen", KITCHEN_SERVICE.fingerprint), 10, 0.0)
    assert session.welcomed
    requests = [
        Request(i, "echo_int", msgspec.Raw(b"\x91\x01"), msgspec.Raw(b"\x80")) for i in range(5)
    ]
    admitted = [session.receive(r, 10, float(r.id)) for r in requests]
    assert admitted[:2] == requests[:2] and admitted[2:] == [None, None, None]
    assert not session.saturated  # reading goes on: the running calls' messages come that way
    assert session.running == 2 and len(session.serving) == 5 and session.backlog_bytes == 30
    assert session.next_ready() is None  # still two running
    session.finished(0)
    ready = session.next_ready()
    assert ready is not None and ready[0] is requests[2] and ready[2] == 2.0
    assert session.next_ready() is None and session.running == 2
    for i in (1, 2):
        session.finished(i)
    assert [r[0].id for r in iter(session.next_ready, None)] == [3, 4]
    for i in (3, 4):
        session.finished(i)
    assert not session.saturated and not session.serving and session.backlog_bytes == 0


def test_reading_stops_when_the_backlog_is_full() -> None:
    session = ServerSession(KITCHEN_SERVICE, "client", max_in_flight=2)
    session.receive(Hello(PROTOCOL_VERSION, "kitchen", KITCHEN_SERVICE.fingerprint), 10, 0.0)
    raw = (msgspec.Raw(b"\x91\x01"), msgspec.Raw(b"\x80"))
    for i in range(2 + BACKLOG_CALLS * 2 - 1):
        session.receive(Request(i, "echo_int", *raw), 10, 0.0)
    assert not session.saturated
    session.receive(StreamItem(5, raw[0]), 7, 0.0)  # kept for backlogged call 5, counted
    assert session.backlog_bytes == (BACKLOG_CALLS * 2 - 1) * 10 + 7
    session.receive(Request(99, "echo_int", *raw), 10, 0.0)
    assert session.saturated
    session.receive(Cancel(5), 3, 0.0)  # a backlogged call given up: its bytes go too
    assert session.backlog_bytes == (BACKLOG_CALLS * 2 - 1) * 10
    big = ServerSession(KITCHEN_SERVICE, "client", max_in_flight=1)
    big.receive(Hello(PROTOCOL_VERSION, "kitchen", KITCHEN_SERVICE.fingerprint), 10, 0.0)
    big.receive(Request(1, "echo_int", *raw), 10, 0.0)
    big.receive(Request(2, "echo_int", *raw), MAX_BACKLOG_BYTES, 0.0)
    assert big.saturated  # a backlog of few but large requests


def test_before_the_handshake_only_a_small_frame_is_read() -> None:
    session = ServerSession(KITCHEN_SERVICE, "client")
    with pytest.raises(ProtocolError, match=f"exceeds the limit of {HELLO_MAX_FRAME}"):
        session.reader.feed((HELLO_MAX_FRAME + 1).to_bytes(4, "big"))
    hello = encode_message(Hello(PROTOCOL_VERSION, "kitchen", KITCHEN_SERVICE.fingerprint))
    welcomed = ServerSession(KITCHEN_SERVICE, "client", max_frame=1 << 20)
    for message, size in welcomed.reader.feed(bytes(hello)):
        welcomed.receive(message, size, 0.0)
    assert welcomed.reader.max_frame == 1 << 20  # raised once the peer is welcomed
    assert welcomed.reader.feed(encode_frame(b"\x91")[:2]) == []  # trailing bytes wait


def test_a_request_over_the_servers_limit_is_refused_by_the_client_session() -> None:
    pair = SessionPair("whole")
    pair.pump()
    with pytest.raises(ProtocolError, match="over the server's limit of 1048576"):
        pair.client.check_request_size((1 << 20) + 1)


def test_callback_messages_route_by_the_call_that_passed_the_callbacks() -> None:
    pair = SessionPair("whole")
    pair.pump()
    waiting = pair.call(7, "echo_int", 1)
    request = ServerRequest(7, 1, 0, "update", msgspec.Raw(b"\x90"), msgspec.Raw(b"\x80"))
    assert pair.client.route(request) is waiting  # the call stays in the table
    assert pair.client.calls == {7: waiting}
    assert pair.client.route(ServerRequest(8, 1, 0, "f", request.args, request.kwargs)) is None

    received: list[Message] = []

    class Call:
        def receive(self, message: Message) -> None:
            received.append(message)

    pair.server.serving[5] = Call()
    reply = ServerReply(5, 1, msgspec.Raw(b"\xc0"))
    assert pair.server.receive(reply, 6, 0.0) is None
    assert received == [reply]
    assert pair.server.receive(ServerReply(6, 1, reply.result), 6, 0.0) is None  # no such call
    assert received == [reply]
    with pytest.raises(ProtocolError, match="unexpected ServerRequest message"):
        pair.server.receive(request, 10, 0.0)  # only a server sends those
