"""A stubless sync client: what ``srpc describe``, ``srpc call`` and ``srpc ping`` run on.

It has no interface: its Hello carries an empty service and fingerprint (a
*dynamic client*, docs/PROTOCOL.md), which a server accepts when the token
matches and answers with a Welcome naming its real service and fingerprint.
It learns the procedures from the server (a Describe, when the server has
reflection on) and sends arguments that are plain JSON values; the server
validates them as for any call, so nothing is trusted here.

Built on the same pieces as the stub clients: :func:`srpc.transport.open_stream`
for the bytes, a :class:`~srpc.session.ClientSession` for the handshake and
the routing rule. One call at a time, on one thread; a streamed result's items
are handed to a callback as they arrive.

JSON in and out (pure functions, shared with the command line):

- :func:`parse_arguments` reads ``ARG`` texts: a JSON value (positional) or
  ``name=JSON`` (keyword);
- :func:`prepare_arguments` uses a procedure's description to turn base64
  strings into bytes where the schema says ``contentEncoding: base64`` and to
  take a streamed argument (a JSON array) out of the request;
- :func:`to_json` turns a result into JSON-native values: bytes become base64
  strings, datetimes ISO 8601 strings, sets and tuples arrays, map keys that
  are not strings their JSON text.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import itertools
import math
import queue
import re
import ssl as _ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import msgspec

from srpc import nats as _nats
from srpc._address import resolve_address
from srpc.descriptor import ServiceDescriptor
from srpc.errors import (
    CallTimeout,
    ConnectError,
    ConnectionLost,
    InvalidAddress,
    ProtocolError,
    SrpcError,
)
from srpc.framing import DEFAULT_MAX_FRAME, RECV_SIZE, new_frame
from srpc.protocol import (
    PROTOCOL_VERSION,
    REFLECTION_OFF,
    STREAM_WINDOW_BYTES,
    STREAM_WINDOW_ITEMS,
    TAG_STREAM_ITEM,
    Cancel,
    Credit,
    Describe,
    Description,
    ErrorKind,
    ErrorReply,
    Message,
    Ping,
    Pong,
    Refuse,
    RefuseCode,
    Reply,
    ServerErrorReply,
    ServerRequest,
    StreamEnd,
    StreamItem,
    Welcome,
    encode_message,
    encode_request,
)
from srpc.security import resolve_token
from srpc.session import ClientSession
from srpc.transport import ByteStream, open_stream

__all__ = [
    "ArgumentError",
    "DynamicClient",
    "LiveItems",
    "ReflectionOff",
    "RemoteCallFailed",
    "client_ssl_context",
    "dumps",
    "parse_arguments",
    "parse_target",
    "prepare_arguments",
    "to_json",
]

DYNAMIC: Final = ServiceDescriptor(name="", interface=object, fingerprint="", procedures=())
"""What a dynamic client's session says in its Hello: no service, no fingerprint."""

_encoder = msgspec.msgpack.Encoder()
_decode = msgspec.msgpack.decode
_monotonic = time.monotonic
_KEYWORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


_LITERALS: Final = ("true", "false", "null")


class ArgumentError(ValueError):
    """An ``ARG`` of ``srpc call`` that is not usable (a usage error, exit status 2)."""


class ReflectionOff(SrpcError):
    """The server has reflection turned off (``Server(reflection=False)``)."""


class RemoteCallFailed(SrpcError):
    """The server answered a call with an error: its type's name and message."""

    def __init__(self, reply: ErrorReply) -> None:
        self.kind = reply.kind
        self.module = reply.module
        self.qualname = reply.qualname
        self.message = reply.message
        self.traceback = reply.traceback
        self.type_name = (
            reply.qualname
            if reply.module in ("builtins", "")
            else f"{reply.module}.{reply.qualname}"
        )
        super().__init__(f"{self.type_name}: {reply.message}" if reply.message else self.type_name)


