"""``Server``: the base of generated server stubs, and its TCP transport.

One listening socket per service. Each connection is an
:class:`asyncio.BufferedProtocol` (no streams on the fast path): a thin
loop that feeds the bytes it reads to a :class:`~srpc.session.ServerSession`,
writes what the session answers, and hands each request the session lets
through to the :class:`~srpc.dispatch.Dispatcher`, which runs it and
answers through :meth:`_Connection.send_answer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
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
from typing import Any, ClassVar, Literal

from srpc import memory
from srpc import nats as _nats
from srpc._address import resolve_address
from srpc.descriptor import ServiceDescriptor
from srpc.dispatch import Dispatcher
from srpc.errors import AddressInUse, ConnectError, InvalidAddress, ProtocolError
from srpc.framing import DEFAULT_MAX_FRAME, RECV_SIZE
from srpc.guards import FrameProgress, PeerBuckets, PeerSlots
from srpc.metrics import MetricsWriter
from srpc.protocol import Message, RefuseCode, Request
from srpc.reflection import encode_description
from srpc.remote_errors import default_send_tracebacks
from srpc.security import (
    DEFAULT_DISPATCH_BUDGET,
    DEFAULT_FAILED_HANDSHAKE_BURST,
    DEFAULT_FAILED_HANDSHAKE_RATE,
    DEFAULT_FRAME_GRACE,
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_PEER,
    DEFAULT_MAX_HANDSHAKING,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_MAX_UNSENT_BYTES,
    DEFAULT_MIN_FRAME_RATE,
    Limits,
    resolve_token,
    set_nodelay,
)
from srpc.server_log import CallFailureLog, HandshakeFailureLog, exposure_warning
from srpc.session import ServerSession

_uvloop: types.ModuleType | None
try:
    import uvloop as _uvloop_module  # type: ignore[import-not-found, unused-ignore]

    _uvloop = _uvloop_module
except ImportError:  # not on Windows (no uvloop there): asyncio's own loop
    _uvloop = None

__all__ = ["Server"]

log = logging.getLogger("srpc.server")

_perf = time.perf_counter

_BIG = 64 * 1024
"""A request this large or larger counts its bytes against ``max_pending_bytes`` until it is
answered; smaller ones are bounded by ``max_in_flight`` (and cost one compare)."""

_STALLED = 0.05
"""At ``max_connections``, a new client evicts the connection whose begun frame arrives the
slowest, under ``min_frame_rate`` and begun at least this many seconds ago."""

SyncMode = Literal["thread", "inline"]


class _Core:
    """What every connection of one running server shares."""

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self.dispatcher = server._dispatcher
        self.dispatcher.bind_loop(loop)
        self.connections: set[_Connection] = set()
        self.established = 0
        """Connections past their handshake (at most ``max_connections``)."""
        self.pending: dict[object, typing.Callable[[], None]] = {}
        """Connections in their TLS or srpc handshake, oldest first, each with what closes
        it (at most ``max_handshaking``; a newcomer evicts the oldest)."""
        self.peers = PeerSlots(server.max_connections_per_peer)
        self.failed = PeerBuckets(server.failed_handshake_rate, server.failed_handshake_burst)
        self.closing = False
        self.idle_waiter: asyncio.Future[None] | None = None
        self.writev = _uvloop is not None and isinstance(loop, _uvloop.Loop)
        # One receive buffer for every connection of the loop: each read is consumed (frames
        # and partial tails copied out) before the loop reads another connection, so an idle
        # connection costs no 256 KiB buffer of its own.
        self.recv_buffer = bytearray(RECV_SIZE)
        self.recv_view = memoryview(self.recv_buffer)

    def in_flight(self) -> int:
        """Requests received and not yet answered (running or backlogged)."""
        # A copy: other threads (``Server.calls_in_flight``) ask while the loop changes the set.
        return sum(len(c.session.serving) for c in list(self.connections))

    def running(self) -> int:
        return sum(c.session.running for c in list(self.connections))

    def admit_pending(self, key: object, closer: typing.Callable[[], None]) -> None:
        """Count ``key`` as handshaking, closing the oldest handshake if the slots are full."""
        pending = self.pending
        while len(pending) >= self.server.max_handshaking:
            oldest = next(iter(pending))
            evict = pending.pop(oldest)
            evict()
        pending[key] = closer

    def evict_stalled(self) -> bool:
        """Close the established connection whose begun frame arrives the slowest (under
        ``min_frame_rate``, begun over ``_STALLED`` s ago); False when there is none."""
        now = _perf()
        worst: _Connection | None = None
        slowest = self.server.min_frame_rate
        for connection in self.connections:
            progress = connection.progress
            start = progress.start
            if start is None or not connection.established or connection.closed:
                continue
            age = now - start
            if age > _STALLED and progress.received / age < slowest:
                worst, slowest = connection, progress.received / age
        if worst is None:
            return False
        log.info("closing %s: a frame arriving at %.0f bytes/s, a new client needs the slot",
                 worst.peer, slowest)
        worst._abort()
        return True

    def connection_done(self) -> None:
        waiter = self.idle_waiter
        if waiter is not None and not waiter.done() and self.in_flight() == 0:
            waiter.set_result(None)


class _Connection(asyncio.BufferedProtocol):
    """One client connection. Buffered: reads land in the loop's shared receive buffer, or
    straight into a large frame's own buffer."""

    def __init__(self, core: _Core, host: str | None = None) -> None:
        self.core = core
        self.over_limit = False  # refused (a limit), not a failed handshake
        self.host = host
        """The peer's address, once it holds a per-peer slot (taken before TLS, if any)."""
        server = core.server
        self.server = server
        self.session = ServerSession(
            server._srpc_service,
            "?",
            token=server._token,
            max_frame=server.max_frame,
            max_in_flight=server.max_in_flight,
        )
        self.session.reflection = server._reflection
        self.reader = self.session.reader
        self.frames = self.reader.frames
        self.dispatch = core.dispatcher.dispatch
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.read_paused = False
        self.write_paused = False
        self.closed = False
        self.last_activity = _perf()
        self.timer: asyncio.TimerHandle | None = None
        self.recv_buffer = core.recv_buffer
        self.view = core.recv_view
        self.into_body = False
        self.draining = False
        self.established = False
        self.blocked = False
        """No new request is dispatched: the unsent output is over the high-water mark or
        ``pending`` is over ``max_pending_bytes``; requests wait in the session's backlog."""
        self.pending = 0
        self.heavy = False
        """``sizes`` is not empty or writing is paused: answers have accounting to do."""
        self.sizes: dict[int, int] = {}
        """The sizes of the large requests (``_BIG`` and up) dispatched and not answered."""
        self.drain_handle: asyncio.Handle | None = None
        self.stash: list[tuple[Message, int]] | None = None
        """Messages read but not yet taken (past the turn's budget, or while blocked)."""
        self.stash_received = 0.0
        self.progress = FrameProgress(server.frame_grace, server.min_frame_rate)
        self.frame_timer: asyncio.TimerHandle | None = None

    # -- transport callbacks -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = typing.cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = f"{peer[0]}:{peer[1]}"
        elif isinstance(peer, str) and peer:
            self.peer = peer
        self.session.label = self.peer
        set_nodelay(transport.get_extra_info("socket"))
        core = self.core
        if core.closing:
            log.info("refused %s: the server is shutting down", self.peer)
            self._refuse(RefuseCode.SHUTTING_DOWN, "the server is shutting down")
            return
        if self.host is None:  # plain TCP (a TLS connection took its slot at accept)
            host = self.peer.rsplit(":", 1)[0]
            if core.failed.exhausted(host, _perf()):
                self._abort()  # too many failed handshakes lately: not answered, not logged
                return
            if not core.peers.acquire(host):
                self._refuse(
                    RefuseCode.TOO_MANY_CONNECTIONS,
                    f"the server is at its limit of {self.server.max_connections_per_peer} "
                    "connections per peer address",
                )
                return
            self.host = host
        core.connections.add(self)
        core.admit_pending(self, self._evicted)
        self.timer = core.loop.call_later(self.server.handshake_timeout, self._handshake_expired)

    def _refuse(self, code: RefuseCode, text: str) -> None:
        self.over_limit = True
        self.session.refuse(code, text)
        self._flush_session()

    def _evicted(self) -> None:
        """The handshake slots are full and this is the oldest handshake: it goes."""
        self._abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.frame_timer is not None:
            self.frame_timer.cancel()
            self.frame_timer = None
        if self.drain_handle is not None:
            self.drain_handle.cancel()
            self.drain_handle = None
        core = self.core
        core.pending.pop(self, None)
        if self.established:
            self.established = False
            core.established -= 1
        if self.host is not None:
            core.peers.release(self.host)
            self.host = None
        core.dispatcher.release(self)
        # Nobody is left to answer: the calls still running are cancelled (a generator is
        # closed at its yield, an async implementation gets CancelledError).
        for call in list(self.session.serving.values()):
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel("ConnectionLost")
        self.core.connections.discard(self)
        self.core.connection_done()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.blocked = True
        self.heavy = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self.blocked = self.pending >= self.server.max_pending_bytes
        self.heavy = bool(self.sizes)
        if not self.closed:
            self.core.dispatcher.pump(self)
            if self.session.backlog or self.stash is not None:
                self._drain()
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
            session = self.session
            if message is not None:  # the usual read: exactly one message
                # (Never blocked here: reading pauses whenever it blocks or stashes.)
                request = session.receive(message, nbytes, received)
                if request is not None:
                    if self.closed:
                        return
                    if nbytes >= 65536:  # _BIG, as a constant: the fast path stays lean
                        self._dispatch_large(request, nbytes, received)
                    else:
                        self.dispatch(self, request, nbytes, received)
                    return
                messages = []
            if messages:
                self._process(messages, received)
            if self.frames.buffered:  # a frame begun: it must finish at min_frame_rate
                self._frame_pending(received, nbytes)
            elif self.progress.start is not None:
                self.progress.end()
        except ProtocolError as exc:
            log.info("closing %s: %s", self.peer, exc)
            self._abort()
            return
        if self.session.outgoing:
            self._flush_session()
        if self.session.saturated and not self.read_paused:
            self._update_reading()

    # -- backpressure and fairness --------------------------------------------

    def _process(self, messages: list[tuple[Message, int]], received: float) -> None:
        """The messages of one read, at most ``dispatch_budget`` of them this turn and none while
        blocked: the rest wait, in order, with reading paused (ProtocolError propagates)."""
        session = self.session
        budget = self.server.dispatch_budget
        for i, (message, size) in enumerate(messages):
            if self.closed:
                return
            if budget <= 0 or self.blocked:
                self._stash(messages[i:], received)
                return
            budget -= 1
            request = session.receive(message, size, received)
            if request is not None:
                if size >= _BIG:
                    self._dispatch_large(request, size, received)
                else:
                    self.dispatch(self, request, size, received)

    def _stash(self, messages: list[tuple[Message, int]], received: float) -> None:
        self.stash = messages
        self.stash_received = received
        if not self.blocked:
            self._drain_soon()
        self._update_reading()

    def _dispatch_large(self, request: Request, size: int, received: float) -> None:
        if size >= _BIG:
            self.sizes[request.id] = size
            self.heavy = True
            self.pending += size
            if self.pending >= self.server.max_pending_bytes:
                self.blocked = True
        self.dispatch(self, request, size, received)
        if self.blocked:
            self._update_reading()

    def _drain_soon(self) -> None:
        if self.drain_handle is None and not self.closed:
            self.drain_handle = self.core.loop.call_soon(self._drain_later)

    def _drain_later(self) -> None:
        self.drain_handle = None
        self._drain()

    def _drain(self) -> None:
        """Take stashed messages, then backlogged requests: ``dispatch_budget`` a turn."""
        if self.draining:
            return
        session = self.session
        stash = self.stash
        if stash is not None:
            if self.blocked or self.closed:
                return
            self.stash = None
            self.draining = True
            try:
                self._process(stash, self.stash_received)
            except ProtocolError as exc:
                log.info("closing %s: %s", self.peer, exc)
                self._abort()
                return
            finally:
                self.draining = False
            if self.stash is not None:  # still more: the next turn
                if session.outgoing and not self.closed:
                    self._flush_session()
                return
        self.draining = True
        try:
            budget = self.server.dispatch_budget
            while not self.closed and not self.blocked and session.backlog:
                if budget <= 0:
                    self._drain_soon()
                    break
                ready = session.next_ready()
                if ready is None:
                    break
                budget -= 1
                request, size, received = ready
                if size >= _BIG:
                    self._dispatch_large(request, size, received)
                else:
                    self.dispatch(self, request, size, received)
        finally:
            self.draining = False
        if session.outgoing and not self.closed:
            self._flush_session()
        self._update_reading()

    def _frame_pending(self, now: float, nbytes: int) -> None:
        progress = self.progress
        if progress.start is None:
            progress.begin(now, nbytes)
        else:
            progress.advance(nbytes)
        if self.frame_timer is None:
            self._arm_frame_timer()

    def _arm_frame_timer(self) -> None:
        deadline = self.progress.deadline()
        if deadline is None or self.closed:
            self.frame_timer = None
            return
        self.frame_timer = self.core.loop.call_later(
            max(deadline - _perf(), 0.01), self._frame_check
        )

    def _frame_check(self) -> None:
        self.frame_timer = None
        progress = self.progress
        if progress.start is None or self.closed:
            return
        if self.read_paused:  # the server is not reading it (backpressure): not the peer's
            progress.begin(_perf())  # fault; its clock starts again
            self._arm_frame_timer()
            return
        if progress.expired(_perf()):
            log.info(
                "closing %s: a frame begun %.0f s ago has %d bytes, under %d bytes/s",
                self.peer, _perf() - progress.start, progress.received,
                int(progress.min_rate),
            )
            self._abort()
            return
        self._arm_frame_timer()

    # -- handshake, limits ---------------------------------------------------

    def _flush_session(self) -> None:
        """Write the frames the session answered (a handshake's answer), closing if it says so."""
        session = self.session
        transport = self.transport
        assert transport is not None
        if session.welcomed and not self.established and not self.closed:
            self._promote()
        for frame in session.take_outgoing():
            transport.write(frame)
        if session.close_after_send:
            if session.failure is not None and not self.over_limit:
                host = self.peer.rsplit(":", 1)[0]
                self.core.failed.allow(host, _perf())  # counted: past the rate, refused unheard
                self.server._handshake_failures.handshake_failed(host, str(session.failure))
            self.closed = True
            transport.close()
            return
        if session.welcomed and self.timer is not None and not self.closed:
            self.timer.cancel()
            self.timer = None
            if self.server.idle_timeout is not None:
                self.timer = self.core.loop.call_later(self.server.idle_timeout, self._idle_check)

    def _promote(self) -> None:
        """The Hello was accepted: from a handshake slot to an established one, if there is
        one (or a connection stalled mid-frame gives its own); else the Welcome becomes a
        refusal."""
        core = self.core
        core.pending.pop(self, None)
        limit = self.server.max_connections
        if core.established >= limit and not core.evict_stalled():
            session = self.session
            session.outgoing.clear()
            session.welcomed = False
            log.info("refused %s: at the limit of %d connections", self.peer, limit)
            self.over_limit = True
            session.refuse(
                RefuseCode.TOO_MANY_CONNECTIONS,
                f"the server is at its limit of {limit} connections",
            )
            return
        self.established = True
        core.established += 1

    def _account(self, id: int) -> bool:
        """After an answer: release a large request's bytes; drop the connection (False) if
        its unsent answers are past ``max_unsent_bytes``."""
        sizes = self.sizes
        if sizes:
            size = sizes.pop(id, 0)
            if size:
                self.pending -= size
                if self.blocked and not self.write_paused:
                    self.blocked = self.pending >= self.server.max_pending_bytes
                    if not self.blocked and self.stash is not None:
                        self._drain_soon()
        self.heavy = bool(sizes) or self.write_paused
        transport = self.transport
        if self.write_paused and transport is not None and not self.closed:
            unsent = transport.get_write_buffer_size()
            if unsent > self.server.max_unsent_bytes:
                log.info(
                    "closing %s: %d bytes of answers unsent, over max_unsent_bytes (%d)",
                    self.peer, unsent, self.server.max_unsent_bytes,
                )
                self._abort()
                return False
        return True

    def _handshake_expired(self) -> None:
        self.timer = None
        if not self.session.welcomed:
            log.info(
                "closing %s: no handshake within %s s", self.peer, self.server.handshake_timeout
            )
            self._abort()

    def _idle_check(self) -> None:
        timeout = self.server.idle_timeout
        assert timeout is not None
        now = _perf()
        busy = bool(self.session.serving)
        if busy:
            self.last_activity = now  # idle time counts from when calls stop running
        idle = now - self.last_activity
        if not busy and idle >= timeout:
            self.timer = None
            self.close()
        else:
            self.timer = self.core.loop.call_later(max(timeout - idle, 0.05), self._idle_check)

    def go_away(self, reason: str) -> None:
        if self.session.welcomed and not self.closed:
            self.session.go_away(reason)
            self._flush_session()

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
        should_pause = self.blocked or self.session.saturated or self.stash is not None
        if should_pause and not self.read_paused:
            self.read_paused = True
            transport.pause_reading()
        elif not should_pause and self.read_paused:
            self.read_paused = False
            transport.resume_reading()

    # -- answers (the dispatcher's Responder) ----------------------------------

    def send(self, frame: bytes | bytearray) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(frame)

    def send_many(self, frames: list[bytes | bytearray]) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(b"".join(frames) if len(frames) > 1 else frames[0])

    def attach(self, id: int, call: Any) -> None:
        self.session.attach(id, call)

    def send_answer(
        self, id: int, frame: bytes | bytearray | list[bytes | bytearray] | None
    ) -> None:
        transport = self.transport
        if frame is not None and not self.closed and transport is not None:
            if type(frame) is not list:
                transport.write(frame)  # type: ignore[arg-type]
            elif self.core.writev:  # a large bytes result, head then value: one writev, no copy
                transport.writelines(frame)
            else:  # asyncio's writelines joins (a copy) before 3.12
                for part in frame:
                    transport.write(part)
        session = self.session
        session.finished(id)
        if self.heavy and not self._account(id):
            return
        if session.backlog and not self.draining:
            # Backlogged requests run now; an inline one answers (and re-enters here) at once,
            # so only the outermost answer drains (at most dispatch_budget this turn).
            self._drain()
        if self.read_paused or self.core.closing:
            self._update_reading()
            if self.core.closing:
                self.core.connection_done()


