"""Framing and protocol without sockets: bytes in, frames and messages out."""

from __future__ import annotations

import msgspec
import pytest

from srpc import ProtocolError
from srpc.codec import encoder
from srpc.framing import FrameDecoder, encode_frame
from srpc.protocol import (
    PROTOCOL_VERSION,
    RESERVED_TAGS,
    Cancel,
    Credit,
    GoAway,
    Hello,
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
    answer_hello,
    encode_message,
    encode_request,
)

FRAMES = [b"", b"a", b"hello world", bytes(range(256)) * 40]
STREAM = b"".join(encode_frame(f) for f in FRAMES)


def test_encode_frame_is_a_big_endian_length_prefix() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert encode_frame(b"") == b"\x00\x00\x00\x00"


def test_feed_whole() -> None:
    assert FrameDecoder().feed(STREAM) == FRAMES


def test_feed_one_byte_at_a_time() -> None:
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(len(STREAM)):
        out += decoder.feed(STREAM[i : i + 1])
    assert out == FRAMES
    assert decoder.buffered == 0


def test_trailing_bytes_stay_buffered() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(STREAM + b"\x00\x00\x00\x05ab") == FRAMES
    assert decoder.buffered == 6
    assert decoder.feed(b"cde\x00") == [b"abcde"]
    assert decoder.buffered == 1


def test_oversize_length_is_a_protocol_error_before_the_body_arrives() -> None:
    decoder = FrameDecoder(max_frame=10)
    assert decoder.feed(encode_frame(b"x" * 10)) == [b"x" * 10]
    with pytest.raises(ProtocolError, match="exceeds the limit of 10"):
        decoder.feed(b"\x00\x00\x00\x0b")
    assert decoder.buffered == 0


def test_huge_declared_length_allocates_nothing() -> None:
    decoder = FrameDecoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"\xff\xff\xff\xff" + b"x" * 100)
    assert decoder.buffered == 0


def _received(data: bytes) -> tuple[bytearray, int]:
    """``data`` as it lands in a reused receive buffer bigger than the read."""
    buffer = bytearray(1024)
    buffer[: len(data)] = data
    return buffer, len(data)


def test_exact_from_takes_a_read_that_is_exactly_one_message() -> None:
    reply = encode_message(Reply(7, msgspec.Raw(b"\x03")))
    reader = MessageReader()
    assert reader.exact_from(*_received(bytes(reply))) == Reply(7, msgspec.Raw(b"\x03"))
    assert reader.buffered == 0


@pytest.mark.parametrize(
    "data",
    [
        bytes(encode_message(Reply(7, msgspec.Raw(b"\x03")))) * 2,  # two messages
        bytes(encode_message(Reply(7, msgspec.Raw(b"\x03"))))[:-1],  # part of one
        bytes(encode_message(Reply(7, msgspec.Raw(b"\x03")))) + b"\x00",  # trailing bytes
        b"\x00\x00",  # part of a header
    ],
    ids=["two", "partial", "trailing", "header"],
)
def test_exact_from_leaves_anything_else_to_feed_from(data: bytes) -> None:
    reader, reference = MessageReader(), MessageReader()
    buffer, size = _received(data)
    assert reader.exact_from(buffer, size) is None
    assert reader.buffered == 0  # nothing consumed
    assert reader.feed_from(buffer, size) == reference.feed(data)


def test_exact_from_after_a_partial_frame_is_none() -> None:
    reply = bytes(encode_message(Reply(7, msgspec.Raw(b"\x03"))))
    reader = MessageReader()
    assert reader.feed(reply[:3]) == []
    # The next read looks like one whole frame only by accident; the buffered bytes come first.
    assert reader.exact_from(*_received(reply)) is None
    assert [m for m, _ in reader.feed_from(*_received(reply[3:] + reply))] == [
        Reply(7, msgspec.Raw(b"\x03")),
        Reply(7, msgspec.Raw(b"\x03")),
    ]


def test_exact_from_oversize_and_garbage() -> None:
    reader = MessageReader(max_frame=10)
    big = encode_frame(b"x" * 11)
    assert reader.exact_from(*_received(big)) is None  # over the limit: feed_from refuses it
    with pytest.raises(ProtocolError, match="exceeds the limit of 10"):
        reader.feed_from(*_received(big))
    with pytest.raises(ProtocolError, match="invalid srpc message"):
        MessageReader().exact_from(*_received(encode_frame(b"\xc1")))


