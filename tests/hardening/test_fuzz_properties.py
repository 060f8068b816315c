"""Property tests of the receive path: framing and codecs round-trip, and arbitrary
bytes yield frames or :class:`srpc.ProtocolError` -- never any other exception,
never unbounded buffering."""

from __future__ import annotations

import contextlib
import itertools
from abc import ABC, abstractmethod

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from srpc import InvalidArguments, ProtocolError, ServiceDescriptor
from srpc.codec import encoder, service_codec
from srpc.errors import InvalidResult
from srpc.framing import HEADER_SIZE, FrameDecoder, encode_frame
from srpc.protocol import (
    ErrorReply,
    Hello,
    Message,
    MessageReader,
    Refuse,
    Reply,
    Request,
    Welcome,
    encode_message,
)

payloads = st.lists(st.binary(max_size=300), max_size=12)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(payloads, st.lists(st.integers(min_value=0), max_size=20))
def test_frames_round_trip_however_the_bytes_are_cut(
    frames: list[bytes], cuts: list[int]
) -> None:
    wire = b"".join(encode_frame(f) for f in frames)
    decoder = FrameDecoder(max_frame=300)
    received: list[bytes] = []
    for chunk in _chunks(wire, cuts):
        received += map(bytes, decoder.feed(chunk))
    assert received == frames
    assert decoder.buffered == 0


@given(payloads)
def test_frames_round_trip_one_byte_at_a_time(frames: list[bytes]) -> None:
    wire = b"".join(encode_frame(f) for f in frames)
    decoder = FrameDecoder(max_frame=300)
    received: list[bytes] = []
    for i in range(len(wire)):
        received += map(bytes, decoder.feed(wire[i : i + 1]))
    assert received == frames


@settings(max_examples=300)
@given(
    st.binary(max_size=2000),
    st.lists(st.integers(min_value=0), max_size=20),
    st.integers(min_value=0, max_value=512),
)
def test_arbitrary_bytes_yield_frames_or_protocol_error_and_stay_bounded(
    data: bytes, cuts: list[int], max_frame: int
) -> None:
    decoder = FrameDecoder(max_frame=max_frame)
    for chunk in _chunks(data, cuts):
        try:
            frames = decoder.feed(chunk)
        except ProtocolError:
            return
        assert all(len(f) <= max_frame for f in frames)
        # Never more than one partial frame (header + body up to the limit) is held.
        assert decoder.buffered < HEADER_SIZE + max_frame + len(chunk) + 1


@given(st.integers(min_value=1, max_value=2**32 - 1), st.binary(max_size=64))
def test_a_length_over_the_limit_is_refused_on_the_header_alone(
    excess: int, trailing: bytes
) -> None:
    max_frame = 1000
    length = min(max_frame + excess, 2**32 - 1)
    decoder = FrameDecoder(max_frame=max_frame)
    try:
        decoder.feed(length.to_bytes(4, "big") + trailing)
    except ProtocolError:
        assert decoder.buffered == 0
    else:
        raise AssertionError("an over-limit length was accepted")


# --- messages: the envelope every frame carries -------------------------------------------

u64 = st.integers(min_value=0, max_value=2**63 - 1)
text = st.text(max_size=40)
msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False) | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


def _raw(value: object) -> msgspec.Raw:
    return msgspec.Raw(msgspec.msgpack.encode(value))


raws = msgpack_values.map(_raw)
messages = st.one_of(
    st.builds(Hello, u64, text, text, st.none() | text),
    st.builds(Welcome, u64, text, text, u64, u64),
    st.builds(Refuse, u64, text, u64, text, text),
    st.builds(Request, u64, text, st.lists(msgpack_values, max_size=4).map(_raw),
              st.dictionaries(text, msgpack_values, max_size=4).map(_raw)),
    st.builds(Reply, u64, raws),
    st.builds(ErrorReply, u64, u64, text, text, text, raws, text, raws),
)


@given(st.lists(messages, max_size=6), st.lists(st.integers(min_value=0), max_size=10))
def test_messages_round_trip_through_frames(sent: list[Message], cuts: list[int]) -> None:
    wire = b"".join(bytes(encode_message(m)) for m in sent)
    reader = MessageReader(max_frame=1 << 20)
    received: list[Message] = []
    for chunk in _chunks(wire, cuts):
        received += [message for message, _size in reader.feed(chunk)]
    assert received == sent


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_frames_decode_to_a_message_or_protocol_error(bodies: list[bytes]) -> None:
    reader = MessageReader(max_frame=1 << 16)
    for body in bodies:
        try:
            reader.feed(encode_frame(body))
        except ProtocolError:
            return


@settings(max_examples=300)
@given(st.lists(msgpack_values, min_size=1, max_size=9))
def test_well_formed_msgpack_that_is_not_a_message_is_a_protocol_error(
    fields: list[object],
) -> None:
    reader = MessageReader(max_frame=1 << 20)
    with contextlib.suppress(ProtocolError):
        reader.feed(encode_frame(msgspec.msgpack.encode(fields)))


# --- codecs: arguments and results of declared procedures ---------------------------------


class Shapes(ABC):
    @abstractmethod
    def mixed(self, a: int, /, b: str, *, flag: bool = False, **extra: list[int]) -> dict[str, int]:
        ...

    @abstractmethod
    def nested(self, items: list[tuple[int, str]], lookup: dict[str, float | None]) -> None:
        ...

    @abstractmethod
    def nothing(self) -> bytes:
        ...


    @abstractmethod
    def total(self, *values: int) -> int:
        ...


