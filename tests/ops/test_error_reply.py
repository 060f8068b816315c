"""error_reply answers every call, whatever the exception does, in bounded size; send_traceback."""

from __future__ import annotations

from typing import Any, NoReturn

import msgspec
import pytest

from srpc import errors
from srpc.protocol import ErrorKind, ErrorReply, MessageReader, encode_message
from srpc.remote_errors import (
    RemoteTraceback,
    default_send_tracebacks,
    error_reply,
    rebuild_exception,
)


def raised(exc: BaseException) -> BaseException:
    def implementation() -> NoReturn:
        raise exc

    try:
        implementation()
    except BaseException as caught:
        return caught
    raise AssertionError("unreachable")


def round_trip(reply: ErrorReply) -> tuple[ErrorReply, int]:
    """Encode as the server sends it, decode as the client reads it."""
    frame = encode_message(reply)
    [(message, size)] = list(MessageReader().feed(bytes(frame)))
    assert isinstance(message, ErrorReply)
    return message, size


class StrRaises(Exception):
    def __str__(self) -> str:
        raise KeyboardInterrupt


class ReprRaises(Exception):
    def __repr__(self) -> str:
        raise SystemExit(3)

    def __str__(self) -> str:
        raise SystemExit(3)


class ArgsRaise(ValueError):
    @property
    def args(self) -> Any:  # type: ignore[override]
        raise KeyboardInterrupt


class DictRaises(Exception):
    @property
    def __dict__(self) -> Any:  # type: ignore[override]
        raise GeneratorExit


class NotesRaise(Exception):
    @property
    def __notes__(self) -> Any:
        raise KeyboardInterrupt


class BadModule(Exception):
    pass


BadModule.__module__ = 12345  # type: ignore[assignment]


class Meta(type):
    def __getattribute__(cls, name: str) -> Any:
        if name in ("__qualname__", "__module__"):
            raise KeyboardInterrupt
        return super().__getattribute__(name)


class MetaRaises(Exception, metaclass=Meta):
    pass


class StrReturnsNonStr(Exception):
    def __str__(self) -> Any:
        return 42


@pytest.mark.parametrize(
    "exc",
    [
        StrRaises("x"),
        ReprRaises("y"),
        ArgsRaise("z"),
        DictRaises("d"),
        NotesRaise("n"),
        BadModule("m"),
        MetaRaises("meta"),
        StrReturnsNonStr(),
        KeyboardInterrupt(),
        SystemExit(2),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_exception_yields_a_valid_reply(exc: BaseException) -> None:
    reply = error_reply(7, raised(exc), {})
    decoded, _ = round_trip(reply)
    assert decoded.id == 7
    assert isinstance(decoded.module, str) and isinstance(decoded.qualname, str)
    assert isinstance(decoded.message, str)
    rebuilt = rebuild_exception(decoded, {})
    assert isinstance(rebuilt, Exception)  # never KeyboardInterrupt / SystemExit themselves
    str(rebuilt)  # and the client can print it


def test_a_str_that_raises_still_names_the_type_and_keeps_the_frames() -> None:
    reply = error_reply(1, raised(StrRaises()), {})
    assert reply.qualname == "StrRaises"
    assert "unprintable" in reply.message and "KeyboardInterrupt" in reply.message
    assert "implementation" in reply.traceback  # the raising frame is still shown


def test_a_huge_message_makes_a_small_reply() -> None:
    big = "x" * (60 * 1024 * 1024)
    reply = error_reply(1, raised(ValueError(big)), {})
    decoded, size = round_trip(reply)
    assert size < 512 * 1024
    assert decoded.message.startswith("xxxx") and "more characters" in decoded.message
    rebuilt = rebuild_exception(decoded, {})
    assert type(rebuilt) is ValueError  # still the builtin type, with the capped message
    assert rebuilt.args == (decoded.message,)
    assert len(decoded.traceback) <= 70 * 1024
    assert "implementation" in decoded.traceback  # the frames survive the cut


def test_huge_names_and_attributes_are_capped() -> None:
    cls = type("N" * 100_000, (Exception,), {})
    exc = cls("m")
    exc.payload = "p" * (10 * 1024 * 1024)
    reply = error_reply(1, raised(exc), {(cls.__module__, cls.__qualname__): cls})
    _, size = round_trip(reply)
    assert size < 512 * 1024
    assert len(reply.qualname) < 2 * 1024


def test_a_deep_traceback_is_capped() -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise RuntimeError("deep")
        recurse(n - 1)

    try:
        recurse(900)
    except RuntimeError as exc:
        reply = error_reply(1, exc, {})
    assert len(reply.traceback) <= 70 * 1024
    assert reply.traceback.rstrip().endswith("RuntimeError: deep")


def test_send_traceback_false_sends_none() -> None:
    exc = raised(LookupError("missing"))
    with_tb = error_reply(1, exc, {})
    without = error_reply(1, exc, {}, send_traceback=False)
    assert "Traceback" in with_tb.traceback and "implementation" in with_tb.traceback
    assert without.traceback == ""
    assert (without.kind, without.qualname, without.message) == (
        ErrorKind.BUILTIN,
        "LookupError",
        "missing",
    )
    rebuilt = rebuild_exception(round_trip(without)[0], {})
    assert type(rebuilt) is LookupError and rebuilt.args == ("missing",)
    assert not isinstance(rebuilt.__cause__, RemoteTraceback)
    remote = rebuild_exception(
        round_trip(error_reply(2, raised(StrRaises()), {}, send_traceback=False))[0], {}
    )
    assert isinstance(remote, errors.RemoteError)
    assert "implementation" not in str(remote)


def test_unencodable_args_fall_back_to_strings() -> None:
    reply = error_reply(1, raised(ValueError(object(), 3)), {})
    args = msgspec.msgpack.decode(reply.args)
    assert isinstance(args, list) and len(args) == 2 and args[1] == "3"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_tracebacks_are_sent_by_default_only_on_loopback(host: str, expected: bool) -> None:
    assert default_send_tracebacks(host) is expected