def parse_target(target: str) -> tuple[str, int]:
    """``(host, port)`` of a TARGET: ``tcp://host:port`` or ``host:port``."""
    text = target.strip()
    if text.lower().startswith("nats://"):
        raise InvalidAddress(
            f"target {target!r} is a NATS target: DynamicClient takes it "
            "(nats://host:port/SERVICE), parse_target only tcp://host:port"
        )
    if not text:
        raise InvalidAddress("the target is empty; give tcp://host:port or host:port")
    host, port = resolve_address(text, None)
    if not host:
        raise InvalidAddress(f"target {target!r} has no host; give tcp://host:port or host:port")
    return host, port


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def client_ssl_context(
    tls: bool, cafile: str | None = None, insecure: bool = False
) -> _ssl.SSLContext | None:
    """The client TLS context of the command-line options (``None``: plain TCP)."""
    if not (tls or cafile or insecure):
        return None
    context = _ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
    return context


class DynamicClient:
    """A stubless connection to the server at ``target`` (see the module docstring).

    ``timeout``: seconds each call (and each describe) may take, ``None``: for
    ever; ``connect_timeout``: seconds to connect and finish the handshake.
    ``token`` defaults to ``$SRPC_TOKEN``. Raises srpc errors:
    :class:`ConnectError` (and its refusals), :class:`CallTimeout`,
    :class:`ConnectionLost`, :class:`RemoteCallFailed`, :class:`ReflectionOff`.
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
        ssl: _ssl.SSLContext | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        self._nats: Any = None
        if _nats.is_nats(target):  # nats://host:port/SERVICE
            from srpc.nats.client import DynamicTarget

            self._nats = DynamicTarget(target, ssl)
            self.host, self.port, self.label = target, 0, self._nats.label
        else:
            self.host, self.port = parse_target(target)
            self.label = f"{self.host}:{self.port}"
        raw = resolve_token(token)
        self.token = None if raw is None else raw.decode("utf-8", "replace")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ssl = ssl
        self.max_frame = max_frame
        self.service = ""
        """The server's service name, known once connected."""
        self.fingerprint = ""
        self._stream: ByteStream | None = None
        self._session: ClientSession[int] | None = None
        self._ids = itertools.count(1)
        self._buffer = bytearray(RECV_SIZE)
        self._pending: list[Message] = []
        self.streamed = False
        """Whether the latest call's result was a stream (it ended with StreamEnd)."""

    # -- connection --------------------------------------------------------------------

    def connect(self) -> float:
        """Connect and complete the handshake; the seconds it took."""
        if self._stream is not None:
            return 0.0
        start = time.perf_counter()
        label = self.label
        session: ClientSession[int] = ClientSession(
            DYNAMIC, label, token=self.token, max_frame=self.max_frame
        )
        if self._nats is not None:  # the link shook hands with one instance
            self._stream, answer = self._nats.connect(
                self.token, self.connect_timeout, self.max_frame
            )
            self._session = session
            try:
                session.handshake(answer)
            except BaseException:
                self.close()
                raise
            self.service, self.fingerprint = answer.service, answer.fingerprint
            return time.perf_counter() - start
        try:
            stream = open_stream(self.host, self.port, self.connect_timeout, self.ssl)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {label}: {_reason(exc)}") from None
        self._stream, self._session = stream, session
        try:
            stream.sendall(session.hello())
            answer = self._next(_monotonic() + self.connect_timeout, "the handshake")
            if type(answer) is Welcome:
                self.service, self.fingerprint = answer.service, answer.fingerprint
            elif type(answer) is Refuse and answer.code == RefuseCode.INCOMPATIBLE:
                raise ConnectError(
                    f"the server at {label} does not take clients without a stub "
                    f"({answer.message}; it serves {answer.service!r}, protocol {answer.version}; "
                    f"this srpc speaks protocol {PROTOCOL_VERSION})"
                )
            session.handshake(answer)
        except CallTimeout:
            self.close()
            raise ConnectError(f"{label}: no handshake answer in time") from None
        except SrpcError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise ConnectError(f"handshake with {label} failed: {_reason(exc)}") from None
        except BaseException:
            self.close()
            raise
        return time.perf_counter() - start

    def close(self) -> None:
        stream, self._stream, self._session = self._stream, None, None
        self._pending.clear()
        if stream is not None:
            stream.close()

    def __enter__(self) -> DynamicClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connected(self) -> tuple[ByteStream, ClientSession[int]]:
        self.connect()
        assert self._stream is not None and self._session is not None
        return self._stream, self._session

    def _deadline(self) -> float | None:
        return None if self.timeout is None else _monotonic() + self.timeout

    def _send(self, frame: bytes | bytearray) -> None:
        stream, _ = self._connected()
        try:
            stream.sendall(frame)
        except OSError as exc:
            self.close()
            raise ConnectionLost(
                f"{self.label}: the connection was lost while sending: {exc}"
            ) from None

    def _next(self, deadline: float | None, what: str) -> Message:
        """The next message from the server (raises CallTimeout past ``deadline``)."""
        while not self._pending:
            stream, session = self._stream, self._session
            assert stream is not None and session is not None
            reader = session.reader
            if deadline is not None and not stream.readable(deadline - _monotonic()):
                raise CallTimeout(f"{self.label}: no answer to {what} in time")
            try:
                body = reader.body_buffer()
                if body is not None:
                    size = stream.recv_into(body)
                    messages = reader.body_received(size) if size else []
                else:
                    size = stream.recv_into(self._buffer)
                    messages = reader.feed_from(self._buffer, size) if size else []
            except OSError as exc:
                self.close()
                raise ConnectionLost(f"{self.label}: the connection was lost: {exc}") from None
            except ProtocolError as exc:
                self.close()
                raise ProtocolError(f"{self.label}: {exc}") from None
            if not size:
                self.close()
                raise ConnectionLost(f"{self.label}: the server closed the connection")
            self._pending.extend(message for message, _ in messages)
        return self._pending.pop(0)

    # -- requests ----------------------------------------------------------------------

    def ping(self) -> float:
        """One Ping/Pong round trip on the open connection (connecting first); its seconds."""
        self._connected()
        nonce = next(self._ids)
        wait = self.timeout if self.timeout is not None else self.connect_timeout
        deadline = _monotonic() + wait
        start = time.perf_counter()
        self._send(encode_message(Ping(nonce)))
        while True:
            message = self._next(deadline, "the ping")
            if type(message) is Pong and message.nonce == nonce:
                return time.perf_counter() - start
            self._route(message)

    def describe(self) -> dict[str, Any]:
        """The server's description of its service (docs/PROTOCOL.md, "Reflection")."""
        _, session = self._connected()
        id = next(self._ids)
        session.calls[id] = id
        self._send(encode_message(Describe(id)))
        deadline = self._deadline()
        try:
            while True:
                message = self._next(deadline, "the describe request")
                if type(message) is Description and message.id == id:
                    session.calls.pop(id, None)
                    description: dict[str, Any] = _decode(message.description)
                    return description
                if self._route(message) != id:
                    continue
                if type(message) is ErrorReply:
                    if message.kind == ErrorKind.SRPC and message.message == REFLECTION_OFF:
                        raise ReflectionOff(REFLECTION_OFF)
                    raise RemoteCallFailed(message)
                raise ProtocolError(f"{self.label}: unexpected {type(message).__name__}")
        finally:
            session.calls.pop(id, None)

    def _route(self, message: Message) -> int | None:
        """The id of the call ``message`` is for (``None``: dropped); a message a server may
        not send closes the connection (ProtocolError)."""
        session = self._session
        assert session is not None
        try:
            return session.route(message)
        except ProtocolError:
            self.close()
            raise

    def call(
        self,
        proc: str,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        items: list[Any] | LiveItems | None = None,
        on_item: Callable[[Any], None] | None = None,
    ) -> Any:
        """Call ``proc(*args, **kwargs)`` and return its result, decoded untyped.

        ``items``: the streamed argument's items (its place in ``args`` or
        ``kwargs`` holds ``None``), sent within the server's credit; a
        :class:`LiveItems` sends them as they are made. A
        streamed result's items go to ``on_item`` as they arrive and the call
        returns ``None`` at the stream's end. An error answer raises
        :class:`RemoteCallFailed`.
        """
        _, session = self._connected()
        id = next(self._ids)
        timeout = self.timeout
        deadline = self._deadline()
        try:
            frame = encode_request(_encoder, id, proc, args, kwargs, timeout)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ArgumentError(f"{proc}(): cannot encode the arguments: {exc}") from None
        session.check_request_size(len(frame) - 4)
        self.streamed = False
        session.calls[id] = id
        self._send(frame)
        try:
            return self._run(id, proc, items, on_item, deadline)
        except CallTimeout:
            if self._stream is not None:
                with contextlib.suppress(SrpcError):
                    self._send(encode_message(Cancel(id)))
            raise CallTimeout(f"{self.service}.{proc}() timed out after {timeout} s") from None
        finally:
            session.calls.pop(id, None)

    def _run(
        self,
        id: int,
        proc: str,
        items: list[Any] | LiveItems | None,
        on_item: Callable[[Any], None] | None,
        deadline: float | None,
    ) -> Any:
        sending: Iterator[Any] | None = None
        if isinstance(items, LiveItems):
            sending = items.poll()
        elif items is not None:
            sending = iter(items)
        send_items, send_bytes = STREAM_WINDOW_ITEMS, STREAM_WINDOW_BYTES
        took_items = took_bytes = 0
        while True:
            starved = False  # live items: none ready yet, though the credit allows one
            while sending is not None and send_items > 0 and send_bytes > 0:
                item = next(sending, _END)
                if item is _WAIT:
                    starved = True
                    break
                if item is _END:
                    sending = None
                    self._send(encode_message(StreamEnd(id)))
                    break
                try:
                    frame = new_frame(_encoder, (TAG_STREAM_ITEM, id, item))
                except (TypeError, ValueError, OverflowError) as exc:
                    raise ArgumentError(f"{proc}(): cannot encode a streamed item: {exc}") from None
                self._send(frame)
                send_items -= 1
                send_bytes -= len(frame)
            if starved and not self._pending:
                stream = self._stream
                assert stream is not None
                if not stream.readable(_LIVE_POLL):
                    if deadline is not None and _monotonic() >= deadline:
                        raise CallTimeout(f"{self.label}: no answer in time")
                    continue  # look for new items again
            message = self._next(deadline, f"{self.service}.{proc}()")
            if self._route(message) != id:
                continue  # an answer to nothing we wait for, a Pong, a GoAway
            kind = type(message)
            if kind is Credit:
                send_items += message.items  # type: ignore[union-attr]
                send_bytes += message.bytes  # type: ignore[union-attr]
            elif kind is StreamItem:
                raw = message.item  # type: ignore[union-attr]
                if on_item is not None:
                    on_item(_decode(raw))
                took_items += 1
                took_bytes += len(raw)
                if took_items >= STREAM_WINDOW_ITEMS // 2 or took_bytes >= STREAM_WINDOW_BYTES // 2:
                    self._send(encode_message(Credit(id, took_items, took_bytes)))
                    took_items = took_bytes = 0
            elif kind is StreamEnd:
                self.streamed = True
                return None
            elif kind is Reply:
                return _decode(message.result)  # type: ignore[union-attr]
            elif kind is ErrorReply:
                raise RemoteCallFailed(message)  # type: ignore[arg-type]
            elif kind is ServerRequest:  # no stub, so no callback to run: the server is told
                self._send(_no_callbacks(message))  # type: ignore[arg-type]