SHAPES = service_codec(
    ServiceDescriptor("shapes", Shapes, "x", ("mixed", "nested", "nothing", "total"))
)
finite = st.floats(allow_nan=False)
names = st.text(min_size=1, max_size=8).filter(lambda s: s not in {"a", "b", "flag"})


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), text, st.booleans(),
       st.dictionaries(names, st.lists(st.integers(min_value=0, max_value=2**32)), max_size=3))
def test_arguments_round_trip_keyword_kinds(
    a: int, b: str, flag: bool, extra: dict[str, list[int]]
) -> None:
    kwargs = {"flag": flag, **extra}
    args, got = SHAPES.procedures["mixed"].decode_args(encoder.encode((a, b)),
                                                        encoder.encode(kwargs))
    assert args == (a, b) and got == kwargs


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=2**40), text), max_size=5),
       st.dictionaries(text, st.none() | finite, max_size=5))
def test_arguments_round_trip_nested(
    items: list[tuple[int, str]], lookup: dict[str, float | None]
) -> None:
    args, kwargs = SHAPES.procedures["nested"].decode_args(encoder.encode([items, lookup]),
                                                           encoder.encode({}))
    assert args == (items, lookup) and kwargs == {}


# Strings whose bytes need not be UTF-8, and arrays and maps holding them: msgspec
# reports invalid UTF-8 as UnicodeDecodeError, which must never escape.
raw_strs = st.binary(max_size=12).map(lambda b: bytes([0xA0 | len(b)]) + b)
raw_str_arrays = st.lists(raw_strs, max_size=4).map(
    lambda xs: bytes([0x90 | len(xs)]) + b"".join(xs))
raw_str_maps = st.lists(st.tuples(raw_strs, raw_strs), max_size=3).map(
    lambda kv: bytes([0x80 | len(kv)]) + b"".join(k + v for k, v in kv))
# Array and map headers that claim up to 2**32 - 1 elements, then a few bytes.
huge_headers = st.tuples(
    st.one_of(
        st.integers(min_value=0, max_value=2**16 - 1).map(lambda n: b"\xdc" + n.to_bytes(2, "big")),
        st.integers(min_value=0, max_value=2**32 - 1).map(lambda n: b"\xdd" + n.to_bytes(4, "big")),
        st.integers(min_value=0, max_value=2**16 - 1).map(lambda n: b"\xde" + n.to_bytes(2, "big")),
        st.integers(min_value=0, max_value=2**32 - 1).map(lambda n: b"\xdf" + n.to_bytes(4, "big")),
    ),
    st.binary(max_size=8),
).map(lambda t: t[0] + t[1])
any_argument_bytes = (st.binary(max_size=64) | msgpack_values.map(msgspec.msgpack.encode)
                      | raw_strs | raw_str_arrays | raw_str_maps | huge_headers)


@settings(max_examples=300)
@given(st.sampled_from(sorted(SHAPES.procedures)), any_argument_bytes, any_argument_bytes)
def test_arbitrary_argument_bytes_are_invalid_arguments_or_valid(
    proc: str, args: bytes, kwargs: bytes
) -> None:
    with contextlib.suppress(InvalidArguments):
        SHAPES.procedures[proc].decode_args(args, kwargs)


@settings(max_examples=200)
@given(st.sampled_from(sorted(SHAPES.procedures)), any_argument_bytes)
def test_arbitrary_result_bytes_are_invalid_result_or_valid(proc: str, data: bytes) -> None:
    with contextlib.suppress(InvalidResult):
        SHAPES.procedures[proc].decode_result(data)


@given(raw_strs, raw_strs, raw_strs | st.just(b"\xc0"))
def test_strings_that_are_not_utf8_in_a_hello_are_a_protocol_error(
    service: bytes, fingerprint: bytes, token: bytes
) -> None:
    hello = b"\x95\x01\x01" + service + fingerprint + token  # [tag, version, service, fp, token]
    reader = MessageReader(max_frame=1 << 16)
    with contextlib.suppress(ProtocolError):
        reader.feed(encode_frame(hello))


def test_regression_invalid_utf8_in_a_hello_is_a_protocol_error() -> None:
    reader = MessageReader()
    hello = b"\x95\x01\x01\xa2\xc4\x20\xa1f\xc0"  # service name b"\xc4 " is not UTF-8
    try:
        reader.feed(encode_frame(hello))
    except ProtocolError:
        return
    raise AssertionError("invalid UTF-8 was accepted")


def test_regression_invalid_utf8_in_arguments_is_invalid_arguments() -> None:
    try:
        SHAPES.procedures["nested"].decode_args(b"\x92\x91\x92\x01\xa1\xff\x80", b"\x80")
    except InvalidArguments:
        return
    raise AssertionError("invalid UTF-8 was accepted")


def test_regression_a_huge_array_count_for_star_args_is_refused_at_once() -> None:
    # 5 bytes claiming 2**32 - 1 arguments once cost minutes of CPU and gigabytes of memory.
    for header in (b"\xdd\xff\xff\xff\xff", b"\xdc\xff\xff", b"\xdd\x00\x01\x00\x00\x01\x02"):
        try:
            SHAPES.procedures["total"].decode_args(header, b"\x80")
        except InvalidArguments:
            continue
        raise AssertionError("a lying array header was accepted")
