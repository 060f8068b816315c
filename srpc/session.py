"""Sans-IO sessions: the state of one srpc connection, seen from either end.

A session does no I/O. Its transport feeds it the messages it read (the
session's :class:`~srpc.protocol.MessageReader` turns bytes into messages)
and writes the frames the session hands back. Everything a connection
decides lives here, once, for every transport (TCP, TLS, in-memory and,
later, NATS):

- the handshake (:meth:`ClientSession.hello` / :meth:`ClientSession.handshake`
  on one side, :meth:`ServerSession.receive` answering the first message on
  the other);
- the call table: ``calls`` holds the calls this end started and waits
  for, ``serving`` the calls the peer started that this end is running.
  Both ends have both tables, so calls in either direction (the server's
  callbacks into the client) and calls that receive many messages (streams)
  fit the same shape;
- routing: an answer goes to the call it names; an answer nobody waits for
  (its call gave up) is dropped; any other message is a protocol error and
  the connection must close;
- the limits: the frame size before and after the handshake, requests per
  connection in flight (``max_in_flight``: past it requests wait in the
  session's backlog and the transport stops reading);
- failing every open call when the connection fails.

A table entry is whatever the transport waits on (a slot for a thread, a
future for a task): the session stores and returns it and never looks
inside, so waking a caller stays the transport's job.
"""

from __future__ import annotations

import collections
from typing import Any, Generic, TypeVar

from srpc.descriptor import ServiceDescriptor
from srpc.errors import (
    AuthenticationFailed,
    ConnectError,
    ConnectionLost,
    IncompatibleStub,
    ProtocolError,
    SrpcError,
    TooManyConnections,
)
from srpc.framing import DEFAULT_MAX_FRAME
from srpc.protocol import (
    MAX_DESCRIBES,
    PROTOCOL_VERSION,
    Cancel,
    Credit,
    Describe,
    ErrorReply,
    GoAway,
    Hello,
    Message,
    MessageReader,
    Ping,
    Pong,
    Refuse,
    RefuseCode,
    Reply,
    Request,
    ServerErrorReply,
    ServerReply,
    ServerRequest,
    StreamEnd,
    StreamItem,
    Welcome,
    answer_describe,
    answer_hello,
    encode_message,
)
from srpc.security import DEFAULT_MAX_IN_FLIGHT, HELLO_MAX_FRAME

__all__ = ["BACKLOG_CALLS", "MAX_BACKLOG_BYTES", "ClientSession", "ServerSession", "lost_error"]

BACKLOG_CALLS = 8
"""Requests a connection's backlog may hold, in multiples of ``max_in_flight``."""

MAX_BACKLOG_BYTES = 16 * 1024 * 1024
"""Bytes of backlogged requests (and the messages kept for them) a connection may hold before
the server stops reading it."""

C = TypeVar("C")
"""What a transport waits on for one call's answer."""


def lost_error(failure: SrpcError) -> ConnectionLost:
    """What the calls in flight raise when their connection fails with ``failure``."""
    if isinstance(failure, ConnectionLost):
        return failure
    return ConnectionLost(f"the connection was closed: {failure}")


class _Session(Generic[C]):
    """What both ends share: the two call tables and the failure that ended them."""

    __slots__ = ("calls", "failure", "label", "reader", "serving")

    def __init__(self, label: str, reader: MessageReader) -> None:
        self.label = label
        self.reader = reader
        self.calls: dict[int, C] = {}
        """Calls this end started, by id, until their answer arrives."""
        self.serving: dict[int, Any] = {}
        """Calls the peer started that this end is running, by id."""
        self.failure: SrpcError | None = None

    def fail(self, failure: SrpcError) -> tuple[ConnectionLost, list[C]]:
        """The connection failed: the error every open call gets, and those calls (removed)."""
        if self.failure is None:
            self.failure = failure
        calls = list(self.calls.values())
        self.calls.clear()
        return lost_error(failure), calls

    def unexpected(self, message: Message) -> ProtocolError:
        return ProtocolError(f"{self.label}: unexpected {type(message).__name__} message")


