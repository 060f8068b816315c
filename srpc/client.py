"""``SyncClient`` and ``AsyncClient``: the bases of generated client stubs, and their transports.

Both connect lazily, keep one persistent connection, and multiplex every
call made through a stub (and its ``with_timeout`` views) on it. What a
connection decides (the handshake, the call table, routing answers, the
unexpected-message rule, failing every open call) is the
:class:`~srpc.session.ClientSession`'s; the classes here only move bytes.

The sync client has no reader thread. A calling thread that finds nobody
reading the socket becomes the reader (leader/follower): it reads, hands
every answer it finds to its waiting thread, and steps down; the other
callers wait on a condition. A single-threaded caller thus costs one
``sendall`` and one ``recv`` per call, with no thread hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import os
import ssl as _ssl
import threading
import time
import typing
from typing import Any, ClassVar, TypeVar, overload

from srpc import memory
from srpc import nats as _nats
from srpc._address import resolve_address
from srpc.callbacks import ClientCallbacks, callback_depth
from srpc.client_streams import (
    AsyncResultStream,
    AsyncSender,
    AsyncStreamState,
    ResultStream,
    StreamSlot,
    SyncSender,
    _cancel_sync,
    finish_client_stream,
    wait_for,
)
from srpc.codec import ServiceCodec, encoder, replace_callbacks, service_codec
from srpc.context import inherited_timeout
from srpc.context import serving as _serving
from srpc.descriptor import ServiceDescriptor
from srpc.errors import (
    CallTimeout,
    ConnectError,
    ConnectionLost,
    InvalidArguments,
    ProtocolError,
    SrpcError,
)
from srpc.framing import (
    DEFAULT_MAX_FRAME,
    LARGE_FRAME,
    RECV_SIZE,
    FrameBuffers,
    frame_into,
    prefix_parts,
)
from srpc.protocol import (
    DECODE_ERRORS,
    TAG_REQUEST,
    Cancel,
    ErrorReply,
    Message,
    Reply,
    ServerRequest,
    encode_message,
    encode_request,
)
from srpc.remote_errors import ExceptionMap, interface_exceptions, rebuild_exception
from srpc.security import resolve_token, set_nodelay
from srpc.session import ClientSession
from srpc.transport import ByteStream, open_stream

__all__ = ["AsyncClient", "SyncClient", "close", "with_timeout"]

_forks = [0]
"""Forks this process has come from; a sync client compares it instead of calling getpid."""


def _forked() -> None:
    _forks[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
_monotonic = time.monotonic

SslArg = _ssl.SSLContext | bool | None


def _client_ssl(ssl: SslArg) -> _ssl.SSLContext | None:
    if ssl is True:
        return _ssl.create_default_context()
    if ssl is False or ssl is None:
        return None
    return ssl


def _frame_size(frame: bytearray | list[bytes | bytearray]) -> int:
    if isinstance(frame, bytearray):
        return len(frame)
    size = 0
    for part in frame:
        size += len(part)
    return size


_QUIET = 0.001
"""Seconds since a connection's latest call after which the next call first checks that the
server did not close it while idle (a ``poll`` syscall, a sizeable share of a fast call)."""


def _read_failure(exc: ProtocolError | OSError, label: str) -> SrpcError | None:
    """Why a read failed the connection (``None``: it only timed out)."""
    if isinstance(exc, ProtocolError):
        return ProtocolError(f"{label}: {exc}")
    if isinstance(exc, TimeoutError):
        return None
    return ConnectionLost(f"{label}: the connection was lost: {exc}")


def _interrupted(label: str, exc: BaseException) -> ConnectionLost:
    return ConnectionLost(
        f"{label}: a call was interrupted ({type(exc).__name__}) while it sent or read; "
        "the connection was closed (the next call reconnects)"
    )


class _Settings:
    """What a client and all its ``with_timeout`` views share, besides the connection."""

    def __init__(
        self,
        descriptor: ServiceDescriptor,
        host: str | None,
        port: int | None,
        connect_timeout: float,
        token: str | None,
        ssl: SslArg,
        max_frame: int,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        self.descriptor = descriptor
        self.in_memory = host is not None and host.startswith(memory.SCHEME)
        self.nats: Any = None
        """A ``nats://`` target's links (srpc.nats.client.NatsTarget), else ``None``."""
        if _nats.is_nats(host):
            from srpc.nats.client import NatsTarget

            self.nats = NatsTarget(str(host), nats_options, ssl)
            self.host, self.port, self.label = str(host), 0, self.nats.label
            ssl = None
        elif self.in_memory:
            assert host is not None
            memory.name_of(host)  # a malformed URL fails here, not at the first call
            self.host, self.port = host, 0
            self.label = host
        else:
            self.host, self.port = resolve_address(host, port)
            self.label = f"{self.host}:{self.port}"
        self.connect_timeout = connect_timeout
        raw = resolve_token(token)
        self.token = None if raw is None else raw.decode("utf-8", "replace")
        self.ssl = _client_ssl(ssl)
        self.max_frame = max_frame
        self.codec: ServiceCodec = service_codec(descriptor)
        self.known: ExceptionMap = interface_exceptions(descriptor.interface)
        self.ids = itertools.count(1)
        self.frames = FrameBuffers()
        procedures = self.codec.procedures
        self.streaming = frozenset(
            name
            for name, codec in procedures.items()
            if codec.stream_result or codec.stream_param is not None
        )
        """Procedures whose result or an argument streams: not the unary fast path."""
        self.with_callbacks = frozenset(
            name for name, codec in procedures.items() if codec.callbacks
        )
        """Procedures that take callbacks (SPEC 12a): not the unary fast path either."""
        self.special = self.streaming | self.with_callbacks

    def open_stream(self, timeout: float) -> ByteStream:
        """A new connected byte stream to the server; raises ``OSError``."""
        if self.in_memory:
            return memory.connect_sync(self.host)
        return open_stream(self.host, self.port, timeout, self.ssl)

    def session(self) -> ClientSession[Any]:
        """The sans-IO state of a new connection."""
        return ClientSession(
            self.descriptor, self.label, token=self.token, max_frame=self.max_frame
        )

    def encode(
        self,
        id: int,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None = None,
    ) -> bytearray:
        try:
            return encode_request(encoder, id, proc, args, kwargs, timeout)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._cannot_encode(proc, exc) from None

    def split_stream(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any], Any]:
        """The request's arguments with the streamed one's place holding ``None``, and that
        argument (``None`` when the procedure streams none)."""
        codec = self.codec.procedures[proc]
        name = codec.stream_param
        if name is None:
            return args, kwargs, None
        index = codec.stream_param_index
        if index is not None and index < len(args):
            return (*args[:index], None, *args[index + 1 :]), kwargs, args[index]
        if name in kwargs:
            return args, {**kwargs, name: None}, kwargs[name]
        raise InvalidArguments(f"{codec.label}: missing the streamed argument {name!r}")

    def split_callbacks(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any], list[Any]]:
        """The request's arguments with each callback's place holding its number, and the
        callbacks (the caller's objects or functions) in that order."""
        codec = self.codec.procedures[proc]
        args, kwargs, targets = replace_callbacks(
            codec.callbacks, codec.label, args, kwargs, lambda number, _: number
        )
        for param, target in zip(codec.callbacks, targets, strict=True):
            if param.interface is None:
                if not callable(target):
                    raise InvalidArguments(
                        f"{codec.label}: {param.name!r} must be a callable, not "
                        f"{type(target).__qualname__}"
                    )
                continue
            missing = [m for m in param.methods if not callable(getattr(target, m, None))]
            if missing:
                raise InvalidArguments(
                    f"{codec.label}: {param.name!r} must implement "
                    f"{param.interface.__qualname__}; {type(target).__qualname__} has no "
                    f"method {missing[0]!r}"
                )
        return args, kwargs, targets

    def _cannot_encode(self, proc: str, exc: Exception) -> InvalidArguments:
        return InvalidArguments(
            f"{self.descriptor.name}.{proc}(): cannot encode the arguments: {exc}"
        )

    def encode_reused(
        self,
        id: int,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        buffer: bytearray | None = None,
        timeout: float | None = None,
    ) -> bytearray | list[bytes | bytearray]:
        """Like :meth:`encode`, into a reused buffer (sync calls only): ``buffer``, or else
        this thread's own.

        A large ``bytes`` positional argument makes it a list of parts
        (:meth:`_encode_parts`) to send without copying.

        A blocking call is done with its frame when ``sendall`` returns, so
        every request of a thread can be encoded into the same buffer: no fresh
        allocation per call (for big arguments, malloc would otherwise hand
        the memory back to the OS and fault it in again on every call).
        """
        for arg in args:
            if type(arg) is bytes and len(arg) >= LARGE_FRAME:
                return self._encode_parts(id, proc, args, kwargs, timeout)
        request = (
            (TAG_REQUEST, id, proc, args, kwargs)
            if timeout is None
            else (TAG_REQUEST, id, proc, args, kwargs, timeout)
        )
        try:
            if buffer is None:
                return self.frames.encode(encoder, request)
            return frame_into(encoder, request, buffer)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._cannot_encode(proc, exc) from None

    def _encode_parts(
        self,
        id: int,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> list[bytes | bytearray]:
        """A request with a large ``bytes`` argument as parts to send back to back.

        Same bytes as :meth:`encode`; the big values are parts of their own
        and are never copied into a frame buffer.
        """
        try:
            head = bytearray(encoder.encode((TAG_REQUEST, id, proc)))
            head[0] = 0x95 if timeout is None else 0x96  # [4, id, proc, args, kwargs(, timeout)]
            count = len(args)
            if count < 16:
                head.append(0x90 | count)
            else:
                head += (
                    (b"\xdc" + count.to_bytes(2, "big"))
                    if count < 0x10000
                    else (b"\xdd" + count.to_bytes(4, "big"))
                )
            parts: list[bytes | bytearray] = [b"", head]  # b"": the length prefix, set below
            small = head
            for arg in args:
                if type(arg) is bytes and len(arg) >= LARGE_FRAME:
                    small += b"\xc6" + len(arg).to_bytes(4, "big")
                    parts.append(arg)
                    small = bytearray()
                    parts.append(small)
                else:
                    small += encoder.encode(arg)
            small += encoder.encode(kwargs)
            if timeout is not None:
                small += encoder.encode(timeout)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self._cannot_encode(proc, exc) from None
        return prefix_parts(parts)

    def result(self, proc: str, message: Message) -> Any:
        if type(message) is Reply:
            codec = self.codec.procedures[proc]
            try:
                return codec.result_decoder.decode(message.result)
            except DECODE_ERRORS:
                return codec.decode_result(message.result)  # raises InvalidResult
        assert type(message) is ErrorReply  # the session routes nothing else to a call
        raise rebuild_exception(message, self.known)

    def timed_out(self, proc: str, timeout: float | None, exc: CallTimeout) -> CallTimeout:
        """``exc`` (raised by a connection) naming the call and its timeout."""
        return CallTimeout(f"{self.descriptor.name}.{proc}() timed out after {timeout} s: {exc}")


# -- sync ---------------------------------------------------------------------------


class _Slot:
    """What a unary sync call waits on: its one answer, or the error that ended it."""

    __slots__ = ("error", "message")

    def __init__(self) -> None:
        self.message: Message | None = None
        self.error: BaseException | None = None

    def push(self, message: Message) -> None:
        """The session routed ``message`` to this call (under the connection's lock)."""
        if type(message) is not Reply and type(message) is not ErrorReply:
            raise ProtocolError(f"unexpected {type(message).__name__} for a unary call")
        self.message = message

    def ready(self) -> bool:
        return self.message is not None


class _CallbackSlot(_Slot):
    """What a sync call that passed callbacks waits on: its answer, while the server's
    callback requests go to ``callbacks``, which runs each on a worker thread.

    Never on the calling thread, though it is idle: it may be the one reading
    the connection, and a callback it ran could wait for another callback of
    the same call that nobody would read then.
    """

    __slots__ = ("callbacks",)

    def __init__(self, callbacks: ClientCallbacks) -> None:
        super().__init__()
        self.callbacks = callbacks

    def push(self, message: Message) -> None:
        """Under the connection's lock: ``serve`` only hands the request on."""
        if type(message) is ServerRequest:
            self.callbacks.serve(message)
        else:
            super().push(message)


class _SyncConnection:
    """One open, handshaken socket shared by the calling threads.

    ``reading`` is the reader role (leader/follower, see the module
    docstring). A call that finds no other call in flight takes the role
    *before* sending (the first half of :meth:`call`): it then needs no slot
    in the session's call table and reads its reply itself, the cheap path
    of a sequential caller. Calls that overlap register a slot and go
    through :meth:`_call_shared`.

    An interruption (``KeyboardInterrupt`` or any other exception that is
    not srpc's own) while a call sends or holds the reader role fails the
    connection: part of a frame may have been sent or read, so the stream
    cannot be trusted, and the role must not stay taken. The next call
    reconnects.
    """

    def __init__(self, stream: ByteStream, session: ClientSession[_Slot]) -> None:
        self.stream = stream
        self.sendall = stream.sendall
        self.recv_into = stream.recv_into
        self.session = session
        self.calls = session.calls
        self.reader = session.reader
        self.label = session.label
        # ``lock`` guards the session and the fields below; ``wakeup`` (same lock) parks the
        # followers.
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.waiting = 0
        self.send_lock = threading.Lock()
        self.reading = False
        self.last_call = _monotonic()  # when the latest call started (see ``_QUIET``)
        self.frame = bytearray(4)  # request buffer of the alone caller (it holds the reader role)
        self.buffer = bytearray(RECV_SIZE)
        self.reads = 0  # reads that brought messages through _deliver (a stream's keepalive)

    def is_stale(self) -> bool:
        """Whether this connection can take no new call: it failed, or, checked while it is idle
        (before sending, never after), the server closed it or said GoAway."""
        session = self.session
        if session.failure is not None or session.closing:
            return True
        with self.lock:
            if self.calls or self.reading:
                return False
            self.reading = True  # nobody else reads while we look
        failure: SrpcError | None = None
        messages: list[tuple[Message, int]] = []
        try:
            size = self.stream.read_idle(self.buffer)
            if size == 0:
                failure = ConnectionLost(f"{self.label}: the server closed the connection")
            elif size is not None:
                messages = self.reader.feed_from(self.buffer, size)
        except ProtocolError as exc:
            failure = exc
        self._deliver(messages, failure)
        return session.failure is not None or session.closing

    def call(
        self,
        settings: _Settings,
        id: int,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        deadline: float | None,
        timeout: float | None,
    ) -> Message:
        """Send the request and return the server's answer to it.

        The first half is the path of a call that finds no other call in
        flight: it takes the reader role before sending, encodes into the
        connection's own buffer, and reads its answer itself.
        """
        lock = self.lock
        session = self.session
        lock.acquire()
        if self.reading or self.calls or session.failure is not None:
            lock.release()
            frame = settings.encode_reused(id, proc, args, kwargs, None, timeout)
            return self._call_shared(frame, id, deadline)
        self.reading = True  # alone: the reader role is ours before the request leaves
        lock.release()
        try:
            # Only the holder of the reader role encodes into ``self.frame``.
            frame = settings.encode_reused(id, proc, args, kwargs, self.frame, timeout)
            size = len(frame) if isinstance(frame, bytearray) else _frame_size(frame)
            if size - 4 > session.server_max_frame:
                session.check_request_size(size - 4)
        except BaseException:
            self._deliver([], None)  # step down: nothing was sent
            raise
        label = self.label
        try:
            if deadline is None and isinstance(frame, bytearray):  # the usual case inline
                send_lock = self.send_lock
                send_lock.acquire()  # followers that arrived meanwhile may be sending too
                try:
                    self.sendall(frame)
                except OSError as exc:
                    lost = ConnectionLost(f"{label}: the connection was lost while sending: {exc}")
                    self._deliver([], lost)
                    raise lost from None
                finally:
                    send_lock.release()
            else:
                try:
                    self._send(frame, deadline)
                except SrpcError:
                    self._deliver([], None)  # step down; _send failed the connection if it must
                    raise
            if deadline is None:
                # One read into the shared buffer; always correct (a large frame in progress is
                # copied on by ``feed_from``), and usually exactly our answer.
                buffer = self.buffer
                try:
                    size = self.recv_into(buffer)
                    message = self.reader.exact_from(buffer, size) if size else None
                    if (
                        message is not None
                        and (type(message) is Reply or type(message) is ErrorReply)
                        and message.id == id
                    ):
                        lock.acquire()
                        self.reading = False
                        if self.waiting:
                            self.wakeup.notify_all()
                        lock.release()
                        return message
                    messages, failure = self._parse(buffer, size, message)
                except (ProtocolError, OSError) as exc:
                    messages, failure = [], _read_failure(exc, label)
            else:
                messages, failure = self._receive(deadline)
        except SrpcError:
            raise
        except BaseException as exc:
            self.fail(_interrupted(label, exc))
            raise
        # Anything else (other calls' answers, part of a frame, a timeout, a failure): wait for
        # our answer like an overlapping call.
        slot = _Slot()
        with lock:
            self.calls[id] = slot
        self._deliver(messages, failure)
        return self._wait(slot, id, deadline)

    def _call_shared(
        self,
        frame: bytearray | list[bytes | bytearray],
        id: int,
        deadline: float | None,
    ) -> Message:
        slot = _Slot()
        self.start(slot, id, frame, deadline)
        return self._wait(slot, id, deadline)

    def _send(self, frame: bytearray | list[bytes | bytearray], deadline: float | None) -> None:
        """Send one whole request frame under the send lock, by ``deadline`` if there is one.

        Raises :class:`ConnectionLost` (having failed the connection) or
        :class:`CallTimeout`. A frame that the deadline (or an interruption)
        cut short fails the connection as well: what follows it on the
        stream could not be framed.
        """
        label = self.label
        send_lock = self.send_lock
        if deadline is None:
            send_lock.acquire()
        elif not send_lock.acquire(timeout=max(deadline - _monotonic(), 0.0)):
            raise CallTimeout(f"{label}: the request could not be sent within the call's timeout")
        sent = False
        try:
            if deadline is None:
                sent = True  # unknown how much a blocking send sent before an interruption
                if isinstance(frame, bytearray):
                    self.sendall(frame)
                else:
                    self.stream.send_parts(frame)
            else:
                for part in [frame] if isinstance(frame, bytearray) else frame:
                    with memoryview(part) as view:
                        start = 0
                        while start < len(view):
                            count = self.stream.send_some(view[start:])
                            if count > 0:
                                start += count
                                sent = True
                            elif not self.stream.wait(count, deadline - _monotonic()):
                                raise TimeoutError
        except TimeoutError:
            message = f"{label}: the request could not be sent within the call's timeout"
            if sent:
                self.fail(ConnectionLost(f"{message}; it was cut short, so the connection closed"))
            raise CallTimeout(message) from None
        except OSError as exc:
            lost = ConnectionLost(f"{label}: the connection was lost while sending: {exc}")
            self.fail(lost)
            raise lost from None
        except BaseException as exc:
            if sent:
                self.fail(_interrupted(label, exc))
            raise
        finally:
            send_lock.release()

    def _wait(self, slot: _Slot, id: int, deadline: float | None) -> Message:
        """Wait for ``slot``'s answer, reading the socket whenever nobody else does."""
        self.wait_ready(slot, id, deadline)
        assert slot.message is not None
        return slot.message

    def wait_ready(
        self, slot: Any, id: int, deadline: float | None, *, forget: bool = True
    ) -> None:
        """Wait until ``slot`` (a unary or a stream slot) has something for its caller, reading
        the socket whenever nobody else does; raises the error that ended the call, or
        :class:`CallTimeout` (the call is then out of the table, unless ``forget`` is
        false: a stream's keepalive tick)."""
        lock = self.lock
        leading = False
        try:
            while True:
                with lock:
                    if slot.ready():
                        return
                    if slot.error is not None:
                        raise slot.error
                    if self.reading:
                        self.waiting += 1
                        try:
                            if deadline is None:
                                self.wakeup.wait()
                                continue
                            remaining = deadline - _monotonic()
                            if remaining <= 0:
                                if forget:
                                    self.calls.pop(id, None)
                                raise CallTimeout(f"{self.label}: no reply within the timeout")
                            self.wakeup.wait(remaining)
                            continue
                        finally:
                            self.waiting -= 1
                    self.reading = leading = True
                outcome = self._receive(deadline)
                leading = False
                self._deliver(*outcome)
                with lock:
                    if slot.ready():
                        return
                    if deadline is not None and slot.error is None and _monotonic() >= deadline:
                        if forget:
                            self.calls.pop(id, None)
                        raise CallTimeout(f"{self.label}: no reply within the timeout")
        except SrpcError:
            raise
        except BaseException as exc:
            with lock:
                self.calls.pop(id, None)
            if leading:  # interrupted holding the reader role: part of a frame may be read
                self.fail(_interrupted(self.label, exc))
            raise

    def start(
        self,
        slot: Any,
        id: int,
        frame: bytearray | list[bytes | bytearray],
        deadline: float | None,
    ) -> None:
        """Send a call's request with ``slot`` already in the table (a stream's items may
        follow its request at once)."""
        session = self.session
        session.check_request_size(_frame_size(frame) - 4)
        with self.lock:
            if session.failure is not None:
                raise ConnectionLost(str(session.failure))
            self.calls[id] = slot
        try:
            # Sending before taking the reader role: a sender blocked by a slow server
            # must not keep other threads' replies unread.
            self._send(frame, deadline)
        except BaseException:
            with self.lock:
                self.calls.pop(id, None)
            raise

    def send_frame(self, frame: bytes | bytearray, deadline: float | None) -> None:
        """Send a frame of a call in flight (a stream item, a credit, a cancel)."""
        self._send(frame, deadline)  # type: ignore[arg-type]

    def forget(self, id: int) -> None:
        """Take call ``id`` out of the table: what still arrives for it is dropped."""
        with self.lock:
            self.calls.pop(id, None)

    def cancel(self, id: int) -> None:
        """The caller gave up call ``id``: tell the server (best effort)."""
        _cancel_sync(self, id)

    def _receive(
        self, deadline: float | None
    ) -> tuple[list[tuple[Message, int]], SrpcError | None]:
        """One read as the holder of the reader role: the messages it completed, or why the
        connection failed. Hand both to :meth:`_deliver`, which steps down."""
        try:
            # The socket stays in blocking mode (a socket timeout would also cut other threads'
            # sends short); a deadline is a poll before the read.
            if deadline is not None and not self.stream.readable(deadline - _monotonic()):
                return [], None
            # recv_into a reused buffer: recv(256 KiB) would allocate and shrink a bytes each time.
            body = self.reader.body_buffer()
            if body is not None:  # the rest of a large frame: straight into its own buffer
                return self._parse(body, self.recv_into(body), None)
            buffer = self.buffer
            return self._parse(buffer, self.recv_into(buffer), None)
        except (ProtocolError, OSError) as exc:
            return [], _read_failure(exc, self.label)

    def _parse(
        self, buffer: bytearray | memoryview, size: int, message: Message | None
    ) -> tuple[list[tuple[Message, int]], SrpcError | None]:
        """:meth:`_receive`'s answer for ``size`` bytes read into ``buffer`` (the reader's
        large-frame body when ``buffer`` is a view); ``message`` is what
        :meth:`MessageReader.exact_from` already made of them. Raises ProtocolError."""
        if message is not None:
            return [(message, size)], None
        if not size:
            return [], ConnectionLost(f"{self.label}: the server closed the connection")
        if isinstance(buffer, memoryview):
            return self.reader.body_received(size), None
        return self.reader.feed_from(buffer, size), None

    def _deliver(self, messages: list[tuple[Message, int]], failure: SrpcError | None) -> None:
        """Step down from the reader role, handing each answer to its waiting call."""
        with self.lock:
            self.reading = False
            if messages:
                self.reads += 1
            route = self.session.route
            for message, _ in messages:
                try:
                    slot = route(message)
                    if slot is not None:
                        slot.push(message)
                except ProtocolError as exc:
                    failure = exc
                    break
            if self.waiting:
                self.wakeup.notify_all()
        if failure is not None:
            self.fail(failure)

    def fail(self, failure: SrpcError) -> None:
        """Fail every call in flight and close the socket; the next call reconnects."""
        with self.lock:
            lost, slots = self.session.fail(failure)
            for slot in slots:
                slot.error = lost
            self.wakeup.notify_all()
        self.stream.close()


class _SyncShared:
    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.connection: _SyncConnection | None = None
        self.pid = os.getpid()
        self.forks = _forks[0]

    def get(self) -> _SyncConnection:
        connection = self.connection
        # ``_forks`` instead of os.getpid(): a syscall per call saved.
        if connection is not None and self.forks == _forks[0] and not connection.is_stale():
            return connection
        if self.pid != os.getpid():
            # A fork: the parent's socket and locks are not ours.
            self.pid = os.getpid()
            self.forks = _forks[0]
            self.lock = threading.Lock()
            self.connection = None
        with self.lock:
            connection = self.connection
            if connection is not None and not connection.is_stale():
                return connection
            if connection is not None and not connection.calls:
                connection.fail(ConnectionLost("the server closed the connection"))
            # After GoAway, calls still in flight on the old connection go on there.
            self.connection = self._connect()
            return self.connection

    def _connect(self) -> _SyncConnection:
        settings = self.settings
        if settings.nats is not None:
            return settings.nats.connect_sync(settings)  # type: ignore[no-any-return]
        label = settings.label
        timeout = settings.connect_timeout
        try:
            stream = settings.open_stream(timeout)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {label}: {_reason(exc)}") from None
        session: ClientSession[_Slot] = settings.session()
        try:
            stream.sendall(session.hello())
            deadline = _monotonic() + timeout
            buffer = bytearray(RECV_SIZE)
            messages: list[tuple[Message, int]] = []
            while not messages:
                if not stream.readable(deadline - _monotonic()):
                    raise ConnectError(f"{label}: no handshake answer in time")
                size = stream.recv_into(buffer)
                if not size:
                    raise ConnectError(f"{label} closed the connection during the handshake")
                messages = session.reader.feed_from(buffer, size)
            session.handshake(messages[0][0])
        except SrpcError:
            stream.close()
            raise
        except OSError as exc:
            stream.close()
            raise ConnectError(f"handshake with {label} failed: {_reason(exc)}") from None
        except BaseException:
            stream.close()
            raise
        return _SyncConnection(stream, session)

    def close(self) -> None:
        with self.lock:
            connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            connection.fail(ConnectionLost("the client was closed"))


def _reason(exc: OSError) -> str:
    """Why a connection failed: the OS's words for its errno (the same for both stubs), or
    a TLS error's own."""
    if isinstance(exc, _ssl.SSLError):
        return str(exc) or type(exc).__name__
    if exc.errno:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


class _StubBase:
    """What both client bases share: the settings, the connection holder, the timeout."""

    _srpc_service: ClassVar[ServiceDescriptor]
    _srpc_channel: ClassVar[type[_SyncShared] | type[_AsyncShared]]

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
        token: str | None = None,
        ssl: SslArg = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        settings = _Settings(
            self._srpc_service, host, port, connect_timeout, token, ssl, max_frame, nats_options
        )
        self._srpc_settings = settings
        self._srpc_shared: Any = self._srpc_channel(settings)
        self._srpc_timeout = _check_timeout(timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._srpc_settings.label}>"


class SyncClient(_StubBase):
    """Base of generated sync client stubs: calls block and return the result.

    Safe to share between threads. ``timeout`` is the per-call deadline in
    seconds (``None``: wait for ever); ``with_timeout()`` gives a view with
    another deadline on the same connection. After ``close()`` the next
    call connects again.
    """

    _srpc_shared: _SyncShared
    _srpc_channel = _SyncShared

    def _srpc_call(self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = self._srpc_settings
        shared = self._srpc_shared
        connection = shared.connection
        now = _monotonic()
        # The usual case inline: no fork, open, and busy (a call started within ``_QUIET``)
        # or else not closed by the server while idle.
        if (
            connection is None
            or connection.session.failure is not None
            or connection.session.closing
            or shared.forks != _forks[0]
            or (now - connection.last_call >= _QUIET and connection.is_stale())
        ):
            connection = shared.get()
        connection.last_call = now
        timeout = self._srpc_timeout
        if _serving[0]:  # this process serves calls: a call from an implementation inherits
            timeout = inherited_timeout(timeout)  # what remains of its deadline
        if proc in settings.special:
            if proc in settings.streaming:
                return self._srpc_client_stream(connection, proc, args, kwargs, timeout)
            return self._srpc_callback_call(connection, proc, args, kwargs, timeout)
        deadline = None if timeout is None else now + timeout
        id = next(settings.ids)
        try:
            message = connection.call(settings, id, proc, args, kwargs, deadline, timeout)
        except CallTimeout as exc:
            connection.cancel(id)
            raise settings.timed_out(proc, timeout, exc) from None
        if type(message) is Reply:
            codec = settings.codec.procedures[proc]
            try:
                return codec.result_decoder.decode(message.result)
            except DECODE_ERRORS:
                return codec.decode_result(message.result)  # raises InvalidResult
        return settings.result(proc, message)

    def _srpc_callback_call(
        self,
        connection: _SyncConnection,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> Any:
        """A call that passes callbacks: served on worker threads while this thread waits
        (and reads the connection whenever no other thread does)."""
        settings = self._srpc_settings
        depth = callback_depth()
        args, kwargs, targets = settings.split_callbacks(proc, args, kwargs)
        codec = settings.codec.procedures[proc]
        id = next(settings.ids)
        frame = settings.encode(id, proc, args, kwargs, timeout)
        deadline = None if timeout is None else _monotonic() + timeout

        def send(frame: bytes | bytearray) -> None:
            with contextlib.suppress(SrpcError):  # a lost connection fails the call itself
                connection.send_frame(frame, None)

        slot = _CallbackSlot(
            ClientCallbacks(id, codec.label, codec.callbacks, targets, send, depth, settings.known)
        )
        try:
            connection.start(slot, id, frame, deadline)
            connection.wait_ready(slot, id, deadline)
        except CallTimeout as exc:
            connection.cancel(id)
            raise settings.timed_out(proc, timeout, exc) from None
        finally:
            slot.callbacks.close()
        assert slot.message is not None
        return settings.result(proc, slot.message)

    def _srpc_open(
        self,
        connection: _SyncConnection,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> tuple[int, StreamSlot, float | None]:
        """Start a streaming call on ``connection``: its id, slot and deadline."""
        settings = self._srpc_settings
        args, kwargs, source = settings.split_stream(proc, args, kwargs)
        id = next(settings.ids)
        frame = settings.encode(id, proc, args, kwargs, timeout)
        slot = StreamSlot()
        if source is not None:
            codec = settings.codec.procedures[proc]
            slot.sender = SyncSender(connection, codec, id, source, slot)
        deadline = None if timeout is None else _monotonic() + timeout
        connection.start(slot, id, frame, deadline)
        if slot.sender is not None:
            slot.sender.start()
        return id, slot, deadline

    def _srpc_client_stream(
        self,
        connection: _SyncConnection,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> Any:
        """A call whose argument streams and whose result does not."""
        settings = self._srpc_settings
        codec = settings.codec.procedures[proc]
        if codec.stream_result:
            raise TypeError(f"{codec.label} streams its result: call it through _srpc_stream")
        id, slot, deadline = self._srpc_open(connection, proc, args, kwargs, timeout)
        try:
            message = finish_client_stream(connection, codec, settings.known, id, slot, deadline)
        except CallTimeout as exc:
            raise settings.timed_out(proc, timeout, exc) from None
        return settings.result(proc, message)

    def _srpc_stream(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> ResultStream[Any]:
        """Start a call whose result streams; its items come from the returned stream."""
        settings = self._srpc_settings
        timeout = inherited_timeout(self._srpc_timeout)
        connection = self._srpc_shared.get()
        connection.last_call = _monotonic()
        id, slot, deadline = self._srpc_open(connection, proc, args, kwargs, timeout)
        codec = settings.codec.procedures[proc]
        return ResultStream(connection, codec, settings.known, id, slot, deadline, timeout)

    def with_timeout(self: _Sync, seconds: float | None) -> _Sync:
        """A view of this client whose calls time out after ``seconds``; same connection.

        ``srpc.with_timeout(stub, seconds)`` does the same where the interface
        declares a procedure named ``with_timeout``.
        """
        view = copy.copy(self)
        view._srpc_timeout = _check_timeout(seconds)
        return view

    def close(self) -> None:
        """Close the connection; calls still in flight fail with ConnectionLost.

        ``srpc.close(stub)`` does the same where the interface declares a
        procedure named ``close``.
        """
        self._srpc_shared.close()

    def __enter__(self: _Sync) -> _Sync:
        return self

    def __exit__(self, *exc_info: object) -> None:
        SyncClient.close(self)


# -- async --------------------------------------------------------------------------


class _AsyncConnection(asyncio.BufferedProtocol):
    """One connection of an async stub. Buffered: reads land in a receive buffer it reuses
    (the plain ``data_received`` protocol gets a fresh 256 KiB ``bytes`` per read, which
    malloc maps and unmaps on every call), or straight into a large frame's own buffer."""

    def __init__(self, settings: _Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self.session: ClientSession[Any] = settings.session()
        self.reader = self.session.reader
        self.calls = self.session.calls
        self.buffer = bytearray(RECV_SIZE)
        self.view = memoryview(self.buffer)
        self.into_body = False
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[Message] = loop.create_future()
        self.answered = False
        self.reads = 0  # reads from the server (a stream's keepalive)
        self.write_ready: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = typing.cast(asyncio.Transport, transport)
        set_nodelay(transport.get_extra_info("socket"))

    def get_buffer(self, sizehint: int) -> memoryview:
        body = self.reader.body_buffer()
        if body is not None:  # the rest of a large frame: straight into its own buffer
            self.into_body = True
            return body
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        reader = self.reader
        self.reads += 1
        try:
            if self.into_body:
                self.into_body = False
                messages = reader.body_received(nbytes)
            else:
                message = reader.exact_from(self.buffer, nbytes)
                if message is None:
                    messages = reader.feed_from(self.buffer, nbytes)
                else:
                    messages = [(message, nbytes)]
            route = self.session.route
            for message, _ in messages:
                if not self.answered:  # the first message answers the handshake
                    self.answered = True
                    if not self.handshake.done():
                        self.handshake.set_result(message)
                    continue
                waiting = route(message)
                if waiting is None:
                    continue
                if type(waiting) is AsyncStreamState:
                    waiting.push(message)
                elif type(waiting) is _AsyncCallbackWait:
                    if type(message) is ServerRequest:
                        waiting.callbacks.serve(message)
                    elif not waiting.future.done():
                        waiting.future.set_result(message)
                elif type(message) is Reply or type(message) is ErrorReply:
                    if not waiting.done():
                        waiting.set_result(message)
                else:
                    raise ProtocolError(f"unexpected {type(message).__name__} for a unary call")
        except ProtocolError as exc:
            self.fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionLost(f"{self.settings.label}: the connection was lost"))

    def pause_writing(self) -> None:
        self.write_ready = self.loop.create_future()

    def resume_writing(self) -> None:
        waiter, self.write_ready = self.write_ready, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, failure: SrpcError) -> None:
        lost, futures = self.session.fail(failure)
        if not self.handshake.done():
            self.handshake.set_exception(failure)
        for future in futures:
            if type(future) is AsyncStreamState:
                future.fail(lost)
            elif type(future) is _AsyncCallbackWait:
                if not future.future.done():
                    future.future.set_exception(lost)
            elif not future.done():
                future.set_exception(lost)
        self.resume_writing()
        if self.transport is not None:
            self.transport.abort()

    async def call(
        self,
        frame: bytearray,
        id: int,
        timeout: float | None,
        callbacks: ClientCallbacks | None = None,
    ) -> Message:
        session = self.session
        if session.failure is not None:
            raise ConnectionLost(str(session.failure))
        if len(frame) - 4 > session.server_max_frame:
            session.check_request_size(len(frame) - 4)
        future: asyncio.Future[Message] = self.loop.create_future()
        self.calls[id] = future if callbacks is None else _AsyncCallbackWait(future, callbacks)
        assert self.transport is not None
        try:
            self.transport.write(frame)
            if timeout is None:
                if self.write_ready is not None:
                    await self.write_ready
                return await future
            try:  # the deadline covers waiting to send (a server that stops reading) too
                return await wait_for(self._sent_then(future), timeout)
            except asyncio.TimeoutError:
                raise CallTimeout(f"{self.settings.label}: no reply within the timeout") from None
        except (CallTimeout, asyncio.CancelledError):
            # The caller gave up before the answer (a cancelled task cancels the future it
            # awaited): cancel the call on the server.
            if future.cancelled() or not future.done():
                self.cancel(id)
            raise
        finally:
            self.calls.pop(id, None)

    def send(self, frame: bytes | bytearray) -> None:
        """Write a frame of a call in flight (a credit, a cancel), without waiting."""
        if self.session.failure is None and self.transport is not None:
            self.transport.write(frame)

    async def write(self, frame: bytes | bytearray) -> None:
        """Write a frame and wait while the transport is paused (a stream's items)."""
        if self.session.failure is not None:
            raise ConnectionLost(str(self.session.failure))
        assert self.transport is not None
        self.transport.write(frame)
        if self.write_ready is not None:
            await asyncio.shield(self.write_ready)

    def cancel(self, id: int) -> None:
        """The caller gave up call ``id``: out of the table, and the server is told."""
        self.calls.pop(id, None)
        self.send(encode_message(Cancel(id)))

    def start(self, state: AsyncStreamState, id: int, frame: bytearray) -> None:
        session = self.session
        if session.failure is not None:
            raise ConnectionLost(str(session.failure))
        session.check_request_size(len(frame) - 4)
        self.calls[id] = state
        assert self.transport is not None
        self.transport.write(frame)

    async def _sent_then(self, answer: asyncio.Future[Message]) -> Message:
        """Wait until the transport takes writes again, then for ``answer``."""
        if self.write_ready is not None:
            # Shielded: on a timeout only this call stops waiting, not the others.
            await asyncio.shield(self.write_ready)
        return await answer


class _AsyncCallbackWait:
    """What an async call that passed callbacks waits on: its answer's future, and the
    callbacks the server's requests go to."""

    __slots__ = ("callbacks", "future")

    def __init__(self, future: asyncio.Future[Message], callbacks: ClientCallbacks) -> None:
        self.future = future
        self.callbacks = callbacks


class _AsyncShared:
    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.connection: _AsyncConnection | None = None
        self.lock: asyncio.Lock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pid = os.getpid()

    async def get(self) -> _AsyncConnection:
        loop = asyncio.get_running_loop()
        connection = self.connection
        if (
            connection is not None
            and connection.session.failure is None
            and not connection.session.closing
            and self.loop is loop
        ):
            return connection
        if self.loop is not loop or self.pid != os.getpid():
            self.loop = loop
            self.pid = os.getpid()
            self.lock = asyncio.Lock()
            self.connection = None
        assert self.lock is not None
        async with self.lock:
            connection = self.connection
            if (
                connection is not None
                and connection.session.failure is None
                and not connection.session.closing
            ):
                return connection
            self.connection = await self._connect(loop)
            return self.connection

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _AsyncConnection:
        settings = self.settings
        label = settings.label
        connection = _AsyncConnection(settings, loop)
        if settings.nats is not None:
            return await settings.nats.connect_async(settings, connection)  # type: ignore[no-any-return]
        if settings.in_memory:
            try:
                memory.connect_async(settings.host, loop, connection)
            except OSError as exc:
                raise ConnectError(f"cannot connect to {label}: {exc}") from None
            return await self._handshake(connection)
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: connection,
                    settings.host,
                    settings.port,
                    ssl=settings.ssl,
                    server_hostname=settings.host if settings.ssl is not None else None,
                ),
                settings.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise ConnectError(f"cannot connect to {label}: timed out") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {label}: {_reason(exc)}") from None
        return await self._handshake(connection)

    async def _handshake(self, connection: _AsyncConnection) -> _AsyncConnection:
        settings = self.settings
        label = settings.label
        assert connection.transport is not None
        connection.transport.write(connection.session.hello())
        try:
            answer = await asyncio.wait_for(connection.handshake, settings.connect_timeout)
        except asyncio.TimeoutError:
            connection.transport.abort()
            raise ConnectError(f"{label}: no handshake answer in time") from None
        except ConnectionLost:
            raise ConnectError(f"{label} closed the connection during the handshake") from None
        try:
            connection.session.handshake(answer)
        except SrpcError:
            connection.transport.abort()
            raise
        return connection

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            # RuntimeError: its event loop is already closed.
            with contextlib.suppress(RuntimeError):
                connection.fail(ConnectionLost("the client was closed"))


class AsyncClient(_StubBase):
    """Base of generated asyncio client stubs: calls are awaited.

    Safe to share between tasks of one event loop; used from another loop
    (or after a fork) it opens a new connection.
    """

    _srpc_shared: _AsyncShared
    _srpc_channel = _AsyncShared

    async def _srpc_call(self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = self._srpc_settings
        timeout = self._srpc_timeout
        if _serving[0]:  # this process serves calls: a call from an implementation inherits
            timeout = inherited_timeout(timeout)  # what remains of its deadline
        if proc in settings.special:
            if proc in settings.streaming:
                return await self._srpc_client_stream(proc, args, kwargs, timeout)
            return await self._srpc_callback_call(proc, args, kwargs, timeout)
        id = next(settings.ids)
        frame = settings.encode(id, proc, args, kwargs, timeout)
        shared = self._srpc_shared
        connection = shared.connection  # the usual case inline: open, on this loop
        if (
            connection is None
            or connection.session.failure is not None
            or connection.session.closing
            or shared.loop is not asyncio.get_running_loop()
        ):
            connection = await shared.get()
        try:
            message = await connection.call(frame, id, timeout)
        except CallTimeout as exc:
            raise settings.timed_out(proc, timeout, exc) from None
        return settings.result(proc, message)

    async def _srpc_callback_call(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float | None
    ) -> Any:
        """A call that passes callbacks: plain-def ones run on worker threads, async ones as
        tasks of this loop, while the call waits."""
        settings = self._srpc_settings
        depth = callback_depth()
        args, kwargs, targets = settings.split_callbacks(proc, args, kwargs)
        codec = settings.codec.procedures[proc]
        connection = await self._srpc_shared.get()
        id = next(settings.ids)
        frame = settings.encode(id, proc, args, kwargs, timeout)
        loop = connection.loop

        def send(frame: bytes | bytearray) -> None:  # from a worker thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: the call is over
                loop.call_soon_threadsafe(connection.send, frame)

        callbacks = ClientCallbacks(
            id,
            codec.label,
            codec.callbacks,
            targets,
            send,
            depth,
            settings.known,
            loop,
            connection.send,
        )
        try:
            message = await connection.call(frame, id, timeout, callbacks)
        except CallTimeout as exc:
            raise settings.timed_out(proc, timeout, exc) from None
        finally:
            callbacks.close()
        return settings.result(proc, message)

    async def _srpc_open_stream(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float | None
    ) -> tuple[_AsyncConnection, int, AsyncStreamState]:
        """Start a streaming call: its connection, id and state."""
        settings = self._srpc_settings
        args, kwargs, source = settings.split_stream(proc, args, kwargs)
        connection = await self._srpc_shared.get()
        id = next(settings.ids)
        frame = settings.encode(id, proc, args, kwargs, timeout)
        state = AsyncStreamState()
        if source is not None:
            codec = settings.codec.procedures[proc]
            state.sender = AsyncSender(connection, codec, id, source, state)
        connection.start(state, id, frame)
        if state.sender is not None:
            state.sender.start()
        return connection, id, state

    async def _srpc_client_stream(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float | None
    ) -> Any:
        """A call whose argument streams and whose result does not."""
        settings = self._srpc_settings
        codec = settings.codec.procedures[proc]
        if codec.stream_result:
            raise TypeError(f"{codec.label} streams its result: call it through _srpc_stream")
        connection, id, state = await self._srpc_open_stream(proc, args, kwargs, timeout)
        try:
            waiting = state.next_message(connection)
            message = await (waiting if timeout is None else asyncio.wait_for(waiting, timeout))
        except asyncio.TimeoutError:
            connection.cancel(id)
            raise settings.timed_out(
                proc, timeout, CallTimeout(f"{settings.label}: no reply within the timeout")
            ) from None
        except asyncio.CancelledError:
            connection.cancel(id)
            raise
        finally:
            if state.sender is not None:
                state.sender.stop()
        connection.calls.pop(id, None)
        if type(message) is not Reply and type(message) is not ErrorReply:
            raise ProtocolError(f"unexpected {type(message).__name__} for {codec.label}")
        return settings.result(proc, message)

    def _srpc_stream(
        self, proc: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> AsyncResultStream[Any]:
        """A call whose result streams: it starts when the stream is first iterated."""
        return AsyncResultStream(self, proc, args, kwargs, inherited_timeout(self._srpc_timeout))

    def with_timeout(self: _Async, seconds: float | None) -> _Async:
        """A view of this client whose calls time out after ``seconds``; same connection."""
        view = copy.copy(self)
        view._srpc_timeout = _check_timeout(seconds)
        return view

    async def close(self) -> None:
        """Close the connection; calls still in flight fail with ConnectionLost."""
        self._srpc_shared.close()
        await asyncio.sleep(0)

    async def __aenter__(self: _Async) -> _Async:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await AsyncClient.close(self)


_Sync = TypeVar("_Sync", bound=SyncClient)
_Async = TypeVar("_Async", bound=AsyncClient)


def _check_timeout(seconds: float | None) -> float | None:
    """A per-call timeout as given, or ValueError for one that can never be met."""
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {seconds!r}")
    if not seconds > 0:  # also refuses NaN
        raise ValueError(f"timeout must be a positive number of seconds or None, not {seconds!r}")
    return float(seconds)


@overload
def with_timeout(stub: _Sync, seconds: float | None) -> _Sync: ...
@overload
def with_timeout(stub: _Async, seconds: float | None) -> _Async: ...
def with_timeout(stub: SyncClient | AsyncClient, seconds: float | None) -> Any:
    """A view of ``stub`` whose calls time out after ``seconds``, on the same connection.

    Always the stub's own method, even where the interface declares a
    procedure named ``with_timeout``.
    """
    if isinstance(stub, SyncClient):
        return SyncClient.with_timeout(stub, seconds)
    return AsyncClient.with_timeout(stub, seconds)


@overload
def close(stub: SyncClient) -> None: ...
@overload
def close(stub: AsyncClient) -> typing.Coroutine[Any, Any, None]: ...
def close(stub: SyncClient | AsyncClient) -> typing.Coroutine[Any, Any, None] | None:
    """Close ``stub``'s connection (``await`` it for an async stub).

    Always the stub's own method, even where the interface declares a
    procedure named ``close``.
    """
    if isinstance(stub, SyncClient):
        SyncClient.close(stub)
        return None
    return AsyncClient.close(stub)
