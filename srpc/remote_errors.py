"""Exception -> wire -> exception.

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
from srpc._address import is_loopback
from srpc.codec import encoder
from srpc.protocol import ErrorKind, ErrorReply, ServerErrorReply

__all__ = [
    "RemoteTraceback",
    "default_send_tracebacks",
    "error_reply",
    "exception_name",
    "format_traceback",
    "interface_exceptions",
    "rebuild_exception",
]

_MAX_NAME_CHARS = 200
_MAX_TRACEBACK = 64 * 1024
_MAX_TRACEBACK_LINE = 4 * 1024
_MAX_NAME = 1024
"""Longest module or qualname echoed to the client (characters)."""
_MAX_MESSAGE = 16 * 1024
"""Longest message echoed to the client (characters); the rest is cut with a note."""
_MAX_ENCODED = 64 * 1024
"""Longest encoded ``args`` or ``attrs``; longer ones fall back to the capped message / none."""
_OSERROR_ATTRS = ("errno", "strerror", "filename", "filename2")
_EMPTY_MAP = msgspec.Raw(b"\x80")
_EMPTY_LIST = msgspec.Raw(b"\x90")
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


def exception_name(exc: BaseException) -> str:
    """The exception's type name (for a metrics record), whatever its class does."""
    try:
        return str(type(exc).__name__)[:_MAX_NAME_CHARS]
    except BaseException:  # a metaclass whose __name__ raises
        return "Exception"


def default_send_tracebacks(host: str) -> bool:
    """Whether a server bound to ``host`` sends remote tracebacks unless told: only on loopback.

    A traceback shows the server's file paths and code to whoever calls; beyond
    loopback that is someone else.
    """
    return is_loopback(host)


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def _plain_str(value: object) -> str:
    """``value`` as an exact ``str`` (a subclass's overrides are not trusted)."""
    return str.__str__(value) if isinstance(value, str) else "?"


def _safe_str(value: object) -> str:
    """``str(value)``, or a placeholder when its ``__str__`` raises anything at all."""
    try:
        return _plain_str(str(value))
    except BaseException as exc:  # user code: even KeyboardInterrupt is answered
        return f"<unprintable {type(value).__qualname__}: str() raised {type(exc).__qualname__}>"


def _class_name(cls: type, attribute: str) -> str:
    try:
        return _cap(_plain_str(getattr(cls, attribute)), _MAX_NAME)
    except BaseException:  # a metaclass may raise anything
        return "?"


def _encode_args(exc: BaseException, message: str) -> msgspec.Raw:
    try:
        args = tuple(exc.args)
    except BaseException:  # an args property may raise anything
        return msgspec.Raw(encoder.encode([message]))
    for attempt in (lambda: list(args), lambda: [_safe_str(a) for a in args]):
        try:
            data = encoder.encode(attempt())
        except BaseException:  # try the next, plainer form
            continue
        if len(data) <= _MAX_ENCODED:
            return msgspec.Raw(data)
        break
    # too large or not encodable: the (capped) message stands for the args
    return msgspec.Raw(encoder.encode([message]))


def _attrs(exc: BaseException) -> msgspec.Raw:
    try:
        fields: dict[str, Any] = {}
        if isinstance(exc, OSError):
            fields = {name: getattr(exc, name) for name in _OSERROR_ATTRS}
        else:
            found = getattr(exc, "__dict__", None)
            if isinstance(found, dict):
                fields = {k: v for k, v in found.items() if isinstance(k, str) and k[:1] != "_"}
        if not fields:
            return _EMPTY_MAP
        data = encoder.encode(fields)
    except BaseException:  # attribute access and encoding run user code
        return _EMPTY_MAP
    return msgspec.Raw(data) if len(data) <= _MAX_ENCODED else _EMPTY_MAP


def format_traceback(exc: BaseException) -> str:
    """``exc``'s traceback as text, capped in size, whatever its ``__str__`` does.

    Each line is cut at 4 KiB; past 64 KiB in all, the start (where the frames
    are) and the end are kept.
    """
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException as err:  # a __str__ or __notes__ raising anything
        try:
            frames = "".join(traceback.format_tb(exc.__traceback__))
        except BaseException:
            frames = ""
        name = _class_name(type(exc), "__qualname__")
        text = (
            f"Traceback (most recent call last):\n{frames}{name}: "
            f"<the exception could not be formatted: {type(err).__qualname__}>\n"
        )
    if len(text) > _MAX_TRACEBACK_LINE and (  # a short text cannot hold a long line
        len(text) > _MAX_TRACEBACK or any(len(x) > _MAX_TRACEBACK_LINE for x in text.split("\n"))
    ):
        text = "\n".join(_cap(x, _MAX_TRACEBACK_LINE) for x in text.split("\n"))
        if len(text) > _MAX_TRACEBACK:
            head = _MAX_TRACEBACK // 4
            text = text[:head] + "\n...\n" + text[-(_MAX_TRACEBACK - head) :]
    return text


def error_reply(
    id: int, exc: BaseException, known: ExceptionMap, *, send_traceback: bool = True
) -> ErrorReply:
    """Describe ``exc`` (raised while serving call ``id``) for the client.

    Always returns a valid reply, whatever the exception's ``__str__``,
    ``__repr__``, ``args`` or attributes raise (even ``KeyboardInterrupt``).
    Names, message, args, attributes and traceback are capped in size, so a
    huge message cannot make a huge reply. ``send_traceback=False`` leaves the
    traceback out (see :func:`default_send_tracebacks`).
    """
    try:
        return _describe(id, exc, known, send_traceback)
    except BaseException:  # the call is answered whatever the exception does
        return ErrorReply(
            id=id,
            kind=ErrorKind.REMOTE,
            module="?",
            qualname=_class_name(type(exc), "__qualname__"),
            message="<the exception could not be described>",
            args=_EMPTY_LIST,
            traceback="",
            attrs=_EMPTY_MAP,
        )


def _describe(id: int, exc: BaseException, known: ExceptionMap, send_traceback: bool) -> ErrorReply:
    cls = type(exc)
    module, qualname = _class_name(cls, "__module__"), _class_name(cls, "__qualname__")
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
    message = _cap(_safe_str(exc), _MAX_MESSAGE)
    return ErrorReply(
        id=id,
        kind=kind,
        module=module,
        qualname=qualname,
        message=message,
        args=_encode_args(exc, message) if kind != ErrorKind.REMOTE else _EMPTY_LIST,
        traceback=format_traceback(exc) if send_traceback else "",
        attrs=_attrs(exc) if kind != ErrorKind.REMOTE else _EMPTY_MAP,
    )


def _instantiate(cls: type[BaseException], args: list[Any]) -> BaseException:
    try:
        return cls(*args)
    except Exception:
        exc = cls.__new__(cls)
        exc.args = tuple(args)
        return exc


_UNSET = object()


def rebuild_exception(reply: ErrorReply | ServerErrorReply, known: ExceptionMap) -> BaseException:
    """The exception the client raises for ``reply`` (the server, for a callback's
    :class:`~srpc.protocol.ServerErrorReply`: the same fields)."""
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
                    # Only what differs: setting an OSError's errno/strerror/filename to the
                    # None they already are would change how it prints ("[Errno None] ...").
                    if getattr(exc, key, _UNSET) != value:
                        setattr(exc, key, value)
    if reply.traceback and reply.kind != ErrorKind.SRPC:
        exc.__cause__ = RemoteTraceback(reply.traceback)
    return exc
