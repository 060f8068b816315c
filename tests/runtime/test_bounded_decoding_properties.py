"""Properties of bounded decoding (hypothesis): it refuses only what it must, and nothing else."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

import srpc
from srpc.bounds import UntypedTooCostly, check_untyped
from srpc.codec import build_procedure

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
           | st.floats(allow_nan=False) | st.text(max_size=20) | st.binary(max_size=20))
keys = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8) | st.binary(
    max_size=8)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=40,
)


class _Shapes:
    def one(self, value: Any) -> None: ...
    def keyed(self, value: dict[str, Any], *, extra: Any = None) -> None: ...


ONE = build_procedure("shapes", _Shapes, "one")
KEYED = build_procedure("shapes", _Shapes, "keyed")
enc = msgspec.msgpack.encode
plain = msgspec.msgpack.Decoder()


@settings(max_examples=300, deadline=None)
@given(documents)
def test_documents_with_scalar_keys_decode_as_any_does(value: Any) -> None:
    data = enc(value)
    assert check_untyped(data)[0] == len(data)
    expected = plain.decode(data)
    assert ONE.decode_args(enc([value]), b"\x80") == ((expected,), {})
    assert ONE.decode_args(b"\x90", enc({"value": value})) == ((), {"value": expected})
    table = {"k": value}
    assert KEYED.decode_args(enc([table]), enc({"extra": value})) == (
        ({"k": expected},), {"extra": expected})


@settings(max_examples=300, deadline=None)
@given(documents, st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_an_array_key_anywhere_is_refused(value: Any, path: list[int]) -> None:
    poisoned: Any = {(1, 2): 0}
    for step in path:  # bury it a few levels deep, in lists or as a map's value
        poisoned = [value, poisoned] if step % 2 else {"x": value, "y": poisoned}
    data = enc(poisoned)
    try:
        check_untyped(data)
    except UntypedTooCostly as exc:
        assert "map key" in exc.reason
    else:
        raise AssertionError("an array key was not refused")
    try:
        ONE.decode_args(enc([poisoned]), b"\x80")
    except srpc.InvalidArguments as exc:
        assert "map key" in str(exc)
    else:
        raise AssertionError("an array key reached the implementation")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly(data: bytes) -> None:
    try:
        end, _ = check_untyped(data)
    except ValueError:  # UntypedTooCostly included
        pass
    else:
        assert 0 < end <= len(data)
    with contextlib.suppress(srpc.InvalidArguments):
        ONE.decode_args(b"\x91" + data, b"\x80")
    with contextlib.suppress(srpc.InvalidArguments):
        ONE.decode_args(b"\x90", b"\x81\xa5value" + data)
