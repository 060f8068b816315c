"""``Server``: the base of generated server stubs; asyncio inside.

One listening socket per service. Each connection is an
:class:`asyncio.BufferedProtocol` (no streams on the fast path).
``async def`` implementations run on the event loop. Sync implementations
run in a thread pool so they cannot stall other connections, except
procedures the server has *observed* to be fast (``sync_mode="auto"``):
after a run of pooled calls that each took under ``_FAST_CALL`` seconds a
procedure runs inline on the loop, which saves two thread hops per call.
An inline call that takes longer than ``_SLOW_CALL`` sends the procedure
back to the pool; each demotion doubles the run of fast calls needed to
promote it again, so a procedure that sometimes blocks stalls the loop at
most a few times (a preempted fast call is not punished for ever).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import errno
import inspect
import logging
import os
import signal
import socket
import ssl as _ssl
import sys
import threading
import time
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from srpc._address import resolve_address
from srpc.codec import ProcedureCodec, service_codec
from srpc.descriptor import ServiceDescriptor
from srpc.errors import AddressInUse, InvalidArguments, ProtocolError
from srpc.framing import DEFAULT_MAX_FRAME
from srpc.metrics import MetricsWriter
from srpc.protocol import (
    PROTOCOL_VERSION,
    Message,
    MessageReader,
    Refuse,
    RefuseCode,
    Request,
    Welcome,
    answer_hello,
    encode_message,
)
from srpc.remote_errors import error_reply, interface_exceptions
from srpc.security import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_IN_FLIGHT,
    HELLO_MAX_FRAME,
)

_uvloop: types.ModuleType | None
try:
    import uvloop as _uvloop_module  # type: ignore[import-not-found, unused-ignore]

    _uvloop = _uvloop_module
except ImportError:  # not on Windows (no uvloop there): asyncio's own loop
    _uvloop = None

__all__ = ["Server"]

log = logging.getLogger("srpc.server")

_PROMOTE_AFTER = 8
_MAX_PROMOTE_AFTER = 1 << 20
_FAST_CALL = 0.0005
_SLOW_CALL = 0.005
_perf = time.perf_counter

SyncMode = Literal["auto", "thread", "inline"]


class _Procedure:
    """A declared procedure bound to the implementation, with its execution statistics."""

    __slots__ = (
        "auto",
        "codec",
        "fast_runs",
        "inline",
        "is_async",
        "method",
        "name",
        "promote_after",
    )

    def __init__(self, name: str, method: Callable[..., Any], codec: ProcedureCodec, mode: str):
        self.name = name
        self.method = method
        self.codec = codec
        self.is_async = inspect.iscoroutinefunction(method)
        self.inline = mode == "inline"
        self.auto = mode == "auto"
        self.fast_runs = 0
        self.promote_after = _PROMOTE_AFTER

    def ran_inline(self, elapsed: float) -> None:
        if elapsed > _SLOW_CALL and self.auto:
            self.inline = False
            self.fast_runs = 0
            self.promote_after = min(self.promote_after * 2, _MAX_PROMOTE_AFTER)

    def ran_pooled(self, elapsed: float) -> None:
        if not self.auto:
            return
        if elapsed < _FAST_CALL:
            self.fast_runs += 1
            if self.fast_runs >= self.promote_after:
                self.inline = True
        else:
            self.fast_runs = 0


class _Core:
    """What every connection of one running server shares."""

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self.procedures = server._procedures
        self.known = server._known_exceptions
        self.metrics = server._metrics
        self.pool = server._pool
        self.connections: set[_Connection] = set()
        self.closing = False
        self.idle_waiter: asyncio.Future[None] | None = None
        self.writev = _uvloop is not None and isinstance(loop, _uvloop.Loop)
        # One receive buffer for every connection of the loop: each read is consumed (frames
        # and partial tails copied out) before the loop reads another connection, so an idle
        # connection costs no 256 KiB buffer of its own.
        self.recv_buffer = bytearray(_RECV_SIZE)
        self.recv_view = memoryview(self.recv_buffer)

    def in_flight(self) -> int:
        # A copy: other threads (``Server.calls_in_flight``) ask while the loop changes the set.
        return sum(c.in_flight for c in list(self.connections))

    def connection_done(self) -> None:
        waiter = self.idle_waiter
        if waiter is not None and not waiter.done() and self.in_flight() == 0:
            waiter.set_result(None)


_RECV_SIZE = 256 * 1024
_MAX_TLS_REFUSALS = 16


class _Connection(asyncio.BufferedProtocol):
    """One client connection. Buffered: reads land in the loop's shared receive buffer, or
    straight into a large frame's own buffer."""

    def __init__(self, core: _Core, over_limit: bool = False) -> None:
        self.core = core
        self.over_limit = over_limit  # admitted past max_connections only to be refused
        self.server = core.server
        # Until the handshake succeeds a peer may only send a small Hello frame.
        self.reader = MessageReader(min(core.server.max_frame, HELLO_MAX_FRAME))
        self.frames = self.reader.frames
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.welcomed = False
        self.in_flight = 0
        self.read_paused = False
        self.write_paused = False
        self.closed = False
        self.last_activity = _perf()
        self.timer: asyncio.TimerHandle | None = None
        self.recv_buffer = core.recv_buffer
        self.view = core.recv_view
        self.into_body = False
        self.procedures = core.procedures
        self.max_in_flight = core.server.max_in_flight
        self.backlog: collections.deque[tuple[Request, int, float]] = collections.deque()

    # -- transport callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = typing.cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        core = self.core
        if core.closing or self.over_limit or len(core.connections) >= self.server.max_connections:
            code = RefuseCode.SHUTTING_DOWN if core.closing else RefuseCode.TOO_MANY_CONNECTIONS
            text = (
                "the server is shutting down"
                if core.closing
                else f"the server is at its limit of {self.server.max_connections} connections"
            )
            log.info("refused %s: %s", self.peer, text)
            self._refuse(code, text)
            return
        core.connections.add(self)
        self.timer = core.loop.call_later(self.server.handshake_timeout, self._handshake_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.core.connections.discard(self)
        self.core.connection_done()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._update_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.frames.body is None:  # the usual case, without a call
            return self.view
        # The rest of a large frame is read straight into that frame's own buffer.
        body = self.reader.body_buffer()
        if body is not None:
            self.into_body = True
            return body
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        received = _perf()
        self.last_activity = received
        message: Message | None = None
        try:
            if self.into_body:
                self.into_body = False
                messages = self.reader.body_received(nbytes)
            else:
                message = self.reader.exact_from(self.recv_buffer, nbytes)
                messages = (
                    [] if message is not None else self.reader.feed_from(self.recv_buffer, nbytes)
                )
        except ProtocolError as exc:
            log.info("closing %s: %s", self.peer, exc)
            self._abort()
            return
        if message is not None:  # the usual read: exactly one message
            if (
                type(message) is Request
                and self.welcomed
                and self.in_flight < self.max_in_flight
                and not self.backlog
                and not self.closed
            ):
                self._dispatch(message, nbytes, received)
                return
            messages = [(message, nbytes)]
        for message, size in messages:
            if self.closed:
                return
            if type(message) is Request and self.welcomed:
                if self.in_flight >= self.max_in_flight or self.backlog:
                    # Over the limit: hold the request (reading is paused, so this is bounded
                    # by one read's worth of frames) until a call finishes.
                    self.backlog.append((message, size, received))
                    self._update_reading()
                else:
                    self._dispatch(message, size, received)
            elif not self.welcomed:
                self._handshake(message)
            else:
                log.info("closing %s: unexpected %s message", self.peer, type(message).__name__)
                self._abort()  # a client may only send requests after the handshake
                return

    # -- handshake, limits ---------------------------------------------------

    def _handshake(self, message: Message) -> None:
        server = self.server
        descriptor = server._srpc_service
        answer = answer_hello(
            message,
            service=descriptor.name,
            fingerprint=descriptor.fingerprint,
            token=server.token,
            max_frame=server.max_frame,
            max_in_flight=server.max_in_flight,
        )
        assert self.transport is not None
        self.transport.write(encode_message(answer))
        if isinstance(answer, Welcome):
            self.welcomed = True
            self.reader.max_frame = server.max_frame
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if server.idle_timeout is not None:
                self.timer = self.core.loop.call_later(server.idle_timeout, self._idle_check)
        else:
            log.warning("refused %s: %s", self.peer, answer.message)
            self.closed = True
            self.transport.close()

    def _refuse(self, code: int, text: str) -> None:
        descriptor = self.server._srpc_service
        assert self.transport is not None
        self.transport.write(
            encode_message(
                Refuse(code, text, PROTOCOL_VERSION, descriptor.name, descriptor.fingerprint)
            )
        )
        self.closed = True
        self.transport.close()

    def _handshake_expired(self) -> None:
        self.timer = None
        if not self.welcomed:
            log.info(
                "closing %s: no handshake within %s s", self.peer, self.server.handshake_timeout
            )
            self._abort()

    def _idle_check(self) -> None:
        timeout = self.server.idle_timeout
        assert timeout is not None
        now = _perf()
        if self.in_flight:
            self.last_activity = now  # idle time counts from when calls stop running
        idle = now - self.last_activity
        if self.in_flight == 0 and idle >= timeout:
            self.timer = None
            self.close()
        else:
            self.timer = self.core.loop.call_later(max(timeout - idle, 0.05), self._idle_check)

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        should_pause = (
            self.write_paused
            or self.in_flight >= self.max_in_flight
            or bool(self.backlog)
            or self.core.closing
        )
        if should_pause and not self.read_paused:
            self.read_paused = True
            transport.pause_reading()
        elif not should_pause and self.read_paused:
            self.read_paused = False
            transport.resume_reading()

    # -- calls -----------------------------------------------------------------

    def _dispatch(self, request: Request, size: int, received: float) -> None:
        procedure = self.procedures.get(request.proc)
        if procedure is None:
            unknown = ProtocolError(
                f"service {self.server._srpc_service.name!r} has no procedure {request.proc!r}"
            )
            self._refuse_call(request, unknown, size, received)
            return
        try:
            args, kwargs = procedure.codec.decode_args(request.args, request.kwargs)
        except InvalidArguments as exc:
            self._refuse_call(request, exc, size, received)
            return
        if procedure.is_async:
            self._count(1)
            self.core.loop.create_task(
                self._run_async(procedure, request.id, args, kwargs, size, received)
            )
        elif procedure.inline:
            self._run_sync(procedure, request.id, args, kwargs, size, received, False)
        else:
            self._count(1)
            try:
                self.core.pool.submit(
                    self._run_sync, procedure, request.id, args, kwargs, size, received, True
                )
            except RuntimeError:  # the pool is shut down
                self._count(-1)

    def _run_sync(
        self,
        procedure: _Procedure,
        id: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        size: int,
        received: float,
        pooled: bool,
    ) -> None:
        """Run a sync implementation and answer: on the loop, or in a pool thread (``pooled``)."""
        started = _perf()
        try:
            result = procedure.method(*args, **kwargs)
            elapsed = _perf() - started
            frame = procedure.codec.encode_reply(id, result)
            ok, error = True, None
        except BaseException as exc:  # SystemExit & co. included: they become RemoteError
            elapsed = _perf() - started
            frame = encode_message(error_reply(id, exc, self.core.known))
            ok, error = False, type(exc).__name__
        if not pooled:
            if elapsed > _SLOW_CALL:
                procedure.ran_inline(elapsed)
            self._reply(frame, procedure.name, ok, error, size, received, False)
            return
        procedure.ran_pooled(elapsed)
        # RuntimeError: the loop is closed, the server is gone.
        with contextlib.suppress(RuntimeError):
            self.core.loop.call_soon_threadsafe(
                self._reply, frame, procedure.name, ok, error, size, received, True
            )

    def _refuse_call(self, request: Request, exc: Exception, size: int, received: float) -> None:
        """Answer a request that never reached the implementation with ``exc``."""
        frame = encode_message(error_reply(request.id, exc, self.core.known))
        self._reply(frame, request.proc, False, type(exc).__name__, size, received, False)

    async def _run_async(
        self,
        procedure: _Procedure,
        id: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        size: int,
        received: float,
    ) -> None:
        try:
            result = await procedure.method(*args, **kwargs)
            frame = procedure.codec.encode_reply(id, result)
            ok, error = True, None
        except BaseException as exc:  # everything reaches the caller; the server keeps serving
            frame = encode_message(error_reply(id, exc, self.core.known))
            ok, error = False, type(exc).__name__
        self._reply(frame, procedure.name, ok, error, size, received, True)

    def _count(self, delta: int) -> None:
        self.in_flight += delta
        if self.in_flight >= self.max_in_flight or self.read_paused:
            self._update_reading()

    def _reply(
        self,
        frame: bytes | bytearray | list[bytes],
        proc: str,
        ok: bool,
        error: str | None,
        req_bytes: int,
        received: float,
        counted: bool,
    ) -> None:
        if isinstance(frame, list):  # a large bytes result: head, then the value itself (no copy)
            size = 0
            for part in frame:
                size += len(part)
            if not self.closed and self.transport is not None:
                if self.core.writev:  # uvloop: one writev, no join
                    self.transport.writelines(frame)
                else:  # asyncio's writelines joins (a copy) before 3.12
                    for part in frame:
                        self.transport.write(part)
        else:
            size = len(frame)
            if not self.closed and self.transport is not None:
                self.transport.write(frame)
        metrics = self.core.metrics
        if metrics.path is not None:  # metrics_log=None: not even a clock read
            done = _perf()
            metrics.append(
                (done, proc, ok, (done - received) * 1000.0, error, self.peer, req_bytes, size)
            )
        if counted:
            self.in_flight -= 1
            backlog = self.backlog
            while backlog and self.in_flight < self.max_in_flight and not self.closed:
                self._dispatch(*backlog.popleft())
            if self.read_paused or self.core.closing:
                self._update_reading()
            if self.core.closing:
                self.core.connection_done()


class _TlsListener:
    """A TLS server's listening sockets, accepted by srpc itself.

    ``loop.create_server(ssl=...)`` tells the protocol about a connection only
    once its TLS handshake is done, so connections still in the handshake
    would count against no limit. Here each accepted socket counts from the
    start: ``max_connections`` covers connections handshaking and connected.
    Past it, up to ``_MAX_TLS_REFUSALS`` at a time still finish TLS to be
    told why they are refused (a TLS client cannot read a plain refusal); the
    rest are closed at once.
    """

    def __init__(self, core: _Core, sockets: list[socket.socket], context: _ssl.SSLContext):
        self.core = core
        self.sockets = sockets
        self.context = context
        self.handshaking = 0
        self.refusing = 0
        self.tasks = [core.loop.create_task(self._accept(sock)) for sock in sockets]

    async def _accept(self, listener: socket.socket) -> None:
        core = self.core
        server = core.server
        while True:
            try:
                conn, _ = await core.loop.sock_accept(listener)
            except OSError as exc:  # e.g. out of file descriptors: let some close first
                log.warning("accept failed on %s: %s", listener.getsockname(), exc)
                await asyncio.sleep(0.1)
                continue
            over_limit = len(core.connections) + self.handshaking >= server.max_connections
            if over_limit and self.refusing >= _MAX_TLS_REFUSALS:
                conn.close()
                continue
            if over_limit:
                self.refusing += 1
            else:
                self.handshaking += 1
            core.loop.create_task(self._handshake(conn, over_limit))

    async def _handshake(self, conn: socket.socket, over_limit: bool) -> None:
        core = self.core
        try:
            await core.loop.connect_accepted_socket(
                lambda: _Connection(core, over_limit),
                conn,
                ssl=self.context,
                # The TLS handshake counts against the same deadline as srpc's own.
                ssl_handshake_timeout=core.server.handshake_timeout,
            )
        except BaseException as exc:
            log.info("closing a connection without TLS: %s: %s", type(exc).__name__, exc)
            conn.close()
            if not isinstance(exc, Exception):
                raise
        finally:
            if over_limit:
                self.refusing -= 1
            else:
                self.handshaking -= 1

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for sock in self.sockets:
            sock.close()


async def _tls_listen(core: _Core, host: str, port: int) -> _TlsListener:
    """Listening sockets on ``host:port`` (every address it resolves to), like create_server."""
    loop = core.loop
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(1024)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    assert core.server.ssl is not None
    return _TlsListener(core, sockets, core.server.ssl)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (the hot path runs in C), else asyncio's."""
    if _uvloop is not None and os.environ.get("SRPC_LOOP", "") != "asyncio":
        loop: asyncio.AbstractEventLoop = _uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


class Server:
    """Serves one implementation of one service on one TCP port.

    Limits (constructor keywords, with their defaults; see docs/SECURITY.md):
    ``max_frame`` (64 MiB per message; 64 KiB until the handshake succeeds),
    ``max_connections`` (1024; the next client is refused with a reason),
    ``max_in_flight`` (128 calls per connection; past it the server stops
    reading from that connection), ``handshake_timeout`` (10 s to finish TLS
    and send a valid Hello), ``idle_timeout`` (300 s with no call in flight
    and nothing received; ``None`` keeps idle connections), ``grace_period``
    (5 s for in-flight calls at shutdown). ``token`` (default: ``$SRPC_TOKEN``)
    requires clients to present the same shared secret; ``ssl`` is a server
    :class:`ssl.SSLContext` (see :func:`srpc.security.server_ssl_context`).
    Refusals and protocol errors are logged on the ``srpc.server`` logger.
    ``sync_mode`` is ``"auto"`` (see the module
    docstring), ``"thread"`` (always the pool) or ``"inline"`` (always the
    loop).
    """

    _srpc_service: ClassVar[ServiceDescriptor]

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        impl: Any = None,
        metrics_log: str | os.PathLike[str] | None = "srpc_server_metrics.log",
        token: str | None = None,
        ssl: _ssl.SSLContext | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        grace_period: float = 5.0,
        sync_mode: SyncMode = "auto",
        max_workers: int | None = None,
    ) -> None:
        descriptor = self._srpc_service
        self.host, self.port = resolve_address(host, port)
        self.impl = impl if impl is not None else self._srpc_default_impl()
        self.metrics_log = metrics_log
        self.token = token if token is not None else (os.environ.get("SRPC_TOKEN") or None)
        self.ssl = ssl
        self.max_frame = max_frame
        self.max_connections = max_connections
        self.max_in_flight = max_in_flight
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.grace_period = grace_period
        if sync_mode not in ("auto", "thread", "inline"):
            raise ValueError("sync_mode must be 'auto', 'thread' or 'inline'")
        self.sync_mode = sync_mode
        self._max_workers = max_workers
        codec = service_codec(descriptor)
        self._procedures: dict[str, _Procedure] = {}
        for name in descriptor.procedures:
            method = getattr(self.impl, name, None)
            if not callable(method):
                raise TypeError(
                    f"the implementation {type(self.impl).__qualname__} has no procedure {name!r}"
                )
            self._procedures[name] = _Procedure(name, method, codec.procedures[name], sync_mode)
        self._known_exceptions = interface_exceptions(descriptor.interface)
        self._metrics = MetricsWriter(metrics_log, service=descriptor.name)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix=f"srpc-{descriptor.name}"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self._error: BaseException | None = None

    def _srpc_default_impl(self) -> Any:
        raise TypeError(
            f"{type(self).__qualname__} needs impl=...: it has no default implementation"
        )

    # -- public API --------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (the real port when constructed with ``port=0``)."""
        if self._address is None:
            raise RuntimeError("the server is not running")
        return self._address

    @property
    def connection_count(self) -> int:
        """Open client connections (handshaken or not)."""
        core = getattr(self, "_core", None)
        return 0 if core is None else len(core.connections)

    @property
    def calls_in_flight(self) -> int:
        """Calls received and not yet answered, over all connections."""
        core = getattr(self, "_core", None)
        return 0 if core is None else core.in_flight()

    def start(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully and return.

        A port already in use prints one line on stderr and exits with status 1.
        """
        loop = _new_event_loop()
        self._loop = loop
        try:
            try:
                server = loop.run_until_complete(self._listen())
            except AddressInUse as exc:
                print(f"srpc: {exc.strerror}", file=sys.stderr)  # without "[Errno 98]"
                raise SystemExit(1) from None
            descriptor = self._srpc_service
            host, port = self.address
            log = os.fspath(self.metrics_log) if self.metrics_log is not None else "off"
            print(
                f"srpc: serving {descriptor.name} ({len(descriptor.procedures)} procedures) "
                f"on {host}:{port}; metrics log: {log}; Ctrl-C to stop",
                flush=True,
            )
            assert self._stop_event is not None
            stop_event = self._stop_event
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    try:
                        loop.add_signal_handler(sig, stop_event.set)
                    except (NotImplementedError, RuntimeError):
                        signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop_event.set))
            loop.run_until_complete(self._serve(server))
        finally:
            self._close_loop(loop)

    def start_in_background(self) -> Server:
        """Start serving on a daemon thread; return ``self`` once the port is bound."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._background, name=f"srpc-server-{self._srpc_service.name}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            error, self._error = self._error, None
            self._thread.join()
            self._thread = None
            raise error
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight calls finish (up to ``grace_period``), close everything."""
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout if timeout is not None else self.grace_period + 10)
            self._thread = None

    def __enter__(self) -> Server:
        return self.start_in_background()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------

    def _background(self) -> None:
        loop = _new_event_loop()
        self._loop = loop
        try:
            try:
                server = loop.run_until_complete(self._listen())
            except BaseException as exc:
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_until_complete(self._serve(server))
        finally:
            self._close_loop(loop)

    async def _listen(self) -> asyncio.base_events.Server | _TlsListener:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        core = _Core(self, loop)
        self._core = core
        server: asyncio.base_events.Server | _TlsListener
        try:
            if self.ssl is None:
                server = await loop.create_server(
                    lambda: _Connection(core), self.host, self.port, backlog=1024
                )
            else:  # accepted by srpc, so that connections in the TLS handshake count
                server = await _tls_listen(core, self.host, self.port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUse(
                    exc.errno,
                    f"cannot listen on {self.host}:{self.port}: the address is already in use; "
                    "stop the process holding it or choose another port "
                    "(port=... or SRPC_PORT=...)",
                ) from None
            raise
        sockname = server.sockets[0].getsockname()
        self._address = (sockname[0], sockname[1])
        descriptor = self._srpc_service
        self._metrics.start(
            address=f"{sockname[0]}:{sockname[1]}",
            procedures=list(descriptor.procedures),
            pid=os.getpid(),
        )
        return server

    async def _serve(self, server: asyncio.base_events.Server | _TlsListener) -> None:
        assert self._stop_event is not None
        core = self._core
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            core.closing = True
            for connection in list(core.connections):
                connection._update_reading()
            if core.in_flight():
                core.idle_waiter = core.loop.create_future()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(core.idle_waiter, self.grace_period)
            for connection in list(core.connections):
                connection.close()
            await asyncio.sleep(0)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._metrics.close()

    def _close_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            self._address = None
            self._finished.set()
