"""srpc messages (msgspec Structs) and the sans-IO handshake rules.

Every message is a MessagePack array whose first element is an integer tag
(msgspec ``array_like`` + ``tag``), framed by :mod:`srpc.framing`. The
byte-level layout is documented in ``docs/PROTOCOL.md``. Nothing here does
I/O: the same functions serve the sync client, the async client, the server
and any future transport.

Payload fields (``args``, ``kwargs``, ``result``, error ``args``) are
:class:`msgspec.Raw` on decode, so the envelope is decoded once and the
payload is decoded afterwards with the typed decoder of its procedure.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final, Union

import msgspec

from srpc.errors import ProtocolError
from srpc.framing import DEFAULT_MAX_FRAME, FrameDecoder, join_frame, new_frame
from srpc.security import token_matches

__all__ = [
    "DECODE_ERRORS",
    "MAX_DESCRIBES",
    "PROTOCOL_VERSION",
    "REFLECTION_OFF",
    "RESERVED_TAGS",
    "STREAM_WINDOW_BYTES",
    "STREAM_WINDOW_ITEMS",
    "TAG_REPLY",
    "TAG_REQUEST",
    "Cancel",
    "Credit",
    "Describe",
    "Description",
    "ErrorKind",
    "ErrorReply",
    "GoAway",
    "Hello",
    "Message",
    "MessageReader",
    "Ping",
    "Pong",
    "Refuse",
    "RefuseCode",
    "Reply",
    "Request",
    "ServerErrorReply",
    "ServerReply",
    "ServerRequest",
    "StreamEnd",
    "StreamItem",
    "Welcome",
    "answer_describe",
    "answer_hello",
    "encode_message",
    "encode_payload",
    "encode_request",
    "encode_stream_item",
    "stream_item_head",
]

PROTOCOL_VERSION: Final = 2

TAG_HELLO: Final = 1
TAG_WELCOME: Final = 2
TAG_REFUSE: Final = 3
TAG_REQUEST: Final = 4
TAG_REPLY: Final = 5
TAG_ERROR_REPLY: Final = 6
TAG_STREAM_ITEM: Final = 7
TAG_STREAM_END: Final = 8
TAG_CANCEL: Final = 9
TAG_SERVER_REQUEST: Final = 10
TAG_SERVER_REPLY: Final = 11
TAG_SERVER_ERROR_REPLY: Final = 12
TAG_PING: Final = 13
TAG_PONG: Final = 14
TAG_GO_AWAY: Final = 15
TAG_CREDIT: Final = 16
TAG_DESCRIBE: Final = 17
TAG_DESCRIPTION: Final = 18

RESERVED_TAGS: Final[dict[int, str]] = {}
"""Tags reserved for future messages of this version (none: 19-63 are for later versions)."""

STREAM_WINDOW_ITEMS: Final = 256
"""Items a stream's sender may send before the receiver grants more (per call, each way)."""
STREAM_WINDOW_BYTES: Final = 4 * 1024 * 1024
"""Bytes of items a stream's sender may send before the receiver grants more (the item that
crosses the limit is still sent whole)."""


class RefuseCode(enum.IntEnum):
    """Why a server refused a handshake (the ``code`` of :class:`Refuse`)."""

    INCOMPATIBLE = 1
    AUTH = 2
    TOO_MANY_CONNECTIONS = 3
    BAD_HELLO = 4
    SHUTTING_DOWN = 5


class ErrorKind(enum.IntEnum):
    """How the client should rebuild the exception in an :class:`ErrorReply`."""

    BUILTIN = 0  # a builtins exception: same type, same args
    INTERFACE = 1  # a class defined in or imported by the interface module
    REMOTE = 2  # anything else: srpc.RemoteError
    SRPC = 3  # an srpc.errors type raised by the server runtime (bad arguments etc.)


class Hello(msgspec.Struct, array_like=True, tag=TAG_HELLO, frozen=True, gc=False):
    """Client -> server, first frame of a connection."""

    version: int
    service: str
    fingerprint: str
    token: str | None = None


class Welcome(msgspec.Struct, array_like=True, tag=TAG_WELCOME, frozen=True, gc=False):
    """Server -> client: the handshake succeeded; requests may follow."""

    version: int
    service: str
    fingerprint: str
    max_frame: int
    max_in_flight: int