def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()


def _unpend(core: _Core, key: object, _: object) -> None:
    core.pending.pop(key, None)


class _TlsListener:
    """A TLS server's listening sockets, accepted by srpc itself.

    ``loop.create_server(ssl=...)`` tells the protocol about a connection only
    once its TLS handshake is done, so connections still in the handshake
    would count against no limit. Here each accepted socket counts from the
    start: it takes its per-peer slot (``max_connections_per_peer``) and a
    handshake slot (``max_handshaking``, apart from the established
    connections; past it the oldest handshake is closed) at once. A peer
    with too many failed handshakes lately is closed unheard.
    """

    def __init__(self, core: _Core, sockets: list[socket.socket], context: _ssl.SSLContext):
        self.core = core
        self.sockets = sockets
        self.context = context
        self.tasks = [core.loop.create_task(self._accept(sock)) for sock in sockets]

    async def _accept(self, listener: socket.socket) -> None:
        core = self.core
        while True:
            try:
                conn, address = await core.loop.sock_accept(listener)
            except OSError as exc:  # e.g. out of file descriptors: let some close first
                log.warning("accept failed on %s: %s", listener.getsockname(), exc)
                await asyncio.sleep(0.1)
                continue
            host = str(address[0]) if isinstance(address, tuple) else str(address)
            if core.failed.exhausted(host, _perf()) or not core.peers.acquire(host):
                conn.close()
                continue
            task = core.loop.create_task(self._handshake(conn, host))
            core.admit_pending(conn, functools.partial(_cancel, task))
            task.add_done_callback(functools.partial(_unpend, core, conn))

    async def _handshake(self, conn: socket.socket, host: str) -> None:
        core = self.core
        handed = False
        try:
            await core.loop.connect_accepted_socket(
                lambda: _Connection(core, host),
                conn,
                ssl=self.context,
                # The TLS handshake counts against the same deadline as srpc's own.
                ssl_handshake_timeout=core.server.handshake_timeout,
            )
            handed = True  # the connection releases the per-peer slot when it is lost
        except asyncio.CancelledError:  # evicted (the oldest handshake) or the server stops
            conn.close()
        except Exception as exc:
            core.failed.allow(host, _perf())
            core.server._handshake_failures.handshake_failed(
                host, f"TLS handshake failed: {type(exc).__name__}: {exc}"
            )
            conn.close()
        finally:
            if not handed:
                core.peers.release(host)

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