def test_message_layout_is_a_tagged_array() -> None:
    frame = encode_message(Hello(PROTOCOL_VERSION, "calc", "ab"))
    assert bytes(frame) == b"\x00\x00\x00\x0c\x95\x01\x02\xa4calc\xa2ab\xc0"
    request = encode_request(encoder, 7, "add", (1, 2), {})
    assert bytes(request) == b"\x00\x00\x00\x0b\x95\x04\x07\xa3add\x92\x01\x02\x80"
    [(message, size)] = MessageReader().feed(request)
    assert isinstance(message, Request)
    assert (message.id, message.proc, bytes(message.args), bytes(message.kwargs)) == (
        7,
        "add",
        b"\x92\x01\x02",
        b"\x80",
    )
    assert size == len(request)
    assert message.timeout is None
    timed = encode_request(encoder, 7, "add", (1, 2), {}, 2.5)
    assert bytes(timed) == b"\x00\x00\x00\x14\x96\x04\x07\xa3add\x92\x01\x02\x80\xcb" + (
        msgspec.msgpack.encode(2.5)[1:]
    )
    [(message, _)] = MessageReader().feed(timed)
    assert isinstance(message, Request) and message.timeout == 2.5


@pytest.mark.parametrize(
    ("message", "layout"),
    [
        (StreamItem(3, msgspec.Raw(b"\x2a")), b"\x93\x07\x03\x2a"),
        (StreamEnd(3), b"\x92\x08\x03"),
        (Cancel(3), b"\x92\x09\x03"),
        (Credit(3, 128, 65536), b"\x94\x10\x03\xcc\x80\xce\x00\x01\x00\x00"),
        (Ping(9), b"\x92\x0d\x09"),
        (Pong(9), b"\x92\x0e\x09"),
        (GoAway(12, "stopping"), b"\x93\x0f\x0c\xa8stopping"),
        (
            ServerRequest(3, 1, 0, "update", msgspec.Raw(b"\x92\x01\x02"), msgspec.Raw(b"\x80")),
            b"\x97\x0a\x03\x01\x00\xa6update\x92\x01\x02\x80",
        ),
        (ServerReply(3, 1, msgspec.Raw(b"\xc0")), b"\x94\x0b\x03\x01\xc0"),
        (
            ServerErrorReply(
                3, 2, 0, "builtins", "KeyError", "7", msgspec.Raw(b"\x91\x07"), "",
                msgspec.Raw(b"\x80"),
            ),
            b"\x9a\x0c\x03\x02\x00\xa8builtins\xa8KeyError\xa17\x91\x07\xa0\x80",
        ),
    ],
)  # fmt: skip
def test_version_2_messages_are_tagged_arrays(message: object, layout: bytes) -> None:
    frame = encode_message(message)  # type: ignore[arg-type]
    assert bytes(frame) == encode_frame(layout)
    [(decoded, _)] = MessageReader().feed(frame)
    assert decoded == message


def test_reserved_tags_do_not_collide_with_messages() -> None:
    used = set(range(1, 19))
    assert not used & set(RESERVED_TAGS)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xc1",  # never-used MessagePack byte
        b"\x92\x01",  # truncated array
        msgspec.msgpack.encode([99, 1, 2]),  # unknown tag
        msgspec.msgpack.encode([4, "not an id", "add", [], {}]),  # wrong shape
        msgspec.msgpack.encode({"a": 1}),
        msgspec.msgpack.encode([10, 1, "f", [], {}]),  # a ServerRequest of the wrong shape
        msgspec.msgpack.encode([19, 1]),  # a tag of a later version
    ],
)
def test_invalid_messages_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        MessageReader().feed(encode_frame(payload))


def test_handshake_answers() -> None:
    def answer(hello: Hello, token: bytes | None = None) -> Welcome | Refuse:
        return answer_hello(
            hello, service="calc", fingerprint="f", token=token, max_frame=10, max_in_flight=2
        )

    assert isinstance(answer(Hello(PROTOCOL_VERSION, "calc", "f")), Welcome)
    for hello in [Hello(PROTOCOL_VERSION, "calc", "g"), Hello(PROTOCOL_VERSION, "x", "f")]:
        refuse = answer(hello)
        assert isinstance(refuse, Refuse)
        assert refuse.code == RefuseCode.INCOMPATIBLE
        assert (refuse.service, refuse.fingerprint) == ("calc", "f")
    assert answer(Hello(PROTOCOL_VERSION + 1, "calc", "f")).code == RefuseCode.INCOMPATIBLE  # type: ignore[union-attr]
    assert answer(Hello(PROTOCOL_VERSION, "calc", "f"), b"t").code == RefuseCode.AUTH  # type: ignore[union-attr]
    assert isinstance(answer(Hello(PROTOCOL_VERSION, "calc", "f", "t"), b"t"), Welcome)