class Refuse(msgspec.Struct, array_like=True, tag=TAG_REFUSE, frozen=True, gc=False):
    """Server -> client: the handshake failed; the server closes the connection."""

    code: int
    message: str
    version: int
    service: str
    fingerprint: str


class Request(msgspec.Struct, array_like=True, tag=TAG_REQUEST, frozen=True, gc=False):
    """Client -> server: call ``proc(*args, **kwargs)``; ``id`` is echoed in the answer.

    ``timeout``: the seconds the caller still waits for the whole call as it
    sends the request (``None``: for ever); the server cancels the call when
    they have passed.
    """

    id: int
    proc: str
    args: msgspec.Raw
    kwargs: msgspec.Raw
    timeout: float | None = None


class Reply(msgspec.Struct, array_like=True, tag=TAG_REPLY, frozen=True, gc=False):
    """Server -> client: call ``id`` returned ``result``."""

    id: int
    result: msgspec.Raw


class ErrorReply(msgspec.Struct, array_like=True, tag=TAG_ERROR_REPLY, frozen=True, gc=False):
    """Server -> client: call ``id`` raised an exception."""

    id: int
    kind: int
    module: str
    qualname: str
    message: str
    args: msgspec.Raw
    traceback: str
    attrs: msgspec.Raw


class StreamItem(msgspec.Struct, array_like=True, tag=TAG_STREAM_ITEM, frozen=True, gc=False):
    """One item of call ``id``'s stream: a result item (server -> client) or an argument item
    (client -> server)."""

    id: int
    item: msgspec.Raw


class StreamEnd(msgspec.Struct, array_like=True, tag=TAG_STREAM_END, frozen=True, gc=False):
    """The sender's stream of call ``id`` is complete (server -> client: the call succeeded)."""

    id: int


class Cancel(msgspec.Struct, array_like=True, tag=TAG_CANCEL, frozen=True, gc=False):
    """Client -> server: the caller abandoned call ``id``; nothing more is sent for it."""

    id: int


class Credit(msgspec.Struct, array_like=True, tag=TAG_CREDIT, frozen=True, gc=False):
    """The receiver of call ``id``'s stream took ``items`` items of ``bytes`` bytes: the sender
    may send that much more."""

    id: int
    items: int
    bytes: int


class ServerRequest(msgspec.Struct, array_like=True, tag=TAG_SERVER_REQUEST, frozen=True, gc=False):
    """Server -> client: call ``method`` of callback ``target`` (the index of the callback
    among the arguments of call ``id``, in parameter order) with ``args``/``kwargs``.

    ``seq`` numbers the callback requests of call ``id`` (from 1): callback ids are scoped
    to the call that passed the callbacks, and the answer echoes both.
    """

    id: int
    seq: int
    target: int
    method: str
    args: msgspec.Raw
    kwargs: msgspec.Raw


class ServerReply(msgspec.Struct, array_like=True, tag=TAG_SERVER_REPLY, frozen=True, gc=False):
    """Client -> server: callback request ``seq`` of call ``id`` returned ``result``."""

    id: int
    seq: int
    result: msgspec.Raw


class ServerErrorReply(
    msgspec.Struct, array_like=True, tag=TAG_SERVER_ERROR_REPLY, frozen=True, gc=False
):
    """Client -> server: callback request ``seq`` of call ``id`` raised an exception; the
    fields after ``seq`` are those of :class:`ErrorReply`."""

    id: int
    seq: int
    kind: int
    module: str
    qualname: str
    message: str
    args: msgspec.Raw
    traceback: str
    attrs: msgspec.Raw


class Ping(msgspec.Struct, array_like=True, tag=TAG_PING, frozen=True, gc=False):
    """Liveness probe; the peer answers with a Pong carrying the same ``nonce``."""

    nonce: int


class Pong(msgspec.Struct, array_like=True, tag=TAG_PONG, frozen=True, gc=False):
    nonce: int


class GoAway(msgspec.Struct, array_like=True, tag=TAG_GO_AWAY, frozen=True, gc=False):
    """Server -> client: no new calls on this connection (``last_id`` is the highest request
    id it received); calls in flight go on. ``reason`` is for people."""

    last_id: int
    reason: str