class ClientSession(_Session[C]):
    """The end of a connection that opened it: it sends the Hello and starts the calls."""

    __slots__ = ("closing", "descriptor", "server_max_frame", "server_max_in_flight", "token")

    def __init__(
        self,
        descriptor: ServiceDescriptor,
        label: str,
        *,
        token: str | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        # A client trusts its server's declared lengths (eager): one allocation per large frame.
        super().__init__(label, MessageReader(max_frame, eager=True))
        self.descriptor = descriptor
        self.token = token
        self.server_max_frame = DEFAULT_MAX_FRAME
        self.server_max_in_flight = DEFAULT_MAX_IN_FLIGHT
        self.closing = False
        """The server said GoAway: calls in flight go on, new ones need a new connection."""

    def hello(self) -> bytearray:
        """The first frame to send."""
        descriptor = self.descriptor
        return encode_message(
            Hello(PROTOCOL_VERSION, descriptor.name, descriptor.fingerprint, self.token)
        )

    def handshake(self, answer: Message) -> None:
        """Take the server's answer to the Hello; raises the refusal as an srpc error."""
        if type(answer) is Welcome:
            self.server_max_frame = answer.max_frame
            self.server_max_in_flight = answer.max_in_flight
            return
        if type(answer) is Refuse:
            raise self._refusal(answer)
        raise ProtocolError(f"{self.label} answered the handshake with {type(answer).__name__}")

    def _refusal(self, refuse: Refuse) -> SrpcError:
        label = self.label
        if refuse.code == RefuseCode.INCOMPATIBLE:
            descriptor = self.descriptor
            return IncompatibleStub(
                f"the client stub does not match the server at {label}: client has service "
                f"{descriptor.name!r}, fingerprint {descriptor.fingerprint}, protocol "
                f"{PROTOCOL_VERSION}; server has service {refuse.service!r}, fingerprint "
                f"{refuse.fingerprint}, protocol {refuse.version} ({refuse.message}). "
                "Regenerate the client stub with srpc-stubgen from the server's interface file."
            )
        if refuse.code == RefuseCode.AUTH:
            return AuthenticationFailed(
                f"the server at {label} refused the client: {refuse.message}"
            )
        if refuse.code == RefuseCode.TOO_MANY_CONNECTIONS:
            return TooManyConnections(f"the server at {label} refused the client: {refuse.message}")
        return ConnectError(f"the server at {label} refused the connection: {refuse.message}")

    def check_request_size(self, size: int) -> None:
        """Refuse a request payload the server would refuse (and close the connection for)."""
        if size > self.server_max_frame:
            raise ProtocolError(
                f"{self.label}: the request is {size} bytes, over the server's limit of "
                f"{self.server_max_frame}"
            )

    def route(self, message: Message) -> C | None:
        """The waiting call ``message`` is for, or ``None`` when nobody waits for it any more
        (the call gave up) or it is about the connection itself.

        A call's last message (Reply, ErrorReply, StreamEnd) removes it from
        the table; a stream item, a credit or a callback request (ServerRequest:
        the server calls one of the callbacks the call passed) leaves it there. GoAway marks the
        session closing: no new call may start on it. Raises
        :class:`ProtocolError` for a message a server may not send: the
        connection must then be failed.
        """
        kind = type(message)
        if kind is Reply or kind is ErrorReply or kind is StreamEnd:
            return self.calls.pop(message.id, None)  # type: ignore[union-attr]
        if kind is StreamItem or kind is Credit or kind is ServerRequest:
            return self.calls.get(message.id)  # type: ignore[union-attr]
        if kind is GoAway:
            self.closing = True
            return None
        if kind is Pong:
            return None
        raise self.unexpected(message)


class ServerSession(_Session[Any]):
    """The end of a connection that accepted it: it answers the Hello and serves the calls.

    :meth:`receive` takes each message the transport read. Frames to send
    (the handshake's answer) collect in ``outgoing``; ``close_after_send``
    says the connection ends once they are written. A request that may run
    is returned to the transport to dispatch; past ``max_in_flight`` it
    waits in the backlog until :meth:`finished` releases it.
    """

    __slots__ = (
        "backlog",
        "backlog_bytes",
        "close_after_send",
        "described",
        "descriptor",
        "early",
        "max_frame",
        "max_in_flight",
        "outgoing",
        "reflection",
        "token",
        "welcomed",
    )

    def __init__(
        self,
        descriptor: ServiceDescriptor,
        label: str,
        *,
        token: bytes | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        # Until the handshake succeeds a peer may only send a small Hello frame.
        super().__init__(label, MessageReader(min(max_frame, HELLO_MAX_FRAME)))
        self.descriptor = descriptor
        self.token = token
        self.max_frame = max_frame
        self.max_in_flight = max_in_flight
        self.welcomed = False
        self.outgoing: list[bytearray] = []
        self.close_after_send = False
        self.backlog: collections.deque[tuple[Request, int, float]] = collections.deque()
        self.backlog_bytes = 0
        """Bytes of the backlogged requests and of the messages kept for them."""
        self.early: dict[int, int] = {}
        """Bytes of the messages kept for each backlogged call."""
        self.reflection: bytes | None = None
        """The encoded description a Describe is answered with (``None``: reflection off)."""
        self.described = 0

    @property
    def running(self) -> int:
        """Requests dispatched and not yet answered (the backlog excluded)."""
        return len(self.serving) - len(self.backlog)

    @property
    def saturated(self) -> bool:
        """Whether the transport should stop reading: the backlog is full.

        Past ``max_in_flight`` calls in flight, requests wait in the backlog, and reading
        goes on until the backlog holds :data:`BACKLOG_CALLS` x ``max_in_flight`` requests
        or :data:`MAX_BACKLOG_BYTES` (theirs and the messages kept for them). Reading must go
        on while calls run: their Credit, Cancel and callback answers come the same way,
        and a call that waits for one would otherwise never end, nor the backlog drain.
        """
        return (
            len(self.backlog) >= BACKLOG_CALLS * self.max_in_flight
            or self.backlog_bytes >= MAX_BACKLOG_BYTES
        )

    def receive(self, message: Message, size: int, received: float) -> Request | None:
        """Take one message read from the peer (``size`` bytes on the wire, read at the
        transport's clock time ``received``).

        Returns the request to dispatch now, or ``None`` (a handshake was
        answered into ``outgoing``, or the request waits in the backlog).
        Raises :class:`ProtocolError` for a message the peer may not send
        here (the transport closes the connection).
        """
        kind = type(message)
        if kind is Request and self.welcomed:
            id = message.id  # type: ignore[union-attr]
            serving = self.serving
            if id in serving:
                raise ProtocolError(f"{self.label}: request id {id} is already in flight")
            if len(serving) >= self.max_in_flight or self.backlog:
                self.backlog.append((message, size, received))  # type: ignore[arg-type]
                self.backlog_bytes += size
                serving[id] = []  # the id is taken from now on; its early messages wait here
                return None
            serving[id] = None
            return message  # type: ignore[return-value]
        if not self.welcomed:
            self._answer_hello(message)
            return None
        if (
            kind is StreamItem
            or kind is StreamEnd
            or kind is Cancel
            or kind is Credit
            or kind is ServerReply
            or kind is ServerErrorReply
        ):
            id = message.id  # type: ignore[union-attr]
            call = self.serving.get(id)
            if type(call) is list:  # backlogged: kept for when it runs (a window at most)
                if kind is Cancel:
                    self._drop_backlogged(id)
                else:
                    call.append(message)
                    self.early[id] = self.early.get(id, 0) + size
                    self.backlog_bytes += size
            elif call is not None:
                call.receive(message)
            # else: the call has ended (an item the implementation did not read): dropped
            return None
        if kind is Ping:
            self.outgoing.append(encode_message(Pong(message.nonce)))  # type: ignore[union-attr]
            return None
        if kind is Describe:  # answered at most MAX_DESCRIBES times: a big answer to 3 bytes
            self.described += 1
            if self.described > MAX_DESCRIBES:
                raise ProtocolError(f"{self.label}: more than {MAX_DESCRIBES} Describe requests")
            self.outgoing.append(answer_describe(message, self.reflection))  # type: ignore[arg-type]
            return None
        raise self.unexpected(message)

    def attach(self, id: int, call: Any) -> None:
        """Route call ``id``'s later messages to ``call.receive`` (Cancel, Credit, stream
        items); the messages that came while it waited in the backlog are given first."""
        early = self.serving.get(id)
        self.serving[id] = call
        self.backlog_bytes -= self.early.pop(id, 0)
        if type(early) is list:
            for message in early:
                call.receive(message)

    def _drop_backlogged(self, id: int) -> None:
        self.serving.pop(id, None)
        self.backlog_bytes -= self.early.pop(id, 0)
        for i, (request, size, _) in enumerate(self.backlog):
            if request.id == id:
                del self.backlog[i]
                self.backlog_bytes -= size
                return

    def go_away(self, reason: str) -> None:
        """Tell the client no new calls are taken (the server is stopping)."""
        last = max(self.serving, default=0)
        self.outgoing.append(encode_message(GoAway(last, reason)))

    def _answer_hello(self, message: Message) -> None:
        descriptor = self.descriptor
        answer = answer_hello(
            message,
            service=descriptor.name,
            fingerprint=descriptor.fingerprint,
            token=self.token,
            max_frame=self.max_frame,
            max_in_flight=self.max_in_flight,
        )
        self.outgoing.append(encode_message(answer))
        if isinstance(answer, Welcome):
            self.welcomed = True
            self.reader.max_frame = self.max_frame
        else:
            self.close_after_send = True
            self.failure = ConnectError(f"refused {self.label}: {answer.message}")

    def refuse(self, code: RefuseCode, text: str) -> None:
        """Refuse the connection before its Hello is read (e.g. over a connection limit)."""
        descriptor = self.descriptor
        self.outgoing.append(
            encode_message(
                Refuse(code, text, PROTOCOL_VERSION, descriptor.name, descriptor.fingerprint)
            )
        )
        self.close_after_send = True
        self.failure = ConnectError(f"refused {self.label}: {text}")

    def take_outgoing(self) -> list[bytearray]:
        frames, self.outgoing = self.outgoing, []
        return frames

    def finished(self, id: int) -> None:
        """Call ``id`` was answered."""
        self.serving.pop(id, None)

    def next_ready(self) -> tuple[Request, int, float] | None:
        """The backlogged request that may run now (with its size and receive time), if any."""
        backlog = self.backlog
        if backlog and len(self.serving) - len(backlog) < self.max_in_flight:
            ready = backlog.popleft()
            self.backlog_bytes -= ready[1]
            return ready
        return None
