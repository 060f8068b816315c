"""An instance's side of srpc over NATS: subscriptions in, the dispatcher, answers out.

A server stub started with a ``nats://`` URL connects to NATS and
subscribes:

- the service's subject in its queue group (``srpc.<service>.<fp16>``): Hellos
  (answered by the handshake rule) and Requests (one instance of the group
  gets each);
- its own subject (``srpc.<service>.<fp16>.<instance id>``): the later messages
  of the calls it holds, and liveness probes;
- the ``who`` subject (no queue group): which instance holds which call.

Each client (one reply inbox) gets a :class:`_Peer`: an already-handshaken
:class:`~srpc.session.ServerSession` (the call table, ``max_in_flight`` with
its backlog, routing of Cancel, Credit and stream items) and the
dispatcher's :class:`~srpc.dispatch.Responder`, publishing to the client's
call subjects. A peer stands where a TCP connection stands in the server's
connection set, so shutdown (grace period, then cancel) is the TCP one.

nats-py runs a subscription's callback for one message at a time: the
callbacks here never await a call, they hand it to the dispatcher and
return, so an instance runs as many calls at once as its limits allow.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import msgspec
import nats
import nats.errors
from nats.nuid import NUID

from srpc import memory
from srpc.errors import AuthenticationFailed, ConnectError, ConnectionLost, ProtocolError
from srpc.nats.client import open_nats
from srpc.nats.discovery import Announcement
from srpc.nats.outbox import Outbox
from srpc.nats.wire import (
    CHUNK,
    HEADROOM,
    TOKEN_HEADER,
    WAIT,
    Reassembly,
    Subjects,
    chunks,
    error_payload,
    message_head,
    parse_target,
)
from srpc.protocol import (
    DECODE_ERRORS,
    Describe,
    Hello,
    Message,
    Ping,
    Pong,
    Request,
    answer_describe,
    answer_hello,
    encode_payload,
)
from srpc.security import token_matches
from srpc.session import ServerSession

if TYPE_CHECKING:
    from srpc.server import Server, _Core

__all__ = ["serve_nats"]

log = logging.getLogger("srpc.server")
_perf = time.perf_counter
_monotonic = time.monotonic

ACK_AFTER = 0.02
"""A call not answered this long after it arrived is acknowledged (the client learns which
instance holds it, for its Cancel and its liveness probes); a stream is acknowledged at once."""
HOUSEKEEPING = 1.0
CLIENT_PROBE_AFTER = 1.0
"""A client with calls running and nothing heard from it this long is probed."""
CLIENT_PROBE_TIMEOUT = 1.0
CLIENT_STRIKES = 3
"""Unanswered probes in a row after which a (hung) client's calls are cancelled; a client
that is gone (no responders) has them cancelled at the first probe."""
_BIG = 64 * 1024
IDLE_PEER = 30.0
"""Seconds an idle client's session is kept (it is recreated at its next call anyway)."""

_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)
_ids_decoder = msgspec.msgpack.Decoder(list[int])


class _DropLog:
    """Messages dropped (garbage, a stray chunk): a few lines per interval, then a count."""

    def __init__(self, per_interval: int = 5, interval: float = 10.0) -> None:
        self.per_interval = per_interval
        self.interval = interval
        self.window = _monotonic()
        self.logged = 0
        self.held = 0

    def note(self, text: str) -> None:
        now = _monotonic()
        if now - self.window >= self.interval:
            self.flush()
        if self.logged < self.per_interval:
            self.logged += 1
            log.warning("dropped a NATS message: %s", text)
        else:
            self.held += 1

    def tick(self) -> None:
        if _monotonic() - self.window >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.held:
            log.warning("dropped %d more NATS messages in the last %.0f s", self.held,
                        _monotonic() - self.window)
        self.window = _monotonic()
        self.logged = self.held = 0


class _NoProgress:
    """A peer never has a frame half received (what the TCP server's eviction looks at)."""

    start: float | None = None
    received = 0


class _NoCalls:
    serving: dict[int, Any] = {}  # noqa: RUF012 - never written
    running = 0