def _no_callbacks(request: ServerRequest) -> bytearray:
    """The answer to a callback request of a call this client made without a stub."""
    text = "this caller (srpc call, without a stub) cannot run callbacks"
    return encode_message(
        ServerErrorReply(
            request.id,
            request.seq,
            ErrorKind.SRPC,
            "srpc.errors",
            "InvalidArguments",
            text,
            msgspec.Raw(msgspec.msgpack.encode([text])),
            "",
            msgspec.Raw(b"\x80"),
        )
    )


_END: Final = object()
_WAIT: Final = object()
_LIVE_POLL: Final = 0.02
"""Seconds a call with live items waits for the server before it looks for new items."""


class LiveItems:
    """A streamed argument's items made as the call runs (e.g. read from stdin): a thread
    takes them from ``source`` and the call sends each as soon as it is there, while it
    keeps printing what the server sends. ``convert`` is applied to each item on that
    thread; an exception it (or ``source``) raises ends the call with that exception."""

    def __init__(self, source: Iterable[Any], convert: Callable[[Any], Any] | None = None) -> None:
        self._queue: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._source = source
        self._convert = convert
        self._thread = threading.Thread(target=self._pump, name="srpc-live-items", daemon=True)
        self._started = False

    def _pump(self) -> None:
        try:
            for item in self._source:
                self._queue.put((True, item if self._convert is None else self._convert(item)))
        except BaseException as exc:
            self._queue.put((False, exc))
            return
        self._queue.put((True, _END))

    def poll(self) -> Iterator[Any]:
        """Started on first use: each item when it is ready, ``_WAIT`` while none is."""
        if not self._started:
            self._started = True
            self._thread.start()
        while True:
            try:
                ok, value = self._queue.get_nowait()
            except queue.Empty:
                yield _WAIT
                continue
            if not ok:
                raise value
            yield value
            if value is _END:
                return