_Listener = typing.Union[asyncio.base_events.Server, "_TlsListener", memory.Registration]


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
    (5 s for in-flight calls at shutdown). No client can take the server from
    the others: ``max_connections_per_peer`` (64 per peer address, in all
    states), ``max_handshaking`` (256 connections in their TLS or srpc
    handshake, apart from ``max_connections``; past it the oldest is
    closed), ``max_pending_bytes`` (64 MiB of large requests read and not
    answered per connection; past it, or while answers are unsent, the
    server stops reading it), ``max_unsent_bytes`` (128 MiB of answers not
    yet sent: past it the connection is dropped),
    ``max_workers_per_connection`` (half the worker threads),
    ``frame_grace`` / ``min_frame_rate`` (a begun frame must arrive within
    10 s + its size at 16 KiB/s), ``failed_handshake_rate`` /
    ``failed_handshake_burst`` (2 per second and peer, 10 at once; past
    it that peer's connections are closed unheard), ``dispatch_budget`` (256
    messages of one connection per turn of the loop). ``token`` (default: ``$SRPC_TOKEN``)
    requires clients to present the same shared secret; ``ssl`` is a server
    :class:`ssl.SSLContext` (see :func:`srpc.security.server_ssl_context`).
    Refusals and protocol errors are logged on the ``srpc.server`` logger.
    ``reflection=False`` stops the server describing its interface to
    ``srpc describe`` and ``srpc call`` (docs/PROTOCOL.md, "Reflection").

    ``async def`` procedures run on the event loop. Plain ``def`` procedures
    run on a pool of ``max_workers`` daemon threads (default
    ``min(32, cores + 4)``), concurrently: shared state needs a lock. A
    procedure marked :func:`srpc.inline` runs on the event loop instead
    (see :mod:`srpc.dispatch` for the cost); ``sync_mode="inline"`` does that
    for every plain ``def`` procedure of the server.
    """

    _srpc_service: ClassVar[ServiceDescriptor]
    _bad_address: InvalidAddress | None = None

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
        sync_mode: SyncMode = "thread",
        max_workers: int | None = None,
        send_tracebacks: bool | None = None,
        reflection: bool = True,
        max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER,
        max_handshaking: int = DEFAULT_MAX_HANDSHAKING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        max_unsent_bytes: int = DEFAULT_MAX_UNSENT_BYTES,
        max_workers_per_connection: int | None = None,
        frame_grace: float = DEFAULT_FRAME_GRACE,
        min_frame_rate: float = DEFAULT_MIN_FRAME_RATE,
        failed_handshake_rate: float = DEFAULT_FAILED_HANDSHAKE_RATE,
        failed_handshake_burst: float = DEFAULT_FAILED_HANDSHAKE_BURST,
        dispatch_budget: int = DEFAULT_DISPATCH_BUDGET,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        descriptor = self._srpc_service
        self.nats_options = nats_options
        """For a ``nats://`` host: keyword arguments for ``nats.connect`` (docs/NATS.md)."""
        if host is not None and (host.startswith(memory.SCHEME) or _nats.is_nats(host)):
            self.host, self.port = host, 0
        else:
            try:
                self.host, self.port = resolve_address(host, port)
            except InvalidAddress as exc:  # start() says so in one line, like a port in use
                self._bad_address = exc
                self.host, self.port = str(host), 0
        self.impl = impl if impl is not None else self._srpc_default_impl()
        self.metrics_log = metrics_log
        self._token = resolve_token(token)
        self.token = None if self._token is None else self._token.decode("utf-8", "replace")
        self.ssl = ssl
        limits = Limits(
            max_frame,
            max_connections,
            max_in_flight,
            handshake_timeout,
            idle_timeout,
            max_connections_per_peer=max_connections_per_peer,
            max_handshaking=max_handshaking,
            max_pending_bytes=max_pending_bytes,
            max_unsent_bytes=max_unsent_bytes,
            frame_grace=frame_grace,
            min_frame_rate=min_frame_rate,
            failed_handshake_rate=failed_handshake_rate,
            failed_handshake_burst=failed_handshake_burst,
            dispatch_budget=dispatch_budget,
        )
        self.max_connections_per_peer = limits.max_connections_per_peer
        self.max_handshaking = limits.max_handshaking
        self.max_pending_bytes = limits.max_pending_bytes
        self.max_unsent_bytes = limits.max_unsent_bytes
        self.frame_grace = limits.frame_grace
        self.min_frame_rate = limits.min_frame_rate
        self.failed_handshake_rate = limits.failed_handshake_rate
        self.failed_handshake_burst = limits.failed_handshake_burst
        self.dispatch_budget = limits.dispatch_budget
        self.max_frame = limits.max_frame
        self.max_connections = limits.max_connections
        self.max_in_flight = limits.max_in_flight
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = limits.idle_timeout
        self.grace_period = grace_period
        if sync_mode not in ("thread", "inline"):
            raise ValueError(
                f"sync_mode must be 'thread' or 'inline', not {sync_mode!r}; a plain def "
                "procedure never runs on the event loop unless asked (@srpc.inline on the "
                "method, or sync_mode='inline' for all)"
            )
        self.sync_mode = sync_mode
        self._metrics = MetricsWriter(metrics_log, service=descriptor.name)
        self.send_tracebacks = (
            default_send_tracebacks(self.host) if send_tracebacks is None else send_tracebacks
        )
        self._call_failures = CallFailureLog()
        self._handshake_failures = HandshakeFailureLog()
        self._dispatcher = Dispatcher(
            descriptor,
            self.impl,
            metrics=self._metrics,
            max_workers=max_workers,
            max_workers_per_connection=max_workers_per_connection,
            inline_all=sync_mode == "inline",
            send_tracebacks=self.send_tracebacks,
            failures=self._call_failures,
        )
        self.reflection = reflection
        """Whether a Describe is answered (``srpc describe``, ``srpc call``); built once."""
        self._reflection = encode_description(descriptor) if reflection else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None
        self._ready = threading.Event()
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
        """Calls running now (dispatched and not yet answered), over all connections."""
        core = getattr(self, "_core", None)
        return 0 if core is None else core.running()

    def start(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully and return.

        A port already in use prints one line on stderr and exits with status 1.
        """
        if self._bad_address is not None:
            print(f"srpc: {self._bad_address}", file=sys.stderr)
            raise SystemExit(1)
        loop = _new_event_loop()
        self._loop = loop
        try:
            try:
                server = loop.run_until_complete(self._listen())
            except AddressInUse as exc:
                print(f"srpc: {exc.strerror}", file=sys.stderr)  # without "[Errno 98]"
                raise SystemExit(1) from None
            except (ConnectError, InvalidAddress) as exc:  # a NATS server out of reach
                print(f"srpc: {exc}", file=sys.stderr)
                raise SystemExit(1) from None
            print(self._start_line(), flush=True)
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

    def _start_line(self) -> str:
        descriptor = self._srpc_service
        host, port = self.address
        where = host if host.startswith(memory.SCHEME) or _nats.is_nats(host) else f"{host}:{port}"
        if self.metrics_log is None:
            metrics = "off"
        else:
            metrics = os.path.abspath(os.fspath(self.metrics_log))
        return (
            f"srpc: serving {descriptor.name} ({len(descriptor.procedures)} procedures) "
            f"on {where}; instance {self._metrics.instance}; metrics log: {metrics}; "
            "Ctrl-C to stop"
        )

    def start_in_background(self) -> Server:
        """Start serving on a daemon thread; return ``self`` once the port is bound."""
        if self._bad_address is not None:
            raise self._bad_address
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

    async def _listen(self) -> _Listener:
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        core = _Core(self, loop)
        self._core = core
        server: asyncio.base_events.Server | _TlsListener
        descriptor = self._srpc_service
        if _nats.is_nats(self.host):
            from srpc.nats.server import serve_nats

            return await serve_nats(self, core)
        if self.host.startswith(memory.SCHEME):
            registration = memory.listen(self.host, loop, lambda: _Connection(core))
            self._address = (self.host, 0)
            self._metrics.start(
                address=self.host, procedures=list(descriptor.procedures), pid=os.getpid()
            )
            return registration
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
        warning = exposure_warning(self.host, self.ssl, self._token)
        if warning is not None:
            print(f"srpc: warning: {warning}", file=sys.stderr, flush=True)
            log.warning("%s", warning)
        self._flush_logs_soon()
        self._metrics.start(
            address=f"{sockname[0]}:{sockname[1]}",
            procedures=list(descriptor.procedures),
            pid=os.getpid(),
        )
        return server

    def _flush_logs_soon(self) -> None:
        """Once a second: the summaries of failures the rate limits held back."""
        self._call_failures.flush()
        self._handshake_failures.flush()
        core = getattr(self, "_core", None)
        if core is not None and not core.closing:
            core.loop.call_later(1.0, self._flush_logs_soon)

    async def _serve(self, server: _Listener) -> None:
        assert self._stop_event is not None
        core = self._core
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            core.closing = True
            self._dispatcher.begin_shutdown()
            # GoAway: no new calls; the connections are still read, for the credits, cancels
            # and stream items of the calls that finish within the grace period.
            for connection in list(core.connections):
                connection.go_away("the server is shutting down")
            if core.in_flight():
                core.idle_waiter = core.loop.create_future()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(core.idle_waiter, self.grace_period)
            self._dispatcher.cancel_all()
            await asyncio.sleep(0)
            for connection in list(core.connections):
                connection.close()
            # A transport's socket is closed in a later turn of the loop (uvloop closes its
            # handle asynchronously): wait for every connection_lost, so that no socket
            # outlives stop() and a client's next call finds the connection closed.
            for _ in range(200):
                if not core.connections:
                    break
                await asyncio.sleep(0.005)
            self._dispatcher.close()
            self._call_failures.flush()
            self._handshake_failures.flush()
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