class Describe(msgspec.Struct, array_like=True, tag=TAG_DESCRIBE, frozen=True, gc=False):
    """Client -> server, after the handshake: describe the service (reflection); ``id`` is
    echoed in the answer (a :class:`Description`, or an :class:`ErrorReply` when the server
    has reflection turned off)."""

    id: int


class Description(msgspec.Struct, array_like=True, tag=TAG_DESCRIPTION, frozen=True, gc=False):
    """Server -> client: the answer to :class:`Describe` ``id``; ``description`` is a map
    (its keys: docs/PROTOCOL.md, "Reflection")."""

    id: int
    description: msgspec.Raw


Message = Union[  # noqa: UP007
    Hello,
    Welcome,
    Refuse,
    Request,
    Reply,
    ErrorReply,
    StreamItem,
    StreamEnd,
    Cancel,
    Credit,
    Ping,
    Pong,
    GoAway,
    Describe,
    Description,
    ServerRequest,
    ServerReply,
    ServerErrorReply,
]

_encoder = msgspec.msgpack.Encoder()


def encode_message(message: Message) -> bytearray:
    """``message`` as one complete frame (length prefix included)."""
    return new_frame(_encoder, message)


def encode_payload(message: Message) -> bytes:
    """``message`` without a length prefix (for transports that delimit messages themselves)."""
    return _encoder.encode(message)


def stream_item_head(id: int) -> bytes:
    """The bytes a StreamItem of call ``id`` starts with (fixarray 3, the tag, the id):
    followed by an encoded item, and framed, they are the whole message."""
    head = bytearray(_encoder.encode((TAG_STREAM_ITEM, id)))
    head[0] = 0x93  # [7, id] -> [7, id, item]
    return bytes(head)


def encode_stream_item(id: int, item: bytes) -> bytes:
    """A :class:`StreamItem` frame around an item already encoded (and validated); a
    stream's producer keeps the head and frames each item with :func:`join_frame`."""
    return join_frame(stream_item_head(id), item)


def encode_request(
    encoder: msgspec.msgpack.Encoder,
    id: int,
    proc: str,
    args: tuple[Any, ...] | list[Any],
    kwargs: dict[str, Any],
    timeout: float | None = None,
) -> bytearray:
    """A :class:`Request` frame whose arguments are still Python objects.

    One pass with the caller's encoder (its ``enc_hook`` handles user types);
    the bytes are identical to ``encode_message(Request(...))``.
    """
    if timeout is None:
        return new_frame(encoder, (TAG_REQUEST, id, proc, args, kwargs))
    return new_frame(encoder, (TAG_REQUEST, id, proc, args, kwargs, timeout))


DECODE_ERRORS: Final = (msgspec.DecodeError, ValueError, RecursionError)
"""What msgspec raises for bytes that do not decode (``ValueError``: invalid UTF-8)."""


def _invalid(exc: Exception) -> ProtocolError:
    return ProtocolError(f"invalid srpc message: {exc}")


