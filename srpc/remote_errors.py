"""Exception -> wire -> exception (SPEC section 7).

The server turns whatever the implementation raised into an
:class:`~srpc.protocol.ErrorReply`; the client rebuilds it as the same
builtin type with the same args, as the same class when the interface
module defines or imports it, and otherwise as :class:`srpc.RemoteError`.
Rebuilt exceptions carry the server's traceback as ``__cause__`` (a
:class:`RemoteTraceback`), so it is printed with them.
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import traceback
from typing import Any

import msgspec

from srpc import errors
from srpc.codec import encoder
from srpc.protocol import ErrorKind, ErrorReply

__all__ = [
    "RemoteTraceback",
    "error_reply",
    "interface_exceptions",
    "rebuild_exception",
]

_MAX_TRACEBACK = 64 * 1024
_OSERROR_ATTRS = ("errno", "strerror", "filename", "filename2")
_EMPTY_MAP = msgspec.Raw(b"\x80")
_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder()


class RemoteTraceback(Exception):
    """The server-side traceback of a rebuilt exception; its ``str`` is the traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n\n" + self.text.rstrip("\n")


ExceptionMap = dict[tuple[str, str], type[BaseException]]


def interface_exceptions(interface: type) -> ExceptionMap:
    """Exception classes defined in or imported by ``interface``'s module."""
    module = sys.modules.get(interface.__module__)
    found: ExceptionMap = {}
    if module is None:
        return found
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Exception):
            found[(value.__module__, value.__qualname__)] = value
    return found


def _encode_args(args: tuple[Any, ...]) -> msgspec.Raw:
    try:
        return msgspec.Raw(encoder.encode(list(args)))
    except Exception:
        return msgspec.Raw(encoder.encode([_safe_str(a) for a in args]))


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


def _attrs(exc: BaseException) -> msgspec.Raw:
    fields: dict[str, Any] = {}
    if isinstance(exc, OSError):
        fields = {name: getattr(exc, name) for name in _OSERROR_ATTRS}
    else:
        fields = {k: v for k, v in getattr(exc, "__dict__", {}).items() if not k.startswith("_")}
    if not fields:
        return _EMPTY_MAP
    try:
        return msgspec.Raw(encoder.encode(fields))
    except Exception:
        return _EMPTY_MAP


def error_reply(id: int, exc: BaseException, known: ExceptionMap) -> ErrorReply:
    """Describe ``exc`` (raised while serving call ``id``) for the client."""
    cls = type(exc)
    module, qualname = cls.__module__, cls.__qualname__
    if not isinstance(exc, Exception):
        kind = ErrorKind.REMOTE  # SystemExit, KeyboardInterrupt, ...: never re-raised as themselves
    elif module == "srpc.errors" and isinstance(exc, errors.SrpcError):
        kind = ErrorKind.SRPC
    elif module == "builtins":
        kind = ErrorKind.BUILTIN
    elif (module, qualname) in known:
        kind = ErrorKind.INTERFACE
    else:
        kind = ErrorKind.REMOTE
    text = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    if len(text) > _MAX_TRACEBACK:
        text = "...\n" + text[-_MAX_TRACEBACK:]
    return ErrorReply(
        id=id,
        kind=kind,
        module=module,
        qualname=qualname,
        message=_safe_str(exc),
        args=_encode_args(exc.args) if kind != ErrorKind.REMOTE else msgspec.Raw(b"\x90"),
        traceback=text,
        attrs=_attrs(exc) if kind != ErrorKind.REMOTE else _EMPTY_MAP,
    )


def _instantiate(cls: type[BaseException], args: list[Any]) -> BaseException:
    try:
        return cls(*args)
    except Exception:
        exc = cls.__new__(cls)
        exc.args = tuple(args)
        return exc


def rebuild_exception(reply: ErrorReply, known: ExceptionMap) -> BaseException:
    """The exception the client raises for ``reply``."""
    remote_name = (
        f"{reply.module}.{reply.qualname}" if reply.module != "builtins" else reply.qualname
    )
    cls: Any = None
    if reply.kind == ErrorKind.BUILTIN and reply.module == "builtins":
        cls = getattr(builtins, reply.qualname, None)
    elif reply.kind == ErrorKind.INTERFACE:
        cls = known.get((reply.module, reply.qualname))
    elif reply.kind == ErrorKind.SRPC:
        cls = getattr(errors, reply.qualname, None)
        if cls is errors.RemoteError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return errors.RemoteError(remote_name, reply.message, reply.traceback)
    try:
        args = _decoder.decode(reply.args)
        attrs = _decoder.decode(reply.attrs)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return errors.RemoteError(remote_name, reply.message, reply.traceback)
    if not isinstance(args, list):
        args = [args]
    exc = _instantiate(cls, args)
    if isinstance(attrs, dict):
        for key, value in attrs.items():
            if isinstance(key, str) and not key.startswith("_"):
                with contextlib.suppress(Exception):
                    setattr(exc, key, value)
    if reply.traceback and reply.kind != ErrorKind.SRPC:
        exc.__cause__ = RemoteTraceback(reply.traceback)
    return exc