# -- JSON in and out ---------------------------------------------------------------------


def parse_arguments(texts: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """``srpc call``'s ARGs: a JSON value each (positional) or ``name=JSON`` (keyword)."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for number, text in enumerate(texts, 1):
        match = _KEYWORD.fullmatch(text)
        name, value_text = (match.group(1), match.group(2)) if match else (None, text)
        try:
            value = msgspec.json.decode(value_text.encode("utf-8", "surrogatepass"))
        except (msgspec.DecodeError, UnicodeError) as exc:
            shown = f"argument {name!r}" if name else f"argument {number}"
            bare = value_text[:1] not in tuple('"[{-0123456789') and value_text not in _LITERALS
            hint = "; a string needs its quotes, e.g. '\"text\"'" if bare else ""
            raise ArgumentError(
                f"{shown} is not a JSON value ({exc}): {value_text!r}{hint}"
            ) from None
        if name is None:
            if kwargs:
                raise ArgumentError(
                    f"argument {number} ({text!r}) is positional but follows a keyword argument"
                )
            args.append(value)
        elif name in kwargs:
            raise ArgumentError(f"keyword argument {name!r} is given twice")
        else:
            kwargs[name] = value
    return args, kwargs


def _resolve(schema: Any, defs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema and depth < 32:
        ref = schema["$ref"]
        name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else ""
        schema = defs.get(name, {})
        depth += 1
    return schema if isinstance(schema, dict) else {}


_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if isinstance(kind, list):
        return any(_fits(value, {**schema, "type": k}) for k in kind)
    if not isinstance(kind, str) or kind not in _JSON_TYPES:
        return True
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES[kind])


def _from_json(value: Any, schema: Any, defs: dict[str, Any], where: str) -> Any:
    """``value`` with base64 strings made bytes where ``schema`` says so (the rest as is: the
    server validates)."""
    schema = _resolve(schema, defs)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        fitting = [b for b in (_resolve(b, defs) for b in branches) if _fits(value, b)]
        if isinstance(value, str) and any(b.get("contentEncoding") != "base64" for b in fitting):
            return value  # a plain string is a member: no conversion
        return _from_json(value, fitting[0], defs, where) if fitting else value
    if isinstance(value, str) and schema.get("contentEncoding") == "base64":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ArgumentError(f"{where}: bytes are given as base64, not {value!r}") from None
    if isinstance(value, list):
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        out = []
        for i, item in enumerate(value):
            sub = prefix[i] if isinstance(prefix, list) and i < len(prefix) else items
            out.append(_from_json(item, sub, defs, f"{where}[{i}]") if sub else item)
        return out
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        result = {}
        for key, item in value.items():
            sub = properties.get(key) if isinstance(properties, dict) else None
            if sub is None and isinstance(extra, dict):
                sub = extra
            result[key] = _from_json(item, sub, defs, f"{where}.{key}") if sub else item
        return result
    return value


def _convert(value: Any, parameter: dict[str, Any], proc: str) -> Any:
    schema = parameter.get("schema") or {}
    defs = schema.get("$defs") if isinstance(schema, dict) else None
    where = f"{proc}(): argument {parameter.get('name')!r}"
    return _from_json(value, schema, defs if isinstance(defs, dict) else {}, where)


_POSITIONAL: Final = ("positional_only", "positional_or_keyword")
_BY_NAME: Final = ("positional_or_keyword", "keyword_only")


def prepare_arguments(
    procedure: dict[str, Any] | None,
    args: list[Any],
    kwargs: dict[str, Any],
    live: Iterable[Any] | None = None,
) -> tuple[list[Any], dict[str, Any], list[Any] | LiveItems | None]:
    """The request's arguments and the streamed argument's items (``None``: none streams),
    guided by the procedure's description (``None``: reflection is off, sent as given).

    ``live``: the streamed argument's items come from there as the call runs (e.g. the
    lines of stdin, JSON-decoded) instead of from ``args``/``kwargs``.
    """
    if procedure is None:
        if live is not None:
            raise ArgumentError("streaming an argument from stdin needs the server's reflection")
        return args, kwargs, None
    proc = str(procedure.get("name", "?"))
    params: list[dict[str, Any]] = list(procedure.get("parameters", []))
    callback = next((p for p in params if p.get("callback")), None)
    if callback is not None:
        raise ArgumentError(
            f"{proc}() takes a callback ({callback.get('name')!r}), which calls back into the "
            "caller's process: call it through the generated client stub"
        )
    positional = [p for p in params if p.get("kind") in _POSITIONAL]
    var_positional = next((p for p in params if p.get("kind") == "var_positional"), None)
    by_name = {p["name"]: p for p in params if p.get("kind") in _BY_NAME}
    var_keyword = next((p for p in params if p.get("kind") == "var_keyword"), None)
    new_args = []
    for i, value in enumerate(args):
        parameter = positional[i] if i < len(positional) else var_positional
        new_args.append(value if parameter is None else _convert(value, parameter, proc))
    new_kwargs = {}
    for name, value in kwargs.items():
        parameter = by_name.get(name, var_keyword)
        new_kwargs[name] = value if parameter is None else _convert(value, parameter, proc)
    streamed = next((p for p in params if p.get("streamed")), None)
    if streamed is None:
        if live is not None:
            raise ArgumentError(f"{proc}() has no streamed argument to read from stdin")
        return new_args, new_kwargs, None
    name = streamed["name"]
    index = next((i for i, p in enumerate(positional) if p is streamed), None)
    if live is not None:
        if name in kwargs or (index is not None and index < len(args)):
            raise ArgumentError(f"{proc}(): {name!r} comes from stdin; do not give it as an ARG")
        if index is not None and index == len(args):
            new_args.append(None)
        elif streamed.get("kind") == "positional_only":
            raise ArgumentError(f"{proc}(): give the arguments before {name!r} to stream it")
        else:
            new_kwargs[name] = None
        return new_args, new_kwargs, LiveItems(live, lambda item: _convert(item, streamed, proc))
    if index is not None and index < len(args):
        items, new_args[index] = args[index], None
    elif name in kwargs:
        items, new_kwargs[name] = kwargs[name], None
    else:
        raise ArgumentError(
            f"{proc}(): give the streamed argument {name!r}, a JSON array of its items"
        )
    if not isinstance(items, list):
        raise ArgumentError(
            f"{proc}(): the streamed argument {name!r} is a JSON array of its items, "
            f"not {msgspec.json.encode(items).decode()}"
        )
    return new_args, new_kwargs, [_convert(item, streamed, proc) for item in items]


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    return msgspec.json.encode(to_json(key)).decode()


def to_json(value: Any) -> Any:
    """``value`` (a result decoded untyped) as JSON-native data: bytes as base64 strings,
    datetimes ISO 8601 strings, tuples and sets arrays, other map keys their JSON text, NaN and
    the infinities the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, an unknown
    MessagePack extension ``{"ext": code, "data": base64}``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {_key_text(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    if isinstance(value, msgspec.msgpack.Ext):
        return {"ext": value.code, "data": base64.b64encode(value.data).decode("ascii")}
    return str(value)


def dumps(value: Any, *, indent: int = 0) -> str:
    """``value`` as JSON text (through :func:`to_json`)."""
    text = msgspec.json.encode(to_json(value))
    if indent:
        text = msgspec.json.format(text, indent=indent)
    return text.decode()