class MessageReader:
    """Sans-IO inbound side: feed bytes, get ``(message, frame_size)`` pairs.

    Raises :class:`~srpc.errors.ProtocolError` for an oversized frame,
    invalid MessagePack, or a frame that is not an srpc message; after that
    the connection must be closed.
    """

    __slots__ = ("_decoder", "body_buffer", "frames")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, *, eager: bool = False) -> None:
        self.frames = FrameDecoder(max_frame, eager=eager)
        """The framing underneath (read-only: e.g. ``frames.body`` says a large frame is being
        received)."""
        self.body_buffer: Callable[[], memoryview | None] = self.frames.body_buffer
        """Where to read the rest of a large frame straight into (see ``FrameDecoder``)."""
        self._decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)

    @property
    def buffered(self) -> int:
        return self.frames.buffered

    @property
    def max_frame(self) -> int:
        """The largest frame accepted; may change between reads (e.g. after the handshake)."""
        return self.frames.max_frame

    @max_frame.setter
    def max_frame(self, value: int) -> None:
        self.frames.max_frame = value

    def body_received(self, nbytes: int) -> list[tuple[Message, int]]:
        """``nbytes`` were read into :meth:`body_buffer`'s view."""
        return self._decode_all(self.frames.body_received(nbytes))

    def feed_from(self, buffer: bytearray, nbytes: int) -> list[tuple[Message, int]]:
        """:meth:`feed` with ``buffer[:nbytes]``, a receive buffer the caller reuses."""
        frames = self.frames.feed_from(buffer, nbytes)
        decode = self._decoder.decode
        try:
            if len(frames) == 1:
                frame = frames[0]
                return [(decode(frame), len(frame) + 4)]
            return [(decode(frame), len(frame) + 4) for frame in frames]
        except DECODE_ERRORS as exc:
            raise _invalid(exc) from None

    def exact_from(self, buffer: bytearray, nbytes: int) -> Message | None:
        """The message in ``buffer[:nbytes]`` when those bytes are exactly one whole frame and
        nothing else is buffered; else ``None`` and nothing was consumed (then call
        :meth:`feed_from` with the same bytes). The usual read of either end."""
        frame = self.frames.exact_frame(buffer, nbytes)
        if frame is None:
            return None
        try:
            return self._decoder.decode(frame)
        except DECODE_ERRORS as exc:
            raise _invalid(exc) from None

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[Message, int]]:
        frames = self.frames.feed(data)
        decode = self._decoder.decode
        try:
            if len(frames) == 1:  # the usual case, without a comprehension's frame
                frame = frames[0]
                return [(decode(frame), len(frame) + 4)]
            return [(decode(frame), len(frame) + 4) for frame in frames]
        except DECODE_ERRORS as exc:
            raise _invalid(exc) from None

    def _decode_all(self, frames: list[bytes | bytearray]) -> list[tuple[Message, int]]:
        decode = self._decoder.decode
        try:
            return [(decode(frame), len(frame) + 4) for frame in frames]
        except DECODE_ERRORS as exc:
            raise _invalid(exc) from None


def answer_hello(
    hello: Message,
    *,
    service: str,
    fingerprint: str,
    token: bytes | None,
    max_frame: int,
    max_in_flight: int,
) -> Welcome | Refuse:
    """The server's handshake decision for the first message of a connection."""

    def refuse(code: int, message: str) -> Refuse:
        return Refuse(code, message, PROTOCOL_VERSION, service, fingerprint)

    if not isinstance(hello, Hello):
        return refuse(RefuseCode.BAD_HELLO, "the first message must be a Hello")
    if hello.version != PROTOCOL_VERSION:
        return refuse(
            RefuseCode.INCOMPATIBLE,
            f"protocol version {hello.version} is not supported (server speaks {PROTOCOL_VERSION})",
        )
    dynamic = hello.service == "" and hello.fingerprint == ""
    if not dynamic and (hello.service != service or hello.fingerprint != fingerprint):
        return refuse(RefuseCode.INCOMPATIBLE, "service or interface fingerprint differs")
    # A dynamic client (empty service and fingerprint: `srpc call`, no stub) is held to the
    # token like any other; its Welcome names the server's real service and fingerprint.
    if not token_matches(token, hello.token):
        return refuse(RefuseCode.AUTH, "missing or wrong token")
    return Welcome(PROTOCOL_VERSION, service, fingerprint, max_frame, max_in_flight)


REFLECTION_OFF: Final = "reflection is turned off on this server"
MAX_DESCRIBES: Final = 8
"""Describe requests a server answers per connection; one more closes the connection (each
answer is a large frame for a 3-byte request)."""
_EMPTY_MAP: Final = msgspec.Raw(b"\x80")


def answer_describe(request: Describe, description: bytes | None) -> bytearray:
    """The frame answering ``request``: the service's ``description`` (a MessagePack map,
    encoded once per server), or, when reflection is off (``None``), an ErrorReply (kind 3,
    ``srpc.errors.ProtocolError``, message :data:`REFLECTION_OFF`)."""
    if description is None:
        return encode_message(
            ErrorReply(
                request.id,
                ErrorKind.SRPC,
                "srpc.errors",
                "ProtocolError",
                REFLECTION_OFF,
                msgspec.Raw(_encoder.encode([REFLECTION_OFF])),
                "",
                _EMPTY_MAP,
            )
        )
    return encode_message(Description(request.id, msgspec.Raw(description)))
