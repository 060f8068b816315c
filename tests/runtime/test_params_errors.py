"""Parameter kinds, argument checking and the exception matrix (SPEC section 7)."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from kitchen.kitchen_interface import DetailedError, JSONDecodeError, KitchenError

import srpc
from srpc.remote_errors import RemoteTraceback

from .stubs import SrpcKitchenClientStub


def test_every_parameter_kind_arrives_as_declared(kitchen: SrpcKitchenClientStub) -> None:
    got = kitchen.params(1, "b", 2.0, 3.5, c=True, d=9, extra="x", more="y")
    assert got == {
        "a": 1,
        "b": "b",
        "args": [2.0, 3.5],
        "c": True,
        "d": 9,
        "kwargs": {"extra": "x", "more": "y"},
    }
    assert kitchen.params(1, b="kw", c=False) == {
        "a": 1,
        "b": "kw",
        "args": [],
        "c": False,
        "d": 4,
        "kwargs": {},
    }


def test_defaults_and_keyword_calls(kitchen: SrpcKitchenClientStub) -> None:
    assert kitchen.defaults(1) == 111
    assert kitchen.defaults(1, 2, c=3) == 6
    assert kitchen.defaults(a=1, b=2) == 103


def test_bad_var_positional_and_var_keyword_values_name_their_place(
    kitchen: SrpcKitchenClientStub,
) -> None:
    with pytest.raises(srpc.InvalidArguments, match=r"\*args\[1\]"):
        kitchen.params(1, "b", 2.0, "nope", c=True)  # type: ignore[arg-type]
    with pytest.raises(srpc.InvalidArguments, match="'extra'"):
        kitchen.params(1, "b", c=True, extra=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing a required argument"),
        ((1, 2, 3), {}, "takes 2 positional arguments but 3 were given"),
        ((1,), {"zzz": 1}, "unexpected keyword argument 'zzz'"),
        ((1,), {"a": 1}, "multiple values for argument 'a'"),
    ],
)
def test_wrong_counts_and_unknown_keywords_are_invalid_arguments(
    kitchen: SrpcKitchenClientStub, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    # A stale or hand-written client: bypass the stub's signature.
    with pytest.raises(srpc.InvalidArguments, match=message) as info:
        kitchen._srpc_call("defaults", args, kwargs)
    assert "kitchen.defaults()" in str(info.value)
    assert kitchen.defaults(1) == 111


def test_missing_keyword_only_argument(kitchen: SrpcKitchenClientStub) -> None:
    with pytest.raises(srpc.InvalidArguments, match="'c'"):
        kitchen._srpc_call("params", (1, "b"), {})


def test_unknown_procedure_is_an_error_and_the_connection_survives(
    kitchen: SrpcKitchenClientStub,
) -> None:
    kitchen._srpc_settings.codec.procedures.setdefault(
        "nope", kitchen._srpc_settings.codec.procedures["echo_int"]
    )
    try:
        with pytest.raises(srpc.ProtocolError, match="no procedure 'nope'"):
            kitchen._srpc_call("nope", (1,), {})
    finally:
        del kitchen._srpc_settings.codec.procedures["nope"]
    assert kitchen.echo_int(5) == 5


# -- exceptions ---------------------------------------------------------------------


def _raise(kitchen: SrpcKitchenClientStub, kind: str) -> BaseException:
    with pytest.raises(BaseException) as info:
        kitchen.raise_error(kind)
    assert kitchen.echo_int(1) == 1  # the server keeps serving
    return info.value


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("zero", ZeroDivisionError("division by zero")),
        ("key", KeyError("missing")),
        ("value", ValueError("bad value", 3)),
        ("kitchen", KitchenError("boom")),
        ("detailed", DetailedError(7, "the detail")),
    ],
)
def test_builtin_and_interface_exceptions_are_rebuilt_as_themselves(
    kitchen: SrpcKitchenClientStub, kind: str, expected: BaseException
) -> None:
    exc = _raise(kitchen, kind)
    assert type(exc) is type(expected)
    assert exc.args == expected.args
    assert isinstance(exc.__cause__, RemoteTraceback)
    assert "raise_error" in str(exc.__cause__)


def test_interface_exception_attributes_survive(kitchen: SrpcKitchenClientStub) -> None:
    exc = _raise(kitchen, "detailed")
    assert isinstance(exc, DetailedError)
    assert (exc.code, exc.detail) == (7, "the detail")


def test_os_error_keeps_errno_strerror_filename(kitchen: SrpcKitchenClientStub) -> None:
    exc = _raise(kitchen, "oserror")
    assert type(exc) is FileNotFoundError
    assert isinstance(exc, FileNotFoundError)
    assert (exc.errno, exc.strerror, exc.filename) == (2, "No such file or directory", "/nope")


def test_exception_imported_by_the_interface_module(kitchen: SrpcKitchenClientStub) -> None:
    exc = _raise(kitchen, "imported")
    assert type(exc) is JSONDecodeError
    assert isinstance(exc, JSONDecodeError)
    assert exc.pos == 1
    assert exc.msg == "Expecting value"


def test_unknown_exception_is_remote_error_with_traceback(kitchen: SrpcKitchenClientStub) -> None:
    exc = _raise(kitchen, "private")
    assert isinstance(exc, srpc.RemoteError)
    assert exc.remote_type.endswith("kitchen.PrivateError")
    assert exc.remote_message == "secret"
    assert "raise_error" in exc.remote_traceback
    assert "Remote traceback" in str(exc)


@pytest.mark.parametrize(
    ("kind", "remote_type"),
    [("systemexit", "SystemExit"), ("keyboard", "KeyboardInterrupt"), ("base", "FatalSignal")],
)
def test_base_exceptions_become_remote_errors(
    kitchen: SrpcKitchenClientStub, kind: str, remote_type: str
) -> None:
    exc = _raise(kitchen, kind)
    assert type(exc) is srpc.RemoteError
    assert exc.remote_type.endswith(remote_type)


def test_unencodable_exception_args_fall_back_to_strings(kitchen: SrpcKitchenClientStub) -> None:
    exc = _raise(kitchen, "unencodable")
    assert type(exc) is ValueError
    assert isinstance(exc.args[0], str)


def test_printed_rebuilt_exception_shows_the_remote_traceback(
    kitchen: SrpcKitchenClientStub,
) -> None:
    exc = _raise(kitchen, "zero")
    text = "".join(traceback.format_exception(exc))
    assert "kitchen.py" in text
    assert "ZeroDivisionError: division by zero" in text


@pytest.mark.parametrize("kind", ["str", "none", "object", "bool"])
def test_result_not_matching_the_declared_type_is_invalid_result(
    kitchen: SrpcKitchenClientStub, kind: str
) -> None:
    with pytest.raises(srpc.InvalidResult, match=r"kitchen\.bad_result\(\)"):
        kitchen.bad_result(kind)
    assert kitchen.echo_int(1) == 1


def test_invalid_result_is_a_type_error() -> None:
    assert issubclass(srpc.InvalidResult, TypeError)
    assert issubclass(srpc.InvalidArguments, TypeError)


@pytest.mark.parametrize("kind", ["zero", "kitchen", "systemexit", "keyboard", "base"])
def test_async_implementations_raise_like_sync_ones(
    kitchen: SrpcKitchenClientStub, kind: str
) -> None:
    with pytest.raises(BaseException) as sync_info:
        kitchen.raise_error(kind)
    with pytest.raises(BaseException) as async_info:
        kitchen.async_raise(kind)
    assert type(async_info.value) is type(sync_info.value)
    assert async_info.value.args[:1] == sync_info.value.args[:1]
    assert kitchen.echo_int(1) == 1