class _Peer:
    """One client (one reply inbox) of this instance: its session and its Responder."""

    def __init__(self, instance: NatsInstance, inbox: str) -> None:
        server = instance.server
        self.instance = instance
        self.inbox = inbox
        self.peer = inbox
        self.write_paused = False
        self.session = ServerSession(
            server._srpc_service,
            inbox,
            max_frame=server.max_frame,
            max_in_flight=server.max_in_flight,
        )
        self.session.welcomed = True  # the NATS handshake is per client, not per instance
        self.session.reflection = server._reflection
        self.heard = _monotonic()
        self.closed = False
        self.probing = False
        self.strikes = 0
        self.draining = False
        self.established = False
        self.progress = _NoProgress()
        self.pending = 0
        """Bytes of the large requests (64 KiB and up) this client has on the instance."""
        self.sizes: dict[int, int] = {}

    # -- the dispatcher's Responder ---------------------------------------------------

    def send(self, frame: bytes | bytearray) -> None:
        if self.closed:
            return
        with memoryview(frame) as view:
            payload = bytes(view[4:])
        _, id = message_head(payload)
        self.instance.publish(f"{self.inbox}.{id}", payload)

    def send_many(self, frames: list[bytes | bytearray]) -> None:
        for frame in frames:
            self.send(frame)

    def send_answer(
        self, id: int, frame: bytes | bytearray | list[bytes | bytearray] | None
    ) -> None:
        if frame is not None and not self.closed:
            if type(frame) is list:
                frame = b"".join(frame)
            with memoryview(frame) as view:  # type: ignore[arg-type]
                payload = bytes(view[4:])
            self.instance.publish(f"{self.inbox}.{id}", payload)
        session = self.session
        session.finished(id)
        if self.sizes:
            self.pending -= self.sizes.pop(id, 0)
        if session.backlog and not self.draining and not self.closed:
            self._drain()
        if self.instance.core.closing:
            self.instance.core.connection_done()

    def attach(self, id: int, call: Any) -> None:
        self.session.attach(id, call)

    # -- what the TCP server's shutdown asks of a connection --------------------------

    def go_away(self, reason: str) -> None:
        """Nothing to say: the instance no longer takes requests (it unsubscribed)."""

    def close(self) -> None:
        """The server stops: calls still open end with ConnectionLost for their callers."""
        if self.closed:
            return
        lost = ConnectionLost(
            f"the instance {self.instance.instance_id} of service "
            f"{self.instance.subjects.name!r} stopped before the call finished"
        )
        for id in list(self.session.serving):
            payload = error_payload(id, lost)
            self.instance.publish(f"{self.inbox}.{id}", payload)
        self.forget("ServerShutdown")

    def forget(self, reason: str) -> None:
        """Drop this client: its calls are cancelled and nothing more is sent to it."""
        self.closed = True
        instance = self.instance
        instance.dispatcher.release(self)
        session = self.session
        for call in list(session.serving.values()):
            cancel = getattr(call, "cancel", None)
            if cancel is not None:
                cancel(reason)
        session.backlog.clear()
        for id, call in list(session.serving.items()):
            if type(call) is list:
                del session.serving[id]
        if instance.peers.get(self.inbox) is self:
            del instance.peers[self.inbox]
        instance.core.connections.discard(self)
        instance.core.connection_done()

    def _drain(self) -> None:
        """Dispatch the backlogged requests that may run now."""
        session = self.session
        dispatch = self.instance.dispatcher.dispatch
        self.draining = True
        try:
            while not self.closed:
                ready = session.next_ready()
                if ready is None:
                    break
                request, size, received = ready
                dispatch(self, request, size, received)
        finally:
            self.draining = False


class _Registration(memory.Registration):
    """What the server's shutdown closes first: the instance stops taking requests."""

    def __init__(self, instance: NatsInstance) -> None:
        super().__init__(instance.instance_subject)
        self.instance = instance

    def close(self) -> None:
        self.instance.stop_taking()


