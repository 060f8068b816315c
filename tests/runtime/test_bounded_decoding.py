"""Untyped values are bounded before they are decoded (srpc/bounds.py, SECURITY.md).

The pure scanner is fed MessagePack directly; the codec is driven through the
kitchen service's own procedure codecs; one test goes through a real server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

import srpc
from srpc.bounds import MAX_DEPTH, MAX_ELEMENTS, UntypedTooCostly, check_untyped, short_name
from srpc.codec import encoder, service_codec
from srpc.protocol import (
    PROTOCOL_VERSION,
    ErrorReply,
    Hello,
    MessageReader,
    Reply,
    Welcome,
    encode_message,
    encode_request,
)

from .stubs import KITCHEN_SERVICE, SrpcKitchenClientStub, SrpcKitchenServerStub

enc = msgspec.msgpack.encode
KITCHEN = service_codec(KITCHEN_SERVICE).procedures


def _colliding_keys(bits: int) -> bytes:
    """A map of 2**bits tuple keys made of -1 and -2, which all hash alike."""
    count = 1 << bits
    parts = [b"\xdf" + count.to_bytes(4, "big")]
    for i in range(count):
        key = bytes(0xFF if i >> j & 1 else 0xFE for j in range(bits))
        parts.append(bytes([0x90 | bits]) + key + b"\xc0")
    return b"".join(parts)


# -- the scanner ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, True, 1, -(2**63), 2**64 - 1, 1.5, "", "é" * 70_000, b"x" * 70_000,
     [1, [2, 3], {"a": None}], {1: [1.5, -3], None: b"", 2.5: {}, False: "x", b"k": 1},
     list(range(70_000)), {str(i): i for i in range(20_000)}, msgspec.msgpack.Ext(1, b"ab")],
)
def test_ordinary_values_pass_and_are_walked_to_their_end(value: Any) -> None:
    data = enc(value) + b"\xc0trailing"
    end, left = check_untyped(data)
    assert end == len(enc(value))
    assert left < MAX_ELEMENTS


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (enc({(1, 2): 3}), "{0}.key"),
        (enc([1, {"a": {"b": 1, (1,): 2}}]), "[1]{0}{1}.key"),
        (enc({"a": 1, 2: {3: 4}, {}.__class__.__name__: 0}).replace(b"\xa4dict", b"\x80"),
         "{2}.key"),
        (b"\x81\xd6\xff\x00\x00\x00\x00\xc0", "{0}.key"),  # a timestamp key
    ],
)
def test_map_keys_other_than_scalars_are_refused_with_their_path(data: bytes, path: str) -> None:
    with pytest.raises(UntypedTooCostly) as info:
        check_untyped(data)
    assert info.value.path == path
    assert "map key must be str, int, float, bool, bytes or None" in str(info.value)


def test_the_hash_flood_is_refused_at_its_first_key() -> None:
    with pytest.raises(UntypedTooCostly) as info:
        check_untyped(_colliding_keys(12))
    assert info.value.path == "{0}.key"


def test_depth_is_bounded() -> None:
    ok = b"\x91" * (MAX_DEPTH - 1) + b"\xc0"
    assert check_untyped(ok)[0] == len(ok)
    deep = b"\x91" * (MAX_DEPTH + 5) + b"\xc0"
    with pytest.raises(UntypedTooCostly, match="nested deeper than 64"):
        check_untyped(deep)


def test_element_budget_is_shared_and_refused_on_the_header() -> None:
    many = b"\xdd" + (60 << 20).to_bytes(4, "big") + b"\x90" * 1000  # claims 60M items
    with pytest.raises(UntypedTooCostly, match="array of 62914560 items"):
        check_untyped(many)
    small = enc([[]] * 100)
    end, left = check_untyped(small, budget=101)
    assert (end, left) == (len(small), 0)
    with pytest.raises(UntypedTooCostly, match="array of 100 items") as info:
        check_untyped(small, budget=100)
    assert info.value.path == ""
    nested = enc([[1] * 30] * 4)  # each array fits the budget; all of them do not
    with pytest.raises(UntypedTooCostly, match="array of 30 items") as info:
        check_untyped(nested, budget=100)
    assert info.value.path == "[3]"


@pytest.mark.parametrize("data", [b"", b"\x92\x01", b"\xc1", b"\xda\x00\x10abc", b"\x81\xa1a"])
def test_malformed_bytes_are_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        check_untyped(data)


def test_short_name_caps_what_is_echoed() -> None:
    assert short_name("abc") == "'abc'"
    long = short_name("n" * 10_000)
    assert len(long) < 100 and "10000 characters" in long


# -- the codec -----------------------------------------------------------------


def test_untyped_argument_with_tuple_keys_is_invalid_arguments() -> None:
    codec = KITCHEN["echo_any"]
    args = b"\x91" + _colliding_keys(10)
    with pytest.raises(srpc.InvalidArguments) as info:
        codec.decode_args(args, b"\x80")
    text = str(info.value)
    assert "kitchen.echo_any()" in text and "at `value{0}.key`" in text
    with pytest.raises(srpc.InvalidArguments) as info:
        codec.decode_args(b"\x90", b"\x81\xa5value" + _colliding_keys(4))
    assert "at `value{0}.key`" in str(info.value)
    assert codec.decode_args(enc([{"a": [1, {2: None}]}]), b"\x80") == (
        ({"a": [1, {2: None}]},), {})


def test_untyped_argument_of_empty_arrays_is_refused_before_decoding() -> None:
    count = MAX_ELEMENTS + 10
    args = b"\x91\xdd" + count.to_bytes(4, "big") + b"\x90" * count
    with pytest.raises(srpc.InvalidArguments, match=r"argument 'value'.*over the untyped element"):
        KITCHEN["echo_any"].decode_args(args, b"\x80")


def test_typed_parameters_are_not_scanned() -> None:
    # dict[int, str] is typed: msgspec validates it in C, no bounds walk needed or done.
    codec = KITCHEN["echo_dict_int_keys"]
    assert codec._untyped.positional == ()
    assert codec.decode_args(enc([{1: "a"}]), b"\x80") == (({1: "a"},), {})
    assert KITCHEN["echo_any"]._untyped.positional == (0,)


def test_a_huge_kwargs_map_is_refused_on_its_header() -> None:
    codec = KITCHEN["echo_int"]  # one parameter: at most one keyword argument
    kwargs = b"\xdf" + (10_000_000).to_bytes(4, "big") + b"\xa1a\xc0" * 10  # a lying map
    with pytest.raises(srpc.InvalidArguments, match="takes 1 keyword argument but 10000000"):
        codec.decode_args(b"\x90", kwargs)


def test_unknown_names_are_refused_before_any_value_is_decoded() -> None:
    codec = KITCHEN["echo_int"]
    bomb = b"\xdc\xff\xff" + b"\x90" * 0xFFFF  # 65535 lists, if it were decoded
    kwargs = b"\x81\xda\x27\x10" + b"n" * 10_000 + bomb
    with pytest.raises(srpc.InvalidArguments, match="unexpected keyword argument") as info:
        codec.decode_args(b"\x90", kwargs)
    assert len(str(info.value)) < 200


def test_var_keyword_names_still_arrive_and_are_bounded() -> None:
    codec = KITCHEN["params"]
    _, kwargs = codec.decode_args(enc([1, "b"]), enc({"c": True, "zz": "q"}))
    assert kwargs == {"c": True, "zz": "q"}
    big = b"\xdf" + (MAX_ELEMENTS + 1).to_bytes(4, "big") + b"\xa1a\xa1b" * 8
    with pytest.raises(srpc.InvalidArguments):
        codec.decode_args(enc([1, "b"]), big)


def test_long_var_positional_is_refused_on_its_header() -> None:
    codec = KITCHEN["params"]
    args = b"\xdd" + (MAX_ELEMENTS + 1).to_bytes(4, "big") + b"\x01" * (MAX_ELEMENTS + 1)
    with pytest.raises(srpc.InvalidArguments, match="over the limit"):
        codec.decode_args(args, b"\x81\xa1c\xc3")


# -- through a real server -----------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[SrpcKitchenServerStub]:
    with SrpcKitchenServerStub(port=0, metrics_log=None) as server:
        yield server


def _read(sock: socket.socket) -> Any:
    reader = MessageReader()
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        messages = reader.feed(data)
        if messages:
            return messages[0][0]


def test_refusals_reach_the_caller_and_the_connection_stays_up(
    server: SrpcKitchenServerStub,
) -> None:
    sock = socket.create_connection(server.address, timeout=10)
    with sock:
        sock.sendall(encode_message(Hello(PROTOCOL_VERSION, "kitchen",
                                          KITCHEN_SERVICE.fingerprint)))
        assert isinstance(_read(sock), Welcome)
        frame = encode_request(encoder, 7, "echo_any",
                               msgspec.Raw(b"\x91" + _colliding_keys(14)),  # type: ignore[arg-type]
                               msgspec.Raw(b"\x80"))  # type: ignore[arg-type]
        sock.sendall(frame)
        answer = _read(sock)
        assert isinstance(answer, ErrorReply) and answer.id == 7
        assert answer.qualname == "InvalidArguments" and "value{0}.key" in answer.message
        sock.sendall(encode_request(encoder, 8, "echo_any", [{"k": [1]}], {}))
        answer = _read(sock)
        assert isinstance(answer, Reply) and msgspec.msgpack.decode(answer.result) == {"k": [1]}
    with SrpcKitchenClientStub(*server.address, timeout=10) as kitchen:
        with pytest.raises(srpc.InvalidArguments, match="map key"):
            kitchen.echo_any({(1, 2): 3})
        assert kitchen.echo_any({"a": {1: b"x"}}) == {"a": {1: b"x"}}


def test_names_and_values_echoed_in_refusals_are_cut_short() -> None:
    codec = KITCHEN["params"]  # **kwargs: str, so any name is accepted and then typed
    name = "n" * 100_000
    with pytest.raises(srpc.InvalidArguments) as info:
        codec.decode_args(enc([1, "b"]), enc({"c": True, name: 5}))
    text = str(info.value)
    assert len(text) < 600 and "100000 characters" in text and "Expected `str`" in text
    with pytest.raises(srpc.InvalidArguments) as info:
        KITCHEN["echo_enum"].decode_args(enc(["x" * 100_000]), b"\x80")
    assert len(str(info.value)) < 600


class _Shapes:
    """Parameter shapes the kitchen service does not have."""

    def tagged(self, tags: set[Any], label: Any = None) -> int: ...
    def nested(self, table: dict[str, list[Any]], *rest: Any, **extra: Any) -> int: ...
    def plain(self, items: list) -> int: ...  # type: ignore[type-arg]


def _codec(name: str) -> Any:
    from srpc.codec import build_procedure

    return build_procedure("shapes", _Shapes, name)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "expected"),
    [
        ("tagged", [{1, "a", None}], {}, (({1, "a", None},), {})),
        ("tagged", [{b"bytes"}], {"label": {"k": b"v"}}, (({b"bytes"},), {"label": {"k": b"v"}})),
        ("nested", [{"a": [1, {2: [b"x"]}]}, [[[]]]], {"z": {1.5: None}},
         (({"a": [1, {2: [b"x"]}]}, [[[]]]), {"z": {1.5: None}})),
        ("plain", [[1, "two", {3: [4]}]], {}, (([1, "two", {3: [4]}],), {})),
    ],
)
def test_fast_and_walked_paths_decode_what_any_decodes(
    name: str, args: list[Any], kwargs: dict[str, Any], expected: Any
) -> None:
    assert _codec(name).decode_args(enc(args), enc(kwargs)) == expected


def test_nesting_past_the_fast_type_is_walked_and_still_decoded() -> None:
    value: Any = None
    for _ in range(40):
        value = [value]
    assert KITCHEN["echo_any"].decode_args(enc([value]), b"\x80") == ((value,), {})
    with pytest.raises(srpc.InvalidArguments, match="nested deeper than 64"):
        KITCHEN["echo_any"].decode_args(b"\x91" + b"\x91" * 70 + b"\xc0", b"\x80")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (enc([[(1, 2), (3,)]]), b"\x80"),  # the set's elements as arrays (tuples, when decoded)
        (enc([[[-1, -2], [-2, -1]]]), b"\x80"),
        (enc([[1]]), enc({"label": {(1, 2): 3}})),
    ],
)
def test_untyped_sets_and_maps_take_only_scalars(args: bytes, kwargs: bytes) -> None:
    with pytest.raises(srpc.InvalidArguments, match="tagged"):
        _codec("tagged").decode_args(args, kwargs)


def test_untyped_var_positional_and_var_keyword_are_checked() -> None:
    codec = _codec("nested")
    with pytest.raises(srpc.InvalidArguments) as info:
        codec.decode_args(enc([{}, 1, {(1,): 2}]), b"\x80")
    assert "at `*args[1]{0}.key`" in str(info.value)
    with pytest.raises(srpc.InvalidArguments) as info:
        codec.decode_args(enc([{}]), enc({"q": [{(1,): 2}]}))
    assert "at `q[0]{0}.key`" in str(info.value)