class NatsInstance:
    """One server's presence on NATS."""

    def __init__(self, server: Server, core: _Core, nc: Any, address: str) -> None:
        descriptor = server._srpc_service
        self.server = server
        self.core = core
        self.loop = core.loop
        self.dispatcher = core.dispatcher
        self.nc = nc
        self.address = address
        self.subjects = Subjects(descriptor.name, descriptor.fingerprint)
        self.instance_id = NUID().next().decode()
        self.instance_subject: str = self.subjects.instance(self.instance_id)
        self.token = server._token
        self.peers: dict[str, _Peer] = {}
        self.out = Outbox(nc, self.loop, self._publish_failed)
        self.chunk_limit = max(int(nc.max_payload) - HEADROOM, 4096)
        self.reassembly = Reassembly(server.max_frame, 2 * server.max_frame)
        self.unacked: list[tuple[_Peer, int]] = []
        self.ack_timer: asyncio.TimerHandle | None = None
        self.housekeeper: asyncio.TimerHandle | None = None
        self.subscriptions: list[Any] = []
        self.service_subscription: Any = None
        self.closing = False
        self.closed = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self.dropped = _DropLog()
        self.publish_failed_at = -100.0
        # What the TCP server's connection set asks of a member.
        self.session = _NoCalls()
        self.established = False
        self.progress = _NoProgress()
        self.announcement = Announcement(
            service=descriptor.name,
            fingerprint=descriptor.fingerprint,
            instance_id=self.instance_id,
            subject=self.subjects.service,
            procedures=descriptor.procedures,
            description=(descriptor.interface.__doc__ or "").strip(),
            address=address,
        )

    async def start(self) -> None:
        nc = self.nc
        subjects = self.subjects
        limit = max(256 * 1024 * 1024, 4 * self.server.max_frame)
        self.service_subscription = await nc.subscribe(
            subjects.service, queue=subjects.service, cb=self._on_service,
            pending_bytes_limit=limit,
        )
        self.subscriptions = [
            self.service_subscription,
            await nc.subscribe(
                self.instance_subject, cb=self._on_instance, pending_bytes_limit=limit
            ),
            await nc.subscribe(subjects.who, cb=self._on_who),
        ]
        await nc.flush(5.0)
        self.dispatcher.observe(self.announcement.record)
        await self.announcement.start(nc)
        self.housekeeper = self.loop.call_later(HOUSEKEEPING, self._housekeep)

    # -- publishing ------------------------------------------------------------------------

    def publish(self, subject: str, payload: bytes, reply: str | None = None) -> None:
        """Queue one message to a client (the reply field names this instance)."""
        reply = self.instance_subject if reply is None else reply
        if len(payload) > self.chunk_limit:
            for part in chunks(payload, self.chunk_limit):
                self.out.post(subject, part, reply)
        else:
            self.out.post(subject, payload, reply)

    def _publish_failed(self, exc: Exception) -> None:
        now = _monotonic()
        if now - self.publish_failed_at > 10.0:  # while NATS is away, one line per 10 s
            self.publish_failed_at = now
            log.warning("publishing to NATS failed (and may again for 10 s): %s", exc)

    def ack(self, peer: _Peer, id: int) -> None:
        self.out.post(f"{peer.inbox}.{id}", b"", self.instance_subject)

    def _ack_due(self) -> None:
        self.ack_timer = None
        due, self.unacked = self.unacked, []
        for peer, id in due:
            if not peer.closed and id in peer.session.serving:
                self.ack(peer, id)

    # -- receiving -------------------------------------------------------------------------

    async def _on_service(self, msg: Any) -> None:
        try:
            reply = msg.reply
            data = msg.data
            if not reply or not data or self.closing:
                return
            if data[0] == CHUNK:  # a large request's first chunk: the rest comes to us
                if not self._authorized(msg.headers):
                    self._refuse_unauthorized(reply, _id_of(reply))
                    return
                self._chunk(reply, data, msg.headers)
                self.out.post(reply, b"", self.instance_subject)
                return
            self._handle(reply, data, msg.headers)
        except Exception:
            log.exception("a NATS message on %s could not be handled", self.subjects.service)

    async def _on_instance(self, msg: Any) -> None:
        try:
            reply = msg.reply
            data = msg.data
            if not data:  # a liveness probe
                if reply:
                    self.out.post(reply, b"")
                return
            if not reply:
                return
            if data[0] == CHUNK:
                self._chunk(reply, data, msg.headers)
                return
            self._handle(reply, data, msg.headers)
        except Exception:
            log.exception("a NATS message on %s could not be handled", self.instance_subject)

    async def _on_who(self, msg: Any) -> None:
        try:
            inbox = msg.reply or ""
            if not inbox:
                return
            try:
                ids = _ids_decoder.decode(msg.data)
            except DECODE_ERRORS:
                return
            peer = self.peers.get(inbox)
            serving = {} if peer is None else peer.session.serving
            # Requests this instance has received but not read yet (a busy loop): a call asked
            # about that is among them is told to wait (not every call: under load there are
            # always unread requests, and a call the dead instance took would wait for ever).
            unread = _unread(self.service_subscription)
            partial = self.reassembly.partial  # a large request half received: maybe theirs
            for id in ids[:4096]:
                if id in serving:
                    self.ack(peer, id)  # type: ignore[arg-type]
                elif partial or (unread is not None and f"{inbox}.{id}" in unread):
                    self.out.post(f"{inbox}.{id}", WAIT, self.instance_subject)
        except Exception:
            log.exception("a NATS message on %s could not be handled", self.subjects.who)

    def _chunk(self, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        try:
            whole = self.reassembly.add(reply, data)
        except ValueError as exc:
            self.dropped.note(f"a chunk from {reply}: {exc}")
            return
        if whole is not None:
            self._handle(reply, whole, headers)

    def _authorized(self, headers: dict[str, str] | None) -> bool:
        if self.token is None:
            return True
        return token_matches(self.token, None if headers is None else headers.get(TOKEN_HEADER))

    def _refuse_unauthorized(self, reply: str, id: int) -> None:
        if id < 0:
            return
        refused = AuthenticationFailed(
            f"the instance {self.instance_id} of service {self.subjects.name!r} refused the "
            "call: missing or wrong token"
        )
        self.out.post(
            reply,
            error_payload(id, refused),
            self.instance_subject,
        )

    def _handle(self, reply: str, data: bytes, headers: dict[str, str] | None) -> None:
        """One whole srpc message from the client whose call subject is ``reply``."""
        received = _perf()
        try:
            message = _decoder.decode(data)
        except DECODE_ERRORS as exc:
            self.dropped.note(f"not an srpc message from {reply[:100]!r}: {exc}")
            return
        kind = type(message)
        if kind is Ping:  # any instance answers; no session needed
            pong = encode_payload(Pong(message.nonce))  # type: ignore[union-attr]
            self.out.post(reply, pong, self.instance_subject)
            return
        if kind is Hello:
            answer = answer_hello(
                message,
                service=self.subjects.name,
                fingerprint=self.subjects.fingerprint,
                token=self.token,
                max_frame=self.server.max_frame,
                max_in_flight=self.server.max_in_flight,
            )
            self.out.post(reply, encode_payload(answer), self.instance_subject)
            return
        inbox = reply.rpartition(".")[0]
        if not inbox:
            return
        if not self._authorized(headers):
            if kind is Request:
                self._refuse_unauthorized(reply, message.id)  # type: ignore[union-attr]
            return
        if kind is Describe:  # answered at once, like over TCP (reflection may be off)
            described = answer_describe(message, self.server._reflection)  # type: ignore[arg-type]
            self.out.post(reply, bytes(described[4:]), self.instance_subject)
            return
        peer = self.peers.get(inbox)
        if kind is Request:
            if peer is None:
                if self.closing:
                    self._refuse_closing(reply, message.id)  # type: ignore[union-attr]
                    return
                peer = self.peers[inbox] = _Peer(self, inbox)
                self.core.connections.add(peer)  # type: ignore[arg-type]
            peer.heard = _monotonic()
            if peer.session.saturated or (
                peer.pending + len(data) > self.server.max_pending_bytes and peer.session.serving
            ):
                self._refuse_busy(reply, peer, message.id)  # type: ignore[union-attr]
                return
            try:
                request = peer.session.receive(message, len(data), received)
            except ProtocolError as exc:
                self.dropped.note(f"from {inbox}: {exc}")
                return
            id = message.id  # type: ignore[union-attr]
            if len(data) >= _BIG:
                peer.sizes[id] = len(data)
                peer.pending += len(data)
            if request is not None:
                self.dispatcher.dispatch(peer, request, len(data), received)
            if id in peer.session.serving:  # not answered at once
                procedure = self.dispatcher.procedures.get(message.proc)  # type: ignore[union-attr]
                if procedure is not None and procedure.streams:
                    self.ack(peer, id)
                else:
                    self.unacked.append((peer, id))
                    if self.ack_timer is None:
                        self.ack_timer = self.loop.call_later(ACK_AFTER, self._ack_due)
            return
        if peer is None:  # a late message for a call that has ended
            return
        peer.heard = _monotonic()
        try:
            peer.session.receive(message, len(data), received)
        except ProtocolError as exc:
            self.dropped.note(f"from {inbox}: {exc}")

    def _refuse_busy(self, reply: str, peer: _Peer, id: int) -> None:
        busy = ConnectError(
            f"the instance {self.instance_id} of service {self.subjects.name!r} already holds "
            f"{len(peer.session.serving)} calls of this client "
            f"({len(peer.session.backlog)} waiting); try again later"
        )
        self.out.post(reply, error_payload(id, busy), self.instance_subject)

    def _refuse_closing(self, reply: str, id: int) -> None:
        closing = ConnectError(f"service {self.subjects.name!r} is shutting down")
        self.out.post(
            reply,
            error_payload(id, closing),
            self.instance_subject,
        )

    # -- vanished clients ----------------------------------------------------------------

    def _housekeep(self) -> None:
        self.housekeeper = None
        if self.closed:
            return
        now = _monotonic()
        for peer in list(self.peers.values()):
            if peer.session.serving:
                if now - peer.heard > CLIENT_PROBE_AFTER and not peer.probing:
                    peer.probing = True
                    self._spawn(self._probe(peer))
            elif now - peer.heard > IDLE_PEER:
                peer.forget("Idle")
        self.reassembly.expire()
        self.dropped.tick()
        self.housekeeper = self.loop.call_later(HOUSEKEEPING, self._housekeep)

    async def _probe(self, peer: _Peer) -> None:
        try:
            await self.nc.request(f"{peer.inbox}.p", b"", timeout=CLIENT_PROBE_TIMEOUT)
            peer.heard = _monotonic()
            peer.strikes = 0
        except nats.errors.NoRespondersError:
            self._client_gone(peer, "is gone")
        except nats.errors.TimeoutError:
            peer.strikes += 1
            if peer.strikes >= CLIENT_STRIKES:
                self._client_gone(peer, f"did not answer {CLIENT_STRIKES} probes")
        except Exception:
            log.debug("probing %s failed", peer.inbox, exc_info=True)
        finally:
            peer.probing = False

    def _client_gone(self, peer: _Peer, why: str) -> None:
        if peer.closed:
            return
        log.info(
            "client %s %s: cancelling its %d calls", peer.inbox, why, len(peer.session.serving)
        )
        peer.forget("ConnectionLost")

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- stopping ---------------------------------------------------------------------------

    def stop_taking(self) -> None:
        """No new requests: leave the queue group (calls in flight go on)."""
        if self.closing:
            return
        self.closing = True
        self._spawn(self._leave())

    async def _leave(self) -> None:
        subscription = self.service_subscription
        if subscription is not None:
            try:
                await subscription.unsubscribe()
                await self.nc.flush(1.0)
            except Exception:
                log.debug("leaving the queue group failed", exc_info=True)
        await self.announcement.stop()

    def go_away(self, reason: str) -> None:
        """(Asked of every connection at shutdown; the instance already left its group.)"""

    def close(self) -> None:
        """The end of shutdown: every client told, then the NATS connection closed."""
        if self.closed:
            return
        self.closed = True
        for peer in list(self.peers.values()):
            peer.close()
        if self.housekeeper is not None:
            self.housekeeper.cancel()
        if self.ack_timer is not None:
            self.ack_timer.cancel()
        self.loop.create_task(self._close())

    async def _close(self) -> None:
        try:
            await self.announcement.stop()
            await self.out.drain(1.0)
        except Exception:
            log.debug("flushing to NATS at shutdown failed", exc_info=True)
        finally:
            self.out.close()
            for task in list(self.tasks):
                task.cancel()
            try:
                await self.nc.close()
            except Exception:
                log.debug("closing the NATS connection failed", exc_info=True)
            self.core.connections.discard(self)


def _id_of(reply: str) -> int:
    try:
        return int(reply.rpartition(".")[2])
    except ValueError:
        return -1


async def serve_nats(server: Server, core: _Core) -> memory.Registration:
    """Connect ``server`` to the NATS server its host names and serve there."""
    target = parse_target(server.host, server.nats_options, server.ssl)

    async def disconnected() -> None:
        if not core.closing:
            log.warning("lost the connection to NATS at %s; reconnecting", target.address)

    async def reconnected() -> None:
        log.warning("reconnected to NATS at %s", target.address)

    nc = await open_nats(
        target,
        5.0,
        allow_reconnect=True,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
    )
    # Connected: from now on, reconnect for ever (a NATS server restart), unless told otherwise.
    given = server.nats_options or {}
    nc.options["max_reconnect_attempts"] = given.get("max_reconnect_attempts", -1)
    nc.options["reconnect_time_wait"] = given.get("reconnect_time_wait", 0.5)
    instance = NatsInstance(server, core, nc, target.address)
    try:
        await instance.start()
    except BaseException:
        await nc.close()
        raise
    core.connections.add(instance)  # type: ignore[arg-type]
    server._metrics.instance = instance.instance_id
    server._address = (target.address, 0)
    descriptor = server._srpc_service
    server._metrics.start(
        address=target.address,
        subject=instance.subjects.service,
        procedures=list(descriptor.procedures),
        pid=os.getpid(),
    )
    return _Registration(instance)


def _unread(subscription: Any) -> frozenset[str] | None:
    """The reply subjects of the requests nats-py has received for ``subscription`` and not
    yet handed to it (``None``: none). It reads nats-py's pending queue, which nats-py does
    not publish; where that is not there, every pending request counts as any call."""
    if subscription is None or not subscription.pending_msgs:
        return None
    queue = getattr(getattr(subscription, "_pending_queue", None), "_queue", None)
    if queue is None:
        return _ANY
    return frozenset(getattr(msg, "reply", "") for msg in list(queue))


class _Anything(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


_ANY = _Anything()
